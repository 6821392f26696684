//! A minimal TCP endpoint, just enough to be a good citizen toward a real kernel (RFC 9293):
//! three-way handshake (active or passive) carrying the SMC option (reference §1), in-order
//! delivery (out-of-order segments are answered with a duplicate ACK), cumulative ACKs,
//! retransmission with exponential backoff, the peer's receive window, FIN in both directions
//! and RST.
//!
//! The control block is pure: segments in, segments out, time passed in. [`super::Iface`] puts
//! them into IP and Ethernet. No window scaling, no timestamps, no SACK: the peer never offers
//! them, so the kernel does not use them either (RFC 7323 §1.3, RFC 2018 §2).

use super::seq::SeqNumber;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// TCP header flag bits (RFC 9293 §3.1).
pub mod flags {
    /// FIN
    pub const FIN: u8 = 0x01;
    /// SYN
    pub const SYN: u8 = 0x02;
    /// RST
    pub const RST: u8 = 0x04;
    /// PSH
    pub const PSH: u8 = 0x08;
    /// ACK
    pub const ACK: u8 = 0x10;
}

/// Connection states (RFC 9293 §3.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// No connection (never opened, reset, or fully closed).
    Closed,
    /// Waiting for a SYN.
    Listen,
    /// SYN sent, waiting for the SYN-ACK.
    SynSent,
    /// SYN received, SYN-ACK sent.
    SynReceived,
    /// Data flows both ways.
    Established,
    /// Our FIN sent, not yet acknowledged.
    FinWait1,
    /// Our FIN acknowledged, waiting for the peer's.
    FinWait2,
    /// The peer's FIN received; we may still send.
    CloseWait,
    /// Both FINs sent, ours not yet acknowledged.
    Closing,
    /// Our FIN after the peer's, waiting for its ACK.
    LastAck,
    /// Both directions closed; lingering for stray retransmissions.
    TimeWait,
}

/// Whether and how the SYN / SYN-ACK carries the SMC option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmcOption {
    /// Never (a plain TCP endpoint: the kernel falls back with PEERNOSMC, reference §1).
    Never,
    /// In the SYN (client); in the SYN-ACK only if the SYN had it (server, like
    /// `smc_set_option_cond`).
    Linux,
    /// In the SYN-ACK even when the SYN did not carry it (server).
    Always,
}

/// Per-connection settings.
#[derive(Debug, Clone, Copy)]
pub struct TcpConfig {
    /// The SMC option policy.
    pub smc_option: SmcOption,
    /// MSS we announce (and the cap on segments we send).
    pub mss: u16,
    /// Receive window we announce; also the receive buffer size.
    pub window: u16,
    /// Initial retransmission timeout.
    pub rto: Duration,
    /// Retransmissions before the connection is aborted.
    pub max_retries: u32,
}

impl Default for TcpConfig {
    fn default() -> Self {
        TcpConfig {
            smc_option: SmcOption::Linux,
            mss: 1460,
            window: 65_535,
            rto: Duration::from_millis(1000),
            max_retries: 6,
        }
    }
}

/// A received segment, already parsed and checksum-verified by the interface.
#[derive(Debug, Clone, Copy)]
pub struct SegIn<'a> {
    /// Sender's address and port.
    pub src: SocketAddr,
    /// Our address and port.
    pub dst: SocketAddr,
    /// Sequence number.
    pub seq: SeqNumber,
    /// Acknowledgment number (meaningful with ACK).
    pub ack: SeqNumber,
    /// Flag bits.
    pub flags: u8,
    /// Advertised window (unscaled: we never negotiate scaling).
    pub window: u16,
    /// Raw options block.
    pub options: &'a [u8],
    /// Payload.
    pub payload: &'a [u8],
}

impl SegIn<'_> {
    fn has(&self, f: u8) -> bool {
        self.flags & f != 0
    }
    /// Sequence space the segment occupies (SYN and FIN count one each).
    fn seg_len(&self) -> usize {
        self.payload.len() + usize::from(self.has(flags::SYN)) + usize::from(self.has(flags::FIN))
    }
}

