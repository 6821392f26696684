//! RoCE carriage of SMC-R (reference §8.4): the InfiniBand Base Transport Header (BTH) inside
//! UDP port 4791 (RoCEv2) or after a 40-byte Global Route Header on Ethertype 0x8915 (RoCEv1),
//! the RDMA Extended Transport Header (RETH) of RDMA WRITE First/Only, and the classification of
//! a SEND payload as LLC v1, LLC v2 or CDC the way the kernel's receive path does it
//! (`smc_wr_rx_demultiplex`, `smc_llc_rx_handler`, `smc_cdc_rx_handler`).
//!
//! Entry points for a dissector:
//! * a UDP/4791 payload: [`RocePacket::parse_v2`];
//! * an Ethernet payload with Ethertype 0x8915: [`RocePacket::parse_v1`];
//! * then [`RocePacket::content`] (SEND / RDMA WRITE / other) and, for a SEND Only,
//!   [`RocePacket::smc`] to decode the LLC or CDC message.
//!
//! Ethernet, IP and UDP are the caller's business. The ICRC is kept but not verified. RDMA WRITE
//! payloads (the connection's data) are left opaque.

use core::fmt;

use crate::cdc::CdcRepr;
use crate::clc::header::{array, be16, be24, be32, be64};
use crate::clc::{check_out, RoceGid};
use crate::codes::{code_points, LlcType};
use crate::error::{Decoded, Error, KernelCheck, Layer, Mode};
use crate::llc::{self, HostOrder, LlcRepr};

pub(crate) mod field {
    /// Base Transport Header (12 bytes).
    pub mod bth {
        use crate::field::Field;
        pub const OPCODE: usize = 0; // §8.4 BTH opcode
        pub const FLAGS: usize = 1; // §8.4 BTH SE (bit 7), M (bit 6), PadCnt (5-4), TVer (3-0)
        pub const PKEY: Field = 2..4; // §8.4 BTH P_Key
        pub const RESV8A: usize = 4; // §8.4 BTH reserved byte (RoCEv2: FECN bit 7, BECN bit 6)
        pub const DEST_QP: Field = 5..8; // §8.4 BTH DestQP, BE24
        pub const ACK_REQ: usize = 8; // §8.4 BTH AckReq (bit 7) + reserved (6-0)
        pub const PSN: Field = 9..12; // §8.4 BTH PSN, BE24
        pub const LEN: usize = PSN.end; // §8.4 BTH, 12 bytes
        pub const SE: u8 = 0x80; // §8.4 solicited event (every SMC SEND)
        pub const MIG: u8 = 0x40; // §8.4 MigReq
        pub const PAD_MASK: u8 = 0x30; // §8.4 PadCnt: pad bytes before the ICRC
        pub const PAD_SHIFT: u32 = 4; // §8.4 PadCnt position
        pub const TVER_MASK: u8 = 0x0f; // §8.4 transport header version (0)
        pub const ACK: u8 = 0x80; // §8.4 AckReq
    }
    /// Global Route Header (40 bytes, IPv6-like; RoCEv1 only).
    pub mod grh {
        use crate::field::Field;
        pub const VER_TCLASS_FLOW: Field = 0..4; // §8.4 GRH IPVer(4) TClass(8) FlowLabel(20)
        pub const IP_VER_SHIFT: u32 = 28; // §8.4 GRH IPVer, bits 31-28 of the first word
        pub const TCLASS_SHIFT: u32 = 20; // §8.4 GRH TClass, bits 27-20
        pub const FLOW_MASK: u32 = 0x000f_ffff; // §8.4 GRH FlowLabel, bits 19-0
        pub const IP_VER_MASK: u8 = 0x0f; // §8.4 GRH IPVer is 4 bits
        pub const PAY_LEN: Field = 4..6; // §8.4 GRH PayLen: bytes after the GRH, ICRC included
        pub const NXT_HDR: usize = 6; // §8.4 GRH NxtHdr (0x1B = BTH)
        pub const HOP_LMT: usize = 7; // §8.4 GRH HopLmt
        pub const SGID: Field = 8..24; // §8.4 GRH SGID
        pub const DGID: Field = 24..40; // §8.4 GRH DGID
        pub const LEN: usize = DGID.end; // §8.4 GRH, 40 bytes
        pub const NXT_HDR_BTH: u8 = 0x1b; // §8.4 IBA: next header is a BTH
    }
    /// RDMA Extended Transport Header (16 bytes).
    pub mod reth {
        use crate::field::Field;
        pub const VA: Field = 0..8; // §8.4 RETH virtual address
        pub const R_KEY: Field = 8..12; // §8.4 RETH R_Key
        pub const DMA_LEN: Field = 12..16; // §8.4 RETH DMA length (unpadded)
        pub const LEN: usize = DMA_LEN.end; // §8.4 RETH, 16 bytes
    }
    pub const IMMDT_LEN: usize = 4; // §8.4 ImmDt extension header
    pub const AETH_LEN: usize = 4; // §8.4 AETH extension header (ACKs, read responses)
    pub const IETH_LEN: usize = 4; // §8.4 IETH extension header (SEND with invalidate)
    pub const ATOMIC_ETH_LEN: usize = 28; // §8.4 AtomicETH (compare-swap, fetch-add)
    pub const ATOMIC_ACK_ETH_LEN: usize = 8; // §8.4 AtomicAckETH
    pub const ICRC_LEN: usize = 4; // §8.4 ICRC trails the payload
}

/// The UDP destination port of RoCEv2.
pub const ROCEV2_UDP_PORT: u16 = 4791;
/// The Ethertype of RoCEv1.
pub const ROCEV1_ETHERTYPE: u16 = 0x8915;

