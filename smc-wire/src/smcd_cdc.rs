//! SMC-D CDC header: 32 bytes at offset 0 of the peer's DMBE, written by ISM "move data" with
//! signal, in the **host byte order** of the writing CPU (reference §7.2; kernel `smc_cdc.h`
//! `struct smcd_cdc_msg`, `union smcd_cdc_cursor`).
//!
//! It never travels on a network wire: decode it from a memory dump (a DMB read through a
//! debugger, crash dump or tracing), with the byte order chosen by the caller — big-endian on
//! s390 (native ISM), little-endian for loopback-ism on x86. The receiver validates nothing
//! (`smcd_cdc_rx_tsklet` takes both cursors verbatim), so both modes decode the same way;
//! oddities are anomalies.

use core::fmt;

use crate::cdc::{CdcConnStateFlags, CdcProducerFlags};
use crate::clc::check_out;
use crate::clc::header::array;
use crate::clc::proposal::reserved;
use crate::codes::LlcType;
use crate::error::{p16, Anomalies, Anomaly, Decoded, Error, Layer, Mode};

pub(crate) mod field {
    use crate::field::Field;
    pub const TYPE: usize = 0; // §7.2 common.type = 0xFE (not checked by the receiver)
    pub const RES1: Field = 1..8; // §7.2 res1[7]
    pub const PROD: Field = 8..16; // §7.2 prod (union smcd_cdc_cursor, host order)
    pub const CONS: Field = 16..24; // §7.2 cons (union smcd_cdc_cursor, host order)
    pub const RES3: Field = 24..32; // §7.2 res3[8]
    pub const MSG_LEN: usize = RES3.end; // §7.2 32 bytes; the data ring starts here
    /// Offsets inside one packed 8-byte cursor.
    pub mod cursor {
        use crate::field::Field;
        pub const WRAP: Field = 0..2; // §7.2 cursor wrap, host-order u16
        pub const COUNT: Field = 2..6; // §7.2 cursor count, host-order u32
        pub const PROD_FLAGS: usize = 6; // §7.2 cursor prod_flags (bits as §7.1)
        pub const CONN_STATE_FLAGS: usize = 7; // §7.2 cursor conn_state_flags (bits as §7.1)
    }
}

/// Length of the SMC-D CDC header (32); the DMBE's data ring follows it.
pub const SMCD_CDC_LEN: usize = field::MSG_LEN;

/// The byte order of the CPU that wrote an SMC-D CDC header, chosen by the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum ByteOrder {
    /// s390 (native ISM).
    Big,
    /// x86 and other little-endian hosts (loopback-ism).
    #[default]
    Little,
}

impl ByteOrder {
    fn u16(self, b: &[u8]) -> u16 {
        let a = [b[0], b[1]];
        match self {
            ByteOrder::Big => u16::from_be_bytes(a),
            ByteOrder::Little => u16::from_le_bytes(a),
        }
    }

    fn u32(self, b: &[u8]) -> u32 {
        let a = [b[0], b[1], b[2], b[3]];
        match self {
            ByteOrder::Big => u32::from_be_bytes(a),
            ByteOrder::Little => u32::from_le_bytes(a),
        }
    }

    fn put_u16(self, b: &mut [u8], v: u16) {
        b.copy_from_slice(&match self {
            ByteOrder::Big => v.to_be_bytes(),
            ByteOrder::Little => v.to_le_bytes(),
        });
    }

    fn put_u32(self, b: &mut [u8], v: u32) {
        b.copy_from_slice(&match self {
            ByteOrder::Big => v.to_be_bytes(),
            ByteOrder::Little => v.to_le_bytes(),
        });
    }
}

/// An SMC-D cursor (`union smcd_cdc_cursor`, packed 8 bytes, host order): a ring position plus
/// two flag bytes. Linux puts the flags in the consumer slot only; the producer slot's stay 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct SmcdCdcCursor {
    /// Wrap sequence number.
    pub wrap: u16,
    /// Byte offset in the ring (the ring starts at DMBE offset 32).
    pub count: u32,
    /// Producer flags (meaningful in the consumer slot).
    pub prod_flags: CdcProducerFlags,
    /// Connection state flags (meaningful in the consumer slot).
    pub conn_state_flags: CdcConnStateFlags,
}

