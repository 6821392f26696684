//! The reference peer against real kernels (issue 7): one VM whose NIC is a QEMU
//! `-netdev socket` the peer connects to, the in-guest agent ([`super::guest::agent`]) listening
//! and connecting on command, and the scenario matrix with what the kernel source says must
//! happen ([`Case::expect`]) next to what did.
//!
//! Addresses: the kernel is 192.168.50.1 (eth0, 52:54:00:00:50:01), the peer 192.168.50.2
//! (52:54:00:00:50:02). The agent listens on [`KERNEL_PORT`]; kernel-client scenarios connect
//! to the peer on [`PEER_PORT`] + index.

use super::kernel::KernelKind;
use super::plan::{AgentCmd, AgentResult, AgentSpec, Plan, Step};
use super::run::Bootable;
use super::vm::{self, Background, VmSpec};
use super::{log, Context, LabError, Result};
use crate::net::wire::QemuStream;
use crate::peer::scenario::{
    AfterAccept, EntrySpec, ProposalSpec, ReplySpec, Role, Scenario, Value64,
};
use crate::peer::{self, record::Recorder, Outcome, Peer, PeerConfig, TcpEnd};
use serde::Serialize;
use std::fs;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The kernel's address.
pub const KERNEL_IP: Ipv4Addr = Ipv4Addr::new(192, 168, 50, 1);
/// The peer's address.
pub const PEER_IP: Ipv4Addr = Ipv4Addr::new(192, 168, 50, 2);
/// The peer's MAC.
pub const PEER_MAC: [u8; 6] = [0x52, 0x54, 0, 0, 0x50, 0x02];
/// The agent's AF_SMC listener.
pub const KERNEL_PORT: u16 = 45000;
/// First port the peer listens on for kernel clients.
pub const PEER_PORT: u16 = 46000;

/// Expected result for one kernel, as the kernel source says it must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Expect {
    /// The kernel's CLC answer (see [`observe`] for the vocabulary).
    pub answer: &'static str,
    /// The kernel socket's smc_diag: `fallback REASON[/PEER_DIAGNOSIS]`, `SMCD`, `SMCR`,
    /// `none` (no socket: never accepted / connect failed) or `-` (VM gone).
    pub diag: &'static str,
}

/// One row of the matrix.
#[derive(Debug, Clone, Serialize)]
pub struct Case {
    /// The scenario the peer runs.
    pub scenario: Scenario,
    /// Expected on Debian's 6.12 (no SMC-D device).
    pub deb: Expect,
    /// Expected on our SMC_LO 6.12 (loopback-ism).
    pub lo: Expect,
    /// The kernel functions that decide it.
    pub why: &'static str,
}

impl Case {
    /// The expectation for a kernel kind.
    pub fn expect(&self, k: KernelKind) -> Expect {
        match k {
            KernelKind::Debian => self.deb,
            KernelKind::SmcLo => self.lo,
        }
    }
}

const UEID: &str = crate::lab::scenario::UEID;

fn kernel_pair() -> EntrySpec {
    EntrySpec::Virtual {
        gid: Value64::named("kernel"),
        gid_ext: Value64::named("kernel-ext"),
        chid: 0xffff,
        swapped: false,
    }
}

fn raw(gid: u64, chid: u16) -> EntrySpec {
    EntrySpec::Raw {
        gid: Value64::hex(gid),
        chid,
    }
}

fn prop(entries: Vec<EntrySpec>) -> ProposalSpec {
    ProposalSpec {
        entries,
        ..ProposalSpec::default()
    }
}

/// SMC-D (kernel pair) + SMC-Rv2 offer with v2.1 limits.
fn both(max_conns: u8, max_links: u8, release: u8) -> ProposalSpec {
    ProposalSpec {
        typev2: "B".into(),
        release,
        max_conns,
        max_links,
        ..prop(vec![kernel_pair()])
    }
}

fn client(name: &str, about: &str, p: ProposalSpec, after: AfterAccept) -> Scenario {
    Scenario {
        name: name.into(),
        about: about.into(),
        role: Role::Client,
        tcp: Default::default(),
        proposal: Some(p),
        after_accept: after,
        reply: None,
        data: 64,
    }
}

fn server(name: &str, about: &str, r: ReplySpec) -> Scenario {
    Scenario {
        name: name.into(),
        about: about.into(),
        role: Role::Server,
        tcp: Default::default(),
        proposal: None,
        after_accept: AfterAccept::default(),
        reply: Some(r),
        data: 64,
    }
}

fn decl() -> AfterAccept {
    AfterAccept::default()
}

const fn e(answer: &'static str, diag: &'static str) -> Expect {
    Expect { answer, diag }
}

fn accept_smcd(version: u8, chid: u16, smc_type: Option<&str>) -> ReplySpec {
    ReplySpec::AcceptSmcd {
        version,
        first_contact: true,
        smc_type: smc_type.map(String::from),
        chid,
        gid: Value64::named("kernel"),
        gid_ext: Value64::named("kernel-ext"),
        token: Value64::hex(0x5eed_0000_dead_beef),
        dmbe_size: 2,
        release: 1,
    }
}

