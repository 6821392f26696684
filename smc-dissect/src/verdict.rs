//! The verdict taxonomy (design.md "Verdict per TCP connection"): how an SMC-capable TCP
//! connection ended up — SMC (which kind, version, device), declined (why, by whom, when), or
//! one of the silent fallbacks — with the anomalies found on the way.

use serde::Serialize;
use smc_wire::clc::{Chid, ChidClass, Eid, IsmGid, RoceGid, VirtualGid};
use smc_wire::{DeclineReason, KernelCheck};

/// Which side of the TCP connection (client = the SYN sender).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The side that sent the SYN (or, midstream, the Proposal).
    Client,
    /// The other side.
    Server,
}

impl Role {
    /// The other role.
    pub fn peer(self) -> Role {
        match self {
            Role::Client => Role::Server,
            Role::Server => Role::Client,
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Client => "client",
            Role::Server => "server",
        })
    }
}

/// How far the CLC handshake got (design.md: "name the last state reached").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// The capture started mid-connection: the messages before the first captured one are unknown.
    Unknown,
    /// Only a SYN was seen.
    Syn,
    /// SYN and SYN-ACK seen, no CLC yet.
    TcpEstablished,
    /// The client's Proposal was seen.
    Proposal,
    /// The server's Accept was seen.
    Accept,
    /// The client's Confirm was seen.
    Confirm,
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stage::Unknown => "part of the handshake the capture missed",
            Stage::Syn => "SYN",
            Stage::TcpEstablished => "TCP handshake",
            Stage::Proposal => "Proposal",
            Stage::Accept => "Accept",
            Stage::Confirm => "Confirm",
        })
    }
}

/// SMC-R or SMC-D.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum SmcKind {
    /// SMC over RDMA (RoCE).
    #[serde(rename = "SMC-R")]
    SmcR,
    /// SMC over ISM (native, virtual, loopback-ism).
    #[serde(rename = "SMC-D")]
    SmcD,
}

impl std::fmt::Display for SmcKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SmcKind::SmcR => "SMC-R",
            SmcKind::SmcD => "SMC-D",
        })
    }
}

/// The device the connection uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Device {
    /// RoCE (SMC-R).
    Roce,
    /// A native ISM device.
    NativeIsm,
    /// An Emulated-ISM device other than loopback (CHID 0xFF00–0xFFFE).
    VirtualIsm,
    /// loopback-ism (CHID 0xFFFF).
    LoopbackIsm,
    /// Not known (the message naming it was cut by the snapshot length).
    Unknown,
}

impl From<ChidClass> for Device {
    fn from(c: ChidClass) -> Self {
        match c {
            ChidClass::NativeIsm => Device::NativeIsm,
            ChidClass::VirtualIsm => Device::VirtualIsm,
            ChidClass::LoopbackIsm => Device::LoopbackIsm,
        }
    }
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Device::Roce => "RoCE",
            Device::NativeIsm => "native ISM",
            Device::VirtualIsm => "virtual ISM",
            Device::LoopbackIsm => "loopback-ism",
            Device::Unknown => "an unknown device",
        })
    }
}

/// What an established SMC connection negotiated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SmcOutcome {
    /// SMC-R or SMC-D.
    pub kind: SmcKind,
    /// CLC version of the Accept (1 or 2).
    pub version: u8,
    /// Negotiated release (v2: the Accept's first-contact extension; 0 = v2.0, 1 = v2.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<u8>,
    /// Device class.
    pub device: Device,
    /// The server said first contact (a new link group).
    pub first_contact: bool,
    /// SMC-D: the chosen CHID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chid: Option<Chid>,
    /// SMC-D: the server's and the client's 64-bit GIDs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_gid: Option<IsmGid>,
    /// SMC-D: the client's GID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_gid: Option<IsmGid>,
    /// Emulated-ISM: the server's 128-bit GID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_vgid: Option<VirtualGid>,
    /// Emulated-ISM: the client's 128-bit GID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_vgid: Option<VirtualGid>,
    /// SMC-R: the RoCE GIDs of server and client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_roce_gid: Option<RoceGid>,
    /// SMC-R: client RoCE GID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_roce_gid: Option<RoceGid>,
    /// SMC-R: server QP number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_qpn: Option<u32>,
    /// SMC-R: client QP number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_qpn: Option<u32>,
    /// The server's connection token: SMC-D its DMB token, SMC-R its RMBE alert token (hex).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_token: Option<String>,
    /// The client's token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
    /// Negotiated EID (v2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eid: Option<Eid>,
    /// v2.1 limits from the first-contact extension (SMC-R).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_conns: Option<u8>,
    /// v2.1 max links.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_links: Option<u8>,
    /// v2.1 feature mask as the server offered it and the client confirmed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feature_mask: Option<u16>,
    /// Some CLC message was cut by the capture's snapshot length: fields may be missing.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// The connection's RMBE/DMBE size at each side in bytes (server, client).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_buffer: Option<u64>,
    /// Client buffer bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_buffer: Option<u64>,
}

