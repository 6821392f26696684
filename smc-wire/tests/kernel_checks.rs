//! One test per CLC kernel receive check (reference §9.1–§9.2): strict mode rejects exactly that
//! violation, lenient mode decodes and lists it. Each test starts from a valid message (a real or
//! reference vector) and changes only what the check looks at. Names: `<kernel_fn>_<violation>`.

mod common;
use common::*;

use smc_wire::clc::check::{self, RecvContext};
use smc_wire::clc::{ClcType, Eyecatcher};
use smc_wire::error::{Anomaly, Error};
use smc_wire::{AcceptConfirmRepr, ClcRepr, KernelCheck, Mode, ProposalRepr, SmcType};

/// Real v1 SMC-R Proposal, 52 bytes (hwipl, §10).
fn v1_proposal() -> Vec<u8> {
    hwipl("lo-proposal-smcr-ipv4")
}

/// Reference §10 SMC-Dv2 Proposal, 224 bytes (typev1 N, typev2 D, 1 UEID, 2 GID entries).
fn v2_proposal() -> Vec<u8> {
    let r = ProposalRepr::parse(&hex(REF_PROPOSAL_224), Mode::Strict)
        .unwrap()
        .repr;
    ClcRepr::Proposal(r).to_vec().unwrap()
}

fn set_len(b: &mut Vec<u8>, len: usize) {
    b.resize(len, 0);
    b[5..7].copy_from_slice(&(len as u16).to_be_bytes());
    let t = len - 4;
    b[t..].copy_from_slice(&Eyecatcher::SMCR.0);
}

/// Strict returns exactly `check`; lenient decodes and reports it.
fn rejects(bytes: &[u8], ctx: &RecvContext, expected: KernelCheck) {
    assert_eq!(
        ClcRepr::parse_with(bytes, Mode::Strict, ctx).unwrap_err(),
        Error::Check { check: expected }
    );
    match ClcRepr::parse_with(bytes, Mode::Lenient, ctx) {
        Ok(d) => assert!(
            d.anomalies
                .iter()
                .any(|a| *a == Anomaly::Check { check: expected }),
            "lenient did not report {expected:?}: {:?}",
            d.anomalies
        ),
        // only when there is no layout to decode at all (unknown type)
        Err(e) => assert!(
            matches!(expected, KernelCheck::HdrType { .. }),
            "lenient failed: {e}"
        ),
    }
}

fn proposal_ctx() -> RecvContext {
    RecvContext::SERVER_PROPOSAL
}

#[test]
fn base_messages_are_valid() {
    for b in [v1_proposal(), v2_proposal()] {
        assert!(ClcRepr::parse_with(&b, Mode::Strict, &proposal_ctx()).is_ok());
    }
}

// ---- smc_clc_wait_msg (§9.1) ----

#[test]
fn smc_clc_wait_msg_version_zero() {
    let mut b = v1_proposal();
    b[7] &= 0x0f; // version nibble 0
    rejects(
        &b,
        &proposal_ctx(),
        KernelCheck::WaitMsgVersion { version: 0 },
    );
}

#[test]
fn smc_clc_wait_msg_unexpected_type() {
    // an Accept arriving where the server waits for a Proposal
    let b = hwipl("lo-accept-smcr-ipv4");
    rejects(
        &b,
        &proposal_ctx(),
        KernelCheck::WaitMsgType {
            expected: ClcType::PROPOSAL,
            found: ClcType::ACCEPT,
        },
    );
}

#[test]
fn smc_clc_wait_msg_decline_always_accepted() {
    let b = hwipl("lo-decline-smcr-ipv4");
    for ctx in [
        RecvContext::SERVER_PROPOSAL,
        RecvContext::CLIENT_ACCEPT,
        RecvContext::SERVER_CONFIRM,
    ] {
        assert!(ClcRepr::parse_with(&b, Mode::Strict, &ctx).is_ok());
    }
}

