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
    // the server sent nothing at all: the client's connect() fails with ETIMEDOUT
    assert_eq!(v["cause"], "no-answer");
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

// ---- review-1 findings (/work notes): each scenario is the reviewer's, on real message bytes ----

/// The SMC-D v2 loopback-ism Proposal and first-contact Accept of reference §10.
fn ref_msg(name: &str) -> Vec<u8> {
    let text = match name {
        "proposal" => include_str!("../../captures/reference/ref-proposal-smcd-v2-224.hex"),
        _ => include_str!("../../captures/reference/ref-accept-smcd-v2-fce-130.hex"),
    };
    unhex(text.trim())
}

/// An SMC-D v2 Confirm: the same layout as the Accept (§4.2), type 3.
fn ref_confirm() -> Vec<u8> {
    let mut m = ref_msg("accept");
    m[4] = 3;
    m
}

/// A 28-byte v1 Decline (§5.1) with this reason; `oos` sets the out-of-sync bit.
fn decline_v1(code: u32, oos: bool) -> Vec<u8> {
    let mut m = unhex(DECLINE_SYNCERR);
    m[7] = 0x10 | if oos { 0x08 } else { 0 };
    m[16..20].copy_from_slice(&code.to_be_bytes());
    m
}

/// Makes a v2 Accept/Confirm `len` bytes long: zeros after its own bytes, the trailer at the end,
/// the declared length updated (the kernel checks only a minimum length for v2, §9.2).
fn stretch(mut m: Vec<u8>, len: usize) -> Vec<u8> {
    let trailer = m[m.len() - 4..].to_vec();
    m.truncate(m.len() - 4);
    m.resize(len - 4, 0);
    m.extend_from_slice(&trailer);
    m[5..7].copy_from_slice(&(len as u16).to_be_bytes());
    m
}

impl Conv {
    /// A SYN sent again with the same ISN.
    fn syn_again(&mut self, dt: f64) {
        self.seq[0] = self.seq[0].wrapping_sub(1);
        self.seg(0, SYN, true, &[], dt, None);
    }

    /// Sends `payload` from `from` in pieces of at most `chunk` bytes.
    fn chunks(&mut self, from: usize, payload: &[u8], chunk: usize) {
        for p in payload.chunks(chunk) {
            self.seg(from, PSH, false, p, 0.0005, None);
        }
    }
}

