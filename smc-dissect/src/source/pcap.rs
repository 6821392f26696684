//! pcap and pcapng files (and pipes), read with pcap-parser in constant memory.
//!
//! # How an input is read
//! 1. Its first bytes are probed once: `1f 8b` is gzip (RFC 1952 §2.3.1 ID1 ID2), then decompressed
//!    with `MultiGzDecoder` (several gzip members, as `cat a.gz b.gz` makes) and probed again;
//!    a pcap magic (both byte orders, µs and ns, and the "modified" Kuznetzov format) or the
//!    pcapng Section Header Block type `0a 0d 0d 0a` picks the reader. The header is read whole
//!    before pcap-parser sees it, so a pipe that delivers a few bytes at a time still probes.
//! 2. pcap-parser's streaming reader parses one record at a time from a buffer of
//!    [`INITIAL_BUFFER`] bytes. `Incomplete` refills it; a record larger than the buffer grows it,
//!    up to [`MAX_BLOCK`], beyond which the input fails with [`DissectError::BlockTooLarge`]
//!    (a corrupt length, not a real packet: libpcap's own limit is 256 KiB). Standard pcap
//!    records whole in the buffer are read directly ([`Input::advance_fast`]), without
//!    pcap-parser's parser: this runs for every frame.
//! 3. A regular, uncompressed file (unless [`set_mmap`] turned it off) is instead read through
//!    a memory map (`mapped.rs`): the same parsing where the bytes lie, without `read(2)`
//!    copying them into the buffer first, and with the same frames, notices and errors.
//! 4. A frame borrows the buffer (or the map); the record is consumed at the start of the next
//!    call (style §4.1). The buffer never grows past [`MAX_BLOCK`], the pcapng interface table
//!    never past [`MAX_INTERFACES`] entries, the notice queue never past [`MAX_NOTICES`], the
//!    map never past `mapped::WINDOW` + `MAX_BLOCK`: memory does not depend on the input size.
//!
//! # Endings and damage
//! - A file (or gzip stream) that ends inside a record: [`SourceNotice::TruncatedFile`], and
//!   reading goes on with the next input. Frames before the cut were all delivered.
//! - A pcapng block that fails to parse but whose leading and trailing lengths agree is skipped
//!   with [`SourceNotice::SkippedBlock`] (pcapng §3.1: both length fields frame the block); any
//!   other framing damage stops the input with [`DissectError::Pcap`].
//! - A packet naming an interface that no Interface Description Block declared is skipped with a
//!   notice (Wireshark stops the file there; one bad block should not cost the rest).
//!
//! # Frame numbers
//! `Frame::number` counts packet records from 1 per input, as Wireshark numbers frames: pcap
//! records, pcapng Enhanced and Simple Packet Blocks, and systemd Journal Export and Custom
//! Blocks (which Wireshark shows as frames, so they take a number here although they are not
//! returned). A packet skipped for an undeclared interface also takes its number.

use super::mapped::Mapped;
use super::{Frame, LinkType, Progress, Source, SourceNotice, Timestamp};
use crate::error::DissectError;
use flate2::read::MultiGzDecoder;
use pcap_parser::pcapng::{Block, OptionCode, PcapNGOption};
use pcap_parser::traits::{PcapNGPacketBlock, PcapReaderIterator};
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError, PcapNGReader};
use std::cell::Cell;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Cursor, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Initial size of the read buffer of each input.
pub const INITIAL_BUFFER: usize = 64 * 1024;
/// The largest record or block accepted; the buffer grows up to this and no further.
pub const MAX_BLOCK: usize = 1 << 20;
/// Interface Description Blocks kept per pcapng section; later ones are skipped with a notice.
pub const MAX_INTERFACES: usize = 4096;
/// Notices kept between two `take_notices` calls; later ones are counted, not kept.
pub const MAX_NOTICES: usize = 1024;

/// Whether [`PcapSource::open`] reads regular files through a memory map (see [`set_mmap`]).
static MMAP: AtomicBool = AtomicBool::new(true);

/// Chooses how [`PcapSource::open`] reads regular, uncompressed files from now on: through a
/// memory map (the default; no copy into a buffer, see `mapped.rs`) or, with `false`, with
/// `read(2)` like pipes. A mapped file that another process truncates while it is read ends the
/// process with SIGBUS; smcdump's `--no-mmap` sets `false`.
pub fn set_mmap(enabled: bool) {
    MMAP.store(enabled, Ordering::Relaxed);
}

/// How `-` (standard input) is named in messages and [`Source::input_names`].
pub const STDIN_NAME: &str = "<stdin>";

