//! Per-connection tracking: SMC option in SYN/SYN-ACK, per-direction reassembly, CLC framing
//! and decoding, the handshake state machine ([`crate::handshake`]) and the verdict.
//!
//! Work per packet is bounded: a TCP segment of a connection that cannot be SMC costs one flow
//! lookup (and, for the first payload of a watched flow, a 4-byte compare); an SMC connection
//! drops its buffers as soon as its verdict is known.

use std::io;
use std::net::SocketAddr;

use smc_wire::clc::{self, check, Body, ClcType, FrameError, RecvContext};
use smc_wire::{Anomaly, ClcRepr, Decoded, Mode};

use crate::decap::TcpSegment;
use crate::event::{ConnRef, Event, Notice, OptionSeen, PacketMeta};
use crate::flow::{ConnId, Direction, FlowKey, FlowTable};
use crate::handshake::{self, ClcMsg, ClcState, Step};
use crate::output::Sink;
use crate::reasm::StreamReasm;
use crate::source::Timestamp;
use crate::stats::Stats;
use crate::verdict::{
    DeclineOutcome, Device, IncompleteCause, Role, SmcKind, SmcOutcome, Stage, SynState, Verdict,
    Violation,
};

/// `CLC_WAIT_TIME` (6 s, `smc_clc.h`): how long a kernel waits for the next CLC message.
pub const CLC_WAIT_SECS: f64 = 6.0;
/// After a Confirm, how long a Decline may still follow (SMC-R first-link confirmation waits up to
/// `SMC_LLC_WAIT_FIRST_TIME`; a Decline follows within CLC_WAIT_TIME of that). Past it, SMC stands.
pub const SETTLE_SECS: f64 = 10.0;
/// Most anomalies kept per connection.
const MAX_CONN_ANOMALIES: usize = 32;

/// Tracker limits.
#[derive(Clone, Copy, Debug)]
pub struct TrackerConfig {
    /// Most flows tracked at once.
    pub max_flows: usize,
    /// Idle time after which a flow may be evicted (seconds of capture time).
    pub idle_timeout_secs: u64,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            max_flows: 64 * 1024,
            idle_timeout_secs: 600,
        }
    }
}

/// What the flow table keeps per TCP flow.
enum FlowState {
    /// A connection whose SYN had no option: watched until its client's first payload.
    Watch(Watch),
    /// An SMC-relevant connection.
    Smc(Box<Conn>),
    /// Nothing more to learn (verdict given, or ordinary TCP).
    Done,
}

struct Watch {
    client_dir: Direction,
    /// Next sequence number per direction (ISN + 1) when the SYN/SYN-ACK was seen.
    next_seq: [Option<u32>; 2],
}

/// One SMC-relevant connection.
struct Conn {
    id: ConnId,
    client: SocketAddr,
    server: SocketAddr,
    client_dir: Direction,
    syn: SynState,
    syn_option: Option<OptionSeen>,
    synack_seen: bool,
    synack_option: Option<OptionSeen>,
    isn: [Option<u32>; 2],
    state: ClcState,
    streams: [StreamReasm; 2],
    /// Bytes of an over-long CLC message still to drain, per role.
    drain: [usize; 2],
    proposal: Option<clc::ProposalRepr>,
    accept: Option<clc::AcceptConfirmRepr>,
    confirm: Option<clc::AcceptConfirmRepr>,
    confirm_ts: Option<Timestamp>,
    last_clc_ts: Option<Timestamp>,
    anomalies: Vec<(u64, Anomaly)>,
    frames: u64,
    last: (u16, u64, Timestamp),
    /// The verdict was given: no more work on this connection.
    done: bool,
    /// Time of the SYN-ACK: the server's wait for the Proposal starts with the connection
    /// (`smc_listen_work` runs after the 3-way handshake, KH §4), not with the first SYN.
    synack_ts: Option<Timestamp>,
    /// Whether each role (client, server) sent any payload.
    payload_seen: [bool; 2],
    /// A Confirm completed an SMC-R exchange the RoCE tracker has not been told about yet.
    new_smcr: bool,
    /// Sequence ranges per role whose bytes the snapshot length cut (zero-filled in the stream
    /// so later messages stay framed; a message touching one is never decoded).
    taints: [[Option<(u32, u32)>; 4]; 2],
    /// Headers of the Accept and Confirm, kept even when the messages themselves were cut.
    accept_hdr: Option<clc::Header>,
    /// Some CLC message of this connection was cut by the snapshot length.
    truncated: bool,
}

fn role_index(r: Role) -> usize {
    match r {
        Role::Client => 0,
        Role::Server => 1,
    }
}

fn secs_between(a: Timestamp, b: Timestamp) -> f64 {
    (b.secs - a.secs) as f64 + (f64::from(b.nanos) - f64::from(a.nanos)) / 1e9
}

impl Conn {
    fn new(
        id: ConnId,
        meta: &PacketMeta,
        client_dir: Direction,
        dir: Direction,
        syn: SynState,
    ) -> Conn {
        let (client, server) = if dir == client_dir {
            (meta.src, meta.dst)
        } else {
            (meta.dst, meta.src)
        };
        Conn {
            id,
            client,
            server,
            client_dir,
            syn,
            syn_option: None,
            synack_seen: false,
            synack_option: None,
            isn: [None, None],
            state: if syn == SynState::NotSeen {
                ClcState::Midstream
            } else {
                ClcState::Start
            },
            streams: [StreamReasm::new(None), StreamReasm::new(None)],
            drain: [0, 0],
            proposal: None,
            accept: None,
            confirm: None,
            confirm_ts: None,
            last_clc_ts: None,
            anomalies: Vec::new(),
            frames: 0,
            last: (meta.input, meta.frame, meta.ts),
            done: false,
            synack_ts: None,
            payload_seen: [false; 2],
            new_smcr: false,
            taints: [[None; 4]; 2],
            accept_hdr: None,
            truncated: false,
        }
    }

    fn conn_ref(&self) -> ConnRef {
        ConnRef {
            id: self.id,
            client: self.client,
            server: self.server,
        }
    }

    fn role(&self, dir: Direction) -> Role {
        if dir == self.client_dir {
            Role::Client
        } else {
            Role::Server
        }
    }

