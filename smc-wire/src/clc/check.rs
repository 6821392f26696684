//! The kernel's CLC receive checks (reference §9.1–§9.2), one function per kernel function,
//! named after it. A strict decode runs [`check_received`]; the handshake tracker and the peer
//! also run the checks that need the Proposal that was sent ([`smc_connect_check_aclc`],
//! [`smc_v2_determine_accepted_chid`]).
//!
//! The checks read the message as the kernel's zeroed receive buffer holds it: bytes past the
//! received length read as zero ([`KernelView`]).

use crate::clc::header::{self, HEADER_LEN};
use crate::clc::proposal::{field as pf, ProposalLayout, MAX_LIST, MAX_PROPOSAL_LEN};
use crate::clc::{
    AcceptConfirmRepr, ClcType, Eyecatcher, Header, KernelView, ProposalRepr, SmcType,
};
use crate::error::{Anomaly, KernelCheck};

/// Where a message is received: the type the receiver waits for and its buffer size (§9.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RecvContext {
    /// The type `smc_clc_wait_msg` expects (a Decline is always accepted too).
    pub expected: ClcType,
    /// The receive buffer length; a longer message is read only this far and its trailer is not
    /// checked (§9.1 step 3).
    pub buflen: usize,
}

impl RecvContext {
    /// Server waiting for the Proposal: `struct smc_clc_msg_proposal_area`, 652 bytes (§9.1).
    pub const SERVER_PROPOSAL: RecvContext = RecvContext {
        expected: ClcType::PROPOSAL,
        buflen: MAX_PROPOSAL_LEN,
    };
    /// Client waiting for the Accept: `SMC_CLC_MAX_ACCEPT_LEN`, 160 bytes (§9.1).
    pub const CLIENT_ACCEPT: RecvContext = RecvContext {
        expected: ClcType::ACCEPT,
        buflen: 160,
    };
    /// Server waiting for the Confirm: the 652-byte proposal buffer again (§9.1).
    pub const SERVER_CONFIRM: RecvContext = RecvContext {
        expected: ClcType::CONFIRM,
        buflen: MAX_PROPOSAL_LEN,
    };
    /// A wait that only expects a Decline: `sizeof(struct smc_clc_msg_decline)`, 28 bytes (§9.1).
    pub const DECLINE_ONLY: RecvContext = RecvContext {
        expected: ClcType::DECLINE,
        buflen: 28,
    };

    /// The context in which a message of this type is normally received.
    pub fn for_type(t: ClcType) -> RecvContext {
        match t {
            ClcType::ACCEPT => Self::CLIENT_ACCEPT,
            ClcType::CONFIRM => Self::SERVER_CONFIRM,
            ClcType::DECLINE => RecvContext {
                expected: ClcType::DECLINE,
                buflen: MAX_PROPOSAL_LEN,
            },
            _ => Self::SERVER_PROPOSAL,
        }
    }
}

/// The whole receive path of one message (§9.1 then §9.2), checks in kernel order.
/// `msg` is the message up to its declared length.
pub fn check_received(msg: &[u8], ctx: &RecvContext) -> Result<(), KernelCheck> {
    let Ok(hdr) = Header::parse(msg) else {
        // fewer than 8 bytes: the peek fails; the framer reports this as incomplete
        return Ok(());
    };
    smc_clc_wait_msg(&hdr, ctx)?;
    let datlen = usize::from(hdr.length);
    let check_trl = datlen <= ctx.buflen;
    let recv = &msg[..msg.len().min(datlen).min(ctx.buflen)];
    smc_clc_msg_hdr_valid(recv, check_trl)
}

/// `smc_clc_wait_msg` header checks on the peeked 8 bytes (§9.1): version ≥ 1, and the type is
/// the expected one or Decline.
pub fn smc_clc_wait_msg(hdr: &Header, ctx: &RecvContext) -> Result<(), KernelCheck> {
    if hdr.version < 1 {
        return Err(KernelCheck::WaitMsgVersion {
            version: hdr.version,
        });
    }
    if hdr.msg_type != ClcType::DECLINE && hdr.msg_type != ctx.expected {
        return Err(KernelCheck::WaitMsgType {
            expected: ctx.expected,
            found: hdr.msg_type,
        });
    }
    Ok(())
}

