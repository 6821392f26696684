//! Link layer → IP → TCP/UDP: borrowed slices of one frame, on the hot path of every packet.
//!
//! [`decap`] never allocates, copies or panics: each layer first takes its fixed header as a
//! `&[u8; N]` (one length check), then reads fields through the `field` ranges of its module, all
//! within `N`. A frame that cannot be SMC costs this one parse (design.md).
//!
//! # Policies
//! - **Lengths.** The IP length field bounds everything after it: Ethernet padding and trailing
//!   FCS bytes are never read as payload. When the capture holds less than the IP length announces
//!   (a small snapshot length), the TCP payload is what was captured and
//!   [`TcpSegment::payload_missing`] says how much is missing. A header that does not fit in the
//!   captured bytes gives [`Decapped::Truncated`]; one whose own length fields are impossible
//!   (IHL < 5, total length shorter than the header, TCP data offset < 5 or past the segment)
//!   gives [`Decapped::Malformed`].
//! - **Zero lengths.** An IPv4 total length of 0 is what TSO/GSO captures on the sending host
//!   show (Wireshark: "may be caused by TSO"); an IPv6 payload length of 0 is a jumbogram
//!   (RFC 2675 §2) or the same TSO effect. Both are read as "the rest of the captured frame".
//! - **Fragments.** A first fragment whose TCP/UDP header is inside it is decoded (with
//!   [`IpPacket::more_fragments`] set); any other fragment is [`Decapped::Fragment`]. No
//!   reassembly: SMC's CLC runs on TCP, which avoids IP fragmentation (DF/PMTU), and RoCEv2 sets DF.
//! - **Addresses.** IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2) are given as
//!   IPv4, so a flow seen both ways keys the same.
//! - **VLANs.** Any number of 802.1Q / 802.1ad / pre-standard QinQ (0x9100) tags is skipped, on
//!   Ethernet and in Linux cooked captures.
//!
//! Checksums are not verified: captures on the sending host carry unfinished checksums
//! (checksum offload), and a wrong checksum does not stop the receiver's kernel from being
//! reported on here; it only would have made it drop the segment.

use crate::source::LinkType;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A field: a byte range within a fixed-size header (style §1.1).
type Field = std::ops::Range<usize>;

/// IEEE 802.3 Ethernet II header (IEEE 802.3-2022 §3.1.1).
mod ethernet {
    use super::Field;
    /// Destination MAC address.
    pub const _DST: Field = 0..6; // IEEE 802.3 §3.2.3
    /// Source MAC address.
    pub const _SRC: Field = 6..12; // IEEE 802.3 §3.2.3
    /// EtherType (≥ 0x0600) or length (≤ 1500).
    pub const ETHERTYPE: Field = 12..14; // IEEE 802.3 §3.2.6
    pub const HEADER_LEN: usize = ETHERTYPE.end;
}

/// An 802.1Q tag after its TPID (IEEE 802.1Q-2022 §9.6): TCI, then the next EtherType.
mod vlan {
    use super::Field;
    /// PCP, DEI, VID.
    pub const _TCI: Field = 0..2; // IEEE 802.1Q §9.6
    /// EtherType of what follows the tag.
    pub const ETHERTYPE: Field = 2..4; // IEEE 802.1Q §9.6
    pub const HEADER_LEN: usize = ETHERTYPE.end;
}

/// EtherTypes (IEEE Registration Authority EtherType registry).
mod ethertype {
    /// IPv4 (RFC 894).
    pub const IPV4: u16 = 0x0800;
    /// IPv6 (RFC 2464 §3).
    pub const IPV6: u16 = 0x86dd;
    /// 802.1Q customer VLAN tag (IEEE 802.1Q §9.5 C-TAG TPID).
    pub const VLAN: u16 = 0x8100;
    /// 802.1ad service VLAN tag (IEEE 802.1Q §9.5 S-TAG TPID).
    pub const QINQ: u16 = 0x88a8;
    /// Pre-standard QinQ outer tag used by some switches (Wireshark `ETHERTYPE_QINQ_OLD`).
    pub const QINQ_OLD: u16 = 0x9100;
    /// RoCE v1: IB GRH + BTH directly over Ethernet (IBTA Annex A16 §A16.4).
    pub const ROCE: u16 = 0x8915;
}

/// Linux cooked capture v1 (libpcap `LINKTYPE_LINUX_SLL`, tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html).
mod sll {
    use super::Field;
    /// Packet type: to us, broadcast, multicast, to other host, sent by us.
    pub const _PACKET_TYPE: Field = 0..2; // LINKTYPE_LINUX_SLL "packet type"
    /// ARPHRD_ type of the device.
    pub const _ARPHRD: Field = 2..4; // LINKTYPE_LINUX_SLL "ARPHRD_ type"
    /// Link-layer address length.
    pub const _ADDR_LEN: Field = 4..6; // LINKTYPE_LINUX_SLL "link-layer address length"
    /// Link-layer address, zero-padded to 8 bytes.
    pub const _ADDR: Field = 6..14; // LINKTYPE_LINUX_SLL "link-layer address"
    /// Protocol type: an EtherType for most devices.
    pub const PROTOCOL: Field = 14..16; // LINKTYPE_LINUX_SLL "protocol type"
    pub const HEADER_LEN: usize = PROTOCOL.end;
}

/// Linux cooked capture v2 (libpcap `LINKTYPE_LINUX_SLL2`, tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html).
mod sll2 {
    use super::Field;
    /// Protocol type: an EtherType for most devices.
    pub const PROTOCOL: Field = 0..2; // LINKTYPE_LINUX_SLL2 "protocol type"
    /// Reserved (MBZ).
    pub const _RESERVED: Field = 2..4; // LINKTYPE_LINUX_SLL2 "reserved"
    /// Interface index.
    pub const _IFINDEX: Field = 4..8; // LINKTYPE_LINUX_SLL2 "interface index"
    /// ARPHRD_ type of the device.
    pub const _ARPHRD: Field = 8..10; // LINKTYPE_LINUX_SLL2 "ARPHRD_ type"
    /// Packet type (1 byte), link-layer address length (1 byte).
    pub const _PACKET_TYPE: usize = 10; // LINKTYPE_LINUX_SLL2 "packet type"
    pub const _ADDR_LEN: usize = 11; // LINKTYPE_LINUX_SLL2 "link-layer address length"
    /// Link-layer address, zero-padded to 8 bytes.
    pub const ADDR: Field = 12..20; // LINKTYPE_LINUX_SLL2 "link-layer address"
    pub const HEADER_LEN: usize = ADDR.end;
}

/// BSD loopback (LINKTYPE_NULL host order, LINKTYPE_LOOP network order).
mod null {
    use super::Field;
    /// Address family of the payload.
    pub const FAMILY: Field = 0..4; // tcpdump.org/linktypes/LINKTYPE_NULL.html
    pub const HEADER_LEN: usize = FAMILY.end;
    /// AF_INET on every BSD (LINKTYPE_NULL: "2 for IPv4").
    pub const AF_INET: u32 = 2;
    /// AF_INET6 on NetBSD/OpenBSD/BSD/OS, FreeBSD/DragonFly, Darwin (LINKTYPE_NULL: "24, 28, or 30").
    pub const AF_INET6: [u32; 3] = [24, 28, 30];
}

