//! The in-guest side: `smc-guest` runs as PID 1 of the lab VM, executes the
//! [`Plan`](crate::lab::plan::Plan) it finds in the 9p share, writes `report.json`
//! (with the `smc_diag` view of every connection) and pcaps back into the share, and
//! resets the VM.

pub mod agent;
pub mod capture;
pub mod netlink;
pub mod sys;
pub mod workload;

use crate::lab::plan::{Plan, Report, Step};
use crate::lab::{Context, LabError, Result};

/// Mount point of the 9p share (`-virtfs ...,mount_tag=out`).
pub const SHARE: &str = "/out";
/// List of module files, in load order, written by the initramfs builder.
pub const MODULE_LIST: &str = "/lib/modules/load.list";

fn say(msg: &str) {
    println!("[smc-guest {:7.3}] {msg}", sys::uptime());
}

/// PID 1 entry: set up, run the plan, report, reset. Never returns.
pub fn init_main() -> ! {
    let outcome = std::panic::catch_unwind(run_init);
    match outcome {
        Ok(Ok(())) => say("done"),
        Ok(Err(e)) => say(&format!("FAILED: {e}")),
        Err(_) => say("FAILED: panic"),
    }
    sys::reboot_now()
}

fn run_init() -> Result<()> {
    let _ = sys::mount("proc", "/proc", "proc", "");
    let _ = sys::mount("sysfs", "/sys", "sysfs", "");
    sys::raise_nofile(65536);
    let release = sys::kernel_release();
    say(&format!("kernel {release}"));
    // Debian kernels have 9p and virtio_net as modules: load before mounting the share.
    let mut log = Vec::new();
    let loaded = load_modules();
    match &loaded {
        Ok(s) => log.push(s.clone()),
        Err(e) => log.push(format!("load-modules: FAILED: {e}")),
    }
    sys::mount(
        "out",
        SHARE,
        "9p",
        "trans=virtio,version=9p2000.L,msize=262144",
    )
    .context("mounting the 9p results share (tag 'out')")?;
    let plan_path = format!("{SHARE}/plan.json");
    let text =
        std::fs::read_to_string(&plan_path).with_context(|| format!("reading {plan_path}"))?;
    let plan: Plan = serde_json::from_str(&text).context("parsing plan.json")?;
    say(&format!(
        "scenario {} vm {}: {} steps",
        plan.scenario,
        plan.vm,
        plan.steps.len()
    ));
    let mut report = run_plan(&plan, &release, log);
    if let Err(e) = loaded {
        report.ok = false;
        report.log.push(format!("module loading failed: {e}"));
    }
    let json = serde_json::to_string_pretty(&report).context("serialising report")?;
    std::fs::write(format!("{SHARE}/report.json"), json).context("writing report.json")?;
    say(&format!(
        "report written: ok={} connections={}",
        report.ok,
        report.connections.len()
    ));
    Ok(())
}

fn load_modules() -> Result<String> {
    let list = match std::fs::read_to_string(MODULE_LIST) {
        Ok(l) => l,
        Err(_) => return Ok("load-modules: none (built-in kernel)".into()),
    };
    let mut n = 0;
    for m in list.lines().filter(|l| !l.trim().is_empty()) {
        if sys::load_module(m.trim())? {
            n += 1;
        }
    }
    Ok(format!("load-modules: {n} loaded"))
}

/// Runs the steps in order; the first failure stops the plan.
pub fn run_plan(plan: &Plan, release: &str, mut log: Vec<String>) -> Report {
    let mut connections = Vec::new();
    let mut failed_connects = 0;
    let mut pcaps = Vec::new();
    let mut captures: Vec<capture::Capture> = Vec::new();
    let mut ok = true;
    for (i, step) in plan.steps.iter().enumerate() {
        let t = std::time::Instant::now();
        let r = run_step(
            step,
            &plan.vm,
            &mut connections,
            &mut failed_connects,
            &mut captures,
            &mut pcaps,
        );
        let line = match r {
            Ok(s) => format!("step {i} ok ({:.2}s): {s}", t.elapsed().as_secs_f64()),
            Err(e) => {
                ok = false;
                format!(
                    "step {i} FAILED ({:.2}s): {step:?}: {e}",
                    t.elapsed().as_secs_f64()
                )
            }
        };
        say(&line);
        log.push(line);
        if !ok {
            break;
        }
    }
    // captures left running (plan without StopCaptures, or a failed step) still land
    for c in captures.drain(..) {
        match c.finish(SHARE, &plan.vm) {
            Ok(p) => pcaps.push(p),
            Err(e) => log.push(format!("capture: {e}")),
        }
    }
    Report {
        kernel_release: release.to_string(),
        vm: plan.vm.clone(),
        ok,
        log,
        connections,
        pcaps,
        failed_connects,
    }
}