/// A segment to send; the interface adds IP and Ethernet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegOut {
    /// Our address and port.
    pub src: SocketAddr,
    /// Destination address and port.
    pub dst: SocketAddr,
    /// Sequence number.
    pub seq: SeqNumber,
    /// Acknowledgment number (sent only with ACK).
    pub ack: SeqNumber,
    /// Flag bits.
    pub flags: u8,
    /// Window we advertise.
    pub window: u16,
    /// Options block (a multiple of 4 bytes).
    pub options: Vec<u8>,
    /// Payload.
    pub payload: Vec<u8>,
}

/// What ended a connection abnormally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abort {
    /// The peer sent an acceptable RST.
    Reset,
    /// Retransmissions ran out.
    TimedOut,
    /// We aborted it ourselves (sent RST).
    Local,
}

/// MSS option kind/length (RFC 9293 §3.2).
const OPT_MSS: [u8; 2] = [2, 4];
/// RFC 9293 §3.3.2: how long TIME-WAIT lingers here (the peer never reuses a 4-tuple quickly).
const TIME_WAIT: Duration = Duration::from_secs(2);

/// One TCP connection.
#[derive(Debug)]
pub struct Tcb {
    cfg: TcpConfig,
    state: State,
    local: SocketAddr,
    remote: Option<SocketAddr>,
    iss: SeqNumber,
    snd_una: SeqNumber,
    snd_nxt: SeqNumber,
    /// Highest sequence number sent (`snd_nxt` rewinds on a retransmission timeout).
    snd_max: SeqNumber,
    snd_wnd: u32,
    peer_mss: usize,
    rcv_nxt: SeqNumber,
    /// Bytes not yet acknowledged, starting at `snd_una` (after the SYN).
    tx: VecDeque<u8>,
    /// Bytes delivered in order, not yet read by the application.
    rx: VecDeque<u8>,
    fin_queued: bool,
    fin_sent: bool,
    /// Sequence number of our FIN once it was sent.
    fin_seq: Option<SeqNumber>,
    fin_received: bool,
    ack_pending: bool,
    rto: Duration,
    retries: u32,
    timer: Option<Instant>,
    time_wait_until: Option<Instant>,
    abort: Option<Abort>,
    peer_smc: Option<bool>,
    retransmissions: u32,
}

impl Tcb {
    fn new(cfg: TcpConfig, local: SocketAddr, iss: SeqNumber) -> Tcb {
        Tcb {
            cfg,
            state: State::Closed,
            local,
            remote: None,
            iss,
            snd_una: iss,
            snd_nxt: iss,
            snd_max: iss,
            snd_wnd: 0,
            peer_mss: 536,
            rcv_nxt: SeqNumber(0),
            tx: VecDeque::new(),
            rx: VecDeque::new(),
            fin_queued: false,
            fin_sent: false,
            fin_seq: None,
            fin_received: false,
            ack_pending: false,
            rto: cfg.rto,
            retries: 0,
            timer: None,
            time_wait_until: None,
            abort: None,
            peer_smc: None,
            retransmissions: 0,
        }
    }

    /// An active open: the SYN goes out at the next [`Tcb::poll`].
    pub fn connect(cfg: TcpConfig, local: SocketAddr, remote: SocketAddr, iss: SeqNumber) -> Tcb {
        let mut t = Tcb::new(cfg, local, iss);
        t.remote = Some(remote);
        t.state = State::SynSent;
        t
    }

    /// A passive open on `local` (its IP may be unspecified: any of ours).
    pub fn listen(cfg: TcpConfig, local: SocketAddr, iss: SeqNumber) -> Tcb {
        let mut t = Tcb::new(cfg, local, iss);
        t.state = State::Listen;
        t
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }
    /// Local endpoint.
    pub fn local(&self) -> SocketAddr {
        self.local
    }
    /// Remote endpoint (after the SYN).
    pub fn remote(&self) -> Option<SocketAddr> {
        self.remote
    }
    /// Whether the peer's SYN or SYN-ACK carried the SMC option (`None` before it arrived).
    pub fn peer_smc_option(&self) -> Option<bool> {
        self.peer_smc
    }
    /// Why the connection ended abnormally, if it did.
    pub fn aborted(&self) -> Option<Abort> {
        self.abort
    }
    /// Number of segments retransmitted so far.
    pub fn retransmissions(&self) -> u32 {
        self.retransmissions
    }
    /// True once the three-way handshake has completed (and until the connection is gone).
    pub fn is_synchronized(&self) -> bool {
        !matches!(
            self.state,
            State::Closed | State::Listen | State::SynSent | State::SynReceived
        )
    }
    /// True when the peer has closed its sending direction (its FIN was received in order).
    pub fn peer_closed(&self) -> bool {
        self.fin_received
    }
    /// Bytes queued and not yet acknowledged.
    pub fn unacked(&self) -> usize {
        self.tx.len()
    }
    /// Bytes received and not yet read.
    pub fn readable(&self) -> usize {
        self.rx.len()
    }

