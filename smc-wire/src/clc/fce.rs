//! The first-contact extension of v2 Accept/Confirm (reference §4.3): 36 bytes (v2.0 SMC-D,
//! `struct smc_clc_first_contact_ext`) or 52 bytes (`struct smc_clc_first_contact_ext_v2x`).

use crate::clc::header::{array, be16, be32};
use crate::clc::ids::Hostname;
use crate::clc::OsType;

pub(crate) mod field {
    use crate::field::Field;
    pub const DIRECT: usize = 0; // §4.3 bit7 v2_direct, bits 6-0 reserved
    pub const OS_RELEASE: usize = 1; // §4.3 bits 7-4 os_type, bits 3-0 release
    pub const RESERVED2: Field = 2..4; // §4.3 reserved2[2]
    pub const HOSTNAME: Field = 4..36; // §4.3 hostname, blank-padded
    pub const V20_LEN: usize = HOSTNAME.end; // §4.3 smc_clc_first_contact_ext = 36
    pub const MAX_CONNS: usize = 36; // §4.3 max_conns (SMC-R, v2.1)
    pub const MAX_LINKS: usize = 37; // §4.3 max_links (SMC-R, v2.1)
    pub const FEATURE_MASK: Field = 38..40; // §4.3 feature_mask BE16
    pub const VENDOR_EXP: Field = 40..44; // §4.3 vendor_exp_options BE32
    pub const RESERVED4: Field = 44..52; // §4.3 reserved4[8]
    pub const V2X_LEN: usize = RESERVED4.end; // §4.3 smc_clc_first_contact_ext_v2x = 52
}

/// Length of the v2.0 SMC-D first-contact extension (release 0).
pub const FCE_V20_SMCD_LEN: usize = field::V20_LEN;
/// Length of the v2.x first-contact extension (SMC-R always; SMC-D from release 1).
pub const FCE_V2X_LEN: usize = field::V2X_LEN;

/// The v2.1 tail of the first-contact extension (bytes 36–51).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct FceV2x {
    /// Negotiated max connections per link group (SMC-R; SMC-D reserved).
    pub max_conns: u8,
    /// Negotiated max links per link group (SMC-R; SMC-D reserved).
    pub max_links: u8,
    /// Feature mask (bit 0: virtual ISM).
    pub feature_mask: u16,
    /// Vendor experimental options (Linux 0).
    pub vendor_exp_options: u32,
    /// Reserved (8 bytes).
    #[cfg_attr(
        feature = "serde",
        serde(skip_serializing_if = "crate::clc::proposal::is_zero")
    )]
    pub reserved4: [u8; 8],
}

/// A decoded first-contact extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct FceRepr {
    /// SMC-R: peer on the same subnet, no gateway (`v2_direct`). SMC-D: 0.
    pub v2_direct: bool,
    /// Bits 6-0 of byte 0 (reserved).
    #[cfg_attr(
        feature = "serde",
        serde(skip_serializing_if = "crate::clc::proposal::is_zero_u8")
    )]
    pub reserved: u8,
    /// OS type nibble.
    pub os_type: OsType,
    /// Release nibble: 0 = v2.0, 1 = v2.1.
    pub release: u8,
    /// Reserved bytes 2-3.
    #[cfg_attr(
        feature = "serde",
        serde(skip_serializing_if = "crate::clc::proposal::is_zero")
    )]
    pub reserved2: [u8; 2],
    /// Sender's hostname (blank-padded ASCII, captured at SMC init).
    pub hostname: Hostname,
    /// The v2.x tail, when the extension is 52 bytes long.
    pub v2x: Option<FceV2x>,
}

impl FceRepr {
    /// The length this extension takes on the wire.
    pub fn wire_len(&self) -> usize {
        if self.v2x.is_some() {
            FCE_V2X_LEN
        } else {
            FCE_V20_SMCD_LEN
        }
    }

    /// The length a Linux sender uses (`smc_clc_fill_fce_v2x`): 36 bytes only for SMC-D with
    /// release 0, else 52 (§4.3).
    pub fn linux_len(is_smcd: bool, release: u8) -> usize {
        if is_smcd && release < 1 {
            FCE_V20_SMCD_LEN
        } else {
            FCE_V2X_LEN
        }
    }

    /// Decodes from `a`, which holds at least `len` bytes (36 or 52).
    pub(crate) fn parse(a: &[u8], len: usize) -> FceRepr {
        use field as f;
        FceRepr {
            v2_direct: a[f::DIRECT] & 0x80 != 0,
            reserved: a[f::DIRECT] & 0x7f,
            os_type: OsType(a[f::OS_RELEASE] >> 4),
            release: a[f::OS_RELEASE] & 0x0f,
            reserved2: array(&a[f::RESERVED2]),
            hostname: crate::clc::Eid(array(&a[f::HOSTNAME])),
            v2x: (len >= f::V2X_LEN).then(|| FceV2x {
                max_conns: a[f::MAX_CONNS],
                max_links: a[f::MAX_LINKS],
                feature_mask: be16(&a[f::FEATURE_MASK]),
                vendor_exp_options: be32(&a[f::VENDOR_EXP]),
                reserved4: array(&a[f::RESERVED4]),
            }),
        }
    }

    /// Writes `wire_len()` bytes into `a`.
    pub(crate) fn emit(&self, a: &mut [u8]) {
        use field as f;
        a[f::DIRECT] = (u8::from(self.v2_direct) << 7) | (self.reserved & 0x7f);
        a[f::OS_RELEASE] = (self.os_type.0 << 4) | (self.release & 0x0f);
        a[f::RESERVED2].copy_from_slice(&self.reserved2);
        a[f::HOSTNAME].copy_from_slice(&self.hostname.0);
        if let Some(x) = &self.v2x {
            a[f::MAX_CONNS] = x.max_conns;
            a[f::MAX_LINKS] = x.max_links;
            a[f::FEATURE_MASK].copy_from_slice(&x.feature_mask.to_be_bytes());
            a[f::VENDOR_EXP].copy_from_slice(&x.vendor_exp_options.to_be_bytes());
            a[f::RESERVED4].copy_from_slice(&x.reserved4);
        }
    }
}
