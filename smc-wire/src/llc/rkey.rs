//! Rkey messages: CONFIRM RKEY, CONFIRM RKEY CONTINUATION, DELETE RKEY (v1 body and the v2 long
//! form) (reference §8.3; kernel `smc_llc.c` structs `smc_rmb_rtoken`,
//! `smc_llc_msg_confirm_rkey`, `smc_llc_msg_delete_rkey`, `smc_llc_msg_delete_rkey_v2`; the
//! CONFIRM RKEY CONT layout is `smc_llc_msg_confirm_rkey_cont` of the ≤ 5.x trees, removed from
//! newer ones, which still register type 0x08 and ignore it).

use crate::clc::check_out;
use crate::clc::header::{array, be32, be64};
use crate::clc::proposal::reserved;
use crate::codes::LlcType;
use crate::error::{Anomalies, Anomaly, Decoded, Error, Layer, Mode};
use crate::llc::link::list_anomalies;
use crate::llc::{check_len, narrow, EntryList, LlcHeader, LlcRepr};

pub(crate) mod field {
    /// `struct smc_rmb_rtoken` (packed, 13 bytes).
    pub mod rtoken {
        use crate::field::Field;
        pub const LINK_ID: usize = 0; // §8.3 rtoken num_rkeys (rtoken[0]) / link_id (others)
        pub const RMB_KEY: Field = 1..5; // §8.3 rtoken rmb_key, BE32
        pub const RMB_VADDR: Field = 5..13; // §8.3 rtoken rmb_vaddr, BE64
        pub const LEN: usize = RMB_VADDR.end; // §8.3 rtoken, 13 bytes
    }
    /// `smc_llc_msg_confirm_rkey` (type 0x06 / 0x26).
    pub mod confirm_rkey {
        use crate::field::Field;
        pub const RTOKEN_START: usize = 4; // §8.3 CONFIRM RKEY rtoken[0] at 4
        pub const RTOKEN_COUNT: usize = 3; // §8.3 SMC_LLC_RKEYS_PER_MSG
        pub const fn rtoken(i: usize) -> Field {
            // §8.3 CONFIRM RKEY rtoken[i] at 4, 17, 30
            RTOKEN_START + i * super::rtoken::LEN..RTOKEN_START + (i + 1) * super::rtoken::LEN
        }
        pub const RESERVED: usize = rtoken(RTOKEN_COUNT).start; // §8.3 CONFIRM RKEY reserved (43)
        pub const LEN: usize = RESERVED + 1; // §8.3 CONFIRM RKEY 44 bytes
    }
    /// `smc_llc_msg_confirm_rkey_cont` (type 0x08, ≤ 5.x kernels).
    pub mod confirm_rkey_cont {
        use crate::field::Field;
        pub const NUM_RKEYS: usize = 4; // §8.3 CONFIRM RKEY CONT num_rkeys
        pub const RTOKEN_START: usize = NUM_RKEYS + 1; // §8.3 CONFIRM RKEY CONT rtoken[0] at 5
        pub const RTOKEN_COUNT: usize = 3; // §8.3 SMC_LLC_RKEYS_PER_MSG
        pub const fn rtoken(i: usize) -> Field {
            // §8.3 CONFIRM RKEY CONT rtoken[i] at 5, 18, 31
            RTOKEN_START + i * super::rtoken::LEN..RTOKEN_START + (i + 1) * super::rtoken::LEN
        }
        pub const LEN: usize = rtoken(RTOKEN_COUNT).start; // §8.3 CONFIRM RKEY CONT 44 bytes
    }
    /// `smc_llc_msg_delete_rkey` (type 0x09) / `smc_llc_msg_delete_rkey_v2` (0x29).
    pub mod delete_rkey {
        use crate::field::{Field, Rest};
        pub const NUM_RKEYS: usize = 4; // §8.3 DELETE RKEY num_rkeys
        pub const ERR_MASK: usize = 5; // §8.3 DELETE RKEY err_mask (v1) / num_inval_rkeys (v2)
        pub const RESERVED: Field = 6..8; // §8.3 DELETE RKEY reserved[2]
        pub const RKEY_COUNT: usize = 8; // §8.3 SMC_LLC_DEL_RKEY_MAX
        pub const fn rkey(i: usize) -> Field {
            // §8.3 DELETE RKEY v1 rkey[i] at 8 + 4·i, BE32
            RESERVED.end + 4 * i..RESERVED.end + 4 * (i + 1)
        }
        pub const RESERVED2: Field = rkey(RKEY_COUNT).start..rkey(RKEY_COUNT).start + 4; // §8.3 v1 reserved2[4]
        pub const LEN: usize = RESERVED2.end; // §8.3 DELETE RKEY v1 44 bytes
        pub const RKEY_V2: Rest = RESERVED.end..; // §8.3 DELETE RKEY v2 rkey[n], BE32 each
    }
}

