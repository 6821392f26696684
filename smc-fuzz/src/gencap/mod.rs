//! Large, realistic captures for benchmarks: `smc-gencap` (issue 5).
//!
//! The output is one pcap of mixed traffic, mostly what a busy host sees and smcdump must skip
//! fast (bulk and short TCP flows, some started before the capture; DNS- and QUIC-like UDP),
//! with thousands of SMC connections of every outcome mixed in, and RoCEv2 LLC, CDC and RDMA
//! WRITE frames. Every SMC message is real kernel bytes: the CLC messages and RoCE frames are
//! taken from the lab captures under `captures/lab/` (embedded at build time); only Ethernet,
//! IP and TCP around them are new (addresses, ports, sequence numbers, checksums), and Decline
//! reasons are rewritten to other codes of the kernel's table (§5.2).
//!
//! Deterministic: the same seed and size give the same bytes. Streaming: a fixed number of
//! flows is open at a time and each makes its packets as they are due, so memory does not grow
//! with the size. [`generate`] returns a [`Report`] of what it made, including the verdict
//! smcdump must give each SMC connection, so a test can compare counts exactly.
//!
//! # Flows
//! A new flow is drawn whenever one ends (weights in [`Mix`]): SMC scenarios ([`Scenario`]),
//! short TCP exchanges, bulk TCP transfers (with or without their handshake in the capture),
//! UDP, and bursts of RoCEv2 frames. About one flow in ten is VLAN-tagged, one in five IPv6.
//! Packets of the open flows interleave; the capture clock advances 0–40 µs per packet, so a
//! handshake spans a few milliseconds, far below the kernel's 6 s CLC timeout.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Serialize;
use smc_wire::roce::{RoceContent, RocePacket, SendClass};
use smc_wire::{CdcRepr, DeclineReason, LlcRepr, Mode};

mod templates;

use templates::{Clc, Templates};

/// What to generate.
#[derive(Clone, Copy, Debug)]
pub struct GenConfig {
    /// PRNG seed: the same seed and size give the same file.
    pub seed: u64,
    /// Stop opening new flows once this many bytes are written (the open ones then finish).
    pub target_bytes: u64,
    /// Flows open at once.
    pub concurrency: usize,
}

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig {
            seed: 1,
            target_bytes: 1 << 30,
            concurrency: 64,
        }
    }
}

/// What was generated, and what smcdump must find in it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Frames written.
    pub frames: u64,
    /// Bytes of the file.
    pub file_bytes: u64,
    /// Flows by kind.
    pub flows: BTreeMap<String, u64>,
    /// SMC-relevant connections (each gets exactly one verdict).
    pub connections: u64,
    /// Expected verdicts by name (smcdump's `stats.verdicts`).
    pub verdicts: BTreeMap<String, u64>,
    /// Expected decline reasons by name (smcdump's `stats.decline_reasons`).
    pub decline_reasons: BTreeMap<String, u64>,
    /// RoCE frames written, and how many of them are LLC, CDC, RDMA WRITE.
    pub roce_frames: u64,
    /// LLC messages (smcdump's `llc_messages`).
    pub llc_messages: u64,
    /// CDC messages (`cdc_messages`).
    pub cdc_messages: u64,
    /// RDMA WRITE frames (`rdma_writes`).
    pub rdma_writes: u64,
}

/// SplitMix64 (Steele, Lea, Flood 2014): small, fast, and enough for traffic shapes.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        crate::splitmix::next(&mut self.0)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
}

/// The SMC connections the generator makes, each with the verdict smcdump must give.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// SMC-D v2 over loopback-ism, IPv4 or IPv6 (lo-smcd, lo-smcd-ipv6): `smc`.
    SmcD,
    /// SMC-R v2 over RoCE (deb-smcr): `smc`.
    SmcR,
    /// The server declines the Proposal (norxe, noueid, ueid-mismatch; reason varied): `declined`.
    DeclineByServer,
    /// The client declines right after the TCP handshake (deb-nodev; reason varied): `declined`.
    DeclineByClient,
    /// The client declines the Accept: `declined`.
    DeclineAfterAccept,
    /// The SYN-ACK lacks the option: `fallback-no-echo`.
    FallbackNoEcho,
    /// Options in both, then ordinary data: `option-echoed-no-clc`.
    OptionEchoedNoClc,
    /// A whole SMC-D exchange without options: `clc-without-option`.
    ClcWithoutOption,
    /// RST, FIN or silence mid-handshake: `incomplete`.
    Incomplete,
}

