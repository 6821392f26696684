//! `-v`: a full field tree per message, like `tshark -V` but with the kernel's field names,
//! units and decoded codes. Offsets in brackets are byte positions in the message.

use std::io::{self, Write};

use smc_wire::clc::{Body, FceRepr, ProposalRepr};
use smc_wire::{AcceptConfirmRepr, ClcRepr, DeclineRepr, SmcType};

use super::{buffer_size, ib_mtu, time_of_day, Sink};
use crate::event::Event;
use crate::stats::Stats;

/// The field-tree printer.
pub struct VerboseSink<W: Write> {
    out: W,
}

impl<W: Write> VerboseSink<W> {
    /// Gives back the writer.
    pub fn into_inner(self) -> W {
        self.out
    }

    /// Prints to `out`.
    pub fn new(out: W) -> Self {
        VerboseSink { out }
    }
}

struct Tree {
    lines: Vec<String>,
    depth: usize,
}

impl Tree {
    fn new() -> Self {
        Tree {
            lines: Vec::new(),
            depth: 1,
        }
    }
    fn f(&mut self, name: &str, value: impl std::fmt::Display) {
        self.lines
            .push(format!("{}{name}: {value}", "    ".repeat(self.depth)));
    }
    fn open(&mut self, title: impl std::fmt::Display) {
        self.lines
            .push(format!("{}{title}", "    ".repeat(self.depth)));
        self.depth += 1;
    }
    fn close(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }
}

fn smc_type(t: SmcType) -> String {
    format!("{} ({})", t.0, t.meaning().unwrap_or("?"))
}

fn proposal(t: &mut Tree, p: &ProposalRepr) {
    t.f("eyecatcher", p.eyecatcher);
    t.f("length", format!("{} bytes", p.length));
    t.f("version", p.version);
    t.f("typev1 (offered for v1)", smc_type(p.typev1));
    match p.offered_v2() {
        Some(v2) => t.f("typev2 (offered for v2)", smc_type(v2)),
        None => t.f("typev2", "n/a (version 1)"),
    }
    t.f("id_for_peer", p.id_for_peer);
    t.f("gid (SMC-R)", p.gid);
    t.f("mac", p.mac);
    t.f(
        "iparea_offset",
        format!(
            "{} (prefix area at byte {})",
            p.iparea_offset,
            40 + usize::from(p.iparea_offset)
        ),
    );
    if let Some(s) = &p.smcd {
        t.open("SMC-D / v2 area [40]");
        t.f("ism.gid (native ISM)", s.ism_gid);
        t.f(
            "ism.chid",
            format!("{} ({})", s.ism_chid, s.ism_chid.class()),
        );
        t.f(
            "v2_ext_offset",
            format!(
                "{} (v2 extension at byte {})",
                s.v2_ext_offset,
                52 + usize::from(s.v2_ext_offset)
            ),
        );
        t.close();
    }
    if let Some(pr) = &p.prefix {
        t.open(format!(
            "IP prefix area [{}]",
            40 + usize::from(p.iparea_offset)
        ));
        t.f(
            "outgoing_subnet",
            format!(
                "{}/{}",
                std::net::Ipv4Addr::from(pr.outgoing_subnet),
                pr.prefix_len
            ),
        );
        t.f("ipv6_prefixes_cnt", pr.ipv6_prefixes_cnt);
        for x in pr.ipv6_prefixes.iter() {
            t.f("ipv6 prefix", x);
        }
        t.close();
    }
    if let Some(v) = &p.v2_ext {
        t.open("v2 extension");
        t.f("eid_cnt", v.eid_cnt);
        t.f("ism_gid_cnt (entries)", v.ism_gid_cnt);
        t.f("release", format!("{} (v2.{})", v.release, v.release));
        t.f("seid", if v.seid { "set" } else { "clear" });
        t.f("smcd_v2_ext_offset", v.smcd_v2_ext_offset);
        t.f("roce (RoCEv2 GID)", v.roce);
        t.f("max_conns", v.max_conns);
        t.f("max_links", v.max_links);
        t.f(
            "feature_mask",
            format!(
                "{:#06x}{}",
                v.feature_mask,
                if v.feature_mask & 1 != 0 {
                    " (virtual ISM)"
                } else {
                    ""
                }
            ),
        );
        for e in v.user_eids.iter() {
            t.f("user_eid", format!("\"{e}\""));
        }
        t.close();
    }
    if let Some(x) = &p.smcd_v2_ext {
        t.open("SMC-Dv2 extension");
        t.f(
            "system_eid",
            if x.system_eid.is_zero() {
                "(none)".to_string()
            } else {
                x.system_eid.to_string()
            },
        );
        for (i, e) in x.gidchid.iter().enumerate() {
            t.f(
                &format!("gidchid[{i}]"),
                format!("GID {} CHID {} ({})", e.gid, e.chid, e.chid.class()),
            );
        }
        for d in x.devices() {
            match d.virtual_gid() {
                Some(v) => t.f(
                    "device",
                    format!(
                        "{} CHID {}, 128-bit GID {} (entries {}–{})",
                        d.chid.class(),
                        d.chid,
                        v,
                        d.entry,
                        d.entry + 1
                    ),
                ),
                None => t.f(
                    "device",
                    format!(
                        "{} CHID {}, GID {} (entry {})",
                        d.chid.class(),
                        d.chid,
                        d.gid,
                        d.entry
                    ),
                ),
            }
        }
        t.close();
    }
    t.f("trailer", p.trailer);
}

