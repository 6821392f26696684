//! What the kernel must answer: the scenario model.
//!
//! The framing part is smc-wire's: [`smc_wire::clc::check::check_received`] mirrors
//! `smc_clc_wait_msg` + `smc_clc_msg_hdr_valid`. [`wait_msg`] adds what happens to a *stream*
//! (a message cut short waits, an over-long one is drained). The decision part transcribes the
//! Linux 6.12.117 source for the lab's SMC_LO kernel (loopback-ism, Soft-RoCE on eth0, one UEID):
//! `smc_listen_work` → `smc_listen_v2_check`, `smc_clc_srv_v2x_features_validate`,
//! `smc_listen_find_device` (server, peer as client) and `__smc_connect` →
//! `smc_connect_check_aclc`, `smc_connect_ism`, `smc_connect_rdma` (client, peer as server).
//! Where the answer depends on state the model does not track (link groups left by earlier
//! cases, DMBs of other connections) it says [`Answer::Unknown`] rather than guess; a
//! disagreement with the kernel is a finding of class "model divergence".

use serde::{Deserialize, Serialize};
use smc_wire::clc::check::{check_received, RecvContext};
use smc_wire::clc::{Eid, VirtualGid};
use smc_wire::{ClcType, DeclineReason};
use std::fmt;
use std::net::Ipv4Addr;

/// The kernel's reaction at one decision point.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Answer {
    /// It waits for more bytes (nothing until its `CLC_WAIT_TIME`).
    Waits,
    /// It drops the connection without CLC (server: `smc_listen_out_err`; client: `connect()`
    /// fails with EPROTO).
    Drops,
    /// Plain TCP from here (our Decline, or no SMC option): no CLC; data is echoed.
    Fallback,
    /// The SMC connection is established (SMC-D): TCP goes quiet.
    Active,
    /// It sends this CLC message (`Accept D v2`, `Decline NOSMCD2DEV`, `Confirm R v2`).
    Clc(String),
    /// A known kernel bug fires ([`super::oracle::KNOWN`] id).
    Crash(String),
    /// The model cannot tell.
    Unknown,
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Waits => f.write_str("waits"),
            Answer::Drops => f.write_str("drops"),
            Answer::Fallback => f.write_str("fallback"),
            Answer::Active => f.write_str("active"),
            Answer::Clc(s) => f.write_str(s),
            Answer::Crash(s) => write!(f, "crash {s}"),
            Answer::Unknown => f.write_str("?"),
        }
    }
}

impl Answer {
    /// True when nothing arrives on the TCP connection (what the peer can tell apart without
    /// sending more).
    pub fn is_quiet(&self) -> bool {
        matches!(self, Answer::Waits | Answer::Fallback | Answer::Active)
    }

    /// Whether an observed answer agrees with this prediction. The peer cannot tell a waiting
    /// kernel from an established SMC-D connection, so those compare equal.
    pub fn agrees(&self, observed: &Answer) -> bool {
        match (self, observed) {
            (Answer::Unknown, _) | (_, Answer::Unknown) => true,
            (Answer::Active, Answer::Waits) | (Answer::Waits, Answer::Active) => true,
            (a, b) => a == b,
        }
    }
}

/// The model's prediction for a case: the first answer, and the one after the follow-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prediction {
    /// After the opening messages.
    pub first: Answer,
    /// After the follow-up (client: our Confirm/Decline after an Accept; server: what follows
    /// the kernel's Confirm).
    pub second: Option<Answer>,
}

/// What the model knows about the kernel under test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kernel {
    /// Its loopback-ism GID (`None`: no ISMv2-capable device).
    pub loopback: Option<VirtualGid>,
    /// Its UEID table.
    pub ueids: Vec<Eid>,
    /// Its eth0 address and prefix length.
    pub ip: Ipv4Addr,
    /// Prefix length of eth0.
    pub prefix_len: u8,
    /// The DMB token of its last SMC-D Accept on this connection.
    pub accept_token: Option<u64>,
    /// `net.smc.smcr_max_conns_per_lgr`.
    pub sysctl_max_conns: u8,
    /// `net.smc.smcr_max_links_per_lgr`.
    pub sysctl_max_links: u8,
}

