//! CLC: the Connection Layer Control messages exchanged in the TCP stream right after the
//! three-way handshake (reference §2–§6, §9).
//!
//! * [`frame`] splits a byte stream into messages and says how many bytes are missing.
//! * [`ClcRepr::parse`] decodes one message in [`Mode::Strict`] (the kernel's receive checks,
//!   §9) or [`Mode::Lenient`] (decode what can be decoded, list the anomalies).
//! * Each representation can be built by hand and emitted byte-exact.

pub mod accept_confirm;
pub mod check;
pub mod decline;
pub mod fce;
pub mod header;
pub mod ids;
pub mod proposal;

use core::fmt;

use crate::codes::code_points;
use crate::error::{Anomalies, Decoded, Error, Layer, Mode};

pub use accept_confirm::{
    AcceptConfirmPacket, AcceptConfirmRepr, Body, GidList, SmcdBody, SmcdV2, SmcrBody, SmcrV2,
};
pub use check::RecvContext;
pub use decline::{DeclinePacket, DeclineRepr};
pub use fce::{FceRepr, FceV2x, FCE_V20_SMCD_LEN, FCE_V2X_LEN};
pub use header::{Header, HeaderPacket, HEADER_LEN, TRAILER_LEN};
pub use ids::{
    smcd_devices, Chid, ChidClass, Eid, GidChid, Hostname, Ipv6Prefix, IsmGid, Mac, PeerId,
    RoceGid, SmcdDevice, VirtualGid,
};
pub use proposal::{
    PrefixArea, ProposalPacket, ProposalRepr, SmcdArea, SmcdV2Ext, V2Ext, MAX_PROPOSAL_LEN,
};

code_points! {
    /// CLC message type (header byte 4, §2.1).
    pub struct ClcType(u8);
    table CLC_TYPES;
    hex_width 2;
    serialize name;
    PROPOSAL = 1, Current, "client offers SMC types and devices";
    ACCEPT = 2, Current, "server picks a type and device";
    CONFIRM = 3, Current, "client confirms the server's choice";
    DECLINE = 4, Current, "either side refuses SMC; the connection falls back to TCP";
}

code_points! {
    /// SMC type code in 2 bits (§2.2): R = SMC-R, D = SMC-D, N = none, B = both.
    pub struct SmcType(u8);
    table SMC_TYPES;
    hex_width 1;
    serialize name;
    R = 0, Current, "SMC-R only";
    D = 1, Current, "SMC-D only";
    N = 2, Current, "neither";
    B = 3, Current, "SMC-R and SMC-D";
}

impl SmcType {
    /// `smcr_indicated`: R or B.
    pub fn smcr(self) -> bool {
        self == Self::R || self == Self::B
    }
    /// `smcd_indicated`: D or B.
    pub fn smcd(self) -> bool {
        self == Self::D || self == Self::B
    }
    /// From the two flags (`smc_indicated_type`).
    pub fn from_flags(smcr: bool, smcd: bool) -> SmcType {
        match (smcr, smcd) {
            (true, true) => Self::B,
            (true, false) => Self::R,
            (false, true) => Self::D,
            (false, false) => Self::N,
        }
    }
}

code_points! {
    /// Operating system type nibble of the first-contact extension and the v2 Decline (§4.3, §5.1).
    pub struct OsType(u8);
    table OS_TYPES;
    hex_width 1;
    serialize name;
    ZOS = 1, Current, "z/OS (SMC_CLC_OS_ZOS)";
    LINUX = 2, Current, "Linux (SMC_CLC_OS_LINUX)";
    AIX = 3, Current, "AIX (SMC_CLC_OS_AIX)";
}

/// A CLC eyecatcher: "SMCR" or "SMCD" in EBCDIC (§2.1), or whatever 4 bytes were found.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Eyecatcher(pub [u8; 4]);

impl Default for Eyecatcher {
    fn default() -> Self {
        Eyecatcher::SMCR
    }
}

