//! Entry points `CdcRepr::parse` (both modes) and `SmcdCdcRepr::parse` (both byte orders):
//! never panic; strict acceptance implies the same lenient representation; decode → emit →
//! decode is stable, and the re-emitted bytes equal the input wherever the input has them.
#![no_main]
use libfuzzer_sys::fuzz_target;
use smc_wire::{CdcRepr, Mode, SendClass, SmcdCdcByteOrder, SmcdCdcRepr};

fuzz_target!(|data: &[u8]| {
    let strict = CdcRepr::parse(data, Mode::Strict);
    let lenient = CdcRepr::parse(data, Mode::Lenient);
    if data.first() == Some(&0xfe) {
        assert_eq!(strict.is_ok(), SendClass::of(data) == SendClass::Cdc);
    }
    if let Ok(s) = &strict {
        let l = lenient.as_ref().expect("lenient accepts what strict accepts");
        assert_eq!(s.repr, l.repr);
        assert!(!l.anomalies.has_check());
    }
    if let Ok(d) = lenient {
        let _ = d.repr.to_string();
        let bytes = d.repr.to_vec().expect("a decoded CDC emits");
        let n = bytes.len().min(data.len());
        assert_eq!(&bytes[..n], &data[..n], "lossless re-emit");
        let again = CdcRepr::parse(&bytes, Mode::Lenient).expect("emitted bytes decode");
        assert_eq!(d.repr, again.repr);
    }
    for order in [SmcdCdcByteOrder::Big, SmcdCdcByteOrder::Little] {
        if let Ok(d) = SmcdCdcRepr::parse(data, order, Mode::Lenient) {
            let _ = d.repr.to_string();
            let bytes = d.repr.to_vec().expect("a decoded SMC-D CDC emits");
            assert_eq!(&bytes[..], &data[..bytes.len()]);
            let again = SmcdCdcRepr::parse(&bytes, order, Mode::Strict).expect("decodes");
            assert_eq!(d.repr, again.repr);
        }
    }
});