    /// Queues data to send. Fails (returns false) once our FIN is queued or the connection is
    /// not open for sending.
    pub fn send(&mut self, data: &[u8]) -> bool {
        if self.fin_queued
            || !matches!(
                self.state,
                State::SynSent | State::SynReceived | State::Established | State::CloseWait
            )
        {
            return false;
        }
        self.tx.extend(data);
        true
    }

    /// Takes up to `max` received bytes.
    pub fn recv(&mut self, max: usize) -> Vec<u8> {
        let n = max.min(self.rx.len());
        let was_full = self.free_window() == 0;
        let out: Vec<u8> = self.rx.drain(..n).collect();
        if was_full && n > 0 {
            self.ack_pending = true; // window update
        }
        out
    }

    /// Looks at the received bytes without taking them.
    pub fn peek(&self) -> Vec<u8> {
        self.rx.iter().copied().collect()
    }

    /// Closes our sending direction: the FIN follows the queued data.
    pub fn close(&mut self) {
        match self.state {
            State::Listen | State::SynSent => self.state = State::Closed,
            _ => self.fin_queued = true,
        }
    }

    /// Aborts: the next poll sends an RST (if synchronized) and the connection is gone.
    pub fn abort(&mut self) -> Option<SegOut> {
        let remote = self.remote?;
        let rst = matches!(
            self.state,
            State::SynReceived
                | State::Established
                | State::FinWait1
                | State::FinWait2
                | State::CloseWait
                | State::Closing
                | State::LastAck
        )
        .then(|| SegOut {
            src: self.local,
            dst: remote,
            seq: self.snd_nxt,
            ack: self.rcv_nxt,
            flags: flags::RST | flags::ACK,
            window: 0,
            options: Vec::new(),
            payload: Vec::new(),
        });
        self.state = State::Closed;
        self.abort = Some(Abort::Local);
        self.timer = None;
        rst
    }

    /// Whether this block takes a segment from `src` to `dst`.
    pub fn matches(&self, src: SocketAddr, dst: SocketAddr) -> bool {
        if dst.port() != self.local.port() {
            return false;
        }
        if !self.local.ip().is_unspecified() && dst.ip() != self.local.ip() {
            return false;
        }
        match self.remote {
            Some(r) => r == src,
            None => self.state == State::Listen,
        }
    }

    fn free_window(&self) -> usize {
        usize::from(self.cfg.window).saturating_sub(self.rx.len())
    }

    fn window(&self) -> u16 {
        u16::try_from(self.free_window()).unwrap_or(u16::MAX)
    }

    fn syn_options(&self, peer_had_smc: bool) -> Vec<u8> {
        let mut o = Vec::with_capacity(12);
        o.extend_from_slice(&OPT_MSS);
        o.extend_from_slice(&self.cfg.mss.to_be_bytes());
        let put = match self.cfg.smc_option {
            SmcOption::Never => false,
            SmcOption::Always => true,
            SmcOption::Linux => self.state == State::SynSent || peer_had_smc,
        };
        if put {
            // reference §1: two NOPs + kind 254, len 6, ExID E2D4C3D9
            o.extend_from_slice(&smc_wire::tcp_option::LINUX_OPTION);
        }
        o
    }

    fn out(&self, seq: SeqNumber, fl: u8, options: Vec<u8>, payload: Vec<u8>) -> Option<SegOut> {
        Some(SegOut {
            src: self.local,
            dst: self.remote?,
            seq,
            ack: self.rcv_nxt,
            flags: fl,
            window: self.window(),
            options,
            payload,
        })
    }

