//! Per-direction TCP byte-stream reassembly, as far as CLC needs it.
//!
//! One [`StreamReasm`] per direction of a connection turns captured segments back into the byte
//! stream the receiving kernel's socket saw, so the CLC framer can find messages split anywhere
//! (inside the eyecatcher, inside the header) or several in one segment.
//!
//! # Overlap policy: Linux's (style §6.6)
//! The receiver is a Linux kernel, so a conflicting retransmission is resolved as
//! `tcp_data_queue()` and `tcp_data_queue_ofo()` / `tcp_ofo_queue()` (net/ipv4/tcp_input.c) do:
//! - **Delivered data wins.** Bytes before the next expected sequence number were delivered and
//!   are never replaced: a retransmission of them is [`PushOutcome::Duplicate`] (or trimmed, if it
//!   also carries new bytes). "First wins" for everything in order.
//! - **In-order data wins over queued data.** A segment at the expected sequence number is
//!   delivered whole; queued out-of-order segments are then trimmed by what it covered
//!   (`tcp_ofo_queue`: "ofo packet was already received").
//! - **Among queued segments:** a segment wholly inside a queued one is dropped ("All the bits are
//!   present"); one that starts at the same number and extends further replaces it
//!   (`rb_replace_node`); queued segments wholly inside a new one are removed (`merge_right`);
//!   partial overlaps keep both, and the one starting earlier is delivered first, so its bytes win.
//!
//! Overlaps are counted, and so are those whose bytes differ where both are still held
//! ([`ReasmStats::conflicts`]): different bytes for the same sequence numbers are a middlebox or an
//! attack worth reporting.
//!
//! # Bounds (style §4.4, §4.5; smoltcp `assembler.rs` habit, style §1.9)
//! Bytes held — delivered-but-unconsumed plus queued — never exceed the cap ([`DEFAULT_CAP`],
//! 4 KiB, while a v2 Proposal is at most 652 bytes), and at most [`MAX_QUEUED_SEGMENTS`]
//! out-of-order segments are kept. In-order data that does not fit first evicts queued segments
//! from the highest sequence number down (`tcp_prune_ofo_queue`), then is cut: the part that fits
//! is appended, the rest reported as [`PushOutcome::OverCap`] (as if never received). An
//! out-of-order segment that does not fit (after pruning queued segments beyond it) is rejected
//! whole and the state is left untouched. Nothing here grows with the capture.
//!
//! # Start and gaps
//! `new(Some(isn + 1))` starts at the byte after the SYN; `new(None)` starts at the first
//! segment with data ("midstream": a capture that began after the handshake); data before that
//! point is then indistinguishable from a retransmission and is ignored as one.
//! A hole that will never fill (a segment the capture lost) blocks the stream; the consumer
//! decides when to give up with [`StreamReasm::skip_gap`], which sets the gap flag — from then on
//! the stream is no longer known to be contiguous from its start (Suricata's gap habit, style §4.3).
//!
//! Sequence numbers compare with wrap-around ([`SeqNumber`], as smoltcp's).

use std::cmp::Ordering;

/// Default cap on bytes held per direction.
pub const DEFAULT_CAP: usize = 4096;
/// Out-of-order segments held per direction.
pub const MAX_QUEUED_SEGMENTS: usize = 32;
/// Largest cap [`StreamReasm::with_cap`] accepts; keeps every distance far below 2^31.
pub const MAX_CAP: usize = 1 << 24;
/// Longest payload considered; no TCP segment is longer (the IPv4 length field is 16 bits and
/// an IPv6 jumbogram carries at most 2^32 - 1). Beyond it a payload is dropped.
const MAX_SEGMENT: usize = 1 << 30;

/// A TCP sequence number, compared modulo 2^32 (RFC 9293 §3.4; smoltcp `wire/tcp.rs` `SeqNumber`).
///
/// `a < b` when `b` is less than 2^31 ahead of `a`; only a partial order, as wrap-around
/// comparison is not transitive over the whole space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct SeqNumber(pub u32);

impl SeqNumber {
    /// `self + n` modulo 2^32.
    pub const fn add(self, n: u32) -> SeqNumber {
        SeqNumber(self.0.wrapping_add(n))
    }
    /// `self - n` modulo 2^32.
    pub const fn sub(self, n: u32) -> SeqNumber {
        SeqNumber(self.0.wrapping_sub(n))
    }
    /// Signed distance `self - other` (RFC 9293 §3.4 modular comparison).
    pub const fn diff(self, other: SeqNumber) -> i32 {
        self.0.wrapping_sub(other.0) as i32
    }
    /// `self` comes before `other`.
    pub const fn before(self, other: SeqNumber) -> bool {
        self.diff(other) < 0
    }
    /// `self` comes after `other`.
    pub const fn after(self, other: SeqNumber) -> bool {
        self.diff(other) > 0
    }
}

