//! Regular, uncompressed capture files read through a memory map: records are parsed where they
//! lie in the page cache, without `read(2)` first copying every byte into a buffer.
//!
//! # Same outcomes as the read path
//! [`Mapped`] implements pcap-parser's [`PcapReaderIterator`], so the pcap source drives it
//! exactly as it drives pcap-parser's buffered readers. It behaves like a buffered reader whose
//! buffer has already grown to its largest ([`MAX_BLOCK`]) and is full: [`Mapped::data`] shows
//! at most `MAX_BLOCK` bytes, a record the parser needs more of is `BufferTooSmall` (the source
//! then fails with `BlockTooLarge`, as after growing a buffer to `MAX_BLOCK`), and a record cut by
//! the end of the file is `UnexpectedEof`. One case needs care: a buffered reader meets a large
//! record with only part of it buffered, and what the parser then asks for decides — a pcap
//! record of exactly `MAX_BLOCK` bytes is refused, a pcapng block of that size is not (its
//! parser first asks for all but the trailing length). [`Mapped::next`] asks the parser the same
//! question. The file header is parsed from the bytes the probe read, as the buffered readers
//! parse it. The tests below compare every frame, notice and error of both paths on every
//! capture in `captures/`, on cut and damaged copies, and on records around `MAX_BLOCK`.
//!
//! # Memory
//! Only [`WINDOW`] plus `MAX_BLOCK` bytes of the file are mapped at a time; the window moves on
//! once the read position has crossed `WINDOW`. Peak memory (mapped file pages count in RSS)
//! does not grow with the file, and a file larger than the address space still reads.
//!
//! # Speed
//! Without a copy, the parser itself would wait for every record header to come from memory —
//! one cache miss after another, since each header's position comes from the previous one.
//! [`Mapped::consume`] therefore asks the CPU to prefetch the [`PREFETCH`] bytes ahead of the
//! read position, one cache line at a time, so the lines stream in as a copy's would.
//!
//! # Hazard
//! A mapped file that another process truncates while smcdump reads it ends smcdump with
//! SIGBUS (ripgrep, which maps files too, has the same hazard); `--no-mmap` reads with `read(2)`.

use super::pcap::MAX_BLOCK;
use memmap2::{Mmap, MmapOptions};
use pcap_parser::nom;
use pcap_parser::pcap::{
    parse_pcap_frame, parse_pcap_frame_be, parse_pcap_frame_modified, parse_pcap_header,
    LegacyPcapBlock, PcapHeader,
};
use pcap_parser::pcapng::{parse_block_be, parse_block_le, parse_sectionheaderblock, Block};
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{PcapBlockOwned, PcapError};
use std::cell::Cell;
use std::fs::File;
use std::rc::Rc;

/// Bytes the read position may advance in one mapping before the window moves.
pub const WINDOW: usize = 2 << 20;
/// Bytes ahead of the read position that are prefetched.
pub const PREFETCH: usize = 1024;
/// Cache line size (x86-64); prefetches are issued once per line.
const LINE: usize = 64;
/// Bytes of a large record that a buffered reader holds when it first meets it, for the
/// question in [`too_large`]: more than any record or block header, less than any large record.
const PARTIAL: usize = 64;

type LegacyParse = fn(&[u8]) -> nom::IResult<&[u8], LegacyPcapBlock<'_>, PcapError<&[u8]>>;

/// What the mapped file holds.
enum Format {
    /// pcap: its header (returned as the first block) and the record parser the header selects.
    Legacy {
        header: PcapHeader,
        parse: LegacyParse,
    },
    /// pcapng, with the byte order of the current section.
    Ng { big_endian: bool },
}

/// A capture file read through a moving memory map.
pub struct Mapped {
    file: File,
    /// File length when it was opened; bytes appended later are not read.
    len: u64,
    /// Maps `base .. base + map.len()` of the file.
    map: Mmap,
    base: u64,
    /// Bytes consumed: the file offset of the next record.
    pos: u64,
    /// File offset up to which prefetches were issued.
    prefetched: u64,
    format: Format,
    /// The source's count of bytes read, for its progress bar.
    count: Rc<Cell<u64>>,
    /// Moving the window failed: the next record is a read error.
    failed: bool,
}

