//! The loop closes (issue 6): for every connection of every lab capture, the verdict smcdump
//! derives from the wire equals what the kernels themselves reported through `smc_diag` inside the
//! guests (`<scenario>.diag.json`, written by smc-lab next to each pcap): mode (SMC-R, SMC-D or
//! fallback), device, GIDs and tokens for SMC-D, and for a fallback the decline reason and which
//! side sent it.
//!
//! How smc_diag's view maps to a wire verdict (reference §5.2, kernel `smc_clc_wait_msg`):
//! * both sides SMCD / SMCR → `smc` of that kind;
//! * one side's fallback reason R (not PEERDECL), the other side PEERDECL with peer_diagnosis R
//!   → `declined` by the first side with reason R;
//! * both sides PEERNOSMC → `fallback-no-echo` (the server's SYN-ACK lacked the option).
//!
//! The committed captures are checked in every run; CI also points `SMC_LAB_RUNS` at the
//! output of the lab tier it just ran, so fresh kernel runs are compared too.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use smc_dissect::output::{JsonSink, Output};
use smc_dissect::source::PcapSource;
use smc_dissect::Config;

/// Pairs of (pcap, smc_diag JSON) under a directory tree.
fn pairs_under(root: &Path, out: &mut Vec<(PathBuf, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            pairs_under(&p, out);
            continue;
        }
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        if let Some(stem) = name.strip_suffix(".diag.json") {
            let pcap = p.with_file_name(format!("{stem}.pcap"));
            if pcap.exists() {
                out.push((pcap, p.clone()));
            }
        }
    }
}

/// The committed lab captures, plus — when `SMC_LAB_RUNS` names a directory (CI sets it to the
/// lab tier's fresh output) — the captures the real kernels just produced.
fn lab_captures() -> Vec<(PathBuf, PathBuf)> {
    let mut out = Vec::new();
    pairs_under(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../captures/lab"),
        &mut out,
    );
    if let Some(runs) = std::env::var_os("SMC_LAB_RUNS") {
        let before = out.len();
        pairs_under(Path::new(&runs), &mut out);
        assert!(
            out.len() > before,
            "SMC_LAB_RUNS={} holds no pcap + diag.json pairs",
            Path::new(&runs).display()
        );
    }
    out.sort();
    out
}

fn verdicts(pcap: &Path) -> HashMap<(String, String), Value> {
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
    let mut map = HashMap::new();
    for line in String::from_utf8(j.into_inner()).unwrap().lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        if v["type"] == "verdict" {
            let d = &v["data"];
            let key = (
                d["conn"]["client"].as_str().unwrap().to_string(),
                d["conn"]["server"].as_str().unwrap().to_string(),
            );
            map.insert(key, d.clone());
        }
    }
    map
}

fn sock(addr: &Value, port: &Value) -> String {
    let a = addr.as_str().unwrap();
    if a.contains(':') {
        format!("[{a}]:{}", port)
    } else {
        format!("{a}:{}", port)
    }
}

