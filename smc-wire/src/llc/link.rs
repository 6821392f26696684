//! Link messages: CONFIRM LINK, ADD LINK (with the v2 rkey extension), ADD LINK CONTINUATION,
//! DELETE LINK and REQUEST ADD LINK (reference §8.3; kernel `smc_llc.c` structs
//! `smc_llc_msg_confirm_link`, `smc_llc_msg_add_link`, `smc_llc_msg_add_link_v2_ext`,
//! `smc_llc_msg_add_link_cont`, `smc_llc_msg_del_link`, `smc_llc_msg_req_add_link_v2`).

use crate::clc::header::{array, be24, be32, be64};
use crate::clc::proposal::reserved;
use crate::clc::{check_out, Mac, RoceGid};
use crate::codes::{DeleteLinkReason, LlcType};
use crate::error::{p16, Anomalies, Anomaly, Decoded, Error, Layer, Mode};
use crate::llc::{
    check_len, narrow, put_be24, EntryList, HostOrder, ListEntry, LlcHeader, LlcLength, LlcRepr,
};

pub(crate) mod field {
    /// `smc_llc_msg_confirm_link` (type 0x01 / 0x21).
    pub mod confirm_link {
        use crate::field::Field;
        pub const SENDER_MAC: Field = 4..10; // §8.3 CONFIRM LINK sender_mac
        pub const SENDER_GID: Field = 10..26; // §8.3 CONFIRM LINK sender_gid
        pub const SENDER_QP_NUM: Field = 26..29; // §8.3 CONFIRM LINK sender_qp_num, BE24
        pub const LINK_NUM: usize = 29; // §8.3 CONFIRM LINK link_num
        pub const LINK_UID: Field = 30..34; // §8.3 CONFIRM LINK link_uid (BE32 of lgr id + link)
        pub const MAX_LINKS: usize = 34; // §8.3 CONFIRM LINK max_links
        pub const MAX_CONNS: usize = 35; // §8.3 CONFIRM LINK max_conns (v2.1)
        pub const RESERVED: Field = 36..44; // §8.3 CONFIRM LINK reserved[8]
        pub const LEN: usize = RESERVED.end; // §8.3 CONFIRM LINK 44 bytes
    }
    /// `smc_llc_msg_add_link` (type 0x02 / 0x22) + `smc_llc_msg_add_link_v2_ext`.
    pub mod add_link {
        use crate::field::{Field, Rest};
        pub const SENDER_MAC: Field = 4..10; // §8.3 ADD LINK sender_mac
        pub const RESERVED2: Field = 10..12; // §8.3 ADD LINK reserved2[2]
        pub const SENDER_GID: Field = 12..28; // §8.3 ADD LINK sender_gid
        pub const SENDER_QP_NUM: Field = 28..31; // §8.3 ADD LINK sender_qp_num, BE24
        pub const LINK_NUM: usize = 31; // §8.3 ADD LINK link_num
        pub const MTU: usize = 32; // §8.3 ADD LINK bits 7-4 reserved3, bits 3-0 qp_mtu
        pub const QP_MTU_MASK: u8 = 0x0f; // §8.3 ADD LINK qp_mtu (4 bits)
        pub const RESERVED3_SHIFT: u32 = 4; // §8.3 ADD LINK reserved3 (bits 7-4)
        pub const INITIAL_PSN: Field = 33..36; // §8.3 ADD LINK initial_psn, BE24
        pub const RESERVED: Field = 36..44; // §8.3 ADD LINK reserved[8]
        pub const LEN: usize = RESERVED.end; // §8.3 ADD LINK 44 bytes (and reject response)
        pub const V2_DIRECT: usize = 44; // §8.3 v2 ext bit 7 v2_direct, bits 6-0 reserved
        pub const V2_DIRECT_BIT: u8 = 0x80; // §8.3 v2 ext v2_direct
        pub const V2_RESERVED2: usize = 45; // §8.3 v2 ext reserved2
        pub const CLIENT_TARGET_GID: Field = 46..62; // §8.3 v2 ext client_target_gid
        pub const V2_RESERVED3: Field = 62..70; // §8.3 v2 ext reserved3[8]
        pub const NUM_RKEYS: Field = 70..72; // §8.3 v2 ext num_rkeys, host-order u16
        pub const V2_EXT_END: usize = NUM_RKEYS.end; // §8.3 v2 ext fixed part ends, rt[] at 72
        pub const RT: Rest = V2_EXT_END..; // §8.3 v2 ext rt[n], 16 bytes each
    }
    /// `smc_llc_msg_add_link_cont_rt` (16 bytes).
    pub mod rt {
        use crate::field::Field;
        pub const RMB_KEY: Field = 0..4; // §8.3 rt rmb_key (rkey on the existing link)
        pub const RMB_KEY_NEW: Field = 4..8; // §8.3 rt rmb_key_new (rkey on the new link)
        pub const RMB_VADDR_NEW: Field = 8..16; // §8.3 rt rmb_vaddr_new
        pub const LEN: usize = RMB_VADDR_NEW.end; // §8.3 rt entry, 16 bytes
    }
    /// `smc_llc_msg_add_link_cont` (type 0x03).
    pub mod add_link_cont {
        use crate::field::Field;
        pub const LINK_NUM: usize = 4; // §8.3 ADD LINK CONT link_num
        pub const NUM_RKEYS: usize = 5; // §8.3 ADD LINK CONT num_rkeys (still to send)
        pub const RESERVED2: Field = 6..8; // §8.3 ADD LINK CONT reserved2[2]
        pub const RT_COUNT: usize = 2; // §8.3 SMC_LLC_RKEYS_PER_CONT_MSG
        pub const fn rt(i: usize) -> Field {
            // §8.3 ADD LINK CONT rt[i] at 8 + 16·i
            RESERVED2.end + i * super::rt::LEN..RESERVED2.end + (i + 1) * super::rt::LEN
        }
        pub const RESERVED: Field = rt(RT_COUNT).start..rt(RT_COUNT).start + 4; // §8.3 reserved[4]
        pub const LEN: usize = RESERVED.end; // §8.3 ADD LINK CONT 44 bytes
    }
    /// `smc_llc_msg_del_link` (type 0x04 / 0x24).
    pub mod del_link {
        use crate::field::Field;
        pub const LINK_NUM: usize = 4; // §8.3 DELETE LINK link_num (0 with "all")
        pub const REASON: Field = 5..9; // §8.3 DELETE LINK reason, BE32 (unaligned)
        pub const RESERVED: Field = 9..44; // §8.3 DELETE LINK reserved[35]
        pub const LEN: usize = RESERVED.end; // §8.3 DELETE LINK 44 bytes
    }
    /// `smc_llc_msg_req_add_link_v2` (type 0x25).
    pub mod req_add_link {
        use crate::field::{Field, Rest};
        pub const RESERVED: Field = 4..24; // §8.3 REQUEST ADD LINK reserved[20]
        pub const GID_CNT: usize = 24; // §8.3 REQUEST ADD LINK gid_cnt
        pub const RESERVED2: Field = 25..28; // §8.3 REQUEST ADD LINK reserved2[3]
        pub const GID: Rest = RESERVED2.end..; // §8.3 REQUEST ADD LINK gid[n], 16 bytes each
    }
}