impl SmcdCdcCursor {
    fn read(b: &[u8], o: ByteOrder) -> SmcdCdcCursor {
        use field::cursor as f;
        SmcdCdcCursor {
            wrap: o.u16(&b[f::WRAP]),
            count: o.u32(&b[f::COUNT]),
            prod_flags: CdcProducerFlags(b[f::PROD_FLAGS]),
            conn_state_flags: CdcConnStateFlags(b[f::CONN_STATE_FLAGS]),
        }
    }

    fn write(&self, b: &mut [u8], o: ByteOrder) {
        use field::cursor as f;
        o.put_u16(&mut b[f::WRAP], self.wrap);
        o.put_u32(&mut b[f::COUNT], self.count);
        b[f::PROD_FLAGS] = self.prod_flags.0;
        b[f::CONN_STATE_FLAGS] = self.conn_state_flags.0;
    }
}

/// A view of an SMC-D CDC header in a given byte order.
#[derive(Debug, Clone, Copy)]
pub struct SmcdCdcPacket<T: AsRef<[u8]>> {
    buffer: T,
    order: ByteOrder,
}

impl<T: AsRef<[u8]>> SmcdCdcPacket<T> {
    /// Wraps without checks.
    pub const fn new_unchecked(buffer: T, order: ByteOrder) -> Self {
        SmcdCdcPacket { buffer, order }
    }

    /// Wraps a buffer (a DMBE dump) holding at least the 32 header bytes.
    pub fn new_checked(buffer: T, order: ByteOrder) -> Result<Self, Error> {
        let p = Self::new_unchecked(buffer, order);
        p.check_len()?;
        Ok(p)
    }

    /// Checks that the 32 bytes are present; after this no getter panics.
    pub fn check_len(&self) -> Result<(), Error> {
        let have = self.buffer.as_ref().len();
        if have < field::MSG_LEN {
            return Err(Error::Truncated {
                layer: Layer::SmcdCdc,
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

    /// The byte order the view reads in.
    pub fn byte_order(&self) -> ByteOrder {
        self.order
    }
    /// Type byte.
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::TYPE]
    }
    /// Producer cursor.
    pub fn prod(&self) -> SmcdCdcCursor {
        SmcdCdcCursor::read(&self.buffer.as_ref()[field::PROD], self.order)
    }
    /// Consumer cursor (with the flags Linux sends).
    pub fn cons(&self) -> SmcdCdcCursor {
        SmcdCdcCursor::read(&self.buffer.as_ref()[field::CONS], self.order)
    }
}

impl<'a> SmcdCdcPacket<&'a [u8]> {
    /// The DMBE data ring after the header (outlives the view).
    pub fn ring(&self) -> &'a [u8] {
        self.buffer.get(field::MSG_LEN..).unwrap_or(&[])
    }
}

/// An SMC-D CDC header, lossless.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct SmcdCdcRepr {
    /// The writer's byte order (decoded with, emitted in).
    pub byte_order: ByteOrder,
    /// Type byte (Linux 0xFE; not checked by the receiver).
    #[cfg_attr(feature = "serde", serde(rename = "type"))]
    pub msg_type: u8,
    /// Bytes 1–7 (reserved).
    pub res1: [u8; 7],
    /// Producer cursor.
    pub prod: SmcdCdcCursor,
    /// Consumer cursor; its flag bytes are the connection's flags.
    pub cons: SmcdCdcCursor,
    /// Bytes 24–31 (reserved).
    pub res3: [u8; 8],
}

impl Default for SmcdCdcRepr {
    fn default() -> Self {
        SmcdCdcRepr {
            byte_order: ByteOrder::default(),
            msg_type: LlcType::CDC.0,
            res1: [0; 7],
            prod: SmcdCdcCursor::default(),
            cons: SmcdCdcCursor::default(),
            res3: [0; 8],
        }
    }
}

