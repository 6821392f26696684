//! Ties the lab together: prepare kernels, guest and initramfs; run a scenario; put
//! its pcap and diag JSON in an output directory; record into `captures/lab/`.

use super::diag::{PcapInfo, ScenarioDiag, SCHEMA_VERSION};
use super::initramfs::{self, InitramfsSpec};
use super::kernel::{self, CustomKernel, DebianKernel, KernelKind};
use super::plan::{Plan, Report, Step};
use super::scenario::{Scenario, Topology};
use super::vm::{self, VmSpec};
use super::{cache_dir, log, workspace_root, Context, LabError, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// How to prepare the lab.
#[derive(Debug, Clone)]
pub struct Options {
    /// Debian kernel release (`uname -r` form, e.g. `6.12.117+deb12-amd64` or
    /// `6.1.0-47-amd64`); default: newest 6.12 apt knows.
    pub debian_release: Option<String>,
    /// Parallel jobs for the kernel build.
    pub jobs: usize,
    /// Install missing host packages with apt-get.
    pub install: bool,
    /// Use this guest binary instead of building one.
    pub guest: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            debian_release: std::env::var("SMC_LAB_DEBIAN_KERNEL")
                .ok()
                .filter(|s| !s.is_empty()),
            jobs: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            install: true,
            guest: None,
        }
    }
}

/// A kernel ready to boot, with its initramfs.
#[derive(Debug, Clone)]
pub struct Bootable {
    /// What kind.
    pub kind: KernelKind,
    /// Short tag used in paths (`deb-6.12.117+deb12-amd64`, `smclo-6.12.117`).
    pub tag: String,
    /// `uname -r`.
    pub release: String,
    /// bzImage.
    pub kernel: PathBuf,
    /// Initramfs.
    pub initrd: PathBuf,
}

/// Everything scenarios need.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The Debian kernel, if prepared.
    pub debian: Option<Bootable>,
    /// Our SMC_LO kernel, if prepared.
    pub smclo: Option<Bootable>,
    /// The static guest binary.
    pub guest: PathBuf,
    /// `--debian-kernel` as given (for the reproduce command).
    pub debian_arg: Option<String>,
}

impl Prepared {
    /// The bootable kernel of a kind.
    pub fn bootable(&self, kind: KernelKind) -> Result<&Bootable> {
        match kind {
            KernelKind::Debian => self.debian.as_ref(),
            KernelKind::SmcLo => self.smclo.as_ref(),
        }
        .with_context(|| format!("kernel {kind:?} was not prepared"))
    }
}

/// Builds `smc-guest` as a static binary (`-C target-feature=+crt-static` for
/// `x86_64-unknown-linux-gnu`) in the lab's cache.
pub fn build_guest() -> Result<PathBuf> {
    let root = workspace_root();
    let target_dir = cache_dir().join("guest-target");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    log("building smc-guest (static, release)");
    kernel::run_cmd(
        Command::new(cargo)
            .current_dir(&root)
            .args([
                "build",
                "--release",
                "--quiet",
                "-p",
                "smc-fuzz",
                "--bin",
                "smc-guest",
                "--target",
                "x86_64-unknown-linux-gnu",
            ])
            .env("CARGO_TARGET_DIR", &target_dir)
            .env("RUSTFLAGS", "-C target-feature=+crt-static"),
        "building the static guest program",
    )?;
    let bin = target_dir.join("x86_64-unknown-linux-gnu/release/smc-guest");
    if !bin.exists() {
        return Err(LabError::msg(format!("{} was not produced", bin.display())));
    }
    Ok(bin)
}

