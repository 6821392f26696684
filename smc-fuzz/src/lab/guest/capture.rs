//! In-guest packet capture: an `AF_PACKET` socket on one interface, packets kept in
//! memory and written as a classic pcap (link type Ethernet) when stopped. This
//! replaces shipping tcpdump and its shared libraries.

use super::sys;
use crate::lab::diag::PcapInfo;
use crate::lab::{Context, LabError, Result};
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// `ETH_P_ALL` (include/uapi/linux/if_ether.h).
const ETH_P_ALL: u16 = 0x0003;
/// `PACKET_OUTGOING` (include/uapi/linux/if_packet.h).
const PACKET_OUTGOING: u8 = 4;
/// `PACKET_STATISTICS` sockopt (include/uapi/linux/if_packet.h).
const PACKET_STATISTICS: i32 = 6;
/// pcap link type Ethernet (`LINKTYPE_ETHERNET`); lo also carries Ethernet headers.
const LINKTYPE_ETHERNET: u32 = 1;

struct Packet {
    ts_sec: u32,
    ts_usec: u32,
    orig_len: u32,
    data: Vec<u8>,
}

/// A running capture.
pub struct Capture {
    ifname: String,
    file: String,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<Vec<Packet>>>>,
    fd: Arc<OwnedFd>,
}

fn now() -> (u32, u32) {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec.
    unsafe {
        libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts);
    }
    (ts.tv_sec as u32, (ts.tv_nsec / 1000) as u32)
}

impl Capture {
    /// Opens the socket, binds it to `ifname` and starts the reader thread. Packets
    /// sent on `lo` show up twice (out and in); like libpcap, only the incoming copy
    /// is kept there.
    pub fn start(ifname: &str, file: &str, snaplen: u32) -> Result<Capture> {
        let proto = ETH_P_ALL.to_be();
        // SAFETY: plain socket(2).
        let fd = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                i32::from(proto),
            )
        };
        if fd < 0 {
            return Err(LabError::msg(format!(
                "socket(AF_PACKET): {} (CONFIG_PACKET?)",
                io::Error::last_os_error()
            )));
        }
        // SAFETY: fresh fd.
        let fd = Arc::new(unsafe { OwnedFd::from_raw_fd(fd) });
        let idx = sys::ifindex(ifname)?;
        // SAFETY: sockaddr_ll is POD; zeroed is valid.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = proto;
        sll.sll_ifindex = idx;
        // SAFETY: sll is a valid sockaddr_ll of the given size.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if rc != 0 {
            return Err(LabError::msg(format!(
                "bind AF_PACKET to {ifname}: {}",
                io::Error::last_os_error()
            )));
        }
        let rcvbuf: i32 = 64 << 20;
        let tv = libc::timeval {
            tv_sec: 0,
            tv_usec: 100_000,
        };
        // SAFETY: valid option buffers of the stated sizes.
        unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUFFORCE,
                (&rcvbuf as *const i32).cast(),
                4,
            );
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as u32,
            );
        }
        let stop = Arc::new(AtomicBool::new(false));
        let (stop2, fd2) = (stop.clone(), fd.clone());
        let skip_outgoing = ifname == "lo";
        let snap = if snaplen == 0 {
            65535
        } else {
            snaplen as usize
        };
        let thread = std::thread::Builder::new()
            .name(format!("capture-{ifname}"))
            .spawn(move || -> Result<Vec<Packet>> {
                let mut pkts = Vec::new();
                let mut buf = vec![0u8; 65536];
                loop {
                    // SAFETY: sockaddr_ll is POD.
                    let mut from: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
                    let mut flen = std::mem::size_of::<libc::sockaddr_ll>() as u32;
                    // SAFETY: buf and from are valid for the sizes given.
                    let n = unsafe {
                        libc::recvfrom(
                            fd2.as_raw_fd(),
                            buf.as_mut_ptr().cast(),
                            buf.len(),
                            libc::MSG_TRUNC,
                            (&mut from as *mut libc::sockaddr_ll).cast(),
                            &mut flen,
                        )
                    };
                    if n < 0 {
                        let e = io::Error::last_os_error();
                        if matches!(e.raw_os_error(), Some(libc::EAGAIN) | Some(libc::EINTR)) {
                            if stop2.load(Ordering::Acquire) {
                                return Ok(pkts);
                            }
                            continue;
                        }
                        return Err(LabError::msg(format!("AF_PACKET recv: {e}")));
                    }
                    if skip_outgoing && from.sll_pkttype == PACKET_OUTGOING {
                        continue;
                    }
                    let (ts_sec, ts_usec) = now();
                    let orig = n as usize;
                    let keep = orig.min(snap).min(buf.len());
                    pkts.push(Packet {
                        ts_sec,
                        ts_usec,
                        orig_len: orig as u32,
                        data: buf[..keep].to_vec(),
                    });
                }
            })
            .context("spawning the capture thread")?;
        Ok(Capture {
            ifname: ifname.to_string(),
            file: file.to_string(),
            stop,
            thread: Some(thread),
            fd,
        })
    }

    /// Stops the capture and writes `dir/<file>`; returns what was written.
    pub fn finish(mut self, dir: &str, vm: &str) -> Result<PcapInfo> {
        // let the last segments (FIN/ACK) arrive before stopping
        std::thread::sleep(std::time::Duration::from_millis(300));
        self.stop.store(true, Ordering::Release);
        let pkts = match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| LabError::msg("capture thread panicked"))??,
            None => Vec::new(),
        };
        // struct tpacket_stats { unsigned tp_packets; unsigned tp_drops; }
        let mut st = [0u32; 2];
        let mut len = 8u32;
        // SAFETY: st is 8 writable bytes.
        unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                PACKET_STATISTICS,
                st.as_mut_ptr().cast(),
                &mut len,
            );
        }
        let path = format!("{dir}/{}", self.file);
        let mut out = io::BufWriter::new(
            std::fs::File::create(&path).with_context(|| format!("create {path}"))?,
        );
        let mut hdr = Vec::with_capacity(24);
        hdr.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes()); // pcap magic, microseconds
        hdr.extend_from_slice(&2u16.to_le_bytes()); // version 2.4
        hdr.extend_from_slice(&4u16.to_le_bytes());
        hdr.extend_from_slice(&0i32.to_le_bytes()); // thiszone
        hdr.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
        hdr.extend_from_slice(&65535u32.to_le_bytes()); // snaplen
        hdr.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        out.write_all(&hdr).context("writing pcap header")?;
        for p in &pkts {
            let mut r = Vec::with_capacity(16);
            r.extend_from_slice(&p.ts_sec.to_le_bytes());
            r.extend_from_slice(&p.ts_usec.to_le_bytes());
            r.extend_from_slice(&(p.data.len() as u32).to_le_bytes());
            r.extend_from_slice(&p.orig_len.to_le_bytes());
            out.write_all(&r).context("writing pcap record")?;
            out.write_all(&p.data).context("writing pcap record")?;
        }
        out.flush().context("flushing pcap")?;
        Ok(PcapInfo {
            file: self.file.clone(),
            source: format!("guest:{vm}:{}", self.ifname),
            packets: pkts.len() as u64,
            dropped: u64::from(st[1]),
        })
    }
}
