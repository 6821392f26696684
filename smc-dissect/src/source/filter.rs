//! The kernel capture filter of live capture: a classic BPF program, built here and checked by
//! an interpreter of the same instruction subset (so its behaviour is tested without privileges).
//!
//! # What the program keeps (`smc_only`)
//! - TCP SYN (no ACK) carrying the SMC option: kind 254 with the 32-bit ExID `E2 D4 C3 D9`
//!   anywhere in the options (§1; the kernel's `tcp_parse_options` walk: EOL ends, NOP is one
//!   byte, every other option has a length byte ≥ 2). The walk is unrolled over the at most 40
//!   option bytes (RFC 9293 §3.1: data offset ≤ 15 words).
//! - Every TCP SYN-ACK: the one that does *not* echo the option is what tells a silent fallback
//!   (`fallback-no-echo`, §1 "Outcome"), and a stateless filter cannot know which SYN it answers.
//! - TCP FIN and RST: they end a handshake and give `incomplete` verdicts their cause.
//! - TCP segments whose payload starts with a CLC eyecatcher, `E2 D4 C3 D9` (SMC-R) or
//!   `E2 D4 C3 C4` (SMC-D) (§2.1).
//! - UDP to port 4791 (RoCEv2, IBTA Annex A17) and, on Ethernet interfaces, EtherType 0x8915
//!   (RoCEv1, IBTA Annex A16): LLC and CDC messages.
//!
//! Up to two VLAN tags in the frame (0x8100, 0x88a8, 0x9100) are skipped; IPv4 and IPv6 (with up
//! to [`IPV6_EXT_MAX`] extension headers walked; a packet with more is kept whole). Non-first
//! IP fragments are dropped (smcdump does not reassemble IP). The SMC option in a SYN without
//! it being a SYN-ACK is the only place options are read.
//!
//! # Loopback
//! On `lo` (and `-i any`, which includes it) the kernel hands a packet socket every packet twice,
//! once going out and once coming in; libpcap drops the outgoing copy in user space
//! (`pcap-linux.c`, "lo_ifindex"). The program drops it in the kernel: packet type
//! `PACKET_OUTGOING` on the loopback's interface index. This part is kept with `--no-filter`.
//!
//! # Encoding
//! Instructions are `struct sock_filter` (`include/uapi/linux/filter.h`), opcodes from
//! `include/uapi/linux/bpf_common.h`; the ancillary loads (`SKF_AD_*`) are the kernel's
//! (`include/uapi/linux/filter.h`). Jumps are forward only with 8-bit offsets, so the program is
//! laid out by a small assembler with labels that refuses anything else.

/// One classic BPF instruction, as `struct sock_filter` (`include/uapi/linux/filter.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    /// Opcode: class | size | mode, or class | op | source.
    pub code: u16,
    /// Jump offset if true (conditional jumps).
    pub jt: u8,
    /// Jump offset if false.
    pub jf: u8,
    /// Constant operand.
    pub k: u32,
}

/// Opcodes (`include/uapi/linux/bpf_common.h`).
mod op {
    pub const LD: u16 = 0x00; // BPF_LD
    pub const LDX: u16 = 0x01; // BPF_LDX
    pub const ST: u16 = 0x02; // BPF_ST
    pub const ALU: u16 = 0x04; // BPF_ALU
    pub const JMP: u16 = 0x05; // BPF_JMP
    pub const RET: u16 = 0x06; // BPF_RET
    pub const MISC: u16 = 0x07; // BPF_MISC
    pub const W: u16 = 0x00; // BPF_W
    pub const H: u16 = 0x08; // BPF_H
    pub const B: u16 = 0x10; // BPF_B
    pub const IMM: u16 = 0x00; // BPF_IMM
    pub const ABS: u16 = 0x20; // BPF_ABS
    pub const IND: u16 = 0x40; // BPF_IND
    pub const MEM: u16 = 0x60; // BPF_MEM
    pub const LEN: u16 = 0x80; // BPF_LEN
    pub const ADD: u16 = 0x00; // BPF_ADD
    pub const AND: u16 = 0x50; // BPF_AND
    pub const LSH: u16 = 0x60; // BPF_LSH
    pub const RSH: u16 = 0x70; // BPF_RSH
    pub const JA: u16 = 0x00; // BPF_JA
    pub const JEQ: u16 = 0x10; // BPF_JEQ
    pub const JGT: u16 = 0x20; // BPF_JGT
    pub const JGE: u16 = 0x30; // BPF_JGE
    pub const JSET: u16 = 0x40; // BPF_JSET
    pub const K: u16 = 0x00; // BPF_K
    pub const X: u16 = 0x08; // BPF_X
    pub const RET_A: u16 = 0x10; // BPF_A as a BPF_RET source
    pub const TAX: u16 = 0x00; // BPF_TAX
    pub const TXA: u16 = 0x80; // BPF_TXA
    /// Scratch memory words (`BPF_MEMWORDS`).
    pub const MEMWORDS: usize = 16;
}

/// Ancillary data offsets (`include/uapi/linux/filter.h`): loads at `SKF_AD_OFF + n`.
mod skf {
    /// `SKF_AD_OFF` (-0x1000 as u32).
    pub const AD_OFF: u32 = 0xffff_f000;
    /// `SKF_AD_PROTOCOL`: `ntohs(skb->protocol)`, the EtherType.
    pub const PROTOCOL: u32 = AD_OFF;
    /// `SKF_AD_PKTTYPE`: `skb->pkt_type` (`PACKET_HOST` 0 … `PACKET_OUTGOING` 4).
    pub const PKTTYPE: u32 = AD_OFF + 4;
    /// `SKF_AD_IFINDEX`: `skb->dev->ifindex`.
    pub const IFINDEX: u32 = AD_OFF + 8;
}