/// Installs packages, fetches/builds the kernels of `kinds`, builds the guest and
/// the initramfs images.
pub fn prepare(opts: &Options, kinds: &[KernelKind]) -> Result<Prepared> {
    let t = Instant::now();
    if opts.install {
        kernel::ensure_host_packages(&[])?;
    }
    kernel::check_qemu()?;
    let guest = match &opts.guest {
        Some(g) => g.clone(),
        None => build_guest()?,
    };
    let cache = cache_dir();
    let mut p = Prepared {
        debian: None,
        smclo: None,
        guest: guest.clone(),
        debian_arg: opts.debian_release.clone(),
    };
    if kinds.contains(&KernelKind::Debian) {
        let rel = match &opts.debian_release {
            Some(r) => r.clone(),
            None => kernel::newest_debian_612()?,
        };
        let k = DebianKernel::fetch(&rel)?;
        let tag = format!("deb-{rel}");
        let initrd = initramfs::path_for(&cache, &tag);
        fs::create_dir_all(initrd.parent().unwrap_or(&cache)).context("initramfs dir")?;
        let mods = initramfs::build(
            &InitramfsSpec {
                guest: &guest,
                modules: Some(&k.modules),
            },
            &initrd,
        )?;
        log(format!(
            "initramfs {} ({} modules)",
            initrd.display(),
            mods.len()
        ));
        p.debian = Some(Bootable {
            kind: KernelKind::Debian,
            tag,
            release: k.release.clone(),
            kernel: k.vmlinuz.clone(),
            initrd,
        });
    }
    if kinds.contains(&KernelKind::SmcLo) {
        let k = CustomKernel::ensure(opts.jobs)?;
        let tag = format!("smclo-{}", k.release);
        let initrd = initramfs::path_for(&cache, &tag);
        fs::create_dir_all(initrd.parent().unwrap_or(&cache)).context("initramfs dir")?;
        initramfs::build(
            &InitramfsSpec {
                guest: &guest,
                modules: None,
            },
            &initrd,
        )?;
        p.smclo = Some(Bootable {
            kind: KernelKind::SmcLo,
            tag,
            release: k.release.clone(),
            kernel: k.bzimage.clone(),
            initrd,
        });
    }
    log(format!("lab prepared in {:.1}s", t.elapsed().as_secs_f64()));
    Ok(p)
}

/// The result of one scenario run.
#[derive(Debug)]
pub struct Outcome {
    /// The diag JSON (also written to `dir`).
    pub diag: ScenarioDiag,
    /// Directory with `<name>.pcap`, `<name>.diag.json`, consoles and VM shares.
    pub dir: PathBuf,
    /// The scenario's pcap.
    pub pcap: PathBuf,
    /// Wall-clock seconds of the VM run(s).
    pub secs: f64,
}

fn read_report(share: &Path, console: &Path) -> Result<Report> {
    let p = share.join("report.json");
    let text = fs::read_to_string(&p).with_context(|| {
        let c = fs::read_to_string(console).unwrap_or_default();
        let tail: Vec<&str> = c.lines().rev().take(25).collect();
        format!(
            "the guest wrote no {} (crashed or failed before the plan); console:\n{}",
            p.display(),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )
    })?;
    let r: Report =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", p.display()))?;
    if !r.ok {
        return Err(LabError::msg(format!(
            "guest VM {} reported failure:\n{}",
            r.vm,
            r.log.join("\n")
        )));
    }
    Ok(r)
}

fn write_plan(share: &Path, plan: &Plan) -> Result<()> {
    let _ = fs::remove_dir_all(share);
    fs::create_dir_all(share).with_context(|| format!("creating {}", share.display()))?;
    let j = serde_json::to_string_pretty(plan).context("serialising plan")?;
    fs::write(share.join("plan.json"), j).context("writing plan.json")
}

/// The command line that reproduces a scenario run.
pub fn reproduce_command(p: &Prepared, sc: &Scenario) -> String {
    let mut c = format!("smc-lab run {}", sc.name);
    if sc.kernel == KernelKind::Debian {
        if let Some(d) = &p.debian_arg {
            c.push_str(&format!(" --debian-kernel {d}"));
        }
    }
    c
}