    fn add_taint(&mut self, ri: usize, start: u32, len: u32) {
        let slots = &mut self.taints[ri];
        let slot = slots.iter().position(|t| t.is_none()).unwrap_or(0);
        slots[slot] = Some((start, start.wrapping_add(len)));
    }

    /// Bytes of `[start, start + len)` that the snapshot length cut, if any.
    fn tainted(&self, ri: usize, start: u32, len: u32) -> Option<u32> {
        let end = start.wrapping_add(len);
        self.taints[ri].iter().flatten().find_map(|&(a, b)| {
            // overlap with wrapping sequence arithmetic
            let overlaps = (b.wrapping_sub(start) as i32) > 0 && (end.wrapping_sub(a) as i32) > 0;
            overlaps.then(|| b.wrapping_sub(a))
        })
    }

    fn note(&mut self, frame: u64, a: Anomaly) {
        if self.anomalies.len() < MAX_CONN_ANOMALIES {
            self.anomalies.push((frame, a));
        }
    }

    /// The SMC-relevant "no CLC is expected" situation: SYN had the option, SYN-ACK did not.
    fn no_echo(&self) -> bool {
        self.syn_option.is_some() && self.synack_seen && self.synack_option.is_none()
    }

    /// Since when the side whose turn it is has been waiting for the next CLC message, if one
    /// is (`CLC_WAIT_TIME` runs from there, §9.1): the server from the end of the TCP handshake,
    /// the client from its Proposal, the server from its Accept.
    fn clc_wait_since(&self) -> Option<Timestamp> {
        match self.state {
            ClcState::Proposal | ClcState::Accept => self.last_clc_ts,
            ClcState::Start if self.syn_option.is_some() && self.synack_option.is_some() => {
                self.synack_ts
            }
            _ => None,
        }
    }

    /// The verdict once the waiting side has waited longer than `CLC_WAIT_TIME`.
    fn timeout_verdict(&self) -> Verdict {
        // a server that sent nothing at all after the Proposal: the client times out in
        // smc_connect_clc and connect() fails (KH §3)
        let cause = if self.state == ClcState::Proposal && !self.payload_seen[1] {
            IncompleteCause::NoAnswer
        } else {
            IncompleteCause::Timeout
        };
        self.wrap(Verdict::Incomplete {
            stage: self.state.stage(),
            cause,
        })
    }

    /// The context in which the receiver of a message from `role` reads it (§9.1): the type it
    /// waits for and its buffer.
    fn recv_context(&self, role: Role, msg_type: ClcType) -> RecvContext {
        match (self.state, role) {
            (ClcState::Start, Role::Client) => RecvContext::SERVER_PROPOSAL,
            (ClcState::Proposal, Role::Server) => RecvContext::CLIENT_ACCEPT,
            (ClcState::Accept, Role::Client) => RecvContext::SERVER_CONFIRM,
            // midstream the receiver waits for whatever the first captured message answers
            _ => RecvContext::for_type(msg_type),
        }
    }

    /// Wraps a CLC outcome for connections whose SYN did not carry the option.
    fn wrap(&self, v: Verdict) -> Verdict {
        match self.syn {
            SynState::NoOption | SynState::NotSeen if self.syn_option.is_none() => {
                Verdict::ClcWithoutOption {
                    syn: self.syn,
                    clc: Box::new(v),
                }
            }
            _ => v,
        }
    }

    /// The verdict when the connection ends (or the capture does) in its current state.
    fn final_verdict(&self, cause: IncompleteCause) -> Verdict {
        if self.state == ClcState::Confirm {
            if let Some(v) = self.smc_outcome() {
                return self.wrap(Verdict::Smc(v));
            }
        }
        if self.no_echo() && matches!(self.state, ClcState::Start) {
            return Verdict::FallbackNoEcho;
        }
        let stage =
            if !self.synack_seen && self.syn_option.is_some() && self.state == ClcState::Start {
                Stage::Syn
            } else {
                self.state.stage()
            };
        self.wrap(Verdict::Incomplete { stage, cause })
    }

    fn smc_outcome(&self) -> Option<SmcOutcome> {
        let Some(a) = self.accept.as_ref() else {
            // the Accept was cut by the snapshot length: what its header says, nothing more
            let h = self.accept_hdr?;
            let is_d = h.type_bits & 0x3 == 1;
            let mut o = SmcOutcome::new(
                if is_d { SmcKind::SmcD } else { SmcKind::SmcR },
                h.version,
                if is_d { Device::Unknown } else { Device::Roce },
                h.type_bits & 0x08 != 0,
            );
            o.truncated = true;
            return Some(o);
        };
        let c = self.confirm.as_ref();
        let buf = |n: u8| 1u64 << (u32::from(n) + 14); // §4.5: 2^(n+14) bytes
        let fce = a.fce.as_ref();
        let cfce = c.and_then(|c| c.fce.as_ref());
        // release 0 (v2.0) negotiates no limits: the kernel uses 255 / 2 and ignores the FCE's
        // last 16 bytes (smc_clc_clnt_v2x_features_validate returns early for release_nr < 1)
        let v2x = cfce
            .and_then(|f| f.v2x)
            .or(fce.and_then(|f| f.v2x))
            .filter(|_| fce.is_some_and(|f| f.release >= 1));
        let mut o = SmcOutcome::new(SmcKind::SmcR, a.version, Device::Roce, a.first_contact);
        o.release = fce.map(|f| f.release);
        o.eid = a.eid();
        o.feature_mask = v2x.map(|x| x.feature_mask);
        o.truncated = self.truncated;
        match &a.body {
            Body::Smcr(r) => {
                o.server_roce_gid = Some(r.gid);
                o.server_qpn = Some(r.qpn);
                o.server_token = Some(format!("{:#010x}", r.rmbe_alert_token));
                o.server_buffer = Some(buf(r.rmbe_size));
                o.max_conns = v2x.map(|x| x.max_conns);
                o.max_links = v2x.map(|x| x.max_links);
                if let Some(Body::Smcr(cr)) = c.map(|c| &c.body) {
                    o.client_roce_gid = Some(cr.gid);
                    o.client_qpn = Some(cr.qpn);
                    o.client_token = Some(format!("{:#010x}", cr.rmbe_alert_token));
                    o.client_buffer = Some(buf(cr.rmbe_size));
                }
            }
            Body::Smcd(d) => {
                o.kind = SmcKind::SmcD;
                let chid = match d.v2 {
                    Some(v2) => Some(v2.chid),
                    // v1: the native ISM device the client offered for v1 (§6.2)
                    None => self
                        .proposal
                        .as_ref()
                        .and_then(|p| p.smcd)
                        .map(|s| s.ism_chid),
                };
                o.chid = chid;
                o.device = chid.map_or(Device::NativeIsm, |c| c.class().into());
                o.server_gid = Some(d.gid);
                o.server_token = Some(format!("{:#018x}", d.token));
                o.server_vgid = d.virtual_gid();
                o.server_buffer = Some(buf(d.dmbe_size));
                if let Some(Body::Smcd(cd)) = c.map(|c| &c.body) {
                    o.client_gid = Some(cd.gid);
                    o.client_token = Some(format!("{:#018x}", cd.token));
                    o.client_vgid = cd.virtual_gid();
                    o.client_buffer = Some(buf(cd.dmbe_size));
                }
            }
        }
        Some(o)
    }
}

