//! Events: what the pipeline tells its sinks (design.md "Events"). Borrowed for one call; a sink
//! copies what it keeps. Every event names its frame (input file index + frame number as
//! Wireshark counts).

use std::net::SocketAddr;

use serde::Serialize;
use smc_wire::{Anomalies, ClcRepr, Decoded};

use crate::flow::ConnId;
use crate::source::Timestamp;
use crate::verdict::{Role, Verdict};

/// Where a packet came from: input file, frame number, time, endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketMeta {
    /// Index of the input file (0 for the first).
    pub input: u16,
    /// 1-based frame number inside that input.
    pub frame: u64,
    /// Capture time.
    pub ts: Timestamp,
    /// Sender.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
}

/// A TCP connection as events name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ConnRef {
    /// Connection number, in order of first packet.
    #[serde(serialize_with = "ser_conn_id")]
    pub id: ConnId,
    /// The client (SYN sender).
    pub client: SocketAddr,
    /// The server.
    pub server: SocketAddr,
}

/// The SMC TCP option as seen in a SYN or SYN-ACK.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct OptionSeen {
    /// True in a SYN-ACK.
    pub synack: bool,
    /// The option length byte.
    pub length: u8,
    /// Whether `smc_parse_options` accepts it (even length ≥ 6 in a SYN).
    pub accepted: bool,
}

/// What the pipeline noticed that is not a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "notice", rename_all = "kebab-case")]
pub enum Notice {
    /// A packet was cut by the snapshot length inside bytes that matter.
    TruncatedPacket {
        /// The layer that was cut.
        layer: String,
        /// Bytes that layer needs.
        need: usize,
        /// Bytes captured.
        have: usize,
    },
    /// A CLC message lost bytes to the snapshot length: it cannot be decoded.
    TruncatedClc {
        /// Connection.
        #[serde(serialize_with = "ser_conn_id")]
        conn: ConnId,
        /// Bytes missing.
        missing: u32,
    },
    /// A link-layer type smcdump does not decode.
    UnsupportedLinkType {
        /// The pcap LINKTYPE value.
        link_type: u32,
    },
    /// The input file ended in the middle of a record.
    TruncatedFile {
        /// Input index.
        input: u16,
        /// Byte offset where it ended.
        offset: u64,
    },
    /// A pcapng block smcdump skipped.
    SkippedBlock {
        /// Input index.
        input: u16,
        /// Byte offset.
        offset: u64,
        /// What it was.
        kind: String,
    },
    /// A connection was evicted from the flow table before it ended.
    Evicted {
        /// The connection.
        #[serde(serialize_with = "ser_conn_id")]
        conn: ConnId,
    },
    /// A RoCE SEND First/Middle/Last: one packet of a v2 LLC message longer than the path MTU
    /// (§8.4). Counted, not reassembled.
    LlcMultiPacket {
        /// The BTH opcode (SEND First, Middle, Last or Last with immediate/invalidate).
        opcode: smc_wire::BthOpcode,
        /// The BTH destination QP.
        dest_qp: u32,
        /// The BTH PSN.
        psn: u32,
        /// Payload bytes in this packet.
        bytes: usize,
    },
    /// Reassembly gave up on a hole in a direction of a connection.
    ReassemblyGap {
        /// The connection.
        #[serde(serialize_with = "ser_conn_id")]
        conn: ConnId,
        /// Whose bytes are missing.
        role: Role,
        /// Bytes skipped.
        bytes: u32,
    },
}

/// One event.
#[derive(Clone, Copy, Debug)]
pub enum Event<'a> {
    /// A SYN or SYN-ACK with the SMC option.
    SmcOption {
        /// The packet.
        meta: &'a PacketMeta,
        /// The connection.
        conn: ConnRef,
        /// The option.
        option: OptionSeen,
    },
    /// A CLC message.
    Clc {
        /// The packet that completed the message.
        meta: &'a PacketMeta,
        /// The connection.
        conn: ConnRef,
        /// Who sent it.
        from: Role,
        /// The message bytes.
        raw: &'a [u8],
        /// The lenient decode, or why even that failed.
        decoded: Result<&'a Decoded<ClcRepr>, smc_wire::Error>,
    },
    /// The verdict on a connection (once).
    Verdict {
        /// The frame that decided it (or the connection's last frame).
        frame: u64,
        /// Input of that frame.
        input: u16,
        /// Time of that frame.
        ts: Timestamp,
        /// The connection.
        conn: ConnRef,
        /// The verdict.
        verdict: &'a Verdict,
        /// Anomalies found on the connection, with their frames.
        anomalies: &'a [(u64, smc_wire::Anomaly)],
        /// Frames of the connection seen.
        frames: u64,
    },
    /// An LLC or CDC message over RoCE.
    Roce {
        /// The packet (RoCEv2: IP and UDP ports; RoCEv1: GIDs as IPv6 addresses, port 0).
        meta: &'a PacketMeta,
        /// What it is and whom it belongs to.
        roce: &'a crate::roce::RoceEvent<'a>,
    },
    /// Something that is not a message.
    Notice {
        /// The packet, when there is one.
        meta: Option<&'a PacketMeta>,
        /// What.
        notice: &'a Notice,
    },
}

impl Event<'_> {
    /// The frame the event is about.
    pub fn frame(&self) -> u64 {
        match self {
            Event::SmcOption { meta, .. } | Event::Clc { meta, .. } | Event::Roce { meta, .. } => {
                meta.frame
            }
            Event::Verdict { frame, .. } => *frame,
            Event::Notice { meta, .. } => meta.map_or(0, |m| m.frame),
        }
    }
}

/// Anomalies, made serializable with their frame.
pub fn anomalies_with_frame(
    frame: u64,
    a: &Anomalies,
) -> impl Iterator<Item = (u64, smc_wire::Anomaly)> + '_ {
    a.iter().map(move |x| (frame, *x))
}

/// A connection number as JSON: the plain number.
pub fn ser_conn_id<S: serde::Serializer>(c: &ConnId, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(c.0)
}