impl Scenario {
    const ALL: [(Scenario, u64); 9] = [
        (Scenario::SmcD, 25),
        (Scenario::SmcR, 20),
        (Scenario::DeclineByServer, 12),
        (Scenario::DeclineByClient, 6),
        (Scenario::DeclineAfterAccept, 5),
        (Scenario::FallbackNoEcho, 12),
        (Scenario::OptionEchoedNoClc, 5),
        (Scenario::ClcWithoutOption, 5),
        (Scenario::Incomplete, 10),
    ];

    /// smcdump's verdict name.
    pub fn verdict(self) -> &'static str {
        match self {
            Scenario::SmcD | Scenario::SmcR => "smc",
            Scenario::DeclineByServer
            | Scenario::DeclineByClient
            | Scenario::DeclineAfterAccept => "declined",
            Scenario::FallbackNoEcho => "fallback-no-echo",
            Scenario::OptionEchoedNoClc => "option-echoed-no-clc",
            Scenario::ClcWithoutOption => "clc-without-option",
            Scenario::Incomplete => "incomplete",
        }
    }
}

/// Decline reasons a server gives after a Proposal (§5.2).
const SERVER_REASONS: [DeclineReason; 10] = [
    DeclineReason::NOSMCDEV,
    DeclineReason::NOSMCRDEV,
    DeclineReason::NOSMCDDEV,
    DeclineReason::NOUEID,
    DeclineReason::NOSMCD2DEV,
    DeclineReason::MAXCONNERR,
    DeclineReason::DIFFPREFIX,
    DeclineReason::VERSMISMAT,
    DeclineReason::MAX_DMB,
    DeclineReason::MEM,
];
/// … a client before its Proposal.
const CLIENT_FIRST_REASONS: [DeclineReason; 3] = [
    DeclineReason::NOSMCDEV,
    DeclineReason::CNFERR,
    DeclineReason::IPSEC,
];
/// … a client after the Accept.
const CLIENT_AFTER_ACCEPT_REASONS: [DeclineReason; 5] = [
    DeclineReason::MODEUNSUPP,
    DeclineReason::TIMEOUT_CL,
    DeclineReason::NOSRVLINK,
    DeclineReason::ERR_RTOK,
    DeclineReason::INTERR,
];

/// Relative weights of the flow kinds.
#[derive(Clone, Copy, Debug)]
pub struct Mix {
    /// SMC scenarios.
    pub smc: u64,
    /// Short TCP exchanges (a request, a few response segments).
    pub short_tcp: u64,
    /// Bulk TCP transfers (hundreds to thousands of full segments).
    pub bulk_tcp: u64,
    /// UDP (DNS-like pairs, QUIC-like bursts).
    pub udp: u64,
    /// Bursts of RoCEv2 frames (LLC, CDC, RDMA WRITE).
    pub roce: u64,
}

const MIX: Mix = Mix {
    smc: 40,
    short_tcp: 38,
    bulk_tcp: 5,
    udp: 12,
    roce: 5,
};

/// Linux SYN options before the SMC one: MSS 1460, SACK permitted, timestamps, NOP, window
/// scale 7 (RFC 9293 §3.2, RFC 2018, RFC 7323) — 20 bytes.
const SYN_OPTS: [u8; 20] = [
    2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 3, 7,
];
/// The SMC option as Linux writes it: NOP NOP kind 254 len 6 ExID e2d4c3d9 (§1).
const SMC_OPT: [u8; 8] = smc_wire::tcp_option::LINUX_OPTION;
/// NOP NOP timestamps (RFC 7323 §3), on every non-SYN segment.
const TS_OPTS: [u8; 12] = [1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0];
/// TCP MSS of the generated flows (Ethernet MTU 1500).
const MSS: usize = 1448;

/// A TCP control-bit set (RFC 9293 §3.1).
mod flag {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
}

/// One side of a flow.
#[derive(Clone, Copy, Debug)]
struct End {
    mac: [u8; 6],
    ip: IpAddr,
    port: u16,
}

fn mac_of(ip: IpAddr) -> [u8; 6] {
    let o = match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets()[12..].to_vec(),
    };
    [0x02, 0x42, o[0], o[1], o[2], o[3]]
}

/// Frame building: Ethernet, an optional 802.1Q tag, IPv4/IPv6, TCP/UDP, checksums.
struct Net {
    client: End,
    server: End,
    vlan: Option<u16>,
    ident: u16,
}

