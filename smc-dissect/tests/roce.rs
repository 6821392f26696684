//! RoCE correlation and carriage on frames of a real capture, re-sequenced: the Debian 6.12 SMC-R
//! lab capture `captures/lab/deb-6.12.117+deb12-amd64/deb-smcr.pcap` (three connections over one
//! link group: #0 first contact in frames 27–37, #1 reuse in 45–63, #2 reuse from 64; LLC and
//! CDC over RoCEv2). Frames are copied byte for byte; only where a test says so are TCP ports,
//! BTH fields or lengths rewritten. Review 1: M7 (first contact vs reuse), L4 (ADD LINK reject
//! responses), L5 (multi-packet SENDs).

use std::io;

use serde_json::Value;
use smc_dissect::output::{JsonSink, Output, TextSink};
use smc_dissect::source::PcapSource;
use smc_dissect::Config;

const DEB_SMCR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../captures/lab/deb-6.12.117+deb12-amd64/deb-smcr.pcap"
);

/// Every frame of the capture (classic little-endian pcap); index = frame number − 1.
fn frames() -> Vec<Vec<u8>> {
    let b = std::fs::read(DEB_SMCR).unwrap();
    assert_eq!(&b[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
    let u32_at = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize;
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= b.len() {
        let caplen = u32_at(at + 8);
        out.push(b[at + 16..at + 16 + caplen].to_vec());
        at += 16 + caplen;
    }
    out
}

/// Ethernet 14 + IPv4 20: where TCP or UDP starts in these frames.
const L4: usize = 34;
/// UDP 8 bytes: where the BTH starts in a RoCEv2 frame (§8.4).
const BTH: usize = L4 + 8;

/// IPv4 (Ethertype 0x0800) carrying TCP (protocol 6).
fn is_tcp(f: &[u8]) -> bool {
    f.len() > L4 && f[12..14] == [0x08, 0x00] && f[23] == 6
}

/// A TCP frame of connection #0 (client port 47346) moved to another client port; other frames
/// unchanged.
fn client_port(frame: &[u8], port: u16) -> Vec<u8> {
    let mut f = frame.to_vec();
    if !is_tcp(&f) {
        return f;
    }
    let at = if f[L4..L4 + 2] == 47346u16.to_be_bytes() {
        L4
    } else {
        L4 + 2
    };
    assert_eq!(f[at..at + 2], 47346u16.to_be_bytes());
    f[at..at + 2].copy_from_slice(&port.to_be_bytes());
    f
}

/// A RoCEv2 frame with another BTH destination QP (§8.4 DestQP, BE24 at BTH bytes 5–7).
fn dest_qp(frame: &[u8], qp: u32) -> Vec<u8> {
    let mut f = frame.to_vec();
    f[BTH + 5..BTH + 8].copy_from_slice(&qp.to_be_bytes()[1..]);
    f
}

/// A RoCEv2 frame carrying `payload` with BTH opcode `op` and PSN `psn`, headers and ICRC
/// taken from `frame`, IPv4 and UDP lengths fixed.
fn resend(frame: &[u8], op: u8, psn: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = frame[..BTH + 12].to_vec();
    f[BTH] = op;
    f[BTH + 9..BTH + 12].copy_from_slice(&psn.to_be_bytes()[1..]);
    f.extend_from_slice(payload);
    f.extend_from_slice(&frame[frame.len() - 4..]);
    let ip_len = (f.len() - 14) as u16;
    f[16..18].copy_from_slice(&ip_len.to_be_bytes());
    let udp_len = (f.len() - L4) as u16;
    f[L4 + 4..L4 + 6].copy_from_slice(&udp_len.to_be_bytes());
    f
}

/// A new classic pcap of the given frames, 1 ms apart.
fn pcap(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut p = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    p.extend_from_slice(&65535u32.to_le_bytes());
    p.extend_from_slice(&1u32.to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        p.extend_from_slice(&1_700_000_000u32.to_le_bytes());
        p.extend_from_slice(&(i as u32 * 1000).to_le_bytes());
        p.extend_from_slice(&(f.len() as u32).to_le_bytes());
        p.extend_from_slice(&(f.len() as u32).to_le_bytes());
        p.extend_from_slice(f);
    }
    p
}

/// smcdump's JSON lines and text output for the frames.
fn run(frames: &[Vec<u8>]) -> (Vec<Value>, String) {
    let p = pcap(frames);
    let mut src = PcapSource::from_reader("roce", Box::new(io::Cursor::new(p.clone()))).unwrap();
    let mut sink = Output::Json(JsonSink::new(Vec::new()));
    smc_dissect::run(&mut src, &Config::default(), &mut sink, |_, _| {}).unwrap();
    let Output::Json(j) = sink else {
        unreachable!()
    };
    let json = String::from_utf8(j.into_inner())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .collect();
    let mut src = PcapSource::from_reader("roce", Box::new(io::Cursor::new(p))).unwrap();
    let mut sink = Output::Text(TextSink::new(Vec::new()));
    smc_dissect::run(&mut src, &Config::default(), &mut sink, |_, _| {}).unwrap();
    let Output::Text(t) = sink else {
        unreachable!()
    };
    (json, String::from_utf8(t.into_inner()).unwrap())
}

/// The JSON line of output frame `n` (1-based) with type `ty`.
fn at<'a>(json: &'a [Value], ty: &str, n: usize) -> &'a Value {
    json.iter()
        .find(|v| v["type"] == ty && v["data"]["frame"] == n)
        .unwrap_or_else(|| panic!("no {ty} at frame {n}: {json:#?}"))
}

