//! Reference SMC peer, QEMU kernel lab and kernel fuzzer.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod lab;
pub mod net;
pub mod peer;
