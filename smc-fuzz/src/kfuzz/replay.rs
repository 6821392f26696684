//! `smc-fuzz replay FILE`: a finding's cases on a fresh VM, and whether the finding came back.

use super::campaign::{divergence_signature, prepare, FindingFile};
use super::case::Case;
use super::exec::{CaseRun, FuzzVm, Timing};
use super::oracle::{Kind, Report};
use super::Result;
use crate::lab::log;
use crate::lab::run::Bootable;
use std::path::Path;
use std::time::Duration;

/// What a replay did.
#[derive(Debug)]
pub struct Outcome {
    /// Whether the finding's signature (or divergence, or liveness problem) showed again.
    pub reproduced: bool,
    /// Each case's run.
    pub runs: Vec<CaseRun>,
    /// Every console report seen.
    pub reports: Vec<Report>,
    /// Liveness problems (liveness findings only).
    pub liveness: Vec<(Kind, String)>,
    /// Boot seconds.
    pub boot_secs: f64,
}

/// The culprit part of a signature (`… | func`), to match a report whose first line varies.
fn same_report(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let tail = |s: &str| s.rsplit(" | ").next().map(str::to_string);
    a.contains(" | ") && b.contains(" | ") && tail(a) == tail(b)
}

/// What a replay looks for.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The finding's class.
    pub kind: Kind,
    /// Its signature.
    pub signature: &'a str,
}

/// Boots `boot`, runs `cases` in order (recording into `pcap` if given), and checks for the
/// finding `target` describes. `vm` reuses a running VM instead of booting one
/// (divergences only).
pub fn run_cases(
    boot: &Bootable,
    cases: &[Case],
    target: &Target<'_>,
    dir: &Path,
    pcap: Option<&Path>,
    vm: Option<&mut FuzzVm>,
    linger: Duration,
) -> Result<Outcome> {
    let (kind, signature) = (target.kind, target.signature);
    let mut own;
    let (v, boot_secs): (&mut FuzzVm, f64) = match vm {
        Some(v) => (v, 0.0),
        None => {
            own = FuzzVm::boot(boot, dir, "replay", Timing::default())?;
            let s = own.boot_secs;
            (&mut own, s)
        }
    };
    v.record_to(pcap)?;
    let mut runs = Vec::new();
    let mut reports = Vec::new();
    for c in cases {
        let r = v.run_case(c)?;
        reports.extend(r.reports.iter().cloned());
        let died = r.observed.vm_died;
        runs.push(r);
        if died {
            break;
        }
    }
    // reports printed by work items after the last case; a hang needs the hung-task
    // detector's 20 s
    let linger = if kind == Kind::Hang {
        linger.max(Duration::from_secs(45))
    } else {
        linger.max(Duration::from_millis(1500))
    };
    let until = std::time::Instant::now() + linger;
    while v.alive() && std::time::Instant::now() < until {
        v.idle(Duration::from_millis(200));
        v.keepalive()?;
        reports.extend(v.reports());
        // the report looked for is there: no need to wait out the rest
        if kind != Kind::Divergence && reports.iter().any(|r| same_report(&r.signature, signature))
        {
            break;
        }
    }
    reports.extend(v.reports());
    let mut liveness = Vec::new();
    if matches!(kind, Kind::Liveness | Kind::StuckSocket) && v.alive() {
        liveness = v.liveness(Duration::from_secs(0))?;
        if kind == Kind::StuckSocket {
            std::thread::sleep(Duration::from_secs(60));
            liveness = v.liveness(Duration::from_secs(60))?;
        }
    }
    v.record_to(None)?;
    let reproduced = match kind {
        Kind::Divergence => match (cases.last(), runs.last()) {
            (Some(c), Some(r)) => !r.agrees() && divergence_signature(c, r) == signature,
            _ => false,
        },
        Kind::Liveness | Kind::StuckSocket => liveness.iter().any(|(k, _)| *k == kind),
        _ if signature == "VM died without a console report" => {
            runs.last().is_some_and(|r| r.observed.vm_died)
        }
        _ => reports.iter().any(|r| same_report(&r.signature, signature)),
    };
    Ok(Outcome {
        reproduced,
        runs,
        reports,
        liveness,
        boot_secs,
    })
}

/// Replays a finding file on a fresh VM of the kernel it names.
pub fn replay_file(
    file: &Path,
    pcap: Option<&Path>,
    dir: &Path,
    linger: Duration,
    kernel: Option<super::campaign::KernelChoice>,
) -> Result<(FindingFile, Outcome)> {
    let f = FindingFile::load(file)?;
    let boot = prepare(kernel.unwrap_or(f.kernel))?;
    log(format!(
        "replaying {} ({} case(s), {:?}: {}) on {}",
        file.display(),
        f.cases.len(),
        f.kind,
        f.signature,
        boot.release
    ));
    let target = Target {
        kind: f.kind,
        signature: &f.signature,
    };
    let o = run_cases(&boot, &f.cases, &target, dir, pcap, None, linger)?;
    Ok((f, o))
}
