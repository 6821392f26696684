//! Command-line arguments (clap derive) and their conversion into a validated `Config`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use smc_dissect::{Config, Format};

const AFTER_HELP: &str = "\
EXAMPLES:
  smcdump -r trace.pcapng                  one line per SMC event, then a verdict table
  smcdump -r trace.pcap.gz --summary -q    only the table of connections and verdicts
  tcpdump -i any -w - | smcdump -r -       read a pipe
  smcdump -v -r trace.pcap                 full field tree of every CLC message
  smcdump --json -r trace.pcap | jq 'select(.type==\"verdict\")'
  smcdump -r big.pcap -w smc.pcapng -q     keep only the SMC packets, annotated for Wireshark
  smcdump decode e2d4c3d904001c10...       decode one message copied from a log
  smcdump -i eth0                          live: verdicts as handshakes happen, Ctrl-C ends
  smcdump -i any --summary -q              live on every interface, the table at Ctrl-C

LIVE CAPTURE (-i IFACE, needs CAP_NET_RAW):
  A filter in the kernel keeps only what can be SMC, so a busy link does not flood smcdump:
    - TCP SYN carrying the SMC option (kind 254, ExID e2d4c3d9), and every SYN-ACK (the one
      without the option is what tells a silent fallback)
    - TCP FIN and RST
    - TCP segments whose payload starts with a CLC eyecatcher (e2d4c3d9 SMC-R, e2d4c3c4 SMC-D)
    - UDP to port 4791 (RoCEv2) and EtherType 0x8915 (RoCEv1; not on -i any)
  through up to two VLAN tags, over IPv4 and IPv6 (IPv6 packets with more than 4 extension
  headers are kept whole). What is lost with it:
    - option-echoed-no-clc needs the first, non-CLC payload, which the filter drops: such a
      connection shows as incomplete 6 s after its handshake instead (after a Proposal:
      no-answer, which names the option-echoing middlebox among its causes)
    - a CLC message split over several TCP segments (an MSS below its length, a resegmenting
      middlebox) loses its continuation: incomplete
    - clc-without-option says the SYN was not captured (a SYN without the option is dropped)
    - frame numbers count captured packets only; data segments are not counted
  --no-filter keeps everything (and gives the same readings as a full capture file). On lo and
  any, the kernel's second (outgoing) copy of each loopback packet is dropped either way.
  Verdicts are printed as they are known: at the FIN, or for a quiet connection after the
  kernel's own timeouts (6 s for a CLC step, 10 s after the Confirm). Ctrl-C prints what is
  pending and the summary; packets the kernel dropped are counted in it.

VERDICTS (one per SMC-relevant TCP connection; client = SYN sender):
  smc                   SMC-R or SMC-D established (version, release, device, limits)
  declined              a CLC Decline: reason code and meaning, which side, after which message
  fallback-no-echo      SYN had the SMC option, the SYN-ACK did not (server not SMC, handshake
                        limit reached, SYN cookies, or an option-stripping middlebox)
  option-echoed-no-clc  both had the option but the first payload was not CLC: from the server,
                        an option-echoing middlebox; from the client, a client that fell back
                        after its SYN (e.g. TCP Fast Open), which a Linux SMC server rejects
  clc-without-option    CLC although the SYN carried no option (or was not captured)
  incomplete            capture ended, RST, FIN, timeout, or no answer to the Proposal within
                        6 s mid-handshake (last stage and cause named)
  violation             the exchange breaks the protocol (what and where; kernel check named)

EXIT STATUS:
  0  success
  1  usage error, or an input/output error (one line on stderr says which)
  3  the capture contained malformed SMC: a CLC message the receiving kernel rejects, or a
     protocol violation (the run itself completed)";

/// smcdump: find SMC (AF_SMC, SMC-R, SMC-D) in packet captures and say, for every TCP
/// connection that tried it, whether it became SMC — or why it fell back to TCP.
#[derive(Parser, Debug)]
#[command(name = "smcdump", version, about, long_about = None, after_help = AFTER_HELP, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Option<Cmd>,
    #[command(flatten)]
    pub run: RunArgs,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Decode one raw CLC message given as hex (e.g. copied from a kernel log or tshark); `-`
    /// reads the hex from stdin, `@FILE` from a file. Whitespace, colons and 0x are ignored.
    Decode {
        /// The message as hex, `-` for stdin or `@FILE`.
        hex: String,
        /// Print JSON instead of the field tree.
        #[arg(long)]
        json: bool,
    },
}

