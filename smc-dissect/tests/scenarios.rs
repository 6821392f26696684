//! Verdict paths the real captures do not all show, on hand-built TCP around real CLC bytes
//! (the hwipl 2019 kernel messages of reference §10): option echoed but no CLC, no echo, RST and
//! FIN mid-handshake, the CLC wait timeout, a capture that starts mid-connection, a Decline after
//! the Confirm, and a CLC message cut by the snapshot length.

use std::io;

use serde_json::Value;
use smc_dissect::output::{JsonSink, Output};
use smc_dissect::source::PcapSource;
use smc_dissect::Config;

const PROPOSAL: &str = "e2d4c3d901003410b1a098039babcdeffe800000000000009a039bfffeabcdef98039babcdef00007f00000008000000e2d4c3d9";
const ACCEPT: &str = "e2d4c3d902004418b1a098039babcdeffe800000000000009a039bfffeabcdef98039babcdef0000e40000157d0100000005230000000000f0a600000072f5fee2d4c3d9";
const CONFIRM: &str = "e2d4c3d903004410b1a098039babcdeffe800000000000009a039bfffeabcdef98039babcdef0000e50000187f0100000006230000000000f0a40000000d89a4e2d4c3d9";
const DECLINE_SYNCERR: &str = "e2d4c3d904001c1825252525252525000400000000000000e2d4c3d9";

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

const SYN: u8 = 0x02;
const SYNACK: u8 = 0x12;
const ACK: u8 = 0x10;
const PSH: u8 = 0x18;
const FIN: u8 = 0x11;
const RST: u8 = 0x14;

/// A two-party TCP conversation written as a classic pcap.
struct Conv {
    pcap: Vec<u8>,
    seq: [u32; 2],
    t: f64,
}

impl Conv {
    fn new() -> Self {
        let mut pcap = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        pcap.extend_from_slice(&65535u32.to_le_bytes());
        pcap.extend_from_slice(&1u32.to_le_bytes());
        Conv {
            pcap,
            seq: [1000, 5000],
            t: 1_700_000_000.0,
        }
    }

    /// One segment from side 0 (client 10.0.0.1:40000) or 1 (server 10.0.0.2:7000);
    /// `snap` cuts the captured bytes.
    fn seg(
        &mut self,
        from: usize,
        flags: u8,
        smc_option: bool,
        payload: &[u8],
        dt: f64,
        snap: Option<usize>,
    ) {
        self.t += dt;
        let opts: &[u8] = if smc_option {
            &[1, 1, 0xfe, 6, 0xe2, 0xd4, 0xc3, 0xd9]
        } else {
            &[]
        };
        let tcp_len = 20 + opts.len();
        let mut f = vec![0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 6, 0x08, 0x00];
        let ip_len = (20 + tcp_len + payload.len()) as u16;
        f.extend_from_slice(&[0x45, 0]);
        f.extend_from_slice(&ip_len.to_be_bytes());
        f.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
        let (src, dst, sp, dp) = if from == 0 {
            ([10, 0, 0, 1], [10, 0, 0, 2], 40000u16, 7000u16)
        } else {
            ([10, 0, 0, 2], [10, 0, 0, 1], 7000, 40000)
        };
        f.extend_from_slice(&src);
        f.extend_from_slice(&dst);
        f.extend_from_slice(&sp.to_be_bytes());
        f.extend_from_slice(&dp.to_be_bytes());
        f.extend_from_slice(&self.seq[from].to_be_bytes());
        f.extend_from_slice(&self.seq[1 - from].to_be_bytes());
        f.extend_from_slice(&[((tcp_len / 4) as u8) << 4, flags, 0xff, 0xff, 0, 0, 0, 0]);
        f.extend_from_slice(opts);
        f.extend_from_slice(payload);
        self.seq[from] = self.seq[from]
            .wrapping_add(payload.len() as u32 + u32::from(flags & (SYN | 0x01) != 0));
        let orig = f.len();
        if let Some(n) = snap {
            f.truncate(n);
        }
        let secs = self.t as u32;
        let usec = ((self.t - f64::from(secs)) * 1e6) as u32;
        self.pcap.extend_from_slice(&secs.to_le_bytes());
        self.pcap.extend_from_slice(&usec.to_le_bytes());
        self.pcap.extend_from_slice(&(f.len() as u32).to_le_bytes());
        self.pcap.extend_from_slice(&(orig as u32).to_le_bytes());
        self.pcap.extend_from_slice(&f);
    }

    fn handshake(&mut self, syn_opt: bool, synack_opt: bool) {
        self.seg(0, SYN, syn_opt, &[], 0.0, None);
        self.seg(1, SYNACK, synack_opt, &[], 0.001, None);
        self.seg(0, ACK, false, &[], 0.001, None);
    }

    fn verdicts(self) -> Vec<Value> {
        let mut src =
            PcapSource::from_reader("scenario", Box::new(io::Cursor::new(self.pcap))).unwrap();
        let mut sink = Output::Json(JsonSink::new(Vec::new()));
        smc_dissect::run(&mut src, &Config::default(), &mut sink, |_, _| {}).unwrap();
        let Output::Json(j) = sink else {
            unreachable!()
        };
        String::from_utf8(j.into_inner())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|v| v["type"] == "verdict")
            .map(|v| v["data"].clone())
            .collect()
    }
}

