//! The input side end to end: capture files → `PcapSource` → `decap`.
//!
//! Expected values for `captures/shared/*.pcap` were read once with
//! `tshark -r FILE -T fields -e frame.time_epoch -e frame.cap_len` (tshark 4.0.17); the test does
//! not need tshark. The pcapng and big-endian pcap files are written by the small writer below,
//! field by field after draft-ietf-opsawg-pcapng / draft-ietf-opsawg-pcap (checked once with
//! tshark too: it reads them with the same frame numbers, link types and times — except that it
//! stops at the packet for an undeclared interface, which we skip with a notice).

use flate2::write::GzEncoder;
use flate2::Compression;
use smc_dissect::decap::{decap, Decapped, IpPacket, L4};
use smc_dissect::source::{Frame, LinkType, PcapSource, Progress, Source, SourceNotice, Timestamp};
use smc_dissect::DissectError;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

fn shared(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../captures/shared")
        .join(name)
}

fn tmp(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("smc-dissect-input");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// What a test keeps of a frame.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    input: u16,
    number: u64,
    ts: Timestamp,
    link: LinkType,
    caplen: u32,
    origlen: u32,
    data: Vec<u8>,
}

impl From<Frame<'_>> for Seen {
    fn from(f: Frame<'_>) -> Seen {
        assert_eq!(f.caplen as usize, f.data.len());
        Seen {
            input: f.input,
            number: f.number,
            ts: f.ts,
            link: f.link_type,
            caplen: f.caplen,
            origlen: f.origlen,
            data: f.data.to_vec(),
        }
    }
}

/// Every frame, the notices, and the error that ended the run, if any.
type Run = (Vec<Seen>, Vec<SourceNotice>, Option<DissectError>);

/// Reads every frame.
fn read_all(src: &mut dyn Source) -> Run {
    let mut frames = Vec::new();
    let mut notices = Vec::new();
    loop {
        match src.next_frame() {
            Ok(Some(f)) => frames.push(Seen::from(f)),
            Ok(None) => break,
            Err(e) => {
                notices.extend(src.take_notices());
                return (frames, notices, Some(e));
            }
        }
        notices.extend(src.take_notices());
    }
    notices.extend(src.take_notices());
    (frames, notices, None)
}

fn read_bytes(bytes: Vec<u8>) -> Result<Run, DissectError> {
    let mut src = PcapSource::from_reader("mem", Box::new(Cursor::new(bytes)))?;
    Ok(read_all(&mut src))
}

fn ts(secs: i64, nanos: u32) -> Timestamp {
    Timestamp { secs, nanos }
}

/// (file, frames, first frame time, last frame time, sum of caplen) from tshark.
const SHARED: [(&str, u64, Timestamp, Timestamp, u64); 5] = [
    (
        "smc-go-testvectors.pcap",
        80,
        Timestamp {
            secs: 1573999034,
            nanos: 499_000,
        },
        Timestamp {
            secs: 1573999034,
            nanos: 39_997_000,
        },
        6922,
    ),
    (
        "smcr-llc-rocev2-smcgo.pcap",
        7,
        Timestamp {
            secs: 1573999034,
            nanos: 499_000,
        },
        Timestamp {
            secs: 1573999034,
            nanos: 3_499_000,
        },
        714,
    ),
    (
        "smcr-v1-lo-clc-hwipl-edgecases.pcap",
        10,
        Timestamp {
            secs: 1573999034,
            nanos: 499_000,
        },
        Timestamp {
            secs: 1573999034,
            nanos: 4_999_000,
        },
        796,
    ),
    (
        "smcr-v1-lo-clc-hwipl-split.pcap",
        9,
        Timestamp {
            secs: 1573999034,
            nanos: 499_000,
        },
        Timestamp {
            secs: 1573999034,
            nanos: 4_499_000,
        },
        690,
    ),
    (
        "smcr-v1-lo-clc-hwipl.pcap",
        20,
        Timestamp {
            secs: 1573999034,
            nanos: 499_000,
        },
        Timestamp {
            secs: 1573999034,
            nanos: 9_999_000,
        },
        1793,
    ),
];

