//! decode → emit → decode: whatever decodes (leniently) re-emits, and the re-emitted bytes decode
//! to the same representation; messages with no uncovered bytes re-emit identically.
#![no_main]
use libfuzzer_sys::fuzz_target;
use smc_wire::{Anomaly, ClcRepr, Mode};

fuzz_target!(|data: &[u8]| {
    let Ok(d) = ClcRepr::parse(data, Mode::Lenient) else { return };
    let bytes = d.repr.to_vec().expect("a decoded repr emits");
    let again = ClcRepr::parse(&bytes, Mode::Lenient).expect("emitted bytes decode");
    assert_eq!(d.repr, again.repr, "decode→emit→decode changed the representation");
    let declared = usize::from(u16::from_be_bytes([data[5], data[6]]));
    let clean = !d.anomalies.iter().any(|a| matches!(a, Anomaly::UncoveredBytes { .. }))
        && d.anomalies.dropped() == 0;
    if clean {
        assert_eq!(&bytes[..], &data[..declared], "lossless re-emit");
    }
});