/// Options of a capture run.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Read packets from FILE (pcap or pcapng, optionally gzip-compressed; `-` = stdin).
    /// Repeat to read several files in one run.
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    pub read: Vec<PathBuf>,
    /// Capture files, as an alternative to -r.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Capture live on IFACE (`any`: every interface) until Ctrl-C; see LIVE CAPTURE below.
    #[arg(short = 'i', long = "interface", value_name = "IFACE", conflicts_with_all = ["read", "files"])]
    pub interface: Option<String>,
    /// Live capture without the kernel filter: every packet reaches smcdump.
    #[arg(long, requires = "interface")]
    pub no_filter: bool,
    /// Print a full field tree for every CLC message (names, units, decoded codes).
    #[arg(short, long, conflicts_with = "json")]
    pub verbose: bool,
    /// Print one JSON object per event (NDJSON; schema in the README).
    #[arg(long)]
    pub json: bool,
    /// No per-event output (useful with --summary).
    #[arg(short, long, conflicts_with_all = ["verbose", "json"])]
    pub quiet: bool,
    /// Print the table of connections and verdict/decline counts at the end
    /// (default: on when stdout is a terminal and the output is not JSON).
    #[arg(long, overrides_with = "no_summary")]
    pub summary: bool,
    /// Do not print the summary table.
    #[arg(long)]
    pub no_summary: bool,
    /// Write the SMC-relevant packets to FILE (pcapng), each with packet comments stating smcdump's
    /// reading (message, verdict); open it in Wireshark to compare.
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// Most TCP flows tracked at once; the least recently seen are evicted beyond it.
    #[arg(long, value_name = "N", default_value_t = 65_536)]
    pub max_flows: usize,
    /// Seconds of capture time after which an idle flow may be evicted.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub idle_timeout: u64,
    /// Never show the progress bar (it is shown on stderr for file runs on a terminal).
    #[arg(long)]
    pub no_progress: bool,
    /// Read capture files with read(2) instead of mapping them into memory. smcdump maps regular,
    /// uncompressed files (faster: no copy); if another program truncates such a file while
    /// smcdump reads it (tcpdump -w restarted on the same name), the map ends smcdump with a bus
    /// error (SIGBUS). This option avoids that. Pipes, stdin and gzip are always read.
    #[arg(long, conflicts_with = "interface")]
    pub no_mmap: bool,
}

impl RunArgs {
    /// Validates and converts into the library's configuration.
    pub fn into_config(self, stdout_tty: bool) -> Result<Config, String> {
        let mut inputs = self.read;
        inputs.extend(self.files);
        if inputs.is_empty() && self.interface.is_none() {
            return Err(
                "no input: give a capture file with -r FILE (or `-r -` for stdin), or an interface with -i IFACE; see --help"
                    .into(),
            );
        }
        if self.max_flows == 0 {
            return Err("--max-flows must be at least 1".into());
        }
        let format = if self.json {
            Format::Json
        } else if self.verbose {
            Format::Verbose
        } else if self.quiet {
            Format::Quiet
        } else {
            Format::Text
        };
        let summary = if self.no_summary {
            false
        } else {
            self.summary || (stdout_tty && format != Format::Json)
        };
        let mut cfg = Config {
            inputs,
            format,
            summary,
            smc_only: true,
            write: self.write,
            interface: self.interface,
            no_filter: self.no_filter,
            ..Config::default()
        };
        cfg.tracker.max_flows = self.max_flows;
        cfg.tracker.idle_timeout_secs = self.idle_timeout;
        Ok(cfg)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn no_mmap_is_for_files_only() {
        let cli = Cli::try_parse_from(["smcdump", "--no-mmap", "-r", "x.pcap"]).unwrap();
        assert!(cli.run.no_mmap);
        assert!(Cli::try_parse_from(["smcdump", "--no-mmap", "-i", "lo"]).is_err());
    }
}
