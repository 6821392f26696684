//! Server role: the peer listens, reads the kernel's Proposal and answers as the scenario says
//! (reference §3–§5; kernel client path `__smc_connect`).

use super::client::{record, send_clc, ANSWER_WAIT};
use super::scenario::{ReplySpec, Scenario};
use super::{tcp_config, ClcRead, Outcome, Peer, PeerError, TcpEnd};
use crate::net::wire::Wire;
use crate::net::Handle;
use smc_wire::clc::ClcRepr;
use std::time::{Duration, Instant};

/// Runs a server scenario on `port`; the kernel client must connect within `accept_wait`.
pub fn run<W: Wire>(
    peer: &mut Peer<W>,
    s: &Scenario,
    port: u16,
    accept_wait: Duration,
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
        local_port: port,
        notes: Vec::new(),
    };
    let Some(h) = peer.accept(port, cfg, accept_wait)? else {
        o.notes.push("the kernel never connected".into());
        return Ok(o);
    };
    o.kernel_smc_option = peer
        .iface()
        .tcb(h)
        .map_err(PeerError::Net)?
        .peer_smc_option();
    let mut declined = false;
    match peer.read_clc(h, ANSWER_WAIT)? {
        ClcRead::Message(m) => match record(peer, &m, &mut o) {
            Some(ClcRepr::Proposal(p)) => {
                let reply = s.reply.clone().ok_or_else(|| {
                    PeerError::Scenario(format!("server scenario {} has no [reply]", s.name))
                })?;
                let local = peer.local_for(
                    peer.iface()
                        .tcb(h)
                        .ok()
                        .and_then(|t| t.remote())
                        .map_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |r| {
                            r.ip()
                        }),
                );
                let learned = peer.learned;
                let mut seq: Vec<u64> = (0..16).map(|_| peer.rand()).collect();
                let mut rnd = move || seq.pop().unwrap_or(0x5eed);
                let msg = reply
                    .to_repr(&p, &learned, &local, &mut rnd)
                    .map_err(PeerError::Scenario)?;
                match msg {
                    Some(m) => {
                        let bytes = m
                            .to_vec()
                            .map_err(|e| PeerError::Scenario(format!("emitting the reply: {e}")))?;
                        declined = matches!(m, ClcRepr::Decline(_));
                        send_clc(peer, h, &bytes, &mut o)?;
                        if !declined {
                            declined = after_accept(peer, h, &mut o)?;
                        }
                    }
                    None => {
                        let ms = match reply {
                            ReplySpec::Stall { ms } => ms,
                            _ => 8000,
                        };
                        let t = Instant::now();
                        match peer.read_clc(h, Duration::from_millis(ms))? {
                            ClcRead::Message(m) => {
                                if matches!(record(peer, &m, &mut o), Some(ClcRepr::Decline(_))) {
                                    declined = true;
                                }
                            }
                            ClcRead::Closed => o.notes.push(format!(
                                "kernel closed {:.1} s into the stall",
                                t.elapsed().as_secs_f64()
                            )),
                            ClcRead::Reset => o.notes.push(format!(
                                "kernel reset {:.1} s into the stall",
                                t.elapsed().as_secs_f64()
                            )),
                            ClcRead::NotClc(b) => o.fallback_bytes_in += b.len(),
                            ClcRead::Timeout => o.notes.push("kernel still waiting".into()),
                        }
                    }
                }
            }
            Some(ClcRepr::Decline(_)) => declined = true, // the kernel client had no device
            _ => o
                .notes
                .push("unexpected first CLC message from the kernel client".into()),
        },
        ClcRead::NotClc(b) => {
            o.fallback_bytes_in += b.len();
            o.notes.push("kernel client sent data without CLC".into());
        }
        ClcRead::Closed => o.notes.push("kernel closed before any CLC".into()),
        ClcRead::Reset => o.notes.push("kernel reset before any CLC".into()),
        ClcRead::Timeout => o.notes.push("no CLC from the kernel client".into()),
    }
    if declined {
        echo(peer, h, &mut o)?;
    }
    let fin_first = peer.iface().tcb(h).map_err(PeerError::Net)?.peer_closed();
    o.tcp_end = match peer.end_of(h, fin_first)? {
        e @ (TcpEnd::KernelRst | TcpEnd::TimedOut | TcpEnd::PeerRst) => e,
        _ => {
            let e = peer.close(h, Duration::from_secs(5))?;
            if fin_first && e == TcpEnd::Closed {
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

/// After our Accept: the kernel's Confirm or Decline. Returns whether the connection fell back
/// (a Decline either way).
fn after_accept<W: Wire>(
    peer: &mut Peer<W>,
    h: Handle,
    o: &mut Outcome,
) -> Result<bool, PeerError> {
    let t = Instant::now();
    match peer.read_clc(h, ANSWER_WAIT)? {
        ClcRead::Message(m) => match record(peer, &m, o) {
            Some(ClcRepr::Decline(_)) => Ok(true),
            Some(ClcRepr::AcceptConfirm(c)) if !c.is_accept() => {
                // SMC-R: the client now waits for LLC CONFIRM LINK over RoCE, which never
                // comes: its Decline TIMEOUT_CL follows (smcr_clnt_conf_first_link, notes §5)
                match peer.read_clc(h, ANSWER_WAIT)? {
                    ClcRead::Message(m) => {
                        Ok(matches!(record(peer, &m, o), Some(ClcRepr::Decline(_))))
                    }
                    ClcRead::Timeout => {
                        o.notes
                            .push("TCP silent after the Confirm (connection active)".into());
                        Ok(false)
                    }
                    ClcRead::Closed => {
                        o.notes.push("kernel closed after its Confirm".into());
                        Ok(false)
                    }
                    ClcRead::Reset => {
                        o.notes.push("kernel reset after its Confirm".into());
                        Ok(false)
                    }
                    ClcRead::NotClc(b) => {
                        o.fallback_bytes_in += b.len();
                        Ok(false)
                    }
                }
            }
            _ => {
                o.notes
                    .push("unexpected CLC message after our Accept".into());
                Ok(false)
            }
        },
        ClcRead::Closed => {
            o.notes.push(format!(
                "kernel closed {:.1} s after our Accept",
                t.elapsed().as_secs_f64()
            ));
            Ok(false)
        }
        ClcRead::Reset => {
            o.notes.push(format!(
                "kernel reset {:.1} s after our Accept",
                t.elapsed().as_secs_f64()
            ));
            Ok(false)
        }
        ClcRead::NotClc(b) => {
            o.fallback_bytes_in += b.len();
            Ok(false)
        }
        ClcRead::Timeout => {
            o.notes
                .push("no Confirm or Decline after our Accept".into());
            Ok(false)
        }
    }
}

/// Fallback path: echoes whatever the kernel sends until it closes or goes quiet.
fn echo<W: Wire>(peer: &mut Peer<W>, h: Handle, o: &mut Outcome) -> Result<(), PeerError> {
    let mut idle_since = Instant::now();
    let mut total = 0usize;
    loop {
        let t = peer.iface().tcb(h).map_err(PeerError::Net)?;
        if t.readable() > 0 {
            let n = t.readable();
            let b = peer.read_n(h, n, Duration::ZERO)?;
            total += b.len();
            peer.send(h, &b)?;
            idle_since = Instant::now();
            continue;
        }
        if t.peer_closed() || t.state() == crate::net::tcp::State::Closed {
            break;
        }
        if idle_since.elapsed() > Duration::from_secs(4) {
            break;
        }
        peer.pump(Duration::from_millis(50))?;
    }
    // let the echo drain before closing
    peer.wait_for(Duration::from_secs(3), |i| {
        i.tcb(h).map_or(true, |t| t.unacked() == 0)
    })?;
    o.fallback_bytes_in += total;
    o.fallback_echo = Some(total > 0);
    Ok(())
}