const _: () = assert!(
    field::confirm_rkey::LEN == crate::llc::LLC_MSG_LEN
        && field::confirm_rkey_cont::LEN == crate::llc::LLC_MSG_LEN
        && field::delete_rkey::LEN == crate::llc::LLC_MSG_LEN
);

/// One rtoken (`struct smc_rmb_rtoken`, 13 bytes packed, §8.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Rtoken {
    /// The union byte: in CONFIRM RKEY `rtoken[0]` the number of further rtokens
    /// (`num_rkeys`), otherwise the link id the rkey belongs to (`link_id`).
    pub link_id: u8,
    /// The RMB's rkey on that link.
    pub rmb_key: u32,
    /// The RMB's virtual address on that link.
    pub rmb_vaddr: u64,
}

impl Rtoken {
    fn read(b: &[u8]) -> Rtoken {
        Rtoken {
            link_id: b[field::rtoken::LINK_ID],
            rmb_key: be32(&b[field::rtoken::RMB_KEY]),
            rmb_vaddr: be64(&b[field::rtoken::RMB_VADDR]),
        }
    }

    fn write(&self, b: &mut [u8]) {
        b[field::rtoken::LINK_ID] = self.link_id;
        b[field::rtoken::RMB_KEY].copy_from_slice(&self.rmb_key.to_be_bytes());
        b[field::rtoken::RMB_VADDR].copy_from_slice(&self.rmb_vaddr.to_be_bytes());
    }
}

// ---------------------------------------------------------------------------------------------
// CONFIRM RKEY

/// CONFIRM RKEY (0x06 / 0x26): announce a new RMB's rkey on all links (§8.3). `rtoken[0]` is
/// for the sending link and carries the number of further rtokens; `rtoken[1..2]` name their
/// link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct ConfirmRkeyRepr {
    /// Header (response: 0x80, negative 0x20, retry 0x10).
    pub header: LlcHeader,
    /// The three rtoken slots.
    pub rtoken: [Rtoken; 3],
    /// Byte 43 (reserved).
    pub reserved: u8,
}

/// A view of a CONFIRM RKEY.
#[derive(Debug, Clone, Copy)]
pub struct ConfirmRkeyPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ConfirmRkeyPacket<T> {
    /// Wraps without checks.
    pub const fn new_unchecked(buffer: T) -> Self {
        ConfirmRkeyPacket { buffer }
    }
    /// Wraps a buffer holding the 44 bytes.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        check_len(buffer.as_ref(), field::confirm_rkey::LEN)?;
        Ok(Self::new_unchecked(buffer))
    }
    /// Gives back the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
    /// Rtoken slot `i` (0–2).
    pub fn rtoken(&self, i: usize) -> Option<Rtoken> {
        (i < field::confirm_rkey::RTOKEN_COUNT)
            .then(|| Rtoken::read(&self.buffer.as_ref()[field::confirm_rkey::rtoken(i)]))
    }
}

