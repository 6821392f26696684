//! The real bytes the generator reuses: CLC messages and RoCEv2 frames from the lab captures
//! (real Linux 6.1/6.12 kernels; `captures/README.md` says how each was made), embedded at build
//! time and cut out with a minimal pcap/Ethernet/IP/TCP reader.

use std::collections::BTreeMap;
use std::net::IpAddr;

/// One CLC message and who sent it.
#[derive(Clone, Debug)]
pub struct Clc {
    /// Sent by the client (the SYN sender).
    pub from_client: bool,
    /// The whole message, eyecatcher to trailer.
    pub bytes: Vec<u8>,
}

/// How smcdump counts a RoCE frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoceClass {
    /// An LLC message.
    Llc,
    /// A CDC message.
    Cdc,
    /// An RDMA WRITE.
    RdmaWrite,
    /// Anything else (ACKs, SENDs the kernel drops).
    Other,
}

/// A RoCEv2 frame as captured.
#[derive(Clone, Debug)]
pub struct RoceFrame {
    /// Captured bytes (Ethernet onwards).
    pub data: Vec<u8>,
    /// Length on the wire (the lab's two-VM captures used a 768-byte snapshot length).
    pub origlen: u32,
    /// How smcdump counts it.
    pub class: RoceClass,
}

/// All templates.
pub struct Templates {
    /// SMC-D v2 over loopback-ism, IPv4 (lo-smcd.pcap): [first contact, link group reused],
    /// each Proposal, Accept, Confirm.
    pub smcd_v4: [Vec<Clc>; 2],
    /// The same over IPv6 (lo-smcd-ipv6.pcap).
    pub smcd_v6: [Vec<Clc>; 2],
    /// SMC-R v2 over RoCE (deb-smcr.pcap).
    pub smcr: [Vec<Clc>; 2],
    /// A Proposal and the server's Decline (deb-smcr-srv-norxe, lo-noueid, deb-ueid-mismatch).
    pub prop_decline: Vec<Vec<Clc>>,
    /// The client's Decline sent instead of a Proposal (deb-nodev).
    pub client_decline: Vec<u8>,
    /// RoCEv2 frames of an SMC-R link group at work (deb-smcr-cdc-wrap, deb-smcr).
    pub roce: Vec<RoceFrame>,
}

const LO_SMCD: &[u8] = include_bytes!("../../../captures/lab/smclo-6.12.117/lo-smcd.pcap");
const LO_SMCD_V6: &[u8] = include_bytes!("../../../captures/lab/smclo-6.12.117/lo-smcd-ipv6.pcap");
const LO_NOUEID: &[u8] = include_bytes!("../../../captures/lab/smclo-6.12.117/lo-noueid.pcap");
const DEB_SMCR: &[u8] =
    include_bytes!("../../../captures/lab/deb-6.12.117+deb12-amd64/deb-smcr.pcap");
const DEB_NORXE: &[u8] =
    include_bytes!("../../../captures/lab/deb-6.12.117+deb12-amd64/deb-smcr-srv-norxe.pcap");
const DEB_UEID: &[u8] =
    include_bytes!("../../../captures/lab/deb-6.12.117+deb12-amd64/deb-ueid-mismatch.pcap");
const DEB_NODEV: &[u8] =
    include_bytes!("../../../captures/lab/deb-6.12.117+deb12-amd64/deb-nodev.pcap");
const DEB_CDC_WRAP: &[u8] =
    include_bytes!("../../../captures/lab/deb-6.12.117+deb12-amd64/deb-smcr-cdc-wrap.pcap");

/// A frame of a little-endian pcap: (captured bytes, length on the wire).
fn frames(pcap: &[u8]) -> Result<Vec<(&[u8], u32)>, String> {
    let magic = pcap.get(..4).ok_or("short pcap")?;
    // 0xa1b2c3d4 (µs) or 0xa1b23c4d (ns), written little-endian (draft-ietf-opsawg-pcap §4)
    if magic != [0xd4, 0xc3, 0xb2, 0xa1] && magic != [0x4d, 0x3c, 0xb2, 0xa1] {
        return Err("not a little-endian pcap".into());
    }
    let le = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let mut at = 24;
    let mut out = Vec::new();
    while let Some(h) = pcap.get(at..at + 16) {
        let (incl, orig) = (le(&h[8..12]) as usize, le(&h[12..16]));
        let data = pcap.get(at + 16..at + 16 + incl).ok_or("cut record")?;
        out.push((data, orig));
        at += 16 + incl;
    }
    Ok(out)
}

/// What the generator needs of a frame: IP addresses, L4 protocol, ports, TCP flags, payload.
struct Parsed<'a> {
    src: (IpAddr, u16),
    dst: (IpAddr, u16),
    proto: u8,
    tcp_flags: u8,
    payload: &'a [u8],
}

/// Ethernet (no VLAN: the lab captures have none) → IPv4/IPv6 (no extensions) → TCP/UDP.
fn parse(f: &[u8]) -> Option<Parsed<'_>> {
    let et = u16::from_be_bytes([*f.get(12)?, *f.get(13)?]);
    let ip = f.get(14..)?;
    let (src, dst, proto, l4, ip_end) = match et {
        0x0800 => {
            let ihl = usize::from(ip.first()? & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
            let s: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
            let d: [u8; 4] = ip.get(16..20)?.try_into().ok()?;
            (IpAddr::from(s), IpAddr::from(d), *ip.get(9)?, ihl, total)
        }
        0x86dd => {
            let plen = usize::from(u16::from_be_bytes([*ip.get(4)?, *ip.get(5)?]));
            let s: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            let d: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
            (IpAddr::from(s), IpAddr::from(d), *ip.get(6)?, 40, 40 + plen)
        }
        _ => return None,
    };
    let seg = ip.get(l4..ip_end.min(ip.len()))?;
    let port = |o: usize| Some(u16::from_be_bytes([*seg.get(o)?, *seg.get(o + 1)?]));
    let (flags, payload) = match proto {
        6 => {
            let thl = usize::from(seg.get(12)? >> 4) * 4;
            (*seg.get(13)?, seg.get(thl..)?)
        }
        17 => (0, seg.get(8..)?),
        _ => return None,
    };
    Some(Parsed {
        src: (src, port(0)?),
        dst: (dst, port(2)?),
        proto,
        tcp_flags: flags,
        payload,
    })
}

