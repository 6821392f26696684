//! Errors and anomalies (style §6.4).
//!
//! * [`Error`] ends a decode or an emit. `Truncated` has the etherparse `LenError` shape; `Check`
//!   names the kernel receive check that a strict decode mirrors.
//! * [`Anomaly`] is what a decode noticed but survived: in [`Mode::Lenient`] every violated kernel
//!   check becomes one, and in both modes so do oddities the kernel does not check (areas not
//!   where the Linux layout puts them, non-zero reserved bytes, bytes no field covers).

use core::fmt;

use crate::clc::{ClcType, Eyecatcher, SmcType};

/// How a decoder reacts to a violated kernel receive check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// Reject the message with the first violated check, as the kernel would (`-EPROTO`).
    #[default]
    Strict,
    /// Decode what can be decoded and report each violation as an [`Anomaly`].
    Lenient,
}

/// The message part an error or anomaly is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[allow(missing_docs)]
pub enum Layer {
    TcpOption,
    ClcHeader,
    ClcTrailer,
    Proposal,
    SmcdArea,
    PrefixArea,
    Ipv6Prefixes,
    V2Extension,
    Eids,
    SmcdV2Extension,
    GidChidList,
    AcceptConfirm,
    FirstContactExt,
    GidList,
    Decline,
    Cdc,
    SmcdCdc,
    Llc,
    Bth,
    Grh,
    Reth,
    Udp,
}

/// One kernel receive check (reference §9), named after the kernel function that makes it.
///
/// A strict decode returns the first one violated, in the order the kernel evaluates them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(tag = "check", rename_all = "snake_case"))]
#[allow(missing_docs)] // variant docs describe their fields
pub enum KernelCheck {
    /// `smc_clc_wait_msg`: header version nibble below 1 (§9.1).
    WaitMsgVersion { version: u8 },
    /// `smc_clc_wait_msg`: type is neither the expected one nor Decline (§9.1).
    WaitMsgType { expected: ClcType, found: ClcType },
    /// `smc_clc_msg_hdr_valid`: header eyecatcher is neither SMCR nor SMCD (§9.2).
    HdrEyecatcher { found: Eyecatcher },
    /// `smc_clc_msg_hdr_valid`: type is not Proposal, Accept, Confirm or Decline (§9.2).
    HdrType { found: ClcType },
    /// `smc_clc_msg_hdr_valid`: trailer eyecatcher at length−4 is neither SMCR nor SMCD (§9.2).
    HdrTrailer { found: Eyecatcher },
    /// `smc_clc_proposal_get_prefix`: `iparea_offset` above 40 (§9.2).
    PropPrefixOffset { iparea_offset: u16 },
    /// `smc_clc_msg_prop_valid`: `ipv6_prefixes_cnt` above `SMC_CLC_MAX_V6_PREFIX` (8) (§9.2).
    PropIpv6Count { count: u8 },
    /// `smc_clc_msg_prop_valid`: a version-1 Proposal offering no type (`typev1` = N) (§9.2).
    PropV1NoType,
    /// `smc_clc_msg_prop_valid`: version-1 length ≠ 40 + iparea_offset + 8 + 17·n6 + 4 (§9.2).
    PropV1Length { declared: u16, expected: u16 },
    /// `smc_get_clc_msg_smcd`: SMC-D in `typev1` but `iparea_offset` ≠ 40, so no v2 extension (§9.2).
    PropSmcdArea { iparea_offset: u16 },
    /// `smc_get_clc_v2_ext`: `v2_ext_offset` is 0 although `typev2` ≠ N (§9.2).
    PropV2ExtMissing,
    /// `smc_get_clc_v2_ext`: `v2_ext_offset` above 172 (§9.2).
    PropV2ExtOffset { v2_ext_offset: u16 },
    /// `smc_clc_msg_prop_valid`: `eid_cnt` above `SMC_CLC_MAX_UEID` (8) (§9.2).
    PropEidCount { count: u8 },
    /// `smc_clc_msg_prop_valid`: `ism_gid_cnt` above `SMCD_CLC_MAX_V2_GID_ENTRIES` (8) (§9.2).
    PropGidCount { count: u8 },
    /// `smc_clc_msg_prop_valid`: version-2 length ≠ the §3.7 formula (§9.2).
    PropV2Length { declared: u16, expected: u16 },
    /// `smc_clc_msg_acc_conf_valid`: chosen type is neither SMC-R nor SMC-D (§9.2).
    AccConfType { smc_type: SmcType },
    /// `smc_clc_msg_acc_conf_valid`: version-1 length is not exactly 68 (R) / 48 (D) (§9.2).
    AccConfV1Length { declared: u16, expected: u16 },
    /// `smc_clc_msg_acc_conf_valid`: version-2 length below 108 (R) / 78 (D) (§9.2).
    AccConfV2Length { declared: u16, minimum: u16 },
    /// `smc_clc_msg_decl_valid`: length is not exactly 28 (v1) / 44 (v2) (§9.2).
    DeclLength { declared: u16, expected: u16 },
    /// `smc_connect_check_aclc`: the Accept chose a type the Proposal did not offer for that
    /// version; the client declines with MODEUNSUPP (§4.6, §9.2 "After validation").
    ConnectModeUnsupported { version: u8, chosen: SmcType },
    /// `smc_v2_determine_accepted_chid`: SMC-Dv2 Accept CHID matches no offered CHID (`-EPROTO`) (§9.2).
    ConnectChidNotOffered { chid: u16 },
    /// `smc_wr_rx_demultiplex`: no receive handler is registered for this type byte (registered:
    /// 0x01–0x04, 0x06–0x09, 0x21, 0x22, 0x24–0x27, 0x29, 0xFE); the SEND is dropped (§9.3).
    WrRxType { type_byte: u8 },
    /// `smc_llc_rx_handler`: LLC shorter than `sizeof(union smc_llc_msg)` (44) (§9.3).
    LlcRxLength { received: u16 },
    /// `smc_llc_rx_handler`: v1 LLC whose length byte is not 44 (§9.3).
    LlcV1LengthByte { length: u8 },
    /// `smc_llc_rx_handler`: v2 LLC whose host-order length is below 44 (§9.3).
    LlcV2Length { length: u16 },
    /// `smc_llc_eval_conf_link`: CONFIRM LINK without the no-RMBE-eyecatcher bits
    /// (`SMC_LLC_FLAG_NO_RMBE_EYEC`, 0x03): the link is refused (`-ENOTSUPP`, Decline RMBE_EC) (§8.2).
    LlcConfLinkFlags { flags: u8 },
    /// `smc_cdc_rx_handler`: CDC shorter than `offsetof(struct smc_cdc_msg, reserved)` (§9.3).
    CdcRxLength { received: u16 },
    /// `smc_cdc_rx_handler`: CDC length byte is not 44 (§9.3).
    CdcLengthByte { length: u8 },
}

