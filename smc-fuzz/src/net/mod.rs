//! A small userspace TCP/IP stack for the reference peer (issue 7): Ethernet, ARP, IPv4,
//! IPv6 with Neighbor Discovery, ICMP echo and a few TCP connections — "just enough to be a
//! good citizen" toward a real Linux kernel, plus the one thing a host socket cannot do:
//! put the SMC option into a SYN or SYN-ACK (reference §1).
//!
//! [`Iface`] is pure: frames in, frames out, time passed in ([`Iface::on_frame`],
//! [`Iface::poll`]). It never panics on any input; whatever it cannot use is counted in
//! [`IfaceStats`] and dropped. [`wire`] moves frames to and from a real segment.
//!
//! * [`seq`]: wrapping sequence numbers
//! * [`tcp`]: the connection control block
//! * [`arp`]: ARP and IPv6 Neighbor Discovery
//! * [`wire`]: QEMU `-netdev socket` stream and pnet datalink

pub mod arp;
pub mod seq;
pub mod tcp;
pub mod wire;

use pnet::packet::ethernet::{EtherTypes, EthernetPacket, MutableEthernetPacket};
use pnet::packet::icmp::{self, IcmpPacket};
use pnet::packet::icmpv6::{self, Icmpv6Packet, Icmpv6Types};
use pnet::packet::ip::IpNextHeaderProtocols;
use pnet::packet::ipv4::{self, Ipv4Packet, MutableIpv4Packet};
use pnet::packet::ipv6::{Ipv6Packet, MutableIpv6Packet};
use pnet::packet::tcp::{MutableTcpPacket, TcpPacket};
use pnet::util::MacAddr;
use seq::SeqNumber;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};
use tcp::{SegIn, SegOut, Tcb, TcpConfig};

/// Header sizes (RFC 894, RFC 791 §3.1, RFC 8200 §3, RFC 9293 §3.1).
mod field {
    pub const ETH_HEADER: usize = 14; // RFC 894: dst 6, src 6, type 2
    pub const IPV4_MIN: usize = 20; // RFC 791 §3.1 IHL 5
    pub const IPV6_HEADER: usize = 40; // RFC 8200 §3
    pub const TCP_MIN: usize = 20; // RFC 9293 §3.1 data offset 5
    pub const IPV4_MF: u8 = 0x01; // RFC 791 §3.1 flags: more fragments (bit 2 of the 3)
}

/// Interface settings.
#[derive(Debug, Clone)]
pub struct IfaceConfig {
    /// Our MAC address.
    pub mac: [u8; 6],
    /// Our IPv4 address, if any.
    pub ipv4: Option<Ipv4Addr>,
    /// Our IPv6 address, if any.
    pub ipv6: Option<Ipv6Addr>,
    /// Seed for initial sequence numbers and ephemeral ports (a fixed seed gives a
    /// reproducible run; the peer seeds from the clock unless told otherwise).
    pub seed: u64,
}

/// What the interface dropped or answered, by cause.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IfaceStats {
    /// Frames handed to [`Iface::on_frame`].
    pub frames_in: u64,
    /// Frames produced.
    pub frames_out: u64,
    /// Too short or inconsistent at some layer.
    pub malformed: u64,
    /// Not addressed to us (MAC or IP), or our own frame seen again.
    pub not_for_us: u64,
    /// Bad IPv4 header, TCP or ICMP checksum.
    pub bad_checksum: u64,
    /// IPv4 fragments (never reassembled: the kernel's segments fit the MTU).
    pub fragments: u64,
    /// TCP segments for no connection (answered with RST).
    pub tcp_no_socket: u64,
    /// ICMP / ICMPv6 echo requests answered.
    pub echo_replies: u64,
    /// Frames dropped because the neighbour was not resolved in time.
    pub unresolved_drops: u64,
}

/// A handle to one TCP connection of the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Handle(usize);

/// Errors of the interface API (never of received input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetError {
    /// The interface has no address of the remote's family.
    NoAddress(IpAddr),
    /// The handle does not name a connection.
    BadHandle,
    /// Too many connections.
    TooManySockets,
}

impl std::fmt::Display for NetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NetError::NoAddress(a) => write!(f, "the peer has no address of the family of {a}"),
            NetError::BadHandle => f.write_str("no such connection"),
            NetError::TooManySockets => f.write_str("too many TCP connections"),
        }
    }
}

