//! Byte-level mutation of CLC messages, aware of where the kernel's fields are.
//!
//! A [`Mutation`] names its target symbolically ([`Field`]); [`locate`] finds the field in the
//! bytes as they are when the mutation applies — reading the offsets (`iparea_offset`,
//! `v2_ext_offset`, `smcd_v2_ext_offset`) and the type bits from the message itself, the way the
//! kernel does — so a case stays meaningful when earlier mutations or a different kernel GID
//! change the message, and shrinking one mutation never invalidates the others.

use super::Rng;
use serde::{Deserialize, Serialize};

/// Positions, relative to the message start or to the area they belong to. These mirror the
/// private `mod field` tables of smc-wire (reference §2–§5).
pub(super) mod field {
    pub const EYECATCHER: usize = 0; // §2.1 eyecatcher, 4 bytes
    pub const TYPE: usize = 4; // §2.1 type (pub for case.rs and exec.rs)
    pub const LENGTH: usize = 5; // §2.1 length, BE16
    pub const VERSION_BITS: usize = 7; // §2.2 version nibble + type bits
    pub const TRAILER_LEN: usize = 4; // §2.1

    pub mod prop {
        pub const PEER_ID: usize = 8; // §3.1 id_for_peer
        pub const GID: usize = 16; // §3.1 lcl.gid (16 bytes)
        pub const IPAREA_OFFSET: usize = 38; // §3.1 iparea_offset, from 40
        pub const IPAREA_BASE: usize = 40; // §3.1
        pub const SMCD_GID: usize = 40; // §3.2 ism.gid
        pub const SMCD_CHID: usize = 48; // §3.2 ism.chid
        pub const V2_EXT_OFFSET: usize = 50; // §3.2 v2_ext_offset, from 52
        pub const V2_EXT_BASE: usize = 52; // §3.2
        pub const PFX_SUBNET: usize = 0; // §3.3 outgoing_subnet
        pub const PFX_LEN: usize = 4; // §3.3 prefix_len
        pub const PFX_V6_COUNT: usize = 7; // §3.3 ipv6_prefixes_cnt
        pub const V2_EID_CNT: usize = 0; // §3.4 eid_cnt
        pub const V2_GID_CNT: usize = 1; // §3.4 ism_gid_cnt
        pub const V2_FLAG: usize = 3; // §3.4 release 7-4, seid 0
        pub const V2_SMCD_OFFSET: usize = 6; // §3.4 smcd_v2_ext_offset, from E + 8
        pub const V2_SMCD_BASE: usize = 8; // §3.4
        pub const V2_ROCE: usize = 8; // §3.4 roce GID (16 bytes)
        pub const V2_ROCE_LOW: usize = V2_ROCE + 8; // §3.4 roce GID, IPv4-mapped half
        pub const V2_MAX_CONNS: usize = 24; // §3.4 max_conns
        pub const V2_MAX_LINKS: usize = 25; // §3.4 max_links
        pub const V2_FEATURE_MASK: usize = 26; // §3.4 feature_mask
        pub const V2_UEIDS: usize = 40; // §3.4 user_eids[]
        pub const EID_LEN: usize = 32; // §6.4
        pub const D2_SEID: usize = 0; // §3.5 system_eid
        pub const D2_ENTRIES: usize = 48; // §3.5 gidchid[]
        pub const D2_ENTRY_LEN: usize = 10; // §3.5
        pub const D2_ENTRY_CHID: usize = 8; // §3.5 chid within an entry
    }
    pub mod acc {
        pub const D_GID: usize = 8; // §4.2 d0.gid
        pub const D_TOKEN: usize = 16; // §4.2 d0.token
        pub const D_DMBE_IDX: usize = 24; // §4.2 d0.dmbe_idx
        pub const D_SIZE: usize = 25; // §4.2 dmbe_size 7-4
        pub const D_LINKID: usize = 28; // §4.2 d0.linkid
        pub const D_CHID: usize = 32; // §4.2 d1.chid
        pub const D_EID: usize = 34; // §4.2 d1.eid
        pub const D_GID_EXT: usize = 66; // §4.2 d1.gid_ext
        pub const D_FCE: usize = 74; // §4.2 FCE after d1
        pub const R_PEER_ID: usize = 8; // §4.1 lcl.id_for_peer
        pub const R_QPN: usize = 38; // §4.1 qpn BE24
        pub const R_RKEY: usize = 41; // §4.1 rmb_rkey
        pub const R_RMBE_IDX: usize = 45; // §4.1 rmbe_idx
        pub const R_ALERT_TOKEN: usize = 46; // §4.1 rmbe_alert_token
        pub const R_SIZE_MTU: usize = 50; // §4.1 rmbe_size 7-4, qp_mtu 3-0
        pub const R_DMA_ADDR: usize = 52; // §4.1 rmb_dma_addr
        pub const R_PSN: usize = 61; // §4.1 psn BE24
        pub const R_EID: usize = 64; // §4.1 r1.eid
        pub const R_FCE: usize = 104; // §4.1 FCE after r1
        pub const FCE_DIRECT: usize = 0; // §4.3 v2_direct bit 7
        pub const FCE_OS_RELEASE: usize = 1; // §4.3 os_type 7-4, release 3-0
        pub const FCE_MAX_CONNS: usize = 36; // §4.3 max_conns
        pub const FCE_MAX_LINKS: usize = 37; // §4.3 max_links
        pub const FCE_FEATURE_MASK: usize = 38; // §4.3 feature_mask
        pub const FCE_V2X_LEN: usize = 52; // §4.3
        pub const GLE_CNT: usize = 0; // §4.1 gid list count after the FCE
    }
    pub mod decl {
        pub const DIAGNOSIS: usize = 16; // §5.1 peer_diagnosis
        pub const OS_TYPE: usize = 20; // §5.1 os_type 7-4
        pub const DIAG_V2: usize = 24; // §5.1 peer_diagnosis_v2[4]
    }
    /// CLC message types (§2.1).
    pub const PROPOSAL: u8 = 1;
    pub const ACCEPT: u8 = 2;
    pub const CONFIRM: u8 = 3;
    pub const DECLINE: u8 = 4;
    /// byte 7 bits 1-0 of an Accept/Confirm: SMC-D (§2.2).
    pub const TYPE_D: u8 = 1;
}

