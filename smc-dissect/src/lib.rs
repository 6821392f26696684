//! # smc-dissect
//!
//! smcdump's library: read packets from capture files (or a live interface), find SMC in them
//! and say, per TCP connection, whether it became SMC-R or SMC-D (and which version, device and
//! limits), or why it fell back to TCP.
//!
//! The pipeline is one streaming pass (design.md): source → link layer → IP → TCP/UDP →
//! { TCP: flow table → SMC option + reassembly → CLC decoder → handshake state machine }
//! { RoCE: BTH → LLC/CDC } → events → sinks. Memory is bounded whatever the capture size.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![deny(missing_docs)]

pub mod config;
pub mod conn;
pub mod decap;
pub mod decode;
pub mod error;
pub mod event;
pub mod flow;
pub mod handshake;
pub mod output;
pub mod reasm;
pub mod roce;
pub mod source;
pub mod stats;
pub mod verdict;

use std::io;

use crate::decap::{decap, Decapped, L4};
use crate::event::{Event, Notice, PacketMeta};
use crate::output::Sink;
use crate::source::{Next, Progress, Source, SourceNotice};
use crate::stats::Stats;

pub use config::{Config, Format};
pub use error::DissectError;

/// Why a run stopped.
#[derive(Debug)]
pub enum RunError {
    /// The input could not be read.
    Input(DissectError),
    /// The output could not be written (a closed pipe included).
    Output(io::Error),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Input(e) => write!(f, "{e}"),
            RunError::Output(e) => write!(f, "writing output: {e}"),
        }
    }
}

impl std::error::Error for RunError {}

impl From<io::Error> for RunError {
    fn from(e: io::Error) -> Self {
        RunError::Output(e)
    }
}