/// `PACKET_OUTGOING` (`include/uapi/linux/if_packet.h`).
pub const PACKET_OUTGOING: u32 = 4;

/// Most IPv6 extension headers walked before a packet is kept unread.
pub const IPV6_EXT_MAX: usize = 4;

/// The TCP options area is at most 40 bytes (RFC 9293 §3.1, data offset ≤ 15 words).
const TCP_OPTIONS_MAX: usize = 40;

/// Protocol constants the program tests, each with its source.
mod wire {
    /// EtherTypes (IEEE EtherType registry): IPv4 (RFC 894), IPv6 (RFC 2464 §3).
    pub const ETH_IPV4: u32 = 0x0800;
    pub const ETH_IPV6: u32 = 0x86dd;
    /// RoCE v1 (IBTA Annex A16 §A16.4).
    pub const ETH_ROCE: u32 = 0x8915;
    /// 802.1Q C-tag, 802.1ad S-tag (IEEE 802.1Q §9.5), pre-standard QinQ (Wireshark `ETHERTYPE_QINQ_OLD`).
    pub const ETH_VLANS: [u32; 3] = [0x8100, 0x88a8, 0x9100];
    /// Ethernet: EtherType at 12, header 14 bytes; a VLAN tag is 4 (IEEE 802.3 §3.1.1, 802.1Q §9.6).
    pub const ETH_TYPE_AT: u32 = 12;
    pub const ETH_HLEN: u32 = 14;
    pub const VLAN_LEN: u32 = 4;
    /// IP protocol numbers (IANA): TCP, UDP.
    pub const TCP: u32 = 6;
    pub const UDP: u32 = 17;
    /// RoCEv2 UDP destination port (IBTA Annex A17).
    pub const ROCEV2_PORT: u32 = 4791;
    /// TCP control bits (RFC 9293 §3.1).
    pub const FIN: u32 = 0x01;
    pub const SYN: u32 = 0x02;
    pub const RST: u32 = 0x04;
    pub const ACK: u32 = 0x10;
    /// TCP option kinds: EOL 0, NOP 1 (RFC 9293 §3.2), experimental 254 (RFC 6994; SMC §1).
    pub const OPT_EOL: u32 = 0;
    pub const OPT_NOP: u32 = 1;
    pub const OPT_EXP: u32 = 254;
    /// The SMC ExID `TCPOPT_SMC_MAGIC` (§1) and the CLC eyecatchers SMCR/SMCD in EBCDIC (§2.1).
    pub const SMC_MAGIC: u32 = 0xe2d4_c3d9;
    pub const EYE_SMCR: u32 = 0xe2d4_c3d9;
    pub const EYE_SMCD: u32 = 0xe2d4_c3c4;
    /// IPv6 extension headers (RFC 8200 §4; RFC 7045 §2 for the generic layout of the others):
    /// Hop-by-Hop 0, Routing 43, Destination Options 60, Mobility 135, HIP 139, Shim6 140.
    pub const V6_GENERIC: [u32; 6] = [0, 43, 60, 135, 139, 140];
    /// Fragment (RFC 8200 §4.5), 8 bytes; offset in the top 13 bits of bytes 2..4.
    pub const V6_FRAGMENT: u32 = 44;
    pub const V6_FRAG_OFFSET_MASK: u32 = 0xfff8;
    /// Authentication Header (RFC 4302 §2.2): length in 4-byte units minus 2.
    pub const V6_AH: u32 = 51;
    /// IPv6 fixed header length (RFC 8200 §3).
    pub const IPV6_HLEN: u32 = 40;
    /// IPv4 More-Fragments flag and offset mask in bytes 6..8 (RFC 791 §3.1).
    pub const V4_OFFSET_MASK: u32 = 0x1fff;
}

/// Which headers precede the network layer in what the socket delivers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkLayer {
    /// An Ethernet header (`SOCK_RAW` on Ethernet-like devices, loopback included).
    Ethernet,
    /// Nothing: the packet starts at the network header (`SOCK_DGRAM`, used for `any` and for
    /// devices without an Ethernet header); the EtherType is `SKF_AD_PROTOCOL`.
    Cooked,
}

/// What the program is built for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FilterSpec {
    /// What the socket delivers.
    pub link: LinkLayer,
    /// Keep only what can be SMC (see the module docs); `false` keeps every packet.
    pub smc_only: bool,
    /// The loopback interface index when its outgoing copies must be dropped.
    pub loopback: Option<u32>,
    /// Bytes kept of each packet (the `ret` value).
    pub snaplen: u32,
}

/// Scratch memory slots used by the program.
mod mem {
    /// End of the IP packet: network-layer offset + IP total length.
    pub const IP_END: u32 = 0;
    /// End of the TCP options (offset of the payload).
    pub const OPT_END: u32 = 1;
    /// IPv4 protocol / IPv6 next-header value being walked.
    pub const NEXT_HDR: u32 = 2;
    /// Scratch.
    pub const TMP: u32 = 3;
}

