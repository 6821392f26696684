//! Oracles: the guest console (kernel reports), crash signatures, known issues, stuck sockets,
//! and the comparison of the model's prediction with what the kernel did.
//!
//! The VM boots with `ignore_loglevel`, so every printk reaches the serial console — WARN()
//! and lockdep print at KERN_WARNING, which the lab's `loglevel=4` would hide.

use super::model::Prediction;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Console lines that start a kernel report, and the class each belongs to.
const MARKERS: &[(&str, Kind)] = &[
    ("BUG: KASAN", Kind::Kasan),
    ("KASAN: ", Kind::Kasan),
    ("general protection fault", Kind::Crash),
    ("BUG: kernel NULL pointer dereference", Kind::Crash),
    ("BUG: unable to handle", Kind::Crash),
    ("kernel BUG at", Kind::Crash),
    ("Oops:", Kind::Crash),
    ("Kernel panic", Kind::Crash),
    ("watchdog: BUG: soft lockup", Kind::Hang),
    ("BUG: soft lockup", Kind::Hang),
    ("rcu: INFO: rcu_preempt detected stalls", Kind::Hang),
    ("rcu_sched detected stalls", Kind::Hang),
    ("blocked for more than", Kind::Hang),
    ("refcount_t:", Kind::Refcount),
    ("possible circular locking dependency", Kind::Lockdep),
    ("possible recursive locking", Kind::Lockdep),
    ("inconsistent lock state", Kind::Lockdep),
    ("suspicious RCU usage", Kind::Lockdep),
    ("INFO: trying to register non-static key", Kind::Lockdep),
    ("BUG: sleeping function called", Kind::Lockdep),
    ("BUG: scheduling while atomic", Kind::Lockdep),
    ("list_add corruption", Kind::Corruption),
    ("list_del corruption", Kind::Corruption),
    ("ODEBUG:", Kind::Corruption),
    ("UBSAN:", Kind::Warning),
    ("WARNING:", Kind::Warning),
    ("BUG:", Kind::Crash),
];

/// The class of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Oops, NULL dereference, general protection fault, BUG_ON, panic.
    Crash,
    /// A KASAN report.
    Kasan,
    /// Hung task, soft lockup, RCU stall.
    Hang,
    /// refcount_t saturation / underflow.
    Refcount,
    /// lockdep, sleeping in atomic context.
    Lockdep,
    /// List or object debugging.
    Corruption,
    /// WARN() and other warnings.
    Warning,
    /// The liveness probe failed (a normal AF_SMC connection, or the kernel server, stopped
    /// working).
    Liveness,
    /// A socket that stays in the kernel long after its connection ended.
    StuckSocket,
    /// The kernel answered differently from the model.
    Divergence,
}

impl Kind {
    /// True for classes that leave the kernel in a state worth a reboot.
    pub fn reboot(self) -> bool {
        !matches!(self, Kind::Divergence | Kind::StuckSocket)
    }
}

/// Reads a growing console log incrementally.
#[derive(Debug)]
pub struct Console {
    path: PathBuf,
    pos: u64,
    partial: String,
}

impl Console {
    /// Watches `path` from its current end.
    pub fn new(path: &Path) -> Console {
        let pos = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        Console {
            path: path.to_path_buf(),
            pos,
            partial: String::new(),
        }
    }

    /// Watches `path` from the start.
    pub fn from_start(path: &Path) -> Console {
        Console {
            path: path.to_path_buf(),
            pos: 0,
            partial: String::new(),
        }
    }

    /// The complete lines written since the last call.
    pub fn new_lines(&mut self) -> Vec<String> {
        let Ok(mut f) = File::open(&self.path) else {
            return Vec::new();
        };
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        if len <= self.pos {
            return Vec::new();
        }
        let mut buf = Vec::new();
        if f.seek(SeekFrom::Start(self.pos)).is_err()
            || f.by_ref()
                .take(len - self.pos)
                .read_to_end(&mut buf)
                .is_err()
        {
            return Vec::new();
        }
        self.pos += buf.len() as u64;
        self.partial.push_str(&String::from_utf8_lossy(&buf));
        let mut lines: Vec<String> = self.partial.split('\n').map(String::from).collect();
        self.partial = lines.pop().unwrap_or_default();
        lines
            .into_iter()
            .map(|l| l.trim_end_matches('\r').to_string())
            .collect()
    }
}