/// An oddity found while decoding. Only [`Anomaly::Check`] is something the kernel rejects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(tag = "anomaly", rename_all = "snake_case"))]
#[allow(missing_docs)] // variant docs describe their fields
pub enum Anomaly {
    /// A kernel receive check failed (lenient mode only; strict mode returns it as an error).
    Check {
        /// The failed check.
        #[cfg_attr(feature = "serde", serde(flatten))]
        check: KernelCheck,
    },
    /// The declared length differs from what the decoded layout needs.
    LengthMismatch { declared: u16, layout: u16 },
    /// An area or list does not fit inside the message (it would start at `at` and need `need`
    /// bytes before the trailer, where only `have` remain); it was not decoded (or only in part).
    AreaTruncated {
        layer: Layer,
        at: u16,
        need: u16,
        have: u16,
    },
    /// An area is not where a Linux ≥ 5.10 sender puts it (offsets not packed, §3.7).
    AreaNotPacked {
        layer: Layer,
        found_at: u16,
        packed_at: u16,
    },
    /// A list count above the kernel's cap; only the first `decoded` entries were read.
    CountOverMax {
        layer: Layer,
        count: u8,
        max: u8,
        decoded: u8,
    },
    /// An offset beyond what the kernel follows (`smc_get_clc_smcd_v2_ext`: > 288): the kernel
    /// does not see the area, although it is decoded here.
    OffsetOverKernelLimit { layer: Layer, value: u16, max: u16 },
    /// The type bits announce an area, but its offset field is 0: no area is there.
    MissingArea { layer: Layer },
    /// An offset field points somewhere although the type bits say the area is absent.
    UnexpectedOffset { layer: Layer, value: u16 },
    /// Reserved bytes that a Linux sender leaves zero are not zero.
    NonZeroReserved { layer: Layer, at: u16, len: u16 },
    /// Non-zero bytes that no decoded field covers (they do not survive a re-encode).
    UncoveredBytes { at: u16, len: u16 },
    /// Bytes after the declared message inside the buffer handed to the decoder.
    TrailingBytes { len: u16 },
    /// A two-byte field written in the sender's CPU order was found little-endian (x86 sender).
    HostOrderLittleEndian { layer: Layer, at: u16 },
    /// A type byte the receiver does not check holds an unexpected value.
    UnexpectedType { layer: Layer, found: u8 },
    /// An Accept's version is above the Proposal's: the client takes any version ≥ 2 as v2, but
    /// steps that test `== SMC_V2` are skipped (`smc_connect_ism`: SMC-D CHID selection, §4.6).
    AcceptAboveProposal { accept: u8, proposal: u8 },
    /// An observation about a message's place in the handshake, made by a dissector that sees
    /// the whole exchange (not by a single-message decode).
    Sequence { what: &'static str },
}

impl From<KernelCheck> for Anomaly {
    fn from(check: KernelCheck) -> Self {
        Anomaly::Check { check }
    }
}

/// A position or length as anomalies store it: messages are at most 64 KiB (CLC length is a
/// u16), so positions past that saturate.
pub(crate) fn p16(x: usize) -> u16 {
    u16::try_from(x).unwrap_or(u16::MAX)
}

/// Anomalies of one decode: a fixed-capacity list plus a count of the ones that did not fit.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Anomalies {
    items: [Option<Anomaly>; Anomalies::CAPACITY],
    len: u8,
    dropped: u16,
}

