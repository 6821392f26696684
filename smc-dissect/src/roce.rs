//! RoCE: LLC and CDC messages over RoCEv2 (UDP 4791) and RoCEv1 (Ethertype 0x8915), tied to
//! the SMC-R link group whose CLC Accept/Confirm named their QP numbers (reference §8.4: the BTH
//! DestQP equals the QP number the receiver advertised in CLC bytes 38–40; a CDC's token is the
//! receiver's RMBE alert token from its Accept/Confirm).
//!
//! Bounded: at most [`MAX_GROUPS`] link groups and [`MAX_TOKENS`] connection tokens are kept;
//! the oldest are forgotten first.

use std::collections::HashMap;
use std::net::IpAddr;

use serde::Serialize;
use smc_wire::clc::{RoceGid, SmcrBody};
use smc_wire::llc::{LlcFlags, LlcRepr};
use smc_wire::roce::{RoceContent, RocePacket, SendClass};
use smc_wire::{CdcRepr, Decoded, Mode};

use crate::event::{ConnRef, Notice};
use crate::verdict::Role;

/// Most link groups remembered.
pub const MAX_GROUPS: usize = 4096;
/// Most connection tokens remembered.
pub const MAX_TOKENS: usize = 65_536;

/// One side of an SMC-R link: where its QP lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct QpEnd {
    /// RoCE GID (RoCEv2: IPv4-mapped).
    pub gid: RoceGid,
    /// QP number.
    pub qpn: u32,
}

/// A link group as the capture showed it.
#[derive(Clone, Debug, Serialize)]
pub struct LinkGroup {
    /// Our number for it (in order of first appearance in the capture).
    pub id: u32,
    /// The connection whose first contact created it; `None` for a reused link group whose
    /// first contact is not in the capture.
    pub first_conn: Option<ConnRef>,
    /// The server's QP of the first link seen.
    pub server: QpEnd,
    /// The client's QP of the first link seen.
    pub client: QpEnd,
    /// Connections seen using it (including the first).
    pub connections: u32,
}

impl LinkGroup {
    /// True when the capture holds the first contact that created the link group.
    pub fn first_contact_seen(&self) -> bool {
        self.first_conn.is_some()
    }
}

/// A decoded RoCE packet, tied to what the CLC exchange told us.
#[derive(Clone, Copy, Debug)]
pub struct RoceEvent<'a> {
    /// 1 (GRH, Ethertype 0x8915) or 2 (UDP 4791).
    pub version: u8,
    /// The BTH destination QP.
    pub dest_qp: u32,
    /// The BTH PSN.
    pub psn: u32,
    /// The link group, when known.
    pub link_group: Option<&'a LinkGroup>,
    /// The receiver's role in that link group (server or client).
    pub to: Option<Role>,
    /// For a CDC: the connection its token names, and which side receives.
    pub conn: Option<(ConnRef, Role)>,
    /// What it carries.
    pub body: RoceBody<'a>,
}

/// The SMC content of a RoCE packet.
#[derive(Clone, Copy, Debug)]
pub enum RoceBody<'a> {
    /// An LLC message (lenient decode).
    Llc(&'a Decoded<LlcRepr<'a>>),
    /// A CDC message (lenient decode).
    Cdc(&'a Decoded<CdcRepr>),
    /// A SEND the receiving kernel drops, with the check that drops it.
    Dropped(SendClass),
    /// A SEND whose payload did not decode.
    Undecodable(smc_wire::Error),
}

/// The notice for a SEND First/Middle/Last (§8.4: a v2 LLC longer than the path MTU travels in
/// several packets). smcdump does not reassemble them, and [`RoceTracker::on_packet`] passes
/// them over; the caller counts and reports each one.
pub fn multi_packet_notice(pkt: &RocePacket<'_>) -> Option<Notice> {
    match pkt.content() {
        RoceContent::SendFirst { payload } | RoceContent::SendMore { payload, .. } => {
            Some(Notice::LlcMultiPacket {
                opcode: pkt.bth.opcode,
                dest_qp: pkt.bth.dest_qp,
                psn: pkt.bth.psn,
                bytes: payload.len(),
            })
        }
        _ => None,
    }
}

/// Link groups and tokens learned from CLC, looked up by RoCE packets.
#[derive(Default)]
pub struct RoceTracker {
    groups: Vec<LinkGroup>,
    by_qp: HashMap<QpEnd, (u32, Role)>,
    /// (link group, receiving side, token) → connection: both sides may use the same token
    /// value (Linux numbers them from 1 per side), so the receiver's side is part of the key.
    tokens: HashMap<(u32, Role, u32), ConnRef>,
    next_id: u32,
}