impl ConfirmRkeyRepr {
    /// Decodes a CONFIRM RKEY (any other type is [`Error::WrongType`]).
    pub fn parse(bytes: &[u8], mode: Mode) -> Result<Decoded<Self>, Error> {
        narrow(bytes, mode, |r| match r {
            LlcRepr::ConfirmRkey(m) => Some(m),
            _ => None,
        })
    }

    pub(crate) fn decode(msg: &[u8], header: LlcHeader, an: &mut Anomalies) -> Self {
        use field::confirm_rkey as f;
        let r = ConfirmRkeyRepr {
            header,
            rtoken: core::array::from_fn(|i| Rtoken::read(&msg[f::rtoken(i)])),
            reserved: msg[f::RESERVED],
        };
        reserved(an, Layer::Llc, f::RESERVED, &[r.reserved]);
        r
    }

    /// Number of further rtokens (`rtoken[0].num_rkeys`; the kernel answers NEG|RETRY above 3).
    pub fn num_rkeys(&self) -> u8 {
        self.rtoken[0].link_id
    }

    /// Bytes `emit` writes (44).
    pub fn buffer_len(&self) -> usize {
        field::confirm_rkey::LEN
    }

    /// Writes the message.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        use field::confirm_rkey as f;
        check_out(buf, f::LEN)?;
        self.header.emit(LlcType::CONFIRM_RKEY, buf)?;
        for (i, t) in self.rtoken.iter().enumerate() {
            t.write(&mut buf[f::rtoken(i)]);
        }
        buf[f::RESERVED] = self.reserved;
        Ok(f::LEN)
    }
}

// ---------------------------------------------------------------------------------------------
// CONFIRM RKEY CONT

/// CONFIRM RKEY CONTINUATION (0x08): never sent by Linux, registered and ignored (§8.2).
/// Layout of the ≤ 5.x kernel struct: `num_rkeys` at 4, three rtokens at 5, 18, 31.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct ConfirmRkeyContRepr {
    /// Header.
    pub header: LlcHeader,
    /// Number of rkeys still to come.
    pub num_rkeys: u8,
    /// The three rtoken slots (`link_id` in each).
    pub rtoken: [Rtoken; 3],
}

/// A view of a CONFIRM RKEY CONT.
#[derive(Debug, Clone, Copy)]
pub struct ConfirmRkeyContPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ConfirmRkeyContPacket<T> {
    /// Wraps without checks.
    pub const fn new_unchecked(buffer: T) -> Self {
        ConfirmRkeyContPacket { buffer }
    }
    /// Wraps a buffer holding the 44 bytes.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        check_len(buffer.as_ref(), field::confirm_rkey_cont::LEN)?;
        Ok(Self::new_unchecked(buffer))
    }
    /// Gives back the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
    /// Number of rkeys.
    pub fn num_rkeys(&self) -> u8 {
        self.buffer.as_ref()[field::confirm_rkey_cont::NUM_RKEYS]
    }
    /// Rtoken slot `i` (0–2).
    pub fn rtoken(&self, i: usize) -> Option<Rtoken> {
        (i < field::confirm_rkey_cont::RTOKEN_COUNT)
            .then(|| Rtoken::read(&self.buffer.as_ref()[field::confirm_rkey_cont::rtoken(i)]))
    }
}

impl ConfirmRkeyContRepr {
    /// Decodes a CONFIRM RKEY CONT (any other type is [`Error::WrongType`]).
    pub fn parse(bytes: &[u8], mode: Mode) -> Result<Decoded<Self>, Error> {
        narrow(bytes, mode, |r| match r {
            LlcRepr::ConfirmRkeyCont(m) => Some(m),
            _ => None,
        })
    }

    pub(crate) fn decode(msg: &[u8], header: LlcHeader, _an: &mut Anomalies) -> Self {
        use field::confirm_rkey_cont as f;
        ConfirmRkeyContRepr {
            header,
            num_rkeys: msg[f::NUM_RKEYS],
            rtoken: core::array::from_fn(|i| Rtoken::read(&msg[f::rtoken(i)])),
        }
    }