code_points! {
    /// BTH opcode (RC transport, IBTA; Linux `IB_OPCODE_RC_*`), §8.4.
    pub struct BthOpcode(u8);
    table BTH_OPCODES;
    hex_width 2;
    serialize name;
    RC_SEND_FIRST = 0x00, Current, "SEND First (a v2 LLC larger than the path MTU)";
    RC_SEND_MIDDLE = 0x01, Current, "SEND Middle";
    RC_SEND_LAST = 0x02, Current, "SEND Last";
    RC_SEND_LAST_WITH_IMMEDIATE = 0x03, Current, "SEND Last with immediate";
    RC_SEND_ONLY = 0x04, Current, "SEND Only (every CDC and every LLC up to the path MTU)";
    RC_SEND_ONLY_WITH_IMMEDIATE = 0x05, Current, "SEND Only with immediate";
    RC_RDMA_WRITE_FIRST = 0x06, Current, "RDMA WRITE First (RETH)";
    RC_RDMA_WRITE_MIDDLE = 0x07, Current, "RDMA WRITE Middle";
    RC_RDMA_WRITE_LAST = 0x08, Current, "RDMA WRITE Last";
    RC_RDMA_WRITE_LAST_WITH_IMMEDIATE = 0x09, Current, "RDMA WRITE Last with immediate";
    RC_RDMA_WRITE_ONLY = 0x0a, Current, "RDMA WRITE Only (RETH): SMC-R data";
    RC_RDMA_WRITE_ONLY_WITH_IMMEDIATE = 0x0b, Current, "RDMA WRITE Only with immediate (RETH)";
    RC_RDMA_READ_REQUEST = 0x0c, Current, "RDMA READ Request (RETH)";
    RC_RDMA_READ_RESPONSE_FIRST = 0x0d, Current, "RDMA READ Response First (AETH)";
    RC_RDMA_READ_RESPONSE_MIDDLE = 0x0e, Current, "RDMA READ Response Middle";
    RC_RDMA_READ_RESPONSE_LAST = 0x0f, Current, "RDMA READ Response Last (AETH)";
    RC_RDMA_READ_RESPONSE_ONLY = 0x10, Current, "RDMA READ Response Only (AETH)";
    RC_ACKNOWLEDGE = 0x11, Current, "Acknowledge (AETH)";
    RC_ATOMIC_ACKNOWLEDGE = 0x12, Current, "Atomic Acknowledge (AETH, AtomicAckETH)";
    RC_COMPARE_SWAP = 0x13, Current, "Compare and swap (AtomicETH)";
    RC_FETCH_ADD = 0x14, Current, "Fetch and add (AtomicETH)";
    RC_SEND_LAST_WITH_INVALIDATE = 0x16, Current, "SEND Last with invalidate (IETH)";
    RC_SEND_ONLY_WITH_INVALIDATE = 0x17, Current, "SEND Only with invalidate (IETH)";
    CNP = 0x81, Current, "RoCEv2 congestion notification packet";
}

impl BthOpcode {
    /// True for the RC transport (opcodes 0x00–0x1F), the only one SMC-R uses.
    pub fn is_rc(self) -> bool {
        self.0 < 0x20
    }
    /// SEND carrying a whole message (Only, with immediate, with invalidate).
    pub fn is_send_only(self) -> bool {
        matches!(self.0, 0x04 | 0x05 | 0x17)
    }
    /// Any SEND packet.
    pub fn is_send(self) -> bool {
        matches!(self.0, 0x00..=0x05 | 0x16 | 0x17)
    }
    /// Any RDMA WRITE packet.
    pub fn is_rdma_write(self) -> bool {
        matches!(self.0, 0x06..=0x0b)
    }
    /// Followed by a RETH.
    pub fn has_reth(self) -> bool {
        matches!(self.0, 0x06 | 0x0a | 0x0b | 0x0c)
    }
    /// Followed by an AETH.
    pub fn has_aeth(self) -> bool {
        matches!(self.0, 0x0d | 0x0f | 0x10 | 0x11 | 0x12)
    }
    /// Carries immediate data.
    pub fn has_immdt(self) -> bool {
        matches!(self.0, 0x03 | 0x05 | 0x09 | 0x0b)
    }
    /// Carries an IETH.
    pub fn has_ieth(self) -> bool {
        matches!(self.0, 0x16 | 0x17)
    }
    /// Length of the atomic extension header, if any.
    pub fn atomic_len(self) -> usize {
        match self.0 {
            0x13 | 0x14 => field::ATOMIC_ETH_LEN,
            0x12 => field::ATOMIC_ACK_ETH_LEN,
            _ => 0,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// BTH

/// A view of a BTH.
#[derive(Debug, Clone, Copy)]
pub struct BthPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> BthPacket<T> {
    /// Wraps without checks.
    pub const fn new_unchecked(buffer: T) -> Self {
        BthPacket { buffer }
    }
    /// Wraps a buffer holding the 12 bytes.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        need(buffer.as_ref(), field::bth::LEN, Layer::Bth, 0)?;
        Ok(Self::new_unchecked(buffer))
    }
    /// Gives back the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
    /// Opcode.
    pub fn opcode(&self) -> BthOpcode {
        BthOpcode(self.buffer.as_ref()[field::bth::OPCODE])
    }
    /// Solicited event.
    pub fn solicited_event(&self) -> bool {
        self.buffer.as_ref()[field::bth::FLAGS] & field::bth::SE != 0
    }
    /// MigReq.
    pub fn mig_req(&self) -> bool {
        self.buffer.as_ref()[field::bth::FLAGS] & field::bth::MIG != 0
    }
    /// Pad count.
    pub fn pad_count(&self) -> u8 {
        (self.buffer.as_ref()[field::bth::FLAGS] & field::bth::PAD_MASK) >> field::bth::PAD_SHIFT
    }
    /// Transport header version.
    pub fn tver(&self) -> u8 {
        self.buffer.as_ref()[field::bth::FLAGS] & field::bth::TVER_MASK
    }
    /// Partition key.
    pub fn pkey(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::bth::PKEY])
    }
    /// Destination QP.
    pub fn dest_qp(&self) -> u32 {
        be24(&self.buffer.as_ref()[field::bth::DEST_QP])
    }
    /// AckReq.
    pub fn ack_req(&self) -> bool {
        self.buffer.as_ref()[field::bth::ACK_REQ] & field::bth::ACK != 0
    }
    /// Packet sequence number.
    pub fn psn(&self) -> u32 {
        be24(&self.buffer.as_ref()[field::bth::PSN])
    }
}