/// Does a first payload look like the start of a CLC message? (eyecatcher, and when the header
/// is there: a known type, version ≥ 1 and a plausible length — so random TCP payload is rarely
/// taken for CLC.)
pub fn looks_like_clc(p: &[u8]) -> bool {
    // both eyecatchers start with 0xE2 (§2.1): one byte decides for nearly every TCP payload
    if p.first() != Some(&0xe2) {
        return false;
    }
    if !clc::Eyecatcher::could_start(p) || p.is_empty() {
        return false;
    }
    if p.len() < clc::HEADER_LEN {
        return true;
    }
    let Ok(h) = clc::Header::parse(p) else {
        return false;
    };
    (1..=4).contains(&h.msg_type.0) && h.version >= 1 && h.length >= 28
}

/// The TCP side of the pipeline.
pub struct Tracker {
    flows: FlowTable<FlowState>,
    /// SMC-R link groups learned from CLC, for RoCE packets.
    pub roce: crate::roce::RoceTracker,
    /// Counters.
    pub stats: Stats,
    /// No sweep before this capture time (a second after the last one).
    next_sweep: Option<Timestamp>,
    /// The frame being processed belonged to an SMC-relevant connection or carried RoCE.
    frame_relevant: bool,
}

impl Tracker {
    /// A tracker with these limits.
    pub fn new(cfg: TrackerConfig) -> Tracker {
        Tracker {
            flows: FlowTable::new(cfg.max_flows, cfg.idle_timeout_secs),
            roce: crate::roce::RoceTracker::default(),
            stats: Stats::default(),
            next_sweep: None,
            frame_relevant: false,
        }
    }

    /// Whether the last frame was SMC-relevant (and resets it).
    pub fn take_frame_relevant(&mut self) -> bool {
        std::mem::take(&mut self.frame_relevant)
    }

