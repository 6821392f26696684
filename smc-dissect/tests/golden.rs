//! Golden tests: every capture under captures/ has its smcdump text and JSON output checked in
//! next to it (`<name>.smcdump.txt`, `<name>.smcdump.json`, gzip-compressed as `….gz` when large).
//! The expected files were reviewed by hand against the protocol reference when they were made
//! (each commit that adds or changes one says what was checked); `tests/verdicts.rs` holds the
//! hand-written verdict expectations that do not depend on these files.
//!
//! `SMC_BLESS=1 cargo test -p smc-dissect --test golden` rewrites the files — a change to them must
//! be reviewed like code.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use smc_dissect::output::{JsonSink, Output, TextSink};
use smc_dissect::source::PcapSource;
use smc_dissect::Config;

/// Files larger than this are stored gzip-compressed.
const GZIP_ABOVE: usize = 100 * 1024;

fn captures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../captures")
}

fn pcaps(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            pcaps(&p, out);
        } else if let Some(name) = p.file_name().and_then(|n| n.to_str()) {
            if name.ends_with(".pcap") || name.ends_with(".pcapng") || name.ends_with(".pcap.gz") {
                out.push(p);
            }
        }
    }
}

/// Runs smcdump's pipeline over one capture into a text and a JSON buffer.
pub fn outputs(pcap: &Path) -> (String, String) {
    let cfg = Config {
        inputs: vec![pcap.to_path_buf()],
        ..Config::default()
    };
    let mut text = Output::Text(TextSink::new(Vec::new()));
    let mut src = PcapSource::open(&cfg.inputs).unwrap();
    smc_dissect::run(&mut src, &cfg, &mut text, |_, _| {}).unwrap();
    let mut json = Output::Json(JsonSink::new(Vec::new()));
    let mut src = PcapSource::open(&cfg.inputs).unwrap();
    smc_dissect::run(&mut src, &cfg, &mut json, |_, _| {}).unwrap();
    let take = |o: Output<Vec<u8>>| match o {
        Output::Text(s) => s.into_inner(),
        Output::Json(s) => s.into_inner(),
        _ => unreachable!(),
    };
    (
        String::from_utf8(take(text)).unwrap(),
        String::from_utf8(take(json)).unwrap(),
    )
}

fn golden_path(pcap: &Path, ext: &str) -> PathBuf {
    let name = pcap.file_name().unwrap().to_str().unwrap();
    let stem = name
        .trim_end_matches(".gz")
        .trim_end_matches(".pcapng")
        .trim_end_matches(".pcap");
    pcap.with_file_name(format!("{stem}.smcdump.{ext}"))
}

fn read_golden(plain: &Path) -> Option<String> {
    if let Ok(s) = std::fs::read_to_string(plain) {
        return Some(s);
    }
    let gz = PathBuf::from(format!("{}.gz", plain.display()));
    let f = std::fs::File::open(gz).ok()?;
    let mut s = String::new();
    flate2::read::GzDecoder::new(f)
        .read_to_string(&mut s)
        .ok()?;
    Some(s)
}

fn write_golden(plain: &Path, content: &str) {
    let gz = PathBuf::from(format!("{}.gz", plain.display()));
    let _ = std::fs::remove_file(plain);
    let _ = std::fs::remove_file(&gz);
    if content.len() > GZIP_ABOVE {
        let f = std::fs::File::create(gz).unwrap();
        let mut e = flate2::write::GzEncoder::new(f, flate2::Compression::best());
        e.write_all(content.as_bytes()).unwrap();
        e.finish().unwrap();
    } else {
        std::fs::write(plain, content).unwrap();
    }
}

/// The first differing line, for a readable failure.
fn first_difference(expected: &str, actual: &str) -> String {
    for (i, (e, a)) in expected.lines().zip(actual.lines()).enumerate() {
        if e != a {
            return format!("line {}:\n  expected: {e}\n  actual:   {a}", i + 1);
        }
    }
    format!(
        "line counts differ: expected {}, actual {}",
        expected.lines().count(),
        actual.lines().count()
    )
}

#[test]
fn every_capture_matches_its_golden_output() {
    let mut all = Vec::new();
    pcaps(&captures_dir(), &mut all);
    assert!(
        all.len() >= 5,
        "no captures found under {}",
        captures_dir().display()
    );
    let bless = std::env::var_os("SMC_BLESS").is_some();
    let mut failures = Vec::new();
    for pcap in &all {
        let (text, json) = outputs(pcap);
        for (ext, actual) in [("txt", &text), ("json", &json)] {
            let path = golden_path(pcap, ext);
            if bless {
                write_golden(&path, actual);
                continue;
            }
            match read_golden(&path) {
                None => failures.push(format!(
                    "{}: no golden file {}",
                    pcap.display(),
                    path.display()
                )),
                Some(expected) if expected != *actual => failures.push(format!(
                    "{}: {}",
                    path.display(),
                    first_difference(&expected, actual)
                )),
                Some(_) => {}
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} golden mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