/// The Base Transport Header, lossless.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct BthRepr {
    /// Opcode.
    pub opcode: BthOpcode,
    /// SE: solicited event (set on every SMC SEND).
    pub solicited_event: bool,
    /// M: migration request.
    pub mig_req: bool,
    /// PadCnt (0–3): pad bytes between payload and ICRC.
    pub pad_count: u8,
    /// TVer (4 bits, 0).
    pub tver: u8,
    /// P_Key.
    pub pkey: u16,
    /// Byte 4 (reserved; RoCEv2 FECN/BECN).
    pub resv8a: u8,
    /// DestQP (24 bits): the QP number the receiver announced in its CLC message.
    pub dest_qp: u32,
    /// A: acknowledge request.
    pub ack_req: bool,
    /// Byte 8 bits 6-0 (reserved).
    pub resv7: u8,
    /// PSN (24 bits).
    pub psn: u32,
}

impl BthRepr {
    /// Decodes the first 12 bytes (the transport checks nothing SMC-specific; `mode` unused).
    pub fn parse(bytes: &[u8], mode: Mode) -> Result<Decoded<Self>, Error> {
        let _ = mode;
        let p = BthPacket::new_checked(bytes)?;
        Ok(Decoded {
            repr: BthRepr {
                opcode: p.opcode(),
                solicited_event: p.solicited_event(),
                mig_req: p.mig_req(),
                pad_count: p.pad_count(),
                tver: p.tver(),
                pkey: p.pkey(),
                resv8a: bytes[field::bth::RESV8A],
                dest_qp: p.dest_qp(),
                ack_req: p.ack_req(),
                resv7: bytes[field::bth::ACK_REQ] & !field::bth::ACK,
                psn: p.psn(),
            },
            anomalies: crate::error::Anomalies::new(),
        })
    }

    /// Brings the bit fields into range (PadCnt 2 bits, TVer 4, reserved 7, QP and PSN 24).
    pub fn normalize(&mut self) {
        use field::bth as f;
        self.pad_count &= f::PAD_MASK >> f::PAD_SHIFT;
        self.tver &= f::TVER_MASK;
        self.resv7 &= !f::ACK;
        self.dest_qp &= crate::llc::field::U24_MAX;
        self.psn &= crate::llc::field::U24_MAX;
    }

    /// Bytes `emit` writes (12).
    pub fn buffer_len(&self) -> usize {
        field::bth::LEN
    }

    /// Writes the 12 bytes.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        use field::bth as f;
        check_out(buf, f::LEN)?;
        if self.pad_count > f::PAD_MASK >> f::PAD_SHIFT
            || self.tver > f::TVER_MASK
            || self.resv7 > !f::ACK
        {
            return Err(Error::FieldOverflow { field: "BTH flags" });
        }
        buf[f::OPCODE] = self.opcode.0;
        buf[f::FLAGS] = (u8::from(self.solicited_event) * f::SE)
            | (u8::from(self.mig_req) * f::MIG)
            | (self.pad_count << f::PAD_SHIFT)
            | self.tver;
        buf[f::PKEY].copy_from_slice(&self.pkey.to_be_bytes());
        buf[f::RESV8A] = self.resv8a;
        llc::put_be24(&mut buf[f::DEST_QP], self.dest_qp, "dest_qp")?;
        buf[f::ACK_REQ] = (u8::from(self.ack_req) * f::ACK) | self.resv7;
        llc::put_be24(&mut buf[f::PSN], self.psn, "psn")?;
        Ok(f::LEN)
    }
}

impl fmt::Display for BthRepr {
    /// `RC_SEND_ONLY qp 263 psn 0x7b2894 SE M A pkey 0xffff`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} qp {} psn 0x{:06x}",
            self.opcode, self.dest_qp, self.psn
        )?;
        for (on, s) in [
            (self.solicited_event, " SE"),
            (self.mig_req, " M"),
            (self.ack_req, " A"),
        ] {
            if on {
                f.write_str(s)?;
            }
        }
        if self.pad_count != 0 {
            write!(f, " pad {}", self.pad_count)?;
        }
        write!(f, " pkey 0x{:04x}", self.pkey)
    }
}

// ---------------------------------------------------------------------------------------------
// GRH

