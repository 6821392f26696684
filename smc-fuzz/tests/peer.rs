//! The reference peer against real kernels (issue 7): the scenario matrix of
//! `smc_fuzz::lab::peer`, each case's observed kernel answer and smc_diag against what the kernel
//! source says (the `expect` column), and smcdump's verdict on each capture against the same
//! column.
//!
//!     cargo test -p smc-fuzz --test peer -- --ignored --test-threads=1
//!
//! Like the lab tier, the VM tests are `#[ignore]`d in a plain `cargo test` (QEMU, root for
//! apt on first use). `SMC_PEER_RECORD=1` copies the captures and results into
//! `captures/peer/<kernel>/`. The non-ignored test checks the committed captures with smcdump.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use smc_dissect::output::{JsonSink, Output};
use smc_dissect::source::PcapSource;
use smc_dissect::Config;
use smc_fuzz::lab::kernel::KernelKind;
use smc_fuzz::lab::peer::{self, Case, Expect, Row};
use smc_fuzz::lab::run::{self, Prepared};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

fn lab() -> &'static Prepared {
    static PREP: OnceLock<Result<Prepared, String>> = OnceLock::new();
    let p = PREP.get_or_init(|| {
        run::prepare(
            &run::Options::default(),
            &[KernelKind::Debian, KernelKind::SmcLo],
        )
        .map_err(|e| e.to_string())
    });
    match p {
        Ok(p) => p,
        Err(e) => panic!("kernel lab cannot run on this machine: {e}"),
    }
}

/// smcdump's verdict events on one capture.
fn verdicts(pcap: &Path) -> Vec<Value> {
    let cfg = Config {
        inputs: vec![pcap.to_path_buf()],
        ..Config::default()
    };
    let mut sink = Output::Json(JsonSink::new(Vec::new()));
    let mut src = PcapSource::open(&cfg.inputs).unwrap();
    smc_dissect::run(&mut src, &cfg, &mut sink, |_, _| {}).unwrap();
    let Output::Json(j) = sink else {
        unreachable!()
    };
    String::from_utf8(j.into_inner())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["type"] == "verdict")
        .map(|e| e["data"].clone())
        .collect()
}

/// The smcdump verdict the expected column implies: (verdict, by, reason). The reasoning is
/// the wire's: a Decline from either side is `declined` with its code, a completed
/// Proposal/Accept/Confirm is `smc` whatever the kernel did next, anything cut short is
/// `incomplete`, a Proposal the kernel's framing check rejects is a `violation`.
pub fn expected_verdict(
    c: &Case,
    e: &Expect,
) -> (&'static str, Option<&'static str>, Option<String>) {
    let a = e.answer;
    let peer_declines = matches!(
        c.scenario.after_accept,
        smc_fuzz::peer::scenario::AfterAccept::Decline { .. }
    );
    match c.scenario.role {
        smc_fuzz::peer::scenario::Role::Client => {
            if let Some(code) = a.strip_prefix("Decline ") {
                return ("declined", Some("server"), Some(code.to_string()));
            }
            if a.starts_with("Accept") {
                if a.contains("→") {
                    let confirm = matches!(
                        c.scenario.after_accept,
                        smc_fuzz::peer::scenario::AfterAccept::Confirm { .. }
                    );
                    return if confirm {
                        ("smc", None, None)
                    } else {
                        ("incomplete", None, None)
                    };
                }
                if peer_declines {
                    return ("declined", Some("client"), Some("NOSMCDDEV".into()));
                }
            }
            ("violation", Some("client"), None)
        }
        smc_fuzz::peer::scenario::Role::Server => {
            if a.ends_with("→ fallback") {
                let code = match &c.scenario.reply {
                    Some(smc_fuzz::peer::scenario::ReplySpec::Decline { code, .. }) => code.clone(),
                    _ => String::new(),
                };
                return ("declined", Some("server"), Some(code));
            }
            if let Some(i) = a.rfind("Decline ") {
                return ("declined", Some("client"), Some(a[i + 8..].to_string()));
            }
            if a.ends_with("connect EPROTO") {
                // our Accept broke a receive check (CHID not offered, type N): §9.2
                return ("violation", Some("server"), None);
            }
            ("incomplete", None, None)
        }
    }
}

