//! Netlink requests the lab needs: `smc_diag` (sock_diag), the SMC generic-netlink
//! families (UEID, PNET table) and RDMA netlink (`rdma link add ... type rxe`).

use crate::lab::diag::{parse_diag_msg, RawDiag, AF_SMC};
use crate::lab::{Context, LabError, Result};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// `NETLINK_SOCK_DIAG` (include/uapi/linux/netlink.h).
const NETLINK_SOCK_DIAG: i32 = 4;
/// `NETLINK_GENERIC`.
const NETLINK_GENERIC: i32 = 16;
/// `NETLINK_RDMA`.
const NETLINK_RDMA: i32 = 20;
/// `SOCK_DIAG_BY_FAMILY` (include/uapi/linux/sock_diag.h).
const SOCK_DIAG_BY_FAMILY: u16 = 20;
/// `NLMSG_ERROR` / `NLMSG_DONE` (include/uapi/linux/netlink.h).
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
/// `NLM_F_REQUEST`, `NLM_F_ACK`, `NLM_F_DUMP` (= ROOT | MATCH).
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLM_F_DUMP: u16 = 0x300;
/// `GENL_ID_CTRL`, `CTRL_CMD_GETFAMILY`, `CTRL_ATTR_FAMILY_ID/NAME` (linux/genetlink.h).
const GENL_ID_CTRL: u16 = 0x10;
const CTRL_CMD_GETFAMILY: u8 = 3;
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;
/// `SMC_GENL_FAMILY_NAME` / `SMCR_GENL_FAMILY_NAME` (include/uapi/linux/smc.h).
const SMC_GENL_FAMILY: &str = "SMC_GEN_NETLINK";
const SMC_PNETID_FAMILY: &str = "SMC_PNETID";
/// `SMC_NETLINK_ADD_UEID` (include/uapi/linux/smc.h enum, 10th command).
const SMC_NETLINK_ADD_UEID: u8 = 10;
/// `SMC_NLA_EID_TABLE_ENTRY` (include/uapi/linux/smc.h).
const SMC_NLA_EID_TABLE_ENTRY: u16 = 1;
/// `SMC_MAX_EID_LEN` (include/uapi/linux/smc.h): EIDs are 32 bytes, blank padded (§6.4).
const SMC_MAX_EID_LEN: usize = 32;
/// `SMC_PNETID_ADD` and its attributes (include/uapi/linux/smc.h).
const SMC_PNETID_ADD: u8 = 2;
const SMC_PNETID_NAME: u16 = 1;
const SMC_PNETID_ETHNAME: u16 = 2;
const SMC_PNETID_IBNAME: u16 = 3;
const SMC_PNETID_IBPORT: u16 = 4;
/// `RDMA_NL_GET_TYPE(RDMA_NL_NLDEV = 5, RDMA_NLDEV_CMD_NEWLINK = 3)` (rdma/rdma_netlink.h).
const RDMA_NLDEV_NEWLINK: u16 = (5 << 10) + 3;
/// `RDMA_NLDEV_ATTR_DEV_NAME`, `_NDEV_NAME`, `_LINK_TYPE` (rdma/rdma_netlink.h).
const RDMA_NLDEV_ATTR_DEV_NAME: u16 = 2;
const RDMA_NLDEV_ATTR_NDEV_NAME: u16 = 51;
const RDMA_NLDEV_ATTR_LINK_TYPE: u16 = 65;
/// smc_diag extensions requested: CONNINFO, LGRINFO, SHUTDOWN, DMBINFO (bit = type - 1).
const SMC_DIAG_EXT_ALL: u8 = 0b1111;

/// Appends one netlink attribute (4-byte aligned).
pub fn put_attr(buf: &mut Vec<u8>, ty: u16, data: &[u8]) {
    let len = 4 + data.len();
    buf.extend_from_slice(&(len as u16).to_ne_bytes());
    buf.extend_from_slice(&ty.to_ne_bytes());
    buf.extend_from_slice(data);
    while buf.len() % 4 != 0 {
        buf.push(0);
    }
}

fn put_str(buf: &mut Vec<u8>, ty: u16, s: &str) {
    let mut d = s.as_bytes().to_vec();
    d.push(0);
    put_attr(buf, ty, &d);
}

