//! The validated run configuration (ripgrep `hiargs.rs` habit): the CLI converts its arguments
//! into this, and only this builds library objects.

use std::path::PathBuf;

use crate::conn::TrackerConfig;

/// Per-event output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    /// One line per event.
    #[default]
    Text,
    /// A field tree per message.
    Verbose,
    /// NDJSON.
    Json,
    /// No per-event output.
    Quiet,
}

/// What a run does.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// Input files (`-` = stdin).
    pub inputs: Vec<PathBuf>,
    /// Per-event format.
    pub format: Format,
    /// Print the summary table at the end.
    pub summary: bool,
    /// Flow-table limits.
    pub tracker: TrackerConfig,
    /// Report only SMC-relevant events (always true today; kept for live capture).
    pub smc_only: bool,
    /// Write the SMC-relevant packets, annotated, to this pcapng file.
    pub write: Option<PathBuf>,
    /// Capture live on this interface (`any` for all) instead of reading `inputs`.
    pub interface: Option<String>,
    /// Live capture without the kernel filter (every packet reaches smcdump).
    pub no_filter: bool,
}