fn fold(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn add_bytes(sum: u64, b: &[u8]) -> u64 {
    let mut s = sum;
    let mut chunks = b.chunks_exact(2);
    for c in &mut chunks {
        s += u64::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        s += u64::from(*last) << 8;
    }
    s
}

impl Net {
    /// Appends Ethernet (+ tag) + IP header for `l4_len` bytes of protocol `proto`; returns the
    /// pseudo-header checksum start.
    fn ip_header(&mut self, buf: &mut Vec<u8>, to_server: bool, proto: u8, l4_len: usize) -> u64 {
        let (src, dst) = if to_server {
            (self.client, self.server)
        } else {
            (self.server, self.client)
        };
        buf.extend_from_slice(&dst.mac);
        buf.extend_from_slice(&src.mac);
        if let Some(vid) = self.vlan {
            // IEEE 802.1Q §9.6: TPID 0x8100, TCI (PCP 0, DEI 0, VID)
            buf.extend_from_slice(&[0x81, 0x00]);
            buf.extend_from_slice(&(vid & 0x0fff).to_be_bytes());
        }
        self.ident = self.ident.wrapping_add(1);
        match (src.ip, dst.ip) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                buf.extend_from_slice(&[0x08, 0x00]);
                let start = buf.len();
                let total = (20 + l4_len) as u16;
                // RFC 791 §3.1: version 4, IHL 5, DF, TTL 64
                buf.extend_from_slice(&[0x45, 0]);
                buf.extend_from_slice(&total.to_be_bytes());
                buf.extend_from_slice(&self.ident.to_be_bytes());
                buf.extend_from_slice(&[0x40, 0, 64, proto, 0, 0]);
                buf.extend_from_slice(&s.octets());
                buf.extend_from_slice(&d.octets());
                let c = fold(add_bytes(0, &buf[start..]));
                buf[start + 10..start + 12].copy_from_slice(&c.to_be_bytes());
                let pseudo = add_bytes(add_bytes(0, &s.octets()), &d.octets());
                pseudo + u64::from(proto) + l4_len as u64
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                buf.extend_from_slice(&[0x86, 0xdd]);
                // RFC 8200 §3: version 6, payload length, next header, hop limit 64
                buf.extend_from_slice(&[0x60, 0, 0, 0]);
                buf.extend_from_slice(&(l4_len as u16).to_be_bytes());
                buf.extend_from_slice(&[proto, 64]);
                buf.extend_from_slice(&s.octets());
                buf.extend_from_slice(&d.octets());
                let pseudo = add_bytes(add_bytes(0, &s.octets()), &d.octets());
                pseudo + u64::from(proto) + l4_len as u64
            }
            _ => 0, // both ends of a flow have the same family
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn tcp(
        &mut self,
        buf: &mut Vec<u8>,
        to_server: bool,
        seq: u32,
        ack: u32,
        flags: u8,
        opts: &[u8],
        payload: &[u8],
    ) {
        let (src, dst) = if to_server {
            (self.client, self.server)
        } else {
            (self.server, self.client)
        };
        let thl = 20 + opts.len();
        let pseudo = self.ip_header(buf, to_server, 6, thl + payload.len());
        let start = buf.len();
        buf.extend_from_slice(&src.port.to_be_bytes());
        buf.extend_from_slice(&dst.port.to_be_bytes());
        buf.extend_from_slice(&seq.to_be_bytes());
        buf.extend_from_slice(&if flags & flag::ACK != 0 { ack } else { 0 }.to_be_bytes());
        buf.push(((thl / 4) as u8) << 4);
        buf.push(flags);
        buf.extend_from_slice(&[0xfa, 0xf0, 0, 0, 0, 0]); // window 64240, checksum, urgent
        buf.extend_from_slice(opts);
        buf.extend_from_slice(payload);
        let c = fold(add_bytes(pseudo, &buf[start..]));
        buf[start + 16..start + 18].copy_from_slice(&c.to_be_bytes());
    }

    fn udp(&mut self, buf: &mut Vec<u8>, to_server: bool, payload: &[u8]) {
        let (src, dst) = if to_server {
            (self.client, self.server)
        } else {
            (self.server, self.client)
        };
        let len = 8 + payload.len();
        let pseudo = self.ip_header(buf, to_server, 17, len);
        let start = buf.len();
        buf.extend_from_slice(&src.port.to_be_bytes());
        buf.extend_from_slice(&dst.port.to_be_bytes());
        buf.extend_from_slice(&(len as u16).to_be_bytes());
        buf.extend_from_slice(&[0, 0]);
        buf.extend_from_slice(payload);
        let c = fold(add_bytes(pseudo, &buf[start..]));
        buf[start + 6..start + 8].copy_from_slice(&c.to_be_bytes());
    }
}

/// What a scripted segment carries.
#[derive(Clone, Debug)]
enum Data {
    None,
    Bytes(Vec<u8>),
    /// That many bytes of filler (never starting like CLC).
    Filler(usize),
}

/// One scripted TCP segment.
#[derive(Clone, Debug)]
struct Seg {
    to_server: bool,
    flags: u8,
    /// SYN options: plain Linux ones, plus the SMC option when set.
    smc_option: bool,
    data: Data,
}

/// A TCP connection being played.
struct Tcp {
    net: Net,
    /// Next sequence number, client then server.
    seq: [u32; 2],
}

impl Tcp {
    fn emit(&mut self, buf: &mut Vec<u8>, s: &Seg, filler: &[u8]) {
        let i = usize::from(!s.to_server);
        let (seq, ack) = (self.seq[i], self.seq[1 - i]);
        let mut opts: Vec<u8> = Vec::new();
        let opts: &[u8] = if s.flags & flag::SYN != 0 {
            opts.extend_from_slice(&SYN_OPTS);
            if s.smc_option {
                opts.extend_from_slice(&SMC_OPT);
            }
            &opts
        } else {
            &TS_OPTS
        };
        let payload: &[u8] = match &s.data {
            Data::None => &[],
            Data::Bytes(b) => b,
            Data::Filler(n) => &filler[..(*n).min(filler.len())],
        };
        self.net
            .tcp(buf, s.to_server, seq, ack, s.flags, opts, payload);
        let used = payload.len() as u32 + u32::from(s.flags & (flag::SYN | flag::FIN) != 0);
        self.seq[i] = seq.wrapping_add(used);
    }
}

/// An open flow.
enum Flow {
    /// A scripted TCP connection (SMC scenarios, short exchanges).
    Script {
        tcp: Tcp,
        segs: std::collections::VecDeque<Seg>,
    },
    /// A bulk transfer from server to client: `left` data segments, an ACK every second one.
    Bulk {
        tcp: Tcp,
        left: u32,
        n: u32,
        fin: bool,
    },
    /// UDP datagrams of `size` bytes, alternating direction when `pairs`.
    Udp {
        net: Net,
        left: u32,
        size: usize,
        pairs: bool,
        n: u32,
    },
    /// RoCE frames replayed from template index `at`.
    Roce { at: usize, left: u32 },
}

/// Everything the generator keeps while it runs (bounded: `concurrency` flows).
struct Gen<'t> {
    rng: Rng,
    t: &'t Templates,
    report: Report,
    flow_no: u64,
    filler: Vec<u8>,
    servers: Vec<(IpAddr, IpAddr)>,
}

