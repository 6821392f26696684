//! One fuzzing VM: the lab's peer VM (guest agent listening with AF_SMC, `-netdev socket`
//! wire) kept up across cases, the reference peer's stack on the host, the console watched
//! incrementally. A case is one TCP connection.
//!
//! Peer as client: connect to the agent's listener, send the opening, read the kernel's
//! answer, send the follow-up after an Accept, end the connection. Peer as server: tell the
//! agent to `connect()` to us, read the kernel's Proposal, answer with the opening, read what
//! follows, end; the agent's result says whether `connect()` succeeded.

use super::case::{Case, Ctx, End, Facts, Role};
use super::model::{self, Answer, Kernel, Prediction};
use super::oracle::{self, Console, Kind, Report, Sockets};
use super::{Error, Result};
use crate::lab::diag::Mode as DiagMode;
use crate::lab::peer::{PeerVm, KERNEL_IP, KERNEL_PORT, PEER_IP, PEER_MAC, PEER_PORT};
use crate::lab::plan::{AgentCmd, AgentResult};
use crate::lab::run::Bootable;
use crate::net::tcp::{SmcOption, TcpConfig};
use crate::net::wire::QemuStream;
use crate::net::Handle;
use crate::peer::record::Recorder;
use crate::peer::{ClcRead, Peer, PeerConfig, PeerError};
use serde::{Deserialize, Serialize};
use smc_wire::clc::{Body, ClcRepr};
use smc_wire::{Mode, SmcType};
use std::fs;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Timing of a case.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// How long to wait for an answer the model expects (the kernel's own wait is 6 s).
    pub answer: Duration,
    /// How long to wait when the model expects silence.
    pub quiet: Duration,
    /// How long to wait after an SMC-R Confirm (the kernel client's LLC wait is 2 × 2 s).
    pub slow: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            answer: Duration::from_secs(3),
            quiet: Duration::from_millis(250),
            slow: Duration::from_secs(6),
        }
    }
}

/// What the kernel did in one case.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Observed {
    /// After the opening.
    pub first: Option<Answer>,
    /// After the follow-up.
    pub second: Option<Answer>,
    /// The kernel's CLC messages, described (`Accept D v2 rel1 chid 0xffff`).
    pub kernel: Vec<String>,
    /// The kernel's CLC messages, hex.
    pub kernel_hex: Vec<String>,
    /// What we sent, hex, per message.
    pub sent_hex: Vec<String>,
    /// The agent's result (server role).
    pub agent: Option<AgentResult>,
    /// The TCP connection never came up.
    pub no_tcp: bool,
    /// The VM (or its wire) went away during the case.
    pub vm_died: bool,
    /// Milliseconds from our last byte to the kernel's first CLC answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_ms: Option<f64>,
    /// Free-form notes.
    pub notes: Vec<String>,
}

impl Observed {
    /// The response as one line (what "distinct kernel responses" counts): role, then each
    /// stage's answer with the kernel message's details.
    pub fn response(&self, role: Role) -> String {
        let r = match role {
            Role::Client => "client",
            Role::Server => "server",
        };
        let detail = |a: &Option<Answer>| -> String {
            match a {
                Some(Answer::Clc(s)) => self
                    .kernel
                    .iter()
                    .find(|k| k.starts_with(s.as_str()))
                    .cloned()
                    .unwrap_or_else(|| s.clone()),
                Some(a) => a.to_string(),
                None => "-".into(),
            }
        };
        match (&self.first, &self.second) {
            (f, None) => format!("{r}: {}", detail(f)),
            (f, s) => format!("{r}: {} > {}", detail(f), detail(s)),
        }
    }
}

/// One case's run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseRun {
    /// The model's prediction.
    pub predicted: Prediction,
    /// What happened.
    pub observed: Observed,
    /// Kernel reports on the console during (or right after) the case.
    pub reports: Vec<Report>,
    /// Seconds.
    pub secs: f64,
}

