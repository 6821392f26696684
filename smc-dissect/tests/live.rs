//! Live capture, for real: each test makes network namespaces of its own joined by a veth pair,
//! replays captures onto one end (this test binary, re-run inside the sending namespace as a
//! small pnet replayer: see `replayer`), captures on the other end with the `smcdump -i` binary,
//! stops it with SIGINT as a user's Ctrl-C would, and compares its verdicts with those of the
//! file run of the same captures.
//!
//! Needs root (CI runs as root). Where namespaces cannot be created the tests skip with a message,
//! unless `SMC_REQUIRE_TOOLS=1` (CI), where that fails them.
#![cfg(all(feature = "live", target_os = "linux"))]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

const SMCDUMP: &str = env!("CARGO_BIN_EXE_smcdump");
/// The environment variable that turns this binary into the replayer (see `replayer`).
const REPLAY_ENV: &str = "SMCDUMP_TEST_REPLAY";

fn captures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../captures")
}

/// Every capture a real kernel made (the lab tier).
fn lab_captures() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in [
        "deb-6.1.0-56-amd64",
        "deb-6.12.117+deb12-amd64",
        "smclo-6.12.117",
    ] {
        let mut v: Vec<PathBuf> = std::fs::read_dir(captures().join("lab").join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
            .collect();
        v.sort();
        out.extend(v);
    }
    assert!(out.len() >= 10, "lab captures missing: {out:?}");
    out
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    run(Command::new("ip").args(args))
}

/// A sending and a receiving namespace, `va` in one and `vb` in the other; deleted on drop.
struct Netns {
    tx: String,
    rx: String,
}

impl Drop for Netns {
    fn drop(&mut self) {
        for ns in [&self.tx, &self.rx] {
            let _ = ip(&["netns", "del", ns]);
        }
    }
}

impl Netns {
    /// `None` (after saying why) when namespaces cannot be made here.
    fn new(tag: &str) -> Option<Netns> {
        let id = std::process::id();
        let ns = Netns {
            tx: format!("smcdump-{tag}-tx-{id}"),
            rx: format!("smcdump-{tag}-rx-{id}"),
        };
        if let Err(e) = ip(&["netns", "add", &ns.tx]).and_then(|_| ip(&["netns", "add", &ns.rx])) {
            let msg = format!("cannot create network namespaces (root needed): {e}");
            if std::env::var_os("SMC_REQUIRE_TOOLS").is_some() {
                panic!("{msg} (SMC_REQUIRE_TOOLS is set)");
            }
            eprintln!("SKIPPED: {msg}");
            return None;
        }
        let setup = || -> Result<(), String> {
            for n in [&ns.tx, &ns.rx] {
                // no IPv6 router solicitations or DAD on the test links: only replayed frames
                run(Command::new("ip").args([
                    "netns",
                    "exec",
                    n,
                    "sysctl",
                    "-qw",
                    "net.ipv6.conf.all.disable_ipv6=1",
                    "net.ipv6.conf.default.disable_ipv6=1",
                ]))?;
                ip(&["-n", n, "link", "set", "lo", "up"])?;
            }
            ip(&[
                "link", "add", "va", "netns", &ns.tx, "mtu", "9000", "type", "veth", "peer",
                "name", "vb", "netns", &ns.rx, "mtu", "9000",
            ])?;
            ip(&["-n", &ns.tx, "link", "set", "va", "up"])?;
            ip(&["-n", &ns.rx, "link", "set", "vb", "up"])
        };
        setup().expect("setting up the veth pair");
        Some(ns)
    }
}

/// A running `smcdump -i … --json` in the receiving namespace.
struct Capture {
    child: Child,
    lines: mpsc::Receiver<String>,
}

