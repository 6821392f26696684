//! Entry point `ClcRepr::parse` in both modes: never panics; strict acceptance implies lenient
//! acceptance without kernel-check anomalies.
#![no_main]
use libfuzzer_sys::fuzz_target;
use smc_wire::{ClcRepr, Mode};

fuzz_target!(|data: &[u8]| {
    let strict = ClcRepr::parse(data, Mode::Strict);
    let lenient = ClcRepr::parse(data, Mode::Lenient);
    if let Ok(s) = strict {
        let l = lenient.expect("lenient accepts what strict accepts");
        assert_eq!(s.repr, l.repr);
        assert!(!l.anomalies.has_check());
    }
});
