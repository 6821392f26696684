//! The live-capture kernel filter, judged without privileges: every frame of the real-kernel lab
//! captures goes through the program (interpreted as the kernel would run it), and the pipeline
//! over what it keeps must give the same verdicts as over the whole capture. `tests/live.rs`
//! does the same through a real kernel and veth pair.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use smc_dissect::output::{JsonSink, Output};
use smc_dissect::source::filter::{self, Aux, FilterSpec, LinkLayer};
use smc_dissect::source::{Frame, LinkType, PcapSource, Progress, Source, SourceNotice, Timestamp};
use smc_dissect::{Config, DissectError};

/// Frames held in memory.
struct Frames {
    names: Vec<String>,
    frames: Vec<(u64, Timestamp, LinkType, Vec<u8>)>,
    next: usize,
}

impl Source for Frames {
    fn next_frame(&mut self) -> Result<Option<Frame<'_>>, DissectError> {
        let Some((number, ts, link, data)) = self.frames.get(self.next) else {
            return Ok(None);
        };
        self.next += 1;
        Ok(Some(Frame {
            input: 0,
            number: *number,
            ts: *ts,
            link_type: *link,
            caplen: data.len() as u32,
            origlen: data.len() as u32,
            data,
        }))
    }
    fn take_notices(&mut self) -> Vec<SourceNotice> {
        Vec::new()
    }
    fn progress(&self) -> Progress {
        Progress::default()
    }
    fn input_names(&self) -> &[String] {
        &self.names
    }
}

fn load(files: &[PathBuf], keep: impl Fn(&[u8]) -> bool) -> Frames {
    let mut src = PcapSource::open(files).unwrap();
    let mut frames = Vec::new();
    let mut n = 0;
    while let Some(f) = src.next_frame().unwrap() {
        assert_eq!(f.link_type, LinkType::ETHERNET);
        if keep(f.data) {
            n += 1;
            frames.push((n, f.ts, f.link_type, f.data.to_vec()));
        }
    }
    Frames {
        names: vec!["mem".into()],
        frames,
        next: 0,
    }
}

/// Verdicts (JSON, without frame numbers, times and connection ids) with their counts.
fn verdicts(src: &mut Frames) -> BTreeMap<String, usize> {
    let mut out = Output::Json(JsonSink::new(Vec::new()));
    smc_dissect::run(src, &Config::default(), &mut out, |_, _| {}).unwrap();
    let Output::Json(s) = out else { unreachable!() };
    let text = String::from_utf8(s.into_inner()).unwrap();
    let mut m = BTreeMap::new();
    for l in text.lines() {
        let v: Value = serde_json::from_str(l).unwrap();
        if v["type"] != "verdict" {
            continue;
        }
        let mut d = v["data"].clone();
        let o = d.as_object_mut().unwrap();
        for k in ["input", "frame", "time", "frames", "anomalies"] {
            o.remove(k);
        }
        o.get_mut("conn")
            .unwrap()
            .as_object_mut()
            .unwrap()
            .remove("id");
        *m.entry(d.to_string()).or_insert(0) += 1;
    }
    m
}

fn lab() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../captures/lab");
    let mut out = Vec::new();
    for d in std::fs::read_dir(root).unwrap() {
        for f in std::fs::read_dir(d.unwrap().path()).unwrap() {
            let p = f.unwrap().path();
            if p.extension().is_some_and(|e| e == "pcap") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn smc_filter() -> impl Fn(&[u8]) -> bool {
    let prog = filter::program(&FilterSpec {
        link: LinkLayer::Ethernet,
        smc_only: true,
        loopback: None,
        snaplen: 262_144,
    })
    .unwrap();
    move |data: &[u8]| filter::run(&prog, data, &Aux::default()) > 0
}

#[test]
fn the_filter_keeps_every_verdict_of_the_lab_captures() {
    let keep = smc_filter();
    for f in lab() {
        let files = [f.clone()];
        let mut all = load(&files, |_| true);
        let mut kept = load(&files, &keep);
        assert!(
            kept.frames.len() < all.frames.len(),
            "{}: nothing filtered",
            f.display()
        );
        let (a, k) = (verdicts(&mut all), verdicts(&mut kept));
        assert!(!a.is_empty(), "{}", f.display());
        assert_eq!(a, k, "{}", f.display());
    }
}

#[test]
fn what_the_filter_loses_is_what_help_says() {
    let keep = smc_filter();
    // a CLC message split over TCP segments (hwipl's split capture): its continuation is dropped
    let split = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../captures/shared/smcr-v1-lo-clc-hwipl-split.pcap");
    let mut all = load(std::slice::from_ref(&split), |_| true);
    let mut kept = load(std::slice::from_ref(&split), &keep);
    let (a, k) = (verdicts(&mut all), verdicts(&mut kept));
    assert!(a.keys().all(|v| v.contains("\"verdict\":\"smc\"")), "{a:?}");
    assert!(
        k.keys().all(|v| v.contains("\"verdict\":\"incomplete\"")),
        "{k:?}"
    );
}