#[test]
fn smc_clc_wait_msg_unknown_type_fails_before_hdr_valid() {
    // smc_clc_wait_msg checks the peeked header (version < 1, then type ≠ expected and ≠
    // DECLINE) before smc_clc_msg_hdr_valid ever sees the type (§9.1 step 1): an unknown type
    // byte fails there, in both modes, with the first of those checks that fails
    let decline = hwipl("lo-decline-smcr-ipv4");
    let mut b = decline.clone();
    b[4] = 5; // unknown type
    b[7] &= 0x0f; // version 0: the review's example e2 d4 c3 d9 05 00 1c 00 …
    assert_eq!(&b[..8], &[0xe2, 0xd4, 0xc3, 0xd9, 0x05, 0x00, 0x1c, 0x00]);
    for mode in [Mode::Strict, Mode::Lenient] {
        assert_eq!(
            ClcRepr::parse_with(&b, mode, &proposal_ctx()).unwrap_err(),
            Error::Check {
                check: KernelCheck::WaitMsgVersion { version: 0 }
            }
        );
    }
    // version 1, still unknown: the type check, even with a broken eyecatcher (never reached)
    let mut b = decline;
    b[4] = 5;
    b[3] = 0x00;
    for (ctx, expected) in [
        (RecvContext::SERVER_PROPOSAL, ClcType::PROPOSAL),
        (RecvContext::CLIENT_ACCEPT, ClcType::ACCEPT),
        (RecvContext::SERVER_CONFIRM, ClcType::CONFIRM),
    ] {
        for mode in [Mode::Strict, Mode::Lenient] {
            assert_eq!(
                ClcRepr::parse_with(&b, mode, &ctx).unwrap_err(),
                Error::Check {
                    check: KernelCheck::WaitMsgType {
                        expected,
                        found: ClcType(5)
                    }
                }
            );
        }
    }
}

// ---- smc_clc_msg_hdr_valid (§9.2) ----

#[test]
fn smc_clc_msg_hdr_valid_eyecatcher() {
    let mut b = v1_proposal();
    b[3] = 0x00;
    rejects(
        &b,
        &proposal_ctx(),
        KernelCheck::HdrEyecatcher {
            found: Eyecatcher([0xe2, 0xd4, 0xc3, 0x00]),
        },
    );
}

#[test]
fn smc_clc_msg_hdr_valid_smcd_eyecatcher_accepted_anywhere() {
    // either eyecatcher in the header and, independently, in the trailer (§2.1)
    let mut b = v1_proposal();
    b[3] = 0xc4;
    assert!(ClcRepr::parse(&b, Mode::Strict).is_ok());
}

#[test]
fn smc_clc_msg_hdr_valid_unknown_type() {
    let mut b = v1_proposal();
    b[4] = 5;
    let ctx = RecvContext {
        expected: smc_wire::ClcType(5),
        buflen: 652,
    };
    rejects(
        &b,
        &ctx,
        KernelCheck::HdrType {
            found: smc_wire::ClcType(5),
        },
    );
}

#[test]
fn smc_clc_msg_hdr_valid_trailer() {
    let mut b = v1_proposal();
    let n = b.len();
    b[n - 1] = 0;
    rejects(
        &b,
        &proposal_ctx(),
        KernelCheck::HdrTrailer {
            found: Eyecatcher([0xe2, 0xd4, 0xc3, 0x00]),
        },
    );
}

#[test]
fn smc_clc_wait_msg_skips_trailer_check_when_longer_than_buffer() {
    // §9.1 step 3: length > buffer ⇒ read buflen bytes, no trailer check. A v2 SMC-R Accept of
    // 200 bytes (≥ 108 passes smc_clc_msg_acc_conf_valid) with a bad trailer is accepted by a
    // client (160-byte buffer) …
    let mut b = hwipl("lo-accept-smcr-ipv4");
    b[7] = 0x28; // version 2, first contact, SMC-R
    set_len(&mut b, 200);
    let n = b.len();
    b[n - 4..].copy_from_slice(&[0, 0, 0, 0]);
    assert!(ClcRepr::parse_with(&b, Mode::Strict, &RecvContext::CLIENT_ACCEPT).is_ok());
    // … but not by a receiver whose buffer holds it all
    let big = RecvContext {
        expected: ClcType::ACCEPT,
        buflen: 652,
    };
    rejects(
        &b,
        &big,
        KernelCheck::HdrTrailer {
            found: Eyecatcher([0; 4]),
        },
    );
}