#[test]
fn shared_captures_frames_link_types_and_times() {
    for (name, count, first, last, bytes) in SHARED {
        let path = shared(name);
        let mut src = PcapSource::open(std::slice::from_ref(&path)).unwrap();
        let size = std::fs::metadata(&path).unwrap().len();
        assert_eq!(src.input_names(), &[path.display().to_string()]);
        assert_eq!(src.progress().bytes_total, Some(size));
        let (frames, notices, err) = read_all(&mut src);
        assert!(
            err.is_none() && notices.is_empty(),
            "{name}: {err:?} {notices:?}"
        );
        assert_eq!(frames.len() as u64, count, "{name}");
        assert_eq!(frames.first().unwrap().ts, first, "{name}");
        assert_eq!(frames.last().unwrap().ts, last, "{name}");
        assert_eq!(
            frames.iter().map(|f| u64::from(f.caplen)).sum::<u64>(),
            bytes,
            "{name}"
        );
        assert!(frames
            .iter()
            .all(|f| f.link == LinkType::ETHERNET && f.input == 0 && f.caplen == f.origlen));
        assert!(frames
            .iter()
            .enumerate()
            .all(|(i, f)| f.number == i as u64 + 1));
        assert!(frames.windows(2).all(|w| w[0].ts <= w[1].ts));
        assert_eq!(
            src.progress(),
            Progress {
                bytes_done: size,
                bytes_total: Some(size)
            }
        );
    }
}

