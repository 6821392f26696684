//! Identifiers carried by CLC messages: peer IDs, RoCE GIDs, MACs, ISM GIDs (64- and 128-bit),
//! CHIDs and their classes, EIDs, IPv6 prefixes (reference §3, §4, §6).

use core::fmt;

/// Peer ID (`id_for_peer`, 8 bytes): 2-byte instance + 6-byte RoCE MAC (§3.1, RFC 7609).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct PeerId(pub [u8; 8]);

impl PeerId {
    /// The 2-byte instance part (random at kernel init).
    pub fn instance(&self) -> u16 {
        u16::from_be_bytes([self.0[0], self.0[1]])
    }
    /// The MAC part.
    pub fn mac(&self) -> Mac {
        Mac([
            self.0[2], self.0[3], self.0[4], self.0[5], self.0[6], self.0[7],
        ])
    }
    /// True for all-zero bytes (no SMC-R device on the sender).
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 8]
    }
}

impl fmt::Display for PeerId {
    /// `instance@mac`, as hwipl's smc-clc prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.instance(), self.mac())
    }
}

impl fmt::Debug for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PeerId({self})")
    }
}

/// An Ethernet MAC address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Mac(pub [u8; 6]);

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

impl fmt::Debug for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mac({self})")
    }
}

/// A 16-byte RoCE GID (v1: link-local style; v2: IPv4-mapped `::ffff:a.b.c.d`, §3.4, §4.1).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct RoceGid(pub [u8; 16]);

impl RoceGid {
    /// The IPv4 address of an IPv4-mapped (RoCEv2) GID.
    pub fn ipv4(&self) -> Option<std::net::Ipv4Addr> {
        std::net::Ipv6Addr::from(self.0).to_ipv4_mapped()
    }
    /// True for all-zero bytes.
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 16]
    }
}

impl fmt::Display for RoceGid {
    /// IPv6 text form, the way `smc_diag` users and Wireshark show GIDs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&std::net::Ipv6Addr::from(self.0), f)
    }
}

impl fmt::Debug for RoceGid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RoceGid({self})")
    }
}

/// A 64-bit ISM GID as sent on the wire (BE u64): a native ISM GID, or the `gid` half of an
/// Emulated-ISM 128-bit GID (§3.2, §3.5, §4.2).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct IsmGid(pub u64);

impl fmt::Display for IsmGid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:016x}", self.0)
    }
}

impl fmt::Debug for IsmGid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IsmGid({self})")
    }
}

/// The 128-bit GID of an Emulated-ISM device (virtual ISM, loopback-ism): `gid` ‖ `gid_ext` (§3.6).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct VirtualGid {
    /// Upper 64 bits as sent (`gid`).
    pub gid: u64,
    /// Lower 64 bits as sent (`gid_ext`).
    pub gid_ext: u64,
}

impl VirtualGid {
    /// The 128-bit value, `gid` in the high half.
    pub fn as_u128(&self) -> u128 {
        (u128::from(self.gid) << 64) | u128::from(self.gid_ext)
    }

    /// The loopback-ism UUID, undoing the per-half byte reversal of 6.10–6.17 little-endian
    /// senders (`smc_lo_generate_ids`, §6.1); dibs-era (6.18+) senders put the UUID in order.
    pub fn uuid_bytes_lo_le_era(&self) -> [u8; 16] {
        let mut u = [0u8; 16];
        u[..8].copy_from_slice(&self.gid.to_le_bytes());
        u[8..].copy_from_slice(&self.gid_ext.to_le_bytes());
        u
    }
}

impl fmt::Display for VirtualGid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:016x}{:016x}", self.gid, self.gid_ext)
    }
}

/// A CHID (ISM channel id, §6.1).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Chid(pub u16);

/// What kind of device a CHID names (§6.1).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum ChidClass {
    /// Below 0xFF00: a native ISM device (s390 PCI function).
    NativeIsm,
    /// 0xFF00–0xFFFE: reserved for Emulated-ISM devices such as virtio-ism (no Linux driver).
    VirtualIsm,
    /// 0xFFFF: loopback-ism (`SMC_LO_RESERVED_CHID`; dibs-era `DIBS_LOOPBACK_FABRIC`).
    LoopbackIsm,
}

impl Chid {
    /// loopback-ism's CHID (`SMC_LO_RESERVED_CHID`, §6.1).
    pub const LOOPBACK: Chid = Chid(0xffff);

