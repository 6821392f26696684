//! `smcdump decode`: one raw message given as hex, e.g. copied from a kernel log, tshark or
//! another tool's dump. CLC messages are recognised by their eyecatcher.

use std::fmt;

use smc_wire::{ClcRepr, Mode};

use crate::output::text;

/// What `decode_hex` produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeOutput {
    /// The rendering (field tree or JSON), newline-terminated.
    pub text: String,
    /// True when the message is malformed (a kernel check fails, or it does not decode).
    pub malformed: bool,
}

/// Why the input could not be decoded at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Not hex.
    BadHex(String),
    /// Nothing recognisable.
    Unrecognised(String),
    /// Could not read the argument's file or stdin.
    Read(String),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::BadHex(s) => write!(f, "not hex: {s}"),
            DecodeError::Unrecognised(s) => write!(f, "{s}"),
            DecodeError::Read(s) => write!(f, "{s}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Resolves the `decode` argument: hex text, `-` (stdin) or `@FILE`.
pub fn read_hex_arg(arg: &str) -> Result<String, DecodeError> {
    if arg == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| DecodeError::Read(format!("reading stdin: {e}")))?;
        Ok(s)
    } else if let Some(path) = arg.strip_prefix('@') {
        std::fs::read_to_string(path).map_err(|e| DecodeError::Read(format!("{path}: {e}")))
    } else {
        Ok(arg.to_string())
    }
}

/// Parses hex leniently: whitespace, `:`, `-`, `,` and `0x` prefixes are ignored, and so are
/// the offset column and the trailing ASCII column of a hex dump — `xxd`, `hexdump -C`, and the
/// kernel's `print_hex_dump` (with or without a log prefix before its offset). An ASCII column
/// made only of hex digits cannot be told from data unless the line has an offset column.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, DecodeError> {
    let mut digits = String::new();
    for line in text.lines() {
        let (l, had_offset) = strip_offset(line.trim(), digits.len() / 2);
        let l = strip_ascii(l, had_offset);
        let l = l.replace("0x", "").replace("0X", "");
        for c in l.chars() {
            if c.is_ascii_hexdigit() {
                digits.push(c);
            } else if c.is_whitespace() || c == ':' || c == '-' || c == ',' {
                continue;
            } else {
                return Err(DecodeError::BadHex(format!("unexpected character {c:?}")));
            }
        }
    }
    if digits.len() % 2 != 0 {
        return Err(DecodeError::BadHex(format!(
            "odd number of hex digits ({})",
            digits.len()
        )));
    }
    (0..digits.len() / 2)
        .map(|i| {
            u8::from_str_radix(&digits[2 * i..2 * i + 2], 16)
                .map_err(|e| DecodeError::BadHex(e.to_string()))
        })
        .collect()
}

fn all_hex(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_hexdigit())
}

/// Removes a dump's offset column; says whether there was one. An offset is at least 4 hex
/// digits followed by `:` (`xxd`; `print_hex_dump`'s `%.8x: `, after any log prefix), or
/// followed by two spaces (`hexdump -C`) when it is 4 digits long or equals `count`, the
/// bytes read so far; `hexdump -C` ends with a line holding only the total, 8 digits.
fn strip_offset(l: &str, count: usize) -> (&str, bool) {
    let mut from = 0;
    while let Some(i) = l[from..].find(':').map(|i| from + i) {
        let token = l[..i].rsplit(char::is_whitespace).next().unwrap_or("");
        if token.len() >= 4 && all_hex(token) {
            return (&l[i + 1..], true);
        }
        from = i + 1;
    }
    let end = l.find(char::is_whitespace).unwrap_or(l.len());
    let head = &l[..end];
    let is_count = all_hex(head) && usize::from_str_radix(head, 16).ok() == Some(count);
    if end == l.len() && head.len() == 8 && is_count {
        return ("", true);
    }
    if l[end..].starts_with("  ") && all_hex(head) && (head.len() == 4 || is_count) {
        return (&l[end..], true);
    }
    (l, false)
}