/// One kernel report found in console lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Its class.
    pub kind: Kind,
    /// The deduplication key: the cleaned first line, plus the faulting function.
    pub signature: String,
    /// The lines (first marker line and what follows, up to 60).
    pub lines: Vec<String>,
}

/// Strips a `[   12.345678] ` timestamp.
fn untimed(l: &str) -> &str {
    let t = l.trim_start();
    if let Some(rest) = t.strip_prefix('[') {
        if let Some(i) = rest.find(']') {
            let inner = &rest[..i];
            if inner.trim().chars().all(|c| c.is_ascii_digit() || c == '.') {
                return rest[i + 1..].trim_start();
            }
        }
    }
    t
}

/// Removes what varies between two hits of the same bug: numbers that are addresses, PIDs,
/// CPU numbers, `+0x1a/0x50` offsets, task names after `Comm:`.
pub fn clean(line: &str) -> String {
    let mut out = String::new();
    for w in untimed(line).split_whitespace() {
        let w = match w.find("+0x") {
            Some(i) => &w[..i],
            None => w,
        };
        let hexy = w
            .trim_start_matches("0x")
            .trim_end_matches([',', ']', ')', ':'])
            .chars()
            .all(|c| c.is_ascii_hexdigit());
        let digits = w.chars().filter(|c| c.is_ascii_digit()).count();
        if (hexy && w.len() >= 6) || (digits > 0 && digits * 2 >= w.len()) {
            out.push_str("N ");
        } else {
            out.push_str(w);
            out.push(' ');
        }
    }
    out.trim_end().to_string()
}

/// The function a report points at: `RIP: 0010:func+0x…`, the `in func` of a KASAN title, the
/// `at file:line func` of a WARNING, or the first `smc`/`tcp` frame of the call trace.
fn culprit(lines: &[String]) -> Option<String> {
    let func = |s: &str| -> String {
        let s = s.trim_start_matches('?').trim();
        s.split(['+', ' ']).next().unwrap_or("").to_string()
    };
    // the first SMC frame of the call trace (a reliable one — without `?` — if there is one)
    let smc_frame = || {
        let frames = |reliable: bool| {
            lines
                .iter()
                .map(|l| untimed(l).trim().to_string())
                .filter(|l| !reliable || !l.starts_with('?'))
                .map(|l| l.trim_start_matches("? ").to_string())
                .find(|l| (l.starts_with("smc") || l.starts_with("__smc")) && l.contains("+0x"))
                .map(|l| func(&l))
        };
        frames(true).or_else(|| frames(false))
    };
    // a hang is where the task waits or spins, which the sampled RIP does not say: take the
    // SMC frame of its stack
    let title = lines
        .first()
        .map(|l| untimed(l).to_string())
        .unwrap_or_default();
    if title.contains("soft lockup") || title.contains("blocked for more than") {
        if let Some(s) = smc_frame() {
            return Some(s);
        }
    }
    for l in lines {
        let u = untimed(l);
        if let Some(i) = u.find("RIP: 0010:") {
            let f = func(&u[i + 10..]);
            if !f.is_empty() {
                // a fault in generic code (locking, list helpers): say which SMC function
                // called it
                if !f.contains("smc") {
                    if let Some(s) = smc_frame() {
                        return Some(format!("{f} < {s}"));
                    }
                }
                return Some(f);
            }
        }
    }
    let first = lines
        .first()
        .map(|l| untimed(l).to_string())
        .unwrap_or_default();
    if let Some(i) = first.find(" in ") {
        return Some(func(&first[i + 4..]));
    }
    lines
        .iter()
        .map(|l| untimed(l).trim().trim_start_matches("? ").to_string())
        .find(|l| {
            (l.starts_with("smc") || l.starts_with("__smc") || l.starts_with("tcp"))
                && l.contains("+0x")
        })
        .map(|l| func(&l))
}