impl RoceTracker {
    /// Records an SMC-R Accept (server) and Confirm (client) of one connection; `first_contact`
    /// is the Accept's first-contact bit (byte 7 bit 3, §2.2).
    pub fn register(
        &mut self,
        conn: ConnRef,
        first_contact: bool,
        server: &SmcrBody,
        client: &SmcrBody,
    ) {
        let s = QpEnd {
            gid: server.gid,
            qpn: server.qpn,
        };
        let c = QpEnd {
            gid: client.gid,
            qpn: client.qpn,
        };
        let group = if first_contact {
            // first contact (§2.2 bit 0x08) always creates a link group (smc_conn_create);
            // RDMA devices recycle QP numbers once a link group is freed, so a QP seen before
            // now belongs to this one
            self.new_group(Some(conn), s, c)
        } else {
            // reuse: the Accept names the server QP of a link of the reused group (the client's
            // smcr_lgr_match compares it with the link's peer QP number)
            let known = self
                .by_qp
                .get(&s)
                .map(|(id, _)| *id)
                .filter(|id| self.group(*id).is_some());
            match known {
                Some(id) => {
                    if let Some(g) = self.groups.iter_mut().find(|g| g.id == id) {
                        g.connections += 1;
                    }
                    id
                }
                // its first contact (or the ADD LINK of this link) was not captured: a group
                // marked as such, not one this connection created
                None => self.new_group(None, s, c),
            }
        };
        if self.tokens.len() >= MAX_TOKENS {
            self.tokens.clear(); // rare; forget rather than grow
        }
        // a CDC carries the receiver's RMBE alert token (§7.1)
        self.tokens
            .insert((group, Role::Server, server.rmbe_alert_token), conn);
        self.tokens
            .insert((group, Role::Client, client.rmbe_alert_token), conn);
    }

    /// Starts a link group whose link joins `s` and `c`; both QPs now belong to it.
    fn new_group(&mut self, first_conn: Option<ConnRef>, s: QpEnd, c: QpEnd) -> u32 {
        if self.groups.len() >= MAX_GROUPS {
            let old = self.groups.remove(0);
            self.by_qp.retain(|_, (id, _)| *id != old.id);
            self.tokens.retain(|(id, _, _), _| *id != old.id);
        }
        self.next_id += 1;
        let id = self.next_id;
        self.groups.push(LinkGroup {
            id,
            first_conn,
            server: s,
            client: c,
            connections: 1,
        });
        self.by_qp.insert(s, (id, Role::Server));
        self.by_qp.insert(c, (id, Role::Client));
        id
    }

    fn group(&self, id: u32) -> Option<&LinkGroup> {
        self.groups.iter().find(|g| g.id == id)
    }

    /// Learns the QP of a new link from an ADD LINK (its sender's GID and QP number). A reject
    /// response (flags 0x80|0x40) echoes the request's first 44 bytes, so its QP is the
    /// requester's, not the sender's (`smc_llc_cli_add_link_reject`, §8.3): nothing to learn.
    fn learn_add_link(&mut self, group: u32, sender: Role, llc: &LlcRepr<'_>) {
        if let LlcRepr::AddLink(a) = llc {
            let f = a.header.flags;
            if f.is_response() && f.contains(LlcFlags::ADD_LNK_REJ) {
                return;
            }
            let end = QpEnd {
                gid: a.sender_gid,
                qpn: a.sender_qp_num,
            };
            if end.qpn != 0 {
                self.by_qp.entry(end).or_insert((group, sender));
            }
        }
    }

    /// Looks up a packet and hands its decoded content to `f` (None for RDMA WRITEs and other
    /// packets without an SMC message).
    pub fn on_packet<R>(
        &mut self,
        dst: Option<IpAddr>,
        pkt: &RocePacket<'_>,
        f: impl FnOnce(&RoceEvent<'_>) -> R,
    ) -> Option<R> {
        let dest_qp = pkt.bth.dest_qp;
        // the receiver's GID: RoCEv1 from the GRH, RoCEv2 the IPv4-mapped destination address
        let gid = match (&pkt.grh, dst) {
            (Some(g), _) => g.dgid,
            (None, Some(IpAddr::V4(v4))) => RoceGid(v4.to_ipv6_mapped().octets()),
            (None, Some(IpAddr::V6(v6))) => RoceGid(v6.octets()),
            (None, None) => RoceGid::default(),
        };
        let found = self.by_qp.get(&QpEnd { gid, qpn: dest_qp }).copied();
        let (class, payload) = match pkt.content() {
            RoceContent::Send { class, payload } => (class, payload),
            _ => return None,
        };
        let decoded_llc;
        let decoded_cdc;
        let body = if !class.is_accepted() {
            RoceBody::Dropped(class)
        } else if class == SendClass::Cdc {
            match CdcRepr::parse(payload, Mode::Lenient) {
                Ok(d) => {
                    decoded_cdc = d;
                    RoceBody::Cdc(&decoded_cdc)
                }
                Err(e) => RoceBody::Undecodable(e),
            }
        } else {
            match LlcRepr::parse(payload, Mode::Lenient) {
                Ok(d) => {
                    if let Some((gid, to)) = found {
                        self.learn_add_link(gid, to.peer(), &d.repr);
                    }
                    decoded_llc = d;
                    RoceBody::Llc(&decoded_llc)
                }
                Err(e) => RoceBody::Undecodable(e),
            }
        };
        let conn = match body {
            RoceBody::Cdc(d) => found.and_then(|(group, to)| {
                self.tokens
                    .get(&(group, to, d.repr.token))
                    .map(|c| (*c, to))
            }),
            _ => None,
        };
        let ev = RoceEvent {
            version: if pkt.is_v2() { 2 } else { 1 },
            dest_qp,
            psn: pkt.bth.psn,
            link_group: found.and_then(|(id, _)| self.group(id)),
            to: found.map(|(_, r)| r),
            conn,
            body,
        };
        Some(f(&ev))
    }
}
