//! The smcdump binary, run for real (ripgrep `tests/util.rs` habit): exit codes, stdin input,
//! the decode subcommand, help and usage errors.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn smcdump() -> Command {
    Command::new(env!("CARGO_BIN_EXE_smcdump"))
}

fn capture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../captures")
        .join(rel)
}

#[test]
fn help_teaches_and_exits_zero() {
    let out = smcdump().arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for word in [
        "fallback-no-echo",
        "option-echoed-no-clc",
        "EXIT STATUS",
        "decode",
        "--json",
        "--summary",
    ] {
        assert!(help.contains(word), "--help lacks {word}");
    }
}

#[test]
fn usage_errors_exit_one_with_one_line() {
    let out = smcdump().output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no input"), "{err}");
    assert_eq!(err.trim().lines().count(), 1);
    let out = smcdump().arg("--bogus").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let out = smcdump()
        .args(["-r", "/nonexistent/x.pcap"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/x.pcap"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn clean_capture_exits_zero_and_stdin_gives_the_same_output() {
    let path = capture("shared/smcr-v1-lo-clc-hwipl.pcap");
    let out = smcdump()
        .arg("-r")
        .arg(&path)
        .arg("--no-summary")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let mut child = smcdump()
        .args(["-r", "-", "--no-summary"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(&path).unwrap())
        .unwrap();
    let piped = child.wait_with_output().unwrap();
    assert_eq!(piped.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&piped.stdout),
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn malformed_smc_exits_three() {
    // the smc-go vectors include CLC messages the receiving kernel rejects
    let out = smcdump()
        .arg("-r")
        .arg(capture("shared/smc-go-testvectors.pcap"))
        .arg("-q")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn gzip_input_and_several_files() {
    let path = capture("shared/smcr-v1-lo-clc-hwipl.pcap");
    let dir = std::env::temp_dir().join(format!("smcdump-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let gz = dir.join("x.pcap.gz");
    let mut e = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    e.write_all(&std::fs::read(&path).unwrap()).unwrap();
    e.finish().unwrap();
    // several files are one capture read in order (e.g. rotated tcpdump files): the second holds
    // another connection of the same client
    let second = capture("shared/smcr-v1-lo-clc-hwipl-split.pcap");
    let out = smcdump()
        .arg("--json")
        .arg("-r")
        .arg(&gz)
        .arg("-r")
        .arg(&second)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verdicts = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("\"type\":\"verdict\""))
        .count();
    assert_eq!(
        verdicts, 5,
        "4 connections in the first file, 1 in the second"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn decode_subcommand() {
    // reference §10: the real Decline v1 of a 2019 kernel
    let out = smcdump()
        .args([
            "decode",
            "e2d4c3d9 04001c10 25252525 25252500 03030000 00000000 e2d4c3d9",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.contains("NOSMCDEV") && s.contains("kernel receive checks: pass"),
        "{s}"
    );
    // a v2 Decline of 28 bytes: the kernel wants 44 (§9.2) → exit 3
    let out = smcdump()
        .args([
            "decode",
            "e2d4c3d904001c2025252525252525000303000020000000e2d4c3d9",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).contains("smc_clc_msg_decl_valid"));
    // not hex
    let out = smcdump().args(["decode", "zz"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    // stdin
    let mut child = smcdump()
        .args(["decode", "-", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"0000: e2 d4 c3 d9 04 00 1c 10 25 25 25 25 25 25 25 00\n0010: 03 03 00 00 00 00 00 00 e2 d4 c3 d9\n").unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["kernel_accepts"], true);
    assert_eq!(v["decoded"]["peer_diagnosis"]["name"], "NOSMCDEV");
}

#[test]
fn closed_pipe_is_not_an_error() {
    let mut child = smcdump()
        .arg("-r")
        .arg(capture("shared/smc-go-testvectors.pcap"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // reader goes away at once
    let out = child.wait_with_output().unwrap();
    assert!(
        matches!(out.status.code(), Some(0) | Some(3)),
        "{:?}",
        out.status
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether an external tool is present; with `SMC_REQUIRE_TOOLS=1` (CI) its absence fails.
fn tool(name: &str) -> bool {
    let ok = Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var_os("SMC_REQUIRE_TOOLS").is_some() {
            panic!("{name} is required (SMC_REQUIRE_TOOLS is set) but not installed");
        }
        eprintln!("SKIPPED: {name} is not installed (CI installs it and sets SMC_REQUIRE_TOOLS=1)");
    }
    ok
}

#[test]
fn pcapng_export_is_read_back_by_tshark_with_comments() {
    let dir = std::env::temp_dir().join(format!("smcdump-w-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("smc.pcapng");
    let st = smcdump()
        .arg("-r")
        .arg(capture("lab/smclo-6.12.117/lo-smcd.pcap"))
        .arg("-q")
        .arg("-w")
        .arg(&out)
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(0));
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(
        &bytes[..4],
        &[0x0a, 0x0d, 0x0d, 0x0a],
        "pcapng section header"
    );
    // our own reader reads it back, and smcdump gives the same verdicts on it
    let again = smcdump()
        .arg("--json")
        .arg("-r")
        .arg(&out)
        .output()
        .unwrap();
    let verdicts = String::from_utf8_lossy(&again.stdout)
        .lines()
        .filter(|l| l.contains("\"type\":\"verdict\"") && l.contains("\"verdict\":\"smc\""))
        .count();
    assert_eq!(verdicts, 3);
    if tool("tshark") {
        let t = Command::new("tshark")
            .arg("-r")
            .arg(&out)
            .args(["-T", "fields", "-e", "frame.comment"])
            .output()
            .unwrap();
        assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stderr));
        let comments = String::from_utf8_lossy(&t.stdout);
        assert!(
            comments.contains("smcdump: #0 CLC Proposal v2"),
            "{comments}"
        );
        assert!(
            comments.contains("smcdump verdict #0: smc: SMC-D v2.1 over loopback-ism"),
            "{comments}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn decode_llc_and_cdc() {
    // reference §10: CONFIRM LINK (flags 0x03, QPN 0x000107, link 0, max links 2) and a CDC
    // (seq 1, token 3, producer count 13), smc-go's bytes
    let out = smcdump()
        .args(["decode", "--json", "012c000398039babcdeffe800000000000009a039bfffeabcdef000107000001000002000000000000000000"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["kind"], "LLC");
    assert_eq!(v["decoded"]["sender_qp_num"], 0x107);
    assert_eq!(v["decoded"]["max_links"], 2);
    let out = smcdump()
        .args(["decode", "--json", "fe2c000100000003000000000000000d00000000000000000000000000000000000000000000000000000000"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["kind"], "CDC");
    assert_eq!(v["decoded"]["seqno"], 1);
    assert_eq!(v["decoded"]["token"], 3);
    assert_eq!(v["decoded"]["prod"]["count"], 13);
    // a CDC whose length byte is not 44: smc_cdc_rx_handler drops it (§9.3) → exit 3
    let out = smcdump()
        .args(["decode", "fe2b000100000003000000000000000d00000000000000000000000000000000000000000000000000000000"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
}