/// End of the fixed part of the ADD LINK v2 extension (72).
pub(crate) const V2_EXT_END: usize = field::add_link::V2_EXT_END;

const _: () = assert!(
    field::confirm_link::LEN == crate::llc::LLC_MSG_LEN
        && field::add_link::LEN == crate::llc::LLC_MSG_LEN
        && field::add_link_cont::LEN == crate::llc::LLC_MSG_LEN
        && field::del_link::LEN == crate::llc::LLC_MSG_LEN
        && field::add_link_cont::rt(1).end == field::add_link_cont::RESERVED.start
);

// ---------------------------------------------------------------------------------------------
// CONFIRM LINK

/// CONFIRM LINK (0x01 / 0x21): the first message on a new link, request from the server and
/// response from the client (§8.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct ConfirmLinkRepr {
    /// Header (flags 0x03 from Linux, | 0x80 in the response).
    pub header: LlcHeader,
    /// Sender's RoCE MAC (as in its CLC Accept/Confirm).
    pub sender_mac: Mac,
    /// Sender's RoCE GID.
    pub sender_gid: RoceGid,
    /// Sender's QP number (24 bits).
    pub sender_qp_num: u32,
    /// Link id, assigned by the server.
    pub link_num: u8,
    /// Link user id (debugging only: BE32 of lgr id + link id on multi-link kernels).
    pub link_uid: [u8; 4],
    /// Maximum links (Linux 2, or negotiated in v2.1).
    pub max_links: u8,
    /// Maximum connections (v2.1, else 0).
    pub max_conns: u8,
    /// Reserved (8 bytes).
    pub reserved: [u8; 8],
}

/// A view of a CONFIRM LINK.
#[derive(Debug, Clone, Copy)]
pub struct ConfirmLinkPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ConfirmLinkPacket<T> {
    /// Wraps without checks.
    pub const fn new_unchecked(buffer: T) -> Self {
        ConfirmLinkPacket { buffer }
    }
    /// Wraps a buffer holding the 44 bytes.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        check_len(buffer.as_ref(), field::confirm_link::LEN)?;
        Ok(Self::new_unchecked(buffer))
    }
    /// Gives back the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
    /// Sender MAC.
    pub fn sender_mac(&self) -> Mac {
        Mac(array(
            &self.buffer.as_ref()[field::confirm_link::SENDER_MAC],
        ))
    }
    /// Sender GID.
    pub fn sender_gid(&self) -> RoceGid {
        RoceGid(array(
            &self.buffer.as_ref()[field::confirm_link::SENDER_GID],
        ))
    }
    /// Sender QPN.
    pub fn sender_qp_num(&self) -> u32 {
        be24(&self.buffer.as_ref()[field::confirm_link::SENDER_QP_NUM])
    }
    /// Link id.
    pub fn link_num(&self) -> u8 {
        self.buffer.as_ref()[field::confirm_link::LINK_NUM]
    }
    /// Link user id as a BE32.
    pub fn link_uid(&self) -> u32 {
        be32(&self.buffer.as_ref()[field::confirm_link::LINK_UID])
    }
    /// Maximum links.
    pub fn max_links(&self) -> u8 {
        self.buffer.as_ref()[field::confirm_link::MAX_LINKS]
    }
    /// Maximum connections.
    pub fn max_conns(&self) -> u8 {
        self.buffer.as_ref()[field::confirm_link::MAX_CONNS]
    }
}

impl ConfirmLinkRepr {
    /// Decodes a CONFIRM LINK (any other type is [`Error::WrongType`]).
    pub fn parse(bytes: &[u8], mode: Mode) -> Result<Decoded<Self>, Error> {
        narrow(bytes, mode, |r| match r {
            LlcRepr::ConfirmLink(m) => Some(m),
            _ => None,
        })
    }

    pub(crate) fn decode(msg: &[u8], header: LlcHeader, an: &mut Anomalies) -> Self {
        use field::confirm_link as f;
        let p = ConfirmLinkPacket::new_unchecked(msg);
        let r = ConfirmLinkRepr {
            header,
            sender_mac: p.sender_mac(),
            sender_gid: p.sender_gid(),
            sender_qp_num: p.sender_qp_num(),
            link_num: p.link_num(),
            link_uid: array(&msg[f::LINK_UID]),
            max_links: p.max_links(),
            max_conns: p.max_conns(),
            reserved: array(&msg[f::RESERVED]),
        };
        reserved(an, Layer::Llc, f::RESERVED.start, &r.reserved);
        r
    }

    /// The link user id as the kernel logs it (BE32).
    pub fn link_uid_be32(&self) -> u32 {
        u32::from_be_bytes(self.link_uid)
    }

    /// Bytes `emit` writes (44).
    pub fn buffer_len(&self) -> usize {
        field::confirm_link::LEN
    }

    /// Writes the message.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        use field::confirm_link as f;
        check_out(buf, f::LEN)?;
        self.header.emit(LlcType::CONFIRM_LINK, buf)?;
        buf[f::SENDER_MAC].copy_from_slice(&self.sender_mac.0);
        buf[f::SENDER_GID].copy_from_slice(&self.sender_gid.0);
        put_be24(
            &mut buf[f::SENDER_QP_NUM],
            self.sender_qp_num,
            "sender_qp_num",
        )?;
        buf[f::LINK_NUM] = self.link_num;
        buf[f::LINK_UID].copy_from_slice(&self.link_uid);
        buf[f::MAX_LINKS] = self.max_links;
        buf[f::MAX_CONNS] = self.max_conns;
        buf[f::RESERVED].copy_from_slice(&self.reserved);
        Ok(f::LEN)
    }
}

// ---------------------------------------------------------------------------------------------
// ADD LINK

/// One rkey triple of ADD LINK v2 and ADD LINK CONT (`smc_llc_msg_add_link_cont_rt`, §8.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct AddLinkRt {
    /// rkey of the RMB on the existing link (what the peer already knows).
    pub rmb_key: u32,
    /// rkey of the same RMB on the new link.
    pub rmb_key_new: u32,
    /// Virtual address of the RMB on the new link.
    pub rmb_vaddr_new: u64,
}