/// Runs the pipeline over every frame of `src`, sending events to `sink`. `progress` is called
/// about every 64 Ki frames.
pub fn run<S: Source + ?Sized, K: Sink>(
    src: &mut S,
    cfg: &Config,
    sink: &mut K,
    mut progress: impl FnMut(Progress, &Stats),
) -> Result<Stats, RunError> {
    let mut tracker = conn::Tracker::new(cfg.tracker);
    let mut unsupported_reported: Vec<u32> = Vec::new();
    loop {
        let frame = match src.next_event() {
            Ok(Next::Frame(f)) => f,
            Ok(Next::Idle(now)) => {
                // live capture, nothing arrived: quiet connections still get their verdicts
                tracker.tick(now, sink)?;
                continue;
            }
            Ok(Next::End) => break,
            Err(e) => {
                // report what we have before failing
                tracker.finish(sink)?;
                return Err(RunError::Input(e));
            }
        };
        let st = &mut tracker.stats;
        st.frames += 1;
        st.bytes += frame.data.len() as u64;
        let (input, number, ts, link) = (frame.input, frame.number, frame.ts, frame.link_type);
        match decap(link, frame.data) {
            Decapped::Ip(ip) => {
                st.ip_frames += 1;
                match ip.l4 {
                    L4::Tcp(seg) => {
                        let meta = PacketMeta {
                            input,
                            frame: number,
                            ts,
                            src: std::net::SocketAddr::new(ip.src, seg.src_port),
                            dst: std::net::SocketAddr::new(ip.dst, seg.dst_port),
                        };
                        tracker.on_tcp(&meta, &seg, sink)?;
                    }
                    L4::Udp {
                        src_port,
                        dst_port: smc_wire::roce::ROCEV2_UDP_PORT,
                        payload,
                    } => {
                        st.roce_frames += 1;
                        let meta = PacketMeta {
                            input,
                            frame: number,
                            ts,
                            src: std::net::SocketAddr::new(ip.src, src_port),
                            dst: std::net::SocketAddr::new(ip.dst, smc_wire::roce::ROCEV2_UDP_PORT),
                        };
                        let pkt = smc_wire::roce::RocePacket::parse_v2(payload);
                        on_roce(&mut tracker, &meta, Some(ip.dst), pkt, sink)?;
                    }
                    _ => {}
                }
            }
            Decapped::RoceV1 { payload } => {
                st.roce_frames += 1;
                let pkt = smc_wire::roce::RocePacket::parse_v1(payload);
                let (src, dst) = match &pkt {
                    Ok(p) => p.grh.map_or((unspecified(), unspecified()), |g| {
                        (
                            std::net::SocketAddr::new(std::net::Ipv6Addr::from(g.sgid.0).into(), 0),
                            std::net::SocketAddr::new(std::net::Ipv6Addr::from(g.dgid.0).into(), 0),
                        )
                    }),
                    Err(_) => (unspecified(), unspecified()),
                };
                let meta = PacketMeta {
                    input,
                    frame: number,
                    ts,
                    src,
                    dst,
                };
                on_roce(&mut tracker, &meta, None, pkt, sink)?;
            }
            Decapped::Truncated { layer, need, have } => {
                st.truncated_frames += 1;
                let n = Notice::TruncatedPacket {
                    layer: layer.to_string(),
                    need,
                    have,
                };
                let meta = PacketMeta {
                    input,
                    frame: number,
                    ts,
                    src: unspecified(),
                    dst: unspecified(),
                };
                sink.event(&Event::Notice {
                    meta: Some(&meta),
                    notice: &n,
                })?;
            }
            Decapped::UnsupportedLink(l) => {
                st.unsupported_link_frames += 1;
                if !unsupported_reported.contains(&l.0) && unsupported_reported.len() < 16 {
                    unsupported_reported.push(l.0);
                    sink.event(&Event::Notice {
                        meta: None,
                        notice: &Notice::UnsupportedLinkType { link_type: l.0 },
                    })?;
                }
            }
            Decapped::Fragment => st.ip_fragments += 1,
            Decapped::Malformed { .. } => st.malformed_frames += 1,
            Decapped::NotIp => {}
        }
        let relevant = tracker.take_frame_relevant();
        sink.frame_done(&frame, relevant)?;
        if tracker.stats.frames % 65_536 == 0 {
            progress(src.progress(), &tracker.stats);
            for n in src.take_notices() {
                report_source_notice(&mut tracker.stats, n, sink)?;
            }
        }
    }
    for n in src.take_notices() {
        report_source_notice(&mut tracker.stats, n, sink)?;
    }
    tracker.finish(sink)?;
    if let Some(k) = src.capture_stats() {
        tracker.stats.kernel_received = Some(k.received);
        tracker.stats.kernel_dropped = Some(k.dropped);
    }
    progress(src.progress(), &tracker.stats);
    let stats = tracker.stats.clone();
    sink.finish(&stats)?;
    Ok(stats)
}

/// One RoCE packet: a SEND First/Middle/Last is counted and noticed (it is not reassembled,
/// §8.4), then the tracker decodes what it can.
fn on_roce<K: Sink>(
    tracker: &mut conn::Tracker,
    meta: &PacketMeta,
    dst: Option<std::net::IpAddr>,
    pkt: Result<smc_wire::roce::RocePacket<'_>, smc_wire::Error>,
    sink: &mut K,
) -> io::Result<()> {
    if let Some(n) = pkt.as_ref().ok().and_then(roce::multi_packet_notice) {
        tracker.stats.llc_multi_packet += 1;
        sink.event(&Event::Notice {
            meta: Some(meta),
            notice: &n,
        })?;
    }
    tracker.on_roce(meta, dst, pkt, sink)
}

fn unspecified() -> std::net::SocketAddr {
    std::net::SocketAddr::from(([0, 0, 0, 0], 0))
}

fn report_source_notice<K: Sink>(
    stats: &mut Stats,
    n: SourceNotice,
    sink: &mut K,
) -> io::Result<()> {
    let notice = match n {
        SourceNotice::TruncatedFile { input, offset } => {
            stats.truncated_files += 1;
            Notice::TruncatedFile { input, offset }
        }
        SourceNotice::SkippedBlock {
            input,
            offset,
            kind,
        } => Notice::SkippedBlock {
            input,
            offset,
            kind,
        },
        #[allow(unreachable_patterns)]
        _ => return Ok(()),
    };
    sink.event(&Event::Notice {
        meta: None,
        notice: &notice,
    })
}