    fn ack_seg(&self) -> Option<SegOut> {
        self.out(self.snd_nxt, flags::ACK, Vec::new(), Vec::new())
    }

    /// Handles one segment addressed to this connection; replies go to `out`.
    pub fn on_segment(&mut self, seg: &SegIn<'_>, now: Instant, out: &mut Vec<SegOut>) {
        match self.state {
            State::Closed => {}
            State::Listen => self.on_listen(seg, now, out),
            State::SynSent => self.on_syn_sent(seg, now, out),
            _ => self.on_synchronized(seg, now, out),
        }
    }

    fn on_listen(&mut self, seg: &SegIn<'_>, now: Instant, out: &mut Vec<SegOut>) {
        if seg.has(flags::RST) || seg.has(flags::ACK) || !seg.has(flags::SYN) {
            return; // RFC 9293 §3.10.7.2: only a plain SYN opens
        }
        let (smc, _) = smc_wire::tcp_option::find(seg.options);
        // reference §1: the kernel parses the option only on SYN segments (smc_parse_options)
        let had = smc.is_some_and(|o| o.kernel_accepts(true));
        self.peer_smc = Some(had);
        self.peer_mss = mss_of(seg.options).unwrap_or(536);
        self.remote = Some(seg.src);
        self.local = seg.dst;
        self.rcv_nxt = seg.seq.advance(1);
        self.snd_wnd = u32::from(seg.window);
        self.state = State::SynReceived;
        let opts = self.syn_options(had);
        if let Some(s) = self.out(self.iss, flags::SYN | flags::ACK, opts, Vec::new()) {
            out.push(s);
        }
        self.snd_nxt = self.iss.advance(1);
        self.snd_max = self.snd_nxt;
        self.timer = Some(now + self.rto);
    }

    fn on_syn_sent(&mut self, seg: &SegIn<'_>, now: Instant, out: &mut Vec<SegOut>) {
        let ack_ok = seg.has(flags::ACK) && seg.ack == self.iss.advance(1);
        if seg.has(flags::ACK) && !ack_ok {
            if !seg.has(flags::RST) {
                // RFC 9293 §3.10.7.3: unacceptable ACK ⇒ <SEQ=SEG.ACK><CTL=RST>
                out.push(SegOut {
                    src: self.local,
                    dst: seg.src,
                    seq: seg.ack,
                    ack: SeqNumber(0),
                    flags: flags::RST,
                    window: 0,
                    options: Vec::new(),
                    payload: Vec::new(),
                });
            }
            return;
        }
        if seg.has(flags::RST) {
            if ack_ok {
                self.state = State::Closed;
                self.abort = Some(Abort::Reset);
                self.timer = None;
            }
            return;
        }
        if !seg.has(flags::SYN) {
            return;
        }
        let (smc, _) = smc_wire::tcp_option::find(seg.options);
        self.peer_smc = Some(smc.is_some_and(|o| o.kernel_accepts(true)));
        self.peer_mss = mss_of(seg.options).unwrap_or(536);
        self.rcv_nxt = seg.seq.advance(1);
        self.snd_wnd = u32::from(seg.window);
        if ack_ok {
            self.snd_una = self.iss.advance(1);
            self.state = State::Established;
            self.timer = None;
            self.retries = 0;
            self.rto = self.cfg.rto;
            if let Some(a) = self.ack_seg() {
                out.push(a);
            }
            self.transmit(now, out);
        } else {
            // simultaneous open: answer with SYN-ACK
            self.state = State::SynReceived;
            let opts = self.syn_options(self.peer_smc == Some(true));
            if let Some(s) = self.out(self.iss, flags::SYN | flags::ACK, opts, Vec::new()) {
                out.push(s);
            }
        }
    }

