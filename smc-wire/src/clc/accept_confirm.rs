//! CLC Accept (type 2, server → client) and Confirm (type 3, client → server): one layout with
//! an SMC-R or SMC-D body, a v2 continuation, the first-contact extension and, in an SMC-Rv2
//! first-contact Confirm, the GID list (reference §4.1–§4.6).

use crate::clc::fce::{FceRepr, FCE_V20_SMCD_LEN, FCE_V2X_LEN};
use crate::clc::header::{self, array, be16, be24, be32, be64, TRAILER_LEN};
use crate::clc::ids::{Chid, Eid, IsmGid, Mac, PeerId, RoceGid};
use crate::clc::proposal::{reserved, Spans};
use crate::clc::{
    apply_check, check, check_out, declared, ClcType, Eyecatcher, Header, RecvContext, SmcType,
};
use crate::error::{Anomalies, Anomaly, Decoded, Error, Layer, Mode};
use crate::list::Bounded;

pub(crate) mod field {
    /// SMC-R body (`smcr_clc_msg_accept_confirm` + `r1`, §4.1).
    pub mod r {
        use crate::field::Field;
        pub const PEER_ID: Field = 8..16; // §4.1 lcl.id_for_peer
        pub const GID: Field = 16..32; // §4.1 lcl.gid
        pub const MAC: Field = 32..38; // §4.1 lcl.mac
        pub const QPN: Field = 38..41; // §4.1 qpn, BE24
        pub const RMB_RKEY: Field = 41..45; // §4.1 rmb_rkey
        pub const RMBE_IDX: usize = 45; // §4.1 rmbe_idx
        pub const ALERT_TOKEN: Field = 46..50; // §4.1 rmbe_alert_token
        pub const SIZE_MTU: usize = 50; // §4.1 bits 7-4 rmbe_size, bits 3-0 qp_mtu
        pub const RESERVED: usize = 51; // §4.1 reserved
        pub const RMB_DMA_ADDR: Field = 52..60; // §4.1 rmb_dma_addr
        pub const RESERVED2: usize = 60; // §4.1 reserved2
        pub const PSN: Field = 61..64; // §4.1 psn, BE24
        pub const V1_END: usize = PSN.end; // §4.1 v1 trailer at 64, length 68
        pub const EID: Field = 64..96; // §4.1 r1.eid
        pub const RESERVED6: Field = 96..104; // §4.1 r1.reserved6[8]
        pub const V2_END: usize = RESERVED6.end; // §4.1 FCE at 104
        pub const GLE_CNT: usize = 0; // §4.1 smc_clc_fce_gid_ext.gid_cnt (relative)
        pub const GLE_RESERVED: Field = 1..4; // §4.1 reserved2[3]
        pub const GLE_LEN: usize = GLE_RESERVED.end; // §4.1 4-byte GID list header
        pub const GID_LEN: usize = 16; // §4.1 SMC_GID_SIZE
    }
    /// SMC-D body (`smcd_clc_msg_accept_confirm_common` + `d1`, §4.2).
    pub mod d {
        use crate::field::Field;
        pub const GID: Field = 8..16; // §4.2 d0.gid
        pub const TOKEN: Field = 16..24; // §4.2 d0.token (DMB token)
        pub const DMBE_IDX: usize = 24; // §4.2 d0.dmbe_idx
        pub const SIZE: usize = 25; // §4.2 bits 7-4 dmbe_size, bits 3-0 reserved3
        pub const RESERVED4: Field = 26..28; // §4.2 d0.reserved4
        pub const LINKID: Field = 28..32; // §4.2 d0.linkid (sender's lgr id, raw bytes)
        pub const V1_RESERVED: Field = 32..44; // §4.2 v1: 12 reserved bytes, trailer at 44
        pub const V1_END: usize = V1_RESERVED.end; // §4.2 v1 length 48
        pub const CHID: Field = 32..34; // §4.2 d1.chid
        pub const EID: Field = 34..66; // §4.2 d1.eid
        pub const GID_EXT: Field = 66..74; // §4.2 d1.gid_ext (Emulated-ISM only)
        pub const V2_END: usize = GID_EXT.end; // §4.2 FCE at 74
    }
    pub const FIRST_CONTACT: u8 = 0x08; // §2.2 byte 7 bit 3 (SMC_FIRST_CONTACT_MASK in typev2)
    pub const RESERVED_BIT: u8 = 0x04; // §2.2 byte 7 bit 2
    pub const SMC_TYPE: u8 = 0x03; // §2.2 byte 7 bits 1-0: chosen type
}

