//! CLC Proposal (type 1): fixed part, SMC-D/v2 area, IP prefix area, v2 extension with UEIDs,
//! SMC-Dv2 extension with its GID/CHID list (reference §3.1–§3.7).
//!
//! Areas are found the way the kernel finds them — through `iparea_offset`, `v2_ext_offset` and
//! `smcd_v2_ext_offset` (`smc_clc_proposal_get_prefix`, `smc_get_clc_v2_ext`,
//! `smc_get_clc_smcd_v2_ext`) — never by assuming they are packed. Where an offset disagrees with
//! the packed layout a Linux ≥ 5.10 sender writes, the decode says so ([`Anomaly::AreaNotPacked`]).

use crate::clc::header::{self, array, be16, be64, HEADER_LEN, TRAILER_LEN};
use crate::clc::ids::{Chid, Eid, GidChid, Ipv6Prefix, IsmGid, Mac, PeerId, RoceGid};
use crate::clc::{
    apply_check, check, check_out, declared, ClcType, Eyecatcher, Header, RecvContext, SmcType,
};
use crate::error::{Anomalies, Anomaly, Decoded, Error, Layer, Mode};
use crate::list::Bounded;

/// Field offsets (§3.1–§3.5). Positions inside variable areas are relative to the area start.
pub(crate) mod field {
    use crate::field::Field;
    // fixed part, §3.1
    pub const PEER_ID: Field = 8..16; // §3.1 id_for_peer
    pub const GID: Field = 16..32; // §3.1 lcl.gid (SMC-R GID)
    pub const MAC: Field = 32..38; // §3.1 lcl.mac (RoCE MAC)
    pub const IPAREA_OFFSET: Field = 38..40; // §3.1 iparea_offset, from byte 40
    pub const FIXED_END: usize = IPAREA_OFFSET.end; // §3.1 sizeof(struct smc_clc_msg_proposal) = 40

    /// SMC-D / v2 area at 40 (`smc_clc_msg_smcd`, §3.2).
    pub mod smcd {
        use crate::field::Field;
        pub const START: usize = super::FIXED_END; // §3.2 directly after the fixed part
        pub const GID: Field = 0..8; // §3.2 ism.gid (native ISM GID)
        pub const CHID: Field = 8..10; // §3.2 ism.chid
        pub const V2_EXT_OFFSET: Field = 10..12; // §3.2 v2_ext_offset, from area byte 12
        pub const VENDOR_OUI: Field = 12..15; // §3.2 vendor_oui
        pub const VENDOR_EXP: Field = 15..20; // §3.2 vendor_exp_options
        pub const RESERVED: Field = 20..40; // §3.2 reserved[20]
        pub const LEN: usize = RESERVED.end; // §3.2 sizeof(struct smc_clc_msg_smcd) = 40
    }

    /// IP prefix area at 40 + iparea_offset (`smc_clc_msg_proposal_prefix`, §3.3).
    pub mod prefix {
        use crate::field::Field;
        pub const SUBNET: Field = 0..4; // §3.3 outgoing_subnet
        pub const PREFIX_LEN: usize = 4; // §3.3 prefix_len
        pub const RESERVED: Field = 5..7; // §3.3 reserved[2]
        pub const V6_COUNT: usize = 7; // §3.3 ipv6_prefixes_cnt
        pub const LEN: usize = V6_COUNT + 1; // §3.3 8-byte fixed part
        pub const V6_ENTRY_LEN: usize = 17; // §3.3 smc_clc_ipv6_prefix, packed
        pub const V6_PREFIX: Field = 0..16; // §3.3 entry: prefix
        pub const V6_PREFIX_LEN: usize = 16; // §3.3 entry: prefix_len
    }

    /// v2 extension at 52 + v2_ext_offset (`smc_clc_v2_extension`, §3.4).
    pub mod v2 {
        use crate::field::Field;
        pub const EID_CNT: usize = 0; // §3.4 hdr.eid_cnt
        pub const ISM_GID_CNT: usize = 1; // §3.4 hdr.ism_gid_cnt (entries)
        pub const RESERVED1: usize = 2; // §3.4 hdr.reserved1
        pub const FLAG: usize = 3; // §3.4 hdr.flag: release 7-4, rsvd 3-1, seid 0
        pub const RESERVED2: Field = 4..6; // §3.4 hdr.reserved2[2]
        pub const SMCD_V2_EXT_OFFSET: Field = 6..8; // §3.4 hdr.smcd_v2_ext_offset, from area byte 8
        pub const ROCE: Field = 8..24; // §3.4 roce (RoCEv2 GID)
        pub const MAX_CONNS: usize = 24; // §3.4 max_conns (v2.1)
        pub const MAX_LINKS: usize = 25; // §3.4 max_links (v2.1)
        pub const FEATURE_MASK: Field = 26..28; // §3.4 feature_mask (v2.1)
        pub const RESERVED: Field = 28..40; // §3.4 reserved[12]
        pub const LEN: usize = RESERVED.end; // §3.4 sizeof(smc_clc_v2_extension_fixed) = 40
        pub const EID_LEN: usize = 32; // §6.4 SMC_MAX_EID_LEN
    }

    /// SMC-Dv2 extension at E + 8 + smcd_v2_ext_offset (`smc_clc_smcd_v2_extension`, §3.5).
    pub mod smcd_v2 {
        use crate::field::Field;
        pub const SYSTEM_EID: Field = 0..32; // §3.5 system_eid (SEID)
        pub const RESERVED: Field = 32..48; // §3.5 reserved[16]
        pub const LEN: usize = RESERVED.end; // §3.5 fixed part, 48 bytes
        pub const ENTRY_LEN: usize = 10; // §3.5 smc_clc_smcd_gid_chid, packed
        pub const ENTRY_GID: Field = 0..8; // §3.5 gid
        pub const ENTRY_CHID: Field = 8..10; // §3.5 chid
    }

