//! Entry point `smc_dissect::reasm::StreamReasm`: arbitrary segment sequences (in and out of
//! order, overlapping, duplicated, conflicting, across the 2^32 wrap, with consumes and gap skips)
//! never panic, and
//! - the delivered stream only grows: what was consumed plus `data()` always extends what it was
//!   (until a `skip_gap`, which starts a new run);
//! - held bytes never exceed the cap, queued segments never exceed the limit;
//! - when every segment carries the true bytes of one underlying stream, the delivered bytes are
//!   exactly that stream from where it was anchored.
#![no_main]
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use smc_dissect::reasm::{PushOutcome, StreamReasm, MAX_QUEUED_SEGMENTS};

#[derive(Arbitrary, Debug)]
enum Op {
    /// Bytes `off..off+len` of the underlying stream, at sequence number `start + off`.
    Push {
        off: u16,
        len: u8,
    },
    /// The same, with its bytes changed (a conflicting retransmission).
    PushGarbled {
        off: u16,
        len: u8,
        xor: u8,
    },
    /// Any bytes at any sequence number.
    Raw {
        seq: u32,
        data: Vec<u8>,
    },
    Consume(u16),
    SkipGap,
}

#[derive(Arbitrary, Debug)]
struct Case {
    start: u32,
    midstream: bool,
    cap: u16,
    stream: Vec<u8>,
    ops: Vec<Op>,
}

fuzz_target!(|case: Case| {
    let cap = usize::from(case.cap % 2048) + 1;
    let mut r = StreamReasm::with_cap((!case.midstream).then_some(case.start), cap);
    let stream = &case.stream;
    // the current run: bytes consumed since the run began, and where it began in `stream`
    let mut consumed: Vec<u8> = Vec::new();
    let mut anchor: Option<usize> = (!case.midstream).then_some(0);
    let mut truthful = true;
    let mut before: Vec<u8> = Vec::new();
    for op in case.ops {
        let mut new_run = false;
        match op {
            Op::Push { off, len } | Op::PushGarbled { off, len, .. } => {
                let off = usize::from(off).min(stream.len());
                let end = (off + usize::from(len)).min(stream.len());
                let mut bytes = stream[off..end].to_vec();
                if let Op::PushGarbled { xor, .. } = op {
                    if xor != 0 && !bytes.is_empty() {
                        bytes.iter_mut().for_each(|b| *b ^= xor);
                        truthful = false;
                    }
                }
                if anchor.is_none() && !bytes.is_empty() {
                    anchor = Some(off);
                }
                let out = r.push(case.start.wrapping_add(off as u32), &bytes);
                if let PushOutcome::Appended(n) = out {
                    assert!(n <= cap);
                }
            }
            Op::Raw { seq, data } => {
                truthful = false;
                let _ = r.push(seq, &data);
            }
            Op::Consume(n) => {
                let n = usize::from(n).min(r.data().len());
                consumed.extend_from_slice(&r.data()[..n]);
                r.consume(n);
            }
            Op::SkipGap => {
                let _ = r.skip_gap();
                new_run = true;
            }
        }
        let st = r.stats();
        assert!(st.buffered <= cap, "{} > cap {cap}", st.buffered);
        assert!(st.queued_segments <= MAX_QUEUED_SEGMENTS);
        assert!(r.data().len() <= st.buffered);
        if new_run {
            consumed.clear();
            before.clear();
            // after a skip the stream is no longer the underlying one from its anchor
            truthful = false;
            continue;
        }
        let mut now = consumed.clone();
        now.extend_from_slice(r.data());
        assert!(now.starts_with(&before), "delivered bytes changed");
        if truthful {
            if let Some(a) = anchor {
                assert_eq!(
                    Some(&now[..]),
                    stream.get(a..a + now.len()),
                    "delivered bytes are not the stream"
                );
            }
        }
        before = now;
    }
});
