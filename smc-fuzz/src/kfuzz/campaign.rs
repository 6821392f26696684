//! The campaign: cases in index order on one or more VMs, statistics, findings.
//!
//! A finding is a console report (deduplicated by signature), a VM that died, a failed
//! liveness probe, a stuck socket, or a model divergence. Every finding is written at once to
//! `OUT/findings/<n>-<kind>/finding.json` with the cases that led to it (the last few cases of
//! that VM: a report can be printed by a work item after the case that caused it) — a file
//! `smc-fuzz replay` takes. A new crash-class finding reboots the VM; with `--minimize` it is
//! then reduced on fresh VMs ([`super::minimize`]).
//!
//! Known issues ([`oracle::KNOWN`]) are recognised and counted; once one has been hit
//! `known_hits` times, cases the model predicts will hit it again (or that may hit it, see
//! [`hazard`]) are regenerated (attempt + 1), so the campaign keeps exploring instead of
//! rebooting.

use super::case::{Case, Ctx, Facts, Role};
use super::exec::{CaseRun, FuzzVm, Observed, Timing};
use super::gen::{self, Roles};
use super::model::{self, Answer, Kernel, Prediction};
use super::oracle::{self, Dedup, Kind};
use super::{Error, Result};
use crate::lab::kernel::{self, CustomKernel, Flavor};
use crate::lab::run::Bootable;
use crate::lab::{cache_dir, initramfs, log};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Which of our kernels to fuzz.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KernelChoice {
    /// The debug flavor (KASAN, lockdep, hang detectors).
    Debug,
    /// The lab flavor (what the lab tier already builds).
    Lab,
    /// Debian's own 6.12 kernel package (no loopback-ism: SMC-R only; for replaying findings
    /// on a stock distribution kernel).
    Debian,
}

/// Builds (or finds) the kernel, the static guest and its initramfs.
pub fn prepare(choice: KernelChoice) -> Result<Bootable> {
    kernel::check_qemu()?;
    let flavor = match choice {
        KernelChoice::Debug => Flavor::Debug,
        KernelChoice::Lab => Flavor::Lab,
        KernelChoice::Debian => {
            let p = crate::lab::run::prepare(
                &crate::lab::run::Options::default(),
                &[kernel::KernelKind::Debian],
            )?;
            return p.bootable(kernel::KernelKind::Debian).cloned();
        }
    };
    let jobs = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let k = CustomKernel::ensure_flavor(jobs, flavor)?;
    let guest = crate::lab::run::build_guest()?;
    let tag = match choice {
        KernelChoice::Debug => format!("smclo-debug-{}", k.release),
        _ => format!("smclo-{}", k.release),
    };
    let initrd = initramfs::path_for(&cache_dir(), &format!("kfuzz-{tag}"));
    if let Some(d) = initrd.parent() {
        fs::create_dir_all(d).map_err(|e| Error::msg(format!("{}: {e}", d.display())))?;
    }
    initramfs::build(
        &initramfs::InitramfsSpec {
            guest: &guest,
            modules: None,
        },
        &initrd,
    )?;
    Ok(Bootable {
        kind: kernel::KernelKind::SmcLo,
        tag,
        release: k.release,
        kernel: k.bzimage,
        initrd,
    })
}

/// Campaign settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Campaign seed.
    pub seed: u64,
    /// First case index.
    pub start: u64,
    /// Stop after this many cases (all VMs together).
    pub cases: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Roles.
    pub roles: Roles,
    /// VMs (one thread each).
    pub vms: usize,
    /// Output directory.
    pub out: PathBuf,
    /// Kernel.
    pub kernel: KernelChoice,
    /// Cases between liveness probes.
    pub live_every: u64,
    /// A socket older than this is stuck.
    pub stuck_after: Duration,
    /// Hits of a known issue after which cases predicted to hit it are regenerated (0: avoid
    /// from the start).
    pub known_hits: u64,
    /// Minimise new crash-class findings (fresh VM per attempt).
    pub minimize: bool,
    /// Case timing.
    pub timing: Timing,
    /// Cases kept per VM for a finding's window.
    pub window: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            seed: 1,
            start: 0,
            cases: None,
            duration: None,
            roles: Roles::Both,
            vms: 1,
            out: PathBuf::from("kfuzz-out"),
            kernel: KernelChoice::Debug,
            live_every: 250,
            stuck_after: Duration::from_secs(300),
            known_hits: 2,
            minimize: false,
            timing: Timing::default(),
            window: 6,
        }
    }
}

