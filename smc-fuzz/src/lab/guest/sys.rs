//! Thin wrappers over the system calls PID 1 needs: mounts, modules, interfaces,
//! sysctls, reboot.

use crate::lab::{Context, LabError, Result};
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

fn cstring(s: &str) -> Result<CString> {
    CString::new(s).with_context(|| format!("{s:?} contains NUL"))
}

fn last_err(what: String) -> LabError {
    LabError::msg(format!("{what}: {}", io::Error::last_os_error()))
}

/// mount(2).
pub fn mount(src: &str, target: &str, fstype: &str, data: &str) -> Result<()> {
    let _ = std::fs::create_dir_all(target);
    let (s, t, f, d) = (
        cstring(src)?,
        cstring(target)?,
        cstring(fstype)?,
        cstring(data)?,
    );
    // SAFETY: all pointers are valid NUL-terminated strings for the call's duration.
    let rc = unsafe {
        libc::mount(
            s.as_ptr(),
            t.as_ptr(),
            f.as_ptr(),
            0,
            d.as_ptr() as *const libc::c_void,
        )
    };
    if rc != 0 {
        return Err(last_err(format!("mount {fstype} on {target}")));
    }
    Ok(())
}

/// Flushes file systems and resets the VM (QEMU runs with `-no-reboot`, so it exits).
pub fn reboot_now() -> ! {
    // SAFETY: sync and reboot have no memory-safety preconditions.
    unsafe {
        libc::sync();
        libc::reboot(libc::LINUX_REBOOT_CMD_RESTART);
    }
    // reboot only returns on error; PID 1 exiting makes the kernel panic, and
    // panic=-1 on the command line resets the VM as well.
    std::process::exit(1)
}

/// Loads a module file with finit_module(2); "already loaded" is fine.
pub fn load_module(path: &str) -> Result<bool> {
    let f = std::fs::File::open(path).with_context(|| format!("open {path}"))?;
    let empty = cstring("")?;
    // SAFETY: fd is valid for the call; params is a valid empty C string.
    let rc = unsafe { libc::syscall(libc::SYS_finit_module, f.as_raw_fd(), empty.as_ptr(), 0) };
    if rc != 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EEXIST) {
            return Ok(false);
        }
        return Err(LabError::msg(format!("finit_module {path}: {e}")));
    }
    Ok(true)
}

/// Raises RLIMIT_NOFILE (hundreds of sockets per scenario).
pub fn raise_nofile(n: u64) {
    let r = libc::rlimit {
        rlim_cur: n,
        rlim_max: n,
    };
    // SAFETY: r is a valid rlimit.
    unsafe {
        libc::setrlimit(libc::RLIMIT_NOFILE, &r);
    }
}

fn dgram_socket() -> Result<OwnedFd> {
    // SAFETY: plain socket(2) call.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(last_err("socket(AF_INET, SOCK_DGRAM)".into()));
    }
    // SAFETY: fd was just returned by socket(2) and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn ifreq(name: &str) -> Result<libc::ifreq> {
    // SAFETY: ifreq is plain old data; all-zero is valid.
    let mut r: libc::ifreq = unsafe { std::mem::zeroed() };
    let b = name.as_bytes();
    if b.len() >= r.ifr_name.len() {
        return Err(LabError::msg(format!("interface name {name:?} too long")));
    }
    for (d, s) in r.ifr_name.iter_mut().zip(b.iter()) {
        *d = *s as libc::c_char;
    }
    Ok(r)
}

/// Brings an interface up (SIOCGIFFLAGS / SIOCSIFFLAGS).
pub fn link_up(name: &str) -> Result<()> {
    let s = dgram_socket()?;
    let mut r = ifreq(name)?;
    // SAFETY: r is a valid ifreq; the ioctl writes ifr_flags.
    if unsafe { libc::ioctl(s.as_raw_fd(), libc::SIOCGIFFLAGS, &mut r) } != 0 {
        return Err(last_err(format!("SIOCGIFFLAGS {name}")));
    }
    // SAFETY: reading/writing the flags member of the union set by the kernel.
    unsafe {
        r.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
    }
    // SAFETY: r is a valid ifreq.
    if unsafe { libc::ioctl(s.as_raw_fd(), libc::SIOCSIFFLAGS, &r) } != 0 {
        return Err(last_err(format!("SIOCSIFFLAGS {name}")));
    }
    Ok(())
}

fn sockaddr_in(a: std::net::Ipv4Addr) -> libc::sockaddr {
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes(a.octets()),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: sockaddr_in and sockaddr have the same size; this is the documented cast.
    unsafe { std::mem::transmute::<libc::sockaddr_in, libc::sockaddr>(sin) }
}

/// Sets an IPv4 address `a.b.c.d/len` on an interface (SIOCSIFADDR / SIOCSIFNETMASK).
pub fn set_ipv4(name: &str, cidr: &str) -> Result<()> {
    let (a, l) = cidr
        .split_once('/')
        .with_context(|| format!("{cidr:?} is not a.b.c.d/len"))?;
    let addr: std::net::Ipv4Addr = a.parse().with_context(|| format!("bad IPv4 {a:?}"))?;
    let len: u32 = l.parse().with_context(|| format!("bad prefix {l:?}"))?;
    if len > 32 {
        return Err(LabError::msg(format!("bad prefix length {len}")));
    }
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    let s = dgram_socket()?;
    let mut r = ifreq(name)?;
    r.ifr_ifru.ifru_addr = sockaddr_in(addr);
    // SAFETY: r is a valid ifreq with an AF_INET address.
    if unsafe { libc::ioctl(s.as_raw_fd(), libc::SIOCSIFADDR, &r) } != 0 {
        return Err(last_err(format!("SIOCSIFADDR {name} {addr}")));
    }
    r.ifr_ifru.ifru_netmask = sockaddr_in(std::net::Ipv4Addr::from(mask));
    // SAFETY: as above.
    if unsafe { libc::ioctl(s.as_raw_fd(), libc::SIOCSIFNETMASK, &r) } != 0 {
        return Err(last_err(format!("SIOCSIFNETMASK {name} /{len}")));
    }
    Ok(())
}

/// Interface index (if_nametoindex).
pub fn ifindex(name: &str) -> Result<i32> {
    let c = cstring(name)?;
    // SAFETY: c is a valid C string.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if i == 0 {
        return Err(last_err(format!("no interface {name}")));
    }
    i32::try_from(i).context("ifindex out of range")
}

/// Writes a sysctl through /proc/sys.
pub fn sysctl(key: &str, value: &str) -> Result<()> {
    if key.contains("..") || key.contains('/') {
        return Err(LabError::msg(format!("bad sysctl key {key:?}")));
    }
    let path = format!("/proc/sys/{}", key.replace('.', "/"));
    std::fs::write(&path, value).with_context(|| format!("writing {value:?} to {path}"))
}

/// `uname -r`.
pub fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// Seconds since boot, for log lines.
pub fn uptime() -> f64 {
    std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|x| x.parse().ok()))
        .unwrap_or(0.0)
}