fn v4(n: u64) -> Ipv4Addr {
    // 10.0.0.0/8, host part from the flow number
    Ipv4Addr::new(10, (n >> 16) as u8, (n >> 8) as u8, n as u8)
}

fn v6(n: u64) -> Ipv6Addr {
    Ipv6Addr::new(0xfd00, 0x5c, 0, 0, 0, 0, (n >> 16) as u16, n as u16)
}

impl<'t> Gen<'t> {
    fn count(&mut self, kind: &str) {
        *self.report.flows.entry(kind.to_string()).or_default() += 1;
    }

    fn net(&mut self, server_port: u16, ipv6: bool) -> Net {
        self.flow_no += 1;
        let n = self.flow_no;
        let (sv4, sv6) = *self.rng.pick(&self.servers);
        let (cip, sip) = if ipv6 {
            (IpAddr::V6(v6(0x0100_0000 + n)), sv6)
        } else {
            // clients from 10.1.0.0 up, distinct per flow (the 4-tuple never repeats)
            (IpAddr::V4(v4(0x0001_0000 + n)), sv4)
        };
        let vlan = self.rng.chance(10).then(|| self.rng.range(2, 4094) as u16);
        Net {
            client: End {
                mac: mac_of(cip),
                ip: cip,
                port: 32768 + (n % 28000) as u16,
            },
            server: End {
                mac: mac_of(sip),
                ip: sip,
                port: server_port,
            },
            vlan,
            ident: self.rng.next_u64() as u16,
        }
    }

    fn tcp(&mut self, server_port: u16, ipv6: bool) -> Tcp {
        let net = self.net(server_port, ipv6);
        Tcp {
            net,
            seq: [self.rng.next_u64() as u32, self.rng.next_u64() as u32],
        }
    }