impl CaseRun {
    /// Whether prediction and observation agree (a crash is judged by the console oracle).
    pub fn agrees(&self) -> bool {
        if self.observed.vm_died || !self.reports.is_empty() {
            return true;
        }
        let first = match (&self.predicted.first, &self.observed.first) {
            (Answer::Crash(_), _) => false,
            (p, Some(o)) => p.agrees(o),
            (_, None) => true,
        };
        // no probe after the follow-up: any quiet answer looks like waiting
        let second = match (&self.predicted.second, &self.observed.second) {
            (Some(p), Some(o)) => p.agrees(o) || (p.is_quiet() && o.is_quiet()),
            _ => true,
        };
        first && second
    }
}

/// The coarse (model) and detailed description of a kernel CLC message.
pub fn describe(m: &[u8]) -> (String, String) {
    let ty = m.get(super::mutate::field::TYPE).copied().unwrap_or(0);
    match ClcRepr::parse(m, Mode::Lenient).map(|d| d.repr) {
        Ok(ClcRepr::AcceptConfirm(a)) => {
            let t = match a.smc_type {
                SmcType::D => "D",
                SmcType::R => "R",
                SmcType::B => "B",
                _ => "N",
            };
            let k = if a.is_accept() { "Accept" } else { "Confirm" };
            let coarse = format!("{k} {t} v{}", a.version);
            let mut d = coarse.clone();
            if let Some(f) = a.fce {
                d.push_str(&format!(" rel{}", f.release));
            }
            if let Body::Smcd(b) = &a.body {
                if let Some(v) = b.v2 {
                    d.push_str(&format!(" chid {:#06x}", v.chid.0));
                }
            }
            if !a.first_contact {
                d.push_str(" reuse");
            }
            (coarse, d)
        }
        Ok(ClcRepr::Decline(d)) => {
            let c = format!("Decline {}", model::decline_name(d.peer_diagnosis));
            let det = if d.out_of_sync {
                format!("{c} out-of-sync")
            } else {
                c.clone()
            };
            (c, det)
        }
        Ok(ClcRepr::Proposal(_)) => ("Proposal".into(), "Proposal".into()),
        Err(_) => (format!("type {ty}"), format!("type {ty}")),
    }
}

/// A VM under fuzz.
pub struct FuzzVm {
    vm: PeerVm,
    peer: Peer<QemuStream>,
    console: Console,
    /// The kernel booted.
    pub boot: Bootable,
    /// The VM's directory.
    pub dir: PathBuf,
    /// Case timing.
    pub timing: Timing,
    next_port: u16,
    last_agent: Instant,
    sockets: Sockets,
    pending: Vec<String>,
    /// Reports printed while booting (before the first case).
    pub boot_reports: Vec<Report>,
    /// Seconds the boot took (QEMU start to agent ready and GID learned).
    pub boot_secs: f64,
}

fn wire_err(e: PeerError) -> Error {
    Error::msg(format!("peer: {e}"))
}

impl FuzzVm {
    /// Boots a VM for fuzzing in `dir` and learns the kernel's loopback-ism GID.
    pub fn boot(boot: &Bootable, dir: &Path, name: &str, timing: Timing) -> Result<FuzzVm> {
        let t = Instant::now();
        fs::create_dir_all(dir).map_err(|e| Error::msg(format!("{}: {e}", dir.display())))?;
        let (mut vm, wire) = PeerVm::boot_with(boot, dir, name, "ignore_loglevel")?;
        let cfg = PeerConfig {
            mac: PEER_MAC,
            ipv4: Some(PEER_IP),
            ipv6: None,
            seed: 0x6b66_757a,
        };
        let peer = Peer::new(wire, cfg, None);
        vm.ready(Duration::from_secs(300))?;
        let mut console = Console::from_start(&vm.console());
        let boot_reports = oracle::scan(&console.new_lines());
        let mut f = FuzzVm {
            vm,
            peer,
            console,
            boot: boot.clone(),
            dir: dir.to_path_buf(),
            timing,
            next_port: 0,
            last_agent: Instant::now(),
            sockets: Sockets::default(),
            pending: Vec::new(),
            boot_reports,
            boot_secs: 0.0,
        };
        f.learn()?;
        f.boot_secs = t.elapsed().as_secs_f64();
        Ok(f)
    }