/// The Global Route Header (RoCEv1), lossless.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct GrhRepr {
    /// IPVer (4 bits, 6).
    pub ip_ver: u8,
    /// TClass.
    pub traffic_class: u8,
    /// FlowLabel (20 bits).
    pub flow_label: u32,
    /// PayLen: bytes after the GRH up to and including the ICRC.
    pub pay_len: u16,
    /// NxtHdr (0x1B: BTH).
    pub nxt_hdr: u8,
    /// HopLmt.
    pub hop_lmt: u8,
    /// Source GID.
    pub sgid: RoceGid,
    /// Destination GID.
    pub dgid: RoceGid,
}

impl GrhRepr {
    /// Decodes the first 40 bytes (`mode` unused; a next header other than BTH is for the caller
    /// to judge, [`RocePacket::parse_v1`] rejects it).
    pub fn parse(bytes: &[u8], mode: Mode) -> Result<Decoded<Self>, Error> {
        use field::grh as f;
        let _ = mode;
        need(bytes, f::LEN, Layer::Grh, 0)?;
        let w = be32(&bytes[f::VER_TCLASS_FLOW]);
        Ok(Decoded {
            repr: GrhRepr {
                ip_ver: (w >> f::IP_VER_SHIFT) as u8,
                traffic_class: (w >> f::TCLASS_SHIFT) as u8,
                flow_label: w & f::FLOW_MASK,
                pay_len: be16(&bytes[f::PAY_LEN]),
                nxt_hdr: bytes[f::NXT_HDR],
                hop_lmt: bytes[f::HOP_LMT],
                sgid: RoceGid(array(&bytes[f::SGID])),
                dgid: RoceGid(array(&bytes[f::DGID])),
            },
            anomalies: crate::error::Anomalies::new(),
        })
    }

    /// Brings IPVer (4 bits) and FlowLabel (20 bits) into range.
    pub fn normalize(&mut self) {
        self.ip_ver &= field::grh::IP_VER_MASK;
        self.flow_label &= field::grh::FLOW_MASK;
    }

    /// Bytes `emit` writes (40).
    pub fn buffer_len(&self) -> usize {
        field::grh::LEN
    }

    /// Writes the 40 bytes.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        use field::grh as f;
        check_out(buf, f::LEN)?;
        if self.ip_ver > f::IP_VER_MASK || self.flow_label > f::FLOW_MASK {
            return Err(Error::FieldOverflow {
                field: "GRH IPVer/FlowLabel",
            });
        }
        let w = (u32::from(self.ip_ver) << f::IP_VER_SHIFT)
            | (u32::from(self.traffic_class) << f::TCLASS_SHIFT)
            | self.flow_label;
        buf[f::VER_TCLASS_FLOW].copy_from_slice(&w.to_be_bytes());
        buf[f::PAY_LEN].copy_from_slice(&self.pay_len.to_be_bytes());
        buf[f::NXT_HDR] = self.nxt_hdr;
        buf[f::HOP_LMT] = self.hop_lmt;
        buf[f::SGID].copy_from_slice(&self.sgid.0);
        buf[f::DGID].copy_from_slice(&self.dgid.0);
        Ok(f::LEN)
    }
}

// ---------------------------------------------------------------------------------------------
// RETH

/// The RDMA Extended Transport Header of RDMA WRITE First/Only (§8.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct RethRepr {
    /// Virtual address: the receiver's RMB vaddr + RMBE offset + producer count before the write.
    pub va: u64,
    /// R_Key: the receiver's CLC rkey.
    pub rkey: u32,
    /// DMA length (unpadded; the whole WRITE, all packets).
    pub dma_len: u32,
}

impl RethRepr {
    fn read(b: &[u8]) -> RethRepr {
        use field::reth as f;
        RethRepr {
            va: be64(&b[f::VA]),
            rkey: be32(&b[f::R_KEY]),
            dma_len: be32(&b[f::DMA_LEN]),
        }
    }

    fn write(&self, b: &mut [u8]) {
        use field::reth as f;
        b[f::VA].copy_from_slice(&self.va.to_be_bytes());
        b[f::R_KEY].copy_from_slice(&self.rkey.to_be_bytes());
        b[f::DMA_LEN].copy_from_slice(&self.dma_len.to_be_bytes());
    }
}

// ---------------------------------------------------------------------------------------------
// SEND classification

/// What the kernel's receive path makes of a SEND payload (§8.4 heuristic, §9.3 checks).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(tag = "class", rename_all = "snake_case"))]
pub enum SendClass {
    /// A CDC that passes `smc_cdc_rx_handler`'s length checks.
    Cdc,
    /// An LLC with version nibble 0 that passes `smc_llc_rx_handler`.
    LlcV1 {
        /// The type byte.
        llc_type: LlcType,
    },
    /// An LLC with version nibble ≠ 0 that passes `smc_llc_rx_handler`, with the byte order its
    /// `length_v2` was found in (little-endian from x86, §8.1).
    LlcV2 {
        /// The type byte.
        llc_type: LlcType,
        /// Order of `length_v2`.
        order: HostOrder,
    },
    /// A v2 LLC whose `length_v2` is below 44 in one byte order and not in the other, and the
    /// layout confirms neither order: `smc_llc_rx_handler` reads it in the receiving CPU's
    /// order, so a receiver of one order drops the message and one of the other accepts it
    /// (§8.1, §9.3). Not [`is_accepted`](Self::is_accepted).
    LlcV2OrderDependent {
        /// The type byte.
        llc_type: LlcType,
        /// `length_v2` read little-endian (an x86 receiver).
        little: u16,
        /// `length_v2` read big-endian (an s390 receiver).
        big: u16,
    },
    /// A zero-length SEND (`smc_wr_rx_demultiplex` drops it).
    Empty,
    /// The kernel drops it; the first check that fails.
    Dropped {
        /// The failed check.
        #[cfg_attr(feature = "serde", serde(flatten))]
        check: KernelCheck,
    },
}