#[test]
fn smc_clc_msg_hdr_valid_decline_trailer_not_checked() {
    let mut b = hwipl("lo-decline-smcr-ipv4");
    let n = b.len();
    b[n - 4..].copy_from_slice(b"XXXX");
    assert!(ClcRepr::parse(&b, Mode::Strict).is_ok());
}

// ---- smc_clc_msg_prop_valid and its helpers (§9.2) ----

#[test]
fn smc_clc_proposal_get_prefix_offset_above_40() {
    let mut b = v1_proposal();
    b[38..40].copy_from_slice(&41u16.to_be_bytes());
    rejects(
        &b,
        &proposal_ctx(),
        KernelCheck::PropPrefixOffset { iparea_offset: 41 },
    );
}

#[test]
fn smc_clc_msg_prop_valid_ipv6_count_above_8() {
    let mut b = v1_proposal();
    b[47] = 9; // ipv6_prefixes_cnt at 40 + 0 + 7
    rejects(&b, &proposal_ctx(), KernelCheck::PropIpv6Count { count: 9 });
}

#[test]
fn smc_clc_msg_prop_valid_ipv6_count_read_even_without_v1_type() {
    // typev1 N: the count is still read, at 40 + iparea_offset + 7 (inside the SMC-D area)
    let mut b = v2_proposal();
    b[47] = 9;
    rejects(&b, &proposal_ctx(), KernelCheck::PropIpv6Count { count: 9 });
}

#[test]
fn smc_clc_msg_prop_valid_v1_without_type() {
    let mut b = v1_proposal();
    b[7] = 0x12; // version 1, typev1 N
    rejects(&b, &proposal_ctx(), KernelCheck::PropV1NoType);
}

#[test]
fn smc_clc_msg_prop_valid_v1_length() {
    let mut b = v1_proposal();
    set_len(&mut b, 56);
    rejects(
        &b,
        &proposal_ctx(),
        KernelCheck::PropV1Length {
            declared: 56,
            expected: 52,
        },
    );
}

#[test]
fn smc_get_clc_msg_smcd_misplaced_area() {
    // v2 Proposal offering SMC-D for v1 (typev1 D) with iparea_offset 0: the kernel finds no
    // SMC-D area, hence no v2 extension
    let mut b = v2_proposal();
    b[7] = 0x25; // v2, typev2 D, typev1 D
    rejects(
        &b,
        &proposal_ctx(),
        KernelCheck::PropSmcdArea { iparea_offset: 0 },
    );
}

#[test]
fn smc_get_clc_v2_ext_offset_zero() {
    let mut b = v2_proposal();
    b[50..52].copy_from_slice(&[0, 0]);
    rejects(&b, &proposal_ctx(), KernelCheck::PropV2ExtMissing);
}

#[test]
fn smc_get_clc_v2_ext_offset_above_172() {
    let mut b = v2_proposal();
    b[50..52].copy_from_slice(&173u16.to_be_bytes());
    rejects(
        &b,
        &proposal_ctx(),
        KernelCheck::PropV2ExtOffset { v2_ext_offset: 173 },
    );
}

#[test]
fn smc_clc_msg_prop_valid_eid_count_above_8() {
    let mut b = v2_proposal();
    b[80] = 9; // eid_cnt at E = 52 + 28
    rejects(&b, &proposal_ctx(), KernelCheck::PropEidCount { count: 9 });
}

#[test]
fn smc_clc_msg_prop_valid_gid_count_above_8() {
    let mut b = v2_proposal();
    b[81] = 9; // ism_gid_cnt at E + 1
    rejects(&b, &proposal_ctx(), KernelCheck::PropGidCount { count: 9 });
}