/// Removes a dump's ASCII column: between `|` (`hexdump -C`), or after a run of two or more
/// spaces (`xxd`, `print_hex_dump`). It has one character per byte of the line, so it is never
/// longer than the bytes before it; without an offset column it must also hold a character that
/// is not a hex digit, so that data written with double spaces is kept.
fn strip_ascii(l: &str, had_offset: bool) -> &str {
    let l = l.trim_end();
    if let (Some(i), true) = (l.find('|'), l.ends_with('|')) {
        return &l[..i];
    }
    let b = l.as_bytes();
    let mut hex_digits = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] != b' ' {
            hex_digits += usize::from(b[i].is_ascii_hexdigit());
            i += 1;
            continue;
        }
        let run_end = b[i..]
            .iter()
            .position(|&c| c != b' ')
            .map_or(b.len(), |n| i + n);
        if run_end - i >= 2 && run_end < b.len() {
            let rest = &l[run_end..];
            let only_hex = rest
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c.is_whitespace());
            if rest.chars().count() <= hex_digits / 2 && (had_offset || !only_hex) {
                return &l[..i];
            }
        }
        i = run_end;
    }
    l
}

/// Decodes one message: a field tree (or JSON) with the kernel checks' verdict.
pub fn decode_hex(text: &str, json: bool) -> Result<DecodeOutput, DecodeError> {
    let bytes = parse_hex(text)?;
    if bytes.len() >= 4 && smc_wire::Eyecatcher::could_start(&bytes) {
        return Ok(decode_clc(&bytes, json));
    }
    // an LLC or CDC message, as the RoCE SEND payload carries it (reference §7.1, §8)
    if let Some(&t) = bytes.first() {
        if smc_wire::LlcType(t).is_cdc() || smc_wire::LlcType(t).has_llc_layout() {
            return Ok(decode_roce_payload(&bytes, json));
        }
    }
    Err(DecodeError::Unrecognised(format!(
        "{} bytes that are neither a CLC message (eyecatcher e2d4c3d9/e2d4c3c4) nor an LLC/CDC message \
         (type byte 0x01–0x09, 0x21–0x29 or 0xfe)",
        bytes.len()
    )))
}

fn decode_clc(bytes: &[u8], json: bool) -> DecodeOutput {
    let strict = ClcRepr::parse(bytes, Mode::Strict);
    let lenient = ClcRepr::parse(bytes, Mode::Lenient);
    let malformed = strict.is_err();
    if json {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            length: usize,
            kernel_accepts: bool,
            #[serde(skip_serializing_if = "Option::is_none")]
            rejected_by: Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            decoded: Option<&'a ClcRepr>,
            anomalies: Vec<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            error: Option<String>,
        }
        let out = Out {
            length: bytes.len(),
            kernel_accepts: !malformed,
            rejected_by: strict.as_ref().err().map(|e| e.to_string()),
            decoded: lenient.as_ref().ok().map(|d| &d.repr),
            anomalies: lenient
                .as_ref()
                .map(|d| d.anomalies.iter().map(|a| a.to_string()).collect())
                .unwrap_or_default(),
            error: lenient.as_ref().err().map(|e| e.to_string()),
        };
        let text = serde_json::to_string_pretty(&out).unwrap_or_default() + "\n";
        return DecodeOutput { text, malformed };
    }
    let mut s = String::new();
    match &lenient {
        Ok(d) => {
            s.push_str(&format!("CLC {}\n", text::clc_brief(&d.repr)));
            s.push_str(&crate::output::verbose::tree(&d.repr));
            for a in d.anomalies.iter() {
                s.push_str(&format!("  anomaly: {a}\n"));
            }
        }
        Err(e) => s.push_str(&format!("not decodable: {e}\n")),
    }
    match &strict {
        Ok(_) => s.push_str("kernel receive checks: pass\n"),
        Err(e) => s.push_str(&format!("kernel receive checks: FAIL — {e}\n")),
    }
    DecodeOutput { text: s, malformed }
}

