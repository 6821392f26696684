//! Minimisation: fewer cases, fewer messages, fewer mutations, one segment — as long as the
//! finding still shows. Crash-class findings are tested on a fresh VM each time (kernel state
//! from an earlier attempt must not help); divergences reuse one VM.
//!
//! Greedy one-at-a-time reduction (each candidate drops one element; a pass repeats until
//! nothing more can go), which for the handful of elements a case has costs about as many
//! attempts as ddmin and is simpler to follow in the log.

use super::campaign::FindingFile;
use super::case::{Case, End};
use super::exec::{FuzzVm, Timing};
use super::oracle::Kind;
use super::replay::{run_cases, Target};
use super::{Error, Result};
use crate::lab::log;
use crate::lab::run::Bootable;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Every one-step simplification of a case.
pub fn candidates(c: &Case) -> Vec<Case> {
    let mut out = Vec::new();
    if !c.follow.is_empty() {
        let mut x = c.clone();
        x.follow.clear();
        out.push(x);
    }
    for (list, is_open) in [(&c.opening, true), (&c.follow, false)] {
        if list.len() > 1 {
            for i in 0..list.len() {
                let mut x = c.clone();
                let l = if is_open {
                    &mut x.opening
                } else {
                    &mut x.follow
                };
                l.remove(i);
                out.push(x);
            }
        }
        for (i, s) in list.iter().enumerate() {
            for j in 0..s.msg.mutations.len() {
                let mut x = c.clone();
                let l = if is_open {
                    &mut x.opening
                } else {
                    &mut x.follow
                };
                l[i].msg.mutations.remove(j);
                out.push(x);
            }
            if !s.cuts.is_empty() {
                let mut x = c.clone();
                let l = if is_open {
                    &mut x.opening
                } else {
                    &mut x.follow
                };
                l[i].cuts.clear();
                l[i].gap_ms = 0;
                out.push(x);
            }
        }
    }
    if c.end != End::Rst {
        let mut x = c.clone();
        x.end = End::Rst;
        out.push(x);
    }
    out
}

/// Zeller's ddmin over a list, complements only (remove one of `n` chunks; on success keep the
/// rest and coarsen, else refine): a 1-minimal list in O(n²) tests at worst, about
/// 2·log2(n)·k for k needed elements.
pub fn ddmin<T: Clone>(
    mut items: Vec<T>,
    test: &mut dyn FnMut(&[T]) -> Result<bool>,
) -> Result<Vec<T>> {
    let mut n = 2usize;
    while items.len() >= 2 {
        let len = items.len();
        let chunk = len.div_ceil(n);
        let mut reduced = None;
        for i in 0..n {
            let (a, b) = (i * chunk, ((i + 1) * chunk).min(len));
            if a >= b {
                continue;
            }
            let rest: Vec<T> = items[..a].iter().chain(&items[b..]).cloned().collect();
            if !rest.is_empty() && test(&rest)? {
                reduced = Some(rest);
                break;
            }
        }
        if let Some(rest) = reduced {
            items = rest;
            n = (n - 1).max(2);
        } else {
            if n >= len {
                break;
            }
            n = (2 * n).min(len);
        }
    }
    Ok(items)
}

/// A way to test a candidate case list.
struct Tester<'a> {
    boot: &'a Bootable,
    kind: Kind,
    signature: String,
    dir: PathBuf,
    vm: Option<FuzzVm>,
    attempts: u32,
}

impl Tester<'_> {
    fn test(&mut self, cases: &[Case]) -> Result<bool> {
        self.attempts += 1;
        let reuse = self.kind == Kind::Divergence;
        if reuse && self.vm.as_mut().is_none_or(|v| !v.alive()) {
            self.vm = Some(FuzzVm::boot(
                self.boot,
                &self.dir,
                "minimize",
                Timing::default(),
            )?);
        }
        let target = Target {
            kind: self.kind,
            signature: &self.signature,
        };
        let o = run_cases(
            self.boot,
            cases,
            &target,
            &self.dir,
            None,
            if reuse { self.vm.as_mut() } else { None },
            Duration::ZERO,
        )?;
        log(format!(
            "  attempt {}: {} case(s), {} mutation(s): {}",
            self.attempts,
            cases.len(),
            cases.iter().map(Case::mutation_count).sum::<usize>(),
            if o.reproduced { "reproduced" } else { "gone" }
        ));
        Ok(o.reproduced)
    }
}

/// Minimises a finding; returns the reduced file (not yet saved). Fails when the finding does
/// not reproduce as found.
pub fn minimize(boot: &Bootable, f: &FindingFile, dir: &Path) -> Result<FindingFile> {
    let mut t = Tester {
        boot,
        kind: f.kind,
        signature: f.signature.clone(),
        dir: dir.to_path_buf(),
        vm: None,
        attempts: 0,
    };
    let mut cases = f.cases.clone();
    log(format!("minimising {:?}: {}", f.kind, f.signature));
    if !t.test(&cases)? {
        return Err(Error::msg(format!(
            "{:?} '{}' did not reproduce with the {} case(s) it was found with",
            f.kind,
            f.signature,
            cases.len()
        )));
    }
    // 1. the case list: the last case alone first, then delta debugging over the list
    if cases.len() > 1 {
        let last = cases[cases.len() - 1..].to_vec();
        if t.test(&last)? {
            cases = last;
        } else {
            cases = ddmin(cases, &mut |c| t.test(c))?;
        }
    }
    // 2. inside each case, one simplification at a time until none applies
    for k in 0..cases.len() {
        loop {
            let mut progressed = false;
            for cand in candidates(&cases[k]) {
                let mut c = cases.clone();
                c[k] = cand;
                if t.test(&c)? {
                    cases = c;
                    progressed = true;
                    break;
                }
            }
            if !progressed {
                break;
            }
        }
    }
    if let Some(v) = t.vm.take() {
        v.kill();
    }
    let mut out = f.clone();
    out.cases = cases;
    out.minimized = true;
    Ok(out)
}

/// Minimises `file` and writes `out` (JSON) plus `out` with `.pcap`: the minimised cases
/// replayed once more on a fresh VM with every frame recorded.
pub fn minimize_file(file: &Path, out: &Path, boot: &Bootable) -> Result<PathBuf> {
    let f = FindingFile::load(file)?;
    let dir = out.with_extension("work");
    let mut m = minimize(boot, &f, &dir)?;
    let pcap = out.with_extension("pcap");
    let target = Target {
        kind: m.kind,
        signature: &m.signature,
    };
    let o = run_cases(
        boot,
        &m.cases,
        &target,
        &dir,
        Some(&pcap),
        None,
        Duration::ZERO,
    )?;
    if !o.reproduced {
        return Err(Error::msg(
            "the minimised cases did not reproduce on the recording run",
        ));
    }
    m.observed = o.runs.iter().map(|r| r.observed.clone()).collect();
    if let Some(r) = o.runs.last() {
        m.predicted = Some(r.predicted.clone());
    }
    if let Some(r) = o.reports.first() {
        m.lines = r.lines.clone();
    }
    m.save(out)?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(out.to_path_buf())
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn ddmin_finds_the_two_needed_elements() {
        let items: Vec<u32> = (0..100).collect();
        let mut tests = 0;
        let out = ddmin(items, &mut |c: &[u32]| {
            tests += 1;
            Ok(c.contains(&17) && c.contains(&98))
        })
        .unwrap();
        assert_eq!(out, vec![17, 98]);
        assert!(tests < 60, "{tests} tests");
    }
}
