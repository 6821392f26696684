//! The capture generator's report is what smcdump finds: every verdict, decline reason and
//! RoCE message count of a generated capture matches exactly (issue 5: the benchmark file must
//! be known, not just large).

use smc_dissect::output::NullSink;
use smc_dissect::source::PcapSource;
use smc_dissect::Config;
use smc_fuzz::gencap::{generate, GenConfig};

fn check(seed: u64, size: u64) {
    let cfg = GenConfig {
        seed,
        target_bytes: size,
        concurrency: 64,
    };
    let mut file = Vec::new();
    let report = generate(&cfg, &mut file).unwrap();
    assert_eq!(report.file_bytes, file.len() as u64);
    assert!(report.connections > 50, "{report:?}");
    let mut src = PcapSource::from_reader("gen", Box::new(std::io::Cursor::new(file))).unwrap();
    let st = smc_dissect::run(&mut src, &Config::default(), &mut NullSink, |_, _| {}).unwrap();
    assert_eq!(st.frames, report.frames);
    assert_eq!(st.connections, report.connections);
    assert_eq!(st.verdicts, report.verdicts);
    assert_eq!(st.decline_reasons, report.decline_reasons);
    assert_eq!(st.llc_messages, report.llc_messages);
    assert_eq!(st.cdc_messages, report.cdc_messages);
    assert_eq!(st.rdma_writes, report.rdma_writes);
    assert_eq!(
        (st.clc_rejected, st.flows_evicted, st.truncated_frames),
        (0, 0, 0)
    );
    // every kind of outcome is there
    for v in [
        "smc",
        "declined",
        "fallback-no-echo",
        "option-echoed-no-clc",
        "clc-without-option",
        "incomplete",
    ] {
        assert!(
            report.verdicts.get(v).is_some_and(|n| *n > 0),
            "{v}: {report:?}"
        );
    }
}

#[test]
fn smcdump_finds_exactly_what_the_generator_made() {
    check(1, 8 << 20);
    check(42, 6 << 20);
}