impl Kernel {
    /// The lab's SMC_LO kernel with the learned loopback-ism GID.
    pub fn lab(loopback: Option<VirtualGid>, accept_token: Option<u64>) -> Kernel {
        Kernel {
            loopback,
            ueids: vec![Eid::from_text(crate::lab::scenario::UEID)],
            ip: crate::lab::peer::KERNEL_IP,
            prefix_len: 24,
            accept_token,
            sysctl_max_conns: 255,
            sysctl_max_links: 2,
        }
    }

    fn in_subnet(&self, a: Ipv4Addr) -> bool {
        let mask = u32::MAX
            .checked_shl(32 - u32::from(self.prefix_len.min(32)))
            .unwrap_or(0);
        (u32::from(a) ^ u32::from(self.ip)) & mask == 0
    }
}

/// Positions the decision code reads (reference §3–§4; names as in the kernel structs).
mod field {
    pub const LENGTH: usize = 5; // §2.1
    pub const BITS: usize = 7; // §2.2
    pub const TYPE: usize = 4; // §2.1
    pub const IPAREA_OFFSET: usize = 38; // §3.1
    pub const SMCD: usize = 40; // §3.2 pclc_smcd
    pub const SMCD_LEN: usize = 40; // §3.2 sizeof(struct smc_clc_msg_smcd)
    pub const ISM_GID: usize = 40; // §3.2
    pub const ISM_CHID: usize = 48; // §3.2
    pub const V2_EXT_OFFSET: usize = 50; // §3.2
    pub const V2_EXT_BASE: usize = 52; // §3.2
    pub const V2_EXT_OFFSET_MAX: usize = 172; // §9.2
    pub const SMCD_V2_EXT_OFFSET_MAX: usize = 288; // §9.2
    pub const PFX_SUBNET: usize = 0; // §3.3
    pub const PFX_LEN: usize = 4; // §3.3
    pub const PFX_V6_CNT: usize = 7; // §3.3
    pub const E_EID_CNT: usize = 0; // §3.4
    pub const E_GID_CNT: usize = 1; // §3.4
    pub const E_FLAG: usize = 3; // §3.4
    pub const E_SMCD_OFFSET: usize = 6; // §3.4
    pub const E_SMCD_BASE: usize = 8; // §3.4
    pub const E_ROCE: usize = 8; // §3.4
    pub const E_MAX_CONNS: usize = 24; // §3.4
    pub const E_MAX_LINKS: usize = 25; // §3.4
    pub const E_UEIDS: usize = 40; // §3.4
    pub const EID_LEN: usize = 32; // §6.4
    pub const D_ENTRIES: usize = 48; // §3.5
    pub const D_ENTRY_LEN: usize = 10; // §3.5
    pub const D_ENTRY_CHID: usize = 8; // §3.5 chid within an entry
    pub const MAX_ENTRIES: usize = 8; // §9.2 SMCD_CLC_MAX_V2_GID_ENTRIES
    pub const A_D_TOKEN: usize = 16; // §4.2 d0.token
    pub const A_D_CHID: usize = 32; // §4.2 d1.chid
    pub const A_D_FCE: usize = 74; // §4.2
    pub const A_R_GID: usize = 16; // §4.1 lcl.gid
    pub const A_R_FCE: usize = 104; // §4.1
    pub const FCE_DIRECT: usize = 0; // §4.3 bit 7
    pub const FCE_RELEASE: usize = 1; // §4.3 bits 3-0
    pub const FCE_MAX_CONNS: usize = 36; // §4.3
    pub const FCE_MAX_LINKS: usize = 37; // §4.3
    pub const FIRST_CONTACT: u8 = 0x08; // §2.2
    pub const TYPE_N: u8 = 2; // §2.2 SMC_TYPE_N
    pub const RELEASE_MAX: u8 = 1; // SMC_RELEASE (v2.1)
    pub const CONN_PER_LGR_MIN: u8 = 16; // SMC_CONN_PER_LGR_MIN
    pub const LINKS_MIN: u8 = 1; // SMC_LINKS_ADD_LNK_MIN
    pub const LINKS_MAX: u8 = 2; // SMC_LINKS_ADD_LNK_MAX
    pub const DRAIN_CHUNK: usize = 100; // SMC_CLC_RECV_BUF_LEN
}