impl PartialOrd for SeqNumber {
    fn partial_cmp(&self, other: &SeqNumber) -> Option<Ordering> {
        Some(self.diff(*other).cmp(&0))
    }
}

/// What [`StreamReasm::push`] did with a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushOutcome {
    /// In order: this many bytes became available (queued segments it joined included).
    Appended(usize),
    /// Out of order: held until the hole before it fills.
    Queued,
    /// Nothing new: every byte was already delivered or queued.
    Duplicate,
    /// The cap (or the segment limit) was reached: this many of its bytes were not kept.
    /// Also returned, without counting, for any push after [`StreamReasm::close`].
    OverCap {
        /// Bytes of this segment not kept.
        dropped: usize,
    },
}

/// Counters of one direction, for anomalies and `Stats`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReasmStats {
    /// Bytes held now: delivered but not consumed, plus queued.
    pub buffered: usize,
    /// Out-of-order segments held now.
    pub queued_segments: usize,
    /// Bytes not kept because of the cap or the segment limit.
    pub dropped: u64,
    /// Bytes received again (already delivered, or already queued).
    pub retransmitted: u64,
    /// Segments that overlapped delivered or queued data without being plain duplicates.
    pub overlaps: u64,
    /// Overlaps (duplicates included) whose bytes differed from the bytes kept.
    pub conflicts: u64,
    /// Holes given up on by [`StreamReasm::skip_gap`].
    pub gaps: u64,
    /// Sequence space skipped over those holes.
    pub gap_bytes: u64,
    /// Unconsumed bytes thrown away by [`StreamReasm::skip_gap`].
    pub discarded: u64,
    /// A hole was skipped: the stream is no longer contiguous from its start.
    pub gap: bool,
}

/// An out-of-order segment.
#[derive(Debug)]
struct Segment {
    seq: SeqNumber,
    data: Vec<u8>,
}

impl Segment {
    fn end(&self) -> SeqNumber {
        self.seq.add(len32(self.data.len()))
    }
}

/// A length already bounded by `MAX_SEGMENT` or `MAX_CAP`, as sequence space.
fn len32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Whether two byte runs at sequence numbers `a_seq`, `b_seq` differ where they overlap.
fn differs(a_seq: SeqNumber, a: &[u8], b_seq: SeqNumber, b: &[u8]) -> bool {
    // positions relative to a_seq; distances are far below 2^31 for anything held
    let d = i64::from(b_seq.diff(a_seq));
    let lo = d.max(0);
    let hi = (a.len() as i64).min(d + b.len() as i64);
    if lo >= hi {
        return false;
    }
    let (Ok(lo), Ok(hi), Ok(blo), Ok(bhi)) = (
        usize::try_from(lo),
        usize::try_from(hi),
        usize::try_from(lo - d),
        usize::try_from(hi - d),
    ) else {
        return false;
    };
    a.get(lo..hi) != b.get(blo..bhi)
}

/// One direction of a TCP connection, reassembled. See the [module docs](self) for the policies.
#[derive(Debug)]
pub struct StreamReasm {
    cap: usize,
    /// The next expected sequence number (`rcv_nxt`); `None` until anchored.
    next: Option<SeqNumber>,
    /// Delivered bytes; `buf[head..]` are not consumed yet.
    buf: Vec<u8>,
    head: usize,
    /// Out-of-order segments, sorted by `seq`, each starting after `next`.
    queue: Vec<Segment>,
    queued_bytes: usize,
    /// `skip_gap` found nothing queued: the next segment after a hole becomes the new start.
    resync: bool,
    closed: bool,
    stats: ReasmStats,
}

impl StreamReasm {
    /// A stream with the [`DEFAULT_CAP`]: `Some(isn + 1)` after a SYN, `None` to start at the
    /// first segment with data.
    pub fn new(next_seq: Option<u32>) -> Self {
        StreamReasm::with_cap(next_seq, DEFAULT_CAP)
    }

    /// A stream holding at most `cap` bytes (clamped to [`MAX_CAP`]).
    pub fn with_cap(next_seq: Option<u32>, cap: usize) -> Self {
        StreamReasm {
            cap: cap.min(MAX_CAP),
            next: next_seq.map(SeqNumber),
            buf: Vec::new(),
            head: 0,
            queue: Vec::new(),
            queued_bytes: 0,
            resync: false,
            closed: false,
            stats: ReasmStats::default(),
        }
    }

