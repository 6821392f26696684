//! The reference SMC peer (issue 7): a userspace SMC endpoint with its own small TCP/IP
//! ([`crate::net`]) that drives a real kernel through the CLC handshake, as client or server,
//! with everything it offers, accepts or declines given as data ([`scenario`]).
//!
//! * [`Peer`] owns a [`Wire`], an [`Iface`] and a [`record::Recorder`]: blocking helpers
//!   (connect, accept, read one CLC message, exchange data) on top of the pure stack.
//! * [`client`] / [`server`] run one [`scenario::Scenario`] and return an [`Outcome`]: every CLC
//!   message both ways (decoded by smc-wire), how the TCP connection ended, what the fallback
//!   path carried.
//! * [`Learned`] carries what a kernel revealed earlier in the same boot (its loopback-ism
//!   GID, a DMB token) into later scenarios.

pub mod client;
pub mod record;
pub mod scenario;
pub mod server;

use crate::net::tcp::{self, TcpConfig};
use crate::net::wire::Wire;
use crate::net::{Handle, Iface, IfaceConfig};
use serde::Serialize;
use smc_wire::clc::{Body, ClcRepr, VirtualGid};
use smc_wire::Mode;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

/// Errors of the peer: the wire, or the API used wrongly. Anything the kernel does is an
/// [`Outcome`], never an error.
#[derive(Debug)]
pub enum PeerError {
    /// The wire failed (the VM stopped, the interface went away).
    Wire(std::io::Error),
    /// A stack API error.
    Net(crate::net::NetError),
    /// A scenario that cannot be built (unknown name, unknown learned value, ...).
    Scenario(String),
}

impl fmt::Display for PeerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerError::Wire(e) => write!(f, "wire: {e}"),
            PeerError::Net(e) => write!(f, "stack: {e}"),
            PeerError::Scenario(e) => write!(f, "scenario: {e}"),
        }
    }
}

impl std::error::Error for PeerError {}

impl From<crate::net::NetError> for PeerError {
    fn from(e: crate::net::NetError) -> Self {
        PeerError::Net(e)
    }
}

/// Identity of the peer on the segment.
#[derive(Debug, Clone)]
pub struct PeerConfig {
    /// Our MAC.
    pub mac: [u8; 6],
    /// Our IPv4 address.
    pub ipv4: Option<Ipv4Addr>,
    /// Our IPv6 address.
    pub ipv6: Option<Ipv6Addr>,
    /// Seed for ISNs, ports and `"random"` values.
    pub seed: u64,
}

/// What a kernel revealed, kept across scenarios of one boot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Learned {
    /// The 128-bit loopback-ism GID from a kernel Proposal (CHID 0xFFFF pair, §3.6).
    pub loopback: Option<VirtualGid>,
    /// The DMB token of the kernel's last SMC-D Accept.
    pub accept_token: Option<u64>,
}

impl Learned {
    /// Takes what a kernel message reveals.
    pub fn absorb(&mut self, m: &ClcRepr) {
        match m {
            ClcRepr::Proposal(p) => {
                if let Some(d) = &p.smcd_v2_ext {
                    if let Some(v) = smc_wire::clc::smcd_devices(d.gidchid.as_slice())
                        .find(|d| d.chid == smc_wire::clc::Chid::LOOPBACK)
                        .and_then(|d| d.virtual_gid())
                    {
                        self.loopback = Some(v);
                    }
                }
            }
            ClcRepr::AcceptConfirm(a) => {
                if let Body::Smcd(b) = &a.body {
                    self.accept_token = Some(b.token);
                }
            }
            ClcRepr::Decline(_) => {}
        }
    }
}

/// One CLC message as seen by the peer.
#[derive(Debug, Clone, Serialize)]
pub struct ClcSeen {
    /// `peer` (sent by us) or `kernel`.
    pub from: &'static str,
    /// Message type name.
    pub msg: String,
    /// Declared length.
    pub length: usize,
    /// Header version nibble.
    pub version: u8,
    /// Decline reason, kernel name or hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decline: Option<String>,
    /// Accept/Confirm: chosen type (`R`/`D`), first contact, CHID, FCE release.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smc_type: Option<String>,
    /// First-contact bit (Accept/Confirm).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_contact: Option<bool>,
    /// SMC-D v2 CHID (Accept/Confirm).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chid: Option<u16>,
    /// SMC-D GID (64-bit part) and gid_ext.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gid: Option<String>,
    /// FCE release (first-contact Accept/Confirm).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<u8>,
    /// FCE max_conns / max_links (SMC-R, release ≥ 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits: Option<(u8, u8)>,
    /// What smc-wire's strict decoder said (`ok` or the first failed kernel check).
    pub strict: String,
    /// The bytes, hex.
    pub hex: String,
}

