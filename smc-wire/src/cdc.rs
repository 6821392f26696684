//! SMC-R CDC (Connection Data Control): the 44-byte RC SEND that announces data written by
//! RDMA WRITE and acknowledges data read, all big-endian (reference §7.1; kernel `smc_cdc.h`
//! `struct smc_cdc_msg`, receive checks in `smc_cdc_rx_handler`, §9.3).
//!
//! The producer and connection-state flag bytes are shared with the SMC-D CDC header
//! ([`crate::smcd_cdc`]); their bit layout does not depend on the byte order.

use core::fmt;

use crate::clc::apply_check;
use crate::clc::check_out;
use crate::clc::header::{be16, be32};
use crate::clc::proposal::reserved;
use crate::codes::LlcType;
use crate::error::{p16, Anomalies, Anomaly, Decoded, Error, KernelCheck, Layer, Mode};

pub(crate) mod field {
    use crate::field::Field;
    pub const TYPE: usize = 0; // §7.1 type = 0xFE (SMC_CDC_MSG_TYPE)
    pub const LEN: usize = 1; // §7.1 len = 44
    pub const SEQNO: Field = 2..4; // §7.1 seqno, BE16
    pub const TOKEN: Field = 4..8; // §7.1 token (receiver's RMBE alert token), BE32
    pub const PROD: Field = 8..16; // §7.1 prod cursor (union smc_cdc_cursor)
    pub const CONS: Field = 16..24; // §7.1 cons cursor
    pub const PROD_FLAGS: usize = 24; // §7.1 prod_flags (struct smc_cdc_producer_flags)
    pub const CONN_STATE_FLAGS: usize = 25; // §7.1 conn_state_flags
    pub const RESERVED: Field = 26..44; // §7.1 reserved[18]
    pub const MSG_LEN: usize = RESERVED.end; // §7.1 44 bytes (SMC_WR_TX_SIZE)
    pub const MIN_RX_LEN: usize = RESERVED.start; // §9.3 offsetof(struct smc_cdc_msg, reserved)
    /// Offsets inside one 8-byte cursor.
    pub mod cursor {
        use crate::field::Field;
        pub const RESERVED: Field = 0..2; // §7.1 cursor reserved, BE16
        pub const WRAP: Field = 2..4; // §7.1 cursor wrap, BE16
        pub const COUNT: Field = 4..8; // §7.1 cursor count, BE32
    }
}

/// Length of an SMC-R CDC message (44).
pub const CDC_MSG_LEN: usize = field::MSG_LEN;

/// Declares a flag-byte newtype with named bits (kernel bitfield names) and reserved bits.
macro_rules! flag_byte {
    (
        $(#[$meta:meta])*
        pub struct $name:ident;
        reserved $res:literal;
        $( $cname:ident = $bit:literal, $kname:ident, $doc:literal; )*
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
        #[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
        pub struct $name(pub u8);

        impl $name {
            $( #[doc = $doc] pub const $cname: $name = $name($bit); )*
            /// The bits without a meaning (Linux sends 0).
            pub const RESERVED: u8 = $res;
            const NAMES: &'static [(u8, &'static str)] = &[$(($bit, stringify!($kname))),*];

            $(
                #[doc = concat!("`", stringify!($kname), "`: ", $doc)]
                pub fn $kname(self) -> bool {
                    self.0 & $bit != 0
                }
            )*

            /// True when every bit of `other` is set.
            pub fn contains(self, other: $name) -> bool {
                self.0 & other.0 == other.0
            }

            /// The reserved bits that are set.
            pub fn reserved_bits(self) -> u8 {
                self.0 & Self::RESERVED
            }
        }

        impl fmt::Display for $name {
            /// Kernel names of the set bits joined by `|`, `-` for none, `+0x..` for reserved bits.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut first = true;
                for (bit, name) in Self::NAMES {
                    if self.0 & bit != 0 {
                        if !first {
                            f.write_str("|")?;
                        }
                        f.write_str(name)?;
                        first = false;
                    }
                }
                if self.reserved_bits() != 0 {
                    write!(f, "+0x{:02x}", self.reserved_bits())?;
                } else if first {
                    f.write_str("-")?;
                }
                Ok(())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "(0x{:02x} {})"), self.0, self)
            }
        }

        #[cfg(feature = "serde")]
        impl serde::Serialize for $name {
            /// `{ "<kernel bit name>": bool, …, "reserved": n }` (reserved only when non-zero).
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(None)?;
                for (bit, name) in Self::NAMES {
                    m.serialize_entry(name, &(self.0 & bit != 0))?;
                }
                if self.reserved_bits() != 0 {
                    m.serialize_entry("reserved", &self.reserved_bits())?;
                }
                m.end()
            }
        }
    };
}