    /// Where each offset field counts from (§3.1, §3.2, §3.4).
    pub const IPAREA_BASE: usize = FIXED_END; // §3.1 40 + iparea_offset
    pub const V2_EXT_BASE: usize = smcd::START + smcd::V2_EXT_OFFSET.end; // §3.2 52 + v2_ext_offset
    pub const SMCD_V2_EXT_BASE: usize = v2::SMCD_V2_EXT_OFFSET.end; // §3.4 E + 8 + smcd_v2_ext_offset

    /// `smc_get_clc_v2_ext` max_offset: v2 extension must start by byte 224 of the proposal area.
    pub const V2_EXT_OFFSET_MAX: u16 = 172; // §9.2
    /// `smc_get_clc_smcd_v2_ext` max_offset (§9.2).
    pub const SMCD_V2_EXT_OFFSET_MAX: u16 = 288; // §9.2
}

/// `sizeof(struct smc_clc_msg_proposal_area)`: the longest legal Proposal (§3.7).
pub const MAX_PROPOSAL_LEN: usize = 652;
/// Kernel caps on the lists (`SMC_CLC_MAX_V6_PREFIX`, `SMC_CLC_MAX_UEID`,
/// `SMCD_CLC_MAX_V2_GID_ENTRIES`, §9.2).
pub const MAX_LIST: usize = 8;

/// The SMC-D / v2 area, bytes 40–79 (§3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct SmcdArea {
    /// Native (v1) ISM GID (`ism.gid`); zero unless SMC-D is in `typev1`.
    pub ism_gid: IsmGid,
    /// Native (v1) ISM CHID (`ism.chid`).
    pub ism_chid: Chid,
    /// Distance from byte 52 to the v2 extension; 0 = none.
    pub v2_ext_offset: u16,
    /// Vendor OUI (Linux 0).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "is_zero"))]
    pub vendor_oui: [u8; 3],
    /// Vendor experimental options (Linux 0).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "is_zero"))]
    pub vendor_exp_options: [u8; 5],
    /// Reserved (20 bytes).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "is_zero"))]
    pub reserved: [u8; 20],
}

/// The IP prefix area (§3.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct PrefixArea {
    /// IPv4 subnet (address AND mask); 0 for IPv6.
    #[cfg_attr(feature = "serde", serde(serialize_with = "ser_ipv4"))]
    pub outgoing_subnet: [u8; 4],
    /// IPv4 prefix length in bits.
    pub prefix_len: u8,
    /// Reserved (2 bytes).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "is_zero"))]
    pub reserved: [u8; 2],
    /// IPv6 prefix count as sent.
    pub ipv6_prefixes_cnt: u8,
    /// The IPv6 prefixes decoded (at most 8).
    pub ipv6_prefixes: Bounded<Ipv6Prefix, MAX_LIST>,
}

/// The v2 extension (§3.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct V2Ext {
    /// Number of UEIDs as sent.
    pub eid_cnt: u8,
    /// Number of 10-byte GID/CHID entries as sent.
    pub ism_gid_cnt: u8,
    /// Reserved byte 2.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "is_zero_u8"))]
    pub reserved1: u8,
    /// Release nibble: 0 = v2.0, 1 = v2.1 (`hdr.flag.release`).
    pub release: u8,
    /// Reserved bits 3-1 of the flag byte.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "is_zero_u8"))]
    pub flag_reserved: u8,
    /// SEID indicator (`hdr.flag.seid`).
    pub seid: bool,
    /// Reserved bytes 4-5.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "is_zero"))]
    pub reserved2: [u8; 2],
    /// Distance from extension byte 8 to the SMC-Dv2 extension; 0 = none.
    pub smcd_v2_ext_offset: u16,
    /// RoCEv2 GID (IPv4-mapped); set only when SMC-R is in `typev2`.
    pub roce: RoceGid,
    /// v2.1 max connections per link group (SMC-R).
    pub max_conns: u8,
    /// v2.1 max links per link group (SMC-R).
    pub max_links: u8,
    /// v2.1 feature mask (bit 0: virtual ISM).
    pub feature_mask: u16,
    /// Reserved (12 bytes).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "is_zero"))]
    pub reserved: [u8; 12],
    /// The UEIDs decoded (at most 8).
    pub user_eids: Bounded<Eid, MAX_LIST>,
}

/// The SMC-Dv2 extension (§3.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct SmcdV2Ext {
    /// System EID (zeros unless the SEID flag is set).
    pub system_eid: Eid,
    /// Reserved (16 bytes).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "is_zero"))]
    pub reserved: [u8; 16],
    /// The GID/CHID entries decoded (at most 8; an Emulated-ISM device takes two, §3.6).
    pub gidchid: Bounded<GidChid, MAX_LIST>,
}

/// A CLC Proposal, lossless: every field, offset, count and reserved byte is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct ProposalRepr {
    /// Header eyecatcher (Linux: SMCR).
    pub eyecatcher: Eyecatcher,
    /// Declared length.
    pub length: u16,
    /// Version nibble (Linux ≥ 5.10: 2).
    pub version: u8,
    /// Types offered for v1 (bits 1-0).
    pub typev1: SmcType,
    /// Bits 3-2: types offered for v2 — meaningful only when `version` ≥ 2 (§2.2).
    pub typev2: SmcType,
    /// Peer ID (`id_for_peer`).
    pub id_for_peer: PeerId,
    /// SMC-R GID (`lcl.gid`).
    pub gid: RoceGid,
    /// RoCE MAC (`lcl.mac`).
    pub mac: Mac,
    /// Distance from byte 40 to the prefix area.
    pub iparea_offset: u16,
    /// SMC-D / v2 area at 40.
    pub smcd: Option<SmcdArea>,
    /// IP prefix area.
    pub prefix: Option<PrefixArea>,
    /// v2 extension.
    pub v2_ext: Option<V2Ext>,
    /// SMC-Dv2 extension.
    pub smcd_v2_ext: Option<SmcdV2Ext>,
    /// Trailer eyecatcher.
    pub trailer: Eyecatcher,
}

