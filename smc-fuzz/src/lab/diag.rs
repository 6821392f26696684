//! The kernel's own view of each SMC connection (`smc_diag`, what `smcss` shows) and
//! the JSON written next to every lab pcap. The schema is documented in
//! `smc-fuzz/lab/README.md` ("diag JSON"); bump [`SCHEMA_VERSION`] on any change.

use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Version of the JSON schema below.
pub const SCHEMA_VERSION: u32 = 1;

/// `AF_SMC` (include/linux/socket.h).
pub const AF_SMC: u8 = 43;
/// `SMCPROTO_SMC` / `SMCPROTO_SMC6`: IPv4 / IPv6 AF_SMC sockets (net/smc/smc.h).
pub const SMCPROTO_SMC: i32 = 0;
/// IPv6 AF_SMC socket protocol (net/smc/smc.h `SMCPROTO_SMC6`).
pub const SMCPROTO_SMC6: i32 = 1;
/// `SMC_LISTEN` in `enum smc_state` (net/smc/smc.h).
pub const SMC_STATE_LISTEN: u8 = 10;
/// `SMC_ACTIVE` in `enum smc_state` (net/smc/smc.h).
pub const SMC_STATE_ACTIVE: u8 = 1;

/// smc_diag extension attribute types (include/uapi/linux/smc_diag.h `SMC_DIAG_*`).
pub mod ext {
    /// `SMC_DIAG_CONNINFO`: `struct smc_diag_conninfo`
    pub const CONNINFO: u16 = 1;
    /// `SMC_DIAG_LGRINFO`: `struct smc_diag_lgrinfo` (SMC-R only)
    pub const LGRINFO: u16 = 2;
    /// `SMC_DIAG_SHUTDOWN`: u8
    pub const SHUTDOWN: u16 = 3;
    /// `SMC_DIAG_DMBINFO`: `struct smcd_diag_dmbinfo` (SMC-D only)
    pub const DMBINFO: u16 = 4;
    /// `SMC_DIAG_FALLBACK`: `struct smc_diag_fallback`
    pub const FALLBACK: u16 = 5;
}

/// Offsets in `struct smc_diag_msg` (include/uapi/linux/smc_diag.h; 64 bytes).
mod field {
    pub const STATE: usize = 1; // diag_state (enum smc_state)
    pub const MODE: usize = 2; // diag_mode (SMC_DIAG_MODE_*)
    pub const SPORT: usize = 4; // id.idiag_sport, BE
    pub const DPORT: usize = 6; // id.idiag_dport, BE
    pub const SRC: usize = 8; // id.idiag_src[4], network order
    pub const DST: usize = 24; // id.idiag_dst[4], network order
    pub const UID: usize = 52; // diag_uid
    pub const INODE: usize = 56; // diag_inode (aligned u64)
    pub const LEN: usize = 64; // sizeof(struct smc_diag_msg)
}

/// Offsets in `struct smc_diag_lgrinfo` (one `smc_diag_linkinfo` + role).
mod lgr {
    pub const LINK_ID: usize = 0; // lnk[0].link_id
    pub const IBNAME: usize = 1; // lnk[0].ibname[IB_DEVICE_NAME_MAX = 64]
    pub const IBPORT: usize = 65; // lnk[0].ibport
    pub const GID: usize = 66; // lnk[0].gid[40], text (smc_gid_be16_convert)
    pub const PEER_GID: usize = 106; // lnk[0].peer_gid[40]
    pub const ROLE: usize = 146; // role (SMC_CLNT 0 / SMC_SERV 1, net/smc/smc_core.h)
    pub const LEN: usize = 147;
}

/// Offsets in `struct smcd_diag_dmbinfo` (host-order u64s, 8-aligned).
mod dmb {
    pub const LINKID: usize = 0; // linkid (u32; *(u32 *)lgr->id)
    pub const PEER_GID: usize = 8; // peer_gid
    pub const MY_GID: usize = 16; // my_gid
    pub const TOKEN: usize = 24; // token (own DMB)
    pub const PEER_TOKEN: usize = 32; // peer_token (peer's DMB)
    pub const PEER_GID_EXT: usize = 40; // peer_gid_ext (6.8+, Emulated-ISM)
    pub const MY_GID_EXT: usize = 48; // my_gid_ext (6.8+)
    pub const LEN_OLD: usize = 40; // before 6.8 (no *_gid_ext)
}

