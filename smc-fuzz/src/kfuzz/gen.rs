//! Case generation: (seed, index, attempt) → [`Case`].
//!
//! Messages start from smc-wire representations that respect what the kernel checks — mostly
//! the reference peer's [`ProposalSpec`] / [`ReplySpec`] with fields drawn from values that
//! matter to `smc_listen_work` / `__smc_connect` (the kernel's own loopback-ism GID, CHID 0xFFFF
//! and the virtual-ISM range, the lab UEID, releases, limits), sometimes `arbitrary` over
//! `ClcRepr` — and then get byte-level [`mutate`] mutations, segment cuts, extra, repeated and
//! out-of-order messages. The weights keep most cases fast: a case whose kernel answer takes a
//! kernel timeout (a stalled SMC-R link, a missing Confirm) is rare.

use super::case::{Base, Case, CaseId, Ctx, End, Msg, Role, Send};
use super::{mutate, Rng};
use crate::peer::scenario::{EntrySpec, ProposalSpec, ReplySpec, Value64};

/// Which roles a campaign plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Roles {
    /// Peer as client only.
    Client,
    /// Peer as server only.
    Server,
    /// Both, about 60 % client (client cases are cheaper: no agent round trip).
    Both,
}

/// Decline codes worth sending: every `SMC_CLC_DECL_*` value of §5.2 plus a few that are not.
const DECLINE_CODES: &[u32] = &[
    0x0100_0000,
    0x0101_0000,
    0x0102_0000,
    0x0200_0000,
    0x0300_0000,
    0x0301_0000,
    0x0302_0000,
    0x0303_0000,
    0x0303_0001,
    0x0303_0002,
    0x0303_0003,
    0x0303_0004,
    0x0303_0005,
    0x0303_0006,
    0x0303_0007,
    0x0303_0008,
    0x0303_0009,
    0x0303_000a,
    0x0303_000b,
    0x0304_0000,
    0x0305_0000,
    0x0306_0000,
    0x0307_0000,
    0x0308_0000,
    0x0309_0000,
    0x030a_0000,
    0x030b_0000,
    0x0400_0000,
    0x0500_0000,
    0x0900_0000,
    0x0999_0000,
    0x0999_0001,
    0x0999_0002,
    0,
    0xffff_ffff,
];

fn v64(rng: &mut Rng) -> Value64 {
    match rng.weighted(&[50, 30, 10, 10]) {
        0 => Value64::named("kernel"),
        1 => Value64::named("random"),
        2 => Value64::hex(0),
        _ => Value64::hex(u64::MAX),
    }
}

fn chid(rng: &mut Rng) -> u16 {
    match rng.weighted(&[55, 15, 10, 10, 10]) {
        0 => 0xffff,
        1 => 0xff00 + rng.below(0xff) as u16, // the virtual-ISM range (§6.1)
        2 => 0,
        3 => rng.below(0xff00) as u16,
        _ => 0xfffe,
    }
}

fn entries(rng: &mut Rng) -> Vec<EntrySpec> {
    let n = rng.weighted(&[5, 40, 15, 15, 10, 10, 5]);
    let mut v = Vec::new();
    for _ in 0..n {
        if v.len() >= 8 {
            break;
        }
        let e = match rng.weighted(&[45, 15, 15, 15, 10]) {
            0 => EntrySpec::Virtual {
                gid: Value64::named("kernel"),
                gid_ext: Value64::named("kernel-ext"),
                chid: 0xffff,
                swapped: false,
            },
            1 => EntrySpec::Virtual {
                gid: v64(rng),
                gid_ext: if rng.chance(50) {
                    Value64::named("kernel-ext")
                } else {
                    Value64::named("random")
                },
                chid: chid(rng),
                swapped: rng.chance(30),
            },
            2 => EntrySpec::Raw {
                gid: v64(rng),
                chid: chid(rng),
            },
            3 => EntrySpec::Raw {
                gid: Value64::named(if rng.chance(50) {
                    "kernel"
                } else {
                    "kernel-ext"
                }),
                chid: 0xffff,
            },
            _ => EntrySpec::Raw {
                gid: Value64::named("random"),
                chid: rng.below(0x1_0000) as u16,
            },
        };
        let w = match e {
            EntrySpec::Virtual { .. } => 2,
            EntrySpec::Raw { .. } => 1,
        };
        if v.iter()
            .map(|e: &EntrySpec| match e {
                EntrySpec::Virtual { .. } => 2,
                EntrySpec::Raw { .. } => 1,
            })
            .sum::<usize>()
            + w
            > 8
        {
            break;
        }
        v.push(e);
    }
    v
}