/// `smc_clc_msg_hdr_valid` (§9.2): eyecatcher, type-specific validity, trailer.
pub fn smc_clc_msg_hdr_valid(recv: &[u8], check_trl: bool) -> Result<(), KernelCheck> {
    let k = KernelView { bytes: recv };
    let eye = Eyecatcher([k.u8_at(0), k.u8_at(1), k.u8_at(2), k.u8_at(3)]);
    if !eye.is_valid() {
        return Err(KernelCheck::HdrEyecatcher { found: eye });
    }
    let ty = ClcType(k.u8_at(header::field::TYPE));
    let mut check_trl = check_trl;
    match ty {
        ClcType::PROPOSAL => smc_clc_msg_prop_valid(recv)?,
        ClcType::ACCEPT | ClcType::CONFIRM => smc_clc_msg_acc_conf_valid(recv)?,
        ClcType::DECLINE => {
            smc_clc_msg_decl_valid(recv)?;
            check_trl = false; // the Decline trailer is never checked
        }
        other => return Err(KernelCheck::HdrType { found: other }),
    }
    if check_trl {
        let at =
            usize::from(k.be16_at(header::field::LENGTH.start)).saturating_sub(header::TRAILER_LEN);
        let trl = Eyecatcher([
            k.u8_at(at),
            k.u8_at(at + 1),
            k.u8_at(at + 2),
            k.u8_at(at + 3),
        ]);
        if !trl.is_valid() {
            return Err(KernelCheck::HdrTrailer { found: trl });
        }
    }
    Ok(())
}

/// `smc_clc_msg_prop_valid` with `smc_clc_proposal_get_prefix` and `smc_get_clc_v2_ext` (§9.2).
pub fn smc_clc_msg_prop_valid(recv: &[u8]) -> Result<(), KernelCheck> {
    let k = KernelView { bytes: recv };
    let length = k.be16_at(header::field::LENGTH.start);
    let bits = k.u8_at(header::field::VERSION_BITS);
    let version = bits >> 4;
    let typev1 = SmcType(bits & 0x3);
    let typev2 = SmcType((bits >> 2) & 0x3);

    // smc_clc_proposal_get_prefix: offset beyond the SMC-D area gives NULL
    let off = k.be16_at(pf::IPAREA_OFFSET.start);
    if usize::from(off) > pf::smcd::LEN {
        return Err(KernelCheck::PropPrefixOffset { iparea_offset: off });
    }
    // the count is read even when typev1 = N (then from inside the SMC-D area)
    let n6 = k.u8_at(pf::IPAREA_BASE + usize::from(off) + pf::prefix::V6_COUNT);
    if usize::from(n6) > MAX_LIST {
        return Err(KernelCheck::PropIpv6Count { count: n6 });
    }
    if version == 1 {
        if typev1 == SmcType::N {
            return Err(KernelCheck::PropV1NoType);
        }
        let expected = ProposalLayout::v1_length(off, usize::from(n6));
        if usize::from(length) != expected {
            return Err(KernelCheck::PropV1Length {
                declared: length,
                expected: crate::error::p16(expected),
            });
        }
        return Ok(());
    }
    // version >= 2 (version 0 never gets here: smc_clc_wait_msg rejects it)
    let v2_at = || -> Result<usize, KernelCheck> {
        // smc_get_clc_msg_smcd: SMC-D offered for v1 needs the SMC-D area right at 40
        if typev1.smcd() && usize::from(off) != pf::smcd::LEN {
            return Err(KernelCheck::PropSmcdArea { iparea_offset: off });
        }
        let v2off = k.be16_at(pf::smcd::START + pf::smcd::V2_EXT_OFFSET.start);
        if v2off == 0 {
            return Err(KernelCheck::PropV2ExtMissing);
        }
        if v2off > pf::V2_EXT_OFFSET_MAX {
            return Err(KernelCheck::PropV2ExtOffset {
                v2_ext_offset: v2off,
            });
        }
        Ok(pf::V2_EXT_BASE + usize::from(v2off))
    };
    let (mut eid_cnt, mut gid_cnt) = (0u8, 0u8);
    if typev2 != SmcType::N {
        let e = v2_at()?;
        eid_cnt = k.u8_at(e + pf::v2::EID_CNT);
        if usize::from(eid_cnt) > MAX_LIST {
            return Err(KernelCheck::PropEidCount { count: eid_cnt });
        }
        gid_cnt = k.u8_at(e + pf::v2::ISM_GID_CNT);
        if typev2.smcd() && usize::from(gid_cnt) > MAX_LIST {
            return Err(KernelCheck::PropGidCount { count: gid_cnt });
        }
    }
    let expected = ProposalLayout::v2(
        typev1,
        typev2,
        usize::from(n6),
        usize::from(eid_cnt),
        usize::from(gid_cnt),
    )
    .length;
    if usize::from(length) != expected {
        return Err(KernelCheck::PropV2Length {
            declared: length,
            expected: crate::error::p16(expected),
        });
    }
    Ok(())
}

/// Lengths checked by `smc_clc_msg_acc_conf_valid` (`SMCR_CLC_ACCEPT_CONFIRM_LEN` etc., §4.4).
pub mod acc_conf_len {
    /// SMC-R v1: exactly 68.
    pub const SMCR_V1: u16 = 68;
    /// SMC-D v1: exactly 48.
    pub const SMCD_V1: u16 = 48;
    /// SMC-R v2: at least 108.
    pub const SMCR_V2: u16 = 108;
    /// SMC-D v2: at least 78.
    pub const SMCD_V2: u16 = 78;
}