impl ClcSeen {
    /// Decodes `bytes` (one framed message) for the record.
    pub fn of(from: &'static str, bytes: &[u8]) -> (ClcSeen, Option<ClcRepr>) {
        let strict = match ClcRepr::parse(bytes, Mode::Strict) {
            Ok(_) => "ok".to_string(),
            Err(e) => e.to_string(),
        };
        let lenient = ClcRepr::parse(bytes, Mode::Lenient).ok().map(|d| d.repr);
        let mut s = ClcSeen {
            from,
            msg: bytes
                .get(4)
                .map(|t| smc_wire::ClcType(*t).to_string())
                .unwrap_or_default(),
            length: bytes.len(),
            version: bytes.get(7).map_or(0, |b| b >> 4),
            decline: None,
            smc_type: None,
            first_contact: None,
            chid: None,
            gid: None,
            release: None,
            limits: None,
            strict,
            hex: hex(bytes),
        };
        match &lenient {
            Some(ClcRepr::Decline(d)) => s.decline = Some(d.peer_diagnosis.to_string()),
            Some(ClcRepr::AcceptConfirm(a)) => {
                s.smc_type = Some(a.smc_type.to_string());
                s.first_contact = Some(a.first_contact);
                s.release = a.fce.map(|f| f.release);
                s.limits = a.fce.and_then(|f| f.v2x).and_then(|x| {
                    matches!(a.body, Body::Smcr(_)).then_some((x.max_conns, x.max_links))
                });
                if let Body::Smcd(b) = &a.body {
                    s.chid = b.v2.map(|v| v.chid.0);
                    s.gid = Some(match b.v2 {
                        Some(v) => format!("{:016x}:{:016x}", b.gid.0, v.gid_ext.0),
                        None => format!("{:016x}", b.gid.0),
                    });
                }
            }
            _ => {}
        }
        (s, lenient)
    }
}

/// Lower-case hex of bytes.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// How the TCP connection ended, as the peer saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TcpEnd {
    /// Never established (RST or no answer to the SYN).
    NotEstablished,
    /// Both FINs exchanged.
    Closed,
    /// The kernel sent a FIN first.
    KernelFin,
    /// The kernel reset it.
    KernelRst,
    /// We reset it.
    PeerRst,
    /// Still open when the peer stopped looking.
    Open,
    /// Retransmissions ran out.
    TimedOut,
}

/// Everything one scenario run produced.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// Scenario name.
    pub scenario: String,
    /// Our role.
    pub role: scenario::Role,
    /// Whether the kernel's SYN / SYN-ACK carried the SMC option (reference §1).
    pub kernel_smc_option: Option<bool>,
    /// CLC messages both ways, in order.
    pub clc: Vec<ClcSeen>,
    /// Bytes the kernel sent that were not CLC (fallback data), count.
    pub fallback_bytes_in: usize,
    /// Whether the fallback exchange came back intact (None: not attempted).
    pub fallback_echo: Option<bool>,
    /// How TCP ended.
    pub tcp_end: TcpEnd,
    /// Our local TCP port (to match smc_diag).
    pub local_port: u16,
    /// Free-form notes (timings, stalls).
    pub notes: Vec<String>,
}

impl Outcome {
    /// The kernel's CLC messages.
    pub fn from_kernel(&self) -> impl Iterator<Item = &ClcSeen> {
        self.clc.iter().filter(|c| c.from == "kernel")
    }
    /// One line: `Accept(D,fc,chid 0xffff,rel 1) → Decline NOSMCDDEV …`.
    pub fn summary(&self) -> String {
        let mut v: Vec<String> = self
            .clc
            .iter()
            .map(|c| {
                let mut s = format!("{}:{}", if c.from == "peer" { "P" } else { "K" }, c.msg);
                if let Some(d) = &c.decline {
                    s.push_str(&format!("({d})"));
                }
                if let Some(t) = &c.smc_type {
                    s.push_str(&format!("({t},v{}", c.version));
                    if let Some(r) = c.release {
                        s.push_str(&format!(",rel{r}"));
                    }
                    s.push(')');
                }
                s
            })
            .collect();
        v.push(format!("tcp:{:?}", self.tcp_end));
        if let Some(e) = self.fallback_echo {
            v.push(format!("echo:{e}"));
        }
        v.join(" ")
    }
}