#[test]
fn shared_captures_decap_to_tcp_and_rocev2() {
    let mut src = PcapSource::open(&[shared("smcr-v1-lo-clc-hwipl.pcap")]).unwrap();
    let (mut v4, mut v6, mut payload) = (0, 0, 0);
    while let Some(f) = src.next_frame().unwrap() {
        match decap(f.link_type, f.data) {
            Decapped::Ip(IpPacket {
                src,
                l4: L4::Tcp(seg),
                ..
            }) => {
                if src.is_ipv4() {
                    v4 += 1
                } else {
                    v6 += 1
                }
                assert!(seg.src_port == 50000 || seg.dst_port == 50000);
                assert_eq!(seg.payload_missing, 0);
                payload += seg.payload.len();
            }
            other => panic!("frame {}: {other:?}", f.number),
        }
    }
    // tshark: 10 IPv4 and 10 IPv6 frames; CLC payloads 52+68+68+28 and 69+68+68+28
    assert_eq!((v4, v6, payload), (10, 10, 216 + 233));

    let mut src = PcapSource::open(&[shared("smcr-llc-rocev2-smcgo.pcap")]).unwrap();
    let mut n = 0;
    while let Some(f) = src.next_frame().unwrap() {
        match decap(f.link_type, f.data) {
            Decapped::Ip(IpPacket {
                l4:
                    L4::Udp {
                        dst_port: 4791,
                        payload,
                        ..
                    },
                ..
            }) => assert!(payload.len() >= 12),
            other => panic!("frame {}: {other:?}", f.number),
        }
        n += 1;
    }
    assert_eq!(n, 7);
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn gzip_file_reads_like_the_plain_one() {
    let plain_path = shared("smcr-v1-lo-clc-hwipl.pcap");
    let plain = std::fs::read(&plain_path).unwrap();
    let gz = gzip(&plain);
    let gz_path = tmp("hwipl.pcap.gz");
    std::fs::write(&gz_path, &gz).unwrap();
    let expect = read_all(&mut PcapSource::open(&[plain_path]).unwrap()).0;
    let mut src = PcapSource::open(&[gz_path]).unwrap();
    let (frames, notices, err) = read_all(&mut src);
    assert!(err.is_none() && notices.is_empty());
    assert_eq!(frames, expect);
    // progress counts the compressed bytes read, against the compressed file size
    assert_eq!(
        src.progress(),
        Progress {
            bytes_done: gz.len() as u64,
            bytes_total: Some(gz.len() as u64)
        }
    );

    // two gzip members back to back (`cat a.gz b.gz`) decompress as one stream
    let (head, tail) = plain.split_at(1000);
    let mut two = gzip(head);
    two.extend(gzip(tail));
    assert_eq!(read_bytes(two).unwrap().0, expect);
}

#[test]
fn gzip_cut_short_is_a_truncated_file() {
    let plain = std::fs::read(shared("smcr-v1-lo-clc-hwipl.pcap")).unwrap();
    let gz = gzip(&plain);
    let (frames, notices, err) = read_bytes(gz[..gz.len() / 2].to_vec()).unwrap();
    assert!(err.is_none(), "{err:?}");
    assert!(!frames.is_empty() && frames.len() < 20);
    assert!(
        matches!(
            notices.as_slice(),
            [SourceNotice::TruncatedFile { input: 0, .. }]
        ),
        "{notices:?}"
    );
}

#[test]
fn several_files_one_after_another() {
    let a = shared("smcr-v1-lo-clc-hwipl-split.pcap");
    let b = shared("smcr-llc-rocev2-smcgo.pcap");
    let mut src = PcapSource::open(&[a.clone(), b.clone(), a.clone()]).unwrap();
    let total: u64 = [&a, &b, &a]
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert_eq!(src.progress().bytes_total, Some(total));
    assert_eq!(src.input_names().len(), 3);
    let (frames, notices, err) = read_all(&mut src);
    assert!(err.is_none() && notices.is_empty());
    assert_eq!(frames.len(), 9 + 7 + 9);
    let inputs: Vec<(u16, u64)> = frames.iter().map(|f| (f.input, f.number)).collect();
    assert_eq!(inputs[8], (0, 9));
    assert_eq!(inputs[9], (1, 1));
    assert_eq!(inputs[16], (2, 1));
    assert_eq!(src.progress().bytes_done, total);
}

#[test]
fn stdin_style_reader() {
    let bytes = std::fs::read(shared("smcr-v1-lo-clc-hwipl-edgecases.pcap")).unwrap();
    let mut src = PcapSource::from_reader("<stdin>", Box::new(Cursor::new(bytes.clone()))).unwrap();
    assert_eq!(src.input_names(), &["<stdin>".to_string()]);
    assert_eq!(src.progress().bytes_total, None);
    let (frames, _, err) = read_all(&mut src);
    assert!(err.is_none());
    assert_eq!(frames.len(), 10);
    assert_eq!(src.progress().bytes_done, bytes.len() as u64);
}

/// Offsets where each pcap record ends (the file header first).
fn record_ends(file: &[u8]) -> Vec<usize> {
    let mut ends = vec![24];
    let mut at = 24;
    while at + 16 <= file.len() {
        let caplen = u32::from_le_bytes(file[at + 8..at + 12].try_into().unwrap()) as usize;
        at += 16 + caplen;
        ends.push(at);
    }
    ends
}

#[test]
fn file_cut_every_97th_byte() {
    for name in ["smcr-v1-lo-clc-hwipl.pcap", "smc-go-testvectors.pcap"] {
        let file = std::fs::read(shared(name)).unwrap();
        let all = read_bytes(file.clone()).unwrap().0;
        let ends = record_ends(&file);
        for cut in (0..file.len()).step_by(97) {
            let result = read_bytes(file[..cut].to_vec());
            if cut < 4 {
                assert!(matches!(result, Err(DissectError::TooShort { len, .. }) if len == cut));
                continue;
            }
            let (frames, notices, err) = result.unwrap();
            assert!(err.is_none(), "{name} cut {cut}: {err:?}");
            // every record that ends before the cut is delivered intact
            let whole = ends.iter().skip(1).filter(|&&e| e <= cut).count();
            assert_eq!(frames, all[..whole], "{name} cut {cut}");
            if ends.contains(&cut) {
                assert!(notices.is_empty(), "{name} cut {cut} at a record boundary");
            } else {
                let offset = if cut < 24 {
                    0
                } else {
                    *ends.iter().rfind(|&&e| e <= cut).unwrap() as u64
                };
                assert_eq!(
                    notices,
                    vec![SourceNotice::TruncatedFile { input: 0, offset }],
                    "{name} cut {cut}"
                );
            }
        }
    }
}

#[test]
fn bad_magic_and_empty_and_missing_files() {
    let e = read_bytes(b"GET / HTTP/1.1\r\n".to_vec()).unwrap_err();
    assert!(matches!(&e, DissectError::UnknownFormat { magic, .. } if magic == b"GET "));
    assert!(
        e.to_string().starts_with("mem: not a pcap or pcapng file"),
        "{e}"
    );
    assert!(matches!(
        read_bytes(Vec::new()),
        Err(DissectError::TooShort { len: 0, .. })
    ));

    let missing = tmp("does-not-exist.pcap");
    let e = PcapSource::open(std::slice::from_ref(&missing))
        .err()
        .unwrap();
    assert!(matches!(&e, DissectError::Io { path, .. } if *path == missing.display().to_string()));
    // a bad later file fails at open, before any frame is read
    let bad = tmp("bad-magic.pcap");
    std::fs::write(&bad, [0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0]).unwrap();
    let e = PcapSource::open(&[shared("smcr-v1-lo-clc-hwipl.pcap"), bad.clone()])
        .err()
        .unwrap();
    assert!(
        matches!(&e, DissectError::UnknownFormat { path, magic: [0xde, 0xad, 0xbe, 0xef] } if *path == bad.display().to_string())
    );
    let dir = tmp("a-directory");
    std::fs::create_dir_all(&dir).unwrap();
    assert!(matches!(
        PcapSource::open(&[dir]),
        Err(DissectError::Io { .. })
    ));
    // gzip of something that is not a capture
    assert!(
        matches!(read_bytes(gzip(b"hello world")), Err(DissectError::UnknownFormat { magic, .. }) if &magic == b"hell")
    );
}

/// xorshift64, so the test needs no rand crate.
fn random_bytes(n: usize, mut x: u64) -> Vec<u8> {
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn random_bytes_never_panic() {
    // random from the first byte: not a capture
    for seed in 1..50 {
        let r = read_bytes(random_bytes(4096, seed));
        assert!(
            matches!(r, Err(DissectError::UnknownFormat { .. })),
            "{seed}"
        );
    }
    // random after a valid pcap or pcapng header: an error, a notice or garbage frames, never a panic
    let pcap_header = std::fs::read(shared("smcr-v1-lo-clc-hwipl.pcap")).unwrap()[..24].to_vec();
    let shb = pcapng_le_shb();
    for seed in 1..300 {
        for head in [&pcap_header, &shb] {
            let mut f = head.clone();
            f.extend(random_bytes((seed as usize * 37) % 5000, seed));
            let (frames, _, _) = read_bytes(f).unwrap();
            assert!(frames.len() < 5000);
        }
    }
}

#[test]
fn a_huge_record_length_is_block_too_large() {
    let mut f = std::fs::read(shared("smcr-v1-lo-clc-hwipl.pcap")).unwrap()[..24].to_vec();
    // record header: ts, caplen 0x7fffffff, origlen
    f.extend_from_slice(&[
        0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0x7f,
    ]);
    f.extend(vec![0u8; 2 << 20]);
    let (frames, _, err) = read_bytes(f).unwrap();
    assert!(frames.is_empty());
    assert!(
        matches!(err, Some(DissectError::BlockTooLarge { offset: 24, size, .. }) if size == 0x7fff_ffff + 16),
        "{err:?}"
    );
}

#[test]
fn an_error_abandons_one_input_and_the_next_goes_on() {
    let mut broken = std::fs::read(shared("smcr-v1-lo-clc-hwipl-split.pcap")).unwrap();
    let first_record_end = record_ends(&broken)[1];
    broken.truncate(first_record_end);
    broken.extend_from_slice(&[
        0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0x7f,
    ]);
    broken.extend(vec![0u8; 2 << 20]);
    let path = tmp("broken.pcap");
    std::fs::write(&path, &broken).unwrap();
    let mut src = PcapSource::open(&[path, shared("smcr-llc-rocev2-smcgo.pcap")]).unwrap();
    assert_eq!(src.next_frame().unwrap().unwrap().number, 1);
    assert!(matches!(
        src.next_frame(),
        Err(DissectError::BlockTooLarge { .. })
    ));
    let (frames, _, err) = read_all(&mut src);
    assert!(err.is_none());
    assert_eq!(frames.len(), 7);
    assert!(frames.iter().all(|f| f.input == 1));
}

// ---- a small pcap / pcapng writer, field by field ----

/// Byte order of a written file.
#[derive(Clone, Copy)]
enum Order {
    Le,
    Be,
}

impl Order {
    fn u16(self, v: u16) -> [u8; 2] {
        match self {
            Order::Le => v.to_le_bytes(),
            Order::Be => v.to_be_bytes(),
        }
    }
    fn u32(self, v: u32) -> [u8; 4] {
        match self {
            Order::Le => v.to_le_bytes(),
            Order::Be => v.to_be_bytes(),
        }
    }
}

/// A pcap file (draft-ietf-opsawg-pcap §4, §5): magic, version 2.4, thiszone, sigfigs, snaplen,
/// link type; then records of ts_sec, ts_frac, caplen, origlen, data.
fn pcap(order: Order, nanos: bool, link: u32, records: &[(u32, u32, u32, &[u8])]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend(order.u32(if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }));
    f.extend(order.u16(2));
    f.extend(order.u16(4));
    f.extend(order.u32(0)); // thiszone
    f.extend(order.u32(0)); // sigfigs
    f.extend(order.u32(262_144)); // snaplen
    f.extend(order.u32(link));
    for &(sec, frac, origlen, data) in records {
        f.extend(order.u32(sec));
        f.extend(order.u32(frac));
        f.extend(order.u32(data.len() as u32));
        f.extend(order.u32(origlen));
        f.extend_from_slice(data);
    }
    f
}

/// A pcapng block (§3.1): type, total length, body padded to 32 bits, total length.
fn block(order: Order, block_type: u32, body: &[u8]) -> Vec<u8> {
    let mut padded = body.to_vec();
    padded.resize(body.len().div_ceil(4) * 4, 0);
    let len = 12 + padded.len() as u32;
    let mut b = Vec::new();
    b.extend(match block_type {
        0x0a0d_0d0a => [0x0a, 0x0d, 0x0d, 0x0a],
        t => order.u32(t),
    });
    b.extend(order.u32(len));
    b.extend(padded);
    b.extend(order.u32(len));
    b
}

/// Options (§3.5): code, length, value padded, then opt_endofopt.
fn options(order: Order, opts: &[(u16, &[u8])]) -> Vec<u8> {
    let mut o = Vec::new();
    for &(code, value) in opts {
        o.extend(order.u16(code));
        o.extend(order.u16(value.len() as u16));
        o.extend_from_slice(value);
        o.resize(o.len().div_ceil(4) * 4, 0);
    }
    if !opts.is_empty() {
        o.extend([0, 0, 0, 0]);
    }
    o
}

/// Section Header Block (§4.1): BOM 0x1A2B3C4D, version 1.0, section length -1.
fn shb(order: Order) -> Vec<u8> {
    let mut body = order.u32(0x1a2b_3c4d).to_vec();
    body.extend(order.u16(1));
    body.extend(order.u16(0));
    body.extend([0xff; 8]);
    block(order, 0x0a0d_0d0a, &body)
}

fn pcapng_le_shb() -> Vec<u8> {
    shb(Order::Le)
}

/// Interface Description Block (§4.2): link type, reserved, snaplen, options.
fn idb(order: Order, link: u16, opts: &[(u16, &[u8])]) -> Vec<u8> {
    let mut body = order.u16(link).to_vec();
    body.extend(order.u16(0));
    body.extend(order.u32(0));
    body.extend(options(order, opts));
    block(order, 1, &body)
}

/// Enhanced Packet Block (§4.3): interface, timestamp high/low, caplen, origlen, data.
fn epb(order: Order, iface: u32, ts: u64, origlen: u32, data: &[u8]) -> Vec<u8> {
    let mut body = order.u32(iface).to_vec();
    body.extend(order.u32((ts >> 32) as u32));
    body.extend(order.u32(ts as u32));
    body.extend(order.u32(data.len() as u32));
    body.extend(order.u32(origlen));
    body.extend_from_slice(data);
    body.resize(body.len().div_ceil(4) * 4, 0);
    // epb_flags option (§4.3.1, code 2): inbound
    body.extend(options(order, &[(2, &order.u32(1))]));
    block(order, 6, &body)
}

/// An IPv4/TCP packet 10.0.0.1:1000 → 10.0.0.2:2000 with `n` payload bytes.
fn ipv4_tcp(n: u8) -> Vec<u8> {
    let total = 40 + u16::from(n);
    #[rustfmt::skip]
    let mut p = vec![
        0x45, 0, (total >> 8) as u8, total as u8, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        0x03, 0xe8, 0x07, 0xd0, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0,
    ];
    p.extend((0..n).map(|i| b'a' + i % 26));
    p
}

fn ethernet(ip: &[u8]) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    f.extend_from_slice(ip);
    f
}

