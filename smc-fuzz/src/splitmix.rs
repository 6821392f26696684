//! SplitMix64 (Steele, Lea, Flood 2014), the one step both of the crate's generators use:
//! the capture generator (`gencap`) and the kernel fuzzer's case streams (`kfuzz`).

/// Advances `state` and returns the next 64 random bits.
pub fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