/// The v2 part of the SMC-R body (bytes 64–103).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct SmcrV2 {
    /// Negotiated EID.
    pub eid: Eid,
    /// Reserved (8 bytes).
    #[cfg_attr(
        feature = "serde",
        serde(skip_serializing_if = "crate::clc::proposal::is_zero")
    )]
    pub reserved6: [u8; 8],
}

/// SMC-R Accept/Confirm body (§4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct SmcrBody {
    /// Sender's peer ID.
    pub id_for_peer: PeerId,
    /// RoCE GID of the link (v2: IPv4-mapped RoCEv2 GID).
    pub gid: RoceGid,
    /// RoCE MAC.
    pub mac: Mac,
    /// Sender's RC QP number (24 bits): BTH DestQP of what the peer sends to it.
    pub qpn: u32,
    /// RMB rkey: RETH R_Key of the peer's RDMA WRITEs.
    pub rmb_rkey: u32,
    /// RMBE index (Linux 1).
    pub rmbe_idx: u8,
    /// RMBE alert token: the peer puts it in every CDC.
    pub rmbe_alert_token: u32,
    /// Compressed RMBE size: 2^(n+14) bytes.
    pub rmbe_size: u8,
    /// QP MTU enum (1 = 256 … 5 = 4096).
    pub qp_mtu: u8,
    /// Reserved byte 51.
    #[cfg_attr(
        feature = "serde",
        serde(skip_serializing_if = "crate::clc::proposal::is_zero_u8")
    )]
    pub reserved: u8,
    /// RMB virtual address (RDMA target).
    pub rmb_dma_addr: u64,
    /// Reserved byte 60.
    #[cfg_attr(
        feature = "serde",
        serde(skip_serializing_if = "crate::clc::proposal::is_zero_u8")
    )]
    pub reserved2: u8,
    /// Initial PSN (24 bits) of the sender's QP.
    pub psn: u32,
    /// v2 continuation.
    pub v2: Option<SmcrV2>,
}

/// The v2 part of the SMC-D body (bytes 32–73).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct SmcdV2 {
    /// CHID of the chosen ISM device.
    pub chid: Chid,
    /// Negotiated EID.
    pub eid: Eid,
    /// Upper half of an Emulated-ISM 128-bit GID (0 for native ISM).
    pub gid_ext: IsmGid,
}

/// SMC-D Accept/Confirm body (§4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct SmcdBody {
    /// Sender's ISM GID (64-bit part).
    pub gid: IsmGid,
    /// DMB token the peer uses to write into the sender's DMB.
    #[cfg_attr(feature = "serde", serde(serialize_with = "ser_hex64"))]
    pub token: u64,
    /// DMBE index (Linux 0).
    pub dmbe_idx: u8,
    /// Compressed DMBE size: 2^(n+14) bytes.
    pub dmbe_size: u8,
    /// Bits 3-0 of byte 25 (reserved).
    #[cfg_attr(
        feature = "serde",
        serde(skip_serializing_if = "crate::clc::proposal::is_zero_u8")
    )]
    pub reserved3: u8,
    /// Reserved bytes 26-27.
    #[cfg_attr(
        feature = "serde",
        serde(skip_serializing_if = "crate::clc::proposal::is_zero")
    )]
    pub reserved4: [u8; 2],
    /// The sender's link-group id, raw bytes (host order of the sender, §4.2).
    #[cfg_attr(feature = "serde", serde(serialize_with = "ser_hex_bytes"))]
    pub linkid: [u8; 4],
    /// v1 only: bytes 32–43 (reserved).
    #[cfg_attr(
        feature = "serde",
        serde(skip_serializing_if = "crate::clc::proposal::is_zero")
    )]
    pub v1_reserved: [u8; 12],
    /// v2 continuation.
    pub v2: Option<SmcdV2>,
}

