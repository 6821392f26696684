//! Default output: one line per event, tcpdump style — frame, time, endpoints, the message, and
//! the few fields that matter.

use std::io::{self, Write};

use smc_wire::clc::{Body, ProposalRepr};
use smc_wire::{AcceptConfirmRepr, ClcRepr, DeclineRepr, SmcType};

use super::{buffer_size, ib_mtu, time_of_day, Sink};
use crate::event::{Event, PacketMeta};
use crate::stats::Stats;

/// The line-per-event printer.
pub struct TextSink<W: Write> {
    out: W,
}

impl<W: Write> TextSink<W> {
    /// Gives back the writer.
    pub fn into_inner(self) -> W {
        self.out
    }

    /// Prints to `out`.
    pub fn new(out: W) -> Self {
        TextSink { out }
    }
}

fn endpoints(m: &PacketMeta) -> String {
    format!("{} > {}", sock(m.src), sock(m.dst))
}

/// `addr.port`, as tcpdump writes endpoints.
pub fn sock(a: std::net::SocketAddr) -> String {
    format!("{}.{}", a.ip(), a.port())
}

fn offer(t: SmcType) -> &'static str {
    match t {
        SmcType::R => "SMC-R",
        SmcType::D => "SMC-D",
        SmcType::B => "SMC-R+SMC-D",
        _ => "none",
    }
}

/// One line for a Proposal.
pub fn proposal_brief(p: &ProposalRepr) -> String {
    let mut s = format!("Proposal v{} offers v1: {}", p.version, offer(p.typev1));
    if let Some(t2) = p.offered_v2() {
        s.push_str(&format!(", v2: {}", offer(t2)));
    }
    if p.typev1.smcr() {
        s.push_str(&format!(", RoCE GID {}", p.gid));
    }
    if let (true, Some(a)) = (p.typev1.smcd(), &p.smcd) {
        s.push_str(&format!(", ISM GID {} CHID {}", a.ism_gid, a.ism_chid));
    }
    if let Some(v2) = &p.v2_ext {
        if p.typev2.smcr() {
            s.push_str(&format!(", RoCEv2 GID {}", v2.roce));
        }
        let eids: Vec<String> = v2.user_eids.iter().map(|e| e.to_string()).collect();
        s.push_str(&format!(", UEIDs [{}]", eids.join(", ")));
        if v2.seid {
            s.push_str(", SEID");
        }
        s.push_str(&format!(", release {}", v2.release));
        if v2.max_conns != 0 || v2.max_links != 0 {
            s.push_str(&format!(
                ", max_conns {} max_links {}",
                v2.max_conns, v2.max_links
            ));
        }
        if v2.feature_mask != 0 {
            s.push_str(&format!(", features {:#06x}", v2.feature_mask));
        }
    }
    if let Some(x) = &p.smcd_v2_ext {
        let devs: Vec<String> = x
            .devices()
            .map(|d| match d.virtual_gid() {
                Some(v) => format!("{} CHID {} GID {}", d.chid.class(), d.chid, v),
                None => format!("{} CHID {} GID {}", d.chid.class(), d.chid, d.gid),
            })
            .collect();
        s.push_str(&format!(", SMC-Dv2 devices [{}]", devs.join("; ")));
    }
    if let Some(pr) = &p.prefix {
        if pr.ipv6_prefixes.is_empty() {
            s.push_str(&format!(
                ", prefix {}/{}",
                std::net::Ipv4Addr::from(pr.outgoing_subnet),
                pr.prefix_len
            ));
        } else {
            let v6: Vec<String> = pr.ipv6_prefixes.iter().map(|x| x.to_string()).collect();
            s.push_str(&format!(", prefixes [{}]", v6.join(", ")));
        }
    }
    s.push_str(&format!(", length {}", p.length));
    s
}