fn fce(t: &mut Tree, f: &FceRepr, is_d: bool) {
    t.open(format!("first-contact extension ({} bytes)", f.wire_len()));
    t.f("v2_direct", f.v2_direct);
    t.f(
        "os_type",
        format!(
            "{} ({})",
            f.os_type.0,
            f.os_type.meaning().unwrap_or("unknown")
        ),
    );
    t.f("release", format!("{} (v2.{})", f.release, f.release));
    t.f("hostname", format!("\"{}\"", f.hostname));
    if let Some(x) = &f.v2x {
        if is_d {
            t.f("max_conns/max_links", "reserved for SMC-D");
        } else {
            t.f("max_conns", x.max_conns);
            t.f("max_links", x.max_links);
        }
        t.f("feature_mask", format!("{:#06x}", x.feature_mask));
        t.f(
            "vendor_exp_options",
            format!("{:#010x}", x.vendor_exp_options),
        );
    }
    t.close();
}

fn accept_confirm(t: &mut Tree, a: &AcceptConfirmRepr) {
    t.f("eyecatcher", a.eyecatcher);
    t.f("length", format!("{} bytes", a.length));
    t.f("version", a.version);
    t.f("first_contact", a.first_contact);
    t.f("type (chosen)", smc_type(a.smc_type));
    match &a.body {
        Body::Smcr(r) => {
            t.open("SMC-R");
            t.f("id_for_peer", r.id_for_peer);
            t.f("gid", r.gid);
            t.f("mac", r.mac);
            t.f("qpn", format!("{:#08x} ({})", r.qpn, r.qpn));
            t.f("rmb_rkey", format!("{:#010x}", r.rmb_rkey));
            t.f("rmbe_idx", r.rmbe_idx);
            t.f("rmbe_alert_token", format!("{:#010x}", r.rmbe_alert_token));
            t.f(
                "rmbe_size",
                format!("{} ({})", r.rmbe_size, buffer_size(r.rmbe_size)),
            );
            t.f(
                "qp_mtu",
                match ib_mtu(r.qp_mtu) {
                    Some(m) => format!("{} ({m} bytes)", r.qp_mtu),
                    None => format!("{} (invalid)", r.qp_mtu),
                },
            );
            t.f("rmb_dma_addr", format!("{:#018x}", r.rmb_dma_addr));
            t.f("psn", format!("{:#08x}", r.psn));
            if let Some(v2) = &r.v2 {
                t.f("eid", format!("\"{}\"", v2.eid));
            }
            t.close();
        }
        Body::Smcd(d) => {
            t.open("SMC-D");
            t.f("gid", d.gid);
            t.f("token", format!("{:#018x}", d.token));
            t.f("dmbe_idx", d.dmbe_idx);
            t.f(
                "dmbe_size",
                format!(
                    "{} ({}; ring {} bytes)",
                    d.dmbe_size,
                    buffer_size(d.dmbe_size),
                    (1u64 << (u32::from(d.dmbe_size) + 14)) - 32
                ),
            );
            t.f(
                "linkid",
                format!(
                    "{:02x}{:02x}{:02x}{:02x} (LE u32 {})",
                    d.linkid[0],
                    d.linkid[1],
                    d.linkid[2],
                    d.linkid[3],
                    u32::from_le_bytes(d.linkid)
                ),
            );
            if let Some(v2) = &d.v2 {
                t.f("chid", format!("{} ({})", v2.chid, v2.chid.class()));
                t.f("eid", format!("\"{}\"", v2.eid));
                t.f("gid_ext", v2.gid_ext);
                if let Some(v) = d.virtual_gid() {
                    t.f("128-bit GID", v);
                }
            }
            t.close();
        }
    }
    if let Some(f) = &a.fce {
        fce(t, f, matches!(a.body, Body::Smcd(_)));
    }
    if let Some(g) = &a.gid_list {
        t.open("GID list");
        t.f("gid_cnt", g.gid_cnt);
        for x in g.gids.iter() {
            t.f("gid", x);
        }
        t.close();
    }
    t.f("trailer", a.trailer);
}