mod magic {
    /// gzip member header ID1 ID2 (RFC 1952 §2.3.1).
    pub const GZIP: [u8; 2] = [0x1f, 0x8b];
    /// pcapng Section Header Block type 0x0A0D0D0A (draft-ietf-opsawg-pcapng §4.1), palindromic.
    pub const PCAPNG_SHB: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
    /// pcapng byte-order magic 0x1A2B3C4D as written little-endian (draft-ietf-opsawg-pcapng §4.1).
    pub const PCAPNG_BOM_LE: [u8; 4] = [0x4d, 0x3c, 0x2b, 0x1a];
    /// pcapng byte-order magic as written big-endian.
    pub const PCAPNG_BOM_BE: [u8; 4] = [0x1a, 0x2b, 0x3c, 0x4d];
    /// pcap magics as they appear on disk (draft-ietf-opsawg-pcap §4: 0xA1B2C3D4 µs, 0xA1B23C4D ns,
    /// both byte orders; 0xA1B2CD34 the "modified" format of Alexey Kuznetzov's patches, Wireshark
    /// wiretap `libpcap.c`).
    pub const PCAP: [[u8; 4]; 6] = [
        [0xd4, 0xc3, 0xb2, 0xa1], // µs, little-endian
        [0xa1, 0xb2, 0xc3, 0xd4], // µs, big-endian
        [0x4d, 0x3c, 0xb2, 0xa1], // ns, little-endian
        [0xa1, 0xb2, 0x3c, 0x4d], // ns, big-endian
        [0x34, 0xcd, 0xb2, 0xa1], // modified, little-endian
        [0xa1, 0xb2, 0xcd, 0x34], // modified, big-endian
    ];
    /// pcap file header length (draft-ietf-opsawg-pcap §4).
    pub const PCAP_HEADER_LEN: usize = 24;
    /// Smallest pcapng Section Header Block: type, length, BOM, versions, section length, length.
    pub const PCAPNG_SHB_MIN: usize = 28;
    /// Bytes of a pcapng block before its body: block type and total length (§3.1).
    pub const PCAPNG_BLOCK_HEAD: usize = 8;
    /// Bytes of a pcapng SHB needed to know its length and byte order.
    pub const PCAPNG_SHB_PROBE: usize = 12;
    /// Size of a pcap record header (§5): ts_sec, ts_usec/nsec, caplen, origlen.
    pub const PCAP_RECORD_HEAD: usize = 16;
    /// Mask of the link type in the pcap header's LinkType field (libpcap `LT_LINKTYPE`); the
    /// upper bits carry FCS information (draft-ietf-opsawg-pcap §4 "FCS len", "f").
    pub const PCAP_LINKTYPE_MASK: u32 = 0x03ff_ffff;
}

/// What an input is, once opened.
enum Pending {
    /// A path to open when its turn comes.
    Path(PathBuf),
    /// Standard input, opened when its turn comes.
    Stdin,
    /// A reader supplied by the caller.
    Reader(Box<dyn Read>),
}

/// State shared between an input's read adapter (owned by pcap-parser) and its reader state.
#[derive(Default)]
struct Shared {
    /// The last I/O error, kept because pcap-parser reduces it to `ReadError`.
    error: Cell<Option<io::Error>>,
    /// The decompressor hit the end of its input inside a gzip member.
    cut: Cell<bool>,
}

/// Counts the bytes read from an input's file or pipe for [`Progress`].
struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get().saturating_add(n as u64));
        Ok(n)
    }
}

/// The reader pcap-parser owns: serves the already-probed header first, retries interrupted
/// reads, turns a cut gzip stream into end of input, and keeps other errors for the caller.
struct Guard {
    prefix: Vec<u8>,
    at: usize,
    inner: Box<dyn Read>,
    shared: Rc<Shared>,
}

impl Read for Guard {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(rest) = self.prefix.get(self.at..).filter(|r| !r.is_empty()) {
            let n = rest.len().min(buf.len());
            buf[..n].copy_from_slice(&rest[..n]);
            self.at += n;
            if self.at == self.prefix.len() {
                self.prefix = Vec::new();
                self.at = 0;
            }
            return Ok(n);
        }
        read_retrying(&mut self.inner, buf, &self.shared)
    }
}

/// One `read`, retrying `Interrupted`; `UnexpectedEof` (flate2 on a cut gzip member) becomes end of
/// input with `shared.cut` set; other errors are stored in `shared.error`.
fn read_retrying(r: &mut dyn Read, buf: &mut [u8], shared: &Shared) -> io::Result<usize> {
    loop {
        match r.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                shared.cut.set(true);
                return Ok(0);
            }
            Err(e) => {
                let kind = e.kind();
                shared.error.set(Some(e));
                return Err(io::Error::from(kind));
            }
        }
    }
}

/// Reads until `want` bytes are in `out` or the input ends.
fn read_at_least(
    r: &mut dyn Read,
    out: &mut Vec<u8>,
    want: usize,
    shared: &Shared,
) -> io::Result<()> {
    let mut chunk = [0u8; 4096];
    while out.len() < want {
        let ask = (want - out.len()).min(chunk.len());
        let n = read_retrying(r, &mut chunk[..ask], shared)
            .map_err(|e| shared.error.take().unwrap_or(e))?;
        if n == 0 {
            break;
        }
        out.extend_from_slice(&chunk[..n]);
    }
    Ok(())
}

/// The two pcap-parser readers, dispatched by `match` (no `dyn` per record).
enum Reader {
    Legacy(LegacyPcapReader<Guard>),
    Ng(PcapNGReader<Guard>),
    Mapped(Box<Mapped>),
}

macro_rules! with_reader {
    ($self:expr, $r:ident => $e:expr) => {
        match $self {
            Reader::Legacy($r) => $e,
            Reader::Ng($r) => $e,
            Reader::Mapped($r) => $e,
        }
    };
}

impl Reader {
    fn next(&mut self) -> Result<(usize, PcapBlockOwned<'_>), PcapError<&[u8]>> {
        with_reader!(self, r => r.next())
    }
    /// Marks `n` bytes read without moving the rest of the buffer: `refill` moves the leftover
    /// partial record once before reading (pcap-parser's `consume` would move half the buffer
    /// every time the read position passes its middle — a copy of about half of all input).
    fn consume(&mut self, n: usize) {
        with_reader!(self, r => r.consume_noshift(n))
    }
    fn refill(&mut self) -> Result<(), PcapError<&[u8]>> {
        with_reader!(self, r => r.refill())
    }
    fn grow(&mut self, size: usize) -> bool {
        with_reader!(self, r => r.grow(size))
    }
    fn data(&self) -> &[u8] {
        with_reader!(self, r => r.data())
    }
    fn consumed(&self) -> usize {
        with_reader!(self, r => r.consumed())
    }
    fn exhausted(&self) -> bool {
        with_reader!(self, r => r.reader_exhausted())
    }
    /// pcap rather than pcapng.
    fn is_legacy(&self) -> bool {
        match self {
            Reader::Legacy(_) => true,
            Reader::Ng(_) => false,
            Reader::Mapped(m) => m.is_legacy(),
        }
    }
}