    fn acceptable(&self, seg: &SegIn<'_>) -> bool {
        // RFC 9293 §3.10.7.4 first check, with our receive window
        let wnd = self.free_window().max(1);
        let len = seg.seg_len();
        let end = self.rcv_nxt.add_len(wnd);
        let starts_in = seg.seq >= self.rcv_nxt && seg.seq < end;
        let last = seg.seq.add_len(len.max(1) - 1);
        let ends_in = last >= self.rcv_nxt && last < end;
        if len == 0 {
            seg.seq >= self.rcv_nxt && seg.seq <= end
        } else {
            starts_in || ends_in
        }
    }

    fn on_synchronized(&mut self, seg: &SegIn<'_>, now: Instant, out: &mut Vec<SegOut>) {
        if self.state == State::TimeWait {
            if seg.has(flags::FIN) {
                if let Some(a) = self.ack_seg() {
                    out.push(a);
                }
            }
            return;
        }
        if !self.acceptable(seg) {
            if !seg.has(flags::RST) {
                if let Some(a) = self.ack_seg() {
                    out.push(a); // duplicate ACK: out of order or old
                }
            }
            return;
        }
        if seg.has(flags::RST) {
            // RFC 5961 §3.2 would ask for an exact match; in-window is enough here
            self.state = State::Closed;
            self.abort = Some(Abort::Reset);
            self.timer = None;
            return;
        }
        if seg.has(flags::SYN) {
            if self.state == State::SynReceived && seg.seq.advance(1) == self.rcv_nxt {
                // retransmitted SYN: our SYN-ACK was lost, send it again
                let opts = self.syn_options(self.peer_smc == Some(true));
                if let Some(s) = self.out(self.iss, flags::SYN | flags::ACK, opts, Vec::new()) {
                    out.push(s);
                }
                return;
            }
            // RFC 5961 §4.2: challenge ACK
            if let Some(a) = self.ack_seg() {
                out.push(a);
            }
            return;
        }
        if !seg.has(flags::ACK) {
            return;
        }
        // ACK processing
        if self.state == State::SynReceived {
            if seg.ack == self.iss.advance(1) {
                self.snd_una = seg.ack;
                self.state = State::Established;
                self.timer = None;
                self.retries = 0;
                self.rto = self.cfg.rto;
            } else {
                return;
            }
        }
        self.snd_wnd = u32::from(seg.window);
        if seg.ack > self.snd_una && seg.ack <= self.snd_max {
            if seg.ack > self.snd_nxt {
                self.snd_nxt = seg.ack; // the originals arrived after all
            }
            let acked = seg.ack.since(self.snd_una);
            let data_acked = acked.min(self.tx.len());
            self.tx.drain(..data_acked);
            self.snd_una = seg.ack;
            self.retries = 0;
            self.rto = self.cfg.rto;
            let fin_acked = self.fin_seq.is_some_and(|f| self.snd_una > f);
            if fin_acked {
                match self.state {
                    State::FinWait1 => self.state = State::FinWait2,
                    State::Closing => self.enter_time_wait(now),
                    State::LastAck => {
                        self.state = State::Closed;
                    }
                    _ => {}
                }
            }
            self.timer = (self.snd_una != self.snd_max).then(|| now + self.rto);
        } else if seg.ack > self.snd_max {
            if let Some(a) = self.ack_seg() {
                out.push(a); // acks something never sent
            }
            return;
        }
        // data, in order only (RFC 9293 §3.10.7.4 seventh: trim what we already have)
        let mut payload = seg.payload;
        let mut seq = seg.seq;
        if seq < self.rcv_nxt {
            let skip = self.rcv_nxt.since(seq).min(payload.len());
            payload = &payload[skip..];
            seq = seq.add_len(skip);
        }
        let can_take = matches!(
            self.state,
            State::Established | State::FinWait1 | State::FinWait2
        ) && !self.fin_received;
        if !payload.is_empty() && can_take {
            if seq == self.rcv_nxt {
                let take = payload.len().min(self.free_window());
                self.rx.extend(&payload[..take]);
                self.rcv_nxt = self.rcv_nxt.add_len(take);
            }
            self.ack_pending = true;
        }
        if seg.has(flags::FIN)
            && seg.seq.add_len(seg.payload.len()) == self.rcv_nxt
            && !self.fin_received
        {
            self.fin_received = true;
            self.rcv_nxt = self.rcv_nxt.advance(1);
            self.ack_pending = true;
            match self.state {
                State::Established | State::SynReceived => self.state = State::CloseWait,
                State::FinWait1 => {
                    if self.fin_seq.is_some_and(|f| self.snd_una > f) {
                        self.enter_time_wait(now);
                    } else {
                        self.state = State::Closing;
                    }
                }
                State::FinWait2 => self.enter_time_wait(now),
                _ => {}
            }
        }
        self.transmit(now, out);
    }