    fn new_flow(&mut self) -> Flow {
        let m = MIX;
        let total = m.smc + m.short_tcp + m.bulk_tcp + m.udp + m.roce;
        let mut x = self.rng.below(total);
        if x < m.smc {
            return self.smc_flow();
        }
        x -= m.smc;
        if x < m.short_tcp {
            self.count("tcp-short");
            let ipv6 = self.rng.chance(20);
            let port = *self.rng.pick(&[80u16, 443, 8080, 5432, 6379, 22]);
            let tcp = self.tcp(port, ipv6);
            let mut segs = handshake(false, false);
            let req = self.rng.range(60, 700) as usize;
            segs.push_back(data(true, Data::Filler(req)));
            segs.push_back(ack(false));
            for _ in 0..self.rng.range(1, 12) {
                segs.push_back(data(false, Data::Filler(MSS)));
                if self.rng.chance(50) {
                    segs.push_back(ack(true));
                }
            }
            close(&mut segs, &mut self.rng);
            return Flow::Script { tcp, segs };
        }
        x -= m.short_tcp;
        if x < m.bulk_tcp {
            self.count("tcp-bulk");
            let ipv6 = self.rng.chance(20);
            let port = *self.rng.pick(&[443u16, 873, 2049, 9000, 5201]);
            let tcp = self.tcp(port, ipv6);
            let left = self.rng.range(200, 2400) as u32;
            // a fifth started before the capture: no handshake in it
            let midstream = self.rng.chance(20);
            return Flow::Bulk {
                tcp,
                left,
                n: if midstream { 3 } else { 0 },
                fin: self.rng.chance(80),
            };
        }
        x -= m.bulk_tcp;
        if x < m.udp {
            let ipv6 = self.rng.chance(20);
            if self.rng.chance(60) {
                self.count("udp-dns");
                let net = self.net(53, ipv6);
                return Flow::Udp {
                    net,
                    left: 2,
                    size: self.rng.range(40, 400) as usize,
                    pairs: true,
                    n: 0,
                };
            }
            self.count("udp-quic");
            let net = self.net(443, ipv6);
            return Flow::Udp {
                net,
                left: self.rng.range(10, 120) as u32,
                size: 1200,
                pairs: true,
                n: 0,
            };
        }
        self.count("roce-burst");
        Flow::Roce {
            at: self.rng.below(self.t.roce.len() as u64) as usize,
            left: self.rng.range(20, 300) as u32,
        }
    }

    fn pick_scenario(&mut self) -> Scenario {
        let total: u64 = Scenario::ALL.iter().map(|(_, w)| w).sum();
        let mut x = self.rng.below(total);
        for (s, w) in Scenario::ALL {
            if x < w {
                return s;
            }
            x -= w;
        }
        Scenario::SmcD
    }

    fn decline(&mut self, template: &[u8], reasons: &[DeclineReason]) -> Vec<u8> {
        let r = *self.rng.pick(reasons);
        *self
            .report
            .decline_reasons
            .entry(r.to_string())
            .or_default() += 1;
        let mut b = template.to_vec();
        // peer_diagnosis, BE u32 at bytes 16..20 (§5.1)
        if let Some(d) = b.get_mut(16..20) {
            d.copy_from_slice(&r.0.to_be_bytes());
        }
        b
    }