/// A jump target: the next instruction, a label, or the nearest following `ret 0` (drop) or
/// `ret snaplen` (keep) — returns are sprinkled after unconditional transfers so that one is
/// always within a conditional jump's 255-instruction reach.
#[derive(Clone, Copy, Debug)]
enum To {
    Next,
    L(usize),
    Drop,
    Keep,
}

/// A forward-only assembler with labels.
struct Asm {
    /// The `ret` value of a kept packet.
    keep: u32,
    insns: Vec<Insn>,
    /// (instruction index, jt, jf) for conditional jumps, (index, target) for `ja`.
    cond: Vec<(usize, To, To)>,
    ja: Vec<(usize, usize)>,
    labels: Vec<Option<usize>>,
}

impl Asm {
    fn new(keep: u32) -> Asm {
        Asm {
            keep,
            insns: Vec::new(),
            cond: Vec::new(),
            ja: Vec::new(),
            labels: Vec::new(),
        }
    }
    fn label(&mut self) -> usize {
        self.labels.push(None);
        self.labels.len() - 1
    }
    fn bind(&mut self, l: usize) {
        self.labels[l] = Some(self.insns.len());
    }
    fn emit(&mut self, code: u16, k: u32) {
        self.insns.push(Insn {
            code,
            jt: 0,
            jf: 0,
            k,
        });
    }
    /// `A = ancillary`/packet load with mode and size.
    fn ld(&mut self, size_mode: u16, k: u32) {
        self.emit(op::LD | size_mode, k);
    }
    fn ld_mem(&mut self, slot: u32) {
        self.emit(op::LD | op::MEM, slot);
    }
    fn st(&mut self, slot: u32) {
        self.emit(op::ST, slot);
    }
    fn ldx_imm(&mut self, k: u32) {
        self.emit(op::LDX | op::W | op::IMM, k);
    }
    fn alu_k(&mut self, alu: u16, k: u32) {
        self.emit(op::ALU | alu | op::K, k);
    }
    fn add_x(&mut self) {
        self.emit(op::ALU | op::ADD | op::X, 0);
    }
    fn tax(&mut self) {
        self.emit(op::MISC | op::TAX, 0);
    }
    fn txa(&mut self) {
        self.emit(op::MISC | op::TXA, 0);
    }
    fn ret(&mut self, k: u32) {
        self.emit(op::RET | op::K, k);
    }
    /// A keep return, then a drop one (the first is reached by falling through).
    fn rets_keep_first(&mut self) {
        self.ret(self.keep);
        self.ret(0);
    }
    /// A drop and a keep return, for the jumps before them (place after an unconditional transfer).
    fn rets(&mut self) {
        self.ret(0);
        self.ret(self.keep);
    }
    /// Conditional jump on `A <cmp> k` (`src` = `op::K`) or `A <cmp> X` (`op::X`).
    fn jmp(&mut self, cmp: u16, src: u16, k: u32, jt: To, jf: To) {
        self.cond.push((self.insns.len(), jt, jf));
        self.emit(op::JMP | cmp | src, k);
    }
    fn jeq(&mut self, k: u32, jt: To, jf: To) {
        self.jmp(op::JEQ, op::K, k, jt, jf);
    }
    fn ja(&mut self, l: usize) {
        self.ja.push((self.insns.len(), l));
        self.emit(op::JMP | op::JA, 0);
    }

    /// Resolves labels; fails on an unbound label, a backward jump or a conditional jump
    /// further than 255 instructions.
    fn finish(mut self) -> Result<Vec<Insn>, String> {
        let at = |labels: &[Option<usize>], l: usize| {
            labels
                .get(l)
                .copied()
                .flatten()
                .ok_or_else(|| format!("label {l} never bound"))
        };
        for &(i, jt, jf) in &self.cond {
            let ret_after = |k: u32| {
                self.insns
                    .iter()
                    .enumerate()
                    .skip(i + 1)
                    .find(|(_, x)| x.code == op::RET | op::K && x.k == k)
                    .map(|(n, _)| n)
                    .ok_or_else(|| format!("no ret {k} after {i}"))
            };
            let off = |t: To| -> Result<u8, String> {
                let target = match t {
                    To::Next => return Ok(0),
                    To::L(l) => at(&self.labels, l)?,
                    To::Drop => ret_after(0)?,
                    To::Keep => ret_after(self.keep)?,
                };
                let d = target
                    .checked_sub(i + 1)
                    .ok_or_else(|| format!("backward jump at {i}"))?;
                u8::try_from(d).map_err(|_| format!("jump at {i} spans {d} instructions"))
            };
            let (t, f) = (off(jt)?, off(jf)?);
            self.insns[i].jt = t;
            self.insns[i].jf = f;
        }
        for &(i, l) in &self.ja {
            let target = at(&self.labels, l)?;
            let d = target
                .checked_sub(i + 1)
                .ok_or_else(|| format!("backward jump at {i}"))?;
            self.insns[i].k = u32::try_from(d).map_err(|e| e.to_string())?;
        }
        if self.insns.len() > 4096 {
            // BPF_MAXINSNS (include/uapi/linux/bpf_common.h)
            return Err(format!("{} instructions, more than 4096", self.insns.len()));
        }
        Ok(self.insns)
    }
}