/// Offsets in `struct smc_diag_conninfo` (host order).
mod conn {
    pub const TOKEN: usize = 0; // token (alert_token_local)
    pub const SNDBUF: usize = 4; // sndbuf_size
    pub const RMBE: usize = 8; // rmbe_size
    pub const PEER_RMBE: usize = 12; // peer_rmbe_size
    pub const RX_PROD: usize = 16; // rx_prod {reserved u16, wrap u16, count u32}
    pub const RX_CONS: usize = 24; // rx_cons
    pub const TX_PROD: usize = 32; // tx_prod
    pub const TX_CONS: usize = 40; // tx_cons
    pub const LEN: usize = 52; // up to the four flag bytes (48..52)
}

/// One `SMC_DIAG_MODE_*` value (include/uapi/linux/smc_diag.h).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// `SMC_DIAG_MODE_SMCR` (0). Note: a listening socket also shows 0.
    #[serde(rename = "SMCR")]
    SmcR,
    /// `SMC_DIAG_MODE_FALLBACK_TCP` (1)
    #[serde(rename = "fallback")]
    Fallback,
    /// `SMC_DIAG_MODE_SMCD` (2)
    #[serde(rename = "SMCD")]
    SmcD,
    /// Anything else (a future kernel).
    #[serde(rename = "unknown")]
    Unknown,
}

impl Mode {
    fn from_raw(v: u8) -> Mode {
        match v {
            0 => Mode::SmcR,
            1 => Mode::Fallback,
            2 => Mode::SmcD,
            _ => Mode::Unknown,
        }
    }
}

/// Which end of the TCP connection this socket is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The connecting side (sent the SYN and the CLC Proposal).
    Client,
    /// The accepting side.
    Server,
}

/// `smcd_diag_dmbinfo`: SMC-D link group and DMB identities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmcdInfo {
    /// Link group id, `*(u32 *)lgr->id`, as the kernel reports it (host order u32).
    pub linkid: String,
    /// Local ISM GID (`my_gid`), hex.
    pub local_gid: String,
    /// Local GID extension (`my_gid_ext`; non-zero for Emulated-ISM), hex.
    pub local_gid_ext: String,
    /// Peer ISM GID, hex.
    pub peer_gid: String,
    /// Peer GID extension, hex.
    pub peer_gid_ext: String,
    /// Token of the own DMB (the peer writes here), hex.
    pub token: String,
    /// Token of the peer's DMB, hex.
    pub peer_token: String,
}

/// `smc_diag_lgrinfo`: SMC-R link group role and the connection's link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmcrInfo {
    /// Link group role: client or server.
    pub lgr_role: Role,
    /// `link_id` of the connection's link.
    pub link_id: u8,
    /// RDMA device name, e.g. `rxe0`.
    pub ibdev: String,
    /// RDMA port.
    pub ibport: u8,
    /// Local GID as the kernel prints it (`smc_gid_be16_convert`).
    pub gid: String,
    /// Peer GID, same format.
    pub peer_gid: String,
}

/// A cursor in `smc_diag_conninfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Wrap counter (bumped each time the cursor passes the ring's end).
    pub wrap: u16,
    /// Offset in the ring.
    pub count: u32,
}

/// `smc_diag_conninfo`: buffer sizes and CDC cursors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnInfo {
    /// `alert_token_local`, hex.
    pub token: String,
    /// Send buffer size.
    pub sndbuf_size: u32,
    /// Own RMB element size.
    pub rmbe_size: u32,
    /// Peer RMB element size.
    pub peer_rmbe_size: u32,
    /// Producer cursor last received from the peer.
    pub rx_prod: Cursor,
    /// Consumer cursor last received from the peer.
    pub rx_cons: Cursor,
    /// Producer cursor last sent.
    pub tx_prod: Cursor,
    /// Consumer cursor last sent.
    pub tx_cons: Cursor,
}

