//! The real-kernel lab tier (issue 6). Each scenario boots real kernels under QEMU and
//! asserts on what the kernel itself reported through `smc_diag`, plus a few facts
//! read straight from the pcap (which CLC message came first, the SMC TCP option).
//!
//! These tests are `#[ignore]`d in a plain `cargo test` (they need root for apt-get on
//! first use, QEMU, ~4 minutes for the first kernel build). Run them with
//!
//!     cargo test -p smc-fuzz --test lab -- --ignored --test-threads=1
//!
//! A machine without QEMU fails with a message saying so; nothing is skipped silently.
//! Outputs land in `<cache>/runs/<kernel>/<scenario>/` (see smc-fuzz/lab/README.md).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use smc_fuzz::lab::diag::{ConnDiag, Mode, Role, ScenarioDiag};
use smc_fuzz::lab::kernel::KernelKind;
use smc_fuzz::lab::run::{self, Prepared};
use smc_fuzz::lab::scenario;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// `SMC_CLC_DECL_*` codes used below (net/smc/smc_clc.h; reference §5.2).
const NOSMCDEV: &str = "0x03030000";
const NOSMCRDEV: &str = "0x03030002";
const NOUEID: &str = "0x03030008";
const PEERNOSMC: &str = "0x03010000";
const PEERDECL: &str = "0x05000000";
/// CLC message types (reference §2.1).
const CLC_PROPOSAL: u8 = 1;
const CLC_ACCEPT: u8 = 2;
const CLC_CONFIRM: u8 = 3;
const CLC_DECLINE: u8 = 4;

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

struct Ran {
    diag: ScenarioDiag,
    pcap: PathBuf,
}