/// Campaign counters (merged over VMs; written as `stats.json`).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Stats {
    /// Seed.
    pub seed: u64,
    /// Kernel release and flavor.
    pub kernel: String,
    /// Cases run.
    pub cases: u64,
    /// Of which peer as client.
    pub client: u64,
    /// Of which peer as server.
    pub server: u64,
    /// Byte-level mutations applied.
    pub mutations: u64,
    /// Wall-clock seconds.
    pub secs: f64,
    /// Cases per second (wall clock, all VMs).
    pub rate: f64,
    /// Seconds spent inside cases (sum).
    pub case_secs: f64,
    /// Seconds spent booting VMs (sum).
    pub boot_secs: f64,
    /// VM boots.
    pub boots: u64,
    /// Distinct kernel responses (one-line form) → count.
    pub responses: BTreeMap<String, u64>,
    /// Model answers predicted vs. observed agreeing.
    pub agreed: u64,
    /// Divergence signature → count.
    pub divergences: BTreeMap<String, u64>,
    /// Console report signature → count.
    pub reports: BTreeMap<String, u64>,
    /// Known issue id → hits.
    pub known: BTreeMap<String, u64>,
    /// Cases regenerated to avoid a known issue.
    pub regenerated: u64,
    /// Liveness probes run.
    pub liveness_checks: u64,
    /// Liveness / stuck-socket problem → count.
    pub liveness: BTreeMap<String, u64>,
    /// Cases whose TCP connection never came up.
    pub no_tcp: u64,
    /// Findings written.
    pub findings: u64,
}

/// One finding file (what `smc-fuzz replay` reads).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FindingFile {
    /// Format version.
    pub schema: u32,
    /// Class.
    pub kind: Kind,
    /// Deduplication key.
    pub signature: String,
    /// Known issue id, if it is one.
    pub known: Option<String>,
    /// Kernel flavor.
    pub kernel: KernelChoice,
    /// Kernel release.
    pub release: String,
    /// The cases to run on a fresh VM, in order; the last one triggers it.
    pub cases: Vec<Case>,
    /// What the kernel revealed when it was found.
    pub facts: Facts,
    /// What was observed for each case when it was found.
    pub observed: Vec<Observed>,
    /// The model's prediction for the last case.
    pub predicted: Option<Prediction>,
    /// Console lines of the report (or the liveness problem).
    pub lines: Vec<String>,
    /// Where it was found: `seed/index` and campaign time.
    pub found: String,
    /// Whether the case list was minimised.
    pub minimized: bool,
}

/// Format version of [`FindingFile`].
pub const FINDING_SCHEMA: u32 = 1;

impl FindingFile {
    /// Reads a finding file.
    pub fn load(p: &Path) -> Result<FindingFile> {
        let t = fs::read_to_string(p).map_err(|e| Error::msg(format!("{}: {e}", p.display())))?;
        serde_json::from_str(&t).map_err(|e| Error::msg(format!("{}: {e}", p.display())))
    }

    /// Writes it (pretty JSON).
    pub fn save(&self, p: &Path) -> Result<()> {
        if let Some(d) = p.parent() {
            fs::create_dir_all(d).map_err(|e| Error::msg(format!("{}: {e}", d.display())))?;
        }
        let j = serde_json::to_string_pretty(self).map_err(|e| Error::msg(e.to_string()))?;
        fs::write(p, j + "\n").map_err(|e| Error::msg(format!("{}: {e}", p.display())))
    }
}

/// The divergence signature: role, opening kind, predicted and observed answers.
pub fn divergence_signature(case: &Case, run: &CaseRun) -> String {
    let r = match case.role {
        Role::Client => "client",
        Role::Server => "server",
    };
    let o = |a: &Option<Answer>| a.as_ref().map_or("-".to_string(), Answer::to_string);
    let p2 = run
        .predicted
        .second
        .as_ref()
        .map_or("-".to_string(), Answer::to_string);
    format!(
        "{r}: predicted {} > {p2}, observed {} > {}",
        run.predicted.first,
        o(&run.observed.first),
        o(&run.observed.second)
    )
}