/// The decline codes the peer sends as a server (reference §5.2, every `SMC_CLC_DECL_*`).
pub const DECLINE_CODES: &[&str] = &[
    "MEM",
    "TIMEOUT_CL",
    "TIMEOUT_AL",
    "CNFERR",
    "PEERNOSMC",
    "IPSEC",
    "NOSMCDEV",
    "NOSMCDDEV",
    "NOSMCRDEV",
    "NOISM2SUPP",
    "NOV2EXT",
    "NOV2DEXT",
    "NOSEID",
    "NOSMCD2DEV",
    "NOUEID",
    "RELEASEERR",
    "MAXCONNERR",
    "MAXLINKERR",
    "MODEUNSUPP",
    "RMBE_EC",
    "OPTUNSUPP",
    "DIFFPREFIX",
    "GETVLANERR",
    "ISMVLANERR",
    "NOACTLINK",
    "NOSRVLINK",
    "VERSMISMAT",
    "MAX_DMB",
    "NOROUTE",
    "NOINDIRECT",
    "SYNCERR",
    "PEERDECL",
    "INTERR",
    "ERR_RTOK",
    "ERR_RDYLNK",
    "ERR_REGBUF",
];

/// The matrix, in run order. Cases that can leave state behind (a live SMC-D connection, a
/// crash) come last.
pub fn matrix() -> Vec<Case> {
    let v1_nodev = "Decline NOISM2SUPP"; // Debian: no ISMv2 device (smc_listen_v2_check)
    let d_no = e(v1_nodev, "fallback NOISM2SUPP");
    let mut m = vec![
        Case {
            scenario: server("learn", "kernel client → peer: read its Proposal (learn the loopback-ism GID), Decline NOSMCDEV", ReplySpec::Decline { code: "NOSMCDEV".into(), version: None, out_of_sync: false }),
            deb: e("Proposal N/R → fallback", "fallback PEERDECL/NOSMCDEV"),
            lo: e("Proposal N/B → fallback", "fallback PEERDECL/NOSMCDEV"),
            why: "smc_find_proposal_devices (rxe + UEID ⇒ SMC-Rv2; loopback-ism ⇒ SMC-Dv2); smc_clc_wait_msg: Decline ⇒ PEERDECL",
        },
        Case {
            scenario: client("d-random-gid", "SMC-Dv2 offer: CHID 0xFFFF with a random 128-bit GID", prop(vec![EntrySpec::Virtual { gid: Value64::named("random"), gid_ext: Value64::named("random"), chid: 0xffff, swapped: false }]), decl()),
            deb: d_no,
            lo: e("Decline NOSMCD2DEV", "fallback NOSMCD2DEV"),
            why: "smc_find_ism_v2_device_serv → smc_check_ism_v2_match: smc_lo_query_rgid wants rgid == own GID, else NOSMCD2DEV",
        },
        Case {
            scenario: client("d-kernel-gid", "GID collision: CHID 0xFFFF with the kernel's own loopback-ism GID; peer declines after the Accept", prop(vec![kernel_pair()]), decl()),
            deb: d_no,
            lo: e("Accept D v2 rel1 chid 0xffff", "fallback PEERDECL/NOSMCDDEV"),
            why: "smc_lo_query_rgid: a remote peer claiming the local GID passes 'can talk'; smc_listen_ism_init; Confirm wait gets our Decline ⇒ smc_listen_decline(PEERDECL)",
        },
        Case {
            scenario: client("d-kernel-gid-swapped", "the kernel's GID halves swapped (gid_ext first)", prop(vec![EntrySpec::Virtual { gid: Value64::named("kernel"), gid_ext: Value64::named("kernel-ext"), chid: 0xffff, swapped: true }]), decl()),
            deb: d_no,
            lo: e("Decline NOSMCD2DEV", "fallback NOSMCD2DEV"),
            why: "smc_find_ism_v2_device_serv pairs entry i (gid) with i+1 (gid_ext): the swapped pair is another GID",
        },
        Case {
            scenario: client("d-kernel-gid-split", "the kernel's GID halves split by a native entry", prop(vec![EntrySpec::Raw { gid: Value64::named("kernel"), chid: 0xffff }, raw(0x1111, 0x1234), EntrySpec::Raw { gid: Value64::named("kernel-ext"), chid: 0xffff }]), decl()),
            deb: d_no,
            lo: e("Decline NOSMCD2DEV", "fallback NOSMCD2DEV"),
            why: "smc_find_ism_v2_device_serv skips an Emulated-ISM entry whose next entry has another CHID (or none)",
        },
        Case {
            scenario: client("d-8-entries", "8 entries: six native GID/CHIDs, then the kernel's pair", prop({ let mut v: Vec<EntrySpec> = (1..=6u16).map(|i| raw(0x1000 + u64::from(i), 0x0100 + i)).collect(); v.push(kernel_pair()); v }), decl()),
            deb: d_no,
            lo: e("Accept D v2 rel1 chid 0xffff", "fallback PEERDECL/NOSMCDDEV"),
            why: "smc_clc_msg_prop_valid: ism_gid_cnt ≤ SMCD_CLC_MAX_V2_GID_ENTRIES (8); the last pair still matches",
        },
        Case {
            scenario: client("d-9-entries", "ism_gid_cnt 9 (one more than the kernel's cap), length to match", ProposalSpec { ism_gid_cnt: Some(9), ..prop({ let mut v: Vec<EntrySpec> = (1..=6u16).map(|i| raw(0x1000 + u64::from(i), 0x0100 + i)).collect(); v.push(kernel_pair()); v }) }, decl()),
            deb: e("no CLC, connection closed", "none"),
            lo: e("no CLC, connection closed", "none"),
            why: "smc_clc_msg_prop_valid: ism_gid_cnt > 8 ⇒ smc_clc_wait_msg -EPROTO ⇒ smc_listen_decline(<0) ⇒ smc_listen_out_err",
        },
        Case {
            scenario: client("d-native-v1-plus-kernel", "native ISM GID/CHID 0x1234 in the v1 area (typev1 D) plus the kernel's pair", ProposalSpec { typev1: "D".into(), native: Some((Value64::hex(0xaaaa_bbbb_cccc_dddd), 0x1234)), ..prop(vec![kernel_pair()]) }, decl()),
            deb: e("Decline NOSMCDDEV", "fallback NOSMCDDEV"),
            lo: e("Accept D v2 rel1 chid 0xffff", "fallback PEERDECL/NOSMCDDEV"),
            why: "smc_find_ism_v2_device_serv tries the native CHID first, then the list; Debian: v1 survives smc_listen_v2_check, smc_find_ism_device ⇒ NOSMCDDEV",
        },
        Case {
            scenario: client("d-ueid-mismatch", "the kernel's pair with a UEID the kernel does not have", ProposalSpec { ueids: vec!["SMC-PEER-OTHER".into()], ..prop(vec![kernel_pair()]) }, decl()),
            deb: d_no,
            lo: e("Decline NOSMCDDEV", "fallback NOSMCDDEV"),
            why: "smc_clc_match_eid fails ⇒ not_found without a code ⇒ smc_listen_find_device returns NOSMCDDEV",
        },
        Case {
            scenario: client("d-seid-no-seid", "SEID flag set, no SEID and no UEID", ProposalSpec { ueids: vec![], seid: true, ..prop(vec![kernel_pair()]) }, decl()),
            deb: d_no,
            lo: e("Decline NOSMCDDEV", "fallback NOSMCDDEV"),
            why: "smc_listen_v2_check lets the SEID flag stand in for a UEID; smc_clc_match_eid: SEID disabled off s390 ⇒ no EID ⇒ NOSMCDDEV",
        },
        Case {
            scenario: client("d-no-ueid", "no UEID, SEID flag clear", ProposalSpec { ueids: vec![], ..prop(vec![kernel_pair()]) }, decl()),
            deb: d_no,
            lo: e("Decline NOUEID", "fallback NOUEID"),
            why: "smc_listen_v2_check: eid_cnt 0 and no SEID flag ⇒ NOUEID",
        },
    ];
    for (mc, ml, lo, deb, why) in [
        (0u8, 2u8, e("Decline MAXCONNERR", "fallback MAXCONNERR"), e("Decline MAXCONNERR", "fallback MAXCONNERR"), "smc_clc_srv_v2x_features_validate: min(max_conns, sysctl) < 16 ⇒ MAXCONNERR, before any device search (even SMC-D)"),
        (1, 2, e("Decline MAXCONNERR", "fallback MAXCONNERR"), e("Decline MAXCONNERR", "fallback MAXCONNERR"), "smc_clc_srv_v2x_features_validate: 1 < SMC_CONN_PER_LGR_MIN"),
        (255, 2, e("Accept D v2 rel1 chid 0xffff", "fallback PEERDECL/NOSMCDDEV"), e("Accept R v2 rel1 255/2", "fallback PEERDECL/NOSMCDDEV"), "max_conns = min(255, sysctl 255); SMC-Dv2 is tried first (smc_listen_find_device)"),
        (255, 0, e("Decline MAXLINKERR", "fallback MAXLINKERR"), e("Decline MAXLINKERR", "fallback MAXLINKERR"), "smc_clc_srv_v2x_features_validate: min(max_links, sysctl) < 1 ⇒ MAXLINKERR"),
        (255, 1, e("Accept D v2 rel1 chid 0xffff", "fallback PEERDECL/NOSMCDDEV"), e("Accept R v2 rel1 255/1", "fallback PEERDECL/NOSMCDDEV"), "max_links = min(1, sysctl 2) = 1"),
        (255, 255, e("Accept D v2 rel1 chid 0xffff", "fallback PEERDECL/NOSMCDDEV"), e("Accept R v2 rel1 255/2", "fallback PEERDECL/NOSMCDDEV"), "max_links = min(255, sysctl 2) = 2"),
    ] {
        m.push(Case {
            scenario: client(&format!("b-limits-{mc}-{ml}"), &format!("SMC-D (kernel pair) + SMC-Rv2 offer, max_conns {mc}, max_links {ml}"), both(mc, ml, 1), decl()),
            deb,
            lo,
            why,
        });
    }
    for (rel, lo, deb) in [
        (
            0u8,
            e(
                "Accept D v2 rel0 chid 0xffff",
                "fallback PEERDECL/NOSMCDDEV",
            ),
            e("Accept R v2 rel0 0/0", "fallback PEERDECL/NOSMCDDEV"),
        ),
        (
            1,
            e(
                "Accept D v2 rel1 chid 0xffff",
                "fallback PEERDECL/NOSMCDDEV",
            ),
            e("Accept R v2 rel1 255/2", "fallback PEERDECL/NOSMCDDEV"),
        ),
        (
            15,
            e(
                "Accept D v2 rel1 chid 0xffff",
                "fallback PEERDECL/NOSMCDDEV",
            ),
            e("Accept R v2 rel1 255/2", "fallback PEERDECL/NOSMCDDEV"),
        ),
    ] {
        m.push(Case {
            scenario: client(&format!("b-release-{rel}"), &format!("SMC-D + SMC-Rv2 offer, release {rel}"), both(255, 2, rel), decl()),
            deb,
            lo,
            why: "smc_listen_v2_check: release_nr = min(release, SMC_RELEASE 1); release 0 skips the v2.1 checks; SMC-D FCE is 36 bytes for release 0",
        });
    }
    m.push(Case {
        scenario: client("b-stall-after-accept", "Accept, then the peer sends nothing (Confirm-phase stall)", both(255, 2, 1), AfterAccept::Stall { ms: 9000 }),
        deb: e("Accept R v2 rel1 255/2 → closed", "none"),
        lo: e("Accept D v2 rel1 chid 0xffff → closed", "none"),
        why: "smc_listen_work: Confirm wait CLC_WAIT_TIME (6 s) ⇒ -EAGAIN ⇒ smc_listen_decline(<0) ⇒ smc_listen_out_err (no Decline, never accepted)",
    });
    // kernel client → peer server
    for code in DECLINE_CODES {
        m.push(Case {
            scenario: server(&format!("srv-decline-{}", code.to_ascii_lowercase().replace('_', "-")), &format!("peer server declines the kernel's Proposal with {code}"), ReplySpec::Decline { code: (*code).into(), version: None, out_of_sync: false }),
            deb: e("Proposal N/R → fallback", peer_decl(code)),
            lo: e("Proposal N/B → fallback", peer_decl(code)),
            why: "smc_clc_wait_msg: any valid Decline ⇒ PEERDECL, peer_diagnosis = its code; SYNCERR's out-of-sync bit ignored without a link group (fix 'avoid early lgr access', in 6.12.117)",
        });
    }
    m.extend([
        Case {
            scenario: server("srv-accept-smcd-kernel-gid", "Accept SMC-Dv2 on CHID 0xFFFF with the kernel's own GID and an invented DMB token", accept_smcd(2, 0xffff, None)),
            deb: e("Proposal N/R → Decline MODEUNSUPP", "fallback MODEUNSUPP"),
            lo: e("Proposal N/B → Decline MEM", "fallback MEM"),
            why: "smc_connect_check_aclc (Debian: SMC-D not offered); SMC_LO: smc_connect_ism → smcd_buf_attach: smc_lo_attach_dmb finds no such token ⇒ -EINVAL ⇒ MEM ('try to fallback')",
        },
        Case {
            scenario: server("srv-accept-smcd-chid0", "Accept SMC-Dv2 with CHID 0 (the unused v1 slot)", accept_smcd(2, 0, None)),
            deb: e("Proposal N/R → Decline MODEUNSUPP", "fallback MODEUNSUPP"),
            lo: e("Proposal N/B → connect EPROTO", "none"),
            why: "smc_v2_determine_accepted_chid requires ism_dev[i] (fix 'reject CHID-0 ACCEPT that matches an empty ism_dev slot', Debian 6.12.94+) ⇒ -EPROTO, no Decline",
        },
        Case {
            scenario: server("srv-accept-v1-smcd", "Accept SMC-D version 1 (v1 not offered)", accept_smcd(1, 0xffff, None)),
            deb: e("Proposal N/R → Decline MODEUNSUPP", "fallback MODEUNSUPP"),
            lo: e("Proposal N/B → Decline MODEUNSUPP", "fallback MODEUNSUPP"),
            why: "smc_connect_check_aclc: a v1 Accept's type must be in the Proposal's typev1 (N here)",
        },
        Case {
            scenario: server("srv-accept-type-n", "Accept with type bits N (neither R nor D)", accept_smcd(2, 0xffff, Some("N"))),
            deb: e("Proposal N/R → connect EPROTO", "none"),
            lo: e("Proposal N/B → connect EPROTO", "none"),
            why: "smc_clc_msg_acc_conf_valid: typev1 ∉ {R, D} ⇒ smc_clc_wait_msg -EPROTO",
        },
        Case {
            scenario: server("srv-accept-smcr-stall", "Accept SMC-Rv2 (first contact, v2_direct); the peer has no RoCE, so no LLC follows", ReplySpec::AcceptSmcr { version: 2, first_contact: true, smc_type: None, release: 1, max_conns: 255, max_links: 2 }),
            deb: e("Proposal N/R → Confirm → Decline TIMEOUT_CL", "fallback TIMEOUT_CL"),
            lo: e("Proposal N/B → Confirm → Decline TIMEOUT_CL", "fallback TIMEOUT_CL"),
            why: "smc_connect_rdma → smc_clc_send_confirm, smcr_clnt_conf_first_link: no CONFIRM LINK in 2×SMC_LLC_WAIT_TIME ⇒ Decline TIMEOUT_CL",
        },
        Case {
            scenario: server("srv-stall", "no answer to the Proposal", ReplySpec::Stall { ms: 9000 }),
            deb: e("Proposal N/R → connect ETIMEDOUT", "none"),
            lo: e("Proposal N/B → connect ETIMEDOUT", "none"),
            why: "__smc_connect: Accept wait CLC_WAIT_TIME (6 s) ⇒ -EAGAIN ⇒ -ETIMEDOUT, connect fails",
        },
        Case {
            scenario: client("d-kernel-gid-confirm-bogus-token", "collision, then a Confirm with an invented DMB token", prop(vec![kernel_pair()]), AfterAccept::Confirm { token: Value64::hex(0x5eed_0000_0bad_cafe) }),
            deb: d_no,
            lo: e("Accept D v2 rel1 chid 0xffff → closed", "none"),
            why: "smc_listen_work: smcd_buf_attach → smc_lo_attach_dmb -EINVAL ⇒ smc_listen_decline(<0) ⇒ out_err",
        },
        Case {
            scenario: client("d-kernel-gid-confirm-own-token", "collision, then a Confirm carrying the kernel's own DMB token from its Accept", prop(vec![kernel_pair()]), AfterAccept::Confirm { token: Value64::named("accept-token") }),
            deb: d_no,
            lo: e("Accept D v2 rel1 chid 0xffff → silent", "SMCD"),
            why: "smc_lo_query_rgid + smc_lo_attach_dmb: a remote TCP peer with the local GID and a valid token gets an SMC-D connection to the kernel's own DMB (loopback-ism identities are not unique across OS instances)",
        },
        Case {
            scenario: server("srv-accept-smcd-v3", "Accept SMC-D with version 3: smc_connect_ism's v2 block (CHID selection) runs only for version == 2", accept_smcd(3, 0xffff, None)),
            deb: e("Proposal N/R → Decline MODEUNSUPP", "fallback MODEUNSUPP"),
            lo: e("Proposal N/B → kernel oops", "-"),
            why: "smc_connect_ism: `hdr.version == SMC_V2` skips smc_v2_determine_accepted_chid ⇒ ism_selected 0 ⇒ ism_dev[0] NULL ⇒ smc_conn_create/smc_lgr_create dereference it",
        },
    ]);
    m
}