fn ueid(rng: &mut Rng) -> String {
    match rng.weighted(&[60, 10, 10, 10, 10]) {
        0 => crate::lab::scenario::UEID.to_string(),
        1 => "smc-lab-ueid".into(), // lower case: not a valid UEID, still compared bytewise
        2 => format!("SMC-LAB-UEID{}", rng.below(10)),
        3 => {
            let n = rng.range(1, 32) as usize;
            String::from_utf8_lossy(&rng.bytes(n))
                .chars()
                .filter(|c| !c.is_control())
                .take(32)
                .collect()
        }
        _ => String::new(),
    }
}

fn smc_type(rng: &mut Rng, weights: &[u32; 4]) -> String {
    ["N", "R", "D", "B"][rng.weighted(weights)].into()
}

/// A Proposal spec around what the SMC_LO kernel server accepts.
pub fn proposal_spec(rng: &mut Rng) -> ProposalSpec {
    let version = match rng.weighted(&[85, 6, 5, 4]) {
        0 => 2,
        1 => 1,
        2 => rng.range(3, 15) as u8,
        _ => 0,
    };
    let typev1 = smc_type(rng, &[70, 10, 10, 10]);
    let typev2 = smc_type(rng, &[5, 5, 80, 10]);
    let n_ueids = rng.weighted(&[8, 80, 6, 3, 3]);
    ProposalSpec {
        version,
        typev1,
        typev2,
        native: rng
            .chance(10)
            .then(|| (v64(rng), if rng.chance(50) { chid(rng) } else { 0x1234 })),
        entries: entries(rng),
        ism_gid_cnt: rng
            .chance(8)
            .then(|| rng.pick(&[0u8, 1, 2, 7, 8, 9, 10, 255]).unwrap_or(9)),
        ueids: (0..n_ueids).map(|_| ueid(rng)).collect(),
        seid: rng.chance(15),
        system_eid: rng
            .chance(10)
            .then(|| crate::lab::scenario::UEID.to_string()),
        release: match rng.weighted(&[20, 60, 20]) {
            0 => 0,
            1 => 1,
            _ => rng.range(2, 15) as u8,
        },
        max_conns: rng
            .pick(&[0u8, 1, 15, 16, 17, 255, 255, 255])
            .unwrap_or(255),
        max_links: rng.pick(&[0u8, 1, 2, 2, 3, 255]).unwrap_or(2),
        feature_mask: rng.pick(&[0u16, 1, 1, 2, 0xffff]).unwrap_or(1),
    }
}

/// An answer to the kernel client's Proposal.
pub fn reply_spec(rng: &mut Rng) -> ReplySpec {
    match rng.weighted(&[70, 8, 22]) {
        0 => ReplySpec::AcceptSmcd {
            version: match rng.weighted(&[70, 12, 10, 8]) {
                0 => 2,
                1 => 1,
                2 => rng.range(3, 15) as u8,
                _ => 0,
            },
            first_contact: rng.chance(80),
            smc_type: rng.chance(8).then(|| smc_type(rng, &[25, 25, 25, 25])),
            chid: chid(rng),
            gid: v64(rng),
            gid_ext: if rng.chance(70) {
                Value64::named("kernel-ext")
            } else {
                v64(rng)
            },
            token: match rng.weighted(&[50, 30, 20]) {
                0 => Value64::named("random"),
                1 => Value64::named("accept-token"),
                _ => Value64::hex(rng.pick(&[0u64, 1, u64::MAX]).unwrap_or(0)),
            },
            dmbe_size: rng.below(16) as u8,
            release: match rng.weighted(&[20, 60, 20]) {
                0 => 0,
                1 => 1,
                _ => rng.range(2, 15) as u8,
            },
        },
        1 => ReplySpec::AcceptSmcr {
            version: if rng.chance(80) { 2 } else { 1 },
            first_contact: rng.chance(80),
            smc_type: rng.chance(8).then(|| smc_type(rng, &[25, 25, 25, 25])),
            release: rng.pick(&[0u8, 1, 1, 2]).unwrap_or(1),
            max_conns: rng.pick(&[0u8, 15, 16, 255]).unwrap_or(255),
            max_links: rng.pick(&[0u8, 1, 2, 3]).unwrap_or(2),
        },
        _ => ReplySpec::Decline {
            code: format!("{:#x}", rng.pick(DECLINE_CODES).unwrap_or(0x0303_0000)),
            version: rng.chance(30).then(|| rng.below(16) as u8),
            out_of_sync: rng.chance(15),
        },
    }
}

