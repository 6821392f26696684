//! Criterion benchmarks: decode and emit of each CLC message type over real (or reference) bytes.
//! Ids: `decode/<message>`, `emit/<message>`, plus `frame/…` and `tcp_option/find`.
use criterion::{criterion_group, criterion_main, Criterion};
use smc_wire::{ClcRepr, Mode};
use std::hint::black_box;

fn hex(s: &str) -> Vec<u8> {
    let c: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..c.len() / 2)
        .map(|i| u8::from_str_radix(&c[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

fn messages() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        // hwipl/smc real 2019 kernel bytes (reference §10)
        ("proposal_v1_smcr_52", hex("e2d4c3d901003410b1a098039babcdeffe800000000000009a039bfffeabcdef98039babcdef00007f00000008000000e2d4c3d9")),
        ("accept_v1_smcr_68", hex("e2d4c3d902004418b1a098039babcdeffe800000000000009a039bfffeabcdef98039babcdef0000e40000157d0100000005230000000000f0a600000072f5fee2d4c3d9")),
        ("confirm_v1_smcr_68", hex("e2d4c3d903004410b1a098039babcdeffe800000000000009a039bfffeabcdef98039babcdef0000e50000187f0100000006230000000000f0a40000000d89a4e2d4c3d9")),
        ("decline_v1_28", hex("e2d4c3d904001c1025252525252525000303000000000000e2d4c3d9")),
        // reference §10 loopback-ism v2 examples
        ("proposal_v2_smcd_224", hex(include_str!("../../captures/reference/ref-proposal-smcd-v2-224.hex"))),
        ("accept_v2_smcd_fce_130", hex(include_str!("../../captures/reference/ref-accept-smcd-v2-fce-130.hex"))),
    ]
}

fn bench(c: &mut Criterion) {
    let msgs = messages();
    for (name, bytes) in &msgs {
        assert!(
            ClcRepr::parse(bytes, Mode::Strict).is_ok(),
            "{name} must be valid"
        );
        c.bench_function(&format!("decode/{name}"), |b| {
            b.iter(|| ClcRepr::parse(black_box(bytes), Mode::Strict))
        });
        c.bench_function(&format!("decode_lenient/{name}"), |b| {
            b.iter(|| ClcRepr::parse(black_box(bytes), Mode::Lenient))
        });
        let repr = ClcRepr::parse(bytes, Mode::Strict).unwrap().repr;
        let mut out = vec![0u8; repr.buffer_len()];
        c.bench_function(&format!("emit/{name}"), |b| {
            b.iter(|| black_box(&repr).emit(&mut out))
        });
    }
    let mut stream = Vec::new();
    for (_, b) in &msgs {
        stream.extend_from_slice(b);
    }
    c.bench_function("frame/six_messages", |b| {
        b.iter(|| {
            let mut rest = black_box(&stream[..]);
            let mut n = 0;
            while let Ok((_, r)) = smc_wire::clc::frame(rest) {
                rest = r;
                n += 1;
            }
            n
        })
    });
    let opts = hex("020405b40402080a000102030000000001030307 0101fe06e2d4c3d9");
    c.bench_function("tcp_option/find", |b| {
        b.iter(|| smc_wire::tcp_option::find(black_box(&opts)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