fn decline(t: &mut Tree, d: &DeclineRepr) {
    t.f("eyecatcher", d.eyecatcher);
    t.f("length", format!("{} bytes", d.length));
    t.f("version", d.version);
    t.f("out_of_sync", d.out_of_sync);
    t.f("id_for_peer", d.id_for_peer);
    let mut diag = format!("{:#010x} {}", d.peer_diagnosis.0, d.peer_diagnosis);
    if let Some(m) = d.peer_diagnosis.meaning() {
        diag.push_str(&format!(" — {m}"));
    }
    if let Some(l) = d.peer_diagnosis.legacy_name() {
        diag.push_str(&format!(" (4.11-era kernels: {l})"));
    }
    t.f("peer_diagnosis", diag);
    t.f(
        "os_type",
        format!(
            "{} ({})",
            d.os_type.0,
            d.os_type.meaning().unwrap_or("unspecified")
        ),
    );
    if let Some(w) = &d.peer_diagnosis_v2 {
        for (i, x) in w.iter().enumerate() {
            t.f(&format!("peer_diagnosis_v2[{i}]"), format!("{:#010x}", x.0));
        }
    }
    t.f("trailer", d.trailer);
}

/// Renders a JSON value as an indented field tree (LLC/CDC messages, whose representations carry
/// the kernel's field names).
pub fn json_tree(out: &mut String, v: &serde_json::Value, depth: usize) {
    use serde_json::Value;
    let pad = "    ".repeat(depth);
    match v {
        Value::Object(map) => {
            for (k, val) in map {
                match val {
                    Value::Null => {}
                    Value::Object(m) if m.contains_key("name") && m.contains_key("hex") => {
                        // a code point: name and value on one line
                        out.push_str(&format!(
                            "{pad}{k}: {} ({})\n",
                            m["name"].as_str().unwrap_or("unknown"),
                            m["hex"].as_str().unwrap_or("")
                        ));
                    }
                    Value::Array(items)
                        if !items.is_empty()
                            && items.iter().all(|x| x.as_u64().is_some_and(|n| n <= 255)) =>
                    {
                        // raw bytes: one hex string
                        let hex: Vec<String> = items
                            .iter()
                            .map(|x| format!("{:02x}", x.as_u64().unwrap_or(0)))
                            .collect();
                        out.push_str(&format!("{pad}{k}: {}\n", hex.join(" ")));
                    }
                    Value::Object(_) | Value::Array(_) => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        json_tree(out, val, depth + 1);
                    }
                    Value::String(s) => out.push_str(&format!("{pad}{k}: {s}\n")),
                    other => out.push_str(&format!("{pad}{k}: {other}\n")),
                }
            }
        }
        Value::Array(items) => {
            for (i, val) in items.iter().enumerate() {
                match val {
                    Value::Object(_) | Value::Array(_) => {
                        out.push_str(&format!("{pad}[{i}]\n"));
                        json_tree(out, val, depth + 1);
                    }
                    other => out.push_str(&format!(
                        "{pad}[{i}] {}\n",
                        other
                            .as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| other.to_string())
                    )),
                }
            }
        }
        other => out.push_str(&format!("{pad}{other}\n")),
    }
}

