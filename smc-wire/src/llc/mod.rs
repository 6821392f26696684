//! LLC: the SMC-R link layer control messages (reference §8.1–§8.3), sent as RC SEND payloads
//! next to the CDC messages (§7.1, §8.4).
//!
//! * [`LlcRepr::parse`] decodes one SEND payload in [`Mode::Strict`] (the receive checks of
//!   `smc_wr_rx_demultiplex` and `smc_llc_rx_handler`, §9.3) or [`Mode::Lenient`].
//! * One layout per **base type** (the low nibble `llc_type`): the kernel's event handler
//!   dispatches on it (`smc_llc_event_handler`), so CONFIRM LINK (0x01) and CONFIRM LINK v2
//!   (0x21) are one representation whose [`LlcHeader`] says which. Only ADD LINK v2 (rkey
//!   extension from byte 44) and DELETE RKEY v2 (long rkey list) differ from their v1 layout.
//! * The v2 length (bytes 1–2) and the ADD LINK v2 rkey count are written by Linux in the
//!   **sender's CPU order** (`length_v2`, `num_rkeys` are plain `u16`): little-endian from x86,
//!   big-endian from s390 (§8.1, §15). Both orders are decoded; [`HostOrder`] records which one
//!   was found and `emit` writes the same bytes back.
//! * Variable lists (ADD LINK v2 rkeys, REQUEST ADD LINK GIDs, DELETE RKEY v2 rkeys, up to 255
//!   entries) stay borrowed ([`EntryList`]), so decoding allocates nothing.
//! * Type bytes no kernel handler is registered for are [`LlcRepr::Unknown`] (lenient mode) and
//!   keep their raw bytes.

pub mod link;
pub mod rkey;
pub mod test_link;

use core::fmt;
use core::marker::PhantomData;

use crate::clc::{apply_check, check_out};
use crate::codes::LlcType;
use crate::error::{p16, Anomalies, Anomaly, Decoded, Error, KernelCheck, Layer, Mode};

pub use link::{
    AddLinkContPacket, AddLinkContRepr, AddLinkPacket, AddLinkRepr, AddLinkRt, AddLinkV2Ext,
    ConfirmLinkPacket, ConfirmLinkRepr, DeleteLinkPacket, DeleteLinkRepr, RequestAddLinkPacket,
    RequestAddLinkRepr,
};
pub use rkey::{
    ConfirmRkeyContPacket, ConfirmRkeyContRepr, ConfirmRkeyPacket, ConfirmRkeyRepr, DeleteRkeyBody,
    DeleteRkeyPacket, DeleteRkeyRepr, Rtoken,
};
pub use test_link::{TestLinkPacket, TestLinkRepr};

pub(crate) mod field {
    use crate::field::Field;
    pub const TYPE: usize = 0; // §8.1 common.type: bits 7-4 llc_version, bits 3-0 llc_type
    pub const LENGTH: usize = 1; // §8.1 v1 length (44)
    pub const REJ_RSN: usize = 2; // §8.1 v1 bits 7-4 reserved, bits 3-0 add_link_rej_rsn
    pub const LENGTH_V2: Field = 1..3; // §8.1 v2 length_v2, host-order u16
    pub const FLAGS: usize = 3; // §8.1 flags (0x80 response, rest per type)
    pub const HEADER_LEN: usize = FLAGS + 1; // §8.1 struct smc_llc_hdr
    pub const VERSION_SHIFT: u32 = 4; // §8.1 llc_version = bits 7-4 of byte 0
    pub const NIBBLE: u8 = 0x0f; // §8.1 llc_type, reserved and add_link_rej_rsn are 4 bits
    pub const U24_MAX: u32 = 0x00ff_ffff; // §8.3 QPNs and PSNs are BE24
    pub const MSG_LEN: usize = 44; // §8.1 sizeof(union smc_llc_msg) = SMC_WR_TX_SIZE
    pub const V2_MAX_LEN: usize = 8192; // §8.1 SMC_WR_BUF_V2_SIZE, largest v2 SEND
}

/// Size of every v1 LLC message and of the kernel's LLC receive union (`SMC_WR_TX_SIZE`, 44).
pub const LLC_MSG_LEN: usize = field::MSG_LEN;
/// Largest v2 LLC a Linux receiver buffers (`SMC_WR_BUF_V2_SIZE`, 8192).
pub const LLC_V2_MAX_LEN: usize = field::V2_MAX_LEN;
/// Header length (4).
pub const LLC_HEADER_LEN: usize = field::HEADER_LEN;

/// The byte order a host-order field was found in (§8.1).
///
/// Linux writes `length_v2` and the ADD LINK v2 `num_rkeys` as plain `u16`, so they travel in
/// the sender's CPU order. `Ambiguous` means both bytes are equal, so both orders read the same
/// value; a representation with `Ambiguous` and a value whose two bytes differ cannot be emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum HostOrder {
    /// Little-endian: an x86 (or other LE) sender — what every real capture shows (§15).
    #[default]
    Little,
    /// Big-endian: an s390 sender (or a Wireshark-style encoder).
    Big,
    /// Both bytes are equal: either order.
    Ambiguous,
}

impl HostOrder {
    /// Reads a two-byte field in this order (`Ambiguous` reads big-endian; the bytes are equal).
    pub fn read(self, b: [u8; 2]) -> u16 {
        match self {
            HostOrder::Little => u16::from_le_bytes(b),
            HostOrder::Big | HostOrder::Ambiguous => u16::from_be_bytes(b),
        }
    }

    /// Writes a value in this order; `Ambiguous` only for values whose two bytes are equal.
    pub fn write(self, v: u16, field: &'static str) -> Result<[u8; 2], Error> {
        match self {
            HostOrder::Little => Ok(v.to_le_bytes()),
            HostOrder::Big => Ok(v.to_be_bytes()),
            HostOrder::Ambiguous => {
                let b = v.to_be_bytes();
                if b[0] == b[1] {
                    Ok(b)
                } else {
                    Err(Error::FieldOverflow { field })
                }
            }
        }
    }