/// One AF_SMC socket as `smc_diag` reported it (listening sockets are left out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnDiag {
    /// Which VM reported it: `single`, `a` (server VM) or `b` (client VM).
    pub vm: String,
    /// Local address (of the internal TCP socket).
    pub local_addr: IpAddr,
    /// Local port.
    pub local_port: u16,
    /// Peer address.
    pub peer_addr: IpAddr,
    /// Peer port.
    pub peer_port: u16,
    /// Client (connect) or server (accept); from the scenario's listening port.
    pub role: Role,
    /// `SMCR`, `SMCD` or `fallback`.
    pub mode: Mode,
    /// `sk_state` (`enum smc_state`; 1 = ACTIVE).
    pub state: u8,
    /// `smc->fallback_rsn`, hex `0x%08x` (0 when SMC was used).
    pub fallback_reason: String,
    /// Kernel name of the fallback reason (`SMC_CLC_DECL_` stripped), or null.
    pub fallback_reason_name: Option<String>,
    /// `smc->peer_diagnosis`: the code in the Decline the peer sent, hex.
    pub peer_diagnosis: String,
    /// Kernel name of the peer diagnosis, or null.
    pub peer_diagnosis_name: Option<String>,
    /// SMC-D identities (`SMC_DIAG_DMBINFO`), only for SMC-D.
    pub smcd: Option<SmcdInfo>,
    /// SMC-R link info (`SMC_DIAG_LGRINFO`), only for SMC-R.
    pub smcr: Option<SmcrInfo>,
    /// Buffers and cursors (`SMC_DIAG_CONNINFO`), only when a connection exists.
    pub conn: Option<ConnInfo>,
    /// Socket inode (to tell sockets apart).
    pub inode: u64,
}

/// A pcap the scenario produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PcapInfo {
    /// File name, relative to the JSON file.
    pub file: String,
    /// Where it was captured: `guest:<vm>:<ifname>` or `host:qemu-filter-dump`.
    pub source: String,
    /// Packets written.
    pub packets: u64,
    /// Packets the kernel dropped (`PACKET_STATISTICS` tp_drops); must be 0.
    pub dropped: u64,
}

/// The JSON written next to a scenario's pcaps (`<scenario>.diag.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioDiag {
    /// [`SCHEMA_VERSION`].
    pub schema: u32,
    /// Scenario name (`smc-lab list`).
    pub scenario: String,
    /// `uname -r` inside the guest.
    pub kernel_release: String,
    /// `debian` or `smc-lo` (our build).
    pub kernel_kind: String,
    /// The command that reproduces this run.
    pub command: String,
    /// The pcaps of this run.
    pub pcaps: Vec<PcapInfo>,
    /// Client connects that failed and so have no entry below (only scenarios that
    /// tolerate failures, e.g. under the handshake limit).
    #[serde(default)]
    pub failed_connects: u32,
    /// Every non-listening AF_SMC socket of every VM, sampled while established.
    pub connections: Vec<ConnDiag>,
}

/// Kernel name (without `SMC_CLC_DECL_`) of a decline / fallback code
/// (net/smc/smc_clc.h; reference §5.2).
pub fn decline_name(code: u32) -> Option<&'static str> {
    Some(match code {
        0x0101_0000 => "MEM",
        0x0201_0000 => "TIMEOUT_CL",
        0x0202_0000 => "TIMEOUT_AL",
        0x0300_0000 => "CNFERR",
        0x0301_0000 => "PEERNOSMC",
        0x0302_0000 => "IPSEC",
        0x0303_0000 => "NOSMCDEV",
        0x0303_0001 => "NOSMCDDEV",
        0x0303_0002 => "NOSMCRDEV",
        0x0303_0003 => "NOISM2SUPP",
        0x0303_0004 => "NOV2EXT",
        0x0303_0005 => "NOV2DEXT",
        0x0303_0006 => "NOSEID",
        0x0303_0007 => "NOSMCD2DEV",
        0x0303_0008 => "NOUEID",
        0x0303_0009 => "RELEASEERR",
        0x0303_000a => "MAXCONNERR",
        0x0303_000b => "MAXLINKERR",
        0x0304_0000 => "MODEUNSUPP",
        0x0305_0000 => "RMBE_EC",
        0x0306_0000 => "OPTUNSUPP",
        0x0307_0000 => "DIFFPREFIX",
        0x0308_0000 => "GETVLANERR",
        0x0309_0000 => "ISMVLANERR",
        0x030a_0000 => "NOACTLINK",
        0x030b_0000 => "NOSRVLINK",
        0x030c_0000 => "VERSMISMAT",
        0x030d_0000 => "MAX_DMB",
        0x030e_0000 => "NOROUTE",
        0x030f_0000 => "NOINDIRECT",
        0x0400_0000 => "SYNCERR",
        0x0500_0000 => "PEERDECL",
        0x0999_0000 => "INTERR",
        0x0999_0001 => "ERR_RTOK",
        0x0999_0002 => "ERR_RDYLNK",
        0x0999_0003 => "ERR_REGBUF",
        _ => return None,
    })
}

/// A `smc_diag` message that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiagParseError(pub String);

impl std::fmt::Display for DiagParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bad smc_diag message: {}", self.0)
    }
}
impl std::error::Error for DiagParseError {}

