//! QEMU (TCG) runs with a hard timeout: one VM, or two joined by `-netdev socket`.

use super::{log, Context, LabError, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One VM to boot.
#[derive(Debug, Clone)]
pub struct VmSpec {
    /// Name (`single`, `a`, `b`): used in file names and messages.
    pub name: String,
    /// bzImage.
    pub kernel: PathBuf,
    /// Uncompressed cpio initramfs.
    pub initrd: PathBuf,
    /// Directory shared as 9p tag `out` (plan.json in, report.json + pcaps out).
    pub share: PathBuf,
    /// Extra kernel command line.
    pub append: String,
    /// Memory in MiB.
    pub mem_mb: u32,
    /// Extra QEMU arguments (network).
    pub net: Vec<String>,
    /// Accelerator: `tcg` (default) or `kvm` (`SMC_LAB_ACCEL`).
    pub accel: String,
}

impl VmSpec {
    /// A VM without network devices.
    pub fn new(name: &str, kernel: &Path, initrd: &Path, share: &Path) -> VmSpec {
        VmSpec {
            name: name.into(),
            kernel: kernel.into(),
            initrd: initrd.into(),
            share: share.into(),
            append: String::new(),
            mem_mb: 1024,
            net: Vec::new(),
            accel: std::env::var("SMC_LAB_ACCEL").unwrap_or_else(|_| "tcg".into()),
        }
    }

    /// The full QEMU command line.
    pub fn command(&self) -> Command {
        let mut c = Command::new("qemu-system-x86_64");
        let cpu = if self.accel == "kvm" { "host" } else { "max" };
        c.args(["-accel", &self.accel, "-cpu", cpu, "-smp", "1"])
            .args(["-m", &self.mem_mb.to_string()])
            .args([
                "-nographic",
                "-no-reboot",
                "-nodefaults",
                "-serial",
                "stdio",
            ])
            .arg("-kernel")
            .arg(&self.kernel)
            .arg("-initrd")
            .arg(&self.initrd)
            .arg("-append")
            .arg(format!("console=ttyS0 panic=-1 loglevel=4 {}", self.append))
            .arg("-virtfs")
            .arg(format!(
                "local,path={},mount_tag=out,security_model=none,id=out",
                self.share.display()
            ))
            .args(&self.net);
        c
    }
}

/// What a finished VM left behind.
#[derive(Debug)]
pub struct VmRun {
    /// VM name.
    pub name: String,
    /// Serial console log.
    pub console: PathBuf,
    /// Wall-clock seconds.
    pub secs: f64,
}

fn tail(path: &Path, n: usize) -> String {
    let s = fs::read_to_string(path).unwrap_or_default();
    let v: Vec<&str> = s.lines().rev().take(n).collect();
    v.into_iter().rev().collect::<Vec<_>>().join("\n")
}

struct Running {
    spec: VmSpec,
    child: Child,
    console: PathBuf,
    started: Instant,
}

fn spawn(spec: &VmSpec) -> Result<Running> {
    let console = spec.share.join(format!("console-{}.log", spec.name));
    let f =
        fs::File::create(&console).with_context(|| format!("creating {}", console.display()))?;
    let f2 = f.try_clone().context("dup console log")?;
    let mut cmd = spec.command();
    cmd.stdin(Stdio::null()).stdout(f).stderr(f2);
    let child = cmd.spawn().with_context(|| {
        "starting qemu-system-x86_64: the kernel lab needs QEMU (apt-get install qemu-system-x86)"
            .to_string()
    })?;
    Ok(Running {
        spec: spec.clone(),
        child,
        console,
        started: Instant::now(),
    })
}

/// Checks a VM that exited cleanly (e.g. its guest report); an error stops the others.
pub type ExitCheck<'a> = &'a dyn Fn(&VmRun, &Path) -> Result<()>;

/// Waits for all VMs with one deadline; on timeout, a failing QEMU or a failed
/// `check` all are killed at once (no waiting for the peer VM's timeout).
fn wait_all(mut vms: Vec<Running>, timeout: Duration, check: ExitCheck<'_>) -> Result<Vec<VmRun>> {
    let deadline = Instant::now() + timeout;
    let mut done: Vec<Option<VmRun>> = vms.iter().map(|_| None).collect();
    loop {
        let mut all = true;
        for (i, r) in vms.iter_mut().enumerate() {
            if done[i].is_some() {
                continue;
            }
            match r.child.try_wait().context("waiting for qemu")? {
                Some(st) => {
                    let run = VmRun {
                        name: r.spec.name.clone(),
                        console: r.console.clone(),
                        secs: r.started.elapsed().as_secs_f64(),
                    };
                    if !st.success() {
                        let name = r.spec.name.clone();
                        let console = r.console.clone();
                        for o in vms.iter_mut() {
                            let _ = o.child.kill();
                            let _ = o.child.wait();
                        }
                        return Err(LabError::msg(format!(
                            "VM {name}: qemu exited with {st}; console {}:\n{}",
                            console.display(),
                            tail(&console, 25)
                        )));
                    }
                    if let Err(e) = check(&run, &r.spec.share) {
                        for o in vms.iter_mut() {
                            let _ = o.child.kill();
                            let _ = o.child.wait();
                        }
                        return Err(e);
                    }
                    done[i] = Some(run);
                }
                None => all = false,
            }
        }
        if all {
            return Ok(done.into_iter().flatten().collect());
        }
        if Instant::now() > deadline {
            let mut msg = format!(
                "VM run timed out after {}s (hard limit); killed.",
                timeout.as_secs()
            );
            for r in vms.iter_mut() {
                let _ = r.child.kill();
                let _ = r.child.wait();
                msg.push_str(&format!(
                    "\n--- console of VM {} ({}), last lines:\n{}",
                    r.spec.name,
                    r.console.display(),
                    tail(&r.console, 20)
                ));
            }
            return Err(LabError::msg(msg));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Boots one VM and waits for it (hard `timeout`).
pub fn run_one(spec: &VmSpec, timeout: Duration) -> Result<VmRun> {
    log(format!(
        "booting VM {} ({})",
        spec.name,
        spec.kernel.display()
    ));
    let r = spawn(spec)?;
    let mut v = wait_all(vec![r], timeout, &|_, _| Ok(()))?;
    v.pop().context("no VM result")
}

/// A free TCP port on 127.0.0.1 (for QEMU's `-netdev socket,listen=`).
pub fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr().context("local_addr")?.port())
}

/// Whether something listens on 127.0.0.1:`port` (read from /proc/net/tcp, so that
/// probing does not consume QEMU's single accept).
fn listening(port: u16) -> bool {
    let want = format!("0100007F:{port:04X}");
    fs::read_to_string("/proc/net/tcp")
        .map(|s| {
            s.lines().any(|l| {
                l.split_whitespace().nth(1) == Some(want.as_str())
                    && l.split_whitespace().nth(3) == Some("0A")
            })
        })
        .unwrap_or(false)
}

/// Two VMs on one Ethernet segment: `a` listens on a TCP socket netdev, `b`
/// connects. `host_pcap` gets QEMU's `filter-dump` of `a`'s netdev (both directions),
/// cut to `snaplen` bytes per frame (0 = whole frames).
pub fn run_pair(
    a: &mut VmSpec,
    b: &mut VmSpec,
    host_pcap: &Path,
    snaplen: u32,
    timeout: Duration,
    check: ExitCheck<'_>,
) -> Result<Vec<VmRun>> {
    let port = free_port()?;
    let maxlen = if snaplen == 0 {
        String::new()
    } else {
        format!(",maxlen={snaplen}")
    };
    a.net.extend([
        "-netdev".into(),
        format!("socket,id=n1,listen=127.0.0.1:{port}"),
        "-device".into(),
        "virtio-net-pci,netdev=n1,mac=52:54:00:00:50:01".into(),
        "-object".into(),
        format!(
            "filter-dump,id=f1,netdev=n1,file={}{maxlen}",
            host_pcap.display()
        ),
    ]);
    b.net.extend([
        "-netdev".into(),
        format!("socket,id=n1,connect=127.0.0.1:{port}"),
        "-device".into(),
        "virtio-net-pci,netdev=n1,mac=52:54:00:00:50:02".into(),
    ]);
    log(format!(
        "booting VMs a+b (netdev socket 127.0.0.1:{port}, {})",
        a.kernel.display()
    ));
    let ra = spawn(a)?;
    let t = Instant::now();
    while !listening(port) {
        if t.elapsed() > Duration::from_secs(10) {
            let mut ra = ra;
            let _ = ra.child.kill();
            let _ = ra.child.wait();
            return Err(LabError::msg(format!(
                "VM a never listened on 127.0.0.1:{port}; console:\n{}",
                tail(&ra.console, 20)
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let rb = match spawn(b) {
        Ok(rb) => rb,
        Err(e) => {
            let mut ra = ra;
            let _ = ra.child.kill();
            let _ = ra.child.wait();
            return Err(e);
        }
    };
    wait_all(vec![ra, rb], timeout, check)
}

/// A VM running in the background (the reference peer drives it while it runs).
pub struct Background {
    run: Running,
}

impl Background {
    /// Boots `spec` without waiting.
    pub fn spawn(spec: &VmSpec) -> Result<Background> {
        log(format!(
            "booting VM {} ({}) in the background",
            spec.name,
            spec.kernel.display()
        ));
        Ok(Background { run: spawn(spec)? })
    }

    /// The exit status, once QEMU has exited.
    pub fn exited(&mut self) -> Result<Option<std::process::ExitStatus>> {
        self.run.child.try_wait().context("waiting for qemu")
    }

    /// Waits up to `timeout` for QEMU to exit by itself; kills it after that. True if it exited.
    pub fn wait(&mut self, timeout: Duration) -> Result<bool> {
        let until = Instant::now() + timeout;
        while Instant::now() < until {
            if self.exited()?.is_some() {
                return Ok(true);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.kill();
        Ok(false)
    }

    /// Kills QEMU (idempotent).
    pub fn kill(&mut self) {
        let _ = self.run.child.kill();
        let _ = self.run.child.wait();
    }

    /// The serial console log (kernel messages at loglevel ≤ 4, and the guest's own lines).
    pub fn console(&self) -> &Path {
        &self.run.console
    }

    /// Seconds since boot.
    pub fn secs(&self) -> f64 {
        self.run.started.elapsed().as_secs_f64()
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.kill();
    }
}
