//! A fuzz case as data, and how it becomes bytes.
//!
//! The recipe is kernel-independent: values the kernel decides (its loopback-ism GID, the DMB
//! token of its Accept, the Proposal it sends as a client) are named ([`Value64`] `"kernel"`,
//! `"accept-token"`, [`Base::Reply`] built against the kernel's Proposal) and filled in from
//! [`Ctx`] when the case runs. The same case file therefore replays on a fresh VM whose
//! loopback-ism GID is a different random number.

use super::mutate::{self, Mutation};
use super::{hex, unhex, Rng};
use crate::peer::scenario::{confirm_smcd, decline, Local, ProposalSpec, ReplySpec, Value64};
use crate::peer::Learned;
use serde::{Deserialize, Serialize};
use smc_wire::clc::{AcceptConfirmRepr, Body, ClcRepr, ProposalRepr};
use smc_wire::{ClcType, DeclineReason, Mode};
use std::net::{IpAddr, Ipv4Addr};

/// Which end the peer plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The peer connects and sends first; the kernel is the server (`smc_listen_work`).
    Client,
    /// The kernel connects (`__smc_connect`) and the peer answers its Proposal.
    Server,
}

/// Where a case comes from: (campaign seed, case index, attempt). The attempt counts
/// regenerations of the same index (e.g. a case that would only hit a known issue again).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CaseId {
    /// Campaign seed.
    pub seed: u64,
    /// Case index in the campaign.
    pub index: u64,
    /// Regeneration count.
    pub attempt: u32,
}

/// What a message is built from, before mutation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "base", rename_all = "kebab-case")]
pub enum Base {
    /// A Proposal from the reference peer's scenario spec.
    Proposal(ProposalSpec),
    /// An answer to the kernel's last Proposal (Accept SMC-D / SMC-R, Decline, stall).
    Reply(ReplySpec),
    /// A Decline as `smc_clc_send_decline` lays it out, any code.
    Decline {
        /// Reason (any 32-bit value).
        code: u32,
        /// Version nibble.
        version: u8,
        /// Out-of-sync bit (byte 7 bit 3).
        out_of_sync: bool,
    },
    /// A Confirm for the kernel's last Accept: SMC-D as a Linux client writes it with the given
    /// DMB token; for an SMC-R Accept, the Accept echoed as a Confirm.
    Confirm {
        /// Our DMB token (`"accept-token"`: the kernel's own from its Accept).
        token: Value64,
    },
    /// The kernel's last CLC message sent back with another type byte.
    Reflect {
        /// The type byte to write.
        as_type: u8,
    },
    /// Any message `arbitrary` makes of smc-wire's `ClcRepr` from `seed`'s bytes; with
    /// `normalize` made self-consistent first (counts, offsets, length).
    Wild {
        /// Seed of the bytes fed to `arbitrary`.
        seed: u64,
        /// Run `ClcRepr::normalize`.
        normalize: bool,
    },
    /// Fixed bytes (hex).
    Raw {
        /// The bytes.
        hex: String,
    },
}

/// One message: a base, mutations, and the seed for `"random"` values in the base.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Msg {
    /// What it is built from.
    pub base: Base,
    /// Byte-level mutations, applied in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mutations: Vec<Mutation>,
    /// Seed of `"random"` values.
    #[serde(default)]
    pub rseed: u64,
}

/// One message sent, possibly cut into several TCP segments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Send {
    /// The message.
    pub msg: Msg,
    /// Cut points (byte offsets); empty: one segment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cuts: Vec<u16>,
    /// Pause between segments, ms.
    #[serde(default)]
    pub gap_ms: u16,
}

/// How the peer ends the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum End {
    /// RST at once.
    Rst,
    /// FIN, then RST if the kernel has not closed within a short wait.
    Fin,
}

/// A fuzz case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    /// Origin.
    pub id: CaseId,
    /// The peer's role.
    pub role: Role,
    /// SMC option in our SYN (client) / SYN-ACK (server). Without it the kernel falls back
    /// before any CLC (`PEERNOSMC`).
    pub smc_option: bool,
    /// Sent first: client — right after the TCP handshake; server — after the kernel's
    /// Proposal (or whatever the kernel sent first).
    pub opening: Vec<Send>,
    /// Sent after the kernel's answer when it continues the handshake: client — after an
    /// Accept; server — after a Confirm. Empty: the peer sends nothing more (a missing message).
    pub follow: Vec<Send>,
    /// How the peer ends the connection.
    pub end: End,
    /// Server role: bytes the kernel client writes after `connect()` returns (over TCP after a
    /// fallback, or into the DMB it attached to for SMC-D).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub data: u16,
}

fn is_zero(v: &u16) -> bool {
    *v == 0
}

/// What the kernel revealed in this boot, in the form a case file keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// Loopback-ism GID, upper half.
    pub gid: Option<u64>,
    /// Loopback-ism GID, lower half (`gid_ext`).
    pub gid_ext: Option<u64>,
    /// DMB token of the kernel's last Accept.
    pub accept_token: Option<u64>,
}

