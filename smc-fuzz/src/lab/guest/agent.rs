//! The in-guest side of the reference-peer lab (issue 7): AF_SMC listeners that echo, and a
//! command loop driven by the host through files in the 9p share (`cmd-N.json` in,
//! `res-N.json` out), so the host's peer can play client or server scenario by scenario while
//! the guest reports `smc_diag` and the kernel log (`/dev/kmsg`) for each.

use super::netlink::smc_diag_dump;
use super::workload::{listen, set_timeouts, smc_socket, sockaddr};
use super::SHARE;
use crate::lab::diag::{ConnDiag, SMC_STATE_LISTEN};
use crate::lab::plan::{AgentCmd, AgentResult, AgentSpec, Workload};
use crate::lab::{Context, LabError, Result};
use std::fs::File;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Non-blocking reader of `/dev/kmsg` (each read returns one record, `prio,seq,ts,flags;text`).
struct Kmsg {
    f: Option<File>,
}

impl Kmsg {
    fn open() -> Kmsg {
        use std::os::unix::fs::OpenOptionsExt;
        let f = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open("/dev/kmsg")
            .ok();
        Kmsg { f }
    }

    /// Every record not read yet, as `[seconds] text`.
    fn drain(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        let Some(f) = self.f.as_mut() else {
            return out;
        };
        let mut buf = [0u8; 8192];
        for _ in 0..10_000 {
            match f.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    let rec = String::from_utf8_lossy(&buf[..n]);
                    let (head, text) = rec.split_once(';').unwrap_or(("", &rec));
                    let ts = head
                        .split(',')
                        .nth(2)
                        .and_then(|t| t.parse::<u64>().ok())
                        .unwrap_or(0);
                    let first = text.lines().next().unwrap_or("");
                    out.push(format!(
                        "[{:>5}.{:06}] {first}",
                        ts / 1_000_000,
                        ts % 1_000_000
                    ));
                }
                // EPIPE: records were overwritten; carry on
                Err(e) if e.raw_os_error() == Some(libc::EPIPE) => {}
                Err(_) => break,
            }
        }
        out
    }
}

type Accepted = Arc<Mutex<Vec<ConnDiag>>>;

/// The diag rows of the socket whose local/peer ports are given.
fn diag_for(vm: &str, local_port: u16, peer_port: u16, listen_ports: &[u16]) -> Vec<ConnDiag> {
    smc_diag_dump(vm)
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.state != SMC_STATE_LISTEN)
        .filter(|r| r.conn.local_port == local_port && r.conn.peer_port == peer_port)
        .map(|r| r.with_role(listen_ports))
        .collect()
}

fn peer_port_of(fd: i32, peer: bool) -> u16 {
    // SAFETY: storage is large enough for any sockaddr; len is its size.
    let mut st: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as u32;
    let rc = unsafe {
        if peer {
            libc::getpeername(
                fd,
                (&mut st as *mut libc::sockaddr_storage).cast(),
                &mut len,
            )
        } else {
            libc::getsockname(
                fd,
                (&mut st as *mut libc::sockaddr_storage).cast(),
                &mut len,
            )
        }
    };
    if rc != 0 {
        return 0;
    }
    // sin_port and sin6_port sit at the same offset (2), network order
    let b = (&st as *const libc::sockaddr_storage).cast::<u8>();
    // SAFETY: reading two bytes inside the storage.
    let p = unsafe { [*b.add(2), *b.add(3)] };
    u16::from_be_bytes(p)
}

fn acceptor(
    l: OwnedFd,
    port: u16,
    ports: Vec<u16>,
    vm: String,
    got: Accepted,
    stop: Arc<AtomicBool>,
) {
    while !stop.load(Ordering::Acquire) {
        let mut p = libc::pollfd {
            fd: l.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        if unsafe { libc::poll(&mut p, 1, 100) } <= 0 {
            continue;
        }
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
            continue;
        }
        // SAFETY: fresh fd.
        let f = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
        let pp = peer_port_of(fd, true);
        let d = diag_for(&vm, port, pp, &ports);
        if let Ok(mut g) = got.lock() {
            g.extend(d);
        }
        std::thread::spawn(move || echo(f));
    }
}

/// Echoes until EOF or an error (timeouts bound every read and write).
fn echo(mut f: File) {
    set_timeouts(&f);
    let mut buf = [0u8; 16 * 1024];
    loop {
        match f.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if f.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        }
    }
}