impl ListEntry for AddLinkRt {
    const LEN: usize = field::rt::LEN;
    fn read(b: &[u8]) -> Self {
        AddLinkRt {
            rmb_key: be32(&b[field::rt::RMB_KEY]),
            rmb_key_new: be32(&b[field::rt::RMB_KEY_NEW]),
            rmb_vaddr_new: be64(&b[field::rt::RMB_VADDR_NEW]),
        }
    }
    fn write(&self, b: &mut [u8]) {
        b[field::rt::RMB_KEY].copy_from_slice(&self.rmb_key.to_be_bytes());
        b[field::rt::RMB_KEY_NEW].copy_from_slice(&self.rmb_key_new.to_be_bytes());
        b[field::rt::RMB_VADDR_NEW].copy_from_slice(&self.rmb_vaddr_new.to_be_bytes());
    }
}

/// The ADD LINK v2 extension from byte 44 (`smc_llc_msg_add_link_v2_ext`, §8.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct AddLinkV2Ext<'a> {
    /// The new link is direct (no gateway).
    pub v2_direct: bool,
    /// Bits 6-0 of byte 44 (reserved, 7 bits).
    pub reserved: u8,
    /// Byte 45 (reserved).
    pub reserved2: u8,
    /// The sender's GID for the new link (where the peer should connect its new QP).
    pub client_target_gid: RoceGid,
    /// Bytes 62–69 (reserved).
    pub reserved3: [u8; 8],
    /// Number of rkey triples as sent (host order; the kernel reads at most 255 of them).
    pub num_rkeys: u16,
    /// The byte order `num_rkeys` was found in (and is emitted in).
    pub num_rkeys_order: HostOrder,
    /// The rkey triples: everything from byte 72 to the end of the SEND.
    pub rt: EntryList<'a, AddLinkRt>,
}

impl<'a> AddLinkV2Ext<'a> {
    /// The triples the count announces (at most the ones present).
    pub fn rkeys(&self) -> impl Iterator<Item = AddLinkRt> + 'a {
        self.rt.iter().take(usize::from(self.num_rkeys))
    }
}

/// ADD LINK (0x02 / 0x22): request from the server, accepting or rejecting response from the
/// client (§8.3). A reject echoes the request's first 44 bytes with flags 0xC0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct AddLinkRepr<'a> {
    /// Header (v1: reject reason nibble in byte 2).
    pub header: LlcHeader,
    /// Sender's MAC for the new link.
    pub sender_mac: Mac,
    /// Bytes 10–11 (reserved).
    pub reserved2: [u8; 2],
    /// Sender's GID for the new link.
    pub sender_gid: RoceGid,
    /// QP number of the new link (24 bits).
    pub sender_qp_num: u32,
    /// Link id of the new link.
    pub link_num: u8,
    /// Byte 32 bits 7-4 (reserved).
    pub reserved3: u8,
    /// QP MTU enum (byte 32 bits 3-0).
    pub qp_mtu: u8,
    /// Initial PSN (24 bits).
    pub initial_psn: u32,
    /// Bytes 36–43 (reserved).
    pub reserved: [u8; 8],
    /// The v2 extension (v2 request or accepting response; absent in v1 and in rejects).
    pub v2_ext: Option<AddLinkV2Ext<'a>>,
}

/// A view of an ADD LINK.
#[derive(Debug, Clone, Copy)]
pub struct AddLinkPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> AddLinkPacket<T> {
    /// Wraps without checks.
    pub const fn new_unchecked(buffer: T) -> Self {
        AddLinkPacket { buffer }
    }
    /// Wraps a buffer holding the 44-byte base message.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        check_len(buffer.as_ref(), field::add_link::LEN)?;
        Ok(Self::new_unchecked(buffer))
    }
    /// Gives back the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
    /// Sender MAC.
    pub fn sender_mac(&self) -> Mac {
        Mac(array(&self.buffer.as_ref()[field::add_link::SENDER_MAC]))
    }
    /// Sender GID.
    pub fn sender_gid(&self) -> RoceGid {
        RoceGid(array(&self.buffer.as_ref()[field::add_link::SENDER_GID]))
    }
    /// Sender QPN.
    pub fn sender_qp_num(&self) -> u32 {
        be24(&self.buffer.as_ref()[field::add_link::SENDER_QP_NUM])
    }
    /// Link id.
    pub fn link_num(&self) -> u8 {
        self.buffer.as_ref()[field::add_link::LINK_NUM]
    }
    /// QP MTU enum.
    pub fn qp_mtu(&self) -> u8 {
        self.buffer.as_ref()[field::add_link::MTU] & field::add_link::QP_MTU_MASK
    }
    /// Initial PSN.
    pub fn initial_psn(&self) -> u32 {
        be24(&self.buffer.as_ref()[field::add_link::INITIAL_PSN])
    }
    /// True when the v2 extension's fixed part is present (72 bytes or more).
    pub fn has_v2_ext(&self) -> bool {
        self.buffer.as_ref().len() >= field::add_link::V2_EXT_END
    }
    /// The raw `num_rkeys` bytes (v2 extension present).
    pub fn num_rkeys_bytes(&self) -> Option<[u8; 2]> {
        let b = self.buffer.as_ref().get(field::add_link::NUM_RKEYS)?;
        Some([b[0], b[1]])
    }
}

impl<'a> AddLinkRepr<'a> {
    /// Decodes an ADD LINK (any other type is [`Error::WrongType`]).
    pub fn parse(bytes: &'a [u8], mode: Mode) -> Result<Decoded<Self>, Error> {
        narrow(bytes, mode, |r| match r {
            LlcRepr::AddLink(m) => Some(m),
            _ => None,
        })
    }

    pub(crate) fn decode(msg: &'a [u8], header: LlcHeader, an: &mut Anomalies) -> Self {
        use field::add_link as f;
        let p = AddLinkPacket::new_unchecked(msg);
        let mtu = msg[f::MTU];
        let mut r = AddLinkRepr {
            header,
            sender_mac: p.sender_mac(),
            reserved2: array(&msg[f::RESERVED2]),
            sender_gid: p.sender_gid(),
            sender_qp_num: p.sender_qp_num(),
            link_num: p.link_num(),
            reserved3: mtu >> f::RESERVED3_SHIFT,
            qp_mtu: mtu & f::QP_MTU_MASK,
            initial_psn: p.initial_psn(),
            reserved: array(&msg[f::RESERVED]),
            v2_ext: None,
        };
        reserved(an, Layer::Llc, f::RESERVED2.start, &r.reserved2);
        reserved(an, Layer::Llc, f::MTU, &[r.reserved3]);
        reserved(an, Layer::Llc, f::RESERVED.start, &r.reserved);
        if header.is_v2() && p.has_v2_ext() {
            r.v2_ext = Some(decode_v2_ext(msg, header, an));
        }
        r
    }