/// Result of waiting for one CLC message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClcRead {
    /// One whole framed message.
    Message(Vec<u8>),
    /// Bytes that do not start a CLC message (the kernel fell back and sent data).
    NotClc(Vec<u8>),
    /// The kernel closed (FIN) before a message was complete.
    Closed,
    /// The kernel reset the connection.
    Reset,
    /// Nothing complete in time.
    Timeout,
}

/// The peer: a wire, the stack, a recorder.
pub struct Peer<W: Wire> {
    wire: W,
    iface: Iface,
    rec: Option<record::Recorder>,
    cfg: PeerConfig,
    /// What kernels revealed so far.
    pub learned: Learned,
    rng: u64,
}

impl<W: Wire> Peer<W> {
    /// A peer on `wire`; `rec` records every frame.
    pub fn new(wire: W, cfg: PeerConfig, rec: Option<record::Recorder>) -> Peer<W> {
        let iface = Iface::new(IfaceConfig {
            mac: cfg.mac,
            ipv4: cfg.ipv4,
            ipv6: cfg.ipv6,
            seed: cfg.seed,
        });
        Peer {
            wire,
            iface,
            rec,
            rng: cfg.seed | 1,
            cfg,
            learned: Learned::default(),
        }
    }

    /// Starts a new recording (the old one is flushed and closed).
    pub fn record_to(&mut self, rec: Option<record::Recorder>) {
        if let Some(r) = self.rec.as_mut() {
            let _ = r.flush();
        }
        self.rec = rec;
    }

    /// The stack.
    pub fn iface(&self) -> &Iface {
        &self.iface
    }

    /// Our identity.
    pub fn config(&self) -> &PeerConfig {
        &self.cfg
    }

