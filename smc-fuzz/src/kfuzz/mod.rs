//! The kernel fuzzer (issue 8): malformed and adversarial CLC driven at a real Linux kernel over
//! the wire, through the reference peer ([`crate::peer`]) and the QEMU lab ([`crate::lab`]).
//!
//! * [`case`]: a case is data — which role the peer plays, the messages it sends (each a base
//!   built from smc-wire representations plus byte-level [`mutate::Mutation`]s), how they are cut
//!   into TCP segments, and how the connection ends. Building the bytes needs only what the
//!   kernel revealed in the same boot ([`case::Ctx`]).
//! * [`gen`]: every case derives from (campaign seed, case index, attempt) through [`Rng`], a
//!   SplitMix64 of our own, so a case is reproducible from three numbers on any build.
//! * [`mutate`]: field-aware byte mutations (lengths, offsets, counts, trailers, eyecatchers,
//!   versions, type bits, GID/CHID lists, UEIDs) and segment splitting.
//! * [`model`]: what the kernel must answer, from smc-wire's receive checks
//!   (`smc_wire::clc::check`) and a transcription of the 6.12 server/client decision code.
//! * [`oracle`]: the console (BUG, WARNING, KASAN, refcount_t, lockdep, hung task, soft lockup,
//!   general protection, Oops), crash signatures, known issues, liveness, model divergence.
//! * [`exec`]: one VM with the guest agent and the peer: learn the kernel's identity, run a case,
//!   observe the kernel's answer.
//! * [`campaign`], [`minimize`], [`replay`]: the loop with statistics and findings, the
//!   delta-debugging minimiser (each attempt on a fresh VM), and `smc-fuzz replay FILE`.

pub mod campaign;
pub mod case;
pub mod exec;
pub mod gen;
pub mod minimize;
pub mod model;
pub mod mutate;
pub mod oracle;
pub mod replay;

pub use crate::lab::{LabError as Error, Result};

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and — unlike a dependency's generator —
/// guaranteed to give the same stream on every build, so a seed in a finding file stays valid.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The generator for one case: mixes campaign seed, case index and attempt.
    pub fn for_case(seed: u64, index: u64, attempt: u32) -> Rng {
        let mut r = Rng(seed ^ 0x5eed_c1c0_0000_0000);
        let a = r.next_u64();
        let mut r = Rng(a ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let b = r.next_u64();
        Rng(b ^ u64::from(attempt).wrapping_mul(0xd1b5_4a32_d192_ed03))
    }

    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        crate::splitmix::next(&mut self.0)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // Lemire's multiply-shift: bias below 2^-64 * n, irrelevant here
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo).saturating_add(1))
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One element of a non-empty slice (the first for an empty one is impossible: callers pass
    /// literals).
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> Option<T> {
        let i = self.below(items.len() as u64) as usize;
        items.get(i).copied()
    }

    /// An index chosen by weight.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
        let mut x = self.below(total);
        for (i, w) in weights.iter().enumerate() {
            if x < u64::from(*w) {
                return i;
            }
            x -= u64::from(*w);
        }
        0
    }

    /// `n` pseudo-random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(n + 8);
        while v.len() < n {
            v.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        v.truncate(n);
        v
    }
}

/// Lower-case hex of bytes (case files, logs).
pub fn hex(b: &[u8]) -> String {
    crate::peer::hex(b)
}

/// Bytes from hex (whitespace ignored); `None` when malformed.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}