    /// Decides the order of a host-order field.
    ///
    /// 1. Equal bytes: `Ambiguous`.
    /// 2. The reading that equals `expected` (what the layout says the value must be: the
    ///    message length for `length_v2`, the number of entries present for `num_rkeys`).
    /// 3. The `hint` (the order of another field written by the same CPU), unless ambiguous.
    /// 4. The smaller reading (lengths and counts are small: 44 is `2c 00` from x86, whose
    ///    big-endian reading 11264 is beyond any LLC).
    pub fn detect(b: [u8; 2], expected: Option<usize>, hint: Option<HostOrder>) -> HostOrder {
        if b[0] == b[1] {
            return HostOrder::Ambiguous;
        }
        let le = u16::from_le_bytes(b);
        let be = u16::from_be_bytes(b);
        if let Some(e) = expected {
            if usize::from(le) == e {
                return HostOrder::Little;
            }
            if usize::from(be) == e {
                return HostOrder::Big;
            }
        }
        match hint {
            Some(h @ (HostOrder::Little | HostOrder::Big)) => h,
            _ if le < be => HostOrder::Little,
            _ => HostOrder::Big,
        }
    }
}

impl fmt::Display for HostOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HostOrder::Little => "LE",
            HostOrder::Big => "BE",
            HostOrder::Ambiguous => "LE=BE",
        })
    }
}

/// The LLC flags byte (offset 3). 0x80 marks a response for every type; the other bits
/// depend on the type (§8.2; kernel `SMC_LLC_FLAG_*`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct LlcFlags(pub u8);

impl LlcFlags {
    /// `SMC_LLC_FLAG_RESP`: a response (all types).
    pub const RESP: LlcFlags = LlcFlags(0x80);
    /// `SMC_LLC_FLAG_NO_RMBE_EYEC`: CONFIRM LINK, no RMBE eyecatcher (Linux sets both bits).
    pub const NO_RMBE_EYEC: LlcFlags = LlcFlags(0x03);
    /// `SMC_LLC_FLAG_ADD_LNK_REJ`: ADD LINK response rejects the new link.
    pub const ADD_LNK_REJ: LlcFlags = LlcFlags(0x40);
    /// `SMC_LLC_FLAG_DEL_LINK_ALL`: DELETE LINK of the whole link group.
    pub const DEL_LINK_ALL: LlcFlags = LlcFlags(0x40);
    /// `SMC_LLC_FLAG_DEL_LINK_ORDERLY`: orderly DELETE LINK.
    pub const DEL_LINK_ORDERLY: LlcFlags = LlcFlags(0x20);
    /// `SMC_LLC_FLAG_RKEY_NEG`: CONFIRM/DELETE RKEY response, negative.
    pub const RKEY_NEG: LlcFlags = LlcFlags(0x20);
    /// `SMC_LLC_FLAG_RKEY_RETRY`: CONFIRM RKEY response, retry the rkey set.
    pub const RKEY_RETRY: LlcFlags = LlcFlags(0x10);

    /// True when every bit of `other` is set.
    pub fn contains(self, other: LlcFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// True for a response (0x80).
    pub fn is_response(self) -> bool {
        self.contains(Self::RESP)
    }
}

impl fmt::Debug for LlcFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LlcFlags(0x{:02x})", self.0)
    }
}

impl fmt::Display for LlcFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:02x}", self.0)
    }
}

/// Bytes 1–2 of the LLC header, whose meaning depends on the version nibble (§8.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(tag = "form", rename_all = "snake_case"))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum LlcLength {
    /// Version 0: `length` byte (44) and byte 2 = `reserved` (bits 7-4) + `add_link_rej_rsn`
    /// (bits 3-0, ADD LINK reject reason; 1 = no alternate path).
    V1 {
        /// Byte 1.
        length: u8,
        /// Byte 2 bits 7-4 (4 bits).
        reserved: u8,
        /// Byte 2 bits 3-0 (4 bits).
        add_link_rej_rsn: u8,
    },
    /// Version ≠ 0: `length_v2`, a u16 in the sender's CPU order.
    V2 {
        /// The value, read in `order`.
        length: u16,
        /// The order it was found in (and is emitted in).
        order: HostOrder,
    },
}

/// The 4-byte LLC header (`struct smc_llc_hdr`, §8.1) minus the base type, which the
/// message variant carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct LlcHeader {
    /// Version nibble (bits 7-4 of byte 0): 0 in v1 link groups, 2 in v2 ones. The kernel reads
    /// bytes 1–2 as `length_v2` whenever it is not 0.
    pub version: u8,
    /// Bytes 1–2. A consistent header has `V1` exactly when `version` is 0; `emit` writes
    /// whatever is given.
    pub length: LlcLength,
    /// Byte 3.
    pub flags: LlcFlags,
}

impl LlcHeader {
    /// A v1 header as `smc_llc_init_msg_hdr` writes it (version 0, length 44).
    pub fn v1(flags: LlcFlags) -> LlcHeader {
        LlcHeader {
            version: 0,
            length: LlcLength::V1 {
                length: field::MSG_LEN as u8,
                reserved: 0,
                add_link_rej_rsn: 0,
            },
            flags,
        }
    }

    /// A v2 header as `smc_llc_init_msg_hdr` writes it (version 2, `length_v2` in `order`).
    pub fn v2(length: u16, order: HostOrder, flags: LlcFlags) -> LlcHeader {
        LlcHeader {
            version: 2,
            length: LlcLength::V2 { length, order },
            flags,
        }
    }

    /// True for a v2 header (version nibble ≠ 0, the kernel's test).
    pub fn is_v2(&self) -> bool {
        self.version != 0
    }

    /// The declared length (v1 byte or v2 value).
    pub fn declared_len(&self) -> usize {
        match self.length {
            LlcLength::V1 { length, .. } => usize::from(length),
            LlcLength::V2 { length, .. } => usize::from(length),
        }
    }

