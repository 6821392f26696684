//! The CLC handshake as a pure transition table (rusticata `tls_states.rs` habit): the next state
//! is a function of (state, message, sender) only, laid out as one `match` so a reader can check
//! each row against the kernel (`af_smc.c`: `__smc_connect`, `smc_listen_work`; reference §4.6,
//! §5; /work notes kernel-handshake.md).
//!
//! Who may send what:
//! * the client opens with a Proposal, or with a Decline when it has no usable device (NOSMCDEV
//!   before any Proposal, §6.2);
//! * the server answers a Proposal with an Accept or a Decline (or declines MEM before reading
//!   it, when it cannot allocate the Proposal buffer);
//! * the client answers an Accept with a Confirm or a Decline (e.g. MODEUNSUPP);
//! * after the Confirm either side may still decline (SMC-R link setup failing: the server's
//!   `smc_listen_rdma_finish`, the client's `smcr_clnt_conf_first_link`);
//! * a Decline ends the CLC exchange: the receiver falls back without answering (§5.2).

use crate::verdict::{Role, Stage};

/// Where the CLC exchange is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClcState {
    /// No CLC message yet, and the capture saw the connection start.
    Start,
    /// No CLC message yet, and the capture started mid-connection: the first message may be any.
    Midstream,
    /// After the client's Proposal.
    Proposal,
    /// After the server's Accept.
    Accept,
    /// After the client's Confirm.
    Confirm,
    /// After a Decline: CLC is over.
    Declined,
}

impl ClcState {
    /// The handshake stage this state stands for (for verdicts).
    pub fn stage(self) -> Stage {
        match self {
            ClcState::Start | ClcState::Declined => Stage::TcpEstablished,
            ClcState::Midstream => Stage::Unknown,
            ClcState::Proposal => Stage::Proposal,
            ClcState::Accept => Stage::Accept,
            ClcState::Confirm => Stage::Confirm,
        }
    }
}

/// The four CLC message kinds, as the state machine sees them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClcMsg {
    /// Type 1.
    Proposal,
    /// Type 2.
    Accept,
    /// Type 3.
    Confirm,
    /// Type 4.
    Decline,
}

/// The outcome of one transition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The message is in order; the exchange moves on.
    Next(ClcState),
    /// A Decline in order, sent after `after`.
    Declined {
        /// The last message before the Decline.
        after: Stage,
    },
    /// The message breaks the protocol.
    Violation(&'static str),
}

/// The transition table.
#[rustfmt::skip]
pub fn next(state: ClcState, msg: ClcMsg, from: Role) -> Step {
    use ClcMsg as M;
    use ClcState as S;
    use Role::{Client as C, Server as Sv};
    match (state, msg, from) {
        // in order
        (S::Start,     M::Proposal, C)  => Step::Next(S::Proposal),
        (S::Start,     M::Decline,  C)  => Step::Declined { after: Stage::TcpEstablished },
        // smc_listen_work: the 652-byte Proposal buffer cannot be allocated ⇒ v1 Decline MEM
        // before the Proposal is read (KH §4 step 4)
        (S::Start,     M::Decline,  Sv) => Step::Declined { after: Stage::TcpEstablished },
        (S::Proposal,  M::Accept,   Sv) => Step::Next(S::Accept),
        (S::Proposal,  M::Decline,  _)  => Step::Declined { after: Stage::Proposal },
        (S::Accept,    M::Confirm,  C)  => Step::Next(S::Confirm),
        (S::Accept,    M::Decline,  _)  => Step::Declined { after: Stage::Accept },
        (S::Confirm,   M::Decline,  _)  => Step::Declined { after: Stage::Confirm },
        // a capture that starts mid-connection: take the first message as it comes
        (S::Midstream, M::Proposal, C)  => Step::Next(S::Proposal),
        (S::Midstream, M::Accept,   Sv) => Step::Next(S::Accept),
        (S::Midstream, M::Confirm,  C)  => Step::Next(S::Confirm),
        (S::Midstream, M::Decline,  _)  => Step::Declined { after: Stage::Unknown },
        // out of order
        (S::Declined,  _,           _)  => Step::Violation("CLC message after a Decline (the receiver of a Decline falls back without answering)"),
        (_,            M::Proposal, Sv) => Step::Violation("Proposal from the server"),
        (_,            M::Accept,   C)  => Step::Violation("Accept from the client"),
        (_,            M::Confirm,  Sv) => Step::Violation("Confirm from the server"),
        (S::Start,     M::Accept,   Sv) => Step::Violation("Accept before any Proposal"),
        (S::Start,     M::Confirm,  C)  => Step::Violation("Confirm before any Proposal"),
        (S::Proposal,  M::Proposal, C)  => Step::Violation("second Proposal"),
        (S::Proposal,  M::Confirm,  C)  => Step::Violation("Confirm before the Accept"),
        (S::Accept,    M::Proposal, C)  => Step::Violation("Proposal after the Accept"),
        (S::Accept,    M::Accept,   Sv) => Step::Violation("second Accept"),
        (S::Confirm,   M::Proposal, C)  => Step::Violation("Proposal after the Confirm"),
        (S::Confirm,   M::Accept,   Sv) => Step::Violation("Accept after the Confirm"),
        (S::Confirm,   M::Confirm,  C)  => Step::Violation("second Confirm"),
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use ClcMsg as M;
    use ClcState as S;
    use Role::{Client as C, Server as Sv};

    #[test]
    fn successful_handshake() {
        let mut s = S::Start;
        for (m, r) in [(M::Proposal, C), (M::Accept, Sv), (M::Confirm, C)] {
            match next(s, m, r) {
                Step::Next(n) => s = n,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(s, S::Confirm);
    }

    #[test]
    fn declines_at_every_stage() {
        assert_eq!(
            next(S::Start, M::Decline, C),
            Step::Declined {
                after: Stage::TcpEstablished
            }
        );
        assert_eq!(
            next(S::Proposal, M::Decline, Sv),
            Step::Declined {
                after: Stage::Proposal
            }
        );
        assert_eq!(
            next(S::Accept, M::Decline, C),
            Step::Declined {
                after: Stage::Accept
            }
        );
        assert_eq!(
            next(S::Confirm, M::Decline, Sv),
            Step::Declined {
                after: Stage::Confirm
            }
        );
    }

    #[test]
    fn violations() {
        assert!(matches!(
            next(S::Proposal, M::Proposal, C),
            Step::Violation(_)
        ));
        assert!(matches!(
            next(S::Declined, M::Decline, Sv),
            Step::Violation(_)
        ));
        assert!(matches!(next(S::Start, M::Accept, Sv), Step::Violation(_)));
    }

    #[test]
    fn every_cell_is_defined() {
        // the match is exhaustive by construction; this walks it to make sure nothing panics
        for s in [
            S::Start,
            S::Midstream,
            S::Proposal,
            S::Accept,
            S::Confirm,
            S::Declined,
        ] {
            for m in [M::Proposal, M::Accept, M::Confirm, M::Decline] {
                for r in [C, Sv] {
                    let _ = next(s, m, r);
                }
            }
        }
    }
}