impl std::error::Error for NetError {}

/// Connections kept at once (closed ones are reused).
const MAX_SOCKETS: usize = 64;
/// Frames held while a neighbour is being resolved.
const MAX_PENDING: usize = 64;
/// How often an unresolved neighbour is asked again.
const RESOLVE_EVERY: Duration = Duration::from_millis(500);

/// The userspace interface: one MAC, an IPv4 and/or IPv6 address, TCP connections.
#[derive(Debug)]
pub struct Iface {
    cfg: IfaceConfig,
    nb: arp::Neighbours,
    socks: Vec<Option<Tcb>>,
    pending: Vec<(IpAddr, u16, Vec<u8>)>,
    last_resolve: Option<(IpAddr, Instant)>,
    ip_id: u16,
    rng: u64,
    stats: IfaceStats,
}

impl Iface {
    /// A new interface.
    pub fn new(cfg: IfaceConfig) -> Iface {
        let rng = cfg.seed | 1;
        Iface {
            cfg,
            nb: arp::Neighbours::default(),
            socks: Vec::new(),
            pending: Vec::new(),
            last_resolve: None,
            ip_id: 1,
            rng,
            stats: IfaceStats::default(),
        }
    }

    /// Our MAC.
    pub fn mac(&self) -> [u8; 6] {
        self.cfg.mac
    }
    /// Counters.
    pub fn stats(&self) -> IfaceStats {
        self.stats
    }
    /// The neighbour cache.
    pub fn neighbours(&self) -> &arp::Neighbours {
        &self.nb
    }

    fn next_rand(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A random ephemeral port (RFC 6335 §6: 49152–65535).
    pub fn ephemeral_port(&mut self) -> u16 {
        49152 + (self.next_rand() % 16384) as u16
    }

    fn our_ip_for(&self, remote: IpAddr) -> Option<IpAddr> {
        match remote {
            IpAddr::V4(_) => self.cfg.ipv4.map(IpAddr::V4),
            IpAddr::V6(_) => self.cfg.ipv6.map(IpAddr::V6),
        }
    }

    fn insert(&mut self, t: Tcb) -> Result<Handle, NetError> {
        if let Some(i) = self.socks.iter().position(Option::is_none) {
            self.socks[i] = Some(t);
            return Ok(Handle(i));
        }
        if self.socks.len() >= MAX_SOCKETS {
            return Err(NetError::TooManySockets);
        }
        self.socks.push(Some(t));
        Ok(Handle(self.socks.len() - 1))
    }

    /// Opens a connection to `remote` from `local_port` (0 = ephemeral); the SYN goes out at
    /// the next poll.
    pub fn connect(
        &mut self,
        remote: SocketAddr,
        local_port: u16,
        cfg: TcpConfig,
    ) -> Result<Handle, NetError> {
        let ip = self
            .our_ip_for(remote.ip())
            .ok_or(NetError::NoAddress(remote.ip()))?;
        let port = if local_port == 0 {
            self.ephemeral_port()
        } else {
            local_port
        };
        let iss = SeqNumber(self.next_rand() as u32);
        self.insert(Tcb::connect(cfg, SocketAddr::new(ip, port), remote, iss))
    }

    /// Listens for one connection on `port` (any of our addresses).
    pub fn listen(&mut self, port: u16, cfg: TcpConfig) -> Result<Handle, NetError> {
        let iss = SeqNumber(self.next_rand() as u32);
        let any = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port);
        self.insert(Tcb::listen(cfg, any, iss))
    }

    /// The connection behind a handle.
    pub fn tcb(&self, h: Handle) -> Result<&Tcb, NetError> {
        self.socks
            .get(h.0)
            .and_then(Option::as_ref)
            .ok_or(NetError::BadHandle)
    }

    /// The connection behind a handle, mutable.
    pub fn tcb_mut(&mut self, h: Handle) -> Result<&mut Tcb, NetError> {
        self.socks
            .get_mut(h.0)
            .and_then(Option::as_mut)
            .ok_or(NetError::BadHandle)
    }

    /// Aborts a connection: an RST goes out now.
    pub fn abort(
        &mut self,
        h: Handle,
        now: Instant,
        out: &mut Vec<Vec<u8>>,
    ) -> Result<(), NetError> {
        if let Some(s) = self.tcb_mut(h)?.abort() {
            self.emit_tcp(&s, now, out);
        }
        Ok(())
    }