/// A field the mutator can target. List fields take an entry index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Field {
    /// Header eyecatcher (4 bytes).
    Eyecatcher,
    /// Header type byte.
    Type,
    /// Header length (BE16).
    Length,
    /// Version nibble (byte 7 bits 7-4).
    Version,
    /// Byte 7 bits 3-0 (typev2/typev1, first contact + type, out-of-sync).
    TypeBits,
    /// Trailer eyecatcher at length − 4.
    Trailer,
    /// Proposal/Accept SMC-R peer id (first 8 bytes).
    PeerId,
    /// Proposal SMC-R GID, upper 8 bytes.
    PropGid,
    /// Proposal `iparea_offset`.
    IpareaOffset,
    /// Proposal native ISM GID (bytes 40–47).
    NativeGid,
    /// Proposal native ISM CHID.
    NativeChid,
    /// Proposal `v2_ext_offset`.
    V2ExtOffset,
    /// Prefix area: outgoing subnet.
    PrefixSubnet,
    /// Prefix area: prefix length.
    PrefixLen,
    /// Prefix area: IPv6 prefix count.
    V6Count,
    /// v2 extension: `eid_cnt`.
    EidCnt,
    /// v2 extension: `ism_gid_cnt`.
    GidCnt,
    /// v2 extension: release nibble + SEID flag byte.
    V2Flag,
    /// v2 extension: `smcd_v2_ext_offset`.
    SmcdV2ExtOffset,
    /// v2 extension: RoCE GID, lower 8 bytes (the IPv4-mapped part).
    RoceGidLow,
    /// v2 extension: `max_conns`.
    MaxConns,
    /// v2 extension: `max_links`.
    MaxLinks,
    /// v2 extension: `feature_mask`.
    FeatureMask,
    /// v2 extension: UEID `i`, first 8 bytes.
    Ueid(u8),
    /// SMC-Dv2 extension: system EID, first 8 bytes.
    SystemEid,
    /// SMC-Dv2 extension: entry `i` GID.
    EntryGid(u8),
    /// SMC-Dv2 extension: entry `i` CHID.
    EntryChid(u8),
    /// Accept/Confirm SMC-D GID.
    AccGid,
    /// Accept/Confirm SMC-D DMB token.
    Token,
    /// Accept/Confirm SMC-D `dmbe_idx`.
    DmbeIdx,
    /// Accept/Confirm SMC-D size byte (dmbe_size nibble).
    DmbeSize,
    /// Accept/Confirm SMC-D link id.
    LinkId,
    /// Accept/Confirm SMC-D v2 CHID.
    AccChid,
    /// Accept/Confirm EID, first 8 bytes.
    AccEid,
    /// Accept/Confirm SMC-D v2 `gid_ext`.
    GidExt,
    /// Accept/Confirm SMC-R QPN (BE24).
    Qpn,
    /// Accept/Confirm SMC-R RMB rkey.
    Rkey,
    /// Accept/Confirm SMC-R `rmbe_idx`.
    RmbeIdx,
    /// Accept/Confirm SMC-R alert token.
    AlertToken,
    /// Accept/Confirm SMC-R size/MTU byte.
    SizeMtu,
    /// Accept/Confirm SMC-R RMB DMA address.
    DmaAddr,
    /// Accept/Confirm SMC-R PSN (BE24).
    Psn,
    /// FCE `v2_direct` byte.
    FceDirect,
    /// FCE os_type/release byte.
    FceRelease,
    /// FCE `max_conns`.
    FceMaxConns,
    /// FCE `max_links`.
    FceMaxLinks,
    /// FCE `feature_mask`.
    FceFeatureMask,
    /// SMC-R Accept/Confirm GID list count (after the v2.x FCE).
    GidListCnt,
    /// Decline `peer_diagnosis`.
    Diagnosis,
    /// Decline os_type byte.
    DeclOsType,
    /// Decline `peer_diagnosis_v2[i]`.
    DiagV2(u8),
}

