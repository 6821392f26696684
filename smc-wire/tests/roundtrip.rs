//! Properties of the CLC codec (issue 2 "Must show"), driven by the `Arbitrary` impls the fuzz
//! targets use:
//! * any representation made valid with `normalize()` emits, and re-parses to itself; with
//!   valid eyecatchers it passes the kernel's strict checks;
//! * any byte string parses or returns an error, never panics (random bytes, and mutations of
//!   the real vectors, which get far deeper than random bytes);
//! * decode → emit → decode is stable.

mod common;
use common::*;

use arbitrary::{Arbitrary, Unstructured};
use proptest::prelude::*;
use smc_wire::clc::Eyecatcher;
use smc_wire::{Anomaly, ClcRepr, Mode};

fn arbitrary_repr(seed: &[u8]) -> Option<ClcRepr> {
    let mut u = Unstructured::new(seed);
    ClcRepr::arbitrary(&mut u).ok()
}

fn vectors() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = [
        "lo-proposal-smcr-ipv4",
        "lo-proposal-smcr-ipv6",
        "lo-accept-smcr-ipv4",
        "lo-confirm-smcr-ipv6",
        "lo-decline-smcr-ipv4",
    ]
    .iter()
    .map(|n| hwipl(n))
    .collect();
    v.push(hex(REF_PROPOSAL_224));
    v.push(hex(REF_ACCEPT_130));
    v.push(smcgo_clc("TestParseCLCProposalSMCBIPv6"));
    v.push(smcgo_clc("TestParseSMCDv2FCEConfirm"));
    v.push(smcgo_clc("TestParseCLCProposalV2SMCBIPv4"));
    v
}