fn text_line(text: &str, n: usize) -> &str {
    text.lines()
        .find(|l| l.split_whitespace().next() == Some(&n.to_string()))
        .unwrap_or_else(|| panic!("no line for frame {n}:\n{text}"))
}

/// Frames 27–37: connection #0's handshake, SMC-Rv2 first contact, both QPs 0x11.
fn first_contact(all: &[Vec<u8>]) -> Vec<Vec<u8>> {
    all[26..37].to_vec()
}

#[test]
fn first_contact_with_recycled_qps_starts_a_new_link_group() {
    // RDMA devices recycle QP numbers once a link group is freed: a later first contact may name
    // the same QPs; it still creates a link group (§4.6), and the QPs now belong to it
    let all = frames();
    let cdc_to_server = &all[144]; // frame 145: CDC token 0x1 to the server's QP 0x11
    let mut f = first_contact(&all);
    f.push(cdc_to_server.clone()); // output frame 12
    f.extend(first_contact(&all).iter().map(|x| client_port(x, 47400)));
    f.push(cdc_to_server.clone()); // output frame 24
    let (json, text) = run(&f);
    let first = at(&json, "cdc", 12);
    assert_eq!(first["data"]["link_group"], 1);
    assert_eq!(first["data"]["conn"]["id"], 0);
    let second = at(&json, "cdc", 24);
    assert_eq!(second["data"]["link_group"], 2, "{second:#}");
    assert_eq!(second["data"]["to"], "server");
    assert_eq!(second["data"]["conn"]["id"], 1);
    assert!(second["data"].get("link_group_unseen").is_none());
    assert!(text_line(&text, 24).contains("[link group 2 → server] CDC #1 → server"));
}

#[test]
fn reuse_of_a_link_group_not_in_the_capture_is_named_so() {
    // connections #1 and #2 reuse the link group that #0 created; the capture starts after #0
    let all = frames();
    let conn1: Vec<_> = [45, 46, 49, 50, 51, 56, 57, 62, 63]
        .iter()
        .map(|n| all[n - 1].clone())
        .collect();
    let mut f = conn1;
    f.push(all[282].clone()); // frame 283: CDC token 0x2 (#1) to the server; output frame 10
    f.extend(all[63..79].iter().filter(|x| is_tcp(x)).cloned()); // #2's TCP frames 64–79
    f.push(all[420].clone()); // frame 421: CDC token 0x3 (#2) to the server
    let n = f.len();
    let (json, text) = run(&f);
    // no Accept in the capture had the first-contact bit
    let verdicts: Vec<_> = json.iter().filter(|v| v["type"] == "verdict").collect();
    assert_eq!(verdicts.len(), 2);
    for v in &verdicts {
        assert_eq!(v["data"]["verdict"], "smc");
        assert_eq!(v["data"]["first_contact"], false, "{v:#}");
    }
    let c1 = at(&json, "cdc", 10);
    assert_eq!(c1["data"]["link_group_unseen"], true);
    assert_eq!(c1["data"]["conn"]["id"], 0);
    assert!(text_line(&text, 10).contains(
        "[link group 1 → server: reused link group not seen in the capture] CDC #0 → server"
    ));
    // the second reuse names the same server QP: the same (unseen) group, not another one
    let c2 = at(&json, "cdc", n);
    assert_eq!(c2["data"]["link_group"], 1);
    assert_eq!(c2["data"]["link_group_unseen"], true);
    assert_eq!(c2["data"]["conn"]["id"], 1);
}