/// Runs one scenario; output in `out_root/<kernel tag>/<scenario>/`.
pub fn run_scenario(p: &Prepared, sc: &Scenario, out_root: &Path) -> Result<Outcome> {
    let boot = p.bootable(sc.kernel)?;
    let dir = out_root.join(&boot.tag).join(sc.name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let t = Instant::now();
    let timeout = Duration::from_secs(sc.timeout_secs);
    let pcap = dir.join(format!("{}.pcap", sc.name));
    let mut reports = Vec::new();
    let mut pcaps = Vec::new();
    match &sc.topology {
        Topology::Single(steps) => {
            let share = dir.join("vm-single");
            write_plan(
                &share,
                &Plan {
                    scenario: sc.name.into(),
                    vm: "single".into(),
                    steps: steps.clone(),
                },
            )?;
            let spec = VmSpec::new("single", &boot.kernel, &boot.initrd, &share);
            let run =
                vm::run_one(&spec, timeout).with_context(|| format!("scenario {}", sc.name))?;
            let r = read_report(&share, &run.console)
                .with_context(|| format!("scenario {}", sc.name))?;
            for pc in &r.pcaps {
                fs::copy(share.join(&pc.file), dir.join(&pc.file))
                    .with_context(|| format!("copying {}", pc.file))?;
            }
            pcaps.extend(r.pcaps.clone());
            reports.push(r);
        }
        Topology::Pair { a, b, snaplen } => {
            let (sa, sb) = (dir.join("vm-a"), dir.join("vm-b"));
            for (share, vmn, steps) in [(&sa, "a", a), (&sb, "b", b)] {
                write_plan(
                    share,
                    &Plan {
                        scenario: sc.name.into(),
                        vm: vmn.into(),
                        steps: steps.clone(),
                    },
                )?;
            }
            let mut va = VmSpec::new("a", &boot.kernel, &boot.initrd, &sa);
            let mut vb = VmSpec::new("b", &boot.kernel, &boot.initrd, &sb);
            // a VM whose guest failed stops the other at once
            let check =
                |run: &vm::VmRun, share: &Path| read_report(share, &run.console).map(|_| ());
            let runs = vm::run_pair(&mut va, &mut vb, &pcap, *snaplen, timeout, &check)
                .with_context(|| format!("scenario {}", sc.name))?;
            for run in &runs {
                let share = if run.name == "a" { &sa } else { &sb };
                reports.push(
                    read_report(share, &run.console)
                        .with_context(|| format!("scenario {}", sc.name))?,
                );
            }
            let packets = pcap_packets(&pcap)?;
            pcaps.push(PcapInfo {
                file: format!("{}.pcap", sc.name),
                source: "host:qemu-filter-dump".into(),
                packets,
                dropped: 0,
            });
        }
    }
    for pc in &pcaps {
        if pc.dropped > 0 {
            return Err(LabError::msg(format!(
                "scenario {}: capture {} dropped {} packets",
                sc.name, pc.file, pc.dropped
            )));
        }
    }
    let mut connections = Vec::new();
    let mut release = String::new();
    let mut failed_connects = 0;
    for r in reports {
        release = r.kernel_release.clone();
        failed_connects += r.failed_connects;
        connections.extend(r.connections);
    }
    let diag = ScenarioDiag {
        schema: SCHEMA_VERSION,
        scenario: sc.name.into(),
        kernel_release: release,
        kernel_kind: match sc.kernel {
            KernelKind::Debian => "debian".into(),
            KernelKind::SmcLo => "smc-lo".into(),
        },
        command: reproduce_command(p, sc),
        pcaps,
        failed_connects,
        connections,
    };
    let json = diag_json(&diag)?;
    fs::write(dir.join(format!("{}.diag.json", sc.name)), json).context("writing diag JSON")?;
    let secs = t.elapsed().as_secs_f64();
    log(format!(
        "scenario {} done in {secs:.1}s: {} connections -> {}",
        sc.name,
        diag.connections.len(),
        dir.display()
    ));
    Ok(Outcome {
        diag,
        dir,
        pcap,
        secs,
    })
}

/// The diag JSON as written to disk: pretty-printed, except one line per connection
/// (runs with hundreds of connections stay small and diff well).
pub fn diag_json(d: &ScenarioDiag) -> Result<String> {
    let head = ScenarioDiag {
        connections: Vec::new(),
        ..d.clone()
    };
    let head = serde_json::to_string_pretty(&head).context("serialising diag")?;
    let mut rows = Vec::with_capacity(d.connections.len());
    for c in &d.connections {
        rows.push(format!(
            "    {}",
            serde_json::to_string(c).context("serialising diag")?
        ));
    }
    let body = if rows.is_empty() {
        "[]".to_string()
    } else {
        format!("[\n{}\n  ]", rows.join(",\n"))
    };
    Ok(head.replacen(
        "\"connections\": []",
        &format!("\"connections\": {body}"),
        1,
    ) + "\n")
}

/// Counts the records of a classic pcap file (written by QEMU's filter-dump).
pub fn pcap_packets(path: &Path) -> Result<u64> {
    let b = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    if b.len() < 24 {
        return Err(LabError::msg(format!("{} is not a pcap", path.display())));
    }
    let le = b[0..4] == [0xd4, 0xc3, 0xb2, 0xa1];
    let rd = |at: usize| -> Option<u32> {
        let s: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
        Some(if le {
            u32::from_le_bytes(s)
        } else {
            u32::from_be_bytes(s)
        })
    };
    let mut at = 24;
    let mut n = 0;
    while at + 16 <= b.len() {
        let incl = rd(at + 8).context("pcap record")? as usize;
        at += 16 + incl;
        n += 1;
    }
    Ok(n)
}

/// Default output root for runs: `<cache>/runs`.
pub fn default_out_root() -> PathBuf {
    cache_dir().join("runs")
}

/// Copies a run's pcap and diag JSON into `captures/lab/<kernel tag>/` and updates
/// the generated table in `captures/README.md`. Returns the README row.
pub fn record(o: &Outcome, sc: &Scenario, boot: &Bootable) -> Result<String> {
    let root = workspace_root().join("captures");
    let rel_dir = format!("lab/{}", boot.tag);
    let dst = root.join(&rel_dir);
    fs::create_dir_all(&dst).with_context(|| format!("creating {}", dst.display()))?;
    let pcap_name = format!("{}.pcap", sc.name);
    let json_name = format!("{}.diag.json", sc.name);
    fs::copy(&o.pcap, dst.join(&pcap_name)).context("copying pcap")?;
    fs::copy(o.dir.join(&json_name), dst.join(&json_name)).context("copying diag JSON")?;
    let modes = summary(&o.diag);
    let row = format!(
        "| `{rel_dir}/{pcap_name}` | {} ({}) | {} | {modes} | `{}` |",
        o.diag.kernel_release, o.diag.kernel_kind, sc.about, o.diag.command
    );
    update_readme(
        &root.join("README.md"),
        &format!("{rel_dir}/{pcap_name}"),
        &row,
    )?;
    Ok(row)
}

/// "2 SMCD, 1 fallback(NOSMCDEV)" style summary of a run.
pub fn summary(d: &ScenarioDiag) -> String {
    use std::collections::BTreeMap;
    let mut m: BTreeMap<String, usize> = BTreeMap::new();
    for c in &d.connections {
        let k = match c.mode {
            super::diag::Mode::Fallback => format!(
                "fallback {}",
                c.fallback_reason_name
                    .clone()
                    .unwrap_or_else(|| c.fallback_reason.clone())
            ),
            m => format!("{m:?}"),
        };
        *m.entry(k).or_default() += 1;
    }
    m.iter()
        .map(|(k, v)| format!("{v}× {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

const BEGIN: &str = "<!-- smc-lab:begin (rows written by `smc-lab record`) -->";
const END: &str = "<!-- smc-lab:end -->";

fn update_readme(path: &Path, key: &str, row: &str) -> Result<()> {
    let text = fs::read_to_string(path).unwrap_or_else(|_| "# Captures\n".into());
    let head = "| file | kernel | scenario | smc_diag (sockets) | command |\n|---|---|---|---|---|";
    let (before, mut rows, after) = match (text.find(BEGIN), text.find(END)) {
        (Some(b), Some(e)) if e > b => {
            let inner = &text[b + BEGIN.len()..e];
            let rows: Vec<String> = inner
                .lines()
                .filter(|l| l.starts_with("| `"))
                .map(String::from)
                .collect();
            (
                text[..b].to_string(),
                rows,
                text[e + END.len()..].to_string(),
            )
        }
        _ => (
            format!("{}\n\n", text.trim_end()),
            Vec::new(),
            "\n".to_string(),
        ),
    };
    rows.retain(|r| !r.starts_with(&format!("| `{key}`")));
    rows.push(row.to_string());
    rows.sort();
    let new = format!("{before}{BEGIN}\n{head}\n{}\n{END}{after}", rows.join("\n"));
    fs::write(path, new).with_context(|| format!("writing {}", path.display()))
}

/// Steps of a scenario VM (for `smc-lab show`).
pub fn plans(sc: &Scenario) -> Vec<(String, Vec<Step>)> {
    match &sc.topology {
        Topology::Single(s) => vec![("single".into(), s.clone())],
        Topology::Pair { a, b, .. } => vec![("a".into(), a.clone()), ("b".into(), b.clone())],
    }
}
