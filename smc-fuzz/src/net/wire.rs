//! Ways onto an Ethernet segment: the [`Wire`] trait and its two implementations.
//!
//! * [`QemuStream`]: QEMU's `-netdev socket` stream transport — every frame is a 4-byte
//!   big-endian length followed by the frame (QEMU `net/socket.c`, `net_socket_send` /
//!   `net_fill_rstate`). No root, no tap: the peer is the other end of a TCP connection on
//!   127.0.0.1.
//! * [`Datalink`]: a real interface through pnet's datalink channel (AF_PACKET on Linux), e.g.
//!   one end of a veth pair whose other end sits in the network namespace of the kernel under
//!   test. Needs CAP_NET_RAW. Turn off transmit checksum offload on the kernel's end
//!   (`ethtool -K <veth> tx off`): AF_PACKET otherwise sees its segments with partial checksums,
//!   which the stack drops (`IfaceStats::bad_checksum`). Checked on a veth pair into a network
//!   namespace: handshake, data and FIN against a plain kernel TCP listener.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// Largest frame either wire accepts: an Ethernet jumbo frame is far below this; a larger
/// length prefix means the stream is not QEMU's and is refused instead of allocated.
pub const MAX_FRAME: usize = 65_536;

/// One Ethernet segment the peer sends frames onto and receives frames from.
pub trait Wire {
    /// Sends one Ethernet frame (destination MAC first, no FCS).
    fn send(&mut self, frame: &[u8]) -> io::Result<()>;
    /// Waits up to `timeout` for one frame; `Ok(None)` when none came in time.
    fn recv(&mut self, timeout: Duration) -> io::Result<Option<Vec<u8>>>;
    /// One line saying what this wire is (for logs and `--help` output).
    fn describe(&self) -> String;
}

impl<W: Wire + ?Sized> Wire for Box<W> {
    fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        (**self).send(frame)
    }
    fn recv(&mut self, timeout: Duration) -> io::Result<Option<Vec<u8>>> {
        (**self).recv(timeout)
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
}

/// QEMU `-netdev socket` stream: 4-byte big-endian length + frame, both directions.
pub struct QemuStream {
    stream: TcpStream,
    buf: Vec<u8>,
    what: String,
}

impl QemuStream {
    /// Connects to QEMU's `-netdev socket,listen=ADDR`, retrying until `timeout` (QEMU opens
    /// the port only once it has started).
    pub fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<QemuStream> {
        let until = Instant::now() + timeout;
        loop {
            match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
                Ok(s) => {
                    return Self::from_stream(s, format!("qemu -netdev socket {addr} (connected)"))
                }
                Err(e) if Instant::now() < until => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("connecting to QEMU's -netdev socket at {addr}: {e}"),
                    ))
                }
            }
        }
    }

    /// Waits up to `timeout` for QEMU's `-netdev socket,connect=ADDR` on a bound listener.
    pub fn accept(listener: &TcpListener, timeout: Duration) -> io::Result<QemuStream> {
        listener.set_nonblocking(true)?;
        let until = Instant::now() + timeout;
        loop {
            match listener.accept() {
                Ok((s, from)) => {
                    s.set_nonblocking(false)?;
                    return Self::from_stream(
                        s,
                        format!("qemu -netdev socket from {from} (accepted)"),
                    );
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && Instant::now() < until => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("waiting for QEMU to connect: {e}"),
                    ))
                }
            }
        }
    }

    fn from_stream(stream: TcpStream, what: String) -> io::Result<QemuStream> {
        stream.set_nodelay(true)?;
        Ok(QemuStream {
            stream,
            buf: Vec::with_capacity(4096),
            what,
        })
    }

    /// Cuts one frame off the front of the receive buffer, if a whole one is there.
    fn take_frame(&mut self) -> io::Result<Option<Vec<u8>>> {
        let Some(head) = self.buf.get(..4) else {
            return Ok(None);
        };
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        if len > MAX_FRAME {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("QEMU stream announced a {len}-byte frame (max {MAX_FRAME}): not a -netdev socket stream"),
            ));
        }
        if self.buf.len() < 4 + len {
            return Ok(None);
        }
        let frame = self.buf[4..4 + len].to_vec();
        self.buf.drain(..4 + len);
        Ok(Some(frame))
    }
}

impl Wire for QemuStream {
    fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        let len = u32::try_from(frame.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too long"))?;
        let mut out = Vec::with_capacity(4 + frame.len());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(frame);
        self.stream.write_all(&out)
    }