impl SmcdBody {
    /// The 128-bit GID, when the chosen device is Emulated-ISM (§3.6, §4.2).
    pub fn virtual_gid(&self) -> Option<crate::clc::VirtualGid> {
        let v2 = self.v2?;
        v2.chid.is_emulated().then_some(crate::clc::VirtualGid {
            gid: self.gid.0,
            gid_ext: v2.gid_ext.0,
        })
    }
}

/// The body of an Accept/Confirm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Body {
    /// SMC-R.
    Smcr(SmcrBody),
    /// SMC-D.
    Smcd(SmcdBody),
}

/// GID list of an SMC-Rv2 first-contact Confirm (§4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct GidList {
    /// Count as sent.
    pub gid_cnt: u8,
    /// Reserved (3 bytes).
    #[cfg_attr(
        feature = "serde",
        serde(skip_serializing_if = "crate::clc::proposal::is_zero")
    )]
    pub reserved: [u8; 3],
    /// GIDs decoded (Linux sends 1 or 2).
    pub gids: Bounded<RoceGid, 8>,
}

/// A CLC Accept or Confirm, lossless.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct AcceptConfirmRepr {
    /// ACCEPT or CONFIRM.
    #[cfg_attr(feature = "serde", serde(rename = "type"))]
    pub msg_type: ClcType,
    /// Header eyecatcher (Linux: SMCR for SMC-R, SMCD for SMC-D).
    pub eyecatcher: Eyecatcher,
    /// Declared length.
    pub length: u16,
    /// Version nibble (the chosen version).
    pub version: u8,
    /// First contact: a new link group is created.
    pub first_contact: bool,
    /// Byte 7 bit 2 (reserved).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "core::ops::Not::not"))]
    pub reserved_bit: bool,
    /// The chosen type (`typev1` bits): R or D.
    pub smc_type: SmcType,
    /// SMC-R or SMC-D body.
    pub body: Body,
    /// First-contact extension (v2 with first contact).
    pub fce: Option<FceRepr>,
    /// GID list (SMC-Rv2 first-contact Confirm).
    pub gid_list: Option<GidList>,
    /// Trailer eyecatcher.
    pub trailer: Eyecatcher,
}