impl SendClass {
    /// Classifies a whole SEND payload as the receiving kernel would: demultiplex on the full
    /// type byte, then the handler's length checks. A v2 LLC's `length_v2` is read in whichever
    /// order matches the message (a big-endian-only check misses every x86 v2 LLC, §12 #5);
    /// when neither order matches and only one passes the check, the answer depends on the
    /// receiver's byte order ([`SendClass::LlcV2OrderDependent`]).
    pub fn of(payload: &[u8]) -> SendClass {
        let Some(&t) = payload.first() else {
            return SendClass::Empty;
        };
        let llc_type = LlcType(t);
        let dropped = |check| SendClass::Dropped { check };
        if !llc_type.is_registered() {
            return dropped(KernelCheck::WrRxType { type_byte: t });
        }
        let received = payload.len();
        if llc_type.is_cdc() {
            return match payload.get(crate::cdc::field::LEN) {
                _ if received < crate::cdc::field::MIN_RX_LEN => {
                    dropped(KernelCheck::CdcRxLength {
                        received: crate::error::p16(received),
                    })
                }
                Some(&len) if usize::from(len) != crate::cdc::field::MSG_LEN => {
                    dropped(KernelCheck::CdcLengthByte { length: len })
                }
                _ => SendClass::Cdc,
            };
        }
        if received < llc::LLC_MSG_LEN {
            return dropped(KernelCheck::LlcRxLength {
                received: crate::error::p16(received),
            });
        }
        let p = llc::LlcPacket::new_unchecked(payload);
        if p.version() == 0 {
            let length = p.length();
            if usize::from(length) != llc::LLC_MSG_LEN {
                return dropped(KernelCheck::LlcV1LengthByte { length });
            }
            return SendClass::LlcV1 { llc_type };
        }
        let raw = p.length_v2_bytes();
        let expected = llc::layout_len(llc_type, received);
        let order = HostOrder::detect(raw, Some(expected), None);
        let (little, big) = (u16::from_le_bytes(raw), u16::from_be_bytes(raw));
        let short = |v: u16| usize::from(v) < llc::LLC_MSG_LEN;
        let confirmed = usize::from(little) == expected || usize::from(big) == expected;
        if !confirmed && short(little) != short(big) {
            // the receiver checks length_v2 in its own order (smc_llc_rx_handler, §8.1)
            return SendClass::LlcV2OrderDependent {
                llc_type,
                little,
                big,
            };
        }
        let length = order.read(raw);
        if usize::from(length) < llc::LLC_MSG_LEN {
            return dropped(KernelCheck::LlcV2Length { length });
        }
        SendClass::LlcV2 { llc_type, order }
    }

    /// True when the kernel hands the message to the LLC or CDC layer.
    pub fn is_accepted(&self) -> bool {
        matches!(
            self,
            SendClass::Cdc | SendClass::LlcV1 { .. } | SendClass::LlcV2 { .. }
        )
    }
}

/// A decoded SMC message carried in a SEND.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmcSend<'a> {
    /// An LLC message.
    Llc(Decoded<LlcRepr<'a>>),
    /// An SMC-R CDC message.
    Cdc(Decoded<CdcRepr>),
}

