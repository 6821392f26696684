//! Live capture on Linux: an `AF_PACKET` socket with a classic BPF filter in the kernel, read
//! through pnet's datalink receiver.
//!
//! # Why the socket is opened here
//! A busy 10/25 GbE interface carries far more than SMC; copying every packet to user space to
//! throw most of it away would drop the packets that matter. So the socket is created here
//! (`socket(AF_PACKET, …, 0)`: protocol 0 receives nothing yet), the filter of
//! [`super::filter`] is attached with `SO_ATTACH_FILTER`, and only then is the fd handed to pnet
//! (`pnet::datalink::linux::Config::socket_fd`, pnet 0.35), which binds it to the interface with
//! `ETH_P_ALL` — from that moment every packet meets the filter; none slips through before it.
//!
//! # Interfaces
//! Ethernet-like devices (`ARPHRD_ETHER`, `ARPHRD_LOOPBACK`) are read with `SOCK_RAW` and give
//! Ethernet frames. `any` (every interface, no promiscuous mode) and devices without an Ethernet
//! header are read with `SOCK_DGRAM` ("cooked": the packet starts at its IP header, link type
//! RAW). pnet's receiver does not return the `sockaddr_ll` of a packet, so a cooked packet's
//! EtherType is known only to the filter: RoCEv1 (EtherType 0x8915) is therefore not captured
//! on `any`; capture on the RoCE interface itself for it.
//!
//! # Time, stopping, drops
//! Frames carry the kernel's receive time (`SIOCGSTAMPNS`), or the clock when that is not
//! available. The receiver waits at most [`TICK`] for a packet; with none, [`Source::next_event`]
//! returns [`Next::Idle`] with the current time, so connections that went quiet still get their
//! verdicts. [`stop_on_signals`] makes SIGINT and SIGTERM end the capture: what the kernel had
//! already queued is still read (up to [`DRAIN_MAX`] packets), then [`Next::End`] comes and the
//! pipeline finishes as at the end of a file (a second Ctrl-C kills).
//! The kernel's `PACKET_STATISTICS` (packets that passed the filter, packets it dropped because
//! the socket's buffer was full) are read on every idle tick and at the end.
//!
//! Live capture's `unsafe` is confined to this file: each block is one libc call on the socket this
//! source owns. (The only other `unsafe` in the crate is the file map and prefetch in `mapped.rs`.)

use super::filter::{self, FilterSpec, LinkLayer};
use super::{CaptureStats, Frame, LinkType, Next, Progress, Source, SourceNotice, Timestamp};
use crate::error::DissectError;
use pnet::datalink::{self, Channel, DataLinkReceiver, NetworkInterface};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Longest wait for a packet before the pipeline is given the time (an idle tick).
pub const TICK: Duration = Duration::from_millis(200);
/// Bytes kept of each packet (libpcap's default snapshot length).
pub const SNAPLEN: u32 = 262_144;
/// Packets still read from the socket's queue after a stop (Ctrl-C) before the capture ends.
pub const DRAIN_MAX: u64 = 100_000;
/// Socket receive buffer asked for, so bursts wait in the kernel rather than being dropped.
pub const RCVBUF: i32 = 32 << 20;

/// `SIOCGSTAMPNS` (`include/uapi/linux/sockios.h`, `SIOCGSTAMPNS_OLD` = the 64-bit one on LP64).
const SIOCGSTAMPNS: libc::c_ulong = 0x8907;

/// Set by the SIGINT/SIGTERM handler of [`stop_on_signals`].
static SIGNALLED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    // only an atomic store: async-signal-safe
    SIGNALLED.store(true, Ordering::SeqCst);
}

/// Makes SIGINT and SIGTERM stop every [`LiveSource`] at its next packet or tick. The handler is
/// one-shot (`SA_RESETHAND`): a second Ctrl-C terminates the process as usual.
pub fn stop_on_signals() -> io::Result<()> {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction is valid; the handler only stores to an atomic, and no
        // SA_RESTART: a signal interrupts the receiver's poll(2) at once
        let rc = unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            sa.sa_flags = libc::SA_RESETHAND;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut())
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// What to capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveOptions {
    /// Interface name, or `any` for all of them.
    pub interface: String,
    /// Attach the SMC filter (module docs of [`super::filter`]); `false` captures everything.
    pub smc_only: bool,
}

