//! Helpers shared by the smc-wire integration tests.
#![allow(dead_code)]

use smc_wire::clc::Eid;
use smc_wire::{ClcRepr, Decoded, Mode};

/// Bytes from a hex string (whitespace ignored).
pub fn hex(s: &str) -> Vec<u8> {
    let clean: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(clean.len() % 2 == 0, "odd hex length");
    (0..clean.len() / 2)
        .map(|i| u8::from_str_radix(&clean[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// An EID padded with zero bytes (the smc-go vectors pad with NULs, Linux with blanks).
pub fn eid0(text: &str) -> Eid {
    let mut e = [0u8; 32];
    e[..text.len()].copy_from_slice(text.as_bytes());
    Eid(e)
}

/// Strict decode that must succeed with no anomalies, and re-encode byte-exact.
pub fn strict_clean(bytes: &[u8]) -> ClcRepr {
    let d =
        ClcRepr::parse(bytes, Mode::Strict).unwrap_or_else(|e| panic!("strict decode failed: {e}"));
    assert!(
        d.anomalies.is_empty(),
        "unexpected anomalies: {:?}",
        d.anomalies
    );
    assert_reencodes(&d, bytes);
    let l = ClcRepr::parse(bytes, Mode::Lenient).unwrap();
    assert_eq!(l.repr, d.repr, "lenient and strict disagree");
    d.repr
}

/// The representation re-emits to exactly the given bytes.
pub fn assert_reencodes(d: &Decoded<ClcRepr>, bytes: &[u8]) {
    let out = d.repr.to_vec().unwrap();
    assert_eq!(hexdump(&out), hexdump(bytes), "re-encode differs");
}

/// Readable dump for assertion messages.
pub fn hexdump(b: &[u8]) -> String {
    b.chunks(16)
        .enumerate()
        .map(|(i, c)| {
            format!(
                "{:04x} {}\n",
                i * 16,
                c.iter()
                    .map(|x| format!("{x:02x}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        })
        .collect()
}

/// The vectors from captures/shared/*.json by name.
pub fn smcgo_clc(name: &str) -> Vec<u8> {
    let text = include_str!("../../../captures/shared/smc-go-clc-testvectors.json");
    let key = format!("\"{name}\"");
    let at = text
        .find(&key)
        .unwrap_or_else(|| panic!("no vector {name}"));
    let rest = &text[at + key.len()..];
    let quoted: Vec<&str> = rest.split('"').collect();
    // after the test name: , "<var>", "<hex>"
    hex(quoted[3])
}

/// The hwipl/smc vectors (real 2019 kernel bytes) by name.
pub fn hwipl(name: &str) -> Vec<u8> {
    let text = include_str!("../../../captures/shared/hwipl-smc-examples-clc-hex.json");
    let key = format!("\"{name}\"");
    let at = text
        .find(&key)
        .unwrap_or_else(|| panic!("no vector {name}"));
    let rest = &text[at..];
    let h = rest.find("\"hex\": \"").unwrap() + 8;
    let end = rest[h..].find('"').unwrap();
    hex(&rest[h..h + end])
}

/// Reference §10 synthetic SMC-Dv2 loopback-ism Proposal (224 bytes).
pub const REF_PROPOSAL_224: &str =
    include_str!("../../../captures/reference/ref-proposal-smcd-v2-224.hex");
/// Reference §10 synthetic SMC-Dv2 first-contact Accept, release 1 (130 bytes).
pub const REF_ACCEPT_130: &str =
    include_str!("../../../captures/reference/ref-accept-smcd-v2-fce-130.hex");
