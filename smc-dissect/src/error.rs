//! Fatal input problems: the only errors smc-dissect returns as `Err` (style §6.4).
//!
//! Everything wrong with a single packet — a truncated frame, an unknown link type, a malformed
//! header, a bad CLC message — is data (a [`crate::decap::Decapped`] variant, a notice, an
//! anomaly), never an `Err`. A `DissectError` means an input file as a whole cannot be read on:
//! it cannot be opened or read, it is not a capture, or its framing is broken beyond what the
//! reader can skip. Each variant names the file, so the binary prints one line and exits.

use std::fmt;

/// A problem with an input file that stops reading it.
#[derive(Debug)]
pub enum DissectError {
    /// Opening or reading the file failed.
    Io {
        /// The input as named on the command line (`<stdin>` for `-`).
        path: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file starts with neither a pcap nor a pcapng (nor a gzip) magic number.
    UnknownFormat {
        /// The input as named on the command line.
        path: String,
        /// The first four bytes of the (decompressed) file.
        magic: [u8; 4],
    },
    /// The file is shorter than any capture header (fewer than four bytes, e.g. empty).
    TooShort {
        /// The input as named on the command line.
        path: String,
        /// How many bytes it holds.
        len: usize,
    },
    /// The capture framing is corrupt (a block whose lengths disagree, a bad section header).
    Pcap {
        /// The input as named on the command line.
        path: String,
        /// Byte offset of the offending record in the (decompressed) file.
        offset: u64,
        /// What is wrong, in words.
        message: String,
    },
    /// One record or block is larger than the reader's buffer cap: almost always a corrupt length.
    BlockTooLarge {
        /// The input as named on the command line.
        path: String,
        /// Byte offset of the record in the (decompressed) file.
        offset: u64,
        /// The size the record declares, in bytes.
        size: u64,
    },
    /// A live capture could not be opened or read (no privilege, no such interface, …).
    Capture {
        /// The interface as named on the command line.
        interface: String,
        /// The whole one-line message, naming the interface.
        message: String,
    },
}

impl DissectError {
    /// The input this error is about.
    pub fn path(&self) -> &str {
        match self {
            DissectError::Io { path, .. }
            | DissectError::UnknownFormat { path, .. }
            | DissectError::TooShort { path, .. }
            | DissectError::Pcap { path, .. }
            | DissectError::BlockTooLarge { path, .. } => path,
            DissectError::Capture { interface, .. } => interface,
        }
    }
}

/// Names a few formats people mistake for captures, so the message can say what the file is.
fn format_hint(magic: [u8; 4]) -> Option<&'static str> {
    match magic {
        // zstd frame magic 0xFD2FB528 little-endian (RFC 8878 §3.1.1)
        [0x28, 0xb5, 0x2f, 0xfd] => Some("zstd-compressed; decompress it first"),
        // xz stream header magic FD 37 7A 58 5A 00 (xz file format §2.1.1.1)
        [0xfd, 0x37, 0x7a, 0x58] => Some("xz-compressed; decompress it first"),
        // bzip2 stream header "BZh"
        [0x42, 0x5a, 0x68, _] => Some("bzip2-compressed; decompress it first"),
        // zip local file header "PK\x03\x04"
        [0x50, 0x4b, 0x03, 0x04] => Some("a zip archive; extract it first"),
        // snoop files begin with "snoop\0\0\0" (RFC 1761 §3)
        [0x73, 0x6e, 0x6f, 0x6f] => Some("a Solaris snoop file; convert it with editcap -F pcap"),
        _ if magic
            .iter()
            .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace()) =>
        {
            Some("looks like text, e.g. tcpdump or tshark output rather than a capture file")
        }
        _ => None,
    }
}

impl fmt::Display for DissectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DissectError::Io { path, source } => write!(f, "{path}: {source}"),
            DissectError::UnknownFormat { path, magic } => {
                write!(
                    f,
                    "{path}: not a pcap or pcapng file (starts with {:02x} {:02x} {:02x} {:02x})",
                    magic[0], magic[1], magic[2], magic[3]
                )?;
                if let Some(hint) = format_hint(*magic) {
                    write!(f, ": {hint}")?;
                }
                Ok(())
            }
            DissectError::TooShort { path, len: 0 } => {
                write!(f, "{path}: empty file, not a pcap or pcapng capture")
            }
            DissectError::TooShort { path, len } => {
                write!(
                    f,
                    "{path}: only {len} bytes, too short for a pcap or pcapng header"
                )
            }
            DissectError::Pcap {
                path,
                offset,
                message,
            } => {
                write!(f, "{path}: corrupt capture at byte {offset}: {message}")
            }
            DissectError::BlockTooLarge { path, offset, size } => write!(
                f,
                "{path}: record at byte {offset} declares {size} bytes, more than the reader \
                 accepts (corrupt length?)"
            ),
            DissectError::Capture { message, .. } => f.write_str(message),
        }
    }
}

impl std::error::Error for DissectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DissectError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn display_names_the_file_on_one_line() {
        let cases = [
            DissectError::Io {
                path: "a.pcap".into(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "No such file"),
            },
            DissectError::UnknownFormat {
                path: "a.pcap".into(),
                magic: [0xde, 0xad, 0xbe, 0xef],
            },
            DissectError::TooShort {
                path: "a.pcap".into(),
                len: 0,
            },
            DissectError::TooShort {
                path: "a.pcap".into(),
                len: 3,
            },
            DissectError::Pcap {
                path: "a.pcap".into(),
                offset: 24,
                message: "bad".into(),
            },
            DissectError::BlockTooLarge {
                path: "a.pcap".into(),
                offset: 24,
                size: 1 << 30,
            },
        ];
        for e in &cases {
            let s = e.to_string();
            assert!(s.starts_with("a.pcap: "), "{s}");
            assert!(!s.contains('\n'), "{s}");
            assert_eq!(e.path(), "a.pcap");
        }
        assert_eq!(
            cases[1].to_string(),
            "a.pcap: not a pcap or pcapng file (starts with de ad be ef)"
        );
        assert!(cases[2].to_string().contains("empty file"));
    }

    #[test]
    fn hints_for_common_mistakes() {
        let zstd = DissectError::UnknownFormat {
            path: "x".into(),
            magic: [0x28, 0xb5, 0x2f, 0xfd],
        };
        assert!(zstd.to_string().contains("zstd"));
        let text = DissectError::UnknownFormat {
            path: "x".into(),
            magic: *b"12:3",
        };
        assert!(text.to_string().contains("text"));
    }
}