    /// The kernel client's Proposal reveals its loopback-ism GID: one agent connect answered
    /// with a Decline.
    fn learn(&mut self) -> Result<()> {
        let port = PEER_PORT;
        let n = self.vm.send(&AgentCmd::Connect {
            addr: format!("{PEER_IP}:{port}"),
            bytes: 0,
        })?;
        self.last_agent = Instant::now();
        let h = self
            .peer
            .accept(port, TcpConfig::default(), Duration::from_secs(60))
            .map_err(wire_err)?
            .ok_or_else(|| Error::msg("the kernel never connected to the peer (learn)"))?;
        if let ClcRead::Message(m) = self
            .peer
            .read_clc(h, Duration::from_secs(30))
            .map_err(wire_err)?
        {
            if let Ok(d) = ClcRepr::parse(&m, Mode::Lenient) {
                self.peer.learned.absorb(&d.repr);
            }
            let d = crate::peer::scenario::decline(
                smc_wire::DeclineReason::NOSMCDEV,
                if m.get(super::mutate::field::VERSION_BITS)
                    .is_some_and(|b| b >> 4 > 1)
                {
                    2
                } else {
                    1
                },
                false,
            );
            if let Ok(b) = ClcRepr::Decline(d).to_vec() {
                self.peer.send(h, &b).map_err(wire_err)?;
            }
        }
        self.peer
            .idle(Duration::from_millis(200))
            .map_err(wire_err)?;
        self.peer.abort(h).map_err(wire_err)?;
        self.peer.forget(h);
        self.agent_result(n, Duration::from_secs(60))?;
        if self.peer.learned.loopback.is_none() {
            // a kernel without loopback-ism (Debian's): SMC-R only; "kernel" GIDs read as 0
            crate::lab::log("the kernel's Proposal carries no loopback-ism GID (no SMC_LO)");
        }
        Ok(())
    }

    /// What the kernel revealed.
    pub fn facts(&self) -> Facts {
        self.peer.learned.into()
    }

    /// The model's view of this kernel.
    pub fn kernel(&self) -> Kernel {
        Kernel::lab(self.peer.learned.loopback, self.peer.learned.accept_token)
    }

    /// The console log.
    pub fn console_path(&self) -> PathBuf {
        self.vm.console()
    }

    /// Whether QEMU still runs.
    pub fn alive(&mut self) -> bool {
        self.vm.alive()
    }

    /// Records every frame into `path` from now on (`None` stops).
    pub fn record_to(&mut self, path: Option<&Path>) -> Result<()> {
        let r = match path {
            Some(p) => {
                Some(Recorder::create(p).map_err(|e| Error::msg(format!("{}: {e}", p.display())))?)
            }
            None => None,
        };
        self.peer.record_to(r);
        Ok(())
    }