/// A pcapng file: an LE section with an Ethernet interface (µs) and a raw-IP interface (ns,
/// if_tsoffset 100 s), packets on both, an SPB, skipped blocks, a packet on an undeclared
/// interface; then a big-endian section with a LINUX_SLL2 interface at 2^-20 s resolution.
fn sample_pcapng() -> Vec<u8> {
    use Order::*;
    let mut f = shb(Le);
    f.extend(idb(Le, 1, &[(2, b"eth0")])); // if_name; if_tsresol absent: 10^-6
    f.extend(idb(Le, 101, &[(9, &[9]), (14, &100i64.to_le_bytes())])); // if_tsresol 9, if_tsoffset 100
    f.extend(epb(
        Le,
        0,
        1_700_000_000_123_456,
        74,
        &ethernet(&ipv4_tcp(20)),
    )); // #1
    f.extend(epb(Le, 1, 1_700_000_000_987_654_321, 60, &ipv4_tcp(20))); // #2
    f.extend(block(Le, 4, &[0, 0, 0, 0])); // Name Resolution Block: just nrb_record_end (§4.5)
    f.extend(block(Le, 3, &{
        // Simple Packet Block (§4.4): original length, data; first interface, no timestamp
        let mut b = 74u32.to_le_bytes().to_vec();
        b.extend(ethernet(&ipv4_tcp(20)));
        b
    })); // #3
    f.extend(epb(Le, 7, 0, 60, &ipv4_tcp(20))); // #4: interface 7 was never declared
    f.extend(block(Le, 0x0000_0bad, &[0, 0, 0x7e, 0x4e, 1, 2, 3, 4])); // #5: custom block (§4.8), PEN
    f.extend(block(Le, 5, &[0; 12])); // Interface Statistics Block (§4.6)
    f.extend(epb(
        Le,
        0,
        1_700_000_001_000_000,
        74,
        &ethernet(&ipv4_tcp(20)),
    )); // #6
        // second section, big-endian: a new interface table
    f.extend(shb(Be));
    let mut sll2 = vec![
        0x08, 0x00, 0, 0, 0, 0, 0, 1, 0x03, 0x04, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    sll2.extend(ipv4_tcp(10));
    // if_tsresol 2^-20, if_tsoffset -3600 s, big-endian like every field of this section
    f.extend(idb(
        Be,
        276,
        &[(9, &[0x80 | 20]), (14, &(-3600i64).to_be_bytes())],
    ));
    f.extend(epb(
        Be,
        0,
        1_700_000_002u64 << 20 | 1 << 19,
        70,
        &sll2[..60],
    )); // #7, cut by snaplen
    f
}

#[test]
fn pcapng_interfaces_resolutions_sections() {
    let path = tmp("sample.pcapng");
    std::fs::write(&path, sample_pcapng()).unwrap();
    let (frames, notices, err) = read_all(&mut PcapSource::open(&[path]).unwrap());
    assert!(err.is_none(), "{err:?}");
    let got: Vec<(u64, LinkType, Timestamp, u32, u32)> = frames
        .iter()
        .map(|f| (f.number, f.link, f.ts, f.caplen, f.origlen))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                1,
                LinkType::ETHERNET,
                ts(1_700_000_000, 123_456_000),
                74,
                74
            ),
            (2, LinkType::RAW, ts(1_700_000_100, 987_654_321), 60, 60),
            (3, LinkType::ETHERNET, ts(0, 0), 74, 74),
            (6, LinkType::ETHERNET, ts(1_700_000_001, 0), 74, 74),
            (
                7,
                LinkType::LINUX_SLL2,
                ts(1_699_996_402, 500_000_000),
                60,
                70
            ),
        ]
    );
    assert!(
        matches!(notices.as_slice(), [SourceNotice::SkippedBlock { input: 0, kind, .. }] if kind.contains("interface 7")),
        "{notices:?}"
    );
    // every frame decodes to the same TCP segment; the SLL2 one misses 10 payload bytes
    for f in &frames {
        match decap(f.link, &f.data) {
            Decapped::Ip(IpPacket {
                l4: L4::Tcp(seg), ..
            }) => {
                assert_eq!((seg.src_port, seg.dst_port), (1000, 2000));
                let missing = if f.link == LinkType::LINUX_SLL2 {
                    10
                } else {
                    0
                };
                assert_eq!(seg.payload_missing, missing, "frame {}", f.number);
            }
            other => panic!("frame {}: {other:?}", f.number),
        }
    }
}

