//! # smc-wire
//!
//! A zero-copy codec for everything Linux SMC (`AF_SMC`, `net/smc`) puts on a wire: the SMC TCP
//! option, the CLC handshake messages (Proposal, Accept, Confirm, Decline — v1, v2 and v2.1, SMC-R
//! and SMC-D, loopback-ism's CHID 0xFFFF and the 128-bit virtual-ISM GID), the SMC-R CDC and LLC
//! messages and their RoCE carriage, and the SMC-D CDC header that lives in ISM memory.
//!
//! The byte layouts, codes and receive checks follow the Linux kernel, as recorded in the
//! project's `smc-wire-reference.md` (cited as §N throughout).
//!
//! ## Contract (smoltcp `wire` habit)
//!
//! * Every message has a **view** (`…Packet<T: AsRef<[u8]>>`) with field accessors and a
//!   **representation** (`…Repr`) with `parse`, `buffer_len` and `emit`.
//! * A view's `new_checked` runs `check_len`; after it succeeds no accessor panics.
//! * `Repr::parse` never panics, on any input, and allocates nothing. In [`Mode::Strict`] it
//!   returns the first kernel receive check the bytes violate ([`KernelCheck`]); in
//!   [`Mode::Lenient`] it decodes what it can and lists [`Anomaly`]s.
//! * Representations are **lossless**: offsets, counts, reserved bytes, eyecatchers and declared
//!   lengths are fields, so a peer or fuzzer can emit what a kernel never sends, and
//!   `parse → emit` gives back the original bytes for every message whose fields cover it.
//! * **Only packed layouts round-trip byte-exact.** The kernel checks a Proposal's length
//!   arithmetic, not where its areas sit (§9.2), so it also accepts layouts with bytes no field
//!   holds: a v1 Proposal with `iparea_offset` 1–39, v2 areas apart from where a packed layout
//!   puts them, bytes after an Accept/Confirm's last area. Those decode correctly — every field
//!   is read where the kernel reads it, and [`Anomaly::AreaNotPacked`] says the layout is
//!   unusual — but gap bytes are not kept: non-zero ones are reported as
//!   [`Anomaly::UncoveredBytes`] and `emit` writes zeros there. `parse → emit → parse` gives the
//!   same representation for every message.
//! * `emit` never panics; it checks the buffer once and returns an [`Error`].
//! * [`clc::frame`] cuts messages off a TCP byte stream and says how many bytes are missing.
//! * [`RocePacket::parse_v2`] (a UDP/4791 payload) and [`RocePacket::parse_v1`] (an Ethertype
//!   0x8915 payload) read the RoCE headers; [`SendClass::of`] says what the kernel's receive
//!   path makes of a SEND, and [`RocePacket::smc`] decodes its [`LlcRepr`] or [`CdcRepr`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub use nom;

pub mod cdc;
pub mod clc;
pub mod codes;
pub mod error;
pub mod field;
pub mod list;
pub mod llc;
pub mod roce;
pub mod smcd_cdc;
pub mod tcp_option;

pub use cdc::{CdcConnStateFlags, CdcCursor, CdcPacket, CdcProducerFlags, CdcRepr};
pub use clc::{
    AcceptConfirmPacket, AcceptConfirmRepr, ClcRepr, ClcType, DeclinePacket, DeclineRepr,
    Eyecatcher, ProposalPacket, ProposalRepr, RecvContext, SmcType,
};
pub use codes::{DeclineReason, DeleteLinkReason, LlcType};
pub use error::{Anomalies, Anomaly, Decoded, Error, KernelCheck, Layer, Mode};
pub use list::Bounded;
pub use llc::{HostOrder, LlcFlags, LlcHeader, LlcLength, LlcPacket, LlcRepr};
pub use roce::{
    BthOpcode, BthPacket, BthRepr, GrhRepr, RethRepr, RoceContent, RocePacket, SendClass, SmcSend,
};
pub use smcd_cdc::{ByteOrder as SmcdCdcByteOrder, SmcdCdcCursor, SmcdCdcPacket, SmcdCdcRepr};
