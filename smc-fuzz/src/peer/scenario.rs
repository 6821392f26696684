//! Scenarios as data: what the peer offers, accepts or declines (issue 7). A scenario is a
//! serde struct (TOML or JSON) that maps field by field onto smc-wire's representations; the
//! peer never writes CLC bytes by hand (style §6.8).
//!
//! Values that depend on the kernel under test are named, not written: a GID of `"kernel"` /
//! `"kernel-ext"` is the 128-bit loopback-ism GID the kernel itself proposed earlier in the same
//! boot (reference §3.6), `"accept-token"` is the DMB token of the kernel's own Accept.

use super::Learned;
use serde::{Deserialize, Serialize};
use smc_wire::clc::{
    AcceptConfirmRepr, Body, Chid, DeclineRepr, Eid, FceRepr, FceV2x, GidChid, IsmGid, Mac, OsType,
    PeerId, PrefixArea, ProposalRepr, RoceGid, SmcdArea, SmcdBody, SmcdV2, SmcdV2Ext, SmcrBody,
    SmcrV2, V2Ext,
};
use smc_wire::{ClcType, DeclineReason, Eyecatcher, SmcType};
use std::net::{IpAddr, Ipv4Addr};

/// Which end the peer plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The peer connects and sends the Proposal; the kernel is the server.
    Client,
    /// The peer listens and answers the kernel's Proposal.
    Server,
}

/// TCP-level choices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TcpSpec {
    /// `linux` (SYN always, SYN-ACK when the SYN had it), `never`, or `always`.
    pub smc_option: String,
}

impl Default for TcpSpec {
    fn default() -> Self {
        TcpSpec {
            smc_option: "linux".into(),
        }
    }
}

/// A 64-bit value: `"0x…"` hex, a decimal number, `"random"`, or a learned value:
/// `"kernel"` / `"kernel-ext"` (the kernel's loopback-ism GID halves), `"accept-token"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Value64(pub String);

impl Value64 {
    /// A hex literal.
    pub fn hex(v: u64) -> Value64 {
        Value64(format!("0x{v:016x}"))
    }
    /// A named value.
    pub fn named(s: &str) -> Value64 {
        Value64(s.into())
    }

    /// Resolves against what was learned; `rand` supplies `"random"`.
    pub fn resolve(&self, l: &Learned, rand: &mut dyn FnMut() -> u64) -> Result<u64, String> {
        let s = self.0.trim();
        let need = |v: Option<u64>, what: &str| {
            v.ok_or_else(|| {
                format!(
                    "{what} is not known yet: run a scenario in which the kernel sends it first"
                )
            })
        };
        match s {
            "random" => Ok(rand()),
            "kernel" => need(l.loopback.map(|g| g.gid), "the kernel's loopback-ism GID"),
            "kernel-ext" => need(l.loopback.map(|g| g.gid_ext), "the kernel's loopback-ism gid_ext"),
            "accept-token" => need(l.accept_token, "the kernel's DMB token"),
            _ => parse_u64(s).ok_or_else(|| format!("{s:?} is not a number, \"random\", \"kernel\", \"kernel-ext\" or \"accept-token\"")),
        }
    }
}

fn parse_u64(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(&h.replace('_', ""), 16).ok(),
        None => s.parse().ok(),
    }
}

/// One entry of the SMC-Dv2 GID/CHID list (reference §3.5, §3.6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum EntrySpec {
    /// One raw 10-byte entry.
    Raw {
        /// GID (64 bits).
        gid: Value64,
        /// CHID.
        chid: u16,
    },
    /// An Emulated-ISM device: two entries with the same CHID, `gid` then `gid_ext` (§3.6), or
    /// the halves swapped.
    Virtual {
        /// Upper half (`gid`).
        gid: Value64,
        /// Lower half (`gid_ext`).
        gid_ext: Value64,
        /// CHID (0xFFFF = loopback-ism).
        chid: u16,
        /// Put `gid_ext` first.
        #[serde(default)]
        swapped: bool,
    },
}

