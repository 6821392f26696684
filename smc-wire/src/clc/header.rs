//! The 8-byte CLC header and the 4-byte trailer shared by all four CLC messages (reference §2).

use crate::clc::{ClcType, Eyecatcher};
use crate::error::{Error, Layer};
use crate::field::Field;

pub(crate) mod field {
    use crate::field::Field;
    pub const EYECATCHER: Field = 0..4; // §2.1 eyecatcher "SMCR"/"SMCD"
    pub const TYPE: usize = 4; // §2.1 type: 1 Proposal, 2 Accept, 3 Confirm, 4 Decline
    pub const LENGTH: Field = 5..7; // §2.1 length, BE u16, whole message
    pub const VERSION_BITS: usize = 7; // §2.2 version (bits 7-4) + per-type bits 3-0
    pub const HEADER_LEN: usize = VERSION_BITS + 1; // §2.1 8-byte header
    pub const TRAILER_LEN: usize = 4; // §2.1 trailer eyecatcher at length-4
}

/// Header length (8).
pub const HEADER_LEN: usize = field::HEADER_LEN;
/// Trailer length (4).
pub const TRAILER_LEN: usize = field::TRAILER_LEN;

/// The trailer position for a message of `len` bytes (§2.1).
pub(crate) fn trailer_field(len: usize) -> Field {
    len.saturating_sub(TRAILER_LEN)..len.saturating_sub(TRAILER_LEN) + TRAILER_LEN
}

/// A view of a CLC header (smoltcp-style typed view).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> HeaderPacket<T> {
    /// Wraps a buffer without checking its length.
    pub const fn new_unchecked(buffer: T) -> Self {
        HeaderPacket { buffer }
    }

    /// Wraps a buffer that holds at least the 8 header bytes.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks that the header bytes are present; after this no getter panics.
    pub fn check_len(&self) -> Result<(), Error> {
        let have = self.buffer.as_ref().len();
        if have < HEADER_LEN {
            return Err(Error::Truncated {
                layer: Layer::ClcHeader,
                need: HEADER_LEN,
                have,
                at: 0,
            });
        }
        Ok(())
    }

    /// Gives back the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Header eyecatcher.
    pub fn eyecatcher(&self) -> Eyecatcher {
        Eyecatcher(array4(&self.buffer.as_ref()[field::EYECATCHER]))
    }

    /// Message type.
    pub fn msg_type(&self) -> ClcType {
        ClcType(self.buffer.as_ref()[field::TYPE])
    }

    /// Declared length of the whole message.
    pub fn length(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::LENGTH])
    }

    /// Version nibble (bits 7-4 of byte 7).
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VERSION_BITS] >> 4
    }

    /// Bits 3-0 of byte 7, whose meaning depends on the type (§2.2).
    pub fn type_bits(&self) -> u8 {
        self.buffer.as_ref()[field::VERSION_BITS] & 0x0f
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> HeaderPacket<T> {
    /// Sets the header eyecatcher.
    pub fn set_eyecatcher(&mut self, e: Eyecatcher) {
        self.buffer.as_mut()[field::EYECATCHER].copy_from_slice(&e.0);
    }
    /// Sets the type.
    pub fn set_msg_type(&mut self, t: ClcType) {
        self.buffer.as_mut()[field::TYPE] = t.0;
    }
    /// Sets the declared length.
    pub fn set_length(&mut self, len: u16) {
        self.buffer.as_mut()[field::LENGTH].copy_from_slice(&len.to_be_bytes());
    }
    /// Sets byte 7 from the version nibble and the type bits.
    pub fn set_version_bits(&mut self, version: u8, bits: u8) {
        self.buffer.as_mut()[field::VERSION_BITS] = (version << 4) | (bits & 0x0f);
    }
}

/// The decoded header: what every CLC message starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Header {
    /// Header eyecatcher.
    pub eyecatcher: Eyecatcher,
    /// Message type.
    #[cfg_attr(feature = "serde", serde(rename = "type"))]
    pub msg_type: ClcType,
    /// Declared length.
    pub length: u16,
    /// Version nibble.
    pub version: u8,
    /// Bits 3-0 of byte 7 (typev2/typev1, first contact/type, out of sync; §2.2).
    pub type_bits: u8,
}

impl Header {
    /// Reads a header from the first 8 bytes.
    pub fn parse(bytes: &[u8]) -> Result<Header, Error> {
        let p = HeaderPacket::new_checked(bytes)?;
        Ok(Header {
            eyecatcher: p.eyecatcher(),
            msg_type: p.msg_type(),
            length: p.length(),
            version: p.version(),
            type_bits: p.type_bits(),
        })
    }

    /// Writes the header into the first 8 bytes of `buf` (which must hold them).
    pub fn emit(&self, buf: &mut [u8]) -> Result<(), Error> {
        if self.version > 0x0f {
            return Err(Error::FieldOverflow { field: "version" });
        }
        let have = buf.len();
        let mut p = HeaderPacket::new_unchecked(buf);
        if have < HEADER_LEN {
            return Err(Error::BufferTooSmall {
                need: HEADER_LEN,
                have,
            });
        }
        p.set_eyecatcher(self.eyecatcher);
        p.set_msg_type(self.msg_type);
        p.set_length(self.length);
        p.set_version_bits(self.version, self.type_bits);
        Ok(())
    }
}

/// Reads a big-endian u16 from a 2-byte slice (the callers index through `field` ranges).
pub(crate) fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

/// Reads a big-endian u32 from a 4-byte slice.
pub(crate) fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Reads a big-endian u24 from a 3-byte slice.
pub(crate) fn be24(b: &[u8]) -> u32 {
    u32::from_be_bytes([0, b[0], b[1], b[2]])
}

/// Reads a big-endian u64 from an 8-byte slice.
pub(crate) fn be64(b: &[u8]) -> u64 {
    u64::from_be_bytes(array8(b))
}

/// Copies a 4-byte slice into an array.
pub(crate) fn array4(b: &[u8]) -> [u8; 4] {
    [b[0], b[1], b[2], b[3]]
}

/// Copies an 8-byte slice into an array.
pub(crate) fn array8(b: &[u8]) -> [u8; 8] {
    [b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]
}

/// Copies an N-byte slice into an array (callers pass exactly N bytes through a `field` range).
pub(crate) fn array<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(&b[..N]);
    a
}

#[cfg(test)]
mod test {
    use super::*;

    // Accept v1 SMC-R, reference §10 (hwipl/smc, real 2019 kernel bytes): first 8 bytes.
    static HDR: [u8; 8] = [0xe2, 0xd4, 0xc3, 0xd9, 0x02, 0x00, 0x44, 0x18];

    #[test]
    fn deconstruct() {
        let p = HeaderPacket::new_checked(&HDR[..]).unwrap();
        assert_eq!(p.eyecatcher(), Eyecatcher::SMCR);
        assert_eq!(p.msg_type(), ClcType::ACCEPT);
        assert_eq!(p.length(), 68);
        assert_eq!(p.version(), 1);
        assert_eq!(p.type_bits(), 0x8);
    }

    #[test]
    fn construct() {
        let mut buf = [0xa5u8; 8];
        Header::parse(&HDR).unwrap().emit(&mut buf).unwrap();
        assert_eq!(buf, HDR);
    }

    #[test]
    fn truncated() {
        assert_eq!(
            Header::parse(&HDR[..7]),
            Err(Error::Truncated {
                layer: Layer::ClcHeader,
                need: 8,
                have: 7,
                at: 0
            })
        );
    }
}