/// Maps `len` bytes of `file` from offset `base`, read-only.
fn map_at(file: &File, base: u64, len: usize) -> std::io::Result<Mmap> {
    // SAFETY: memmap2 requires that the mapped file not be changed while the map is alive,
    // which smcdump cannot enforce for a file it does not own. What happens if it is: bytes
    // changed by another process make frames decode as garbage, but every access goes through
    // a slice of the map, whose length does not change, so reads stay in bounds; a truncated
    // file makes the read of a page past its new end raise SIGBUS, which ends the process (the
    // documented hazard; `--no-mmap` avoids it). The map is only read.
    unsafe { MmapOptions::new().offset(base).len(len).map(file) }
}

/// The owned form of a header parse error, as the buffered readers' constructors return it.
fn owned(e: nom::Err<PcapError<&[u8]>>) -> PcapError<&'static [u8]> {
    match e {
        nom::Err::Error(e) | nom::Err::Failure(e) => e.to_owned_vec(),
        nom::Err::Incomplete(nom::Needed::Size(n)) => PcapError::Incomplete(n.into()),
        nom::Err::Incomplete(nom::Needed::Unknown) => PcapError::Incomplete(0),
    }
}

impl Mapped {
    /// Maps a regular file of `len` bytes whose whole file header (pcap header or Section
    /// Header Block) the probe read into `head`. `Ok(None)` if the map cannot be made: the
    /// caller reads the file instead. A header that does not parse is the buffered readers'
    /// error.
    pub fn open(
        file: File,
        len: u64,
        head: &[u8],
        pcapng: bool,
        count: Rc<Cell<u64>>,
    ) -> Result<Option<Mapped>, PcapError<&'static [u8]>> {
        let format = if pcapng {
            parse_sectionheaderblock(head).map_err(owned)?;
            Format::Ng { big_endian: false }
        } else {
            let (_, header) = parse_pcap_header(head).map_err(owned)?;
            let parse: LegacyParse = if header.is_modified_format() {
                parse_pcap_frame_modified
            } else if header.is_bigendian() {
                parse_pcap_frame_be
            } else {
                parse_pcap_frame
            };
            Format::Legacy { header, parse }
        };
        let Ok(map) = map_at(&file, 0, window_len(len, 0)) else {
            return Ok(None);
        };
        Ok(Some(Mapped {
            file,
            len,
            map,
            base: 0,
            pos: 0,
            prefetched: 0,
            format,
            count,
            failed: false,
        }))
    }

    /// Whether the file is pcap (not pcapng).
    pub fn is_legacy(&self) -> bool {
        matches!(self.format, Format::Legacy { .. })
    }

    /// Maps the next window once the read position has crossed [`WINDOW`].
    fn slide(&mut self) {
        if self.pos - self.base < WINDOW as u64 {
            return;
        }
        // the new window starts at the read position (memmap2 aligns the offset to a page)
        match map_at(&self.file, self.pos, window_len(self.len, self.pos)) {
            Ok(map) => {
                self.map = map;
                self.base = self.pos;
            }
            Err(_) => self.failed = true,
        }
    }

    /// Prefetches every cache line up to [`PREFETCH`] bytes past the read position.
    #[cfg(target_arch = "x86_64")]
    fn prefetch(&mut self) {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let end = (self.pos + PREFETCH as u64).min(self.base + self.map.len() as u64);
        let mut at = self.prefetched.max(self.pos);
        while at < end {
            let line = self.map.as_ptr().wrapping_add((at - self.base) as usize);
            // SAFETY: SSE is part of x86-64, and a prefetch is a hint: it changes nothing the
            // program can see and does not fault (the address is inside the map anyway).
            unsafe { _mm_prefetch::<_MM_HINT_T0>(line.cast()) };
            at += LINE as u64;
        }
        self.prefetched = at;
    }

    #[cfg(not(target_arch = "x86_64"))]
    fn prefetch(&mut self) {}
}

/// Length of the map that starts at `base` in a file of `len` bytes: the window and the
/// look-ahead a record may need, or the rest of the file.
fn window_len(len: u64, base: u64) -> usize {
    usize::try_from(len.saturating_sub(base).min((WINDOW + MAX_BLOCK) as u64)).unwrap_or(0)
}

/// The bytes of `map` (which starts at file offset `base`) from file offset `pos` that a full
/// buffer of `MAX_BLOCK` bytes would hold.
fn view(map: &[u8], base: u64, pos: u64) -> &[u8] {
    let start = usize::try_from(pos - base).unwrap_or(usize::MAX);
    let end = map.len().min(start.saturating_add(MAX_BLOCK));
    map.get(start..end).unwrap_or_default()
}