/// The CLC messages of each TCP connection of a capture, in connection order.
fn clc_by_connection(pcap: &[u8]) -> Result<Vec<Vec<Clc>>, String> {
    let mut order: Vec<((IpAddr, u16), (IpAddr, u16))> = Vec::new();
    let mut msgs: BTreeMap<usize, Vec<Clc>> = BTreeMap::new();
    for (f, _) in frames(pcap)? {
        let Some(p) = parse(f) else { continue };
        if p.proto != 6 {
            continue;
        }
        // the SYN (no ACK) names the client
        if p.tcp_flags & 0x12 == 0x02 {
            order.push((p.src, p.dst));
            continue;
        }
        let Some(i) = order
            .iter()
            .position(|&(c, s)| (c, s) == (p.src, p.dst) || (s, c) == (p.src, p.dst))
        else {
            continue;
        };
        let from_client = order[i].0 == p.src;
        let mut rest = p.payload;
        // one or more whole CLC messages: eyecatcher, length at bytes 5..7 (§2.1)
        while rest.len() >= 8 && smc_wire::clc::Eyecatcher::could_start(&rest[..4]) {
            let len = usize::from(u16::from_be_bytes([rest[5], rest[6]]));
            let Some(m) = rest.get(..len) else { break };
            msgs.entry(i).or_default().push(Clc {
                from_client,
                bytes: m.to_vec(),
            });
            rest = &rest[len..];
        }
    }
    Ok(msgs.into_values().collect())
}

fn first_two(name: &str, conns: Vec<Vec<Clc>>) -> Result<[Vec<Clc>; 2], String> {
    let mut it = conns.into_iter().filter(|c| c.len() == 3);
    match (it.next(), it.next()) {
        (Some(a), Some(b)) => Ok([a, b]),
        _ => Err(format!("{name}: fewer than two whole handshakes")),
    }
}

impl Templates {
    /// Cuts the templates out of the embedded captures.
    pub fn load() -> Result<Templates, String> {
        let smcd_v4 = first_two("lo-smcd", clc_by_connection(LO_SMCD)?)?;
        let smcd_v6 = first_two("lo-smcd-ipv6", clc_by_connection(LO_SMCD_V6)?)?;
        let smcr = first_two("deb-smcr", clc_by_connection(DEB_SMCR)?)?;
        let mut prop_decline = Vec::new();
        for (name, pcap) in [
            ("norxe", DEB_NORXE),
            ("noueid", LO_NOUEID),
            ("ueid-mismatch", DEB_UEID),
        ] {
            let c = clc_by_connection(pcap)?
                .into_iter()
                .next()
                .filter(|c| c.len() == 2 && c[0].from_client && !c[1].from_client)
                .ok_or(format!("{name}: no Proposal + server Decline"))?;
            prop_decline.push(c);
        }
        let client_decline = clc_by_connection(DEB_NODEV)?
            .into_iter()
            .next()
            .and_then(|c| c.into_iter().next())
            .filter(|m| m.from_client && m.bytes.get(4) == Some(&4))
            .ok_or("deb-nodev: no client Decline")?
            .bytes;
        let mut roce = Vec::new();
        for pcap in [DEB_CDC_WRAP, DEB_SMCR] {
            for (f, orig) in frames(pcap)? {
                let Some(p) = parse(f) else { continue };
                // RoCEv2: UDP to 4791 (IBTA Annex A17)
                if p.proto == 17 && p.dst.1 == 4791 {
                    roce.push(RoceFrame {
                        data: f.to_vec(),
                        origlen: orig,
                        class: super::roce_class(p.payload),
                    });
                }
            }
        }
        if roce.is_empty() {
            return Err("no RoCEv2 frames in the templates".into());
        }
        Ok(Templates {
            smcd_v4,
            smcd_v6,
            smcr,
            prop_decline,
            client_decline,
            roce,
        })
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn templates_are_whole_real_messages() {
        let t = Templates::load().unwrap();
        for set in [&t.smcd_v4, &t.smcd_v6, &t.smcr] {
            for conn in set.iter() {
                // Proposal, Accept, Confirm (§2.1 type byte 4), alternating sides
                let types: Vec<u8> = conn.iter().map(|m| m.bytes[4]).collect();
                assert_eq!(types, [1, 2, 3]);
                assert!(conn[0].from_client && !conn[1].from_client && conn[2].from_client);
            }
        }
        // first contact (byte 7 bit 3, §2.2) in the first Accept, not in the second
        assert_ne!(t.smcd_v4[0][1].bytes[7] & 0x08, 0);
        assert_eq!(t.smcd_v4[1][1].bytes[7] & 0x08, 0);
        assert_eq!(t.prop_decline.len(), 3);
        assert_eq!(t.client_decline[4], 4);
        let count = |c| t.roce.iter().filter(|r| r.class == c).count();
        assert!(count(RoceClass::Llc) > 0 && count(RoceClass::Cdc) > 0);
        assert!(count(RoceClass::RdmaWrite) > 1000);
    }
}