impl SmcdCdcRepr {
    /// Decodes the header from the first 32 bytes of a DMBE dump in the given byte order. The
    /// bytes after it (the data ring) are not looked at. `mode` has no effect: the receiver
    /// checks nothing (§7.2).
    pub fn parse(bytes: &[u8], order: ByteOrder, mode: Mode) -> Result<Decoded<Self>, Error> {
        let _ = mode;
        let mut an = Anomalies::new();
        let p = SmcdCdcPacket::new_checked(bytes, order)?;
        let r = SmcdCdcRepr {
            byte_order: order,
            msg_type: p.msg_type(),
            res1: array(&bytes[field::RES1]),
            prod: p.prod(),
            cons: p.cons(),
            res3: array(&bytes[field::RES3]),
        };
        if r.msg_type != LlcType::CDC.0 {
            an.push(Anomaly::UnexpectedType {
                layer: Layer::SmcdCdc,
                found: r.msg_type,
            });
        }
        reserved(&mut an, Layer::SmcdCdc, field::RES1.start, &r.res1);
        // smcd_cdc_msg_send fills the flags of the consumer slot only
        let prod_flag_bytes = [r.prod.prod_flags.0, r.prod.conn_state_flags.0];
        reserved(
            &mut an,
            Layer::SmcdCdc,
            field::PROD.start + field::cursor::PROD_FLAGS,
            &prod_flag_bytes,
        );
        if r.cons.prod_flags.reserved_bits() != 0 || r.cons.conn_state_flags.reserved_bits() != 0 {
            an.push(Anomaly::NonZeroReserved {
                layer: Layer::SmcdCdc,
                at: p16(field::CONS.start + field::cursor::PROD_FLAGS),
                len: 2,
            });
        }
        reserved(&mut an, Layer::SmcdCdc, field::RES3.start, &r.res3);
        Ok(Decoded {
            repr: r,
            anomalies: an,
        })
    }

    /// Bytes `emit` writes (32).
    pub fn buffer_len(&self) -> usize {
        field::MSG_LEN
    }

    /// Writes the 32 bytes in `byte_order`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        check_out(buf, field::MSG_LEN)?;
        buf[field::TYPE] = self.msg_type;
        buf[field::RES1].copy_from_slice(&self.res1);
        self.prod.write(&mut buf[field::PROD], self.byte_order);
        self.cons.write(&mut buf[field::CONS], self.byte_order);
        buf[field::RES3].copy_from_slice(&self.res3);
        Ok(field::MSG_LEN)
    }

    /// Emits into a new vector.
    pub fn to_vec(&self) -> Result<Vec<u8>, Error> {
        let mut v = vec![0u8; self.buffer_len()];
        self.emit(&mut v)?;
        Ok(v)
    }
}

impl fmt::Display for SmcdCdcRepr {
    /// `SMC-D CDC (LE) prod 0:13 cons 0:0 flags -/-`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = match self.byte_order {
            ByteOrder::Big => "BE",
            ByteOrder::Little => "LE",
        };
        write!(
            f,
            "SMC-D CDC ({o}) prod {}:{} cons {}:{} flags {}/{}",
            self.prod.wrap,
            self.prod.count,
            self.cons.wrap,
            self.cons.count,
            self.cons.prod_flags,
            self.cons.conn_state_flags
        )
    }
}

#[cfg(test)]
mod test {
    use super::*;

    // SYNTHETIC (the SMC-D CDC header is never on a wire, §15): what smcd_cdc_msg_send writes on
    // an x86 loopback-ism host after 4096 bytes sent and 100 consumed, with the peer done
    // writing; offsets checked by hand against the §7.2 table (wrap 8, count 10, flags 22/23).
    #[rustfmt::skip]
    static SMCD_CDC_LE: [u8; 32] = [
        0xfe, 0, 0, 0, 0, 0, 0, 0,
        0x01, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, // prod: wrap 1, count 4096 LE, flags 0
        0x00, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, 0x80, // cons: wrap 0, count 100 LE, 0 / 0x80
        0, 0, 0, 0, 0, 0, 0, 0,
    ];

