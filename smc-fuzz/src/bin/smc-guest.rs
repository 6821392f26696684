//! `smc-guest`: the lab's in-guest program. As PID 1 of a lab VM it runs the plan in
//! the 9p share (see `smc_fuzz::lab::guest`); by hand it can dump `smc_diag`.

use std::process::ExitCode;

const HELP: &str = "\
smc-guest: in-guest side of the SMC kernel lab (static binary, PID 1 of a lab VM).

As PID 1 it mounts /proc, /sys and the 9p share 'out' at /out, loads the modules
listed in /lib/modules/load.list, runs /out/plan.json, writes /out/report.json and
pcaps, and resets the VM.

By hand (inside a VM or on any Linux host with smc_diag loaded):
  smc-guest diag     print every AF_SMC socket as smc_diag reports it (JSON lines)
  smc-guest --help   this text
";

fn main() -> ExitCode {
    if std::process::id() == 1 {
        smc_fuzz::lab::guest::init_main();
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("diag") => match smc_fuzz::lab::guest::netlink::smc_diag_dump("local") {
            Ok(v) => {
                for r in v {
                    match serde_json::to_string(&r.conn) {
                        Ok(s) => println!("{s}"),
                        Err(e) => eprintln!("smc-guest: {e}"),
                    }
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("smc-guest: {e}");
                ExitCode::FAILURE
            }
        },
        Some("-h") | Some("--help") | None => {
            print!("{HELP}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("smc-guest: unknown command {other:?}\n\n{HELP}");
            ExitCode::FAILURE
        }
    }
}