    /// One TCP segment.
    pub fn on_tcp<K: Sink>(
        &mut self,
        meta: &PacketMeta,
        seg: &TcpSegment<'_>,
        sink: &mut K,
    ) -> io::Result<()> {
        self.stats.tcp_segments += 1;
        let (key, dir) = FlowKey::new(
            meta.src.ip(),
            meta.src.port(),
            meta.dst.ip(),
            meta.dst.port(),
        );
        let syn = seg.flags.is_syn();
        let ack = seg.flags.is_ack();
        let option = if syn {
            smc_wire::tcp_option::find(seg.options)
                .0
                .map(|o| OptionSeen {
                    synack: ack,
                    length: o.length,
                    accepted: o.kernel_accepts(true),
                })
        } else {
            None
        };
        self.maybe_sweep(meta.ts, sink)?;

        // a new SYN (different ISN) on a known flow: the old connection is over
        if syn && !ack {
            if let Some((_, FlowState::Smc(c))) = self.flows.get_mut(&key) {
                // an unknown client ISN (flow met midstream or from its SYN-ACK) counts as new too
                if c.isn[0] != Some(seg.seq) || c.client_dir != dir {
                    if let Some(FlowState::Smc(c)) = self.flows.remove(&key) {
                        Self::finish_conn(&mut self.stats, *c, IncompleteCause::PortReused, sink)?;
                    }
                }
            } else if let Some((_, FlowState::Done)) | Some((_, FlowState::Watch(_))) =
                self.flows.get_mut(&key)
            {
                self.flows.remove(&key);
            }
        }

        let Tracker {
            flows,
            stats,
            roce,
            frame_relevant,
            ..
        } = self;
        // one lookup per packet: an existing flow is the common case
        if let Some((id, st)) = flows.get_mut(&key) {
            return match st {
                FlowState::Done => Ok(()),
                FlowState::Watch(w) => {
                    let i = usize::from(dir != w.client_dir);
                    if syn && ack {
                        w.next_seq[1] = Some(seg.seq.wrapping_add(1));
                        return Ok(());
                    }
                    if seg.flags.is_rst() || seg.flags.is_fin() {
                        *st = FlowState::Done;
                        return Ok(());
                    }
                    if seg.payload.is_empty() {
                        return Ok(());
                    }
                    if !looks_like_clc(seg.payload) {
                        if i == 0 {
                            *st = FlowState::Done; // the client spoke, and it was not CLC
                        }
                        return Ok(());
                    }
                    // CLC although the SYN had no option
                    *frame_relevant = true;
                    let client_dir = w.client_dir;
                    let next = w.next_seq;
                    let mut c = Box::new(Conn::new(id, meta, client_dir, dir, SynState::NoOption));
                    c.isn = [
                        next[0].map(|s| s.wrapping_sub(1)),
                        next[1].map(|s| s.wrapping_sub(1)),
                    ];
                    c.synack_seen = next[1].is_some();
                    let r = c.role(dir);
                    c.streams[role_index(r)] = StreamReasm::new(Some(next[i].unwrap_or(seg.seq)));
                    if let Some(n) = next[1 - i] {
                        c.streams[1 - role_index(r)] = StreamReasm::new(Some(n));
                    }
                    Self::on_data(&mut c, meta, seg, dir, stats, roce, sink)?;
                    *st = if c_is_final(&c) {
                        FlowState::Done
                    } else {
                        FlowState::Smc(c)
                    };
                    Ok(())
                }
                FlowState::Smc(c) => {
                    *frame_relevant = true;
                    c.frames += 1;
                    c.last = (meta.input, meta.frame, meta.ts);
                    if syn && ack {
                        return Self::on_synack(c, meta, seg, option, stats, sink);
                    }
                    if syn {
                        return Ok(()); // a retransmitted SYN
                    }
                    // a handshake step that took longer than the kernel waits (CLC_WAIT_TIME)
                    if let Some(t) = c.clc_wait_since() {
                        if secs_between(t, meta.ts) > CLC_WAIT_SECS {
                            let v = c.timeout_verdict();
                            emit_verdict(c, &v, meta.frame, meta.input, meta.ts, stats, sink)?;
                            *st = FlowState::Done;
                            return Ok(());
                        }
                    }
                    // a pending SMC verdict that nothing contradicted in time
                    if let Some(t) = c.confirm_ts {
                        if secs_between(t, meta.ts) > SETTLE_SECS {
                            let v = c.final_verdict(IncompleteCause::EndOfCapture);
                            emit_verdict(c, &v, meta.frame, meta.input, meta.ts, stats, sink)?;
                            *st = FlowState::Done;
                            return Ok(());
                        }
                    }
                    if !seg.payload.is_empty() || seg.payload_missing > 0 {
                        Self::on_data(c, meta, seg, dir, stats, roce, sink)?;
                        if c_is_final(c) {
                            *st = FlowState::Done;
                            return Ok(());
                        }
                    }
                    if seg.flags.is_rst() || seg.flags.is_fin() {
                        let cause = if seg.flags.is_rst() {
                            IncompleteCause::Rst
                        } else {
                            IncompleteCause::Fin
                        };
                        let v = c.final_verdict(cause);
                        emit_verdict(c, &v, meta.frame, meta.input, meta.ts, stats, sink)?;
                        *st = FlowState::Done;
                    }
                    Ok(())
                }
            };
        }
        let usable = option.is_some_and(|o| o.accepted);
        if syn && !ack {
            let (_, st, _) = flows.get_or_insert_with(key, meta.ts, |id| {
                if usable {
                    FlowState::Smc(Box::new(Conn::new(id, meta, dir, dir, SynState::NoOption)))
                } else {
                    FlowState::Watch(Watch {
                        client_dir: dir,
                        next_seq: [None, None],
                    })
                }
            });
            match st {
                FlowState::Smc(c) => {
                    *frame_relevant = true;
                    c.syn_option = option;
                    c.isn[0] = Some(seg.seq);
                    c.streams[0] = StreamReasm::new(Some(seg.seq.wrapping_add(1)));
                    if !seg.payload.is_empty() {
                        // SYN data (TCP Fast Open) occupies ISN+1..: buffer it so the stream has
                        // no hole; it is framed with the client's next payload
                        let _ = c.streams[0].push(seg.seq.wrapping_add(1), seg.payload);
                        c.payload_seen[0] = true;
                    }
                    c.frames += 1;
                    c.last = (meta.input, meta.frame, meta.ts);
                    stats.smc_options += 1;
                    if let Some(o) = option {
                        sink.event(&Event::SmcOption {
                            meta,
                            conn: c.conn_ref(),
                            option: o,
                        })?;
                    }
                }
                FlowState::Watch(w) => {
                    let i = usize::from(dir != w.client_dir);
                    w.next_seq[i] = Some(seg.seq.wrapping_add(1));
                }
                FlowState::Done => {}
            }
            return Ok(());
        }
        if syn && ack && usable {
            // SYN-ACK with the option but no SYN seen: the receiver is the client
            let client_dir = reverse(dir);
            let (_, st, _) = flows.get_or_insert_with(key, meta.ts, |id| {
                FlowState::Smc(Box::new(Conn::new(
                    id,
                    meta,
                    client_dir,
                    dir,
                    SynState::NotSeen,
                )))
            });
            if let FlowState::Smc(c) = st {
                *frame_relevant = true;
                c.state = ClcState::Start;
                Self::on_synack(c, meta, seg, option, stats, sink)?;
            }
            return Ok(());
        }
        if !seg.payload.is_empty() && looks_like_clc(seg.payload) {
            // a capture that starts mid-connection: the sender's role comes from the message
            let client_dir = match midstream_sender_role(seg.payload, meta) {
                Role::Client => dir,
                Role::Server => reverse(dir),
            };
            let (_, st, _) = flows.get_or_insert_with(key, meta.ts, |id| {
                FlowState::Smc(Box::new(Conn::new(
                    id,
                    meta,
                    client_dir,
                    dir,
                    SynState::NotSeen,
                )))
            });
            if let FlowState::Smc(c) = st {
                *frame_relevant = true;
                let r = c.role(dir);
                c.streams[role_index(r)] = StreamReasm::new(Some(seg.seq));
                Self::on_data(c, meta, seg, dir, stats, roce, sink)?;
                if c_is_final(c) {
                    *st = FlowState::Done;
                }
            }
        }
        Ok(())
    }

    fn on_synack<K: Sink>(
        c: &mut Conn,
        meta: &PacketMeta,
        seg: &TcpSegment<'_>,
        option: Option<OptionSeen>,
        stats: &mut Stats,
        sink: &mut K,
    ) -> io::Result<()> {
        if c.synack_seen {
            return Ok(()); // retransmission
        }
        c.synack_seen = true;
        c.synack_ts = Some(meta.ts);
        c.isn[1] = Some(seg.seq);
        c.streams[1] = StreamReasm::new(Some(seg.seq.wrapping_add(1)));
        c.synack_option = option.filter(|o| o.accepted);
        if let Some(o) = option {
            stats.smc_options += 1;
            sink.event(&Event::SmcOption {
                meta,
                conn: c.conn_ref(),
                option: o,
            })?;
        }
        Ok(())
    }