/// One record or block at the start of `data`, as the buffered reader for `format` parses it.
fn parse<'a>(
    format: &Format,
    data: &'a [u8],
) -> nom::IResult<&'a [u8], PcapBlockOwned<'a>, PcapError<&'a [u8]>> {
    match format {
        Format::Legacy { parse, .. } => parse(data).map(|(rest, b)| (rest, b.into())),
        Format::Ng { big_endian: true } => parse_block_be(data).map(|(rest, b)| (rest, b.into())),
        Format::Ng { big_endian: false } => parse_block_le(data).map(|(rest, b)| (rest, b.into())),
    }
}

/// Whether a buffered reader that holds only the start of the record at the head of `data`
/// finds that the parser needs a whole `MAX_BLOCK` buffer or more for it (`BufferTooSmall`).
fn too_large(format: &Format, data: &[u8]) -> bool {
    let part = data.get(..PARTIAL).unwrap_or(data);
    match parse(format, part) {
        Err(nom::Err::Incomplete(nom::Needed::Size(n))) => part.len() + n.get() >= MAX_BLOCK,
        _ => false,
    }
}

impl PcapReaderIterator for Mapped {
    fn next(&mut self) -> Result<(usize, PcapBlockOwned<'_>), PcapError<&[u8]>> {
        if self.pos == 0 {
            if let Format::Legacy { header, .. } = &self.format {
                return Ok((header.size(), PcapBlockOwned::from(header.clone())));
            }
        }
        if self.failed {
            return Err(PcapError::ReadError);
        }
        if self.pos >= self.len {
            return Err(PcapError::Eof);
        }
        let data = view(&self.map, self.base, self.pos);
        match parse(&self.format, data) {
            Ok((rest, block)) => {
                let used = data.len() - rest.len();
                if used >= MAX_BLOCK && too_large(&self.format, data) {
                    return Err(PcapError::BufferTooSmall);
                }
                if let (PcapBlockOwned::NG(Block::SectionHeader(shb)), Format::Ng { big_endian }) =
                    (&block, &mut self.format)
                {
                    // a new section sets the byte order of the blocks after it (pcapng §4.1)
                    *big_endian = shb.big_endian();
                }
                Ok((used, block))
            }
            Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(e),
            Err(nom::Err::Incomplete(needed)) => {
                let n = match needed {
                    nom::Needed::Size(n) => n.get(),
                    nom::Needed::Unknown => 0,
                };
                if data.len().saturating_add(n) >= MAX_BLOCK || too_large(&self.format, data) {
                    // a full buffer would not hold the record either
                    Err(PcapError::BufferTooSmall)
                } else {
                    // a buffered reader would refill, find the end of the file, and say so
                    Err(PcapError::UnexpectedEof)
                }
            }
        }
    }

    fn consume(&mut self, offset: usize) {
        let before = self.pos;
        self.pos = self.pos.saturating_add(offset as u64).min(self.len);
        self.count
            .set(self.count.get().saturating_add(self.pos - before));
        self.slide();
        self.prefetch();
    }

    fn consume_noshift(&mut self, offset: usize) {
        self.consume(offset);
    }

    fn consumed(&self) -> usize {
        usize::try_from(self.pos).unwrap_or(usize::MAX)
    }

    /// Nothing to refill: the map always holds the next `MAX_BLOCK` bytes, or the rest of the
    /// file (`next` tells the two apart).
    fn refill(&mut self) -> Result<(), PcapError<&[u8]>> {
        Ok(())
    }

    fn position(&self) -> usize {
        0
    }

    /// The view is already as large as a buffer may grow.
    fn grow(&mut self, _new_size: usize) -> bool {
        true
    }

    fn data(&self) -> &[u8] {
        view(&self.map, self.base, self.pos)
    }