    /// Forgets a connection (its handle becomes invalid).
    pub fn remove(&mut self, h: Handle) {
        if let Some(s) = self.socks.get_mut(h.0) {
            *s = None;
        }
    }

    /// Runs timers and transmissions of every connection; returns the next deadline.
    pub fn poll(&mut self, now: Instant, out: &mut Vec<Vec<u8>>) -> Option<Instant> {
        let mut segs = Vec::new();
        let mut next: Option<Instant> = None;
        for t in self.socks.iter_mut().flatten() {
            if let Some(d) = t.poll(now, &mut segs) {
                next = Some(next.map_or(d, |n| n.min(d)));
            }
        }
        for s in &segs {
            self.emit_tcp(s, now, out);
        }
        // ask again for neighbours we are still waiting for
        if let Some((ip, _, _)) = self.pending.first() {
            let ip = *ip;
            let due = self
                .last_resolve
                .is_none_or(|(a, t)| a != ip || now.duration_since(t) >= RESOLVE_EVERY);
            if due {
                self.resolve(ip, now, out);
            }
            let d = now + RESOLVE_EVERY;
            next = Some(next.map_or(d, |n| n.min(d)));
        }
        next
    }

    /// Sends an ARP request or Neighbor Solicitation for `ip`.
    pub fn resolve(&mut self, ip: IpAddr, now: Instant, out: &mut Vec<Vec<u8>>) {
        self.last_resolve = Some((ip, now));
        match ip {
            IpAddr::V4(t) => {
                if let Some(us) = self.cfg.ipv4 {
                    let p = arp::request(self.cfg.mac, us, t);
                    self.push_frame(out, [0xff; 6], EtherTypes::Arp.0, &p);
                }
            }
            IpAddr::V6(t) => {
                if let Some(us) = self.cfg.ipv6 {
                    let mut p = arp::solicit(self.cfg.mac, t);
                    let dst = arp::solicited_node(t);
                    icmpv6_checksum(&mut p, us, dst);
                    let pkt = self.ipv6(us, dst, IpNextHeaderProtocols::Icmpv6.0, 255, &p);
                    self.push_frame(out, arp::multicast_mac(dst), EtherTypes::Ipv6.0, &pkt);
                }
            }
        }
    }

    fn push_frame(&mut self, out: &mut Vec<Vec<u8>>, dst: [u8; 6], ethertype: u16, payload: &[u8]) {
        let mut f = vec![0u8; field::ETH_HEADER + payload.len()];
        if let Some(mut e) = MutableEthernetPacket::new(&mut f) {
            e.set_destination(MacAddr::from(dst));
            e.set_source(MacAddr::from(self.cfg.mac));
            e.set_ethertype(pnet::packet::ethernet::EtherType(ethertype));
            e.set_payload(payload);
        }
        self.stats.frames_out += 1;
        out.push(f);
    }

    /// Sends an L3 packet to `ip`, resolving its MAC first if needed.
    fn send_l3(
        &mut self,
        ip: IpAddr,
        ethertype: u16,
        pkt: Vec<u8>,
        now: Instant,
        out: &mut Vec<Vec<u8>>,
    ) {
        match self.nb.lookup(ip) {
            Some(mac) => self.push_frame(out, mac, ethertype, &pkt),
            None => {
                if self.pending.len() >= MAX_PENDING {
                    self.pending.remove(0);
                    self.stats.unresolved_drops += 1;
                }
                self.pending.push((ip, ethertype, pkt));
                let asked_recently = self
                    .last_resolve
                    .is_some_and(|(a, t)| a == ip && now.duration_since(t) < RESOLVE_EVERY);
                if !asked_recently {
                    self.resolve(ip, now, out);
                }
            }
        }
    }

    fn flush_pending(&mut self, out: &mut Vec<Vec<u8>>) {
        let mut keep = Vec::new();
        for (ip, et, pkt) in std::mem::take(&mut self.pending) {
            match self.nb.lookup(ip) {
                Some(mac) => self.push_frame(out, mac, et, &pkt),
                None => keep.push((ip, et, pkt)),
            }
        }
        self.pending = keep;
    }

