//! Client role: the peer connects to a kernel listener, sends the scenario's Proposal and
//! reacts to the kernel's answer (reference §3, §4.6, §5; kernel server path `smc_listen_work`).

use super::scenario::{confirm_smcd, decline, decline_code, AfterAccept, Scenario};
use super::{pattern, tcp_config, ClcRead, ClcSeen, Outcome, Peer, PeerError, TcpEnd};
use crate::net::wire::Wire;
use crate::net::Handle;
use smc_wire::clc::{Body, ClcRepr};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// How long the kernel may take to answer a CLC message under TCG (its own wait is
/// `CLC_WAIT_TIME`, 6 s, notes §1).
pub const ANSWER_WAIT: Duration = Duration::from_secs(10);

/// Runs a client scenario against `target`.
pub fn run<W: Wire>(
    peer: &mut Peer<W>,
    s: &Scenario,
    target: SocketAddr,
) -> Result<Outcome, PeerError> {
    let cfg = tcp_config(s)?;
    let mut o = Outcome {
        scenario: s.name.clone(),
        role: s.role,
        kernel_smc_option: None,
        clc: Vec::new(),
        fallback_bytes_in: 0,
        fallback_echo: None,
        tcp_end: TcpEnd::NotEstablished,
        local_port: 0,
        notes: Vec::new(),
    };
    let Some(h) = peer.connect(target, cfg, ANSWER_WAIT)? else {
        return Ok(o);
    };
    let t = peer.iface().tcb(h).map_err(PeerError::Net)?;
    o.kernel_smc_option = t.peer_smc_option();
    o.local_port = t.local().port();
    let spec = s.proposal.clone().ok_or_else(|| {
        PeerError::Scenario(format!("client scenario {} has no [proposal]", s.name))
    })?;
    let local = peer.local_for(target.ip());
    let learned = peer.learned;
    let mut rnd = {
        let mut seq: Vec<u64> = (0..64).map(|_| peer.rand()).collect();
        move || seq.pop().unwrap_or(0x5eed)
    };
    let prop = spec
        .to_repr(&learned, &local, &mut rnd)
        .map_err(PeerError::Scenario)?;
    let bytes = ClcRepr::Proposal(prop)
        .to_vec()
        .map_err(|e| PeerError::Scenario(format!("emitting the Proposal: {e}")))?;
    send_clc(peer, h, &bytes, &mut o)?;
    let mut peer_fin_first = false;
    match peer.read_clc(h, ANSWER_WAIT)? {
        ClcRead::Message(m) => {
            let repr = record(peer, &m, &mut o);
            match repr {
                Some(ClcRepr::Decline(_)) => exchange(peer, h, s.data, &mut o)?,
                Some(ClcRepr::AcceptConfirm(a)) if a.is_accept() => {
                    after_accept(peer, h, s, &a, &mut o)?;
                }
                _ => o
                    .notes
                    .push("unexpected CLC message from the kernel server".into()),
            }
        }
        ClcRead::NotClc(b) => {
            o.fallback_bytes_in += b.len();
            o.notes.push(format!(
                "kernel sent {} non-CLC bytes instead of an answer",
                b.len()
            ));
        }
        ClcRead::Closed => {
            peer_fin_first = true;
            o.notes
                .push("kernel closed the connection without a CLC answer".into());
        }
        ClcRead::Reset => o.notes.push("kernel reset the connection".into()),
        ClcRead::Timeout => o.notes.push("no answer within the wait".into()),
    }
    peer_fin_first |= peer.iface().tcb(h).map_err(PeerError::Net)?.peer_closed();
    o.tcp_end = match peer.end_of(h, peer_fin_first)? {
        TcpEnd::KernelRst | TcpEnd::TimedOut | TcpEnd::PeerRst => peer.end_of(h, peer_fin_first)?,
        _ => {
            let e = peer.close(h, Duration::from_secs(5))?;
            if peer_fin_first && e == TcpEnd::Closed {
                TcpEnd::KernelFin
            } else {
                e
            }
        }
    };
    peer.forget(h);
    peer.flush()?;
    Ok(o)
}

/// Sends one CLC message and records it.
pub(crate) fn send_clc<W: Wire>(
    peer: &mut Peer<W>,
    h: Handle,
    bytes: &[u8],
    o: &mut Outcome,
) -> Result<(), PeerError> {
    let (seen, _) = ClcSeen::of("peer", bytes);
    o.clc.push(seen);
    if !peer.send(h, bytes)? {
        o.notes.push("connection no longer open for sending".into());
    }
    Ok(())
}