#[test]
fn smc_clc_msg_prop_valid_gid_count_ignored_without_smcd_v2() {
    // with typev2 R the GID count is not checked (smcd_indicated(typev2) is false)
    let mut b = v2_proposal();
    b[7] = 0x22;
    b[81] = 9;
    // the length formula no longer counts the SMC-Dv2 extension: 224 ≠ 40+40+40+32+4 = 156
    rejects(
        &b,
        &proposal_ctx(),
        KernelCheck::PropV2Length {
            declared: 224,
            expected: 156,
        },
    );
}

#[test]
fn smc_clc_msg_prop_valid_v2_length() {
    let mut b = v2_proposal();
    set_len(&mut b, 234);
    rejects(
        &b,
        &proposal_ctx(),
        KernelCheck::PropV2Length {
            declared: 234,
            expected: 224,
        },
    );
}

// ---- smc_clc_msg_acc_conf_valid (§9.2) ----

#[test]
fn smc_clc_msg_acc_conf_valid_type_neither_r_nor_d() {
    let mut b = hwipl("lo-accept-smcr-ipv4");
    b[7] = 0x1a; // v1, first contact, type N
    rejects(
        &b,
        &RecvContext::CLIENT_ACCEPT,
        KernelCheck::AccConfType {
            smc_type: SmcType::N,
        },
    );
}

#[test]
fn smc_clc_msg_acc_conf_valid_v1_length() {
    let mut b = hwipl("lo-accept-smcr-ipv4");
    set_len(&mut b, 72);
    rejects(
        &b,
        &RecvContext::CLIENT_ACCEPT,
        KernelCheck::AccConfV1Length {
            declared: 72,
            expected: 68,
        },
    );
    let mut d = smcgo_clc("TestParseSMCDAccept");
    d.resize(52, 0);
    d[5..7].copy_from_slice(&52u16.to_be_bytes());
    d[48..52].copy_from_slice(&Eyecatcher::SMCD.0);
    rejects(
        &d,
        &RecvContext::CLIENT_ACCEPT,
        KernelCheck::AccConfV1Length {
            declared: 52,
            expected: 48,
        },
    );
}

#[test]
fn smc_clc_msg_acc_conf_valid_v2_too_short() {
    let mut b = hwipl("lo-accept-smcr-ipv4");
    b[7] = 0x28; // version 2 but only 68 bytes (< 108)
    rejects(
        &b,
        &RecvContext::CLIENT_ACCEPT,
        KernelCheck::AccConfV2Length {
            declared: 68,
            minimum: 108,
        },
    );
    let mut d = smcgo_clc("TestParseSMCDAccept");
    d[7] = 0x21; // version 2 SMC-D, 48 bytes (< 78)
    rejects(
        &d,
        &RecvContext::CLIENT_ACCEPT,
        KernelCheck::AccConfV2Length {
            declared: 48,
            minimum: 78,
        },
    );
}

#[test]
fn smc_clc_msg_acc_conf_valid_fce_not_length_checked() {
    // §9.2: the FCE is not length-checked: a 108-byte first-contact SMC-R v2 Accept passes
    let mut b = hwipl("lo-accept-smcr-ipv4");
    b[7] = 0x28;
    set_len(&mut b, 108);
    let d = ClcRepr::parse_with(&b, Mode::Strict, &RecvContext::CLIENT_ACCEPT).unwrap();
    assert!(d.anomalies.iter().any(|a| matches!(
        a,
        Anomaly::AreaTruncated {
            layer: smc_wire::Layer::FirstContactExt,
            ..
        }
    )));
}

// ---- smc_clc_msg_decl_valid (§9.2) ----

#[test]
fn smc_clc_msg_decl_valid_length() {
    let mut b = hwipl("lo-decline-smcr-ipv4");
    b[7] = 0x20; // version 2 needs 44
    rejects(
        &b,
        &RecvContext::SERVER_PROPOSAL,
        KernelCheck::DeclLength {
            declared: 28,
            expected: 44,
        },
    );
    let mut b = hwipl("lo-decline-smcr-ipv4");
    set_len(&mut b, 44); // version 1 needs 28
    rejects(
        &b,
        &RecvContext::SERVER_PROPOSAL,
        KernelCheck::DeclLength {
            declared: 44,
            expected: 28,
        },
    );
}