impl Anomalies {
    /// How many anomalies are kept per decode.
    pub const CAPACITY: usize = 12;

    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an anomaly, or counts it as dropped when the list is full.
    pub fn push(&mut self, a: impl Into<Anomaly>) {
        match self.items.get_mut(usize::from(self.len)) {
            Some(slot) => {
                *slot = Some(a.into());
                self.len += 1;
            }
            None => self.dropped = self.dropped.saturating_add(1),
        }
    }

    /// Appends all anomalies of another list.
    pub fn extend(&mut self, other: &Anomalies) {
        for a in other.iter() {
            self.push(*a);
        }
        self.dropped = self.dropped.saturating_add(other.dropped);
    }

    /// Iterates over the kept anomalies.
    pub fn iter(&self) -> impl Iterator<Item = &Anomaly> + '_ {
        self.items.iter().flatten()
    }

    /// Number of kept anomalies.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// True when nothing was noticed (kept or dropped).
    pub fn is_empty(&self) -> bool {
        self.len == 0 && self.dropped == 0
    }

    /// Anomalies that did not fit.
    pub fn dropped(&self) -> u16 {
        self.dropped
    }

    /// True when some anomaly is a violated kernel check.
    pub fn has_check(&self) -> bool {
        self.iter().any(|a| matches!(a, Anomaly::Check { .. }))
    }

    /// The violated kernel checks among the anomalies.
    pub fn checks(&self) -> impl Iterator<Item = KernelCheck> + '_ {
        self.iter().filter_map(|a| match a {
            Anomaly::Check { check } => Some(*check),
            _ => None,
        })
    }
}

impl fmt::Debug for Anomalies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut l = f.debug_list();
        l.entries(self.iter());
        if self.dropped > 0 {
            l.entry(&format_args!("… {} dropped", self.dropped));
        }
        l.finish()
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Anomalies {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// A decoded representation together with what the decode noticed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoded<T> {
    /// The representation.
    pub repr: T,
    /// What was odd about the bytes.
    pub anomalies: Anomalies,
}

