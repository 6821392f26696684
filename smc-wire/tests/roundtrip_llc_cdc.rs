//! Properties of the LLC, CDC and RoCE codecs (issue 3 "Must show"), driven by the `Arbitrary`
//! impls the fuzz targets use:
//! * a representation made valid with `normalize()` emits and re-parses to itself, and passes
//!   the kernel's strict checks when its type is registered;
//! * any byte string parses or returns an error, never panics (random bytes, LLC/CDC-looking
//!   bytes, mutations of the real vectors);
//! * decode → emit → decode is stable, and lossless: every byte of an LLC layout is a field,
//!   so the emitted message equals the decoded bytes;
//! * the RoCE classifier and the strict decoders agree on what the kernel accepts.

use arbitrary::{Arbitrary, Unstructured};
use proptest::prelude::*;
use smc_wire::{
    Anomaly, BthRepr, CdcRepr, GrhRepr, KernelCheck, LlcRepr, LlcType, Mode, RocePacket, SendClass,
    SmcdCdcByteOrder, SmcdCdcRepr,
};

fn hex(s: &str) -> Vec<u8> {
    let clean: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..clean.len() / 2)
        .map(|i| u8::from_str_radix(&clean[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// Every smc-go LLC/CDC vector plus x86 v2 messages (from tests/llc_cdc.rs).
fn vectors() -> Vec<Vec<u8>> {
    let text = include_str!("../../captures/shared/smc-go-llc-testvectors.json");
    let mut v: Vec<Vec<u8>> = text
        .split("[\"")
        .skip(1)
        .map(|s| hex(s.split('"').nth(2).unwrap()))
        .collect();
    v.push(hex("22 58 00 00  02 00 00 00 00 01  00 00
         00 00 00 00 00 00 00 00 00 00 ff ff c0 00 02 01  00 00 12  02  03  ab cd ef
         00 00 00 00 00 00 00 00
         80 00  00 00 00 00 00 00 00 00 00 00 ff ff c0 00 02 01  00 00 00 00 00 00 00 00  01 00
         00 00 15 7d  00 00 16 00  00 00 00 00 f0 a6 00 00"));
    v.push(hex(
        "29 30 00 00  0a  00  00 00
         00 00 01 00  00 00 01 01  00 00 01 02  00 00 01 03  00 00 01 04
         00 00 01 05  00 00 01 06  00 00 01 07  00 00 01 08  00 00 01 09",
    ));
    v.push(hex(
        "25 3c 00 00  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
         02  00 00 00
         00 00 00 00 00 00 00 00 00 00 ff ff c0 00 02 01
         00 00 00 00 00 00 00 00 00 00 ff ff c0 00 02 02",
    ));
    v
}

/// A RoCEv2 UDP payload: BTH + `payload` + zero ICRC.
fn rocev2(opcode: u8, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut b = vec![
        opcode, flags, 0xff, 0xff, 0, 0, 1, 7, 0x80, 0x7b, 0x28, 0x94,
    ];
    b.extend_from_slice(payload);
    b.extend_from_slice(&[0; 4]);
    b
}

/// Decode → emit → decode for every decoder; lossless where the layout covers every byte.
fn stable(bytes: &[u8]) {
    // LLC
    let strict = LlcRepr::parse(bytes, Mode::Strict);
    if let Ok(d) = LlcRepr::parse(bytes, Mode::Lenient) {
        if let Ok(s) = &strict {
            assert_eq!(s.repr, d.repr, "strict and lenient disagree");
            assert!(!d.anomalies.has_check());
        }
        let out = d.repr.to_vec().expect("a decoded LLC emits");
        assert_eq!(out[..], bytes[..out.len()], "LLC re-emit is lossless");
        let again = LlcRepr::parse(&out, Mode::Lenient).expect("emitted LLC decodes");
        assert_eq!(d.repr, again.repr, "LLC decode → emit → decode");
    } else {
        assert!(strict.is_err());
    }
    // classifier vs strict decoders
    let class = SendClass::of(bytes);
    if bytes.first() == Some(&LlcType::CDC.0) {
        assert_eq!(
            class == SendClass::Cdc,
            CdcRepr::parse(bytes, Mode::Strict).is_ok()
        );
    } else {
        match (&class, &strict) {
            (c, Ok(_)) => assert!(c.is_accepted(), "strict accepts what the kernel drops"),
            (
                c,
                Err(smc_wire::Error::Check {
                    check: KernelCheck::LlcConfLinkFlags { .. },
                }),
            ) => assert!(c.is_accepted()),
            (c, Err(_)) => assert!(!c.is_accepted(), "{c:?} but strict {strict:?}"),
        }
    }
    // CDC
    let strict = CdcRepr::parse(bytes, Mode::Strict);
    if let Ok(d) = CdcRepr::parse(bytes, Mode::Lenient) {
        if let Ok(s) = &strict {
            assert_eq!(s.repr, d.repr);
        }
        let out = d.repr.to_vec().unwrap();
        if bytes.len() >= out.len() {
            assert_eq!(out[..], bytes[..out.len()], "CDC re-emit is lossless");
        }
        let again = CdcRepr::parse(&out, Mode::Lenient).unwrap();
        assert_eq!(d.repr, again.repr, "CDC decode → emit → decode");
    }
    // SMC-D CDC, both orders
    for order in [SmcdCdcByteOrder::Big, SmcdCdcByteOrder::Little] {
        if let Ok(d) = SmcdCdcRepr::parse(bytes, order, Mode::Lenient) {
            let out = d.repr.to_vec().unwrap();
            assert_eq!(out[..], bytes[..32]);
        }
    }
    // RoCE, both carriages
    for p in [RocePacket::parse_v2(bytes), RocePacket::parse_v1(bytes)]
        .into_iter()
        .flatten()
    {
        let _ = p.content();
        let _ = p.smc(Mode::Strict);
        let _ = p.smc(Mode::Lenient);
        let _ = p.to_string();
        let mut out = vec![0; p.buffer_len()];
        assert_eq!(p.emit(&mut out), Ok(bytes.len()));
        assert_eq!(out, bytes, "RoCE re-emit is lossless");
    }
}

fn arbitrary<'a, T: Arbitrary<'a>>(seed: &'a [u8]) -> Option<T> {
    T::arbitrary(&mut Unstructured::new(seed)).ok()
}

/// An `Unknown` LLC is representable only with a type byte that has no layout.
fn representable(r: &LlcRepr<'_>) -> bool {
    match r {
        LlcRepr::Unknown(u) => u
            .bytes
            .first()
            .is_some_and(|t| !LlcType(*t).has_llc_layout() && *t != LlcType::CDC.0),
        _ => r.buffer_len() >= 44,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn valid_llc_reparses_to_itself(seed in proptest::collection::vec(any::<u8>(), 0..3000)) {
        let Some(mut r) = arbitrary::<LlcRepr>(&seed) else { return Ok(()) };
        r.normalize();
        if !representable(&r) { return Ok(()) }
        let bytes = r.to_vec().expect("a normalized representation emits");
        prop_assert_eq!(bytes.len(), r.buffer_len());
        let d = LlcRepr::parse(&bytes, Mode::Lenient).expect("emitted bytes decode");
        prop_assert_eq!(d.repr, r);
        prop_assert!(!d.anomalies.iter().any(|a| matches!(a, Anomaly::LengthMismatch { .. } | Anomaly::TrailingBytes { .. })),
            "normalized message has length anomalies: {:?}", d.anomalies);
        let registered = r.llc_type().is_registered();
        let conf_ok = match &r {
            LlcRepr::ConfirmLink(c) => c.header.flags.0 & 0x03 != 0,
            _ => true,
        };
        prop_assert_eq!(LlcRepr::parse(&bytes, Mode::Strict).is_ok(), registered && conf_ok);
        prop_assert_eq!(SendClass::of(&bytes).is_accepted(), registered);
    }

    #[test]
    fn cdc_reparses_to_itself(seed in proptest::collection::vec(any::<u8>(), 0..64)) {
        let Some(r) = arbitrary::<CdcRepr>(&seed) else { return Ok(()) };
        let bytes = r.to_vec().unwrap();
        let d = CdcRepr::parse(&bytes, Mode::Lenient).unwrap();
        prop_assert_eq!(d.repr, r);
        prop_assert_eq!(CdcRepr::parse(&bytes, Mode::Strict).is_ok(), r.len == 44);
    }

    #[test]
    fn smcd_cdc_reparses_to_itself(seed in proptest::collection::vec(any::<u8>(), 0..64)) {
        let Some(r) = arbitrary::<SmcdCdcRepr>(&seed) else { return Ok(()) };
        let bytes = r.to_vec().unwrap();
        let d = SmcdCdcRepr::parse(&bytes, r.byte_order, Mode::Strict).unwrap();
        prop_assert_eq!(d.repr, r);
    }

    #[test]
    fn bth_grh_reparse_to_themselves(seed in proptest::collection::vec(any::<u8>(), 0..128)) {
        let mut u = Unstructured::new(&seed);
        let (Ok(mut bth), Ok(mut grh)) = (BthRepr::arbitrary(&mut u), GrhRepr::arbitrary(&mut u)) else { return Ok(()) };
        bth.normalize();
        grh.normalize();
        let mut b = [0u8; 12];
        bth.emit(&mut b).unwrap();
        prop_assert_eq!(BthRepr::parse(&b, Mode::Strict).unwrap().repr, bth);
        let mut g = [0u8; 40];
        grh.emit(&mut g).unwrap();
        prop_assert_eq!(GrhRepr::parse(&g, Mode::Strict).unwrap().repr, grh);
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        stable(&bytes);
    }

    #[test]
    fn llc_looking_bytes_never_panic(
        ty in prop_oneof![0x00u8..0x0b, 0x20u8..0x2b, Just(0xfe), any::<u8>()],
        len in prop_oneof![Just([0x2c, 0x00]), Just([0x00, 0x2c]), any::<[u8; 2]>()],
        flags in any::<u8>(),
        body in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let mut b = vec![ty, len[0], len[1], flags];
        b.extend_from_slice(&body);
        stable(&b);
        stable(&rocev2(0x04, 0xc0, &b));
    }

    #[test]
    fn roce_looking_bytes_never_panic(
        opcode in prop_oneof![0x00u8..0x18, any::<u8>()],
        flags in any::<u8>(),
        body in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        stable(&rocev2(opcode, flags, &body));
        let mut v1 = hex("60200000003c1b01fe800000000000009a039bfffeabcdeffe800000000000009a039bfffeabcdef");
        let inner = rocev2(opcode, flags, &body);
        v1[4..6].copy_from_slice(&(inner.len() as u16).to_be_bytes());
        v1.extend_from_slice(&inner);
        stable(&v1);
    }

    #[test]
    fn mutated_vectors_never_panic(which in 0usize..15, flips in proptest::collection::vec((any::<u16>(), any::<u8>()), 1..8)) {
        let all = vectors();
        let mut b = all[which % all.len()].clone();
        for (at, val) in flips {
            let n = b.len();
            b[usize::from(at) % n] = val;
        }
        stable(&b);
        stable(&rocev2(0x04, 0xc0, &b));
    }
}

#[test]
fn every_vector_is_stable() {
    for v in vectors() {
        stable(&v);
        stable(&rocev2(0x04, 0xc0, &v));
    }
}
