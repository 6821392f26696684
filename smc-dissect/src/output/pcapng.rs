//! `-w FILE`: the SMC-relevant packets of a run written to a pcapng file, each with packet
//! comments (`opt_comment`) stating what smcdump read in it — the decoded CLC/LLC/CDC message,
//! notices and the verdict — so a colleague can open the file in Wireshark and see our reading
//! next to its own (`frame.comment`).
//!
//! Relevant: every packet of an SMC-relevant TCP connection up to its verdict (SYN/SYN-ACK with the
//! option, CLC segments including partial ones, FIN/RST), every RoCE frame with an LLC or CDC,
//! and packets a notice is about. A verdict given at the end of the input has no packet left to
//! annotate; the file's section header carries a comment saying so.
//!
//! Format (pcapng, draft-ietf-opsawg-pcapng): Section Header Block, one Interface Description
//! Block per link type met, Enhanced Packet Blocks with nanosecond timestamps (`if_tsresol` 9)
//! and `opt_comment` options; little-endian.

use std::io::{self, Write};

use super::Sink;
use crate::event::Event;
use crate::source::Frame;
use crate::stats::Stats;

mod block {
    pub const SHB: u32 = 0x0a0d_0d0a; // Section Header Block type
    pub const IDB: u32 = 0x0000_0001; // Interface Description Block type
    pub const EPB: u32 = 0x0000_0006; // Enhanced Packet Block type
    pub const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d; // SHB byte-order magic
    pub const OPT_END: u16 = 0; // opt_endofopt
    pub const OPT_COMMENT: u16 = 1; // opt_comment
    pub const IF_SNAPLEN: u32 = 0; // IDB snaplen 0 = no limit
    pub const IF_TSRESOL: u16 = 9; // if_tsresol option code
    pub const TSRESOL_NS: u8 = 9; // 10^-9 s
    pub const SHB_APP: u16 = 4; // shb_userappl
}

/// Writes annotated SMC packets.
pub struct PcapngSink<W: Write> {
    out: W,
    interfaces: Vec<u32>,
    comments: Vec<String>,
    written: u64,
    end_verdicts: u64,
}

fn pad4(n: usize) -> usize {
    (4 - n % 4) % 4
}

fn option(buf: &mut Vec<u8>, code: u16, value: &[u8]) {
    buf.extend_from_slice(&code.to_le_bytes());
    buf.extend_from_slice(&(value.len() as u16).to_le_bytes());
    buf.extend_from_slice(value);
    buf.extend(std::iter::repeat_n(0u8, pad4(value.len())));
}

fn write_block<W: Write>(out: &mut W, ty: u32, body: &[u8]) -> io::Result<()> {
    let total = (12 + body.len()) as u32;
    out.write_all(&ty.to_le_bytes())?;
    out.write_all(&total.to_le_bytes())?;
    out.write_all(body)?;
    out.write_all(&total.to_le_bytes())
}

impl<W: Write> PcapngSink<W> {
    /// Starts a pcapng file on `out` (writes the section header).
    pub fn new(mut out: W) -> io::Result<Self> {
        let mut body = Vec::new();
        body.extend_from_slice(&block::BYTE_ORDER_MAGIC.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes()); // major version
        body.extend_from_slice(&0u16.to_le_bytes()); // minor version
        body.extend_from_slice(&(-1i64).to_le_bytes()); // section length unknown
        option(
            &mut body,
            block::SHB_APP,
            format!("smcdump {}", env!("CARGO_PKG_VERSION")).as_bytes(),
        );
        option(
            &mut body,
            block::OPT_COMMENT,
            b"SMC-relevant packets selected by smcdump; packet comments give smcdump's reading",
        );
        option(&mut body, block::OPT_END, &[]);
        write_block(&mut out, block::SHB, &body)?;
        Ok(PcapngSink {
            out,
            interfaces: Vec::new(),
            comments: Vec::new(),
            written: 0,
            end_verdicts: 0,
        })
    }

    fn interface(&mut self, link: u32) -> io::Result<u32> {
        if let Some(i) = self.interfaces.iter().position(|l| *l == link) {
            return Ok(i as u32);
        }
        let mut body = Vec::new();
        body.extend_from_slice(&(link as u16).to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&block::IF_SNAPLEN.to_le_bytes());
        option(&mut body, block::IF_TSRESOL, &[block::TSRESOL_NS]);
        option(&mut body, block::OPT_END, &[]);
        write_block(&mut self.out, block::IDB, &body)?;
        self.interfaces.push(link);
        Ok((self.interfaces.len() - 1) as u32)
    }

    /// Packets written so far.
    pub fn written(&self) -> u64 {
        self.written
    }
}

impl<W: Write> Sink for PcapngSink<W> {
    fn event(&mut self, ev: &Event<'_>) -> io::Result<()> {
        let line = match ev {
            Event::Verdict { verdict, conn, .. } => {
                format!(
                    "smcdump verdict #{}: {}: {}",
                    conn.id.0,
                    verdict.name(),
                    verdict.summary()
                )
            }
            other => {
                let mut v = Vec::new();
                super::TextSink::new(&mut v).event(other)?;
                let s = String::from_utf8_lossy(&v).trim().to_string();
                // drop the frame/time/endpoint prefix: Wireshark shows those itself
                match s.split_once(": ") {
                    Some((_, rest)) => format!("smcdump: {rest}"),
                    None => format!("smcdump: {s}"),
                }
            }
        };
        if self.comments.len() < 16 {
            self.comments.push(line);
        }
        Ok(())
    }

    fn frame_done(&mut self, frame: &Frame<'_>, relevant: bool) -> io::Result<()> {
        if !relevant && self.comments.is_empty() {
            return Ok(());
        }
        let iface = self.interface(frame.link_type.0)?;
        let ns = u64::try_from(frame.ts.secs)
            .unwrap_or(0)
            .saturating_mul(1_000_000_000)
            + u64::from(frame.ts.nanos);
        let mut body = Vec::with_capacity(32 + frame.data.len() + 64 * self.comments.len());
        body.extend_from_slice(&iface.to_le_bytes());
        body.extend_from_slice(&((ns >> 32) as u32).to_le_bytes());
        body.extend_from_slice(&(ns as u32).to_le_bytes());
        body.extend_from_slice(&frame.caplen.to_le_bytes());
        body.extend_from_slice(&frame.origlen.to_le_bytes());
        body.extend_from_slice(frame.data);
        body.extend(std::iter::repeat_n(0u8, pad4(frame.data.len())));
        for c in self.comments.drain(..) {
            option(&mut body, block::OPT_COMMENT, c.as_bytes());
        }
        option(&mut body, block::OPT_END, &[]);
        write_block(&mut self.out, block::EPB, &body)?;
        self.written += 1;
        Ok(())
    }

    fn finish(&mut self, _stats: &Stats) -> io::Result<()> {
        // verdicts given at the end of the input arrive after the last frame
        self.end_verdicts += self.comments.len() as u64;
        self.comments.clear();
        self.out.flush()
    }
}