/// Builds the program for `spec`. Fails only on an assembler bug (tested for every spec shape).
pub fn program(spec: &FilterSpec) -> Result<Vec<Insn>, String> {
    let keep = spec.snaplen.max(1);
    let mut a = Asm::new(keep);
    if let Some(lo) = spec.loopback {
        // drop the outgoing copy of a loopback packet (module docs, "Loopback")
        let not_lo = a.label();
        a.ld(op::W | op::ABS, skf::IFINDEX);
        a.jeq(lo, To::Next, To::L(not_lo));
        a.ld(op::W | op::ABS, skf::PKTTYPE);
        a.jeq(PACKET_OUTGOING, To::Next, To::L(not_lo));
        a.ret(0);
        a.bind(not_lo);
    }
    if !spec.smc_only {
        a.ret(keep);
        return a.finish();
    }
    let (ipv4, ipv6, tcp, udp) = (a.label(), a.label(), a.label(), a.label());

    // link layer: A = EtherType, X = offset of the network header
    match spec.link {
        LinkLayer::Ethernet => {
            a.ldx_imm(wire::ETH_HLEN);
            a.ld(op::H | op::ABS, wire::ETH_TYPE_AT);
        }
        LinkLayer::Cooked => {
            a.ldx_imm(0);
            a.ld(op::W | op::ABS, skf::PROTOCOL);
        }
    }
    // up to two VLAN tags in the data: the EtherType follows each 4-byte tag
    for _ in 0..2 {
        let tagged = a.label();
        let untagged = a.label();
        for (n, t) in wire::ETH_VLANS.iter().enumerate() {
            let last = n + 1 == wire::ETH_VLANS.len();
            a.jeq(
                *t,
                To::L(tagged),
                if last { To::L(untagged) } else { To::Next },
            );
        }
        a.bind(tagged);
        // the tag is TCI then the next EtherType (IEEE 802.1Q §9.6): read it, step over the tag
        a.ld(op::H | op::IND, 2);
        a.st(mem::TMP);
        a.txa();
        a.alu_k(op::ADD, wire::VLAN_LEN);
        a.tax();
        a.ld_mem(mem::TMP);
        a.bind(untagged);
    }
    a.jeq(wire::ETH_IPV4, To::L(ipv4), To::Next);
    a.jeq(wire::ETH_IPV6, To::L(ipv6), To::Next);
    if spec.link == LinkLayer::Ethernet {
        a.jeq(wire::ETH_ROCE, To::Keep, To::Drop);
    }
    a.rets();

    // IPv4 (RFC 791 §3.1), X = network header
    a.bind(ipv4);
    a.ld(op::H | op::IND, 6); // flags + fragment offset
    a.jmp(op::JSET, op::K, wire::V4_OFFSET_MASK, To::Drop, To::Next);
    a.ld(op::H | op::IND, 2); // total length
    let v4_len_ok = a.label();
    a.jeq(0, To::Next, To::L(v4_len_ok));
    a.emit(op::LD | op::W | op::LEN, 0); // 0 (TSO on the sender): the packet's length
    a.alu_k(op::ADD, 0);
    let v4_end = a.label();
    a.ja(v4_end);
    a.bind(v4_len_ok);
    a.add_x();
    a.bind(v4_end);
    a.st(mem::IP_END);
    a.ld(op::B | op::IND, 9); // protocol
    a.st(mem::NEXT_HDR);
    a.ld(op::B | op::IND, 0); // version | IHL
    a.alu_k(op::AND, 0x0f);
    a.alu_k(op::LSH, 2);
    a.add_x();
    a.tax(); // X = transport header
    a.ld_mem(mem::NEXT_HDR);
    a.jeq(wire::TCP, To::L(tcp), To::Next);
    a.jeq(wire::UDP, To::L(udp), To::Drop);
    a.rets();

    // IPv6 (RFC 8200 §3), X = network header
    a.bind(ipv6);
    a.ld(op::H | op::IND, 4); // payload length
    let v6_len_ok = a.label();
    a.jeq(0, To::Next, To::L(v6_len_ok));
    a.emit(op::LD | op::W | op::LEN, 0); // 0: jumbogram or TSO, the packet's length
    let v6_end = a.label();
    a.ja(v6_end);
    a.bind(v6_len_ok);
    a.alu_k(op::ADD, wire::IPV6_HLEN);
    a.add_x();
    a.bind(v6_end);
    a.st(mem::IP_END);
    a.ld(op::B | op::IND, 6); // next header
    a.st(mem::NEXT_HDR);
    a.txa();
    a.alu_k(op::ADD, wire::IPV6_HLEN);
    a.tax();
    for _ in 0..IPV6_EXT_MAX {
        let (generic, frag, ah, next) = (a.label(), a.label(), a.label(), a.label());
        a.ld_mem(mem::NEXT_HDR);
        a.jeq(wire::TCP, To::L(tcp), To::Next);
        a.jeq(wire::UDP, To::L(udp), To::Next);
        a.jeq(wire::V6_FRAGMENT, To::L(frag), To::Next);
        a.jeq(wire::V6_AH, To::L(ah), To::Next);
        for (n, h) in wire::V6_GENERIC.iter().enumerate() {
            let last = n + 1 == wire::V6_GENERIC.len();
            a.jeq(*h, To::L(generic), if last { To::Drop } else { To::Next });
        }
        // generic: (Hdr Ext Len + 1) * 8 bytes (RFC 8200 §4.3)
        a.bind(generic);
        a.ld(op::B | op::IND, 0);
        a.st(mem::NEXT_HDR);
        a.ld(op::B | op::IND, 1);
        a.alu_k(op::ADD, 1);
        a.alu_k(op::LSH, 3);
        a.add_x();
        a.tax();
        a.ja(next);
        // AH: (Payload Len + 2) * 4 bytes (RFC 4302 §2.2)
        a.bind(ah);
        a.ld(op::B | op::IND, 0);
        a.st(mem::NEXT_HDR);
        a.ld(op::B | op::IND, 1);
        a.alu_k(op::ADD, 2);
        a.alu_k(op::LSH, 2);
        a.add_x();
        a.tax();
        a.ja(next);
        // Fragment: 8 bytes; only the first fragment (offset 0) has the transport header
        a.bind(frag);
        a.ld(op::H | op::IND, 2);
        a.jmp(
            op::JSET,
            op::K,
            wire::V6_FRAG_OFFSET_MASK,
            To::Drop,
            To::Next,
        );
        a.ld(op::B | op::IND, 0);
        a.st(mem::NEXT_HDR);
        a.txa();
        a.alu_k(op::ADD, 8);
        a.tax();
        a.bind(next);
    }
    // after the last walked header: TCP or UDP, or more extension headers than walked (kept:
    // smcdump decides)
    a.ld_mem(mem::NEXT_HDR);
    a.jeq(wire::TCP, To::L(tcp), To::Next);
    a.jeq(wire::UDP, To::L(udp), To::Next);
    a.rets_keep_first();

    // UDP (RFC 768), X = UDP header: RoCEv2 by destination port
    a.bind(udp);
    a.ld(op::H | op::IND, 2);
    a.jeq(wire::ROCEV2_PORT, To::Keep, To::Drop);
    a.rets();

    // TCP (RFC 9293 §3.1), X = TCP header
    a.bind(tcp);
    let (syn, no_ctl) = (a.label(), a.label());
    a.ld(op::B | op::IND, 12); // data offset (high nibble)
    a.alu_k(op::RSH, 4);
    a.alu_k(op::LSH, 2);
    a.add_x();
    a.st(mem::OPT_END); // = payload offset
    a.ld(op::B | op::IND, 13); // control bits
    a.jmp(op::JSET, op::K, wire::SYN, To::L(syn), To::Next);
    a.jmp(
        op::JSET,
        op::K,
        wire::FIN | wire::RST,
        To::Keep,
        To::L(no_ctl),
    );
    // payload: does it start with a CLC eyecatcher?
    a.bind(no_ctl);
    a.ld_mem(mem::OPT_END);
    a.tax(); // X = payload
    a.ld_mem(mem::IP_END);
    a.jmp(op::JGT, op::X, 0, To::Next, To::Drop); // IP end > payload start
    a.ld(op::W | op::IND, 0);
    a.jeq(wire::EYE_SMCR, To::Keep, To::Next);
    a.jeq(wire::EYE_SMCD, To::Keep, To::Drop);
    a.rets();

    // SYN: a SYN-ACK is kept whatever its options; a SYN only with the SMC option
    a.bind(syn);
    a.jmp(op::JSET, op::K, wire::ACK, To::Keep, To::Next);
    a.txa();
    a.alu_k(op::ADD, 20); // options start after the 20-byte fixed header
    a.tax();
    for _ in 0..TCP_OPTIONS_MAX {
        let (nop, skip, kept, dropped, next) =
            (a.label(), a.label(), a.label(), a.label(), a.label());
        a.ld_mem(mem::OPT_END);
        a.jmp(op::JGT, op::X, 0, To::Next, To::L(dropped)); // options left?
        a.ld(op::B | op::IND, 0); // kind
        a.jeq(wire::OPT_EOL, To::L(dropped), To::Next);
        a.jeq(wire::OPT_NOP, To::L(nop), To::Next);
        a.jeq(wire::OPT_EXP, To::Next, To::L(skip));
        a.ld(op::W | op::IND, 2); // the ExID after kind and length
        a.jeq(wire::SMC_MAGIC, To::L(kept), To::L(skip));
        a.bind(skip);
        a.ld(op::B | op::IND, 1); // length, which counts kind and itself
        a.jmp(op::JGE, op::K, 2, To::Next, To::L(dropped));
        a.add_x();
        a.tax();
        a.ja(next);
        a.bind(nop);
        a.txa();
        a.alu_k(op::ADD, 1);
        a.tax();
        a.ja(next);
        a.bind(kept);
        a.ret(keep);
        a.bind(dropped);
        a.ret(0);
        a.bind(next);
    }
    a.ret(0);
    a.finish()
}

