//! Criterion benchmarks: decode and emit of the CDC, LLC and RoCE headers over real bytes (the
//! smc-go test vectors, probably real ibdump bytes, reference §10) and x86 v2 LLCs as a 6.12
//! sender writes them (§15). Ids: `decode/<message>`, `emit/<message>`, plus `classify/<frame>`
//! (a whole RoCEv2 UDP payload: BTH, SEND classification and the message decode).
use criterion::{criterion_group, criterion_main, Criterion};
use smc_wire::{
    BthRepr, CdcRepr, LlcRepr, Mode, RocePacket, SendClass, SmcdCdcByteOrder, SmcdCdcRepr,
};
use std::hint::black_box;

fn hex(s: &str) -> Vec<u8> {
    let c: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..c.len() / 2)
        .map(|i| u8::from_str_radix(&c[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

fn smcgo(name: &str) -> Vec<u8> {
    let text = include_str!("../../captures/shared/smc-go-llc-testvectors.json");
    let key = format!("\"{name}\"");
    let at = text.find(&key).unwrap();
    hex(text[at + key.len()..].split('"').nth(1).unwrap())
}

fn llc_messages() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("llc_confirm_link", smcgo("llc_llc_confirmlink_test.go")),
        ("llc_add_link", smcgo("llc_llc_addlink_test.go")),
        ("llc_add_link_cont", smcgo("llc_llc_addlinkcont_test.go")),
        ("llc_delete_link", smcgo("llc_llc_deletelink_test.go")),
        ("llc_confirm_rkey", smcgo("llc_llc_confirmrkey_test.go")),
        ("llc_delete_rkey", smcgo("llc_llc_deleterkey_test.go")),
        // x86 v2 (LE length and rkey count), tests/llc_cdc.rs
        (
            "llc_confirm_link_v2_le",
            hex("212c0003020000000001 00000000000000000000ffffc0000201 000011 01 00010001 02ff 0000000000000000"),
        ),
        (
            "llc_add_link_v2_le_88",
            hex("22580000 020000000001 0000 00000000000000000000ffffc0000201 000012 02 03 abcdef 0000000000000000
                 8000 00000000000000000000ffffc0000201 0000000000000000 0100
                 0000157d 00001600 00000000f0a60000"),
        ),
        (
            "llc_delete_rkey_v2_le_48",
            hex("29300000 0a000000 00000100 00000101 00000102 00000103 00000104
                 00000105 00000106 00000107 00000108 00000109"),
        ),
    ]
}

fn bench(c: &mut Criterion) {
    // CDC
    let cdc = smcgo("llc_cdc_test.go");
    let repr = CdcRepr::parse(&cdc, Mode::Strict).unwrap().repr;
    c.bench_function("decode/cdc", |b| {
        b.iter(|| CdcRepr::parse(black_box(&cdc), Mode::Strict))
    });
    let mut out = [0u8; 44];
    c.bench_function("emit/cdc", |b| b.iter(|| black_box(&repr).emit(&mut out)));

    // SMC-D CDC header (synthetic LE dump, src/smcd_cdc.rs tests)
    let smcd = hex("fe00000000000000 0100001000000000 0000640000000080 0000000000000000");
    let srepr = SmcdCdcRepr::parse(&smcd, SmcdCdcByteOrder::Little, Mode::Strict)
        .unwrap()
        .repr;
    c.bench_function("decode/smcd_cdc", |b| {
        b.iter(|| SmcdCdcRepr::parse(black_box(&smcd), SmcdCdcByteOrder::Little, Mode::Strict))
    });
    let mut out32 = [0u8; 32];
    c.bench_function("emit/smcd_cdc", |b| {
        b.iter(|| black_box(&srepr).emit(&mut out32))
    });

    // LLC
    for (name, bytes) in llc_messages() {
        let d = LlcRepr::parse(&bytes, Mode::Strict).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(d.repr.to_vec().unwrap(), bytes, "{name} re-encodes");
        c.bench_function(&format!("decode/{name}"), |b| {
            b.iter(|| LlcRepr::parse(black_box(&bytes), Mode::Strict))
        });
        let repr = d.repr;
        let mut out = vec![0u8; repr.buffer_len()];
        c.bench_function(&format!("emit/{name}"), |b| {
            b.iter(|| black_box(&repr).emit(&mut out))
        });
    }

    // BTH
    let bth = smcgo("llc_bth_test.go");
    let brepr = BthRepr::parse(&bth, Mode::Strict).unwrap().repr;
    c.bench_function("decode/bth", |b| {
        b.iter(|| BthRepr::parse(black_box(&bth), Mode::Strict))
    });
    let mut out12 = [0u8; 12];
    c.bench_function("emit/bth", |b| {
        b.iter(|| black_box(&brepr).emit(&mut out12))
    });

    // whole RoCEv2 payloads: BTH + SEND + ICRC, classified and decoded
    for (name, msg) in [
        ("rocev2_cdc", cdc.clone()),
        ("rocev2_confirm_link", smcgo("llc_llc_confirmlink_test.go")),
    ] {
        let mut udp = bth.clone();
        udp.extend_from_slice(&msg);
        udp.extend_from_slice(&[0; 4]);
        c.bench_function(&format!("classify/{name}"), |b| {
            b.iter(|| {
                let p = RocePacket::parse_v2(black_box(&udp)).unwrap();
                SendClass::of(p.payload)
            })
        });
        c.bench_function(&format!("decode/{name}"), |b| {
            b.iter(|| {
                let p = RocePacket::parse_v2(black_box(&udp)).unwrap();
                p.smc(Mode::Strict)
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