    /// `(chid & 0xFF00) == 0xFF00`: an Emulated-ISM device with a 128-bit GID
    /// (`__smc_ism_is_emulated`, §6.1).
    pub fn is_emulated(self) -> bool {
        self.0 & 0xff00 == 0xff00
    }

    /// The class of device.
    pub fn class(self) -> ChidClass {
        match self.0 {
            0xffff => ChidClass::LoopbackIsm,
            c if c & 0xff00 == 0xff00 => ChidClass::VirtualIsm,
            _ => ChidClass::NativeIsm,
        }
    }
}

impl fmt::Display for Chid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:04x}", self.0)
    }
}

impl fmt::Debug for Chid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Chid({self})")
    }
}

impl fmt::Display for ChidClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChidClass::NativeIsm => "native ISM",
            ChidClass::VirtualIsm => "virtual ISM",
            ChidClass::LoopbackIsm => "loopback-ism",
        })
    }
}

/// One 10-byte GID/CHID entry (`smc_clc_smcd_gid_chid`, §3.2, §3.5).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct GidChid {
    /// ISM GID (BE u64).
    pub gid: IsmGid,
    /// CHID (BE u16).
    pub chid: Chid,
}

/// An SMC-D device offered in a Proposal, after pairing Emulated-ISM entries (§3.6).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SmcdDevice {
    /// The device's CHID.
    pub chid: Chid,
    /// Its 64-bit GID (`gid`).
    pub gid: IsmGid,
    /// For Emulated-ISM, the second entry's GID (`gid_ext`).
    pub gid_ext: Option<IsmGid>,
    /// Index of its first entry in the list.
    pub entry: u8,
}

impl SmcdDevice {
    /// The 128-bit GID when the device is Emulated-ISM.
    pub fn virtual_gid(&self) -> Option<VirtualGid> {
        self.gid_ext.map(|ext| VirtualGid {
            gid: self.gid.0,
            gid_ext: ext.0,
        })
    }
}

/// Walks a GID/CHID list the way a server does (`smc_find_ism_v2_device_serv`, §3.6): an
/// Emulated-ISM entry takes the next entry as `gid_ext` only if that entry exists and has the
/// same CHID; otherwise the entry is skipped.
pub fn smcd_devices(entries: &[GidChid]) -> impl Iterator<Item = SmcdDevice> + '_ {
    let mut i = 0usize;
    core::iter::from_fn(move || {
        while let Some(e) = entries.get(i) {
            let idx = i;
            if !e.chid.is_emulated() {
                i += 1;
                return Some(SmcdDevice {
                    chid: e.chid,
                    gid: e.gid,
                    gid_ext: None,
                    entry: idx as u8,
                });
            }
            match entries.get(i + 1) {
                Some(next) if next.chid == e.chid => {
                    i += 2;
                    return Some(SmcdDevice {
                        chid: e.chid,
                        gid: e.gid,
                        gid_ext: Some(next.gid),
                        entry: idx as u8,
                    });
                }
                _ => i += 1, // no partner: the server skips the entry
            }
        }
        None
    })
}

/// An EID (UEID or SEID): 32 ASCII bytes, blank-padded (§6.4).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Eid(pub [u8; 32]);

impl Eid {
    /// Builds a blank-padded EID from text (longer text is cut at 32 bytes).
    pub fn from_text(s: &str) -> Eid {
        let mut e = [b' '; 32];
        for (d, s) in e.iter_mut().zip(s.bytes()) {
            *d = s;
        }
        Eid(e)
    }

    /// True for 32 zero bytes (no SEID / absent EID).
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 32]
    }

    /// The text without trailing blanks/NULs, if every byte is printable ASCII.
    pub fn as_text(&self) -> Option<&str> {
        let end = self
            .0
            .iter()
            .rposition(|&b| b != b' ' && b != 0)
            .map_or(0, |p| p + 1);
        let t = &self.0[..end];
        if t.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
            core::str::from_utf8(t).ok()
        } else {
            None
        }
    }

    /// True if this is a valid UEID as `smc_clc_ueid_valid` defines it: A–Z, 0–9, '.', '-',
    /// first character alphanumeric, blank padding only at the end (§6.4).
    pub fn is_valid_ueid(&self) -> bool {
        let end = match self.0.iter().rposition(|b| !b.is_ascii_whitespace()) {
            Some(e) => e,
            None => return false,
        };
        let body = &self.0[..=end];
        let ok = |b: u8| {
            (b.is_ascii_alphanumeric() && !b.is_ascii_lowercase()) || b == b'.' || b == b'-'
        };
        body[0].is_ascii_alphanumeric()
            && !body[0].is_ascii_lowercase()
            && body.iter().all(|&b| ok(b))
    }
}