/// The model's prediction for a case before it runs (stand-in kernel values): used to skip
/// cases that would only hit a known issue again.
pub fn static_prediction(case: &Case) -> Prediction {
    let ctx = Ctx::stand_in();
    let k = Kernel::lab(ctx.learned.loopback, ctx.learned.accept_token);
    let bytes = |sends: &[super::case::Send], c: &Ctx| -> Vec<u8> {
        sends.iter().flat_map(|s| s.msg.build(c)).collect()
    };
    match case.role {
        Role::Server => {
            let prop = ctx.kernel_msg.clone().unwrap_or_default();
            model::predict_client(case.smc_option, &prop, &bytes(&case.opening, &ctx), &k)
        }
        Role::Client => {
            let opening = bytes(&case.opening, &ctx);
            let p = model::predict_server(case.smc_option, &opening, &[], None, &k);
            match &p.first {
                Answer::Clc(s) if s.starts_with("Accept") => {
                    // the follow-up against the Accept an SMC_LO kernel sends (first contact)
                    let mut actx = ctx.clone();
                    let acc = super::case::stand_in_accept(&ctx.learned, &ctx.local);
                    actx.kernel_msg = Some(acc.clone());
                    let follow = bytes(&case.follow, &actx);
                    model::predict_server(case.smc_option, &opening, &follow, Some(&acc), &k)
                }
                _ => p,
            }
        }
    }
}

/// The known issue a case may hit although the model cannot say it will, because that depends
/// on kernel state earlier cases built: peer as server, an SMC-D Accept naming the kernel's own
/// DMB, then data through the connection ([`model::names_own_dmb`]: when that DMB's connection
/// is gone, the agent's recv() busy-loops in `smc_rx_recvmsg`).
pub fn hazard(case: &Case) -> Option<&'static str> {
    if case.role != Role::Server || !case.smc_option || case.data == 0 {
        return None;
    }
    let ctx = Ctx::stand_in();
    let k = Kernel::lab(ctx.learned.loopback, ctx.learned.accept_token);
    let reply: Vec<u8> = case
        .opening
        .iter()
        .flat_map(|s| s.msg.build(&ctx))
        .collect();
    model::names_own_dmb(&reply, &k).then_some(oracle::KNOWN_ORPHAN_DMB_RX_SPIN)
}

/// The known issue a prediction says the case will hit.
pub fn predicted_crash(p: &Prediction) -> Option<&str> {
    [Some(&p.first), p.second.as_ref()]
        .into_iter()
        .flatten()
        .find_map(|a| match a {
            Answer::Crash(id) => Some(id.as_str()),
            _ => None,
        })
}

struct Shared {
    stats: Stats,
    dedup: Dedup,
    next_finding: u64,
}

impl Shared {
    /// Counts a finding under its class (and its known issue); true when its signature is new.
    fn count(&mut self, f: &Found) -> bool {
        let map = match f.kind {
            Kind::Divergence => &mut self.stats.divergences,
            Kind::Liveness | Kind::StuckSocket => &mut self.stats.liveness,
            _ => &mut self.stats.reports,
        };
        *map.entry(f.signature.clone()).or_insert(0) += 1;
        if let Some(k) = f.known {
            *self.stats.known.entry(k.to_string()).or_insert(0) += 1;
        }
        self.dedup.hit(&format!("{:?} {}", f.kind, f.signature))
    }
}

/// A finding as the worker reports it.
struct Found {
    kind: Kind,
    signature: String,
    known: Option<&'static str>,
    lines: Vec<String>,
}