    /// Bytes `emit` writes (44).
    pub fn buffer_len(&self) -> usize {
        field::confirm_rkey_cont::LEN
    }

    /// Writes the message.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        use field::confirm_rkey_cont as f;
        check_out(buf, f::LEN)?;
        self.header.emit(LlcType::CONFIRM_RKEY_CONT, buf)?;
        buf[f::NUM_RKEYS] = self.num_rkeys;
        for (i, t) in self.rtoken.iter().enumerate() {
            t.write(&mut buf[f::rtoken(i)]);
        }
        Ok(f::LEN)
    }
}

// ---------------------------------------------------------------------------------------------
// DELETE RKEY

/// The body of a DELETE RKEY after its count: the v1 form (version 0) or the v2 long form
/// (version ≠ 0; the list runs to the end of the SEND).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(tag = "form", rename_all = "snake_case"))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum DeleteRkeyBody<'a> {
    /// `smc_llc_msg_delete_rkey`: 8 rkey slots.
    V1 {
        /// Response: bit 7−i set when rkey i could not be deleted.
        err_mask: u8,
        /// Bytes 6–7.
        reserved: [u8; 2],
        /// The eight slots (the kernel reads `min(num_rkeys, 8)`).
        rkey: [u32; 8],
        /// Bytes 40–43.
        reserved2: [u8; 4],
    },
    /// `smc_llc_msg_delete_rkey_v2`: up to 255 rkeys. Linux sends the 44-byte body (9 slots)
    /// with one rkey; its response zeroes the list and puts the failure count in byte 5.
    V2 {
        /// Response: number of rkeys that could not be deleted.
        num_inval_rkeys: u8,
        /// Bytes 6–7.
        reserved: [u8; 2],
        /// Everything from byte 8 to the end of the SEND.
        rkey: EntryList<'a, u32>,
    },
}

/// DELETE RKEY (0x09 / 0x29): withdraw RMB rkeys (§8.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct DeleteRkeyRepr<'a> {
    /// Header (response 0x80, negative 0x20). Its version picks the body form on decode.
    pub header: LlcHeader,
    /// Number of rkeys.
    pub num_rkeys: u8,
    /// The rest.
    pub body: DeleteRkeyBody<'a>,
}

/// A view of a DELETE RKEY.
#[derive(Debug, Clone, Copy)]
pub struct DeleteRkeyPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> DeleteRkeyPacket<T> {
    /// Wraps without checks.
    pub const fn new_unchecked(buffer: T) -> Self {
        DeleteRkeyPacket { buffer }
    }
    /// Wraps a buffer holding the 44-byte v1 body.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        check_len(buffer.as_ref(), field::delete_rkey::LEN)?;
        Ok(Self::new_unchecked(buffer))
    }
    /// Gives back the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
    /// Number of rkeys.
    pub fn num_rkeys(&self) -> u8 {
        self.buffer.as_ref()[field::delete_rkey::NUM_RKEYS]
    }
    /// Byte 5: v1 error mask, v2 number of invalid rkeys.
    pub fn err_mask(&self) -> u8 {
        self.buffer.as_ref()[field::delete_rkey::ERR_MASK]
    }
    /// v1 rkey slot `i` (0–7).
    pub fn rkey(&self, i: usize) -> Option<u32> {
        (i < field::delete_rkey::RKEY_COUNT)
            .then(|| be32(&self.buffer.as_ref()[field::delete_rkey::rkey(i)]))
    }
}

impl<'a> DeleteRkeyPacket<&'a [u8]> {
    /// The v2 rkey list: everything from byte 8 (outlives the view).
    pub fn rkey_v2(&self) -> EntryList<'a, u32> {
        EntryList::new(&self.buffer[field::delete_rkey::RKEY_V2])
    }
}