/// What the peer proposes (client role) — maps onto [`ProposalRepr`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProposalSpec {
    /// Header version nibble (Linux ≥ 5.10: 2; §2.3).
    pub version: u8,
    /// Types offered for v1: R, D, B or N (§2.2).
    pub typev1: String,
    /// Types offered for v2.
    pub typev2: String,
    /// Native (v1) ISM device in bytes 40–49 (§3.2): GID and CHID.
    pub native: Option<(Value64, u16)>,
    /// The SMC-Dv2 list, in order (§3.5).
    pub entries: Vec<EntrySpec>,
    /// Override of `ism_gid_cnt` (e.g. 9: more than the kernel's cap of 8); the length follows
    /// the count, missing entries are zeros.
    pub ism_gid_cnt: Option<u8>,
    /// UEIDs (§6.4), blank-padded to 32 bytes.
    pub ueids: Vec<String>,
    /// SEID indicator (§3.4 flag bit 0).
    pub seid: bool,
    /// System EID text (zeros when absent).
    pub system_eid: Option<String>,
    /// Release nibble (§3.4: 0 = v2.0, 1 = v2.1; any 0..15 is sent as given).
    pub release: u8,
    /// v2.1 `max_conns` (§3.4).
    pub max_conns: u8,
    /// v2.1 `max_links`.
    pub max_links: u8,
    /// v2.1 `feature_mask`.
    pub feature_mask: u16,
}

impl Default for ProposalSpec {
    fn default() -> Self {
        ProposalSpec {
            version: 2,
            typev1: "N".into(),
            typev2: "D".into(),
            native: None,
            entries: Vec::new(),
            ism_gid_cnt: None,
            ueids: vec![crate::lab::scenario::UEID.into()],
            seid: false,
            system_eid: None,
            release: 1,
            max_conns: 0,
            max_links: 0,
            feature_mask: 1,
        }
    }
}

/// What the client does after the kernel's Accept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum AfterAccept {
    /// Send a Decline with this code (kernel name) — the server falls back with PEERDECL.
    Decline {
        /// Kernel name (`NOSMCDDEV`) or number.
        code: String,
    },
    /// Send a Confirm echoing the Accept, with our DMB token.
    Confirm {
        /// Our DMB token (`"accept-token"` = the kernel's own token).
        token: Value64,
    },
    /// Send nothing: the kernel's Confirm wait runs out (`CLC_WAIT_TIME`, 6 s).
    Stall {
        /// How long to wait for the kernel to give up, ms.
        ms: u64,
    },
}

impl Default for AfterAccept {
    fn default() -> Self {
        AfterAccept::Decline {
            code: "NOSMCDDEV".into(),
        }
    }
}

/// What the server answers to the kernel's Proposal — maps onto an Accept or a Decline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ReplySpec {
    /// A Decline (§5.1), version 2 if the Proposal was v2 unless given.
    Decline {
        /// Kernel name or number.
        code: String,
        /// Version nibble (default: as `smc_listen_decline` would choose).
        #[serde(default)]
        version: Option<u8>,
        /// Out-of-sync bit (§5.1; the kernel dereferences `conn.lgr` on it, notes §7).
        #[serde(default)]
        out_of_sync: bool,
    },
    /// An SMC-D Accept (§4.2).
    AcceptSmcd {
        /// Version nibble.
        version: u8,
        /// First-contact bit.
        first_contact: bool,
        /// Type bits override (`"D"` normally; `"R"` / `"N"` / `"B"` to lie).
        #[serde(default)]
        smc_type: Option<String>,
        /// CHID.
        chid: u16,
        /// GID (64-bit part).
        gid: Value64,
        /// gid_ext (Emulated-ISM upper half, §4.2).
        gid_ext: Value64,
        /// Our DMB token.
        token: Value64,
        /// Compressed DMBE size (§4.5).
        dmbe_size: u8,
        /// FCE release (§4.3).
        release: u8,
    },
    /// An SMC-R Accept (§4.1) — the peer has no RoCE, so the kernel will stall in LLC.
    AcceptSmcr {
        /// Version nibble.
        version: u8,
        /// First-contact bit.
        first_contact: bool,
        /// Type bits override.
        #[serde(default)]
        smc_type: Option<String>,
        /// FCE release.
        release: u8,
        /// FCE max_conns.
        max_conns: u8,
        /// FCE max_links.
        max_links: u8,
    },
    /// Send nothing: the kernel's Accept wait runs out (`CLC_WAIT_TIME`).
    Stall {
        /// How long to wait, ms.
        ms: u64,
    },
}

/// A peer scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name (file names, test names).
    pub name: String,
    /// One line: what it asks of the kernel.
    #[serde(default)]
    pub about: String,
    /// Client or server.
    pub role: Role,
    /// TCP choices.
    #[serde(default)]
    pub tcp: TcpSpec,
    /// Client: the Proposal.
    #[serde(default)]
    pub proposal: Option<ProposalSpec>,
    /// Client: what to do after an Accept.
    #[serde(default)]
    pub after_accept: AfterAccept,
    /// Server: the answer to the kernel's Proposal.
    #[serde(default)]
    pub reply: Option<ReplySpec>,
    /// Bytes to exchange over the fallback path after a Decline (the kernel side echoes).
    #[serde(default = "default_data")]
    pub data: usize,
}

