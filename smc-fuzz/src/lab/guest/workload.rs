//! AF_SMC echo workloads: server and client in one VM ([`pair`]) or split over two
//! VMs ([`serve`] / [`connect`]) with a small UDP control channel.

use super::netlink::smc_diag_dump;
use crate::lab::diag::{ConnDiag, AF_SMC, SMCPROTO_SMC, SMCPROTO_SMC6, SMC_STATE_LISTEN};
use crate::lab::plan::Workload;
use crate::lab::{Context, LabError, Result};
use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// `SOL_SMC` (include/linux/socket.h).
const SOL_SMC: i32 = 286;
/// `SMC_LIMIT_HS` (include/uapi/linux/smc.h).
const SMC_LIMIT_HS: i32 = 1;
/// How long one connection's handshake plus echo may take under TCG.
const IO_TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) fn os_err(what: String) -> LabError {
    LabError::msg(format!("{what}: {}", io::Error::last_os_error()))
}

pub(crate) fn smc_socket(v6: bool) -> Result<OwnedFd> {
    let proto = if v6 { SMCPROTO_SMC6 } else { SMCPROTO_SMC };
    // SAFETY: plain socket(2).
    let fd = unsafe {
        libc::socket(
            i32::from(AF_SMC),
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            proto,
        )
    };
    if fd < 0 {
        return Err(os_err("socket(AF_SMC) (smc loaded?)".into()));
    }
    // SAFETY: fresh fd.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A sockaddr_in / sockaddr_in6 in a storage buffer.
pub(crate) fn sockaddr(sa: &SocketAddr) -> (libc::sockaddr_storage, u32) {
    // SAFETY: sockaddr_storage is POD.
    let mut st: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match sa {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as u16,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: storage is large enough and suitably aligned for sockaddr_in.
            unsafe { std::ptr::write((&mut st as *mut libc::sockaddr_storage).cast(), sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as u16,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: as above for sockaddr_in6.
            unsafe { std::ptr::write((&mut st as *mut libc::sockaddr_storage).cast(), sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (st, len as u32)
}

fn parse_addr(w: &Workload) -> Result<SocketAddr> {
    let ip: IpAddr = w
        .addr
        .parse()
        .with_context(|| format!("bad address {:?}", w.addr))?;
    Ok(SocketAddr::new(ip, w.port))
}

pub(crate) fn set_timeouts(f: &File) {
    let tv = libc::timeval {
        tv_sec: IO_TIMEOUT.as_secs() as libc::time_t,
        tv_usec: 0,
    };
    for opt in [libc::SO_RCVTIMEO, libc::SO_SNDTIMEO] {
        // SAFETY: tv is a valid timeval.
        unsafe {
            libc::setsockopt(
                f.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                (&tv as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as u32,
            );
        }
    }
}

pub(crate) fn listen(w: &Workload) -> Result<OwnedFd> {
    let sa = parse_addr(w)?;
    let fd = smc_socket(sa.is_ipv6())?;
    let one: i32 = 1;
    // SAFETY: valid option buffer.
    unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            (&one as *const i32).cast(),
            4,
        );
    }
    if w.limit_hs {
        // SAFETY: valid option buffer.
        let rc = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                SOL_SMC,
                SMC_LIMIT_HS,
                (&one as *const i32).cast(),
                4,
            )
        };
        if rc != 0 {
            return Err(os_err("setsockopt(SOL_SMC, SMC_LIMIT_HS)".into()));
        }
    }
    let (st, len) = sockaddr(&sa);
    // SAFETY: st holds a sockaddr of length len.
    if unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&st as *const libc::sockaddr_storage).cast(),
            len,
        )
    } != 0
    {
        return Err(os_err(format!("bind {sa}")));
    }
    // SAFETY: plain listen(2).
    if unsafe { libc::listen(fd.as_raw_fd(), w.backlog.max(16) as i32) } != 0 {
        return Err(os_err(format!("listen {sa}")));
    }
    Ok(fd)
}