impl<'a> SmcSend<'a> {
    /// Decodes a whole SEND payload as CDC (type 0xFE) or LLC (anything else).
    pub fn parse(payload: &'a [u8], mode: Mode) -> Result<SmcSend<'a>, Error> {
        if payload.first() == Some(&LlcType::CDC.0) {
            CdcRepr::parse(payload, mode).map(SmcSend::Cdc)
        } else {
            LlcRepr::parse(payload, mode).map(SmcSend::Llc)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A whole RoCE packet

/// What a RoCE packet carries, as far as SMC-R is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RoceContent<'a> {
    /// A SEND Only: one whole LLC or CDC message (or something the kernel drops).
    Send {
        /// The kernel's verdict.
        class: SendClass,
        /// The payload (pad removed).
        payload: &'a [u8],
    },
    /// SEND First: the start of a v2 LLC longer than the path MTU. Concatenate it with the
    /// following Middle/Last payloads of the same QP (by PSN) and classify the whole with
    /// [`SendClass::of`].
    SendFirst {
        /// The payload.
        payload: &'a [u8],
    },
    /// SEND Middle or Last.
    SendMore {
        /// True for SEND Last.
        last: bool,
        /// The payload.
        payload: &'a [u8],
    },
    /// RDMA WRITE: connection data, opaque. First and Only packets carry the RETH.
    RdmaWrite {
        /// Where and how much (First/Only).
        reth: Option<RethRepr>,
        /// Payload bytes in this packet (pad removed).
        len: usize,
    },
    /// Anything else (ACK, READ, atomics, other transports).
    Other,
}

/// One RoCE packet from the BTH (v2) or GRH (v1) to the ICRC, lossless.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RocePacket<'a> {
    /// The GRH (RoCEv1 only).
    pub grh: Option<GrhRepr>,
    /// The BTH.
    pub bth: BthRepr,
    /// The RETH (RDMA WRITE First/Only, READ Request).
    pub reth: Option<RethRepr>,
    /// Other extension headers after BTH/RETH (AETH, atomics, ImmDt, IETH), raw.
    pub ext: &'a [u8],
    /// The payload, pad removed.
    pub payload: &'a [u8],
    /// The pad bytes (`pad_count` of them).
    pub pad: &'a [u8],
    /// The ICRC (not verified).
    pub icrc: [u8; 4],
    /// Bytes after the ICRC that the GRH's PayLen excludes (Ethernet padding; RoCEv1 only).
    pub trailer: &'a [u8],
}

impl<'a> RocePacket<'a> {
    /// Decodes a RoCEv2 packet: the payload of a UDP datagram to port 4791.
    pub fn parse_v2(udp_payload: &'a [u8]) -> Result<Self, Error> {
        Self::parse_from_bth(udp_payload, None, 0, &[])
    }

    /// Decodes a RoCEv1 packet: the payload of an Ethernet frame with Ethertype 0x8915 (GRH
    /// first). The GRH's PayLen bounds the packet; bytes after it are kept as `trailer`.
    pub fn parse_v1(eth_payload: &'a [u8]) -> Result<Self, Error> {
        use field::grh as f;
        let grh = GrhRepr::parse(eth_payload, Mode::Lenient)?.repr;
        if grh.nxt_hdr != f::NXT_HDR_BTH {
            return Err(Error::WrongType {
                layer: Layer::Grh,
                found: grh.nxt_hdr,
            });
        }
        let rest = &eth_payload[f::LEN..];
        let pay_len = usize::from(grh.pay_len);
        need(rest, pay_len, Layer::Grh, f::LEN)?;
        let (pkt, trailer) = rest.split_at(pay_len);
        Self::parse_from_bth(pkt, Some(grh), f::LEN, trailer)
    }

    fn parse_from_bth(
        b: &'a [u8],
        grh: Option<GrhRepr>,
        base: usize,
        trailer: &'a [u8],
    ) -> Result<Self, Error> {
        let bth = BthRepr::parse(b, Mode::Lenient)
            .map_err(|e| shift(e, base))?
            .repr;
        let op = bth.opcode;
        let mut at = field::bth::LEN;
        let mut reth = None;
        let mut ext_len = 0;
        if op.is_rc() {
            if op.has_reth() {
                need(b, at + field::reth::LEN, Layer::Reth, base)?;
                reth = Some(RethRepr::read(&b[at..at + field::reth::LEN]));
                at += field::reth::LEN;
            }
            ext_len = op.atomic_len()
                + usize::from(op.has_aeth()) * field::AETH_LEN
                + usize::from(op.has_immdt()) * field::IMMDT_LEN
                + usize::from(op.has_ieth()) * field::IETH_LEN;
        }
        let body_end = b.len().checked_sub(field::ICRC_LEN);
        let Some(body_end) = body_end.filter(|e| *e >= at + ext_len) else {
            return Err(Error::Truncated {
                layer: Layer::Bth,
                need: at + ext_len + field::ICRC_LEN,
                have: b.len(),
                at: base,
            });
        };
        let ext = &b[at..at + ext_len];
        let data = &b[at + ext_len..body_end];
        let pad_len = usize::from(bth.pad_count);
        let Some(payload_len) = data.len().checked_sub(pad_len) else {
            return Err(Error::Truncated {
                layer: Layer::Bth,
                need: pad_len,
                have: data.len(),
                at: base + at + ext_len,
            });
        };
        let (payload, pad) = data.split_at(payload_len);
        Ok(RocePacket {
            grh,
            bth,
            reth,
            ext,
            payload,
            pad,
            icrc: array(&b[body_end..]),
            trailer,
        })
    }

    /// True for RoCEv2 (no GRH).
    pub fn is_v2(&self) -> bool {
        self.grh.is_none()
    }

    /// What the packet carries.
    pub fn content(&self) -> RoceContent<'a> {
        let op = self.bth.opcode;
        if !op.is_rc() {
            return RoceContent::Other;
        }
        if op.is_send_only() {
            RoceContent::Send {
                class: SendClass::of(self.payload),
                payload: self.payload,
            }
        } else if op == BthOpcode::RC_SEND_FIRST {
            RoceContent::SendFirst {
                payload: self.payload,
            }
        } else if op.is_send() {
            RoceContent::SendMore {
                last: op != BthOpcode::RC_SEND_MIDDLE,
                payload: self.payload,
            }
        } else if op.is_rdma_write() {
            RoceContent::RdmaWrite {
                reth: self.reth,
                len: self.payload.len(),
            }
        } else {
            RoceContent::Other
        }
    }

    /// Decodes the SMC message of a SEND Only whose class the kernel accepts (strict mode then
    /// succeeds unless `smc_llc_eval_conf_link` objects); `None` for other packets.
    pub fn smc(&self, mode: Mode) -> Option<Result<SmcSend<'a>, Error>> {
        match self.content() {
            RoceContent::Send { payload, class } if class != SendClass::Empty => {
                Some(SmcSend::parse(payload, mode))
            }
            _ => None,
        }
    }

    /// Bytes `emit` writes: [GRH] BTH [RETH] ext payload pad ICRC [trailer].
    pub fn buffer_len(&self) -> usize {
        self.grh.map_or(0, |g| g.buffer_len())
            + field::bth::LEN
            + self.reth.map_or(0, |_| field::reth::LEN)
            + self.ext.len()
            + self.payload.len()
            + self.pad.len()
            + field::ICRC_LEN
            + self.trailer.len()
    }