    /// The order of `length_v2`, for a v2 header.
    pub fn host_order(&self) -> Option<HostOrder> {
        match self.length {
            LlcLength::V1 { .. } => None,
            LlcLength::V2 { order, .. } => Some(order),
        }
    }

    /// Makes the header self-consistent for a message of `layout_len` bytes, as
    /// `smc_llc_init_msg_hdr` writes it: `V1` exactly for version 0, nibbles in range, the
    /// length equal to the message length, `Ambiguous` only when both length bytes are equal.
    pub fn normalize(&mut self, layout_len: usize) {
        self.version &= field::NIBBLE;
        let len16 = u16::try_from(layout_len).unwrap_or(u16::MAX);
        self.length = match self.length {
            LlcLength::V1 {
                reserved,
                add_link_rej_rsn,
                ..
            } if self.version == 0 => LlcLength::V1 {
                length: u8::try_from(layout_len).unwrap_or(u8::MAX),
                reserved: reserved & field::NIBBLE,
                add_link_rej_rsn: add_link_rej_rsn & field::NIBBLE,
            },
            LlcLength::V1 { .. } => LlcLength::V2 {
                length: len16,
                order: canonical_order(len16, HostOrder::Little),
            },
            LlcLength::V2 { .. } if self.version == 0 => LlcLength::V1 {
                length: u8::try_from(layout_len).unwrap_or(u8::MAX),
                reserved: 0,
                add_link_rej_rsn: 0,
            },
            LlcLength::V2 { order, .. } => LlcLength::V2 {
                length: len16,
                order: canonical_order(len16, order),
            },
        };
    }

    /// Reads the header of a message whose layout is `layout_len` bytes (`b` holds ≥ 4 bytes).
    fn decode(b: &[u8], layout_len: usize, an: &mut Anomalies) -> LlcHeader {
        let p = LlcPacket::new_unchecked(b);
        let version = p.version();
        let length = if version == 0 {
            let rr = b[field::REJ_RSN];
            let reserved = rr >> field::VERSION_SHIFT;
            if reserved != 0 {
                an.push(Anomaly::NonZeroReserved {
                    layer: Layer::Llc,
                    at: p16(field::REJ_RSN),
                    len: 1,
                });
            }
            LlcLength::V1 {
                length: p.length(),
                reserved,
                add_link_rej_rsn: rr & field::NIBBLE,
            }
        } else {
            let raw = p.length_v2_bytes();
            let order = HostOrder::detect(raw, Some(layout_len), None);
            if order == HostOrder::Little {
                an.push(Anomaly::HostOrderLittleEndian {
                    layer: Layer::Llc,
                    at: p16(field::LENGTH_V2.start),
                });
            }
            LlcLength::V2 {
                length: order.read(raw),
                order,
            }
        };
        LlcHeader {
            version,
            length,
            flags: p.flags(),
        }
    }

    /// Writes the header with base type `base` into the first 4 bytes of `buf` (which holds them).
    fn emit(&self, base: LlcType, buf: &mut [u8]) -> Result<(), Error> {
        if self.version > field::NIBBLE {
            return Err(Error::FieldOverflow {
                field: "llc_version",
            });
        }
        buf[field::TYPE] = (self.version << field::VERSION_SHIFT) | base.base();
        match self.length {
            LlcLength::V1 {
                length,
                reserved,
                add_link_rej_rsn,
            } => {
                if reserved > field::NIBBLE || add_link_rej_rsn > field::NIBBLE {
                    return Err(Error::FieldOverflow {
                        field: "add_link_rej_rsn",
                    });
                }
                buf[field::LENGTH] = length;
                buf[field::REJ_RSN] = (reserved << field::VERSION_SHIFT) | add_link_rej_rsn;
            }
            LlcLength::V2 { length, order } => {
                buf[field::LENGTH_V2].copy_from_slice(&order.write(length, "length_v2")?);
            }
        }
        buf[field::FLAGS] = self.flags.0;
        Ok(())
    }

    fn llc_type(&self, base: LlcType) -> LlcType {
        LlcType(((self.version & field::NIBBLE) << field::VERSION_SHIFT) | base.base())
    }
}

impl fmt::Display for LlcHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.length {
            LlcLength::V1 {
                length,
                add_link_rej_rsn,
                ..
            } => {
                write!(f, "v{} len {length} flags {}", self.version, self.flags)?;
                if add_link_rej_rsn != 0 {
                    write!(f, " rej_rsn {add_link_rej_rsn}")?;
                }
                Ok(())
            }
            LlcLength::V2 { length, order } => {
                write!(
                    f,
                    "v{} len {length} ({order}) flags {}",
                    self.version, self.flags
                )
            }
        }
    }
}

/// A view of an LLC header (any type).
#[derive(Debug, Clone, Copy)]
pub struct LlcPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> LlcPacket<T> {
    /// Wraps without checks.
    pub const fn new_unchecked(buffer: T) -> Self {
        LlcPacket { buffer }
    }

    /// Wraps a buffer holding at least the 4 header bytes.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks that the header is present; after this no getter panics.
    pub fn check_len(&self) -> Result<(), Error> {
        check_len(self.buffer.as_ref(), field::HEADER_LEN)
    }

    /// Gives back the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The full type byte.
    pub fn llc_type(&self) -> LlcType {
        LlcType(self.buffer.as_ref()[field::TYPE])
    }