/// IPv4 header (RFC 791 §3.1).
mod ipv4 {
    use super::Field;
    /// Version (high nibble) and IHL in 32-bit words (low nibble).
    pub const VER_IHL: usize = 0; // RFC 791 §3.1 Version, IHL
    /// DSCP and ECN.
    pub const _TOS: usize = 1; // RFC 791 §3.1 Type of Service; RFC 2474, RFC 3168
    /// Total length of header and data, in bytes.
    pub const LENGTH: Field = 2..4; // RFC 791 §3.1 Total Length
    /// Identification.
    pub const _IDENT: Field = 4..6; // RFC 791 §3.1 Identification
    /// Flags (3 bits) and fragment offset in 8-byte units (13 bits).
    pub const FLAGS_FRAG: Field = 6..8; // RFC 791 §3.1 Flags, Fragment Offset
    pub const TTL: usize = 8; // RFC 791 §3.1 Time to Live
    pub const PROTOCOL: usize = 9; // RFC 791 §3.1 Protocol
    pub const _CHECKSUM: Field = 10..12; // RFC 791 §3.1 Header Checksum
    pub const SRC: Field = 12..16; // RFC 791 §3.1 Source Address
    pub const DST: Field = 16..20; // RFC 791 §3.1 Destination Address
    pub const HEADER_LEN: usize = DST.end;
    /// More Fragments flag in FLAGS_FRAG.
    pub const MF: u16 = 0x2000; // RFC 791 §3.1 Flags bit 2
    /// Fragment offset mask in FLAGS_FRAG.
    pub const OFFSET_MASK: u16 = 0x1fff; // RFC 791 §3.1 Fragment Offset
}

/// IPv6 header (RFC 8200 §3).
mod ipv6 {
    use super::Field;
    /// Version (4 bits), traffic class, flow label.
    pub const VER_TC_FLOW: usize = 0; // RFC 8200 §3 Version
    /// Length of everything after this header, in bytes.
    pub const PAYLOAD_LEN: Field = 4..6; // RFC 8200 §3 Payload Length
    pub const NEXT_HEADER: usize = 6; // RFC 8200 §3 Next Header
    pub const HOP_LIMIT: usize = 7; // RFC 8200 §3 Hop Limit
    pub const SRC: Field = 8..24; // RFC 8200 §3 Source Address
    pub const DST: Field = 24..40; // RFC 8200 §3 Destination Address
    pub const HEADER_LEN: usize = DST.end;
}

/// IPv6 extension headers (RFC 8200 §4).
mod ipv6_ext {
    use super::Field;
    /// Next Header, common to all extension headers.
    pub const NEXT_HEADER: usize = 0; // RFC 8200 §4.3–4.6
    /// Length in 8-octet units, not counting the first 8 (AH: 4-octet units minus 2).
    pub const LENGTH: usize = 1; // RFC 8200 §4.3 Hdr Ext Len; RFC 4302 §2.2 Payload Len
    /// Fragment offset (13 bits, 8-byte units), reserved (2 bits), M flag.
    pub const FRAG_OFFSET_M: Field = 2..4; // RFC 8200 §4.5
    /// Every extension header is a multiple of 8 bytes, at least 8.
    pub const MIN_LEN: usize = 8; // RFC 8200 §4.3 "8-octet units"
    /// Mask of the M (more fragments) flag.
    pub const FRAG_M: u16 = 0x0001; // RFC 8200 §4.5 M flag
    /// Shift of the fragment offset.
    pub const FRAG_OFFSET_SHIFT: u16 = 3; // RFC 8200 §4.5 Fragment Offset
    /// Hop-by-Hop Options (RFC 8200 §4.3).
    pub const HOP_BY_HOP: u8 = 0;
    /// Routing (RFC 8200 §4.4).
    pub const ROUTING: u8 = 43;
    /// Fragment (RFC 8200 §4.5).
    pub const FRAGMENT: u8 = 44;
    /// Authentication Header (RFC 4302 §2).
    pub const AH: u8 = 51;
    /// Destination Options (RFC 8200 §4.6).
    pub const DEST_OPTS: u8 = 60;
    /// Mobility (RFC 6275 §6.1), HIP (RFC 7401 §5.1), Shim6 (RFC 5533 §5): generic layout (RFC 7045 §2).
    pub const MOBILITY: u8 = 135;
    pub const HIP: u8 = 139;
    pub const SHIM6: u8 = 140;
}

/// TCP header (RFC 9293 §3.1).
mod tcp {
    use super::Field;
    pub const SRC_PORT: Field = 0..2; // RFC 9293 §3.1 Source Port
    pub const DST_PORT: Field = 2..4; // RFC 9293 §3.1 Destination Port
    pub const SEQ: Field = 4..8; // RFC 9293 §3.1 Sequence Number
    pub const ACK: Field = 8..12; // RFC 9293 §3.1 Acknowledgment Number
    /// Data offset in 32-bit words (high nibble), reserved.
    pub const DATA_OFF: usize = 12; // RFC 9293 §3.1 Data Offset
    /// CWR ECE URG ACK PSH RST SYN FIN.
    pub const FLAGS: usize = 13; // RFC 9293 §3.1 Control Bits
    pub const WINDOW: Field = 14..16; // RFC 9293 §3.1 Window
    pub const _CHECKSUM: Field = 16..18; // RFC 9293 §3.1 Checksum
    pub const URGENT: Field = 18..20; // RFC 9293 §3.1 Urgent Pointer
    pub const HEADER_LEN: usize = URGENT.end;
}

/// UDP header (RFC 768).
mod udp {
    use super::Field;
    pub const SRC_PORT: Field = 0..2; // RFC 768 Source Port
    pub const DST_PORT: Field = 2..4; // RFC 768 Destination Port
    /// Length of header and data; 0 in IPv6 jumbograms (RFC 2675 §4).
    pub const LENGTH: Field = 4..6; // RFC 768 Length
    pub const CHECKSUM: Field = 6..8; // RFC 768 Checksum
    pub const HEADER_LEN: usize = CHECKSUM.end;
}

/// IP protocol numbers (IANA "Assigned Internet Protocol Numbers").
mod proto {
    pub const TCP: u8 = 6; // RFC 9293
    pub const UDP: u8 = 17; // RFC 768
}