#[test]
fn pcapng_cut_every_97th_byte_and_gzipped() {
    let file = sample_pcapng();
    let all = read_bytes(file.clone()).unwrap().0;
    for cut in (4..file.len()).step_by(97) {
        let (frames, notices, err) = read_bytes(file[..cut].to_vec()).unwrap();
        assert!(err.is_none(), "cut {cut}: {err:?}");
        assert_eq!(frames, all[..frames.len()], "cut {cut}");
        assert!(
            notices
                .iter()
                .any(|n| matches!(n, SourceNotice::TruncatedFile { .. })),
            "cut {cut}: {notices:?}"
        );
    }
    assert_eq!(read_bytes(gzip(&file)).unwrap().0, all);
}

#[test]
fn pcapng_corrupt_block_with_consistent_lengths_is_skipped() {
    use Order::Le;
    let mut f = shb(Le);
    f.extend(idb(Le, 1, &[]));
    // an EPB whose caplen (1000) exceeds its block: lengths agree, body does not parse
    let mut body = 0u32.to_le_bytes().to_vec();
    body.extend([0; 8]);
    body.extend(1000u32.to_le_bytes());
    body.extend(1000u32.to_le_bytes());
    body.extend([0; 16]);
    f.extend(block(Le, 6, &body));
    f.extend(epb(Le, 0, 5_000_000, 74, &ethernet(&ipv4_tcp(20))));
    let (frames, notices, err) = read_bytes(f).unwrap();
    assert!(err.is_none(), "{err:?}");
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].ts, ts(5, 0));
    assert!(
        matches!(notices.as_slice(), [SourceNotice::SkippedBlock { kind, .. }] if kind.contains("corrupt block")),
        "{notices:?}"
    );
}