/// A pcapng interface, from its Interface Description Block (pcapng §4.2).
#[derive(Clone, Copy, Debug)]
struct Interface {
    link: LinkType,
    /// Timestamp units per second (`if_tsresol`, §4.2 option 9), 0 if the option is unusable.
    units_per_sec: u128,
    /// Seconds added to every timestamp (`if_tsoffset`, §4.2 option 14).
    offset_secs: i64,
}

impl Interface {
    /// `if_tsresol`: most significant bit clear, a negative power of 10; set, of 2 (§4.2).
    fn units_per_sec(tsresol: u8) -> u128 {
        let exp = u32::from(tsresol & 0x7f);
        if tsresol & 0x80 == 0 {
            10u128.checked_pow(exp).unwrap_or(0)
        } else {
            2u128.checked_pow(exp).unwrap_or(0)
        }
    }

    /// EPB timestamp: a 64-bit count of units, high word first (§4.3).
    fn timestamp(&self, high: u32, low: u32) -> Timestamp {
        let units = u128::from((u64::from(high) << 32) | u64::from(low));
        // default resolution 10^-6 when the option is absent or unusable (§4.2 if_tsresol)
        let per = if self.units_per_sec == 0 {
            1_000_000
        } else {
            self.units_per_sec
        };
        let secs = i64::try_from(units / per).unwrap_or(i64::MAX);
        // frac < per and units < 2^64, so frac * 1e9 < 2^94 fits u128
        let nanos = (units % per) * 1_000_000_000 / per;
        Timestamp::new(
            secs.saturating_add(self.offset_secs),
            u64::try_from(nanos).unwrap_or(0),
        )
    }
}

/// Where a frame's bytes are in the reader's buffer, and what the record said about it.
struct FrameMeta {
    start: usize,
    len: usize,
    number: u64,
    ts: Timestamp,
    link_type: LinkType,
    origlen: u32,
}

/// What to do after looking at the reader's next record (owned, so the record's borrow ends).
enum Step {
    Frame { consume: usize, meta: FrameMeta },
    Skip(usize),
    Refill,
    Grow,
    End,
    Truncated,
    ReadError,
    Corrupt(String),
}

/// Bounded notice queue.
#[derive(Default)]
struct Notices {
    queue: Vec<SourceNotice>,
    dropped: u64,
}

impl Notices {
    fn push(&mut self, n: SourceNotice) {
        if self.queue.len() < MAX_NOTICES {
            self.queue.push(n);
        } else {
            self.dropped += 1;
        }
    }
}

/// The input being read.
struct Input {
    index: u16,
    name: String,
    reader: Reader,
    shared: Rc<Shared>,
    /// Link type and timestamp precision from the pcap file header.
    legacy_link: LinkType,
    legacy_nanos: bool,
    legacy_big_endian: bool,
    /// The pcap header was read and its records are the standard 16-byte-header ones: whole
    /// records are parsed by [`Input::fast_legacy`], the rest by pcap-parser.
    legacy_fast: bool,
    /// Byte order of the current pcapng section.
    ng_big_endian: bool,
    interfaces: Vec<Interface>,
    /// Packet records seen so far.
    number: u64,
    /// Bytes of the last returned record, consumed at the next call.
    pending: usize,
    capacity: usize,
}

impl Input {
    fn offset(&self) -> u64 {
        self.reader.consumed() as u64
    }

    fn io_error(&self) -> DissectError {
        let source = self
            .shared
            .error
            .take()
            .unwrap_or_else(|| io::Error::other("read failed"));
        DissectError::Io {
            path: self.name.clone(),
            source,
        }
    }

    /// Reads records until a packet: `Ok(Some)` with its place in the buffer, `Ok(None)` at the
    /// end of this input.
    fn advance(&mut self, notices: &mut Notices) -> Result<Option<FrameMeta>, DissectError> {
        if self.pending > 0 {
            self.reader.consume(self.pending);
            self.pending = 0;
        }
        loop {
            let step = self.step(notices);
            match step {
                Step::Frame { consume, meta } => {
                    self.pending = consume;
                    return Ok(Some(meta));
                }
                Step::Skip(n) => self.reader.consume(n),
                Step::Refill => {
                    let before = self.reader.data().len();
                    if self.reader.refill().is_err() {
                        return Err(self.io_error());
                    }
                    if self.reader.data().len() == before && !self.reader.exhausted() {
                        // the buffer is full and still holds no whole record
                        self.grow()?;
                    }
                }
                Step::Grow => self.grow()?,
                Step::End => {
                    if self.shared.cut.get() {
                        // the gzip stream was cut at a record boundary
                        notices.push(SourceNotice::TruncatedFile {
                            input: self.index,
                            offset: self.offset(),
                        });
                    }
                    return Ok(None);
                }
                Step::Truncated => {
                    notices.push(SourceNotice::TruncatedFile {
                        input: self.index,
                        offset: self.offset(),
                    });
                    return Ok(None);
                }
                Step::ReadError => return Err(self.io_error()),
                Step::Corrupt(message) => {
                    return Err(DissectError::Pcap {
                        path: self.name.clone(),
                        offset: self.offset(),
                        message,
                    })
                }
            }
        }
    }

    fn grow(&mut self) -> Result<(), DissectError> {
        if self.capacity < MAX_BLOCK {
            self.capacity = (self.capacity * 2).min(MAX_BLOCK);
            if self.reader.grow(self.capacity) {
                return Ok(());
            }
        }
        Err(DissectError::BlockTooLarge {
            path: self.name.clone(),
            offset: self.offset(),
            size: self.declared_size(),
        })
    }