flag_byte! {
    /// Producer flags (`struct smc_cdc_producer_flags`, §7.1), MSB first.
    pub struct CdcProducerFlags;
    reserved 0x07;
    WRITE_BLOCKED = 0x80, write_blocked, "the sender's send buffer is full (writer blocked)";
    URG_DATA_PENDING = 0x40, urg_data_pending, "urgent data pending";
    URG_DATA_PRESENT = 0x20, urg_data_present, "urgent data present (last byte written)";
    CONS_CURS_UPD_REQ = 0x10, cons_curs_upd_req, "the peer asks for a consumer-cursor update";
    FAILOVER_VALIDATION = 0x08, failover_validation, "failover validation after a link switch";
}

flag_byte! {
    /// Connection state flags (`struct smc_cdc_conn_state_flags`, §7.1), MSB first; sticky
    /// once set (close: 0x80 → 0x40 → 0xC0).
    pub struct CdcConnStateFlags;
    reserved 0x1f;
    PEER_DONE_WRITING = 0x80, peer_done_writing, "the sender shut down writing";
    PEER_CONN_CLOSED = 0x40, peer_conn_closed, "the sender closed the connection";
    PEER_CONN_ABORT = 0x20, peer_conn_abort, "the sender aborted the connection";
}

/// An SMC-R cursor (`union smc_cdc_cursor`, 8 bytes BE, §7.1): a position in a ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct CdcCursor {
    /// Bytes 0–1 (reserved; Linux 0).
    pub reserved: u16,
    /// Wrap sequence number: +1 each time `count` wraps to 0.
    pub wrap: u16,
    /// Byte offset in the ring.
    pub count: u32,
}

impl CdcCursor {
    fn read(b: &[u8]) -> CdcCursor {
        CdcCursor {
            reserved: be16(&b[field::cursor::RESERVED]),
            wrap: be16(&b[field::cursor::WRAP]),
            count: be32(&b[field::cursor::COUNT]),
        }
    }

    fn write(&self, b: &mut [u8]) {
        b[field::cursor::RESERVED].copy_from_slice(&self.reserved.to_be_bytes());
        b[field::cursor::WRAP].copy_from_slice(&self.wrap.to_be_bytes());
        b[field::cursor::COUNT].copy_from_slice(&self.count.to_be_bytes());
    }
}

impl fmt::Display for CdcCursor {
    /// `wrap:count`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.wrap, self.count)
    }
}

/// A view of an SMC-R CDC message.
#[derive(Debug, Clone, Copy)]
pub struct CdcPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> CdcPacket<T> {
    /// Wraps without checks.
    pub const fn new_unchecked(buffer: T) -> Self {
        CdcPacket { buffer }
    }

