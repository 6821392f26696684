//! `--json`: one JSON object per event (NDJSON), schema version 1, documented in the README.
//!
//! Every line is `{"schema": 1, "type": <event type>, "data": {…}}` with types `smc_option`,
//! `clc`, `verdict`, `notice` and a final `stats`. The serialization types are private to this
//! module (ripgrep `jsont.rs` habit); the protocol fields come from smc-wire's representations,
//! named as the kernel names them.

use std::io::{self, Write};

use serde::Serialize;

use super::Sink;
use crate::event::{ConnRef, Event, Notice, OptionSeen, PacketMeta};
use crate::source::Timestamp;
use crate::stats::Stats;
use crate::verdict::{Role, Verdict};

/// The schema version written in every line.
pub const SCHEMA: u32 = 1;

/// The NDJSON printer.
pub struct JsonSink<W: Write> {
    out: W,
}

impl<W: Write> JsonSink<W> {
    /// Gives back the writer.
    pub fn into_inner(self) -> W {
        self.out
    }

    /// Prints to `out`.
    pub fn new(out: W) -> Self {
        JsonSink { out }
    }

    fn line<T: Serialize>(&mut self, ty: &str, data: &T) -> io::Result<()> {
        #[derive(Serialize)]
        struct Envelope<'a, T> {
            schema: u32,
            #[serde(rename = "type")]
            ty: &'a str,
            data: &'a T,
        }
        serde_json::to_writer(
            &mut self.out,
            &Envelope {
                schema: SCHEMA,
                ty,
                data,
            },
        )
        .map_err(io::Error::other)?;
        self.out.write_all(b"\n")
    }
}

/// Seconds since the epoch with microseconds, as a JSON number.
fn epoch(ts: Timestamp) -> f64 {
    ts.secs as f64 + f64::from(ts.nanos / 1000) / 1e6
}

#[derive(Serialize)]
struct Where<'a> {
    input: u16,
    frame: u64,
    time: f64,
    src: String,
    dst: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    conn: Option<&'a ConnRef>,
}

fn at<'a>(m: &PacketMeta, conn: Option<&'a ConnRef>) -> Where<'a> {
    Where {
        input: m.input,
        frame: m.frame,
        time: epoch(m.ts),
        src: m.src.to_string(),
        dst: m.dst.to_string(),
        conn,
    }
}

#[derive(Serialize)]
struct SmcOptionJson<'a> {
    #[serde(flatten)]
    at: Where<'a>,
    #[serde(flatten)]
    option: &'a OptionSeen,
}

#[derive(Serialize)]
struct ClcJson<'a> {
    #[serde(flatten)]
    at: Where<'a>,
    from: Role,
    length: usize,
    raw: String,
    /// True when the receiver's kernel checks reject the message.
    rejected: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    decoded: Option<&'a smc_wire::ClcRepr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a smc_wire::Error>,
    anomalies: Vec<AnomalyJson>,
}

#[derive(Serialize)]
struct AnomalyJson {
    frame: u64,
    text: String,
    #[serde(flatten)]
    detail: smc_wire::Anomaly,
}

#[derive(Serialize)]
struct VerdictJson<'a> {
    input: u16,
    frame: u64,
    time: f64,
    conn: &'a ConnRef,
    frames: u64,
    summary: String,
    #[serde(flatten)]
    verdict: &'a Verdict,
    anomalies: Vec<AnomalyJson>,
}

#[derive(Serialize)]
struct NoticeJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    frame: Option<u64>,
    text: String,
    #[serde(flatten)]
    notice: &'a Notice,
}

