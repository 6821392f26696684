//! Criterion benchmark of the whole pipeline (style §6.11): an in-memory capture through `run`
//! with a `NullSink`, from the pcap reader to the verdicts. Ids: `run/<capture>`, throughput in
//! bytes of capture. Captures: real-kernel lab captures (captures/lab/), one handshake-heavy
//! (500 SMC-D connections over loopback-ism), one RoCE-heavy (SMC-R CDC/LLC/RDMA WRITE), and
//! all lab captures of one kernel in a row. Whole-file runs against tshark are
//! `bench/whole-run.sh`, not this.
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use smc_dissect::output::NullSink;
use smc_dissect::source::PcapSource;
use smc_dissect::Config;
use std::hint::black_box;
use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;

/// Shared bytes a `Cursor` can read without copying them per iteration.
#[derive(Clone)]
struct Bytes(Arc<Vec<u8>>);

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

fn lab(rel: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../captures/lab")
        .join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Several pcaps of the same link type as one: the first header, then every file's records.
fn concat(files: &[Vec<u8>]) -> Vec<u8> {
    let mut out = files[0][..24].to_vec();
    for f in files {
        out.extend_from_slice(&f[24..]);
    }
    out
}

fn run(bytes: &Bytes) -> u64 {
    let mut src = PcapSource::from_reader("bench", Box::new(Cursor::new(bytes.clone()))).unwrap();
    let st = smc_dissect::run(&mut src, &Config::default(), &mut NullSink, |_, _| {}).unwrap();
    st.connections
}

fn bench(c: &mut Criterion) {
    let deb = [
        "deb-nodev.pcap",
        "deb-pnet-srv-norxe.pcap",
        "deb-smcr-cdc-wrap.pcap",
        "deb-smcr-srv-norxe.pcap",
        "deb-smcr-testlink.pcap",
        "deb-smcr.pcap",
        "deb-ueid-mismatch.pcap",
    ]
    .map(|f| lab(&format!("deb-6.12.117+deb12-amd64/{f}")));
    let captures = [
        ("lo-smcd-500", lab("smclo-6.12.117/lo-smcd-500.pcap")),
        (
            "deb-smcr-cdc-wrap",
            lab("deb-6.12.117+deb12-amd64/deb-smcr-cdc-wrap.pcap"),
        ),
        ("deb-6.12-all", concat(&deb)),
    ];
    let mut g = c.benchmark_group("run");
    for (name, data) in captures {
        let bytes = Bytes(Arc::new(data));
        assert!(run(&bytes) > 0, "{name}: no SMC connection found");
        g.throughput(Throughput::Bytes(bytes.0.len() as u64));
        g.bench_function(name, |b| b.iter(|| run(black_box(&bytes))));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