fn poll_one(fd: i32, events: i16, until: Instant, what: &str) -> Result<()> {
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(LabError::msg(format!("{what}: timed out")));
        }
        let mut p = libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        // SAFETY: p is one valid pollfd.
        let n = unsafe { libc::poll(&mut p, 1, left.as_millis().min(1000) as i32) };
        if n > 0 {
            return Ok(());
        }
        if n < 0 && io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return Err(os_err(format!("{what}: poll")));
        }
    }
}

fn accept_one(l: &OwnedFd, until: Instant) -> Result<File> {
    poll_one(l.as_raw_fd(), libc::POLLIN, until, "accept")?;
    // SAFETY: accept4 with null address is valid.
    let fd = unsafe {
        libc::accept4(
            l.as_raw_fd(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            libc::SOCK_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(os_err("accept".into()));
    }
    // SAFETY: fresh fd.
    let f = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    set_timeouts(&f);
    Ok(f)
}

/// Echoes `bytes` bytes back; returns the socket (kept open until sampled).
fn echo(mut f: File, bytes: u64) -> Result<File> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut done = 0u64;
    while done < bytes {
        let want = (bytes - done).min(buf.len() as u64) as usize;
        let n = f.read(&mut buf[..want]).context("server read")?;
        if n == 0 {
            return Err(LabError::msg(format!(
                "server: peer closed after {done} of {bytes} bytes"
            )));
        }
        f.write_all(&buf[..n]).context("server write")?;
        done += n as u64;
    }
    Ok(f)
}

/// Connects `n` sockets, one by one or all at once (non-blocking connect, then poll).
/// With `tolerate`, failed connects are counted instead of failing the workload
/// (under `SMC_LIMIT_HS` pressure a client can time out waiting for the Accept).
fn connect_many(
    sa: &SocketAddr,
    n: u32,
    parallel: bool,
    tolerate: bool,
) -> Result<(Vec<File>, u32)> {
    let (st, len) = sockaddr(sa);
    let until = Instant::now() + IO_TIMEOUT;
    let mut socks = Vec::new();
    let mut failed = 0;
    for i in 0..n {
        let fd = smc_socket(sa.is_ipv6())?;
        if parallel {
            // SAFETY: fcntl on an owned fd.
            unsafe {
                let fl = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
                libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK);
            }
        }
        // SAFETY: st holds a sockaddr of length len.
        let rc = unsafe {
            libc::connect(
                fd.as_raw_fd(),
                (&st as *const libc::sockaddr_storage).cast(),
                len,
            )
        };
        if rc != 0 {
            let e = io::Error::last_os_error();
            if !(parallel && e.raw_os_error() == Some(libc::EINPROGRESS)) {
                if tolerate {
                    failed += 1;
                    continue;
                }
                return Err(LabError::msg(format!("connect #{i} to {sa}: {e}")));
            }
        }
        socks.push(fd);
    }
    let mut out = Vec::new();
    for (i, fd) in socks.into_iter().enumerate() {
        if parallel {
            poll_one(
                fd.as_raw_fd(),
                libc::POLLOUT,
                until,
                &format!("connect #{i}"),
            )?;
            let mut err: i32 = 0;
            let mut l = 4u32;
            // SAFETY: err is 4 writable bytes.
            unsafe {
                libc::getsockopt(
                    fd.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_ERROR,
                    (&mut err as *mut i32).cast(),
                    &mut l,
                );
                let fl = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
                libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, fl & !libc::O_NONBLOCK);
            }
            if err != 0 {
                if tolerate {
                    failed += 1;
                    continue;
                }
                return Err(LabError::msg(format!(
                    "connect #{i} to {sa}: {}",
                    io::Error::from_raw_os_error(err)
                )));
            }
        }
        let f = File::from(fd);
        set_timeouts(&f);
        out.push(f);
    }
    Ok((out, failed))
}