/// The kernel's receive buffer: bytes past what it received read as zero (it is kzalloc'ed).
struct Buf<'a>(&'a [u8]);

impl Buf<'_> {
    fn u8(&self, at: usize) -> u8 {
        self.0.get(at).copied().unwrap_or(0)
    }
    fn be16(&self, at: usize) -> usize {
        usize::from(self.u8(at)) << 8 | usize::from(self.u8(at + 1))
    }
    fn be64(&self, at: usize) -> u64 {
        (0..8).fold(0u64, |a, i| (a << 8) | u64::from(self.u8(at + i)))
    }
    fn bytes<const N: usize>(&self, at: usize) -> [u8; N] {
        let mut o = [0u8; N];
        for (i, b) in o.iter_mut().enumerate() {
            *b = self.u8(at + i);
        }
        o
    }
}

/// How `smc_clc_wait_msg` consumes a byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wait {
    /// It blocks for more bytes.
    Incomplete,
    /// -EPROTO.
    Eproto,
    /// A message passed the checks: what its buffer holds and how many stream bytes it took.
    Msg {
        /// The buffer (`min(length, buflen)` bytes).
        buf: Vec<u8>,
        /// Bytes consumed from the stream (the declared length).
        consumed: usize,
    },
}

/// `smc_clc_wait_msg` on `stream` in `ctx`.
pub fn wait_msg(stream: &[u8], ctx: &RecvContext) -> Wait {
    const HDR: usize = 8;
    if stream.len() < HDR {
        return Wait::Incomplete;
    }
    let b = Buf(stream);
    let version = b.u8(field::BITS) >> 4;
    let ty = ClcType(b.u8(field::TYPE));
    if version < 1 || (ty != ClcType::DECLINE && ty != ctx.expected) {
        return Wait::Eproto;
    }
    let datlen = b.be16(field::LENGTH);
    if datlen < HDR {
        // every type's validity check needs more than a header: the length check fails
        return Wait::Eproto;
    }
    let recvlen = datlen.min(ctx.buflen);
    if stream.len() < recvlen {
        return Wait::Incomplete;
    }
    if check_received(&stream[..recvlen], ctx).is_err() {
        return Wait::Eproto;
    }
    if stream.len() < datlen {
        // the drain loop reads the rest in SMC_CLC_RECV_BUF_LEN chunks
        let _ = field::DRAIN_CHUNK;
        return Wait::Incomplete;
    }
    Wait::Msg {
        buf: stream[..recvlen].to_vec(),
        consumed: datlen,
    }
}

fn smcd(t: u8) -> bool {
    t == 1 || t == 3
}
fn smcr(t: u8) -> bool {
    t == 0 || t == 3
}

fn decl(code: DeclineReason) -> Answer {
    Answer::Clc(format!("Decline {}", decline_name(code)))
}

/// A decline code's kernel name, or its hex value.
pub fn decline_name(code: DeclineReason) -> String {
    code.name()
        .map(String::from)
        .unwrap_or_else(|| format!("{:#010x}", code.0))
}

const V1: u8 = 1;
const V2: u8 = 2;