impl From<Learned> for Facts {
    fn from(l: Learned) -> Facts {
        Facts {
            gid: l.loopback.map(|g| g.gid),
            gid_ext: l.loopback.map(|g| g.gid_ext),
            accept_token: l.accept_token,
        }
    }
}

/// What building a message may use.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// What the kernel revealed.
    pub learned: Learned,
    /// Our identity for the connection.
    pub local: Local,
    /// The kernel's last CLC message on this connection.
    pub kernel_msg: Option<Vec<u8>>,
}

/// The lab's peer address (see [`crate::lab::peer`]).
const PEER_IP: Ipv4Addr = crate::lab::peer::PEER_IP;

impl Ctx {
    /// A context for the lab addresses with `learned`.
    pub fn lab(learned: Learned) -> Ctx {
        Ctx {
            learned,
            local: Local {
                mac: crate::lab::peer::PEER_MAC,
                ipv4: Some(PEER_IP),
                ip: IpAddr::V4(PEER_IP),
            },
            kernel_msg: None,
        }
    }

    /// A stand-in for generation and tests: fixed GID and token, the Proposal and Accept an
    /// SMC_LO kernel sends (offering SMC-Dv2 on loopback-ism and SMC-Rv2).
    pub fn stand_in() -> Ctx {
        let learned = Learned {
            loopback: Some(smc_wire::clc::VirtualGid {
                gid: 0x6142_bb9b_bd96_3254,
                gid_ext: 0x0123_4567_89ab_cdef,
            }),
            accept_token: Some(0x0000_0000_0000_1000),
        };
        let mut c = Ctx::lab(learned);
        c.kernel_msg = Some(stand_in_proposal(&learned, &c.local));
        c
    }
}

/// The Proposal of an SMC_LO kernel client (typev1 N, typev2 B: loopback-ism + SMC-Rv2).
pub fn stand_in_proposal(learned: &Learned, local: &Local) -> Vec<u8> {
    let spec = ProposalSpec {
        typev2: "B".into(),
        max_conns: 255,
        max_links: 2,
        entries: vec![crate::peer::scenario::EntrySpec::Virtual {
            gid: Value64::named("kernel"),
            gid_ext: Value64::named("kernel-ext"),
            chid: 0xffff,
            swapped: false,
        }],
        ..ProposalSpec::default()
    };
    let mut r = || 0u64;
    spec.to_repr(learned, local, &mut r)
        .ok()
        .and_then(|p| ClcRepr::Proposal(p).to_vec().ok())
        .unwrap_or_default()
}

/// The Accept an SMC_LO kernel server sends for the stand-in Proposal.
pub fn stand_in_accept(learned: &Learned, local: &Local) -> Vec<u8> {
    let prop = stand_in_proposal(learned, local);
    let p = parse_proposal(&prop);
    let reply = ReplySpec::loopback_accept(Value64::named("accept-token"), 2);
    let mut r = || 0u64;
    reply
        .to_repr(&p, learned, local, &mut r)
        .ok()
        .flatten()
        .and_then(|m| m.to_vec().ok())
        .unwrap_or_default()
}

fn parse_proposal(b: &[u8]) -> ProposalRepr {
    match ClcRepr::parse(b, Mode::Lenient).map(|d| d.repr) {
        Ok(ClcRepr::Proposal(p)) => p,
        _ => ProposalRepr::default(),
    }
}

fn parse_accept(b: &[u8]) -> Option<AcceptConfirmRepr> {
    match ClcRepr::parse(b, Mode::Lenient).map(|d| d.repr) {
        Ok(ClcRepr::AcceptConfirm(a)) => Some(a),
        _ => None,
    }
}

impl Base {
    /// The unmutated bytes. Never fails: what cannot be built (a Confirm without an Accept to
    /// answer, a spec naming a value not learned) gives an empty message, which the runner
    /// sends as nothing.
    pub fn build(&self, ctx: &Ctx, rseed: u64) -> Vec<u8> {
        let mut rng = Rng::new(rseed);
        let mut rand = move || rng.next_u64();
        let kernel = ctx.kernel_msg.as_deref();
        // a kernel value not revealed yet in this boot (no Accept seen: no DMB token) reads 0
        let mut learned = ctx.learned;
        learned.loopback.get_or_insert_with(Default::default);
        learned.accept_token.get_or_insert(0);
        let ctx = &Ctx {
            learned,
            local: ctx.local,
            kernel_msg: None,
        };
        match self {
            Base::Proposal(spec) => spec
                .to_repr(&ctx.learned, &ctx.local, &mut rand)
                .ok()
                .and_then(|p| ClcRepr::Proposal(p).to_vec().ok())
                .unwrap_or_default(),
            Base::Reply(spec) => {
                let p = kernel.map(parse_proposal).unwrap_or_default();
                spec.to_repr(&p, &ctx.learned, &ctx.local, &mut rand)
                    .ok()
                    .flatten()
                    .and_then(|m| m.to_vec().ok())
                    .unwrap_or_default()
            }
            Base::Decline {
                code,
                version,
                out_of_sync,
            } => {
                let mut d = decline(DeclineReason(*code), (*version).max(1), *out_of_sync);
                d.version = *version & 0xf;
                ClcRepr::Decline(d).to_vec().unwrap_or_default()
            }
            Base::Confirm { token } => {
                let Some(a) = kernel.and_then(parse_accept) else {
                    return Vec::new();
                };
                let tok = token.resolve(&ctx.learned, &mut rand).unwrap_or(0);
                let c = match &a.body {
                    Body::Smcd(_) => {
                        let g = ctx.learned.loopback.unwrap_or_default();
                        confirm_smcd(&a, g.gid, g.gid_ext, tok)
                    }
                    Body::Smcr(_) => {
                        let mut c = a;
                        c.msg_type = ClcType::CONFIRM;
                        Some(c)
                    }
                };
                c.and_then(|c| ClcRepr::AcceptConfirm(c).to_vec().ok())
                    .unwrap_or_default()
            }
            Base::Reflect { as_type } => {
                let mut b = kernel.map(<[u8]>::to_vec).unwrap_or_default();
                if let Some(t) = b.get_mut(mutate::field::TYPE) {
                    *t = *as_type;
                }
                b
            }
            Base::Wild { seed, normalize } => wild(*seed, *normalize),
            Base::Raw { hex } => unhex(hex).unwrap_or_default(),
        }
    }
}