/// What one frame holds, as far as smcdump cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decapped<'a> {
    /// An IPv4 or IPv6 packet (first fragments included).
    Ip(IpPacket<'a>),
    /// RoCE v1 (EtherType 0x8915): what follows the EtherType, GRH then BTH (IBTA Annex A16).
    RoceV1 {
        /// GRH (40 bytes) + BTH + … as captured.
        payload: &'a [u8],
    },
    /// Neither IP nor RoCE (ARP, LLDP, an 802.3 length frame, …).
    NotIp,
    /// A header does not fit in the captured bytes.
    Truncated {
        /// The layer whose header is cut: "ethernet", "vlan", "sll", "sll2", "null", "loop", "ip",
        /// "ipv4", "ipv6", "ipv6 extension", "tcp", "udp".
        layer: &'static str,
        /// Bytes that layer's header needs, counted from the layer's start.
        need: usize,
        /// Bytes captured from the layer's start.
        have: usize,
    },
    /// The frame's link type is not one [`decap`] reads.
    UnsupportedLink(LinkType),
    /// An IP fragment other than the first (or a first one too short for its TCP/UDP header).
    Fragment,
    /// A header whose own length or version fields are impossible (garbage, not a short capture).
    Malformed {
        /// The layer: "ipv4", "ipv6", "ipv6 extension", "tcp", "udp".
        layer: &'static str,
        /// What is wrong, in words.
        what: &'static str,
    },
}

/// An IP packet with its transport layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpPacket<'a> {
    /// Source address; IPv4-mapped IPv6 addresses are given as IPv4.
    pub src: IpAddr,
    /// Destination address; IPv4-mapped IPv6 addresses are given as IPv4.
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// The transport layer.
    pub l4: L4<'a>,
    /// A first fragment: more of this datagram follows in other frames (RFC 791 MF, RFC 8200 §4.5 M).
    pub more_fragments: bool,
}

/// The transport layer of an [`IpPacket`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum L4<'a> {
    /// TCP.
    Tcp(TcpSegment<'a>),
    /// UDP; `payload` is bounded by the UDP length and what was captured.
    Udp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
        /// Data after the 8-byte header.
        payload: &'a [u8],
    },
    /// Anything else (ICMP, ESP, SCTP, an IPv6 "no next header", …).
    Other {
        /// The IP protocol number / IPv6 next header of the first non-extension header.
        protocol: u8,
    },
}

/// A TCP segment, borrowed from the frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpSegment<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number of the first payload byte (of the SYN, if SYN is set).
    pub seq: u32,
    /// Acknowledgment number (meaningful when ACK is set).
    pub ack: u32,
    /// Control bits.
    pub flags: TcpFlags,
    /// Receive window (unscaled).
    pub window: u16,
    /// Options area: bytes 20 up to the data offset.
    pub options: &'a [u8],
    /// Captured payload.
    pub payload: &'a [u8],
    /// Payload bytes the IP length announces but the capture does not hold (snapshot length).
    pub payload_missing: u32,
}

/// TCP control bits (RFC 9293 §3.1; CWR/ECE RFC 3168 §6.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// No more data from sender.
    pub const FIN: TcpFlags = TcpFlags(0x01); // RFC 9293 §3.1
    /// Synchronize sequence numbers.
    pub const SYN: TcpFlags = TcpFlags(0x02); // RFC 9293 §3.1
    /// Reset the connection.
    pub const RST: TcpFlags = TcpFlags(0x04); // RFC 9293 §3.1
    /// Push function.
    pub const PSH: TcpFlags = TcpFlags(0x08); // RFC 9293 §3.1
    /// Acknowledgment field is significant.
    pub const ACK: TcpFlags = TcpFlags(0x10); // RFC 9293 §3.1
    /// Urgent pointer field is significant.
    pub const URG: TcpFlags = TcpFlags(0x20); // RFC 9293 §3.1
    /// ECN-Echo.
    pub const ECE: TcpFlags = TcpFlags(0x40); // RFC 3168 §6.1
    /// Congestion Window Reduced.
    pub const CWR: TcpFlags = TcpFlags(0x80); // RFC 3168 §6.1

    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }
    /// SYN set.
    pub const fn is_syn(self) -> bool {
        self.contains(TcpFlags::SYN)
    }
    /// ACK set.
    pub const fn is_ack(self) -> bool {
        self.contains(TcpFlags::ACK)
    }
    /// FIN set.
    pub const fn is_fin(self) -> bool {
        self.contains(TcpFlags::FIN)
    }
    /// RST set.
    pub const fn is_rst(self) -> bool {
        self.contains(TcpFlags::RST)
    }
    /// PSH set.
    pub const fn is_psh(self) -> bool {
        self.contains(TcpFlags::PSH)
    }
    /// URG set.
    pub const fn is_urg(self) -> bool {
        self.contains(TcpFlags::URG)
    }
}

impl std::ops::BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | rhs.0)
    }
}