impl fmt::Display for Eid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_text() {
            Some(t) => f.write_str(t),
            None => {
                for b in self.0 {
                    write!(f, "{b:02x}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Debug for Eid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Eid({self:?})", self = self.to_string())
    }
}

/// The 32-byte hostname of the first-contact extension (ASCII, blank-padded, §4.3).
pub type Hostname = Eid;

/// One IPv6 prefix entry of the Proposal prefix area (17 bytes, packed; §3.3).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Ipv6Prefix {
    /// The prefix.
    pub prefix: [u8; 16],
    /// Its length in bits.
    pub prefix_len: u8,
}

impl fmt::Display for Ipv6Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}",
            std::net::Ipv6Addr::from(self.prefix),
            self.prefix_len
        )
    }
}

#[cfg(feature = "serde")]
mod ser {
    use super::*;
    use serde::{Serialize, Serializer};

    macro_rules! display_serialize {
        ($($t:ty),*) => {$(
            impl Serialize for $t {
                fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                    s.collect_str(self)
                }
            }
        )*};
    }
    display_serialize!(PeerId, Mac, RoceGid, IsmGid, VirtualGid, Eid, Ipv6Prefix);

    impl Serialize for Chid {
        /// `{ "value": 65535, "hex": "0xffff", "class": "loopback-ism" }`
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeStruct;
            let mut st = s.serialize_struct("Chid", 3)?;
            st.serialize_field("value", &self.0)?;
            st.serialize_field("hex", &format_args!("{self}"))?;
            st.serialize_field("class", &self.class())?;
            st.end()
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn chid_classes() {
        assert_eq!(Chid(0x1234).class(), ChidClass::NativeIsm);
        assert_eq!(Chid(0xff00).class(), ChidClass::VirtualIsm);
        assert_eq!(Chid(0xfffe).class(), ChidClass::VirtualIsm);
        assert_eq!(Chid(0xffff).class(), ChidClass::LoopbackIsm);
        assert!(Chid(0xffff).is_emulated() && !Chid(0xfeff).is_emulated());
    }

    #[test]
    fn pairing_follows_the_server_rule() {
        let e = |gid, chid| GidChid {
            gid: IsmGid(gid),
            chid: Chid(chid),
        };
        // native, emulated pair, lone emulated (skipped), native
        let list = [
            e(1, 0x10),
            e(2, 0xffff),
            e(3, 0xffff),
            e(4, 0xff01),
            e(5, 0x20),
        ];
        let devs: Vec<_> = smcd_devices(&list).collect();
        assert_eq!(devs.len(), 3);
        assert_eq!(
            devs[1].virtual_gid(),
            Some(VirtualGid { gid: 2, gid_ext: 3 })
        );
        assert_eq!(devs[2].chid, Chid(0x20));
        assert_eq!(devs[2].entry, 4);
        // an emulated entry followed by a different emulated CHID: skipped, the next is paired
        let list = [e(1, 0xff01), e(2, 0xffff), e(3, 0xffff)];
        let devs: Vec<_> = smcd_devices(&list).collect();
        assert_eq!(devs.len(), 1);
        assert_eq!(devs[0].entry, 1);
    }

    #[test]
    fn eids() {
        let e = Eid::from_text("SMC-LAB-UEID");
        assert_eq!(e.as_text(), Some("SMC-LAB-UEID"));
        assert!(e.is_valid_ueid());
        assert!(!Eid::from_text("lower").is_valid_ueid());
        assert!(!Eid::from_text("-X").is_valid_ueid());
        assert!(!Eid::default().is_valid_ueid());
        assert_eq!(Eid([0xff; 32]).as_text(), None);
    }

    #[test]
    fn gid_text() {
        let g = RoceGid([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168, 50, 2]);
        assert_eq!(g.ipv4(), Some(std::net::Ipv4Addr::new(192, 168, 50, 2)));
        let p = PeerId([0xb1, 0xa0, 0x98, 0x03, 0x9b, 0xab, 0xcd, 0xef]);
        assert_eq!(p.to_string(), "45472@98:03:9b:ab:cd:ef");
    }
}