/// The server's decision on a Proposal that passed the framing checks (`buf` as received).
pub fn listen_decide(buf: &[u8], k: &Kernel) -> Answer {
    let b = Buf(buf);
    let bits = b.u8(field::BITS);
    let version = bits >> 4;
    let typev1 = bits & 3;
    let typev2 = (bits >> 2) & 3;

    // smc_listen_v2_check
    let mut smcd_v = if smcd(typev1) { V1 } else { 0 };
    let mut smcr_v = if smcr(typev1) { V1 } else { 0 };
    if version > 1 {
        if smcd(typev2) {
            smcd_v |= V2;
        }
        if smcr(typev2) {
            smcr_v |= V2;
        }
    }
    // smc_get_clc_msg_smcd: NULL when SMC-D is offered for v1 and the prefix is not right behind
    let ipoff = b.be16(field::IPAREA_OFFSET);
    let has_smcd_area = !(smcd(typev1) && ipoff != field::SMCD_LEN);
    let v2off = b.be16(field::V2_EXT_OFFSET);
    let e = (has_smcd_area && v2off != 0 && v2off <= field::V2_EXT_OFFSET_MAX)
        .then_some(field::V2_EXT_BASE + v2off);
    let d = e.and_then(|e| {
        let o = b.be16(e + field::E_SMCD_OFFSET);
        (o != 0 && o <= field::SMCD_V2_EXT_OFFSET_MAX).then_some(e + field::E_SMCD_BASE + o)
    });
    let mut rc = DeclineReason::PEERNOSMC;
    let mut release_nr = 0u8;
    if smcd_v & V2 != 0 || smcr_v & V2 != 0 {
        match e {
            None => {
                smcd_v &= !V2;
                smcr_v &= !V2;
                rc = DeclineReason::NOV2EXT;
            }
            Some(e) => {
                let eid_cnt = b.u8(e + field::E_EID_CNT);
                let seid = b.u8(e + field::E_FLAG) & 1 != 0;
                if smcd_v & V2 != 0 {
                    if k.loopback.is_none() {
                        smcd_v &= !V2;
                        rc = DeclineReason::NOISM2SUPP;
                    } else if d.is_none() {
                        smcd_v &= !V2;
                        rc = DeclineReason::NOV2DEXT;
                    } else if eid_cnt == 0 && !seid {
                        smcd_v &= !V2;
                        rc = DeclineReason::NOUEID;
                    }
                }
                if smcr_v & V2 != 0 && eid_cnt == 0 {
                    smcr_v &= !V2;
                    rc = DeclineReason::NOUEID;
                }
                release_nr = (b.u8(e + field::E_FLAG) >> 4).min(field::RELEASE_MAX);
            }
        }
    }
    if smcd_v == 0 && smcr_v == 0 {
        return decl(rc);
    }

    // smc_clc_srv_v2x_features_validate
    if (smcd_v & V2 != 0 || smcr_v & V2 != 0) && release_nr >= 1 {
        let Some(e) = e else {
            return decl(DeclineReason::NOV2EXT);
        };
        if smcr_v & V2 != 0 {
            if b.u8(e + field::E_MAX_CONNS).min(k.sysctl_max_conns) < field::CONN_PER_LGR_MIN {
                return decl(DeclineReason::MAXCONNERR);
            }
            if b.u8(e + field::E_MAX_LINKS).min(k.sysctl_max_links) < field::LINKS_MIN {
                return decl(DeclineReason::MAXLINKERR);
            }
        }
    }

    // smc_listen_find_device
    let mut ini_rc: Option<DeclineReason> = None;
    let store = |r: DeclineReason, ini_rc: &mut Option<DeclineReason>| {
        if ini_rc.is_none() {
            *ini_rc = Some(r);
        }
    };
    let eid_match = |e: usize| -> bool {
        let n = usize::from(b.u8(e + field::E_EID_CNT));
        (0..n).any(|i| {
            let u: [u8; 32] = b.bytes(e + field::E_UEIDS + i * field::EID_LEN);
            k.ueids.iter().any(|x| x.0 == u)
        })
    };
    // smc_find_ism_v2_device_serv
    if smcd_v & V2 != 0 && smcd(typev2) {
        if let (Some(e), Some(d), Some(lo)) = (e, d, k.loopback) {
            let mut matched = false;
            let chid0 = b.be16(field::ISM_CHID);
            if chid0 != 0 && chid0 == 0xffff && b.be64(field::ISM_GID) == lo.gid && lo.gid_ext == 0
            {
                matched = true;
            }
            let cnt = usize::from(b.u8(e + field::E_GID_CNT)).min(field::MAX_ENTRIES);
            let entry = |i: usize| {
                let at = d + field::D_ENTRIES + i * field::D_ENTRY_LEN;
                (b.be64(at), b.be16(at + field::D_ENTRY_CHID))
            };
            let mut i = 0;
            while i < cnt {
                let (gid, chid) = entry(i);
                let mut gid_ext = 0;
                if chid & 0xff00 == 0xff00 {
                    if i + 1 == cnt || chid != entry(i + 1).1 {
                        i += 1;
                        continue;
                    }
                    i += 1;
                    gid_ext = entry(i).0;
                }
                if !matched && chid == 0xffff && gid == lo.gid && gid_ext == lo.gid_ext {
                    matched = true;
                }
                i += 1;
            }
            if !matched {
                store(DeclineReason::NOSMCD2DEV, &mut ini_rc);
            } else if eid_match(e) {
                // smc_listen_ism_init succeeds on loopback-ism
                return Answer::Clc("Accept D v2".into());
            }
        }
    }
    // smc_listen_prfx_check
    let prfx_rc = if typev1 == field::TYPE_N {
        None
    } else {
        // smc_clc_proposal_get_prefix: the framing check already bounded the offset
        let p = field::SMCD + ipoff;
        let v6 = b.u8(p + field::PFX_V6_CNT);
        let subnet = Ipv4Addr::from(b.bytes::<4>(p + field::PFX_SUBNET));
        let ok = v6 == 0 && b.u8(p + field::PFX_LEN) == k.prefix_len && k.in_subnet(subnet);
        (!ok).then_some(DeclineReason::DIFFPREFIX)
    };
    if let Some(r) = prfx_rc {
        store(r, &mut ini_rc);
    }
    // smc_find_ism_v1_device_serv: no PNET-ID on eth0, so no v1 ISM device
    if prfx_rc.is_none() && smcd_v & V1 != 0 && smcd(typev1) && has_smcd_area {
        store(DeclineReason::NOSMCDDEV, &mut ini_rc);
    }
    if !smcr(typev1) && !smcr(typev2) {
        return decl(ini_rc.unwrap_or(DeclineReason::NOSMCDDEV));
    }
    // smc_find_rdma_v2_device_serv
    if smcr_v & V2 != 0 && smcr(typev2) {
        if let Some(e) = e {
            if eid_match(e) {
                let roce: [u8; 16] = b.bytes(e + field::E_ROCE);
                match std::net::Ipv6Addr::from(roce).to_ipv4_mapped() {
                    Some(a)
                        if k.in_subnet(a)
                            && a != k.ip
                            && !a.octets().ends_with(&[0])
                            && !a.octets().ends_with(&[255]) =>
                    {
                        return Answer::Clc("Accept R v2".into());
                    }
                    _ => return Answer::Unknown,
                }
            }
        }
    }
    // smc_find_rdma_v1_device_serv: Soft-RoCE has no RoCE v1 GID
    if prfx_rc.is_none() {
        store(DeclineReason::NOSMCDEV, &mut ini_rc);
        return decl(ini_rc.unwrap_or(DeclineReason::NOSMCDEV));
    }
    decl(prfx_rc.unwrap_or(DeclineReason::DIFFPREFIX))
}