fn run_step(
    step: &Step,
    vm: &str,
    conns: &mut Vec<crate::lab::diag::ConnDiag>,
    failed: &mut u32,
    captures: &mut Vec<capture::Capture>,
    pcaps: &mut Vec<crate::lab::diag::PcapInfo>,
) -> Result<String> {
    match step {
        Step::LoadModules => load_modules(),
        Step::Link { ifname, addr } => {
            if let Some(a) = addr {
                sys::set_ipv4(ifname, a)?;
            }
            sys::link_up(ifname)?;
            Ok(format!("{ifname} up {}", addr.as_deref().unwrap_or("")))
        }
        Step::Rxe { name, netdev } => {
            netlink::add_rxe(name, netdev)?;
            let gid1 =
                std::fs::read_to_string(format!("/sys/class/infiniband/{name}/ports/1/gids/1"))
                    .unwrap_or_default();
            Ok(format!("{name} on {netdev}, gid[1] {}", gid1.trim()))
        }
        Step::Ueid(e) => Ok(format!("UEID {:?} added", netlink::add_ueid(e)?)),
        Step::Pnet {
            pnetid,
            eth,
            ib,
            port,
        } => {
            netlink::add_pnet(pnetid, eth, ib, *port)?;
            Ok(format!("PNET {pnetid}: {eth} {ib}/{port}"))
        }
        Step::Sysctl { key, value } => {
            sys::sysctl(key, value)?;
            Ok(format!("{key} = {value}"))
        }
        Step::Capture {
            ifname,
            file,
            snaplen,
        } => {
            captures.push(capture::Capture::start(ifname, file, *snaplen)?);
            Ok(format!("capturing {ifname} -> {file}"))
        }
        Step::StopCaptures => {
            let mut s = Vec::new();
            for c in captures.drain(..) {
                let p = c.finish(SHARE, vm)?;
                s.push(format!(
                    "{} {} packets, {} dropped",
                    p.file, p.packets, p.dropped
                ));
                pcaps.push(p);
            }
            Ok(s.join("; "))
        }
        Step::Pair(w) => summarize(w, conns, failed, workload::pair(w, vm)?),
        Step::Serve(w) => summarize(w, conns, failed, workload::serve(w, vm)?),
        Step::Connect(w) => summarize(w, conns, failed, workload::connect(w, vm)?),
        Step::Agent(spec) => agent::run(spec, vm, conns),
        Step::Sleep(ms) => {
            std::thread::sleep(std::time::Duration::from_millis(*ms));
            Ok(format!("slept {ms} ms"))
        }
    }
}

fn summarize(
    w: &crate::lab::plan::Workload,
    all: &mut Vec<crate::lab::diag::ConnDiag>,
    failed: &mut u32,
    out: workload::Outcome,
) -> Result<String> {
    let got = out.conns;
    *failed += out.failed_connects;
    use std::collections::BTreeMap;
    let mut modes: BTreeMap<String, usize> = BTreeMap::new();
    for c in &got {
        let k = format!(
            "{:?}/{}",
            c.mode,
            c.fallback_reason_name.as_deref().unwrap_or("-")
        );
        *modes.entry(k).or_default() += 1;
    }
    let s = format!(
        "{} conns to {}:{} -> {} sockets {modes:?}",
        w.conns,
        w.addr,
        w.port,
        got.len()
    );
    all.extend(got);
    if all.is_empty() {
        return Err(LabError::msg("smc_diag reported no sockets"));
    }
    Ok(s)
}
