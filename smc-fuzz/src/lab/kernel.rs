//! Host packages, Debian kernel packages, and our own cached `CONFIG_SMC_LO=y` kernel.

use super::{cache_dir, fnv1a64, log, Context, LabError, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// The kernel config fragment applied on top of `tinyconfig` (compiled in, so the
/// binary works from anywhere; the file is `smc-fuzz/lab/kernel/smc-lab.config`).
pub const CONFIG_FRAGMENT: &str = include_str!("../../lab/kernel/smc-lab.config");

/// Debug additions for the kernel fuzzer (KASAN, lockdep, hang detectors), merged after
/// [`CONFIG_FRAGMENT`] for the debug flavor (`smc-fuzz/lab/kernel/smc-lab-debug.config`).
pub const DEBUG_FRAGMENT: &str = include_str!("../../lab/kernel/smc-lab-debug.config");

/// Which of our kernel builds: the lab one, or the lab one with debugging for the fuzzer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// `smc-lab.config`.
    Lab,
    /// `smc-lab.config` + `smc-lab-debug.config`.
    Debug,
}

impl Flavor {
    fn fragments(self) -> Vec<(&'static str, &'static str)> {
        match self {
            Flavor::Lab => vec![("smc-lab.config", CONFIG_FRAGMENT)],
            Flavor::Debug => vec![
                ("smc-lab.config", CONFIG_FRAGMENT),
                ("smc-lab-debug.config", DEBUG_FRAGMENT),
            ],
        }
    }
    fn prefix(self) -> &'static str {
        match self {
            Flavor::Lab => "smclo",
            Flavor::Debug => "smclo-debug",
        }
    }
}

/// Bumped whenever the build recipe below changes in a way that affects the output.
const RECIPE_VERSION: &str = "smc-lab-kernel-recipe-1";

/// Debian packages the lab needs on the host (Debian 12 names).
pub const HOST_PACKAGES: &[&str] = &[
    "qemu-system-x86",   // qemu-system-x86_64 (TCG)
    "linux-source-6.12", // our custom kernel's source (/usr/src/linux-source-6.12.tar.xz)
    "xz-utils",          // unpack the source tarball and Debian's .ko.xz modules
    "zstd",              // in case a kernel package ships .ko.zst modules
    "kmod",              // depmod: modules.dep for the unpacked Debian kernel
    "gcc",               // kernel build
    "make",              // kernel build
    "bc",                // kernel build
    "flex",              // kernel build (kconfig)
    "bison",             // kernel build (kconfig)
    "libelf-dev",        // kernel build (objtool)
    "libssl-dev",        // kernel build (certs tooling)
    "cpio",              // kernel build (kheaders, harmless)
];