fn peer_decl(code: &str) -> &'static str {
    // leaked once per code; the table is small and static in practice
    let s = format!("fallback PEERDECL/{code}");
    Box::leak(s.into_boxed_str())
}

/// What one case did on one kernel.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Scenario name.
    pub name: String,
    /// Expected.
    pub expect: Expect,
    /// Observed answer (same vocabulary as [`Expect::answer`]).
    pub answer: String,
    /// Observed smc_diag.
    pub diag: String,
    /// The peer's full outcome.
    pub outcome: Option<Outcome>,
    /// The agent's result for this case (kernel log lines included).
    pub agent: Option<AgentResult>,
    /// The capture.
    pub pcap: PathBuf,
    /// Console lines of a crash, if the VM died.
    pub crash: Vec<String>,
}

impl Row {
    /// Whether observed equals expected.
    pub fn matches(&self) -> bool {
        self.answer == self.expect.answer && self.diag == self.expect.diag
    }
}

/// A running VM for the peer, with its agent.
pub struct PeerVm {
    vm: Background,
    share: PathBuf,
    next: usize,
}

impl PeerVm {
    /// Boots `boot` with one `-netdev socket` NIC and the agent; returns the VM and the wire.
    pub fn boot(boot: &Bootable, dir: &Path, name: &str) -> Result<(PeerVm, QemuStream)> {
        Self::boot_with(boot, dir, name, "")
    }