    /// Version nibble.
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::TYPE] >> field::VERSION_SHIFT
    }

    /// v1 length byte.
    pub fn length(&self) -> u8 {
        self.buffer.as_ref()[field::LENGTH]
    }

    /// v1 ADD LINK reject reason (bits 3-0 of byte 2).
    pub fn add_link_rej_rsn(&self) -> u8 {
        self.buffer.as_ref()[field::REJ_RSN] & field::NIBBLE
    }

    /// The two bytes of `length_v2`, unread.
    pub fn length_v2_bytes(&self) -> [u8; 2] {
        let b = &self.buffer.as_ref()[field::LENGTH_V2];
        [b[0], b[1]]
    }

    /// `length_v2` read in a given order.
    pub fn length_v2(&self, order: HostOrder) -> u16 {
        order.read(self.length_v2_bytes())
    }

    /// Flags byte.
    pub fn flags(&self) -> LlcFlags {
        LlcFlags(self.buffer.as_ref()[field::FLAGS])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> LlcPacket<T> {
    /// Sets the full type byte.
    pub fn set_llc_type(&mut self, t: LlcType) {
        self.buffer.as_mut()[field::TYPE] = t.0;
    }
    /// Sets the v1 length byte.
    pub fn set_length(&mut self, len: u8) {
        self.buffer.as_mut()[field::LENGTH] = len;
    }
    /// Sets `length_v2` in a given order (`Ambiguous` writes big-endian).
    pub fn set_length_v2(&mut self, len: u16, order: HostOrder) {
        let b = match order {
            HostOrder::Little => len.to_le_bytes(),
            HostOrder::Big | HostOrder::Ambiguous => len.to_be_bytes(),
        };
        self.buffer.as_mut()[field::LENGTH_V2].copy_from_slice(&b);
    }
    /// Sets the flags byte.
    pub fn set_flags(&mut self, flags: LlcFlags) {
        self.buffer.as_mut()[field::FLAGS] = flags.0;
    }
}

/// One fixed-size entry of a borrowed LLC list.
pub trait ListEntry: Sized + Copy {
    /// Bytes per entry.
    const LEN: usize;
    /// Reads an entry from exactly `LEN` bytes.
    fn read(b: &[u8]) -> Self;
    /// Writes the entry into exactly `LEN` bytes.
    fn write(&self, b: &mut [u8]);
}

impl ListEntry for u32 {
    const LEN: usize = 4;
    /// A BE32 rkey (DELETE RKEY, §8.3).
    fn read(b: &[u8]) -> Self {
        crate::clc::header::be32(b)
    }
    fn write(&self, b: &mut [u8]) {
        b.copy_from_slice(&self.to_be_bytes());
    }
}

impl ListEntry for crate::clc::RoceGid {
    const LEN: usize = 16;
    fn read(b: &[u8]) -> Self {
        crate::clc::RoceGid(crate::clc::header::array(b))
    }
    fn write(&self, b: &mut [u8]) {
        b.copy_from_slice(&self.0);
    }
}

/// A list area kept as the borrowed wire bytes: up to 255 entries without allocation
/// (style §6.3). Bytes after the last whole entry are kept too (`remainder`), so a re-emit is
/// byte-exact.
#[derive(Clone, Copy)]
pub struct EntryList<'a, E> {
    raw: &'a [u8],
    _entry: PhantomData<E>,
}

impl<'a, E: ListEntry> EntryList<'a, E> {
    /// Wraps list bytes.
    pub const fn new(raw: &'a [u8]) -> Self {
        EntryList {
            raw,
            _entry: PhantomData,
        }
    }

    /// An empty list.
    pub const fn empty() -> Self {
        Self::new(&[])
    }

    /// Encodes `entries` into `storage` and wraps the bytes written.
    pub fn encode(entries: &[E], storage: &'a mut [u8]) -> Result<Self, Error> {
        let need = entries.len().saturating_mul(E::LEN);
        check_out(storage, need)?;
        for (e, chunk) in entries.iter().zip(storage.chunks_exact_mut(E::LEN)) {
            e.write(chunk);
        }
        let storage: &'a [u8] = storage;
        Ok(Self::new(&storage[..need]))
    }

    /// The wire bytes.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Number of whole entries.
    pub fn len(&self) -> usize {
        self.raw.len() / E::LEN
    }

    /// True when there is no whole entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entry `i`.
    pub fn get(&self, i: usize) -> Option<E> {
        let start = i.checked_mul(E::LEN)?;
        self.raw.get(start..start.checked_add(E::LEN)?).map(E::read)
    }

    /// Iterates over the whole entries.
    pub fn iter(&self) -> EntryIter<'a, E> {
        EntryIter {
            chunks: self.raw.chunks_exact(E::LEN),
            _entry: PhantomData,
        }
    }

    /// Bytes after the last whole entry.
    pub fn remainder(&self) -> &'a [u8] {
        self.raw.chunks_exact(E::LEN).remainder()
    }
}

impl<E> PartialEq for EntryList<'_, E> {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

impl<E> Eq for EntryList<'_, E> {}

impl<E> core::hash::Hash for EntryList<'_, E> {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.raw.hash(state);
    }
}

impl<E: ListEntry + fmt::Debug> fmt::Debug for EntryList<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut l = f.debug_list();
        l.entries(self.iter());
        if !self.remainder().is_empty() {
            l.entry(&format_args!("+{} bytes", self.remainder().len()));
        }
        l.finish()
    }
}

impl<'a, E: ListEntry> IntoIterator for &EntryList<'a, E> {
    type Item = E;
    type IntoIter = EntryIter<'a, E>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

#[cfg(feature = "serde")]
impl<E: ListEntry + serde::Serialize> serde::Serialize for EntryList<'_, E> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

#[cfg(feature = "arbitrary")]
impl<'a, E: ListEntry> arbitrary::Arbitrary<'a> for EntryList<'a, E> {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let n = u.int_in_range(0..=255usize)?;
        let raw = u.bytes(n.saturating_mul(E::LEN).min(u.len() / E::LEN * E::LEN))?;
        Ok(Self::new(raw))
    }
}

/// Iterator over the entries of an [`EntryList`].
#[derive(Clone, Debug)]
pub struct EntryIter<'a, E> {
    chunks: core::slice::ChunksExact<'a, u8>,
    _entry: PhantomData<E>,
}

impl<E: ListEntry> Iterator for EntryIter<'_, E> {
    type Item = E;
    fn next(&mut self) -> Option<E> {
        self.chunks.next().map(E::read)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.chunks.size_hint()
    }
}

