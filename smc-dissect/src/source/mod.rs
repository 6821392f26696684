//! Capture sources: where frames come from.
//!
//! A [`Source`] yields one [`Frame`] at a time, borrowing the source's buffer: all work on a frame
//! finishes before the next call, which releases it (pcap-parser's reader contract, style §4.1).
//! This is the only place in the pipeline with dynamic dispatch (style §4.1, §5 "Dispatch"): the
//! pipeline is generic over `S: Source`, and a source reads its input through `Box<dyn Read>`
//! once per buffer refill, never per packet.
//!
//! Problems that do not stop reading (a file that ends mid-record, a block that cannot be used)
//! are queued as [`SourceNotice`]s; the caller collects them with [`Source::take_notices`] after
//! each frame. Problems that stop reading an input are a [`DissectError`]; after one, the next call
//! to [`Source::next_frame`] continues with the next input, so the caller decides whether to go on.

pub mod filter;
#[cfg(all(feature = "live", target_os = "linux"))]
pub mod live;
mod mapped;
mod pcap;

#[cfg(all(feature = "live", target_os = "linux"))]
pub use live::{LiveOptions, LiveSource};
pub use pcap::{
    set_mmap, PcapSource, INITIAL_BUFFER, MAX_BLOCK, MAX_INTERFACES, MAX_NOTICES, STDIN_NAME,
};

use crate::error::DissectError;
use std::fmt;

/// A capture timestamp: seconds and nanoseconds since the Unix epoch (UTC).
///
/// Ordered by time; `nanos` is always below 1 000 000 000.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Timestamp {
    /// Whole seconds since 1970-01-01T00:00:00Z (negative before it).
    pub secs: i64,
    /// Nanoseconds within the second, `0..1_000_000_000`.
    pub nanos: u32,
}

impl Timestamp {
    /// Builds a timestamp from seconds and a possibly out-of-range nanosecond count (carried).
    pub fn new(secs: i64, nanos: u64) -> Timestamp {
        if nanos < 1_000_000_000 {
            // the usual case, without the divisions (this runs for every frame)
            return Timestamp {
                secs,
                nanos: nanos as u32,
            };
        }
        let carry = i64::try_from(nanos / 1_000_000_000).unwrap_or(i64::MAX);
        // nanos % 1e9 < 1e9 < u32::MAX
        let nanos = u32::try_from(nanos % 1_000_000_000).unwrap_or(0);
        Timestamp {
            secs: secs.saturating_add(carry),
            nanos,
        }
    }

    /// Nanoseconds since the epoch, for differences (saturating outside ±292 years of 1970).
    pub fn as_nanos(self) -> i128 {
        i128::from(self.secs) * 1_000_000_000 + i128::from(self.nanos)
    }

    /// `self - earlier` in nanoseconds (negative if `earlier` is later).
    pub fn nanos_since(self, earlier: Timestamp) -> i128 {
        self.as_nanos() - earlier.as_nanos()
    }
}

impl fmt::Display for Timestamp {
    /// `1573999034.000499000`, as `tshark -e frame.time_epoch` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.secs < 0 && self.nanos > 0 {
            // -0.5 s is secs -1, nanos 500 000 000
            let total = self.as_nanos();
            let (s, n) = (total / 1_000_000_000, (total % 1_000_000_000).abs());
            let sign = if s == 0 { "-" } else { "" };
            write!(f, "{sign}{s}.{n:09}")
        } else {
            write!(f, "{}.{:09}", self.secs, self.nanos)
        }
    }
}