/// Peer as client: the kernel server's answers to `opening` and then `follow`.
/// `accepted` is the kernel's actual Accept when the first answer was one (the second stage
/// needs its release and token).
pub fn predict_server(
    smc_option: bool,
    opening: &[u8],
    follow: &[u8],
    accept: Option<&[u8]>,
    k: &Kernel,
) -> Prediction {
    if !smc_option {
        return Prediction {
            first: Answer::Fallback,
            second: None,
        };
    }
    let (first, consumed, prop_buf) = match wait_msg(opening, &RecvContext::SERVER_PROPOSAL) {
        Wait::Incomplete => (Answer::Waits, 0, None),
        Wait::Eproto => (Answer::Drops, 0, None),
        Wait::Msg { buf, consumed } => {
            if ClcType(Buf(&buf).u8(field::TYPE)) == ClcType::DECLINE {
                (Answer::Fallback, consumed, None)
            } else {
                (listen_decide(&buf, k), consumed, Some(buf))
            }
        }
    };
    let second = match (&first, accept) {
        (Answer::Clc(s), Some(acc)) if s.starts_with("Accept") => {
            let mut stream = opening.get(consumed..).unwrap_or_default().to_vec();
            stream.extend_from_slice(follow);
            Some(confirm_stage(&stream, acc, prop_buf.as_deref(), k))
        }
        _ => None,
    };
    Prediction { first, second }
}