/// Accepts up to `n` connections on its own thread, one echo thread each, until
/// stopped.
struct Acceptor {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Result<Vec<std::thread::JoinHandle<Result<File>>>>>,
}

impl Acceptor {
    fn start(l: &OwnedFd, n: u32, bytes: u64) -> Result<Acceptor> {
        use std::sync::atomic::{AtomicBool, Ordering};
        let lfd = l.try_clone().context("dup listener")?;
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut hs = Vec::new();
            let until = Instant::now() + IO_TIMEOUT * 3;
            while (hs.len() as u32) < n && !stop2.load(Ordering::Acquire) {
                if Instant::now() > until {
                    return Err(LabError::msg(format!(
                        "accepted only {} of {n} connections",
                        hs.len()
                    )));
                }
                let mut p = libc::pollfd {
                    fd: lfd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid pollfd.
                if unsafe { libc::poll(&mut p, 1, 100) } <= 0 {
                    continue;
                }
                let c = accept_one(&lfd, Instant::now() + Duration::from_secs(1))?;
                hs.push(std::thread::spawn(move || echo(c, bytes)));
            }
            Ok(hs)
        });
        Ok(Acceptor { stop, thread })
    }

    /// Stops accepting and waits for the echo threads: the served sockets (still
    /// open) and how many echo threads failed.
    fn finish(self) -> Result<(Vec<File>, u32)> {
        self.stop.store(true, std::sync::atomic::Ordering::Release);
        let hs = self
            .thread
            .join()
            .map_err(|_| LabError::msg("accept thread panicked"))??;
        let mut files = Vec::new();
        let mut failed = 0;
        for h in hs {
            match h
                .join()
                .map_err(|_| LabError::msg("echo thread panicked"))?
            {
                Ok(f) => files.push(f),
                Err(_) => failed += 1,
            }
        }
        Ok((files, failed))
    }
}

/// Writes `bytes` patterned bytes and checks the echo (writer on its own thread so
/// that more than the buffers can be in flight: CDC cursor wrap).
fn exchange(f: &File, bytes: u64, idx: usize) -> Result<()> {
    let mut w = f.try_clone().context("dup socket")?;
    let writer = std::thread::spawn(move || -> io::Result<()> {
        let mut buf = vec![0u8; 64 * 1024];
        let mut sent = 0u64;
        while sent < bytes {
            let n = (bytes - sent).min(buf.len() as u64) as usize;
            for (k, b) in buf[..n].iter_mut().enumerate() {
                *b = ((sent + k as u64) % 251) as u8;
            }
            w.write_all(&buf[..n])?;
            sent += n as u64;
        }
        Ok(())
    });
    let mut r = f;
    let mut buf = vec![0u8; 64 * 1024];
    let mut got = 0u64;
    while got < bytes {
        let want = (bytes - got).min(buf.len() as u64) as usize;
        let n = r
            .read(&mut buf[..want])
            .with_context(|| format!("client #{idx} read"))?;
        if n == 0 {
            return Err(LabError::msg(format!(
                "client #{idx}: closed after {got} of {bytes} bytes"
            )));
        }
        for (k, b) in buf[..n].iter().enumerate() {
            if *b != ((got + k as u64) % 251) as u8 {
                return Err(LabError::msg(format!(
                    "client #{idx}: echo differs at byte {}",
                    got + k as u64
                )));
            }
        }
        got += n as u64;
    }
    writer
        .join()
        .map_err(|_| LabError::msg("writer thread panicked"))?
        .with_context(|| format!("client #{idx} write"))?;
    Ok(())
}

/// Samples `smc_diag` for the workload's port (listening sockets left out).
fn sample(w: &Workload, vm: &str) -> Result<Vec<ConnDiag>> {
    Ok(smc_diag_dump(vm)?
        .into_iter()
        .filter(|r| r.state != SMC_STATE_LISTEN)
        .filter(|r| r.conn.local_port == w.port || r.conn.peer_port == w.port)
        .map(|r| r.with_role(&[w.port]))
        .collect())
}