/// A link-layer header type, as stored in pcap and pcapng files.
///
/// Values are the tcpdump.org LINKTYPE_ registry (libpcap `pcap-linktype(7)`); the named
/// constants are those [`crate::decap::decap`] understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    /// LINKTYPE_NULL 0: BSD loopback, 4-byte address family in the capturing host's byte order.
    pub const NULL: LinkType = LinkType(0);
    /// LINKTYPE_ETHERNET 1: IEEE 802.3 Ethernet.
    pub const ETHERNET: LinkType = LinkType(1);
    /// DLT_RAW 12 as written by most BSDs' libpcap (Wireshark wiretap `pcap-common.c` maps it to raw IP).
    pub const RAW_BSD: LinkType = LinkType(12);
    /// DLT_RAW 14 as written by OpenBSD's libpcap (Wireshark wiretap `pcap-common.c`).
    pub const RAW_OPENBSD: LinkType = LinkType(14);
    /// LINKTYPE_RAW 101: raw IPv4 or IPv6, told apart by the version nibble.
    pub const RAW: LinkType = LinkType(101);
    /// LINKTYPE_LOOP 108: OpenBSD loopback, 4-byte address family in network byte order.
    pub const LOOP: LinkType = LinkType(108);
    /// LINKTYPE_LINUX_SLL 113: Linux "cooked" capture v1, 16-byte header (`tcpdump -i any`).
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// LINKTYPE_IPV4 228: raw IPv4.
    pub const IPV4: LinkType = LinkType(228);
    /// LINKTYPE_IPV6 229: raw IPv6.
    pub const IPV6: LinkType = LinkType(229);
    /// LINKTYPE_LINUX_SLL2 276: Linux "cooked" capture v2, 20-byte header (libpcap ≥ 1.10 `-i any`).
    pub const LINUX_SLL2: LinkType = LinkType(276);

    /// The registry name of a type [`crate::decap::decap`] understands.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            LinkType::NULL => "NULL",
            LinkType::ETHERNET => "ETHERNET",
            LinkType::RAW_BSD | LinkType::RAW_OPENBSD | LinkType::RAW => "RAW",
            LinkType::LOOP => "LOOP",
            LinkType::LINUX_SLL => "LINUX_SLL",
            LinkType::IPV4 => "IPV4",
            LinkType::IPV6 => "IPV6",
            LinkType::LINUX_SLL2 => "LINUX_SLL2",
            _ => return None,
        })
    }
}

impl fmt::Display for LinkType {
    /// The LINKTYPE_ name without its prefix, or `LinkType(147)` for one we do not decode.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "LinkType({})", self.0),
        }
    }
}

/// One captured packet, borrowed from the source until the next call to [`Source::next_frame`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Index of the input file in [`Source::input_names`].
    pub input: u16,
    /// 1-based frame number within that input, as Wireshark counts (every packet record).
    pub number: u64,
    /// Capture time.
    pub ts: Timestamp,
    /// Link-layer type of this frame (per interface in pcapng).
    pub link_type: LinkType,
    /// Captured length: `data.len()`.
    pub caplen: u32,
    /// Length on the wire; larger than `caplen` when the snapshot length cut the packet.
    pub origlen: u32,
    /// The captured bytes, starting with the link-layer header.
    pub data: &'a [u8],
}

/// Something a source noticed that did not stop it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceNotice {
    /// The input ended inside a record; every frame before it was delivered.
    TruncatedFile {
        /// Index of the input.
        input: u16,
        /// Byte offset of the incomplete record in the (decompressed) input.
        offset: u64,
    },
    /// A block was skipped: corrupt but with consistent lengths, a packet for an interface that no
    /// interface description declared, or an interface beyond [`MAX_INTERFACES`].
    SkippedBlock {
        /// Index of the input.
        input: u16,
        /// Byte offset of the block in the (decompressed) input.
        offset: u64,
        /// What was skipped and why, in words.
        kind: String,
    },
    /// More notices arrived than the queue keeps ([`MAX_NOTICES`]) between two
    /// [`Source::take_notices`] calls; this many were dropped.
    NoticesDropped {
        /// How many notices were dropped.
        count: u64,
    },
}