impl Default for ProposalRepr {
    fn default() -> Self {
        ProposalRepr {
            eyecatcher: Eyecatcher::SMCR,
            length: 0,
            version: 2,
            typev1: SmcType::N,
            typev2: SmcType::N,
            id_for_peer: PeerId::default(),
            gid: RoceGid::default(),
            mac: Mac::default(),
            iparea_offset: 0,
            smcd: None,
            prefix: None,
            v2_ext: None,
            smcd_v2_ext: None,
            trailer: Eyecatcher::SMCR,
        }
    }
}

/// A view of a Proposal; area accessors resolve the offsets like the kernel does.
#[derive(Debug, Clone, Copy)]
pub struct ProposalPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ProposalPacket<T> {
    /// Wraps a buffer without checks.
    pub const fn new_unchecked(buffer: T) -> Self {
        ProposalPacket { buffer }
    }

    /// Wraps a buffer holding at least the 40-byte fixed part.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks that the fixed part is present: after this no fixed-field getter panics, and area
    /// getters return `None` for areas outside the buffer.
    pub fn check_len(&self) -> Result<(), Error> {
        let have = self.buffer.as_ref().len();
        if have < field::FIXED_END {
            return Err(Error::Truncated {
                layer: Layer::Proposal,
                need: field::FIXED_END,
                have,
                at: 0,
            });
        }
        Ok(())
    }

    /// The buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// The header view.
    pub fn header(&self) -> header::HeaderPacket<&[u8]> {
        header::HeaderPacket::new_unchecked(self.b())
    }
    /// `typev1` (bits 1-0 of byte 7).
    pub fn typev1(&self) -> SmcType {
        SmcType(self.header().type_bits() & 0x3)
    }
    /// `typev2` (bits 3-2), or `None` for a version-1 Proposal (§2.2).
    pub fn typev2(&self) -> Option<SmcType> {
        (self.header().version() >= 2).then(|| SmcType((self.header().type_bits() >> 2) & 0x3))
    }
    /// Peer ID.
    pub fn id_for_peer(&self) -> PeerId {
        PeerId(array(&self.b()[field::PEER_ID]))
    }
    /// SMC-R GID.
    pub fn gid(&self) -> RoceGid {
        RoceGid(array(&self.b()[field::GID]))
    }
    /// RoCE MAC.
    pub fn mac(&self) -> Mac {
        Mac(array(&self.b()[field::MAC]))
    }
    /// `iparea_offset`.
    pub fn iparea_offset(&self) -> u16 {
        be16(&self.b()[field::IPAREA_OFFSET])
    }
    /// Start of the prefix area, `40 + iparea_offset` (`smc_clc_proposal_get_prefix`).
    pub fn prefix_start(&self) -> usize {
        field::IPAREA_BASE + usize::from(self.iparea_offset())
    }
    /// `v2_ext_offset` from the SMC-D area, if the area is in the buffer.
    pub fn v2_ext_offset(&self) -> Option<u16> {
        let r = shift(field::smcd::V2_EXT_OFFSET, field::smcd::START);
        self.b().get(r).map(be16)
    }
    /// Start of the v2 extension, `52 + v2_ext_offset`, when the offset is non-zero.
    pub fn v2_ext_start(&self) -> Option<usize> {
        self.v2_ext_offset()
            .filter(|o| *o != 0)
            .map(|o| field::V2_EXT_BASE + usize::from(o))
    }
    /// Start of the SMC-Dv2 extension, `E + 8 + smcd_v2_ext_offset`, when both offsets are non-zero.
    pub fn smcd_v2_ext_start(&self) -> Option<usize> {
        let e = self.v2_ext_start()?;
        let r = shift(field::v2::SMCD_V2_EXT_OFFSET, e);
        let off = self.b().get(r).map(be16).filter(|o| *o != 0)?;
        Some(e + field::SMCD_V2_EXT_BASE + usize::from(off))
    }
}

fn shift(r: core::ops::Range<usize>, by: usize) -> core::ops::Range<usize> {
    r.start + by..r.end + by
}

/// The §3.7 layout a Linux ≥ 5.10 sender produces; also the length the kernel's
/// `smc_clc_msg_prop_valid` demands of a version-2 Proposal with these counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProposalLayout {
    /// `iparea_offset` a Linux sender writes.
    pub iparea_offset: u16,
    /// `v2_ext_offset` (0 when no v2 type).
    pub v2_ext_offset: u16,
    /// `smcd_v2_ext_offset` (0 when no SMC-D in typev2).
    pub smcd_v2_ext_offset: u16,
    /// Total length.
    pub length: usize,
}

impl ProposalLayout {
    /// The v2 layout for these offers and counts (§3.7 formula).
    pub fn v2(
        typev1: SmcType,
        typev2: SmcType,
        n6: usize,
        eid_cnt: usize,
        gid_entries: usize,
    ) -> Self {
        let prefix = if typev1 != SmcType::N {
            field::prefix::LEN + field::prefix::V6_ENTRY_LEN * n6
        } else {
            0
        };
        let v2 = if typev2 != SmcType::N {
            field::v2::LEN + field::v2::EID_LEN * eid_cnt
        } else {
            0
        };
        let d2 = if typev2.smcd() {
            field::smcd_v2::LEN + field::smcd_v2::ENTRY_LEN * gid_entries
        } else {
            0
        };
        let length = field::FIXED_END + field::smcd::LEN + prefix + v2 + d2 + TRAILER_LEN;
        let smcd_area_tail = field::smcd::LEN - field::smcd::V2_EXT_OFFSET.end;
        ProposalLayout {
            iparea_offset: if typev1 != SmcType::N {
                field::smcd::LEN as u16
            } else {
                0
            },
            v2_ext_offset: if typev2 != SmcType::N {
                (smcd_area_tail + prefix) as u16
            } else {
                0
            },
            smcd_v2_ext_offset: if typev2.smcd() {
                (field::v2::LEN - field::SMCD_V2_EXT_BASE + field::v2::EID_LEN * eid_cnt) as u16
            } else {
                0
            },
            length,
        }
    }

    /// The v1 length for a prefix area at `40 + iparea_offset` (`smc_clc_msg_prop_valid`, §9.2).
    pub fn v1_length(iparea_offset: u16, n6: usize) -> usize {
        field::FIXED_END
            + usize::from(iparea_offset)
            + field::prefix::LEN
            + field::prefix::V6_ENTRY_LEN * n6
            + TRAILER_LEN
    }
}