impl<'a> DeleteRkeyRepr<'a> {
    /// Decodes a DELETE RKEY (any other type is [`Error::WrongType`]).
    pub fn parse(bytes: &'a [u8], mode: Mode) -> Result<Decoded<Self>, Error> {
        narrow(bytes, mode, |r| match r {
            LlcRepr::DeleteRkey(m) => Some(m),
            _ => None,
        })
    }

    pub(crate) fn decode(msg: &'a [u8], header: LlcHeader, an: &mut Anomalies) -> Self {
        use field::delete_rkey as f;
        let p = DeleteRkeyPacket::new_unchecked(msg);
        let num_rkeys = p.num_rkeys();
        let res: [u8; 2] = array(&msg[f::RESERVED]);
        reserved(an, Layer::Llc, f::RESERVED.start, &res);
        let body = if header.is_v2() {
            let rkey = p.rkey_v2();
            list_anomalies(an, f::RKEY_V2.start, usize::from(num_rkeys), &rkey);
            DeleteRkeyBody::V2 {
                num_inval_rkeys: p.err_mask(),
                reserved: res,
                rkey,
            }
        } else {
            if usize::from(num_rkeys) > f::RKEY_COUNT {
                // smc_llc_rmt_delete_rkey reads min(num_rkeys, SMC_LLC_DEL_RKEY_MAX)
                an.push(Anomaly::CountOverMax {
                    layer: Layer::Llc,
                    count: num_rkeys,
                    max: f::RKEY_COUNT as u8,
                    decoded: f::RKEY_COUNT as u8,
                });
            }
            let reserved2: [u8; 4] = array(&msg[f::RESERVED2]);
            reserved(an, Layer::Llc, f::RESERVED2.start, &reserved2);
            DeleteRkeyBody::V1 {
                err_mask: p.err_mask(),
                reserved: res,
                rkey: core::array::from_fn(|i| be32(&msg[f::rkey(i)])),
                reserved2,
            }
        };
        DeleteRkeyRepr {
            header,
            num_rkeys,
            body,
        }
    }