/// Where a byte-level mutation applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pos {
    /// Absolute offset.
    At(u16),
    /// Offset from the end (0 = last byte).
    FromEnd(u16),
    /// The first byte of a field (plus `skip`).
    In(Field, u8),
}

/// One mutation. Applied in order; one that does not fit the message (a field it lacks, an
/// offset past its end) is skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Mutation {
    /// Writes `value` into the field (big-endian, truncated to its width).
    Set {
        /// Target.
        field: Field,
        /// Value.
        value: u64,
    },
    /// Adds `delta` to the field (wrapping).
    Add {
        /// Target.
        field: Field,
        /// Signed delta.
        delta: i32,
    },
    /// Sets one byte.
    Byte {
        /// Where.
        at: Pos,
        /// Value.
        value: u8,
    },
    /// Flips one bit.
    Flip {
        /// Where.
        at: Pos,
        /// Bit 0..7.
        bit: u8,
    },
    /// Keeps the first `keep` bytes.
    Truncate {
        /// Bytes kept.
        keep: u16,
    },
    /// Appends `n` bytes of `byte`.
    Extend {
        /// Count.
        n: u16,
        /// Filler.
        byte: u8,
    },
    /// Inserts `n` bytes of `byte` at `at`.
    Insert {
        /// Where.
        at: Pos,
        /// Count.
        n: u16,
        /// Filler.
        byte: u8,
    },
    /// Removes `n` bytes at `at`.
    Delete {
        /// Where.
        at: Pos,
        /// Count.
        n: u16,
    },
    /// Sets the header length to the message's current size.
    FixLength,
    /// Writes a valid trailer (`SMCR`/`SMCD`, as the header's eyecatcher) at length − 4.
    FixTrailer,
    /// The message twice in a row (a repeated message).
    Repeat,
}

fn be(b: &[u8], at: usize, w: usize) -> Option<u64> {
    let s = b.get(at..at.checked_add(w)?)?;
    Some(s.iter().fold(0u64, |a, x| (a << 8) | u64::from(*x)))
}

fn be16(b: &[u8], at: usize) -> Option<usize> {
    be(b, at, 2).map(|v| v as usize)
}

/// Special widths: the version nibble and the type-bit nibble of byte 7.
const NIBBLE_HI: usize = 100;
const NIBBLE_LO: usize = 101;