fn stable(bytes: &[u8]) {
    let _ = ClcRepr::parse(bytes, Mode::Strict);
    let Ok(d) = ClcRepr::parse(bytes, Mode::Lenient) else {
        return;
    };
    let out = d.repr.to_vec().expect("a decoded representation emits");
    let again = ClcRepr::parse(&out, Mode::Lenient).expect("emitted bytes decode");
    assert_eq!(
        d.repr, again.repr,
        "decode → emit → decode changed the representation"
    );
    let uncovered = d
        .anomalies
        .iter()
        .any(|a| matches!(a, Anomaly::UncoveredBytes { .. }))
        || d.anomalies.dropped() > 0;
    if !uncovered {
        let declared = usize::from(u16::from_be_bytes([bytes[5], bytes[6]]));
        assert_eq!(out, bytes[..declared], "lossless re-emit");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn valid_repr_reparses_to_itself(seed in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let Some(mut r) = arbitrary_repr(&seed) else { return Ok(()) };
        r.normalize();
        let bytes = r.to_vec().expect("a normalized representation emits");
        prop_assert_eq!(bytes.len(), r.buffer_len());
        let d = ClcRepr::parse(&bytes, Mode::Lenient).expect("emitted bytes decode");
        prop_assert_eq!(d.repr, r);
        prop_assert!(!d.anomalies.iter().any(|a| matches!(a, Anomaly::UncoveredBytes { .. } | Anomaly::LengthMismatch { .. } | Anomaly::AreaTruncated { .. })),
            "normalized representation has layout anomalies: {:?}", d.anomalies);
        // with valid eyecatchers the kernel checks pass as well
        let (eye, trl) = match &r {
            ClcRepr::Proposal(p) => (p.eyecatcher, p.trailer),
            ClcRepr::AcceptConfirm(a) => (a.eyecatcher, a.trailer),
            ClcRepr::Decline(d) => (d.eyecatcher, Eyecatcher::SMCR),
        };
        if eye.is_valid() && trl.is_valid() && r.buffer_len() <= 160 {
            let counts_ok = match &r {
                ClcRepr::Proposal(p) => p.prefix.is_none_or(|x| x.ipv6_prefixes_cnt <= 8),
                _ => true,
            };
            if counts_ok {
                prop_assert!(ClcRepr::parse(&bytes, Mode::Strict).is_ok(), "strict rejected {:?}", ClcRepr::parse(&bytes, Mode::Strict));
            }
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..700)) {
        stable(&bytes);
    }

    #[test]
    fn clc_looking_bytes_never_panic(ty in 0u8..6, bits in any::<u8>(), len in 0u16..700, body in proptest::collection::vec(any::<u8>(), 0..700)) {
        let mut b = vec![0xe2, 0xd4, 0xc3, 0xd9, ty];
        b.extend_from_slice(&len.to_be_bytes());
        b.push(bits);
        b.extend_from_slice(&body);
        stable(&b);
    }

    #[test]
    fn mutated_vectors_never_panic(which in 0usize..10, flips in proptest::collection::vec((any::<u16>(), any::<u8>()), 1..8)) {
        let mut b = vectors()[which].clone();
        for (at, val) in flips {
            let n = b.len();
            b[usize::from(at) % n] = val;
        }
        stable(&b);
    }
}

#[test]
fn every_vector_is_stable() {
    for v in vectors() {
        stable(&v);
    }
}

// ---- layouts the kernel accepts whose bytes are not all held by a field (review L8) ----

/// Real SMC-Rv2 Proposal, 156 bytes (typev1 N, typev2 R, one UEID): the client's first CLC
/// message in `captures/lab/deb-6.12.117+deb12-amd64/deb-smcr.pcap`, frame 30.
const DEB_SMCR_PROPOSAL_156: &str = "e2d4c3d901009c22000000000000000000000000000000000000000000000000000000000000000000000000000000000000001c00000000000000000000000000000000000000000000000000000000010000100000000000000000000000000000ffffc0a83202ff020001000000000000000000000000534d432d4c41422d554549442020202020202020202020202020202020202020e2d4c3d9";

fn set_length(b: &mut [u8], len: usize) {
    b[5..7].copy_from_slice(&(len as u16).to_be_bytes());
}

#[test]
fn smcd_v2_first_contact_130_with_release_0_round_trips() {
    // §4.3/§4.4: a Linux SMC-D sender writes 36 FCE bytes for release 0 and 52 for release 1,
    // but a receiver reads the form it expects; the declared length says which one was sent
    let mut b = hex(REF_ACCEPT_130);
    assert_eq!(b.len(), 130);
    assert_eq!(b[75], 0x21, "FCE byte 1 at 74+1: Linux, release 1");
    b[75] = 0x20; // release 0, the 52-byte form kept
    let d = ClcRepr::parse(&b, Mode::Lenient).unwrap();
    assert!(d.anomalies.is_empty(), "{:?}", d.anomalies);
    let ClcRepr::AcceptConfirm(a) = &d.repr else {
        panic!("not an Accept: {:?}", d.repr)
    };
    let fce = a.fce.unwrap();
    assert_eq!(fce.release, 0);
    let x = fce.v2x.expect("bytes 110-125 are the v2.x tail");
    assert_eq!(x.feature_mask, 1);
    assert_eq!(d.repr.to_vec().unwrap(), b, "lossless re-emit");
    assert!(ClcRepr::parse(&b, Mode::Strict).is_ok());
    stable(&b);
    // 114 bytes with release 1: the 36-byte form, short of what a release-1 reader wants
    let mut short = hex(REF_ACCEPT_130);
    short.drain(110..126);
    set_length(&mut short, 114);
    let d = ClcRepr::parse(&short, Mode::Lenient).unwrap();
    let ClcRepr::AcceptConfirm(a) = &d.repr else {
        panic!()
    };
    assert_eq!(a.fce.unwrap().v2x, None);
    assert!(d
        .anomalies
        .iter()
        .any(|x| matches!(x, Anomaly::AreaTruncated { .. })));
    assert_eq!(d.repr.to_vec().unwrap(), short);
}

/// The real 52-byte v1 Proposal with `gap` inserted before its prefix area (`iparea_offset` =
/// gap length), which `smc_clc_msg_prop_valid` accepts: length = 40 + off + 8 + 17·n + 4 (§9.2).
fn v1_proposal_with_gap(gap: &[u8]) -> Vec<u8> {
    let mut b = hwipl("lo-proposal-smcr-ipv4");
    assert_eq!(b.len(), 52);
    assert_eq!(&b[38..40], &[0, 0], "iparea_offset 0");
    b[38..40].copy_from_slice(&(gap.len() as u16).to_be_bytes());
    b.splice(40..40, gap.iter().copied());
    let n = b.len();
    set_length(&mut b, n);
    b
}

#[test]
fn v1_proposal_with_iparea_gap_decodes_and_only_a_zero_gap_round_trips() {
    let packed = ClcRepr::parse(&hwipl("lo-proposal-smcr-ipv4"), Mode::Strict)
        .unwrap()
        .repr;
    let zero = v1_proposal_with_gap(&[0; 8]);
    let junk = v1_proposal_with_gap(b"GAPBYTES");
    for b in [&zero, &junk] {
        // the kernel accepts both, and both decode to the same fields as the packed message
        let d = ClcRepr::parse(b, Mode::Strict).unwrap();
        let (ClcRepr::Proposal(p), ClcRepr::Proposal(q)) = (&d.repr, &packed) else {
            panic!()
        };
        assert_eq!(p.iparea_offset, 8);
        assert_eq!(p.prefix, q.prefix);
        assert_eq!((p.id_for_peer, p.gid, p.mac), (q.id_for_peer, q.gid, q.mac));
        assert_eq!(p.smcd, None);
        stable(b);
    }
    // a zero gap is what emit writes: byte-exact
    let d = ClcRepr::parse(&zero, Mode::Lenient).unwrap();
    assert_eq!(d.repr.to_vec().unwrap(), zero);
    // bytes in the gap belong to no field: reported, and not re-emitted (documented bound)
    let d = ClcRepr::parse(&junk, Mode::Lenient).unwrap();
    assert!(
        d.anomalies
            .iter()
            .any(|a| *a == Anomaly::UncoveredBytes { at: 40, len: 8 }),
        "{:?}",
        d.anomalies
    );
    assert_eq!(d.repr.to_vec().unwrap(), zero);
}

#[test]
fn unpacked_v2_proposal_decodes_and_only_zero_gaps_round_trip() {
    // the real SMC-Rv2 Proposal, now also offering SMC-R v1 with iparea_offset 0: the kernel
    // finds the prefix area at 40, inside the SMC-D area, and checks only the length formula
    // (40 + 40 + 8 + 40 + 32 + 4 = 164, §9.2), so 8 bytes before the trailer belong to no area
    let base = hex(DEB_SMCR_PROPOSAL_156);
    assert_eq!((base.len(), base[7]), (156, 0x22));
    let build = |tail: &[u8; 8]| {
        let mut b = base.clone();
        b[7] = 0x20; // version 2, typev2 R, typev1 R
        b.splice(152..152, tail.iter().copied());
        set_length(&mut b, 164);
        b
    };
    let zero = build(&[0; 8]);
    let junk = build(b"GAPBYTES");
    for b in [&zero, &junk] {
        let d = ClcRepr::parse(b, Mode::Strict).unwrap();
        let ClcRepr::Proposal(p) = &d.repr else {
            panic!()
        };
        let v2 = p.v2_ext.unwrap();
        assert_eq!(v2.eid_cnt, 1);
        assert_eq!(p.prefix.unwrap().ipv6_prefixes_cnt, 0);
        stable(b);
    }
    let d = ClcRepr::parse(&zero, Mode::Lenient).unwrap();
    assert!(d
        .anomalies
        .iter()
        .any(|a| matches!(a, Anomaly::AreaNotPacked { .. })));
    assert_eq!(
        d.repr.to_vec().unwrap(),
        zero,
        "overlap and zero gap: byte-exact"
    );
    let d = ClcRepr::parse(&junk, Mode::Lenient).unwrap();
    assert!(
        d.anomalies
            .iter()
            .any(|a| *a == Anomaly::UncoveredBytes { at: 152, len: 8 }),
        "{:?}",
        d.anomalies
    );
    assert_eq!(d.repr.to_vec().unwrap(), zero);
}