    fn repr(order: ByteOrder) -> SmcdCdcRepr {
        SmcdCdcRepr {
            byte_order: order,
            msg_type: 0xfe,
            res1: [0; 7],
            prod: SmcdCdcCursor {
                wrap: 1,
                count: 4096,
                ..SmcdCdcCursor::default()
            },
            cons: SmcdCdcCursor {
                wrap: 0,
                count: 100,
                prod_flags: CdcProducerFlags(0),
                conn_state_flags: CdcConnStateFlags::PEER_DONE_WRITING,
            },
            res3: [0; 8],
        }
    }

    #[test]
    fn deconstruct() {
        let p = SmcdCdcPacket::new_checked(&SMCD_CDC_LE[..], ByteOrder::Little).unwrap();
        assert_eq!(p.msg_type(), 0xfe);
        assert_eq!((p.prod().wrap, p.prod().count), (1, 4096));
        assert_eq!(p.cons().count, 100);
        assert!(p.cons().conn_state_flags.peer_done_writing());
        assert!(p.ring().is_empty());
    }

    #[test]
    fn construct_parse_emit() {
        let mut buf = [0xa5u8; 32];
        assert_eq!(repr(ByteOrder::Little).emit(&mut buf), Ok(32));
        assert_eq!(buf, SMCD_CDC_LE);
        let d = SmcdCdcRepr::parse(&SMCD_CDC_LE, ByteOrder::Little, Mode::Strict).unwrap();
        assert_eq!(d.repr, repr(ByteOrder::Little));
        assert!(d.anomalies.is_empty());
        assert_eq!(
            d.repr.to_string(),
            "SMC-D CDC (LE) prod 1:4096 cons 0:100 flags -/peer_done_writing"
        );
    }

    #[test]
    fn big_endian_dump_with_ring() {
        // the same state written by an s390 host, followed by ring data
        let mut dump = [0u8; 40];
        repr(ByteOrder::Big).emit(&mut dump).unwrap();
        assert_eq!(&dump[8..14], &[0x00, 0x01, 0x00, 0x00, 0x10, 0x00]);
        dump[32..].copy_from_slice(b"ringdata");
        let d = SmcdCdcRepr::parse(&dump, ByteOrder::Big, Mode::Lenient).unwrap();
        assert_eq!(d.repr, repr(ByteOrder::Big));
        let p = SmcdCdcPacket::new_checked(&dump[..], ByteOrder::Big).unwrap();
        assert_eq!(p.ring(), b"ringdata");
        // read in the wrong order, the counts are nonsense but nothing fails
        let wrong = SmcdCdcRepr::parse(&dump, ByteOrder::Little, Mode::Strict).unwrap();
        assert_eq!(wrong.repr.prod.wrap, 0x0100);
    }

    #[test]
    fn truncated_and_odd() {
        assert_eq!(
            SmcdCdcRepr::parse(&SMCD_CDC_LE[..31], ByteOrder::Little, Mode::Lenient),
            Err(Error::Truncated {
                layer: Layer::SmcdCdc,
                need: 32,
                have: 31,
                at: 0
            })
        );
        let mut odd = SMCD_CDC_LE;
        odd[0] = 0;
        odd[14] = 0x80;
        let d = SmcdCdcRepr::parse(&odd, ByteOrder::Little, Mode::Strict).unwrap();
        assert_eq!(
            d.anomalies.iter().copied().collect::<Vec<_>>(),
            vec![
                Anomaly::UnexpectedType {
                    layer: Layer::SmcdCdc,
                    found: 0
                },
                Anomaly::NonZeroReserved {
                    layer: Layer::SmcdCdc,
                    at: 14,
                    len: 2
                }
            ]
        );
        assert_eq!(d.repr.to_vec().unwrap(), odd);
        assert_eq!(
            repr(ByteOrder::Big).emit(&mut [0; 31]),
            Err(Error::BufferTooSmall { need: 32, have: 31 })
        );
    }
}