#[test]
fn add_link_reject_echoes_the_request_and_teaches_no_qp() {
    // smc_llc_cli_add_link_reject echoes the request's first 44 bytes (§8.3): in frame 47 the
    // client sends the server's MAC, GID and new QP 0x12 back
    let all = frames();
    let reject = &all[46];
    assert_eq!(&reject[BTH + 12..BTH + 16], &[0x22, 0x2c, 0x00, 0xc0]);
    // a later packet to the server's GID and QP 0x12: frame 41 (client → server) redirected
    let to_qp12 = dest_qp(&all[40], 0x12);

    // the request not captured: the reject alone must not make QP 0x12 the client's
    let mut f = first_contact(&all);
    f.push(reject.clone()); // output frame 12
    f.push(to_qp12.clone()); // output frame 13
    let (json, text) = run(&f);
    assert_eq!(
        text_line(&text, 12).split("] ").nth(1).unwrap(),
        "LLC ADD_LINK_V2 response: rejected; fields echoed from the request: link 2, requester \
         QPN 0x12, GID ::ffff:192.168.50.1 [length in LE order]"
    );
    let unknown = at(&json, "llc", 13);
    assert_eq!(unknown["data"]["dest_qp"], 0x12);
    assert!(unknown["data"].get("link_group").is_none(), "{unknown:#}");
    assert!(unknown["data"].get("to").is_none(), "{unknown:#}");

    // with the request (frame 43, server → client) the QP is the server's, and stays so
    let mut f = first_contact(&all);
    f.push(all[42].clone());
    f.push(reject.clone());
    f.push(to_qp12);
    let (json, _) = run(&f);
    let known = at(&json, "llc", 14);
    assert_eq!(known["data"]["link_group"], 1);
    assert_eq!(known["data"]["to"], "server");
}

#[test]
fn multi_packet_sends_are_counted_and_noticed() {
    // frame 43 is an 88-byte ADD LINK v2 in one SEND Only; sent as SEND First + SEND Last
    // (opcodes 0x00/0x02, §8.4), as over a path MTU below 88
    let all = frames();
    let add_link = &all[42];
    assert_eq!(add_link[BTH], 0x04);
    let payload = &add_link[BTH + 12..add_link.len() - 4];
    assert_eq!((payload.len(), payload[0]), (88, 0x22));
    let mut f = first_contact(&all);
    f.push(resend(add_link, 0x00, 0x43dc9e, &payload[..44])); // output frame 12
    f.push(resend(add_link, 0x02, 0x43dc9f, &payload[44..])); // output frame 13
    let (json, text) = run(&f);
    for (n, op, psn) in [
        (12, "RC_SEND_FIRST", 0x43dc9e),
        (13, "RC_SEND_LAST", 0x43dc9f),
    ] {
        let d = &at(&json, "notice", n)["data"];
        assert_eq!(d["notice"], "llc-multi-packet");
        assert_eq!(d["opcode"], op);
        assert_eq!(d["dest_qp"], 0x11);
        assert_eq!(d["psn"], psn);
        assert_eq!(d["bytes"], 44);
        assert!(
            !json
                .iter()
                .any(|v| v["data"]["frame"] == n && v["type"] != "notice"),
            "frame {n} decoded as something else"
        );
    }
    assert!(text_line(&text, 12).ends_with(
        "notice: RoCE RC_SEND_FIRST to QP 0x11 (PSN 0x43dc9e, 44 bytes): part of a v2 LLC \
         message longer than the path MTU; not reassembled, not decoded"
    ));
    let stats = &json.last().unwrap()["data"];
    assert_eq!(stats["llc_multi_packet"], 2);
    assert_eq!(stats["llc_messages"], 0);
}

#[test]
fn v2_llc_whose_length_passes_in_one_byte_order_only_is_named_so() {
    // frame 38, the server's CONFIRM LINK v2 (length_v2 2c 00 from x86), with 10 00 instead:
    // 16 to an x86 receiver, dropped; 4096 to s390, accepted (§8.1, §9.3)
    let all = frames();
    let mut odd = all[37].clone();
    assert_eq!(&odd[BTH + 12..BTH + 16], &[0x21, 0x2c, 0x00, 0x03]);
    odd[BTH + 13..BTH + 15].copy_from_slice(&[0x10, 0x00]);
    let mut f = first_contact(&all);
    f.push(odd); // output frame 12
    let (json, text) = run(&f);
    let d = &at(&json, "roce_dropped", 12)["data"];
    assert_eq!(d["dropped"]["class"], "llc_v2_order_dependent");
    assert_eq!(
        (
            d["dropped"]["little"].as_u64(),
            d["dropped"]["big"].as_u64()
        ),
        (Some(16), Some(4096))
    );
    assert!(text_line(&text, 12).ends_with(
        "[link group 1 → client] LLC CONFIRM_LINK_V2: length_v2 is 16 little-endian, 4096 \
         big-endian: smc_llc_rx_handler drops it (< 44) or not depending on the receiver's byte \
         order"
    ));
}