    /// Payload of an SMC connection: reassemble, frame, decode, step the state machine.
    #[allow(clippy::too_many_arguments)]
    fn on_data<K: Sink>(
        c: &mut Conn,
        meta: &PacketMeta,
        seg: &TcpSegment<'_>,
        dir: Direction,
        stats: &mut Stats,
        roce: &mut crate::roce::RoceTracker,
        sink: &mut K,
    ) -> io::Result<()> {
        let role = c.role(dir);
        let ri = role_index(role);
        c.payload_seen[ri] |= !seg.payload.is_empty() || seg.payload_missing > 0;
        let _ = c.streams[ri].push(seg.seq, seg.payload);
        if seg.payload_missing > 0 {
            stats.truncated_frames += 1;
            // keep the stream aligned: the cut bytes go in as zeros, marked so no message that
            // touches them is ever decoded ("reported, never misread")
            const ZEROS: [u8; 2048] = [0; 2048];
            let at = seg.seq.wrapping_add(seg.payload.len() as u32);
            let fill = (seg.payload_missing as usize).min(ZEROS.len());
            c.add_taint(ri, at, seg.payload_missing);
            let _ = c.streams[ri].push(at, &ZEROS[..fill]);
        }
        loop {
            if c_is_final(c) {
                return Ok(());
            }
            let data = c.streams[ri].data();
            if data.is_empty() {
                return Ok(());
            }
            if c.drain[ri] > 0 {
                let n = c.drain[ri].min(data.len());
                c.drain[ri] -= n;
                c.streams[ri].consume(n);
                continue;
            }
            match clc::frame(data) {
                Ok((msg, _)) => {
                    let msg = msg.to_vec();
                    let start = c.streams[ri]
                        .next_seq()
                        .map(|n| n.wrapping_sub(data.len() as u32));
                    c.streams[ri].consume(msg.len());
                    let cut =
                        start.and_then(|st| c.tainted(ri, st, msg.len() as u32).map(|m| (st, m)));
                    if let Some((st, missing)) = cut {
                        // how many leading bytes were really captured
                        let known = c.taints[ri]
                            .iter()
                            .flatten()
                            .map(|&(a, _)| a.wrapping_sub(st) as usize)
                            .filter(|k| *k < msg.len())
                            .min()
                            .unwrap_or(0);
                        sink.event(&Event::Notice {
                            meta: Some(meta),
                            notice: &Notice::TruncatedClc {
                                conn: c.id,
                                missing,
                            },
                        })?;
                        Self::on_truncated_clc(
                            c,
                            meta,
                            role,
                            &msg[..known],
                            msg.len(),
                            stats,
                            sink,
                        )?;
                        continue;
                    }
                    Self::on_clc(c, meta, role, &msg, stats, sink)?;
                    if c.new_smcr {
                        c.new_smcr = false;
                        if let (Some(a), Some(cf)) = (&c.accept, &c.confirm) {
                            if let (Some(s), Some(cl)) = (a.smcr_body(), cf.smcr_body()) {
                                roce.register(c.conn_ref(), a.first_contact, s, cl);
                            }
                        }
                    }
                }
                Err(FrameError::Incomplete { .. }) => {
                    // a message that fits the reassembly buffer is simply awaited; a longer one
                    // can never complete there
                    let Ok(hdr) = clc::Header::parse(data) else {
                        return Ok(());
                    };
                    let len = usize::from(hdr.length);
                    if len <= crate::reasm::DEFAULT_CAP {
                        return Ok(());
                    }
                    // the kernel reads its buffer's worth, skips the trailer check and drains
                    // the rest (smc_clc_wait_msg, §9.1 step 3): an over-long Accept or Confirm
                    // is accepted. A Proposal or Decline that long fails its length check.
                    let ctx = c.recv_context(role, hdr.msg_type);
                    let kernel_reads = matches!(hdr.msg_type, ClcType::ACCEPT | ClcType::CONFIRM)
                        && ctx.buflen < len;
                    if !kernel_reads {
                        let v = Verdict::Violation(Violation {
                            what: format!(
                                "CLC {} declares {len} bytes, more than its receiver accepts",
                                hdr.msg_type
                            ),
                            check: None,
                            frame: meta.frame,
                            by: role,
                        });
                        return emit_verdict(
                            c,
                            &c.wrap(v),
                            meta.frame,
                            meta.input,
                            meta.ts,
                            stats,
                            sink,
                        );
                    }
                    if data.len() < ctx.buflen {
                        return Ok(());
                    }
                    // what the kernel sees: its buffer's worth, the rest never read (zeros
                    // here, as in its zeroed buffer); the raw bytes shown are the real ones
                    let head = data[..ctx.buflen].to_vec();
                    let mut view = head.clone();
                    view.resize(len, 0);
                    c.streams[ri].consume(ctx.buflen);
                    c.drain[ri] = len - ctx.buflen;
                    Self::on_clc_as(c, meta, role, &view, &head, stats, sink)?;
                    continue;
                }
                Err(FrameError::BadLength { length }) => {
                    let v = Verdict::Violation(Violation {
                        what: format!(
                            "CLC header declares length {length}, shorter than the header"
                        ),
                        check: None,
                        frame: meta.frame,
                        by: role,
                    });
                    emit_verdict(c, &c.wrap(v), meta.frame, meta.input, meta.ts, stats, sink)?;
                    return Ok(());
                }
                Err(FrameError::NotClc) => {
                    let n = data.len();
                    c.streams[ri].consume(n);
                    return Self::on_non_clc(c, meta, role, stats, sink);
                }
            }
        }
    }