/// Where `f` is in `msg` as it is now: (offset, width in bytes, or a nibble marker).
pub fn locate(msg: &[u8], f: Field) -> Option<(usize, usize)> {
    use field::{acc, decl, prop};
    let ty = *msg.get(field::TYPE)?;
    let bits = msg.get(field::VERSION_BITS).copied().unwrap_or(0);
    let len = msg.len();
    let hit = |at: usize, w: usize| (at + w.min(8) <= len).then_some((at, w));
    match f {
        Field::Eyecatcher => return hit(field::EYECATCHER, 4),
        Field::Type => return hit(field::TYPE, 1),
        Field::Length => return hit(field::LENGTH, 2),
        Field::Version => return hit(field::VERSION_BITS, NIBBLE_HI),
        Field::TypeBits => return hit(field::VERSION_BITS, NIBBLE_LO),
        Field::Trailer => {
            let declared = be16(msg, field::LENGTH)?;
            let at = declared.checked_sub(field::TRAILER_LEN)?;
            return hit(at, 4);
        }
        _ => {}
    }
    match ty {
        field::PROPOSAL => {
            let ipoff = be16(msg, prop::IPAREA_OFFSET)?;
            let pfx = prop::IPAREA_BASE + ipoff;
            let e = prop::V2_EXT_BASE + be16(msg, prop::V2_EXT_OFFSET).unwrap_or(0);
            let d = || -> Option<usize> {
                Some(e + prop::V2_SMCD_BASE + be16(msg, e + prop::V2_SMCD_OFFSET)?)
            };
            match f {
                Field::PeerId => hit(prop::PEER_ID, 8),
                Field::PropGid => hit(prop::GID, 8),
                Field::IpareaOffset => hit(prop::IPAREA_OFFSET, 2),
                Field::NativeGid => hit(prop::SMCD_GID, 8),
                Field::NativeChid => hit(prop::SMCD_CHID, 2),
                Field::V2ExtOffset => hit(prop::V2_EXT_OFFSET, 2),
                Field::PrefixSubnet => hit(pfx + prop::PFX_SUBNET, 4),
                Field::PrefixLen => hit(pfx + prop::PFX_LEN, 1),
                Field::V6Count => hit(pfx + prop::PFX_V6_COUNT, 1),
                Field::EidCnt => hit(e + prop::V2_EID_CNT, 1),
                Field::GidCnt => hit(e + prop::V2_GID_CNT, 1),
                Field::V2Flag => hit(e + prop::V2_FLAG, 1),
                Field::SmcdV2ExtOffset => hit(e + prop::V2_SMCD_OFFSET, 2),
                Field::RoceGidLow => hit(e + prop::V2_ROCE_LOW, 8),
                Field::MaxConns => hit(e + prop::V2_MAX_CONNS, 1),
                Field::MaxLinks => hit(e + prop::V2_MAX_LINKS, 1),
                Field::FeatureMask => hit(e + prop::V2_FEATURE_MASK, 2),
                Field::Ueid(i) => hit(e + prop::V2_UEIDS + usize::from(i) * prop::EID_LEN, 8),
                Field::SystemEid => hit(d()? + prop::D2_SEID, 8),
                Field::EntryGid(i) => hit(
                    d()? + prop::D2_ENTRIES + usize::from(i) * prop::D2_ENTRY_LEN,
                    8,
                ),
                Field::EntryChid(i) => hit(
                    d()? + prop::D2_ENTRIES
                        + usize::from(i) * prop::D2_ENTRY_LEN
                        + prop::D2_ENTRY_CHID,
                    2,
                ),
                _ => None,
            }
        }
        field::ACCEPT | field::CONFIRM => {
            let is_d = bits & 0x3 == field::TYPE_D;
            let fce = if is_d { acc::D_FCE } else { acc::R_FCE };
            match (f, is_d) {
                (Field::AccGid, true) => hit(acc::D_GID, 8),
                (Field::Token, true) => hit(acc::D_TOKEN, 8),
                (Field::DmbeIdx, true) => hit(acc::D_DMBE_IDX, 1),
                (Field::DmbeSize, true) => hit(acc::D_SIZE, 1),
                (Field::LinkId, true) => hit(acc::D_LINKID, 4),
                (Field::AccChid, true) => hit(acc::D_CHID, 2),
                (Field::AccEid, true) => hit(acc::D_EID, 8),
                (Field::GidExt, true) => hit(acc::D_GID_EXT, 8),
                (Field::PeerId, false) => hit(acc::R_PEER_ID, 8),
                (Field::Qpn, false) => hit(acc::R_QPN, 3),
                (Field::Rkey, false) => hit(acc::R_RKEY, 4),
                (Field::RmbeIdx, false) => hit(acc::R_RMBE_IDX, 1),
                (Field::AlertToken, false) => hit(acc::R_ALERT_TOKEN, 4),
                (Field::SizeMtu, false) => hit(acc::R_SIZE_MTU, 1),
                (Field::DmaAddr, false) => hit(acc::R_DMA_ADDR, 8),
                (Field::Psn, false) => hit(acc::R_PSN, 3),
                (Field::AccEid, false) => hit(acc::R_EID, 8),
                (Field::GidListCnt, false) => hit(fce + acc::FCE_V2X_LEN + acc::GLE_CNT, 1),
                (Field::FceDirect, _) => hit(fce + acc::FCE_DIRECT, 1),
                (Field::FceRelease, _) => hit(fce + acc::FCE_OS_RELEASE, 1),
                (Field::FceMaxConns, _) => hit(fce + acc::FCE_MAX_CONNS, 1),
                (Field::FceMaxLinks, _) => hit(fce + acc::FCE_MAX_LINKS, 1),
                (Field::FceFeatureMask, _) => hit(fce + acc::FCE_FEATURE_MASK, 2),
                _ => None,
            }
        }
        field::DECLINE => match f {
            Field::PeerId => hit(prop::PEER_ID, 8),
            Field::Diagnosis => hit(decl::DIAGNOSIS, 4),
            Field::DeclOsType => hit(decl::OS_TYPE, 1),
            Field::DiagV2(i) => hit(decl::DIAG_V2 + 4 * usize::from(i % 4), 4),
            _ => None,
        },
        _ => None,
    }
}