fn u16_ne(b: &[u8], at: usize) -> u16 {
    let mut a = [0u8; 2];
    if let Some(s) = b.get(at..at + 2) {
        a.copy_from_slice(s);
    }
    u16::from_ne_bytes(a)
}
fn u16_be(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes(u16_ne(b, at).to_ne_bytes())
}
fn u32_ne(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    if let Some(s) = b.get(at..at + 4) {
        a.copy_from_slice(s);
    }
    u32::from_ne_bytes(a)
}
fn u64_ne(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    if let Some(s) = b.get(at..at + 8) {
        a.copy_from_slice(s);
    }
    u64::from_ne_bytes(a)
}
fn hex64(v: u64) -> String {
    format!("0x{v:016x}")
}
fn hex32(v: u32) -> String {
    format!("0x{v:08x}")
}
fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|c| *c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}
fn cursor(b: &[u8], at: usize) -> Cursor {
    // struct smc_diag_cursor { u16 reserved; u16 wrap; u32 count; }
    Cursor {
        wrap: u16_ne(b, at + 2),
        count: u32_ne(b, at + 4),
    }
}

/// Raw fields of one `smc_diag_msg` before role assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawDiag {
    /// `enum smc_state`
    pub state: u8,
    /// The decoded entry; `role` is provisional (client) until [`RawDiag::with_role`].
    pub conn: ConnDiag,
}

impl RawDiag {
    /// Sets the role from the scenario's listening port(s).
    pub fn with_role(mut self, listen_ports: &[u16]) -> ConnDiag {
        self.conn.role = if listen_ports.contains(&self.conn.local_port) {
            Role::Server
        } else {
            Role::Client
        };
        self.conn
    }
}

/// Decodes the payload of one `SOCK_DIAG_BY_FAMILY` reply (`struct smc_diag_msg`
/// followed by netlink attributes), as filled by `__smc_diag_dump` (net/smc/smc_diag.c).
/// The message does not say whether the socket is `SMCPROTO_SMC` or `SMCPROTO_SMC6`:
/// for the former only `idiag_src[0]`/`idiag_dst[0]` are filled
/// (`smc_diag_msg_common_fill`), so an entry whose words 1..3 are all zero is IPv4.
pub fn parse_diag_msg(payload: &[u8], vm: &str) -> Result<RawDiag, DiagParseError> {
    if payload.len() < field::LEN {
        return Err(DiagParseError(format!(
            "{} bytes, need {}",
            payload.len(),
            field::LEN
        )));
    }
    let v4 = payload[field::SRC + 4..field::SRC + 16]
        .iter()
        .chain(&payload[field::DST + 4..field::DST + 16])
        .all(|b| *b == 0);
    let addr = |at: usize| -> IpAddr {
        let mut a = [0u8; 16];
        a.copy_from_slice(&payload[at..at + 16]);
        if v4 {
            IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3]))
        } else {
            IpAddr::V6(Ipv6Addr::from(a))
        }
    };
    let _uid = u32_ne(payload, field::UID);
    let mut c = ConnDiag {
        vm: vm.to_string(),
        local_addr: addr(field::SRC),
        local_port: u16_be(payload, field::SPORT),
        peer_addr: addr(field::DST),
        peer_port: u16_be(payload, field::DPORT),
        role: Role::Client,
        mode: Mode::from_raw(payload[field::MODE]),
        state: payload[field::STATE],
        fallback_reason: hex32(0),
        fallback_reason_name: None,
        peer_diagnosis: hex32(0),
        peer_diagnosis_name: None,
        smcd: None,
        smcr: None,
        conn: None,
        inode: u64_ne(payload, field::INODE),
    };
    // netlink attributes: { u16 nla_len; u16 nla_type; data; pad to 4 }
    let mut at = field::LEN;
    while at + 4 <= payload.len() {
        let len = usize::from(u16_ne(payload, at));
        let ty = u16_ne(payload, at + 2) & 0x3fff;
        if len < 4 || at + len > payload.len() {
            return Err(DiagParseError(format!(
                "attribute at {at} has length {len}"
            )));
        }
        let d = &payload[at + 4..at + len];
        match ty {
            ext::FALLBACK if d.len() >= 8 => {
                let r = u32_ne(d, 0);
                let p = u32_ne(d, 4);
                c.fallback_reason = hex32(r);
                c.fallback_reason_name = decline_name(r).map(String::from);
                c.peer_diagnosis = hex32(p);
                c.peer_diagnosis_name = decline_name(p).map(String::from);
            }
            ext::DMBINFO if d.len() >= dmb::LEN_OLD => {
                c.smcd = Some(SmcdInfo {
                    linkid: hex32(u32_ne(d, dmb::LINKID)),
                    local_gid: hex64(u64_ne(d, dmb::MY_GID)),
                    local_gid_ext: hex64(u64_ne(d, dmb::MY_GID_EXT)),
                    peer_gid: hex64(u64_ne(d, dmb::PEER_GID)),
                    peer_gid_ext: hex64(u64_ne(d, dmb::PEER_GID_EXT)),
                    token: hex64(u64_ne(d, dmb::TOKEN)),
                    peer_token: hex64(u64_ne(d, dmb::PEER_TOKEN)),
                });
            }
            ext::LGRINFO if d.len() >= lgr::LEN => {
                c.smcr = Some(SmcrInfo {
                    lgr_role: if d[lgr::ROLE] == 1 {
                        Role::Server
                    } else {
                        Role::Client
                    },
                    link_id: d[lgr::LINK_ID],
                    ibdev: cstr(&d[lgr::IBNAME..lgr::IBPORT]),
                    ibport: d[lgr::IBPORT],
                    gid: cstr(&d[lgr::GID..lgr::PEER_GID]),
                    peer_gid: cstr(&d[lgr::PEER_GID..lgr::ROLE]),
                });
            }
            ext::CONNINFO if d.len() >= conn::LEN => {
                c.conn = Some(ConnInfo {
                    token: hex32(u32_ne(d, conn::TOKEN)),
                    sndbuf_size: u32_ne(d, conn::SNDBUF),
                    rmbe_size: u32_ne(d, conn::RMBE),
                    peer_rmbe_size: u32_ne(d, conn::PEER_RMBE),
                    rx_prod: cursor(d, conn::RX_PROD),
                    rx_cons: cursor(d, conn::RX_CONS),
                    tx_prod: cursor(d, conn::TX_PROD),
                    tx_cons: cursor(d, conn::TX_CONS),
                });
            }
            _ => {}
        }
        at += (len + 3) & !3;
    }
    Ok(RawDiag {
        state: c.state,
        conn: c,
    })
}