impl ProposalRepr {
    /// Decodes with the server's receive context (652-byte buffer, expecting a Proposal).
    pub fn parse(msg: &[u8], mode: Mode) -> Result<Decoded<Self>, Error> {
        Self::parse_with(msg, mode, &RecvContext::SERVER_PROPOSAL)
    }

    /// Decodes one framed Proposal (`msg` holds at least the declared length).
    pub fn parse_with(msg: &[u8], mode: Mode, ctx: &RecvContext) -> Result<Decoded<Self>, Error> {
        let mut out = Decoded {
            repr: ProposalRepr::default(),
            anomalies: Anomalies::new(),
        };
        out.anomalies = Self::decode_into(msg, mode, ctx, &mut out.repr)?;
        Ok(out)
    }

    /// Decodes into `r` in place (a Proposal representation is large; the callers keep it where
    /// it will stay). On error `r` is unspecified.
    pub(crate) fn decode_into(
        msg: &[u8],
        mode: Mode,
        ctx: &RecvContext,
        r: &mut ProposalRepr,
    ) -> Result<Anomalies, Error> {
        let mut an = Anomalies::new();
        let hdr = Header::parse(msg)?;
        if hdr.msg_type != ClcType::PROPOSAL {
            return Err(Error::WrongType {
                layer: Layer::Proposal,
                found: hdr.msg_type.0,
            });
        }
        let msg = declared(msg, Layer::Proposal)?;
        apply_check(check::check_received(msg, ctx), mode, &mut an)?;
        let p = ProposalPacket::new_checked(msg)?;
        let len = msg.len();
        let body_end = len.saturating_sub(TRAILER_LEN);
        if body_end < field::FIXED_END {
            // the trailer would overlap the fixed part: nothing sensible to decode
            let need = field::FIXED_END + TRAILER_LEN;
            return Err(Error::Truncated {
                layer: Layer::Proposal,
                need,
                have: len,
                at: 0,
            });
        }
        let version = hdr.version;
        let typev1 = p.typev1();
        let typev2 = SmcType((hdr.type_bits >> 2) & 0x3);
        let offered_v2 = p.typev2().unwrap_or(SmcType::N);
        let iparea_offset = p.iparea_offset();
        r.eyecatcher = hdr.eyecatcher;
        r.length = hdr.length;
        r.version = version;
        r.typev1 = typev1;
        r.typev2 = typev2;
        r.id_for_peer = p.id_for_peer();
        r.gid = p.gid();
        r.mac = p.mac();
        r.iparea_offset = iparea_offset;
        r.smcd = None;
        r.prefix = None;
        r.v2_ext = None;
        r.smcd_v2_ext = None;
        r.trailer = Eyecatcher(header::array4(&msg[header::trailer_field(len)]));
        if version < 2 && hdr.type_bits & 0x0c != 0 {
            // v1 senders leave bits 3-2 zero; they are kept (lossless) but mean nothing (§2.2)
            an.push(Anomaly::NonZeroReserved {
                layer: Layer::ClcHeader,
                at: crate::error::p16(header::field::VERSION_BITS),
                len: 1,
            });
        }
        let mut spans = Spans::new();
        spans.add(0, field::FIXED_END);
        spans.add(body_end, len);

        // SMC-D / v2 area at 40: always in v2 (the kernel's length formula counts it, §9.2);
        // in v1 only when the prefix area leaves room for it (4.19 SMC-D v1: iparea_offset 40).
        let want_smcd = version >= 2 || usize::from(iparea_offset) >= field::smcd::LEN;
        if want_smcd {
            let s = field::smcd::START;
            match msg
                .get(s..s + field::smcd::LEN)
                .filter(|_| fits(s + field::smcd::LEN, body_end))
            {
                Some(a) => {
                    let area = SmcdArea::parse(a);
                    reserved(
                        &mut an,
                        Layer::SmcdArea,
                        s + field::smcd::VENDOR_OUI.start,
                        &a[field::smcd::VENDOR_OUI.start..],
                    );
                    spans.add(s, s + field::smcd::LEN);
                    r.smcd = Some(area);
                }
                None => an.push(Anomaly::AreaTruncated {
                    layer: Layer::SmcdArea,
                    at: crate::error::p16(s),
                    need: crate::error::p16(field::smcd::LEN),
                    have: crate::error::p16(body_end.saturating_sub(s)),
                }),
            }
        }

        // IP prefix area: present iff typev1 != N (§3.3), at 40 + iparea_offset
        if typev1 != SmcType::N {
            let at = p.prefix_start();
            let packed_at = if version >= 2 {
                field::FIXED_END + field::smcd::LEN
            } else {
                at
            };
            if version < 2 && iparea_offset != 0 && usize::from(iparea_offset) != field::smcd::LEN {
                an.push(Anomaly::AreaNotPacked {
                    layer: Layer::PrefixArea,
                    found_at: crate::error::p16(at),
                    packed_at: crate::error::p16(field::FIXED_END + field::smcd::LEN),
                });
            } else if at != packed_at {
                an.push(Anomaly::AreaNotPacked {
                    layer: Layer::PrefixArea,
                    found_at: crate::error::p16(at),
                    packed_at: crate::error::p16(packed_at),
                });
            }
            PrefixArea::decode(msg, at, body_end, &mut an, &mut spans, &mut r.prefix);
        } else if version >= 2 && iparea_offset != 0 {
            an.push(Anomaly::UnexpectedOffset {
                layer: Layer::PrefixArea,
                value: iparea_offset,
            });
        }

        // v2 extension: present iff version >= 2, typev2 != N and the SMC-D area gives an offset
        if let (true, Some(area)) = (version >= 2, &r.smcd) {
            if offered_v2 != SmcType::N && area.v2_ext_offset != 0 {
                // decoded even where smc_get_clc_msg_smcd would not find it (SMC-D in typev1 and
                // iparea_offset != 40): the check above already says the kernel misses it
                let at = field::V2_EXT_BASE + usize::from(area.v2_ext_offset);
                let n6 = r.prefix.map_or(0, |p| usize::from(p.ipv6_prefixes_cnt));
                let packed = ProposalLayout::v2(typev1, offered_v2, n6, 0, 0);
                let packed_at = field::V2_EXT_BASE + usize::from(packed.v2_ext_offset);
                if at != packed_at {
                    an.push(Anomaly::AreaNotPacked {
                        layer: Layer::V2Extension,
                        found_at: crate::error::p16(at),
                        packed_at: crate::error::p16(packed_at),
                    });
                }
                V2Ext::decode(msg, at, body_end, &mut an, &mut spans, &mut r.v2_ext);
                if let Some(v2) = &r.v2_ext {
                    if offered_v2.smcd() && v2.smcd_v2_ext_offset != 0 {
                        if v2.smcd_v2_ext_offset > field::SMCD_V2_EXT_OFFSET_MAX {
                            an.push(Anomaly::OffsetOverKernelLimit {
                                layer: Layer::SmcdV2Extension,
                                value: v2.smcd_v2_ext_offset,
                                max: field::SMCD_V2_EXT_OFFSET_MAX,
                            });
                        }
                        let d = at + field::SMCD_V2_EXT_BASE + usize::from(v2.smcd_v2_ext_offset);
                        let packed_d =
                            at + field::v2::LEN + field::v2::EID_LEN * usize::from(v2.eid_cnt);
                        if d != packed_d {
                            an.push(Anomaly::AreaNotPacked {
                                layer: Layer::SmcdV2Extension,
                                found_at: crate::error::p16(d),
                                packed_at: crate::error::p16(packed_d),
                            });
                        }
                        SmcdV2Ext::decode(
                            msg,
                            d,
                            v2.ism_gid_cnt,
                            body_end,
                            &mut an,
                            &mut spans,
                            &mut r.smcd_v2_ext,
                        );
                    } else if offered_v2.smcd() {
                        an.push(Anomaly::MissingArea {
                            layer: Layer::SmcdV2Extension,
                        });
                    } else if v2.smcd_v2_ext_offset != 0 {
                        an.push(Anomaly::UnexpectedOffset {
                            layer: Layer::SmcdV2Extension,
                            value: v2.smcd_v2_ext_offset,
                        });
                    }
                }
            } else if offered_v2 != SmcType::N {
                an.push(Anomaly::MissingArea {
                    layer: Layer::V2Extension,
                });
            } else if area.v2_ext_offset != 0 {
                an.push(Anomaly::UnexpectedOffset {
                    layer: Layer::V2Extension,
                    value: area.v2_ext_offset,
                });
            }
        }
        spans.report_uncovered(msg, &mut an);
        Ok(an)
    }