#[test]
fn pcap_big_endian_and_nanosecond() {
    let ip = ipv4_tcp(4);
    for (order, nanos) in [
        (Order::Le, false),
        (Order::Be, false),
        (Order::Le, true),
        (Order::Be, true),
    ] {
        let frac = if nanos { 123_456_789 } else { 123_456 };
        let file = pcap(
            order,
            nanos,
            101,
            &[(1_600_000_000, frac, 44, &ip), (1_600_000_001, 0, 60, &ip)],
        );
        let (frames, notices, err) = read_bytes(file).unwrap();
        assert!(err.is_none() && notices.is_empty());
        let want = if nanos { 123_456_789 } else { 123_456_000 };
        assert_eq!(frames[0].ts, ts(1_600_000_000, want));
        assert_eq!(
            (frames[0].link, frames[0].caplen, frames[0].origlen),
            (LinkType::RAW, 44, 44)
        );
        assert_eq!((frames[1].caplen, frames[1].origlen), (44, 60));
        assert!(matches!(
            decap(frames[0].link, &frames[0].data),
            Decapped::Ip(_)
        ));
    }
}

#[test]
fn pcap_link_type_fcs_bits_are_masked() {
    // LinkType field with the FCS-length bits set (draft-ietf-opsawg-pcap §4: FCS len 4, f=1)
    let file = pcap(
        Order::Le,
        false,
        0x9400_0001,
        &[(1, 0, 74, &ethernet(&ipv4_tcp(20)))],
    );
    let (frames, _, _) = read_bytes(file).unwrap();
    assert_eq!(frames[0].link, LinkType::ETHERNET);
}