fn default_data() -> usize {
    64
}

impl Scenario {
    /// Parses a scenario file: TOML, or JSON when it starts with `{`.
    pub fn from_text(text: &str) -> Result<Scenario, String> {
        if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| format!("scenario JSON: {e}"))
        } else {
            toml::from_str(text).map_err(|e| format!("scenario TOML: {e}"))
        }
    }

    /// The scenario as TOML.
    pub fn to_toml(&self) -> Result<String, String> {
        toml::to_string(self).map_err(|e| format!("serialising scenario: {e}"))
    }
}

/// Parses an SMC type name (§2.2).
pub fn smc_type(s: &str) -> Result<SmcType, String> {
    Ok(match s.trim().to_ascii_uppercase().as_str() {
        "R" => SmcType::R,
        "D" => SmcType::D,
        "N" => SmcType::N,
        "B" => SmcType::B,
        other => return Err(format!("SMC type {other:?}: want R, D, N or B")),
    })
}

/// Parses a decline code: a kernel name (`NOSMCDEV`, `SMC_CLC_DECL_NOSMCDEV`) or a number.
pub fn decline_code(s: &str) -> Result<DeclineReason, String> {
    s.parse::<DeclineReason>()
        .map_err(|_| format!("decline code {s:?}: not a kernel name (reference §5.2) or number"))
}

/// Where the peer is, for the parts of a Proposal that name it.
#[derive(Debug, Clone, Copy)]
pub struct Local {
    /// Our MAC.
    pub mac: [u8; 6],
    /// Our IPv4 address (SMC-R RoCEv2 GID and prefix area), if any.
    pub ipv4: Option<Ipv4Addr>,
    /// The address the connection uses.
    pub ip: IpAddr,
}

impl ProposalSpec {
    /// The Proposal this spec describes, laid out as a Linux ≥ 5.10 sender would (§3.7) except
    /// for what the spec overrides.
    pub fn to_repr(
        &self,
        l: &Learned,
        local: &Local,
        rand: &mut dyn FnMut() -> u64,
    ) -> Result<ProposalRepr, String> {
        let typev1 = smc_type(&self.typev1)?;
        let typev2 = smc_type(&self.typev2)?;
        let mut r = ProposalRepr {
            version: self.version,
            typev1,
            typev2,
            ..ProposalRepr::default()
        };
        if typev1.smcr() || typev2.smcr() {
            // §3.1: peer id = 2 instance bytes + MAC; RoCE MAC
            let mut id = [0u8; 8];
            id[..2].copy_from_slice(&[0x5e, 0x11]);
            id[2..].copy_from_slice(&local.mac);
            r.id_for_peer = PeerId(id);
            r.mac = Mac(local.mac);
        }
        let mut area = SmcdArea::default();
        if let Some((g, c)) = &self.native {
            area.ism_gid = IsmGid(g.resolve(l, rand)?);
            area.ism_chid = Chid(*c);
        }
        r.smcd = Some(area);
        if typev1 != SmcType::N {
            // §3.3: the IPv4 subnet of the connection (/24 in the lab), no IPv6 prefixes
            let mut p = PrefixArea::default();
            if let IpAddr::V4(a) = local.ip {
                let o = a.octets();
                p.outgoing_subnet = [o[0], o[1], o[2], 0];
                p.prefix_len = 24;
            }
            r.prefix = Some(p);
        }
        if typev2 != SmcType::N && self.version >= 2 {
            let mut v = V2Ext {
                release: self.release & 0x0f,
                seid: self.seid,
                max_conns: self.max_conns,
                max_links: self.max_links,
                feature_mask: self.feature_mask,
                ..V2Ext::default()
            };
            for u in &self.ueids {
                v.user_eids
                    .push(Eid::from_text(u))
                    .map_err(|_| "more than 8 UEIDs".to_string())?;
            }
            if typev2.smcr() {
                if let Some(a) = local.ipv4 {
                    // §3.4: IPv4-mapped RoCEv2 GID
                    v.roce = RoceGid(a.to_ipv6_mapped().octets());
                }
            }
            r.v2_ext = Some(v);
            if typev2.smcd() {
                let mut d = SmcdV2Ext::default();
                if let Some(s) = &self.system_eid {
                    d.system_eid = Eid::from_text(s);
                }
                for e in &self.entries {
                    let pair: Vec<GidChid> = match e {
                        EntrySpec::Raw { gid, chid } => vec![GidChid {
                            gid: IsmGid(gid.resolve(l, rand)?),
                            chid: Chid(*chid),
                        }],
                        EntrySpec::Virtual {
                            gid,
                            gid_ext,
                            chid,
                            swapped,
                        } => {
                            let a = GidChid {
                                gid: IsmGid(gid.resolve(l, rand)?),
                                chid: Chid(*chid),
                            };
                            let b = GidChid {
                                gid: IsmGid(gid_ext.resolve(l, rand)?),
                                chid: Chid(*chid),
                            };
                            if *swapped {
                                vec![b, a]
                            } else {
                                vec![a, b]
                            }
                        }
                    };
                    for g in pair {
                        d.gidchid
                            .push(g)
                            .map_err(|_| "more than 8 GID/CHID entries: use ism_gid_cnt for an over-long list".to_string())?;
                    }
                }
                r.smcd_v2_ext = Some(d);
            }
        }
        r.fix_layout();
        if let (Some(n), Some(v)) = (self.ism_gid_cnt, r.v2_ext.as_mut()) {
            // §9.2: the kernel computes the expected length from the count it reads
            let extra = usize::from(n).saturating_sub(v.ism_gid_cnt.into()) * 10;
            v.ism_gid_cnt = n;
            r.length = r.length.saturating_add(extra as u16);
        }
        Ok(r)
    }
}