impl<E: ListEntry> ExactSizeIterator for EntryIter<'_, E> {}

/// An LLC whose type byte has no layout (lenient mode only): the raw bytes, as received.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct UnknownLlc<'a> {
    /// The whole SEND payload (at least the type byte for a decoded one).
    pub bytes: &'a [u8],
}

impl UnknownLlc<'_> {
    /// The type byte (0 for an empty representation).
    pub fn llc_type(&self) -> LlcType {
        LlcType(self.bytes.first().copied().unwrap_or(0))
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for UnknownLlc<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("UnknownLlc", 2)?;
        st.serialize_field("type", &self.llc_type())?;
        st.serialize_field("bytes", &Hex(self.bytes))?;
        st.end()
    }
}

/// Hex rendering of raw bytes (JSON and Display).
pub(crate) struct Hex<'a>(pub &'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Hex<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Any decoded LLC message, by base type (§8.2). v1 and v2 types share a variant; the
/// header's version nibble says which one was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(tag = "message", rename_all = "snake_case"))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum LlcRepr<'a> {
    /// 0x01 / 0x21.
    ConfirmLink(ConfirmLinkRepr),
    /// 0x02 / 0x22 (with the v2 rkey extension when present).
    AddLink(AddLinkRepr<'a>),
    /// 0x03 (v1 link groups only).
    AddLinkCont(AddLinkContRepr),
    /// 0x04 / 0x24.
    DeleteLink(DeleteLinkRepr),
    /// 0x25 (0x05 is not accepted by Linux).
    RequestAddLink(RequestAddLinkRepr<'a>),
    /// 0x06 / 0x26.
    ConfirmRkey(ConfirmRkeyRepr),
    /// 0x07 / 0x27.
    TestLink(TestLinkRepr),
    /// 0x08 (ignored by Linux).
    ConfirmRkeyCont(ConfirmRkeyContRepr),
    /// 0x09 / 0x29 (v1 body, or the v2 long form).
    DeleteRkey(DeleteRkeyRepr<'a>),
    /// A type byte without layout (lenient mode), raw.
    Unknown(UnknownLlc<'a>),
}

/// The number of bytes the layout of a message covers, given what was received (≥ 44).
pub(crate) fn layout_len(t: LlcType, received: usize) -> usize {
    let v2 = t.version() != 0;
    match t.base() {
        // ADD LINK v2: request and accepting response carry the extension (72 + 16·n); a
        // reject is 44 bytes (§8.3)
        b if b == LlcType::ADD_LINK.0 && v2 && received >= link::V2_EXT_END => received,
        // REQUEST ADD LINK v2 (28 + 16·n, ≥ 44) and DELETE RKEY v2 (8 + 4·n): lists up to the end
        b if (b == LlcType::REQUEST_ADD_LINK.0 || b == LlcType::DELETE_RKEY.0) && v2 => received,
        _ => field::MSG_LEN,
    }
}

impl<'a> LlcRepr<'a> {
    /// Decodes one LLC (a whole SEND payload).
    ///
    /// Strict mode returns the first receive check the kernel would drop the message for, in
    /// the kernel's order: `smc_wr_rx_demultiplex` (type byte registered), `smc_llc_rx_handler`
    /// (received ≥ 44; v1 length byte == 44; v2 `length_v2` ≥ 44), then
    /// `smc_llc_eval_conf_link` for CONFIRM LINK. A CDC type byte (0xFE) is
    /// [`Error::WrongType`]: decode it with [`crate::CdcRepr`].
    pub fn parse(bytes: &'a [u8], mode: Mode) -> Result<Decoded<Self>, Error> {
        let mut an = Anomalies::new();
        let Some(&type_byte) = bytes.first() else {
            return Err(Error::Truncated {
                layer: Layer::Llc,
                need: 1,
                have: 0,
                at: 0,
            });
        };
        let t = LlcType(type_byte);
        if t.is_cdc() {
            return Err(Error::WrongType {
                layer: Layer::Llc,
                found: type_byte,
            });
        }
        // smc_wr_rx_demultiplex: unregistered type bytes are dropped (§9.3)
        if !t.is_registered() {
            apply_check(Err(KernelCheck::WrRxType { type_byte }), mode, &mut an)?;
        }
        if !t.has_llc_layout() {
            return Ok(Decoded {
                repr: LlcRepr::Unknown(UnknownLlc { bytes }),
                anomalies: an,
            });
        }
        // smc_llc_rx_handler: shorter than the LLC union ⇒ dropped; nothing to decode either
        let received = bytes.len();
        if received < field::MSG_LEN {
            apply_check(
                Err(KernelCheck::LlcRxLength {
                    received: p16(received),
                }),
                mode,
                &mut an,
            )?;
            return Err(Error::Truncated {
                layer: Layer::Llc,
                need: field::MSG_LEN,
                have: received,
                at: 0,
            });
        }
        let layout = layout_len(t, received);
        let msg = &bytes[..layout];
        let header = LlcHeader::decode(msg, layout, &mut an);
        // smc_llc_rx_handler: v1 length byte must be 44, v2 host-order length ≥ 44
        let length_check = match header.length {
            LlcLength::V1 { length, .. } if usize::from(length) != field::MSG_LEN => {
                Err(KernelCheck::LlcV1LengthByte { length })
            }
            LlcLength::V2 { length, .. } if usize::from(length) < field::MSG_LEN => {
                Err(KernelCheck::LlcV2Length { length })
            }
            _ => Ok(()),
        };
        apply_check(length_check, mode, &mut an)?;
        let repr = match LlcType(t.base()) {
            LlcType::CONFIRM_LINK => {
                LlcRepr::ConfirmLink(ConfirmLinkRepr::decode(msg, header, &mut an))
            }
            LlcType::ADD_LINK => LlcRepr::AddLink(AddLinkRepr::decode(msg, header, &mut an)),
            LlcType::ADD_LINK_CONT => {
                LlcRepr::AddLinkCont(AddLinkContRepr::decode(msg, header, &mut an))
            }
            LlcType::DELETE_LINK => {
                LlcRepr::DeleteLink(DeleteLinkRepr::decode(msg, header, &mut an))
            }
            LlcType::REQUEST_ADD_LINK => {
                LlcRepr::RequestAddLink(RequestAddLinkRepr::decode(msg, header, &mut an))
            }
            LlcType::CONFIRM_RKEY => {
                LlcRepr::ConfirmRkey(ConfirmRkeyRepr::decode(msg, header, &mut an))
            }
            LlcType::TEST_LINK => LlcRepr::TestLink(TestLinkRepr::decode(msg, header, &mut an)),
            LlcType::CONFIRM_RKEY_CONT => {
                LlcRepr::ConfirmRkeyCont(ConfirmRkeyContRepr::decode(msg, header, &mut an))
            }
            _ => LlcRepr::DeleteRkey(DeleteRkeyRepr::decode(msg, header, &mut an)),
        };
        // smc_llc_eval_conf_link: a CONFIRM LINK must say "no RMBE eyecatcher" (§8.2)
        if let LlcRepr::ConfirmLink(c) = &repr {
            let flags = c.header.flags.0;
            if flags & LlcFlags::NO_RMBE_EYEC.0 == 0 {
                apply_check(Err(KernelCheck::LlcConfLinkFlags { flags }), mode, &mut an)?;
            }
        }
        if received > layout {
            if t.base() == LlcType::ADD_LINK.0 && t.version() != 0 {
                // an ADD LINK v2 between 44 and 72 bytes: the extension does not fit
                an.push(Anomaly::AreaTruncated {
                    layer: Layer::Llc,
                    at: p16(layout),
                    need: p16(link::V2_EXT_END - layout),
                    have: p16(received - layout),
                });
            } else {
                an.push(Anomaly::TrailingBytes {
                    len: p16(received - layout),
                });
            }
        }
        if let LlcLength::V2 { length, .. } = header.length {
            if usize::from(length) != layout && !an.has_check() {
                an.push(Anomaly::LengthMismatch {
                    declared: length,
                    layout: p16(layout),
                });
            }
        }
        Ok(Decoded {
            repr,
            anomalies: an,
        })
    }

    /// The full type byte the message is emitted with.
    pub fn llc_type(&self) -> LlcType {
        match self {
            LlcRepr::ConfirmLink(r) => r.header.llc_type(LlcType::CONFIRM_LINK),
            LlcRepr::AddLink(r) => r.header.llc_type(LlcType::ADD_LINK),
            LlcRepr::AddLinkCont(r) => r.header.llc_type(LlcType::ADD_LINK_CONT),
            LlcRepr::DeleteLink(r) => r.header.llc_type(LlcType::DELETE_LINK),
            LlcRepr::RequestAddLink(r) => r.header.llc_type(LlcType::REQUEST_ADD_LINK),
            LlcRepr::ConfirmRkey(r) => r.header.llc_type(LlcType::CONFIRM_RKEY),
            LlcRepr::TestLink(r) => r.header.llc_type(LlcType::TEST_LINK),
            LlcRepr::ConfirmRkeyCont(r) => r.header.llc_type(LlcType::CONFIRM_RKEY_CONT),
            LlcRepr::DeleteRkey(r) => r.header.llc_type(LlcType::DELETE_RKEY),
            LlcRepr::Unknown(u) => u.llc_type(),
        }
    }

    /// The header (none for `Unknown`).
    pub fn header(&self) -> Option<&LlcHeader> {
        Some(match self {
            LlcRepr::ConfirmLink(r) => &r.header,
            LlcRepr::AddLink(r) => &r.header,
            LlcRepr::AddLinkCont(r) => &r.header,
            LlcRepr::DeleteLink(r) => &r.header,
            LlcRepr::RequestAddLink(r) => &r.header,
            LlcRepr::ConfirmRkey(r) => &r.header,
            LlcRepr::TestLink(r) => &r.header,
            LlcRepr::ConfirmRkeyCont(r) => &r.header,
            LlcRepr::DeleteRkey(r) => &r.header,
            LlcRepr::Unknown(_) => return None,
        })
    }

    /// Bytes `emit` writes.
    pub fn buffer_len(&self) -> usize {
        match self {
            LlcRepr::ConfirmLink(r) => r.buffer_len(),
            LlcRepr::AddLink(r) => r.buffer_len(),
            LlcRepr::AddLinkCont(r) => r.buffer_len(),
            LlcRepr::DeleteLink(r) => r.buffer_len(),
            LlcRepr::RequestAddLink(r) => r.buffer_len(),
            LlcRepr::ConfirmRkey(r) => r.buffer_len(),
            LlcRepr::TestLink(r) => r.buffer_len(),
            LlcRepr::ConfirmRkeyCont(r) => r.buffer_len(),
            LlcRepr::DeleteRkey(r) => r.buffer_len(),
            LlcRepr::Unknown(u) => u.bytes.len(),
        }
    }

    /// Writes the message byte-exact; returns the number of bytes written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        match self {
            LlcRepr::ConfirmLink(r) => r.emit(buf),
            LlcRepr::AddLink(r) => r.emit(buf),
            LlcRepr::AddLinkCont(r) => r.emit(buf),
            LlcRepr::DeleteLink(r) => r.emit(buf),
            LlcRepr::RequestAddLink(r) => r.emit(buf),
            LlcRepr::ConfirmRkey(r) => r.emit(buf),
            LlcRepr::TestLink(r) => r.emit(buf),
            LlcRepr::ConfirmRkeyCont(r) => r.emit(buf),
            LlcRepr::DeleteRkey(r) => r.emit(buf),
            LlcRepr::Unknown(u) => {
                let n = u.bytes.len();
                check_out(buf, n)?;
                buf[..n].copy_from_slice(u.bytes);
                Ok(n)
            }
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

impl fmt::Display for LlcRepr<'_> {
    /// One line: `LLC <TYPE> <header> <body summary>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LLC {}", self.llc_type())?;
        if let Some(h) = self.header() {
            write!(f, " {h}")?;
        }
        match self {
            LlcRepr::ConfirmLink(r) => write!(
                f,
                " mac {} gid {} qpn 0x{:06x} link {} uid 0x{} max_links {} max_conns {}",
                r.sender_mac,
                r.sender_gid,
                r.sender_qp_num,
                r.link_num,
                Hex(&r.link_uid),
                r.max_links,
                r.max_conns
            ),
            LlcRepr::AddLink(r) => {
                write!(
                    f,
                    " mac {} gid {} qpn 0x{:06x} link {} mtu {} psn 0x{:06x}",
                    r.sender_mac,
                    r.sender_gid,
                    r.sender_qp_num,
                    r.link_num,
                    r.qp_mtu,
                    r.initial_psn
                )?;
                if let Some(x) = &r.v2_ext {
                    write!(
                        f,
                        " direct {} target {} rkeys {} ({})",
                        x.v2_direct, x.client_target_gid, x.num_rkeys, x.num_rkeys_order
                    )?;
                }
                Ok(())
            }
            LlcRepr::AddLinkCont(r) => {
                write!(f, " link {} rkeys {}", r.link_num, r.num_rkeys)
            }
            LlcRepr::DeleteLink(r) => write!(f, " link {} reason {}", r.link_num, r.reason),
            LlcRepr::RequestAddLink(r) => write!(f, " gids {}", r.gid_cnt),
            LlcRepr::ConfirmRkey(r) => write!(
                f,
                " rkey 0x{:08x} vaddr 0x{:016x} others {}",
                r.rtoken[0].rmb_key, r.rtoken[0].rmb_vaddr, r.rtoken[0].link_id
            ),
            LlcRepr::TestLink(r) => write!(f, " data {}", Hex(&r.user_data)),
            LlcRepr::ConfirmRkeyCont(r) => write!(f, " rkeys {}", r.num_rkeys),
            LlcRepr::DeleteRkey(r) => write!(f, " rkeys {}", r.num_rkeys),
            LlcRepr::Unknown(u) => write!(f, " {} bytes", u.bytes.len()),
        }
    }
}

/// Serializes a byte array as hex (arrays above serde's 32-element limit, reserved areas).
#[cfg(feature = "serde")]
pub(crate) fn ser_hex<S: serde::Serializer, const N: usize>(
    a: &[u8; N],
    s: S,
) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&Hex(a), s)
}