// ---- client checks after validation (§4.6, §9.2 "After validation") ----

fn accept(b: &[u8]) -> AcceptConfirmRepr {
    AcceptConfirmRepr::parse(b, Mode::Lenient).unwrap().repr
}

#[test]
fn smc_connect_check_aclc_type_not_offered() {
    let prop = ProposalRepr::parse(&v2_proposal(), Mode::Strict)
        .unwrap()
        .repr; // offers N / D
               // an SMC-R v1 Accept answers a Proposal that offered no SMC-R ⇒ MODEUNSUPP
    let a = accept(&hwipl("lo-accept-smcr-ipv4"));
    assert_eq!(
        check::smc_connect_check_aclc(&prop, &a),
        Err(KernelCheck::ConnectModeUnsupported {
            version: 1,
            chosen: SmcType::R
        })
    );
    // the SMC-D v2 Accept of §10 matches the offer
    let a = accept(&hex(REF_ACCEPT_130));
    assert_eq!(check::smc_connect_check_aclc(&prop, &a), Ok(()));
    // SMC-D v1 Accept, but SMC-D was offered for v2 only ⇒ MODEUNSUPP
    let d1 = accept(&smcgo_clc("TestParseSMCDAccept"));
    assert_eq!(
        check::smc_connect_check_aclc(&prop, &d1),
        Err(KernelCheck::ConnectModeUnsupported {
            version: 1,
            chosen: SmcType::D
        })
    );
}

#[test]
fn smc_v2_determine_accepted_chid_not_offered() {
    let prop = ProposalRepr::parse(&v2_proposal(), Mode::Strict)
        .unwrap()
        .repr; // offers CHID 0xFFFF
    let mut b = hex(REF_ACCEPT_130);
    assert_eq!(
        check::smc_v2_determine_accepted_chid(&prop, &accept(&b)),
        Ok(())
    );
    b[32..34].copy_from_slice(&[0x12, 0x34]);
    assert_eq!(
        check::smc_v2_determine_accepted_chid(&prop, &accept(&b)),
        Err(KernelCheck::ConnectChidNotOffered { chid: 0x1234 })
    );
    // CHID 0 when no v1 device was offered: pre-2026 kernels matched the empty slot 0 (NULL
    // ism_dev[0]); it was never offered
    b[32..34].copy_from_slice(&[0, 0]);
    assert_eq!(
        check::smc_v2_determine_accepted_chid(&prop, &accept(&b)),
        Err(KernelCheck::ConnectChidNotOffered { chid: 0 })
    );
}

#[test]
fn v3_accept_skips_chid_selection_and_is_flagged() {
    // smc_connect_ism runs smc_v2_determine_accepted_chid only for `hdr.version == SMC_V2`
    // (6.12.117 af_smc.c); a v3 Accept with an unoffered CHID passes, and smcdump flags the
    // version above the Proposal's (captures/peer/smclo-6.12.117/srv-accept-smcd-v3.pcap)
    let prop = ProposalRepr::parse(&v2_proposal(), Mode::Strict)
        .unwrap()
        .repr;
    let mut b = hex(REF_ACCEPT_130);
    assert_eq!(check::accept_above_proposal(&prop, &accept(&b)), None);
    b[7] = 0x30 | (b[7] & 0x0f); // version nibble 3 (header byte 7, §2.2)
    b[32..34].copy_from_slice(&[0x12, 0x34]);
    let a = accept(&b);
    assert_eq!(a.version, 3);
    assert_eq!(check::smc_v2_determine_accepted_chid(&prop, &a), Ok(()));
    assert_eq!(check::smc_connect_check_aclc(&prop, &a), Ok(()));
    assert_eq!(
        check::accept_above_proposal(&prop, &a),
        Some(smc_wire::Anomaly::AcceptAboveProposal {
            accept: 3,
            proposal: 2
        })
    );
}