fn hex(b: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

impl<W: Write> Sink for JsonSink<W> {
    fn event(&mut self, ev: &Event<'_>) -> io::Result<()> {
        match ev {
            Event::SmcOption { meta, conn, option } => self.line(
                "smc_option",
                &SmcOptionJson {
                    at: at(meta, Some(conn)),
                    option,
                },
            ),
            Event::Clc {
                meta,
                conn,
                from,
                raw,
                decoded,
            } => {
                let (dec, err, anomalies, rejected) = match decoded {
                    Ok(d) => (
                        Some(&d.repr),
                        None,
                        d.anomalies
                            .iter()
                            .map(|a| AnomalyJson {
                                frame: meta.frame,
                                text: a.to_string(),
                                detail: *a,
                            })
                            .collect(),
                        d.anomalies.has_check(),
                    ),
                    Err(e) => (
                        None,
                        Some(e),
                        Vec::new(),
                        matches!(e, smc_wire::Error::Check { .. }),
                    ),
                };
                self.line(
                    "clc",
                    &ClcJson {
                        at: at(meta, Some(conn)),
                        from: *from,
                        length: raw.len(),
                        raw: hex(raw),
                        rejected,
                        decoded: dec,
                        error: err,
                        anomalies,
                    },
                )
            }
            Event::Verdict {
                frame,
                input,
                ts,
                conn,
                verdict,
                anomalies,
                frames,
            } => self.line(
                "verdict",
                &VerdictJson {
                    input: *input,
                    frame: *frame,
                    time: epoch(*ts),
                    conn,
                    frames: *frames,
                    summary: verdict.summary(),
                    verdict,
                    anomalies: anomalies
                        .iter()
                        .map(|(f, a)| AnomalyJson {
                            frame: *f,
                            text: a.to_string(),
                            detail: *a,
                        })
                        .collect(),
                },
            ),
            Event::Roce { meta, roce } => {
                use crate::roce::RoceBody;
                #[derive(Serialize)]
                struct RoceJson<'a> {
                    #[serde(flatten)]
                    at: Where<'a>,
                    roce_version: u8,
                    dest_qp: u32,
                    psn: u32,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    link_group: Option<u32>,
                    /// A reused link group whose first contact is not in the capture.
                    #[serde(skip_serializing_if = "std::ops::Not::not")]
                    link_group_unseen: bool,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    to: Option<Role>,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    conn: Option<&'a ConnRef>,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    llc: Option<&'a smc_wire::llc::LlcRepr<'a>>,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    cdc: Option<&'a smc_wire::CdcRepr>,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    dropped: Option<&'a smc_wire::roce::SendClass>,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    error: Option<&'a smc_wire::Error>,
                    anomalies: Vec<AnomalyJson>,
                }
                let conn = roce.conn.as_ref().map(|(c, _)| c);
                let mut j = RoceJson {
                    at: at(meta, None),
                    roce_version: roce.version,
                    dest_qp: roce.dest_qp,
                    psn: roce.psn,
                    link_group: roce.link_group.map(|g| g.id),
                    link_group_unseen: roce.link_group.is_some_and(|g| !g.first_contact_seen()),
                    to: roce.to.or(roce.conn.map(|(_, r)| r)),
                    conn,
                    llc: None,
                    cdc: None,
                    dropped: None,
                    error: None,
                    anomalies: Vec::new(),
                };
                let ty = match &roce.body {
                    RoceBody::Llc(d) => {
                        j.llc = Some(&d.repr);
                        j.anomalies = d
                            .anomalies
                            .iter()
                            .map(|a| AnomalyJson {
                                frame: meta.frame,
                                text: a.to_string(),
                                detail: *a,
                            })
                            .collect();
                        "llc"
                    }
                    RoceBody::Cdc(d) => {
                        j.cdc = Some(&d.repr);
                        j.anomalies = d
                            .anomalies
                            .iter()
                            .map(|a| AnomalyJson {
                                frame: meta.frame,
                                text: a.to_string(),
                                detail: *a,
                            })
                            .collect();
                        "cdc"
                    }
                    RoceBody::Dropped(c) => {
                        j.dropped = Some(c);
                        "roce_dropped"
                    }
                    RoceBody::Undecodable(e) => {
                        j.error = Some(e);
                        "roce_dropped"
                    }
                };
                self.line(ty, &j)
            }
            Event::Notice { meta, notice } => self.line(
                "notice",
                &NoticeJson {
                    frame: meta.map(|m| m.frame),
                    text: super::text::notice_line(notice),
                    notice,
                },
            ),
        }
    }

    fn finish(&mut self, stats: &Stats) -> io::Result<()> {
        self.line("stats", stats)?;
        self.out.flush()
    }
}