fn batches(w: &Workload) -> Vec<u32> {
    let size = if w.batch == 0 { w.conns } else { w.batch };
    let mut left = w.conns;
    let mut v = Vec::new();
    while left > 0 {
        let b = left.min(size.max(1));
        v.push(b);
        left -= b;
    }
    v
}

/// What a workload run saw.
pub struct Outcome {
    /// `smc_diag` of every connection, sampled while established.
    pub conns: Vec<ConnDiag>,
    /// Connects that failed (only with `tolerate_errors`).
    pub failed_connects: u32,
}

fn check_failures(w: &Workload, connect_failed: u32, echo_failed: u32) -> Result<()> {
    if !w.tolerate_errors && (connect_failed > 0 || echo_failed > 0) {
        return Err(LabError::msg(format!(
            "{connect_failed} connects and {echo_failed} echo sessions failed"
        )));
    }
    Ok(())
}

/// Non-blocking AF_SMC connects whose SYNs are never answered hold this many handshake
/// works in `smc_hs_wq`: more than its `max_active` (256, `WQ_DFL_ACTIVE`; the queue is
/// allocated with 0 in `smc_init`, net/smc/af_smc.c).
const HS_WQ_FILL: u32 = 300;

/// Port offset of the listener that silently drops every SYN (decoy target).
const DECOY_PORT_OFFSET: u16 = 500;

/// `smc_hs_wq` held congested: non-blocking AF_SMC connects to a TCP listener whose socket
/// filter drops every segment (`tcp_filter` in `tcp_v4_rcv` runs for listeners too), so
/// each one's `connect_work` sleeps in `sk_stream_wait_connect` and stays active.
/// Dropping it closes them all; `smc_release` aborts the TCP connect and the works end.
struct CongestedHsWq {
    _listener: OwnedFd,
    _decoys: Vec<OwnedFd>,
}

impl CongestedHsWq {
    fn start(ip: IpAddr, port: u16) -> Result<CongestedHsWq> {
        let sa = SocketAddr::new(ip, port);
        let family = if ip.is_ipv6() {
            libc::AF_INET6
        } else {
            libc::AF_INET
        };
        // SAFETY: plain socket(2).
        let fd = unsafe { libc::socket(family, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(os_err("decoy listener socket".into()));
        }
        // SAFETY: fresh fd.
        let listener = unsafe { OwnedFd::from_raw_fd(fd) };
        // classic BPF "ret #0": keep nothing
        let mut prog = [libc::sock_filter {
            code: (libc::BPF_RET | libc::BPF_K) as u16,
            jt: 0,
            jf: 0,
            k: 0,
        }];
        let fprog = libc::sock_fprog {
            len: 1,
            filter: prog.as_mut_ptr(),
        };
        let (st, len) = sockaddr(&sa);
        // SAFETY: valid option buffer, sockaddr of length len, plain listen(2).
        let ok = unsafe {
            libc::setsockopt(
                listener.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_ATTACH_FILTER,
                (&fprog as *const libc::sock_fprog).cast(),
                std::mem::size_of::<libc::sock_fprog>() as u32,
            ) == 0
                && libc::bind(
                    listener.as_raw_fd(),
                    (&st as *const libc::sockaddr_storage).cast(),
                    len,
                ) == 0
                && libc::listen(listener.as_raw_fd(), 16) == 0
        };
        if !ok {
            return Err(os_err(format!("decoy listener on {sa}")));
        }
        let mut decoys = Vec::new();
        for i in 0..HS_WQ_FILL {
            let fd = smc_socket(ip.is_ipv6())?;
            // SAFETY: fcntl on an owned fd; st holds a sockaddr of length len.
            let rc = unsafe {
                let fl = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
                libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK);
                libc::connect(
                    fd.as_raw_fd(),
                    (&st as *const libc::sockaddr_storage).cast(),
                    len,
                )
            };
            if rc != 0 && io::Error::last_os_error().raw_os_error() != Some(libc::EINPROGRESS) {
                return Err(os_err(format!("decoy connect #{i} to {sa}")));
            }
            decoys.push(fd);
        }
        Ok(CongestedHsWq {
            _listener: listener,
            _decoys: decoys,
        })
    }
}