    fn reader_exhausted(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod test {
    use super::{MAX_BLOCK, WINDOW};
    use crate::source::{PcapSource, Source};
    use std::hash::{Hash, Hasher};
    use std::path::{Path, PathBuf};

    /// Everything a run yields, one line per frame, notice and error, and whether any input
    /// was read through a map.
    fn transcript(paths: &[PathBuf], mmap: bool) -> (Vec<String>, bool) {
        let mut src = match PcapSource::open_with(paths, mmap) {
            Ok(s) => s,
            Err(e) => return (vec![format!("open: {e}")], false),
        };
        let mut out = Vec::new();
        let mut mapped = false;
        loop {
            mapped |= src.reading_mapped();
            match src.next_frame() {
                Ok(Some(f)) => {
                    let mut h = std::hash::DefaultHasher::new();
                    f.data.hash(&mut h);
                    out.push(format!(
                        "frame {} {} {} {} {} {} {:016x}",
                        f.input,
                        f.number,
                        f.ts,
                        f.link_type,
                        f.caplen,
                        f.origlen,
                        h.finish()
                    ));
                }
                Ok(None) => break,
                Err(e) => out.push(format!("error: {e}")),
            }
            out.extend(src.take_notices().iter().map(|n| format!("notice: {n}")));
        }
        out.extend(src.take_notices().iter().map(|n| format!("notice: {n}")));
        (out, mapped)
    }

    /// Asserts that mapping `paths` gives exactly what reading them gives; returns whether the
    /// map was used.
    fn same(paths: &[PathBuf]) -> bool {
        let (read, read_mapped) = transcript(paths, false);
        let (map, mapped) = transcript(paths, true);
        assert!(!read_mapped);
        if read != map {
            let at = read.iter().zip(&map).position(|(a, b)| a != b);
            panic!(
                "{paths:?}: read and mapped differ ({} and {} lines) at line {at:?}:\n\
                 read:   {:?}\nmapped: {:?}",
                read.len(),
                map.len(),
                at.and_then(|i| read.get(i)).or(read.last()),
                at.and_then(|i| map.get(i)).or(map.last()),
            );
        }
        mapped
    }

    fn captures() -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
                    out.push(p);
                }
            }
        }
        let mut out = Vec::new();
        walk(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../captures"),
            &mut out,
        );
        out.sort();
        out
    }

    /// A file in the temp directory, removed when dropped.
    struct Temp(PathBuf);
    impl Temp {
        fn new(name: &str, bytes: &[u8]) -> Temp {
            let p = std::env::temp_dir().join(format!("smc-mapped-{}-{name}", std::process::id()));
            std::fs::write(&p, bytes).unwrap();
            Temp(p)
        }
    }
    impl Drop for Temp {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[test]
    fn every_capture_reads_the_same_mapped() {
        let all = captures();
        assert!(all.len() > 50, "captures/ not found: {all:?}");
        let mut mapped = 0;
        for p in &all {
            mapped += usize::from(same(std::slice::from_ref(p)));
        }
        assert_eq!(mapped, all.len(), "every capture file is mapped");
        // several inputs in one run, each mapped in turn
        assert!(same(&all[..5]));
    }

    #[test]
    fn cut_and_damaged_files_read_the_same_mapped() {
        let all = captures();
        let picks: Vec<&PathBuf> = all
            .iter()
            .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
            .take(4)
            .chain(
                all.iter()
                    .filter(|p| p.extension().is_some_and(|x| x == "pcapng"))
                    .take(4),
            )
            .collect();
        for p in picks {
            let bytes = std::fs::read(p).unwrap();
            let n = bytes.len();
            let mut cuts: Vec<usize> = (0..n.min(400)).collect();
            cuts.extend((1..64).map(|i| n * i / 64));
            cuts.extend(n.saturating_sub(40)..n);
            for cut in cuts {
                let t = Temp::new("cut", &bytes[..cut]);
                same(std::slice::from_ref(&t.0));
            }
            // damage: every byte of the first records, and spread ones, set to 0xff and to 0
            let mut spots: Vec<usize> = (0..n.min(200)).collect();
            spots.extend((1..48).map(|i| n * i / 48));
            for at in spots {
                for v in [0xff, 0x00] {
                    let mut b = bytes.clone();
                    b[at] = v;
                    let t = Temp::new("damaged", &b);
                    same(std::slice::from_ref(&t.0));
                }
            }
        }
    }

    /// pcap header (little-endian, µs, LINKTYPE_RAW) and records of the given lengths.
    fn pcap(lens: &[usize]) -> Vec<u8> {
        let mut b = vec![
            0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 101, 0,
            0, 0,
        ];
        for (i, &len) in lens.iter().enumerate() {
            let len32 = u32::try_from(len).unwrap();
            b.extend_from_slice(&u32::try_from(i).unwrap().to_le_bytes());
            b.extend_from_slice(&7u32.to_le_bytes());
            b.extend_from_slice(&len32.to_le_bytes());
            b.extend_from_slice(&len32.to_le_bytes());
            b.extend((0..len).map(|j| (i + j) as u8));
        }
        b
    }

    /// pcapng: SHB, an Ethernet IDB, and EPBs with the given captured lengths.
    fn pcapng(lens: &[usize]) -> Vec<u8> {
        let mut b = vec![
            0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 28, 0, 0, 0,
        ];
        b.extend_from_slice(&[1, 0, 0, 0, 20, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0]);
        for (i, &len) in lens.iter().enumerate() {
            let total = u32::try_from(32 + len.div_ceil(4) * 4).unwrap();
            let len32 = u32::try_from(len).unwrap();
            for w in [6, total, 0, 0, u32::try_from(i).unwrap(), len32, len32] {
                b.extend_from_slice(&w.to_le_bytes());
            }
            b.extend((0..len).map(|j| (i + j) as u8));
            b.resize(b.len() + (len.div_ceil(4) * 4 - len), 0);
            b.extend_from_slice(&total.to_le_bytes());
        }
        b
    }

    #[test]
    fn records_around_the_largest_block_read_the_same_mapped() {
        for big in [
            MAX_BLOCK - 17,
            MAX_BLOCK - 16,
            MAX_BLOCK - 15,
            MAX_BLOCK - 1,
            MAX_BLOCK,
            2 * MAX_BLOCK,
        ] {
            let whole = pcap(&[60, big, 60]);
            for bytes in [&whole[..], &whole[..whole.len() - 70], &whole[..100]] {
                let t = Temp::new("big.pcap", bytes);
                assert!(same(std::slice::from_ref(&t.0)));
            }
        }
        for big in [MAX_BLOCK - 36, MAX_BLOCK - 32, MAX_BLOCK - 28, MAX_BLOCK] {
            let whole = pcapng(&[60, big, 60]);
            for bytes in [&whole[..], &whole[..whole.len() - 100], &whole[..120]] {
                let t = Temp::new("big.pcapng", bytes);
                assert!(same(std::slice::from_ref(&t.0)));
            }
        }
    }

    /// Whether the second record comes out as a frame (else: the input fails there).
    fn second_is_frame(bytes: &[u8]) -> bool {
        let t = Temp::new("second", bytes);
        let (lines, mapped) = transcript(std::slice::from_ref(&t.0), true);
        assert!(mapped);
        lines.get(1).is_some_and(|l| l.starts_with("frame"))
    }

    #[test]
    fn the_largest_record_is_one_byte_less_in_pcap_than_in_pcapng() {
        // pcap: record header + data = MAX_BLOCK is refused, one byte less is read
        assert!(second_is_frame(&pcap(&[60, MAX_BLOCK - 17, 60])));
        assert!(!second_is_frame(&pcap(&[60, MAX_BLOCK - 16, 60])));
        // pcapng: a block of MAX_BLOCK bytes is read, the next larger one is refused
        assert!(second_is_frame(&pcapng(&[60, MAX_BLOCK - 32, 60])));
        assert!(!second_is_frame(&pcapng(&[60, MAX_BLOCK - 28, 60])));
    }

    #[test]
    fn the_window_moves_over_a_large_file() {
        // records of every size from 1 to 3000 bytes, and a few large ones, past two windows
        let mut lens: Vec<usize> = Vec::new();
        let mut total = 0;
        let mut i = 0;
        while total < 2 * WINDOW + 3 * MAX_BLOCK {
            let len = if i % 5000 == 4999 {
                MAX_BLOCK - 100
            } else {
                1 + (i * 7) % 3000
            };
            lens.push(len);
            total += 16 + len;
            i += 1;
        }
        let whole = pcap(&lens);
        let t = Temp::new("window.pcap", &whole);
        assert!(same(std::slice::from_ref(&t.0)));
        let (lines, _) = transcript(std::slice::from_ref(&t.0), true);
        assert_eq!(lines.len(), lens.len());
        let t = Temp::new("window-cut.pcap", &whole[..whole.len() - 10]);
        assert!(same(std::slice::from_ref(&t.0)));
    }
}