/// Iterates `(type, data)` over attributes.
pub fn attrs(mut b: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        if b.len() < 4 {
            return None;
        }
        let len = usize::from(u16::from_ne_bytes([b[0], b[1]]));
        let ty = u16::from_ne_bytes([b[2], b[3]]) & 0x3fff;
        if len < 4 || len > b.len() {
            return None;
        }
        let d = &b[4..len];
        b = &b[((len + 3) & !3).min(b.len())..];
        Some((ty, d))
    })
}

/// A netlink socket of one protocol.
pub struct Netlink {
    fd: OwnedFd,
    seq: u32,
}

impl Netlink {
    /// Opens a netlink socket.
    pub fn open(protocol: i32) -> Result<Netlink> {
        // SAFETY: plain socket(2).
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                protocol,
            )
        };
        if fd < 0 {
            return Err(LabError::msg(format!(
                "socket(AF_NETLINK, {protocol}): {}",
                io::Error::last_os_error()
            )));
        }
        // SAFETY: fresh fd owned by nobody else.
        Ok(Netlink {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            seq: 0,
        })
    }

    /// Sends one request and collects the reply payloads (after the nlmsghdr) until
    /// DONE (dumps) or the ACK. A netlink error becomes an `Err` naming `what`.
    pub fn request(
        &mut self,
        ty: u16,
        flags: u16,
        payload: &[u8],
        what: &str,
    ) -> Result<Vec<Vec<u8>>> {
        self.seq += 1;
        let mut msg = Vec::with_capacity(16 + payload.len());
        msg.extend_from_slice(&((16 + payload.len()) as u32).to_ne_bytes());
        msg.extend_from_slice(&ty.to_ne_bytes());
        msg.extend_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
        msg.extend_from_slice(&self.seq.to_ne_bytes());
        msg.extend_from_slice(&0u32.to_ne_bytes());
        msg.extend_from_slice(payload);
        // SAFETY: msg is a valid buffer of msg.len() bytes.
        let n = unsafe { libc::send(self.fd.as_raw_fd(), msg.as_ptr().cast(), msg.len(), 0) };
        if n < 0 {
            return Err(LabError::msg(format!(
                "{what}: send: {}",
                io::Error::last_os_error()
            )));
        }
        let dump = flags & NLM_F_DUMP == NLM_F_DUMP;
        let mut out = Vec::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            // SAFETY: buf is writable for buf.len() bytes.
            let n =
                unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                return Err(LabError::msg(format!(
                    "{what}: recv: {}",
                    io::Error::last_os_error()
                )));
            }
            let n = n as usize;
            let mut at = 0;
            while at + 16 <= n {
                let len =
                    u32::from_ne_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]) as usize;
                let mty = u16::from_ne_bytes([buf[at + 4], buf[at + 5]]);
                if len < 16 || at + len > n {
                    return Err(LabError::msg(format!("{what}: malformed netlink reply")));
                }
                let body = &buf[at + 16..at + len];
                match mty {
                    NLMSG_DONE => return Ok(out),
                    NLMSG_ERROR => {
                        let err = body
                            .get(0..4)
                            .map(|e| i32::from_ne_bytes([e[0], e[1], e[2], e[3]]))
                            .unwrap_or(-libc::EIO);
                        if err == 0 {
                            return Ok(out);
                        }
                        return Err(LabError::msg(format!(
                            "{what}: {}",
                            io::Error::from_raw_os_error(-err)
                        )));
                    }
                    _ => out.push(body.to_vec()),
                }
                at += (len + 3) & !3;
            }
            if !dump && flags & NLM_F_ACK == 0 && !out.is_empty() {
                return Ok(out);
            }
        }
    }
}

/// Resolves a generic-netlink family id by name.
fn genl_family(nl: &mut Netlink, name: &str) -> Result<u16> {
    let mut p = vec![CTRL_CMD_GETFAMILY, 1, 0, 0];
    put_str(&mut p, CTRL_ATTR_FAMILY_NAME, name);
    let replies = nl.request(GENL_ID_CTRL, 0, &p, &format!("genl family {name}"))?;
    for r in &replies {
        for (ty, d) in attrs(r.get(4..).unwrap_or(&[])) {
            if ty == CTRL_ATTR_FAMILY_ID && d.len() >= 2 {
                return Ok(u16::from_ne_bytes([d[0], d[1]]));
            }
        }
    }
    Err(LabError::msg(format!(
        "genl family {name} not found (smc loaded?)"
    )))
}