impl fmt::Display for TcpFlags {
    /// tcpdump's notation: `S`, `S.`, `P.`, `F.`, `R`, … (`none` for no bits).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // tcpdump print-tcp.c tcp_flag_values order
        const NAMES: [(TcpFlags, char); 8] = [
            (TcpFlags::FIN, 'F'),
            (TcpFlags::SYN, 'S'),
            (TcpFlags::RST, 'R'),
            (TcpFlags::PSH, 'P'),
            (TcpFlags::ACK, '.'),
            (TcpFlags::URG, 'U'),
            (TcpFlags::ECE, 'E'),
            (TcpFlags::CWR, 'W'),
        ];
        if self.0 == 0 {
            return f.write_str("none");
        }
        for (flag, c) in NAMES {
            if self.contains(flag) {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// Reads a big-endian u16 at a constant field of a fixed header.
#[inline(always)]
fn be16<const N: usize>(h: &[u8; N], f: Field) -> u16 {
    u16::from_be_bytes([h[f.start], h[f.start + 1]])
}

/// Reads a big-endian u32 at a constant field of a fixed header.
#[inline(always)]
fn be32<const N: usize>(h: &[u8; N], f: Field) -> u32 {
    u32::from_be_bytes([h[f.start], h[f.start + 1], h[f.start + 2], h[f.start + 3]])
}

/// The fixed header at the start of `data`, and what follows it.
#[inline(always)]
fn split<const N: usize>(data: &[u8]) -> Option<(&[u8; N], &[u8])> {
    let (h, rest) = data.split_first_chunk::<N>()?;
    Some((h, rest))
}

/// Decodes one frame of the given link type down to TCP/UDP.
///
/// Never panics, allocates or copies; every problem is a [`Decapped`] variant.
pub fn decap(link: LinkType, data: &[u8]) -> Decapped<'_> {
    match link {
        LinkType::ETHERNET => decap_ethernet(data),
        LinkType::LINUX_SLL => {
            let Some((h, rest)) = split::<{ sll::HEADER_LEN }>(data) else {
                return truncated("sll", sll::HEADER_LEN, data.len());
            };
            by_ethertype(be16(h, sll::PROTOCOL), rest)
        }
        LinkType::LINUX_SLL2 => {
            let Some((h, rest)) = split::<{ sll2::HEADER_LEN }>(data) else {
                return truncated("sll2", sll2::HEADER_LEN, data.len());
            };
            by_ethertype(be16(h, sll2::PROTOCOL), rest)
        }
        LinkType::RAW | LinkType::RAW_BSD | LinkType::RAW_OPENBSD => decap_raw_ip(data),
        LinkType::IPV4 => decap_ipv4(data),
        LinkType::IPV6 => decap_ipv6(data),
        LinkType::NULL | LinkType::LOOP => {
            let Some((h, rest)) = split::<{ null::HEADER_LEN }>(data) else {
                return truncated(
                    if link == LinkType::NULL {
                        "null"
                    } else {
                        "loop"
                    },
                    null::HEADER_LEN,
                    data.len(),
                );
            };
            let family = if link == LinkType::LOOP {
                // LINKTYPE_LOOP: network byte order
                be32(h, null::FAMILY)
            } else {
                // LINKTYPE_NULL: the capturing host's byte order, unknown here; a family is
                // small, so a value with upper bits set was written by the other byte order
                let le = u32::from_le_bytes(*h);
                if le > 0xffff {
                    le.swap_bytes()
                } else {
                    le
                }
            };
            match family {
                null::AF_INET => decap_ipv4(rest),
                f if null::AF_INET6.contains(&f) => decap_ipv6(rest),
                _ => Decapped::NotIp,
            }
        }
        other => Decapped::UnsupportedLink(other),
    }
}

#[inline(always)]
fn truncated(layer: &'static str, need: usize, have: usize) -> Decapped<'static> {
    Decapped::Truncated { layer, need, have }
}

#[inline(always)]
fn malformed(layer: &'static str, what: &'static str) -> Decapped<'static> {
    Decapped::Malformed { layer, what }
}

fn decap_ethernet(data: &[u8]) -> Decapped<'_> {
    let Some((h, rest)) = split::<{ ethernet::HEADER_LEN }>(data) else {
        return truncated("ethernet", ethernet::HEADER_LEN, data.len());
    };
    by_ethertype(be16(h, ethernet::ETHERTYPE), rest)
}

/// Skips VLAN tags, then dispatches on the EtherType.
#[inline]
fn by_ethertype(mut et: u16, mut rest: &[u8]) -> Decapped<'_> {
    // each tag consumes 4 bytes, so this ends
    while matches!(et, ethertype::VLAN | ethertype::QINQ | ethertype::QINQ_OLD) {
        let Some((tag, after)) = split::<{ vlan::HEADER_LEN }>(rest) else {
            return truncated("vlan", vlan::HEADER_LEN, rest.len());
        };
        et = be16(tag, vlan::ETHERTYPE);
        rest = after;
    }
    match et {
        ethertype::IPV4 => decap_ipv4(rest),
        ethertype::IPV6 => decap_ipv6(rest),
        ethertype::ROCE => Decapped::RoceV1 { payload: rest },
        _ => Decapped::NotIp,
    }
}

/// LINKTYPE_RAW: IPv4 or IPv6 by the version nibble (RFC 791 §3.1, RFC 8200 §3).
fn decap_raw_ip(data: &[u8]) -> Decapped<'_> {
    match data.first().map(|b| b >> 4) {
        None => truncated("ip", 1, 0),
        Some(4) => decap_ipv4(data),
        Some(6) => decap_ipv6(data),
        Some(_) => Decapped::NotIp,
    }
}

/// IPv4-mapped IPv6 addresses as IPv4 (RFC 4291 §2.5.5.2).
#[inline]
fn normalize(a: Ipv6Addr) -> IpAddr {
    match a.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(a),
    }
}

/// The declared end of a packet whose header is `header` bytes and whose length field says
/// `declared` (0 = the rest of the frame), and how much of it is missing from the capture.
#[inline(always)]
fn bounds(declared: usize, have: usize) -> (usize, usize) {
    let end = if declared == 0 { have } else { declared };
    let avail = end.min(have);
    (avail, end - avail)
}

fn decap_ipv4(data: &[u8]) -> Decapped<'_> {
    let Some((h, _)) = split::<{ ipv4::HEADER_LEN }>(data) else {
        return truncated("ipv4", ipv4::HEADER_LEN, data.len());
    };
    if h[ipv4::VER_IHL] >> 4 != 4 {
        return malformed("ipv4", "version is not 4");
    }
    let ihl = usize::from(h[ipv4::VER_IHL] & 0x0f) * 4;
    if ihl < ipv4::HEADER_LEN {
        return malformed("ipv4", "header length (IHL) below 5 words");
    }
    if data.len() < ihl {
        return truncated("ipv4", ihl, data.len());
    }
    let total = usize::from(be16(h, ipv4::LENGTH));
    if total != 0 && total < ihl {
        return malformed("ipv4", "total length shorter than the header");
    }
    let frag = be16(h, ipv4::FLAGS_FRAG);
    if frag & ipv4::OFFSET_MASK != 0 {
        return Decapped::Fragment;
    }
    let (avail, missing) = bounds(total, data.len());
    let Some(l4) = data.get(ihl..avail) else {
        return truncated("ipv4", ihl, data.len());
    };
    let more_fragments = frag & ipv4::MF != 0;
    let src = Ipv4Addr::from(be32(h, ipv4::SRC));
    let dst = Ipv4Addr::from(be32(h, ipv4::DST));
    match transport(h[ipv4::PROTOCOL], l4, missing, more_fragments) {
        Ok(l4) => Decapped::Ip(IpPacket {
            src: IpAddr::V4(src),
            dst: IpAddr::V4(dst),
            ttl: h[ipv4::TTL],
            l4,
            more_fragments,
        }),
        Err(d) => d,
    }
}

fn decap_ipv6(data: &[u8]) -> Decapped<'_> {
    let Some((h, _)) = split::<{ ipv6::HEADER_LEN }>(data) else {
        return truncated("ipv6", ipv6::HEADER_LEN, data.len());
    };
    if h[ipv6::VER_TC_FLOW] >> 4 != 6 {
        return malformed("ipv6", "version is not 6");
    }
    let declared = match usize::from(be16(h, ipv6::PAYLOAD_LEN)) {
        0 => 0,
        n => ipv6::HEADER_LEN + n,
    };
    let (avail, missing) = bounds(declared, data.len());
    let Some(mut rest) = data.get(ipv6::HEADER_LEN..avail) else {
        return truncated("ipv6", ipv6::HEADER_LEN, data.len());
    };
    let mut next = h[ipv6::NEXT_HEADER];
    let mut more_fragments = false;
    // each extension header consumes at least 8 bytes, so this ends
    while matches!(
        next,
        ipv6_ext::HOP_BY_HOP
            | ipv6_ext::ROUTING
            | ipv6_ext::DEST_OPTS
            | ipv6_ext::MOBILITY
            | ipv6_ext::HIP
            | ipv6_ext::SHIM6
            | ipv6_ext::FRAGMENT
            | ipv6_ext::AH
    ) {
        let Some((e, _)) = split::<{ ipv6_ext::MIN_LEN }>(rest) else {
            return short("ipv6 extension", ipv6_ext::MIN_LEN, rest.len(), missing);
        };
        let len = match next {
            // AH: Payload Len in 32-bit words, minus 2 (RFC 4302 §2.2)
            ipv6_ext::AH => (usize::from(e[ipv6_ext::LENGTH]) + 2) * 4,
            // Fragment header: fixed 8 bytes (RFC 8200 §4.5)
            ipv6_ext::FRAGMENT => ipv6_ext::MIN_LEN,
            // Hdr Ext Len in 8-octet units, not including the first 8 (RFC 8200 §4.3)
            _ => (usize::from(e[ipv6_ext::LENGTH]) + 1) * 8,
        };
        if next == ipv6_ext::FRAGMENT {
            let fo = be16(e, ipv6_ext::FRAG_OFFSET_M);
            if fo >> ipv6_ext::FRAG_OFFSET_SHIFT != 0 {
                return Decapped::Fragment;
            }
            more_fragments = fo & ipv6_ext::FRAG_M != 0;
        }
        let Some(after) = rest.get(len..) else {
            return short("ipv6 extension", len, rest.len(), missing);
        };
        next = e[ipv6_ext::NEXT_HEADER];
        rest = after;
    }
    let src = normalize(Ipv6Addr::from(
        <[u8; 16]>::try_from(&h[ipv6::SRC]).unwrap_or_default(),
    ));
    let dst = normalize(Ipv6Addr::from(
        <[u8; 16]>::try_from(&h[ipv6::DST]).unwrap_or_default(),
    ));
    match transport(next, rest, missing, more_fragments) {
        Ok(l4) => Decapped::Ip(IpPacket {
            src,
            dst,
            ttl: h[ipv6::HOP_LIMIT],
            l4,
            more_fragments,
        }),
        Err(d) => d,
    }
}