fn read_field(msg: &[u8], at: usize, w: usize) -> Option<u64> {
    let b = u64::from(*msg.get(at)?);
    match w {
        NIBBLE_HI => Some(b >> 4),
        NIBBLE_LO => Some(b & 0xf),
        _ => be(msg, at, w),
    }
}

fn write_field(msg: &mut [u8], at: usize, w: usize, v: u64) -> bool {
    match w {
        NIBBLE_HI | NIBBLE_LO => {
            let Some(b) = msg.get_mut(at) else {
                return false;
            };
            *b = if w == NIBBLE_HI {
                ((v as u8 & 0xf) << 4) | (*b & 0xf)
            } else {
                (*b & 0xf0) | (v as u8 & 0xf)
            };
            true
        }
        _ => {
            let Some(s) = msg.get_mut(at..at + w) else {
                return false;
            };
            for (i, d) in s.iter_mut().enumerate() {
                *d = (v >> (8 * (w - 1 - i))) as u8;
            }
            true
        }
    }
}

fn resolve(msg: &[u8], p: Pos) -> Option<usize> {
    match p {
        Pos::At(a) => Some(usize::from(a)),
        Pos::FromEnd(e) => msg.len().checked_sub(1 + usize::from(e)),
        Pos::In(f, skip) => locate(msg, f).map(|(at, _)| at + usize::from(skip)),
    }
}

/// The longest message a mutation may produce (the kernel reads at most 652 bytes of a
/// Proposal; anything longer is drained, which a few hundred more bytes exercise as well).
pub const MAX_LEN: usize = 1200;

