//! smcdump's library: capture sources, TCP reassembly, handshake verdicts and output sinks.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