#[test]
fn every_link_type_through_a_file() {
    let ip = ipv4_tcp(8);
    let with =
        |head: &[u8]| -> Vec<u8> { head.iter().copied().chain(ip.iter().copied()).collect() };
    let cases: Vec<(u32, Vec<u8>)> = vec![
        (0, with(&[2, 0, 0, 0])),   // NULL, AF_INET little-endian
        (1, ethernet(&ip)),         // ETHERNET
        (101, ip.clone()),          // RAW
        (108, with(&[0, 0, 0, 2])), // LOOP
        (113, with(&[0, 0, 3, 4, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0])), // LINUX_SLL
        (228, ip.clone()),          // IPV4
        (
            276,
            with(&[8, 0, 0, 0, 0, 0, 0, 1, 3, 4, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0]),
        ), // LINUX_SLL2
    ];
    for (link, frame) in cases {
        let file = pcap(
            Order::Le,
            false,
            link,
            &[(1, 0, frame.len() as u32, &frame)],
        );
        let (frames, _, _) = read_bytes(file).unwrap();
        match decap(frames[0].link, &frames[0].data) {
            Decapped::Ip(IpPacket {
                l4: L4::Tcp(seg), ..
            }) => assert_eq!(seg.payload, b"abcdefgh", "link {link}"),
            other => panic!("link {link}: {other:?}"),
        }
    }
}