/// The sinks a configuration asks for, all writing to `out` but the pcapng export.
type ConfiguredSink<W> = output::Fanout<SharedOut<W>, SharedOut<W>, io::BufWriter<std::fs::File>>;

fn configured_sink<W: io::Write>(cfg: &Config, out: W) -> Result<ConfiguredSink<W>, RunError> {
    let (summary_out, output) = split_output(cfg, out);
    let pcapng = match &cfg.write {
        Some(path) => {
            let f = std::fs::File::create(path).map_err(|e| {
                RunError::Input(DissectError::Io {
                    path: path.display().to_string(),
                    source: e,
                })
            })?;
            Some(output::PcapngSink::new(io::BufWriter::new(f))?)
        }
        None => None,
    };
    Ok(output::Fanout {
        output,
        summary: summary_out.map(|w| output::SummarySink::new(w, terminal_width())),
        pcapng,
    })
}

/// Captures on the configured interface until Ctrl-C (with
/// [`source::live::stop_on_signals`]) and writes the configured outputs to `out`, a line at a
/// time so events show as they happen. `started` gets a one-line description of the capture
/// once the socket is open.
#[cfg(all(feature = "live", target_os = "linux"))]
pub fn run_live<W: io::Write>(
    cfg: &Config,
    out: W,
    started: impl FnOnce(&str),
) -> Result<Stats, RunError> {
    let opts = source::LiveOptions {
        interface: cfg.interface.clone().unwrap_or_else(|| "any".into()),
        smc_only: !cfg.no_filter,
    };
    let mut src = source::LiveSource::open(&opts).map_err(RunError::Input)?;
    let mut sink = configured_sink(cfg, io::LineWriter::new(out))?;
    started(src.description());
    run(&mut src, cfg, &mut sink, |_, _| {})
}

/// Reads the configured input files and writes the configured outputs to `out` (the summary
/// goes to `out` too, after the events); a progress bar on stderr when `progress` is set.
pub fn run_files<W: io::Write>(cfg: &Config, out: W, progress: bool) -> Result<Stats, RunError> {
    let mut src = source::PcapSource::open(&cfg.inputs).map_err(RunError::Input)?;
    let out = io::BufWriter::with_capacity(64 * 1024, out);
    let mut sink = configured_sink(cfg, out)?;
    let bar = progress.then(|| {
        let total = src.progress().bytes_total;
        let pb = match total {
            Some(t) => indicatif::ProgressBar::new(t),
            None => indicatif::ProgressBar::new_spinner(),
        };
        pb.set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(4));
        let style = indicatif::ProgressStyle::with_template(
            "{spinner} {bytes}/{total_bytes} {bytes_per_sec} {msg} [{elapsed_precise}, ETA {eta}]",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        pb.set_style(style);
        pb
    });
    let result = run(&mut src, cfg, &mut sink, |p, st| {
        if let Some(b) = &bar {
            b.set_position(p.bytes_done);
            b.set_message(format!(
                "{} frames, {} SMC connections",
                st.frames, st.connections
            ));
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    result
}

/// The per-event output and, when asked, a second handle for the summary (both on stdout).
fn split_output<W: io::Write>(
    cfg: &Config,
    out: W,
) -> (Option<SharedOut<W>>, output::Output<SharedOut<W>>) {
    let shared = SharedOut(std::rc::Rc::new(std::cell::RefCell::new(out)));
    let summary = cfg.summary.then(|| shared.clone());
    let output = match cfg.format {
        Format::Text => output::Output::Text(output::TextSink::new(shared)),
        Format::Verbose => output::Output::Verbose(output::VerboseSink::new(shared)),
        Format::Json => output::Output::Json(output::JsonSink::new(shared)),
        Format::Quiet => output::Output::Quiet,
    };
    (summary, output)
}

/// One writer shared by the per-event output and the summary (single-threaded).
pub struct SharedOut<W>(std::rc::Rc<std::cell::RefCell<W>>);

impl<W> Clone for SharedOut<W> {
    fn clone(&self) -> Self {
        SharedOut(self.0.clone())
    }
}

impl<W: io::Write> io::Write for SharedOut<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.borrow_mut().write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.borrow_mut().flush()
    }
}

fn terminal_width() -> Option<u16> {
    std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok())
}