/// `0x…` hex of the 64-bit halves joined as smcdump prints a 128-bit GID.
fn vgid(hi: &Value, lo: &Value) -> String {
    let h = u64::from_str_radix(hi.as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    let l = u64::from_str_radix(lo.as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    format!("0x{h:016x}{l:016x}")
}

#[test]
fn smcdump_verdicts_equal_smc_diag() {
    let caps = lab_captures();
    if caps.is_empty() {
        panic!("no lab captures with smc_diag JSON under captures/lab");
    }
    let mut checked = 0;
    let mut failures = Vec::new();
    for (pcap, diag_path) in &caps {
        let diag: Value =
            serde_json::from_str(&std::fs::read_to_string(diag_path).unwrap()).unwrap();
        let wire = verdicts(pcap);
        let conns = diag["connections"].as_array().unwrap();
        let clients: Vec<&Value> = conns.iter().filter(|c| c["role"] == "client").collect();
        for cl in clients {
            let client = sock(&cl["local_addr"], &cl["local_port"]);
            let server = sock(&cl["peer_addr"], &cl["peer_port"]);
            let Some(sv) = conns.iter().find(|c| {
                c["role"] == "server"
                    && sock(&c["local_addr"], &c["local_port"]) == server
                    && sock(&c["peer_addr"], &c["peer_port"]) == client
            }) else {
                failures.push(format!(
                    "{}: no server-side smc_diag entry for {client} → {server}",
                    diag_path.display()
                ));
                continue;
            };
            let here = format!(
                "{} {client} → {server}",
                pcap.file_name().unwrap().to_string_lossy()
            );
            let Some(v) = wire.get(&(client.clone(), server.clone())) else {
                failures.push(format!("{here}: smcdump gave no verdict"));
                continue;
            };
            checked += 1;
            let (cm, sm) = (cl["mode"].as_str().unwrap(), sv["mode"].as_str().unwrap());
            let fail = |why: String| format!("{here}: {why}; smcdump said {}", v["summary"]);
            match (cm, sm) {
                ("SMCD", "SMCD") => {
                    if v["verdict"] != "smc" || v["kind"] != "SMC-D" {
                        failures.push(fail("smc_diag: SMC-D on both sides".into()));
                        continue;
                    }
                    let (cd, sd) = (&cl["smcd"], &sv["smcd"]);
                    let emulated = sd["local_gid_ext"]
                        .as_str()
                        .is_some_and(|g| g != "0x0000000000000000");
                    if emulated {
                        if v["device"] != "loopback-ism" && v["device"] != "virtual-ism" {
                            failures.push(fail(
                                "smc_diag: a 128-bit GID, so an Emulated-ISM device".into(),
                            ));
                        }
                        if !v["truncated"].as_bool().unwrap_or(false) {
                            if v["server_vgid"] != vgid(&sd["local_gid"], &sd["local_gid_ext"]) {
                                failures.push(fail(format!(
                                    "server GID {} per smc_diag",
                                    vgid(&sd["local_gid"], &sd["local_gid_ext"])
                                )));
                            }
                            if v["client_vgid"] != vgid(&cd["local_gid"], &cd["local_gid_ext"]) {
                                failures.push(fail(format!(
                                    "client GID {} per smc_diag",
                                    vgid(&cd["local_gid"], &cd["local_gid_ext"])
                                )));
                            }
                        }
                    }
                    if !v["truncated"].as_bool().unwrap_or(false) {
                        // the DMB token each side announced is the one its smc_diag reports as its own
                        if v["server_token"] != sd["token"] || v["client_token"] != cd["token"] {
                            failures.push(fail(format!(
                                "tokens server {} client {} per smc_diag",
                                sd["token"], cd["token"]
                            )));
                        }
                    }
                }
                ("SMCR", "SMCR") => {
                    if v["verdict"] != "smc" || v["kind"] != "SMC-R" {
                        failures.push(fail("smc_diag: SMC-R on both sides".into()));
                    }
                }
                ("fallback", "fallback") => {
                    let cr = cl["fallback_reason_name"].as_str().unwrap_or("?");
                    let sr = sv["fallback_reason_name"].as_str().unwrap_or("?");
                    let expect = match (cr, sr) {
                        ("PEERNOSMC", "PEERNOSMC") => Some(("fallback-no-echo", None, None)),
                        ("PEERDECL", r) => Some(("declined", Some(r.to_string()), Some("server"))),
                        (r, "PEERDECL") => Some(("declined", Some(r.to_string()), Some("client"))),
                        _ => None,
                    };
                    let Some((name, reason, by)) = expect else {
                        failures.push(fail(format!(
                            "unmapped smc_diag pair: client {cr}, server {sr}"
                        )));
                        continue;
                    };
                    if v["verdict"] != name {
                        failures.push(fail(format!("expected {name}")));
                        continue;
                    }
                    if let (Some(r), Some(by)) = (reason, by) {
                        // the decliner's local reason is the code on the wire, and the other side
                        // records it as peer_diagnosis
                        let peer_diag = if by == "server" {
                            &cl["peer_diagnosis_name"]
                        } else {
                            &sv["peer_diagnosis_name"]
                        };
                        if peer_diag.as_str() != Some(r.as_str()) {
                            failures.push(fail(format!(
                                "peer_diagnosis {peer_diag} vs local reason {r}"
                            )));
                        }
                        if v["reason"]["name"] != r.as_str() || v["by"] != by {
                            failures.push(fail(format!("declined by the {by} with {r}")));
                        }
                    }
                }
                (c, s) => failures.push(fail(format!(
                    "smc_diag modes differ: client {c}, server {s}"
                ))),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 0);
    eprintln!("checked {checked} connections in {} captures", caps.len());
}