    /// Wraps a buffer holding the 44 bytes.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks that the 44 bytes are present; after this no getter panics.
    pub fn check_len(&self) -> Result<(), Error> {
        let have = self.buffer.as_ref().len();
        if have < field::MSG_LEN {
            return Err(Error::Truncated {
                layer: Layer::Cdc,
                need: field::MSG_LEN,
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

    /// Type byte (0xFE).
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::TYPE]
    }
    /// Length byte (44).
    pub fn len_byte(&self) -> u8 {
        self.buffer.as_ref()[field::LEN]
    }
    /// Sequence number.
    pub fn seqno(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::SEQNO])
    }
    /// Alert token.
    pub fn token(&self) -> u32 {
        be32(&self.buffer.as_ref()[field::TOKEN])
    }
    /// Producer cursor.
    pub fn prod(&self) -> CdcCursor {
        CdcCursor::read(&self.buffer.as_ref()[field::PROD])
    }
    /// Consumer cursor.
    pub fn cons(&self) -> CdcCursor {
        CdcCursor::read(&self.buffer.as_ref()[field::CONS])
    }
    /// Producer flags.
    pub fn prod_flags(&self) -> CdcProducerFlags {
        CdcProducerFlags(self.buffer.as_ref()[field::PROD_FLAGS])
    }
    /// Connection state flags.
    pub fn conn_state_flags(&self) -> CdcConnStateFlags {
        CdcConnStateFlags(self.buffer.as_ref()[field::CONN_STATE_FLAGS])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> CdcPacket<T> {
    /// Sets the type byte.
    pub fn set_msg_type(&mut self, t: u8) {
        self.buffer.as_mut()[field::TYPE] = t;
    }
    /// Sets the length byte.
    pub fn set_len_byte(&mut self, len: u8) {
        self.buffer.as_mut()[field::LEN] = len;
    }
    /// Sets the sequence number.
    pub fn set_seqno(&mut self, v: u16) {
        self.buffer.as_mut()[field::SEQNO].copy_from_slice(&v.to_be_bytes());
    }
    /// Sets the token.
    pub fn set_token(&mut self, v: u32) {
        self.buffer.as_mut()[field::TOKEN].copy_from_slice(&v.to_be_bytes());
    }
    /// Sets the producer cursor.
    pub fn set_prod(&mut self, c: CdcCursor) {
        c.write(&mut self.buffer.as_mut()[field::PROD]);
    }
    /// Sets the consumer cursor.
    pub fn set_cons(&mut self, c: CdcCursor) {
        c.write(&mut self.buffer.as_mut()[field::CONS]);
    }
    /// Sets the producer flags.
    pub fn set_prod_flags(&mut self, f: CdcProducerFlags) {
        self.buffer.as_mut()[field::PROD_FLAGS] = f.0;
    }
    /// Sets the connection state flags.
    pub fn set_conn_state_flags(&mut self, f: CdcConnStateFlags) {
        self.buffer.as_mut()[field::CONN_STATE_FLAGS] = f.0;
    }
    /// Sets the reserved tail.
    pub fn set_reserved(&mut self, r: &[u8; 18]) {
        self.buffer.as_mut()[field::RESERVED].copy_from_slice(r);
    }
}

/// An SMC-R CDC message, lossless (the type byte is always 0xFE).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct CdcRepr {
    /// Length byte (44; the receiver drops anything else).
    pub len: u8,
    /// Sequence number (+1 per CDC and direction, first CDC 1).
    pub seqno: u16,
    /// The receiver's RMBE alert token (from its CLC Accept/Confirm).
    pub token: u32,
    /// Producer cursor: where the sender has written up to in the receiver's RMBE.
    pub prod: CdcCursor,
    /// Consumer cursor: where the sender has read up to in its own RMBE.
    pub cons: CdcCursor,
    /// Producer flags.
    pub prod_flags: CdcProducerFlags,
    /// Connection state flags.
    pub conn_state_flags: CdcConnStateFlags,
    /// Bytes 26–43 (reserved; a short message's missing bytes decode as 0).
    pub reserved: [u8; 18],
}

impl Default for CdcRepr {
    fn default() -> Self {
        CdcRepr {
            len: field::MSG_LEN as u8,
            seqno: 0,
            token: 0,
            prod: CdcCursor::default(),
            cons: CdcCursor::default(),
            prod_flags: CdcProducerFlags::default(),
            conn_state_flags: CdcConnStateFlags::default(),
            reserved: [0; 18],
        }
    }
}

impl CdcRepr {
    /// Decodes one CDC (a whole SEND payload).
    ///
    /// Strict mode mirrors `smc_cdc_rx_handler`: at least 26 bytes
    /// (`offsetof(struct smc_cdc_msg, reserved)`), length byte 44. The token lookup and the
    /// stale-seqno drop depend on connection state and are not checked here. A 26–43-byte CDC
    /// passes the kernel's checks; its missing reserved bytes decode as zero
    /// ([`Anomaly::AreaTruncated`]).
    pub fn parse(bytes: &[u8], mode: Mode) -> Result<Decoded<Self>, Error> {
        let mut an = Anomalies::new();
        let Some(&t) = bytes.first() else {
            return Err(Error::Truncated {
                layer: Layer::Cdc,
                need: 1,
                have: 0,
                at: 0,
            });
        };
        if t != LlcType::CDC.0 {
            return Err(Error::WrongType {
                layer: Layer::Cdc,
                found: t,
            });
        }
        let received = bytes.len();
        if received < field::MIN_RX_LEN {
            apply_check(
                Err(KernelCheck::CdcRxLength {
                    received: p16(received),
                }),
                mode,
                &mut an,
            )?;
            return Err(Error::Truncated {
                layer: Layer::Cdc,
                need: field::MIN_RX_LEN,
                have: received,
                at: 0,
            });
        }
        let p = CdcPacket::new_unchecked(bytes);
        let len = p.len_byte();
        if usize::from(len) != field::MSG_LEN {
            apply_check(
                Err(KernelCheck::CdcLengthByte { length: len }),
                mode,
                &mut an,
            )?;
        }
        let mut res = [0u8; 18];
        let present = &bytes[field::RESERVED.start..received.min(field::MSG_LEN)];
        res[..present.len()].copy_from_slice(present);
        let r = CdcRepr {
            len,
            seqno: p.seqno(),
            token: p.token(),
            prod: p.prod(),
            cons: p.cons(),
            prod_flags: p.prod_flags(),
            conn_state_flags: p.conn_state_flags(),
            reserved: res,
        };
        if r.prod.reserved != 0 {
            an.push(reserved_at(
                field::PROD.start + field::cursor::RESERVED.start,
                2,
            ));
        }
        if r.cons.reserved != 0 {
            an.push(reserved_at(
                field::CONS.start + field::cursor::RESERVED.start,
                2,
            ));
        }
        if r.prod_flags.reserved_bits() != 0 {
            an.push(reserved_at(field::PROD_FLAGS, 1));
        }
        if r.conn_state_flags.reserved_bits() != 0 {
            an.push(reserved_at(field::CONN_STATE_FLAGS, 1));
        }
        reserved(&mut an, Layer::Cdc, field::RESERVED.start, present);
        if received < field::MSG_LEN {
            an.push(Anomaly::AreaTruncated {
                layer: Layer::Cdc,
                at: p16(field::RESERVED.start),
                need: p16(field::RESERVED.len()),
                have: p16(present.len()),
            });
        } else if received > field::MSG_LEN {
            an.push(Anomaly::TrailingBytes {
                len: p16(received - field::MSG_LEN),
            });
        }
        Ok(Decoded {
            repr: r,
            anomalies: an,
        })
    }