/// Runs a scenario (one VM run at a time: TCG on 2 cores).
fn run(name: &str) -> Ran {
    static SERIAL: Mutex<()> = Mutex::new(());
    let p = lab();
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let sc = scenario::find(name).expect("scenario exists");
    let out = std::env::var_os("SMC_LAB_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(run::default_out_root);
    let o = run::run_scenario(p, &sc, &out).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{name}: {:.1}s, {}", o.secs, run::summary(&o.diag));
    Ran {
        diag: o.diag,
        pcap: o.pcap,
    }
}

fn side(d: &ScenarioDiag, role: Role) -> Vec<&ConnDiag> {
    d.connections.iter().filter(|c| c.role == role).collect()
}

fn only(d: &ScenarioDiag, role: Role) -> &ConnDiag {
    let v = side(d, role);
    assert_eq!(
        v.len(),
        1,
        "expected one {role:?} socket: {:#?}",
        d.connections
    );
    v[0]
}

/// Declined by `decliner` with `code`: the decliner's fallback reason is the code, the
/// other side shows PEERDECL with peer_diagnosis = code (reference §5.2, §15).
fn assert_declined(d: &ScenarioDiag, decliner: Role, code: &str) {
    let other = if decliner == Role::Client {
        Role::Server
    } else {
        Role::Client
    };
    for c in side(d, decliner) {
        assert_eq!(c.mode, Mode::Fallback, "{c:#?}");
        assert_eq!(c.fallback_reason, code, "{c:#?}");
    }
    for c in side(d, other) {
        assert_eq!(c.mode, Mode::Fallback, "{c:#?}");
        assert_eq!(c.fallback_reason, PEERDECL, "{c:#?}");
        assert_eq!(c.peer_diagnosis, code, "{c:#?}");
    }
    assert!(!side(d, decliner).is_empty() && !side(d, other).is_empty());
}

// ---- a minimal pcap walk: enough to name the CLC messages of each TCP stream ----

/// (src port, dst port, CLC type) of every TCP segment that starts with a CLC
/// eyecatcher ("SMCR"/"SMCD" in EBCDIC, reference §2.1), in capture order; and
/// whether any SYN-ACK carried the SMC option (kind 254, magic E2D4C3D9, §1).
struct Wire {
    clc: Vec<(u16, u16, u8)>,
    synack_with_option: usize,
    synack_without_option: usize,
    roce_frames: usize,
    /// First byte (LLC type, 0xFE = CDC) of every RoCEv2 RC SEND Only payload (§8.4).
    roce_sends: Vec<u8>,
}

fn read_wire(path: &Path) -> Wire {
    let b = std::fs::read(path).unwrap();
    assert_eq!(
        &b[0..4],
        &0xa1b2c3d4u32.to_le_bytes(),
        "little-endian usec pcap"
    );
    let mut w = Wire {
        clc: vec![],
        synack_with_option: 0,
        synack_without_option: 0,
        roce_frames: 0,
        roce_sends: vec![],
    };
    let mut at = 24;
    while at + 16 <= b.len() {
        let incl = u32::from_le_bytes(b[at + 8..at + 12].try_into().unwrap()) as usize;
        let f = &b[at + 16..(at + 16 + incl).min(b.len())];
        at += 16 + incl;
        if f.len() < 14 {
            continue;
        }
        let ethertype = u16::from_be_bytes([f[12], f[13]]);
        let (proto, l4) = match ethertype {
            0x0800 if f.len() >= 34 => {
                let ihl = usize::from(f[14] & 0x0f) * 4;
                (f[23], &f[(14 + ihl).min(f.len())..])
            }
            0x86dd if f.len() >= 54 => (f[20], &f[54..]),
            _ => continue,
        };
        if proto == 17 && l4.len() >= 4 && u16::from_be_bytes([l4[2], l4[3]]) == 4791 {
            w.roce_frames += 1;
            // UDP 8 + BTH 12; opcode 0x04 = RC SEND Only
            if l4.len() > 20 && l4[8] == 0x04 {
                w.roce_sends.push(l4[20]);
            }
        }
        if proto != 6 || l4.len() < 20 {
            continue;
        }
        let (sp, dp) = (
            u16::from_be_bytes([l4[0], l4[1]]),
            u16::from_be_bytes([l4[2], l4[3]]),
        );
        let doff = usize::from(l4[12] >> 4) * 4;
        let flags = l4[13];
        if flags & 0x12 == 0x12 {
            let opts = &l4[20..doff.min(l4.len())];
            let has = opts
                .windows(6)
                .any(|o| o == [0xfe, 0x06, 0xe2, 0xd4, 0xc3, 0xd9]);
            if has {
                w.synack_with_option += 1;
            } else {
                w.synack_without_option += 1;
            }
        }
        let pl = &l4[doff.min(l4.len())..];
        if pl.len() >= 5
            && (pl[0..4] == [0xe2, 0xd4, 0xc3, 0xd9] || pl[0..4] == [0xe2, 0xd4, 0xc3, 0xc4])
        {
            w.clc.push((sp, dp, pl[4]));
        }
    }
    w
}

fn clc_types(w: &Wire) -> Vec<u8> {
    w.clc.iter().map(|c| c.2).collect()
}

// ---------------------------------- Debian kernel ----------------------------------

#[test]
#[ignore = "kernel lab: cargo test -p smc-fuzz --test lab -- --ignored --test-threads=1"]
fn deb_nodev_client_declines_before_any_proposal() {
    let r = run("deb-nodev");
    assert_declined(&r.diag, Role::Client, NOSMCDEV);
    assert_eq!(r.diag.kernel_kind, "debian");
    let w = read_wire(&r.pcap);
    // the Decline is the first and only CLC message (reference §6.2)
    assert_eq!(clc_types(&w), vec![CLC_DECLINE]);
    assert_eq!(w.synack_with_option, 1, "server echoed the SMC option");
}

#[test]
#[ignore = "kernel lab"]
fn deb_smcr_two_vms_soft_roce() {
    let r = run("deb-smcr");
    let (srv, cli) = (side(&r.diag, Role::Server), side(&r.diag, Role::Client));
    assert_eq!(srv.len(), 3, "{:#?}", r.diag.connections);
    assert_eq!(cli.len(), 3);
    for c in srv.iter().chain(cli.iter()) {
        assert_eq!(c.mode, Mode::SmcR, "{c:#?}");
        assert_eq!(c.fallback_reason, "0x00000000");
        let s = c.smcr.as_ref().expect("SMC-R link info");
        assert_eq!(s.ibdev, "rxe0");
        assert_eq!(
            s.lgr_role, c.role,
            "lgr role follows the first connection's role"
        );
    }
    // one link group: every client connection uses the same link and GIDs
    let first = cli[0].smcr.clone().unwrap();
    for c in &cli {
        let s = c.smcr.as_ref().unwrap();
        assert_eq!(
            (s.link_id, &s.gid, &s.peer_gid),
            (first.link_id, &first.gid, &first.peer_gid)
        );
    }
    let w = read_wire(&r.pcap);
    // three Proposal/Accept/Confirm exchanges, no Decline
    let t = clc_types(&w);
    assert_eq!(t.iter().filter(|x| **x == CLC_PROPOSAL).count(), 3, "{t:?}");
    assert_eq!(t.iter().filter(|x| **x == CLC_CONFIRM).count(), 3, "{t:?}");
    assert!(!t.contains(&CLC_DECLINE), "{t:?}");
    assert!(w.roce_frames > 10, "RoCEv2 LLC/CDC/RDMA frames on the wire");
    // the reused link group registers the new RMBs with CONFIRM RKEY
    assert!(
        w.roce_sends.contains(&LLC_V2_CONFIRM_RKEY),
        "{:x?}",
        w.roce_sends
    );
}

#[test]
#[ignore = "kernel lab"]
fn deb_smcr_server_without_roce_declines_nosmcrdev() {
    let r = run("deb-smcr-srv-norxe");
    assert_declined(&r.diag, Role::Server, NOSMCRDEV);
    let w = read_wire(&r.pcap);
    assert_eq!(clc_types(&w), vec![CLC_PROPOSAL, CLC_DECLINE]);
    assert_eq!(w.roce_frames, 0);
}

#[test]
#[ignore = "kernel lab"]
fn deb_pnet_entry_client_proposes_server_declines_nosmcrdev() {
    let r = run("deb-pnet-srv-norxe");
    assert_declined(&r.diag, Role::Server, NOSMCRDEV);
    let w = read_wire(&r.pcap);
    assert_eq!(clc_types(&w), vec![CLC_PROPOSAL, CLC_DECLINE]);
}

#[test]
#[ignore = "kernel lab"]
fn deb_ueid_mismatch_server_declines() {
    let r = run("deb-ueid-mismatch");
    let srv = only(&r.diag, Role::Server);
    assert_eq!(srv.mode, Mode::Fallback);
    assert_declined(&r.diag, Role::Server, &srv.fallback_reason.clone());
    // no SMC-Rv2 device matches without a common UEID: NOSMCDEV from
    // smc_listen_find_device (net/smc/af_smc.c) after smc_clc_match_eid fails
    assert_eq!(srv.fallback_reason, NOSMCDEV, "{srv:#?}");
    let w = read_wire(&r.pcap);
    assert_eq!(clc_types(&w), vec![CLC_PROPOSAL, CLC_DECLINE]);
}

#[test]
#[ignore = "kernel lab"]
fn deb_smcr_cdc_cursor_wraps() {
    let r = run("deb-smcr-cdc-wrap");
    for c in &r.diag.connections {
        assert_eq!(c.mode, Mode::SmcR, "{c:#?}");
        let ci = c.conn.as_ref().expect("conninfo");
        // 1 MiB through a ring of rmbe_size bytes: the producer cursor wrapped
        let wraps = u64::from(ci.tx_prod.wrap);
        assert!(
            wraps >= (1u64 << 20) / u64::from(ci.peer_rmbe_size.max(1)) - 1,
            "{ci:#?}"
        );
    }
}

/// LLC v2 types: v1 type + 0x20 (reference §8.2).
const LLC_V2_CONFIRM_LINK: u8 = 0x21;
const LLC_V2_TEST_LINK: u8 = 0x27;
const LLC_V2_CONFIRM_RKEY: u8 = 0x26;

#[test]
#[ignore = "kernel lab"]
fn deb_smcr_idle_link_sends_test_link() {
    let r = run("deb-smcr-testlink");
    assert_eq!(r.diag.connections.len(), 2);
    for c in &r.diag.connections {
        assert_eq!(c.mode, Mode::SmcR, "{c:#?}");
    }
    let w = read_wire(&r.pcap);
    assert!(w.roce_sends.contains(&LLC_V2_CONFIRM_LINK));
    assert!(
        w.roce_sends.contains(&LLC_V2_TEST_LINK),
        "no TEST LINK: {:x?}",
        w.roce_sends
    );
}

// ------------------------------- our SMC_LO kernel -------------------------------

#[test]
#[ignore = "kernel lab"]
fn lo_without_ueid_declines_noueid() {
    let r = run("lo-noueid");
    assert_declined(&r.diag, Role::Server, NOUEID);
    let w = read_wire(&r.pcap);
    assert_eq!(clc_types(&w), vec![CLC_PROPOSAL, CLC_DECLINE]);
}

fn assert_smcd_loopback(c: &ConnDiag) {
    assert_eq!(c.mode, Mode::SmcD, "{c:#?}");
    let d = c.smcd.as_ref().expect("DMB info");
    // loopback-ism talks only to itself: peer GID = own GID, 128-bit (gid_ext set)
    assert_eq!(d.local_gid, d.peer_gid);
    assert_eq!(d.local_gid_ext, d.peer_gid_ext);
    assert_ne!(
        d.local_gid_ext, "0x0000000000000000",
        "Emulated-ISM has a gid_ext (§3.6)"
    );
}

#[test]
#[ignore = "kernel lab"]
fn lo_smcd_established_with_ueid() {
    let r = run("lo-smcd");
    assert_eq!(r.diag.connections.len(), 6);
    for c in &r.diag.connections {
        assert_smcd_loopback(c);
    }
    // the client's token is the server's peer_token and vice versa
    for c in side(&r.diag, Role::Client) {
        let d = c.smcd.as_ref().unwrap();
        let s = side(&r.diag, Role::Server)
            .into_iter()
            .find(|s| s.local_port == c.peer_port && s.peer_port == c.local_port)
            .expect("server side of the connection");
        let sd = s.smcd.as_ref().unwrap();
        assert_eq!(d.token, sd.peer_token);
        assert_eq!(d.peer_token, sd.token);
    }
    let w = read_wire(&r.pcap);
    let t = clc_types(&w);
    assert_eq!(t, [CLC_PROPOSAL, CLC_ACCEPT, CLC_CONFIRM].repeat(3));
}

#[test]
#[ignore = "kernel lab"]
fn lo_smcd_over_ipv6() {
    let r = run("lo-smcd-ipv6");
    assert_eq!(r.diag.connections.len(), 4);
    for c in &r.diag.connections {
        assert_smcd_loopback(c);
        assert_eq!(c.local_addr.to_string(), "::1");
    }
}

#[test]
#[ignore = "kernel lab"]
fn lo_smcd_520_connections_one_link_group() {
    let r = run("lo-smcd-500");
    assert_eq!(r.diag.connections.len(), 1040);
    let ids: std::collections::BTreeSet<_> = r
        .diag
        .connections
        .iter()
        .map(|c| {
            assert_smcd_loopback(c);
            c.smcd.as_ref().unwrap().linkid.clone()
        })
        .collect();
    // client and server each have one link group for all 520 connections
    assert!(ids.len() <= 2, "{ids:?}");
    let w = read_wire(&r.pcap);
    assert_eq!(w.clc.iter().filter(|c| c.2 == CLC_CONFIRM).count(), 520);
}

#[test]
#[ignore = "kernel lab"]
fn lo_limit_hs_server_stops_echoing_the_option() {
    let r = run("lo-limit-hs");
    let cli = side(&r.diag, Role::Client);
    assert_eq!(cli.len() as u32 + r.diag.failed_connects, 700);
    let no_echo = cli
        .iter()
        .filter(|c| c.fallback_reason == PEERNOSMC)
        .count();
    let smcd = cli.iter().filter(|c| c.mode == Mode::SmcD).count();
    eprintln!(
        "limit_smc_hs: {smcd} SMC-D, {no_echo} PEERNOSMC of {}",
        cli.len()
    );
    // the first half connects while smc_hs_wq is idle, the second while it is held
    // congested (workload::pair_limit_hs): exactly half each
    assert_eq!(
        no_echo, 350,
        "handshake limit not hit for exactly the second half"
    );
    assert_eq!(smcd, 350, "the first half gets SMC-D");
    // both ends of a non-echoed connection fall back with PEERNOSMC (smc_connect_work /
    // smc_listen_work see syn_smc == 0), and no CLC is sent for them (reference §1)
    let srv_no_echo = side(&r.diag, Role::Server)
        .iter()
        .filter(|c| c.fallback_reason == PEERNOSMC)
        .count();
    assert_eq!(srv_no_echo, no_echo);
    let w = read_wire(&r.pcap);
    assert_eq!(w.synack_without_option, no_echo);
    assert_eq!(w.clc.iter().filter(|c| c.2 == CLC_PROPOSAL).count(), smcd);
}

#[test]
#[ignore = "kernel lab"]
fn lo_two_vms_offer_smcd_and_smcr_get_smcr() {
    let r = run("lo-2vm-dr");
    assert_eq!(r.diag.connections.len(), 4);
    for c in &r.diag.connections {
        assert_eq!(c.mode, Mode::SmcR, "{c:#?}");
    }
}

// ------------------------ committed captures (no VM needed) ------------------------

/// Every committed lab capture has its diag JSON (current schema) and a README row.
#[test]
fn committed_lab_captures_are_consistent() {
    let root = smc_fuzz::lab::workspace_root().join("captures");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap_or_default();
    let lab = root.join("lab");
    let Ok(kernels) = std::fs::read_dir(&lab) else {
        return;
    };
    for k in kernels {
        let k = k.unwrap().path();
        for f in std::fs::read_dir(&k).unwrap() {
            let p = f.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if let Some(stem) = name.strip_suffix(".pcap") {
                let j = k.join(format!("{stem}.diag.json"));
                let d: ScenarioDiag = serde_json::from_str(&std::fs::read_to_string(&j).unwrap())
                    .unwrap_or_else(|e| panic!("{}: {e}", j.display()));
                assert_eq!(d.schema, smc_fuzz::lab::diag::SCHEMA_VERSION);
                assert_eq!(d.scenario, stem);
                assert!(!d.connections.is_empty());
                assert!(
                    readme.contains(&name),
                    "captures/README.md has no row for {name}"
                );
                assert!(
                    std::fs::metadata(&p).unwrap().len() < 2 << 20,
                    "{name} too big"
                );
            }
        }
    }
}