fn check_verdict(c: &Case, e: &Expect, pcap: &Path, problems: &mut Vec<String>) {
    let v = verdicts(pcap);
    let (want, by, reason) = expected_verdict(c, e);
    let Some(d) = v.iter().find(|d| d["verdict"] != "option-echoed-no-clc") else {
        problems.push(format!(
            "{}: smcdump found no verdict in {}",
            c.scenario.name,
            pcap.display()
        ));
        return;
    };
    let got = d["verdict"].as_str().unwrap_or("");
    let mut ok = got == want;
    if let (true, Some(b)) = (ok, by) {
        ok &= d["by"] == b;
    }
    if let (true, Some(r)) = (ok, &reason) {
        ok &= d["reason"]["name"].as_str() == Some(r.as_str());
    }
    if !ok {
        problems.push(format!(
            "{}: smcdump says {} (by {}, reason {}), expected {want} (by {by:?}, reason {reason:?})",
            c.scenario.name, got, d["by"], d["reason"]["name"]
        ));
    }
}

fn out_root() -> PathBuf {
    std::env::var_os("SMC_LAB_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(run::default_out_root)
}

fn matrix_on(kind: KernelKind) -> Vec<Row> {
    static SERIAL: Mutex<()> = Mutex::new(());
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let p = lab();
    let boot = p.bootable(kind).unwrap();
    let dir = out_root().join(&boot.tag).join("peer-matrix");
    let _ = std::fs::remove_dir_all(&dir);
    let only: Vec<String> = std::env::var("SMC_PEER_ONLY")
        .map(|s| s.split(',').map(String::from).collect())
        .unwrap_or_default();
    let rows = peer::run_matrix(boot, &dir, &only).unwrap_or_else(|e| panic!("{e}"));
    let cases = peer::matrix();
    let mut problems = Vec::new();
    for r in &rows {
        eprintln!(
            "{:<36} expect {:<48} | {:<30} got {} | {}",
            r.name, r.expect.answer, r.expect.diag, r.answer, r.diag
        );
        if !r.matches() {
            problems.push(format!(
                "{}: expected {:?} / {:?}, observed {:?} / {:?}",
                r.name, r.expect.answer, r.expect.diag, r.answer, r.diag
            ));
        }
        let c = cases.iter().find(|c| c.scenario.name == r.name).unwrap();
        check_verdict(c, &r.expect, &r.pcap, &mut problems);
    }
    let want = if only.is_empty() {
        cases.len()
    } else {
        rows.len()
    };
    if rows.len() < want {
        problems.push(format!(
            "only {} of {} cases ran (the VM stopped early)",
            rows.len(),
            want
        ));
    }
    if std::env::var_os("SMC_PEER_RECORD").is_some() {
        record(boot, &dir, &rows);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    rows
}

/// Copies captures and results into captures/peer/<tag>/ and rewrites the README rows.
fn record(boot: &run::Bootable, dir: &Path, rows: &[Row]) {
    let root = smc_fuzz::lab::workspace_root().join("captures");
    let dst = root.join("peer").join(&boot.tag);
    std::fs::create_dir_all(&dst).unwrap();
    for r in rows {
        std::fs::copy(&r.pcap, dst.join(format!("{}.pcap", r.name))).unwrap();
    }
    std::fs::copy(dir.join("matrix.json"), dst.join("matrix.json")).unwrap();
}

#[test]
#[ignore = "boots a real kernel under QEMU (reference peer matrix, issue 7)"]
fn peer_matrix_smc_lo_kernel() {
    matrix_on(KernelKind::SmcLo);
}

#[test]
#[ignore = "boots a real kernel under QEMU (reference peer matrix, issue 7)"]
fn peer_matrix_debian_kernel() {
    matrix_on(KernelKind::Debian);
}

/// The committed captures: smcdump's verdict on each matches the expected column of the
/// matrix for its kernel.
#[test]
fn committed_peer_captures_match_the_expected_column() {
    let root = smc_fuzz::lab::workspace_root().join("captures/peer");
    let Ok(dirs) = std::fs::read_dir(&root) else {
        return; // nothing recorded yet
    };
    let cases = peer::matrix();
    let mut problems = Vec::new();
    let mut n = 0;
    for d in dirs.flatten() {
        let tag = d.file_name().to_string_lossy().to_string();
        let kind = if tag.starts_with("deb-") {
            KernelKind::Debian
        } else {
            KernelKind::SmcLo
        };
        for c in &cases {
            let p = d.path().join(format!("{}.pcap", c.scenario.name));
            if p.exists() {
                check_verdict(c, &c.expect(kind), &p, &mut problems);
                n += 1;
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    eprintln!("{n} committed peer captures checked");
}