    /// The ADD LINK reject reason (v1 header nibble; 1 = no alternate path). In v2 the length
    /// overwrites it (§8.3, §12 #7).
    pub fn add_link_rej_rsn(&self) -> Option<u8> {
        match self.header.length {
            LlcLength::V1 {
                add_link_rej_rsn, ..
            } => Some(add_link_rej_rsn),
            LlcLength::V2 { .. } => None,
        }
    }

    /// True for a reject response (flags 0x80 | 0x40).
    pub fn is_reject(&self) -> bool {
        self.header.flags.is_response()
            && self
                .header
                .flags
                .contains(crate::llc::LlcFlags::ADD_LNK_REJ)
    }

    /// Bytes `emit` writes: 44, or 72 + the rkey area with the v2 extension.
    pub fn buffer_len(&self) -> usize {
        match &self.v2_ext {
            Some(x) => field::add_link::V2_EXT_END.saturating_add(x.rt.raw().len()),
            None => field::add_link::LEN,
        }
    }

    /// Writes the message.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        use field::add_link as f;
        let total = self.buffer_len();
        check_out(buf, total)?;
        if self.reserved3 > f::QP_MTU_MASK || self.qp_mtu > f::QP_MTU_MASK {
            return Err(Error::FieldOverflow { field: "qp_mtu" });
        }
        self.header.emit(LlcType::ADD_LINK, buf)?;
        buf[f::SENDER_MAC].copy_from_slice(&self.sender_mac.0);
        buf[f::RESERVED2].copy_from_slice(&self.reserved2);
        buf[f::SENDER_GID].copy_from_slice(&self.sender_gid.0);
        put_be24(
            &mut buf[f::SENDER_QP_NUM],
            self.sender_qp_num,
            "sender_qp_num",
        )?;
        buf[f::LINK_NUM] = self.link_num;
        buf[f::MTU] = (self.reserved3 << f::RESERVED3_SHIFT) | self.qp_mtu;
        put_be24(&mut buf[f::INITIAL_PSN], self.initial_psn, "initial_psn")?;
        buf[f::RESERVED].copy_from_slice(&self.reserved);
        if let Some(x) = &self.v2_ext {
            if x.reserved > !f::V2_DIRECT_BIT {
                return Err(Error::FieldOverflow {
                    field: "v2_direct reserved bits",
                });
            }
            buf[f::V2_DIRECT] = (u8::from(x.v2_direct) * f::V2_DIRECT_BIT) | x.reserved;
            buf[f::V2_RESERVED2] = x.reserved2;
            buf[f::CLIENT_TARGET_GID].copy_from_slice(&x.client_target_gid.0);
            buf[f::V2_RESERVED3].copy_from_slice(&x.reserved3);
            buf[f::NUM_RKEYS].copy_from_slice(&x.num_rkeys_order.write(x.num_rkeys, "num_rkeys")?);
            buf[f::V2_EXT_END..total].copy_from_slice(x.rt.raw());
        }
        Ok(total)
    }
}

fn decode_v2_ext<'a>(msg: &'a [u8], header: LlcHeader, an: &mut Anomalies) -> AddLinkV2Ext<'a> {
    use field::add_link as f;
    let raw = [msg[f::NUM_RKEYS.start], msg[f::NUM_RKEYS.start + 1]];
    let rt = EntryList::<AddLinkRt>::new(&msg[f::RT]);
    // the count is read in whichever order matches the triples present; the header's order
    // (same sender CPU) breaks a tie
    let order = HostOrder::detect(raw, Some(rt.len()), header.host_order());
    if order == HostOrder::Little {
        an.push(Anomaly::HostOrderLittleEndian {
            layer: Layer::Llc,
            at: p16(f::NUM_RKEYS.start),
        });
    }
    let num_rkeys = order.read(raw);
    let d = msg[f::V2_DIRECT];
    let x = AddLinkV2Ext {
        v2_direct: d & f::V2_DIRECT_BIT != 0,
        reserved: d & !f::V2_DIRECT_BIT,
        reserved2: msg[f::V2_RESERVED2],
        client_target_gid: RoceGid(array(&msg[f::CLIENT_TARGET_GID])),
        reserved3: array(&msg[f::V2_RESERVED3]),
        num_rkeys,
        num_rkeys_order: order,
        rt,
    };
    reserved(an, Layer::Llc, f::V2_DIRECT, &[x.reserved]);
    reserved(an, Layer::Llc, f::V2_RESERVED2, &[x.reserved2]);
    reserved(an, Layer::Llc, f::V2_RESERVED3.start, &x.reserved3);
    list_anomalies(an, f::V2_EXT_END, usize::from(num_rkeys), &rt);
    x
}

/// Reports a list shorter than its count, or a partial entry at its end.
pub(crate) fn list_anomalies<E: ListEntry>(
    an: &mut Anomalies,
    at: usize,
    count: usize,
    list: &EntryList<'_, E>,
) {
    let have = list.raw().len();
    if count > list.len() {
        an.push(Anomaly::AreaTruncated {
            layer: Layer::Llc,
            at: p16(at),
            need: p16(count.saturating_mul(E::LEN)),
            have: p16(have),
        });
    } else if !list.remainder().is_empty() {
        an.push(Anomaly::AreaTruncated {
            layer: Layer::Llc,
            at: p16(at + list.len() * E::LEN),
            need: p16(E::LEN),
            have: p16(list.remainder().len()),
        });
    }
}

// ---------------------------------------------------------------------------------------------
// ADD LINK CONT

/// ADD LINK CONTINUATION (0x03, v1 link groups): up to two rkey triples per message (§8.3).
/// The triples start at byte 8 (two reserved bytes at 6; Wireshark starts them at 6, §12 #8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct AddLinkContRepr {
    /// Header.
    pub header: LlcHeader,
    /// Link id of the new link.
    pub link_num: u8,
    /// Number of rkeys still to send (this message's included).
    pub num_rkeys: u8,
    /// Bytes 6–7 (reserved).
    pub reserved2: [u8; 2],
    /// The two triple slots.
    pub rt: [AddLinkRt; 2],
    /// Bytes 40–43 (reserved).
    pub reserved: [u8; 4],
}

