//! `smc-fuzz`: fuzzes the Linux kernel's SMC CLC handling over the wire (issue 8).
//! See `smc-fuzz --help`.
use clap::{Args, Parser, Subcommand, ValueEnum};
use smc_fuzz::kfuzz::campaign::{self, FindingFile, KernelChoice, Options};
use smc_fuzz::kfuzz::exec::Timing;
use smc_fuzz::kfuzz::gen::{self, Roles};
use smc_fuzz::kfuzz::{minimize, replay};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Fuzzes a real Linux kernel's SMC CLC handling over the wire: the reference peer (userspace
/// TCP/IP, SMC option in SYN/SYN-ACK) sends generated and mutated Proposals, Accepts,
/// Confirms and Declines to a QEMU VM running our SMC_LO kernel — by default the debug build
/// (KASAN, lockdep, hung-task and soft-lockup detectors) — as client and as server. Oracles:
/// the guest console, a liveness probe, and the expected kernel answer from the scenario model.
///
/// Every case derives from (seed, index); findings are written to OUT/findings/ as files that
/// `smc-fuzz replay` runs again on a fresh VM.
///
/// Examples:
///   smc-fuzz run --seed 1 --duration 2h --out /tmp/kf          # a campaign
///   smc-fuzz run --seed 7 --cases 300 --out /tmp/smoke --fail-on-finding crash
///   smc-fuzz show --seed 1 --index 42                           # the case, as JSON
///   smc-fuzz replay captures/kfuzz/smcd-accept-v3.json          # exit 0 = reproduced
///   smc-fuzz minimize OUT/findings/001-kasan/finding.json --out captures/kfuzz/x.json
#[derive(Parser)]
#[command(name = "smc-fuzz", version, verbatim_doc_comment)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run a campaign.
    Run(RunArgs),
    /// Re-run a finding file on a fresh VM; exit 0 if the finding shows again, 1 if not.
    Replay {
        /// Finding file (JSON).
        file: PathBuf,
        /// Record every frame of the replayed cases into this pcap.
        #[arg(long)]
        pcap: Option<PathBuf>,
        /// Work directory (VM share, console).
        #[arg(long, default_value = "/tmp/smc-fuzz-replay")]
        dir: PathBuf,
        /// Keep watching the console this many seconds after the last case (a hang needs the
        /// hung-task detector's 20 s; hang findings wait 45 s anyway).
        #[arg(long, default_value_t = 0)]
        linger: u64,
        /// Replay on this kernel instead of the one the file names (e.g. `debian`: Debian's
        /// stock kernel, whose hung-task timeout is 120 s — use `--linger 130`).
        #[arg(long, value_enum)]
        kernel: Option<KernelArg>,
    },
    /// Minimise a finding file (fresh VM per attempt); writes OUT and OUT with .pcap.
    Minimize {
        /// Finding file (JSON).
        file: PathBuf,
        /// Output JSON (the pcap goes next to it).
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the case for (seed, index) as JSON.
    Show {
        /// Campaign seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Case index.
        #[arg(long)]
        index: u64,
        /// Attempt (regeneration count).
        #[arg(long, default_value_t = 0)]
        attempt: u32,
        /// Roles.
        #[arg(long, value_enum, default_value_t = RoleArg::Both)]
        role: RoleArg,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Client,
    Server,
    Both,
}

impl From<RoleArg> for Roles {
    fn from(r: RoleArg) -> Roles {
        match r {
            RoleArg::Client => Roles::Client,
            RoleArg::Server => Roles::Server,
            RoleArg::Both => Roles::Both,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum KernelArg {
    /// KASAN, lockdep, hang detectors (smc-lab-debug.config).
    Debug,
    /// The lab tier's SMC_LO kernel.
    Lab,
    /// Debian's 6.12 kernel package (SMC-R only; no loopback-ism).
    Debian,
}

impl From<KernelArg> for KernelChoice {
    fn from(k: KernelArg) -> KernelChoice {
        match k {
            KernelArg::Debug => KernelChoice::Debug,
            KernelArg::Lab => KernelChoice::Lab,
            KernelArg::Debian => KernelChoice::Debian,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FailOn {
    /// Never (exit 0 whatever was found).
    Never,
    /// New crash-class findings (console reports, dead VM, liveness), known issues excluded.
    Crash,
    /// Any finding, divergences included.
    Any,
}

#[derive(Args)]
struct RunArgs {
    /// Campaign seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// First case index.
    #[arg(long, default_value_t = 0)]
    start: u64,
    /// Stop after this many cases.
    #[arg(long)]
    cases: Option<u64>,
    /// Stop after this long (`90s`, `30m`, `2h`).
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Roles the peer plays.
    #[arg(long, value_enum, default_value_t = RoleArg::Both)]
    role: RoleArg,
    /// VMs in parallel (one core each under TCG; 1 unless the machine is otherwise idle).
    #[arg(long, default_value_t = 1)]
    vms: usize,
    /// Output directory (stats.json, findings/, VM consoles).
    #[arg(long, default_value = "kfuzz-out")]
    out: PathBuf,
    /// Kernel flavor.
    #[arg(long, value_enum, default_value_t = KernelArg::Debug)]
    kernel: KernelArg,
    /// Cases between liveness probes.
    #[arg(long, default_value_t = 250)]
    live_every: u64,
    /// Hits of a known issue after which cases predicted to hit it again are regenerated.
    #[arg(long, default_value_t = 2)]
    known_hits: u64,
    /// Minimise new crash-class findings at the end (fresh VM per attempt).
    #[arg(long)]
    minimize: bool,
    /// Wait for an expected kernel answer, ms.
    #[arg(long, default_value_t = 3000)]
    answer_ms: u64,
    /// Wait when the model expects silence, ms.
    #[arg(long, default_value_t = 250)]
    quiet_ms: u64,
    /// Exit status 3 when the campaign found this.
    #[arg(long, value_enum, default_value_t = FailOn::Never)]
    fail_on_finding: FailOn,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    // 90, 90s, 30m, 2h, 2h10m
    let bad = || format!("{s:?}: want e.g. 90s, 30m, 2h or 2h10m");
    let mut total = 0u64;
    let mut num = String::new();
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u64 = num.parse().map_err(|_| bad())?;
        num.clear();
        total += n * match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return Err(bad()),
        };
    }
    if !num.is_empty() {
        total += num.parse::<u64>().map_err(|_| bad())?;
    }
    if total == 0 {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

fn run(a: RunArgs) -> Result<ExitCode, String> {
    let opts = Options {
        seed: a.seed,
        start: a.start,
        cases: a.cases,
        duration: a.duration,
        roles: a.role.into(),
        vms: a.vms.max(1),
        out: a.out,
        kernel: a.kernel.into(),
        live_every: a.live_every.max(1),
        known_hits: a.known_hits,
        minimize: a.minimize,
        timing: Timing {
            answer: Duration::from_millis(a.answer_ms),
            quiet: Duration::from_millis(a.quiet_ms),
            ..Timing::default()
        },
        ..Options::default()
    };
    let s = campaign::run(&opts).map_err(|e| e.to_string())?;
    println!(
        "{} cases in {:.0} s ({:.2}/s; {} client, {} server), {} distinct kernel responses, \
         model agreed on {}, {} findings",
        s.cases,
        s.secs,
        s.rate,
        s.client,
        s.server,
        s.responses.len(),
        s.agreed,
        s.findings
    );
    for (k, v) in &s.known {
        println!("known issue {k}: {v} hit(s)");
    }
    for (k, v) in &s.reports {
        println!("report ({v}x): {k}");
    }
    for (k, v) in &s.liveness {
        println!("liveness ({v}x): {k}");
    }
    for (k, v) in &s.divergences {
        println!("divergence ({v}x): {k}");
    }
    println!("stats: {}", opts.out.join("stats.json").display());
    let known: u64 = s.known.values().sum();
    let crash = s.reports.values().sum::<u64>() + s.liveness.values().sum::<u64>() > known;
    let fail = match a.fail_on_finding {
        FailOn::Never => false,
        FailOn::Crash => crash,
        FailOn::Any => crash || !s.divergences.is_empty(),
    };
    Ok(if fail {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let r = match cli.cmd {
        Cmd::Run(a) => run(a),
        Cmd::Replay {
            file,
            pcap,
            dir,
            linger,
            kernel,
        } => replay::replay_file(
            &file,
            pcap.as_deref(),
            &dir,
            Duration::from_secs(linger),
            kernel.map(KernelChoice::from),
        )
        .map(|(f, o)| {
            println!(
                "{}: {:?} '{}' {} ({} case(s) run, boot {:.1}s)",
                file.display(),
                f.kind,
                f.signature,
                if o.reproduced {
                    "REPRODUCED"
                } else {
                    "not reproduced"
                },
                o.runs.len(),
                o.boot_secs
            );
            for r in &o.reports {
                println!("  report: {}", r.signature);
            }
            if o.reproduced {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        })
        .map_err(|e| e.to_string()),
        Cmd::Minimize { file, out } => FindingFile::load(&file)
            .and_then(|f| campaign::prepare(f.kernel))
            .and_then(|boot| minimize::minimize_file(&file, &out, &boot))
            .map(|p| {
                println!("{}", p.display());
                ExitCode::SUCCESS
            })
            .map_err(|e| e.to_string()),
        Cmd::Show {
            seed,
            index,
            attempt,
            role,
        } => {
            let c = gen::generate(seed, index, attempt, role.into());
            serde_json::to_string_pretty(&c)
                .map(|j| {
                    println!("{j}");
                    ExitCode::SUCCESS
                })
                .map_err(|e| e.to_string())
        }
    };
    match r {
        Ok(c) => c,
        Err(e) => {
            eprintln!("smc-fuzz: {e}");
            ExitCode::from(2)
        }
    }
}