    /// The rkeys the count announces (at most the slots present).
    pub fn rkeys(&self) -> impl Iterator<Item = u32> + 'a {
        let n = usize::from(self.num_rkeys);
        let (v1, v2) = match self.body {
            DeleteRkeyBody::V1 { rkey, .. } => (Some(rkey.into_iter().take(n)), None),
            DeleteRkeyBody::V2 { rkey, .. } => (None, Some(rkey.iter().take(n))),
        };
        v1.into_iter().flatten().chain(v2.into_iter().flatten())
    }

    /// Bytes `emit` writes: 44 (v1) or 8 + the list (v2).
    pub fn buffer_len(&self) -> usize {
        match &self.body {
            DeleteRkeyBody::V1 { .. } => field::delete_rkey::LEN,
            DeleteRkeyBody::V2 { rkey, .. } => field::delete_rkey::RKEY_V2
                .start
                .saturating_add(rkey.raw().len()),
        }
    }

    /// Writes the message.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        use field::delete_rkey as f;
        let total = self.buffer_len();
        check_out(buf, total.max(f::RESERVED.end))?;
        self.header.emit(LlcType::DELETE_RKEY, buf)?;
        buf[f::NUM_RKEYS] = self.num_rkeys;
        match &self.body {
            DeleteRkeyBody::V1 {
                err_mask,
                reserved,
                rkey,
                reserved2,
            } => {
                buf[f::ERR_MASK] = *err_mask;
                buf[f::RESERVED].copy_from_slice(reserved);
                for (i, k) in rkey.iter().enumerate() {
                    buf[f::rkey(i)].copy_from_slice(&k.to_be_bytes());
                }
                buf[f::RESERVED2].copy_from_slice(reserved2);
            }
            DeleteRkeyBody::V2 {
                num_inval_rkeys,
                reserved,
                rkey,
            } => {
                buf[f::ERR_MASK] = *num_inval_rkeys;
                buf[f::RESERVED].copy_from_slice(reserved);
                buf[f::RKEY_V2.start..total].copy_from_slice(rkey.raw());
            }
        }
        Ok(total)
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::llc::{HostOrder, LlcFlags};

    // hwipl/smc-go @ca917b02 pkg/llc/confirmrkey_test.go (probably real ibdump bytes)
    #[rustfmt::skip]
    static CONFIRM_RKEY: [u8; 44] = [
        0x06, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x15, 0x5d, 0x00, 0x00, 0x00, 0x0e, 0xef, 0x4d,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];

    fn confirm_rkey_repr() -> ConfirmRkeyRepr {
        ConfirmRkeyRepr {
            header: LlcHeader::v1(LlcFlags(0)),
            rtoken: [
                Rtoken {
                    link_id: 0,
                    rmb_key: 0x155d,
                    rmb_vaddr: 0x0000_000e_ef4d_0000,
                },
                Rtoken::default(),
                Rtoken::default(),
            ],
            reserved: 0,
        }
    }

    #[test]
    fn confirm_rkey() {
        let p = ConfirmRkeyPacket::new_checked(&CONFIRM_RKEY[..]).unwrap();
        assert_eq!(p.rtoken(0), Some(confirm_rkey_repr().rtoken[0]));
        assert_eq!(p.rtoken(3), None);
        let d = ConfirmRkeyRepr::parse(&CONFIRM_RKEY, Mode::Strict).unwrap();
        assert_eq!(d.repr, confirm_rkey_repr());
        assert!(d.anomalies.is_empty());
        assert_eq!(d.repr.num_rkeys(), 0);
        let mut buf = [0xa5u8; 44];
        assert_eq!(confirm_rkey_repr().emit(&mut buf), Ok(44));
        assert_eq!(buf, CONFIRM_RKEY);
        assert!(ConfirmRkeyRepr::parse(&CONFIRM_RKEY[..30], Mode::Lenient).is_err());
        assert_eq!(
            confirm_rkey_repr().emit(&mut [0; 10]),
            Err(Error::BufferTooSmall { need: 44, have: 10 })
        );
    }

    // hwipl/smc-go @ca917b02 pkg/llc/confirmrkeycont_test.go: 45 bytes (one byte more than the
    // kernel struct); num_rkeys at 4, rtokens at 5/18/31 as in smc_llc_msg_confirm_rkey_cont
    #[rustfmt::skip]
    static CONFIRM_RKEY_CONT: [u8; 45] = [
        0x08, 0x2c, 0x00, 0xa0, 0x01,
        0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,
        0x04, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06,
        0x07, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09,
        0x00,
    ];

    #[test]
    fn confirm_rkey_cont() {
        let want = ConfirmRkeyContRepr {
            header: LlcHeader::v1(LlcFlags(0xa0)),
            num_rkeys: 1,
            rtoken: [
                Rtoken {
                    link_id: 1,
                    rmb_key: 2,
                    rmb_vaddr: 3,
                },
                Rtoken {
                    link_id: 4,
                    rmb_key: 5,
                    rmb_vaddr: 6,
                },
                Rtoken {
                    link_id: 7,
                    rmb_key: 8,
                    rmb_vaddr: 9,
                },
            ],
        };
        let p = ConfirmRkeyContPacket::new_checked(&CONFIRM_RKEY_CONT[..]).unwrap();
        assert_eq!(p.num_rkeys(), 1);
        assert_eq!(p.rtoken(2), Some(want.rtoken[2]));
        let d = ConfirmRkeyContRepr::parse(&CONFIRM_RKEY_CONT, Mode::Strict).unwrap();
        assert_eq!(d.repr, want);
        assert_eq!(
            d.anomalies.iter().copied().collect::<Vec<_>>(),
            vec![Anomaly::TrailingBytes { len: 1 }]
        );
        let mut buf = [0xa5u8; 44];
        assert_eq!(want.emit(&mut buf), Ok(44));
        assert_eq!(buf[..], CONFIRM_RKEY_CONT[..44]);
    }

    // hwipl/smc-go @ca917b02 pkg/llc/deleterkey_test.go (one rkey 0x155d)
    #[rustfmt::skip]
    static DELETE_RKEY: [u8; 44] = [
        0x09, 0x2c, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x15, 0x5d, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];

    fn delete_rkey_repr() -> DeleteRkeyRepr<'static> {
        DeleteRkeyRepr {
            header: LlcHeader::v1(LlcFlags(0)),
            num_rkeys: 1,
            body: DeleteRkeyBody::V1 {
                err_mask: 0,
                reserved: [0; 2],
                rkey: [0x155d, 0, 0, 0, 0, 0, 0, 0],
                reserved2: [0; 4],
            },
        }
    }

    #[test]
    fn delete_rkey_v1() {
        let p = DeleteRkeyPacket::new_checked(&DELETE_RKEY[..]).unwrap();
        assert_eq!(
            (p.num_rkeys(), p.err_mask(), p.rkey(0)),
            (1, 0, Some(0x155d))
        );
        assert_eq!(p.rkey(8), None);
        let d = DeleteRkeyRepr::parse(&DELETE_RKEY, Mode::Strict).unwrap();
        assert_eq!(d.repr, delete_rkey_repr());
        assert_eq!(d.repr.rkeys().collect::<Vec<_>>(), vec![0x155d]);
        let mut buf = [0xa5u8; 44];
        assert_eq!(delete_rkey_repr().emit(&mut buf), Ok(44));
        assert_eq!(buf, DELETE_RKEY);
        let mut nine = DELETE_RKEY;
        nine[4] = 9;
        let d = DeleteRkeyRepr::parse(&nine, Mode::Strict).unwrap();
        assert_eq!(
            d.anomalies.iter().copied().collect::<Vec<_>>(),
            vec![Anomaly::CountOverMax {
                layer: Layer::Llc,
                count: 9,
                max: 8,
                decoded: 8
            }]
        );
    }

    // SYNTHETIC: what a 6.12 x86 host sends in a v2 link group (§8.3, §15): 0x29 with the
    // 44-byte body and an LE length; then the long form with 12 rkeys (8 + 48 = 56 bytes, LE).
    #[test]
    fn delete_rkey_v2() {
        let mut short = DELETE_RKEY;
        short[0] = 0x29;
        let d = DeleteRkeyRepr::parse(&short, Mode::Strict).unwrap();
        assert_eq!(d.repr.header.host_order(), Some(HostOrder::Little));
        match d.repr.body {
            DeleteRkeyBody::V2 { rkey, .. } => assert_eq!(rkey.len(), 9),
            DeleteRkeyBody::V1 { .. } => panic!("v2 header decodes the v2 form"),
        }
        assert_eq!(d.repr.rkeys().collect::<Vec<_>>(), vec![0x155d]);
        assert_eq!(d.repr.to_vec().unwrap(), short);

        let keys: Vec<u32> = (1..=12).collect();
        let mut storage = [0u8; 48];
        let long = DeleteRkeyRepr {
            header: LlcHeader::v2(56, HostOrder::Little, LlcFlags(0)),
            num_rkeys: 12,
            body: DeleteRkeyBody::V2 {
                num_inval_rkeys: 0,
                reserved: [0; 2],
                rkey: EntryList::encode(&keys, &mut storage).unwrap(),
            },
        };
        let mut buf = [0xa5u8; 56];
        assert_eq!(long.emit(&mut buf), Ok(56));
        assert_eq!(
            &buf[..12],
            &[0x29, 0x38, 0x00, 0x00, 12, 0, 0, 0, 0, 0, 0, 1]
        );
        assert_eq!(&buf[52..], &[0, 0, 0, 12]);
        let d = DeleteRkeyRepr::parse(&buf, Mode::Strict).unwrap();
        assert_eq!(d.repr, long);
        assert_eq!(d.repr.rkeys().collect::<Vec<_>>(), keys);
    }
}