/// Applies one mutation; returns whether it changed anything it could reach.
pub fn apply(msg: &mut Vec<u8>, m: &Mutation) -> bool {
    let ok = match *m {
        Mutation::Set { field, value } => match locate(msg, field) {
            Some((at, w)) => write_field(msg, at, w, value),
            None => false,
        },
        Mutation::Add { field, delta } => match locate(msg, field) {
            Some((at, w)) => {
                let cur = read_field(msg, at, w).unwrap_or(0);
                write_field(msg, at, w, cur.wrapping_add(delta as i64 as u64))
            }
            None => false,
        },
        Mutation::Byte { at, value } => match resolve(msg, at).and_then(|a| msg.get_mut(a)) {
            Some(b) => {
                *b = value;
                true
            }
            None => false,
        },
        Mutation::Flip { at, bit } => match resolve(msg, at).and_then(|a| msg.get_mut(a)) {
            Some(b) => {
                *b ^= 1 << (bit & 7);
                true
            }
            None => false,
        },
        Mutation::Truncate { keep } => {
            let k = usize::from(keep);
            let ch = k < msg.len();
            msg.truncate(k);
            ch
        }
        Mutation::Extend { n, byte } => {
            msg.extend(std::iter::repeat_n(byte, usize::from(n)));
            n > 0
        }
        Mutation::Insert { at, n, byte } => match resolve(msg, at) {
            Some(a) if a <= msg.len() => {
                msg.splice(a..a, std::iter::repeat_n(byte, usize::from(n)));
                n > 0
            }
            _ => false,
        },
        Mutation::Delete { at, n } => match resolve(msg, at) {
            Some(a) if a < msg.len() => {
                let end = (a + usize::from(n)).min(msg.len());
                msg.drain(a..end);
                true
            }
            _ => false,
        },
        Mutation::FixLength => {
            let l = msg.len().min(usize::from(u16::MAX)) as u64;
            write_field(msg, field::LENGTH, 2, l)
        }
        Mutation::FixTrailer => {
            let eye: Option<[u8; 4]> = msg
                .get(field::EYECATCHER..field::EYECATCHER + 4)
                .and_then(|s| s.try_into().ok());
            match (eye, locate(msg, Field::Trailer)) {
                (Some(e), Some((at, _))) => match msg.get_mut(at..at + 4) {
                    Some(s) => {
                        s.copy_from_slice(&e);
                        true
                    }
                    None => false,
                },
                _ => false,
            }
        }
        Mutation::Repeat => {
            let c = msg.clone();
            msg.extend_from_slice(&c);
            true
        }
    };
    msg.truncate(MAX_LEN);
    ok
}

/// Applies mutations in order.
pub fn apply_all(msg: &mut Vec<u8>, ms: &[Mutation]) {
    for m in ms {
        apply(msg, m);
    }
}

/// Every field present in `msg` (for choosing targets).
pub fn fields_present(msg: &[u8]) -> Vec<Field> {
    let mut all = vec![
        Field::Eyecatcher,
        Field::Type,
        Field::Length,
        Field::Version,
        Field::TypeBits,
        Field::Trailer,
        Field::PeerId,
        Field::PropGid,
        Field::IpareaOffset,
        Field::NativeGid,
        Field::NativeChid,
        Field::V2ExtOffset,
        Field::PrefixSubnet,
        Field::PrefixLen,
        Field::V6Count,
        Field::EidCnt,
        Field::GidCnt,
        Field::V2Flag,
        Field::SmcdV2ExtOffset,
        Field::RoceGidLow,
        Field::MaxConns,
        Field::MaxLinks,
        Field::FeatureMask,
        Field::SystemEid,
        Field::AccGid,
        Field::Token,
        Field::DmbeIdx,
        Field::DmbeSize,
        Field::LinkId,
        Field::AccChid,
        Field::AccEid,
        Field::GidExt,
        Field::Qpn,
        Field::Rkey,
        Field::RmbeIdx,
        Field::AlertToken,
        Field::SizeMtu,
        Field::DmaAddr,
        Field::Psn,
        Field::FceDirect,
        Field::FceRelease,
        Field::FceMaxConns,
        Field::FceMaxLinks,
        Field::FceFeatureMask,
        Field::GidListCnt,
        Field::Diagnosis,
        Field::DeclOsType,
    ];
    for i in 0..9u8 {
        all.extend([Field::Ueid(i), Field::EntryGid(i), Field::EntryChid(i)]);
    }
    all.extend((0..4u8).map(Field::DiagV2));
    all.retain(|f| locate(msg, *f).is_some());
    all
}