/// Adds a user EID like `smcr ueid add` (`smc_nl_add_ueid`, net/smc/smc_clc.c):
/// upper case, blank padded to 32 bytes plus NUL.
pub fn add_ueid(eid: &str) -> Result<String> {
    if eid.is_empty() || eid.len() > SMC_MAX_EID_LEN {
        return Err(LabError::msg(format!(
            "UEID {eid:?} must be 1..=32 characters"
        )));
    }
    let mut nl = Netlink::open(NETLINK_GENERIC)?;
    let fam = genl_family(&mut nl, SMC_GENL_FAMILY)?;
    let padded = format!(
        "{:<width$}",
        eid.to_ascii_uppercase(),
        width = SMC_MAX_EID_LEN
    );
    let mut p = vec![SMC_NETLINK_ADD_UEID, 1, 0, 0];
    put_str(&mut p, SMC_NLA_EID_TABLE_ENTRY, &padded);
    nl.request(fam, NLM_F_ACK, &p, &format!("add UEID {padded:?}"))?;
    Ok(padded)
}

/// Adds a PNET table entry like `smc_pnet -a PNETID -I ETH -D IB -P PORT`
/// (`smc_pnet_add`, net/smc/smc_pnet.c).
pub fn add_pnet(pnetid: &str, eth: &str, ib: &str, port: u8) -> Result<()> {
    let mut nl = Netlink::open(NETLINK_GENERIC)?;
    let fam = genl_family(&mut nl, SMC_PNETID_FAMILY)?;
    let mut p = vec![SMC_PNETID_ADD, 1, 0, 0];
    put_str(&mut p, SMC_PNETID_NAME, pnetid);
    put_str(&mut p, SMC_PNETID_ETHNAME, eth);
    put_str(&mut p, SMC_PNETID_IBNAME, ib);
    put_attr(&mut p, SMC_PNETID_IBPORT, &[port]);
    nl.request(
        fam,
        NLM_F_ACK,
        &p,
        &format!("add PNET {pnetid} {eth} {ib} {port}"),
    )?;
    Ok(())
}

/// `rdma link add NAME type rxe netdev NETDEV` (`nldev_newlink`,
/// drivers/infiniband/core/nldev.c). RDMA netlink has no family header.
pub fn add_rxe(name: &str, netdev: &str) -> Result<()> {
    let mut nl = Netlink::open(NETLINK_RDMA)?;
    let mut p = Vec::new();
    put_str(&mut p, RDMA_NLDEV_ATTR_DEV_NAME, name);
    put_str(&mut p, RDMA_NLDEV_ATTR_LINK_TYPE, "rxe");
    put_str(&mut p, RDMA_NLDEV_ATTR_NDEV_NAME, netdev);
    nl.request(
        RDMA_NLDEV_NEWLINK,
        NLM_F_ACK,
        &p,
        &format!("rdma link add {name} type rxe netdev {netdev}"),
    )?;
    Ok(())
}

/// Dumps every AF_SMC socket (`smc_diag_dump`, net/smc/smc_diag.c: IPv4 then IPv6).
pub fn smc_diag_dump(vm: &str) -> Result<Vec<RawDiag>> {
    let mut nl = Netlink::open(NETLINK_SOCK_DIAG)?;
    // struct smc_diag_req { u8 family; u8 pad[2]; u8 diag_ext; inet_diag_sockid id (48) }
    let mut req = vec![0u8; 52];
    req[0] = AF_SMC;
    req[3] = SMC_DIAG_EXT_ALL;
    let replies = nl
        .request(SOCK_DIAG_BY_FAMILY, NLM_F_DUMP, &req, "smc_diag dump")
        .context("smc_diag (is smc_diag loaded / CONFIG_SMC_DIAG set?)")?;
    replies
        .iter()
        .map(|r| parse_diag_msg(r, vm).context("decoding smc_diag reply"))
        .collect()
}