    /// Adds a segment's payload starting at sequence number `seq`.
    pub fn push(&mut self, seq: u32, payload: &[u8]) -> PushOutcome {
        if self.closed {
            return PushOutcome::OverCap {
                dropped: payload.len(),
            };
        }
        if payload.is_empty() {
            return PushOutcome::Appended(0);
        }
        if payload.len() > MAX_SEGMENT {
            self.stats.dropped += payload.len() as u64;
            return PushOutcome::OverCap {
                dropped: payload.len(),
            };
        }
        let seq = SeqNumber(seq);
        let len = len32(payload.len());
        let mut next = *self.next.get_or_insert(seq);
        if self.resync && seq.after(next) {
            // skip_gap found nothing queued; this segment, after a hole, is the new start
            self.stats.gaps += 1;
            self.stats.gap_bytes += u64::from(seq.diff(next).unsigned_abs());
            self.stats.gap = true;
            self.resync = false;
            self.next = Some(seq);
            next = seq;
        }
        let end = seq.add(len);
        if !end.after(next) {
            // every byte was delivered already (tcp_data_queue: "A retransmit, 2nd most common case")
            self.stats.retransmitted += u64::from(len);
            if differs(self.ready_seq(next), self.data(), seq, payload) {
                self.stats.conflicts += 1;
            }
            return PushOutcome::Duplicate;
        }
        if !seq.after(next) {
            // in order, possibly starting with delivered bytes (tcp_data_queue partial packet)
            let skip = next.diff(seq).unsigned_abs() as usize;
            if skip > 0 {
                self.stats.retransmitted += skip as u64;
                self.stats.overlaps += 1;
                if differs(self.ready_seq(next), self.data(), seq, payload) {
                    self.stats.conflicts += 1;
                }
            }
            let (appended, dropped) = self.append(payload.get(skip..).unwrap_or_default());
            let joined = self.drain_queue();
            if appended > 0 {
                self.resync = false;
            }
            return if dropped > 0 {
                PushOutcome::OverCap { dropped }
            } else {
                PushOutcome::Appended(appended + joined)
            };
        }
        self.enqueue(seq, payload)
    }

    /// Sequence number of the first unconsumed delivered byte.
    fn ready_seq(&self, next: SeqNumber) -> SeqNumber {
        next.sub(len32(self.data().len()))
    }

    fn room(&self) -> usize {
        self.cap
            .saturating_sub(self.data().len() + self.queued_bytes)
    }

    /// Appends in-order bytes, pruning queued segments (highest first) if needed; returns
    /// (appended, dropped).
    fn append(&mut self, bytes: &[u8]) -> (usize, usize) {
        if bytes.len() > self.room() {
            // queued bytes these cover would be dropped on delivery anyway: free them first
            self.supersede(bytes);
            // in-order data is useful now; queued data beyond a hole maybe never (tcp_prune_ofo_queue)
            while bytes.len() > self.room() {
                let Some(last) = self.queue.pop() else { break };
                self.queued_bytes -= last.data.len();
                self.stats.dropped += last.data.len() as u64;
            }
        }
        let n = bytes.len().min(self.room());
        let dropped = bytes.len() - n;
        self.stats.dropped += dropped as u64;
        let Some(bytes) = bytes.get(..n).filter(|b| !b.is_empty()) else {
            return (0, dropped);
        };
        if self.head > 0 && self.buf.len() + n > self.buf.capacity() {
            self.buf.drain(..self.head);
            self.head = 0;
        }
        let need = self.buf.len() + n;
        if need > self.buf.capacity() {
            // grow geometrically, never past the cap
            let target = need
                .max(self.buf.capacity() * 2)
                .max(256)
                .min(self.cap.max(need));
            self.buf.reserve_exact(target - self.buf.len());
        }
        self.buf.extend_from_slice(bytes);
        self.next = self.next.map(|s| s.add(len32(n)));
        (n, dropped)
    }

    /// Drops the queued bytes that in-order `bytes` (starting at `next`) cover, as `tcp_ofo_queue`
    /// would after delivering them.
    fn supersede(&mut self, bytes: &[u8]) {
        let Some(next) = self.next else { return };
        let end = next.add(len32(bytes.len()));
        while let Some(first) = self.queue.first_mut() {
            if !first.seq.before(end) {
                break;
            }
            self.stats.overlaps += 1;
            if differs(next, bytes, first.seq, &first.data) {
                self.stats.conflicts += 1;
            }
            let covered = end.diff(first.seq).unsigned_abs() as usize;
            if covered >= first.data.len() {
                let gone = self.queue.remove(0);
                self.queued_bytes -= gone.data.len();
                self.stats.retransmitted += gone.data.len() as u64;
            } else {
                first.data.drain(..covered);
                first.seq = end;
                self.queued_bytes -= covered;
                self.stats.retransmitted += covered as u64;
                break;
            }
        }
    }

