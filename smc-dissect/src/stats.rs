//! Run statistics: a value with `AddAssign` (ripgrep `stats.rs` habit), merged by the caller and
//! printed last. Every bound in the pipeline has a counter that reaches here.

use std::collections::BTreeMap;
use std::ops::AddAssign;

use serde::Serialize;

/// Counters of one run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Frames read.
    pub frames: u64,
    /// Bytes of captured frame data.
    pub bytes: u64,
    /// Frames that were IPv4/IPv6.
    pub ip_frames: u64,
    /// TCP segments.
    pub tcp_segments: u64,
    /// UDP/4791 (RoCEv2) and ethertype 0x8915 (RoCEv1) frames.
    pub roce_frames: u64,
    /// Frames cut by the snapshot length inside a layer smcdump needed.
    pub truncated_frames: u64,
    /// Frames of link types smcdump does not decode.
    pub unsupported_link_frames: u64,
    /// Frames whose IP/TCP/UDP length or version fields are impossible.
    pub malformed_frames: u64,
    /// Non-first IP fragments (not decoded).
    pub ip_fragments: u64,
    /// SYNs/SYN-ACKs carrying the SMC option.
    pub smc_options: u64,
    /// CLC messages decoded.
    pub clc_messages: u64,
    /// CLC messages the kernel's receive checks would reject.
    pub clc_rejected: u64,
    /// SMC-relevant connections (verdicts given).
    pub connections: u64,
    /// Verdicts by name.
    pub verdicts: BTreeMap<String, u64>,
    /// Decline reasons by name (or hex for unknown codes).
    pub decline_reasons: BTreeMap<String, u64>,
    /// Flows evicted from the flow table before they ended.
    pub flows_evicted: u64,
    /// Most flows tracked at once.
    pub flows_peak: u64,
    /// Bytes reassembly dropped because a direction exceeded its buffer cap.
    pub reassembly_dropped: u64,
    /// Holes reassembly skipped.
    pub reassembly_gaps: u64,
    /// LLC messages decoded.
    pub llc_messages: u64,
    /// CDC messages decoded.
    pub cdc_messages: u64,
    /// RDMA WRITE frames (data, opaque).
    pub rdma_writes: u64,
    /// SEND First/Middle/Last frames: parts of v2 LLC messages longer than the path MTU
    /// (§8.4), noticed but not reassembled. Left out of the JSON while 0 (rare).
    #[serde(skip_serializing_if = "is_zero")]
    pub llc_multi_packet: u64,
    /// Input files ended mid-record.
    pub truncated_files: u64,
    /// Live capture: packets the kernel's capture filter passed (`PACKET_STATISTICS`
    /// `tp_packets`); absent for files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel_received: Option<u64>,
    /// Live capture: of those, packets the kernel dropped because smcdump did not read them in
    /// time (`tp_drops`); absent for files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel_dropped: Option<u64>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Stats {
    /// Counts one verdict.
    pub fn count_verdict(&mut self, v: &crate::verdict::Verdict) {
        self.connections += 1;
        *self.verdicts.entry(v.name().to_string()).or_default() += 1;
        let decline = match v {
            crate::verdict::Verdict::Declined(d) => Some(d.reason),
            crate::verdict::Verdict::ClcWithoutOption { clc, .. } => match clc.as_ref() {
                crate::verdict::Verdict::Declined(d) => Some(d.reason),
                _ => None,
            },
            _ => None,
        };
        if let Some(r) = decline {
            *self.decline_reasons.entry(r.to_string()).or_default() += 1;
        }
    }

    /// True when a CLC message failed the kernel checks or a violation was found.
    pub fn saw_malformed_smc(&self) -> bool {
        self.clc_rejected > 0 || self.verdicts.get("violation").copied().unwrap_or(0) > 0
    }
}

impl AddAssign<&Stats> for Stats {
    fn add_assign(&mut self, o: &Stats) {
        self.frames += o.frames;
        self.bytes += o.bytes;
        self.ip_frames += o.ip_frames;
        self.tcp_segments += o.tcp_segments;
        self.roce_frames += o.roce_frames;
        self.truncated_frames += o.truncated_frames;
        self.unsupported_link_frames += o.unsupported_link_frames;
        self.ip_fragments += o.ip_fragments;
        self.malformed_frames += o.malformed_frames;
        self.smc_options += o.smc_options;
        self.clc_messages += o.clc_messages;
        self.clc_rejected += o.clc_rejected;
        self.connections += o.connections;
        for (k, v) in &o.verdicts {
            *self.verdicts.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &o.decline_reasons {
            *self.decline_reasons.entry(k.clone()).or_default() += v;
        }
        self.flows_evicted += o.flows_evicted;
        self.flows_peak = self.flows_peak.max(o.flows_peak);
        self.reassembly_dropped += o.reassembly_dropped;
        self.reassembly_gaps += o.reassembly_gaps;
        self.llc_messages += o.llc_messages;
        self.cdc_messages += o.cdc_messages;
        self.rdma_writes += o.rdma_writes;
        self.llc_multi_packet += o.llc_multi_packet;
        self.truncated_files += o.truncated_files;
        let add = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
        };
        self.kernel_received = add(self.kernel_received, o.kernel_received);
        self.kernel_dropped = add(self.kernel_dropped, o.kernel_dropped);
    }
}
