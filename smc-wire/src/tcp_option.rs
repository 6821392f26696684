//! The SMC capability TCP option: kind 254 (RFC 6994 experimental), ExID 0xE2D4C3D9 ("SMCR" in
//! EBCDIC), sent in SYN and SYN-ACK (reference §1; kernel `smc_parse_options`,
//! `smc_options_write`).

use crate::error::{Error, Layer};

pub(crate) mod field {
    use crate::field::Field;
    pub const KIND: usize = 0; // §1 option kind 254 (TCPOPT_EXP)
    pub const LEN: usize = 1; // §1 option length, 6 (TCPOLEN_EXP_SMC_BASE)
    pub const MAGIC: Field = 2..6; // §1 ExID, BE32 TCPOPT_SMC_MAGIC
    pub const BASE_LEN: usize = MAGIC.end; // §1 TCPOLEN_EXP_SMC_BASE = 6
}

/// TCP option kind for RFC 6994 experiments (`TCPOPT_EXP`).
pub const KIND_EXP: u8 = 254;
/// The SMC ExID (`TCPOPT_SMC_MAGIC`).
pub const SMC_MAGIC: [u8; 4] = [0xe2, 0xd4, 0xc3, 0xd9];
/// The TFO ExID sharing kind 254 (`TCPOPT_FASTOPEN_MAGIC`, 16 bits).
pub const FASTOPEN_MAGIC: [u8; 2] = [0xf9, 0x89];
/// The 8 bytes Linux writes: two NOPs, then the option (`smc_options_write`, §1).
pub const LINUX_OPTION: [u8; 8] = [0x01, 0x01, KIND_EXP, 6, 0xe2, 0xd4, 0xc3, 0xd9];

/// An SMC option found in a TCP options block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SmcOption<'a> {
    /// Offset of the kind byte inside the options block.
    pub offset: usize,
    /// The option length byte.
    pub length: u8,
    /// Bytes after the 4-byte magic (empty for the 6-byte option Linux sends).
    pub data: &'a [u8],
}

impl SmcOption<'_> {
    /// Whether `smc_parse_options` accepts it in a segment with this SYN flag: SYN set, even
    /// length, at least 6 (§1).
    pub fn kernel_accepts(&self, syn: bool) -> bool {
        syn && self.length % 2 == 0 && usize::from(self.length) >= field::BASE_LEN
    }

    /// Bytes `emit` writes.
    pub fn buffer_len(&self) -> usize {
        field::BASE_LEN + self.data.len()
    }

    /// Writes kind, length, magic and data (no NOP padding).
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        let n = self.buffer_len();
        let out = buf
            .get_mut(..n)
            .ok_or(Error::BufferTooSmall { need: n, have: 0 })?;
        out[field::KIND] = KIND_EXP;
        out[field::LEN] = self.length;
        out[field::MAGIC].copy_from_slice(&SMC_MAGIC);
        out[field::BASE_LEN..].copy_from_slice(self.data);
        Ok(n)
    }
}

/// What the options walk found besides the SMC option.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct OptionsSummary {
    /// A kind-254 option with the TFO magic was present.
    pub fastopen: bool,
    /// The walk stopped at a malformed option (length < 2 or past the block), as
    /// `tcp_parse_options` does.
    pub malformed_at: Option<usize>,
}

/// Walks a TCP options block the way `tcp_parse_options` does and returns the SMC option the
/// kernel's verdict rests on, plus a summary. An SMC option is kind 254 whose first four data
/// bytes are the SMC magic. `smc_parse_options` runs for every kind-254 option and sets `smc_ok`
/// for any one it accepts (§1), so this returns the first option whose shape it accepts (even
/// length ≥ 6, [`SmcOption::kernel_accepts`]), else the first one with the magic.
pub fn find(options: &[u8]) -> (Option<SmcOption<'_>>, OptionsSummary) {
    use nom::bytes::complete::take;
    use nom::number::complete::u8 as byte;
    use nom::Parser;

    let mut summary = OptionsSummary::default();
    let mut rest = options;
    let mut found = None;
    while let Some(&kind) = rest.first() {
        let offset = options.len() - rest.len();
        match kind {
            0 => break,             // TCPOPT_EOL
            1 => rest = &rest[1..], // TCPOPT_NOP
            _ => {
                let parsed: nom::IResult<&[u8], (u8, u8)> = (byte, byte).parse(rest);
                let Ok((after, (_, len))) = parsed else {
                    summary.malformed_at = Some(offset);
                    break;
                };
                // "silly options" and partial options end the walk (tcp_parse_options)
                let body: nom::IResult<&[u8], &[u8]> =
                    take(usize::from(len).saturating_sub(2)).parse(after);
                let (next, data) = match body {
                    Ok(v) if len >= 2 => v,
                    _ => {
                        summary.malformed_at = Some(offset);
                        break;
                    }
                };
                if kind == KIND_EXP {
                    if data.len() >= 2 && data[..2] == FASTOPEN_MAGIC {
                        summary.fastopen = true;
                    } else if data.len() >= 4 && data[..4] == SMC_MAGIC {
                        let opt = SmcOption {
                            offset,
                            length: len,
                            data: &data[4..],
                        };
                        // smc_parse_options: any accepted kind-254 option sets smc_ok (§1); the
                        // SYN flag is the same for every option of the segment
                        if found.is_none_or(|f: SmcOption<'_>| {
                            !f.kernel_accepts(true) && opt.kernel_accepts(true)
                        }) {
                            found = Some(opt);
                        }
                    }
                }
                rest = next;
            }
        }
    }
    (found, summary)
}