/// Builds the Decline the peer sends (`smc_clc_send_decline` layout, §5.1).
pub fn decline(code: DeclineReason, version: u8, out_of_sync: bool) -> DeclineRepr {
    let mut d = DeclineRepr::linux(
        code,
        version,
        PeerId([0x5e, 0x11, 0x52, 0x54, 0, 0, 0x50, 1]),
    );
    d.out_of_sync = out_of_sync;
    d
}

/// The hostname the peer puts into first-contact extensions (§4.3).
pub const HOSTNAME: &str = "smc-peer";

impl ReplySpec {
    /// An SMC-Dv2 first-contact Accept on the loopback CHID 0xFFFF that names the kernel's own
    /// loopback-ism GID (learned from its Proposal): the GID collision of issue 7, onto the DMB
    /// `token` names (`smc_clc_msg_accept_confirm` SMC-D, reference §4.2).
    pub fn loopback_accept(token: Value64, dmbe_size: u8) -> Self {
        ReplySpec::AcceptSmcd {
            version: 2,
            first_contact: true,
            smc_type: None,
            chid: 0xffff,
            gid: Value64::named("kernel"),
            gid_ext: Value64::named("kernel-ext"),
            token,
            dmbe_size,
            release: 1,
        }
    }

    /// The Accept or Decline for the kernel's Proposal `prop`.
    pub fn to_repr(
        &self,
        prop: &ProposalRepr,
        l: &Learned,
        local: &Local,
        rand: &mut dyn FnMut() -> u64,
    ) -> Result<Option<smc_wire::ClcRepr>, String> {
        let eid = prop
            .v2_ext
            .and_then(|v| v.user_eids.as_slice().first().copied())
            .unwrap_or_else(|| Eid::from_text(crate::lab::scenario::UEID));
        let fce = |is_d: bool, release: u8, max_conns: u8, max_links: u8, direct: bool| {
            let mut f = FceRepr {
                v2_direct: direct,
                os_type: OsType::LINUX,
                release,
                hostname: Eid::from_text(HOSTNAME),
                ..FceRepr::default()
            };
            if FceRepr::linux_len(is_d, release) == smc_wire::clc::FCE_V2X_LEN {
                f.v2x = Some(FceV2x {
                    max_conns,
                    max_links,
                    feature_mask: 1,
                    ..FceV2x::default()
                });
            }
            f
        };
        Ok(match self {
            ReplySpec::Stall { .. } => None,
            ReplySpec::Decline {
                code,
                version,
                out_of_sync,
            } => {
                let v = version.unwrap_or(if prop.version > 1 { 2 } else { 1 });
                Some(smc_wire::ClcRepr::Decline(decline(
                    decline_code(code)?,
                    v,
                    *out_of_sync,
                )))
            }
            ReplySpec::AcceptSmcd {
                version,
                first_contact,
                smc_type: st,
                chid,
                gid,
                gid_ext,
                token,
                dmbe_size,
                release,
            } => {
                let v2 = *version >= 2;
                let body = SmcdBody {
                    gid: IsmGid(gid.resolve(l, rand)?),
                    token: token.resolve(l, rand)?,
                    dmbe_idx: 0,
                    dmbe_size: *dmbe_size,
                    linkid: [0, 0x53, 0, 0],
                    v2: v2.then_some(SmcdV2 {
                        chid: Chid(*chid),
                        eid,
                        gid_ext: IsmGid(0),
                    }),
                    ..SmcdBody::default()
                };
                let mut body = body;
                if let Some(x) = body.v2.as_mut() {
                    if x.chid.is_emulated() {
                        x.gid_ext = IsmGid(gid_ext.resolve(l, rand)?);
                    }
                }
                let mut a = AcceptConfirmRepr {
                    msg_type: ClcType::ACCEPT,
                    eyecatcher: Eyecatcher::SMCD,
                    length: 0,
                    version: *version,
                    first_contact: *first_contact,
                    reserved_bit: false,
                    smc_type: SmcType::D,
                    body: Body::Smcd(body),
                    fce: (v2 && *first_contact).then(|| fce(true, *release, 0, 0, false)),
                    gid_list: None,
                    trailer: Eyecatcher::SMCD,
                };
                a.fix_length();
                if let Some(t) = st {
                    a.smc_type = smc_type(t)?;
                }
                Some(smc_wire::ClcRepr::AcceptConfirm(a))
            }
            ReplySpec::AcceptSmcr {
                version,
                first_contact,
                smc_type: st,
                release,
                max_conns,
                max_links,
            } => {
                let v2 = *version >= 2;
                let gid = match (v2, local.ipv4) {
                    (true, Some(a)) => RoceGid(a.to_ipv6_mapped().octets()),
                    _ => RoceGid([
                        0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x50, 0x54, 0, 0xff, 0xfe, 0, 0x50, 1,
                    ]),
                };
                let mut id = [0u8; 8];
                id[..2].copy_from_slice(&[0x5e, 0x11]);
                id[2..].copy_from_slice(&local.mac);
                let body = SmcrBody {
                    id_for_peer: PeerId(id),
                    gid,
                    mac: Mac(local.mac),
                    qpn: 0x0000_0011,
                    rmb_rkey: 0x1234,
                    rmbe_idx: 1,
                    rmbe_alert_token: 0x0000_0101,
                    rmbe_size: 2,
                    qp_mtu: 3,
                    rmb_dma_addr: 0x0000_7000_0000_0000,
                    psn: 0x00ab_cdef,
                    v2: v2.then_some(SmcrV2 {
                        eid,
                        reserved6: [0; 8],
                    }),
                    ..SmcrBody::default()
                };
                let mut a = AcceptConfirmRepr {
                    msg_type: ClcType::ACCEPT,
                    eyecatcher: Eyecatcher::SMCR,
                    length: 0,
                    version: *version,
                    first_contact: *first_contact,
                    reserved_bit: false,
                    smc_type: SmcType::R,
                    body: Body::Smcr(body),
                    fce: (v2 && *first_contact)
                        .then(|| fce(false, *release, *max_conns, *max_links, true)),
                    gid_list: None,
                    trailer: Eyecatcher::SMCR,
                };
                a.fix_length();
                if let Some(t) = st {
                    a.smc_type = smc_type(t)?;
                }
                Some(smc_wire::ClcRepr::AcceptConfirm(a))
            }
        })
    }
}

/// The Confirm a client sends for the kernel's SMC-D Accept (§4.2, §4.6): same version and
/// first-contact bit, our GID (the one we proposed), the Accept's EID and release echoed.
pub fn confirm_smcd(
    accept: &AcceptConfirmRepr,
    our_gid: u64,
    our_gid_ext: u64,
    token: u64,
) -> Option<AcceptConfirmRepr> {
    let Body::Smcd(b) = &accept.body else {
        return None;
    };
    let mut body = SmcdBody {
        gid: IsmGid(our_gid),
        token,
        dmbe_idx: 0,
        dmbe_size: b.dmbe_size,
        linkid: [0, 0x53, 0, 0],
        v2: b.v2,
        ..SmcdBody::default()
    };
    if let Some(v) = body.v2.as_mut() {
        v.gid_ext = IsmGid(if v.chid.is_emulated() { our_gid_ext } else { 0 });
    }
    let mut c = AcceptConfirmRepr {
        msg_type: ClcType::CONFIRM,
        body: Body::Smcd(body),
        fce: accept.fce.map(|f| FceRepr {
            hostname: Eid::from_text(HOSTNAME),
            ..f
        }),
        ..*accept
    };
    c.fix_length();
    Some(c)
}