/// A view of an ADD LINK CONT.
#[derive(Debug, Clone, Copy)]
pub struct AddLinkContPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> AddLinkContPacket<T> {
    /// Wraps without checks.
    pub const fn new_unchecked(buffer: T) -> Self {
        AddLinkContPacket { buffer }
    }
    /// Wraps a buffer holding the 44 bytes.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        check_len(buffer.as_ref(), field::add_link_cont::LEN)?;
        Ok(Self::new_unchecked(buffer))
    }
    /// Gives back the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
    /// Link id.
    pub fn link_num(&self) -> u8 {
        self.buffer.as_ref()[field::add_link_cont::LINK_NUM]
    }
    /// Rkeys still to send.
    pub fn num_rkeys(&self) -> u8 {
        self.buffer.as_ref()[field::add_link_cont::NUM_RKEYS]
    }
    /// Triple slot `i` (0 or 1).
    pub fn rt(&self, i: usize) -> Option<AddLinkRt> {
        if i >= field::add_link_cont::RT_COUNT {
            return None;
        }
        Some(AddLinkRt::read(
            &self.buffer.as_ref()[field::add_link_cont::rt(i)],
        ))
    }
}

impl AddLinkContRepr {
    /// Decodes an ADD LINK CONT (any other type is [`Error::WrongType`]).
    pub fn parse(bytes: &[u8], mode: Mode) -> Result<Decoded<Self>, Error> {
        narrow(bytes, mode, |r| match r {
            LlcRepr::AddLinkCont(m) => Some(m),
            _ => None,
        })
    }

    pub(crate) fn decode(msg: &[u8], header: LlcHeader, an: &mut Anomalies) -> Self {
        use field::add_link_cont as f;
        let p = AddLinkContPacket::new_unchecked(msg);
        let r = AddLinkContRepr {
            header,
            link_num: p.link_num(),
            num_rkeys: p.num_rkeys(),
            reserved2: array(&msg[f::RESERVED2]),
            rt: [
                AddLinkRt::read(&msg[f::rt(0)]),
                AddLinkRt::read(&msg[f::rt(1)]),
            ],
            reserved: array(&msg[f::RESERVED]),
        };
        reserved(an, Layer::Llc, f::RESERVED2.start, &r.reserved2);
        reserved(an, Layer::Llc, f::RESERVED.start, &r.reserved);
        r
    }

    /// Bytes `emit` writes (44).
    pub fn buffer_len(&self) -> usize {
        field::add_link_cont::LEN
    }

    /// Writes the message.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        use field::add_link_cont as f;
        check_out(buf, f::LEN)?;
        self.header.emit(LlcType::ADD_LINK_CONT, buf)?;
        buf[f::LINK_NUM] = self.link_num;
        buf[f::NUM_RKEYS] = self.num_rkeys;
        buf[f::RESERVED2].copy_from_slice(&self.reserved2);
        for (i, rt) in self.rt.iter().enumerate() {
            rt.write(&mut buf[f::rt(i)]);
        }
        buf[f::RESERVED].copy_from_slice(&self.reserved);
        Ok(f::LEN)
    }
}

// ---------------------------------------------------------------------------------------------
// DELETE LINK

/// DELETE LINK (0x04 / 0x24): one link, or with flag 0x40 the whole link group (§8.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct DeleteLinkRepr {
    /// Header (0x40 all links, 0x20 orderly).
    pub header: LlcHeader,
    /// Link id (0 with the "all" flag).
    pub link_num: u8,
    /// Reason (BE32 at the unaligned offset 5).
    pub reason: DeleteLinkReason,
    /// Bytes 9–43 (reserved).
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::llc::ser_hex"))]
    pub reserved: [u8; 35],
}

/// A view of a DELETE LINK.
#[derive(Debug, Clone, Copy)]
pub struct DeleteLinkPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> DeleteLinkPacket<T> {
    /// Wraps without checks.
    pub const fn new_unchecked(buffer: T) -> Self {
        DeleteLinkPacket { buffer }
    }
    /// Wraps a buffer holding the 44 bytes.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        check_len(buffer.as_ref(), field::del_link::LEN)?;
        Ok(Self::new_unchecked(buffer))
    }
    /// Gives back the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
    /// Link id.
    pub fn link_num(&self) -> u8 {
        self.buffer.as_ref()[field::del_link::LINK_NUM]
    }
    /// Reason.
    pub fn reason(&self) -> DeleteLinkReason {
        DeleteLinkReason(be32(&self.buffer.as_ref()[field::del_link::REASON]))
    }
}

impl DeleteLinkRepr {
    /// Decodes a DELETE LINK (any other type is [`Error::WrongType`]).
    pub fn parse(bytes: &[u8], mode: Mode) -> Result<Decoded<Self>, Error> {
        narrow(bytes, mode, |r| match r {
            LlcRepr::DeleteLink(m) => Some(m),
            _ => None,
        })
    }

    pub(crate) fn decode(msg: &[u8], header: LlcHeader, an: &mut Anomalies) -> Self {
        use field::del_link as f;
        let p = DeleteLinkPacket::new_unchecked(msg);
        let r = DeleteLinkRepr {
            header,
            link_num: p.link_num(),
            reason: p.reason(),
            reserved: array(&msg[f::RESERVED]),
        };
        reserved(an, Layer::Llc, f::RESERVED.start, &r.reserved);
        r
    }

    /// True with the "all links" flag.
    pub fn all(&self) -> bool {
        self.header
            .flags
            .contains(crate::llc::LlcFlags::DEL_LINK_ALL)
    }

    /// True with the "orderly" flag.
    pub fn orderly(&self) -> bool {
        self.header
            .flags
            .contains(crate::llc::LlcFlags::DEL_LINK_ORDERLY)
    }

    /// Bytes `emit` writes (44).
    pub fn buffer_len(&self) -> usize {
        field::del_link::LEN
    }

    /// Writes the message.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        use field::del_link as f;
        check_out(buf, f::LEN)?;
        self.header.emit(LlcType::DELETE_LINK, buf)?;
        buf[f::LINK_NUM] = self.link_num;
        buf[f::REASON].copy_from_slice(&self.reason.0.to_be_bytes());
        buf[f::RESERVED].copy_from_slice(&self.reserved);
        Ok(f::LEN)
    }
}

// ---------------------------------------------------------------------------------------------
// REQUEST ADD LINK

/// REQUEST ADD LINK (0x25): the client asks the server to add a link towards one of the GIDs
/// (§8.3; Linux sends 2). The response is the same type with flag 0x80, body zeroed, 44 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct RequestAddLinkRepr<'a> {
    /// Header.
    pub header: LlcHeader,
    /// Bytes 4–23 (reserved).
    pub reserved: [u8; 20],
    /// Number of GIDs.
    pub gid_cnt: u8,
    /// Bytes 25–27 (reserved).
    pub reserved2: [u8; 3],
    /// The GID area: everything from byte 28 to the end of the SEND (v2), or to byte 44 (v1).
    pub gid: EntryList<'a, RoceGid>,
}