    fn ipv4(&mut self, src: Ipv4Addr, dst: Ipv4Addr, proto: u8, payload: &[u8]) -> Vec<u8> {
        let mut b = vec![0u8; field::IPV4_MIN + payload.len()];
        let id = self.ip_id;
        self.ip_id = self.ip_id.wrapping_add(1);
        if let Some(mut p) = MutableIpv4Packet::new(&mut b) {
            p.set_version(4);
            p.set_header_length(5);
            p.set_total_length((field::IPV4_MIN + payload.len()) as u16);
            p.set_identification(id);
            p.set_flags(ipv4::Ipv4Flags::DontFragment);
            p.set_ttl(64);
            p.set_next_level_protocol(pnet::packet::ip::IpNextHeaderProtocol(proto));
            p.set_source(src);
            p.set_destination(dst);
            p.set_payload(payload);
            let c = ipv4::checksum(&p.to_immutable());
            p.set_checksum(c);
        }
        b
    }

    fn ipv6(
        &mut self,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        next: u8,
        hops: u8,
        payload: &[u8],
    ) -> Vec<u8> {
        let mut b = vec![0u8; field::IPV6_HEADER + payload.len()];
        if let Some(mut p) = MutableIpv6Packet::new(&mut b) {
            p.set_version(6);
            p.set_payload_length(payload.len() as u16);
            p.set_next_header(pnet::packet::ip::IpNextHeaderProtocol(next));
            p.set_hop_limit(hops);
            p.set_source(src);
            p.set_destination(dst);
            p.set_payload(payload);
        }
        b
    }