    /// The v2 extension's offered v2 types (`None` for a version-1 Proposal).
    pub fn offered_v2(&self) -> Option<SmcType> {
        (self.version >= 2).then_some(self.typev2)
    }

    /// Byte 7 bits 3-0 as they go on the wire.
    fn type_bits(&self) -> u8 {
        ((self.typev2.0 & 0x3) << 2) | (self.typev1.0 & 0x3)
    }

    /// Fills `length` and the three offsets with the values a Linux ≥ 5.10 sender writes for
    /// the areas present (§3.7), and makes the counts match the lists.
    pub fn fix_layout(&mut self) {
        let n6 = self.prefix.map_or(0, |p| p.ipv6_prefixes.len());
        let eids = self.v2_ext.map_or(0, |v| v.user_eids.len());
        let gids = self.smcd_v2_ext.map_or(0, |d| d.gidchid.len());
        if let Some(p) = self.prefix.as_mut() {
            p.ipv6_prefixes_cnt = n6 as u8;
        }
        if let Some(v) = self.v2_ext.as_mut() {
            v.eid_cnt = eids as u8;
            v.ism_gid_cnt = gids as u8;
        }
        if self.version >= 2 {
            let l = ProposalLayout::v2(self.typev1, self.typev2, n6, eids, gids);
            self.iparea_offset = l.iparea_offset;
            if let Some(s) = self.smcd.as_mut() {
                s.v2_ext_offset = l.v2_ext_offset;
            }
            if let Some(v) = self.v2_ext.as_mut() {
                v.smcd_v2_ext_offset = l.smcd_v2_ext_offset;
            }
            self.length = l.length as u16;
        } else {
            let smcd = self.smcd.is_some();
            self.iparea_offset = if smcd { field::smcd::LEN as u16 } else { 0 };
            self.length = ProposalLayout::v1_length(self.iparea_offset, n6) as u16;
        }
    }

    /// Makes the representation self-consistent the way a Linux sender would write it: bit
    /// fields in range, the areas present that the version and type bits call for (absent ones
    /// dropped, missing ones added empty), then counts, offsets and length by [`Self::fix_layout`].
    /// Field values themselves (GIDs, EIDs, reserved bytes, eyecatchers) are kept.
    pub fn normalize(&mut self) {
        self.version &= 0x0f;
        if self.version == 0 {
            self.version = 2;
        }
        self.typev1 = SmcType(self.typev1.0 & 0x3);
        self.typev2 = SmcType(self.typev2.0 & 0x3);
        let v2 = self.version >= 2;
        if !v2 {
            self.typev2 = SmcType(0); // bits 3-2 are zero in a v1 header (§2.2)
            if self.typev1 == SmcType::N {
                self.typev1 = SmcType::R;
            }
        }
        let want_smcd = v2 || self.typev1.smcd();
        if want_smcd {
            self.smcd.get_or_insert_with(SmcdArea::default);
        } else {
            self.smcd = None;
        }
        if self.typev1 != SmcType::N {
            self.prefix.get_or_insert_with(PrefixArea::default);
        } else {
            self.prefix = None;
        }
        if v2 && self.typev2 != SmcType::N {
            let v = self.v2_ext.get_or_insert_with(V2Ext::default);
            v.release &= 0x0f;
            v.flag_reserved &= 0x7;
        } else {
            self.v2_ext = None;
        }
        if v2 && self.typev2.smcd() {
            self.smcd_v2_ext.get_or_insert_with(SmcdV2Ext::default);
        } else {
            self.smcd_v2_ext = None;
        }
        self.fix_layout();
    }