fn decline_base(rng: &mut Rng) -> Base {
    Base::Decline {
        code: rng.pick(DECLINE_CODES).unwrap_or(0x0303_0000),
        version: rng.pick(&[1u8, 2, 2, 2, 0, 3, 15]).unwrap_or(2),
        out_of_sync: rng.chance(15),
    }
}

fn decline_msg(rng: &mut Rng, ctx: &Ctx, pct: u64) -> Msg {
    let b = decline_base(rng);
    msg(rng, b, ctx, pct)
}

/// `arbitrary` over `ClcRepr`; `normalize` None: normalised 70 % of the time.
fn wild_msg(rng: &mut Rng, normalize: impl Into<Option<bool>>, ctx: &Ctx, pct: u64) -> Msg {
    let seed = rng.next_u64();
    let normalize = match normalize.into() {
        Some(n) => n,
        None => rng.chance(70),
    };
    msg(rng, Base::Wild { seed, normalize }, ctx, pct)
}

/// How many mutations a message gets.
fn mutation_count(rng: &mut Rng) -> usize {
    match rng.weighted(&[30, 25, 20, 10, 15]) {
        0 => 0,
        1 => 1,
        2 => 2,
        3 => 3,
        _ => rng.range(4, 8) as usize,
    }
}

/// A message with mutations chosen against its stand-in bytes.
fn msg(rng: &mut Rng, base: Base, ctx: &Ctx, mutate_pct: u64) -> Msg {
    let rseed = rng.next_u64();
    let bytes = base.build(ctx, rseed);
    let n = if rng.chance(mutate_pct) {
        mutation_count(rng).max(1)
    } else {
        0
    };
    let mutations = mutate::random_list(rng, &bytes, n);
    Msg {
        base,
        mutations,
        rseed,
    }
}

fn send(rng: &mut Rng, m: Msg, ctx: &Ctx) -> Send {
    let len = m.build(ctx).len();
    let cuts = mutate::random_cuts(rng, len);
    let gap_ms = if cuts.is_empty() {
        0
    } else {
        rng.pick(&[0u16, 0, 1, 5, 20]).unwrap_or(0)
    };
    Send {
        msg: m,
        cuts,
        gap_ms,
    }
}