/// `smc_clc_msg_acc_conf_valid` (§9.2): type R or D; v1 exact length; v2 minimum length.
pub fn smc_clc_msg_acc_conf_valid(recv: &[u8]) -> Result<(), KernelCheck> {
    let k = KernelView { bytes: recv };
    let length = k.be16_at(header::field::LENGTH.start);
    let bits = k.u8_at(header::field::VERSION_BITS);
    let smc_type = SmcType(bits & 0x3);
    if smc_type != SmcType::R && smc_type != SmcType::D {
        return Err(KernelCheck::AccConfType { smc_type });
    }
    let is_d = smc_type == SmcType::D;
    if bits >> 4 == 1 {
        let expected = if is_d {
            acc_conf_len::SMCD_V1
        } else {
            acc_conf_len::SMCR_V1
        };
        if length != expected {
            return Err(KernelCheck::AccConfV1Length {
                declared: length,
                expected,
            });
        }
    } else {
        let minimum = if is_d {
            acc_conf_len::SMCD_V2
        } else {
            acc_conf_len::SMCR_V2
        };
        if length < minimum {
            return Err(KernelCheck::AccConfV2Length {
                declared: length,
                minimum,
            });
        }
    }
    Ok(())
}

/// Decline lengths (`sizeof(struct smc_clc_msg_decline)` / `_v2`, §5.1).
pub mod decl_len {
    /// Version 1: 28.
    pub const V1: u16 = 28;
    /// Version 2: 44.
    pub const V2: u16 = 44;
}

/// `smc_clc_msg_decl_valid` (§9.2): exactly 28 bytes for version 1, 44 otherwise.
pub fn smc_clc_msg_decl_valid(recv: &[u8]) -> Result<(), KernelCheck> {
    let k = KernelView { bytes: recv };
    let length = k.be16_at(header::field::LENGTH.start);
    let expected = if k.u8_at(header::field::VERSION_BITS) >> 4 == 1 {
        decl_len::V1
    } else {
        decl_len::V2
    };
    if length != expected {
        return Err(KernelCheck::DeclLength {
            declared: length,
            expected,
        });
    }
    Ok(())
}

/// `smc_connect_check_aclc` (§4.6): the Accept's type must have been offered for the Accept's
/// version (v2: `typev2`, v1: `typev1` of the Proposal that was sent); else the client declines
/// with MODEUNSUPP.
pub fn smc_connect_check_aclc(
    sent: &ProposalRepr,
    accept: &AcceptConfirmRepr,
) -> Result<(), KernelCheck> {
    let chosen = accept.smc_type;
    let offered = if accept.version >= 2 {
        sent.offered_v2().unwrap_or(SmcType::N)
    } else {
        sent.typev1
    };
    let ok = match chosen {
        SmcType::R => offered.smcr(),
        SmcType::D => offered.smcd(),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(KernelCheck::ConnectModeUnsupported {
            version: accept.version,
            chosen,
        })
    }
}

/// `smc_v2_determine_accepted_chid` (§9.2): an SMC-Dv2 Accept's CHID must be one the client
/// offered — the native v1 device's (bytes 48–49, when SMC-D is in `typev1`) or a v2 list
/// device's — else `-EPROTO`.
///
/// Kernels before the 2026-05 fix ("require ism_dev[i] to be non-NULL before accepting a CHID
/// match") also matched CHID 0 against the unused v1 slot when no v1 device was offered, and then
/// dereferenced a NULL device; this check treats that CHID as not offered.
pub fn smc_v2_determine_accepted_chid(
    sent: &ProposalRepr,
    accept: &AcceptConfirmRepr,
) -> Result<(), KernelCheck> {
    let Some(v2) = accept.smcd_body().and_then(|d| d.v2) else {
        return Ok(());
    };
    // smc_connect_ism runs its v2 block only for `hdr.version == SMC_V2`: a v3 Accept skips it
    if accept.version != 2 {
        return Ok(());
    }
    let chid = v2.chid;
    let native = sent
        .typev1
        .smcd()
        .then_some(sent.smcd.map(|s| s.ism_chid))
        .flatten();
    let listed = sent
        .smcd_v2_ext
        .iter()
        .flat_map(|x| x.devices())
        .any(|dev| dev.chid == chid);
    if native == Some(chid) || listed {
        Ok(())
    } else {
        Err(KernelCheck::ConnectChidNotOffered { chid: chid.0 })
    }
}

/// An Accept whose version is above the Proposal's (§4.6): no kernel check refuses it
/// (`__smc_connect` maps every version ≥ 2 to v2), but `smc_connect_ism` then skips the
/// `== SMC_V2` block, and with it the SMC-D CHID selection (6.12.117 dereferences a NULL device).
pub fn accept_above_proposal(sent: &ProposalRepr, accept: &AcceptConfirmRepr) -> Option<Anomaly> {
    (accept.version > sent.version).then_some(Anomaly::AcceptAboveProposal {
        accept: accept.version,
        proposal: sent.version,
    })
}

/// The length a received message must at least have for the header peek (§9.1 step 1).
pub const PEEK_LEN: usize = HEADER_LEN;