    /// Wraps a TCP segment into IP and Ethernet.
    fn emit_tcp(&mut self, s: &SegOut, now: Instant, out: &mut Vec<Vec<u8>>) {
        let seg = tcp_bytes(s);
        match (s.src.ip(), s.dst.ip()) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                let pkt = self.ipv4(a, b, IpNextHeaderProtocols::Tcp.0, &seg);
                self.send_l3(s.dst.ip(), EtherTypes::Ipv4.0, pkt, now, out);
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                let pkt = self.ipv6(a, b, IpNextHeaderProtocols::Tcp.0, 64, &seg);
                self.send_l3(s.dst.ip(), EtherTypes::Ipv6.0, pkt, now, out);
            }
            _ => {}
        }
    }

    /// Handles one received Ethernet frame; replies go to `out`. Never panics.
    pub fn on_frame(&mut self, frame: &[u8], now: Instant, out: &mut Vec<Vec<u8>>) {
        self.stats.frames_in += 1;
        let Some(eth) = EthernetPacket::new(frame) else {
            self.stats.malformed += 1;
            return;
        };
        let dst = eth.get_destination().octets();
        let src = eth.get_source().octets();
        if src == self.cfg.mac || (dst != self.cfg.mac && dst[0] & 1 == 0) {
            self.stats.not_for_us += 1;
            return;
        }
        let payload = &frame[field::ETH_HEADER..];
        match eth.get_ethertype() {
            EtherTypes::Arp => {
                if let Some(us) = self.cfg.ipv4 {
                    match arp::on_arp(payload, self.cfg.mac, us, &mut self.nb) {
                        arp::ArpAction::Reply(p, to) => {
                            self.push_frame(out, to, EtherTypes::Arp.0, &p)
                        }
                        arp::ArpAction::None => {}
                    }
                    self.flush_pending(out);
                }
            }
            EtherTypes::Ipv4 => self.on_ipv4(payload, src, now, out),
            EtherTypes::Ipv6 => self.on_ipv6(payload, src, now, out),
            _ => self.stats.not_for_us += 1,
        }
    }

    fn on_ipv4(&mut self, b: &[u8], src_mac: [u8; 6], now: Instant, out: &mut Vec<Vec<u8>>) {
        let Some(us) = self.cfg.ipv4 else {
            self.stats.not_for_us += 1;
            return;
        };
        // RFC 791 §3.1 consistency before any accessor reads past the header
        let Some(p) = Ipv4Packet::new(b) else {
            self.stats.malformed += 1;
            return;
        };
        let ihl = usize::from(p.get_header_length()) * 4;
        let total = usize::from(p.get_total_length());
        if p.get_version() != 4 || ihl < field::IPV4_MIN || total < ihl || total > b.len() {
            self.stats.malformed += 1;
            return;
        }
        if p.get_destination() != us {
            self.stats.not_for_us += 1;
            return;
        }
        if !checksums_ok() && ipv4::checksum(&p) != p.get_checksum() {
            self.stats.bad_checksum += 1;
            return;
        }
        if p.get_flags() & field::IPV4_MF != 0 || p.get_fragment_offset() != 0 {
            self.stats.fragments += 1;
            return;
        }
        let src = p.get_source();
        self.nb.learn(IpAddr::V4(src), src_mac);
        self.flush_pending(out);
        let l4 = &b[ihl..total];
        match p.get_next_level_protocol() {
            IpNextHeaderProtocols::Tcp => {
                self.on_tcp(IpAddr::V4(src), IpAddr::V4(us), l4, now, out)
            }
            IpNextHeaderProtocols::Icmp => {
                // RFC 792: echo request (type 8) ⇒ echo reply (type 0), same body
                let Some(ic) = IcmpPacket::new(l4) else {
                    self.stats.malformed += 1;
                    return;
                };
                if !checksums_ok() && icmp::checksum(&ic) != ic.get_checksum() {
                    self.stats.bad_checksum += 1;
                    return;
                }
                if ic.get_icmp_type() == icmp::IcmpTypes::EchoRequest {
                    let mut r = l4.to_vec();
                    r[0] = icmp::IcmpTypes::EchoReply.0;
                    r[2] = 0;
                    r[3] = 0;
                    if let Some(rp) = IcmpPacket::new(&r) {
                        let c = icmp::checksum(&rp);
                        r[2..4].copy_from_slice(&c.to_be_bytes());
                    }
                    let pkt = self.ipv4(us, src, IpNextHeaderProtocols::Icmp.0, &r);
                    self.stats.echo_replies += 1;
                    self.send_l3(IpAddr::V4(src), EtherTypes::Ipv4.0, pkt, now, out);
                }
            }
            _ => self.stats.not_for_us += 1,
        }
    }

    fn on_ipv6(&mut self, b: &[u8], src_mac: [u8; 6], now: Instant, out: &mut Vec<Vec<u8>>) {
        let Some(us) = self.cfg.ipv6 else {
            self.stats.not_for_us += 1;
            return;
        };
        let Some(p) = Ipv6Packet::new(b) else {
            self.stats.malformed += 1;
            return;
        };
        let len = usize::from(p.get_payload_length());
        if p.get_version() != 6 || field::IPV6_HEADER + len > b.len() {
            self.stats.malformed += 1;
            return;
        }
        let dst = p.get_destination();
        let src = p.get_source();
        if dst != us && dst != arp::solicited_node(us) {
            self.stats.not_for_us += 1;
            return;
        }
        let l4 = &b[field::IPV6_HEADER..field::IPV6_HEADER + len];
        match p.get_next_header() {
            IpNextHeaderProtocols::Tcp => {
                if dst != us {
                    self.stats.not_for_us += 1;
                    return;
                }
                self.nb.learn(IpAddr::V6(src), src_mac);
                self.flush_pending(out);
                self.on_tcp(IpAddr::V6(src), IpAddr::V6(us), l4, now, out)
            }
            IpNextHeaderProtocols::Icmpv6 => {
                let Some(ic) = Icmpv6Packet::new(l4) else {
                    self.stats.malformed += 1;
                    return;
                };
                if !checksums_ok() && icmpv6::checksum(&ic, &src, &dst) != ic.get_checksum() {
                    self.stats.bad_checksum += 1;
                    return;
                }
                if ic.get_icmpv6_type() == Icmpv6Types::EchoRequest && dst == us {
                    let mut r = l4.to_vec();
                    r[0] = Icmpv6Types::EchoReply.0;
                    icmpv6_checksum(&mut r, us, src);
                    let pkt = self.ipv6(us, src, IpNextHeaderProtocols::Icmpv6.0, 64, &r);
                    self.stats.echo_replies += 1;
                    self.nb.learn(IpAddr::V6(src), src_mac);
                    self.send_l3(IpAddr::V6(src), EtherTypes::Ipv6.0, pkt, now, out);
                    return;
                }
                match arp::on_ndp(l4, src, self.cfg.mac, us, &mut self.nb) {
                    arp::NdAction::Advertise(mut a) => {
                        if src.is_unspecified() {
                            return; // DAD probe: RFC 4861 §7.2.4 would multicast; not needed
                        }
                        icmpv6_checksum(&mut a, us, src);
                        let pkt = self.ipv6(us, src, IpNextHeaderProtocols::Icmpv6.0, 255, &a);
                        let mac = self.nb.lookup(IpAddr::V6(src)).unwrap_or(src_mac);
                        self.push_frame(out, mac, EtherTypes::Ipv6.0, &pkt);
                    }
                    arp::NdAction::None => {}
                }
                self.flush_pending(out);
            }
            _ => self.stats.not_for_us += 1,
        }
    }

    fn on_tcp(&mut self, src: IpAddr, dst: IpAddr, b: &[u8], now: Instant, out: &mut Vec<Vec<u8>>) {
        let Some(t) = TcpPacket::new(b) else {
            self.stats.malformed += 1;
            return;
        };
        let off = usize::from(t.get_data_offset()) * 4;
        if off < field::TCP_MIN || off > b.len() {
            self.stats.malformed += 1;
            return;
        }
        let sum = match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => pnet::packet::tcp::ipv4_checksum(&t, &s, &d),
            (IpAddr::V6(s), IpAddr::V6(d)) => pnet::packet::tcp::ipv6_checksum(&t, &s, &d),
            _ => return,
        };
        if !checksums_ok() && sum != t.get_checksum() {
            self.stats.bad_checksum += 1;
            return;
        }
        let seg = SegIn {
            src: SocketAddr::new(src, t.get_source()),
            dst: SocketAddr::new(dst, t.get_destination()),
            seq: SeqNumber(t.get_sequence()),
            ack: SeqNumber(t.get_acknowledgement()),
            flags: t.get_flags(),
            window: t.get_window(),
            options: &b[field::TCP_MIN..off],
            payload: &b[off..],
        };
        // an exact match first, then a listener
        let idx = self
            .socks
            .iter()
            .position(|s| {
                s.as_ref().is_some_and(|t| {
                    t.remote().is_some()
                        && t.state() != tcp::State::Closed
                        && t.matches(seg.src, seg.dst)
                })
            })
            .or_else(|| {
                self.socks.iter().position(|s| {
                    s.as_ref().is_some_and(|t| {
                        t.state() == tcp::State::Listen && t.matches(seg.src, seg.dst)
                    })
                })
            });
        let mut segs = Vec::new();
        match idx
            .and_then(|i| self.socks.get_mut(i))
            .and_then(Option::as_mut)
        {
            Some(t) => t.on_segment(&seg, now, &mut segs),
            None => {
                self.stats.tcp_no_socket += 1;
                if seg.flags & tcp::flags::RST == 0 {
                    segs.push(rst_for(&seg));
                }
            }
        }
        for s in &segs {
            self.emit_tcp(s, now, out);
        }
    }
}

