//! Reference SMC peer, QEMU kernel lab, kernel fuzzer, and the benchmark capture generator.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod gencap;
pub mod kfuzz;
pub mod lab;
pub mod net;
pub mod peer;
pub mod splitmix;
