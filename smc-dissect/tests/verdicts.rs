//! Hand-written expectations for the shared captures (synthetic framing around published bytes,
//! captures/shared/README.md): each verdict was worked out from the bytes and the reference
//! before it was written here, independently of smcdump's output.

use std::path::Path;

use serde_json::Value;
use smc_dissect::output::{JsonSink, Output};
use smc_dissect::source::PcapSource;
use smc_dissect::Config;

fn events(rel: &str) -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../captures")
        .join(rel);
    let cfg = Config {
        inputs: vec![path],
        ..Config::default()
    };
    let mut sink = Output::Json(JsonSink::new(Vec::new()));
    let mut src = PcapSource::open(&cfg.inputs).unwrap();
    smc_dissect::run(&mut src, &cfg, &mut sink, |_, _| {}).unwrap();
    let Output::Json(j) = sink else {
        unreachable!()
    };
    String::from_utf8(j.into_inner())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn verdicts(ev: &[Value]) -> Vec<&Value> {
    let mut v: Vec<&Value> = ev
        .iter()
        .filter(|e| e["type"] == "verdict")
        .map(|e| &e["data"])
        .collect();
    v.sort_by_key(|d| d["conn"]["id"].as_u64());
    v
}

#[test]
fn hwipl_smcr_v1_handshakes_and_declines() {
    // two SMC-R v1 handshakes (IPv4, IPv6) and two client Declines NOSMCDEV (reference §10)
    let ev = events("shared/smcr-v1-lo-clc-hwipl.pcap");
    let v = verdicts(&ev);
    assert_eq!(v.len(), 4);
    for (i, qpns) in [(0usize, (0xe4, 0xe5)), (2, (0xe2, 0xe3))] {
        let d = v[i];
        assert_eq!(d["verdict"], "smc");
        assert_eq!(d["kind"], "SMC-R");
        assert_eq!(d["version"], 1);
        assert_eq!(d["device"], "roce");
        assert_eq!(d["first_contact"], true); // Accept byte 7 = 0x18 (§2.2)
        assert_eq!(d["server_qpn"], qpns.0);
        assert_eq!(d["client_qpn"], qpns.1);
        assert_eq!(d["server_buffer"], 65536); // size nibble 2 → 2^(2+14) (§4.5)
        assert_eq!(d["server_roce_gid"], "fe80::9a03:9bff:feab:cdef");
    }
    for i in [1, 3] {
        let d = v[i];
        assert_eq!(d["verdict"], "declined");
        assert_eq!(d["by"], "client");
        assert_eq!(d["after"], "tcp-established");
        assert_eq!(d["reason"]["hex"], "0x03030000");
        assert_eq!(d["reason"]["name"], "NOSMCDEV");
    }
    assert_eq!(v[2]["conn"]["client"], "[::1]:33186");
}

#[test]
fn split_segments_reassemble() {
    // the same SMC-R v1 handshake, Proposal split 20/32 and Accept split inside its header
    let ev = events("shared/smcr-v1-lo-clc-hwipl-split.pcap");
    let clc: Vec<&Value> = ev.iter().filter(|e| e["type"] == "clc").collect();
    assert_eq!(clc.len(), 3);
    assert!(clc
        .iter()
        .all(|c| c["data"]["rejected"] == false && c["data"]["decoded"].is_object()));
    let v = verdicts(&ev);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["verdict"], "smc");
}

#[test]
fn edge_cases() {
    let ev = events("shared/smcr-v1-lo-clc-hwipl-edgecases.pcap");
    let v = verdicts(&ev);
    assert_eq!(v.len(), 2);
    // frame 6 carries the Accept and the Confirm in one segment from the server: the Confirm is
    // the client's message, so it is a violation by the server (the synthetic coalescing put both
    // in the server's direction)
    assert_eq!(v[0]["verdict"], "violation");
    assert_eq!(v[0]["by"], "server");
    assert_eq!(v[0]["frame"], 6);
    assert_eq!(v[0]["what"], "Confirm from the server");
    // a Proposal on a flow whose SYN had no option
    assert_eq!(v[1]["verdict"], "clc-without-option");
    assert_eq!(v[1]["syn"], "no-option");
    assert_eq!(v[1]["clc"]["verdict"], "incomplete");
    assert_eq!(v[1]["clc"]["stage"], "proposal");
    // the Proposal split 3/49 (inside the eyecatcher) was still framed and decoded
    let first = ev.iter().find(|e| e["type"] == "clc").unwrap();
    assert_eq!(first["data"]["decoded"]["message"], "proposal");
}

#[test]
#[allow(clippy::needless_range_loop)] // indices are the connection numbers
fn smcgo_vectors_each_on_its_own_flow() {
    // 20 hand-built CLC vectors, each alone on a connection (captures/shared/README.md)
    let ev = events("shared/smc-go-testvectors.pcap");
    let v = verdicts(&ev);
    assert_eq!(v.len(), 20);
    let name = |i: usize| v[i]["verdict"].as_str().unwrap().to_string();
    // Accepts with no Proposal before them
    for i in 0..4 {
        assert_eq!(name(i), "violation");
        assert_eq!(v[i]["what"], "Accept before any Proposal");
    }
    // Confirms where the server waits for a Proposal: smc_clc_wait_msg rejects the type (§9.1)
    for i in 4..8 {
        assert_eq!(name(i), "violation");
        assert_eq!(v[i]["check"]["check"], "wait_msg_type");
    }
    assert_eq!(name(8), "declined");
    assert_eq!(v[8]["reason"]["name"], "NOSMCDEV");
    // the "v2" Decline is 28 bytes: smc_clc_msg_decl_valid wants 44 (§9.2)
    assert_eq!(v[9]["check"]["check"], "decl_length");
    // valid v1 Proposals, nothing after them
    for i in [10, 11, 12, 13, 14, 18, 19] {
        assert_eq!(name(i), "incomplete", "conn {i}");
        assert_eq!(v[i]["stage"], "proposal");
        assert_eq!(v[i]["cause"], "end-of-capture");
    }
    // the kernel-inconsistent v2 Proposals (reference §10 caveat)
    assert_eq!(v[15]["check"]["check"], "prop_ipv6_count");
    assert_eq!(v[16]["check"]["check"], "prop_v2_length");
    assert_eq!(v[17]["check"]["check"], "prop_v2_length");
}

#[test]
fn rocev2_llc_and_cdc_frames_classified() {
    // smc-go LLC/CDC bytes in RoCEv2 (§10): the CDC has seq 1, token 3, producer count 13
    let ev = events("shared/smcr-llc-rocev2-smcgo.pcap");
    let cdc: Vec<&Value> = ev.iter().filter(|e| e["type"] == "cdc").collect();
    let llc: Vec<&Value> = ev.iter().filter(|e| e["type"] == "llc").collect();
    assert_eq!(cdc.len(), 1);
    assert_eq!(cdc[0]["data"]["cdc"]["seqno"], 1);
    assert_eq!(cdc[0]["data"]["cdc"]["token"], 3);
    assert_eq!(cdc[0]["data"]["cdc"]["prod"]["count"], 13);
    assert_eq!(cdc[0]["data"]["dest_qp"], 263); // BTH DestQP 0x000107
    assert_eq!(llc.len(), 6);
    let stats = &ev.last().unwrap()["data"];
    assert_eq!(stats["roce_frames"], 7);
}