impl Eyecatcher {
    /// "SMCR" in EBCDIC (`SMC_EYECATCHER`).
    pub const SMCR: Eyecatcher = Eyecatcher([0xe2, 0xd4, 0xc3, 0xd9]);
    /// "SMCD" in EBCDIC (`SMCD_EYECATCHER`).
    pub const SMCD: Eyecatcher = Eyecatcher([0xe2, 0xd4, 0xc3, 0xc4]);

    /// True for either of the two values Linux accepts (§2.1).
    pub fn is_valid(self) -> bool {
        self == Self::SMCR || self == Self::SMCD
    }

    /// True when `prefix` (up to 4 bytes) could be the start of a valid eyecatcher.
    pub fn could_start(prefix: &[u8]) -> bool {
        let n = prefix.len().min(4);
        prefix[..n] == Self::SMCR.0[..n] || prefix[..n] == Self::SMCD.0[..n]
    }
}

impl fmt::Display for Eyecatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::SMCR => f.write_str("SMCR"),
            Self::SMCD => f.write_str("SMCD"),
            Eyecatcher(b) => write!(f, "{:02x}{:02x}{:02x}{:02x}", b[0], b[1], b[2], b[3]),
        }
    }
}

impl fmt::Debug for Eyecatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Eyecatcher({self})")
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Eyecatcher {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Why [`frame`] could not cut a message from the front of a byte stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameError {
    /// The stream holds the start of a message; `needed` more bytes are required.
    Incomplete {
        /// Bytes missing before the message (or its header) is complete.
        needed: usize,
    },
    /// The stream does not start with a CLC eyecatcher.
    NotClc,
    /// The header declares a length below the 8-byte header itself: the stream cannot be framed.
    BadLength {
        /// The declared length.
        length: u16,
    },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Incomplete { needed } => write!(f, "need {needed} more bytes"),
            FrameError::NotClc => f.write_str("not a CLC message (no SMCR/SMCD eyecatcher)"),
            FrameError::BadLength { length } => write!(f, "declared length {length} < 8"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Cuts the first CLC message off a TCP byte stream: `(message, rest)`.
///
/// Like `smc_clc_wait_msg` (§9.1) it trusts the header's length field; unlike the kernel, which
/// knows a CLC message must come, it first requires an eyecatcher so arbitrary TCP payload is not
/// mistaken for CLC. A partial message gives [`FrameError::Incomplete`] with the exact number of
/// bytes still missing (also inside the eyecatcher and the header).
pub fn frame(input: &[u8]) -> Result<(&[u8], &[u8]), FrameError> {
    use nom::bytes::streaming::take;
    use nom::combinator::peek;
    use nom::Parser;

    if !Eyecatcher::could_start(input) {
        return Err(FrameError::NotClc);
    }
    let incomplete = |e: nom::Err<nom::error::Error<&[u8]>>| match e {
        nom::Err::Incomplete(nom::Needed::Size(n)) => FrameError::Incomplete { needed: n.get() },
        nom::Err::Incomplete(nom::Needed::Unknown) => FrameError::Incomplete { needed: 1 },
        _ => FrameError::NotClc,
    };
    // the length field ends at byte 7: that much is needed before the message size is known
    let (_, head) = peek(take(header::field::LENGTH.end))
        .parse(input)
        .map_err(incomplete)?;
    let length = header::be16(&head[header::field::LENGTH]);
    if usize::from(length) < HEADER_LEN {
        return Err(FrameError::BadLength { length });
    }
    let (rest, msg) = take(usize::from(length)).parse(input).map_err(incomplete)?;
    Ok((msg, rest))
}

/// Any decoded CLC message.
#[allow(clippy::large_enum_variant)] // inline by design: decoding allocates nothing
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(tag = "message", rename_all = "snake_case"))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum ClcRepr {
    /// Type 1.
    Proposal(ProposalRepr),
    /// Type 2 or 3 (the representation's `msg_type` says which).
    AcceptConfirm(AcceptConfirmRepr),
    /// Type 4.
    Decline(DeclineRepr),
}

impl ClcRepr {
    /// Decodes one framed message with the default receiving context for its type (§9.1):
    /// a server's 652-byte buffer for Proposal and Confirm, a client's 160-byte buffer for Accept.
    pub fn parse(msg: &[u8], mode: Mode) -> Result<Decoded<ClcRepr>, Error> {
        let hdr = Header::parse(msg)?;
        Self::parse_with(msg, mode, &RecvContext::for_type(hdr.msg_type))
    }

    /// Decodes one framed message as a receiver in the given context would (§9.1): the
    /// expected type (a Decline is always allowed) and the receive buffer size.
    pub fn parse_with(
        msg: &[u8],
        mode: Mode,
        ctx: &RecvContext,
    ) -> Result<Decoded<ClcRepr>, Error> {
        let hdr = Header::parse(msg)?;
        match hdr.msg_type {
            ClcType::PROPOSAL => {
                // decoded in place: the representation is large (lists are inline)
                let mut out = Decoded {
                    repr: ClcRepr::Proposal(ProposalRepr::default()),
                    anomalies: Anomalies::new(),
                };
                if let ClcRepr::Proposal(p) = &mut out.repr {
                    out.anomalies = ProposalRepr::decode_into(msg, mode, ctx, p)?;
                }
                Ok(out)
            }
            ClcType::ACCEPT | ClcType::CONFIRM => AcceptConfirmRepr::parse_with(msg, mode, ctx)
                .map(|d| Decoded {
                    repr: ClcRepr::AcceptConfirm(d.repr),
                    anomalies: d.anomalies,
                }),
            ClcType::DECLINE => DeclineRepr::parse_with(msg, mode, ctx).map(|d| Decoded {
                repr: ClcRepr::Decline(d.repr),
                anomalies: d.anomalies,
            }),
            other => {
                // there is no layout to decode, so every mode fails with the kernel's first
                // failing check: smc_clc_wait_msg's version and type checks on the peeked header
                // run before smc_clc_msg_hdr_valid is ever reached (§9.1 step 1, §9.2)
                check::smc_clc_wait_msg(&hdr, ctx)?;
                if mode == Mode::Strict && !hdr.eyecatcher.is_valid() {
                    return Err(crate::error::KernelCheck::HdrEyecatcher {
                        found: hdr.eyecatcher,
                    }
                    .into());
                }
                Err(crate::error::KernelCheck::HdrType { found: other }.into())
            }
        }
    }

    /// Makes the message self-consistent (see each representation's `normalize`).
    pub fn normalize(&mut self) {
        match self {
            ClcRepr::Proposal(r) => r.normalize(),
            ClcRepr::AcceptConfirm(r) => r.normalize(),
            ClcRepr::Decline(r) => r.normalize(),
        }
    }

    /// The message type.
    pub fn msg_type(&self) -> ClcType {
        match self {
            ClcRepr::Proposal(_) => ClcType::PROPOSAL,
            ClcRepr::AcceptConfirm(r) => r.msg_type,
            ClcRepr::Decline(_) => ClcType::DECLINE,
        }
    }

    /// Bytes `emit` writes.
    pub fn buffer_len(&self) -> usize {
        match self {
            ClcRepr::Proposal(r) => r.buffer_len(),
            ClcRepr::AcceptConfirm(r) => r.buffer_len(),
            ClcRepr::Decline(r) => r.buffer_len(),
        }
    }

    /// Writes the message; returns the number of bytes written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        match self {
            ClcRepr::Proposal(r) => r.emit(buf),
            ClcRepr::AcceptConfirm(r) => r.emit(buf),
            ClcRepr::Decline(r) => r.emit(buf),
        }
    }

    /// Emits into a new vector (convenience for peers and tests).
    pub fn to_vec(&self) -> Result<Vec<u8>, Error> {
        let mut v = vec![0u8; self.buffer_len()];
        let n = self.emit(&mut v)?;
        v.truncate(n);
        Ok(v)
    }
}

