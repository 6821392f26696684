//! TEST LINK (0x07 / 0x27): the link keepalive, sent on a link idle for
//! `net.smc.smcr_testlink_time` (30 s); the response echoes the request with 0x80 (reference
//! §8.3; kernel `struct smc_llc_msg_test_link`).

use crate::clc::check_out;
use crate::clc::header::array;
use crate::clc::proposal::reserved;
use crate::codes::LlcType;
use crate::error::{Anomalies, Decoded, Error, Layer, Mode};
use crate::llc::{check_len, narrow, LlcHeader, LlcRepr};

pub(crate) mod field {
    use crate::field::Field;
    pub const USER_DATA: Field = 4..20; // §8.3 TEST LINK user_data[16] (Linux zeros)
    pub const RESERVED: Field = 20..44; // §8.3 TEST LINK reserved[24]
    pub const LEN: usize = RESERVED.end; // §8.3 TEST LINK 44 bytes
}

const _: () = assert!(field::LEN == crate::llc::LLC_MSG_LEN);

/// TEST LINK (0x07 / 0x27).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct TestLinkRepr {
    /// Header (0x80 in the response). A response copies the request's header verbatim.
    pub header: LlcHeader,
    /// User data, echoed (Linux sends zeros and does not check the echo).
    pub user_data: [u8; 16],
    /// Bytes 20–43 (reserved).
    pub reserved: [u8; 24],
}

/// A view of a TEST LINK.
#[derive(Debug, Clone, Copy)]
pub struct TestLinkPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> TestLinkPacket<T> {
    /// Wraps without checks.
    pub const fn new_unchecked(buffer: T) -> Self {
        TestLinkPacket { buffer }
    }
    /// Wraps a buffer holding the 44 bytes.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        check_len(buffer.as_ref(), field::LEN)?;
        Ok(Self::new_unchecked(buffer))
    }
    /// Gives back the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
    /// User data.
    pub fn user_data(&self) -> [u8; 16] {
        array(&self.buffer.as_ref()[field::USER_DATA])
    }
}

impl TestLinkRepr {
    /// Decodes a TEST LINK (any other type is [`Error::WrongType`]).
    pub fn parse(bytes: &[u8], mode: Mode) -> Result<Decoded<Self>, Error> {
        narrow(bytes, mode, |r| match r {
            LlcRepr::TestLink(m) => Some(m),
            _ => None,
        })
    }

    pub(crate) fn decode(msg: &[u8], header: LlcHeader, an: &mut Anomalies) -> Self {
        let r = TestLinkRepr {
            header,
            user_data: TestLinkPacket::new_unchecked(msg).user_data(),
            reserved: array(&msg[field::RESERVED]),
        };
        reserved(an, Layer::Llc, field::RESERVED.start, &r.reserved);
        r
    }

    /// Bytes `emit` writes (44).
    pub fn buffer_len(&self) -> usize {
        field::LEN
    }

    /// Writes the message.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        check_out(buf, field::LEN)?;
        self.header.emit(LlcType::TEST_LINK, buf)?;
        buf[field::USER_DATA].copy_from_slice(&self.user_data);
        buf[field::RESERVED].copy_from_slice(&self.reserved);
        Ok(field::LEN)
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::error::KernelCheck;
    use crate::llc::{HostOrder, LlcFlags, LlcLength};

    // hwipl/smc-go @ca917b02 pkg/llc/testlink_test.go: only 21 bytes (a response, flags 0x80);
    // the kernel drops anything shorter than 44
    static TEST_LINK_SMCGO: [u8; 21] = [
        0x07, 0x2c, 0x00, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];

    // SYNTHETIC: the same response as Linux sends it (44 bytes)
    static TEST_LINK: [u8; 44] = [
        0x07, 0x2c, 0x00, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];

    fn repr() -> TestLinkRepr {
        TestLinkRepr {
            header: LlcHeader::v1(LlcFlags::RESP),
            user_data: [0; 16],
            reserved: [0; 24],
        }
    }

    #[test]
    fn deconstruct_construct() {
        let p = TestLinkPacket::new_checked(&TEST_LINK[..]).unwrap();
        assert_eq!(p.user_data(), [0; 16]);
        let mut buf = [0xa5u8; 44];
        assert_eq!(repr().emit(&mut buf), Ok(44));
        assert_eq!(buf, TEST_LINK);
        let d = TestLinkRepr::parse(&TEST_LINK, Mode::Strict).unwrap();
        assert_eq!(d.repr, repr());
    }

    #[test]
    fn truncated_smcgo_vector() {
        assert!(TestLinkPacket::new_checked(&TEST_LINK_SMCGO[..]).is_err());
        assert_eq!(
            TestLinkRepr::parse(&TEST_LINK_SMCGO, Mode::Strict),
            Err(Error::Check {
                check: KernelCheck::LlcRxLength { received: 21 }
            })
        );
        assert_eq!(
            TestLinkRepr::parse(&TEST_LINK_SMCGO, Mode::Lenient),
            Err(Error::Truncated {
                layer: Layer::Llc,
                need: 44,
                have: 21,
                at: 0
            })
        );
    }

    #[test]
    fn v2_echo_keeps_odd_length() {
        // a TEST LINK v2 claiming 1000 bytes in a 44-byte SEND is answered as is (§8.3 notes)
        let mut b = TEST_LINK;
        b[0] = 0x27;
        b[1..3].copy_from_slice(&1000u16.to_le_bytes());
        let d = TestLinkRepr::parse(&b, Mode::Strict).unwrap();
        assert_eq!(
            d.repr.header.length,
            LlcLength::V2 {
                length: 1000,
                order: HostOrder::Little
            }
        );
        assert_eq!(d.repr.to_vec().unwrap(), b.to_vec());
    }
}
