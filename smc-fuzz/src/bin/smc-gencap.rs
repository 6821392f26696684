//! `smc-gencap`: writes a large, realistic capture for benchmarks (issue 5), mostly ordinary
//! TCP and UDP with thousands of SMC connections of every outcome and RoCEv2 LLC/CDC/RDMA WRITE
//! frames, all SMC bytes taken from real kernels' captures. Same seed, same bytes.
use clap::Parser;
use smc_fuzz::gencap::{generate, GenConfig};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Write a realistic capture of mixed traffic with SMC handshakes of every outcome; print, as
/// JSON, what is in it (the verdicts smcdump must find).
///
/// Examples:
///   smc-gencap --size 1G -o /tmp/mixed-1g.pcap
///   smc-gencap --size 20M --seed 7 -o small.pcap --report small.json
#[derive(Parser, Debug)]
#[command(name = "smc-gencap", version, verbatim_doc_comment)]
struct Cli {
    /// Output pcap (`-` = stdout).
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// Approximate size: new flows stop at this many bytes, open ones finish (K, M, G suffixes).
    #[arg(long, default_value = "1G", value_parser = parse_size)]
    size: u64,
    /// PRNG seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Flows open at once (their packets interleave).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Write the report here instead of stderr.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
}

fn parse_size(s: &str) -> Result<u64, String> {
    let (num, mult) = match s.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&s[..s.len() - 1], 1u64 << 10),
        Some('M') => (&s[..s.len() - 1], 1 << 20),
        Some('G') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>()
        .map(|n| n.saturating_mul(mult))
        .map_err(|e| format!("size {s:?}: {e}"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let cfg = GenConfig {
        seed: cli.seed,
        target_bytes: cli.size,
        concurrency: cli.concurrency,
    };
    let result = if cli.output.as_os_str() == "-" {
        generate(
            &cfg,
            std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock()),
        )
    } else {
        std::fs::File::create(&cli.output)
            .and_then(|f| generate(&cfg, std::io::BufWriter::with_capacity(1 << 20, f)))
    };
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("smc-gencap: {}: {e}", cli.output.display());
            return ExitCode::from(1);
        }
    };
    let json = serde_json::to_string_pretty(&report).unwrap_or_default();
    let written = match &cli.report {
        Some(p) => std::fs::write(p, json + "\n"),
        None => writeln!(std::io::stderr(), "{json}"),
    };
    if let Err(e) = written {
        eprintln!("smc-gencap: writing the report: {e}");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