    /// Writes the packet byte-exact (the GRH's PayLen and the BTH's PadCnt as given).
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        let total = self.buffer_len();
        check_out(buf, total)?;
        let mut at = 0;
        if let Some(g) = &self.grh {
            at += g.emit(&mut buf[at..])?;
        }
        at += self.bth.emit(&mut buf[at..])?;
        if let Some(r) = &self.reth {
            r.write(&mut buf[at..at + field::reth::LEN]);
            at += field::reth::LEN;
        }
        for part in [self.ext, self.payload, self.pad, &self.icrc, self.trailer] {
            buf[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        Ok(at)
    }
}

impl fmt::Display for RocePacket<'_> {
    /// `RoCEv2 RC_SEND_ONLY qp 263 psn 0x7b2894 SE M A pkey 0xffff len 44`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = if self.is_v2() { "RoCEv2" } else { "RoCEv1" };
        write!(f, "{v} {} len {}", self.bth, self.payload.len())?;
        if let Some(r) = &self.reth {
            write!(
                f,
                " va 0x{:x} rkey 0x{:x} dma_len {}",
                r.va, r.rkey, r.dma_len
            )?;
        }
        Ok(())
    }
}

fn need(b: &[u8], n: usize, layer: Layer, base: usize) -> Result<(), Error> {
    if b.len() < n {
        return Err(Error::Truncated {
            layer,
            need: n,
            have: b.len(),
            at: base,
        });
    }
    Ok(())
}

fn shift(e: Error, base: usize) -> Error {
    match e {
        Error::Truncated {
            layer,
            need,
            have,
            at,
        } => Error::Truncated {
            layer,
            need,
            have,
            at: at + base,
        },
        other => other,
    }
}

#[cfg(test)]
mod test {
    use super::*;

    // hwipl/smc-go @ca917b02 pkg/roce/bth_test.go (reference §10)
    static BTH: [u8; 12] = [
        0x04, 0xc0, 0xff, 0xff, 0x00, 0x00, 0x01, 0x07, 0x80, 0x7b, 0x28, 0x94,
    ];

    // hwipl/smc-go @ca917b02 pkg/roce/grh_test.go
    #[rustfmt::skip]
    static GRH: [u8; 40] = [
        0x60, 0x20, 0x00, 0x00, 0x00, 0x3c, 0x1b, 0x01,
        0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x9a, 0x03, 0x9b, 0xff, 0xfe, 0xab, 0xcd, 0xef,
        0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x9a, 0x03, 0x9b, 0xff, 0xfe, 0xab, 0xcd, 0xef,
    ];

    fn bth() -> BthRepr {
        BthRepr {
            opcode: BthOpcode::RC_SEND_ONLY,
            solicited_event: true,
            mig_req: true,
            pad_count: 0,
            tver: 0,
            pkey: 0xffff,
            resv8a: 0,
            dest_qp: 263,
            ack_req: true,
            resv7: 0,
            psn: 0x7b2894,
        }
    }

    fn grh() -> GrhRepr {
        let gid = RoceGid([
            0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x9a, 0x03, 0x9b, 0xff, 0xfe, 0xab, 0xcd, 0xef,
        ]);
        GrhRepr {
            ip_ver: 6,
            traffic_class: 2,
            flow_label: 0,
            pay_len: 60,
            nxt_hdr: 0x1b,
            hop_lmt: 1,
            sgid: gid,
            dgid: gid,
        }
    }

    #[test]
    fn bth_deconstruct_construct() {
        let p = BthPacket::new_checked(&BTH[..]).unwrap();
        assert_eq!(p.opcode(), BthOpcode::RC_SEND_ONLY);
        assert!(p.solicited_event() && p.mig_req() && p.ack_req());
        assert_eq!((p.pad_count(), p.tver(), p.pkey()), (0, 0, 0xffff));
        assert_eq!((p.dest_qp(), p.psn()), (263, 0x7b2894));
        assert_eq!(BthRepr::parse(&BTH, Mode::Strict).unwrap().repr, bth());
        let mut buf = [0xa5u8; 12];
        assert_eq!(bth().emit(&mut buf), Ok(12));
        assert_eq!(buf, BTH);
        assert_eq!(
            bth().to_string(),
            "RC_SEND_ONLY qp 263 psn 0x7b2894 SE M A pkey 0xffff"
        );
        assert!(BthPacket::new_checked(&BTH[..11]).is_err());
        let mut bad = bth();
        bad.pad_count = 4;
        assert!(bad.emit(&mut buf).is_err());
    }

    #[test]
    fn grh_deconstruct_construct() {
        assert_eq!(GrhRepr::parse(&GRH, Mode::Strict).unwrap().repr, grh());
        let mut buf = [0xa5u8; 40];
        assert_eq!(grh().emit(&mut buf), Ok(40));
        assert_eq!(buf, GRH);
        assert_eq!(
            GrhRepr::parse(&GRH[..39], Mode::Strict),
            Err(Error::Truncated {
                layer: Layer::Grh,
                need: 40,
                have: 39,
                at: 0
            })
        );
    }

    #[test]
    fn rocev1_send() {
        // SYNTHETIC RoCEv1 frame body: the smc-go GRH (PayLen 60 = BTH 12 + 44 + ICRC 4) + the
        // smc-go BTH + a 44-byte CDC + zero ICRC + 2 bytes of Ethernet padding
        let mut frame = Vec::new();
        frame.extend_from_slice(&GRH);
        frame.extend_from_slice(&BTH);
        let mut cdc = [0u8; 44];
        cdc[..4].copy_from_slice(&[0xfe, 0x2c, 0x00, 0x01]);
        frame.extend_from_slice(&cdc);
        frame.extend_from_slice(&[0; 4]);
        frame.extend_from_slice(&[0; 2]);
        let p = RocePacket::parse_v1(&frame).unwrap();
        assert_eq!(p.grh, Some(grh()));
        assert_eq!(p.bth, bth());
        assert_eq!(p.payload, &cdc);
        assert_eq!(p.trailer.len(), 2);
        assert_eq!(
            p.content(),
            RoceContent::Send {
                class: SendClass::Cdc,
                payload: &cdc
            }
        );
        assert!(matches!(p.smc(Mode::Strict), Some(Ok(SmcSend::Cdc(_)))));
        let mut out = vec![0xa5; p.buffer_len()];
        assert_eq!(p.emit(&mut out), Ok(frame.len()));
        assert_eq!(out, frame);
        let mut ipv6 = frame.clone();
        ipv6[6] = 17;
        assert_eq!(
            RocePacket::parse_v1(&ipv6),
            Err(Error::WrongType {
                layer: Layer::Grh,
                found: 17
            })
        );
        assert!(matches!(
            RocePacket::parse_v1(&frame[..90]),
            Err(Error::Truncated {
                layer: Layer::Grh,
                ..
            })
        ));
    }