/// A view of an Accept/Confirm.
#[derive(Debug, Clone, Copy)]
pub struct AcceptConfirmPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> AcceptConfirmPacket<T> {
    /// Wraps without checks.
    pub const fn new_unchecked(buffer: T) -> Self {
        AcceptConfirmPacket { buffer }
    }
    /// Wraps a buffer long enough for the v1 body of its type (48 for SMC-D, 68 for SMC-R).
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }
    /// Checks that the header and the v1 body (for the type bits) are present.
    pub fn check_len(&self) -> Result<(), Error> {
        let b = self.buffer.as_ref();
        let have = b.len();
        let need = if b
            .get(header::field::VERSION_BITS)
            .is_some_and(|v| v & field::SMC_TYPE == SmcType::D.0)
        {
            field::d::V1_END
        } else {
            field::r::V1_END
        };
        if have < need {
            return Err(Error::Truncated {
                layer: Layer::AcceptConfirm,
                need,
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
    /// First-contact bit.
    pub fn first_contact(&self) -> bool {
        self.buffer.as_ref()[header::field::VERSION_BITS] & field::FIRST_CONTACT != 0
    }
    /// Chosen type.
    pub fn smc_type(&self) -> SmcType {
        SmcType(self.buffer.as_ref()[header::field::VERSION_BITS] & field::SMC_TYPE)
    }
    /// SMC-R QP number.
    pub fn qpn(&self) -> u32 {
        be24(&self.buffer.as_ref()[field::r::QPN])
    }
    /// SMC-D DMB token.
    pub fn token(&self) -> u64 {
        be64(&self.buffer.as_ref()[field::d::TOKEN])
    }
}

impl AcceptConfirmRepr {
    /// Decodes with the default context for its type (client Accept buffer 160, server 652).
    pub fn parse(msg: &[u8], mode: Mode) -> Result<Decoded<Self>, Error> {
        let hdr = Header::parse(msg)?;
        Self::parse_with(msg, mode, &RecvContext::for_type(hdr.msg_type))
    }

    /// Decodes one framed Accept/Confirm.
    pub fn parse_with(msg: &[u8], mode: Mode, ctx: &RecvContext) -> Result<Decoded<Self>, Error> {
        let mut an = Anomalies::new();
        let hdr = Header::parse(msg)?;
        if hdr.msg_type != ClcType::ACCEPT && hdr.msg_type != ClcType::CONFIRM {
            return Err(Error::WrongType {
                layer: Layer::AcceptConfirm,
                found: hdr.msg_type.0,
            });
        }
        let msg = declared(msg, Layer::AcceptConfirm)?;
        apply_check(check::check_received(msg, ctx), mode, &mut an)?;
        let len = msg.len();
        let body_end = len.saturating_sub(TRAILER_LEN);
        let bits = hdr.type_bits;
        let smc_type = SmcType(bits & field::SMC_TYPE);
        // an invalid type (N/B, rejected by smc_clc_msg_acc_conf_valid) is read by its eyecatcher
        let is_d = smc_type == SmcType::D
            || (smc_type != SmcType::R && hdr.eyecatcher == Eyecatcher::SMCD);
        let v1_end = if is_d {
            field::d::V1_END
        } else {
            field::r::V1_END
        };
        if body_end < v1_end {
            return Err(Error::Truncated {
                layer: Layer::AcceptConfirm,
                need: v1_end + TRAILER_LEN,
                have: len,
                at: 0,
            });
        }
        let v2 = hdr.version >= 2;
        let v2_end = if is_d {
            field::d::V2_END
        } else {
            field::r::V2_END
        };
        let v2_fits = v2 && body_end >= v2_end;
        if v2 && !v2_fits {
            an.push(Anomaly::AreaTruncated {
                layer: Layer::AcceptConfirm,
                at: crate::error::p16(v1_end),
                need: crate::error::p16(v2_end - v1_end),
                have: crate::error::p16(body_end - v1_end),
            });
        }
        let mut spans = Spans::new();
        spans.add(0, if v2_fits { v2_end } else { v1_end });
        spans.add(body_end, len);
        let body = if is_d {
            Body::Smcd(parse_smcd(msg, v2_fits, &mut an))
        } else {
            Body::Smcr(parse_smcr(msg, v2_fits, &mut an))
        };
        let first_contact = bits & field::FIRST_CONTACT != 0;
        let mut r = AcceptConfirmRepr {
            msg_type: hdr.msg_type,
            eyecatcher: hdr.eyecatcher,
            length: hdr.length,
            version: hdr.version,
            first_contact,
            reserved_bit: bits & field::RESERVED_BIT != 0,
            smc_type,
            body,
            fce: None,
            gid_list: None,
            trailer: Eyecatcher(header::array4(&msg[header::trailer_field(len)])),
        };
        if r.reserved_bit {
            an.push(Anomaly::NonZeroReserved {
                layer: Layer::ClcHeader,
                at: crate::error::p16(header::field::VERSION_BITS),
                len: 1,
            });
        }
        if v2_fits && first_contact {
            // smc_get_clc_first_contact_ext: right after the v2 body, not length-checked (§9.2)
            let at = v2_end;
            let release = msg
                .get(at + crate::clc::fce::field::OS_RELEASE)
                .map_or(0, |b| b & 0x0f);
            let want = FceRepr::linux_len(is_d, release);
            // the sender's declared length decides when one of the two forms (36 or 52, §4.3)
            // ends exactly at the trailer: a receiver reads the form it expects, not the one the
            // release nibble suggests, so e.g. a 130-byte SMC-D Accept with release 0 still
            // carries 52 bytes (§4.4)
            let exact = [FCE_V20_SMCD_LEN, FCE_V2X_LEN]
                .into_iter()
                .find(|n| at + n == body_end);
            let fce_len = if let Some(n) = exact {
                n
            } else if body_end >= at + want {
                want
            } else if body_end >= at + FCE_V20_SMCD_LEN {
                FCE_V20_SMCD_LEN
            } else {
                0
            };
            if fce_len < want {
                an.push(Anomaly::AreaTruncated {
                    layer: Layer::FirstContactExt,
                    at: crate::error::p16(at),
                    need: crate::error::p16(want),
                    have: crate::error::p16(body_end - at),
                });
            }
            if fce_len > 0 {
                let f = FceRepr::parse(&msg[at..at + fce_len], fce_len);
                reserved(&mut an, Layer::FirstContactExt, at + 2, &f.reserved2);
                if let Some(x) = &f.v2x {
                    reserved(&mut an, Layer::FirstContactExt, at + 44, &x.reserved4);
                }
                spans.add(at, at + fce_len);
                r.fce = Some(f);
                // GID list: SMC-Rv2 Confirm with first contact only (§4.1)
                if !is_d && hdr.msg_type == ClcType::CONFIRM && fce_len == FCE_V2X_LEN {
                    r.gid_list = parse_gid_list(msg, at + fce_len, body_end, &mut an, &mut spans);
                }
            }
        }
        let layout = r.content_end() + TRAILER_LEN;
        if layout != len && !an.has_check() {
            an.push(Anomaly::LengthMismatch {
                declared: crate::error::p16(len),
                layout: crate::error::p16(layout),
            });
        }
        spans.report_uncovered(msg, &mut an);
        Ok(Decoded {
            repr: r,
            anomalies: an,
        })
    }

    /// True for an Accept.
    pub fn is_accept(&self) -> bool {
        self.msg_type == ClcType::ACCEPT
    }

    /// The SMC-R body, if any.
    pub fn smcr_body(&self) -> Option<&SmcrBody> {
        match &self.body {
            Body::Smcr(b) => Some(b),
            Body::Smcd(_) => None,
        }
    }

    /// The SMC-D body, if any.
    pub fn smcd_body(&self) -> Option<&SmcdBody> {
        match &self.body {
            Body::Smcd(b) => Some(b),
            Body::Smcr(_) => None,
        }
    }

    /// The negotiated EID (v2).
    pub fn eid(&self) -> Option<Eid> {
        match &self.body {
            Body::Smcr(b) => b.v2.map(|v| v.eid),
            Body::Smcd(b) => b.v2.map(|v| v.eid),
        }
    }

    fn content_end(&self) -> usize {
        let (v1, v2, has_v2) = match &self.body {
            Body::Smcr(b) => (field::r::V1_END, field::r::V2_END, b.v2.is_some()),
            Body::Smcd(b) => (field::d::V1_END, field::d::V2_END, b.v2.is_some()),
        };
        let mut end = if has_v2 { v2 } else { v1 };
        if let Some(f) = &self.fce {
            end += f.wire_len();
        }
        if let Some(g) = &self.gid_list {
            end += field::r::GLE_LEN + field::r::GID_LEN * g.gids.len();
        }
        end
    }

    /// Makes the representation self-consistent as a Linux sender writes it: ACCEPT or CONFIRM,
    /// the type bits matching the body, bit fields in range, the v2 part, first-contact
    /// extension (36 or 52 bytes, §4.3) and GID list present exactly when the version, first-contact
    /// bit and type call for them, the GID count matching the list, and the length.
    pub fn normalize(&mut self) {
        if self.msg_type != ClcType::ACCEPT && self.msg_type != ClcType::CONFIRM {
            self.msg_type = ClcType::ACCEPT;
        }
        self.version &= 0x0f;
        if self.version == 0 {
            self.version = 2;
        }
        let v2 = self.version >= 2;
        let is_d = matches!(self.body, Body::Smcd(_));
        self.smc_type = if is_d { SmcType::D } else { SmcType::R };
        match &mut self.body {
            Body::Smcr(b) => {
                b.qpn &= 0x00ff_ffff;
                b.psn &= 0x00ff_ffff;
                b.rmbe_size &= 0x0f;
                b.qp_mtu &= 0x0f;
                if v2 {
                    b.v2.get_or_insert_with(SmcrV2::default);
                } else {
                    b.v2 = None;
                }
            }
            Body::Smcd(b) => {
                b.dmbe_size &= 0x0f;
                b.reserved3 &= 0x0f;
                if v2 {
                    b.v2.get_or_insert_with(SmcdV2::default);
                    b.v1_reserved = [0; 12];
                } else {
                    b.v2 = None;
                }
            }
        }
        if v2 && self.first_contact {
            let f = self.fce.get_or_insert_with(FceRepr::default);
            f.reserved &= 0x7f;
            f.os_type = crate::clc::OsType(f.os_type.0 & 0x0f);
            f.release &= 0x0f;
            if FceRepr::linux_len(is_d, f.release) == FCE_V2X_LEN {
                f.v2x.get_or_insert_with(Default::default);
            } else {
                f.v2x = None;
            }
        } else {
            self.fce = None;
        }
        if v2 && self.first_contact && !is_d && self.msg_type == ClcType::CONFIRM {
            let g = self.gid_list.get_or_insert_with(GidList::default);
            g.gid_cnt = g.gids.len() as u8;
        } else {
            self.gid_list = None;
        }
        self.fix_length();
    }

    /// Sets `length` to what the areas present need.
    pub fn fix_length(&mut self) {
        self.length = (self.content_end() + TRAILER_LEN) as u16;
    }

    /// Bytes `emit` writes.
    pub fn buffer_len(&self) -> usize {
        usize::from(self.length).max(self.content_end() + TRAILER_LEN)
    }

    /// Writes the message byte-exact.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        let total = self.buffer_len();
        check_out(buf, total)?;
        let buf = &mut buf[..total];
        buf.fill(0);
        let bits = (u8::from(self.first_contact) * field::FIRST_CONTACT)
            | (u8::from(self.reserved_bit) * field::RESERVED_BIT)
            | (self.smc_type.0 & field::SMC_TYPE);
        Header {
            eyecatcher: self.eyecatcher,
            msg_type: self.msg_type,
            length: self.length,
            version: self.version,
            type_bits: bits,
        }
        .emit(buf)?;
        let mut at = match &self.body {
            Body::Smcr(b) => emit_smcr(b, buf),
            Body::Smcd(b) => emit_smcd(b, buf),
        };
        if let Some(f) = &self.fce {
            f.emit(&mut buf[at..at + f.wire_len()]);
            at += f.wire_len();
        }
        if let Some(g) = &self.gid_list {
            buf[at + field::r::GLE_CNT] = g.gid_cnt;
            buf[at + field::r::GLE_RESERVED.start..at + field::r::GLE_RESERVED.end]
                .copy_from_slice(&g.reserved);
            at += field::r::GLE_LEN;
            for gid in g.gids.iter() {
                buf[at..at + field::r::GID_LEN].copy_from_slice(&gid.0);
                at += field::r::GID_LEN;
            }
        }
        buf[header::trailer_field(total)].copy_from_slice(&self.trailer.0);
        Ok(total)
    }
}

fn parse_smcr(msg: &[u8], v2: bool, an: &mut Anomalies) -> SmcrBody {
    use field::r as f;
    let size_mtu = msg[f::SIZE_MTU];
    let b = SmcrBody {
        id_for_peer: PeerId(array(&msg[f::PEER_ID])),
        gid: RoceGid(array(&msg[f::GID])),
        mac: Mac(array(&msg[f::MAC])),
        qpn: be24(&msg[f::QPN]),
        rmb_rkey: be32(&msg[f::RMB_RKEY]),
        rmbe_idx: msg[f::RMBE_IDX],
        rmbe_alert_token: be32(&msg[f::ALERT_TOKEN]),
        rmbe_size: size_mtu >> 4,
        qp_mtu: size_mtu & 0x0f,
        reserved: msg[f::RESERVED],
        rmb_dma_addr: be64(&msg[f::RMB_DMA_ADDR]),
        reserved2: msg[f::RESERVED2],
        psn: be24(&msg[f::PSN]),
        v2: v2.then(|| SmcrV2 {
            eid: Eid(array(&msg[f::EID])),
            reserved6: array(&msg[f::RESERVED6]),
        }),
    };
    reserved(
        an,
        Layer::AcceptConfirm,
        f::RESERVED,
        &msg[f::RESERVED..=f::RESERVED],
    );
    reserved(
        an,
        Layer::AcceptConfirm,
        f::RESERVED2,
        &msg[f::RESERVED2..=f::RESERVED2],
    );
    if v2 {
        reserved(
            an,
            Layer::AcceptConfirm,
            f::RESERVED6.start,
            &msg[f::RESERVED6],
        );
    }
    b
}

fn emit_smcr(b: &SmcrBody, buf: &mut [u8]) -> usize {
    use field::r as f;
    buf[f::PEER_ID].copy_from_slice(&b.id_for_peer.0);
    buf[f::GID].copy_from_slice(&b.gid.0);
    buf[f::MAC].copy_from_slice(&b.mac.0);
    buf[f::QPN].copy_from_slice(&b.qpn.to_be_bytes()[1..]);
    buf[f::RMB_RKEY].copy_from_slice(&b.rmb_rkey.to_be_bytes());
    buf[f::RMBE_IDX] = b.rmbe_idx;
    buf[f::ALERT_TOKEN].copy_from_slice(&b.rmbe_alert_token.to_be_bytes());
    buf[f::SIZE_MTU] = (b.rmbe_size << 4) | (b.qp_mtu & 0x0f);
    buf[f::RESERVED] = b.reserved;
    buf[f::RMB_DMA_ADDR].copy_from_slice(&b.rmb_dma_addr.to_be_bytes());
    buf[f::RESERVED2] = b.reserved2;
    buf[f::PSN].copy_from_slice(&b.psn.to_be_bytes()[1..]);
    match &b.v2 {
        Some(v2) => {
            buf[f::EID].copy_from_slice(&v2.eid.0);
            buf[f::RESERVED6].copy_from_slice(&v2.reserved6);
            f::V2_END
        }
        None => f::V1_END,
    }
}

fn parse_smcd(msg: &[u8], v2: bool, an: &mut Anomalies) -> SmcdBody {
    use field::d as f;
    let size = msg[f::SIZE];
    let b = SmcdBody {
        gid: IsmGid(be64(&msg[f::GID])),
        token: be64(&msg[f::TOKEN]),
        dmbe_idx: msg[f::DMBE_IDX],
        dmbe_size: size >> 4,
        reserved3: size & 0x0f,
        reserved4: array(&msg[f::RESERVED4]),
        linkid: array(&msg[f::LINKID]),
        v1_reserved: if v2 {
            [0; 12]
        } else {
            array(&msg[f::V1_RESERVED])
        },
        v2: v2.then(|| SmcdV2 {
            chid: Chid(be16(&msg[f::CHID])),
            eid: Eid(array(&msg[f::EID])),
            gid_ext: IsmGid(be64(&msg[f::GID_EXT])),
        }),
    };
    reserved(
        an,
        Layer::AcceptConfirm,
        f::RESERVED4.start,
        &msg[f::RESERVED4],
    );
    if b.reserved3 != 0 {
        an.push(Anomaly::NonZeroReserved {
            layer: Layer::AcceptConfirm,
            at: crate::error::p16(f::SIZE),
            len: 1,
        });
    }
    if !v2 {
        reserved(
            an,
            Layer::AcceptConfirm,
            f::V1_RESERVED.start,
            &msg[f::V1_RESERVED],
        );
    }
    b
}

fn emit_smcd(b: &SmcdBody, buf: &mut [u8]) -> usize {
    use field::d as f;
    buf[f::GID].copy_from_slice(&b.gid.0.to_be_bytes());
    buf[f::TOKEN].copy_from_slice(&b.token.to_be_bytes());
    buf[f::DMBE_IDX] = b.dmbe_idx;
    buf[f::SIZE] = (b.dmbe_size << 4) | (b.reserved3 & 0x0f);
    buf[f::RESERVED4].copy_from_slice(&b.reserved4);
    buf[f::LINKID].copy_from_slice(&b.linkid);
    match &b.v2 {
        Some(v2) => {
            buf[f::CHID].copy_from_slice(&v2.chid.0.to_be_bytes());
            buf[f::EID].copy_from_slice(&v2.eid.0);
            buf[f::GID_EXT].copy_from_slice(&v2.gid_ext.0.to_be_bytes());
            f::V2_END
        }
        None => {
            buf[f::V1_RESERVED].copy_from_slice(&b.v1_reserved);
            f::V1_END
        }
    }
}

fn parse_gid_list(
    msg: &[u8],
    at: usize,
    body_end: usize,
    an: &mut Anomalies,
    spans: &mut Spans,
) -> Option<GidList> {
    use field::r as f;
    if body_end < at + f::GLE_LEN {
        an.push(Anomaly::AreaTruncated {
            layer: Layer::GidList,
            at: crate::error::p16(at),
            need: crate::error::p16(f::GLE_LEN),
            have: crate::error::p16(body_end.saturating_sub(at)),
        });
        return None;
    }
    let h = &msg[at..at + f::GLE_LEN];
    let mut g = GidList {
        gid_cnt: h[f::GLE_CNT],
        reserved: array(&h[f::GLE_RESERVED]),
        gids: Bounded::new(),
    };
    reserved(an, Layer::GidList, at + f::GLE_RESERVED.start, &g.reserved);
    let cap = 8usize; // Bounded capacity; Linux sends 1 or 2 (SMC_GIDLIST_LEN)
    let wanted = usize::from(g.gid_cnt).min(cap);
    if usize::from(g.gid_cnt) > cap {
        an.push(Anomaly::CountOverMax {
            layer: Layer::GidList,
            count: g.gid_cnt,
            max: cap as u8,
            decoded: cap as u8,
        });
    }
    let list_at = at + f::GLE_LEN;
    let room = body_end.saturating_sub(list_at) / f::GID_LEN;
    let n = wanted.min(room);
    if n < wanted {
        an.push(Anomaly::AreaTruncated {
            layer: Layer::GidList,
            at: crate::error::p16(list_at),
            need: crate::error::p16(wanted * f::GID_LEN),
            have: crate::error::p16(body_end - list_at),
        });
    }
    for i in 0..n {
        let s = list_at + i * f::GID_LEN;
        let _ = g.gids.push(RoceGid(array(&msg[s..s + f::GID_LEN])));
    }
    spans.add(at, list_at + n * f::GID_LEN);
    Some(g)
}

/// Raw bytes as one hex string (their byte order is the sender's, so no number is implied).
#[cfg(feature = "serde")]
fn ser_hex_bytes<S: serde::Serializer>(v: &[u8; 4], s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_args!(
        "{:02x}{:02x}{:02x}{:02x}",
        v[0], v[1], v[2], v[3]
    ))
}

#[cfg(feature = "serde")]
fn ser_hex64<S: serde::Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("0x{v:016x}"))
}

#[allow(dead_code)]
const _: () = assert!(FCE_V2X_LEN == 52 && FCE_V20_SMCD_LEN == 36);