/// Values worth trying in a field of width `w` (bytes; nibbles give 0..15).
fn interesting(rng: &mut Rng, f: Field, w: usize, cur: u64) -> u64 {
    const U16S: &[u64] = &[
        0, 1, 7, 8, 9, 12, 27, 28, 29, 43, 44, 45, 47, 48, 49, 51, 52, 67, 68, 69, 77, 78, 79, 107,
        108, 109, 130, 159, 160, 161, 171, 172, 173, 224, 287, 288, 289, 651, 652, 653, 0x7fff,
        0x8000, 0xfeff, 0xff00, 0xff01, 0xfffe, 0xffff,
    ];
    const U8S: &[u64] = &[0, 1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 0x7f, 0x80, 0xfe, 0xff];
    const CODES: &[u64] = &[
        0,
        0x0101_0000,
        0x0200_0000,
        0x0301_0000,
        0x0303_0000,
        0x0303_0001,
        0x0303_0002,
        0x0303_0008,
        0x0303_0009,
        0x0304_0000,
        0x0305_0000,
        0x0400_0000,
        0x0500_0000,
        0x0900_0000,
        0x9999_0000,
        0xffff_ffff,
    ];
    if matches!(f, Field::Diagnosis | Field::DiagV2(_)) && rng.chance(60) {
        return rng.pick(CODES).unwrap_or(0);
    }
    if matches!(f, Field::AccChid | Field::NativeChid | Field::EntryChid(_)) && rng.chance(60) {
        // CHID 0 (v1 slot), 0xFFFF (loopback-ism), the virtual-ISM range 0xFF00-0xFFFE, native
        return rng
            .pick(&[0, 0xffff, 0xff00, 0xff01, 0xfffe, 0x1234, 0x00ff])
            .unwrap_or(0xffff);
    }
    match w {
        NIBBLE_HI | NIBBLE_LO => rng.below(16),
        1 => match rng.below(3) {
            0 => rng.pick(U8S).unwrap_or(0),
            1 => cur.wrapping_add(rng.range(1, 3)).wrapping_sub(2) & 0xff,
            _ => rng.below(256),
        },
        2 => match rng.below(3) {
            0 => rng.pick(U16S).unwrap_or(0),
            1 => cur.wrapping_add(rng.range(0, 20)).wrapping_sub(10) & 0xffff,
            _ => rng.below(0x1_0000),
        },
        3 | 4 => match rng.below(3) {
            0 => rng
                .pick(&[0, 1, 0x7f_ffff, 0xff_ffff, 0x7fff_ffff, 0xffff_ffff])
                .unwrap_or(0),
            1 => cur ^ (1 << rng.below(8 * w as u64)),
            _ => rng.next_u64() & ((1 << (8 * w)) - 1),
        },
        _ => match rng.below(3) {
            0 => rng
                .pick(&[0, 1, u64::MAX, 0x8000_0000_0000_0000])
                .unwrap_or(0),
            1 => cur ^ (1 << rng.below(64)),
            _ => rng.next_u64(),
        },
    }
}

/// One random mutation for `msg` (as it is before the mutation).
pub fn random(rng: &mut Rng, msg: &[u8]) -> Mutation {
    let fields = fields_present(msg);
    let len = msg.len().max(1) as u64;
    let pick_pos = |rng: &mut Rng| -> Pos {
        if rng.chance(50) && !fields.is_empty() {
            let f = fields[rng.below(fields.len() as u64) as usize];
            Pos::In(f, rng.below(2) as u8)
        } else if rng.chance(30) {
            Pos::FromEnd(rng.below(len.min(8)) as u16)
        } else {
            Pos::At(rng.below(len) as u16)
        }
    };
    match rng.weighted(&[55, 10, 8, 8, 5, 4, 3, 3, 2, 2]) {
        0 if !fields.is_empty() => {
            let f = fields[rng.below(fields.len() as u64) as usize];
            let (at, w) = locate(msg, f).unwrap_or((0, 1));
            let cur = read_field(msg, at, w).unwrap_or(0);
            Mutation::Set {
                field: f,
                value: interesting(rng, f, w, cur),
            }
        }
        1 if !fields.is_empty() => {
            let f = fields[rng.below(fields.len() as u64) as usize];
            let d = rng
                .pick(&[-1i32, 1, -2, 2, -4, 4, -8, 8, 10, -10, 16, 32, -32])
                .unwrap_or(1);
            Mutation::Add { field: f, delta: d }
        }
        2 => Mutation::Flip {
            at: pick_pos(rng),
            bit: rng.below(8) as u8,
        },
        3 => Mutation::Byte {
            at: pick_pos(rng),
            value: rng.below(256) as u8,
        },
        4 => Mutation::Truncate {
            keep: rng.below(len) as u16,
        },
        5 => Mutation::Extend {
            n: rng.pick(&[1u16, 4, 10, 16, 32, 100, 400]).unwrap_or(4),
            byte: rng.pick(&[0u8, 0xff, 0x20, 0xe2]).unwrap_or(0),
        },
        6 => Mutation::Insert {
            at: pick_pos(rng),
            n: rng.range(1, 12) as u16,
            byte: rng.pick(&[0u8, 0xff, 0x41]).unwrap_or(0),
        },
        7 => Mutation::Delete {
            at: pick_pos(rng),
            n: rng.range(1, 12) as u16,
        },
        8 => Mutation::FixTrailer,
        _ => Mutation::FixLength,
    }
}

