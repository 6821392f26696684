//! Neighbour resolution: ARP for IPv4 (RFC 826) and Neighbor Discovery for IPv6 (RFC 4861
//! §4.3–4.4), just enough to answer the kernel's requests and to find its MAC address.

use pnet::packet::arp::{ArpHardwareTypes, ArpOperations, ArpPacket, MutableArpPacket};
use pnet::packet::ethernet::EtherTypes;
use pnet::packet::icmpv6::ndp::{
    MutableNeighborAdvertPacket, MutableNeighborSolicitPacket, NdpOptionTypes, NeighborAdvertFlags,
    NeighborAdvertPacket, NeighborSolicitPacket,
};
use pnet::packet::icmpv6::{Icmpv6Code, Icmpv6Types};
use pnet::util::MacAddr;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Bounded neighbour cache (the peer talks to one kernel; a few entries are plenty).
#[derive(Debug, Default, Clone)]
pub struct Neighbours {
    entries: Vec<(IpAddr, [u8; 6])>,
}

/// Entries kept; older ones are forgotten first.
const MAX_ENTRIES: usize = 16;

impl Neighbours {
    /// The MAC for `ip`, if known.
    pub fn lookup(&self, ip: IpAddr) -> Option<[u8; 6]> {
        self.entries.iter().find(|(a, _)| *a == ip).map(|(_, m)| *m)
    }

    /// Learns (or refreshes) an entry; multicast/broadcast/zero MACs are ignored.
    pub fn learn(&mut self, ip: IpAddr, mac: [u8; 6]) {
        if mac[0] & 1 != 0 || mac == [0; 6] || ip.is_unspecified() {
            return;
        }
        self.entries.retain(|(a, _)| *a != ip);
        if self.entries.len() >= MAX_ENTRIES {
            self.entries.remove(0);
        }
        self.entries.push((ip, mac));
    }
}

/// ARP payload length for Ethernet/IPv4 (RFC 826: 8 + 2×(6 + 4)).
pub const ARP_LEN: usize = 28;

/// What an ARP packet asked of us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArpAction {
    /// Nothing to answer (learned the sender at most).
    None,
    /// Answer with this reply payload, to this MAC.
    Reply([u8; ARP_LEN], [u8; 6]),
}

/// Handles an ARP payload: learns the sender, answers requests for `our_ip`.
pub fn on_arp(payload: &[u8], our_mac: [u8; 6], our_ip: Ipv4Addr, n: &mut Neighbours) -> ArpAction {
    let Some(p) = ArpPacket::new(payload) else {
        return ArpAction::None;
    };
    if payload.len() < ARP_LEN
        || p.get_hardware_type() != ArpHardwareTypes::Ethernet
        || p.get_protocol_type() != EtherTypes::Ipv4
        || p.get_hw_addr_len() != 6
        || p.get_proto_addr_len() != 4
    {
        return ArpAction::None;
    }
    let sender_ip = p.get_sender_proto_addr();
    let sender_mac = p.get_sender_hw_addr().octets();
    if p.get_target_proto_addr() == our_ip || n.lookup(IpAddr::V4(sender_ip)).is_some() {
        n.learn(IpAddr::V4(sender_ip), sender_mac);
    }
    if p.get_operation() == ArpOperations::Request && p.get_target_proto_addr() == our_ip {
        return ArpAction::Reply(
            build(ArpOperations::Reply, our_mac, our_ip, sender_mac, sender_ip),
            sender_mac,
        );
    }
    ArpAction::None
}

/// An ARP request for `target`.
pub fn request(our_mac: [u8; 6], our_ip: Ipv4Addr, target: Ipv4Addr) -> [u8; ARP_LEN] {
    build(ArpOperations::Request, our_mac, our_ip, [0; 6], target)
}

fn build(
    op: pnet::packet::arp::ArpOperation,
    smac: [u8; 6],
    sip: Ipv4Addr,
    tmac: [u8; 6],
    tip: Ipv4Addr,
) -> [u8; ARP_LEN] {
    let mut b = [0u8; ARP_LEN];
    if let Some(mut p) = MutableArpPacket::new(&mut b) {
        p.set_hardware_type(ArpHardwareTypes::Ethernet);
        p.set_protocol_type(EtherTypes::Ipv4);
        p.set_hw_addr_len(6);
        p.set_proto_addr_len(4);
        p.set_operation(op);
        p.set_sender_hw_addr(MacAddr::from(smac));
        p.set_sender_proto_addr(sip);
        p.set_target_hw_addr(MacAddr::from(tmac));
        p.set_target_proto_addr(tip);
    }
    b
}

/// Neighbor Solicitation / Advertisement length with one link-layer address option
/// (RFC 4861 §4.3: 24 + 8).
pub const ND_LEN: usize = 32;

/// Offset of the options in an NS or NA (RFC 4861 §4.3/§4.4: type, code, checksum, reserved, target).
const ND_OPTIONS: usize = 24;

/// What an ICMPv6 ND message asked of us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NdAction {
    /// Nothing to answer.
    None,
    /// Answer with this Neighbor Advertisement (ICMPv6 body, checksum still zero).
    Advertise([u8; ND_LEN]),
}