    /// New kernel reports on the console.
    pub fn reports(&mut self) -> Vec<Report> {
        let mut lines = std::mem::take(&mut self.pending);
        lines.extend(self.console.new_lines());
        // a report still arriving on the serial console: its stack names the culprit
        let until = Instant::now() + Duration::from_secs(3);
        while oracle::report_open(&lines) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(50));
            lines.extend(self.console.new_lines());
        }
        oracle::scan(&lines)
    }

    /// Whether the console shows a crash since the last [`Self::reports`] (the lines stay
    /// pending for it).
    fn crashed(&mut self) -> bool {
        let l = self.console.new_lines();
        self.pending.extend(l);
        oracle::scan(&self.pending)
            .iter()
            .any(|r| matches!(r.kind, Kind::Crash | Kind::Kasan))
    }

    /// Waits for agent result `n`, keeping the peer's stack running. `None`: the VM died or
    /// a crash report appeared and no result followed.
    fn agent_result(&mut self, n: usize, timeout: Duration) -> Result<Option<AgentResult>> {
        let p = self.vm.share().join(format!("res-{n}.json"));
        let until = Instant::now() + timeout;
        let mut crash_check = Instant::now() + Duration::from_millis(250);
        let mut crashed: Option<Instant> = None;
        loop {
            if let Ok(t) = fs::read_to_string(&p) {
                let r: AgentResult = serde_json::from_str(&t)
                    .map_err(|e| Error::msg(format!("{}: {e}", p.display())))?;
                self.last_agent = Instant::now();
                return Ok(Some(r));
            }
            if !self.vm.alive() || Instant::now() > until {
                return Ok(None);
            }
            if Instant::now() > crash_check {
                crash_check = Instant::now() + Duration::from_millis(250);
                if crashed.is_none() && self.crashed() {
                    // an oops in the agent's own connect(): no result will come
                    crashed = Some(Instant::now());
                }
                if crashed.is_some_and(|t| t.elapsed() > Duration::from_secs(1)) {
                    return Ok(None);
                }
            }
            if self.peer.pump(Duration::from_millis(10)).is_err() {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    /// Keeps the agent from giving up (it stops after 120 s without a command).
    pub fn keepalive(&mut self) -> Result<()> {
        if self.last_agent.elapsed() > Duration::from_secs(40) {
            let n = self.vm.send(&AgentCmd::Kmsg)?;
            self.agent_result(n, Duration::from_secs(30))?;
            self.last_agent = Instant::now();
        }
        Ok(())
    }

    /// Runs one case. Errors are the harness's own (files, the VM never answering the agent
    /// protocol); anything the kernel does, including dying, is in the result.
    pub fn run_case(&mut self, case: &Case) -> Result<CaseRun> {
        let t = Instant::now();
        let mut obs = Observed::default();
        let r = match case.role {
            Role::Client => self.client(case, &mut obs),
            Role::Server => self.server(case, &mut obs),
        };
        let predicted = match r {
            Ok(p) => p,
            Err(PeerError::Wire(e)) => {
                obs.vm_died = true;
                obs.notes.push(format!("wire: {e}"));
                Prediction {
                    first: Answer::Unknown,
                    second: None,
                }
            }
            Err(e) => return Err(wire_err(e)),
        };
        if !self.vm.alive() {
            obs.vm_died = true;
        }
        let _ = self.peer.flush();
        // reports are printed asynchronously (work items); a dead VM has written its oops
        let mut reports = self.reports();
        if obs.vm_died {
            std::thread::sleep(Duration::from_millis(300));
            reports.extend(self.reports());
        }
        Ok(CaseRun {
            predicted,
            observed: obs,
            reports,
            secs: t.elapsed().as_secs_f64(),
        })
    }

    fn tcp(case: &Case) -> TcpConfig {
        TcpConfig {
            smc_option: if case.smc_option {
                SmcOption::Linux
            } else {
                SmcOption::Never
            },
            rto: Duration::from_millis(500),
            max_retries: 4,
            ..TcpConfig::default()
        }
    }

    /// Sends a list of messages; returns their concatenated bytes.
    fn send_all(
        &mut self,
        h: Handle,
        sends: &[super::case::Send],
        ctx: &Ctx,
        obs: &mut Observed,
    ) -> std::result::Result<Vec<u8>, PeerError> {
        let mut all = Vec::new();
        for s in sends {
            let (bytes, segs) = s.build(ctx);
            obs.sent_hex.push(super::hex(&bytes));
            all.extend_from_slice(&bytes);
            for (i, seg) in segs.iter().enumerate() {
                if i > 0 && s.gap_ms > 0 {
                    self.peer.idle(Duration::from_millis(u64::from(s.gap_ms)))?;
                }
                if !self.peer.send(h, seg)? {
                    obs.notes.push("connection closed for sending".into());
                    return Ok(all);
                }
            }
        }
        Ok(all)
    }

    /// Reads the kernel's next reaction: a CLC message (recorded), an echo of our own bytes
    /// (fallback), the end of the connection, or nothing within `wait`.
    fn answer(
        &mut self,
        h: Handle,
        wait: Duration,
        sent: &[u8],
        obs: &mut Observed,
    ) -> std::result::Result<(Answer, Option<Vec<u8>>), PeerError> {
        let t = Instant::now();
        Ok(match self.peer.read_clc(h, wait)? {
            ClcRead::Message(m) => {
                if obs.answer_ms.is_none() {
                    obs.answer_ms = Some(t.elapsed().as_secs_f64() * 1e3);
                }
                if !m.is_empty() && sent.windows(m.len()).any(|w| w == m.as_slice()) {
                    (Answer::Fallback, None)
                } else {
                    if let Ok(d) = ClcRepr::parse(&m, Mode::Lenient) {
                        self.peer.learned.absorb(&d.repr);
                    }
                    let (c, d) = describe(&m);
                    obs.kernel.push(d);
                    obs.kernel_hex.push(super::hex(&m));
                    (Answer::Clc(c), Some(m))
                }
            }
            ClcRead::NotClc(b) => {
                obs.notes.push(format!("{} non-CLC bytes", b.len()));
                (Answer::Fallback, None)
            }
            ClcRead::Closed | ClcRead::Reset => (Answer::Drops, None),
            ClcRead::Timeout => (Answer::Waits, None),
        })
    }

    /// Sends a probe over what should be plain TCP now; true if it comes back (the agent
    /// echoes on a fallen-back connection).
    fn probe(&mut self, h: Handle, wait: Duration) -> std::result::Result<bool, PeerError> {
        const PROBE: &[u8] = b"kfuzz-probe!";
        if !self.peer.send(h, PROBE)? {
            return Ok(false);
        }
        self.peer.wait_for(wait, |i| {
            i.tcb(h)
                .map(|t| t.peek().windows(PROBE.len()).any(|w| w == PROBE))
                .unwrap_or(true)
        })
    }

    fn end(&mut self, h: Handle, how: End) -> std::result::Result<(), PeerError> {
        match how {
            End::Rst => self.peer.abort(h)?,
            End::Fin => {
                self.peer.close(h, Duration::from_millis(300))?;
                self.peer.abort(h)?;
            }
        }
        self.peer.forget(h);
        Ok(())
    }

    fn client(
        &mut self,
        case: &Case,
        obs: &mut Observed,
    ) -> std::result::Result<Prediction, PeerError> {
        self.keepalive()
            .map_err(|e| PeerError::Scenario(e.to_string()))?;
        let target = SocketAddr::new(IpAddr::V4(KERNEL_IP), KERNEL_PORT);
        let Some(h) = self
            .peer
            .connect(target, Self::tcp(case), Duration::from_secs(10))?
        else {
            obs.no_tcp = true;
            return Ok(Prediction {
                first: Answer::Unknown,
                second: None,
            });
        };
        let mut ctx = Ctx::lab(self.peer.learned);
        let opening = self.send_all(h, &case.opening, &ctx, obs)?;
        let k = self.kernel();
        let pred1 = model::predict_server(case.smc_option, &opening, &[], None, &k);
        let wait = if pred1.first.is_quiet() {
            self.timing.quiet
        } else {
            self.timing.answer
        };
        let (mut first, msg) = self.answer(h, wait, &opening, obs)?;
        if first == Answer::Waits && pred1.first == Answer::Fallback && self.probe(h, wait * 2)? {
            first = Answer::Fallback;
        }
        let mut pred = pred1;
        let accepted = matches!(&first, Answer::Clc(s) if s.starts_with("Accept"));
        if let (true, Some(acc)) = (accepted, msg) {
            ctx = Ctx::lab(self.peer.learned);
            ctx.kernel_msg = Some(acc.clone());
            let follow = self.send_all(h, &case.follow, &ctx, obs)?;
            let k = self.kernel();
            pred = model::predict_server(case.smc_option, &opening, &follow, Some(&acc), &k);
            let p2 = pred.second.clone().unwrap_or(Answer::Unknown);
            let wait = if case.follow.is_empty() {
                Duration::from_millis(50)
            } else if p2.is_quiet() {
                self.timing.quiet
            } else {
                self.timing.answer
            };
            let mut sent = opening.clone();
            sent.extend_from_slice(&follow);
            let (second, _) = self.answer(h, wait, &sent, obs)?;
            obs.second = Some(second);
        }
        obs.first = Some(first);
        self.end(h, case.end)?;
        Ok(pred)
    }

    fn server(
        &mut self,
        case: &Case,
        obs: &mut Observed,
    ) -> std::result::Result<Prediction, PeerError> {
        let port = PEER_PORT + 1 + (self.next_port % 2000);
        self.next_port = self.next_port.wrapping_add(1);
        let scen = |e: Error| PeerError::Scenario(e.to_string());
        let cmd = if case.data > 0 {
            AgentCmd::ConnectTimed {
                addr: format!("{PEER_IP}:{port}"),
                bytes: u64::from(case.data),
                read_timeout_ms: 300,
            }
        } else {
            AgentCmd::Connect {
                addr: format!("{PEER_IP}:{port}"),
                bytes: 0,
            }
        };
        let n = self.vm.send(&cmd).map_err(scen)?;
        self.last_agent = Instant::now();
        let unknown = Prediction {
            first: Answer::Unknown,
            second: None,
        };
        let Some(h) = self
            .peer
            .accept(port, Self::tcp(case), Duration::from_secs(10))?
        else {
            obs.no_tcp = true;
            obs.agent = self
                .agent_result(n, Duration::from_secs(20))
                .map_err(scen)?;
            return Ok(unknown);
        };
        let mut ctx = Ctx::lab(self.peer.learned);
        let mut pred = unknown.clone();
        let prop = if case.smc_option {
            match self.peer.read_clc(h, self.timing.answer)? {
                ClcRead::Message(m) => {
                    if let Ok(d) = ClcRepr::parse(&m, Mode::Lenient) {
                        self.peer.learned.absorb(&d.repr);
                    }
                    Some(m)
                }
                other => {
                    obs.notes
                        .push(format!("no Proposal from the kernel client: {other:?}"));
                    None
                }
            }
        } else {
            None
        };
        let mut first = None;
        if let Some(p) = &prop {
            ctx.kernel_msg = Some(p.clone());
            let reply = self.send_all(h, &case.opening, &ctx, obs)?;
            let k = self.kernel();
            pred = model::predict_client(case.smc_option, p, &reply, &k);
            let wait = if pred.first.is_quiet() {
                self.timing.quiet
            } else {
                self.timing.answer
            };
            let (a, msg) = self.answer(h, wait, &reply, obs)?;
            // after a Confirm: SMC-R waits for LLC over RoCE, SMC-D is established
            if let (Answer::Clc(s), Some(m)) = (&a, &msg) {
                if s.starts_with("Confirm") {
                    ctx.kernel_msg = Some(m.clone());
                    let follow = self.send_all(h, &case.follow, &ctx, obs)?;
                    let mut sent = reply.clone();
                    sent.extend_from_slice(&follow);
                    let wait = if s.starts_with("Confirm R") {
                        self.timing.slow
                    } else {
                        self.timing.quiet
                    };
                    let (b, _) = self.answer(h, wait, &sent, obs)?;
                    obs.second = Some(b);
                }
            }
            first = Some(a);
        } else if !case.smc_option {
            pred = model::predict_client(false, &[], &[], &self.kernel());
            // let the kernel's connect() finish its fallback before we reset
            self.peer.idle(self.timing.quiet)?;
        }
        self.end(h, case.end)?;
        let agent = self
            .agent_result(n, Duration::from_secs(15))
            .map_err(scen)?;
        // what connect() returned decides when the kernel sent no CLC
        let quiet = |a: &AgentResult| -> Answer {
            match (a.connected, a.errno) {
                (Some(true), _) => match a.diag.first().map(|d| d.mode) {
                    Some(DiagMode::SmcD) | Some(DiagMode::SmcR) => Answer::Active,
                    _ => Answer::Fallback,
                },
                (Some(false), Some(71)) => Answer::Drops,
                _ => Answer::Waits,
            }
        };
        // A CLC message decides. Else connect()'s result, when it succeeded (fallback or an
        // SMC-D connection). Else TCP: the kernel closing on us is a drop, silence is a
        // kernel still waiting — its connect() then fails because we reset the connection
        // (EPROTO for a short read), which says nothing about the kernel.
        obs.first = match (first, &agent) {
            (Some(Answer::Clc(s)), _) => Some(Answer::Clc(s)),
            (_, Some(a)) if a.connected == Some(true) => Some(quiet(a)),
            (Some(f), _) => Some(f),
            (None, Some(a)) => Some(quiet(a)),
            (None, None) => None,
        };
        obs.agent = agent;
        Ok(pred)
    }

    /// The liveness probe: an AF_SMC connection inside the guest (SMC-D over loopback-ism,
    /// echo intact), the kernel server answering a valid Proposal with an Accept, and no socket
    /// lingering from a connection that ended minutes ago. Returns the problems found.
    pub fn liveness(&mut self, stuck_after: Duration) -> Result<Vec<(Kind, String)>> {
        let mut out = Vec::new();
        let n = self.vm.send(&AgentCmd::Connect {
            addr: format!("{KERNEL_IP}:{KERNEL_PORT}"),
            bytes: 4096,
        })?;
        match self.agent_result(n, Duration::from_secs(60))? {
            None => out.push((
                Kind::Liveness,
                "in-guest AF_SMC connect: the agent gave no result".to_string(),
            )),
            Some(a) => {
                let mode = a.diag.first().map(|d| d.mode);
                if a.connected != Some(true)
                    || a.echo_ok != Some(true)
                    || mode != Some(DiagMode::SmcD)
                {
                    out.push((
                        Kind::Liveness,
                        format!(
                            "in-guest AF_SMC connection: {} (connected {:?}, echo {:?}, mode {:?})",
                            a.summary, a.connected, a.echo_ok, mode
                        ),
                    ));
                }
            }
        }
        let base = baseline_case();
        let r = self
            .run_case(&base)
            .map_err(|e| Error::msg(e.to_string()))?;
        if r.observed.first != Some(Answer::Clc("Accept D v2".into()))
            || r.observed.second != Some(Answer::Waits)
        {
            out.push((
                Kind::Liveness,
                format!(
                    "kernel server: a valid SMC-D Proposal got {}",
                    r.observed.response(Role::Client)
                ),
            ));
        }
        let n = self.vm.send(&AgentCmd::Diag)?;
        if let Some(a) = self.agent_result(n, Duration::from_secs(60))? {
            for s in self.sockets.update(&a.diag, stuck_after) {
                out.push((Kind::StuckSocket, s));
            }
        }
        Ok(out)
    }

    /// Keeps the peer's stack running for `d` (ACKs, ARP) without a case.
    pub fn idle(&mut self, d: Duration) {
        if self.peer.idle(d).is_err() {
            std::thread::sleep(d);
        }
    }

    /// Kills QEMU (after a crash: nothing to shut down cleanly).
    pub fn kill(self) {
        drop(self);
    }

    /// Stops the agent and the VM.
    pub fn stop(self) {
        let FuzzVm { vm, mut peer, .. } = self;
        let _ = vm.stop(&mut || {
            peer.idle(Duration::from_millis(20))
                .map_err(|e| e.to_string())
        });
    }
}

/// The liveness probe's client case: the kernel's own loopback-ism pair and the lab UEID (the
/// matrix's `d-kernel-gid`), then our Decline.
pub fn baseline_case() -> Case {
    use super::case::{Base, CaseId, Msg, Send};
    use crate::peer::scenario::{EntrySpec, ProposalSpec, Value64};
    let spec = ProposalSpec {
        entries: vec![EntrySpec::Virtual {
            gid: Value64::named("kernel"),
            gid_ext: Value64::named("kernel-ext"),
            chid: 0xffff,
            swapped: false,
        }],
        ..ProposalSpec::default()
    };
    let s = |base: Base| Send {
        msg: Msg {
            base,
            mutations: Vec::new(),
            rseed: 0,
        },
        cuts: Vec::new(),
        gap_ms: 0,
    };
    Case {
        id: CaseId {
            seed: 0,
            index: 0,
            attempt: 0,
        },
        role: Role::Client,
        smc_option: true,
        opening: vec![s(Base::Proposal(spec))],
        follow: vec![s(Base::Decline {
            code: smc_wire::DeclineReason::NOSMCDDEV.0,
            version: 2,
            out_of_sync: false,
        })],
        end: End::Rst,
        data: 0,
    }
}