/// The order a decoder finds for `v` written in `order` when `v` is what the layout expects:
/// `Ambiguous` exactly when both bytes are equal.
fn canonical_order(v: u16, order: HostOrder) -> HostOrder {
    let b = v.to_be_bytes();
    match order {
        _ if b[0] == b[1] => HostOrder::Ambiguous,
        HostOrder::Ambiguous => HostOrder::Little,
        o => o,
    }
}

/// Re-reads a host-order count the way the decoder will find it (same bytes on the wire).
pub(crate) fn canonical_count(
    v: u16,
    order: HostOrder,
    expected: usize,
    hint: Option<HostOrder>,
) -> (u16, HostOrder) {
    let b = order
        .write(v, "")
        .unwrap_or_else(|_| HostOrder::Little.write(v, "").unwrap_or([0, 0]));
    let found = HostOrder::detect(b, Some(expected), hint);
    (found.read(b), found)
}

impl LlcRepr<'_> {
    /// Makes the message self-consistent, as Linux would build it from the same values: the
    /// header's form matches its version, the length is the message length, 24-bit fields
    /// and nibbles are in range, the ADD LINK v2 extension travels in a v2 header, the DELETE
    /// RKEY body form follows the version, and host-order counts are the values a decoder reads
    /// from the emitted bytes. Borrowed lists are not touched, so a v2 message whose lists are
    /// too short for 44 bytes stays unrepresentable (the kernel drops it).
    pub fn normalize(&mut self) {
        fn v2(h: &mut LlcHeader) {
            h.version &= field::NIBBLE;
            if h.version == 0 {
                h.version = 2;
            }
        }
        match self {
            LlcRepr::ConfirmLink(r) => {
                r.sender_qp_num &= 0x00ff_ffff;
                r.header.normalize(r.buffer_len());
            }
            LlcRepr::AddLink(r) => {
                r.sender_qp_num &= field::U24_MAX;
                r.initial_psn &= field::U24_MAX;
                r.reserved3 &= field::NIBBLE;
                r.qp_mtu &= field::NIBBLE;
                if r.v2_ext.is_some() {
                    v2(&mut r.header);
                }
                let len = r.buffer_len();
                r.header.normalize(len);
                let hint = r.header.host_order();
                if let Some(x) = &mut r.v2_ext {
                    x.reserved &= !link::field::add_link::V2_DIRECT_BIT;
                    let (n, o) = canonical_count(x.num_rkeys, x.num_rkeys_order, x.rt.len(), hint);
                    x.num_rkeys = n;
                    x.num_rkeys_order = o;
                }
            }
            LlcRepr::AddLinkCont(r) => r.header.normalize(r.buffer_len()),
            LlcRepr::DeleteLink(r) => r.header.normalize(r.buffer_len()),
            LlcRepr::RequestAddLink(r) => {
                if r.gid.raw().len() != field::MSG_LEN - link::field::req_add_link::GID.start {
                    v2(&mut r.header);
                }
                r.header.normalize(r.buffer_len());
            }
            LlcRepr::ConfirmRkey(r) => r.header.normalize(r.buffer_len()),
            LlcRepr::TestLink(r) => r.header.normalize(r.buffer_len()),
            LlcRepr::ConfirmRkeyCont(r) => r.header.normalize(r.buffer_len()),
            LlcRepr::DeleteRkey(r) => {
                match r.body {
                    DeleteRkeyBody::V1 { .. } => r.header.version = 0,
                    DeleteRkeyBody::V2 { .. } => v2(&mut r.header),
                }
                r.header.normalize(r.buffer_len());
            }
            LlcRepr::Unknown(_) => {}
        }
    }
}