/// Whether the last report in `lines` is still being printed: a report with a stack trace
/// ends with `</TASK>` or `---[ end trace`, and one cut off before that would be scanned without
/// its SMC frame (the serial console is slow under TCG: a soft lockup once arrived as far as
/// its registers, and got the signature `… | __local_bh_enable_ip`). A panic line ends a report.
pub fn report_open(lines: &[String]) -> bool {
    let Some(i) = lines.iter().rposition(|l| {
        let u = untimed(l);
        MARKERS.iter().any(|(m, _)| u.contains(m)) && !u.starts_with("KASAN: ")
    }) else {
        return false;
    };
    if untimed(&lines[i]).starts_with("Kernel panic") {
        return false;
    }
    !lines[i + 1..]
        .iter()
        .any(|l| l.contains("</TASK>") || l.contains("---[ end trace"))
}

/// The reports in a batch of console lines (each marker line starts one; the lines that
/// follow belong to it).
pub fn scan(lines: &[String]) -> Vec<Report> {
    let mut out: Vec<Report> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = untimed(&lines[i]);
        let hit = MARKERS.iter().find(|(m, _)| l.contains(m));
        let Some((_, kind)) = hit else {
            i += 1;
            continue;
        };
        // take lines until the end marker or the next report's first line
        let mut j = i + 1;
        while j < lines.len() && j < i + 60 {
            let n = untimed(&lines[j]);
            if n.contains("---[ end trace") || n.contains("==================") && j > i + 2 {
                j += 1;
                break;
            }
            if MARKERS.iter().any(|(m, _)| n.starts_with(m)) && !n.starts_with("KASAN: ") {
                break;
            }
            j += 1;
        }
        let block: Vec<String> = lines[i..j].to_vec();
        let mut title = clean(l);
        // WARNING: CPU: N PID: N at net/smc/x.c:123 func → keep "at file:line"
        if let Some(p) = title.find(" at ") {
            if title.starts_with("WARNING:") {
                title = format!("WARNING: {}", &title[p + 1..]);
            }
        }
        let sig = match culprit(&block) {
            Some(f) if !title.contains(&f) => format!("{title} | {f}"),
            _ => title,
        };
        // a general protection fault on a KASAN shadow address is KASAN's null-ptr-deref
        let kind = if *kind == Kind::Crash && block.iter().any(|b| b.contains("KASAN: ")) {
            Kind::Kasan
        } else {
            *kind
        };
        out.push(Report {
            kind,
            signature: sig,
            lines: block,
        });
        i = j;
    }
    // "Kernel panic - not syncing: Fatal exception" is the end of the report before it
    if out.len() > 1 {
        if let Some(first) = out.iter().position(|r| {
            matches!(r.kind, Kind::Crash | Kind::Kasan) && !r.signature.starts_with("Kernel panic")
        }) {
            let panics: Vec<Report> = out
                .iter()
                .filter(|r| r.signature.starts_with("Kernel panic"))
                .cloned()
                .collect();
            out.retain(|r| !r.signature.starts_with("Kernel panic"));
            let idx = first.min(out.len().saturating_sub(1));
            if let Some(f) = out.get_mut(idx) {
                for p in panics {
                    f.lines.extend(p.lines);
                }
            }
        }
    }
    out
}

/// The id of the one known, unfixed kernel bug the fuzzer rediscovers (README "Kernel
/// findings" 1): an SMC-D Accept with version ≥ 3 makes `smc_connect_ism` skip CHID selection.
pub const KNOWN_SMCD_V3: &str = "smcd-accept-v3-null-deref";

/// The id of the self-deadlock this fuzzer found (README "Kernel fuzzer"): a Decline with the
/// out-of-sync bit answering a first-contact Accept makes `smc_listen_work` call
/// `__smc_lgr_terminate`, which `lock_sock`s the socket the worker already holds.
pub const KNOWN_SYNCERR_DEADLOCK: &str = "syncerr-decline-listen-self-deadlock";