    #[test]
    fn rocev2_rdma_write_with_pad() {
        // SYNTHETIC RDMA WRITE Only of 5 data bytes: PadCnt 3, RETH VA/rkey/len
        let mut b = vec![0x0a, 0x30, 0xff, 0xff, 0, 0, 0, 0x12, 0x80, 0, 0, 7];
        b.extend_from_slice(&[0, 0, 0, 0, 0xf0, 0xa6, 0, 0x0d]); // VA
        b.extend_from_slice(&[0, 0, 0x15, 0x7d]); // R_Key
        b.extend_from_slice(&[0, 0, 0, 5]); // DMA length
        b.extend_from_slice(b"hello\0\0\0");
        b.extend_from_slice(&[1, 2, 3, 4]);
        let p = RocePacket::parse_v2(&b).unwrap();
        assert_eq!(p.bth.opcode, BthOpcode::RC_RDMA_WRITE_ONLY);
        assert_eq!(p.bth.pad_count, 3);
        assert_eq!(p.payload, b"hello");
        assert_eq!(p.icrc, [1, 2, 3, 4]);
        let reth = RethRepr {
            va: 0xf0a6_000d,
            rkey: 0x157d,
            dma_len: 5,
        };
        assert_eq!(
            p.content(),
            RoceContent::RdmaWrite {
                reth: Some(reth),
                len: 5
            }
        );
        assert_eq!(p.smc(Mode::Strict), None);
        assert_eq!(
            p.to_string(),
            "RoCEv2 RC_RDMA_WRITE_ONLY qp 18 psn 0x000007 A pad 3 pkey 0xffff len 5 \
             va 0xf0a6000d rkey 0x157d dma_len 5"
        );
        let mut out = vec![0; p.buffer_len()];
        p.emit(&mut out).unwrap();
        assert_eq!(out, b);
        // pad count larger than the data
        let mut short = b[..28].to_vec();
        short.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        assert!(RocePacket::parse_v2(&short).is_err());
        assert!(RocePacket::parse_v2(&b[..30]).is_err());
    }

    #[test]
    fn classify() {
        let mut llc = [0u8; 44];
        llc[..4].copy_from_slice(&[0x21, 0x2c, 0x00, 0x03]);
        assert_eq!(
            SendClass::of(&llc),
            SendClass::LlcV2 {
                llc_type: LlcType::CONFIRM_LINK_V2,
                order: HostOrder::Little
            }
        );
        llc[1..3].copy_from_slice(&[0x00, 0x2c]);
        assert_eq!(
            SendClass::of(&llc),
            SendClass::LlcV2 {
                llc_type: LlcType::CONFIRM_LINK_V2,
                order: HostOrder::Big
            }
        );
        // 43 from x86 is 11008 to an s390 receiver: its order decides (§8.1)
        llc[1..3].copy_from_slice(&[0x2b, 0x00]);
        assert_eq!(
            SendClass::of(&llc),
            SendClass::LlcV2OrderDependent {
                llc_type: LlcType::CONFIRM_LINK_V2,
                little: 43,
                big: 11008
            }
        );
        llc[1..3].copy_from_slice(&[0x00, 0x00]);
        assert_eq!(
            SendClass::of(&llc),
            SendClass::Dropped {
                check: KernelCheck::LlcV2Length { length: 0 }
            }
        );
        llc[..3].copy_from_slice(&[0x01, 0x2c, 0x00]);
        assert_eq!(
            SendClass::of(&llc),
            SendClass::LlcV1 {
                llc_type: LlcType::CONFIRM_LINK
            }
        );
        llc[1] = 0x2d;
        assert_eq!(
            SendClass::of(&llc),
            SendClass::Dropped {
                check: KernelCheck::LlcV1LengthByte { length: 0x2d }
            }
        );
        assert_eq!(
            SendClass::of(&llc[..43]),
            SendClass::Dropped {
                check: KernelCheck::LlcRxLength { received: 43 }
            }
        );
        assert_eq!(
            SendClass::of(&[0x23; 44]),
            SendClass::Dropped {
                check: KernelCheck::WrRxType { type_byte: 0x23 }
            }
        );
        assert_eq!(SendClass::of(&[]), SendClass::Empty);
        let mut cdc = [0u8; 26];
        cdc[..2].copy_from_slice(&[0xfe, 0x2c]);
        assert_eq!(SendClass::of(&cdc), SendClass::Cdc);
        assert_eq!(
            SendClass::of(&cdc[..25]),
            SendClass::Dropped {
                check: KernelCheck::CdcRxLength { received: 25 }
            }
        );
        cdc[1] = 0;
        assert_eq!(
            SendClass::of(&cdc),
            SendClass::Dropped {
                check: KernelCheck::CdcLengthByte { length: 0 }
            }
        );
    }
}
