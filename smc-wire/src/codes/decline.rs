//! CLC Decline reason codes (`SMC_CLC_DECL_*`, reference §5.2; kernel `net/smc/smc_clc.h`).
//!
//! The same table names the fallback reasons `smc_diag` reports, because the kernel uses one
//! code space for both: a code received in a Decline is the peer's diagnosis, the local reason
//! is then `PEERDECL`.

use super::code_points;

code_points! {
    /// A CLC Decline `peer_diagnosis` / fallback reason (reference §5.2).
    pub struct DeclineReason(u32);
    table DECLINE_REASONS;
    hex_width 8;
    serialize full;
    MEM = 0x0101_0000, Current, "insufficient memory resources";
    TIMEOUT = 0x0200_0000, Linux4_11, "timeout (4.11-era generic timeout code)";
    TIMEOUT_CL = 0x0201_0000, Current, "timeout waiting for LLC CONFIRM LINK";
    TIMEOUT_AL = 0x0202_0000, Current, "timeout waiting for LLC ADD LINK";
    TCL = 0x0204_0000, Linux4_11, "timeout waiting for QP confirm (4.11 era)";
    CNFERR = 0x0300_0000, Current, "configuration error (e.g. no IP prefix for the Proposal)";
    PEERNOSMC = 0x0301_0000, Current, "peer did not indicate SMC (no TCP option, or no usable type in the Proposal)";
    IPSEC = 0x0302_0000, Current, "IPsec policy on the connection";
    NOSMCDEV = 0x0303_0000, Current, "no SMC device found (neither SMC-R nor SMC-D)";
    IPSEC_V4_11 = 0x0303_0000, Linux4_11, "IPsec usage (4.11 era; this value means NOSMCDEV today)";
    NOSMCDDEV = 0x0303_0001, Current, "no SMC-D device found";
    NOSMCRDEV = 0x0303_0002, Current, "no SMC-R device found";
    NOISM2SUPP = 0x0303_0003, Current, "local hardware has no ISMv2 support";
    NOV2EXT = 0x0303_0004, Current, "peer sent no CLC v2 extension";
    NOV2DEXT = 0x0303_0005, Current, "peer sent no SMC-Dv2 extension";
    NOSEID = 0x0303_0006, Current, "peer sent no SEID";
    NOSMCD2DEV = 0x0303_0007, Current, "no matching SMC-Dv2 device found";
    NOUEID = 0x0303_0008, Current, "peer sent no UEID that matches (and no usable SEID)";
    RELEASEERR = 0x0303_0009, Current, "release (v2.x) negotiation failed";
    MAXCONNERR = 0x0303_000a, Current, "max-connections (v2.1) negotiation failed";
    MAXLINKERR = 0x0303_000b, Current, "max-links (v2.1) negotiation failed";
    MODEUNSUPP = 0x0304_0000, Current, "SMC modes do not match: Accept type not among the offered ones";
    RMBE_EC = 0x0305_0000, Current, "peer uses an RMBE eyecatcher (CONFIRM LINK flag missing)";
    OPTUNSUPP = 0x0306_0000, Current, "TCP Fast Open requested: SMC not possible (local, no CLC)";
    DIFFPREFIX = 0x0307_0000, Current, "IP prefix / subnet mismatch";
    GETVLANERR = 0x0308_0000, Current, "cannot get the VLAN id of the IP device";
    ISMVLANERR = 0x0309_0000, Current, "cannot register the VLAN id on the ISM device";
    NOACTLINK = 0x030a_0000, Current, "no active SMC-R link in the link group";
    NOSRVLINK = 0x030b_0000, Current, "SMC-R link announced by the server not found";
    VERSMISMAT = 0x030c_0000, Current, "SMC version mismatch";
    MAX_DMB = 0x030d_0000, Current, "SMC-D DMB limit reached";
    NOROUTE = 0x030e_0000, Current, "SMC-Rv2: no route to the peer";
    NOINDIRECT = 0x030f_0000, Current, "SMC-Rv2: peer claims indirect, but the route is direct";
    SYNCERR = 0x0400_0000, Current, "link group out of sync (sent with the out-of-sync bit)";
    PEERDECL = 0x0500_0000, Current, "peer declined during the handshake (local reason, never sent)";
    REPLY = 0x0600_0000, Linux4_11, "reply to a received decline (4.11 era, local)";
    SEND = 0x0700_0000, Linux4_11, "sending problem (4.11 era)";
    INTERR = 0x0999_0000, Current, "internal error";
    ERR_RTOK = 0x0999_0001, Current, "rtoken handling failed";
    ERR_RDYLNK = 0x0999_0002, Current, "IB ready-link failed";
    ERR_REGBUF = 0x0999_0003, Current, "RDMA buffer registration failed";
    INTERR_V4_11 = 0x9999_0000, Linux4_11, "internal error (4.11 era value)";
}