/// `n` random mutations, each chosen against the message as the previous ones left it; with
/// some probability a size-changing mutation is followed by `FixLength` (so that the message
/// passes the framing and the change reaches the deeper checks).
pub fn random_list(rng: &mut Rng, msg: &[u8], n: usize) -> Vec<Mutation> {
    let mut cur = msg.to_vec();
    let mut out = Vec::new();
    for _ in 0..n {
        let m = random(rng, &cur);
        apply(&mut cur, &m);
        out.push(m);
        let resized = matches!(
            m,
            Mutation::Truncate { .. }
                | Mutation::Extend { .. }
                | Mutation::Insert { .. }
                | Mutation::Delete { .. }
        );
        if resized && rng.chance(50) {
            apply(&mut cur, &Mutation::FixLength);
            out.push(Mutation::FixLength);
            if rng.chance(70) {
                apply(&mut cur, &Mutation::FixTrailer);
                out.push(Mutation::FixTrailer);
            }
        }
    }
    out
}

/// Cut points for sending `len` bytes in several TCP segments (empty: one segment).
pub fn random_cuts(rng: &mut Rng, len: usize) -> Vec<u16> {
    if len < 2 {
        return Vec::new();
    }
    let mut cuts: Vec<u16> = match rng.weighted(&[70, 15, 10, 5]) {
        0 => Vec::new(),
        // inside the header / eyecatcher: the kernel's peek needs 8 bytes
        1 => vec![rng.range(1, 8.min(len as u64 - 1)) as u16],
        2 => (0..rng.range(1, 3))
            .map(|_| rng.range(1, len as u64 - 1) as u16)
            .collect(),
        _ => {
            let step = rng.range(1, 8) as usize;
            (1..len).step_by(step).take(16).map(|c| c as u16).collect()
        }
    };
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

/// `bytes` cut at `cuts` (ignoring cuts outside the message).
pub fn segments<'a>(bytes: &'a [u8], cuts: &[u16]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut start = 0usize;
    for c in cuts {
        let c = usize::from(*c);
        if c > start && c < bytes.len() {
            out.push(&bytes[start..c]);
            start = c;
        }
    }
    if start < bytes.len() {
        out.push(&bytes[start..]);
    }
    out
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn set_and_add_use_the_field_width() {
        // a v1 Decline: SMCR, type 4, length 28, version 1
        let mut m = vec![0u8; 28];
        m[..4].copy_from_slice(&[0xe2, 0xd4, 0xc3, 0xd9]);
        m[4] = 4;
        m[6] = 28;
        m[7] = 0x10;
        assert!(apply(
            &mut m,
            &Mutation::Set {
                field: Field::Version,
                value: 3
            }
        ));
        assert_eq!(m[7], 0x30);
        assert!(apply(
            &mut m,
            &Mutation::Add {
                field: Field::Length,
                delta: -1
            }
        ));
        assert_eq!(&m[5..7], &[0, 27]);
        assert!(apply(
            &mut m,
            &Mutation::Set {
                field: Field::Diagnosis,
                value: 0x0303_0000
            }
        ));
        assert_eq!(&m[16..20], &[3, 3, 0, 0]);
        assert!(!apply(
            &mut m,
            &Mutation::Set {
                field: Field::Token,
                value: 1
            }
        ));
    }

    #[test]
    fn segments_cover_the_message() {
        let b: Vec<u8> = (0..20).collect();
        let s = segments(&b, &[0, 3, 3, 25, 10]);
        assert_eq!(s.concat(), b);
    }
}
