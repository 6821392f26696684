//! Entry point `smc_wire::clc::frame`: any byte stream frames or reports an error, never panics,
//! and a framed message is exactly its declared length.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok((msg, next)) = smc_wire::clc::frame(rest) {
        assert_eq!(msg.len(), usize::from(u16::from_be_bytes([msg[5], msg[6]])));
        rest = next;
    }
});
