//! Sinks: where events go. One sink per format (ripgrep `printer` habit); [`Output`] is an enum
//! over them so the hot loop is monomorphised (no `Box<dyn Sink>` per event).

pub mod json;
pub mod pcapng;
pub mod summary;
pub mod text;
pub mod verbose;

use std::io::{self, Write};

use crate::event::Event;
use crate::stats::Stats;

pub use json::JsonSink;
pub use pcapng::PcapngSink;
pub use summary::SummarySink;
pub use text::TextSink;
pub use verbose::VerboseSink;

/// Receives events (ripgrep `Sink` habit: one required method, a default `finish`).
pub trait Sink {
    /// One event.
    fn event(&mut self, ev: &Event<'_>) -> io::Result<()>;
    /// End of input, with the run's statistics.
    fn finish(&mut self, _stats: &Stats) -> io::Result<()> {
        Ok(())
    }
    /// Called after each frame; `relevant` when the frame belonged to an SMC-relevant connection
    /// or carried RoCE (the pcapng writer keeps those).
    fn frame_done(&mut self, _frame: &crate::source::Frame<'_>, _relevant: bool) -> io::Result<()> {
        Ok(())
    }
}

impl<S: Sink + ?Sized> Sink for &mut S {
    fn event(&mut self, ev: &Event<'_>) -> io::Result<()> {
        (**self).event(ev)
    }
    fn frame_done(&mut self, frame: &crate::source::Frame<'_>, relevant: bool) -> io::Result<()> {
        (**self).frame_done(frame, relevant)
    }
    fn finish(&mut self, stats: &Stats) -> io::Result<()> {
        (**self).finish(stats)
    }
}

/// A sink that drops everything (benchmarks, fuzzing).
#[derive(Default, Debug)]
pub struct NullSink;

impl Sink for NullSink {
    fn event(&mut self, _ev: &Event<'_>) -> io::Result<()> {
        Ok(())
    }
}

/// The per-event output format.
pub enum Output<W: Write> {
    /// One line per event.
    Text(TextSink<W>),
    /// A field tree per message.
    Verbose(VerboseSink<W>),
    /// NDJSON.
    Json(JsonSink<W>),
    /// Nothing per event (only the summary).
    Quiet,
}

impl<W: Write> Sink for Output<W> {
    fn event(&mut self, ev: &Event<'_>) -> io::Result<()> {
        match self {
            Output::Text(s) => s.event(ev),
            Output::Verbose(s) => s.event(ev),
            Output::Json(s) => s.event(ev),
            Output::Quiet => Ok(()),
        }
    }
    fn finish(&mut self, stats: &Stats) -> io::Result<()> {
        match self {
            Output::Text(s) => s.finish(stats),
            Output::Verbose(s) => s.finish(stats),
            Output::Json(s) => s.finish(stats),
            Output::Quiet => Ok(()),
        }
    }
}

/// The per-event output plus the optional summary table and pcapng export, fanned out.
pub struct Fanout<W: Write, X: Write, P: Write> {
    /// Per-event output.
    pub output: Output<W>,
    /// Summary table at the end.
    pub summary: Option<SummarySink<X>>,
    /// Annotated pcapng of the SMC packets.
    pub pcapng: Option<PcapngSink<P>>,
}

impl<W: Write, X: Write, P: Write> Sink for Fanout<W, X, P> {
    fn event(&mut self, ev: &Event<'_>) -> io::Result<()> {
        self.output.event(ev)?;
        if let Some(s) = &mut self.summary {
            s.event(ev)?;
        }
        if let Some(p) = &mut self.pcapng {
            p.event(ev)?;
        }
        Ok(())
    }
    fn finish(&mut self, stats: &Stats) -> io::Result<()> {
        self.output.finish(stats)?;
        if let Some(s) = &mut self.summary {
            s.finish(stats)?;
        }
        if let Some(p) = &mut self.pcapng {
            p.finish(stats)?;
        }
        Ok(())
    }
    fn frame_done(&mut self, frame: &crate::source::Frame<'_>, relevant: bool) -> io::Result<()> {
        if let Some(p) = &mut self.pcapng {
            p.frame_done(frame, relevant)?;
        }
        Ok(())
    }
}

/// Formats a capture timestamp as UTC time of day with microseconds (tcpdump's default look).
pub fn time_of_day(ts: crate::source::Timestamp) -> String {
    let secs = ts.secs.rem_euclid(86_400);
    format!(
        "{:02}:{:02}:{:02}.{:06}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60,
        ts.nanos / 1000
    )
}

/// A compressed buffer size (2^(n+14) bytes, §4.5) in human units.
pub fn buffer_size(n: u8) -> String {
    let bytes = 1u64 << (u32::from(n) + 14);
    if bytes >= 1 << 20 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{} KiB", bytes >> 10)
    }
}

/// The IB MTU enum of Accept/Confirm (§4.5).
pub fn ib_mtu(n: u8) -> Option<u32> {
    match n {
        1 => Some(256),
        2 => Some(512),
        3 => Some(1024),
        4 => Some(2048),
        5 => Some(4096),
        _ => None,
    }
}