    /// End of the last area the representation places (before the trailer).
    fn content_end(&self) -> usize {
        let mut end = field::FIXED_END;
        if self.smcd.is_some() {
            end = end.max(field::smcd::START + field::smcd::LEN);
        }
        if let Some(p) = &self.prefix {
            end = end.max(field::IPAREA_BASE + usize::from(self.iparea_offset) + p.wire_len());
        }
        if let Some((e, v)) = self.v2_ext_at() {
            end = end.max(e + v.wire_len());
            if let (Some(d), Some(x)) = (self.smcd_v2_ext_at(), &self.smcd_v2_ext) {
                end = end.max(d + x.wire_len());
            }
        }
        end
    }

    fn v2_ext_at(&self) -> Option<(usize, &V2Ext)> {
        let off = self.smcd.map(|s| s.v2_ext_offset)?;
        self.v2_ext
            .as_ref()
            .map(|v| (field::V2_EXT_BASE + usize::from(off), v))
    }

    fn smcd_v2_ext_at(&self) -> Option<usize> {
        let (e, v) = self.v2_ext_at()?;
        Some(e + field::SMCD_V2_EXT_BASE + usize::from(v.smcd_v2_ext_offset))
    }

    /// Bytes `emit` writes: the declared length, or more when the areas reach further.
    pub fn buffer_len(&self) -> usize {
        usize::from(self.length).max(self.content_end() + TRAILER_LEN)
    }

    /// Writes the Proposal byte-exact; areas go where their offsets point.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        let total = self.buffer_len();
        check_out(buf, total)?;
        if self.v2_ext.is_some() && self.smcd.is_none() {
            return Err(Error::FieldOverflow {
                field: "v2_ext needs the SMC-D area for its offset",
            });
        }
        if self.smcd_v2_ext.is_some() && self.v2_ext.is_none() {
            return Err(Error::FieldOverflow {
                field: "smcd_v2_ext needs the v2 extension for its offset",
            });
        }
        let buf = &mut buf[..total];
        buf.fill(0);
        Header {
            eyecatcher: self.eyecatcher,
            msg_type: ClcType::PROPOSAL,
            length: self.length,
            version: self.version,
            type_bits: self.type_bits(),
        }
        .emit(buf)?;
        buf[field::PEER_ID].copy_from_slice(&self.id_for_peer.0);
        buf[field::GID].copy_from_slice(&self.gid.0);
        buf[field::MAC].copy_from_slice(&self.mac.0);
        buf[field::IPAREA_OFFSET].copy_from_slice(&self.iparea_offset.to_be_bytes());
        if let Some(s) = &self.smcd {
            s.emit(&mut buf[field::smcd::START..field::smcd::START + field::smcd::LEN]);
        }
        if let Some(p) = &self.prefix {
            let at = field::IPAREA_BASE + usize::from(self.iparea_offset);
            p.emit(&mut buf[at..at + p.wire_len()]);
        }
        if let Some((e, v)) = self.v2_ext_at() {
            v.emit(&mut buf[e..e + v.wire_len()]);
        }
        if let (Some(d), Some(x)) = (self.smcd_v2_ext_at(), &self.smcd_v2_ext) {
            x.emit(&mut buf[d..d + x.wire_len()]);
        }
        buf[header::trailer_field(total)].copy_from_slice(&self.trailer.0);
        Ok(total)
    }
}

impl SmcdArea {
    fn parse(a: &[u8]) -> SmcdArea {
        use field::smcd as f;
        SmcdArea {
            ism_gid: IsmGid(be64(&a[f::GID])),
            ism_chid: Chid(be16(&a[f::CHID])),
            v2_ext_offset: be16(&a[f::V2_EXT_OFFSET]),
            vendor_oui: array(&a[f::VENDOR_OUI]),
            vendor_exp_options: array(&a[f::VENDOR_EXP]),
            reserved: array(&a[f::RESERVED]),
        }
    }
    fn emit(&self, a: &mut [u8]) {
        use field::smcd as f;
        a[f::GID].copy_from_slice(&self.ism_gid.0.to_be_bytes());
        a[f::CHID].copy_from_slice(&self.ism_chid.0.to_be_bytes());
        a[f::V2_EXT_OFFSET].copy_from_slice(&self.v2_ext_offset.to_be_bytes());
        a[f::VENDOR_OUI].copy_from_slice(&self.vendor_oui);
        a[f::VENDOR_EXP].copy_from_slice(&self.vendor_exp_options);
        a[f::RESERVED].copy_from_slice(&self.reserved);
    }
}

impl PrefixArea {
    /// Bytes on the wire: the fixed part plus the decoded entries.
    pub fn wire_len(&self) -> usize {
        field::prefix::LEN + field::prefix::V6_ENTRY_LEN * self.ipv6_prefixes.len()
    }

    fn decode(
        msg: &[u8],
        at: usize,
        body_end: usize,
        an: &mut Anomalies,
        spans: &mut Spans,
        out: &mut Option<PrefixArea>,
    ) {
        use field::prefix as f;
        let Some(a) = fixed_area(msg, at, f::LEN, body_end, Layer::PrefixArea, an) else {
            return;
        };
        spans.add(at, at + f::LEN);
        reserved(
            an,
            Layer::PrefixArea,
            at + f::RESERVED.start,
            &a[f::RESERVED],
        );
        let cnt = a[f::V6_COUNT];
        let area = out.insert(PrefixArea {
            outgoing_subnet: array(&a[f::SUBNET]),
            prefix_len: a[f::PREFIX_LEN],
            reserved: array(&a[f::RESERVED]),
            ipv6_prefixes_cnt: cnt,
            ipv6_prefixes: Bounded::new(),
        });
        let list_at = at + f::LEN;
        let n = walk_list(
            msg,
            list_at,
            cnt,
            f::V6_ENTRY_LEN,
            body_end,
            Layer::Ipv6Prefixes,
            an,
            |e| {
                let _ = area.ipv6_prefixes.push(Ipv6Prefix {
                    prefix: array(&e[f::V6_PREFIX]),
                    prefix_len: e[f::V6_PREFIX_LEN],
                });
            },
        );
        spans.add(list_at, list_at + n * f::V6_ENTRY_LEN);
    }