    fn on_non_clc<K: Sink>(
        c: &mut Conn,
        meta: &PacketMeta,
        role: Role,
        stats: &mut Stats,
        sink: &mut K,
    ) -> io::Result<()> {
        let v = match c.state {
            ClcState::Start | ClcState::Midstream => {
                if c.no_echo() {
                    Verdict::FallbackNoEcho
                } else if c.synack_option.is_some() {
                    // a server echoes the option only to a SYN that carried it (§1)
                    Verdict::OptionEchoedNoClc {
                        first_payload_by: role,
                        after: Stage::TcpEstablished,
                    }
                } else if c.syn_option.is_some() && !c.synack_seen {
                    Verdict::Incomplete {
                        stage: Stage::Syn,
                        cause: IncompleteCause::NoSynAckThenData,
                    }
                } else {
                    // neither side negotiated SMC and nothing CLC-like came: ordinary TCP
                    c.done = true;
                    return Ok(());
                }
            }
            ClcState::Proposal if role == Role::Server => {
                let v = Verdict::OptionEchoedNoClc {
                    first_payload_by: role,
                    after: Stage::Proposal,
                };
                c.wrap(v)
            }
            ClcState::Declined => return Ok(()),
            s => c.wrap(Verdict::Violation(Violation {
                what: format!("non-CLC data from the {role} after the {}", s.stage()),
                check: None,
                frame: meta.frame,
                by: role,
            })),
        };
        emit_verdict(c, &v, meta.frame, meta.input, meta.ts, stats, sink)
    }

    /// A CLC message the snapshot length cut: advance the handshake from its header (when
    /// captured), report it, decode nothing that was not captured.
    #[allow(clippy::too_many_arguments)]
    fn on_truncated_clc<K: Sink>(
        c: &mut Conn,
        meta: &PacketMeta,
        role: Role,
        known: &[u8],
        declared: usize,
        stats: &mut Stats,
        sink: &mut K,
    ) -> io::Result<()> {
        stats.clc_messages += 1;
        c.truncated = true;
        let err = smc_wire::Error::Truncated {
            layer: smc_wire::Layer::ClcHeader,
            need: declared,
            have: known.len(),
            at: 0,
        };
        sink.event(&Event::Clc {
            meta,
            conn: c.conn_ref(),
            from: role,
            raw: known,
            decoded: Err(err),
        })?;
        c.last_clc_ts = Some(meta.ts);
        let Ok(hdr) = clc::Header::parse(known) else {
            // not even the header: the stage it was in cannot be told
            let v = c.wrap(Verdict::Incomplete {
                stage: c.state.stage(),
                cause: IncompleteCause::Truncated,
            });
            return emit_verdict(c, &v, meta.frame, meta.input, meta.ts, stats, sink);
        };
        let kind = match hdr.msg_type {
            ClcType::PROPOSAL => ClcMsg::Proposal,
            ClcType::ACCEPT => ClcMsg::Accept,
            ClcType::CONFIRM => ClcMsg::Confirm,
            ClcType::DECLINE => ClcMsg::Decline,
            other => {
                let v = Verdict::Violation(Violation {
                    what: format!("unknown CLC type {other}"),
                    check: None,
                    frame: meta.frame,
                    by: role,
                });
                return emit_verdict(c, &c.wrap(v), meta.frame, meta.input, meta.ts, stats, sink);
            }
        };
        match handshake::next(c.state, kind, role) {
            Step::Next(s) => {
                c.state = s;
                match kind {
                    ClcMsg::Accept => c.accept_hdr = Some(hdr),
                    ClcMsg::Confirm => c.confirm_ts = Some(meta.ts),
                    _ => {}
                }
                Ok(())
            }
            Step::Declined { after } => {
                // the reason is at bytes 16..20 (§5.1): usable only if captured
                let v = match known.get(16..20) {
                    Some(r) => Verdict::Declined(DeclineOutcome {
                        reason: smc_wire::DeclineReason(u32::from_be_bytes([
                            r[0], r[1], r[2], r[3],
                        ])),
                        by: role,
                        after,
                        version: hdr.version,
                        out_of_sync: hdr.type_bits & 0x08 != 0,
                        peer_diagnosis_v2: Vec::new(),
                    }),
                    None => Verdict::Incomplete {
                        stage: after,
                        cause: IncompleteCause::Truncated,
                    },
                };
                c.state = ClcState::Declined;
                emit_verdict(c, &c.wrap(v), meta.frame, meta.input, meta.ts, stats, sink)
            }
            Step::Violation(what) => {
                let v = Verdict::Violation(Violation {
                    what: what.to_string(),
                    check: None,
                    frame: meta.frame,
                    by: role,
                });
                emit_verdict(c, &c.wrap(v), meta.frame, meta.input, meta.ts, stats, sink)
            }
        }
    }

    fn on_clc<K: Sink>(
        c: &mut Conn,
        meta: &PacketMeta,
        role: Role,
        msg: &[u8],
        stats: &mut Stats,
        sink: &mut K,
    ) -> io::Result<()> {
        Self::on_clc_as(c, meta, role, msg, msg, stats, sink)
    }