/// `to_vec` for every message representation (convenience for peers and tests).
macro_rules! to_vec {
    ($($t:ty),* $(,)?) => {$(
        impl $t {
            /// Emits into a new vector.
            pub fn to_vec(&self) -> Result<Vec<u8>, Error> {
                let mut v = vec![0u8; self.buffer_len()];
                let n = self.emit(&mut v)?;
                v.truncate(n);
                Ok(v)
            }
        }
    )*};
}

to_vec!(
    ConfirmLinkRepr,
    AddLinkRepr<'_>,
    AddLinkContRepr,
    DeleteLinkRepr,
    RequestAddLinkRepr<'_>,
    ConfirmRkeyRepr,
    TestLinkRepr,
    ConfirmRkeyContRepr,
    DeleteRkeyRepr<'_>,
);

/// Fails with `Truncated` when `b` is shorter than `need` (views' `check_len`).
pub(crate) fn check_len(b: &[u8], need: usize) -> Result<(), Error> {
    if b.len() < need {
        return Err(Error::Truncated {
            layer: Layer::Llc,
            need,
            have: b.len(),
            at: 0,
        });
    }
    Ok(())
}

/// Narrows a decoded [`LlcRepr`] to one message type (each message's own `parse`).
pub(crate) fn narrow<'a, T>(
    bytes: &'a [u8],
    mode: Mode,
    pick: impl FnOnce(LlcRepr<'a>) -> Option<T>,
) -> Result<Decoded<T>, Error> {
    let d = LlcRepr::parse(bytes, mode)?;
    let found = d.repr.llc_type().0;
    match pick(d.repr) {
        Some(repr) => Ok(Decoded {
            repr,
            anomalies: d.anomalies,
        }),
        None => Err(Error::WrongType {
            layer: Layer::Llc,
            found,
        }),
    }
}