fn one(c: Conv) -> Value {
    let v = c.verdicts();
    assert_eq!(v.len(), 1, "{v:#?}");
    v[0].clone()
}

#[test]
fn full_handshake_then_fin_is_smc() {
    let mut c = Conv::new();
    c.handshake(true, true);
    c.seg(0, PSH, false, &unhex(PROPOSAL), 0.001, None);
    c.seg(1, PSH, false, &unhex(ACCEPT), 0.001, None);
    c.seg(0, PSH, false, &unhex(CONFIRM), 0.001, None);
    c.seg(0, FIN, false, &[], 1.0, None);
    let v = one(c);
    assert_eq!(v["verdict"], "smc");
    assert_eq!(v["kind"], "SMC-R");
}

#[test]
fn synack_without_option_is_fallback_no_echo() {
    let mut c = Conv::new();
    c.handshake(true, false);
    c.seg(0, PSH, false, b"GET / HTTP/1.1\r\n\r\n", 0.001, None);
    assert_eq!(one(c)["verdict"], "fallback-no-echo");
}

#[test]
fn echoed_option_then_plain_data_is_option_echoed_no_clc() {
    // a middlebox (or stack) echoed the unknown option: the server answers the Proposal with
    // its own protocol
    let mut c = Conv::new();
    c.handshake(true, true);
    c.seg(0, PSH, false, &unhex(PROPOSAL), 0.001, None);
    c.seg(1, PSH, false, b"220 smtp.example ESMTP\r\n", 0.001, None);
    let v = one(c);
    assert_eq!(v["verdict"], "option-echoed-no-clc");
    assert_eq!(v["first_payload_by"], "server");
    assert_eq!(v["after"], "proposal");
}

#[test]
fn rst_after_the_proposal_is_incomplete() {
    let mut c = Conv::new();
    c.handshake(true, true);
    c.seg(0, PSH, false, &unhex(PROPOSAL), 0.001, None);
    c.seg(1, RST, false, &[], 0.001, None);
    let v = one(c);
    assert_eq!(v["verdict"], "incomplete");
    assert_eq!(v["stage"], "proposal");
    assert_eq!(v["cause"], "rst");
}

#[test]
fn no_accept_within_clc_wait_time_is_a_timeout() {
    // CLC_WAIT_TIME is 6 s (smc_clc.h): a packet 7 s later shows the client gave up
    let mut c = Conv::new();
    c.handshake(true, true);
    c.seg(0, PSH, false, &unhex(PROPOSAL), 0.001, None);
    c.seg(0, ACK, false, &[], 7.0, None);
    let v = one(c);
    assert_eq!(v["verdict"], "incomplete");
    assert_eq!(v["cause"], "timeout");
}

#[test]
fn midstream_capture_takes_roles_from_the_messages() {
    // no SYN: the first packet is the server's Accept
    let mut c = Conv::new();
    c.seg(1, PSH, false, &unhex(ACCEPT), 0.0, None);
    c.seg(0, PSH, false, &unhex(CONFIRM), 0.001, None);
    let v = one(c);
    assert_eq!(v["verdict"], "clc-without-option");
    assert_eq!(v["syn"], "not-seen");
    assert_eq!(v["clc"]["verdict"], "smc");
    assert_eq!(v["conn"]["client"], "10.0.0.1:40000");
}

#[test]
fn out_of_sync_decline_after_confirm() {
    // a SYNCERR Decline (out-of-sync bit 0x08, §5.1) from the server after the Confirm
    let mut c = Conv::new();
    c.handshake(true, true);
    c.seg(0, PSH, false, &unhex(PROPOSAL), 0.001, None);
    c.seg(1, PSH, false, &unhex(ACCEPT), 0.001, None);
    c.seg(0, PSH, false, &unhex(CONFIRM), 0.001, None);
    c.seg(1, PSH, false, &unhex(DECLINE_SYNCERR), 0.5, None);
    let v = one(c);
    assert_eq!(v["verdict"], "declined");
    assert_eq!(v["after"], "confirm");
    assert_eq!(v["by"], "server");
    assert_eq!(v["out_of_sync"], true);
    assert_eq!(v["reason"]["name"], "SYNCERR");
}

#[test]
fn snaplen_cut_accept_is_reported_not_misread() {
    // the Accept is cut after 100 bytes of frame (54 of headers + 46 of the 68-byte message)
    let mut c = Conv::new();
    c.handshake(true, true);
    c.seg(0, PSH, false, &unhex(PROPOSAL), 0.001, None);
    c.seg(1, PSH, false, &unhex(ACCEPT), 0.001, Some(100));
    c.seg(0, PSH, false, &unhex(CONFIRM), 0.001, None);
    c.seg(0, FIN, false, &[], 1.0, None);
    let v = one(c);
    assert_eq!(v["verdict"], "smc");
    assert_eq!(v["truncated"], true);
    // a cut message is not decoded at all (its later fields and trailer are missing): details
    // such as the server's QPN are left out rather than guessed
    assert!(
        v.get("server_qpn").is_none() || v["server_qpn"].is_null(),
        "{v:#}"
    );
}
