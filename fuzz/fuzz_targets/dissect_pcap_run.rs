//! Entry point `smc_dissect::run`: arbitrary bytes as a pcap/pcapng file through the whole
//! pipeline (source, link layer, IP, TCP reassembly, CLC, handshake, RoCE) into every sink. Never
//! panics; errors are values.
#![no_main]
use libfuzzer_sys::fuzz_target;
use smc_dissect::output::{JsonSink, Output, TextSink, VerboseSink};
use smc_dissect::source::PcapSource;
use smc_dissect::Config;

fuzz_target!(|data: &[u8]| {
    let cfg = Config { tracker: smc_dissect::conn::TrackerConfig { max_flows: 8, idle_timeout_secs: 5 }, ..Config::default() };
    // the sink is chosen from the length, so every seed exercises one of them per run
    let Ok(mut src) = PcapSource::from_reader("fuzz", Box::new(std::io::Cursor::new(data.to_vec()))) else { return };
    let mut sink = match data.len() % 3 {
        0 => Output::Text(TextSink::new(std::io::sink())),
        1 => Output::Verbose(VerboseSink::new(std::io::sink())),
        _ => Output::Json(JsonSink::new(std::io::sink())),
    };
    let _ = smc_dissect::run(&mut src, &cfg, &mut sink, |_, _| {});
});
