//! CLC Decline (type 4): v1 (28 bytes) and v2 (44 bytes, four more diagnosis words)
//! (reference §5).

use crate::clc::header::{self, array, be32, TRAILER_LEN};
use crate::clc::ids::PeerId;
use crate::clc::proposal::{reserved, Spans};
use crate::clc::{
    apply_check, check, check_out, declared, ClcType, Eyecatcher, Header, OsType, RecvContext,
};
use crate::codes::DeclineReason;
use crate::error::{Anomalies, Anomaly, Decoded, Error, Layer, Mode};

pub(crate) mod field {
    use crate::field::Field;
    pub const PEER_ID: Field = 8..16; // §5.1 id_for_peer
    pub const DIAGNOSIS: Field = 16..20; // §5.1 peer_diagnosis, BE32
    pub const OS_TYPE: usize = 20; // §5.1 bits 7-4 os_type, bits 3-0 reserved
    pub const RESERVED2: Field = 21..24; // §5.1 reserved2[3]
    pub const V1_END: usize = RESERVED2.end; // §5.1 v1 trailer at 24, length 28
    pub const DIAGNOSIS_V2: Field = 24..40; // §5.1 peer_diagnosis_v2[4], BE32 each
    pub const V2_END: usize = DIAGNOSIS_V2.end; // §5.1 v2 trailer at 40, length 44
    pub const OUT_OF_SYNC: u8 = 0x08; // §2.2/§5.1 byte 7 bit 3 (SYNCERR)
    pub const TYPE_BITS_RESERVED: u8 = 0x07; // §2.2 byte 7 bits 2-0 (Linux 0)
}

/// A CLC Decline, lossless.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct DeclineRepr {
    /// Header eyecatcher (Linux: SMCR).
    pub eyecatcher: Eyecatcher,
    /// Declared length.
    pub length: u16,
    /// Version nibble.
    pub version: u8,
    /// Out-of-sync bit: the sender's link group is out of sync and terminated (SYNCERR).
    pub out_of_sync: bool,
    /// Byte 7 bits 2-0 (Linux 0).
    #[cfg_attr(
        feature = "serde",
        serde(skip_serializing_if = "crate::clc::proposal::is_zero_u8")
    )]
    pub type_bits_reserved: u8,
    /// Sender's peer ID (zero when it has no usable system id, or in an SMC-D link group).
    pub id_for_peer: PeerId,
    /// The reason (`peer_diagnosis`).
    pub peer_diagnosis: DeclineReason,
    /// OS type nibble (v2 from Linux: 2; v1: 0).
    pub os_type: OsType,
    /// Bits 3-0 of byte 20 (reserved).
    #[cfg_attr(
        feature = "serde",
        serde(skip_serializing_if = "crate::clc::proposal::is_zero_u8")
    )]
    pub reserved: u8,
    /// Reserved bytes 21-23.
    #[cfg_attr(
        feature = "serde",
        serde(skip_serializing_if = "crate::clc::proposal::is_zero")
    )]
    pub reserved2: [u8; 3],
    /// v2: the four supplemental diagnosis words (Linux sends zeros).
    pub peer_diagnosis_v2: Option<[DeclineReason; 4]>,
    /// Trailer eyecatcher (never checked by Linux).
    pub trailer: Eyecatcher,
}

impl Default for DeclineRepr {
    fn default() -> Self {
        DeclineRepr {
            eyecatcher: Eyecatcher::SMCR,
            length: check::decl_len::V1,
            version: 1,
            out_of_sync: false,
            type_bits_reserved: 0,
            id_for_peer: PeerId::default(),
            peer_diagnosis: DeclineReason(0),
            os_type: OsType(0),
            reserved: 0,
            reserved2: [0; 3],
            peer_diagnosis_v2: None,
            trailer: Eyecatcher::SMCR,
        }
    }
}

/// A view of a Decline.
#[derive(Debug, Clone, Copy)]
pub struct DeclinePacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> DeclinePacket<T> {
    /// Wraps without checks.
    pub const fn new_unchecked(buffer: T) -> Self {
        DeclinePacket { buffer }
    }
    /// Wraps a buffer holding at least the 28-byte v1 Decline.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let have = buffer.as_ref().len();
        if have < field::V1_END + TRAILER_LEN {
            return Err(Error::Truncated {
                layer: Layer::Decline,
                need: field::V1_END + TRAILER_LEN,
                have,
                at: 0,
            });
        }
        Ok(Self::new_unchecked(buffer))
    }
    /// The reason code.
    pub fn peer_diagnosis(&self) -> DeclineReason {
        DeclineReason(be32(&self.buffer.as_ref()[field::DIAGNOSIS]))
    }
    /// Out-of-sync bit.
    pub fn out_of_sync(&self) -> bool {
        self.buffer.as_ref()[header::field::VERSION_BITS] & field::OUT_OF_SYNC != 0
    }
}

impl DeclineRepr {
    /// A Decline as Linux sends it (`smc_clc_send_decline`): v1 with OS nibble 0, or v2 with
    /// OS type Linux and zero supplemental words; out-of-sync bit for SYNCERR.
    pub fn linux(reason: DeclineReason, version: u8, id_for_peer: PeerId) -> DeclineRepr {
        let v2 = version >= 2;
        DeclineRepr {
            length: if v2 {
                check::decl_len::V2
            } else {
                check::decl_len::V1
            },
            version,
            out_of_sync: reason == DeclineReason::SYNCERR,
            id_for_peer,
            peer_diagnosis: reason,
            os_type: if v2 { OsType::LINUX } else { OsType(0) },
            peer_diagnosis_v2: v2.then_some([DeclineReason(0); 4]),
            ..DeclineRepr::default()
        }
    }