/// Why a decode or emit failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(tag = "error", rename_all = "snake_case"))]
#[allow(missing_docs)] // variant docs describe their fields
pub enum Error {
    /// Fewer bytes than a layer needs (`need` bytes from offset `at`, only `have` there).
    Truncated {
        layer: Layer,
        need: usize,
        have: usize,
        at: usize,
    },
    /// A kernel receive check failed (strict mode).
    Check {
        #[cfg_attr(feature = "serde", serde(flatten))]
        check: KernelCheck,
    },
    /// The bytes are not the message type this decoder handles.
    WrongType { layer: Layer, found: u8 },
    /// Emit: the output buffer is smaller than `buffer_len()`.
    BufferTooSmall { need: usize, have: usize },
    /// Emit: a value does not fit its wire field.
    FieldOverflow { field: &'static str },
    /// Not a known message at all (no eyecatcher, unknown LLC/CDC type byte, …).
    NotRecognised { layer: Layer },
}

impl From<KernelCheck> for Error {
    fn from(check: KernelCheck) -> Self {
        Error::Check { check }
    }
}

impl fmt::Display for KernelCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use KernelCheck::*;
        match *self {
            WaitMsgVersion { version } => write!(f, "smc_clc_wait_msg: version {version} < 1"),
            WaitMsgType { expected, found } => {
                write!(
                    f,
                    "smc_clc_wait_msg: got {found} while waiting for {expected}"
                )
            }
            HdrEyecatcher { found } => {
                write!(f, "smc_clc_msg_hdr_valid: header eyecatcher {found}")
            }
            HdrType { found } => write!(f, "smc_clc_msg_hdr_valid: unknown CLC type {found}"),
            HdrTrailer { found } => write!(f, "smc_clc_msg_hdr_valid: trailer eyecatcher {found}"),
            PropPrefixOffset { iparea_offset } => {
                write!(
                    f,
                    "smc_clc_proposal_get_prefix: iparea_offset {iparea_offset} > 40"
                )
            }
            PropIpv6Count { count } => {
                write!(f, "smc_clc_msg_prop_valid: ipv6_prefixes_cnt {count} > 8")
            }
            PropV1NoType => f.write_str("smc_clc_msg_prop_valid: v1 Proposal with typev1 N"),
            PropV1Length { declared, expected } => {
                write!(
                    f,
                    "smc_clc_msg_prop_valid: v1 length {declared}, layout needs {expected}"
                )
            }
            PropSmcdArea { iparea_offset } => write!(
                f,
                "smc_get_clc_msg_smcd: SMC-D offered for v1 but iparea_offset {iparea_offset} != 40"
            ),
            PropV2ExtMissing => f.write_str("smc_get_clc_v2_ext: typev2 set but v2_ext_offset 0"),
            PropV2ExtOffset { v2_ext_offset } => {
                write!(f, "smc_get_clc_v2_ext: v2_ext_offset {v2_ext_offset} > 172")
            }
            PropEidCount { count } => write!(f, "smc_clc_msg_prop_valid: eid_cnt {count} > 8"),
            PropGidCount { count } => write!(f, "smc_clc_msg_prop_valid: ism_gid_cnt {count} > 8"),
            PropV2Length { declared, expected } => {
                write!(
                    f,
                    "smc_clc_msg_prop_valid: v2 length {declared}, layout needs {expected}"
                )
            }
            AccConfType { smc_type } => {
                write!(
                    f,
                    "smc_clc_msg_acc_conf_valid: chosen type {smc_type} is neither R nor D"
                )
            }
            AccConfV1Length { declared, expected } => write!(
                f,
                "smc_clc_msg_acc_conf_valid: v1 length {declared}, must be {expected}"
            ),
            AccConfV2Length { declared, minimum } => write!(
                f,
                "smc_clc_msg_acc_conf_valid: v2 length {declared} < {minimum}"
            ),
            DeclLength { declared, expected } => {
                write!(
                    f,
                    "smc_clc_msg_decl_valid: length {declared}, must be {expected}"
                )
            }
            ConnectModeUnsupported { version, chosen } => write!(
                f,
                "smc_connect_check_aclc: Accept v{version} chose {chosen}, which was not offered"
            ),
            ConnectChidNotOffered { chid } => write!(
                f,
                "smc_v2_determine_accepted_chid: CHID 0x{chid:04x} was not offered"
            ),
            WrRxType { type_byte } => write!(
                f,
                "smc_wr_rx_demultiplex: no handler for type byte 0x{type_byte:02x}"
            ),
            LlcRxLength { received } => write!(f, "smc_llc_rx_handler: {received} bytes < 44"),
            LlcV1LengthByte { length } => {
                write!(f, "smc_llc_rx_handler: v1 length byte {length} != 44")
            }
            LlcV2Length { length } => write!(f, "smc_llc_rx_handler: v2 length {length} < 44"),
            LlcConfLinkFlags { flags } => write!(
                f,
                "smc_llc_eval_conf_link: CONFIRM LINK flags 0x{flags:02x} lack 0x03"
            ),
            CdcRxLength { received } => write!(f, "smc_cdc_rx_handler: {received} bytes too short"),
            CdcLengthByte { length } => write!(f, "smc_cdc_rx_handler: length byte {length} != 44"),
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Layer::TcpOption => "SMC TCP option",
            Layer::ClcHeader => "CLC header",
            Layer::ClcTrailer => "CLC trailer",
            Layer::Proposal => "Proposal",
            Layer::SmcdArea => "Proposal SMC-D area",
            Layer::PrefixArea => "Proposal IP prefix area",
            Layer::Ipv6Prefixes => "IPv6 prefix list",
            Layer::V2Extension => "v2 extension",
            Layer::Eids => "UEID list",
            Layer::SmcdV2Extension => "SMC-Dv2 extension",
            Layer::GidChidList => "GID/CHID list",
            Layer::AcceptConfirm => "Accept/Confirm",
            Layer::FirstContactExt => "first-contact extension",
            Layer::GidList => "SMC-Rv2 GID list",
            Layer::Decline => "Decline",
            Layer::Cdc => "CDC",
            Layer::SmcdCdc => "SMC-D CDC",
            Layer::Llc => "LLC",
            Layer::Bth => "IB BTH",
            Layer::Grh => "IB GRH",
            Layer::Reth => "IB RETH",
            Layer::Udp => "UDP",
        };
        f.write_str(s)
    }
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Anomaly::Check { check } => write!(f, "kernel rejects: {check}"),
            Anomaly::LengthMismatch { declared, layout } => {
                write!(f, "length {declared} but the layout needs {layout}")
            }
            Anomaly::AreaTruncated {
                layer,
                at,
                need,
                have,
            } => {
                write!(f, "{layer} at {at} needs {need} bytes, {have} left")
            }
            Anomaly::AreaNotPacked {
                layer,
                found_at,
                packed_at,
            } => write!(
                f,
                "{layer} at {found_at}, a Linux sender puts it at {packed_at}"
            ),
            Anomaly::CountOverMax {
                layer,
                count,
                max,
                decoded,
            } => {
                write!(f, "{layer}: count {count} > {max} (decoded {decoded})")
            }
            Anomaly::OffsetOverKernelLimit { layer, value, max } => {
                write!(
                    f,
                    "{layer}: offset {value} > {max}, the kernel does not follow it"
                )
            }
            Anomaly::MissingArea { layer } => {
                write!(f, "{layer} announced by the type bits, but its offset is 0")
            }
            Anomaly::UnexpectedOffset { layer, value } => {
                write!(
                    f,
                    "{layer}: offset {value} set but the type bits say absent"
                )
            }
            Anomaly::NonZeroReserved { layer, at, len } => {
                write!(
                    f,
                    "{layer}: reserved bytes {at}..{} not zero",
                    usize::from(at) + usize::from(len)
                )
            }
            Anomaly::UncoveredBytes { at, len } => {
                write!(
                    f,
                    "non-zero bytes {at}..{} belong to no field",
                    usize::from(at) + usize::from(len)
                )
            }
            Anomaly::TrailingBytes { len } => write!(f, "{len} bytes after the message"),
            Anomaly::HostOrderLittleEndian { layer, at } => {
                write!(
                    f,
                    "{layer}: host-order field at {at} is little-endian (x86 sender)"
                )
            }
            Anomaly::UnexpectedType { layer, found } => {
                write!(f, "{layer}: unexpected type byte 0x{found:02x}")
            }
            Anomaly::AcceptAboveProposal { accept, proposal } => write!(
                f,
                "Accept v{accept} above the Proposal's v{proposal}: the client skips the \
                 steps that test for v2 exactly (smc_connect_ism: SMC-D CHID selection)"
            ),
            Anomaly::Sequence { what } => f.write_str(what),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Truncated {
                layer,
                need,
                have,
                at,
            } => {
                write!(
                    f,
                    "{layer} truncated: needs {need} bytes at offset {at}, {have} present"
                )
            }
            Error::Check { check } => write!(f, "kernel would reject: {check}"),
            Error::WrongType { layer, found } => {
                write!(f, "not a {layer} (type byte {found:#04x})")
            }
            Error::BufferTooSmall { need, have } => {
                write!(f, "output buffer too small: need {need}, have {have}")
            }
            Error::FieldOverflow { field } => write!(f, "value does not fit the field {field}"),
            Error::NotRecognised { layer } => write!(f, "not a recognised {layer}"),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn anomalies_cap_and_count() {
        let mut a = Anomalies::new();
        for i in 0..20 {
            a.push(Anomaly::TrailingBytes { len: i });
        }
        assert_eq!(a.len(), Anomalies::CAPACITY);
        assert_eq!(a.dropped(), 20 - Anomalies::CAPACITY as u16);
        assert!(!a.has_check());
        a.clear_for_test();
    }

    impl Anomalies {
        fn clear_for_test(&mut self) {
            *self = Anomalies::new();
            assert!(self.is_empty());
        }
    }
}