    /// Delivers queued segments the stream has reached (tcp_ofo_queue); returns bytes appended.
    fn drain_queue(&mut self) -> usize {
        let mut total = 0;
        while let (Some(next), Some(first)) = (self.next, self.queue.first()) {
            if first.seq.after(next) {
                break;
            }
            let seg = self.queue.remove(0);
            self.queued_bytes -= seg.data.len();
            if !seg.end().after(next) {
                // covered by what was delivered ("ofo packet was already received")
                self.stats.retransmitted += seg.data.len() as u64;
                self.stats.overlaps += 1;
                if differs(self.ready_seq(next), self.data(), seg.seq, &seg.data) {
                    self.stats.conflicts += 1;
                }
                continue;
            }
            let skip = next.diff(seg.seq).unsigned_abs() as usize;
            if skip > 0 {
                self.stats.retransmitted += skip as u64;
                self.stats.overlaps += 1;
                if differs(self.ready_seq(next), self.data(), seg.seq, &seg.data) {
                    self.stats.conflicts += 1;
                }
            }
            // its bytes were counted while queued, so they fit
            let (n, _) = self.append(seg.data.get(skip..).unwrap_or_default());
            total += n;
        }
        total
    }

    /// Queues an out-of-order segment (tcp_data_queue_ofo), or rejects it leaving state untouched.
    fn enqueue(&mut self, seq: SeqNumber, payload: &[u8]) -> PushOutcome {
        let len = len32(payload.len());
        let end = seq.add(len);
        // segments starting at or before `seq` come first
        let idx = self.queue.partition_point(|s| !s.seq.after(seq));
        let mut replace = false;
        let mut overlapped = false;
        if let Some(p) = idx.checked_sub(1).and_then(|i| self.queue.get(i)) {
            if p.end().after(seq) {
                if differs(p.seq, &p.data, seq, payload) {
                    self.stats.conflicts += 1;
                }
                if !end.after(p.end()) {
                    // "All the bits are present. Drop."
                    self.stats.retransmitted += u64::from(len);
                    return PushOutcome::Duplicate;
                }
                overlapped = true;
                // same start, longer: the new segment replaces the queued one (rb_replace_node)
                replace = p.seq == seq;
            }
        }
        // queued segments wholly inside the new one go (merge_right); a partial one stays
        let first_after = if replace { idx - 1 } else { idx };
        let mut covered_end = idx;
        while let Some(q) = self.queue.get(covered_end) {
            if !q.seq.before(end) {
                break;
            }
            overlapped = true;
            if differs(seq, payload, q.seq, &q.data) {
                self.stats.conflicts += 1;
            }
            if end.before(q.end()) {
                break;
            }
            covered_end += 1;
        }
        let removed: usize = self
            .queue
            .get(first_after..covered_end)
            .map_or(0, |r| r.iter().map(|s| s.data.len()).sum());
        let removed_count = covered_end - first_after;
        // room and count after removals, counting segments wholly beyond the new one as prunable
        let mut prunable = 0;
        let mut prunable_count = 0;
        let fits = |prunable: usize, prunable_count: usize| {
            self.room() + removed + prunable >= payload.len()
                && self.queue.len() - removed_count - prunable_count < MAX_QUEUED_SEGMENTS
        };
        let mut i = self.queue.len();
        while !fits(prunable, prunable_count) && i > covered_end {
            i -= 1;
            match self.queue.get(i) {
                Some(s) if !s.seq.before(end) => {
                    prunable += s.data.len();
                    prunable_count += 1;
                }
                _ => break,
            }
        }
        if !fits(prunable, prunable_count) {
            self.stats.dropped += payload.len() as u64;
            return PushOutcome::OverCap {
                dropped: payload.len(),
            };
        }
        // commit: prune from the right, remove covered ones, insert
        for _ in 0..prunable_count {
            if let Some(s) = self.queue.pop() {
                self.queued_bytes -= s.data.len();
                self.stats.dropped += s.data.len() as u64;
            }
        }
        for s in self.queue.drain(first_after..covered_end) {
            self.queued_bytes -= s.data.len();
            self.stats.retransmitted += s.data.len() as u64;
        }
        if overlapped {
            self.stats.overlaps += 1;
        }
        self.queue.insert(
            first_after,
            Segment {
                seq,
                data: payload.to_vec(),
            },
        );
        self.queued_bytes += payload.len();
        PushOutcome::Queued
    }

    /// Contiguous bytes ready and not yet consumed.
    pub fn data(&self) -> &[u8] {
        self.buf.get(self.head..).unwrap_or_default()
    }