    /// Bytes `emit` writes (44).
    pub fn buffer_len(&self) -> usize {
        field::MSG_LEN
    }

    /// Writes the 44 bytes.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        check_out(buf, field::MSG_LEN)?;
        let mut p = CdcPacket::new_unchecked(&mut buf[..field::MSG_LEN]);
        p.set_msg_type(LlcType::CDC.0);
        p.set_len_byte(self.len);
        p.set_seqno(self.seqno);
        p.set_token(self.token);
        p.set_prod(self.prod);
        p.set_cons(self.cons);
        p.set_prod_flags(self.prod_flags);
        p.set_conn_state_flags(self.conn_state_flags);
        p.set_reserved(&self.reserved);
        Ok(field::MSG_LEN)
    }

    /// Emits into a new vector.
    pub fn to_vec(&self) -> Result<Vec<u8>, Error> {
        let mut v = vec![0u8; self.buffer_len()];
        self.emit(&mut v)?;
        Ok(v)
    }
}

fn reserved_at(at: usize, len: usize) -> Anomaly {
    Anomaly::NonZeroReserved {
        layer: Layer::Cdc,
        at: p16(at),
        len: p16(len),
    }
}

impl fmt::Display for CdcRepr {
    /// `CDC seq 1 token 0x00000003 prod 0:13 cons 0:0 flags -/-`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CDC seq {} token 0x{:08x} prod {} cons {} flags {}/{}",
            self.seqno, self.token, self.prod, self.cons, self.prod_flags, self.conn_state_flags
        )?;
        if usize::from(self.len) != field::MSG_LEN {
            write!(f, " len {}", self.len)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod test {
    use super::*;

    // hwipl/smc-go @ca917b02 pkg/llc/cdc_test.go (probably real ibdump bytes; reference §10:
    // seq 1, token 3, producer count 13)
    #[rustfmt::skip]
    static CDC: [u8; 44] = [
        0xfe, 0x2c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x0d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];

    fn repr() -> CdcRepr {
        CdcRepr {
            len: 44,
            seqno: 1,
            token: 3,
            prod: CdcCursor {
                reserved: 0,
                wrap: 0,
                count: 13,
            },
            cons: CdcCursor::default(),
            prod_flags: CdcProducerFlags(0),
            conn_state_flags: CdcConnStateFlags(0),
            reserved: [0; 18],
        }
    }

    #[test]
    fn deconstruct() {
        let p = CdcPacket::new_checked(&CDC[..]).unwrap();
        assert_eq!(p.msg_type(), 0xfe);
        assert_eq!(p.len_byte(), 44);
        assert_eq!(p.seqno(), 1);
        assert_eq!(p.token(), 3);
        assert_eq!(p.prod().count, 13);
        assert_eq!(p.cons(), CdcCursor::default());
        assert_eq!(p.prod_flags(), CdcProducerFlags(0));
    }

    #[test]
    fn construct() {
        let mut buf = [0xa5u8; 44];
        assert_eq!(repr().emit(&mut buf), Ok(44));
        assert_eq!(buf, CDC);
    }

    #[test]
    fn parse_emit() {
        let d = CdcRepr::parse(&CDC, Mode::Strict).unwrap();
        assert_eq!(d.repr, repr());
        assert!(d.anomalies.is_empty());
        assert_eq!(d.repr.to_vec().unwrap(), CDC);
        assert_eq!(
            d.repr.to_string(),
            "CDC seq 1 token 0x00000003 prod 0:13 cons 0:0 flags -/-"
        );
    }

    #[test]
    fn truncated() {
        assert!(CdcPacket::new_checked(&CDC[..43]).is_err());
        assert_eq!(
            CdcRepr::parse(&CDC[..25], Mode::Strict),
            Err(Error::Check {
                check: KernelCheck::CdcRxLength { received: 25 }
            })
        );
        assert_eq!(
            CdcRepr::parse(&CDC[..25], Mode::Lenient),
            Err(Error::Truncated {
                layer: Layer::Cdc,
                need: 26,
                have: 25,
                at: 0
            })
        );
        // 26 bytes pass the kernel's checks
        let d = CdcRepr::parse(&CDC[..26], Mode::Strict).unwrap();
        assert_eq!(d.repr, repr());
        assert_eq!(
            d.anomalies.iter().copied().collect::<Vec<_>>(),
            vec![Anomaly::AreaTruncated {
                layer: Layer::Cdc,
                at: 26,
                need: 18,
                have: 0
            }]
        );
        assert_eq!(
            repr().emit(&mut [0; 43]),
            Err(Error::BufferTooSmall { need: 44, have: 43 })
        );
        assert_eq!(
            CdcRepr::parse(&[0x01; 44], Mode::Lenient),
            Err(Error::WrongType {
                layer: Layer::Cdc,
                found: 1
            })
        );
    }

    #[test]
    fn flags() {
        // 6.12 close sequence: 0x80, 0x40, 0xC0 (§7.1)
        let f = CdcConnStateFlags(0xc0);
        assert!(f.peer_done_writing() && f.peer_conn_closed() && !f.peer_conn_abort());
        assert_eq!(f.to_string(), "peer_done_writing|peer_conn_closed");
        let p = CdcProducerFlags(0x28);
        assert!(p.urg_data_present() && p.failover_validation());
        assert!(p.contains(CdcProducerFlags::FAILOVER_VALIDATION));
        assert_eq!(CdcProducerFlags(0x81).to_string(), "write_blocked+0x01");
        assert_eq!(CdcProducerFlags(0).to_string(), "-");
        assert_eq!(
            format!("{:?}", CdcConnStateFlags(0x20)),
            "CdcConnStateFlags(0x20 peer_conn_abort)"
        );
        let mut b = CDC;
        b[24] = 0x81;
        b[25] = 0x21;
        let d = CdcRepr::parse(&b, Mode::Strict).unwrap();
        assert_eq!(d.anomalies.len(), 2);
        assert_eq!(d.repr.to_vec().unwrap(), b);
    }
}