    fn enter_time_wait(&mut self, now: Instant) {
        self.state = State::TimeWait;
        self.timer = None;
        self.time_wait_until = Some(now + TIME_WAIT);
    }

    /// Sends what the window allows, the FIN when due, and pending ACKs.
    fn transmit(&mut self, now: Instant, out: &mut Vec<SegOut>) {
        let mut sent_any = false;
        if matches!(
            self.state,
            State::Established
                | State::CloseWait
                | State::FinWait1
                | State::Closing
                | State::LastAck
        ) {
            let mss = self.peer_mss.min(usize::from(self.cfg.mss)).max(1);
            loop {
                let in_flight = self.snd_nxt.since(self.snd_una);
                let sent_data = in_flight.min(self.tx.len());
                let unsent = self.tx.len() - sent_data;
                let wnd = (self.snd_wnd as usize).saturating_sub(in_flight);
                let n = unsent.min(wnd).min(mss);
                if n == 0 {
                    break;
                }
                let payload: Vec<u8> = self.tx.iter().skip(sent_data).take(n).copied().collect();
                if let Some(s) =
                    self.out(self.snd_nxt, flags::ACK | flags::PSH, Vec::new(), payload)
                {
                    out.push(s);
                }
                self.snd_nxt = self.snd_nxt.add_len(n);
                self.snd_max = self.snd_max.max(self.snd_nxt);
                sent_any = true;
            }
            let all_sent = self.snd_nxt.since(self.snd_una) >= self.tx.len();
            if self.fin_queued && !self.fin_sent && all_sent {
                if let Some(s) = self.out(
                    self.snd_nxt,
                    flags::FIN | flags::ACK,
                    Vec::new(),
                    Vec::new(),
                ) {
                    out.push(s);
                }
                self.fin_seq = Some(self.snd_nxt);
                self.snd_nxt = self.snd_nxt.advance(1);
                self.snd_max = self.snd_max.max(self.snd_nxt);
                self.fin_sent = true;
                sent_any = true;
                self.state = match self.state {
                    State::Established => State::FinWait1,
                    State::CloseWait => State::LastAck,
                    s => s,
                };
            }
        }
        if sent_any {
            self.ack_pending = false;
            if self.timer.is_none() {
                self.timer = Some(now + self.rto);
            }
        } else if self.ack_pending {
            self.ack_pending = false;
            if let Some(a) = self.ack_seg() {
                out.push(a);
            }
        }
    }

    /// Timers and transmissions: call regularly. Returns the next time it wants to be called.
    pub fn poll(&mut self, now: Instant, out: &mut Vec<SegOut>) -> Option<Instant> {
        match self.state {
            State::Closed | State::Listen => return None,
            State::TimeWait => {
                if self.time_wait_until.is_some_and(|t| now >= t) {
                    self.state = State::Closed;
                    return None;
                }
                return self.time_wait_until;
            }
            State::SynSent if self.snd_nxt == self.iss => {
                // first SYN
                let opts = self.syn_options(false);
                if let Some(s) = self.out(self.iss, flags::SYN, opts, Vec::new()) {
                    out.push(SegOut {
                        ack: SeqNumber(0),
                        ..s
                    });
                }
                self.snd_nxt = self.iss.advance(1);
                self.snd_max = self.snd_nxt;
                self.timer = Some(now + self.rto);
                return self.timer;
            }
            _ => {}
        }
        if let Some(t) = self.timer {
            if now >= t {
                if self.retries >= self.cfg.max_retries {
                    if let Some(r) = self.abort() {
                        out.push(r);
                    }
                    self.abort = Some(Abort::TimedOut);
                    return None;
                }
                self.retries += 1;
                self.retransmissions += 1;
                self.rto = (self.rto * 2).min(Duration::from_secs(8));
                self.retransmit(out);
                self.timer = Some(now + self.rto);
            }
        }
        self.transmit(now, out);
        self.timer
    }

