//! Entry point `smc_fuzz::peer::fuzz_rx`: arbitrary Ethernet frames into the reference peer's
//! stack (ARP, NDP, IPv4, IPv6, ICMP, TCP with a listening and a connecting socket) and its CLC
//! reader. Never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    smc_fuzz::peer::fuzz_rx(data);
});