/// A view of a REQUEST ADD LINK.
#[derive(Debug, Clone, Copy)]
pub struct RequestAddLinkPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> RequestAddLinkPacket<T> {
    /// Wraps without checks.
    pub const fn new_unchecked(buffer: T) -> Self {
        RequestAddLinkPacket { buffer }
    }
    /// Wraps a buffer holding at least the kernel's 44 bytes.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        check_len(buffer.as_ref(), crate::llc::LLC_MSG_LEN)?;
        Ok(Self::new_unchecked(buffer))
    }
    /// Gives back the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
    /// Number of GIDs.
    pub fn gid_cnt(&self) -> u8 {
        self.buffer.as_ref()[field::req_add_link::GID_CNT]
    }
}

impl<'a> RequestAddLinkPacket<&'a [u8]> {
    /// The GID area (outlives the view).
    pub fn gid(&self) -> EntryList<'a, RoceGid> {
        EntryList::new(&self.buffer[field::req_add_link::GID])
    }
}

impl<'a> RequestAddLinkRepr<'a> {
    /// Decodes a REQUEST ADD LINK (any other type is [`Error::WrongType`]).
    pub fn parse(bytes: &'a [u8], mode: Mode) -> Result<Decoded<Self>, Error> {
        narrow(bytes, mode, |r| match r {
            LlcRepr::RequestAddLink(m) => Some(m),
            _ => None,
        })
    }

    pub(crate) fn decode(msg: &'a [u8], header: LlcHeader, an: &mut Anomalies) -> Self {
        use field::req_add_link as f;
        let p = RequestAddLinkPacket::new_unchecked(msg);
        let r = RequestAddLinkRepr {
            header,
            reserved: array(&msg[f::RESERVED]),
            gid_cnt: p.gid_cnt(),
            reserved2: array(&msg[f::RESERVED2]),
            gid: p.gid(),
        };
        reserved(an, Layer::Llc, f::RESERVED.start, &r.reserved);
        reserved(an, Layer::Llc, f::RESERVED2.start, &r.reserved2);
        list_anomalies(an, f::GID.start, usize::from(r.gid_cnt), &r.gid);
        r
    }