/// Builds the 6-byte option Linux sends.
pub fn linux_option() -> SmcOption<'static> {
    SmcOption {
        offset: 0,
        length: field::BASE_LEN as u8,
        data: &[],
    }
}

/// Checks a standalone option slice (`kind, len, magic, data…`).
pub fn parse(opt: &[u8]) -> Result<SmcOption<'_>, Error> {
    if opt.len() < field::BASE_LEN {
        return Err(Error::Truncated {
            layer: Layer::TcpOption,
            need: field::BASE_LEN,
            have: opt.len(),
            at: 0,
        });
    }
    if opt[field::KIND] != KIND_EXP || opt[field::MAGIC] != SMC_MAGIC {
        return Err(Error::NotRecognised {
            layer: Layer::TcpOption,
        });
    }
    let len = usize::from(opt[field::LEN]);
    let data = opt.get(field::BASE_LEN..len).ok_or(Error::Truncated {
        layer: Layer::TcpOption,
        need: len,
        have: opt.len(),
        at: 0,
    })?;
    Ok(SmcOption {
        offset: 0,
        length: opt[field::LEN],
        data,
    })
}

#[cfg(test)]
mod test {
    use super::*;

    // A Linux 6.x SYN's options: MSS, SACK-perm, TS, NOP, WS, then NOP NOP + SMC (§1, §15).
    static SYN_OPTS: [u8; 28] = [
        0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x00, 0x01, 0x02, 0x03, 0x00, 0x00, 0x00,
        0x00, 0x01, 0x03, 0x03, 0x07, 0x01, 0x01, 0xfe, 0x06, 0xe2, 0xd4, 0xc3, 0xd9,
    ];

    #[test]
    fn finds_linux_option_last() {
        let (o, s) = find(&SYN_OPTS);
        let o = o.unwrap();
        assert_eq!(o.offset, 22);
        assert_eq!(o.length, 6);
        assert!(o.kernel_accepts(true));
        assert!(!o.kernel_accepts(false));
        assert_eq!(s, OptionsSummary::default());
    }

    #[test]
    fn emit_round_trip() {
        let mut b = [0u8; 6];
        linux_option().emit(&mut b).unwrap();
        assert_eq!(&b, &LINUX_OPTION[2..]);
        assert_eq!(parse(&b).unwrap().length, 6);
    }

    #[test]
    fn odd_length_is_found_but_not_accepted() {
        let opts = [0xfe, 0x07, 0xe2, 0xd4, 0xc3, 0xd9, 0x00];
        let o = find(&opts).0.unwrap();
        assert!(!o.kernel_accepts(true));
    }

    #[test]
    fn any_accepted_option_counts_like_smc_parse_options() {
        // an odd-length SMC option, then the 6-byte option Linux writes (§1): smc_parse_options
        // ignores the first and sets smc_ok for the second
        let mut opts = vec![0xfe, 0x07, 0xe2, 0xd4, 0xc3, 0xd9, 0x00];
        opts.extend_from_slice(&LINUX_OPTION);
        let o = find(&opts).0.unwrap();
        assert_eq!(o.offset, 9);
        assert_eq!(o.length, 6);
        assert!(o.kernel_accepts(true));
        // the other way round the first one is already accepted and stays the one reported
        let mut opts = LINUX_OPTION.to_vec();
        opts.extend_from_slice(&[0xfe, 0x07, 0xe2, 0xd4, 0xc3, 0xd9, 0x00]);
        let o = find(&opts).0.unwrap();
        assert_eq!((o.offset, o.length), (2, 6));
        // two rejected ones: the first is reported, and it is rejected
        let opts = [
            0xfe, 0x07, 0xe2, 0xd4, 0xc3, 0xd9, 0x00, 0xfe, 0x09, 0xe2, 0xd4, 0xc3, 0xd9, 0, 0, 0,
        ];
        let o = find(&opts).0.unwrap();
        assert_eq!((o.offset, o.length), (0, 7));
        assert!(!o.kernel_accepts(true));
    }

    #[test]
    fn malformed_stops_walk() {
        let (o, s) = find(&[0x02, 0x01, 0xfe, 0x06, 0xe2, 0xd4, 0xc3, 0xd9]);
        assert!(o.is_none());
        assert_eq!(s.malformed_at, Some(0));
        let (o, s) = find(&[0xfe, 0x06, 0xe2, 0xd4]);
        assert!(o.is_none());
        assert_eq!(s.malformed_at, Some(0));
        let (_, s) = find(&[0xfe, 0x04, 0xf9, 0x89]);
        assert!(s.fastopen);
    }
}