/// One line for an Accept or Confirm.
pub fn accept_confirm_brief(a: &AcceptConfirmRepr) -> String {
    let name = if a.is_accept() { "Accept" } else { "Confirm" };
    let mut s = format!("{name} v{}", a.version);
    match &a.body {
        Body::Smcr(r) => {
            s.push_str(" SMC-R");
            if a.first_contact {
                s.push_str(" first-contact");
            }
            s.push_str(&format!(
                ", GID {}, QPN {:#x}, rkey {:#x}, token {:#x}, RMBE {}",
                r.gid,
                r.qpn,
                r.rmb_rkey,
                r.rmbe_alert_token,
                buffer_size(r.rmbe_size)
            ));
            if let Some(m) = ib_mtu(r.qp_mtu) {
                s.push_str(&format!(", MTU {m}"));
            }
            if let Some(v2) = &r.v2 {
                s.push_str(&format!(", EID {}", v2.eid));
            }
        }
        Body::Smcd(d) => {
            s.push_str(" SMC-D");
            if a.first_contact {
                s.push_str(" first-contact");
            }
            match (&d.v2, d.virtual_gid()) {
                (Some(v2), Some(vg)) => s.push_str(&format!(
                    ", {} CHID {}, GID {}",
                    v2.chid.class(),
                    v2.chid,
                    vg
                )),
                (Some(v2), None) => s.push_str(&format!(
                    ", {} CHID {}, GID {}",
                    v2.chid.class(),
                    v2.chid,
                    d.gid
                )),
                (None, _) => s.push_str(&format!(", GID {}", d.gid)),
            }
            s.push_str(&format!(
                ", token {:#018x}, DMBE {}",
                d.token,
                buffer_size(d.dmbe_size)
            ));
            if let Some(v2) = &d.v2 {
                s.push_str(&format!(", EID {}", v2.eid));
            }
        }
    }
    if let Some(f) = &a.fce {
        s.push_str(&format!(", release {}, host {}", f.release, f.hostname));
        if let Some(x) = &f.v2x {
            if x.max_conns != 0 || x.max_links != 0 {
                s.push_str(&format!(
                    ", max_conns {} max_links {}",
                    x.max_conns, x.max_links
                ));
            }
            s.push_str(&format!(", features {:#06x}", x.feature_mask));
        }
    }
    if let Some(g) = &a.gid_list {
        let gids: Vec<String> = g.gids.iter().map(|x| x.to_string()).collect();
        s.push_str(&format!(", GID list [{}]", gids.join(", ")));
    }
    s.push_str(&format!(", length {}", a.length));
    s
}

/// One line for a Decline.
pub fn decline_brief(d: &DeclineRepr) -> String {
    let mut s = format!(
        "Decline v{} {} ({:#010x})",
        d.version, d.peer_diagnosis, d.peer_diagnosis.0
    );
    if let Some(m) = d.peer_diagnosis.meaning() {
        s.push_str(&format!(": {m}"));
    }
    if d.out_of_sync {
        s.push_str(" [out of sync]");
    }
    if let Some(words) = &d.peer_diagnosis_v2 {
        let extra: Vec<String> = words
            .iter()
            .filter(|w| w.0 != 0)
            .map(|w| w.to_string())
            .collect();
        if !extra.is_empty() {
            s.push_str(&format!(", more diagnoses [{}]", extra.join(", ")));
        }
    }
    s
}

/// One line for any CLC message.
pub fn clc_brief(m: &ClcRepr) -> String {
    match m {
        ClcRepr::Proposal(p) => proposal_brief(p),
        ClcRepr::AcceptConfirm(a) => accept_confirm_brief(a),
        ClcRepr::Decline(d) => decline_brief(d),
    }
}