impl SmcOutcome {
    /// An outcome with what every verdict knows; the rest is filled in as the messages tell.
    pub fn new(kind: SmcKind, version: u8, device: Device, first_contact: bool) -> Self {
        SmcOutcome {
            kind,
            version,
            release: None,
            device,
            first_contact,
            chid: None,
            server_gid: None,
            client_gid: None,
            server_vgid: None,
            client_vgid: None,
            server_roce_gid: None,
            client_roce_gid: None,
            server_qpn: None,
            client_qpn: None,
            server_token: None,
            client_token: None,
            eid: None,
            max_conns: None,
            max_links: None,
            feature_mask: None,
            truncated: false,
            server_buffer: None,
            client_buffer: None,
        }
    }
}

/// A Decline as seen on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeclineOutcome {
    /// The reason (`peer_diagnosis`).
    pub reason: DeclineReason,
    /// Who sent it.
    pub by: Role,
    /// The last CLC message before it (TCP handshake = before any Proposal).
    pub after: Stage,
    /// The Decline's CLC version.
    pub version: u8,
    /// The out-of-sync bit (SYNCERR: link group terminated).
    pub out_of_sync: bool,
    /// v2 supplemental diagnosis words that are non-zero.
    pub peer_diagnosis_v2: Vec<DeclineReason>,
}

/// Why an incomplete handshake ended without a result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IncompleteCause {
    /// The capture ended.
    EndOfCapture,
    /// A TCP RST.
    Rst,
    /// A TCP FIN.
    Fin,
    /// Nothing for longer than the kernel waits for a CLC message (`CLC_WAIT_TIME`, 6 s).
    Timeout,
    /// The flow was evicted from the flow table (too many flows or idle).
    Evicted,
    /// The capture's snapshot length cut the CLC message that would decide it.
    Truncated,
    /// The server sent nothing after the Proposal for longer than the client waits
    /// (`CLC_WAIT_TIME`): the client's connect() fails with ETIMEDOUT (`__smc_connect`).
    NoAnswer,
    /// A new connection reused the 4-tuple (a SYN with another ISN).
    PortReused,
    /// The SYN-ACK was not captured, and the client sent non-CLC data: it did not take the
    /// connection for SMC (most likely the server did not echo the option).
    NoSynAckThenData,
}

/// What made a connection's SYN not carry the option, for `clc-without-option`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SynState {
    /// The SYN was seen and had no SMC option.
    NoOption,
    /// The SYN was not in the capture (it started mid-connection).
    NotSeen,
}

/// A protocol violation: what, and which frame.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// What is wrong, in one line.
    pub what: String,
    /// The kernel check that fails, if one does.
    pub check: Option<KernelCheck>,
    /// The frame where it was seen.
    pub frame: u64,
    /// Who sent the offending bytes.
    pub by: Role,
}

/// The verdict on one SMC-relevant TCP connection.
#[allow(clippy::large_enum_variant)] // one per connection, never on a per-packet path
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    /// SMC established.
    Smc(SmcOutcome),
    /// A Decline: the connection fell back to TCP.
    Declined(DeclineOutcome),
    /// The SYN had the option, the SYN-ACK did not: silent fallback (server not SMC-capable, SMC
    /// handshake limit hit, SYN cookies, or an option-stripping middlebox).
    FallbackNoEcho,
    /// Both sides had the option but the peer sent no CLC: a middlebox or stack that echoes
    /// unknown options.
    OptionEchoedNoClc {
        /// Who sent the first non-CLC payload.
        first_payload_by: Role,
        /// The handshake stage reached (TCP handshake, or Proposal).
        after: Stage,
    },
    /// CLC on a connection whose SYN had no option (or was not seen).
    ClcWithoutOption {
        /// Whether the SYN was seen.
        syn: SynState,
        /// What the CLC exchange itself amounted to.
        clc: Box<Verdict>,
    },
    /// The handshake did not finish in the capture.
    Incomplete {
        /// The last stage reached.
        stage: Stage,
        /// Why it ended.
        cause: IncompleteCause,
    },
    /// The exchange breaks the protocol.
    Violation(Violation),
}