fn client_case(rng: &mut Rng, id: CaseId) -> Case {
    let ctx = Ctx::stand_in();
    let mut opening = Vec::new();
    let first = match rng.weighted(&[78, 8, 4, 4, 3, 3]) {
        0 => Base::Proposal(proposal_spec(rng)),
        1 => Base::Wild {
            seed: rng.next_u64(),
            normalize: rng.chance(70),
        },
        2 => decline_base(rng),
        // wrong order: an Accept or a Confirm before any Proposal
        3 => Base::Reply(reply_spec(rng)),
        4 => Base::Reflect {
            as_type: rng.pick(&[1u8, 2, 3, 4, 0, 5, 0xff]).unwrap_or(1),
        },
        _ => Base::Raw {
            hex: {
                let n = rng.range(1, 80) as usize;
                super::hex(&rng.bytes(n))
            },
        },
    };
    let m = msg(rng, first, &ctx, 65);
    opening.push(send(rng, m, &ctx));
    // extra messages pipelined behind the first: repeated, a Decline, junk
    if rng.chance(10) {
        let extra = match rng.weighted(&[50, 25, 25]) {
            0 => opening[0].msg.clone(),
            1 => decline_msg(rng, &ctx, 30),
            _ => wild_msg(rng, true, &ctx, 30),
        };
        opening.push(send(rng, extra, &ctx));
    }
    // after the kernel's Accept
    let mut actx = ctx.clone();
    actx.kernel_msg = Some(super::case::stand_in_accept(&ctx.learned, &ctx.local));
    let mut follow = Vec::new();
    match rng.weighted(&[45, 25, 5, 10, 15]) {
        0 => {
            let token = match rng.weighted(&[50, 35, 15]) {
                0 => Value64::named("accept-token"),
                1 => Value64::named("random"),
                _ => Value64::hex(0),
            };
            let m = msg(rng, Base::Confirm { token }, &actx, 50);
            follow.push(send(rng, m, &actx));
        }
        1 => {
            let m = decline_msg(rng, &actx, 30);
            follow.push(send(rng, m, &actx));
        }
        2 => {
            // wrong order: the Proposal again
            let m = opening[0].msg.clone();
            follow.push(send(rng, m, &actx));
        }
        3 => {
            let m = wild_msg(rng, None, &actx, 40);
            follow.push(send(rng, m, &actx));
        }
        _ => {} // missing Confirm
    }
    Case {
        id,
        role: Role::Client,
        smc_option: !rng.chance(2),
        opening,
        follow,
        end: if rng.chance(85) { End::Rst } else { End::Fin },
        data: 0,
    }
}

fn server_case(rng: &mut Rng, id: CaseId) -> Case {
    let ctx = Ctx::stand_in();
    let first = match rng.weighted(&[78, 8, 6, 4, 4]) {
        0 => Base::Reply(reply_spec(rng)),
        1 => Base::Wild {
            seed: rng.next_u64(),
            normalize: rng.chance(70),
        },
        2 => decline_base(rng),
        // wrong order: the kernel's own Proposal back (as a Proposal, a Confirm, ...)
        3 => Base::Reflect {
            as_type: rng.pick(&[1u8, 2, 3, 4, 0, 0xff]).unwrap_or(1),
        },
        _ => Base::Raw {
            hex: {
                let n = rng.range(1, 80) as usize;
                super::hex(&rng.bytes(n))
            },
        },
    };
    let m = msg(rng, first, &ctx, 60);
    let mut opening = vec![send(rng, m, &ctx)];
    if rng.chance(8) {
        let extra = if rng.chance(50) {
            opening[0].msg.clone()
        } else {
            decline_msg(rng, &ctx, 30)
        };
        opening.push(send(rng, extra, &ctx));
    }
    let mut follow = Vec::new();
    if rng.chance(25) {
        let m = match rng.weighted(&[40, 30, 30]) {
            0 => decline_msg(rng, &ctx, 30),
            1 => opening[0].msg.clone(),
            _ => wild_msg(rng, true, &ctx, 30),
        };
        follow.push(send(rng, m, &ctx));
    }
    Case {
        id,
        role: Role::Server,
        smc_option: !rng.chance(2),
        opening,
        follow,
        end: if rng.chance(85) { End::Rst } else { End::Fin },
        // the kernel writes after connect(): into the DMB it attached to, for SMC-D
        data: if rng.chance(35) {
            rng.pick(&[1u16, 64, 1000, 4096, 20000]).unwrap_or(64)
        } else {
            0
        },
    }
}

/// The case for (seed, index, attempt).
pub fn generate(seed: u64, index: u64, attempt: u32, roles: Roles) -> Case {
    let mut rng = Rng::for_case(seed, index, attempt);
    let id = CaseId {
        seed,
        index,
        attempt,
    };
    let role = match roles {
        Roles::Client => Role::Client,
        Roles::Server => Role::Server,
        Roles::Both => {
            if rng.chance(60) {
                Role::Client
            } else {
                Role::Server
            }
        }
    };
    match role {
        Role::Client => client_case(&mut rng, id),
        Role::Server => server_case(&mut rng, id),
    }
}