    fn smc_flow(&mut self) -> Flow {
        let sc = self.pick_scenario();
        self.count(&format!("smc-{sc:?}"));
        self.report.connections += 1;
        *self
            .report
            .verdicts
            .entry(sc.verdict().to_string())
            .or_default() += 1;
        let t = self.t;
        let ipv6 = sc == Scenario::SmcD && self.rng.chance(30);
        let port = 45000 + self.rng.below(1000) as u16;
        let tcp = self.tcp(port, ipv6);
        let first_contact = self.rng.chance(20);
        let pick = |set: &'t [Vec<Clc>; 2]| &set[usize::from(!first_contact)];
        let mut segs;
        match sc {
            Scenario::SmcD | Scenario::SmcR | Scenario::ClcWithoutOption => {
                let msgs = match sc {
                    Scenario::SmcR => pick(&t.smcr),
                    _ if ipv6 => pick(&t.smcd_v6),
                    _ => pick(&t.smcd_v4),
                };
                let opt = sc != Scenario::ClcWithoutOption;
                segs = handshake(opt, opt);
                clc_exchange(&mut segs, msgs);
                // the data goes over RDMA/ISM; TCP stays quiet until the close. A tenth never
                // closes in the capture: their verdicts come from the quiet-connection sweep
                if self.rng.chance(90) {
                    close(&mut segs, &mut self.rng);
                }
            }
            Scenario::DeclineByServer => {
                let msgs = self.rng.pick(&t.prop_decline);
                segs = handshake(true, true);
                let d = self.decline(&msgs[1].bytes, &SERVER_REASONS);
                clc_exchange(&mut segs, &msgs[..1]);
                clc_exchange(
                    &mut segs,
                    &[Clc {
                        from_client: false,
                        bytes: d,
                    }],
                );
                fallback_data(&mut segs, &mut self.rng);
            }
            Scenario::DeclineByClient => {
                segs = handshake(true, true);
                let d = self.decline(&t.client_decline, &CLIENT_FIRST_REASONS);
                clc_exchange(
                    &mut segs,
                    &[Clc {
                        from_client: true,
                        bytes: d,
                    }],
                );
                fallback_data(&mut segs, &mut self.rng);
            }
            Scenario::DeclineAfterAccept => {
                let msgs = pick(&t.smcd_v4);
                segs = handshake(true, true);
                clc_exchange(&mut segs, &msgs[..2]);
                let d = self.decline(&t.client_decline, &CLIENT_AFTER_ACCEPT_REASONS);
                clc_exchange(
                    &mut segs,
                    &[Clc {
                        from_client: true,
                        bytes: d,
                    }],
                );
                fallback_data(&mut segs, &mut self.rng);
            }
            Scenario::FallbackNoEcho => {
                segs = handshake(true, false);
                fallback_data(&mut segs, &mut self.rng);
            }
            Scenario::OptionEchoedNoClc => {
                segs = handshake(true, true);
                fallback_data(&mut segs, &mut self.rng);
            }
            Scenario::Incomplete => {
                segs = handshake(true, true);
                let msgs = pick(&t.smcd_v4);
                match self.rng.below(4) {
                    // the server resets after the Proposal
                    0 => {
                        clc_exchange(&mut segs, &msgs[..1]);
                        segs.push_back(ctl(false, flag::RST | flag::ACK));
                    }
                    // the client closes after the Accept
                    1 => {
                        clc_exchange(&mut segs, &msgs[..2]);
                        close(&mut segs, &mut self.rng);
                    }
                    // a reset right after the TCP handshake
                    2 => segs.push_back(ctl(true, flag::RST | flag::ACK)),
                    // silence after the Proposal: the kernel's CLC timeout, or the capture's end
                    _ => clc_exchange(&mut segs, &msgs[..1]),
                }
            }
        }
        Flow::Script { tcp, segs }
    }

    /// Writes the flow's next frame into `buf` and returns its length on the wire; `None` when
    /// the flow is over. `winding_down`: the size is reached, long flows end soon (a bulk
    /// transfer still closes properly; SMC scripts run to their end so every verdict holds).
    fn step(&mut self, f: &mut Flow, buf: &mut Vec<u8>, winding_down: bool) -> Option<u32> {
        buf.clear();
        if winding_down {
            match f {
                Flow::Bulk { left, .. } | Flow::Udp { left, .. } | Flow::Roce { left, .. } => {
                    *left = (*left).min(2)
                }
                Flow::Script { .. } => {}
            }
        }
        match f {
            Flow::Script { tcp, segs } => {
                let s = segs.pop_front()?;
                tcp.emit(buf, &s, &self.filler_for(&s));
                Some(buf.len() as u32)
            }
            Flow::Bulk { tcp, left, n, fin } => {
                let s = match *n {
                    0 => ctl(true, flag::SYN),
                    1 => ctl(false, flag::SYN | flag::ACK),
                    2 => ack(true),
                    _ if *left > 0 => {
                        // an ACK from the client after every second segment
                        if *n % 3 == 2 {
                            ack(true)
                        } else {
                            *left -= 1;
                            data(false, Data::Filler(MSS))
                        }
                    }
                    _ if *fin => {
                        *fin = false;
                        ctl(false, flag::FIN | flag::ACK)
                    }
                    _ => return None,
                };
                *n += 1;
                let filler = self.filler_for(&s);
                tcp.emit(buf, &s, &filler);
                Some(buf.len() as u32)
            }
            Flow::Udp {
                net,
                left,
                size,
                pairs,
                n,
            } => {
                if *left == 0 {
                    return None;
                }
                *left -= 1;
                let to_server = !*pairs || *n % 2 == 0;
                *n += 1;
                let at = self.rng.below((self.filler.len() - *size) as u64) as usize;
                let payload = self.filler[at..at + *size].to_vec();
                net.udp(buf, to_server, &payload);
                Some(buf.len() as u32)
            }
            Flow::Roce { at, left } => {
                if *left == 0 {
                    return None;
                }
                *left -= 1;
                let r = &self.t.roce[*at % self.t.roce.len()];
                *at += 1;
                buf.extend_from_slice(&r.data);
                self.report.roce_frames += 1;
                match r.class {
                    templates::RoceClass::Llc => self.report.llc_messages += 1,
                    templates::RoceClass::Cdc => self.report.cdc_messages += 1,
                    templates::RoceClass::RdmaWrite => self.report.rdma_writes += 1,
                    templates::RoceClass::Other => {}
                }
                Some(r.origlen)
            }
        }
    }