impl Verdict {
    /// The short name used in summaries and counts.
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Smc(_) => "smc",
            Verdict::Declined(_) => "declined",
            Verdict::FallbackNoEcho => "fallback-no-echo",
            Verdict::OptionEchoedNoClc { .. } => "option-echoed-no-clc",
            Verdict::ClcWithoutOption { .. } => "clc-without-option",
            Verdict::Incomplete { .. } => "incomplete",
            Verdict::Violation(_) => "violation",
        }
    }

    /// True when the connection ended up using SMC.
    pub fn is_smc(&self) -> bool {
        match self {
            Verdict::Smc(_) => true,
            Verdict::ClcWithoutOption { clc, .. } => clc.is_smc(),
            _ => false,
        }
    }

    /// One human line: what happened and why.
    pub fn summary(&self) -> String {
        match self {
            Verdict::Smc(o) => {
                let mut s = format!("{} v{}", o.kind, o.version);
                if let Some(r) = o.release {
                    s.push_str(&format!(".{r}"));
                }
                s.push_str(&format!(" over {}", o.device));
                if let Some(c) = o.chid {
                    s.push_str(&format!(" (CHID {c})"));
                }
                s.push_str(if o.first_contact { ", first contact" } else { ", link group reused" });
                if o.truncated {
                    s.push_str(" (CLC partly cut by the snapshot length)");
                }
                s
            }
            Verdict::Declined(d) => {
                let name = d.reason.name().unwrap_or("unknown reason");
                let mut s = if d.after == Stage::Unknown {
                    // midstream: a Decline's sender is guessed from the ports (conn.rs)
                    format!(
                        "declined by the {} (capture started mid-handshake; sender guessed from the ports): {} ({:#010x})",
                        d.by, name, d.reason.0
                    )
                } else {
                    format!(
                        "declined by the {} after the {}: {} ({:#010x})",
                        d.by, d.after, name, d.reason.0
                    )
                };
                if let Some(m) = d.reason.meaning() {
                    s.push_str(&format!(" — {m}"));
                }
                if d.out_of_sync && d.by == Role::Client && d.after >= Stage::Accept {
                    // KH §6: the server marks lgr->sync_err and terminates the link group
                    s.push_str(" [out of sync: the server terminates the whole link group]");
                } else if d.out_of_sync {
                    s.push_str(" [out of sync]");
                }
                s
            }
            Verdict::FallbackNoEcho => "TCP fallback: the server did not echo the SMC option in its SYN-ACK".into(),
            Verdict::OptionEchoedNoClc { first_payload_by: Role::Client, after } => format!(
                // KH §2: smc_connect sets syn_smc before it looks at use_fallback (TCP Fast Open:
                // OPTUNSUPP); smc_clc_wait_msg fails non-CLC bytes with EPROTO (§9.1)
                "the client advertised SMC but sent non-CLC data after the {after} (a client that fell back after its SYN, e.g. TCP Fast Open); a Linux SMC server rejects those bytes (EPROTO) and closes the connection, a non-SMC server behind an option-echoing middlebox takes them as TCP"
            ),
            Verdict::OptionEchoedNoClc { first_payload_by: Role::Server, after } => format!(
                "TCP fallback: the SMC option was echoed, but after the {after} the server sent non-CLC data (option-echoing middlebox or stack?)"
            ),
            Verdict::ClcWithoutOption { syn, clc } => match syn {
                SynState::NoOption => format!("CLC without the SMC option in the SYN; CLC says: {}", clc.summary()),
                SynState::NotSeen => format!("CLC seen, SYN not captured; CLC says: {}", clc.summary()),
            },
            Verdict::Incomplete { stage, cause } => format!("incomplete after the {stage} ({cause})"),
            Verdict::Violation(v) => format!("protocol violation by the {} in frame {}: {}", v.by, v.frame, v.what),
        }
    }
}

impl std::fmt::Display for IncompleteCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            IncompleteCause::EndOfCapture => "capture ended",
            IncompleteCause::Rst => "RST",
            IncompleteCause::Fin => "FIN",
            IncompleteCause::Timeout => "timeout",
            IncompleteCause::Evicted => "evicted",
            IncompleteCause::Truncated => "CLC cut by the snapshot length",
            IncompleteCause::NoAnswer => "the server sent nothing within CLC_WAIT_TIME, 6 s: the client's connect() fails with ETIMEDOUT; a non-SMC server behind an option-echoing middlebox, or a stalled SMC server",
            IncompleteCause::PortReused => "a new connection reused the address and ports",
            IncompleteCause::NoSynAckThenData => "SYN-ACK not captured, then the client sent non-CLC data: it did not use SMC, most likely because the server did not echo the option",
        })
    }
}
