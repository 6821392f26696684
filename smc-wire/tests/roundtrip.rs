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