fn connect(addr: &str, bytes: u64, read_timeout: Duration, vm: &str, ports: &[u16]) -> AgentResult {
    let mut r = AgentResult::default();
    let sa: SocketAddr = match addr.parse() {
        Ok(a) => a,
        Err(e) => {
            r.summary = format!("bad address {addr:?}: {e}");
            return r;
        }
    };
    let fd = match smc_socket(sa.is_ipv6()) {
        Ok(f) => f,
        Err(e) => {
            r.summary = e.to_string();
            return r;
        }
    };
    let (st, len) = sockaddr(&sa);
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
        r.connected = Some(false);
        r.errno = e.raw_os_error();
        r.summary = format!("connect {sa}: {e}");
        return r;
    }
    r.connected = Some(true);
    let lp = peer_port_of(fd.as_raw_fd(), false);
    r.diag = diag_for(vm, lp, sa.port(), ports);
    let mut f = File::from(fd);
    set_timeouts(&f);
    if bytes > 0 {
        let tv = libc::timeval {
            tv_sec: read_timeout.as_secs() as libc::time_t,
            tv_usec: read_timeout.subsec_micros() as libc::suseconds_t,
        };
        // SAFETY: valid timeval; a short read timeout keeps a silent SMC peer from stalling us.
        unsafe {
            libc::setsockopt(
                f.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as u32,
            );
        }
        let data: Vec<u8> = (0..bytes).map(|i| (i % 251) as u8).collect();
        let ok = f.write_all(&data).is_ok() && {
            let mut got = vec![0u8; data.len()];
            f.read_exact(&mut got).is_ok() && got == data
        };
        r.echo_ok = Some(ok);
    }
    r.summary = format!("connected {sa} from port {lp}");
    r
}

/// Runs the agent until `stop` or `idle_secs` without a command.
pub fn run(spec: &AgentSpec, vm: &str, conns: &mut Vec<ConnDiag>) -> Result<String> {
    let mut kmsg = Kmsg::open();
    let mut ports = Vec::new();
    let stop = Arc::new(AtomicBool::new(false));
    let got: Accepted = Arc::new(Mutex::new(Vec::new()));
    let mut threads = Vec::new();
    for a in &spec.listen {
        let sa: SocketAddr = a
            .parse()
            .with_context(|| format!("agent listen address {a:?}"))?;
        let w = Workload {
            addr: sa.ip().to_string(),
            port: sa.port(),
            conns: 0,
            batch: 0,
            bytes: 0,
            parallel: false,
            limit_hs: false,
            backlog: 64,
            tolerate_errors: true,
            hold_ms: 0,
        };
        ports.push(sa.port());
        let l = listen(&w)?;
        let (p, v, g, s) = (sa.port(), vm.to_string(), got.clone(), stop.clone());
        let all = ports.clone();
        threads.push(std::thread::spawn(move || acceptor(l, p, all, v, g, s)));
    }
    std::fs::write(format!("{SHARE}/agent-ready"), b"ready\n").context("writing agent-ready")?;
    let mut n = 0usize;
    let mut last = Instant::now();
    let mut done = 0usize;
    loop {
        let cmd_path = format!("{SHARE}/cmd-{n}.json");
        let cmd: Option<AgentCmd> = std::fs::read_to_string(&cmd_path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
        let Some(cmd) = cmd else {
            if last.elapsed() > Duration::from_secs(spec.idle_secs) {
                break;
            }
            std::thread::sleep(Duration::from_millis(30));
            continue;
        };
        last = Instant::now();
        let mut res = match &cmd {
            AgentCmd::Connect { addr, bytes } => {
                connect(addr, *bytes, Duration::from_secs(8), vm, &ports)
            }
            AgentCmd::ConnectTimed {
                addr,
                bytes,
                read_timeout_ms,
            } => connect(
                addr,
                *bytes,
                Duration::from_millis((*read_timeout_ms).max(1)),
                vm,
                &ports,
            ),
            AgentCmd::Accepted => {
                let d: Vec<ConnDiag> = got
                    .lock()
                    .map(|mut g| std::mem::take(&mut *g))
                    .unwrap_or_default();
                AgentResult {
                    summary: format!("{} accepted", d.len()),
                    diag: d,
                    ..AgentResult::default()
                }
            }
            AgentCmd::Diag => {
                let d: Vec<ConnDiag> = smc_diag_dump(vm)
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|r| r.state != SMC_STATE_LISTEN)
                    .map(|r| r.with_role(&ports))
                    .collect();
                AgentResult {
                    summary: format!("{} sockets", d.len()),
                    diag: d,
                    ..AgentResult::default()
                }
            }
            AgentCmd::Kmsg | AgentCmd::Stop => AgentResult::default(),
        };
        res.kmsg = kmsg.drain();
        if cmd != AgentCmd::Diag {
            conns.extend(res.diag.iter().cloned());
        }
        let json =
            serde_json::to_string(&res).map_err(|e| LabError::msg(format!("agent result: {e}")))?;
        let tmp = format!("{SHARE}/res-{n}.tmp");
        std::fs::write(&tmp, json).context("writing agent result")?;
        std::fs::rename(&tmp, format!("{SHARE}/res-{n}.json"))
            .context("publishing agent result")?;
        n += 1;
        done += 1;
        if cmd == AgentCmd::Stop {
            break;
        }
    }
    stop.store(true, Ordering::Release);
    for t in threads {
        let _ = t.join();
    }
    Ok(format!("agent: {done} commands"))
}