fn write_finding(
    opts: &Options,
    boot: &Bootable,
    shared: &Mutex<Shared>,
    f: &Found,
    window: &VecDeque<(Case, CaseRun)>,
    facts: Facts,
    elapsed: f64,
) -> Result<PathBuf> {
    let n = {
        let mut s = shared
            .lock()
            .map_err(|_| Error::msg("stats lock poisoned"))?;
        s.next_finding += 1;
        s.stats.findings += 1;
        s.next_finding
    };
    let kind = format!("{:?}", f.kind).to_lowercase();
    let dir = opts.out.join("findings").join(format!("{n:03}-{kind}"));
    // a divergence or stuck socket is about the last case alone; a report may come late
    let take = match f.kind {
        Kind::Divergence => 1,
        _ => window.len(),
    };
    let w: Vec<&(Case, CaseRun)> = window
        .iter()
        .skip(window.len() - take.min(window.len()))
        .collect();
    let last = w.last();
    let file = FindingFile {
        schema: FINDING_SCHEMA,
        kind: f.kind,
        signature: f.signature.clone(),
        known: f.known.map(String::from),
        kernel: opts.kernel,
        release: boot.release.clone(),
        cases: w.iter().map(|(c, _)| c.clone()).collect(),
        facts,
        observed: w.iter().map(|(_, r)| r.observed.clone()).collect(),
        predicted: last.map(|(_, r)| r.predicted.clone()),
        lines: f.lines.clone(),
        found: format!(
            "seed {} index {} after {:.0} s",
            opts.seed,
            last.map_or(0, |(c, _)| c.id.index),
            elapsed
        ),
        minimized: false,
    };
    let p = dir.join("finding.json");
    file.save(&p)?;
    log(format!(
        "finding {n} ({kind}): {} -> {}",
        f.signature,
        p.display()
    ));
    Ok(p)
}

