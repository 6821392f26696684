//! Entry point `LlcRepr::parse` in both modes, with `SendClass::of`: never panics; strict
//! acceptance implies lenient acceptance with the same representation and no kernel-check
//! anomaly; decode → emit → decode is stable and lossless over the decoded layout; the RoCE
//! classifier accepts exactly what strict mode accepts (CONFIRM LINK flags aside, a link-setup
//! check the receive path does not make).
#![no_main]
use libfuzzer_sys::fuzz_target;
use smc_wire::{Error, KernelCheck, LlcRepr, Mode, SendClass};

fuzz_target!(|data: &[u8]| {
    let strict = LlcRepr::parse(data, Mode::Strict);
    let lenient = LlcRepr::parse(data, Mode::Lenient);
    if let Ok(s) = &strict {
        let l = lenient.as_ref().expect("lenient accepts what strict accepts");
        assert_eq!(s.repr, l.repr);
        assert!(!l.anomalies.has_check());
    }
    if data.first() != Some(&0xfe) {
        let accepted = SendClass::of(data).is_accepted();
        match &strict {
            Ok(_) => assert!(accepted),
            Err(Error::Check {
                check: KernelCheck::LlcConfLinkFlags { .. },
            }) => assert!(accepted),
            Err(_) => assert!(!accepted),
        }
    }
    let Ok(d) = lenient else { return };
    let _ = d.repr.to_string();
    let bytes = d.repr.to_vec().expect("a decoded representation emits");
    assert_eq!(&bytes[..], &data[..bytes.len()], "lossless re-emit");
    let again = LlcRepr::parse(&bytes, Mode::Lenient).expect("emitted bytes decode");
    assert_eq!(d.repr, again.repr, "decode→emit→decode changed the representation");
});