/// `SMC_LIMIT_HS` made deterministic: the first half of the connections while
/// `smc_hs_wq` is idle (their SYN-ACKs carry the SMC option), the second half while it
/// is held congested (`smc_hs_congested`, net/smc/af_smc.c, asked by `tcp_openreq_init`:
/// no option in the SYN-ACK, both ends fall back with PEERNOSMC). The second half uses
/// blocking connects: they run the client handshake in the caller (`__smc_connect`),
/// not in the congested queue. Racing many parallel connects against the queue instead
/// hits the limit only on a slow enough machine.
fn pair_limit_hs(w: &Workload, vm: &str) -> Result<Outcome> {
    let sa = parse_addr(w)?;
    let l = listen(w)?;
    let acc = Acceptor::start(&l, w.conns, w.bytes)?;
    let first = w.conns / 2;
    let (mut clients, mut failed) = connect_many(&sa, first, w.parallel, w.tolerate_errors)?;
    // every first-half handshake is over (its echo came back) before the queue fills
    for (i, c) in clients.iter().enumerate() {
        exchange(c, w.bytes, i)?;
    }
    let congested = CongestedHsWq::start(sa.ip(), w.port.wrapping_add(DECOY_PORT_OFFSET))?;
    let (late, late_failed) = connect_many(&sa, w.conns - first, false, w.tolerate_errors)?;
    // the server's listen works wait behind the decoys; let them run
    drop(congested);
    for (i, c) in late.iter().enumerate() {
        exchange(c, w.bytes, first as usize + i)?;
    }
    clients.extend(late);
    failed += late_failed;
    std::thread::sleep(Duration::from_millis(w.hold_ms));
    let (served, echo_failed) = acc.finish().context("server")?;
    let out = Outcome {
        conns: sample(w, vm)?,
        failed_connects: failed,
    };
    drop(clients);
    drop(served);
    check_failures(w, failed, echo_failed)?;
    Ok(out)
}

/// Server and client in one VM; returns every connection's diag (both ends).
pub fn pair(w: &Workload, vm: &str) -> Result<Outcome> {
    if w.limit_hs {
        return pair_limit_hs(w, vm);
    }
    let sa = parse_addr(w)?;
    let l = listen(w)?;
    let mut out = Outcome {
        conns: Vec::new(),
        failed_connects: 0,
    };
    for (bi, n) in batches(w).into_iter().enumerate() {
        let acc = Acceptor::start(&l, n, w.bytes)?;
        let (clients, failed) = connect_many(&sa, n, w.parallel, w.tolerate_errors)?;
        for (i, c) in clients.iter().enumerate() {
            exchange(c, w.bytes, i).with_context(|| format!("batch {bi}"))?;
        }
        std::thread::sleep(Duration::from_millis(w.hold_ms));
        // every successful connection was accepted (its echo came back)
        let (served, echo_failed) = acc
            .finish()
            .with_context(|| format!("server, batch {bi}"))?;
        out.conns.extend(sample(w, vm)?);
        out.failed_connects += failed;
        drop(clients);
        drop(served);
        check_failures(w, failed, echo_failed)?;
    }
    Ok(out)
}

fn ctl_port(w: &Workload) -> u16 {
    w.port.wrapping_add(1000)
}

/// Waits on the control socket for `want`, answering "hello" with "ready" meanwhile.
fn wait_ctl(ctl: &UdpSocket, want: &str) -> Result<SocketAddr> {
    let until = Instant::now() + IO_TIMEOUT * 3;
    let mut buf = [0u8; 64];
    while Instant::now() < until {
        if let Ok((n, from)) = ctl.recv_from(&mut buf) {
            let m = &buf[..n];
            if m == b"hello" {
                let _ = ctl.send_to(b"ready", from);
            } else if m == want.as_bytes() {
                return Ok(from);
            }
        }
    }
    Err(LabError::msg(format!("no {want:?} from the client VM")))
}