fn worker(
    w: usize,
    opts: &Options,
    boot: &Bootable,
    shared: &Mutex<Shared>,
    t0: Instant,
    minimize_queue: &Mutex<Vec<PathBuf>>,
) -> Result<()> {
    let vmdir = opts.out.join(format!("vm{w}"));
    let boot_vm = |shared: &Mutex<Shared>| -> Result<FuzzVm> {
        let v = FuzzVm::boot(boot, &vmdir, &format!("kfuzz{w}"), opts.timing)?;
        if let Ok(mut s) = shared.lock() {
            s.stats.boots += 1;
            s.stats.boot_secs += v.boot_secs;
        }
        log(format!(
            "vm{w}: booted {} in {:.1}s (kernel GID learned{})",
            boot.release,
            v.boot_secs,
            if v.boot_reports.is_empty() {
                String::new()
            } else {
                format!(", {} boot report(s)", v.boot_reports.len())
            }
        ));
        Ok(v)
    };
    let mut vm = boot_vm(shared)?;
    let mut case_log = fs::File::create(opts.out.join(format!("cases-vm{w}.ndjson")))
        .ok()
        .map(std::io::BufWriter::new);
    let mut window: VecDeque<(Case, CaseRun)> = VecDeque::new();
    let mut since_live = 0u64;
    let mut no_tcp_run = 0u32;
    let mut index = opts.start + w as u64;
    loop {
        if let Some(d) = opts.duration {
            if t0.elapsed() >= d {
                break;
            }
        }
        if let Some(n) = opts.cases {
            if index >= opts.start + n {
                break;
            }
        }
        // the case, regenerated while it would only hit a known issue again
        let mut attempt = 0u32;
        let mut case = gen::generate(opts.seed, index, attempt, opts.roles);
        loop {
            let p = static_prediction(&case);
            let Some(id) = predicted_crash(&p).or_else(|| hazard(&case)) else {
                break;
            };
            let hits = shared
                .lock()
                .map(|s| s.stats.known.get(id).copied().unwrap_or(0))
                .unwrap_or(0);
            if hits < opts.known_hits || attempt >= 50 {
                break;
            }
            attempt += 1;
            if let Ok(mut s) = shared.lock() {
                s.stats.regenerated += 1;
            }
            case = gen::generate(opts.seed, index, attempt, opts.roles);
        }
        index += opts.vms as u64;
        let run = vm.run_case(&case)?;
        let facts = vm.facts();
        let mut found: Vec<Found> = Vec::new();
        // console reports
        for r in &run.reports {
            let known = oracle::known_for(r, Some(&run.predicted));
            found.push(Found {
                kind: r.kind,
                signature: r.signature.clone(),
                known: known.map(|k| k.id),
                lines: r.lines.clone(),
            });
        }
        if run.observed.vm_died && run.reports.is_empty() {
            let tail = crate::lab::peer::console_tail(&vm.console_path(), 30);
            found.push(Found {
                kind: Kind::Crash,
                signature: "VM died without a console report".into(),
                known: None,
                lines: tail,
            });
        }
        let agrees = run.agrees();
        if !agrees && !run.observed.vm_died {
            found.push(Found {
                kind: Kind::Divergence,
                signature: divergence_signature(&case, &run),
                known: None,
                lines: run.observed.kernel.clone(),
            });
        }
        if run.observed.no_tcp {
            no_tcp_run += 1;
            if no_tcp_run >= 3 {
                found.push(Found {
                    kind: Kind::Liveness,
                    signature: format!("{:?} role: TCP connection never established", case.role),
                    known: None,
                    lines: Vec::new(),
                });
                no_tcp_run = 0;
            }
        } else {
            no_tcp_run = 0;
        }
        {
            let mut s = shared
                .lock()
                .map_err(|_| Error::msg("stats lock poisoned"))?;
            let st = &mut s.stats;
            st.cases += 1;
            match case.role {
                Role::Client => st.client += 1,
                Role::Server => st.server += 1,
            }
            st.mutations += case.mutation_count() as u64;
            st.case_secs += run.secs;
            if run.observed.no_tcp {
                st.no_tcp += 1;
            }
            if agrees {
                st.agreed += 1;
            }
            *st.responses
                .entry(run.observed.response(case.role))
                .or_insert(0) += 1;
        }
        if let Some(l) = case_log.as_mut() {
            use std::io::Write;
            let line = serde_json::json!({
                "index": case.id.index,
                "attempt": case.id.attempt,
                "vm": w,
                "case": case.describe(),
                "predicted": run.predicted,
                "response": run.observed.response(case.role),
                "agrees": agrees,
                "secs": (run.secs * 1000.0).round() / 1000.0,
                "answer_ms": run.observed.answer_ms.map(|x| x.round()),
                "reports": run.reports.iter().map(|r| r.signature.clone()).collect::<Vec<_>>(),
            });
            let _ = writeln!(l, "{line}");
        }
        window.push_back((case, run));
        while window.len() > opts.window {
            window.pop_front();
        }
        let mut reboot = false;
        for f in &found {
            let new = shared
                .lock()
                .map_err(|_| Error::msg("stats lock poisoned"))?
                .count(f);
            if f.kind.reboot() {
                reboot = true;
            }
            if new {
                let p = write_finding(
                    opts,
                    boot,
                    shared,
                    f,
                    &window,
                    facts,
                    t0.elapsed().as_secs_f64(),
                )?;
                if opts.minimize && f.kind.reboot() && f.known.is_none() {
                    if let Ok(mut q) = minimize_queue.lock() {
                        q.push(p);
                    }
                }
            }
        }
        // liveness
        since_live += 1;
        if !reboot && since_live >= opts.live_every {
            since_live = 0;
            let probs = vm.liveness(opts.stuck_after)?;
            let mut reports = vm.reports();
            if let Ok(mut s) = shared.lock() {
                s.stats.liveness_checks += 1;
            }
            for r in reports.drain(..) {
                let f = Found {
                    kind: r.kind,
                    signature: r.signature,
                    known: None,
                    lines: r.lines,
                };
                let new = shared.lock().map(|mut s| s.count(&f)).unwrap_or(false);
                reboot = true;
                if new {
                    write_finding(
                        opts,
                        boot,
                        shared,
                        &f,
                        &window,
                        facts,
                        t0.elapsed().as_secs_f64(),
                    )?;
                }
            }
            for (kind, what) in probs {
                let f = Found {
                    kind,
                    signature: match kind {
                        // one signature per socket state, not per socket
                        Kind::StuckSocket => what.split(' ').take(4).collect::<Vec<_>>().join(" "),
                        _ => what.clone(),
                    },
                    known: None,
                    lines: vec![what],
                };
                let new = shared.lock().map(|mut s| s.count(&f)).unwrap_or(false);
                if kind == Kind::Liveness {
                    reboot = true;
                }
                if new {
                    write_finding(
                        opts,
                        boot,
                        shared,
                        &f,
                        &window,
                        facts,
                        t0.elapsed().as_secs_f64(),
                    )?;
                }
            }
        }
        if reboot || !vm.alive() {
            log(format!("vm{w}: rebooting"));
            vm.kill();
            vm = boot_vm(shared)?;
            window.clear();
            since_live = 0;
        }
    }
    // nothing in the guest is worth a clean shutdown (its report is not read): kill QEMU
    vm.kill();
    Ok(())
}

