//! Reference SMC peer, QEMU kernel lab and kernel fuzzer.
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod lab;
pub mod net;
pub mod peer;