/// Checks that an output buffer can hold `need` bytes.
pub(crate) fn check_out(buf: &[u8], need: usize) -> Result<(), Error> {
    if buf.len() < need {
        return Err(Error::BufferTooSmall {
            need,
            have: buf.len(),
        });
    }
    Ok(())
}

/// A view of `msg` as the kernel's receive buffer sees it: the message's own bytes, reading
/// zero past them (the kernel's buffers are zeroed before the receive, §9.2 "missing bytes read
/// as zero").
#[derive(Clone, Copy, Debug)]
pub(crate) struct KernelView<'a> {
    pub bytes: &'a [u8],
}

impl KernelView<'_> {
    pub fn u8_at(&self, at: usize) -> u8 {
        self.bytes.get(at).copied().unwrap_or(0)
    }
    pub fn be16_at(&self, at: usize) -> u16 {
        u16::from_be_bytes([self.u8_at(at), self.u8_at(at + 1)])
    }
}

/// Reports whether `range` of a message lies wholly before its trailer; the layer is for errors.
pub(crate) fn fits(range_end: usize, body_end: usize) -> bool {
    range_end <= body_end
}

/// Records (lenient) or returns (strict) a violated kernel check.
pub(crate) fn apply_check(
    r: Result<(), crate::error::KernelCheck>,
    mode: Mode,
    anomalies: &mut crate::error::Anomalies,
) -> Result<(), Error> {
    match (r, mode) {
        (Ok(()), _) => Ok(()),
        (Err(c), Mode::Strict) => Err(c.into()),
        (Err(c), Mode::Lenient) => {
            anomalies.push(c);
            Ok(())
        }
    }
}