/// A header of `need` bytes where `have` are captured and `missing` more were announced:
/// truncated if the announced length would have held it, malformed if not.
#[inline]
fn short(layer: &'static str, need: usize, have: usize, missing: usize) -> Decapped<'static> {
    if have.saturating_add(missing) >= need {
        truncated(layer, need, have)
    } else {
        malformed(
            layer,
            "header longer than the length the IP header announces",
        )
    }
}

/// TCP, UDP or other, from the IP payload `data` (bounded by the IP length) of which `missing`
/// bytes were not captured.
// inlined into both IP parsers: the result is then built in place, not copied out of a
// temporary (the copy stalled on store forwarding and cost half of the parse)
#[inline(always)]
fn transport(
    protocol: u8,
    data: &[u8],
    missing: usize,
    more_fragments: bool,
) -> Result<L4<'_>, Decapped<'static>> {
    match protocol {
        proto::TCP => {
            let Some((h, _)) = split::<{ tcp::HEADER_LEN }>(data) else {
                return Err(if more_fragments {
                    Decapped::Fragment
                } else {
                    short("tcp", tcp::HEADER_LEN, data.len(), missing)
                });
            };
            let doff = usize::from(h[tcp::DATA_OFF] >> 4) * 4;
            if doff < tcp::HEADER_LEN {
                return Err(malformed("tcp", "data offset below 5 words"));
            }
            let (Some(options), Some(payload)) =
                (data.get(tcp::HEADER_LEN..doff), data.get(doff..))
            else {
                return Err(if more_fragments {
                    Decapped::Fragment
                } else {
                    short("tcp", doff, data.len(), missing)
                });
            };
            Ok(L4::Tcp(TcpSegment {
                src_port: be16(h, tcp::SRC_PORT),
                dst_port: be16(h, tcp::DST_PORT),
                seq: be32(h, tcp::SEQ),
                ack: be32(h, tcp::ACK),
                flags: TcpFlags(h[tcp::FLAGS]),
                window: be16(h, tcp::WINDOW),
                options,
                payload,
                payload_missing: u32::try_from(missing).unwrap_or(u32::MAX),
            }))
        }
        proto::UDP => {
            let Some((h, rest)) = split::<{ udp::HEADER_LEN }>(data) else {
                return Err(if more_fragments {
                    Decapped::Fragment
                } else {
                    short("udp", udp::HEADER_LEN, data.len(), missing)
                });
            };
            let len = usize::from(be16(h, udp::LENGTH));
            let payload = match len {
                // jumbogram (RFC 2675 §4): the IP length bounds it
                0 => rest,
                n if n < udp::HEADER_LEN => {
                    return Err(malformed("udp", "length below the 8-byte header"))
                }
                n => rest.get(..n - udp::HEADER_LEN).unwrap_or(rest),
            };
            Ok(L4::Udp {
                src_port: be16(h, udp::SRC_PORT),
                dst_port: be16(h, udp::DST_PORT),
                payload,
            })
        }
        protocol => Ok(L4::Other { protocol }),
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use std::net::Ipv4Addr;

    /// Frame 1 of `captures/shared/smcr-v1-lo-clc-hwipl.pcap`: Ethernet/IPv4/TCP SYN with the SMC
    /// option, 127.0.0.1:60294 → 127.0.0.1:50000.
    #[rustfmt::skip]
    static ETH_IPV4_SYN: [u8; 62] = [
        // Ethernet (IEEE 802.3 §3.1.1): dst, src, EtherType 0x0800
        0, 0, 0, 0, 0, 0,   0, 0, 0, 0, 0, 0,   0x08, 0x00,
        // IPv4 (RFC 791 §3.1): ver 4 IHL 5, TOS 0, total length 48
        0x45, 0x00, 0x00, 0x30,
        // ident 0, flags DF, offset 0
        0x00, 0x00, 0x40, 0x00,
        // TTL 64, protocol 6, checksum
        0x40, 0x06, 0x3c, 0xc6,
        // src 127.0.0.1, dst 127.0.0.1
        0x7f, 0, 0, 1,   0x7f, 0, 0, 1,
        // TCP (RFC 9293 §3.1): src port 60294, dst port 50000
        0xeb, 0x86, 0xc3, 0x50,
        // seq 1000, ack 0
        0x00, 0x00, 0x03, 0xe8,   0, 0, 0, 0,
        // data offset 7 words, flags SYN, window 65535
        0x70, 0x02, 0xff, 0xff,
        // checksum, urgent pointer
        0x39, 0x62, 0x00, 0x00,
        // option kind 254 len 6 ExID 0xe2d4c3d9 (RFC 6994), NOP, NOP
        0xfe, 0x06, 0xe2, 0xd4, 0xc3, 0xd9, 0x01, 0x01,
    ];

    fn tcp(d: Decapped<'_>) -> (IpPacket<'_>, TcpSegment<'_>) {
        match d {
            Decapped::Ip(
                ip @ IpPacket {
                    l4: L4::Tcp(seg), ..
                },
            ) => (ip, seg),
            other => panic!("not TCP: {other:?}"),
        }
    }

    #[test]
    fn ethernet_ipv4_tcp_syn() {
        let (ip, seg) = tcp(decap(LinkType::ETHERNET, &ETH_IPV4_SYN));
        assert_eq!(ip.src, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(ip.dst, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(ip.ttl, 64);
        assert!(!ip.more_fragments);
        assert_eq!(
            (seg.src_port, seg.dst_port, seg.seq, seg.ack),
            (60294, 50000, 1000, 0)
        );
        assert_eq!(seg.flags, TcpFlags::SYN);
        assert!(seg.flags.is_syn() && !seg.flags.is_ack());
        assert_eq!(seg.window, 65535);
        assert_eq!(
            seg.options,
            &[0xfe, 0x06, 0xe2, 0xd4, 0xc3, 0xd9, 0x01, 0x01]
        );
        assert_eq!(seg.payload, &[] as &[u8]);
        assert_eq!(seg.payload_missing, 0);
    }

    #[test]
    fn every_prefix_is_truncated_or_missing_payload() {
        // the same SYN with 10 bytes of payload: IPv4 total length 58
        let mut full = ETH_IPV4_SYN.to_vec();
        full[17] = 58;
        full.extend_from_slice(b"0123456789");
        for cut in 0..=full.len() {
            let d = decap(LinkType::ETHERNET, &full[..cut]);
            match cut {
                0..=13 => assert_eq!(
                    d,
                    Decapped::Truncated {
                        layer: "ethernet",
                        need: 14,
                        have: cut
                    }
                ),
                14..=33 => assert_eq!(
                    d,
                    Decapped::Truncated {
                        layer: "ipv4",
                        need: 20,
                        have: cut - 14
                    }
                ),
                34..=53 => assert_eq!(
                    d,
                    Decapped::Truncated {
                        layer: "tcp",
                        need: 20,
                        have: cut - 34
                    }
                ),
                54..=61 => assert_eq!(
                    d,
                    Decapped::Truncated {
                        layer: "tcp",
                        need: 28,
                        have: cut - 34
                    }
                ),
                _ => {
                    let (_, seg) = tcp(d);
                    assert_eq!(seg.payload, &full[62..cut]);
                    assert_eq!(seg.payload_missing as usize, full.len() - cut);
                }
            }
        }
    }

    #[test]
    fn ethernet_padding_is_not_payload() {
        // a 54-byte ACK padded to the 60-byte Ethernet minimum (IEEE 802.3 §3.2.8 Pad)
        let mut f = ETH_IPV4_SYN[..54].to_vec();
        f[17] = 40; // total length 20 + 20
        f[46] = 0x50; // data offset 5
        f[47] = 0x10; // ACK
        f.extend_from_slice(&[0; 6]);
        let (_, seg) = tcp(decap(LinkType::ETHERNET, &f));
        assert!(seg.payload.is_empty() && seg.options.is_empty());
        assert_eq!(seg.payload_missing, 0);
    }

    #[test]
    fn ipv4_total_length_zero_is_tso() {
        let mut f = ETH_IPV4_SYN.to_vec();
        f[16] = 0;
        f[17] = 0;
        f.extend_from_slice(b"abc");
        let (_, seg) = tcp(decap(LinkType::ETHERNET, &f));
        assert_eq!(seg.payload, b"abc");
    }

    #[test]
    fn ipv4_with_options() {
        // IHL 6: one 4-byte option word (Router Alert, RFC 2113 §2.1: 0x94 0x04 0x00 0x00)
        let mut f = ETH_IPV4_SYN[..34].to_vec();
        f[14] = 0x46;
        f[17] = 52;
        f.extend_from_slice(&[0x94, 0x04, 0x00, 0x00]);
        f.extend_from_slice(&ETH_IPV4_SYN[34..]);
        let (_, seg) = tcp(decap(LinkType::ETHERNET, &f));
        assert_eq!((seg.src_port, seg.dst_port), (60294, 50000));
        assert_eq!(seg.options.len(), 8);
    }

    #[test]
    fn ipv4_malformed_headers() {
        let mut f = ETH_IPV4_SYN.to_vec();
        f[14] = 0x44; // IHL 4
        assert_eq!(
            decap(LinkType::ETHERNET, &f),
            malformed("ipv4", "header length (IHL) below 5 words")
        );
        let mut f = ETH_IPV4_SYN.to_vec();
        f[17] = 19; // total length below the header
        assert_eq!(
            decap(LinkType::ETHERNET, &f),
            malformed("ipv4", "total length shorter than the header")
        );
        let mut f = ETH_IPV4_SYN.to_vec();
        f[14] = 0x55; // version 5
        assert_eq!(
            decap(LinkType::ETHERNET, &f),
            malformed("ipv4", "version is not 4")
        );
        let mut f = ETH_IPV4_SYN.to_vec();
        f[46] = 0x40; // TCP data offset 4
        assert_eq!(
            decap(LinkType::ETHERNET, &f),
            malformed("tcp", "data offset below 5 words")
        );
        let mut f = ETH_IPV4_SYN.to_vec();
        f[46] = 0xf0; // data offset 60 > 28 bytes the IP length leaves
        assert_eq!(
            decap(LinkType::ETHERNET, &f),
            malformed(
                "tcp",
                "header longer than the length the IP header announces"
            )
        );
    }

    #[test]
    fn ipv4_fragments() {
        // first fragment: MF set, offset 0, the TCP header inside → decoded
        let mut f = ETH_IPV4_SYN.to_vec();
        f[20] = 0x20; // flags MF, offset 0
        let (ip, _) = tcp(decap(LinkType::ETHERNET, &f));
        assert!(ip.more_fragments);
        // a later fragment: offset 1 (8 bytes)
        f[21] = 0x01;
        assert_eq!(decap(LinkType::ETHERNET, &f), Decapped::Fragment);
        // a first fragment too short for the TCP header (8 bytes of data)
        let mut f = ETH_IPV4_SYN[..42].to_vec();
        f[17] = 28;
        f[20] = 0x20;
        assert_eq!(decap(LinkType::ETHERNET, &f), Decapped::Fragment);
    }

    #[test]
    fn vlan_and_qinq_tags() {
        // 802.1ad S-tag (0x88a8, VID 100), 802.1Q C-tag (0x8100, VID 200), then IPv4 (IEEE 802.1Q §9.5)
        let mut f = ETH_IPV4_SYN[..12].to_vec();
        f.extend_from_slice(&[0x88, 0xa8, 0x00, 0x64]);
        f.extend_from_slice(&[0x81, 0x00, 0x00, 0xc8]);
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&ETH_IPV4_SYN[14..]);
        let (_, seg) = tcp(decap(LinkType::ETHERNET, &f));
        assert_eq!(seg.dst_port, 50000);
        // pre-standard 0x9100 outer tag + 0x8100 inner
        f[12] = 0x91;
        f[13] = 0x00;
        let (_, seg) = tcp(decap(LinkType::ETHERNET, &f));
        assert_eq!(seg.dst_port, 50000);
        // cut inside the second tag
        assert_eq!(
            decap(LinkType::ETHERNET, &f[..19]),
            Decapped::Truncated {
                layer: "vlan",
                need: 4,
                have: 1
            }
        );
        // a single tag
        let mut g = ETH_IPV4_SYN[..12].to_vec();
        g.extend_from_slice(&[0x81, 0x00, 0x20, 0x01, 0x08, 0x00]);
        g.extend_from_slice(&ETH_IPV4_SYN[14..]);
        assert!(matches!(decap(LinkType::ETHERNET, &g), Decapped::Ip(_)));
    }

    #[test]
    fn not_ip_and_roce_v1() {
        // ARP (EtherType 0x0806): not IP
        let mut f = ETH_IPV4_SYN.to_vec();
        f[12] = 0x08;
        f[13] = 0x06;
        assert_eq!(decap(LinkType::ETHERNET, &f), Decapped::NotIp);
        // an 802.3 length field (≤ 1500) is not an EtherType
        f[12] = 0x00;
        f[13] = 0x30;
        assert_eq!(decap(LinkType::ETHERNET, &f), Decapped::NotIp);
        // RoCE v1: EtherType 0x8915, then the GRH (IBTA Annex A16)
        f[12] = 0x89;
        f[13] = 0x15;
        assert_eq!(
            decap(LinkType::ETHERNET, &f),
            Decapped::RoceV1 {
                payload: &ETH_IPV4_SYN[14..]
            }
        );
        assert_eq!(
            decap(LinkType(147), &f),
            Decapped::UnsupportedLink(LinkType(147))
        );
    }

    /// IPv6/TCP as LINKTYPE_RAW: ::1 port 33186 → ::1 port 50000, SYN, 8 bytes of options.
    #[rustfmt::skip]
    static IPV6_SYN: [u8; 68] = [
        // IPv6 (RFC 8200 §3): version 6, TC 0, flow 0
        0x60, 0x00, 0x00, 0x00,
        // payload length 28, next header 6 (TCP), hop limit 64
        0x00, 0x1c, 0x06, 0x40,
        // src ::1
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
        // dst ::1
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
        // TCP: ports 33186 → 50000, seq 7, ack 0
        0x81, 0xa2, 0xc3, 0x50,   0, 0, 0, 7,   0, 0, 0, 0,
        // data offset 7, SYN, window 65535, checksum 0, urgent 0
        0x70, 0x02, 0xff, 0xff,   0, 0, 0, 0,
        // SMC option, NOP NOP
        0xfe, 0x06, 0xe2, 0xd4, 0xc3, 0xd9, 0x01, 0x01,
    ];

    #[test]
    fn raw_ipv6_tcp() {
        let (ip, seg) = tcp(decap(LinkType::RAW, &IPV6_SYN));
        assert_eq!(ip.src, IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert_eq!(ip.ttl, 64);
        assert_eq!((seg.src_port, seg.dst_port, seg.seq), (33186, 50000, 7));
        assert_eq!(
            decap(LinkType::IPV6, &IPV6_SYN),
            decap(LinkType::RAW, &IPV6_SYN)
        );
        // LINKTYPE_IPV4 insists on version 4
        assert_eq!(
            decap(LinkType::IPV4, &IPV6_SYN),
            malformed("ipv4", "version is not 4")
        );
        assert_eq!(decap(LinkType::RAW, &[]), truncated("ip", 1, 0));
        assert_eq!(decap(LinkType::RAW, &[0x20]), Decapped::NotIp);
    }

    #[test]
    fn raw_ipv4_link_types() {
        let ip = &ETH_IPV4_SYN[14..];
        for link in [
            LinkType::RAW,
            LinkType::IPV4,
            LinkType::RAW_BSD,
            LinkType::RAW_OPENBSD,
        ] {
            let (_, seg) = tcp(decap(link, ip));
            assert_eq!(seg.dst_port, 50000, "{link}");
        }
        assert_eq!(
            decap(LinkType::IPV6, ip),
            malformed("ipv6", "version is not 6")
        );
    }

    #[test]
    fn ipv4_mapped_addresses_are_ipv4() {
        let mut p = IPV6_SYN;
        // src ::ffff:10.0.0.1 (RFC 4291 §2.5.5.2)
        p[8..24].copy_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1]);
        let (ip, _) = tcp(decap(LinkType::RAW, &p));
        assert_eq!(ip.src, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(ip.dst, IpAddr::V6(Ipv6Addr::LOCALHOST));
    }

    /// IPV6_SYN with extension headers inserted after the fixed header.
    fn with_ext(first: u8, ext: &[u8]) -> Vec<u8> {
        let mut p = IPV6_SYN[..40].to_vec();
        p[6] = first;
        let plen = 28 + ext.len();
        p[4] = (plen >> 8) as u8;
        p[5] = plen as u8;
        p.extend_from_slice(ext);
        p.extend_from_slice(&IPV6_SYN[40..]);
        p
    }

    #[test]
    fn ipv6_extension_headers() {
        #[rustfmt::skip]
        let ext = [
            // Hop-by-Hop (RFC 8200 §4.3): next 43, len 0 (8 bytes), PadN option of 4 bytes
            43, 0, 0x01, 0x04, 0, 0, 0, 0,
            // Routing (RFC 8200 §4.4): next 60, len 2 (24 bytes), type 4 (SRH), segments left 0
            60, 2, 4, 0, 0, 0, 0, 0,   0, 0, 0, 0, 0, 0, 0, 0,   0, 0, 0, 0, 0, 0, 0, 0,
            // Destination Options (RFC 8200 §4.6): next 44, len 0, Pad1 ×6
            44, 0, 0, 0, 0, 0, 0, 0,
            // Fragment (RFC 8200 §4.5): next 51, reserved, offset 0, M 0 (atomic), ident 0x11223344
            51, 0, 0x00, 0x00, 0x11, 0x22, 0x33, 0x44,
            // AH (RFC 4302 §2.2): next 6, payload len 4 → (4+2)*4 = 24 bytes, reserved, SPI, seq, ICV
            6, 4, 0, 0,  0, 0, 1, 0,   0, 0, 0, 1,   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let p = with_ext(0, &ext);
        let (ip, seg) = tcp(decap(LinkType::RAW, &p));
        assert!(!ip.more_fragments);
        assert_eq!((seg.src_port, seg.dst_port), (33186, 50000));
        // every cut inside the extension headers is truncated, never a panic
        for cut in 40..p.len() {
            match decap(LinkType::RAW, &p[..cut]) {
                Decapped::Truncated { layer, .. } => {
                    assert!(layer == "ipv6 extension" || layer == "tcp")
                }
                other => panic!("cut {cut}: {other:?}"),
            }
        }
    }

    #[test]
    fn ipv6_fragments() {
        // first fragment: offset 0, M 1, next header TCP
        let p = with_ext(44, &[6, 0, 0x00, 0x01, 0, 0, 0, 9]);
        let (ip, _) = tcp(decap(LinkType::RAW, &p));
        assert!(ip.more_fragments);
        // later fragment: offset 1 (0x0008 >> 3)
        let p = with_ext(44, &[6, 0, 0x00, 0x08, 0, 0, 0, 9]);
        assert_eq!(decap(LinkType::RAW, &p), Decapped::Fragment);
    }

    #[test]
    fn ipv6_ext_longer_than_payload_is_malformed() {
        // hop-by-hop claiming 255*8+8 bytes in a packet whose payload length is 36
        let p = with_ext(0, &[6, 255, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            decap(LinkType::RAW, &p),
            malformed(
                "ipv6 extension",
                "header longer than the length the IP header announces"
            )
        );
    }

    #[test]
    fn ipv6_no_next_header_and_other() {
        let p = with_ext(59, &[]);
        assert!(matches!(
            decap(LinkType::RAW, &p),
            Decapped::Ip(IpPacket {
                l4: L4::Other { protocol: 59 },
                ..
            })
        ));
    }

    /// Linux cooked v1 header for an outgoing IPv4 packet on loopback (LINKTYPE_LINUX_SLL).
    #[rustfmt::skip]
    static SLL_HEADER: [u8; 16] = [
        0x00, 0x04,             // packet type 4: sent by us
        0x03, 0x04,             // ARPHRD_LOOPBACK 772
        0x00, 0x06,             // address length 6
        0, 0, 0, 0, 0, 0, 0, 0, // address, padded to 8
        0x08, 0x00,             // protocol: IPv4
    ];

    /// Linux cooked v2 header (LINKTYPE_LINUX_SLL2), IPv6, interface 1.
    #[rustfmt::skip]
    static SLL2_HEADER: [u8; 20] = [
        0x86, 0xdd,             // protocol: IPv6
        0x00, 0x00,             // reserved
        0x00, 0x00, 0x00, 0x01, // interface index 1
        0x03, 0x04,             // ARPHRD_LOOPBACK
        0x00,                   // packet type 0: to us
        0x06,                   // address length 6
        0, 0, 0, 0, 0, 0, 0, 0, // address
    ];

    #[test]
    fn linux_cooked_v1_and_v2() {
        let mut f = SLL_HEADER.to_vec();
        f.extend_from_slice(&ETH_IPV4_SYN[14..]);
        let (_, seg) = tcp(decap(LinkType::LINUX_SLL, &f));
        assert_eq!(seg.dst_port, 50000);
        assert_eq!(
            decap(LinkType::LINUX_SLL, &f[..15]),
            truncated("sll", 16, 15)
        );

        let mut f = SLL2_HEADER.to_vec();
        f.extend_from_slice(&IPV6_SYN);
        let (_, seg) = tcp(decap(LinkType::LINUX_SLL2, &f));
        assert_eq!(seg.dst_port, 50000);
        assert_eq!(
            decap(LinkType::LINUX_SLL2, &f[..19]),
            truncated("sll2", 20, 19)
        );

        // SLL with a VLAN tag reinserted by libpcap: protocol 0x8100, TCI, then 0x0800
        let mut f = SLL_HEADER.to_vec();
        f[14] = 0x81;
        f[15] = 0x00;
        f.extend_from_slice(&[0x00, 0x0a, 0x08, 0x00]);
        f.extend_from_slice(&ETH_IPV4_SYN[14..]);
        assert!(matches!(decap(LinkType::LINUX_SLL, &f), Decapped::Ip(_)));
    }

    #[test]
    fn bsd_loopback_null_and_loop() {
        // LINKTYPE_NULL, little-endian host: AF_INET 2
        let mut f = vec![2, 0, 0, 0];
        f.extend_from_slice(&ETH_IPV4_SYN[14..]);
        assert!(matches!(decap(LinkType::NULL, &f), Decapped::Ip(_)));
        // big-endian host writes 00 00 00 02
        f[..4].copy_from_slice(&[0, 0, 0, 2]);
        assert!(matches!(decap(LinkType::NULL, &f), Decapped::Ip(_)));
        // AF_INET6 as FreeBSD (28), Darwin (30), NetBSD (24)
        for fam in [24u8, 28, 30] {
            let mut g = vec![fam, 0, 0, 0];
            g.extend_from_slice(&IPV6_SYN);
            assert!(
                matches!(decap(LinkType::NULL, &g), Decapped::Ip(_)),
                "family {fam}"
            );
        }
        // LINKTYPE_LOOP: network byte order
        let mut g = vec![0, 0, 0, 30];
        g.extend_from_slice(&IPV6_SYN);
        assert!(matches!(decap(LinkType::LOOP, &g), Decapped::Ip(_)));
        g[3] = 7;
        assert_eq!(decap(LinkType::LOOP, &g), Decapped::NotIp);
        assert_eq!(decap(LinkType::NULL, &[2, 0]), truncated("null", 4, 2));
    }

    #[test]
    fn udp_rocev2() {
        // IPv4/UDP to 4791 (RoCEv2, IBTA Annex A17), 12 bytes of BTH after the UDP header
        #[rustfmt::skip]
        let p = [
            0x45, 0, 0, 40,   0, 0, 0x40, 0,   64, 17, 0, 0,   10, 0, 0, 1,   10, 0, 0, 2,
            // UDP: src 49152, dst 4791, length 20, checksum 0
            0xc0, 0x00, 0x12, 0xb7,   0x00, 0x14, 0x00, 0x00,
            // BTH (IBTA vol 1 §9.2): opcode SEND only 0x04, …
            0x04, 0x40, 0xff, 0xff,   0, 0, 0, 0x11,   0, 0, 0, 1,
        ];
        match decap(LinkType::RAW, &p) {
            Decapped::Ip(IpPacket {
                l4:
                    L4::Udp {
                        src_port,
                        dst_port,
                        payload,
                    },
                ..
            }) => {
                assert_eq!((src_port, dst_port, payload.len()), (49152, 4791, 12));
            }
            other => panic!("{other:?}"),
        }
        // UDP length 4 < 8
        let mut q = p;
        q[25] = 4;
        assert_eq!(
            decap(LinkType::RAW, &q),
            malformed("udp", "length below the 8-byte header")
        );
    }

    #[test]
    fn flags_display_like_tcpdump() {
        assert_eq!(TcpFlags::SYN.to_string(), "S");
        assert_eq!((TcpFlags::SYN | TcpFlags::ACK).to_string(), "S.");
        assert_eq!((TcpFlags::PSH | TcpFlags::ACK).to_string(), "P.");
        assert_eq!(TcpFlags(0).to_string(), "none");
        assert!(TcpFlags(0x14).is_rst() && TcpFlags(0x14).is_ack());
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // a cheap deterministic sweep; the fuzz targets do the rest
        let mut x = 0x1234_5678u32;
        let links = [0u32, 1, 12, 14, 101, 108, 113, 228, 229, 276, 147];
        for _ in 0..20_000 {
            let mut buf = [0u8; 96];
            for b in buf.iter_mut() {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                *b = x as u8;
            }
            // steer toward IP so the deeper layers are reached
            buf[12] = 0x08;
            buf[13] = if x & 1 == 0 { 0x00 } else { 0xdd };
            buf[14] = if x & 2 == 0 { 0x45 } else { 0x60 };
            let len = (x as usize >> 8) % buf.len();
            let _ = decap(
                LinkType(links[(x as usize >> 3) % links.len()]),
                &buf[..len],
            );
        }
    }
}