/// What the kernel knows about a packet besides its bytes (the ancillary loads).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Aux {
    /// `skb->protocol` in host order (the EtherType).
    pub protocol: u16,
    /// `skb->pkt_type`.
    pub pkttype: u32,
    /// `skb->dev->ifindex`.
    pub ifindex: u32,
}

/// Runs `prog` over `pkt` as the kernel's classic BPF interpreter would (`net/core/filter.c`
/// semantics for the instructions [`program`] emits): returns the number of bytes to keep,
/// 0 to drop. A load outside the packet ends the program with 0, as in the kernel.
pub fn run(prog: &[Insn], pkt: &[u8], aux: &Aux) -> u32 {
    let (mut acc, mut x) = (0u32, 0u32);
    let mut m = [0u32; op::MEMWORDS];
    let mut pc = 0usize;
    let load = |at: u32, size: u16| -> Option<u32> {
        let at = usize::try_from(at).ok()?;
        let n = match size {
            op::W => 4,
            op::H => 2,
            _ => 1,
        };
        let b = pkt.get(at..at.checked_add(n)?)?;
        Some(b.iter().fold(0u32, |v, &x| (v << 8) | u32::from(x)))
    };
    while let Some(i) = prog.get(pc) {
        pc += 1;
        let class = i.code & 0x07;
        let size = i.code & 0x18;
        let mode = i.code & 0xe0;
        match class {
            op::LD => {
                acc = match mode {
                    op::IMM => i.k,
                    op::LEN => u32::try_from(pkt.len()).unwrap_or(u32::MAX),
                    op::MEM => m[i.k as usize % op::MEMWORDS],
                    op::ABS if i.k >= skf::AD_OFF => match i.k {
                        skf::PROTOCOL => u32::from(aux.protocol),
                        skf::PKTTYPE => aux.pkttype,
                        skf::IFINDEX => aux.ifindex,
                        _ => return 0,
                    },
                    op::ABS => match load(i.k, size) {
                        Some(v) => v,
                        None => return 0,
                    },
                    op::IND => match load(x.wrapping_add(i.k), size) {
                        Some(v) => v,
                        None => return 0,
                    },
                    _ => return 0,
                }
            }
            op::LDX => {
                x = match mode {
                    op::IMM => i.k,
                    op::MEM => m[i.k as usize % op::MEMWORDS],
                    _ => return 0,
                }
            }
            op::ST => m[i.k as usize % op::MEMWORDS] = acc,
            op::ALU => {
                let v = if i.code & op::X != 0 { x } else { i.k };
                acc = match i.code & 0xf0 {
                    op::ADD => acc.wrapping_add(v),
                    op::AND => acc & v,
                    op::LSH => acc.checked_shl(v).unwrap_or(0),
                    op::RSH => acc.checked_shr(v).unwrap_or(0),
                    _ => return 0,
                }
            }
            op::JMP => {
                let v = if i.code & op::X != 0 { x } else { i.k };
                let taken = match i.code & 0xf0 {
                    op::JA => {
                        pc += i.k as usize;
                        continue;
                    }
                    op::JEQ => acc == v,
                    op::JGT => acc > v,
                    op::JGE => acc >= v,
                    op::JSET => acc & v != 0,
                    _ => return 0,
                };
                pc += usize::from(if taken { i.jt } else { i.jf });
            }
            op::RET => return if i.code & op::RET_A != 0 { acc } else { i.k },
            op::MISC => {
                if i.code & 0xf8 == op::TXA {
                    acc = x
                } else {
                    x = acc
                }
            }
            _ => return 0,
        }
    }
    0
}