/// The kernel server after its Accept: our next bytes.
fn confirm_stage(stream: &[u8], accept: &[u8], prop: Option<&[u8]>, k: &Kernel) -> Answer {
    let a = Buf(accept);
    let is_smcd = a.u8(field::BITS) & 3 == 1;
    match wait_msg(stream, &RecvContext::SERVER_CONFIRM) {
        Wait::Incomplete => Answer::Waits,
        Wait::Eproto => Answer::Drops,
        Wait::Msg { buf, .. } => {
            let c = Buf(&buf);
            if ClcType(c.u8(field::TYPE)) == ClcType::DECLINE {
                // smc_clc_wait_msg: the out-of-sync bit unlinks the link group
                // (smc_lgr_terminate_sched), so smc_conn_free leaves the connection registered;
                // for a first-contact Accept smc_conn_abort → smc_lgr_cleanup_early →
                // __smc_lgr_terminate then lock_sock()s this very socket
                if c.u8(field::BITS) & field::FIRST_CONTACT != 0 {
                    if a.u8(field::BITS) & field::FIRST_CONTACT != 0 {
                        return Answer::Crash(super::oracle::KNOWN_SYNCERR_DEADLOCK.into());
                    }
                    // a reused link group: its termination work kills every connection in
                    // it, this one included (still registered, see above)
                    return Answer::Drops;
                }
                return Answer::Fallback;
            }
            // smc_clc_v2x_features_confirm_check
            let bits = c.u8(field::BITS);
            if bits >> 4 != 1 && bits & field::FIRST_CONTACT != 0 {
                let fce = if is_smcd {
                    field::A_D_FCE
                } else {
                    field::A_R_FCE
                };
                let release = c.u8(fce + field::FCE_RELEASE) & 0xf;
                let release_nr = prop
                    .map(|p| {
                        let p = Buf(p);
                        let e = field::V2_EXT_BASE + p.be16(field::V2_EXT_OFFSET);
                        (p.u8(e + field::E_FLAG) >> 4).min(field::RELEASE_MAX)
                    })
                    .unwrap_or(field::RELEASE_MAX);
                if release != release_nr {
                    return if is_smcd {
                        decl(DeclineReason::RELEASEERR)
                    } else {
                        Answer::Unknown
                    };
                }
            }
            if !is_smcd {
                // SMC-R: first link over RoCE, which the peer does not speak
                return Answer::Unknown;
            }
            // smcd_buf_attach with the Confirm's token: only the kernel's own DMB attaches
            let token = c.be64(field::A_D_TOKEN);
            let own = a.be64(field::A_D_TOKEN);
            if token == own {
                Answer::Active
            } else if Some(token) == k.accept_token {
                Answer::Unknown
            } else {
                Answer::Drops
            }
        }
    }
}

/// Peer as server: whether our `reply` is an SMC-D Accept naming a DMB of the kernel's own
/// (`k.accept_token`, the token of its last Accept).
///
/// 6.12 `smcd_buf_attach` → `smc_lo_attach_dmb` attaches the client's send buffer to any DMB
/// still registered with loopback-ism, also one whose server connection is gone (an aborted
/// non-first-contact connection leaves its RMB registered and unused, `smc_buf_unuse`). Every
/// CDC message of such a connection then fails in `smc_lo_move_data` (`smcd->conn[sba_idx]`
/// is NULL: -EPIPE), `smcd_tx_ism_write` sets only `local_tx_ctrl.conn_state_flags.
/// peer_conn_abort`, which makes `smc_rx_wait`'s `sk_wait_event` condition true at once while
/// `smc_rx_recvmsg` does not stop on it: a recv() after a send busy-loops in the kernel
/// (captures/kfuzz/smcd-orphan-dmb-rx-spin.json). Whether the DMB is orphaned depends on
/// earlier cases, which the model does not track; the campaign avoids these cases once the
/// issue is known.
pub fn names_own_dmb(reply: &[u8], k: &Kernel) -> bool {
    let Wait::Msg { buf, .. } = wait_msg(reply, &RecvContext::CLIENT_ACCEPT) else {
        return false;
    };
    let a = Buf(&buf);
    ClcType(a.u8(field::TYPE)) == ClcType::ACCEPT
        && a.u8(field::BITS) & 3 == 1
        && k.accept_token == Some(a.be64(field::A_D_TOKEN))
}