    /// The size the record at the head of the buffer declares (for the error message).
    fn declared_size(&self) -> u64 {
        let data = self.reader.data();
        let (at, big_endian, head) = if self.reader.is_legacy() {
            // pcap record header: caplen at byte 8 (§5)
            (8, self.legacy_big_endian, magic::PCAP_RECORD_HEAD as u64)
        } else {
            // pcapng block: total length at byte 4 (§3.1)
            (4, self.ng_big_endian, 0)
        };
        let Some(b) = data
            .get(at..at + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
        else {
            return data.len() as u64;
        };
        let n = if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        };
        u64::from(n) + head
    }

    /// A whole standard pcap record at the head of the buffer, read directly: the same fields
    /// pcap-parser's `parse_pcap_frame`/`_be` read (draft-ietf-opsawg-pcap §5: seconds,
    /// sub-seconds, captured length, original length, data), without its parser and block enum
    /// on the way — this runs for every frame. `None` when the record is not whole: the general
    /// path then refills, grows or reports the end.
    #[inline]
    fn fast_legacy(&mut self) -> Option<(usize, FrameMeta)> {
        let big_endian = self.legacy_big_endian;
        let data = self.reader.data();
        let head = data.get(..magic::PCAP_RECORD_HEAD)?;
        let word = |at: usize| {
            let b = [head[at], head[at + 1], head[at + 2], head[at + 3]];
            if big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        };
        let (ts_sec, ts_sub, caplen, origlen) = (word(0), word(4), word(8), word(12));
        let len = usize::try_from(caplen).ok()?;
        // a record of MAX_BLOCK bytes or more goes the general way, which refuses it (a buffered
        // reader never holds one whole; a mapped file may)
        if data.len() - magic::PCAP_RECORD_HEAD < len || len >= MAX_BLOCK - magic::PCAP_RECORD_HEAD
        {
            return None;
        }
        self.number += 1;
        // ts_usec holds nanoseconds in a 0xA1B23C4D file (draft-ietf-opsawg-pcap §4)
        let sub = if self.legacy_nanos {
            u64::from(ts_sub)
        } else {
            u64::from(ts_sub) * 1000
        };
        Some((
            magic::PCAP_RECORD_HEAD + len,
            FrameMeta {
                start: magic::PCAP_RECORD_HEAD,
                len,
                number: self.number,
                ts: Timestamp::new(i64::from(ts_sec), sub),
                link_type: self.legacy_link,
                origlen,
            },
        ))
    }

    /// The per-frame path of a standard pcap file: consume the last record and read the next
    /// one with [`Input::fast_legacy`], without the general path's steps. `None` when the next
    /// record is not whole in the buffer (or the input is pcapng): [`Input::advance`] decides.
    #[inline]
    fn advance_fast(&mut self) -> Option<FrameMeta> {
        if !self.legacy_fast {
            return None;
        }
        if self.pending > 0 {
            self.reader.consume(self.pending);
            self.pending = 0;
        }
        let (consume, meta) = self.fast_legacy()?;
        self.pending = consume;
        Some(meta)
    }

    /// Looks at the next record and decides; the borrow of the buffer ends with this function.
    fn step(&mut self, notices: &mut Notices) -> Step {
        if self.legacy_fast {
            if let Some((consume, meta)) = self.fast_legacy() {
                return Step::Frame { consume, meta };
            }
        }
        let base = self.reader.data().as_ptr() as usize;
        let offset = self.reader.consumed() as u64;
        let index = self.index;
        // everything the match needs from `self` besides the reader, so the block can borrow it
        let (legacy_link, legacy_nanos) = (self.legacy_link, self.legacy_nanos);
        let next = self.reader.next();
        let step = match next {
            Ok((consume, PcapBlockOwned::LegacyHeader(h))) => {
                self.legacy_link = LinkType(h.network.0 as u32 & magic::PCAP_LINKTYPE_MASK);
                self.legacy_nanos = h.is_nanosecond_precision();
                self.legacy_big_endian = h.is_bigendian();
                self.legacy_fast = !h.is_modified_format();
                Step::Skip(consume)
            }
            Ok((consume, PcapBlockOwned::Legacy(b))) => {
                self.number += 1;
                // ts_usec holds nanoseconds in a 0xA1B23C4D file (draft-ietf-opsawg-pcap §4)
                let sub = if legacy_nanos {
                    u64::from(b.ts_usec)
                } else {
                    u64::from(b.ts_usec) * 1000
                };
                let meta = FrameMeta {
                    start: (b.data.as_ptr() as usize).wrapping_sub(base),
                    len: b.data.len(),
                    number: self.number,
                    ts: Timestamp::new(i64::from(b.ts_sec), sub),
                    link_type: legacy_link,
                    origlen: b.origlen,
                };
                Step::Frame { consume, meta }
            }
            Ok((consume, PcapBlockOwned::NG(block))) => match block {
                Block::SectionHeader(shb) => {
                    // a new section starts a new interface table (pcapng §4.1)
                    self.ng_big_endian = shb.big_endian();
                    self.interfaces.clear();
                    Step::Skip(consume)
                }
                Block::InterfaceDescription(idb) => {
                    if self.interfaces.len() < MAX_INTERFACES {
                        self.interfaces.push(Interface {
                            link: LinkType(idb.linktype.0 as u32),
                            units_per_sec: Interface::units_per_sec(idb.if_tsresol),
                            offset_secs: tsoffset(&idb.options, self.ng_big_endian),
                        });
                    } else {
                        notices.push(SourceNotice::SkippedBlock {
                            input: index,
                            offset,
                            kind: format!(
                                "interface description beyond the first {MAX_INTERFACES}"
                            ),
                        });
                    }
                    Step::Skip(consume)
                }
                Block::EnhancedPacket(epb) => {
                    self.number += 1;
                    let Some(iface) = usize::try_from(epb.if_id)
                        .ok()
                        .and_then(|i| self.interfaces.get(i))
                    else {
                        notices.push(SourceNotice::SkippedBlock {
                            input: index,
                            offset,
                            kind: format!("packet for undeclared interface {}", epb.if_id),
                        });
                        return Step::Skip(consume);
                    };
                    let data = epb.packet_data();
                    let meta = FrameMeta {
                        start: (data.as_ptr() as usize).wrapping_sub(base),
                        len: data.len(),
                        number: self.number,
                        ts: iface.timestamp(epb.ts_high, epb.ts_low),
                        link_type: iface.link,
                        origlen: epb.origlen,
                    };
                    Step::Frame { consume, meta }
                }
                Block::SimplePacket(spb) => {
                    self.number += 1;
                    // an SPB belongs to the first interface and has no timestamp (pcapng §4.4)
                    let Some(iface) = self.interfaces.first() else {
                        notices.push(SourceNotice::SkippedBlock {
                            input: index,
                            offset,
                            kind: "simple packet block before any interface description".into(),
                        });
                        return Step::Skip(consume);
                    };
                    let data = spb.packet_data();
                    let meta = FrameMeta {
                        start: (data.as_ptr() as usize).wrapping_sub(base),
                        len: data.len(),
                        number: self.number,
                        ts: Timestamp::default(),
                        link_type: iface.link,
                        origlen: spb.origlen,
                    };
                    Step::Frame { consume, meta }
                }
                Block::SystemdJournalExport(_) | Block::Custom(_) => {
                    // Wireshark numbers these as frames (wiretap REC_TYPE_SYSTEMD_JOURNAL_EXPORT,
                    // REC_TYPE_CUSTOM_BLOCK; tshark 4.0 lists a custom block as a frame)
                    self.number += 1;
                    Step::Skip(consume)
                }
                _ => Step::Skip(consume),
            },
            Err(PcapError::Eof) => Step::End,
            Err(PcapError::UnexpectedEof) => Step::Truncated,
            Err(PcapError::Incomplete(_)) => Step::Refill,
            Err(PcapError::BufferTooSmall) => Step::Grow,
            Err(PcapError::ReadError) => Step::ReadError,
            Err(e) => Step::Corrupt(describe(&e)),
        };
        match step {
            Step::Corrupt(message) => self.skip_corrupt_block(offset, message, notices),
            Step::Refill | Step::Grow | Step::Truncated if self.whole_block_buffered() => {
                // the block's declared length is all here, yet a field inside it claims more
                // (pcap-parser parses block bodies with streaming `take`)
                let message = "a field runs past the end of its block".to_string();
                self.skip_corrupt_block(offset, message, notices)
            }
            step => step,
        }
    }