/// An LLC or CDC message: the kernel's receive classification, then the field tree or JSON.
fn decode_roce_payload(bytes: &[u8], json: bool) -> DecodeOutput {
    use smc_wire::roce::{SendClass, SmcSend};
    let class = SendClass::of(bytes);
    let strict = SmcSend::parse(bytes, Mode::Strict);
    let lenient = SmcSend::parse(bytes, Mode::Lenient);
    let malformed = strict.is_err() || !class.is_accepted();
    let (value, anomalies): (serde_json::Value, Vec<String>) = match &lenient {
        Ok(SmcSend::Llc(d)) => (
            serde_json::to_value(d.repr).unwrap_or_default(),
            d.anomalies.iter().map(|a| a.to_string()).collect(),
        ),
        Ok(SmcSend::Cdc(d)) => (
            serde_json::to_value(d.repr).unwrap_or_default(),
            d.anomalies.iter().map(|a| a.to_string()).collect(),
        ),
        Err(e) => (serde_json::Value::Null, vec![e.to_string()]),
    };
    let kind = if bytes.first() == Some(&0xfe) {
        "CDC"
    } else {
        "LLC"
    };
    if json {
        let out = serde_json::json!({
            "length": bytes.len(),
            "kind": kind,
            "receive_class": class,
            "kernel_accepts": !malformed,
            "rejected_by": strict.as_ref().err().map(|e| e.to_string()),
            "decoded": value,
            "anomalies": anomalies,
        });
        return DecodeOutput {
            text: serde_json::to_string_pretty(&out).unwrap_or_default() + "\n",
            malformed,
        };
    }
    let mut s = format!(
        "{kind} message, {} bytes; receive path: {class:?}\n",
        bytes.len()
    );
    crate::output::verbose::json_tree(&mut s, &value, 1);
    for a in &anomalies {
        s.push_str(&format!("  anomaly: {a}\n"));
    }
    match &strict {
        _ if matches!(class, SendClass::LlcV2OrderDependent { .. }) => s.push_str(
            "kernel receive checks: depend on the receiver's byte order (length_v2 < 44 in one \
             order only)\n",
        ),
        Ok(_) if class.is_accepted() => s.push_str("kernel receive checks: pass\n"),
        Ok(_) => s.push_str("kernel receive checks: FAIL — dropped by the receive demultiplexer\n"),
        Err(e) => s.push_str(&format!("kernel receive checks: FAIL — {e}\n")),
    }
    DecodeOutput { text: s, malformed }
}

#[cfg(test)]
mod test {
    use super::*;

    /// The server's 160-byte SMC-Rv2 first-contact Accept, frame 34 of
    /// `captures/lab/deb-6.12.117+deb12-amd64/deb-smcr.pcap`.
    const ACCEPT: &str = "e2d4c3d90200a0283a6452540000500100000000000000000000ffffc0a832015254000050010000110000033501000000012300ff3ea7eb82a300000043dc9d534d432d4c41422d554549442020202020202020202020202020202020202020000000000000000080210000286e6f6e65292020202020202020202020202020202020202020202020202020ff020001000000000000000000000000e2d4c3d9";

    /// `xxd` (vim 9) of those bytes, verbatim, trailing blanks of the ASCII column included.
    const XXD: &str = concat!(
        "00000000: e2d4 c3d9 0200 a028 3a64 5254 0000 5001  .......(:dRT..P.\n",
        "00000010: 0000 0000 0000 0000 0000 ffff c0a8 3201  ..............2.\n",
        "00000020: 5254 0000 5001 0000 1100 0003 3501 0000  RT..P.......5...\n",
        "00000030: 0001 2300 ff3e a7eb 82a3 0000 0043 dc9d  ..#..>.......C..\n",
        "00000040: 534d 432d 4c41 422d 5545 4944 2020 2020  SMC-LAB-UEID    \n",
        "00000050: 2020 2020 2020 2020 2020 2020 2020 2020                  \n",
        "00000060: 0000 0000 0000 0000 8021 0000 286e 6f6e  .........!..(non\n",
        "00000070: 6529 2020 2020 2020 2020 2020 2020 2020  e)              \n",
        "00000080: 2020 2020 2020 2020 2020 2020 ff02 0001              ....\n",
        "00000090: 0000 0000 0000 0000 0000 0000 e2d4 c3d9  ................\n",
    );

    /// `hexdump -C` (util-linux) of the same bytes, verbatim.
    const HEXDUMP_C: &str = concat!(
        "00000000  e2 d4 c3 d9 02 00 a0 28  3a 64 52 54 00 00 50 01  |.......(:dRT..P.|\n",
        "00000010  00 00 00 00 00 00 00 00  00 00 ff ff c0 a8 32 01  |..............2.|\n",
        "00000020  52 54 00 00 50 01 00 00  11 00 00 03 35 01 00 00  |RT..P.......5...|\n",
        "00000030  00 01 23 00 ff 3e a7 eb  82 a3 00 00 00 43 dc 9d  |..#..>.......C..|\n",
        "00000040  53 4d 43 2d 4c 41 42 2d  55 45 49 44 20 20 20 20  |SMC-LAB-UEID    |\n",
        "00000050  20 20 20 20 20 20 20 20  20 20 20 20 20 20 20 20  |                |\n",
        "00000060  00 00 00 00 00 00 00 00  80 21 00 00 28 6e 6f 6e  |.........!..(non|\n",
        "00000070  65 29 20 20 20 20 20 20  20 20 20 20 20 20 20 20  |e)              |\n",
        "00000080  20 20 20 20 20 20 20 20  20 20 20 20 ff 02 00 01  |            ....|\n",
        "00000090  00 00 00 00 00 00 00 00  00 00 00 00 e2 d4 c3 d9  |................|\n",
        "000000a0\n",
    );