#[cfg(unix)]
#[test]
fn named_pipes_lose_no_bytes() {
    // `smcdump -r <(zcat x.pcap.gz)`: a pipe must not be read before its turn
    let bytes = std::fs::read(shared("smcr-v1-lo-clc-hwipl-split.pcap")).unwrap();
    for first in [true, false] {
        let fifo = tmp(&format!("pipe-{first}.pcap"));
        let _ = std::fs::remove_file(&fifo);
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if !made.is_ok_and(|s| s.success()) {
            eprintln!("mkfifo unavailable; skipped");
            return;
        }
        let writer = {
            let (fifo, bytes) = (fifo.clone(), bytes.clone());
            std::thread::spawn(move || std::fs::write(fifo, bytes).unwrap())
        };
        let other = shared("smcr-llc-rocev2-smcgo.pcap");
        let paths = if first {
            vec![fifo.clone(), other]
        } else {
            vec![other, fifo.clone()]
        };
        let mut src = PcapSource::open(&paths).unwrap();
        assert_eq!(src.progress().bytes_total, None, "a pipe has no size");
        let (frames, notices, err) = read_all(&mut src);
        writer.join().unwrap();
        assert!(err.is_none() && notices.is_empty(), "{err:?} {notices:?}");
        assert_eq!(frames.len(), 9 + 7);
        std::fs::remove_file(&fifo).unwrap();
    }
}