fn start(ns: &str, args: &[&str]) -> Capture {
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns, SMCDUMP, "--json", "--no-progress"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, lines) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    // the capture is open once smcdump says so on stderr
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    assert!(
        first.starts_with("smcdump: capturing on "),
        "smcdump did not start: {first:?}"
    );
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut rest);
        if !rest.is_empty() {
            eprintln!("smcdump stderr: {rest}");
        }
    });
    Capture { child, lines }
}

impl Capture {
    /// Ctrl-C, then every JSON event it printed.
    fn stop(mut self) -> Vec<Value> {
        // the shell's kill builtin: no procps needed
        let kill = format!("kill -INT {}", self.child.id());
        run(Command::new("sh").args(["-c", &kill])).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success() || status.code() == Some(3), "{status:?}");
                break;
            }
            assert!(Instant::now() < deadline, "smcdump did not stop on SIGINT");
            std::thread::sleep(Duration::from_millis(20));
        }
        self.lines
            .iter()
            .map(|l| serde_json::from_str(&l).unwrap())
            .collect()
    }

    /// Waits until a verdict event arrives (or `within` passes); returns what came so far.
    fn wait_verdict(&self, within: Duration) -> Option<Value> {
        let deadline = Instant::now() + within;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let l = self.lines.recv_timeout(left).ok()?;
            let v: Value = serde_json::from_str(&l).unwrap();
            if v["type"] == "verdict" {
                return Some(v);
            }
        }
        None
    }
}