/// RFC 9293 §3.10.7.1: the reset for a segment that belongs to no connection.
fn rst_for(seg: &SegIn<'_>) -> SegOut {
    let (seq, ack, fl) = if seg.flags & tcp::flags::ACK != 0 {
        (seg.ack, SeqNumber(0), tcp::flags::RST)
    } else {
        let len = seg.payload.len()
            + usize::from(seg.flags & tcp::flags::SYN != 0)
            + usize::from(seg.flags & tcp::flags::FIN != 0);
        (
            SeqNumber(0),
            seg.seq.add_len(len),
            tcp::flags::RST | tcp::flags::ACK,
        )
    };
    SegOut {
        src: seg.dst,
        dst: seg.src,
        seq,
        ack,
        flags: fl,
        window: 0,
        options: Vec::new(),
        payload: Vec::new(),
    }
}

/// True when received checksums are not verified: under `cfg(fuzzing)` so that a fuzzer gets
/// past them (style §1.8).
#[allow(unexpected_cfgs)]
fn checksums_ok() -> bool {
    cfg!(fuzzing)
}

fn icmpv6_checksum(b: &mut [u8], src: Ipv6Addr, dst: Ipv6Addr) {
    if b.len() < 4 {
        return;
    }
    b[2] = 0;
    b[3] = 0;
    if let Some(p) = Icmpv6Packet::new(b) {
        let c = icmpv6::checksum(&p, &src, &dst);
        b[2..4].copy_from_slice(&c.to_be_bytes());
    }
}

