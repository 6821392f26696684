//! TCP sequence numbers: a wrapping 32-bit newtype (RFC 9293 §3.4, smoltcp `SeqNumber`).
//!
//! All arithmetic wraps modulo 2^32 and ordering is relative: `a < b` iff `b - a`, read as
//! a signed 32-bit number, is positive. Nothing here can panic.

use core::cmp::Ordering;
use core::fmt;

/// A TCP sequence or acknowledgment number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqNumber(pub u32);

impl SeqNumber {
    /// `self + n`, modulo 2^32.
    pub fn advance(self, n: u32) -> SeqNumber {
        SeqNumber(self.0.wrapping_add(n))
    }

    /// `self + n` for a byte count (lengths beyond 2^32 wrap, as on the wire).
    pub fn add_len(self, n: usize) -> SeqNumber {
        SeqNumber(self.0.wrapping_add(n as u32))
    }

    /// Signed distance `self - other` (RFC 9293 §3.4 modular comparison).
    pub fn diff(self, other: SeqNumber) -> i32 {
        self.0.wrapping_sub(other.0) as i32
    }

    /// Bytes from `other` up to `self`, or 0 when `self` is not after `other`.
    pub fn since(self, other: SeqNumber) -> usize {
        usize::try_from(self.diff(other).max(0)).unwrap_or(0)
    }

    /// `lo <= self <= hi` in sequence space.
    pub fn within(self, lo: SeqNumber, hi: SeqNumber) -> bool {
        self >= lo && self <= hi
    }
}

impl PartialOrd for SeqNumber {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SeqNumber {
    fn cmp(&self, other: &Self) -> Ordering {
        self.diff(*other).cmp(&0)
    }
}

impl fmt::Display for SeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for SeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Seq({})", self.0)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn wraps_and_compares_across_zero() {
        let a = SeqNumber(u32::MAX - 1);
        let b = a.advance(3);
        assert_eq!(b, SeqNumber(1));
        assert!(b > a);
        assert_eq!(b.diff(a), 3);
        assert_eq!(a.diff(b), -3);
        assert_eq!(b.since(a), 3);
        assert_eq!(a.since(b), 0);
        assert!(SeqNumber(0).within(a, b));
        assert!(!SeqNumber(5).within(a, b));
    }

    #[test]
    fn half_space_is_the_horizon() {
        let a = SeqNumber(0);
        assert!(SeqNumber(0x7fff_ffff) > a);
        assert!(SeqNumber(0x8000_0001) < a);
    }
}