    /// The layout `print_hex_dump(KERN_DEBUG, "smc: ", DUMP_PREFIX_OFFSET, 16, 1, buf, len,
    /// true)` gives in `dmesg` (lib/hexdump.c: `%.8x: `, hex, blanks up to column 49, ASCII).
    const PRINT_HEX_DUMP: &str = concat!(
        "[  812.004211] smc: 00000000: e2 d4 c3 d9 02 00 a0 28 3a 64 52 54 00 00 50 01  .......(:dRT..P.\n",
        "[  812.004211] smc: 00000010: 00 00 00 00 00 00 00 00 00 00 ff ff c0 a8 32 01  ..............2.\n",
        "[  812.004211] smc: 00000020: 52 54 00 00 50 01 00 00 11 00 00 03 35 01 00 00  RT..P.......5...\n",
        "[  812.004211] smc: 00000030: 00 01 23 00 ff 3e a7 eb 82 a3 00 00 00 43 dc 9d  ..#..>.......C..\n",
        "[  812.004211] smc: 00000040: 53 4d 43 2d 4c 41 42 2d 55 45 49 44 20 20 20 20  SMC-LAB-UEID    \n",
        "[  812.004211] smc: 00000050: 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20                  \n",
        "[  812.004211] smc: 00000060: 00 00 00 00 00 00 00 00 80 21 00 00 28 6e 6f 6e  .........!..(non\n",
        "[  812.004211] smc: 00000070: 65 29 20 20 20 20 20 20 20 20 20 20 20 20 20 20  e)              \n",
        "[  812.004211] smc: 00000080: 20 20 20 20 20 20 20 20 20 20 20 20 ff 02 00 01              ....\n",
        "[  812.004211] smc: 00000090: 00 00 00 00 00 00 00 00 00 00 00 00 e2 d4 c3 d9  ................\n",
    );

    fn bytes() -> Vec<u8> {
        parse_hex(ACCEPT).unwrap()
    }

    #[test]
    fn dumps_with_ascii_columns_parse_to_the_message() {
        assert_eq!(bytes().len(), 160);
        for (name, dump) in [
            ("xxd", XXD),
            ("hexdump -C", HEXDUMP_C),
            ("print_hex_dump", PRINT_HEX_DUMP),
        ] {
            assert_eq!(parse_hex(dump).as_deref(), Ok(&bytes()[..]), "{name}");
            let out = decode_hex(dump, false).unwrap();
            assert!(!out.malformed, "{name}: {}", out.text);
            assert!(
                out.text.starts_with("CLC Accept v2 SMC-R first-contact"),
                "{name}: {}",
                out.text
            );
            assert!(out.text.contains("kernel receive checks: pass"), "{name}");
        }
    }

    #[test]
    fn order_dependent_llc_says_so() {
        // the real x86 CONFIRM LINK v2 of deb-smcr frame 38 with length_v2 10 00: 16 to an x86
        // receiver (dropped), 4096 to s390 (accepted), and 44 bytes long, so neither is the
        // layout's length (§8.1, §9.3)
        let real = "212c000352540000500100000000000000000000ffffc0a83201000011010000010102ff0000000000000000";
        assert!(decode_hex(real, false)
            .unwrap()
            .text
            .contains("kernel receive checks: pass"));
        let out = decode_hex(&real.replacen("212c00", "211000", 1), false).unwrap();
        assert!(
            out.text.starts_with(
                "LLC message, 44 bytes; receive path: LlcV2OrderDependent { llc_type: \
             CONFIRM_LINK_V2(0x21), little: 16, big: 4096 }"
            ),
            "{}",
            out.text
        );
        assert!(out
            .text
            .contains("kernel receive checks: depend on the receiver's byte order"));
        assert!(out.malformed, "an x86 receiver drops it");
    }

    #[test]
    fn double_spaced_plain_hex_is_not_an_ascii_column() {
        // no offset column and an all-hex remainder: data, not ASCII (one char per byte would
        // allow it here: 8 bytes before, 8 characters after)
        assert_eq!(
            parse_hex("e2d4c3d9 02000a0b  0c0d0e0f").unwrap(),
            [0xe2, 0xd4, 0xc3, 0xd9, 2, 0, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f]
        );
        // the offset forms that were already accepted still are
        assert_eq!(
            parse_hex("0000: e2 d4\n0002  c3 d9").unwrap(),
            [0xe2, 0xd4, 0xc3, 0xd9]
        );
    }
}