    /// Decodes in the context of a wait for a Decline (buffer of 652 bytes).
    pub fn parse(msg: &[u8], mode: Mode) -> Result<Decoded<Self>, Error> {
        Self::parse_with(msg, mode, &RecvContext::for_type(ClcType::DECLINE))
    }

    /// Decodes one framed Decline.
    pub fn parse_with(msg: &[u8], mode: Mode, ctx: &RecvContext) -> Result<Decoded<Self>, Error> {
        let mut an = Anomalies::new();
        let hdr = Header::parse(msg)?;
        if hdr.msg_type != ClcType::DECLINE {
            return Err(Error::WrongType {
                layer: Layer::Decline,
                found: hdr.msg_type.0,
            });
        }
        let msg = declared(msg, Layer::Decline)?;
        apply_check(check::check_received(msg, ctx), mode, &mut an)?;
        let p = DeclinePacket::new_checked(msg)?;
        let len = msg.len();
        let body_end = len - TRAILER_LEN;
        let os = msg[field::OS_TYPE];
        let v2 = hdr.version >= 2 && body_end >= field::V2_END;
        let mut r = DeclineRepr {
            eyecatcher: hdr.eyecatcher,
            length: hdr.length,
            version: hdr.version,
            out_of_sync: p.out_of_sync(),
            type_bits_reserved: hdr.type_bits & field::TYPE_BITS_RESERVED,
            id_for_peer: PeerId(array(&msg[field::PEER_ID])),
            peer_diagnosis: p.peer_diagnosis(),
            os_type: OsType(os >> 4),
            reserved: os & 0x0f,
            reserved2: array(&msg[field::RESERVED2]),
            peer_diagnosis_v2: None,
            trailer: Eyecatcher(header::array4(&msg[header::trailer_field(len)])),
        };
        if r.type_bits_reserved != 0 || r.reserved != 0 {
            an.push(Anomaly::NonZeroReserved {
                layer: Layer::Decline,
                at: crate::error::p16(header::field::VERSION_BITS),
                len: 1,
            });
        }
        reserved(
            &mut an,
            Layer::Decline,
            field::RESERVED2.start,
            &r.reserved2,
        );
        let mut spans = Spans::new();
        spans.add(0, field::V1_END);
        spans.add(body_end, len);
        if v2 {
            let w = &msg[field::DIAGNOSIS_V2];
            r.peer_diagnosis_v2 = Some(core::array::from_fn(|i| {
                DeclineReason(be32(&w[i * 4..i * 4 + 4]))
            }));
            spans.add(field::V1_END, field::V2_END);
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

    /// Makes the representation self-consistent: bit fields in range, the v2 words present
    /// exactly for version ≥ 2, and the length 28 or 44 (§5.1).
    pub fn normalize(&mut self) {
        self.version &= 0x0f;
        if self.version == 0 {
            self.version = 1;
        }
        self.type_bits_reserved &= field::TYPE_BITS_RESERVED;
        self.os_type = OsType(self.os_type.0 & 0x0f);
        self.reserved &= 0x0f;
        if self.version >= 2 {
            self.peer_diagnosis_v2.get_or_insert([DeclineReason(0); 4]);
        } else {
            self.peer_diagnosis_v2 = None;
        }
        self.length = (self.content_end() + TRAILER_LEN) as u16;
    }

    fn content_end(&self) -> usize {
        if self.peer_diagnosis_v2.is_some() {
            field::V2_END
        } else {
            field::V1_END
        }
    }

    /// Bytes `emit` writes.
    pub fn buffer_len(&self) -> usize {
        usize::from(self.length).max(self.content_end() + TRAILER_LEN)
    }

    /// Writes the Decline byte-exact.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        let total = self.buffer_len();
        check_out(buf, total)?;
        let buf = &mut buf[..total];
        buf.fill(0);
        let bits = (u8::from(self.out_of_sync) * field::OUT_OF_SYNC)
            | (self.type_bits_reserved & field::TYPE_BITS_RESERVED);
        Header {
            eyecatcher: self.eyecatcher,
            msg_type: ClcType::DECLINE,
            length: self.length,
            version: self.version,
            type_bits: bits,
        }
        .emit(buf)?;
        buf[field::PEER_ID].copy_from_slice(&self.id_for_peer.0);
        buf[field::DIAGNOSIS].copy_from_slice(&self.peer_diagnosis.0.to_be_bytes());
        buf[field::OS_TYPE] = (self.os_type.0 << 4) | (self.reserved & 0x0f);
        buf[field::RESERVED2].copy_from_slice(&self.reserved2);
        if let Some(words) = &self.peer_diagnosis_v2 {
            for (i, w) in words.iter().enumerate() {
                let at = field::DIAGNOSIS_V2.start + 4 * i;
                buf[at..at + 4].copy_from_slice(&w.0.to_be_bytes());
            }
        }
        buf[header::trailer_field(total)].copy_from_slice(&self.trailer.0);
        Ok(total)
    }
}