    /// One CLC message: `msg` is what the receiver's kernel reads (for an over-long message its
    /// buffer's worth, then zeros), `raw` the bytes the capture holds for it.
    #[allow(clippy::too_many_arguments)]
    fn on_clc_as<K: Sink>(
        c: &mut Conn,
        meta: &PacketMeta,
        role: Role,
        msg: &[u8],
        raw: &[u8],
        stats: &mut Stats,
        sink: &mut K,
    ) -> io::Result<()> {
        stats.clc_messages += 1;
        let Ok(hdr) = clc::Header::parse(msg) else {
            return Ok(());
        };
        // the receiver's context: which message it waits for, and its buffer (§9.1)
        let ctx = c.recv_context(role, hdr.msg_type);
        let decoded = ClcRepr::parse_with(msg, Mode::Lenient, &ctx);
        let rejected = match &decoded {
            Ok(d) => d.anomalies.checks().next(),
            Err(smc_wire::Error::Check { check }) => Some(*check),
            Err(_) => None,
        };
        if rejected.is_some() {
            stats.clc_rejected += 1;
        }
        if let Ok(d) = &decoded {
            for a in d.anomalies.iter() {
                c.note(meta.frame, *a);
            }
        }
        sink.event(&Event::Clc {
            meta,
            conn: c.conn_ref(),
            from: role,
            raw,
            decoded: decoded.as_ref().map_err(|e| *e),
        })?;
        c.last_clc_ts = Some(meta.ts);

        let violation = |what: String, check| {
            Verdict::Violation(Violation {
                what,
                check,
                frame: meta.frame,
                by: role,
            })
        };
        if c.no_echo() && c.syn != SynState::NotSeen {
            let v = violation(
                "CLC although the server did not echo the SMC option".into(),
                None,
            );
            return emit_verdict(c, &c.wrap(v), meta.frame, meta.input, meta.ts, stats, sink);
        }
        let d: &Decoded<ClcRepr> = match &decoded {
            Ok(d) => d,
            Err(e) => {
                let v = violation(format!("undecodable {}: {e}", hdr.msg_type), rejected);
                return emit_verdict(c, &c.wrap(v), meta.frame, meta.input, meta.ts, stats, sink);
            }
        };
        if let Some(check) = rejected {
            let v = violation(
                format!("{} rejected by the receiver: {check}", hdr.msg_type),
                Some(check),
            );
            return emit_verdict(c, &c.wrap(v), meta.frame, meta.input, meta.ts, stats, sink);
        }
        let kind = match hdr.msg_type {
            ClcType::PROPOSAL => ClcMsg::Proposal,
            ClcType::ACCEPT => ClcMsg::Accept,
            ClcType::CONFIRM => ClcMsg::Confirm,
            _ => ClcMsg::Decline,
        };
        match handshake::next(c.state, kind, role) {
            Step::Next(s) => {
                c.state = s;
                match &d.repr {
                    ClcRepr::Proposal(p) => c.proposal = Some(*p),
                    ClcRepr::AcceptConfirm(a) if a.is_accept() => {
                        c.accept = Some(*a);
                        c.accept_hdr = Some(hdr);
                        if let Some(p) = c.proposal {
                            if let Some(anomaly) = check::accept_above_proposal(&p, a) {
                                c.note(meta.frame, anomaly);
                            }
                            if let Err(check) = check::smc_connect_check_aclc(&p, a) {
                                // the client declines this with MODEUNSUPP before it looks at
                                // the CHID (__smc_connect, §4.6)
                                c.note(meta.frame, check.into());
                            } else if let Err(check) = check::smc_v2_determine_accepted_chid(&p, a)
                            {
                                // -EPROTO: the client aborts, no Decline (af_smc.c smc_connect_ism)
                                let v = violation(format!("Accept {check}"), Some(check));
                                return emit_verdict(
                                    c,
                                    &c.wrap(v),
                                    meta.frame,
                                    meta.input,
                                    meta.ts,
                                    stats,
                                    sink,
                                );
                            }
                        }
                    }
                    ClcRepr::AcceptConfirm(a) => {
                        c.confirm = Some(*a);
                        c.confirm_ts = Some(meta.ts);
                        c.new_smcr = true;
                    }
                    ClcRepr::Decline(_) => {}
                }
                Ok(())
            }
            Step::Declined { after } => {
                let ClcRepr::Decline(dl) = &d.repr else {
                    return Ok(());
                };
                for what in decline_notes(c.state, role, dl.out_of_sync, c.accept.as_ref())
                    .into_iter()
                    .flatten()
                {
                    c.note(meta.frame, Anomaly::Sequence { what });
                }
                let v = Verdict::Declined(DeclineOutcome {
                    reason: dl.peer_diagnosis,
                    by: role,
                    after,
                    version: dl.version,
                    out_of_sync: dl.out_of_sync,
                    peer_diagnosis_v2: dl
                        .peer_diagnosis_v2
                        .iter()
                        .flatten()
                        .copied()
                        .filter(|r| r.0 != 0)
                        .collect(),
                });
                c.state = ClcState::Declined;
                emit_verdict(c, &c.wrap(v), meta.frame, meta.input, meta.ts, stats, sink)
            }
            Step::Violation(what) => {
                let v = violation(what.to_string(), None);
                emit_verdict(c, &c.wrap(v), meta.frame, meta.input, meta.ts, stats, sink)
            }
        }
    }

    /// One RoCE packet (already decoded from UDP 4791 or Ethertype 0x8915).
    pub fn on_roce<K: Sink>(
        &mut self,
        meta: &PacketMeta,
        dst: Option<std::net::IpAddr>,
        pkt: Result<smc_wire::roce::RocePacket<'_>, smc_wire::Error>,
        sink: &mut K,
    ) -> io::Result<()> {
        let Ok(pkt) = pkt else {
            self.stats.truncated_frames += 1;
            return Ok(());
        };
        if let smc_wire::roce::RoceContent::RdmaWrite { .. } = pkt.content() {
            self.stats.rdma_writes += 1;
            return Ok(());
        }
        let stats = &mut self.stats;
        self.frame_relevant = true;
        self.roce
            .on_packet(dst, &pkt, |ev| {
                match ev.body {
                    crate::roce::RoceBody::Llc(_) => stats.llc_messages += 1,
                    crate::roce::RoceBody::Cdc(_) => stats.cdc_messages += 1,
                    _ => {}
                }
                sink.event(&Event::Roce { meta, roce: ev })
            })
            .unwrap_or(Ok(()))
    }

    /// Every second of capture time: evict idle flows (their verdicts first). Runs for every TCP
    /// packet: inlined, one timestamp comparison unless a second has passed.
    #[inline]
    fn maybe_sweep<K: Sink>(&mut self, now: Timestamp, sink: &mut K) -> io::Result<()> {
        if self.next_sweep.is_some_and(|t| now < t) {
            return Ok(());
        }
        self.sweep(now, sink)
    }

    /// The sweep [`Tracker::maybe_sweep`] found due.
    #[inline(never)]
    fn sweep<K: Sink>(&mut self, now: Timestamp, sink: &mut K) -> io::Result<()> {
        self.next_sweep = Some(Timestamp {
            secs: now.secs.saturating_add(1),
            nanos: now.nanos,
        });
        let mut evicted = Vec::new();
        self.flows.evict_idle(now, |_, st| evicted.push(st));
        self.flows.take_evicted(|_, st| evicted.push(st));
        for st in evicted {
            if let FlowState::Smc(c) = st {
                self.stats.flows_evicted += 1;
                Self::finish_conn(&mut self.stats, *c, IncompleteCause::Evicted, sink)?;
            }
        }
        self.settle_quiet(now, sink)
    }