/// Runs a command, failing with its stderr tail and the command line.
pub fn run_cmd(cmd: &mut Command, what: &str) -> Result<String> {
    let shown = format!("{cmd:?}");
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("{what}: cannot start {shown}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(15).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!(
            "{what}: {shown} failed ({}):\n{}",
            out.status,
            tail.join("\n")
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Installs the missing host packages with apt-get (root only). Without root, fails
/// with the exact command to run.
pub fn ensure_host_packages(extra: &[&str]) -> Result<()> {
    let wanted: Vec<&str> = HOST_PACKAGES.iter().chain(extra.iter()).copied().collect();
    let mut missing = Vec::new();
    for p in &wanted {
        let st = Command::new("dpkg-query")
            .args(["-W", "-f=${Status}", p])
            .stderr(Stdio::null())
            .output()
            .context("dpkg-query not found: the lab needs a Debian-based host")?;
        if !String::from_utf8_lossy(&st.stdout).contains("install ok installed") {
            missing.push(*p);
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let cmdline = format!(
        "apt-get update && apt-get install -y --no-install-recommends {}",
        missing.join(" ")
    );
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!("missing host packages {missing:?}; as root run: {cmdline}");
    }
    log(format!("installing {missing:?} with apt-get"));
    run_cmd(
        Command::new("apt-get").arg("update").arg("-qq"),
        "apt-get update",
    )?;
    run_cmd(
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"),
        "apt-get install",
    )?;
    Ok(())
}

/// Fails with a clear message when QEMU cannot run here.
pub fn check_qemu() -> Result<()> {
    let out = Command::new("qemu-system-x86_64")
        .arg("--version")
        .output()
        .context(
            "qemu-system-x86_64 is not runnable: the kernel lab needs QEMU \
             (apt-get install qemu-system-x86); refusing to skip",
        )?;
    if !out.status.success() {
        bail!("qemu-system-x86_64 --version failed: the kernel lab cannot run here");
    }
    Ok(())
}

/// A Debian kernel package, unpacked in the cache.
#[derive(Debug, Clone)]
pub struct DebianKernel {
    /// `uname -r` of the kernel, e.g. `6.12.117+deb12-amd64`.
    pub release: String,
    /// The bzImage (`boot/vmlinuz-<release>`).
    pub vmlinuz: PathBuf,
    /// `lib/modules/<release>` of the unpacked package.
    pub modules: PathBuf,
}

/// Newest `linux-image-6.12.N+deb12-amd64-unsigned` known to apt, as a release string.
pub fn newest_debian_612() -> Result<String> {
    let out = run_cmd(
        Command::new("apt-cache").args([
            "search",
            "--names-only",
            r"^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$",
        ]),
        "looking up Debian 6.12 kernels",
    )?;
    let mut best: Option<(u32, String)> = None;
    for line in out.lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        let Some(rel) = name
            .strip_prefix("linux-image-")
            .and_then(|r| r.strip_suffix("-unsigned"))
        else {
            continue;
        };
        // 6.12.N+deb12-amd64: order by N
        let n = rel
            .strip_prefix("6.12.")
            .and_then(|r| r.split('+').next())
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0);
        if best.as_ref().is_none_or(|(b, _)| n > *b) {
            best = Some((n, rel.to_string()));
        }
    }
    best.map(|(_, r)| r).context(
        "apt knows no linux-image-6.12.*+deb12-amd64-unsigned package \
         (run apt-get update, or pass --debian-kernel RELEASE)",
    )
}

impl DebianKernel {
    /// Downloads (`apt-get download linux-image-<release>-unsigned`) and unpacks a
    /// Debian kernel package into the cache, once per release.
    pub fn fetch(release: &str) -> Result<DebianKernel> {
        if release.contains('/') || release.contains("..") || release.is_empty() {
            bail!("bad Debian kernel release {release:?}");
        }
        let dir = cache_dir().join("debian").join(release);
        let done = dir.join(".complete");
        let k = DebianKernel {
            release: release.to_string(),
            vmlinuz: dir.join("root/boot").join(format!("vmlinuz-{release}")),
            modules: dir.join("root/lib/modules").join(release),
        };
        if done.exists() && k.vmlinuz.exists() {
            return Ok(k);
        }
        let t = Instant::now();
        let pkg = format!("linux-image-{release}-unsigned");
        log(format!("apt-get download {pkg}"));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("pkg")).with_context(|| format!("mkdir {}", dir.display()))?;
        run_cmd(
            Command::new("apt-get")
                .args(["download", "-q", &pkg])
                .current_dir(dir.join("pkg")),
            &format!("downloading {pkg} (is it in apt's lists? apt-cache policy {pkg})"),
        )?;
        let deb = fs::read_dir(dir.join("pkg"))
            .context("listing the downloaded package")?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|x| x == "deb"))
            .context("apt-get download produced no .deb")?;
        run_cmd(
            Command::new("dpkg-deb")
                .arg("-x")
                .arg(&deb)
                .arg(dir.join("root")),
            "unpacking the kernel package",
        )?;
        if !k.vmlinuz.exists() {
            bail!("{} has no boot/vmlinuz-{release}", deb.display());
        }
        // the package ships no modules.dep (postinst runs depmod): make one
        run_cmd(
            Command::new("depmod")
                .arg("-b")
                .arg(dir.join("root"))
                .arg(release),
            "depmod on the unpacked kernel package (apt-get install kmod)",
        )?;
        let _ = fs::remove_file(&deb);
        fs::write(&done, b"ok\n").context("writing the cache marker")?;
        log(format!(
            "Debian kernel {release} ready in {:.1}s",
            t.elapsed().as_secs_f64()
        ));
        Ok(k)
    }
}