impl fmt::Display for SourceNotice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceNotice::TruncatedFile { input, offset } => {
                write!(
                    f,
                    "input {input}: file ends inside the record at byte {offset}"
                )
            }
            SourceNotice::SkippedBlock {
                input,
                offset,
                kind,
            } => {
                write!(f, "input {input}: skipped block at byte {offset}: {kind}")
            }
            SourceNotice::NoticesDropped { count } => {
                write!(f, "{count} further source notices dropped")
            }
        }
    }
}

/// How far a source has read, for a progress bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Progress {
    /// Bytes read from the inputs so far (compressed bytes for gzip inputs).
    pub bytes_done: u64,
    /// Total size of all inputs when every one is a regular file; `None` if any is a pipe.
    pub bytes_total: Option<u64>,
}

/// What a source has next: a frame, the news that nothing arrived until a time (live capture:
/// the pipeline uses it to give quiet connections their verdicts), or the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next<'a> {
    /// A frame, as from [`Source::next_frame`].
    Frame(Frame<'a>),
    /// No frame arrived; this is the time now.
    Idle(Timestamp),
    /// No more frames (end of the last input, or a stopped capture).
    End,
}

/// What the kernel counted for a live capture (`PACKET_STATISTICS`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CaptureStats {
    /// Packets that passed the capture filter.
    pub received: u64,
    /// Of those, packets the kernel dropped because smcdump did not read them in time.
    pub dropped: u64,
}

/// A supplier of frames: pcap/pcapng files here, a live interface elsewhere.
pub trait Source {
    /// The next frame, `Ok(None)` at the end of the last input.
    ///
    /// The returned frame borrows the source; the previous frame's buffer is released at the start
    /// of this call. After an `Err`, the failing input is abandoned and the next call continues
    /// with the next input.
    fn next_frame(&mut self) -> Result<Option<Frame<'_>>, DissectError>;
    /// Notices queued since the last call (bounded; see [`SourceNotice::NoticesDropped`]).
    fn take_notices(&mut self) -> Vec<SourceNotice>;
    /// Bytes read so far, and the total when known.
    fn progress(&self) -> Progress;
    /// Names of the inputs, indexed by [`Frame::input`].
    fn input_names(&self) -> &[String];
    /// The next frame or, for a live source, an idle tick; what the pipeline calls.
    fn next_event(&mut self) -> Result<Next<'_>, DissectError> {
        Ok(self.next_frame()?.map_or(Next::End, Next::Frame))
    }
    /// The kernel's capture counters (live sources only).
    fn capture_stats(&mut self) -> Option<CaptureStats> {
        None
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn timestamp_carries_and_orders() {
        assert_eq!(
            Timestamp::new(1, 2_500_000_000),
            Timestamp {
                secs: 3,
                nanos: 500_000_000
            }
        );
        assert!(
            Timestamp {
                secs: 1,
                nanos: 999
            } < Timestamp { secs: 2, nanos: 0 }
        );
        let a = Timestamp {
            secs: 10,
            nanos: 900_000_000,
        };
        let b = Timestamp {
            secs: 12,
            nanos: 100_000_000,
        };
        assert_eq!(b.nanos_since(a), 1_200_000_000);
        assert_eq!(a.nanos_since(b), -1_200_000_000);
    }

    #[test]
    fn timestamp_display_like_frame_time_epoch() {
        let t = Timestamp {
            secs: 1_573_999_034,
            nanos: 499_000,
        };
        assert_eq!(t.to_string(), "1573999034.000499000");
        assert_eq!(
            Timestamp {
                secs: -1,
                nanos: 500_000_000
            }
            .to_string(),
            "-0.500000000"
        );
        assert_eq!(
            Timestamp {
                secs: -2,
                nanos: 500_000_000
            }
            .to_string(),
            "-1.500000000"
        );
    }

    #[test]
    fn link_type_display() {
        assert_eq!(LinkType::LINUX_SLL2.to_string(), "LINUX_SLL2");
        assert_eq!(LinkType(147).to_string(), "LinkType(147)");
    }
}
