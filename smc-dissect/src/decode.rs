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

/// Parses hex leniently: whitespace, `:`, `-`, `0x` prefixes and `xxd`/`hexdump`-style offset
/// columns ("0000:" or "0000  ") are ignored.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, DecodeError> {
    let mut digits = String::new();
    for line in text.lines() {
        let mut l = line.trim();
        // an offset column: a hex number followed by ':' or two spaces
        if let Some((head, rest)) = l
            .split_once(':')
            .filter(|(h, _)| h.len() >= 4 && h.chars().all(|c| c.is_ascii_hexdigit()))
        {
            let _ = head;
            l = rest;
        } else if let Some((head, rest)) = l.split_once("  ") {
            if head.len() == 4 && head.chars().all(|c| c.is_ascii_hexdigit()) {
                l = rest;
            }
        }
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
        Ok(_) if class.is_accepted() => s.push_str("kernel receive checks: pass\n"),
        Ok(_) => s.push_str("kernel receive checks: FAIL — dropped by the receive demultiplexer\n"),
        Err(e) => s.push_str(&format!("kernel receive checks: FAIL — {e}\n")),
    }
    DecodeOutput { text: s, malformed }
}