/// The class a reason belongs to, from its high byte (reference §5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum DeclineClass {
    /// 0x01: resources.
    Resources,
    /// 0x02: timeout.
    Timeout,
    /// 0x03: configuration or negotiation.
    Configuration,
    /// 0x04: synchronisation.
    Sync,
    /// 0x05: the peer declined.
    Peer,
    /// 0x09 (0x99 in 4.11): internal.
    Internal,
    /// Any other high byte.
    Unknown,
}

impl DeclineReason {
    /// The class, from the high byte (reference §5.2 "Classification by the high byte").
    pub fn class(self) -> DeclineClass {
        match self.0 >> 24 {
            0x01 => DeclineClass::Resources,
            0x02 => DeclineClass::Timeout,
            0x03 => DeclineClass::Configuration,
            0x04 => DeclineClass::Sync,
            0x05 => DeclineClass::Peer,
            0x09 | 0x99 => DeclineClass::Internal,
            _ => DeclineClass::Unknown,
        }
    }

    /// True for reasons a Linux kernel records locally but never puts in a Decline
    /// (reference §5.2: PEERDECL, and OPTUNSUPP which falls back before any CLC).
    pub fn is_local_only(self) -> bool {
        self == Self::PEERDECL || self == Self::OPTUNSUPP
    }

    /// The 4.11-era name when that era gave this value a different meaning (0x03030000 was IPSEC).
    pub fn legacy_name(self) -> Option<&'static str> {
        let legacy = self.info_in(super::Era::Linux4_11)?;
        match self.info_in(super::Era::Current) {
            Some(_) => Some(legacy.name.trim_end_matches("_V4_11")),
            None => None,
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::codes::{is_sorted_unique, Era};

    #[test]
    fn table_sorted_and_unique() {
        assert!(is_sorted_unique(DECLINE_REASONS));
    }

    #[test]
    fn names_and_unknowns() {
        assert_eq!(DeclineReason(0x0303_0000).to_string(), "NOSMCDEV");
        assert_eq!(DeclineReason(0x0303_0008).to_string(), "NOUEID");
        assert_eq!(
            DeclineReason(0x0303_00ff).to_string(),
            "DeclineReason(50528511 / 0x030300ff)"
        );
        assert_eq!(DeclineReason(0x0303_0000).legacy_name(), Some("IPSEC"));
        assert_eq!(DeclineReason(0x0303_0002).legacy_name(), None);
        // a value only the 4.11 era knows keeps its legacy name
        assert_eq!(DeclineReason(0x9999_0000).name(), Some("INTERR_V4_11"));
        assert_eq!(
            DeclineReason(0x9999_0000).info().map(|r| r.era),
            Some(Era::Linux4_11)
        );
    }

    #[test]
    fn from_str() {
        assert_eq!("NOUEID".parse(), Ok(DeclineReason::NOUEID));
        assert_eq!(
            "smc_clc_decl_nosmcrdev".parse(),
            Ok(DeclineReason::NOSMCRDEV)
        );
        assert_eq!("0x03030002".parse(), Ok(DeclineReason::NOSMCRDEV));
        assert_eq!("50528256".parse(), Ok(DeclineReason::NOSMCDEV));
        assert!("NOPE".parse::<DeclineReason>().is_err());
    }

    #[test]
    fn classes() {
        assert_eq!(DeclineReason::SYNCERR.class(), DeclineClass::Sync);
        assert_eq!(DeclineReason::INTERR_V4_11.class(), DeclineClass::Internal);
        assert!(DeclineReason::PEERDECL.is_local_only());
    }
}