/// Replays `files` (frames `skip..` of each dropped when `keep` says so) onto `va` in `ns`.
fn replay(ns: &str, files: &[PathBuf], iface: &str, keep_upto: Option<u64>) {
    let spec = format!(
        "{iface}|{}|{}",
        keep_upto.map_or(String::new(), |n| n.to_string()),
        files
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join("|")
    );
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("ip")
        .args(["netns", "exec", ns])
        .arg(exe)
        .args(["replayer", "--exact", "--nocapture", "--test-threads=1"])
        .env(REPLAY_ENV, spec)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "replayer: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Not a test of its own: with `SMCDUMP_TEST_REPLAY=IFACE|MAXFRAME|FILE|…` set (by `replay`,
/// inside the sending namespace) it sends every frame of the files on IFACE with pnet, keeping
/// the captures' pauses between frames up to 20 ms. Without it, it does nothing.
#[test]
fn replayer() {
    let Ok(spec) = std::env::var(REPLAY_ENV) else {
        return;
    };
    let mut parts = spec.split('|');
    let iface = parts.next().unwrap().to_string();
    let upto: Option<u64> = parts.next().unwrap().parse().ok();
    let files: Vec<PathBuf> = parts.map(PathBuf::from).collect();
    let ni = pnet::datalink::interfaces()
        .into_iter()
        .find(|i| i.name == iface)
        .expect("replay interface");
    let pnet::datalink::Channel::Ethernet(mut tx, _) =
        pnet::datalink::channel(&ni, pnet::datalink::Config::default()).unwrap()
    else {
        panic!("not an ethernet channel")
    };
    use smc_dissect::source::{PcapSource, Source};
    let mut sent = 0;
    for f in files {
        let mut src = PcapSource::open(&[f]).unwrap();
        let mut last = None;
        while let Some(frame) = src.next_frame().unwrap() {
            if upto.is_some_and(|n| frame.number > n) {
                break;
            }
            if let Some(prev) = last {
                let gap = frame.ts.nanos_since(prev).clamp(0, 20_000_000);
                std::thread::sleep(Duration::from_nanos(gap as u64));
            }
            last = Some(frame.ts);
            tx.send_to(frame.data, None).unwrap().unwrap();
            sent += 1;
        }
    }
    println!("replayed {sent} frames");
}

/// The verdicts of the file run of `files` (one smcdump run over all, in order).
fn file_verdicts(files: &[PathBuf], extra: &[&str]) -> Vec<Value> {
    let mut cmd = Command::new(SMCDUMP);
    cmd.args(["--json", "--no-progress"]).args(extra);
    for f in files {
        cmd.arg("-r").arg(f);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.code().is_some_and(|c| c == 0 || c == 3));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A verdict without what depends on where it was read: frame numbers, times, connection ids.
fn comparable(events: &[Value]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for ev in events.iter().filter(|e| e["type"] == "verdict") {
        let mut d = ev["data"].clone();
        let obj = d.as_object_mut().unwrap();
        for k in ["input", "frame", "time", "frames", "anomalies"] {
            obj.remove(k);
        }
        if let Some(c) = obj.get_mut("conn").and_then(Value::as_object_mut) {
            c.remove("id");
        }
        if let Some(Value::String(s)) = obj.get_mut("summary") {
            *s = without_frame_numbers(s);
        }
        *out.entry(d.to_string()).or_default() += 1;
    }
    out
}

/// "… in frame 59: …" → "… in frame #: …" (live frame numbers count captured packets only).
fn without_frame_numbers(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("frame ") {
        out.push_str(&rest[..i + 6]);
        rest = &rest[i + 6..];
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 {
            out.push('#');
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}

fn stats(events: &[Value]) -> &Value {
    &events.last().expect("no output")["data"]
}

fn assert_same(live: &BTreeMap<String, usize>, file: &BTreeMap<String, usize>) {
    if live != file {
        let only_live: Vec<_> = live
            .iter()
            .filter(|(k, v)| file.get(*k) != Some(v))
            .collect();
        let only_file: Vec<_> = file
            .iter()
            .filter(|(k, v)| live.get(*k) != Some(v))
            .collect();
        panic!(
            "live and file verdicts differ\nlive only: {only_live:#?}\nfile only: {only_file:#?}"
        );
    }
}

#[test]
fn filtered_capture_gives_the_file_verdicts_of_every_lab_capture() {
    let Some(ns) = Netns::new("lab") else { return };
    let files = lab_captures();
    let cap = start(&ns.rx, &["-i", "vb"]);
    replay(&ns.tx, &files, "va", None);
    std::thread::sleep(Duration::from_millis(500));
    let live = cap.stop();
    let file = file_verdicts(&files, &[]);
    let (l, f) = (comparable(&live), comparable(&file));
    assert!(f.values().sum::<usize>() > 500, "{}", f.len());
    assert_same(&l, &f);
    // the filter kept a small part of the frames; the kernel dropped none
    let (ls, fs) = (stats(&live), stats(&file));
    assert_eq!(ls["kernel_dropped"], 0, "{ls}");
    let n = |v: &Value, k: &str| v[k].as_u64().unwrap();
    // handshake-heavy captures: pure ACKs and data go, every option and CLC message stays
    assert!(
        n(ls, "tcp_segments") < n(fs, "tcp_segments") * 3 / 4,
        "{ls}\n{fs}"
    );
    assert_eq!(n(ls, "smc_options"), n(fs, "smc_options"));
    assert_eq!(n(ls, "clc_messages"), n(fs, "clc_messages"));
    assert_eq!(n(ls, "roce_frames"), n(fs, "roce_frames"));
    assert_eq!(ls["kernel_received"], ls["frames"]);
    assert_eq!(ls["llc_messages"], fs["llc_messages"]);
    assert_eq!(ls["cdc_messages"], fs["cdc_messages"]);
    assert!(fs.get("kernel_received").is_none());
}

#[test]
fn any_interface_cooked_capture_gives_the_file_verdicts() {
    let Some(ns) = Netns::new("any") else { return };
    let lab = captures().join("lab");
    let files = vec![
        lab.join("smclo-6.12.117/lo-smcd-ipv6.pcap"),
        lab.join("deb-6.12.117+deb12-amd64/deb-smcr.pcap"),
        lab.join("deb-6.12.117+deb12-amd64/deb-pnet-srv-norxe.pcap"),
    ];
    let cap = start(&ns.rx, &["-i", "any"]);
    replay(&ns.tx, &files, "va", None);
    std::thread::sleep(Duration::from_millis(500));
    let live = cap.stop();
    let file = file_verdicts(&files, &[]);
    assert_same(&comparable(&live), &comparable(&file));
    // RoCEv2 is UDP: it comes through the cooked capture too
    assert_eq!(stats(&live)["cdc_messages"], stats(&file)["cdc_messages"]);
}

#[test]
fn unfiltered_capture_sees_split_clc_and_everything_else() {
    let Some(ns) = Netns::new("nofilter") else {
        return;
    };
    let shared = captures().join("shared");
    // CLC messages split over TCP segments: the filter would keep only their first parts
    let files = vec![
        shared.join("smcr-v1-lo-clc-hwipl-split.pcap"),
        shared.join("smcr-v1-lo-clc-hwipl-edgecases.pcap"),
        shared.join("smc-go-testvectors.pcap"),
    ];
    let cap = start(&ns.rx, &["-i", "vb", "--no-filter"]);
    replay(&ns.tx, &files, "va", None);
    std::thread::sleep(Duration::from_millis(500));
    let live = cap.stop();
    let file = file_verdicts(&files, &[]);
    assert_same(&comparable(&live), &comparable(&file));
    assert_eq!(stats(&live)["frames"], stats(&file)["frames"]);
}

#[test]
fn loopback_packets_are_seen_once() {
    let Some(ns) = Netns::new("lo") else { return };
    // frames to addresses the namespace does not have: its stack drops them, nothing answers
    let f = captures().join("lab/deb-6.12.117+deb12-amd64/deb-pnet-srv-norxe.pcap");
    let cap = start(&ns.rx, &["-i", "lo", "--no-filter"]);
    replay(&ns.rx, std::slice::from_ref(&f), "lo", None);
    std::thread::sleep(Duration::from_millis(300));
    let live = cap.stop();
    let file = file_verdicts(std::slice::from_ref(&f), &[]);
    assert_eq!(stats(&live)["frames"], stats(&file)["frames"]);
    assert_same(&comparable(&live), &comparable(&file));
}

#[test]
fn a_quiet_smc_connection_gets_its_verdict_without_ctrl_c() {
    let Some(ns) = Netns::new("quiet") else {
        return;
    };
    // lo-smcd.pcap up to the first connection's Confirm (frame 8): SMC-D, then silence
    let f = captures().join("lab/smclo-6.12.117/lo-smcd.pcap");
    let cap = start(&ns.rx, &["-i", "vb"]);
    let t0 = Instant::now();
    replay(&ns.tx, std::slice::from_ref(&f), "va", Some(8));
    let v = cap
        .wait_verdict(Duration::from_secs(20))
        .expect("no verdict while capturing");
    let waited = t0.elapsed();
    assert_eq!(v["data"]["verdict"], "smc", "{v}");
    assert_eq!(v["data"]["kind"], "SMC-D");
    // SETTLE_SECS (10 s) after the Confirm, give or take a tick
    assert!(waited >= Duration::from_secs(10), "{waited:?}");
    let rest = cap.stop();
    assert_eq!(stats(&rest)["connections"], 1);
}

#[test]
fn without_cap_net_raw_one_clear_line() {
    // drop to nobody with no capabilities (util-linux setpriv); as root only
    let out = match Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .args([SMCDUMP, "-i", "lo"])
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            eprintln!("SKIPPED: setpriv not available: {e}");
            return;
        }
    };
    let err = String::from_utf8_lossy(&out.stderr);
    if err.starts_with("setpriv:") {
        eprintln!("SKIPPED: setpriv cannot run smcdump here (not root, or the binary is not readable by nobody): {err}");
        return;
    }
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(
        err,
        "smcdump: capturing on lo needs CAP_NET_RAW (run as root or setcap cap_net_raw+ep)\n"
    );
}