    /// Go-back-N from `snd_una`: the SYN, the oldest unacknowledged data, or the FIN.
    fn retransmit(&mut self, out: &mut Vec<SegOut>) {
        match self.state {
            State::SynSent => {
                let opts = self.syn_options(false);
                if let Some(s) = self.out(self.iss, flags::SYN, opts, Vec::new()) {
                    out.push(SegOut {
                        ack: SeqNumber(0),
                        ..s
                    });
                }
            }
            State::SynReceived => {
                let opts = self.syn_options(self.peer_smc == Some(true));
                if let Some(s) = self.out(self.iss, flags::SYN | flags::ACK, opts, Vec::new()) {
                    out.push(s);
                }
            }
            _ => {
                // go-back-N: rewind to snd_una, transmit() sends everything again (and the FIN)
                self.snd_nxt = self.snd_una;
                self.fin_sent = false;
            }
        }
    }
}

/// The MSS option's value, if present (RFC 9293 §3.2).
fn mss_of(options: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(&kind) = options.get(i) {
        match kind {
            0 => return None,
            1 => i += 1,
            _ => {
                let len = usize::from(*options.get(i + 1)?);
                if len < 2 {
                    return None;
                }
                if kind == 2 && len == 4 {
                    let b = options.get(i + 2..i + 4)?;
                    return Some(usize::from(u16::from_be_bytes([b[0], b[1]])).max(1));
                }
                i += len;
            }
        }
    }
    None
}