/// Packets from a live interface. See the [module docs](self).
pub struct LiveSource {
    names: Vec<String>,
    rx: Box<dyn DataLinkReceiver>,
    fd: i32,
    link: LinkType,
    number: u64,
    stop: Arc<AtomicBool>,
    kernel: CaptureStats,
    bytes: u64,
    description: String,
    /// Packets read since the stop.
    drained: u64,
}

fn capture_error(iface: &str, e: &io::Error) -> DissectError {
    let message = match e.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => {
            format!("capturing on {iface} needs CAP_NET_RAW (run as root or setcap cap_net_raw+ep)")
        }
        Some(libc::ENODEV) | Some(libc::ENXIO) => {
            format!("no interface named {iface} (see `ip link`)")
        }
        Some(libc::ENETDOWN) => format!("capturing on {iface}: the interface is down"),
        _ => format!("capturing on {iface}: {e}"),
    };
    DissectError::Capture {
        interface: iface.to_string(),
        message,
    }
}

/// Closes the fd unless it was handed over.
struct OwnedFd(i32);

impl Drop for OwnedFd {
    fn drop(&mut self) {
        if self.0 >= 0 {
            // SAFETY: the fd was returned by socket(2) and is not used after this
            unsafe { libc::close(self.0) };
        }
    }
}