/// Our own kernel: `tinyconfig` + [`CONFIG_FRAGMENT`] from Debian's `linux-source-6.12`.
#[derive(Debug, Clone)]
pub struct CustomKernel {
    /// `uname -r` of the built kernel.
    pub release: String,
    /// Path of the cached bzImage.
    pub bzimage: PathBuf,
    /// The Debian source package version it was built from.
    pub source_version: String,
    /// Cache key (source version + fragment + recipe).
    pub key: String,
}

/// Version of the installed `linux-source-6.12` package.
pub fn linux_source_version() -> Result<String> {
    let v = run_cmd(
        Command::new("dpkg-query").args(["-W", "-f=${Version}", "linux-source-6.12"]),
        "querying linux-source-6.12 (apt-get install linux-source-6.12)",
    )?;
    let v = v.trim().to_string();
    if v.is_empty() {
        bail!("linux-source-6.12 is not installed");
    }
    Ok(v)
}

impl CustomKernel {
    /// Returns the cached kernel for the current source version and fragment, building
    /// it first when needed (about 4 minutes on 2 cores).
    pub fn ensure(jobs: usize) -> Result<CustomKernel> {
        Self::ensure_flavor(jobs, Flavor::Lab)
    }

    /// Like [`Self::ensure`] for a given flavor; each flavor has its own cache entry. The debug
    /// flavor (KASAN, lockdep) builds for about twice as long.
    pub fn ensure_flavor(jobs: usize, flavor: Flavor) -> Result<CustomKernel> {
        let srcver = linux_source_version()?;
        let frags = flavor.fragments();
        let key = if flavor == Flavor::Lab {
            // unchanged key for the lab flavor: existing caches stay valid
            format!(
                "{:016x}",
                fnv1a64(&[
                    srcver.as_bytes(),
                    CONFIG_FRAGMENT.as_bytes(),
                    RECIPE_VERSION.as_bytes()
                ])
            )
        } else {
            let mut parts: Vec<&[u8]> = vec![srcver.as_bytes()];
            for (_, f) in &frags {
                parts.push(f.as_bytes());
            }
            parts.push(RECIPE_VERSION.as_bytes());
            format!("{:016x}", fnv1a64(&parts))
        };
        let safe_ver: String = srcver
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let out = cache_dir()
            .join("kernels")
            .join(format!("{}-{safe_ver}-{key}", flavor.prefix()));
        let bz = out.join("bzImage");
        let rel_file = out.join("release");
        if bz.exists() && rel_file.exists() {
            let release = fs::read_to_string(&rel_file)
                .context("reading cached kernel release")?
                .trim()
                .to_string();
            return Ok(CustomKernel {
                release,
                bzimage: bz,
                source_version: srcver,
                key,
            });
        }
        let tree = Self::source_tree(&safe_ver)?;
        let build = cache_dir().join("build").join(&key);
        fs::create_dir_all(&build).context("creating the kernel build dir")?;
        let t = Instant::now();
        log(format!(
            "building kernel {srcver} (tinyconfig + smc-lab.config) in {} with -j{jobs}; \
             about 4 minutes on 2 cores",
            build.display()
        ));
        let make = |args: &[&str], what: &str| -> Result<String> {
            run_cmd(
                Command::new("make")
                    .arg("-C")
                    .arg(&tree)
                    .arg(format!("O={}", build.display()))
                    .arg("ARCH=x86_64")
                    .args(args),
                what,
            )
        };
        make(&["tinyconfig"], "make tinyconfig")?;
        let cfg_path = build.join(".config");
        let mut cfg = fs::read_to_string(&cfg_path).context("reading tinyconfig .config")?;
        for (name, frag) in &frags {
            cfg.push_str(&format!("\n# --- {name} ---\n"));
            cfg.push_str(frag);
        }
        fs::write(&cfg_path, cfg).context("writing merged .config")?;
        make(&["olddefconfig"], "make olddefconfig")?;
        let cfg = fs::read_to_string(&cfg_path).context("reading final .config")?;
        for (_, frag) in &frags {
            check_applied(frag, &cfg)?;
        }
        let log_path = build.join("build.log");
        let logf = fs::File::create(&log_path).context("creating build.log")?;
        let logf2 = logf.try_clone().context("dup build.log")?;
        let st = Command::new("make")
            .arg("-C")
            .arg(&tree)
            .arg(format!("O={}", build.display()))
            .args(["ARCH=x86_64", &format!("-j{jobs}"), "bzImage"])
            .stdin(Stdio::null())
            .stdout(logf)
            .stderr(logf2)
            .status()
            .context("starting make bzImage")?;
        if !st.success() {
            let l = fs::read_to_string(&log_path).unwrap_or_default();
            let tail: Vec<&str> = l.lines().rev().take(30).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            bail!(
                "kernel build failed ({st}); log {}:\n{}",
                log_path.display(),
                tail.join("\n")
            );
        }
        let release = fs::read_to_string(build.join("include/config/kernel.release"))
            .context("reading kernel.release")?
            .trim()
            .to_string();
        fs::create_dir_all(&out).context("creating kernel cache dir")?;
        fs::copy(build.join("arch/x86/boot/bzImage"), out.join("bzImage.tmp"))
            .context("copying bzImage")?;
        fs::copy(&cfg_path, out.join("config")).context("copying .config")?;
        fs::write(&rel_file, format!("{release}\n")).context("writing release")?;
        fs::rename(out.join("bzImage.tmp"), &bz).context("publishing bzImage")?;
        log(format!(
            "kernel {release} built in {:.0}s -> {}",
            t.elapsed().as_secs_f64(),
            bz.display()
        ));
        Ok(CustomKernel {
            release,
            bzimage: bz,
            source_version: srcver,
            key,
        })
    }