    fn emit(&self, a: &mut [u8]) {
        use field::prefix as f;
        a[f::SUBNET].copy_from_slice(&self.outgoing_subnet);
        a[f::PREFIX_LEN] = self.prefix_len;
        a[f::RESERVED].copy_from_slice(&self.reserved);
        a[f::V6_COUNT] = self.ipv6_prefixes_cnt;
        for (i, p) in self.ipv6_prefixes.iter().enumerate() {
            let e = &mut a[f::LEN + i * f::V6_ENTRY_LEN..f::LEN + (i + 1) * f::V6_ENTRY_LEN];
            e[f::V6_PREFIX].copy_from_slice(&p.prefix);
            e[f::V6_PREFIX_LEN] = p.prefix_len;
        }
    }
}

impl V2Ext {
    /// Bytes on the wire: the fixed part plus the decoded UEIDs.
    pub fn wire_len(&self) -> usize {
        field::v2::LEN + field::v2::EID_LEN * self.user_eids.len()
    }

    fn decode(
        msg: &[u8],
        at: usize,
        body_end: usize,
        an: &mut Anomalies,
        spans: &mut Spans,
        out: &mut Option<V2Ext>,
    ) {
        use field::v2 as f;
        let Some(a) = fixed_area(msg, at, f::LEN, body_end, Layer::V2Extension, an) else {
            return;
        };
        spans.add(at, at + f::LEN);
        reserved(
            an,
            Layer::V2Extension,
            at + f::RESERVED1,
            &a[f::RESERVED1..=f::RESERVED1],
        );
        reserved(
            an,
            Layer::V2Extension,
            at + f::RESERVED2.start,
            &a[f::RESERVED2],
        );
        reserved(
            an,
            Layer::V2Extension,
            at + f::RESERVED.start,
            &a[f::RESERVED],
        );
        if a[f::FLAG] & 0x0e != 0 {
            an.push(Anomaly::NonZeroReserved {
                layer: Layer::V2Extension,
                at: crate::error::p16(at + f::FLAG),
                len: 1,
            });
        }
        let flag = a[f::FLAG];
        let v = out.insert(V2Ext {
            eid_cnt: a[f::EID_CNT],
            ism_gid_cnt: a[f::ISM_GID_CNT],
            reserved1: a[f::RESERVED1],
            release: flag >> 4,
            flag_reserved: (flag >> 1) & 0x7,
            seid: flag & 0x1 != 0,
            reserved2: array(&a[f::RESERVED2]),
            smcd_v2_ext_offset: be16(&a[f::SMCD_V2_EXT_OFFSET]),
            roce: RoceGid(array(&a[f::ROCE])),
            max_conns: a[f::MAX_CONNS],
            max_links: a[f::MAX_LINKS],
            feature_mask: be16(&a[f::FEATURE_MASK]),
            reserved: array(&a[f::RESERVED]),
            user_eids: Bounded::new(),
        });
        let list_at = at + f::LEN;
        let n = walk_list(
            msg,
            list_at,
            v.eid_cnt,
            f::EID_LEN,
            body_end,
            Layer::Eids,
            an,
            |e| {
                let _ = v.user_eids.push(Eid(array(e)));
            },
        );
        spans.add(list_at, list_at + n * f::EID_LEN);
    }

    fn emit(&self, a: &mut [u8]) {
        use field::v2 as f;
        a[f::EID_CNT] = self.eid_cnt;
        a[f::ISM_GID_CNT] = self.ism_gid_cnt;
        a[f::RESERVED1] = self.reserved1;
        a[f::FLAG] = (self.release << 4) | ((self.flag_reserved & 0x7) << 1) | u8::from(self.seid);
        a[f::RESERVED2].copy_from_slice(&self.reserved2);
        a[f::SMCD_V2_EXT_OFFSET].copy_from_slice(&self.smcd_v2_ext_offset.to_be_bytes());
        a[f::ROCE].copy_from_slice(&self.roce.0);
        a[f::MAX_CONNS] = self.max_conns;
        a[f::MAX_LINKS] = self.max_links;
        a[f::FEATURE_MASK].copy_from_slice(&self.feature_mask.to_be_bytes());
        a[f::RESERVED].copy_from_slice(&self.reserved);
        for (i, e) in self.user_eids.iter().enumerate() {
            a[f::LEN + i * f::EID_LEN..f::LEN + (i + 1) * f::EID_LEN].copy_from_slice(&e.0);
        }
    }
}

impl SmcdV2Ext {
    /// Bytes on the wire: the fixed part plus the decoded entries.
    pub fn wire_len(&self) -> usize {
        field::smcd_v2::LEN + field::smcd_v2::ENTRY_LEN * self.gidchid.len()
    }

    /// The offered SMC-D devices, Emulated-ISM entries paired as a server pairs them (§3.6).
    pub fn devices(&self) -> impl Iterator<Item = crate::clc::SmcdDevice> + '_ {
        crate::clc::smcd_devices(self.gidchid.as_slice())
    }

    fn decode(
        msg: &[u8],
        at: usize,
        count: u8,
        body_end: usize,
        an: &mut Anomalies,
        spans: &mut Spans,
        out: &mut Option<SmcdV2Ext>,
    ) {
        use field::smcd_v2 as f;
        let Some(a) = fixed_area(msg, at, f::LEN, body_end, Layer::SmcdV2Extension, an) else {
            return;
        };
        spans.add(at, at + f::LEN);
        reserved(
            an,
            Layer::SmcdV2Extension,
            at + f::RESERVED.start,
            &a[f::RESERVED],
        );
        let x = out.insert(SmcdV2Ext {
            system_eid: Eid(array(&a[f::SYSTEM_EID])),
            reserved: array(&a[f::RESERVED]),
            gidchid: Bounded::new(),
        });
        let list_at = at + f::LEN;
        let n = walk_list(
            msg,
            list_at,
            count,
            f::ENTRY_LEN,
            body_end,
            Layer::GidChidList,
            an,
            |e| {
                let _ = x.gidchid.push(GidChid {
                    gid: IsmGid(be64(&e[f::ENTRY_GID])),
                    chid: Chid(be16(&e[f::ENTRY_CHID])),
                });
            },
        );
        spans.add(list_at, list_at + n * f::ENTRY_LEN);
    }

    fn emit(&self, a: &mut [u8]) {
        use field::smcd_v2 as f;
        a[f::SYSTEM_EID].copy_from_slice(&self.system_eid.0);
        a[f::RESERVED].copy_from_slice(&self.reserved);
        for (i, e) in self.gidchid.iter().enumerate() {
            let s = &mut a[f::LEN + i * f::ENTRY_LEN..f::LEN + (i + 1) * f::ENTRY_LEN];
            s[f::ENTRY_GID].copy_from_slice(&e.gid.0.to_be_bytes());
            s[f::ENTRY_CHID].copy_from_slice(&e.chid.0.to_be_bytes());
        }
    }
}