fn setsockopt<T>(fd: i32, level: i32, name: i32, value: &T) -> io::Result<()> {
    let len = libc::socklen_t::try_from(std::mem::size_of::<T>()).unwrap_or(0);
    // SAFETY: `value` points at a live `T` of `len` bytes for the duration of the call
    let rc = unsafe { libc::setsockopt(fd, level, name, (value as *const T).cast(), len) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The device's `ARPHRD_*` type (`SIOCGIFHWADDR`), asked on the capture socket so it is the
/// interface of the socket's network namespace.
fn hardware_type(fd: i32, iface: &str) -> io::Result<u16> {
    // SAFETY: a zeroed ifreq is valid
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    let name = iface.as_bytes();
    if name.len() >= req.ifr_name.len() {
        return Err(io::Error::from_raw_os_error(libc::ENODEV));
    }
    for (d, s) in req.ifr_name.iter_mut().zip(name) {
        *d = *s as libc::c_char;
    }
    // SAFETY: SIOCGIFHWADDR reads the name and writes ifr_hwaddr inside `req`
    let rc = unsafe { libc::ioctl(fd, libc::SIOCGIFHWADDR, &mut req) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: SIOCGIFHWADDR filled the hwaddr member of the union
    Ok(unsafe { req.ifr_ifru.ifru_hwaddr.sa_family })
}

fn new_socket(kind: i32) -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2); protocol 0 receives nothing until bind names one
    let fd = unsafe { libc::socket(libc::AF_PACKET, kind | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(OwnedFd(fd))
    }
}

impl LiveSource {
    /// Opens the capture. Errors are one line naming the interface (no privilege, no such
    /// interface, interface down).
    pub fn open(opts: &LiveOptions) -> Result<LiveSource, DissectError> {
        let iface = opts.interface.as_str();
        let err = |e: io::Error| capture_error(iface, &e);
        let any = iface == "any";
        let interfaces = datalink::interfaces();
        let loopback_index = interfaces.iter().find(|i| i.is_loopback()).map(|i| i.index);
        let ni = if any {
            NetworkInterface {
                name: "any".into(),
                description: String::new(),
                index: 0,
                mac: None,
                ips: Vec::new(),
                flags: 0,
            }
        } else {
            match interfaces.into_iter().find(|i| i.name == iface) {
                Some(i) => i,
                None => {
                    // a socket first, so a missing privilege is reported as such
                    new_socket(libc::SOCK_RAW).map_err(err)?;
                    return Err(err(io::Error::from_raw_os_error(libc::ENODEV)));
                }
            }
        };
        let probe = new_socket(libc::SOCK_RAW).map_err(err)?;
        let ethernet_like = any
            || matches!(
                hardware_type(probe.0, iface).map_err(err)?,
                libc::ARPHRD_ETHER | libc::ARPHRD_LOOPBACK
            );
        let cooked = any || !ethernet_like;
        let mut sock = if cooked {
            new_socket(libc::SOCK_DGRAM).map_err(err)?
        } else {
            probe
        };
        let spec = FilterSpec {
            link: if cooked {
                LinkLayer::Cooked
            } else {
                LinkLayer::Ethernet
            },
            smc_only: opts.smc_only,
            loopback: if any { loopback_index } else { None }
                .or((ni.is_loopback()).then_some(ni.index)),
            snaplen: SNAPLEN,
        };
        let prog = filter::program(&spec).map_err(|m| DissectError::Capture {
            interface: iface.to_string(),
            message: format!("capturing on {iface}: building the filter: {m}"),
        })?;
        let mut insns: Vec<libc::sock_filter> = prog
            .iter()
            .map(|i| libc::sock_filter {
                code: i.code,
                jt: i.jt,
                jf: i.jf,
                k: i.k,
            })
            .collect();
        let fprog = libc::sock_fprog {
            len: u16::try_from(insns.len()).unwrap_or(u16::MAX),
            filter: insns.as_mut_ptr(),
        };
        // attached before pnet binds the socket: no packet is read unfiltered
        setsockopt(sock.0, libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &fprog).map_err(err)?;
        // a large buffer absorbs bursts; FORCE needs CAP_NET_ADMIN, the plain one is capped
        if setsockopt(sock.0, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, &RCVBUF).is_err() {
            let _ = setsockopt(sock.0, libc::SOL_SOCKET, libc::SO_RCVBUF, &RCVBUF);
        }
        let config = datalink::Config {
            read_buffer_size: SNAPLEN as usize,
            // LiveSource::wait polls; pnet reads only a socket that is readable
            read_timeout: None,
            promiscuous: !any,
            socket_fd: Some(sock.0),
            ..datalink::Config::default()
        };
        let fd = sock.0;
        // pnet owns the fd from here (it closes it on error and when dropped)
        sock.0 = -1;
        let rx = match datalink::channel(&ni, config) {
            Ok(Channel::Ethernet(_tx, rx)) => rx,
            Ok(_) => {
                return Err(DissectError::Capture {
                    interface: iface.to_string(),
                    message: format!("capturing on {iface}: unexpected channel type"),
                })
            }
            Err(e) => return Err(err(e)),
        };
        let link = if cooked {
            LinkType::RAW
        } else {
            LinkType::ETHERNET
        };
        let description = format!(
            "{iface}, link-type {link}, {}",
            if opts.smc_only {
                "kernel filter: SMC-relevant packets only (--no-filter for all)"
            } else {
                "no filter"
            }
        );
        Ok(LiveSource {
            names: vec![iface.to_string()],
            rx,
            fd,
            link,
            number: 0,
            stop: Arc::new(AtomicBool::new(false)),
            kernel: CaptureStats::default(),
            bytes: 0,
            description,
            drained: 0,
        })
    }

    /// One line saying what is captured, for a "capturing on …" message.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// A flag that ends the capture when set (from any thread).
    pub fn stop_handle(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || SIGNALLED.load(Ordering::Relaxed)
    }

    /// Adds the kernel's counters since the last read (reading resets them, `packet_getsockopt`).
    fn read_kernel_stats(&mut self) {
        let mut st = libc::tpacket_stats {
            tp_packets: 0,
            tp_drops: 0,
        };
        let mut len =
            libc::socklen_t::try_from(std::mem::size_of::<libc::tpacket_stats>()).unwrap_or(0);
        // SAFETY: `st` and `len` are live locals of the sizes passed
        let rc = unsafe {
            libc::getsockopt(
                self.fd,
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&mut st as *mut libc::tpacket_stats).cast(),
                &mut len,
            )
        };
        if rc == 0 {
            self.kernel.received += u64::from(st.tp_packets);
            self.kernel.dropped += u64::from(st.tp_drops);
        }
    }
}

/// The receive time of the last packet read on `fd`, from the kernel (`SIOCGSTAMPNS`).
fn packet_time(fd: i32) -> Timestamp {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: SIOCGSTAMPNS writes one timespec into `ts`
    let rc = unsafe { libc::ioctl(fd, SIOCGSTAMPNS, &mut ts) };
    if rc == 0 && ts.tv_sec > 0 {
        Timestamp::new(ts.tv_sec, u64::try_from(ts.tv_nsec).unwrap_or(0))
    } else {
        now()
    }
}

fn now() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::new(
        i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        u64::from(d.subsec_nanos()),
    )
}