    /// [`Self::boot`] with extra kernel command-line words (the fuzzer adds `ignore_loglevel`
    /// so that WARNINGs and lockdep reports reach the console).
    pub fn boot_with(
        boot: &Bootable,
        dir: &Path,
        name: &str,
        append: &str,
    ) -> Result<(PeerVm, QemuStream)> {
        let share = dir.join("vm-peer");
        let _ = fs::remove_dir_all(&share);
        fs::create_dir_all(&share).with_context(|| format!("creating {}", share.display()))?;
        let steps = vec![
            Step::Link {
                ifname: "lo".into(),
                addr: None,
            },
            Step::Link {
                ifname: "eth0".into(),
                addr: Some(format!("{KERNEL_IP}/24")),
            },
            Step::Rxe {
                name: "rxe0".into(),
                netdev: "eth0".into(),
            },
            Step::Ueid(UEID.into()),
            Step::Agent(AgentSpec {
                listen: vec![format!("{KERNEL_IP}:{KERNEL_PORT}")],
                idle_secs: 120,
            }),
        ];
        let plan = Plan {
            scenario: name.into(),
            vm: "peer".into(),
            steps,
        };
        let j = serde_json::to_string_pretty(&plan).context("serialising plan")?;
        fs::write(share.join("plan.json"), j).context("writing plan.json")?;
        let port = vm::free_port()?;
        let mut spec = VmSpec::new("peer", &boot.kernel, &boot.initrd, &share);
        spec.append = append.to_string();
        spec.net.extend([
            "-netdev".into(),
            format!("socket,id=n1,listen=127.0.0.1:{port}"),
            "-device".into(),
            "virtio-net-pci,netdev=n1,mac=52:54:00:00:50:01".into(),
        ]);
        let mut vm = Background::spawn(&spec)?;
        let wire = match QemuStream::connect(
            SocketAddr::from(([127, 0, 0, 1], port)),
            Duration::from_secs(20),
        ) {
            Ok(w) => w,
            Err(e) => {
                vm.kill();
                return Err(LabError::msg(format!("peer wire: {e}")));
            }
        };
        Ok((PeerVm { vm, share, next: 0 }, wire))
    }