    /// A pseudo-random u64 (scenario `"random"` values).
    pub fn rand(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn send_frames(&mut self, frames: Vec<Vec<u8>>) -> Result<(), PeerError> {
        for f in frames {
            if let Some(r) = self.rec.as_mut() {
                r.frame(&f).map_err(PeerError::Wire)?;
            }
            self.wire.send(&f).map_err(PeerError::Wire)?;
        }
        Ok(())
    }

    /// One round: timers, then at most one received frame (waiting up to `max_wait`).
    pub fn pump(&mut self, max_wait: Duration) -> Result<(), PeerError> {
        let mut out = Vec::new();
        let next = self.iface.poll(Instant::now(), &mut out);
        self.send_frames(out)?;
        let wait = next
            .map(|n| n.saturating_duration_since(Instant::now()))
            .unwrap_or(max_wait)
            .min(max_wait);
        if let Some(f) = self.wire.recv(wait).map_err(PeerError::Wire)? {
            if let Some(r) = self.rec.as_mut() {
                r.frame(&f).map_err(PeerError::Wire)?;
            }
            let mut out = Vec::new();
            self.iface.on_frame(&f, Instant::now(), &mut out);
            self.send_frames(out)?;
        }
        Ok(())
    }

    /// Pumps until `cond` holds or `timeout` passes; returns whether it held.
    pub fn wait_for(
        &mut self,
        timeout: Duration,
        mut cond: impl FnMut(&Iface) -> bool,
    ) -> Result<bool, PeerError> {
        let until = Instant::now() + timeout;
        loop {
            if cond(&self.iface) {
                return Ok(true);
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            self.pump(left.min(Duration::from_millis(50)))?;
        }
    }

    /// Lets the stack run for `d` (answering ARP, ACKing, retransmitting).
    pub fn idle(&mut self, d: Duration) -> Result<(), PeerError> {
        self.wait_for(d, |_| false).map(|_| ())
    }

    /// Actively opens a connection; `Ok(None)` when the kernel refused or never answered.
    pub fn connect(
        &mut self,
        remote: SocketAddr,
        cfg: TcpConfig,
        timeout: Duration,
    ) -> Result<Option<Handle>, PeerError> {
        let h = self.iface.connect(remote, 0, cfg)?;
        let ok = self.wait_for(timeout, |i| {
            i.tcb(h).map_or(true, |t| {
                t.is_synchronized() || t.state() == tcp::State::Closed
            })
        })?;
        let est = ok && self.iface.tcb(h)?.is_synchronized();
        Ok(est.then_some(h))
    }

    /// Listens on `port` and waits for one connection to complete its handshake.
    pub fn accept(
        &mut self,
        port: u16,
        cfg: TcpConfig,
        timeout: Duration,
    ) -> Result<Option<Handle>, PeerError> {
        let h = self.iface.listen(port, cfg)?;
        let ok = self.wait_for(timeout, |i| i.tcb(h).is_ok_and(|t| t.is_synchronized()))?;
        Ok(ok.then_some(h))
    }

    /// Queues data on a connection (sent as the window allows while pumping).
    pub fn send(&mut self, h: Handle, data: &[u8]) -> Result<bool, PeerError> {
        let ok = self.iface_tcb_mut(h)?.send(data);
        self.pump(Duration::ZERO)?;
        Ok(ok)
    }

    fn iface_tcb_mut(&mut self, h: Handle) -> Result<&mut tcp::Tcb, PeerError> {
        Ok(self.iface.tcb_mut(h)?)
    }

    /// Waits for one whole CLC message (or the reason there is none) on `h`. Bytes after the
    /// message stay in the connection's buffer.
    pub fn read_clc(&mut self, h: Handle, timeout: Duration) -> Result<ClcRead, PeerError> {
        let until = Instant::now() + timeout;
        loop {
            let t = self.iface.tcb(h)?;
            let have = t.peek();
            match smc_wire::clc::frame(&have) {
                Ok((msg, _)) => {
                    let n = msg.len();
                    let m = msg.to_vec();
                    self.iface_tcb_mut(h)?.recv(n);
                    return Ok(ClcRead::Message(m));
                }
                Err(smc_wire::clc::FrameError::NotClc)
                | Err(smc_wire::clc::FrameError::BadLength { .. }) => {
                    if !have.is_empty() {
                        let n = have.len();
                        self.iface_tcb_mut(h)?.recv(n);
                        return Ok(ClcRead::NotClc(have));
                    }
                }
                Err(smc_wire::clc::FrameError::Incomplete { .. }) => {}
            }
            let t = self.iface.tcb(h)?;
            if t.aborted() == Some(tcp::Abort::Reset) {
                return Ok(ClcRead::Reset);
            }
            if t.peer_closed() || t.state() == tcp::State::Closed {
                return Ok(ClcRead::Closed);
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(ClcRead::Timeout);
            }
            self.pump(left.min(Duration::from_millis(50)))?;
        }
    }

    /// Reads exactly `n` bytes (or fewer if the connection ends or time runs out).
    pub fn read_n(&mut self, h: Handle, n: usize, timeout: Duration) -> Result<Vec<u8>, PeerError> {
        let mut got = Vec::new();
        let until = Instant::now() + timeout;
        while got.len() < n {
            let want = n - got.len();
            got.extend(self.iface_tcb_mut(h)?.recv(want));
            if got.len() >= n {
                break;
            }
            let t = self.iface.tcb(h)?;
            if t.peer_closed() || t.state() == tcp::State::Closed {
                break;
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            self.pump(left.min(Duration::from_millis(50)))?;
        }
        Ok(got)
    }

    /// Closes our direction and waits (up to `timeout`) for the connection to end.
    pub fn close(&mut self, h: Handle, timeout: Duration) -> Result<TcpEnd, PeerError> {
        let peer_fin_first = self.iface.tcb(h)?.peer_closed();
        self.iface_tcb_mut(h)?.close();
        self.wait_for(timeout, |i| {
            i.tcb(h).map_or(true, |t| {
                matches!(t.state(), tcp::State::Closed | tcp::State::TimeWait)
            })
        })?;
        self.end_of(h, peer_fin_first)
    }

    /// How the connection ended (or that it is still open).
    pub fn end_of(&self, h: Handle, peer_fin_first: bool) -> Result<TcpEnd, PeerError> {
        let t = self.iface.tcb(h)?;
        Ok(match (t.aborted(), t.state()) {
            (Some(tcp::Abort::Reset), _) => TcpEnd::KernelRst,
            (Some(tcp::Abort::Local), _) => TcpEnd::PeerRst,
            (Some(tcp::Abort::TimedOut), _) => TcpEnd::TimedOut,
            (None, tcp::State::Closed | tcp::State::TimeWait) => {
                if peer_fin_first {
                    TcpEnd::KernelFin
                } else {
                    TcpEnd::Closed
                }
            }
            (None, tcp::State::CloseWait | tcp::State::LastAck) => TcpEnd::KernelFin,
            _ => TcpEnd::Open,
        })
    }

    /// Resets a connection.
    pub fn abort(&mut self, h: Handle) -> Result<(), PeerError> {
        let mut out = Vec::new();
        self.iface.abort(h, Instant::now(), &mut out)?;
        self.send_frames(out)
    }

    /// Forgets a connection.
    pub fn forget(&mut self, h: Handle) {
        self.iface.remove(h);
    }

    /// Flushes the recording.
    pub fn flush(&mut self) -> Result<(), PeerError> {
        if let Some(r) = self.rec.as_mut() {
            r.flush().map_err(PeerError::Wire)?;
        }
        Ok(())
    }

    /// The local identity a scenario needs for the connection to `remote`.
    pub fn local_for(&self, remote: IpAddr) -> scenario::Local {
        scenario::Local {
            mac: self.cfg.mac,
            ipv4: self.cfg.ipv4,
            ip: match remote {
                IpAddr::V4(_) => self.cfg.ipv4.map(IpAddr::V4),
                IpAddr::V6(_) => self.cfg.ipv6.map(IpAddr::V6),
            }
            .unwrap_or(remote),
        }
    }
}

/// The TCP settings a scenario asks for.
pub fn tcp_config(s: &scenario::Scenario) -> Result<TcpConfig, PeerError> {
    let smc_option = match s.tcp.smc_option.as_str() {
        "linux" => tcp::SmcOption::Linux,
        "never" => tcp::SmcOption::Never,
        "always" => tcp::SmcOption::Always,
        o => {
            return Err(PeerError::Scenario(format!(
                "tcp.smc_option {o:?}: want linux, never or always"
            )))
        }
    };
    Ok(TcpConfig {
        smc_option,
        ..TcpConfig::default()
    })
}

/// The payload the peer sends over the fallback path: a recognisable pattern.
pub fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| b"smc-peer fallback "[i % 18]).collect()
}

/// The peer's whole receive path for a fuzzer (`fuzz/fuzz_targets/peer_frame_rx.rs`): `data`
/// is a sequence of frames, each a 2-byte big-endian length and the bytes, fed to a peer with
/// one listening and one connecting socket (fixed seed, so sequence numbers are stable); after
/// each frame every connection's bytes go through the CLC framer and smc-wire's decoders, and
/// the learned state absorbs what decodes. Never panics.
pub fn fuzz_rx(data: &[u8]) {
    let mut wire = crate::net::wire::MemWire::default();
    let mut rest = data;
    while rest.len() >= 2 && wire.inbound.len() < 64 {
        let n = usize::from(u16::from_be_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        wire.inbound.push_back(rest[2..2 + n].to_vec());
        rest = &rest[2 + n..];
    }
    let cfg = PeerConfig {
        mac: [0x52, 0x54, 0, 0, 0x50, 0x02],
        ipv4: Some(Ipv4Addr::new(192, 168, 50, 2)),
        ipv6: Some(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2)),
        seed: 7,
    };
    let frames = wire.inbound.len();
    let mut peer = Peer::new(wire, cfg, None);
    let Ok(l) = peer.iface.listen(7777, TcpConfig::default()) else {
        return;
    };
    let Ok(c) = peer.iface.connect(
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 168, 50, 1)), 45000),
        40000,
        TcpConfig::default(),
    ) else {
        return;
    };
    for _ in 0..frames + 1 {
        if peer.pump(Duration::ZERO).is_err() {
            return;
        }
        for h in [l, c] {
            if let Ok(ClcRead::Message(m)) = peer.read_clc(h, Duration::ZERO) {
                let (_, repr) = ClcSeen::of("kernel", &m);
                if let Some(r) = repr {
                    peer.learned.absorb(&r);
                }
            }
            let _ = peer.send(h, b"x");
        }
    }
}