/// Peer as server: the kernel client's answer to our `reply` (after its Proposal `prop`).
pub fn predict_client(smc_option: bool, prop: &[u8], reply: &[u8], k: &Kernel) -> Prediction {
    let only = |a: Answer| Prediction {
        first: a,
        second: None,
    };
    if !smc_option {
        return only(Answer::Fallback);
    }
    let buf = match wait_msg(reply, &RecvContext::CLIENT_ACCEPT) {
        Wait::Incomplete => return only(Answer::Waits),
        Wait::Eproto => return only(Answer::Drops),
        Wait::Msg { buf, .. } => buf,
    };
    let a = Buf(&buf);
    if ClcType(a.u8(field::TYPE)) == ClcType::DECLINE {
        return only(Answer::Fallback);
    }
    let bits = a.u8(field::BITS);
    let version = bits >> 4;
    let chosen = bits & 3;
    let first_contact = bits & field::FIRST_CONTACT != 0;
    let p = Buf(prop);
    let pbits = p.u8(field::BITS);
    // smc_connect_check_aclc
    let offered = if version >= 2 {
        (pbits >> 2) & 3
    } else {
        pbits & 3
    };
    if (chosen == 0 && !smcr(offered)) || (chosen == 1 && !smcd(offered)) {
        return only(decl(DeclineReason::MODEUNSUPP));
    }
    if chosen == 1 {
        // smc_connect_ism
        if version != 2 {
            // the v2 block (CHID selection) runs only for version == 2: ism_dev[0] is NULL
            return only(Answer::Crash(super::oracle::KNOWN_SMCD_V3.into()));
        }
        // smc_v2_determine_accepted_chid: the CHIDs the kernel offered (its v2 list)
        let chid = a.be16(field::A_D_CHID);
        if !offered_chids(prop).contains(&chid) {
            return only(Answer::Drops);
        }
        if !first_contact {
            return only(Answer::Unknown); // link-group reuse: depends on earlier cases
        }
        let token = a.be64(field::A_D_TOKEN);
        if Some(token) == k.accept_token {
            return only(Answer::Unknown); // an existing DMB of this kernel: attach may work
        }
        // smcd_buf_attach: no DMB with that token ⇒ MEM ("try to fallback")
        return only(decl(DeclineReason::MEM));
    }
    // smc_connect_rdma → smc_connect_rdma_v2_prepare
    if first_contact && version != 1 {
        let fce = field::A_R_FCE;
        if a.u8(fce + field::FCE_DIRECT) & 0x80 == 0 {
            let gid: [u8; 16] = a.bytes(field::A_R_GID);
            return only(match std::net::Ipv6Addr::from(gid).to_ipv4_mapped() {
                Some(x) if k.in_subnet(x) && x != k.ip => decl(DeclineReason::NOINDIRECT),
                _ => Answer::Unknown,
            });
        }
        let release = a.u8(fce + field::FCE_RELEASE) & 0xf;
        if release >= 1 {
            if a.u8(fce + field::FCE_MAX_CONNS) < field::CONN_PER_LGR_MIN {
                return only(decl(DeclineReason::MAXCONNERR));
            }
            let ml = a.u8(fce + field::FCE_MAX_LINKS);
            if !(field::LINKS_MIN..=field::LINKS_MAX).contains(&ml) {
                return only(decl(DeclineReason::MAXLINKERR));
            }
        }
    }
    if !first_contact {
        // smc_conn_create: the peer claims a link group that never got an active link
        return only(decl(DeclineReason::SYNCERR));
    }
    only(Answer::Unknown)
}

/// The CHIDs in a kernel client's Proposal: the native one (SMC-D in `typev1`) and the v2 list.
pub fn offered_chids(prop: &[u8]) -> Vec<usize> {
    let p = Buf(prop);
    let bits = p.u8(field::BITS);
    let mut v = Vec::new();
    if smcd(bits & 3) {
        v.push(p.be16(field::ISM_CHID));
    }
    if smcd((bits >> 2) & 3) {
        let e = field::V2_EXT_BASE + p.be16(field::V2_EXT_OFFSET);
        let d = e + field::E_SMCD_BASE + p.be16(e + field::E_SMCD_OFFSET);
        let n = usize::from(p.u8(e + field::E_GID_CNT)).min(field::MAX_ENTRIES);
        for i in 0..n {
            v.push(p.be16(d + field::D_ENTRIES + i * field::D_ENTRY_LEN + field::D_ENTRY_CHID));
        }
    }
    v.retain(|c| *c != 0);
    v
}