/// Sends `msg` until `reply` comes back.
fn ask_ctl(ctl: &UdpSocket, to: SocketAddr, msg: &str, reply: &str) -> Result<()> {
    let until = Instant::now() + IO_TIMEOUT * 3;
    let mut buf = [0u8; 64];
    while Instant::now() < until {
        let _ = ctl.send_to(msg.as_bytes(), to);
        if let Ok((n, _)) = ctl.recv_from(&mut buf) {
            if &buf[..n] == reply.as_bytes() {
                return Ok(());
            }
        }
    }
    Err(LabError::msg(format!(
        "server VM {to} never answered {msg:?} with {reply:?}"
    )))
}

fn unspecified(v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
    }
}

/// Server VM. Per batch: accept and echo; when the client says "sampled <b>", sample
/// `smc_diag` and answer "ack <b>"; close after "done <b>" (the client closes first:
/// an SMC-R close sends its final CDC over the link, so the peer must be alive).
pub fn serve(w: &Workload, vm: &str) -> Result<Outcome> {
    let l = listen(w)?;
    let ctl = UdpSocket::bind(SocketAddr::new(
        unspecified(parse_addr(w)?.is_ipv6()),
        ctl_port(w),
    ))
    .context("bind UDP control port")?;
    ctl.set_read_timeout(Some(Duration::from_millis(200)))
        .context("UDP timeout")?;
    let mut out = Outcome {
        conns: Vec::new(),
        failed_connects: 0,
    };
    for (bi, n) in batches(w).into_iter().enumerate() {
        let acc = Acceptor::start(&l, n, w.bytes)?;
        let client = wait_ctl(&ctl, &format!("sampled {bi}"))?;
        let (served, echo_failed) = acc.finish().with_context(|| format!("batch {bi}"))?;
        out.conns.extend(sample(w, vm)?);
        let _ = ctl.send_to(format!("ack {bi}").as_bytes(), client);
        wait_ctl(&ctl, &format!("done {bi}"))?;
        drop(served);
        check_failures(w, 0, echo_failed)?;
    }
    Ok(out)
}

/// Client VM: waits for the server's "ready"; per batch connects, exchanges,
/// samples, says "sampled <b>" until "ack <b>", closes, says "done <b>".
pub fn connect(w: &Workload, vm: &str) -> Result<Outcome> {
    let sa = parse_addr(w)?;
    let ctl = UdpSocket::bind(SocketAddr::new(unspecified(sa.is_ipv6()), 0)).context("bind UDP")?;
    ctl.set_read_timeout(Some(Duration::from_millis(250)))
        .context("UDP timeout")?;
    let server_ctl = SocketAddr::new(sa.ip(), ctl_port(w));
    ask_ctl(&ctl, server_ctl, "hello", "ready")?;
    let mut out = Outcome {
        conns: Vec::new(),
        failed_connects: 0,
    };
    for (bi, n) in batches(w).into_iter().enumerate() {
        let (clients, failed) = connect_many(&sa, n, w.parallel, w.tolerate_errors)?;
        for (i, c) in clients.iter().enumerate() {
            exchange(c, w.bytes, i).with_context(|| format!("batch {bi}"))?;
        }
        std::thread::sleep(Duration::from_millis(w.hold_ms));
        out.conns.extend(sample(w, vm)?);
        out.failed_connects += failed;
        ask_ctl(
            &ctl,
            server_ctl,
            &format!("sampled {bi}"),
            &format!("ack {bi}"),
        )?;
        drop(clients);
        for _ in 0..3 {
            let _ = ctl.send_to(format!("done {bi}").as_bytes(), server_ctl);
            std::thread::sleep(Duration::from_millis(50));
        }
        check_failures(w, failed, 0)?;
    }
    Ok(out)
}
