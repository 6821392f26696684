//! `smc-lab`: boots real Linux kernels with SMC under QEMU, runs scenarios, brings
//! back pcaps and the kernel's smc_diag view. All logic is in `smc_fuzz::lab`.

use clap::{Parser, Subcommand, ValueEnum};
use smc_fuzz::lab::{self, kernel::KernelKind, run, scenario};
use std::path::PathBuf;
use std::process::ExitCode;

/// Real-kernel SMC lab: Debian's and our own 6.12 kernels under QEMU (TCG), AF_SMC
/// scenarios, pcaps plus the kernel's own smc_diag view of every connection.
///
/// Typical use:
///   smc-lab list                       what scenarios exist
///   smc-lab run lo-smcd                run one (prepares kernels on first use)
///   smc-lab run --all                  run all, print a summary
///   smc-lab record deb-nodev           run and copy pcap + diag JSON into captures/lab/
///   smc-lab run deb-smcr --debian-kernel 6.1.0-56-amd64
///
/// First use installs host packages (apt-get, root), downloads Debian's kernel
/// package and builds our CONFIG_SMC_LO kernel (~4 min on 2 cores); both are cached
/// under $XDG_CACHE_HOME/smc-lab (or ~/.cache/smc-lab; override: SMC_LAB_CACHE).
/// See smc-fuzz/lab/README.md.
#[derive(Parser, Debug)]
#[command(name = "smc-lab", version, verbatim_doc_comment)]
struct Args {
    /// Debian kernel release to use instead of the newest 6.12
    /// (uname -r form: 6.12.117+deb12-amd64, 6.1.0-56-amd64). Env: SMC_LAB_DEBIAN_KERNEL.
    #[arg(long, global = true, value_name = "RELEASE")]
    debian_kernel: Option<String>,
    /// Do not apt-get install missing host packages; fail instead.
    #[arg(long, global = true)]
    no_install: bool,
    /// Parallel jobs for the kernel build (default: number of CPUs).
    #[arg(long, global = true)]
    jobs: Option<usize>,
    /// Use this static smc-guest binary instead of building it.
    #[arg(long, global = true, value_name = "PATH")]
    guest: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// List the scenarios with their kernel and a one-line description.
    List,
    /// Print the guest plan(s) of a scenario as JSON.
    Show {
        /// Scenario name.
        scenario: String,
    },
    /// Install packages, fetch/build kernels, build the guest and the initramfs.
    Prepare {
        /// Which kernels.
        #[arg(long, value_enum, default_value_t = Which::All)]
        kernel: Which,
    },
    /// Run scenarios; results in --out/<kernel>/<scenario>/ (pcap, diag JSON, consoles).
    Run {
        /// Scenario names (see `smc-lab list`).
        scenarios: Vec<String>,
        /// Run every scenario.
        #[arg(long)]
        all: bool,
        /// Output root (default: <cache>/runs).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Run scenarios and copy pcap + diag JSON into captures/lab/<kernel>/,
    /// updating the table in captures/README.md.
    Record {
        /// Scenario names.
        scenarios: Vec<String>,
        /// Record every scenario.
        #[arg(long)]
        all: bool,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum Which {
    Debian,
    SmcLo,
    All,
}

fn selected(names: &[String], all: bool) -> Result<Vec<scenario::Scenario>, String> {
    if all {
        return Ok(scenario::catalogue());
    }
    if names.is_empty() {
        return Err("name at least one scenario (smc-lab list) or pass --all".into());
    }
    names
        .iter()
        .map(|n| scenario::find(n).ok_or_else(|| format!("unknown scenario {n:?} (smc-lab list)")))
        .collect()
}

fn kinds(scs: &[scenario::Scenario]) -> Vec<KernelKind> {
    let mut k: Vec<KernelKind> = scs.iter().map(|s| s.kernel).collect();
    k.dedup();
    if k.contains(&KernelKind::Debian) && k.contains(&KernelKind::SmcLo) {
        return vec![KernelKind::Debian, KernelKind::SmcLo];
    }
    k
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match real_main(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("smc-lab: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn real_main(args: Args) -> Result<ExitCode, String> {
    let mut opts = run::Options::default();
    if args.debian_kernel.is_some() {
        opts.debian_release = args.debian_kernel.clone();
    }
    opts.install = !args.no_install;
    if let Some(j) = args.jobs {
        opts.jobs = j;
    }
    opts.guest = args.guest.clone();
    match args.cmd {
        Cmd::List => {
            for s in scenario::catalogue() {
                println!(
                    "{:<22} {:<7} {}",
                    s.name,
                    format!("{:?}", s.kernel),
                    s.about
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Show { scenario: name } => {
            let s = scenario::find(&name).ok_or_else(|| format!("unknown scenario {name:?}"))?;
            for (vm, steps) in run::plans(&s) {
                let j = serde_json::to_string_pretty(&steps).map_err(|e| e.to_string())?;
                println!("# VM {vm}\n{j}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Prepare { kernel } => {
            let k = match kernel {
                Which::Debian => vec![KernelKind::Debian],
                Which::SmcLo => vec![KernelKind::SmcLo],
                Which::All => vec![KernelKind::Debian, KernelKind::SmcLo],
            };
            let p = run::prepare(&opts, &k).map_err(|e| e.to_string())?;
            for b in [&p.debian, &p.smclo].into_iter().flatten() {
                println!(
                    "{:<40} {} {}",
                    b.tag,
                    b.kernel.display(),
                    b.initrd.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Run {
            scenarios,
            all,
            out,
        } => {
            let scs = selected(&scenarios, all)?;
            let p = run::prepare(&opts, &kinds(&scs)).map_err(|e| e.to_string())?;
            let out = out.unwrap_or_else(run::default_out_root);
            run_many(&p, &scs, &out, false)
        }
        Cmd::Record { scenarios, all } => {
            let scs = selected(&scenarios, all)?;
            let p = run::prepare(&opts, &kinds(&scs)).map_err(|e| e.to_string())?;
            run_many(&p, &scs, &run::default_out_root(), true)
        }
    }
}

fn run_many(
    p: &run::Prepared,
    scs: &[scenario::Scenario],
    out: &std::path::Path,
    record: bool,
) -> Result<ExitCode, String> {
    let mut failed = 0;
    for s in scs {
        match run::run_scenario(p, s, out) {
            Ok(o) => {
                println!(
                    "PASS-RUN {:<22} {:6.1}s  {}",
                    s.name,
                    o.secs,
                    run::summary(&o.diag)
                );
                println!("         {}", o.dir.display());
                if record {
                    let boot = p.bootable(s.kernel).map_err(|e| e.to_string())?;
                    let row = run::record(&o, s, boot).map_err(|e| e.to_string())?;
                    println!("         recorded: {row}");
                }
            }
            Err(e) => {
                failed += 1;
                println!("FAIL-RUN {:<22} {e}", s.name);
            }
        }
    }
    lab::log(format!("{} scenario(s), {failed} failed", scs.len()));
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