    fn recv(&mut self, timeout: Duration) -> io::Result<Option<Vec<u8>>> {
        let until = Instant::now() + timeout;
        let mut tmp = [0u8; 16 * 1024];
        loop {
            if let Some(f) = self.take_frame()? {
                return Ok(Some(f));
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            self.stream
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))?;
            match self.stream.read(&mut tmp) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "QEMU closed the -netdev socket stream (VM stopped?)",
                    ))
                }
                Ok(n) => self.buf.extend_from_slice(&tmp[..n]),
                Err(e)
                    if e.kind() == io::ErrorKind::WouldBlock
                        || e.kind() == io::ErrorKind::TimedOut =>
                {
                    return Ok(None)
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn describe(&self) -> String {
        self.what.clone()
    }
}

/// A real interface through pnet's datalink channel (AF_PACKET).
pub struct Datalink {
    tx: Box<dyn pnet::datalink::DataLinkSender>,
    rx: Box<dyn pnet::datalink::DataLinkReceiver>,
    name: String,
    mac: Option<[u8; 6]>,
}

impl Datalink {
    /// Opens interface `name` (e.g. the host end of a veth pair). Needs CAP_NET_RAW.
    pub fn open(name: &str) -> io::Result<Datalink> {
        let ifs = pnet::datalink::interfaces();
        let iface = ifs.into_iter().find(|i| i.name == name).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("no network interface named {name:?}"),
            )
        })?;
        let cfg = pnet::datalink::Config {
            read_timeout: Some(Duration::from_millis(50)),
            ..Default::default()
        };
        match pnet::datalink::channel(&iface, cfg) {
            Ok(pnet::datalink::Channel::Ethernet(tx, rx)) => Ok(Datalink {
                tx,
                rx,
                name: name.to_string(),
                mac: iface.mac.map(|m| m.octets()),
            }),
            Ok(_) => Err(io::Error::other(format!(
                "{name}: pnet returned a non-Ethernet channel"
            ))),
            Err(e) => Err(io::Error::new(
                e.kind(),
                format!("opening {name} with AF_PACKET (needs CAP_NET_RAW): {e}"),
            )),
        }
    }

    /// The interface's own MAC address, if it has one.
    pub fn mac(&self) -> Option<[u8; 6]> {
        self.mac
    }
}

impl Wire for Datalink {
    fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        match self.tx.send_to(frame, None) {
            Some(r) => r,
            None => Err(io::Error::other(format!("{}: send_to failed", self.name))),
        }
    }

    fn recv(&mut self, timeout: Duration) -> io::Result<Option<Vec<u8>>> {
        let until = Instant::now() + timeout;
        loop {
            match self.rx.next() {
                Ok(f) => return Ok(Some(f.to_vec())),
                Err(e)
                    if e.kind() == io::ErrorKind::TimedOut
                        || e.kind() == io::ErrorKind::WouldBlock =>
                {
                    if Instant::now() >= until {
                        return Ok(None);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn describe(&self) -> String {
        format!("AF_PACKET on {}", self.name)
    }
}

/// Frames handed in by a test or fuzzer; everything sent is kept.
#[derive(Debug, Default)]
pub struct MemWire {
    /// Frames `recv` returns, front first.
    pub inbound: std::collections::VecDeque<Vec<u8>>,
    /// Frames sent.
    pub sent: Vec<Vec<u8>>,
}

impl Wire for MemWire {
    fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        self.sent.push(frame.to_vec());
        Ok(())
    }
    fn recv(&mut self, _timeout: Duration) -> io::Result<Option<Vec<u8>>> {
        Ok(self.inbound.pop_front())
    }
    fn describe(&self) -> String {
        "in-memory wire".into()
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn qemu_stream_frames_both_ways_and_split_reads() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let t = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            // two frames, the second split across writes
            s.write_all(&[0, 0, 0, 3, 1, 2, 3, 0, 0]).unwrap();
            std::thread::sleep(Duration::from_millis(30));
            s.write_all(&[0, 2, 9, 9]).unwrap();
            let mut got = [0u8; 6];
            s.read_exact(&mut got).unwrap();
            got
        });
        let mut w = QemuStream::connect(addr, Duration::from_secs(5)).unwrap();
        assert_eq!(w.recv(Duration::from_secs(2)).unwrap(), Some(vec![1, 2, 3]));
        assert_eq!(w.recv(Duration::from_secs(2)).unwrap(), Some(vec![9, 9]));
        assert_eq!(w.recv(Duration::from_millis(20)).unwrap(), None);
        w.send(&[7, 8]).unwrap();
        assert_eq!(t.join().unwrap(), [0, 0, 0, 2, 7, 8]);
    }

    #[test]
    fn qemu_stream_refuses_absurd_lengths() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let t = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            s.write_all(&[0xff, 0xff, 0xff, 0xff]).unwrap();
            std::thread::sleep(Duration::from_millis(100));
        });
        let mut w = QemuStream::connect(addr, Duration::from_secs(5)).unwrap();
        let e = w.recv(Duration::from_secs(2)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        t.join().unwrap();
    }
}