    /// The consumer used the first `n` bytes of [`data`](Self::data) (clamped to its length).
    pub fn consume(&mut self, n: usize) {
        self.head += n.min(self.data().len());
        if self.head == self.buf.len() {
            self.buf.clear();
            self.head = 0;
        }
    }

    /// Gives up on the hole before the first queued segment: the unconsumed bytes are discarded
    /// (they cannot be completed), the stream jumps to that segment and delivers what follows.
    /// Returns the bytes of sequence space skipped; `None` if nothing was queued (or the stream
    /// has no start yet), in which case the next segment that arrives after a hole becomes the new
    /// start. Either way the gap flag is set once a hole is actually skipped.
    pub fn skip_gap(&mut self) -> Option<u32> {
        let next = self.next?;
        self.stats.discarded += self.data().len() as u64;
        self.buf.clear();
        self.head = 0;
        let Some(first) = self.queue.first() else {
            self.resync = true;
            return None;
        };
        let skipped = first.seq.diff(next).unsigned_abs();
        self.next = Some(first.seq);
        self.stats.gaps += 1;
        self.stats.gap_bytes += u64::from(skipped);
        self.stats.gap = true;
        self.drain_queue();
        Some(skipped)
    }

    /// Drops every buffer (the connection has its verdict); later pushes are ignored.
    pub fn close(&mut self) {
        self.buf = Vec::new();
        self.head = 0;
        self.queue = Vec::new();
        self.queued_bytes = 0;
        self.closed = true;
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The next expected sequence number, once known.
    pub fn next_seq(&self) -> Option<u32> {
        self.next.map(|s| s.0)
    }

    /// Whether out-of-order data waits behind a hole.
    pub fn has_queued(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Counters, with the current buffer occupancy.
    pub fn stats(&self) -> ReasmStats {
        ReasmStats {
            buffered: self.data().len() + self.queued_bytes,
            queued_segments: self.queue.len(),
            ..self.stats
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use smc_wire::clc::{frame, FrameError};

    /// SMC-R v1 Proposal, 52 bytes: frame 4 of `captures/shared/smcr-v1-lo-clc-hwipl.pcap`
    /// (hwipl/smc handshake/examples lo-proposal-smcr-ipv4), real kernel bytes.
    #[rustfmt::skip]
    static PROPOSAL: [u8; 52] = [
        0xe2, 0xd4, 0xc3, 0xd9,             // eyecatcher SMC-R (§2)
        0x01, 0x00, 0x34, 0x10,             // type 1 Proposal, length 52, version 1
        0xb1, 0xa0, 0x98, 0x03, 0x9b, 0xab, 0xcd, 0xef, // peer id
        0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x9a, 0x03, 0x9b, 0xff, 0xfe, 0xab, 0xcd, 0xef, // GID
        0x98, 0x03, 0x9b, 0xab, 0xcd, 0xef, // MAC
        0x00, 0x00,                         // iparea offset
        0x7f, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, // prefix 127.0.0.0/8, 0 v6 prefixes
        0xe2, 0xd4, 0xc3, 0xd9,             // trailer
    ];

    /// SMC-R v1 Accept, 68 bytes (hwipl/smc lo-accept-smcr-ipv4).
    fn accept() -> Vec<u8> {
        let hex = "e2d4c3d902004418b1a098039babcdeffe800000000000009a039bfffeabcdef98039babcdef\
                   0000e40000157d0100000005230000000000f0a600000072f5fee2d4c3d9";
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }

    const ISN: u32 = 1000;

    /// Frames every whole message out of the stream, as the CLC consumer does.
    fn frame_all(r: &mut StreamReasm) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            match frame(r.data()) {
                Ok((msg, _)) => {
                    let m = msg.to_vec();
                    r.consume(m.len());
                    out.push(m);
                }
                Err(FrameError::Incomplete { .. }) => return out,
                Err(e) => panic!("{e:?}"),
            }
        }
    }

    #[test]
    fn seq_numbers_wrap() {
        let a = SeqNumber(u32::MAX - 1);
        let b = a.add(3);
        assert_eq!(b, SeqNumber(1));
        assert!(a.before(b) && b.after(a) && a < b);
        assert_eq!(b.diff(a), 3);
        assert_eq!(a.diff(b), -3);
        assert_eq!(b.sub(3), a);
    }

    #[test]
    fn split_at_every_byte_in_order() {
        for cut in 0..=PROPOSAL.len() {
            let mut r = StreamReasm::new(Some(ISN));
            assert_eq!(r.push(ISN, &PROPOSAL[..cut]), PushOutcome::Appended(cut));
            let early = frame_all(&mut r);
            // a prefix never frames, whether it ends inside the eyecatcher, the header or the body
            assert_eq!(early.len(), usize::from(cut == PROPOSAL.len()));
            let rest = &PROPOSAL[cut..];
            assert_eq!(
                r.push(ISN + cut as u32, rest),
                PushOutcome::Appended(rest.len())
            );
            let mut msgs = early;
            msgs.extend(frame_all(&mut r));
            assert_eq!(msgs, vec![PROPOSAL.to_vec()], "cut {cut}");
            assert!(r.data().is_empty());
        }
    }

    #[test]
    fn split_in_three_at_every_pair_in_reverse_order() {
        for i in 1..PROPOSAL.len() {
            for j in i + 1..PROPOSAL.len() {
                let mut r = StreamReasm::new(Some(ISN));
                assert_eq!(r.push(ISN + j as u32, &PROPOSAL[j..]), PushOutcome::Queued);
                assert_eq!(r.push(ISN + i as u32, &PROPOSAL[i..j]), PushOutcome::Queued);
                assert!(r.data().is_empty());
                assert_eq!(
                    r.push(ISN, &PROPOSAL[..i]),
                    PushOutcome::Appended(PROPOSAL.len())
                );
                assert_eq!(frame_all(&mut r), vec![PROPOSAL.to_vec()], "cuts {i} {j}");
                assert_eq!(r.stats().buffered, 0);
            }
        }
    }

    /// A deterministic shuffle (xorshift) so the test needs no extra crate.
    fn shuffle<T>(v: &mut [T], mut x: u64) {
        for i in (1..v.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v.swap(i, (x % (i as u64 + 1)) as usize);
        }
    }

    #[test]
    fn random_order_with_duplicates_two_messages() {
        // Proposal and Accept back to back, cut into pieces of 1..=9 bytes, shuffled, each sent twice
        let stream: Vec<u8> = PROPOSAL.iter().copied().chain(accept()).collect();
        for seed in 1..200u64 {
            let mut pieces = Vec::new();
            let (mut at, mut x) = (0usize, seed);
            while at < stream.len() {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let n = (1 + (x >> 60) as usize % 9).min(stream.len() - at);
                pieces.push((at, n));
                at += n;
            }
            let mut order: Vec<_> = pieces.iter().chain(pieces.iter()).copied().collect();
            shuffle(&mut order, seed);
            let mut r = StreamReasm::new(Some(ISN));
            let mut msgs = Vec::new();
            for (at, n) in order {
                let out = r.push(ISN + at as u32, &stream[at..at + n]);
                assert!(!matches!(out, PushOutcome::OverCap { .. }), "seed {seed}");
                msgs.extend(frame_all(&mut r));
            }
            assert_eq!(msgs, vec![PROPOSAL.to_vec(), accept()], "seed {seed}");
            let st = r.stats();
            assert_eq!(
                st.retransmitted,
                stream.len() as u64,
                "each byte was sent twice"
            );
            assert_eq!((st.conflicts, st.dropped, st.buffered), (0, 0, 0));
        }
    }

    #[test]
    fn reverse_order_of_many_small_segments_is_bounded() {
        // 51 one-byte segments in reverse: once MAX_QUEUED_SEGMENTS are queued, each lower one
        // prunes the highest (tcp_prune_ofo_queue); nothing grows past the limit
        let mut r = StreamReasm::new(Some(ISN));
        for i in (1..PROPOSAL.len()).rev() {
            let _ = r.push(ISN + i as u32, &PROPOSAL[i..=i]);
            assert!(r.stats().queued_segments <= MAX_QUEUED_SEGMENTS);
        }
        let kept = MAX_QUEUED_SEGMENTS + 1;
        assert_eq!(r.push(ISN, &PROPOSAL[..1]), PushOutcome::Appended(kept));
        assert_eq!(r.data(), &PROPOSAL[..kept]);
        assert_eq!(r.stats().dropped, (PROPOSAL.len() - kept) as u64);
    }

    #[test]
    fn delivered_bytes_win_over_a_conflicting_retransmission() {
        let mut r = StreamReasm::new(Some(ISN));
        r.push(ISN, b"ABCDEFGH");
        // a retransmission of 4..8 with other bytes, carrying 4 new bytes: delivered bytes win
        assert_eq!(r.push(ISN + 4, b"xxxxIJKL"), PushOutcome::Appended(4));
        assert_eq!(r.data(), b"ABCDEFGHIJKL");
        // a plain duplicate with other bytes
        assert_eq!(r.push(ISN, b"zz"), PushOutcome::Duplicate);
        assert_eq!(r.data(), b"ABCDEFGHIJKL");
        let st = r.stats();
        assert_eq!((st.overlaps, st.conflicts, st.retransmitted), (1, 2, 6));
        // after consuming, the duplicate cannot be compared but is still a duplicate
        r.consume(12);
        assert_eq!(r.push(ISN, b"zz"), PushOutcome::Duplicate);
        assert_eq!(r.stats().conflicts, 2);
    }

    #[test]
    fn in_order_data_wins_over_queued_data() {
        // tcp_ofo_queue trims a queued segment by what the in-order one delivered
        let mut r = StreamReasm::new(Some(0));
        assert_eq!(r.push(10, b"qqqqqqqqqq"), PushOutcome::Queued); // 10..20
        assert_eq!(r.push(0, b"000000000011111"), PushOutcome::Appended(20)); // 0..15
        assert_eq!(r.data(), b"000000000011111qqqqq");
        assert_eq!(r.stats().conflicts, 1);
    }

    #[test]
    fn queued_partial_overlap_earlier_start_wins() {
        let mut r = StreamReasm::new(Some(0));
        assert_eq!(r.push(10, b"AAAAAAAAAA"), PushOutcome::Queued); // 10..20
        assert_eq!(r.push(5, b"BBBBBBBBBB"), PushOutcome::Queued); // 5..15: both kept
        assert_eq!(r.stats().queued_segments, 2);
        assert_eq!(r.push(0, b"00000"), PushOutcome::Appended(20));
        assert_eq!(r.data(), b"00000BBBBBBBBBBAAAAA");
        // and the later-starting queued one loses its overlap even when it arrived first
        let mut r = StreamReasm::new(Some(0));
        r.push(5, b"BBBBBBBBBB");
        r.push(10, b"AAAAAAAAAA");
        r.push(0, b"00000");
        assert_eq!(r.data(), b"00000BBBBBBBBBBAAAAA");
    }

    #[test]
    fn queued_same_start_longer_replaces() {
        let mut r = StreamReasm::new(Some(0));
        r.push(10, b"AAAAAAAAAA"); // 10..20
        assert_eq!(r.push(10, b"BBBBBBBBBBBBBBB"), PushOutcome::Queued); // 10..25 replaces it
        assert_eq!(r.stats().queued_segments, 1);
        r.push(0, b"0000000000");
        assert_eq!(r.data(), b"0000000000BBBBBBBBBBBBBBB");
    }

    #[test]
    fn queued_covering_removes_covered_and_inside_is_duplicate() {
        let mut r = StreamReasm::new(Some(0));
        r.push(10, b"AAAAA"); // 10..15
        r.push(20, b"CCCCC"); // 20..25
        assert_eq!(r.push(5, b"BBBBBBBBBBBBBBBBBBBBBBB"), PushOutcome::Queued); // 5..28 covers both
        assert_eq!(r.stats().queued_segments, 1);
        assert_eq!(r.push(7, b"xx"), PushOutcome::Duplicate); // inside 5..28
        r.push(0, b"00000");
        assert_eq!(r.data(), b"00000BBBBBBBBBBBBBBBBBBBBBBB");
        assert_eq!(r.stats().conflicts, 3);
    }

    #[test]
    fn sequence_wrap_at_2_pow_32() {
        for start in [u32::MAX - 10, u32::MAX - 51, u32::MAX, 0] {
            let mut r = StreamReasm::new(Some(start));
            // second half first, across the wrap
            assert_eq!(
                r.push(start.wrapping_add(20), &PROPOSAL[20..]),
                PushOutcome::Queued
            );
            assert_eq!(r.push(start, &PROPOSAL[..20]), PushOutcome::Appended(52));
            assert_eq!(frame_all(&mut r), vec![PROPOSAL.to_vec()]);
            assert_eq!(r.next_seq(), Some(start.wrapping_add(52)));
            // a retransmission from before the wrap is a duplicate
            assert_eq!(r.push(start, &PROPOSAL[..4]), PushOutcome::Duplicate);
        }
    }

    #[test]
    fn midstream_start() {
        let mut r = StreamReasm::new(None);
        assert_eq!(r.next_seq(), None);
        // an empty segment does not anchor
        assert_eq!(r.push(5, b""), PushOutcome::Appended(0));
        assert_eq!(r.push(123_456, &PROPOSAL[..10]), PushOutcome::Appended(10));
        assert_eq!(r.push(123_466, &PROPOSAL[10..]), PushOutcome::Appended(42));
        assert_eq!(frame_all(&mut r), vec![PROPOSAL.to_vec()]);
        // data before the anchor looks like a retransmission
        assert_eq!(r.push(123_000, b"old"), PushOutcome::Duplicate);
    }

    #[test]
    fn several_messages_in_one_segment() {
        let mut both = PROPOSAL.to_vec();
        both.extend(accept());
        let mut r = StreamReasm::new(Some(ISN));
        assert_eq!(r.push(ISN, &both), PushOutcome::Appended(both.len()));
        assert_eq!(frame_all(&mut r), vec![PROPOSAL.to_vec(), accept()]);
    }

    #[test]
    fn cap_in_order_is_cut_and_bounded() {
        let mut r = StreamReasm::with_cap(Some(0), 100);
        assert_eq!(r.push(0, &[7; 60]), PushOutcome::Appended(60));
        assert_eq!(r.push(60, &[8; 60]), PushOutcome::OverCap { dropped: 20 });
        assert_eq!(r.data().len(), 100);
        assert_eq!(r.next_seq(), Some(100));
        assert_eq!(r.stats().dropped, 20);
        // consuming makes room again
        r.consume(50);
        assert_eq!(r.push(100, &[9; 50]), PushOutcome::Appended(50));
        assert_eq!(r.stats().buffered, 100);
        // a 64 KiB TSO segment never grows the buffer past the cap
        let mut r = StreamReasm::new(Some(0));
        let big = vec![1u8; 65_535];
        assert_eq!(
            r.push(0, &big),
            PushOutcome::OverCap {
                dropped: 65_535 - DEFAULT_CAP
            }
        );
        assert_eq!(r.data().len(), DEFAULT_CAP);
        assert!(r.buf.capacity() <= 2 * DEFAULT_CAP);
    }

    #[test]
    fn cap_rejected_out_of_order_add_keeps_state() {
        let mut r = StreamReasm::with_cap(Some(0), 100);
        assert_eq!(r.push(10, &[1; 50]), PushOutcome::Queued);
        let before = r.stats();
        // 60 bytes beyond the queued segment do not fit in the 50 left: rejected whole
        assert_eq!(r.push(200, &[2; 60]), PushOutcome::OverCap { dropped: 60 });
        assert_eq!(
            r.stats(),
            ReasmStats {
                dropped: 60,
                ..before
            }
        );
        assert_eq!(r.queue[0].seq, SeqNumber(10));
        // a lower segment prunes the highest queued one to fit (tcp_prune_ofo_queue)
        assert_eq!(r.push(70, &[3; 40]), PushOutcome::Queued);
        assert_eq!(r.push(5, &[4; 60]), PushOutcome::Queued); // covers 10..60, partial with 70..
        assert!(r.stats().buffered <= 100);
    }

    #[test]
    fn in_order_data_prunes_queued_segments() {
        let mut r = StreamReasm::with_cap(Some(0), 100);
        r.push(50, &[1; 40]); // queued 50..90
        assert_eq!(r.push(0, &[2; 80]), PushOutcome::Appended(90)); // 0..80, joins 80..90
        assert_eq!(r.data().len(), 90);
        let mut r = StreamReasm::with_cap(Some(0), 100);
        r.push(150, &[1; 40]); // queued beyond a hole
        assert_eq!(r.push(0, &[2; 100]), PushOutcome::Appended(100)); // prunes it
        assert_eq!((r.stats().queued_segments, r.stats().dropped), (0, 40));
    }

    #[test]
    fn skip_gap_jumps_to_the_queued_segment() {
        let mut r = StreamReasm::new(Some(0));
        r.push(0, &PROPOSAL[..3]); // a partial eyecatcher, then a lost segment 3..10
        r.push(10, &accept()[..]);
        assert_eq!(frame_all(&mut r), Vec::<Vec<u8>>::new());
        assert_eq!(r.skip_gap(), Some(7));
        assert_eq!(frame_all(&mut r), vec![accept()]);
        let st = r.stats();
        assert_eq!(
            (st.gaps, st.gap_bytes, st.discarded, st.gap),
            (1, 7, 3, true)
        );
    }

    #[test]
    fn skip_gap_with_nothing_queued_resyncs_on_the_next_segment() {
        let mut r = StreamReasm::new(Some(0));
        assert_eq!(r.skip_gap(), None);
        assert!(!r.stats().gap);
        r.push(0, &PROPOSAL[..3]);
        assert_eq!(r.skip_gap(), None);
        assert_eq!(r.push(500, &accept()), PushOutcome::Appended(68));
        assert_eq!(frame_all(&mut r), vec![accept()]);
        assert_eq!(r.stats().gap_bytes, 497);
        assert!(StreamReasm::new(None).skip_gap().is_none());
    }

    #[test]
    fn close_drops_buffers() {
        let mut r = StreamReasm::new(Some(0));
        r.push(0, b"abc");
        r.push(10, b"def");
        r.close();
        assert!(r.is_closed() && r.data().is_empty());
        assert_eq!(r.stats().buffered, 0);
        assert_eq!(r.push(3, b"x"), PushOutcome::OverCap { dropped: 1 });
        assert_eq!(r.stats().dropped, 0);
        assert_eq!(r.buf.capacity(), 0);
    }
}