    /// Filler bytes for a segment: a random window of the filler block whose first byte is
    /// never the eyecatcher's (0xe2), so no ordinary payload looks like CLC.
    fn filler_for(&mut self, s: &Seg) -> Vec<u8> {
        let Data::Filler(n) = s.data else {
            return Vec::new();
        };
        let n = n.min(self.filler.len() / 2);
        let at = self.rng.below((self.filler.len() - n) as u64) as usize;
        let mut v = self.filler[at..at + n].to_vec();
        if let Some(b) = v.first_mut() {
            if *b == 0xe2 {
                *b = 0x47;
            }
        }
        v
    }
}

fn ctl(to_server: bool, flags: u8) -> Seg {
    Seg {
        to_server,
        flags,
        smc_option: false,
        data: Data::None,
    }
}

fn ack(to_server: bool) -> Seg {
    ctl(to_server, flag::ACK)
}

fn data(to_server: bool, d: Data) -> Seg {
    Seg {
        to_server,
        flags: flag::PSH | flag::ACK,
        smc_option: false,
        data: d,
    }
}

/// SYN (with the SMC option when `syn_opt`), SYN-ACK (likewise `synack_opt`), ACK.
fn handshake(syn_opt: bool, synack_opt: bool) -> std::collections::VecDeque<Seg> {
    let mut v = std::collections::VecDeque::with_capacity(24);
    v.push_back(Seg {
        to_server: true,
        flags: flag::SYN,
        smc_option: syn_opt,
        data: Data::None,
    });
    v.push_back(Seg {
        to_server: false,
        flags: flag::SYN | flag::ACK,
        smc_option: synack_opt,
        data: Data::None,
    });
    v.push_back(ack(true));
    v
}

/// Each CLC message in its own segment, acknowledged by the other side.
fn clc_exchange(v: &mut std::collections::VecDeque<Seg>, msgs: &[Clc]) {
    for m in msgs {
        v.push_back(data(m.from_client, Data::Bytes(m.bytes.clone())));
        v.push_back(ack(!m.from_client));
    }
}

/// Ordinary TCP data after a fallback (the client speaks first), then a close.
fn fallback_data(v: &mut std::collections::VecDeque<Seg>, rng: &mut Rng) {
    v.push_back(data(true, Data::Filler(rng.range(50, 600) as usize)));
    v.push_back(ack(false));
    for _ in 0..rng.range(1, 6) {
        v.push_back(data(false, Data::Filler(MSS)));
    }
    v.push_back(ack(true));
    close(v, rng);
}

/// FIN from one side (the client mostly), FIN from the other, last ACK; or an RST.
fn close(v: &mut std::collections::VecDeque<Seg>, rng: &mut Rng) {
    if rng.chance(8) {
        v.push_back(ctl(true, flag::RST | flag::ACK));
        return;
    }
    let first = rng.chance(75);
    v.push_back(ctl(first, flag::FIN | flag::ACK));
    v.push_back(ctl(!first, flag::FIN | flag::ACK));
    v.push_back(ack(first));
}

/// pcap writer (draft-ietf-opsawg-pcap §4–5): microsecond timestamps, LINKTYPE_ETHERNET.
struct PcapOut<W: Write> {
    out: W,
    bytes: u64,
}

impl<W: Write> PcapOut<W> {
    fn new(mut out: W) -> io::Result<Self> {
        let mut h = Vec::with_capacity(24);
        h.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes()); // magic, µs
        h.extend_from_slice(&2u16.to_le_bytes()); // version 2.4
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&[0; 8]); // reserved
        h.extend_from_slice(&65535u32.to_le_bytes()); // snaplen
        h.extend_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
        out.write_all(&h)?;
        Ok(PcapOut { out, bytes: 24 })
    }

    fn record(&mut self, ts_nanos: u64, data: &[u8], origlen: u32) -> io::Result<()> {
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&((ts_nanos / 1_000_000_000) as u32).to_le_bytes());
        h[4..8].copy_from_slice(&((ts_nanos % 1_000_000_000 / 1000) as u32).to_le_bytes());
        h[8..12].copy_from_slice(&(data.len() as u32).to_le_bytes());
        h[12..16].copy_from_slice(&origlen.max(data.len() as u32).to_le_bytes());
        self.out.write_all(&h)?;
        self.out.write_all(data)?;
        self.bytes += 16 + data.len() as u64;
        Ok(())
    }
}