    /// The GIDs the count announces (at most the ones present).
    pub fn gids(&self) -> impl Iterator<Item = RoceGid> + 'a {
        self.gid.iter().take(usize::from(self.gid_cnt))
    }

    /// Bytes `emit` writes (28 + the GID area).
    pub fn buffer_len(&self) -> usize {
        field::req_add_link::GID
            .start
            .saturating_add(self.gid.raw().len())
    }

    /// Writes the message.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        use field::req_add_link as f;
        let total = self.buffer_len();
        check_out(buf, total)?;
        self.header.emit(LlcType::REQUEST_ADD_LINK, buf)?;
        buf[f::RESERVED].copy_from_slice(&self.reserved);
        buf[f::GID_CNT] = self.gid_cnt;
        buf[f::RESERVED2].copy_from_slice(&self.reserved2);
        buf[f::GID.start..total].copy_from_slice(self.gid.raw());
        Ok(total)
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::error::KernelCheck;
    use crate::llc::LlcFlags;

    // hwipl/smc-go @ca917b02 pkg/llc/confirmlink_test.go (probably real ibdump bytes, ref §10)
    #[rustfmt::skip]
    static CONFIRM_LINK: [u8; 44] = [
        0x01, 0x2c, 0x00, 0x03, 0x98, 0x03, 0x9b, 0xab, 0xcd, 0xef, 0xfe, 0x80, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x9a, 0x03, 0x9b, 0xff, 0xfe, 0xab, 0xcd, 0xef, 0x00, 0x01, 0x07, 0x00,
        0x00, 0x01, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];

    const MAC: Mac = Mac([0x98, 0x03, 0x9b, 0xab, 0xcd, 0xef]);
    const GID: RoceGid = RoceGid([
        0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x9a, 0x03, 0x9b, 0xff, 0xfe, 0xab, 0xcd, 0xef,
    ]);

    fn confirm_link_repr() -> ConfirmLinkRepr {
        ConfirmLinkRepr {
            header: LlcHeader::v1(LlcFlags(0x03)),
            sender_mac: MAC,
            sender_gid: GID,
            sender_qp_num: 0x000107,
            link_num: 0,
            link_uid: [0x00, 0x01, 0x00, 0x00],
            max_links: 2,
            max_conns: 0,
            reserved: [0; 8],
        }
    }

    #[test]
    fn confirm_link_deconstruct() {
        let p = ConfirmLinkPacket::new_checked(&CONFIRM_LINK[..]).unwrap();
        assert_eq!(p.sender_mac(), MAC);
        assert_eq!(p.sender_gid(), GID);
        assert_eq!(p.sender_qp_num(), 0x107);
        assert_eq!(p.link_num(), 0);
        assert_eq!(p.link_uid(), 0x0001_0000);
        assert_eq!(p.max_links(), 2);
        assert_eq!(p.max_conns(), 0);
        let h = crate::llc::LlcPacket::new_checked(&CONFIRM_LINK[..]).unwrap();
        assert_eq!(h.llc_type(), LlcType::CONFIRM_LINK);
        assert_eq!(h.length(), 44);
        assert_eq!(h.flags(), LlcFlags(0x03));
    }

    #[test]
    fn confirm_link_construct() {
        let mut buf = [0xa5u8; 44];
        assert_eq!(confirm_link_repr().emit(&mut buf), Ok(44));
        assert_eq!(buf, CONFIRM_LINK);
    }

    #[test]
    fn confirm_link_parse_emit() {
        let d = ConfirmLinkRepr::parse(&CONFIRM_LINK, Mode::Strict).unwrap();
        assert_eq!(d.repr, confirm_link_repr());
        assert!(d.anomalies.is_empty());
        let mut buf = [0u8; 44];
        d.repr.emit(&mut buf).unwrap();
        assert_eq!(buf, CONFIRM_LINK);
    }

    #[test]
    fn confirm_link_truncated() {
        assert_eq!(
            ConfirmLinkRepr::parse(&CONFIRM_LINK[..43], Mode::Lenient),
            Err(Error::Truncated {
                layer: Layer::Llc,
                need: 44,
                have: 43,
                at: 0
            })
        );
        assert_eq!(
            ConfirmLinkRepr::parse(&CONFIRM_LINK[..43], Mode::Strict),
            Err(Error::Check {
                check: KernelCheck::LlcRxLength { received: 43 }
            })
        );
        assert!(ConfirmLinkPacket::new_checked(&CONFIRM_LINK[..43]).is_err());
        assert_eq!(
            confirm_link_repr().emit(&mut [0u8; 43]),
            Err(Error::BufferTooSmall { need: 44, have: 43 })
        );
        let mut r = confirm_link_repr();
        r.sender_qp_num = 0x0100_0000;
        assert_eq!(
            r.emit(&mut [0u8; 44]),
            Err(Error::FieldOverflow {
                field: "sender_qp_num"
            })
        );
    }

    // hwipl/smc-go @ca917b02 pkg/llc/addlink_test.go (44-byte v1 request, probably real)
    #[rustfmt::skip]
    static ADD_LINK: [u8; 44] = [
        0x02, 0x2c, 0x00, 0x00, 0x98, 0x03, 0x9b, 0xab, 0xcd, 0xef, 0x00, 0x00, 0xfe, 0x80, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x9a, 0x03, 0x9b, 0xff, 0xfe, 0xab, 0xcd, 0xef, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];

    fn add_link_repr() -> AddLinkRepr<'static> {
        AddLinkRepr {
            header: LlcHeader::v1(LlcFlags(0)),
            sender_mac: MAC,
            reserved2: [0; 2],
            sender_gid: GID,
            sender_qp_num: 0,
            link_num: 0,
            reserved3: 0,
            qp_mtu: 0,
            initial_psn: 0,
            reserved: [0; 8],
            v2_ext: None,
        }
    }

    #[test]
    fn add_link_v1() {
        let p = AddLinkPacket::new_checked(&ADD_LINK[..]).unwrap();
        assert_eq!(p.sender_mac(), MAC);
        assert_eq!(p.sender_gid(), GID);
        assert!(!p.has_v2_ext());
        let d = AddLinkRepr::parse(&ADD_LINK, Mode::Strict).unwrap();
        assert_eq!(d.repr, add_link_repr());
        assert_eq!(d.repr.add_link_rej_rsn(), Some(0));
        let mut buf = [0xa5u8; 44];
        assert_eq!(add_link_repr().emit(&mut buf), Ok(44));
        assert_eq!(buf, ADD_LINK);
    }

    // SYNTHETIC: an ADD LINK v2 request as a 6.12 x86 server sends it (§8.3, §15: 88 bytes,
    // n = 1, LE length and rkey count), values chosen here; every offset checked by hand against
    // the §8.3 table: 44 v2_direct, 46 target GID, 70 num_rkeys, 72 rt[0].
    #[rustfmt::skip]
    static ADD_LINK_V2: [u8; 88] = [
        0x22, 0x58, 0x00, 0x00,                         // type 0x22, length_v2 88 LE, flags 0
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01,             // sender MAC
        0x00, 0x00,                                     // reserved2
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // sender GID ::ffff:192.0.2.1
        0x00, 0x00, 0xff, 0xff, 0xc0, 0x00, 0x02, 0x01,
        0x00, 0x00, 0x12,                               // QPN 0x12
        0x02,                                           // link 2
        0x03,                                           // MTU 3 (1024)
        0xab, 0xcd, 0xef,                               // PSN
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // reserved
        0x80, 0x00,                                     // v2_direct, reserved2
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // client target GID = sender GID
        0x00, 0x00, 0xff, 0xff, 0xc0, 0x00, 0x02, 0x01,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // reserved3
        0x01, 0x00,                                     // num_rkeys 1 LE
        0x00, 0x00, 0x15, 0x7d,                         // rt[0].rmb_key (CLC rkey)
        0x00, 0x00, 0x16, 0x00,                         // rt[0].rmb_key_new
        0x00, 0x00, 0x00, 0x00, 0xf0, 0xa6, 0x00, 0x00, // rt[0].rmb_vaddr_new
    ];

    #[test]
    fn add_link_v2_little_endian() {
        let gid = RoceGid([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xc0, 0, 2, 1]);
        let d = AddLinkRepr::parse(&ADD_LINK_V2, Mode::Strict).unwrap();
        let x = d.repr.v2_ext.unwrap();
        assert_eq!(
            d.repr.header,
            LlcHeader::v2(88, HostOrder::Little, LlcFlags(0))
        );
        assert_eq!(d.repr.sender_gid, gid);
        assert_eq!(d.repr.sender_qp_num, 0x12);
        assert_eq!(d.repr.link_num, 2);
        assert_eq!(d.repr.qp_mtu, 3);
        assert_eq!(d.repr.initial_psn, 0xabcdef);
        assert!(x.v2_direct);
        assert_eq!(x.client_target_gid, gid);
        assert_eq!((x.num_rkeys, x.num_rkeys_order), (1, HostOrder::Little));
        assert_eq!(
            x.rkeys().collect::<Vec<_>>(),
            vec![AddLinkRt {
                rmb_key: 0x157d,
                rmb_key_new: 0x1600,
                rmb_vaddr_new: 0xf0a6_0000
            }]
        );
        assert_eq!(
            d.anomalies.iter().copied().collect::<Vec<_>>(),
            vec![
                Anomaly::HostOrderLittleEndian {
                    layer: Layer::Llc,
                    at: 1
                },
                Anomaly::HostOrderLittleEndian {
                    layer: Layer::Llc,
                    at: 70
                }
            ]
        );
        let mut buf = [0xa5u8; 88];
        assert_eq!(d.repr.emit(&mut buf), Ok(88));
        assert_eq!(buf, ADD_LINK_V2);
        // the same message from an s390 sender: both fields big-endian
        let mut be = ADD_LINK_V2;
        be[1..3].copy_from_slice(&[0x00, 0x58]);
        be[70..72].copy_from_slice(&[0x00, 0x01]);
        let d = AddLinkRepr::parse(&be, Mode::Strict).unwrap();
        assert_eq!(d.repr.header.host_order(), Some(HostOrder::Big));
        assert_eq!(d.repr.v2_ext.unwrap().num_rkeys_order, HostOrder::Big);
        assert!(d.anomalies.is_empty());
        assert_eq!(d.repr.to_vec().unwrap(), be);
    }

    #[test]
    fn add_link_v2_truncated_list() {
        // count 2, one triple present
        let mut two = ADD_LINK_V2;
        two[70] = 2;
        let d = AddLinkRepr::parse(&two, Mode::Strict).unwrap();
        assert!(d.anomalies.iter().any(|a| *a
            == Anomaly::AreaTruncated {
                layer: Layer::Llc,
                at: 72,
                need: 32,
                have: 16
            }));
        assert_eq!(d.repr.v2_ext.unwrap().rkeys().count(), 1);
        assert_eq!(d.repr.to_vec().unwrap(), two);
        // a reject response: 44 bytes, no extension, flags 0xC0
        let mut rej = [0u8; 44];
        rej.copy_from_slice(&ADD_LINK_V2[..44]);
        rej[1..3].copy_from_slice(&[0x2c, 0x00]);
        rej[3] = 0xc0;
        let d = AddLinkRepr::parse(&rej, Mode::Strict).unwrap();
        assert!(d.repr.v2_ext.is_none());
        assert!(d.repr.is_reject());
        assert_eq!(d.repr.add_link_rej_rsn(), None);
    }

    // hwipl/smc-go @ca917b02 pkg/llc/addlinkcont_test.go: rt[] at 8 as in the kernel struct
    #[rustfmt::skip]
    static ADD_LINK_CONT: [u8; 44] = [
        0x03, 0x2c, 0x00, 0x80, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00,
        0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00,
    ];

    #[test]
    fn add_link_cont() {
        let want = AddLinkContRepr {
            header: LlcHeader::v1(LlcFlags::RESP),
            link_num: 1,
            num_rkeys: 1,
            reserved2: [0; 2],
            rt: [
                AddLinkRt {
                    rmb_key: 1,
                    rmb_key_new: 2,
                    rmb_vaddr_new: 3,
                },
                AddLinkRt {
                    rmb_key: 4,
                    rmb_key_new: 5,
                    rmb_vaddr_new: 6,
                },
            ],
            reserved: [0; 4],
        };
        let p = AddLinkContPacket::new_checked(&ADD_LINK_CONT[..]).unwrap();
        assert_eq!((p.link_num(), p.num_rkeys()), (1, 1));
        assert_eq!(p.rt(1), Some(want.rt[1]));
        assert_eq!(p.rt(2), None);
        let d = AddLinkContRepr::parse(&ADD_LINK_CONT, Mode::Strict).unwrap();
        assert_eq!(d.repr, want);
        let mut buf = [0xa5u8; 44];
        assert_eq!(want.emit(&mut buf), Ok(44));
        assert_eq!(buf, ADD_LINK_CONT);
        assert!(AddLinkContRepr::parse(&ADD_LINK_CONT[..40], Mode::Lenient).is_err());
    }

    // hwipl/smc-go @ca917b02 pkg/llc/deletelink_test.go: flags 0x60 (all + orderly), reason 0
    #[rustfmt::skip]
    static DELETE_LINK: [u8; 44] = [
        0x04, 0x2c, 0x00, 0x60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];

    #[test]
    fn delete_link() {
        let want = DeleteLinkRepr {
            header: LlcHeader::v1(LlcFlags(0x60)),
            link_num: 0,
            reason: DeleteLinkReason(0),
            reserved: [0; 35],
        };
        let d = DeleteLinkRepr::parse(&DELETE_LINK, Mode::Strict).unwrap();
        assert_eq!(d.repr, want);
        assert!(d.repr.all() && d.repr.orderly());
        let mut buf = [0xa5u8; 44];
        assert_eq!(want.emit(&mut buf), Ok(44));
        assert_eq!(buf, DELETE_LINK);
        // a 6.12 shutdown: v2 header (LE length), all links, PROG_INIT_TERM
        let v2 = DeleteLinkRepr {
            header: LlcHeader::v2(44, HostOrder::Little, LlcFlags(0x60)),
            reason: DeleteLinkReason::PROG_INIT_TERM,
            ..want
        };
        let bytes = v2.to_vec().unwrap();
        assert_eq!(
            &bytes[..9],
            &[0x24, 0x2c, 0x00, 0x60, 0x00, 0x00, 0x03, 0x00, 0x00]
        );
        let p = DeleteLinkPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.reason(), DeleteLinkReason::PROG_INIT_TERM);
        assert_eq!(
            DeleteLinkRepr::parse(&bytes, Mode::Strict).unwrap().repr,
            v2
        );
    }

    // SYNTHETIC: REQUEST ADD LINK v2 as smc_llc_send_request_add_link builds it on x86
    // (§8.3: gid_cnt 2 at 24, GIDs from 28, length 28 + 32 = 60, LE)
    #[rustfmt::skip]
    static REQ_ADD_LINK: [u8; 60] = [
        0x25, 0x3c, 0x00, 0x00,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // reserved[20]
        0x02, 0x00, 0x00, 0x00,                                     // gid_cnt 2, reserved2
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1,     // gid[0]
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 2,     // gid[1]
    ];

    #[test]
    fn request_add_link() {
        let g1 = RoceGid([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1]);
        let g2 = RoceGid([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 2]);
        let mut storage = [0u8; 32];
        let want = RequestAddLinkRepr {
            header: LlcHeader::v2(60, HostOrder::Little, LlcFlags(0)),
            reserved: [0; 20],
            gid_cnt: 2,
            reserved2: [0; 3],
            gid: EntryList::encode(&[g1, g2], &mut storage).unwrap(),
        };
        let d = RequestAddLinkRepr::parse(&REQ_ADD_LINK, Mode::Strict).unwrap();
        assert_eq!(d.repr, want);
        assert_eq!(d.repr.gids().collect::<Vec<_>>(), vec![g1, g2]);
        let p = RequestAddLinkPacket::new_checked(&REQ_ADD_LINK[..]).unwrap();
        assert_eq!(p.gid_cnt(), 2);
        assert_eq!(p.gid().len(), 2);
        let mut buf = [0xa5u8; 60];
        assert_eq!(want.emit(&mut buf), Ok(60));
        assert_eq!(buf, REQ_ADD_LINK);
        // the response: 44 bytes, body zeroed, flag 0x80
        let mut resp = [0u8; 44];
        resp[..4].copy_from_slice(&[0x25, 0x2c, 0x00, 0x80]);
        let d = RequestAddLinkRepr::parse(&resp, Mode::Strict).unwrap();
        assert_eq!(d.repr.gid_cnt, 0);
        assert_eq!(d.repr.gid.len(), 1);
        assert_eq!(d.repr.gids().count(), 0);
        assert!(d
            .anomalies
            .iter()
            .all(|a| matches!(a, Anomaly::HostOrderLittleEndian { .. })));
        // v1 type 0x05 is not registered
        let mut v1 = resp;
        v1[0] = 0x05;
        assert_eq!(
            RequestAddLinkRepr::parse(&v1, Mode::Strict),
            Err(Error::Check {
                check: KernelCheck::WrRxType { type_byte: 0x05 }
            })
        );
    }
}