#[cfg(test)]
mod test {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn attr(ty: u16, data: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(data);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v
    }

    #[test]
    fn decodes_fallback_and_dmbinfo() {
        let mut m = vec![0u8; 64];
        m[0] = AF_SMC;
        m[1] = SMC_STATE_ACTIVE;
        m[2] = 2;
        m[4..6].copy_from_slice(&7001u16.to_be_bytes());
        m[6..8].copy_from_slice(&40630u16.to_be_bytes());
        m[8..12].copy_from_slice(&[127, 0, 0, 1]);
        m[24..28].copy_from_slice(&[127, 0, 0, 1]);
        m[56..64].copy_from_slice(&428u64.to_ne_bytes());
        let mut fb = Vec::new();
        fb.extend_from_slice(&0x0500_0000u32.to_ne_bytes());
        fb.extend_from_slice(&0x0303_0008u32.to_ne_bytes());
        m.extend(attr(ext::FALLBACK, &fb));
        let mut d = vec![0u8; 56];
        d[0..4].copy_from_slice(&0x100u32.to_ne_bytes());
        d[16..24].copy_from_slice(&0x6142_bb9b_bd96_3254u64.to_ne_bytes());
        d[48..56].copy_from_slice(&0x1122u64.to_ne_bytes());
        m.extend(attr(ext::DMBINFO, &d));
        let r = parse_diag_msg(&m, "single").unwrap();
        let c = r.with_role(&[7001]);
        assert_eq!(c.role, Role::Server);
        assert_eq!(c.mode, Mode::SmcD);
        assert_eq!(c.local_port, 7001);
        assert_eq!(c.peer_port, 40630);
        assert_eq!(c.fallback_reason, "0x05000000");
        assert_eq!(c.fallback_reason_name.as_deref(), Some("PEERDECL"));
        assert_eq!(c.peer_diagnosis_name.as_deref(), Some("NOUEID"));
        let s = c.smcd.unwrap();
        assert_eq!(s.local_gid, "0x6142bb9bbd963254");
        assert_eq!(s.local_gid_ext, "0x0000000000001122");
        assert_eq!(s.linkid, "0x00000100");
        assert_eq!(c.inode, 428);
    }

    #[test]
    fn rejects_short_and_bad_attrs() {
        assert!(parse_diag_msg(&[0u8; 10], "x").is_err());
        let mut m = vec![0u8; 64];
        m.extend_from_slice(&[200, 0, 5, 0]);
        assert!(parse_diag_msg(&m, "x").is_err());
    }
}