/// Writes a 24-bit value (QPN, PSN) into 3 bytes, or fails when it does not fit.
pub(crate) fn put_be24(b: &mut [u8], v: u32, name: &'static str) -> Result<(), Error> {
    if v > field::U24_MAX {
        return Err(Error::FieldOverflow { field: name });
    }
    b.copy_from_slice(&v.to_be_bytes()[1..]);
    Ok(())
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn host_order_detection() {
        // x86 length 44, s390 length 44
        assert_eq!(
            HostOrder::detect([0x2c, 0x00], Some(44), None),
            HostOrder::Little
        );
        assert_eq!(
            HostOrder::detect([0x00, 0x2c], Some(44), None),
            HostOrder::Big
        );
        // ADD LINK v2 with 140 rkeys: 2312 = 0x0908; the smaller reading would be wrong
        assert_eq!(
            HostOrder::detect([0x08, 0x09], Some(2312), None),
            HostOrder::Little
        );
        assert_eq!(
            HostOrder::detect([0x08, 0x09], None, Some(HostOrder::Little)),
            HostOrder::Little
        );
        assert_eq!(HostOrder::detect([0x08, 0x09], None, None), HostOrder::Big);
        // neither matches: the smaller reading
        assert_eq!(
            HostOrder::detect([0xe8, 0x03], Some(44), None),
            HostOrder::Little
        );
        assert_eq!(
            HostOrder::detect([0x01, 0x01], Some(44), None),
            HostOrder::Ambiguous
        );
        assert_eq!(HostOrder::Little.read([0x2c, 0]), 44);
        assert_eq!(HostOrder::Big.read([0, 0x2c]), 44);
        assert_eq!(HostOrder::Ambiguous.write(0x0101, "x"), Ok([1, 1]));
        assert_eq!(
            HostOrder::Ambiguous.write(44, "x"),
            Err(Error::FieldOverflow { field: "x" })
        );
    }

    #[test]
    fn entry_list() {
        let mut storage = [0u8; 10];
        let l = EntryList::<u32>::encode(&[1, 0x0102_0304], &mut storage).unwrap();
        assert_eq!(l.raw(), &[0, 0, 0, 1, 1, 2, 3, 4]);
        assert_eq!(l.iter().collect::<Vec<_>>(), vec![1, 0x0102_0304]);
        let partial = EntryList::<u32>::new(&[0, 0, 0, 7, 9]);
        assert_eq!(partial.len(), 1);
        assert_eq!(partial.remainder(), &[9]);
        assert_eq!(partial.get(1), None);
        assert_eq!(format!("{partial:?}"), "[7, +1 bytes]");
        let mut small = [0u8; 3];
        assert!(EntryList::<u32>::encode(&[1], &mut small).is_err());
    }

    // smc-go pkg/llc other_test.go: an unknown type 0x0a, 4 bytes
    static OTHER: [u8; 4] = [0x0a, 0x00, 0x00, 0x01];

    #[test]
    fn unknown_type() {
        assert_eq!(
            LlcRepr::parse(&OTHER, Mode::Strict),
            Err(Error::Check {
                check: KernelCheck::WrRxType { type_byte: 0x0a }
            })
        );
        let d = LlcRepr::parse(&OTHER, Mode::Lenient).unwrap();
        assert_eq!(d.repr, LlcRepr::Unknown(UnknownLlc { bytes: &OTHER }));
        assert_eq!(d.repr.to_vec().unwrap(), OTHER);
        assert_eq!(
            LlcRepr::parse(&[0xfe; 44], Mode::Lenient),
            Err(Error::WrongType {
                layer: Layer::Llc,
                found: 0xfe
            })
        );
        assert_eq!(
            LlcRepr::parse(&[], Mode::Lenient),
            Err(Error::Truncated {
                layer: Layer::Llc,
                need: 1,
                have: 0,
                at: 0
            })
        );
    }
}