/// What waiting for the socket gave.
enum Wait {
    Ready,
    Idle(Timestamp),
    End,
}

impl LiveSource {
    /// Waits up to [`TICK`] for a packet (poll(2) on the socket; a signal interrupts it).
    fn wait(&mut self) -> Result<Wait, DissectError> {
        let tick = libc::c_int::try_from(TICK.as_millis()).unwrap_or(200);
        loop {
            // once stopped, what the kernel already queued is still read (up to DRAIN_MAX
            // packets), without waiting: a Ctrl-C right after traffic loses none of it
            let stopping = self.stopped();
            if stopping {
                self.drained += 1;
                if self.drained > DRAIN_MAX {
                    self.read_kernel_stats();
                    return Ok(Wait::End);
                }
            }
            let mut pfd = libc::pollfd {
                fd: self.fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one pollfd, a live local
            let rc = unsafe { libc::poll(&mut pfd, 1, if stopping { 0 } else { tick }) };
            if rc > 0 {
                // readable, or an error the read reports
                return Ok(Wait::Ready);
            }
            if rc == 0 && stopping {
                self.read_kernel_stats();
                return Ok(Wait::End);
            }
            if rc == 0 {
                self.read_kernel_stats();
                return Ok(Wait::Idle(now()));
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(capture_error(self.name(), &e));
            }
        }
    }

    /// Reads the packet [`LiveSource::wait`] found (pnet's receiver: it does not block then).
    fn read(&mut self) -> Result<Frame<'_>, DissectError> {
        let fd = self.fd;
        let data = match self.rx.next() {
            Ok(d) => d,
            Err(e) => {
                let iface = self.names.first().map_or("?", String::as_str);
                return Err(capture_error(iface, &e));
            }
        };
        self.number += 1;
        self.bytes += data.len() as u64;
        let caplen = u32::try_from(data.len()).unwrap_or(u32::MAX);
        Ok(Frame {
            input: 0,
            number: self.number,
            ts: packet_time(fd),
            link_type: self.link,
            caplen,
            origlen: caplen,
            data,
        })
    }

    fn name(&self) -> &str {
        self.names.first().map_or("?", String::as_str)
    }
}

impl Source for LiveSource {
    fn next_frame(&mut self) -> Result<Option<Frame<'_>>, DissectError> {
        loop {
            match self.wait()? {
                Wait::Ready => break,
                Wait::Idle(_) => continue,
                Wait::End => return Ok(None),
            }
        }
        self.read().map(Some)
    }

    fn next_event(&mut self) -> Result<Next<'_>, DissectError> {
        match self.wait()? {
            Wait::Ready => self.read().map(Next::Frame),
            Wait::Idle(t) => Ok(Next::Idle(t)),
            Wait::End => Ok(Next::End),
        }
    }

    fn take_notices(&mut self) -> Vec<SourceNotice> {
        Vec::new()
    }

    fn progress(&self) -> Progress {
        Progress {
            bytes_done: self.bytes,
            bytes_total: None,
        }
    }

    fn input_names(&self) -> &[String] {
        &self.names
    }

    fn capture_stats(&mut self) -> Option<CaptureStats> {
        self.read_kernel_stats();
        Some(self.kernel)
    }
}