impl<W: Write> Sink for TextSink<W> {
    fn event(&mut self, ev: &Event<'_>) -> io::Result<()> {
        match ev {
            Event::SmcOption { meta, conn, option } => writeln!(
                self.out,
                "{:>6} {} {}: #{} {} with SMC option{}",
                meta.frame,
                time_of_day(meta.ts),
                endpoints(meta),
                conn.id.0,
                if option.synack { "SYN-ACK" } else { "SYN" },
                if option.accepted {
                    ""
                } else {
                    " (malformed: the kernel ignores it)"
                }
            ),
            Event::Clc {
                meta,
                conn,
                decoded,
                raw,
                ..
            } => {
                let body = match decoded {
                    Ok(d) => {
                        let mut s = format!("CLC {}", clc_brief(&d.repr));
                        let checks: Vec<String> =
                            d.anomalies.checks().map(|c| c.to_string()).collect();
                        if !checks.is_empty() {
                            s.push_str(&format!(" [REJECTED: {}]", checks.join("; ")));
                        }
                        let other = d
                            .anomalies
                            .iter()
                            .filter(|a| !matches!(a, smc_wire::Anomaly::Check { .. }))
                            .count();
                        if other > 0 {
                            s.push_str(&format!(
                                " [{other} anomal{}]",
                                if other == 1 { "y" } else { "ies" }
                            ));
                        }
                        s
                    }
                    Err(smc_wire::Error::Truncated { need, have, .. }) => {
                        let ty = raw
                            .get(4)
                            .map(|t| smc_wire::ClcType(*t).to_string())
                            .unwrap_or_else(|| "message".into());
                        format!("CLC {ty} cut by the snapshot length: {have} of {need} bytes captured, not decoded")
                    }
                    Err(e) => format!("CLC undecodable: {e}"),
                };
                writeln!(
                    self.out,
                    "{:>6} {} {}: #{} {body}",
                    meta.frame,
                    time_of_day(meta.ts),
                    endpoints(meta),
                    conn.id.0
                )
            }
            Event::Verdict {
                frame,
                ts,
                conn,
                verdict,
                ..
            } => writeln!(
                self.out,
                "{:>6} {} #{} {} > {}: verdict {}: {}",
                frame,
                time_of_day(*ts),
                conn.id.0,
                sock(conn.client),
                sock(conn.server),
                verdict.name(),
                verdict.summary()
            ),
            Event::Roce { meta, roce } => writeln!(
                self.out,
                "{:>6} {} {} > {}: {}",
                meta.frame,
                time_of_day(meta.ts),
                meta.src.ip(),
                meta.dst.ip(),
                roce_brief(roce)
            ),
            Event::Notice { meta, notice } => match meta {
                Some(m) => writeln!(
                    self.out,
                    "{:>6} {} notice: {}",
                    m.frame,
                    time_of_day(m.ts),
                    notice_line(notice)
                ),
                None => writeln!(self.out, "     - notice: {}", notice_line(notice)),
            },
        }
    }

    fn finish(&mut self, _stats: &Stats) -> io::Result<()> {
        self.out.flush()
    }
}

/// One line for a notice.
pub fn notice_line(n: &crate::event::Notice) -> String {
    use crate::event::Notice::*;
    match n {
        TruncatedPacket { layer, need, have } => {
            format!("packet cut by the snapshot length in {layer} ({have} of {need} bytes)")
        }
        TruncatedClc { conn, missing } => format!(
            "#{}: CLC bytes cut by the snapshot length ({missing} missing): not decoded",
            conn.0
        ),
        UnsupportedLinkType { link_type } => format!("link type {link_type} not decoded"),
        TruncatedFile { input, offset } => {
            format!("input {input} ends in the middle of a record at byte {offset}")
        }
        SkippedBlock {
            input,
            offset,
            kind,
        } => format!("input {input}: skipped {kind} block at byte {offset}"),
        Evicted { conn } => format!("#{} evicted from the flow table", conn.0),
        LlcMultiPacket {
            opcode,
            dest_qp,
            psn,
            bytes,
        } => format!(
            "RoCE {opcode} to QP {dest_qp:#x} (PSN {psn:#x}, {bytes} bytes): part of a v2 LLC \
             message longer than the path MTU; not reassembled, not decoded"
        ),
        ReassemblyGap { conn, role, bytes } => format!(
            "#{}: {bytes} bytes from the {role} missing; skipped",
            conn.0
        ),
    }
}

