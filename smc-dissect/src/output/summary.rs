//! `--summary`: a table of connections with their verdicts, then counts per verdict and per
//! decline reason (comfy-table is used here only).

use std::io::{self, Write};

use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, ContentArrangement, Table};

use super::Sink;
use crate::event::Event;
use crate::stats::Stats;

/// Most connection rows kept for the table (counts cover all).
pub const MAX_ROWS: usize = 10_000;

struct Row {
    conn: u64,
    client: String,
    server: String,
    verdict: &'static str,
    detail: String,
}

/// Collects verdicts and prints the tables at the end.
pub struct SummarySink<W: Write> {
    out: W,
    rows: Vec<Row>,
    dropped: u64,
    width: Option<u16>,
}

impl<W: Write> SummarySink<W> {
    /// Prints to `out`; `width` is the terminal width when known.
    pub fn new(out: W, width: Option<u16>) -> Self {
        SummarySink {
            out,
            rows: Vec::new(),
            dropped: 0,
            width,
        }
    }
}

impl<W: Write> Sink for SummarySink<W> {
    fn event(&mut self, ev: &Event<'_>) -> io::Result<()> {
        if let Event::Verdict { conn, verdict, .. } = ev {
            if self.rows.len() < MAX_ROWS {
                self.rows.push(Row {
                    conn: conn.id.0,
                    client: conn.client.to_string(),
                    server: conn.server.to_string(),
                    verdict: verdict.name(),
                    detail: verdict.summary(),
                });
            } else {
                self.dropped += 1;
            }
        }
        Ok(())
    }

    fn finish(&mut self, stats: &Stats) -> io::Result<()> {
        let mut t = Table::new();
        t.load_style(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic);
        if let Some(w) = self.width {
            t.set_width(w);
        }
        t.set_header(vec!["conn", "client", "server", "verdict", "detail"]);
        self.rows.sort_by_key(|r| r.conn);
        for r in &self.rows {
            t.add_row(vec![
                Cell::new(format!("#{}", r.conn)),
                Cell::new(&r.client),
                Cell::new(&r.server),
                Cell::new(r.verdict),
                Cell::new(&r.detail),
            ]);
        }
        writeln!(self.out, "{t}")?;
        if self.dropped > 0 {
            writeln!(
                self.out,
                "({} more connections not listed; counted below)",
                self.dropped
            )?;
        }
        let mut c = Table::new();
        c.load_style(UTF8_FULL_CONDENSED);
        c.set_header(vec!["verdict", "connections"]);
        for (k, v) in &stats.verdicts {
            c.add_row(vec![Cell::new(k), Cell::new(v)]);
        }
        writeln!(self.out, "{c}")?;
        if !stats.decline_reasons.is_empty() {
            let mut d = Table::new();
            d.load_style(UTF8_FULL_CONDENSED);
            d.set_header(vec!["decline reason", "meaning", "connections"]);
            for (k, v) in &stats.decline_reasons {
                let meaning = k
                    .parse::<smc_wire::DeclineReason>()
                    .ok()
                    .and_then(|r| r.meaning())
                    .unwrap_or("");
                d.add_row(vec![Cell::new(k), Cell::new(meaning), Cell::new(v)]);
            }
            writeln!(self.out, "{d}")?;
        }
        writeln!(
            self.out,
            "{} frames, {} TCP segments, {} SMC options, {} CLC messages ({} rejected by kernel checks), {} connections",
            stats.frames, stats.tcp_segments, stats.smc_options, stats.clc_messages, stats.clc_rejected, stats.connections
        )?;
        if let (Some(received), Some(dropped)) = (stats.kernel_received, stats.kernel_dropped) {
            writeln!(
                self.out,
                "kernel: {received} packets passed the capture filter, {dropped} dropped (not read in time)"
            )?;
        }
        if stats.flows_evicted > 0 || stats.truncated_frames > 0 {
            writeln!(
                self.out,
                "{} flows evicted, {} frames truncated by snaplen",
                stats.flows_evicted, stats.truncated_frames
            )?;
        }
        self.out.flush()
    }
}