    /// The unpacked `linux-source-6.12` tree for this source version (unpacked once).
    fn source_tree(safe_ver: &str) -> Result<PathBuf> {
        let root = cache_dir().join("src").join(safe_ver);
        let tree = root.join("linux-source-6.12");
        if root.join(".complete").exists() && tree.join("Makefile").exists() {
            return Ok(tree);
        }
        let tarball = Path::new("/usr/src/linux-source-6.12.tar.xz");
        if !tarball.exists() {
            bail!(
                "{} is missing (apt-get install linux-source-6.12)",
                tarball.display()
            );
        }
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&root).context("creating the source cache dir")?;
        log(format!("unpacking {}", tarball.display()));
        run_cmd(
            Command::new("tar")
                .arg("xf")
                .arg(tarball)
                .arg("-C")
                .arg(&root),
            "unpacking linux-source-6.12",
        )?;
        fs::write(root.join(".complete"), b"ok\n").context("writing source marker")?;
        Ok(tree)
    }
}

/// Every `CONFIG_X=y` of the fragment must be `=y` in the final `.config`
/// (olddefconfig silently drops options whose dependencies are missing).
pub fn check_fragment_applied(final_config: &str) -> Result<()> {
    check_applied(CONFIG_FRAGMENT, final_config)
}

/// Every `CONFIG_X=y` line of `fragment` must appear in the final `.config`.
pub fn check_applied(fragment: &str, final_config: &str) -> Result<()> {
    let mut missing = Vec::new();
    for line in fragment.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if !final_config.lines().any(|l| l.trim() == line) {
            missing.push(line.to_string());
        }
    }
    if !missing.is_empty() {
        return Err(LabError::msg(format!(
            "kernel config fragment not applied by olddefconfig (missing dependencies?): {}",
            missing.join(", ")
        )));
    }
    Ok(())
}

/// Which kernel a scenario boots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KernelKind {
    /// A Debian `linux-image-*-unsigned` package (6.12 by default; see `--debian-kernel`).
    Debian,
    /// Our tinyconfig kernel with `CONFIG_SMC_LO=y` and Soft-RoCE built in.
    SmcLo,
}