/// The TCP header, options and payload of a segment, with its checksum.
fn tcp_bytes(s: &SegOut) -> Vec<u8> {
    let mut opts = s.options.clone();
    while opts.len() % 4 != 0 {
        opts.push(1); // NOP padding (RFC 9293 §3.2)
    }
    let hl = field::TCP_MIN + opts.len();
    let mut b = vec![0u8; hl + s.payload.len()];
    if let Some(mut t) = MutableTcpPacket::new(&mut b) {
        t.set_source(s.src.port());
        t.set_destination(s.dst.port());
        t.set_sequence(s.seq.0);
        t.set_acknowledgement(if s.flags & tcp::flags::ACK != 0 {
            s.ack.0
        } else {
            0
        });
        t.set_data_offset((hl / 4) as u8);
        t.set_flags(s.flags);
        t.set_window(s.window);
        t.set_urgent_ptr(0);
    }
    b[field::TCP_MIN..hl].copy_from_slice(&opts);
    b[hl..].copy_from_slice(&s.payload);
    let sum = match (s.src.ip(), s.dst.ip(), TcpPacket::new(&b)) {
        (IpAddr::V4(a), IpAddr::V4(d), Some(t)) => pnet::packet::tcp::ipv4_checksum(&t, &a, &d),
        (IpAddr::V6(a), IpAddr::V6(d), Some(t)) => pnet::packet::tcp::ipv6_checksum(&t, &a, &d),
        _ => 0,
    };
    b[16..18].copy_from_slice(&sum.to_be_bytes());
    b
}

#[cfg(test)]
mod test {
    use super::*;

    fn iface(last: u8, seed: u64) -> Iface {
        Iface::new(IfaceConfig {
            mac: [2, 0, 0, 0, 0, last],
            ipv4: Some(Ipv4Addr::new(192, 168, 50, last)),
            ipv6: Some(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, u16::from(last))),
            seed,
        })
    }

    /// Moves frames between two interfaces until both are quiet.
    fn settle(a: &mut Iface, b: &mut Iface, now: Instant) {
        let mut to_a: Vec<Vec<u8>> = Vec::new();
        for _ in 0..200 {
            let mut fa = Vec::new();
            let mut fb = Vec::new();
            for f in to_a.drain(..) {
                a.on_frame(&f, now, &mut fa);
            }
            a.poll(now, &mut fa);
            b.poll(now, &mut fb);
            if fa.is_empty() && fb.is_empty() {
                return;
            }
            for f in fa {
                b.on_frame(&f, now, &mut fb);
            }
            to_a = fb;
        }
    }

    fn exchange(v6: bool) {
        let now = Instant::now();
        let mut c = iface(2, 1);
        let mut s = iface(1, 2);
        let l = s.listen(7777, TcpConfig::default()).unwrap();
        let dst: IpAddr = if v6 {
            "fd00::1".parse().unwrap()
        } else {
            "192.168.50.1".parse().unwrap()
        };
        let h = c
            .connect(SocketAddr::new(dst, 7777), 0, TcpConfig::default())
            .unwrap();
        settle(&mut c, &mut s, now);
        assert_eq!(c.tcb(h).unwrap().state(), tcp::State::Established);
        assert_eq!(s.tcb(l).unwrap().peer_smc_option(), Some(true));
        assert!(c.tcb_mut(h).unwrap().send(b"hello over our own stack"));
        settle(&mut c, &mut s, now);
        assert_eq!(s.tcb_mut(l).unwrap().recv(100), b"hello over our own stack");
        assert_eq!(c.stats().bad_checksum + s.stats().bad_checksum, 0);
    }

    #[test]
    fn two_ifaces_talk_ipv4_through_arp() {
        exchange(false);
    }

    #[test]
    fn two_ifaces_talk_ipv6_through_ndp() {
        exchange(true);
    }

    #[test]
    fn stray_segment_gets_rst_and_garbage_is_counted() {
        let now = Instant::now();
        let mut c = iface(2, 1);
        let mut s = iface(1, 2);
        let _h = c
            .connect("192.168.50.1:9".parse().unwrap(), 0, TcpConfig::default())
            .unwrap();
        settle(&mut c, &mut s, now);
        assert_eq!(s.stats().tcp_no_socket, 1);
        let mut out = Vec::new();
        for f in [&[][..], &[0xff; 13], &[0u8; 60]] {
            s.on_frame(f, now, &mut out);
        }
        assert!(out.is_empty());
    }
}
