//! smcdump: the thin binary (ripgrep `main.rs` habit). It parses arguments, wires a source to
//! the pipeline and a sink, and maps the outcome to an exit code. No SMC logic lives here.

mod args;

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

/// Exit status for a capture that contained malformed SMC (documented in --help and the README).
const EXIT_MALFORMED_SMC: u8 = 3;

fn main() -> ExitCode {
    let cli = match args::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => 1, // usage errors exit 1 (clap's default would be 2)
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) if is_broken_pipe(e.as_ref()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("smcdump: {e}");
            ExitCode::from(1)
        }
    }
}

fn is_broken_pipe(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            if io.kind() == io::ErrorKind::BrokenPipe {
                return true;
            }
        }
        if let Some(smc_dissect::RunError::Output(io)) = err.downcast_ref::<smc_dissect::RunError>()
        {
            if io.kind() == io::ErrorKind::BrokenPipe {
                return true;
            }
        }
        cur = err.source();
    }
    false
}

fn run(cli: args::Cli) -> Result<u8, Box<dyn std::error::Error>> {
    if let Some(args::Cmd::Decode { hex, json }) = cli.cmd {
        let text = smc_dissect::decode::read_hex_arg(&hex)?;
        let out = smc_dissect::decode::decode_hex(&text, json)?;
        let mut stdout = io::stdout().lock();
        stdout.write_all(out.text.as_bytes())?;
        return Ok(if out.malformed { EXIT_MALFORMED_SMC } else { 0 });
    }
    let stdout_tty = io::stdout().is_terminal();
    let progress = !cli.run.no_progress && io::stderr().is_terminal();
    if cli.run.no_mmap {
        smc_dissect::source::set_mmap(false);
    }
    let cfg = cli.run.into_config(stdout_tty).map_err(Usage)?;
    let stats = if cfg.interface.is_some() {
        smc_dissect::source::live::stop_on_signals()?;
        smc_dissect::run_live(&cfg, io::stdout().lock(), |what| {
            eprintln!("smcdump: capturing on {what}")
        })?
    } else {
        smc_dissect::run_files(&cfg, io::stdout().lock(), progress)?
    };
    Ok(if stats.saw_malformed_smc() {
        EXIT_MALFORMED_SMC
    } else {
        0
    })
}

/// A usage problem found after parsing.
#[derive(Debug)]
struct Usage(String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}