/// Runs a campaign; returns the statistics (also in `OUT/stats.json`).
pub fn run(opts: &Options) -> Result<Stats> {
    fs::create_dir_all(&opts.out)
        .map_err(|e| Error::msg(format!("{}: {e}", opts.out.display())))?;
    let boot = prepare(opts.kernel)?;
    let t0 = Instant::now();
    let shared = Mutex::new(Shared {
        stats: Stats {
            seed: opts.seed,
            kernel: format!("{} ({:?})", boot.release, opts.kernel),
            ..Stats::default()
        },
        dedup: Dedup::default(),
        next_finding: 0,
    });
    let queue: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    let stats_path = opts.out.join("stats.json");
    let errors: Mutex<Vec<String>> = Mutex::new(Vec::new());
    std::thread::scope(|sc| {
        let mut handles = Vec::new();
        for w in 0..opts.vms.max(1) {
            let (o, b, sh, q, er) = (opts, &boot, &shared, &queue, &errors);
            handles.push(sc.spawn(move || {
                if let Err(e) = worker(w, o, b, sh, t0, q) {
                    log(format!("vm{w}: stopped: {e}"));
                    if let Ok(mut v) = er.lock() {
                        v.push(format!("vm{w}: {e}"));
                    }
                }
            }));
        }
        // progress and stats.json every 30 s until the workers are done
        let mut last = Instant::now();
        loop {
            std::thread::sleep(Duration::from_millis(500));
            let finished = handles.iter().all(|h| h.is_finished());
            if last.elapsed() >= Duration::from_secs(30) || finished {
                last = Instant::now();
                if let Ok(mut s) = shared.lock() {
                    s.stats.secs = t0.elapsed().as_secs_f64();
                    s.stats.rate = s.stats.cases as f64 / s.stats.secs.max(1e-9);
                    log(format!(
                        "{} cases ({:.2}/s), {} responses, {} divergences, {} reports, {} findings",
                        s.stats.cases,
                        s.stats.rate,
                        s.stats.responses.len(),
                        s.stats.divergences.values().sum::<u64>(),
                        s.stats.reports.values().sum::<u64>(),
                        s.stats.findings
                    ));
                    if let Ok(j) = serde_json::to_string_pretty(&s.stats) {
                        let _ = fs::write(&stats_path, j + "\n");
                    }
                }
            }
            if finished {
                break;
            }
        }
    });
    let mut stats = shared
        .lock()
        .map_err(|_| Error::msg("stats lock poisoned"))?
        .stats
        .clone();
    stats.secs = t0.elapsed().as_secs_f64();
    stats.rate = stats.cases as f64 / stats.secs.max(1e-9);
    let j = serde_json::to_string_pretty(&stats).map_err(|e| Error::msg(e.to_string()))?;
    fs::write(&stats_path, j + "\n")
        .map_err(|e| Error::msg(format!("{}: {e}", stats_path.display())))?;
    if opts.minimize {
        let q: Vec<PathBuf> = queue.lock().map(|q| q.clone()).unwrap_or_default();
        for p in q {
            let out = p.with_file_name("minimized.json");
            match super::minimize::minimize_file(&p, &out, &boot) {
                Ok(r) => log(format!("minimised {} -> {}", p.display(), r.display())),
                Err(e) => log(format!("minimising {}: {e}", p.display())),
            }
        }
    }
    let errs = errors.lock().map(|e| e.clone()).unwrap_or_default();
    if !errs.is_empty() && stats.cases == 0 {
        return Err(Error::msg(errs.join("; ")));
    }
    Ok(stats)
}
