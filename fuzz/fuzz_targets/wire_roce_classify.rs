//! Entry points `RocePacket::parse_v2` (UDP/4791 payload) and `RocePacket::parse_v1` (Ethertype
//! 0x8915 payload), then `content` and `smc` as a dissector calls them: never panic; a decoded
//! packet re-emits byte for byte; a SEND the classifier accepts decodes in lenient mode.
#![no_main]
use libfuzzer_sys::fuzz_target;
use smc_wire::{Mode, RoceContent, RocePacket};

fuzz_target!(|data: &[u8]| {
    for p in [RocePacket::parse_v2(data), RocePacket::parse_v1(data)]
        .into_iter()
        .flatten()
    {
        let _ = p.to_string();
        if let RoceContent::Send { class, .. } = p.content() {
            let lenient = p.smc(Mode::Lenient);
            if class.is_accepted() {
                assert!(matches!(lenient, Some(Ok(_))), "{class:?} but {lenient:?}");
            }
            let _ = p.smc(Mode::Strict);
        }
        let mut out = vec![0u8; p.buffer_len()];
        assert_eq!(p.emit(&mut out), Ok(data.len()));
        assert_eq!(&out[..], data, "lossless re-emit");
    }
});