/// Records a kernel message and learns from it.
pub(crate) fn record<W: Wire>(peer: &mut Peer<W>, m: &[u8], o: &mut Outcome) -> Option<ClcRepr> {
    let (seen, repr) = ClcSeen::of("kernel", m);
    o.clc.push(seen);
    if let Some(r) = &repr {
        peer.learned.absorb(r);
    }
    repr
}

/// Sends `n` pattern bytes and expects them back (the kernel side echoes).
pub(crate) fn exchange<W: Wire>(
    peer: &mut Peer<W>,
    h: Handle,
    n: usize,
    o: &mut Outcome,
) -> Result<(), PeerError> {
    if n == 0 {
        return Ok(());
    }
    let data = pattern(n);
    if !peer.send(h, &data)? {
        o.fallback_echo = Some(false);
        return Ok(());
    }
    let got = peer.read_n(h, n, ANSWER_WAIT)?;
    o.fallback_bytes_in += got.len();
    o.fallback_echo = Some(got == data);
    Ok(())
}

fn after_accept<W: Wire>(
    peer: &mut Peer<W>,
    h: Handle,
    s: &Scenario,
    a: &smc_wire::clc::AcceptConfirmRepr,
    o: &mut Outcome,
) -> Result<(), PeerError> {
    match &s.after_accept {
        AfterAccept::Decline { code } => {
            let c = decline_code(code).map_err(PeerError::Scenario)?;
            // a client Decline after the Accept carries the Accept's version (§2.3)
            let v = if a.version == 1 { 1 } else { 2 };
            let d = ClcRepr::Decline(decline(c, v, false))
                .to_vec()
                .map_err(|e| PeerError::Scenario(format!("emitting the Decline: {e}")))?;
            send_clc(peer, h, &d, o)?;
            exchange(peer, h, s.data, o)
        }
        AfterAccept::Confirm { token } => {
            let learned = peer.learned;
            let mut r = || 0x5eed_u64;
            let tok = token
                .resolve(&learned, &mut r)
                .map_err(PeerError::Scenario)?;
            let Body::Smcd(b) = &a.body else {
                o.notes
                    .push("Confirm for an SMC-R Accept is not supported (no RoCE)".into());
                return Ok(());
            };
            let ext = b.v2.map_or(0, |v| v.gid_ext.0);
            let Some(c) = confirm_smcd(a, b.gid.0, ext, tok) else {
                return Ok(());
            };
            let bytes = ClcRepr::AcceptConfirm(c)
                .to_vec()
                .map_err(|e| PeerError::Scenario(format!("emitting the Confirm: {e}")))?;
            send_clc(peer, h, &bytes, o)?;
            // the kernel either attaches and goes ACTIVE (silence on TCP) or drops the
            // connection; give it time to decide
            match peer.read_clc(h, Duration::from_secs(3))? {
                ClcRead::Message(m) => {
                    record(peer, &m, o);
                }
                ClcRead::NotClc(b) => o.fallback_bytes_in += b.len(),
                ClcRead::Closed => o.notes.push("kernel closed after the Confirm".into()),
                ClcRead::Reset => o.notes.push("kernel reset after the Confirm".into()),
                ClcRead::Timeout => o
                    .notes
                    .push("TCP silent after the Confirm (SMC-D active?)".into()),
            }
            Ok(())
        }
        AfterAccept::Stall { ms } => {
            let t = Instant::now();
            match peer.read_clc(h, Duration::from_millis(*ms))? {
                ClcRead::Message(m) => {
                    record(peer, &m, o);
                }
                ClcRead::NotClc(b) => o.fallback_bytes_in += b.len(),
                ClcRead::Closed => o.notes.push(format!(
                    "kernel closed {:.1} s after the Accept",
                    t.elapsed().as_secs_f64()
                )),
                ClcRead::Reset => o.notes.push(format!(
                    "kernel reset {:.1} s after the Accept",
                    t.elapsed().as_secs_f64()
                )),
                ClcRead::Timeout => o
                    .notes
                    .push("kernel still waiting at the end of the stall".into()),
            }
            Ok(())
        }
    }
}
