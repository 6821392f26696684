//! What the in-guest program does, written by the host as `plan.json` into the VM's
//! 9p share and read by `smc-guest` (PID 1).

use serde::{Deserialize, Serialize};

/// The instructions for one VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Scenario name (for logs).
    pub scenario: String,
    /// VM name: `single`, `a` (server VM) or `b` (client VM).
    pub vm: String,
    /// Steps, in order. A failing step stops the plan (the report says which).
    pub steps: Vec<Step>,
}

/// One AF_SMC echo workload: the client writes `bytes` on each connection and
/// reads them back; `smc_diag` is sampled while the connections are established.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workload {
    /// Address the server listens on and the client connects to.
    pub addr: String,
    /// TCP port.
    pub port: u16,
    /// Number of connections.
    pub conns: u32,
    /// At most this many connections are open at once; each batch is sampled by
    /// `smc_diag` and then closed (0 = all at once). Keeps one SMC-D link group under
    /// its 255-connection limit (`SMC_RMBS_PER_LGR_MAX`, net/smc/smc_core.h).
    pub batch: u32,
    /// Bytes echoed per connection.
    pub bytes: u64,
    /// Start all connects of a batch at once (non-blocking), instead of one by one.
    pub parallel: bool,
    /// Set `SMC_LIMIT_HS` on the listening socket (`smc_setsockopt`, net/smc/af_smc.c).
    pub limit_hs: bool,
    /// Listen backlog.
    pub backlog: u32,
    /// Count failed connects / echo sessions instead of failing the step.
    #[serde(default)]
    pub tolerate_errors: bool,
    /// Keep the connections open and idle this long after the echo, before
    /// sampling (e.g. to let an SMC-R link send TEST LINK).
    #[serde(default)]
    pub hold_ms: u64,
}

/// A guest step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// Load kernel modules listed in the initramfs's `/lib/modules/load.list`.
    LoadModules,
    /// Bring an interface up, optionally with an IPv4 address `a.b.c.d/len`.
    Link {
        /// Interface name.
        ifname: String,
        /// IPv4 address with prefix length.
        addr: Option<String>,
    },
    /// Add a Soft-RoCE device (`rdma link add NAME type rxe netdev NETDEV`).
    Rxe {
        /// RDMA device name, e.g. `rxe0`.
        name: String,
        /// Ethernet device.
        netdev: String,
    },
    /// Add a user EID (`smcr ueid add`; `SMC_NETLINK_ADD_UEID`).
    Ueid(String),
    /// Add a PNET table entry (`smc_pnet -a`; `SMC_PNETID_ADD`).
    Pnet {
        /// PNET ID.
        pnetid: String,
        /// Ethernet device.
        eth: String,
        /// RDMA device.
        ib: String,
        /// RDMA port.
        port: u8,
    },
    /// Write a sysctl (`/proc/sys/<key with dots as slashes>`).
    Sysctl {
        /// e.g. `net.smc.limit_smc_hs`.
        key: String,
        /// Value to write.
        value: String,
    },
    /// Start an AF_PACKET capture on an interface into `file` (in the share).
    Capture {
        /// Interface.
        ifname: String,
        /// Output pcap file name.
        file: String,
        /// Bytes kept per packet (0 = whole packet).
        snaplen: u32,
    },
    /// Server and client in this VM.
    Pair(Workload),
    /// Server only; the client is another VM. Both sides synchronise over UDP on
    /// `port + 1000` (ready / sampled / ack / done), see `guest::workload::serve`.
    Serve(Workload),
    /// Client only; waits for the server's "ready" first.
    Connect(Workload),
    /// Stop all captures and write the pcaps.
    StopCaptures,
    /// Sleep this many milliseconds.
    Sleep(u64),
    /// Serve the host's reference peer (issue 7): listen (and echo) on the given ports, then
    /// run the commands the host writes into the share (`cmd-N.json` → `res-N.json`, see
    /// [`AgentCmd`]) until `stop`.
    Agent(AgentSpec),
}

/// The agent's listeners.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentSpec {
    /// `addr:port` pairs to listen on with AF_SMC; every accepted connection is sampled by
    /// `smc_diag` right after `accept` and then echoed until EOF.
    pub listen: Vec<String>,
    /// Give up when no command came for this long, seconds.
    pub idle_secs: u64,
}

/// One command from the host to the agent (`cmd-N.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AgentCmd {
    /// AF_SMC connect to `addr` (`ip:port`), sample smc_diag, send `bytes` and read the echo.
    Connect {
        /// Target.
        addr: String,
        /// Bytes to echo (0: none).
        bytes: u64,
    },
    /// [`AgentCmd::Connect`] with a read timeout for the echo (the kernel fuzzer sends data
    /// over connections whose peer never echoes; the default wait is 8 s).
    ConnectTimed {
        /// Target.
        addr: String,
        /// Bytes to send (and expect back).
        bytes: u64,
        /// How long to wait for the echo, ms.
        read_timeout_ms: u64,
    },
    /// The connections accepted since the last `accepted` (with their smc_diag).
    Accepted,
    /// Only the new kernel log lines.
    Kmsg,
    /// smc_diag of every AF_SMC socket that is not listening (the kernel fuzzer's stuck-socket
    /// check).
    Diag,
    /// End the agent step.
    Stop,
}

/// The agent's answer (`res-N.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AgentResult {
    /// What happened, one line.
    pub summary: String,
    /// `connect`: whether it succeeded.
    pub connected: Option<bool>,
    /// `connect`: errno of a failed connect.
    pub errno: Option<i32>,
    /// `connect`: whether the echo came back intact.
    pub echo_ok: Option<bool>,
    /// smc_diag of the connections concerned.
    pub diag: Vec<crate::lab::diag::ConnDiag>,
    /// Kernel log lines (`/dev/kmsg`) since the previous command.
    pub kmsg: Vec<String>,
}

/// What the guest writes back as `report.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// `uname -r`.
    pub kernel_release: String,
    /// VM name from the plan.
    pub vm: String,
    /// Whether every step succeeded.
    pub ok: bool,
    /// One line per step: what happened (or the error).
    pub log: Vec<String>,
    /// Connections seen by `smc_diag` (see [`crate::lab::diag`]).
    pub connections: Vec<crate::lab::diag::ConnDiag>,
    /// Pcaps written by the guest.
    pub pcaps: Vec<crate::lab::diag::PcapInfo>,
    /// Client connects that failed (workloads with `tolerate_errors`).
    #[serde(default)]
    pub failed_connects: u32,
}