/// Walks `count` fixed-size entries at `at` with nom, up to the kernel cap of 8 and the end of
/// the body; reports a count above the cap or entries cut off. Returns how many were read.
#[allow(clippy::too_many_arguments)]
fn walk_list(
    msg: &[u8],
    at: usize,
    count: u8,
    entry_len: usize,
    body_end: usize,
    layer: Layer,
    an: &mut Anomalies,
    mut each: impl FnMut(&[u8]),
) -> usize {
    use nom::bytes::complete::take;
    use nom::multi::fold_many_m_n;
    use nom::Parser;

    let wanted = usize::from(count).min(MAX_LIST);
    if usize::from(count) > MAX_LIST {
        an.push(Anomaly::CountOverMax {
            layer,
            count,
            max: MAX_LIST as u8,
            decoded: wanted as u8,
        });
    }
    let room = body_end.saturating_sub(at) / entry_len;
    let n = wanted.min(room);
    if n < wanted {
        an.push(Anomaly::AreaTruncated {
            layer,
            at: crate::error::p16(at),
            need: crate::error::p16(wanted * entry_len),
            have: crate::error::p16(body_end.saturating_sub(at)),
        });
    }
    let input = msg.get(at..at + n * entry_len).unwrap_or(&[]);
    let parsed: nom::IResult<&[u8], usize> = fold_many_m_n(
        0,
        n,
        take(entry_len),
        || 0usize,
        |k, e: &[u8]| {
            each(e);
            k + 1
        },
    )
    .parse(input);
    parsed.map(|(_, k)| k).unwrap_or(0)
}

/// The fixed part of an area at `at`, if it lies wholly before the trailer; else an
/// [`Anomaly::AreaTruncated`] is recorded.
fn fixed_area<'m>(
    msg: &'m [u8],
    at: usize,
    len: usize,
    body_end: usize,
    layer: Layer,
    an: &mut Anomalies,
) -> Option<&'m [u8]> {
    let a = msg.get(at..at + len).filter(|_| fits(at + len, body_end));
    if a.is_none() {
        an.push(Anomaly::AreaTruncated {
            layer,
            at: crate::error::p16(at),
            need: crate::error::p16(len),
            have: crate::error::p16(body_end.saturating_sub(at)),
        });
    }
    a
}

/// Records non-zero reserved bytes.
pub(crate) fn reserved(an: &mut Anomalies, layer: Layer, at: usize, bytes: &[u8]) {
    if bytes.iter().any(|b| *b != 0) {
        an.push(Anomaly::NonZeroReserved {
            layer,
            at: crate::error::p16(at),
            len: crate::error::p16(bytes.len()),
        });
    }
}

/// Byte ranges that decoded fields cover, to find the bytes no field accounts for.
pub(crate) struct Spans {
    items: [(usize, usize); 12],
    len: usize,
}

impl Spans {
    pub(crate) fn new() -> Self {
        Spans {
            items: [(0, 0); 12],
            len: 0,
        }
    }

    pub(crate) fn add(&mut self, start: usize, end: usize) {
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = (start, end);
            self.len += 1;
        }
    }

    /// Reports non-zero bytes of `msg` outside every span — only needed when the decode already
    /// found a layout anomaly: without one, the areas are packed back to back and the declared
    /// length is the layout's, so no byte can be outside every span (the round-trip property
    /// tests and fuzz targets check this).
    pub(crate) fn report_uncovered(&mut self, msg: &[u8], an: &mut Anomalies) {
        if an
            .iter()
            .all(|a| matches!(a, Anomaly::NonZeroReserved { .. }))
            && an.dropped() == 0
        {
            return;
        }
        let items = &mut self.items[..self.len];
        items.sort_unstable();
        let mut pos = 0usize;
        let gap = |from: usize, to: usize, an: &mut Anomalies| {
            if let Some(g) = msg.get(from..to) {
                if let (Some(first), Some(last)) = (
                    g.iter().position(|b| *b != 0),
                    g.iter().rposition(|b| *b != 0),
                ) {
                    an.push(Anomaly::UncoveredBytes {
                        at: crate::error::p16(from + first),
                        len: crate::error::p16(last - first + 1),
                    });
                }
            }
        };
        for &(s, e) in items.iter() {
            if s > pos {
                gap(pos, s, an);
            }
            pos = pos.max(e);
        }
        if pos < msg.len() {
            gap(pos, msg.len(), an);
        }
    }
}

fn fits(end: usize, body_end: usize) -> bool {
    crate::clc::fits(end, body_end)
}

#[cfg(feature = "serde")]
pub(crate) fn is_zero<const N: usize>(a: &[u8; N]) -> bool {
    a.iter().all(|b| *b == 0)
}

#[cfg(feature = "serde")]
pub(crate) fn is_zero_u8(a: &u8) -> bool {
    *a == 0
}

#[cfg(feature = "serde")]
fn ser_ipv4<S: serde::Serializer>(a: &[u8; 4], s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&std::net::Ipv4Addr::from(*a))
}

#[allow(dead_code)]
const _: () = assert!(HEADER_LEN == 8);