    /// The share directory (plan, report, consoles, results).
    pub fn share(&self) -> &Path {
        &self.share
    }

    /// The console log path.
    pub fn console(&self) -> PathBuf {
        self.vm.console().to_path_buf()
    }

    /// Writes the next command; returns its number.
    pub fn send(&mut self, cmd: &AgentCmd) -> Result<usize> {
        let n = self.next;
        self.next += 1;
        let tmp = self.share.join(format!("cmd-{n}.tmp"));
        fs::write(
            &tmp,
            serde_json::to_string(cmd).context("serialising command")?,
        )
        .context("writing agent command")?;
        fs::rename(&tmp, self.share.join(format!("cmd-{n}.json")))
            .context("publishing agent command")?;
        Ok(n)
    }

    /// Waits for result `n`, calling `pump` meanwhile (the peer must keep its stack running).
    /// `Ok(None)` when the VM died first.
    pub fn result(
        &mut self,
        n: usize,
        timeout: Duration,
        pump: &mut dyn FnMut() -> std::result::Result<(), String>,
    ) -> Result<Option<AgentResult>> {
        let p = self.share.join(format!("res-{n}.json"));
        let until = Instant::now() + timeout;
        loop {
            if let Ok(t) = fs::read_to_string(&p) {
                let r: AgentResult =
                    serde_json::from_str(&t).with_context(|| format!("parsing {}", p.display()))?;
                return Ok(Some(r));
            }
            if self.vm.exited()?.is_some() || !crash_lines(self.vm.console()).is_empty() {
                return Ok(None);
            }
            if Instant::now() > until {
                return Err(LabError::msg(format!(
                    "agent gave no result {n} in {}s; console {}",
                    timeout.as_secs(),
                    self.vm.console().display()
                )));
            }
            if pump().is_err() {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Waits for the agent to be listening.
    pub fn ready(&mut self, timeout: Duration) -> Result<()> {
        let until = Instant::now() + timeout;
        while !self.share.join("agent-ready").exists() {
            if self.vm.exited()?.is_some() || Instant::now() > until {
                return Err(LabError::msg(format!(
                    "the guest agent never became ready; console:\n{}",
                    console_tail(&self.console(), 30).join("\n")
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// True while QEMU runs.
    pub fn alive(&mut self) -> bool {
        matches!(self.vm.exited(), Ok(None))
    }

    /// Stops the agent and waits for the VM to power off.
    pub fn stop(mut self, pump: &mut dyn FnMut() -> std::result::Result<(), String>) -> Result<()> {
        if self.alive() {
            let n = self.send(&AgentCmd::Stop)?;
            let _ = self.result(n, Duration::from_secs(30), pump)?;
        }
        self.vm.wait(Duration::from_secs(30))?;
        Ok(())
    }
}

/// The last `n` lines of a console log.
pub fn console_tail(p: &Path, n: usize) -> Vec<String> {
    let s = fs::read_to_string(p).unwrap_or_default();
    let v: Vec<String> = s.lines().rev().take(n).map(String::from).collect();
    v.into_iter().rev().collect()
}

/// Lines of an oops/panic in a console log (empty if none).
pub fn crash_lines(p: &Path) -> Vec<String> {
    let s = fs::read_to_string(p).unwrap_or_default();
    let lines: Vec<&str> = s.lines().collect();
    let Some(i) = lines.iter().position(|l| {
        l.contains("BUG:")
            || l.contains("Oops")
            || l.contains("Kernel panic")
            || l.contains("general protection fault")
    }) else {
        return Vec::new();
    };
    lines[i..lines.len().min(i + 40)]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

/// The answer string for an outcome (the [`Expect::answer`] vocabulary).
pub fn observe(o: &Outcome, agent: Option<&AgentResult>) -> String {
    let kernel: Vec<&peer::ClcSeen> = o.from_kernel().collect();
    let clc = |c: &peer::ClcSeen| -> String {
        match c.msg.as_str() {
            "DECLINE" => format!("Decline {}", c.decline.clone().unwrap_or_default()),
            "ACCEPT" => {
                let mut s = format!(
                    "Accept {} v{}",
                    c.smc_type.clone().unwrap_or_default(),
                    c.version
                );
                if let Some(r) = c.release {
                    s.push_str(&format!(" rel{r}"));
                }
                if let Some(ch) = c.chid {
                    s.push_str(&format!(" chid 0x{ch:04x}"));
                }
                if let Some((mc, ml)) = c.limits {
                    s.push_str(&format!(" {mc}/{ml}"));
                }
                s
            }
            "CONFIRM" => "Confirm".into(),
            "PROPOSAL" => {
                // byte 7 of the hex: version nibble, typev2, typev1 (§2.2)
                let b7 = u8::from_str_radix(c.hex.get(14..16).unwrap_or("00"), 16).unwrap_or(0);
                let t = |v: u8| ["R", "D", "N", "B"][usize::from(v & 3)];
                format!("Proposal {}/{}", t(b7), t(b7 >> 2))
            }
            other => other.to_string(),
        }
    };
    let mut parts: Vec<String> = kernel.iter().map(|c| clc(c)).collect();
    match o.role {
        Role::Client => {
            if parts.is_empty() {
                return match o.tcp_end {
                    TcpEnd::NotEstablished => "no TCP".into(),
                    TcpEnd::Open => "no answer".into(),
                    _ => "no CLC, connection closed".into(),
                };
            }
            let accepted = kernel.first().is_some_and(|c| c.msg == "ACCEPT");
            let sent_after: Vec<&peer::ClcSeen> =
                o.clc.iter().filter(|c| c.from == "peer").skip(1).collect();
            let declined_after = sent_after.iter().any(|c| c.msg == "DECLINE");
            if accepted && !declined_after {
                let silent = o
                    .notes
                    .iter()
                    .any(|n| n.contains("silent") || n.contains("still waiting"));
                parts.push(if silent {
                    "silent".into()
                } else {
                    "closed".into()
                });
            }
            parts.join(" → ")
        }
        Role::Server => {
            if parts.is_empty() {
                return "no CLC".into();
            }
            let first_is_prop = kernel.first().is_some_and(|c| c.msg == "PROPOSAL");
            let we_declined = o.clc.iter().any(|c| c.from == "peer" && c.msg == "DECLINE");
            let kernel_declined = kernel.iter().skip(1).any(|c| c.msg == "DECLINE");
            if first_is_prop && (we_declined || kernel_declined) && kernel.len() == 1 {
                parts.push("fallback".into());
            }
            if let Some(a) = agent {
                if a.connected == Some(false) {
                    let e = match a.errno {
                        Some(71) => "EPROTO".to_string(),
                        Some(110) => "ETIMEDOUT".to_string(),
                        Some(104) => "ECONNRESET".to_string(),
                        Some(n) => format!("errno {n}"),
                        None => "error".into(),
                    };
                    parts.push(format!("connect {e}"));
                }
            }
            parts.join(" → ")
        }
    }
}

/// The diag string of the kernel-side socket(s) for a case.
pub fn observe_diag(a: Option<&AgentResult>) -> String {
    let Some(a) = a else {
        return "-".into();
    };
    let Some(d) = a.diag.first() else {
        return "none".into();
    };
    match d.mode {
        super::diag::Mode::Fallback => {
            let r = d
                .fallback_reason_name
                .clone()
                .unwrap_or_else(|| d.fallback_reason.clone());
            match (&d.peer_diagnosis_name, d.peer_diagnosis.as_str()) {
                (_, "0x00000000") => format!("fallback {r}"),
                (Some(p), _) => format!("fallback {r}/{p}"),
                (None, p) => format!("fallback {r}/{p}"),
            }
        }
        super::diag::Mode::SmcD => "SMCD".into(),
        super::diag::Mode::SmcR => "SMCR".into(),
        super::diag::Mode::Unknown => "unknown".into(),
    }
}

/// Runs the matrix (or the cases whose names are in `only`) on one kernel; captures and
/// results land in `dir`. Stops at a crash (later cases get no row).
pub fn run_matrix(boot: &Bootable, dir: &Path, only: &[String]) -> Result<Vec<Row>> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let (mut vm, wire) = PeerVm::boot(boot, dir, "peer-matrix")?;
    let cfg = PeerConfig {
        mac: PEER_MAC,
        ipv4: Some(PEER_IP),
        ipv6: None,
        seed: 0x5eed_c0de,
    };
    let mut p = Peer::new(wire, cfg, None);
    {
        let mut pump = || -> std::result::Result<(), String> { Ok(()) };
        let _ = &mut pump;
    }
    vm.ready(Duration::from_secs(90))?;
    let kind = boot.kind;
    let mut rows = Vec::new();
    let cases: Vec<Case> = matrix()
        .into_iter()
        .filter(|c| only.is_empty() || only.iter().any(|o| o == &c.scenario.name))
        .collect();
    // the client scenarios need the learned GID: run "learn" first whatever the filter says
    let mut cases = cases;
    if !cases.iter().any(|c| c.scenario.name == "learn") {
        if let Some(l) = matrix().into_iter().find(|c| c.scenario.name == "learn") {
            cases.insert(0, l);
        }
    }
    for (i, c) in cases.iter().enumerate() {
        let s = &c.scenario;
        let pcap = dir.join(format!("{}.pcap", s.name));
        p.record_to(Some(
            Recorder::create(&pcap).with_context(|| format!("creating {}", pcap.display()))?,
        ));
        log(format!("peer case {} ({:?})", s.name, s.role));
        let t = Instant::now();
        let mut crash = Vec::new();
        let (outcome, agent) = match s.role {
            Role::Client => {
                if p.learned.loopback.is_none() {
                    // Debian has no loopback-ism: a stand-in GID keeps the scenarios comparable
                    p.learned.loopback = Some(smc_wire::clc::VirtualGid {
                        gid: 0x0123_4567_89ab_cdef,
                        gid_ext: 0xfedc_ba98_7654_3210,
                    });
                }
                let target = SocketAddr::new(IpAddr::V4(KERNEL_IP), KERNEL_PORT);
                let o = peer::client::run(&mut p, s, target)
                    .map_err(|e| LabError::msg(format!("{}: {e}", s.name)))?;
                p.idle(Duration::from_millis(300))
                    .map_err(|e| LabError::msg(e.to_string()))?;
                let n = vm.send(&AgentCmd::Accepted)?;
                let a = {
                    let pr = &mut p;
                    vm.result(n, Duration::from_secs(60), &mut || {
                        pr.idle(Duration::from_millis(20))
                            .map_err(|e| e.to_string())
                    })?
                };
                (Some(o), a)
            }
            Role::Server => {
                let port = PEER_PORT + i as u16;
                let n = vm.send(&AgentCmd::Connect {
                    addr: format!("{PEER_IP}:{port}"),
                    bytes: 256,
                })?;
                let o = peer::server::run(&mut p, s, port, Duration::from_secs(30));
                let o = match o {
                    Ok(o) => Some(o),
                    Err(peer::PeerError::Wire(e)) => {
                        log(format!("wire ended during {}: {e}", s.name));
                        None
                    }
                    Err(e) => return Err(LabError::msg(format!("{}: {e}", s.name))),
                };
                let a = if vm.alive() {
                    let pr = &mut p;
                    vm.result(n, Duration::from_secs(60), &mut || {
                        pr.idle(Duration::from_millis(20))
                            .map_err(|e| e.to_string())
                    })?
                } else {
                    None
                };
                (o, a)
            }
        };
        if agent.is_none() {
            // give the console a moment to get the oops written
            std::thread::sleep(Duration::from_millis(500));
            crash = crash_lines(&vm.console());
        }
        let answer = match (&outcome, crash.is_empty()) {
            (_, false) => match &outcome {
                Some(o) => {
                    let mut s = observe(o, None);
                    if let Some(k) = o.from_kernel().next() {
                        let first = observe(
                            &Outcome {
                                clc: vec![k.clone()],
                                ..o.clone()
                            },
                            None,
                        );
                        s = first;
                    }
                    format!("{} → kernel oops", s.split(" → ").next().unwrap_or(""))
                }
                None => "kernel oops".into(),
            },
            (Some(o), true) => observe(o, agent.as_ref()),
            (None, true) => "wire closed".into(),
        };
        let diag = observe_diag(agent.as_ref());
        let row = Row {
            name: s.name.clone(),
            expect: c.expect(kind),
            answer,
            diag,
            outcome,
            agent,
            pcap,
            crash,
        };
        log(format!(
            "  {:.1}s: {} | {} {}",
            t.elapsed().as_secs_f64(),
            row.answer,
            row.diag,
            if row.matches() {
                "(as expected)"
            } else {
                "(DIFFERS)"
            }
        ));
        rows.push(row);
        if !vm.alive() {
            break;
        }
    }
    p.record_to(None);
    if vm.alive() {
        let pr = &mut p;
        vm.stop(&mut || {
            pr.idle(Duration::from_millis(20))
                .map_err(|e| e.to_string())
        })?;
    }
    let json = serde_json::to_string_pretty(&rows).context("serialising rows")?;
    fs::write(dir.join("matrix.json"), json).context("writing matrix.json")?;
    Ok(rows)
}