/// The bytes of `msg` up to its declared length, or a truncation error.
pub(crate) fn declared(msg: &[u8], layer: Layer) -> Result<&[u8], Error> {
    let hdr = Header::parse(msg)?;
    let len = usize::from(hdr.length);
    msg.get(..len).ok_or(Error::Truncated {
        layer,
        need: len,
        have: msg.len(),
        at: 0,
    })
}

#[cfg(test)]
mod test {
    use super::*;

    // Decline v1 from reference §10 (hwipl/smc, real 2019 kernel).
    static DECLINE: [u8; 28] = [
        0xe2, 0xd4, 0xc3, 0xd9, 0x04, 0x00, 0x1c, 0x10, 0x25, 0x25, 0x25, 0x25, 0x25, 0x25, 0x25,
        0x00, 0x03, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xe2, 0xd4, 0xc3, 0xd9,
    ];

    #[test]
    fn frame_reports_missing_bytes_at_every_split() {
        let mut stream = DECLINE.to_vec();
        stream.extend_from_slice(&DECLINE);
        for cut in 0..DECLINE.len() {
            let expected = if cut < 7 { 7 - cut } else { 28 - cut };
            assert_eq!(
                frame(&stream[..cut]),
                Err(FrameError::Incomplete {
                    needed: expected.max(1)
                }),
                "cut at {cut}"
            );
        }
        let (m, rest) = frame(&stream).unwrap();
        assert_eq!(m, &DECLINE[..]);
        assert_eq!(rest, &DECLINE[..]);
    }

    #[test]
    fn frame_rejects_non_clc() {
        assert_eq!(frame(b"GET / HTTP/1.1"), Err(FrameError::NotClc));
        assert_eq!(frame(&[0xe2, 0xd4, 0x00]), Err(FrameError::NotClc));
        let mut bad = DECLINE;
        bad[5] = 0;
        bad[6] = 4;
        assert_eq!(frame(&bad), Err(FrameError::BadLength { length: 4 }));
    }

    #[test]
    fn smc_types() {
        assert!(SmcType::B.smcr() && SmcType::B.smcd());
        assert!(!SmcType::N.smcr() && !SmcType::N.smcd());
        assert_eq!(SmcType::from_flags(false, true), SmcType::D);
        assert_eq!(ClcType(2).to_string(), "ACCEPT");
    }
}