/// Handles an ICMPv6 message that may be NS/NA: learns, answers solicitations for `our_ip`.
pub fn on_ndp(
    icmp: &[u8],
    src: Ipv6Addr,
    our_mac: [u8; 6],
    our_ip: Ipv6Addr,
    n: &mut Neighbours,
) -> NdAction {
    let Some(&ty) = icmp.first() else {
        return NdAction::None;
    };
    if ty == Icmpv6Types::NeighborSolicit.0 {
        let Some(p) = NeighborSolicitPacket::new(icmp) else {
            return NdAction::None;
        };
        if p.get_target_addr() != our_ip {
            return NdAction::None;
        }
        // RFC 4861 §7.2.3: source link-layer address option, if any, updates the cache
        if let Some(mac) = ll_option(
            icmp.get(ND_OPTIONS..).unwrap_or(&[]),
            NdpOptionTypes::SourceLLAddr.0,
        ) {
            n.learn(IpAddr::V6(src), mac);
        }
        return NdAction::Advertise(advert(our_mac, our_ip));
    }
    if ty == Icmpv6Types::NeighborAdvert.0 {
        let Some(p) = NeighborAdvertPacket::new(icmp) else {
            return NdAction::None;
        };
        if let Some(mac) = ll_option(
            icmp.get(ND_OPTIONS..).unwrap_or(&[]),
            NdpOptionTypes::TargetLLAddr.0,
        ) {
            n.learn(IpAddr::V6(p.get_target_addr()), mac);
        }
    }
    NdAction::None
}

/// The first link-layer address option of `kind` in an ND options area (8-byte units).
fn ll_option(mut opts: &[u8], kind: u8) -> Option<[u8; 6]> {
    while opts.len() >= 8 {
        let len = usize::from(opts[1]) * 8;
        if len == 0 || len > opts.len() {
            return None; // RFC 4861 §4.6: length 0 is invalid
        }
        if opts[0] == kind && len >= 8 {
            let mut m = [0u8; 6];
            m.copy_from_slice(&opts[2..8]);
            return Some(m);
        }
        opts = &opts[len..];
    }
    None
}

fn advert(our_mac: [u8; 6], our_ip: Ipv6Addr) -> [u8; ND_LEN] {
    let mut b = [0u8; ND_LEN];
    if let Some(mut p) = MutableNeighborAdvertPacket::new(&mut b) {
        p.set_icmpv6_type(Icmpv6Types::NeighborAdvert);
        p.set_icmpv6_code(Icmpv6Code(0));
        p.set_flags(NeighborAdvertFlags::Solicited | NeighborAdvertFlags::Override);
        p.set_target_addr(our_ip);
    }
    b[24] = NdpOptionTypes::TargetLLAddr.0;
    b[25] = 1;
    b[26..32].copy_from_slice(&our_mac);
    b
}

/// A Neighbor Solicitation for `target` (send to its solicited-node multicast address).
pub fn solicit(our_mac: [u8; 6], target: Ipv6Addr) -> [u8; ND_LEN] {
    let mut b = [0u8; ND_LEN];
    if let Some(mut p) = MutableNeighborSolicitPacket::new(&mut b) {
        p.set_icmpv6_type(Icmpv6Types::NeighborSolicit);
        p.set_icmpv6_code(Icmpv6Code(0));
        p.set_target_addr(target);
    }
    b[24] = NdpOptionTypes::SourceLLAddr.0;
    b[25] = 1;
    b[26..32].copy_from_slice(&our_mac);
    b
}

/// RFC 4291 §2.7.1: ff02::1:ffXX:XXXX for `ip`.
pub fn solicited_node(ip: Ipv6Addr) -> Ipv6Addr {
    let o = ip.octets();
    Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(o[13]),
        u16::from_be_bytes([o[14], o[15]]),
    )
}

/// RFC 2464 §7: 33:33 + the low 32 bits of the multicast address.
pub fn multicast_mac(ip: Ipv6Addr) -> [u8; 6] {
    let o = ip.octets();
    [0x33, 0x33, o[12], o[13], o[14], o[15]]
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn arp_request_for_us_is_answered_and_learned() {
        let mut n = Neighbours::default();
        let req = request(
            [2, 0, 0, 0, 0, 9],
            "10.0.0.9".parse().unwrap(),
            "10.0.0.1".parse().unwrap(),
        );
        let a = on_arp(
            &req,
            [2, 0, 0, 0, 0, 1],
            "10.0.0.1".parse().unwrap(),
            &mut n,
        );
        let ArpAction::Reply(rep, to) = a else {
            panic!("{a:?}")
        };
        assert_eq!(to, [2, 0, 0, 0, 0, 9]);
        assert_eq!(&rep[6..8], &[0, 2]);
        assert_eq!(
            n.lookup("10.0.0.9".parse().unwrap()),
            Some([2, 0, 0, 0, 0, 9])
        );
        assert_eq!(
            on_arp(&rep[..10], [0; 6], "10.0.0.1".parse().unwrap(), &mut n),
            ArpAction::None
        );
    }

    #[test]
    fn ns_for_us_gets_an_advert() {
        let mut n = Neighbours::default();
        let us: Ipv6Addr = "fd00::1".parse().unwrap();
        let ns = solicit([2, 0, 0, 0, 0, 9], us);
        let a = on_ndp(
            &ns,
            "fd00::9".parse().unwrap(),
            [2, 0, 0, 0, 0, 1],
            us,
            &mut n,
        );
        assert!(matches!(a, NdAction::Advertise(_)));
        assert_eq!(
            n.lookup("fd00::9".parse().unwrap()),
            Some([2, 0, 0, 0, 0, 9])
        );
        assert_eq!(
            solicited_node(us),
            "ff02::1:ff00:1".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(ll_option(&[1, 0, 0, 0, 0, 0, 0, 0], 1), None);
    }
}