#[cfg(test)]
mod test {
    use super::*;

    const SNAP: u32 = 262_144;

    fn spec(link: LinkLayer) -> FilterSpec {
        FilterSpec {
            link,
            smc_only: true,
            loopback: None,
            snaplen: SNAP,
        }
    }

    fn eth(ethertype: u16, l3: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(l3);
        f
    }

    /// IPv4 + TCP with these flags, options and payload.
    fn ipv4_tcp(flags: u8, options: &[u8], payload: &[u8]) -> Vec<u8> {
        let thl = 20 + options.len();
        let total = 20 + thl + payload.len();
        let mut p = vec![
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0,
            0,
            0x40,
            0,
            64,
            6,
            0,
            0,
        ];
        p.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        p.extend_from_slice(&[0xc3, 0x50, 0x9c, 0x40, 0, 0, 0, 1, 0, 0, 0, 0]);
        p.push(((thl / 4) as u8) << 4);
        p.push(flags);
        p.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]);
        p.extend_from_slice(options);
        p.extend_from_slice(payload);
        p
    }

    fn ipv6_tcp(exts: &[(u8, Vec<u8>)], flags: u8, options: &[u8], payload: &[u8]) -> Vec<u8> {
        let thl = 20 + options.len();
        let ext_len: usize = exts.iter().map(|(_, e)| e.len()).sum();
        let plen = ext_len + thl + payload.len();
        let first = exts.first().map_or(6, |(n, _)| *n);
        let mut p = vec![0x60, 0, 0, 0, (plen >> 8) as u8, plen as u8, first, 64];
        p.extend_from_slice(&[0; 32]);
        for (_, e) in exts {
            p.extend_from_slice(e);
        }
        let mut t = ipv4_tcp(flags, options, payload);
        p.extend_from_slice(&t.split_off(20));
        p
    }

    const SMC_OPT: [u8; 8] = [0x01, 0x01, 0xfe, 0x06, 0xe2, 0xd4, 0xc3, 0xd9];
    /// Linux's SYN options: MSS, SACK-perm, timestamps, NOP, window scale (20 bytes), then SMC.
    fn linux_syn_options(smc: bool) -> Vec<u8> {
        let mut o = vec![
            2, 4, 0xff, 0xd7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
        ];
        if smc {
            o.extend_from_slice(&SMC_OPT);
        }
        o
    }

    fn keeps(link: LinkLayer, frame: &[u8]) -> bool {
        let prog = program(&spec(link)).unwrap();
        let aux = Aux {
            protocol: if link == LinkLayer::Cooked {
                if frame.first().is_some_and(|b| b >> 4 == 6) {
                    0x86dd
                } else {
                    0x0800
                }
            } else {
                0
            },
            ..Aux::default()
        };
        match run(&prog, frame, &aux) {
            0 => false,
            n => {
                assert_eq!(n, SNAP);
                true
            }
        }
    }

    #[test]
    fn every_shape_assembles_within_kernel_limits() {
        for link in [LinkLayer::Ethernet, LinkLayer::Cooked] {
            for smc_only in [true, false] {
                for loopback in [None, Some(1)] {
                    let p = program(&FilterSpec {
                        link,
                        smc_only,
                        loopback,
                        snaplen: SNAP,
                    })
                    .unwrap();
                    assert!(p.len() <= 4096 && !p.is_empty());
                    // the kernel's checker wants the last instruction to be a return
                    assert_eq!(p.last().unwrap().code & 0x07, op::RET);
                }
            }
        }
    }

    #[test]
    fn syn_with_and_without_the_option() {
        let syn = 0x02;
        assert!(keeps(
            LinkLayer::Ethernet,
            &eth(0x0800, &ipv4_tcp(syn, &linux_syn_options(true), &[]))
        ));
        assert!(!keeps(
            LinkLayer::Ethernet,
            &eth(0x0800, &ipv4_tcp(syn, &linux_syn_options(false), &[]))
        ));
        // the option first, or after 30 NOPs, or with other kind-254 users (TFO 0xF989) before it
        let mut o = SMC_OPT[2..].to_vec();
        o.extend_from_slice(&[1, 1]);
        assert!(keeps(
            LinkLayer::Ethernet,
            &eth(0x0800, &ipv4_tcp(syn, &o, &[]))
        ));
        let mut o = vec![1; 30];
        o.extend_from_slice(&SMC_OPT[..]);
        o.extend_from_slice(&[0, 0]);
        assert_eq!(o.len(), 40);
        assert!(keeps(
            LinkLayer::Ethernet,
            &eth(0x0800, &ipv4_tcp(syn, &o, &[]))
        ));
        let mut o = vec![0xfe, 4, 0xf9, 0x89];
        o.extend_from_slice(&SMC_OPT);
        assert!(keeps(
            LinkLayer::Ethernet,
            &eth(0x0800, &ipv4_tcp(syn, &o, &[]))
        ));
        // after an EOL the walk stops (RFC 9293 §3.2), as the kernel's does
        let mut o = vec![0, 1, 1, 1];
        o.extend_from_slice(&SMC_OPT);
        assert!(!keeps(
            LinkLayer::Ethernet,
            &eth(0x0800, &ipv4_tcp(syn, &o, &[]))
        ));
        // a length below 2 ends the walk
        let mut o = vec![8, 1, 1, 1];
        o.extend_from_slice(&SMC_OPT);
        assert!(!keeps(
            LinkLayer::Ethernet,
            &eth(0x0800, &ipv4_tcp(syn, &o, &[]))
        ));
        // the magic in a payload is not an option
        assert!(!keeps(
            LinkLayer::Ethernet,
            &eth(0x0800, &ipv4_tcp(syn, &[1, 1, 1, 1], &SMC_OPT))
        ));
    }

    #[test]
    fn synack_fin_rst_are_kept_ack_is_not() {
        for flags in [0x12, 0x11, 0x04, 0x14, 0x19] {
            assert!(
                keeps(
                    LinkLayer::Ethernet,
                    &eth(0x0800, &ipv4_tcp(flags, &[], &[]))
                ),
                "flags {flags:#x}"
            );
        }
        assert!(!keeps(
            LinkLayer::Ethernet,
            &eth(0x0800, &ipv4_tcp(0x10, &[], &[]))
        ));
        assert!(!keeps(
            LinkLayer::Ethernet,
            &eth(0x0800, &ipv4_tcp(0x18, &[], b"GET / HTTP/1.1\r\n"))
        ));
    }

    #[test]
    fn clc_payloads_by_eyecatcher() {
        let clc = [0xe2, 0xd4, 0xc3, 0xd9, 0x01, 0x00, 0x34, 0x10];
        assert!(keeps(
            LinkLayer::Ethernet,
            &eth(0x0800, &ipv4_tcp(0x18, &[], &clc))
        ));
        let smcd = [0xe2, 0xd4, 0xc3, 0xc4, 0x02, 0x00, 0x30, 0x10];
        assert!(keeps(
            LinkLayer::Ethernet,
            &eth(0x0800, &ipv4_tcp(0x18, &[1; 12], &smcd))
        ));
        // the eyecatcher must start the payload
        let mut later = vec![0u8];
        later.extend_from_slice(&clc);
        assert!(!keeps(
            LinkLayer::Ethernet,
            &eth(0x0800, &ipv4_tcp(0x18, &[], &later))
        ));
        // Ethernet padding after a pure ACK is not payload: the IP length bounds it
        let mut f = eth(0x0800, &ipv4_tcp(0x10, &[], &[]));
        f.extend_from_slice(&clc[..6]);
        assert!(!keeps(LinkLayer::Ethernet, &f));
    }

    #[test]
    fn vlan_tags_and_ipv6() {
        let clc = [0xe2, 0xd4, 0xc3, 0xd9, 0x01, 0x00, 0x34, 0x10];
        let ip = ipv4_tcp(0x18, &[], &clc);
        for tags in [
            vec![],
            vec![0x81, 0x00, 0x00, 0x0a],
            vec![0x88, 0xa8, 0x00, 0x01, 0x81, 0x00, 0x00, 0x0a],
            vec![0x91, 0x00, 0x00, 0x01, 0x81, 0x00, 0x00, 0x0a],
        ] {
            let mut f = vec![0u8; 12];
            f.extend_from_slice(&tags);
            f.extend_from_slice(&[0x08, 0x00]);
            f.extend_from_slice(&ip);
            assert!(keeps(LinkLayer::Ethernet, &f), "tags {tags:02x?}");
            // the same with an ordinary payload is dropped
            let mut g = vec![0u8; 12];
            g.extend_from_slice(&tags);
            g.extend_from_slice(&[0x08, 0x00]);
            g.extend_from_slice(&ipv4_tcp(0x18, &[], b"hello world"));
            assert!(!keeps(LinkLayer::Ethernet, &g), "tags {tags:02x?}");
        }
        let v6 = ipv6_tcp(&[], 0x02, &linux_syn_options(true), &[]);
        assert!(keeps(LinkLayer::Ethernet, &eth(0x86dd, &v6)));
        assert!(keeps(LinkLayer::Cooked, &v6));
        let v6 = ipv6_tcp(&[], 0x10, &[], b"data");
        assert!(!keeps(LinkLayer::Cooked, &v6));
        // extension headers: hop-by-hop, routing, destination options, first fragment
        let exts = vec![
            (0u8, vec![43, 0, 1, 4, 0, 0, 0, 0]),
            (43, vec![60, 0, 4, 0, 0, 0, 0, 0]),
            (60, vec![44, 0, 1, 4, 0, 0, 0, 0]),
            (44, vec![6, 0, 0, 1, 0, 0, 0, 9]),
        ];
        let v6 = ipv6_tcp(&exts, 0x18, &[], &clc);
        assert!(keeps(LinkLayer::Ethernet, &eth(0x86dd, &v6)));
        let v6 = ipv6_tcp(&exts, 0x10, &[], b"data");
        assert!(!keeps(LinkLayer::Ethernet, &eth(0x86dd, &v6)));
        // a non-first fragment is dropped
        let later = vec![(44u8, vec![6, 0, 0, 0x08, 0, 0, 0, 9])];
        let v6 = ipv6_tcp(&later, 0x12, &[], &[]);
        assert!(!keeps(LinkLayer::Ethernet, &eth(0x86dd, &v6)));
        // more extension headers than walked: kept
        let mut many: Vec<(u8, Vec<u8>)> = (0..5)
            .map(|_| (60u8, vec![60, 0, 1, 4, 0, 0, 0, 0]))
            .collect();
        many[4].1[0] = 6;
        let v6 = ipv6_tcp(&many, 0x10, &[], b"data");
        assert!(keeps(LinkLayer::Ethernet, &eth(0x86dd, &v6)));
    }

    #[test]
    fn roce_and_udp() {
        // IPv4/UDP to 4791 with a BTH
        let mut udp = vec![
            0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        udp.extend_from_slice(&[0xc0, 0x00, 0x12, 0xb7, 0x00, 0x14, 0x00, 0x00]);
        udp.extend_from_slice(&[0x04, 0x40, 0xff, 0xff, 0, 0, 0, 0x11, 0, 0, 0, 1]);
        assert!(keeps(LinkLayer::Ethernet, &eth(0x0800, &udp)));
        assert!(keeps(LinkLayer::Cooked, &udp));
        udp[23] = 53; // DNS
        assert!(!keeps(LinkLayer::Ethernet, &eth(0x0800, &udp)));
        // RoCEv1 by EtherType on Ethernet; ARP is dropped
        assert!(keeps(LinkLayer::Ethernet, &eth(0x8915, &[0x60; 60])));
        assert!(!keeps(LinkLayer::Ethernet, &eth(0x0806, &[0; 28])));
        // a later IPv4 fragment is dropped
        let mut frag = ipv4_tcp(0x12, &[], &[]);
        frag[7] = 1;
        assert!(!keeps(LinkLayer::Ethernet, &eth(0x0800, &frag)));
    }

    #[test]
    fn loopback_outgoing_copies_are_dropped_even_unfiltered() {
        for smc_only in [true, false] {
            let prog = program(&FilterSpec {
                link: LinkLayer::Ethernet,
                smc_only,
                loopback: Some(1),
                snaplen: SNAP,
            })
            .unwrap();
            let f = eth(0x0800, &ipv4_tcp(0x11, &[], &[]));
            let lo_out = Aux {
                protocol: 0x0800,
                pkttype: PACKET_OUTGOING,
                ifindex: 1,
            };
            assert_eq!(run(&prog, &f, &lo_out), 0);
            let lo_in = Aux {
                pkttype: 0,
                ..lo_out
            };
            assert_eq!(run(&prog, &f, &lo_in), SNAP);
            let eth_out = Aux {
                ifindex: 2,
                ..lo_out
            };
            assert_eq!(run(&prog, &f, &eth_out), SNAP);
        }
    }

    #[test]
    fn short_or_odd_frames_never_panic() {
        let prog = program(&spec(LinkLayer::Ethernet)).unwrap();
        let full = eth(0x0800, &ipv4_tcp(0x02, &linux_syn_options(true), &[]));
        for cut in 0..full.len() {
            let _ = run(&prog, &full[..cut], &Aux::default());
        }
        let mut x = 0x9e37_79b9u32;
        for _ in 0..5000 {
            let mut f = full.clone();
            for b in f.iter_mut().skip(12) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                if x % 7 == 0 {
                    *b = x as u8;
                }
            }
            let _ = run(&prog, &f, &Aux::default());
        }
    }
}