/// The id of the receive busy loop this fuzzer found (captures/kfuzz/smcd-orphan-dmb-rx-spin.json): an
/// SMC-D Accept naming a DMB whose connection is gone makes every CDC send fail, which sets
/// only `local_tx_ctrl.conn_state_flags.peer_conn_abort`; `smc_rx_wait` then returns at once
/// and `smc_rx_recvmsg` loops (soft lockup under PREEMPT_NONE).
pub const KNOWN_ORPHAN_DMB_RX_SPIN: &str = "smcd-orphan-dmb-rx-spin";

/// A known kernel issue: which reports are it.
#[derive(Debug, Clone, Copy)]
pub struct Known {
    /// Short id.
    pub id: &'static str,
    /// One line.
    pub title: &'static str,
    /// Report classes it shows as.
    pub kinds: &'static [Kind],
    /// Functions of which one must appear in the signature.
    pub functions: &'static [&'static str],
}

/// The known issues.
pub const KNOWN: &[Known] = &[
    Known {
        id: KNOWN_SMCD_V3,
        title: "SMC-D Accept with version >= 3: smc_connect_ism skips smc_v2_determine_accepted_chid, ism_dev[0] NULL dereferenced in smc_conn_create",
        kinds: &[Kind::Crash, Kind::Kasan],
        functions: &["smc_conn_create", "smc_lgr_create", "smcd_lgr_match"],
    },
    Known {
        id: KNOWN_SYNCERR_DEADLOCK,
        title: "Decline with the out-of-sync bit after a first-contact Accept: smc_listen_work -> smc_conn_abort -> smc_lgr_cleanup_early -> __smc_lgr_terminate -> lock_sock on its own, already locked socket (worker blocked forever)",
        kinds: &[Kind::Lockdep, Kind::Hang],
        functions: &["__smc_lgr_terminate"],
    },
    Known {
        id: KNOWN_ORPHAN_DMB_RX_SPIN,
        title: "SMC-D Accept naming a DMB no connection owns (loopback-ism): smc_lo_move_data returns -EPIPE for every CDC, smcd_tx_ism_write sets only local_tx_ctrl peer_conn_abort, smc_rx_wait's wait condition is always true and smc_rx_recvmsg does not stop on it: recv() busy-loops (soft lockup)",
        kinds: &[Kind::Hang],
        functions: &["smc_rx_wait", "smc_rx_recvmsg"],
    },
];

/// The known issue a report is, given what the model predicted for the case.
pub fn known_for(report: &Report, predicted: Option<&Prediction>) -> Option<&'static Known> {
    let crash_predicted = predicted.and_then(super::campaign::predicted_crash);
    KNOWN.iter().find(|k| {
        k.kinds.contains(&report.kind)
            && k.functions.iter().any(|f| {
                report.signature.contains(f)
                    || report.lines.iter().any(|l| l.contains(&format!(" {f}+0x")))
            })
            && crash_predicted.is_none_or(|id| id == k.id)
    })
}

/// Per-signature hit counts (deduplication across a campaign).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Dedup {
    /// Signature → hits.
    pub hits: BTreeMap<String, u64>,
}

impl Dedup {
    /// Counts a hit; true when the signature is new.
    pub fn hit(&mut self, sig: &str) -> bool {
        let n = self.hits.entry(sig.to_string()).or_insert(0);
        *n += 1;
        *n == 1
    }

    /// Hits of a signature.
    pub fn count(&self, sig: &str) -> u64 {
        self.hits.get(sig).copied().unwrap_or(0)
    }
}

/// Stuck-socket detection from successive smc_diag dumps.
#[derive(Debug, Default)]
pub struct Sockets {
    /// inode → (first seen, state/mode text).
    seen: BTreeMap<u64, (std::time::Instant, String)>,
    reported: BTreeSet<u64>,
}