fn anomaly_texts(v: &Value) -> Vec<String> {
    v["anomalies"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| x["text"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn syn_retries_do_not_start_the_clc_wait() {
    // review H1: SYN at 0, 1, 3 and 7 s, SYN-ACK at 7.001 s; the server's 6 s wait for the
    // Proposal starts after the 3-way handshake (smc_listen_work), so this is a plain SMC-R v1
    let mut c = Conv::new();
    c.seg(0, SYN, true, &[], 0.0, None);
    c.syn_again(1.0);
    c.syn_again(2.0);
    c.syn_again(4.0);
    c.seg(1, SYNACK, true, &[], 0.001, None);
    c.seg(0, ACK, false, &[], 0.001, None);
    c.seg(0, PSH, false, &unhex(PROPOSAL), 0.001, None);
    c.seg(1, PSH, false, &unhex(ACCEPT), 0.001, None);
    c.seg(0, PSH, false, &unhex(CONFIRM), 0.001, None);
    c.seg(0, FIN, false, &[], 20.0, None);
    let v = one(c);
    assert_eq!(v["verdict"], "smc", "{v:#}");
    assert_eq!(v["kind"], "SMC-R");
}

#[test]
fn a_late_proposal_still_times_out_from_the_synack() {
    let mut c = Conv::new();
    c.handshake(true, true);
    c.seg(0, PSH, false, &unhex(PROPOSAL), 6.5, None);
    let v = one(c);
    assert_eq!(v["verdict"], "incomplete");
    assert_eq!(v["stage"], "tcp-established");
    assert_eq!(v["cause"], "timeout");
}

#[test]
fn over_long_v2_accept_is_read_like_the_kernel_whatever_the_segmentation() {
    // review M9: smc_clc_wait_msg reads its buffer's worth (160 bytes for the Accept), skips
    // the trailer check and drains the rest; a v2 Accept only has a minimum length (§9.1, §9.2)
    for (len, chunk) in [(700, 10_000), (700, 400), (5000, 1400)] {
        let mut c = Conv::new();
        c.handshake(true, true);
        c.seg(0, PSH, false, &ref_msg("proposal"), 0.001, None);
        c.chunks(1, &stretch(ref_msg("accept"), len), chunk);
        c.seg(0, PSH, false, &ref_confirm(), 0.001, None);
        c.seg(0, FIN, false, &[], 20.0, None);
        let v = one(c);
        assert_eq!(
            v["verdict"], "smc",
            "{len} bytes in {chunk}-byte segments: {v:#}"
        );
        assert_eq!(v["kind"], "SMC-D");
        assert_eq!(v["device"], "loopback-ism");
    }
}

#[test]
fn over_long_proposal_beyond_the_buffer_is_a_violation() {
    // a Proposal cannot exceed 652 bytes: its length formula fails (smc_clc_msg_prop_valid)
    let mut c = Conv::new();
    c.handshake(true, true);
    c.chunks(0, &stretch(ref_msg("proposal"), 5000), 1400);
    let v = one(c);
    assert_eq!(v["verdict"], "violation", "{v:#}");
}

#[test]
fn client_that_sends_plain_data_after_advertising_smc() {
    // review M3: the client spoke first and not CLC (a client-side fallback such as TFO)
    let mut c = Conv::new();
    c.handshake(true, true);
    c.seg(0, PSH, false, b"GET / HTTP/1.1\r\n\r\n", 0.001, None);
    c.seg(1, RST, false, &[], 0.001, None);
    let v = one(c);
    assert_eq!(v["verdict"], "option-echoed-no-clc");
    assert_eq!(v["first_payload_by"], "client");
    let s = v["summary"].as_str().unwrap();
    assert!(s.contains("client advertised SMC"), "{s}");
    assert!(s.contains("EPROTO"), "{s}");
}

#[test]
fn server_mem_decline_before_the_proposal_is_a_decline() {
    // review L1: smc_listen_work declines MEM (v1) when it cannot allocate the Proposal buffer
    let mut c = Conv::new();
    c.handshake(true, true);
    c.seg(1, PSH, false, &decline_v1(0x0101_0000, false), 0.001, None);
    c.seg(0, PSH, false, &unhex(PROPOSAL), 0.0001, None);
    let v = one(c);
    assert_eq!(v["verdict"], "declined", "{v:#}");
    assert_eq!(v["by"], "server");
    assert_eq!(v["after"], "tcp-established");
    assert_eq!(v["reason"]["name"], "MEM");
}

#[test]
fn a_new_syn_on_the_same_ports_says_port_reused() {
    // review L2
    let mut c = Conv::new();
    c.handshake(true, true);
    c.seg(0, PSH, false, &unhex(PROPOSAL), 0.001, None);
    c.seq = [90_000, 70_000];
    c.handshake(true, true);
    c.seg(0, PSH, false, &unhex(PROPOSAL), 0.001, None);
    c.seg(1, PSH, false, &unhex(ACCEPT), 0.001, None);
    c.seg(0, PSH, false, &unhex(CONFIRM), 0.001, None);
    c.seg(0, FIN, false, &[], 20.0, None);
    let v = c.verdicts();
    assert_eq!(v.len(), 2, "{v:#?}");
    assert_eq!(v[0]["verdict"], "incomplete");
    assert_eq!(v[0]["cause"], "port-reused");
    assert_eq!(v[1]["verdict"], "smc");
}

#[test]
fn out_of_sync_decline_where_linux_never_sends_one_is_flagged() {
    // review M8: the bit from the server right after the Proposal (no link group exists yet)
    let mut c = Conv::new();
    c.handshake(true, true);
    c.seg(0, PSH, false, &unhex(PROPOSAL), 0.001, None);
    c.seg(1, PSH, false, &decline_v1(0x0400_0000, true), 0.001, None);
    let v = one(c);
    assert_eq!(v["verdict"], "declined");
    assert_eq!(v["out_of_sync"], true);
    let a = anomaly_texts(&v);
    assert!(
        a.iter()
            .any(|t| t.contains("out-of-sync flag where Linux never sets it")),
        "{a:?}"
    );
}

#[test]
fn client_decline_while_waiting_for_the_accept_is_flagged() {
    // review M8: __smc_connect's Accept wait only times out; it never sends a Decline
    let mut c = Conv::new();
    c.handshake(true, true);
    c.seg(0, PSH, false, &unhex(PROPOSAL), 0.001, None);
    c.seg(0, PSH, false, &decline_v1(0x0101_0000, false), 0.001, None);
    let v = one(c);
    assert_eq!(v["verdict"], "declined");
    assert_eq!(v["after"], "proposal");
    let a = anomaly_texts(&v);
    assert!(
        a.iter()
            .any(|t| t.contains("Linux never sends this Decline")),
        "{a:?}"
    );
}

#[test]
fn server_decline_after_an_smcd_confirm_is_never_read() {
    // review M8: smc_connect_ism has no Decline wait after its Confirm
    let mut c = Conv::new();
    c.handshake(true, true);
    c.seg(0, PSH, false, &ref_msg("proposal"), 0.001, None);
    c.seg(1, PSH, false, &ref_msg("accept"), 0.001, None);
    c.seg(0, PSH, false, &ref_confirm(), 0.001, None);
    c.seg(1, PSH, false, &decline_v1(0x0303_0009, false), 0.001, None);
    let v = one(c);
    assert_eq!(v["verdict"], "declined");
    assert_eq!(v["after"], "confirm");
    let a = anomaly_texts(&v);
    assert!(
        a.iter()
            .any(|t| t.contains("client never reads this Decline")),
        "{a:?}"
    );
}

#[test]
fn silent_server_after_the_proposal_is_no_answer() {
    // review M4: the server ACKs and says nothing; the client's connect() fails with ETIMEDOUT
    // (the reference peer's srv-stall case shows this on real 6.12 kernels)
    let mut c = Conv::new();
    c.handshake(true, true);
    c.seg(0, PSH, false, &unhex(PROPOSAL), 0.001, None);
    c.seg(1, ACK, false, &[], 0.001, None);
    c.seg(0, RST, false, &[], 6.1, None);
    let v = one(c);
    assert_eq!(v["verdict"], "incomplete");
    assert_eq!(v["stage"], "proposal");
    assert_eq!(v["cause"], "no-answer");
}

#[test]
fn server_that_started_an_accept_then_stalled_is_a_timeout() {
    let mut c = Conv::new();
    c.handshake(true, true);
    c.seg(0, PSH, false, &unhex(PROPOSAL), 0.001, None);
    c.seg(1, PSH, false, &unhex(ACCEPT)[..20], 0.001, None);
    c.seg(0, ACK, false, &[], 7.0, None);
    let v = one(c);
    assert_eq!(v["verdict"], "incomplete");
    assert_eq!(v["cause"], "timeout");
}

/// The deb-smcr lab capture's SMC-R v2 Accept (160 B) and Confirm (180 B) from Debian
/// 6.12.117 (captures/lab/deb-6.12.117+deb12-amd64/deb-smcr.pcap, frames of the first
/// connection), made release 0 as a 6.1 peer sends them: FCE release nibble 0 and its last 16
/// bytes zero (§4.3: "in v2.0 the last 16 were reserved").
fn smcr_v2_release0() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let p = unhex("e2d4c3d901009c22000000000000000000000000000000000000000000000000000000000000000000000000000000000000001c00000000000000000000000000000000000000000000000000000000010000100000000000000000000000000000ffffc0a83202ff020001000000000000000000000000534d432d4c41422d554549442020202020202020202020202020202020202020e2d4c3d9");
    let mut a = unhex("e2d4c3d90200a0283a6452540000500100000000000000000000ffffc0a832015254000050010000110000033501000000012300ff3ea7eb82a300000043dc9d534d432d4c41422d554549442020202020202020202020202020202020202020000000000000000080210000286e6f6e65292020202020202020202020202020202020202020202020202020ff020001000000000000000000000000e2d4c3d9");
    let mut cf = unhex("e2d4c3d90300b428305552540000500200000000000000000000ffffc0a832025254000050020000110000034401000000012300ff23669402d6000000fb0bc6534d432d4c41422d554549442020202020202020202020202020202020202020000000000000000080210000286e6f6e65292020202020202020202020202020202020202020202020202020ff0200010000000000000000000000000100000000000000000000000000ffffc0a83202e2d4c3d9");
    for m in [&mut a, &mut cf] {
        // the FCE is at 104 in both (§4.4: 56 + 40 + 8 of EID/… ; checked: 0x80 0x21 there)
        assert_eq!(&m[104..106], &[0x80, 0x21]);
        m[105] = 0x20;
        m[140..156].fill(0);
    }
    (p, a, cf)
}

#[test]
fn release0_smcr_reports_no_v21_limits() {
    // review M6: with release 0 nothing is negotiated (smc_clc_clnt_v2x_features_validate
    // returns early); a verdict must not claim max_conns 0 / max_links 0
    let (p, a, cf) = smcr_v2_release0();
    let mut c = Conv::new();
    c.handshake(true, true);
    c.seg(0, PSH, false, &p, 0.001, None);
    c.seg(1, PSH, false, &a, 0.001, None);
    c.seg(0, PSH, false, &cf, 0.001, None);
    c.seg(0, FIN, false, &[], 20.0, None);
    let v = one(c);
    assert_eq!(v["verdict"], "smc", "{v:#}");
    assert_eq!(v["release"], 0);
    assert!(v.get("max_conns").is_none(), "{v:#}");
    assert!(v.get("max_links").is_none(), "{v:#}");
}

#[test]
fn midstream_capture_starting_with_the_confirm_is_not_a_violation() {
    // review M1: the server waits for the Confirm, not for a Proposal
    let mut c = Conv::new();
    c.seg(0, PSH, false, &unhex(CONFIRM), 0.0, None);
    c.seg(0, FIN, false, &[], 20.0, None);
    let v = one(c);
    assert_eq!(v["verdict"], "clc-without-option", "{v:#}");
    assert_ne!(v["clc"]["verdict"], "violation", "{v:#}");
}

#[test]
fn midstream_decline_does_not_claim_a_stage() {
    // review M2
    let mut c = Conv::new();
    c.seg(0, PSH, false, &decline_v1(0x0304_0000, false), 0.0, None);
    let v = one(c);
    assert_eq!(v["clc"]["verdict"], "declined", "{v:#}");
    assert_eq!(v["clc"]["after"], "unknown");
    assert!(v["summary"]
        .as_str()
        .unwrap()
        .contains("guessed from the ports"));
}

#[test]
fn syn_with_option_then_client_data_without_a_synack_gets_a_verdict() {
    // review M5: a one-direction capture
    let mut c = Conv::new();
    c.seg(0, SYN, true, &[], 0.0, None);
    c.seq[1] = c.seq[1].wrapping_add(1);
    c.seg(0, PSH, false, b"GET / HTTP/1.1\r\n\r\n", 0.01, None);
    c.seg(0, FIN, false, &[], 0.01, None);
    let v = one(c);
    assert_eq!(v["verdict"], "incomplete");
    assert_eq!(v["stage"], "syn");
    assert_eq!(v["cause"], "no-syn-ack-then-data");
}