    /// The capture's clock advanced to `now` without a packet (live capture, an idle tick): the
    /// same once-a-second sweep a packet would trigger.
    pub fn tick<K: Sink>(&mut self, now: Timestamp, sink: &mut K) -> io::Result<()> {
        self.maybe_sweep(now, sink)
    }

    /// Connections that went quiet get the verdict their next packet would have given them: a
    /// handshake step waited for longer than the kernel waits (`CLC_WAIT_TIME`), an SMC result
    /// nothing contradicted within [`SETTLE_SECS`], a SYN-ACK without the option followed by
    /// nothing for `CLC_WAIT_TIME` (no CLC can follow it, §1 "Outcome"). Without this a
    /// long-lived connection would wait for its FIN, or the end of the capture.
    fn settle_quiet<K: Sink>(&mut self, now: Timestamp, sink: &mut K) -> io::Result<()> {
        let stats = &mut self.stats;
        self.flows.try_for_each_mut(|_, st| {
            let FlowState::Smc(c) = st else {
                return Ok(());
            };
            if c_is_final(c) {
                return Ok(());
            }
            let quiet = |t: Timestamp| secs_between(t, now);
            let v = if c.clc_wait_since().is_some_and(|t| quiet(t) > CLC_WAIT_SECS) {
                c.timeout_verdict()
            } else if c.confirm_ts.is_some_and(|t| quiet(t) > SETTLE_SECS)
                || (c.no_echo() && c.state == ClcState::Start && quiet(c.last.2) > CLC_WAIT_SECS)
            {
                c.final_verdict(IncompleteCause::EndOfCapture)
            } else {
                return Ok(());
            };
            let (input, frame, ts) = c.last;
            emit_verdict(c, &v, frame, input, ts, stats, sink)?;
            *st = FlowState::Done;
            Ok(())
        })
    }

    fn finish_conn<K: Sink>(
        stats: &mut Stats,
        mut c: Conn,
        cause: IncompleteCause,
        sink: &mut K,
    ) -> io::Result<()> {
        if c_is_final(&c) {
            return Ok(());
        }
        let v = c.final_verdict(cause);
        let (input, frame, ts) = c.last;
        emit_verdict(&mut c, &v, frame, input, ts, stats, sink)
    }

    /// End of input: every open connection gets its verdict.
    pub fn finish<K: Sink>(&mut self, sink: &mut K) -> io::Result<()> {
        let mut open = Vec::new();
        self.flows.drain(|id, st| open.push((id, st)));
        // verdicts at the end come in connection order, whatever the table's order
        open.sort_by_key(|(id, _)| id.0);
        for (_, st) in open {
            if let FlowState::Smc(c) = st {
                Self::finish_conn(&mut self.stats, *c, IncompleteCause::EndOfCapture, sink)?;
            }
        }
        self.stats.flows_peak = self.stats.flows_peak.max(self.flows.peak() as u64);
        Ok(())
    }
}

/// A connection whose verdict has been given needs no more work.
fn c_is_final(c: &Conn) -> bool {
    c.done
}

fn reverse(d: Direction) -> Direction {
    match d {
        Direction::AtoB => Direction::BtoA,
        Direction::BtoA => Direction::AtoB,
    }
}

fn emit_verdict<K: Sink>(
    c: &mut Conn,
    v: &Verdict,
    frame: u64,
    input: u16,
    ts: Timestamp,
    stats: &mut Stats,
    sink: &mut K,
) -> io::Result<()> {
    stats.count_verdict(v);
    sink.event(&Event::Verdict {
        frame,
        input,
        ts,
        conn: c.conn_ref(),
        verdict: v,
        anomalies: &c.anomalies,
        frames: c.frames,
    })?;
    c.done = true;
    c.streams[0].close();
    c.streams[1].close();
    Ok(())
}

/// What a Decline's place in the handshake says beyond its verdict (KH §3–§7).
fn decline_notes(
    state: ClcState,
    from: Role,
    out_of_sync: bool,
    accept: Option<&clc::AcceptConfirmRepr>,
) -> [Option<&'static str>; 3] {
    let mut notes = [None; 3];
    // smc_clc_send_decline sets the bit only for the client's SYNCERR, which answers an Accept
    // that claims link-group reuse; the receiver then touches its link group (smc_clc_wait_msg)
    let no_lgr_yet = matches!(state, ClcState::Start | ClcState::Proposal);
    if out_of_sync && (from == Role::Server || no_lgr_yet) {
        notes[0] = Some(
            "out-of-sync flag where Linux never sets it (only a client's SYNCERR after an Accept \
             carries it); kernels without the 2026 fix 'net/smc: avoid early lgr access in \
             smc_clc_wait_msg' dereference a NULL link group on it",
        );
    }
    notes[1] = match (state, from) {
        // __smc_connect: the client is in smc_connect_clc's Accept wait and sends nothing
        (ClcState::Proposal, Role::Client) => {
            Some("Linux never sends this Decline: a client waiting for the Accept only times out")
        }
        // smc_listen_work: between its Accept and the Confirm the server only waits
        (ClcState::Accept, Role::Server) => {
            Some("Linux never sends this Decline: a server waiting for the Confirm only times out")
        }
        _ => None,
    };
    if let (ClcState::Confirm, Role::Server, Some(a)) = (state, from, accept) {
        // smc_connect_ism has no Decline wait after its Confirm, and smc_connect_rdma waits for
        // one only on first contact (smcr_clnt_conf_first_link): the client already uses SMC
        let smcd = a.smcd_body().is_some();
        if smcd || !a.first_contact {
            notes[2] = Some(
                "the client never reads this Decline: after its Confirm it already uses SMC (SMC-D, \
                 or SMC-R link-group reuse), while the server falls back: the connection is split",
            );
        }
    }
    notes
}

/// Who sent the first CLC message of a capture that started mid-connection.
fn midstream_sender_role(p: &[u8], meta: &PacketMeta) -> Role {
    match p.get(4) {
        Some(1) | Some(3) => Role::Client,
        Some(2) => Role::Server,
        // a Decline can come from either side: guess that the server has the lower port
        _ => {
            if meta.src.port() > meta.dst.port() {
                Role::Client
            } else {
                Role::Server
            }
        }
    }
}
