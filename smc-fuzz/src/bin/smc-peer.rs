//! `smc-peer`: the reference SMC peer (issue 7).
fn main() {}