    /// A pcapng block's length word, in the current section's byte order.
    fn ng_word(&self, at: usize) -> Option<u32> {
        let data = self.reader.data();
        let b = <[u8; 4]>::try_from(data.get(at..at.checked_add(4)?)?).ok()?;
        Some(if self.ng_big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    /// Whether the pcapng block at the head of the buffer is wholly buffered by its declared
    /// total length (§3.1). A Section Header Block is never judged this way: its length is in
    /// its own byte order, which may not be the current section's.
    fn whole_block_buffered(&self) -> bool {
        if self.reader.is_legacy() || self.reader.data().starts_with(&magic::PCAPNG_SHB) {
            return false;
        }
        match self.ng_word(4).and_then(|l| usize::try_from(l).ok()) {
            Some(len) => len >= 12 && self.reader.data().len() >= len,
            None => false,
        }
    }

    /// A pcapng block that does not parse is skipped when its two length fields agree (§3.1).
    fn skip_corrupt_block(&self, offset: u64, message: String, notices: &mut Notices) -> Step {
        if self.reader.is_legacy() {
            return Step::Corrupt(message);
        }
        let word = |at: usize| self.ng_word(at);
        let skip = (|| {
            let block_type = word(0)?;
            let len = usize::try_from(word(4)?).ok()?;
            // a block is at least type + two lengths, 32-bit aligned (§3.1)
            if len < 12 || len % 4 != 0 || block_type == u32::from_le_bytes(magic::PCAPNG_SHB) {
                return None;
            }
            (word(len - 4)? == word(4)?).then_some((block_type, len))
        })();
        match skip {
            Some((block_type, len)) => {
                notices.push(SourceNotice::SkippedBlock {
                    input: self.index,
                    offset,
                    kind: format!("corrupt block of type 0x{block_type:08x} ({message})"),
                });
                Step::Skip(len)
            }
            None => Step::Corrupt(message),
        }
    }
}

/// `if_tsoffset` (pcapng §4.2 option 14): a signed 64-bit count of seconds in the section's byte
/// order. (pcap-parser's `if_tsoffset` field always reads it little-endian.)
fn tsoffset(options: &[PcapNGOption<'_>], big_endian: bool) -> i64 {
    options
        .iter()
        .find(|o| o.code == OptionCode::IfTsoffset)
        .and_then(|o| <[u8; 8]>::try_from(o.as_bytes().ok()?.get(..8)?).ok())
        .map_or(0, |b| {
            if big_endian {
                i64::from_be_bytes(b)
            } else {
                i64::from_le_bytes(b)
            }
        })
}

/// One line for a pcap-parser error.
fn describe<I>(e: &PcapError<I>) -> String {
    match e {
        PcapError::NomError(_, kind) | PcapError::OwnedNomError(_, kind) => {
            format!("block does not parse ({kind:?})")
        }
        PcapError::HeaderNotRecognized => "header not recognized".into(),
        PcapError::Eof => "end of file".into(),
        PcapError::UnexpectedEof => "unexpected end of file".into(),
        PcapError::BufferTooSmall => "record larger than the buffer".into(),
        PcapError::ReadError => "read error".into(),
        PcapError::Incomplete(n) => format!("incomplete record ({n} more bytes needed)"),
    }
}

/// Frames from pcap and pcapng files, gzip-compressed or not, read one after another.
///
/// Not `Send`: inputs are arbitrary `Read`ers. See the [module docs](self) for the policies.
pub struct PcapSource {
    names: Vec<String>,
    queue: VecDeque<(u16, Pending)>,
    current: Option<Input>,
    notices: Notices,
    bytes_done: Rc<Cell<u64>>,
    bytes_total: Option<u64>,
    /// Read regular, uncompressed files through a memory map.
    mmap: bool,
}

impl PcapSource {
    /// Opens capture files (`-` is standard input) to be read in the order given.
    ///
    /// The first input is opened and its header read now; every other regular file is opened
    /// and its first bytes checked now, so a missing or non-capture file fails before any output.
    /// Pipes (`<(…)`) are only opened when their turn comes.
    ///
    /// Regular, uncompressed files are read through a memory map unless [`set_mmap`] turned
    /// that off.
    pub fn open(paths: &[PathBuf]) -> Result<PcapSource, DissectError> {
        PcapSource::open_with(paths, MMAP.load(Ordering::Relaxed))
    }

    /// Like [`PcapSource::open`]; `mmap` says whether regular, uncompressed files are read
    /// through a memory map (`false`: with `read(2)`, like pipes).
    pub fn open_with(paths: &[PathBuf], mmap: bool) -> Result<PcapSource, DissectError> {
        let mut names = Vec::with_capacity(paths.len());
        let mut queue = VecDeque::with_capacity(paths.len());
        let mut bytes_total = Some(0u64);
        for (i, path) in paths.iter().enumerate() {
            let name = if path.as_os_str() == "-" {
                STDIN_NAME.to_string()
            } else {
                path.display().to_string()
            };
            let Ok(index) = u16::try_from(i) else {
                return Err(DissectError::Io {
                    path: name,
                    source: io::Error::other(format!(
                        "more than {} input files",
                        u32::from(u16::MAX) + 1
                    )),
                });
            };
            if path.as_os_str() == "-" {
                bytes_total = None;
                queue.push_back((index, Pending::Stdin));
            } else {
                // the first input is opened and probed right below
                let size = precheck(path, &name, i > 0)?;
                bytes_total = bytes_total.zip(size).map(|(a, b)| a.saturating_add(b));
                queue.push_back((index, Pending::Path(path.clone())));
            }
            names.push(name);
        }
        let mut source = PcapSource {
            names,
            queue,
            current: None,
            notices: Notices::default(),
            bytes_done: Rc::new(Cell::new(0)),
            bytes_total,
            mmap,
        };
        source.start_next()?;
        Ok(source)
    }

    /// Reads one capture from any reader (a pipe, a buffer in a test or fuzz target).
    ///
    /// The header is read now, so a non-capture fails here.
    pub fn from_reader(name: &str, r: Box<dyn Read>) -> Result<PcapSource, DissectError> {
        let mut source = PcapSource {
            names: vec![name.to_string()],
            queue: VecDeque::from([(0, Pending::Reader(r))]),
            current: None,
            notices: Notices::default(),
            bytes_done: Rc::new(Cell::new(0)),
            bytes_total: None,
            mmap: false,
        };
        source.start_next()?;
        Ok(source)
    }

    /// Opens the next queued input; `Ok(false)` when none is left.
    fn start_next(&mut self) -> Result<bool, DissectError> {
        let Some((index, pending)) = self.queue.pop_front() else {
            return Ok(false);
        };
        let name = self
            .names
            .get(usize::from(index))
            .cloned()
            .unwrap_or_default();
        let mut mappable = None;
        let raw: Box<dyn Read> = match pending {
            Pending::Path(p) => {
                let file = File::open(&p).map_err(|source| DissectError::Io {
                    path: name.clone(),
                    source,
                })?;
                if self.mmap {
                    mappable = regular(&file);
                }
                Box::new(file)
            }
            Pending::Stdin => Box::new(io::stdin().lock()),
            Pending::Reader(r) => r,
        };
        let counted = Counting {
            inner: raw,
            count: Rc::clone(&self.bytes_done),
        };
        self.current = start_input(
            index,
            name,
            Box::new(counted),
            mappable.map(|(f, len)| (f, len, Rc::clone(&self.bytes_done))),
            &mut self.notices,
        )?;
        Ok(true)
    }
}

#[cfg(test)]
impl PcapSource {
    /// Whether the input being read goes through a memory map.
    pub(crate) fn reading_mapped(&self) -> bool {
        self.current
            .as_ref()
            .is_some_and(|i| matches!(i.reader, Reader::Mapped(_)))
    }
}

/// Checks that a file exists and, if `magic` and it is a regular file, that it starts like a
/// capture (or gzip); returns its size if regular. A pipe or device is not opened here: reading
/// from it now would take bytes the real read needs (`-r <(zcat x.pcap.gz)`).
fn precheck(path: &Path, name: &str, magic: bool) -> Result<Option<u64>, DissectError> {
    let io_err = |source| DissectError::Io {
        path: name.to_string(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io_err)?;
    if meta.is_dir() {
        return Err(io_err(io::Error::other("is a directory")));
    }
    if !meta.is_file() {
        return Ok(None);
    }
    if magic {
        let mut f = File::open(path).map_err(io_err)?;
        let mut head = Vec::with_capacity(4);
        read_at_least(&mut f, &mut head, 4, &Shared::default()).map_err(io_err)?;
        if !head.starts_with(&magic::GZIP) {
            check_magic(&head, name)?;
        }
    }
    Ok(Some(meta.len()))
}

/// A regular file's own handle for mapping, and its length; `None` for anything else.
fn regular(file: &File) -> Option<(File, u64)> {
    let meta = file
        .metadata()
        .ok()
        .filter(|m| m.is_file() && m.len() > 0)?;
    Some((file.try_clone().ok()?, meta.len()))
}

/// `Ok(true)` for pcapng, `Ok(false)` for pcap, else the error naming what the bytes are.
fn check_magic(head: &[u8], name: &str) -> Result<bool, DissectError> {
    let Ok(m) = <[u8; 4]>::try_from(head.get(..4).unwrap_or(head)) else {
        return Err(DissectError::TooShort {
            path: name.to_string(),
            len: head.len(),
        });
    };
    if m == magic::PCAPNG_SHB {
        Ok(true)
    } else if magic::PCAP.contains(&m) {
        Ok(false)
    } else {
        Err(DissectError::UnknownFormat {
            path: name.to_string(),
            magic: m,
        })
    }
}

/// Probes an input (gzip, pcap or pcapng), reads its header whole and builds the reader.
/// `Ok(None)` if the input ends inside its header (a notice says so).
fn start_input(
    index: u16,
    name: String,
    raw: Box<dyn Read>,
    mappable: Option<(File, u64, Rc<Cell<u64>>)>,
    notices: &mut Notices,
) -> Result<Option<Input>, DissectError> {
    let shared = Rc::new(Shared::default());
    let io_err = |source| DissectError::Io {
        path: name.clone(),
        source,
    };
    let mut stream = raw;
    let mut head = Vec::with_capacity(magic::PCAP_HEADER_LEN);
    read_at_least(&mut stream, &mut head, 4, &shared).map_err(io_err)?;
    let gzip = head.starts_with(&magic::GZIP);
    if gzip {
        let replay = Cursor::new(std::mem::take(&mut head)).chain(stream);
        stream = Box::new(MultiGzDecoder::new(replay));
        read_at_least(&mut stream, &mut head, 4, &shared).map_err(io_err)?;
    }
    let pcapng = check_magic(&head, &name)?;
    let want = if pcapng {
        read_at_least(&mut stream, &mut head, magic::PCAPNG_SHB_PROBE, &shared).map_err(io_err)?;
        match shb_length(&head) {
            Some(Ok(len)) if len > MAX_BLOCK => {
                return Err(DissectError::BlockTooLarge {
                    path: name,
                    offset: 0,
                    size: len as u64,
                })
            }
            Some(Ok(len)) => len,
            Some(Err(message)) => {
                return Err(DissectError::Pcap {
                    path: name,
                    offset: 0,
                    message,
                })
            }
            None => magic::PCAPNG_SHB_PROBE,
        }
    } else {
        magic::PCAP_HEADER_LEN
    };
    read_at_least(&mut stream, &mut head, want, &shared).map_err(io_err)?;
    if head.len() < want {
        notices.push(SourceNotice::TruncatedFile {
            input: index,
            offset: 0,
        });
        return Ok(None);
    }
    let corrupt = |e: PcapError<&[u8]>| DissectError::Pcap {
        path: name.clone(),
        offset: 0,
        message: describe(&e),
    };
    // a regular, uncompressed file is read through a map from here on (`mapped.rs`); if the
    // map cannot be made, `stream` goes on after the header as for a pipe
    let mapped = match mappable.filter(|_| !gzip) {
        Some((file, len, count)) => {
            let m = Mapped::open(file, len, &head, pcapng, Rc::clone(&count)).map_err(corrupt)?;
            if m.is_some() {
                // the map counts the header again as it is consumed
                count.set(count.get().saturating_sub(head.len() as u64));
            }
            m
        }
        None => None,
    };
    let capacity = INITIAL_BUFFER.max(head.len().next_power_of_two());
    let guard = Guard {
        prefix: head,
        at: 0,
        inner: stream,
        shared: Rc::clone(&shared),
    };
    let reader = if let Some(m) = mapped {
        Reader::Mapped(Box::new(m))
    } else if pcapng {
        Reader::Ng(PcapNGReader::new(capacity, guard).map_err(corrupt)?)
    } else {
        Reader::Legacy(LegacyPcapReader::new(capacity, guard).map_err(corrupt)?)
    };
    Ok(Some(Input {
        index,
        name,
        reader,
        shared,
        legacy_link: LinkType::ETHERNET,
        legacy_nanos: false,
        legacy_big_endian: false,
        legacy_fast: false,
        ng_big_endian: false,
        interfaces: Vec::new(),
        number: 0,
        pending: 0,
        capacity,
    }))
}

/// The total length of a pcapng SHB from its first 12 bytes; `None` if fewer are there.
fn shb_length(head: &[u8]) -> Option<Result<usize, String>> {
    let bom = <[u8; 4]>::try_from(head.get(8..12)?).ok()?;
    let len = <[u8; 4]>::try_from(head.get(4..magic::PCAPNG_BLOCK_HEAD)?).ok()?;
    let len = match bom {
        magic::PCAPNG_BOM_LE => u32::from_le_bytes(len),
        magic::PCAPNG_BOM_BE => u32::from_be_bytes(len),
        _ => {
            return Some(Err(format!(
                "bad byte-order magic {bom:02x?} in section header"
            )))
        }
    };
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    if len < magic::PCAPNG_SHB_MIN || len % 4 != 0 {
        return Some(Err(format!(
            "section header length {len} is not a valid block length"
        )));
    }
    Some(Ok(len))
}

impl Source for PcapSource {
    fn next_frame(&mut self) -> Result<Option<Frame<'_>>, DissectError> {
        // a standard pcap record whole in the buffer; else the general path below
        let fast = self.current.as_mut().and_then(Input::advance_fast);
        let meta = if let Some(meta) = fast {
            meta
        } else {
            loop {
                let Some(input) = self.current.as_mut() else {
                    if self.start_next()? {
                        continue;
                    }
                    return Ok(None);
                };
                match input.advance(&mut self.notices) {
                    Ok(Some(meta)) => break meta,
                    Ok(None) => self.current = None,
                    Err(e) => {
                        self.current = None;
                        return Err(e);
                    }
                }
            }
        };
        let Some(input) = self.current.as_ref() else {
            return Ok(None);
        };
        let buf = input.reader.data();
        let data = meta
            .start
            .checked_add(meta.len)
            .and_then(|end| buf.get(meta.start..end))
            // the record's bytes are a sub-slice of the buffer the reader parsed
            .filter(|d| d.as_ptr() as usize == buf.as_ptr() as usize + meta.start)
            .ok_or_else(|| DissectError::Pcap {
                path: input.name.clone(),
                offset: input.offset(),
                message: "packet data outside the read buffer".into(),
            })?;
        Ok(Some(Frame {
            input: input.index,
            number: meta.number,
            ts: meta.ts,
            link_type: meta.link_type,
            caplen: u32::try_from(data.len()).unwrap_or(u32::MAX),
            origlen: meta.origlen,
            data,
        }))
    }

    fn take_notices(&mut self) -> Vec<SourceNotice> {
        let mut out = std::mem::take(&mut self.notices.queue);
        if self.notices.dropped > 0 {
            out.push(SourceNotice::NoticesDropped {
                count: self.notices.dropped,
            });
            self.notices.dropped = 0;
        }
        out
    }

    fn progress(&self) -> Progress {
        Progress {
            bytes_done: self.bytes_done.get(),
            bytes_total: self.bytes_total,
        }
    }

    fn input_names(&self) -> &[String] {
        &self.names
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn tsresol_units() {
        // if_tsresol 6 = 10^-6 s (the default), 9 = ns, 0x80|20 = 2^-20 s (pcapng §4.2 option 9)
        assert_eq!(Interface::units_per_sec(6), 1_000_000);
        assert_eq!(Interface::units_per_sec(9), 1_000_000_000);
        assert_eq!(Interface::units_per_sec(0x80 | 20), 1 << 20);
        assert_eq!(Interface::units_per_sec(0xff), 1 << 127);
        assert_eq!(
            Interface::units_per_sec(60),
            0,
            "10^60 does not fit: unusable"
        );
    }

    #[test]
    fn epb_timestamps() {
        let ns = Interface {
            link: LinkType::ETHERNET,
            units_per_sec: 1_000_000_000,
            offset_secs: 0,
        };
        let t = 1_573_999_034_000_499_123u64;
        assert_eq!(
            ns.timestamp((t >> 32) as u32, t as u32),
            Timestamp {
                secs: 1_573_999_034,
                nanos: 499_123
            }
        );
        let bin = Interface {
            link: LinkType::ETHERNET,
            units_per_sec: 1 << 20,
            offset_secs: 100,
        };
        // 3.5 s in 2^-20 units, plus the 100 s if_tsoffset
        assert_eq!(
            bin.timestamp(0, 7 << 19),
            Timestamp {
                secs: 103,
                nanos: 500_000_000
            }
        );
        let huge = Interface {
            link: LinkType::ETHERNET,
            units_per_sec: 1 << 127,
            offset_secs: i64::MAX,
        };
        assert_eq!(huge.timestamp(u32::MAX, u32::MAX).secs, i64::MAX);
    }

    #[test]
    fn magic_checks() {
        assert!(check_magic(&[0x0a, 0x0d, 0x0d, 0x0a], "x").unwrap());
        assert!(!check_magic(&[0xa1, 0xb2, 0x3c, 0x4d], "x").unwrap());
        assert!(matches!(
            check_magic(&[1, 2], "x"),
            Err(DissectError::TooShort { len: 2, .. })
        ));
        assert!(matches!(
            check_magic(b"GET ", "x"),
            Err(DissectError::UnknownFormat { magic, .. }) if &magic == b"GET "
        ));
    }

    #[test]
    fn shb_length_checks_bom_and_size() {
        let mut h = vec![0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a];
        assert_eq!(shb_length(&h), Some(Ok(28)));
        h[4..8].copy_from_slice(&[0, 0, 0, 28]);
        h[8..12].copy_from_slice(&[0x1a, 0x2b, 0x3c, 0x4d]);
        assert_eq!(shb_length(&h), Some(Ok(28)));
        h[8] = 0;
        assert!(matches!(shb_length(&h), Some(Err(_))));
        assert_eq!(shb_length(&h[..11]), None);
    }

    /// A reader that hands out one byte per call, like a slow pipe.
    struct Trickle(Vec<u8>, usize);
    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match (self.0.get(self.1), buf.first_mut()) {
                (Some(b), Some(out)) => {
                    *out = *b;
                    self.1 += 1;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    #[test]
    fn a_pipe_delivering_one_byte_per_read_still_works() {
        // pcap header LE µs, snaplen 65535, LINKTYPE_RAW, one 4-byte record at t = 1.000002 s
        #[rustfmt::skip]
        let file = vec![
            0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 101, 0, 0, 0,
            1, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 0x45, 0, 0, 4,
        ];
        let mut s = PcapSource::from_reader("pipe", Box::new(Trickle(file, 0))).unwrap();
        let f = s.next_frame().unwrap().unwrap();
        assert_eq!(
            (f.number, f.link_type, f.data),
            (1, LinkType::RAW, &[0x45, 0, 0, 4][..])
        );
        assert_eq!(
            f.ts,
            Timestamp {
                secs: 1,
                nanos: 2000
            }
        );
        assert!(s.next_frame().unwrap().is_none());
        assert!(s.take_notices().is_empty());
        assert_eq!(
            s.progress(),
            Progress {
                bytes_done: 44,
                bytes_total: None
            }
        );
    }

    #[test]
    fn notices_are_bounded() {
        let mut n = Notices::default();
        for i in 0..(MAX_NOTICES as u64 + 5) {
            n.push(SourceNotice::TruncatedFile {
                input: 0,
                offset: i,
            });
        }
        assert_eq!((n.queue.len(), n.dropped), (MAX_NOTICES, 5));
    }
}