/// `arbitrary` over smc-wire's `ClcRepr`, from 1 KiB of seeded bytes.
pub fn wild(seed: u64, normalize: bool) -> Vec<u8> {
    use arbitrary::{Arbitrary, Unstructured};
    let data = Rng::new(seed).bytes(1024);
    let mut u = Unstructured::new(&data);
    let Ok(mut r) = ClcRepr::arbitrary(&mut u) else {
        return Vec::new();
    };
    if normalize {
        r.normalize();
    }
    match r.to_vec() {
        Ok(v) => v,
        Err(_) => {
            r.normalize();
            r.to_vec().unwrap_or_default()
        }
    }
}

impl Msg {
    /// The bytes of this message in `ctx`: the base, then the mutations.
    pub fn build(&self, ctx: &Ctx) -> Vec<u8> {
        let mut b = self.base.build(ctx, self.rseed);
        mutate::apply_all(&mut b, &self.mutations);
        b
    }
}

impl Send {
    /// The message's bytes and its segments.
    pub fn build(&self, ctx: &Ctx) -> (Vec<u8>, Vec<Vec<u8>>) {
        let b = self.msg.build(ctx);
        let segs = mutate::segments(&b, &self.cuts)
            .into_iter()
            .map(<[u8]>::to_vec)
            .collect();
        (b, segs)
    }
}

impl Case {
    /// Every mutation of the case (for statistics).
    pub fn mutation_count(&self) -> usize {
        self.opening
            .iter()
            .chain(&self.follow)
            .map(|s| s.msg.mutations.len())
            .sum()
    }

    /// A one-line description: role, bases, mutation count.
    pub fn describe(&self) -> String {
        let b = |s: &Send| -> String {
            let k = match &s.msg.base {
                Base::Proposal(p) => format!("Proposal(v{} {}/{})", p.version, p.typev1, p.typev2),
                Base::Reply(ReplySpec::AcceptSmcd { version, chid, .. }) => {
                    format!("AcceptD(v{version} chid {chid:#06x})")
                }
                Base::Reply(ReplySpec::AcceptSmcr { version, .. }) => {
                    format!("AcceptR(v{version})")
                }
                Base::Reply(ReplySpec::Decline { code, .. }) => format!("Decline({code})"),
                Base::Reply(ReplySpec::Stall { .. }) => "Stall".into(),
                Base::Decline { code, version, .. } => format!("Decline(v{version} {code:#010x})"),
                Base::Confirm { token } => format!("Confirm({})", token.0),
                Base::Reflect { as_type } => format!("Reflect(type {as_type})"),
                Base::Wild { seed, .. } => format!("Wild({seed:#x})"),
                Base::Raw { hex } => format!("Raw({} B)", hex.len() / 2),
            };
            let m = s.msg.mutations.len();
            let cut = if s.cuts.is_empty() {
                String::new()
            } else {
                format!("/{}seg", s.cuts.len() + 1)
            };
            if m > 0 {
                format!("{k}+{m}m{cut}")
            } else {
                format!("{k}{cut}")
            }
        };
        let open: Vec<String> = self.opening.iter().map(b).collect();
        let follow: Vec<String> = self.follow.iter().map(b).collect();
        let data = if self.data > 0 {
            format!(" data {}", self.data)
        } else {
            String::new()
        };
        format!(
            "{}{} [{}] then [{}] {:?}{data}",
            match self.role {
                Role::Client => "client",
                Role::Server => "server",
            },
            if self.smc_option { "" } else { " no-option" },
            open.join(", "),
            follow.join(", "),
            self.end
        )
    }
}

/// The bytes of a case's sends in `ctx`, hex (for the case file's record of what was sent).
pub fn sent_hex(sends: &[Send], ctx: &Ctx) -> Vec<String> {
    sends.iter().map(|s| hex(&s.msg.build(ctx))).collect()
}