/// One line for an LLC or CDC message over RoCE.
pub fn roce_brief(r: &crate::roce::RoceEvent<'_>) -> String {
    use crate::roce::RoceBody;
    use smc_wire::llc::{LlcFlags, LlcLength, LlcRepr};
    use smc_wire::roce::SendClass;
    let mut s = format!("RoCEv{} QP {:#x} PSN {:#x}", r.version, r.dest_qp, r.psn);
    if let (Some(g), Some(to)) = (r.link_group, r.to) {
        if g.first_contact_seen() {
            s.push_str(&format!(" [link group {} → {to}]", g.id));
        } else {
            s.push_str(&format!(
                " [link group {} → {to}: reused link group not seen in the capture]",
                g.id
            ));
        }
    }
    match r.body {
        RoceBody::Llc(d) => {
            let l = &d.repr;
            let resp = l.header().is_some_and(|h| h.flags.is_response());
            s.push_str(&format!(
                " LLC {}{}",
                l.llc_type(),
                if resp { " response" } else { "" }
            ));
            match l {
                LlcRepr::ConfirmLink(c) => s.push_str(&format!(
                    ": link {}, sender QPN {:#x}, GID {}, max_links {}, max_conns {}",
                    c.link_num, c.sender_qp_num, c.sender_gid, c.max_links, c.max_conns
                )),
                LlcRepr::AddLink(a) if resp && a.header.flags.contains(LlcFlags::ADD_LNK_REJ) => {
                    // smc_llc_cli_add_link_reject echoes the request's first 44 bytes (§8.3)
                    s.push_str(": rejected");
                    if let LlcLength::V1 {
                        add_link_rej_rsn: n @ 1..,
                        ..
                    } = a.header.length
                    {
                        // §8.3: reason 1 = no alternate path (v2 overlays it with the length)
                        s.push_str(&format!(" (reason {n})"));
                    }
                    s.push_str(&format!(
                        "; fields echoed from the request: link {}, requester QPN {:#x}, GID {}",
                        a.link_num, a.sender_qp_num, a.sender_gid
                    ));
                }
                LlcRepr::AddLink(a) => s.push_str(&format!(
                    ": link {}, sender QPN {:#x}, GID {}",
                    a.link_num, a.sender_qp_num, a.sender_gid
                )),
                LlcRepr::DeleteLink(dl) => {
                    s.push_str(&format!(": link {}, reason {}", dl.link_num, dl.reason))
                }
                _ => {}
            }
            if let Some(h) = l.header().and_then(|h| h.host_order()) {
                s.push_str(&format!(" [length in {h} order]"));
            }
        }
        RoceBody::Cdc(d) => {
            let c = &d.repr;
            if let Some((conn, to)) = r.conn {
                s.push_str(&format!(" CDC #{} → {to}", conn.id.0));
            } else {
                s.push_str(" CDC");
            }
            s.push_str(&format!(
                ": seq {}, token {:#x}, producer {}:{}, consumer {}:{}",
                c.seqno, c.token, c.prod.wrap, c.prod.count, c.cons.wrap, c.cons.count
            ));
            if c.prod_flags.0 != 0 {
                s.push_str(&format!(", producer flags {}", c.prod_flags));
            }
            if c.conn_state_flags.0 != 0 {
                s.push_str(&format!(", connection {}", c.conn_state_flags));
            }
        }
        RoceBody::Dropped(SendClass::LlcV2OrderDependent {
            llc_type,
            little,
            big,
        }) => s.push_str(&format!(
            " LLC {llc_type}: length_v2 is {little} little-endian, {big} big-endian: \
             smc_llc_rx_handler drops it (< 44) or not depending on the receiver's byte order"
        )),
        RoceBody::Dropped(class) => {
            s.push_str(&format!(" SEND dropped by the receiver: {class:?}"))
        }
        RoceBody::Undecodable(e) => s.push_str(&format!(" SEND undecodable: {e}")),
    }
    s
}
