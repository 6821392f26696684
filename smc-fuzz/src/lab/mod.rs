//! The real-kernel lab (issue 6): Linux kernels with SMC under QEMU (TCG), our own
//! static in-guest program, pcaps and the kernel's own `smc_diag` view of every
//! connection.
//!
//! Host side: [`kernel`] installs packages, fetches a Debian kernel package and builds
//! (and caches) our small `CONFIG_SMC_LO=y` kernel; [`initramfs`] packs the guest
//! program plus the modules it needs; [`vm`] boots one or two VMs with a hard timeout;
//! [`scenario`] is the catalogue of scenarios; [`run`] ties them together.
//! Guest side: [`guest`] is PID 1 inside the VM, driven by a [`plan::Plan`].
//! Both sides share [`diag`], the JSON schema of what the kernel reported.

/// Returns early with a formatted [`LabError`] (module-internal).
macro_rules! bail {
    ($($arg:tt)*) => { return Err($crate::lab::LabError::msg(format!($($arg)*))) };
}

pub mod diag;
pub mod guest;
pub mod initramfs;
pub mod kernel;
pub mod peer;
pub mod plan;
pub mod run;
pub mod scenario;
pub mod vm;

use std::fmt;
use std::path::PathBuf;

/// An error with the chain of what the lab was doing when it happened.
#[derive(Debug)]
pub struct LabError {
    msg: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl LabError {
    /// A new error without an underlying cause.
    pub fn msg(msg: impl Into<String>) -> Self {
        LabError {
            msg: msg.into(),
            source: None,
        }
    }
}

impl fmt::Display for LabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)?;
        if let Some(s) = &self.source {
            write!(f, ": {s}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LabError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|s| s.as_ref() as &(dyn std::error::Error + 'static))
    }
}

/// Result type of the lab.
pub type Result<T, E = LabError> = std::result::Result<T, E>;

/// Adds "what we were doing" to any error (anyhow-style, without the dependency).
pub trait Context<T> {
    /// Wraps the error with a message.
    fn context(self, msg: impl Into<String>) -> Result<T>;
    /// Wraps the error with a lazily built message.
    fn with_context<F: FnOnce() -> String>(self, f: F) -> Result<T>;
}

impl<T, E: std::error::Error + Send + Sync + 'static> Context<T> for std::result::Result<T, E> {
    fn context(self, msg: impl Into<String>) -> Result<T> {
        self.map_err(|e| LabError {
            msg: msg.into(),
            source: Some(Box::new(e)),
        })
    }
    fn with_context<F: FnOnce() -> String>(self, f: F) -> Result<T> {
        self.map_err(|e| LabError {
            msg: f(),
            source: Some(Box::new(e)),
        })
    }
}

impl<T> Context<T> for Option<T> {
    fn context(self, msg: impl Into<String>) -> Result<T> {
        self.ok_or_else(|| LabError::msg(msg))
    }
    fn with_context<F: FnOnce() -> String>(self, f: F) -> Result<T> {
        self.ok_or_else(|| LabError::msg(f()))
    }
}

/// The lab's cache directory: `$SMC_LAB_CACHE`, else `$XDG_CACHE_HOME/smc-lab`,
/// else `$HOME/.cache/smc-lab`.
pub fn cache_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("SMC_LAB_CACHE") {
        return PathBuf::from(p);
    }
    if let Some(p) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(p).join("smc-lab");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    PathBuf::from(home).join(".cache").join("smc-lab")
}

/// The workspace root this crate was built in (for `lab/` files and `captures/`).
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// 64-bit FNV-1a, used only to key caches (kernel config, initramfs inputs).
pub fn fnv1a64(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.iter() {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        // separator so that ("ab","c") != ("a","bc")
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Logs a progress line on stderr with the time since the process started.
pub fn log(msg: impl AsRef<str>) {
    use std::sync::OnceLock;
    static START: OnceLock<std::time::Instant> = OnceLock::new();
    let t = START.get_or_init(std::time::Instant::now).elapsed();
    eprintln!("[smc-lab {:6.1}s] {}", t.as_secs_f64(), msg.as_ref());
}