impl Sockets {
    /// Takes one dump; returns the sockets present for longer than `age` (each once).
    pub fn update(
        &mut self,
        rows: &[crate::lab::diag::ConnDiag],
        age: std::time::Duration,
    ) -> Vec<String> {
        let now = std::time::Instant::now();
        let present: BTreeSet<u64> = rows.iter().map(|r| r.inode).collect();
        self.seen.retain(|k, _| present.contains(k));
        let mut out = Vec::new();
        for r in rows {
            let what = format!(
                "state {} mode {:?} {}:{} -> {}:{} fallback {}",
                r.state,
                r.mode,
                r.local_addr,
                r.local_port,
                r.peer_addr,
                r.peer_port,
                r.fallback_reason
            );
            let e = self.seen.entry(r.inode).or_insert((now, what.clone()));
            if now.duration_since(e.0) >= age && self.reserve(r.inode) {
                out.push(what);
            }
        }
        out
    }

    fn reserve(&mut self, inode: u64) -> bool {
        self.reported.insert(inode)
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::kfuzz::model::Answer;

    fn lines(s: &str) -> Vec<String> {
        s.lines().map(String::from).collect()
    }

    #[test]
    fn kasan_null_deref_in_smc_conn_create() {
        let l = lines(
            "[   41.123456] Oops: general protection fault, probably for non-canonical address 0xdffffc0000000000: 0000 [#1] PREEMPT KASAN
[   41.123457] KASAN: null-ptr-deref in range [0x0000000000000000-0x0000000000000007]
[   41.123458] CPU: 0 UID: 0 PID: 97 Comm: smc-guest Not tainted 6.12.117 #1
[   41.123459] RIP: 0010:smc_conn_create+0x4f3/0x1a00
[   41.123460] Call Trace:
[   41.123461]  __smc_connect+0xab7/0x1200",
        );
        let r = scan(&l);
        assert_eq!(r.len(), 1, "{r:?}");
        assert_eq!(r[0].kind, Kind::Kasan);
        assert!(
            r[0].signature.contains("smc_conn_create"),
            "{}",
            r[0].signature
        );
        assert!(known_for(&r[0], None).is_some());
    }

    #[test]
    fn fault_in_locking_code_names_the_smc_caller_and_absorbs_the_panic() {
        let l = lines(
            "[ 9.5] Oops: general protection fault, probably for non-canonical address 0xdffffc0000000019: 0000 [#1] KASAN
[ 9.5] KASAN: null-ptr-deref in range [0x00000000000000c8-0x00000000000000cf]
[ 9.5] RIP: 0010:__lock_acquire+0xcd/0x24a6
[ 9.5] Call Trace:
[ 9.5]  ? __smc_connect+0x2160/0x261f
[ 9.5]  _raw_spin_lock_bh+0x2f/0x39
[ 9.5]  smc_conn_create+0x1c8/0x1e95
[ 9.5] ---[ end trace 0000000000000000 ]---
[ 9.5] Kernel panic - not syncing: Fatal exception in interrupt",
        );
        let r = scan(&l);
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(
            r[0].signature
                .ends_with("| __lock_acquire < smc_conn_create"),
            "{}",
            r[0].signature
        );
        assert!(r[0].lines.iter().any(|x| x.contains("Kernel panic")));
        let p = Prediction {
            first: Answer::Crash(KNOWN_SMCD_V3.into()),
            second: None,
        };
        assert_eq!(
            known_for(&r[0], Some(&p)).map(|k| k.id),
            Some(KNOWN_SMCD_V3)
        );
    }

    #[test]
    fn soft_lockup_signature_is_the_smc_frame_not_the_sampled_rip() {
        let a = scan(&lines(
            "[ 149.0] watchdog: BUG: soft lockup - CPU#0 stuck for 126s! [init:1]
[ 149.0] RIP: 0010:_raw_spin_unlock_irqrestore+0x30/0x33
[ 149.0] Call Trace:
[ 149.0]  smc_rx_wait+0x40c/0x486
[ 149.0]  smc_rx_recvmsg+0xa34/0x162d",
        ));
        let b = scan(&lines(
            "[ 177.0] watchdog: BUG: soft lockup - CPU#0 stuck for 152s! [init:1]
[ 177.0] RIP: 0010:__local_bh_enable_ip+0xb1/0xb3
[ 177.0] Call Trace:
[ 177.0]  smc_rx_wait+0x185/0x486",
        ));
        assert_eq!(a[0].kind, Kind::Hang);
        assert_eq!(a[0].signature, b[0].signature);
        assert!(
            a[0].signature.ends_with("| smc_rx_wait"),
            "{}",
            a[0].signature
        );
    }

    #[test]
    fn receive_busy_loop_is_known() {
        // campaign seed 20261126, case 149 (abridged)
        let r = scan(&lines(
            "[   36.515057] watchdog: BUG: soft lockup - CPU#0 stuck for 23s! [init:1]
[   36.517418] softirqs last  enabled at (27349272): [<ffffffff819ac686>] smc_rx_wait+0x2e0/0x486
[   36.518367] RIP: 0010:lock_release+0x41f/0x441
[   36.520170] Call Trace:
[   36.520507]  ? smc_rx_wait+0x185/0x486
[   36.520875]  _raw_spin_unlock_bh+0x12/0x2a
[   36.520963]  smc_rx_wait+0x185/0x486
[   36.521227]  smc_rx_recvmsg+0xa34/0x162d
[   36.521856]  smc_recvmsg+0x1d5/0x2bf",
        ));
        assert_eq!(r.len(), 1, "{r:?}");
        assert_eq!(
            known_for(&r[0], None).map(|k| k.id),
            Some(KNOWN_ORPHAN_DMB_RX_SPIN)
        );
        // the listen worker's hang is still the out-of-sync deadlock, not this
        let h = scan(&lines(
            "[ 60.0] INFO: task kworker/0:2:24 blocked for more than 20 seconds.
[ 60.0] Call Trace:
[ 60.0]  __smc_lgr_terminate+0xc2/0x195
[ 60.0]  smc_listen_work+0xb2/0x2531",
        ));
        assert_eq!(
            known_for(&h[0], None).map(|k| k.id),
            Some(KNOWN_SYNCERR_DEADLOCK)
        );
    }

    #[test]
    fn a_report_cut_before_its_stack_is_open() {
        let head = "[ 41.1] watchdog: BUG: soft lockup - CPU#0 stuck for 37s! [init:1]
[ 41.2] RIP: 0010:__local_bh_enable_ip+0xb1/0xb3
[ 41.2] RSP: 0018:ffff8880002a7980 EFLAGS: 00000206";
        assert!(report_open(&lines(head)));
        let whole = format!(
            "{head}
[ 41.2] Call Trace:
[ 41.2]  <TASK>
[ 41.2]  smc_rx_wait+0x185/0x486
[ 41.2]  smc_rx_recvmsg+0xa34/0x162d
[ 41.2]  </TASK>"
        );
        assert!(!report_open(&lines(&whole)));
        assert!(scan(&lines(&whole))[0].signature.ends_with("| smc_rx_wait"));
        assert!(!report_open(&lines("[ 1.0] smc: adding ib device rxe0")));
        assert!(!report_open(&lines(
            "[ 9.5] ---[ end trace 0000000000000000 ]---
[ 9.5] Kernel panic - not syncing: Fatal exception in interrupt"
        )));
        assert!(!report_open(&lines(
            "[ 1.0] WARNING: CPU: 0 PID: 12 at net/smc/smc_core.c:1234 smc_lgr_free+0x10/0x20
[ 1.0] ---[ end trace 0000000000000000 ]---"
        )));
    }

    #[test]
    fn warning_signature_drops_pid_and_cpu() {
        let a = scan(&lines(
            "[ 1.0] WARNING: CPU: 0 PID: 12 at net/smc/smc_core.c:1234 smc_lgr_free+0x10/0x20",
        ));
        let b = scan(&lines(
            "[ 9.0] WARNING: CPU: 1 PID: 345 at net/smc/smc_core.c:1234 smc_lgr_free+0x11/0x20",
        ));
        assert_eq!(a[0].signature, b[0].signature);
        assert_eq!(a[0].kind, Kind::Warning);
    }

    #[test]
    fn boot_kasan_banner_is_not_a_report() {
        assert!(scan(&lines(
            "[0.0] kasan: KernelAddressSanitizer initialized (generic)"
        ))
        .is_empty());
    }
}