#[cfg(test)]
mod test {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn seg<'a>(o: &'a SegOut) -> SegIn<'a> {
        SegIn {
            src: o.src,
            dst: o.dst,
            seq: o.seq,
            ack: o.ack,
            flags: o.flags,
            window: o.window,
            options: &o.options,
            payload: &o.payload,
        }
    }

    /// Runs two control blocks against each other until quiet.
    fn pump(c: &mut Tcb, s: &mut Tcb, now: Instant, drop_first_data: bool) {
        let mut dropped = !drop_first_data;
        for _ in 0..100 {
            let mut oc = Vec::new();
            let mut os = Vec::new();
            c.poll(now, &mut oc);
            s.poll(now, &mut os);
            if oc.is_empty() && os.is_empty() {
                return;
            }
            for o in &oc {
                if !dropped && !o.payload.is_empty() {
                    dropped = true;
                    continue;
                }
                let mut r = Vec::new();
                s.on_segment(&seg(o), now, &mut r);
                for x in &r {
                    c.on_segment(&seg(x), now, &mut Vec::new());
                }
            }
            for o in &os {
                let mut r = Vec::new();
                c.on_segment(&seg(o), now, &mut r);
                for x in &r {
                    s.on_segment(&seg(x), now, &mut Vec::new());
                }
            }
        }
    }

    #[test]
    fn handshake_carries_the_smc_option_both_ways() {
        let now = Instant::now();
        let mut c = Tcb::connect(
            TcpConfig::default(),
            a("10.0.0.2:40000"),
            a("10.0.0.1:80"),
            SeqNumber(u32::MAX - 1),
        );
        let mut s = Tcb::listen(TcpConfig::default(), a("0.0.0.0:80"), SeqNumber(7));
        let mut syn = Vec::new();
        c.poll(now, &mut syn);
        assert_eq!(syn.len(), 1);
        assert_eq!(syn[0].flags, flags::SYN);
        assert!(syn[0]
            .options
            .ends_with(&smc_wire::tcp_option::LINUX_OPTION));
        let mut synack = Vec::new();
        s.on_segment(&seg(&syn[0]), now, &mut synack);
        assert_eq!(synack[0].flags, flags::SYN | flags::ACK);
        assert!(synack[0]
            .options
            .ends_with(&smc_wire::tcp_option::LINUX_OPTION));
        let mut ack = Vec::new();
        c.on_segment(&seg(&synack[0]), now, &mut ack);
        assert_eq!(c.state(), State::Established);
        assert_eq!(c.peer_smc_option(), Some(true));
        s.on_segment(&seg(&ack[0]), now, &mut Vec::new());
        assert_eq!(s.state(), State::Established);
        assert_eq!(s.peer_smc_option(), Some(true));
    }

    #[test]
    fn linux_policy_echoes_only_when_the_syn_had_it() {
        let now = Instant::now();
        let cfg = TcpConfig {
            smc_option: SmcOption::Never,
            ..TcpConfig::default()
        };
        let mut c = Tcb::connect(cfg, a("10.0.0.2:40000"), a("10.0.0.1:80"), SeqNumber(1));
        let mut s = Tcb::listen(TcpConfig::default(), a("0.0.0.0:80"), SeqNumber(7));
        let mut syn = Vec::new();
        c.poll(now, &mut syn);
        let mut synack = Vec::new();
        s.on_segment(&seg(&syn[0]), now, &mut synack);
        assert_eq!(synack[0].options, vec![2, 4, 0x05, 0xb4]);
        assert_eq!(s.peer_smc_option(), Some(false));
    }

    #[test]
    fn data_fin_and_retransmission_across_the_wrap() {
        let now = Instant::now();
        let mut c = Tcb::connect(
            TcpConfig::default(),
            a("10.0.0.2:40000"),
            a("10.0.0.1:80"),
            SeqNumber(u32::MAX - 3),
        );
        let mut s = Tcb::listen(TcpConfig::default(), a("0.0.0.0:80"), SeqNumber(u32::MAX));
        pump(&mut c, &mut s, now, false);
        assert_eq!(c.state(), State::Established);
        let data: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
        assert!(c.send(&data));
        // the first data segment is lost: only a retransmission delivers it
        pump(&mut c, &mut s, now, true);
        assert!(s.readable() < data.len());
        let later = now + Duration::from_secs(2);
        pump(&mut c, &mut s, later, false);
        assert_eq!(s.recv(usize::MAX), data);
        assert!(c.retransmissions() >= 1);
        assert_eq!(c.unacked(), 0);
        c.close();
        pump(&mut c, &mut s, later, false);
        assert!(s.peer_closed());
        assert_eq!(s.state(), State::CloseWait);
        s.close();
        pump(&mut c, &mut s, later, false);
        assert_eq!(s.state(), State::Closed);
        assert_eq!(c.state(), State::TimeWait);
        c.poll(later + Duration::from_secs(5), &mut Vec::new());
        assert_eq!(c.state(), State::Closed);
    }

    #[test]
    fn rst_in_window_aborts() {
        let now = Instant::now();
        let mut c = Tcb::connect(
            TcpConfig::default(),
            a("10.0.0.2:40000"),
            a("10.0.0.1:80"),
            SeqNumber(1),
        );
        let mut s = Tcb::listen(TcpConfig::default(), a("0.0.0.0:80"), SeqNumber(9));
        pump(&mut c, &mut s, now, false);
        let rst = s.abort().unwrap();
        c.on_segment(&seg(&rst), now, &mut Vec::new());
        assert_eq!(c.state(), State::Closed);
        assert_eq!(c.aborted(), Some(Abort::Reset));
    }

    #[test]
    fn retries_run_out() {
        let now = Instant::now();
        let cfg = TcpConfig {
            max_retries: 2,
            rto: Duration::from_millis(10),
            ..TcpConfig::default()
        };
        let mut c = Tcb::connect(cfg, a("10.0.0.2:40000"), a("10.0.0.1:80"), SeqNumber(1));
        let mut t = now;
        for _ in 0..10 {
            c.poll(t, &mut Vec::new());
            t += Duration::from_secs(10);
        }
        assert_eq!(c.state(), State::Closed);
        assert_eq!(c.aborted(), Some(Abort::TimedOut));
    }

    #[test]
    fn mss_option_parses_and_garbage_does_not_panic() {
        assert_eq!(mss_of(&[1, 2, 4, 5, 0xb4]), Some(1460));
        assert_eq!(mss_of(&[3, 0]), None);
        assert_eq!(mss_of(&[2]), None);
        assert_eq!(mss_of(&[8, 10, 0, 0]), None);
    }
}