/// Writes a capture as configured to `out` and returns what is in it.
pub fn generate<W: Write>(cfg: &GenConfig, out: W) -> io::Result<Report> {
    let t = Templates::load().map_err(io::Error::other)?;
    let mut rng = Rng::new(cfg.seed);
    let mut filler = vec![0u8; 64 * 1024];
    for chunk in filler.chunks_mut(8) {
        let r = rng.next_u64().to_le_bytes();
        chunk.copy_from_slice(&r[..chunk.len()]);
    }
    let servers = (0..64u64)
        .map(|i| {
            (
                IpAddr::V4(Ipv4Addr::new(
                    192,
                    168,
                    100 + (i / 32) as u8,
                    1 + (i % 32) as u8,
                )),
                IpAddr::V6(Ipv6Addr::new(0xfd00, 0x5c, 0, 1, 0, 0, 0, 1 + i as u16)),
            )
        })
        .collect();
    let mut g = Gen {
        rng,
        t: &t,
        report: Report::default(),
        flow_no: 0,
        filler,
        servers,
    };
    let mut pcap = PcapOut::new(out)?;
    // 2026-01-05T00:00:00Z, advancing 0–40 µs per frame
    let mut now: u64 = 1_767_571_200 * 1_000_000_000;
    let k = cfg.concurrency.max(1);
    let mut open: Vec<Option<Flow>> = (0..k).map(|_| None).collect();
    let mut live = 0usize;
    let mut buf = Vec::with_capacity(2048);
    loop {
        let opening = pcap.bytes < cfg.target_bytes;
        if !opening && live == 0 {
            break;
        }
        let i = g.rng.below(k as u64) as usize;
        if open[i].is_none() {
            if !opening {
                continue;
            }
            open[i] = Some(g.new_flow());
            live += 1;
        }
        let Some(f) = open[i].as_mut() else { continue };
        match g.step(f, &mut buf, !opening) {
            Some(origlen) => {
                now += g.rng.below(40_000);
                pcap.record(now, &buf, origlen)?;
                g.report.frames += 1;
            }
            None => {
                open[i] = None;
                live -= 1;
            }
        }
    }
    pcap.out.flush()?;
    g.report.file_bytes = pcap.bytes;
    Ok(g.report)
}

/// How smcdump counts a RoCE frame (mirrors its pipeline: an RDMA WRITE, or a SEND the kernel
/// accepts that decodes as CDC or LLC).
fn roce_class(udp_payload: &[u8]) -> templates::RoceClass {
    use templates::RoceClass;
    let Ok(p) = RocePacket::parse_v2(udp_payload) else {
        return RoceClass::Other;
    };
    match p.content() {
        RoceContent::RdmaWrite { .. } => RoceClass::RdmaWrite,
        RoceContent::Send { class, payload } if class.is_accepted() => {
            if class == SendClass::Cdc {
                if CdcRepr::parse(payload, Mode::Lenient).is_ok() {
                    RoceClass::Cdc
                } else {
                    RoceClass::Other
                }
            } else if LlcRepr::parse(payload, Mode::Lenient).is_ok() {
                RoceClass::Llc
            } else {
                RoceClass::Other
            }
        }
        _ => RoceClass::Other,
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn same_seed_same_bytes() {
        let cfg = GenConfig {
            seed: 7,
            target_bytes: 200_000,
            concurrency: 16,
        };
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let ra = generate(&cfg, &mut a).unwrap();
        let rb = generate(&cfg, &mut b).unwrap();
        assert_eq!(a, b);
        assert_eq!(ra, rb);
        assert_eq!(ra.file_bytes, a.len() as u64);
        let other = generate(&GenConfig { seed: 8, ..cfg }, Vec::new()).unwrap();
        assert_ne!(ra, other);
    }

    #[test]
    fn checksums_verify() {
        let mut n = Net {
            client: End {
                mac: [2; 6],
                ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
                port: 40000,
            },
            server: End {
                mac: [4; 6],
                ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
                port: 80,
            },
            vlan: None,
            ident: 0,
        };
        let mut b = Vec::new();
        n.tcp(
            &mut b,
            true,
            1,
            2,
            flag::ACK | flag::PSH,
            &TS_OPTS,
            b"hello",
        );
        // a correct checksum makes the one's-complement sum over the covered bytes 0xffff
        assert_eq!(fold(add_bytes(0, &b[14..34])), 0);
        let pseudo = add_bytes(add_bytes(0, &b[26..30]), &b[30..34]) + 6 + (b.len() - 34) as u64;
        assert_eq!(fold(add_bytes(pseudo, &b[34..])), 0);
    }
}