/// The field tree of one CLC message, as text (used by `smcdump decode` too).
pub fn tree(m: &ClcRepr) -> String {
    let mut t = Tree::new();
    match m {
        ClcRepr::Proposal(p) => proposal(&mut t, p),
        ClcRepr::AcceptConfirm(a) => accept_confirm(&mut t, a),
        ClcRepr::Decline(x) => decline(&mut t, x),
    }
    let mut s = String::new();
    for l in t.lines {
        s.push_str(&l);
        s.push('\n');
    }
    s
}

impl<W: Write> Sink for VerboseSink<W> {
    fn event(&mut self, ev: &Event<'_>) -> io::Result<()> {
        match ev {
            Event::Clc {
                meta,
                conn,
                from,
                raw,
                decoded,
            } => {
                writeln!(
                    self.out,
                    "Frame {} ({}), conn #{} {} → {}, from the {from}",
                    meta.frame,
                    time_of_day(meta.ts),
                    conn.id.0,
                    meta.src,
                    meta.dst
                )?;
                let mut t = Tree::new();
                match decoded {
                    Ok(d) => {
                        let name = match &d.repr {
                            ClcRepr::Proposal(_) => "Proposal",
                            ClcRepr::AcceptConfirm(a) if a.is_accept() => "Accept",
                            ClcRepr::AcceptConfirm(_) => "Confirm",
                            ClcRepr::Decline(_) => "Decline",
                        };
                        t.open(format!("CLC {name} ({} bytes)", raw.len()));
                        match &d.repr {
                            ClcRepr::Proposal(p) => proposal(&mut t, p),
                            ClcRepr::AcceptConfirm(a) => accept_confirm(&mut t, a),
                            ClcRepr::Decline(x) => decline(&mut t, x),
                        }
                        t.close();
                        if !d.anomalies.is_empty() {
                            t.open("anomalies");
                            for a in d.anomalies.iter() {
                                t.f("-", a);
                            }
                            t.close();
                        }
                    }
                    Err(e) => t.f("CLC undecodable", e),
                }
                for l in t.lines {
                    writeln!(self.out, "{l}")?;
                }
                writeln!(self.out)
            }
            Event::Verdict {
                conn,
                verdict,
                anomalies,
                frame,
                ..
            } => {
                writeln!(
                    self.out,
                    "Verdict conn #{} {} → {} (frame {frame})",
                    conn.id.0, conn.client, conn.server
                )?;
                writeln!(self.out, "    {}: {}", verdict.name(), verdict.summary())?;
                let v = serde_json::to_value(verdict).unwrap_or_default();
                if let serde_json::Value::Object(map) = v {
                    for (k, val) in map {
                        if k != "verdict" && !val.is_null() {
                            writeln!(self.out, "    {k}: {val}")?;
                        }
                    }
                }
                for (f, a) in anomalies.iter() {
                    writeln!(self.out, "    anomaly (frame {f}): {a}")?;
                }
                writeln!(self.out)
            }
            Event::Roce { roce, .. } => {
                super::text::TextSink::new(&mut self.out).event(ev)?;
                let v = match roce.body {
                    crate::roce::RoceBody::Llc(d) => {
                        serde_json::to_value(d.repr).unwrap_or_default()
                    }
                    crate::roce::RoceBody::Cdc(d) => {
                        serde_json::to_value(d.repr).unwrap_or_default()
                    }
                    _ => serde_json::Value::Null,
                };
                let mut s = String::new();
                json_tree(&mut s, &v, 1);
                self.out.write_all(s.as_bytes())?;
                writeln!(self.out)
            }
            other => super::text::TextSink::new(&mut self.out).event(other),
        }
    }

    fn finish(&mut self, _stats: &Stats) -> io::Result<()> {
        self.out.flush()
    }
}
