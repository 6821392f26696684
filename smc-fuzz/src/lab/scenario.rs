//! The scenario catalogue. Each scenario is data: which kernel, one VM or two, and
//! the guest steps. Assertions on the result live in `smc-fuzz/tests/lab.rs`.

use super::kernel::KernelKind;
use super::plan::{Step, Workload};

/// One VM or two.
#[derive(Debug, Clone)]
pub enum Topology {
    /// One VM; the capture is the guest's own (AF_PACKET on the scenario's interface).
    Single(Vec<Step>),
    /// Two VMs on one Ethernet segment (QEMU `-netdev socket`); `a` is the server.
    /// The capture is QEMU's `filter-dump` of the segment, cut to `snaplen`.
    Pair {
        /// Server VM steps.
        a: Vec<Step>,
        /// Client VM steps.
        b: Vec<Step>,
        /// Bytes kept per frame in the host capture (0 = all).
        snaplen: u32,
    },
}

/// A lab scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Name used on the command line and in file names.
    pub name: &'static str,
    /// One line: what it shows.
    pub about: &'static str,
    /// Kernel to boot.
    pub kernel: KernelKind,
    /// VMs and steps.
    pub topology: Topology,
    /// Hard limit for the whole VM run, seconds.
    pub timeout_secs: u64,
}

/// The UEID the lab uses when both sides must match (reference §6.4: upper case,
/// blank padded to 32 bytes by the guest).
pub const UEID: &str = "SMC-LAB-UEID";

fn w(addr: &str, port: u16, conns: u32, bytes: u64) -> Workload {
    Workload {
        addr: addr.into(),
        port,
        conns,
        batch: 0,
        bytes,
        parallel: false,
        limit_hs: false,
        backlog: 128,
        tolerate_errors: false,
        hold_ms: 0,
    }
}

fn lo_up() -> Step {
    Step::Link {
        ifname: "lo".into(),
        addr: None,
    }
}

fn capture(ifname: &str, file: &str) -> Step {
    Step::Capture {
        ifname: ifname.into(),
        file: file.into(),
        snaplen: 0,
    }
}

/// One VM: lo up, capture lo, extra setup, the workload, stop.
fn single_lo(pcap: &str, setup: Vec<Step>, pair: Workload) -> Topology {
    let mut s = vec![lo_up()];
    s.extend(setup);
    s.push(capture("lo", pcap));
    s.push(Step::Pair(pair));
    s.push(Step::StopCaptures);
    Topology::Single(s)
}

/// Options of one side of a two-VM scenario.
#[derive(Clone)]
struct Side {
    ip: &'static str,
    rxe: bool,
    ueid: Option<&'static str>,
}

/// Snapshot length of the two-VM captures: Ethernet 14 + IPv4 20 + TCP with timestamps 32 + the
/// longest legal CLC message (a 652-byte Proposal, reference §3.7) = 718, so every CLC, LLC and CDC
/// stays whole while RDMA WRITE payloads (up to the 1024-byte path MTU) are cut and the files
/// stay small.
const SNAPLEN: u32 = 768;
const SRV_IP: &str = "192.168.50.1";
const CLI_IP: &str = "192.168.50.2";

fn side_setup(s: &Side) -> Vec<Step> {
    let mut v = vec![
        lo_up(),
        Step::Link {
            ifname: "eth0".into(),
            addr: Some(format!("{}/24", s.ip)),
        },
    ];
    if s.rxe {
        v.push(Step::Rxe {
            name: "rxe0".into(),
            netdev: "eth0".into(),
        });
    }
    if let Some(u) = s.ueid {
        v.push(Step::Ueid(u.into()));
    }
    v
}

fn pair(a: Side, b: Side, work: Workload, snaplen: u32) -> Topology {
    let mut sa = side_setup(&a);
    sa.push(Step::Serve(work.clone()));
    let mut sb = side_setup(&b);
    sb.push(Step::Connect(work));
    Topology::Pair {
        a: sa,
        b: sb,
        snaplen,
    }
}

/// Every scenario, in the order `smc-lab run --all` runs them.
pub fn catalogue() -> Vec<Scenario> {
    let srv = Side {
        ip: SRV_IP,
        rxe: true,
        ueid: Some(UEID),
    };
    let cli = Side {
        ip: CLI_IP,
        rxe: true,
        ueid: Some(UEID),
    };
    vec![
        Scenario {
            name: "deb-nodev",
            about: "Debian kernel, one VM, no RDMA/ISM device: client Decline NOSMCDEV before any Proposal",
            kernel: KernelKind::Debian,
            topology: single_lo("deb-nodev.pcap", vec![], w("127.0.0.1", 45000, 1, 4096)),
            timeout_secs: 120,
        },
        Scenario {
            name: "deb-smcr",
            about: "Debian kernel, two VMs, Soft-RoCE + UEID: SMC-Rv2 first contact then link-group reuse, LLC + CDC on RoCEv2",
            kernel: KernelKind::Debian,
            topology: pair(srv.clone(), cli.clone(), w(SRV_IP, 45100, 3, 64 * 1024), SNAPLEN),
            timeout_secs: 240,
        },
        Scenario {
            name: "deb-smcr-srv-norxe",
            about: "Debian kernel, two VMs, server without RoCE: SMC-Rv2 Proposal, server Decline v2 NOSMCRDEV",
            kernel: KernelKind::Debian,
            topology: pair(
                Side { rxe: false, ..srv.clone() },
                cli.clone(),
                w(SRV_IP, 45200, 1, 4096),
                0,
            ),
            timeout_secs: 240,
        },
        Scenario {
            name: "deb-ueid-mismatch",
            about: "Debian kernel, two VMs, Soft-RoCE, different UEIDs: server declines the SMC-Rv2 Proposal",
            kernel: KernelKind::Debian,
            topology: pair(
                Side { ueid: Some("SMC-LAB-SERVER"), ..srv.clone() },
                Side { ueid: Some("SMC-LAB-CLIENT"), ..cli.clone() },
                w(SRV_IP, 45300, 1, 4096),
                0,
            ),
            timeout_secs: 240,
        },
        Scenario {
            name: "deb-smcr-cdc-wrap",
            about: "Debian kernel, two VMs, SMC-R with 1 MiB echoed through a 64 KiB RMB: CDC cursor wrap",
            kernel: KernelKind::Debian,
            topology: pair(srv.clone(), cli.clone(), w(SRV_IP, 45400, 1, 1 << 20), SNAPLEN),
            timeout_secs: 300,
        },
        Scenario {
            name: "deb-smcr-testlink",
            about: "Debian kernel, two VMs, SMC-R with net.smc.smcr_testlink_time = 1 s and the connection idle for 4 s: TEST LINK on the wire",
            kernel: KernelKind::Debian,
            topology: {
                let mut t = pair(
                    srv.clone(),
                    cli.clone(),
                    Workload {
                        hold_ms: 4000,
                        ..w(SRV_IP, 45450, 1, 4096)
                    },
                    SNAPLEN,
                );
                if let Topology::Pair { a, b, .. } = &mut t {
                    for steps in [a, b] {
                        // smcr_testlink_time is read when the link group is created
                        // (smc_llc_lgr_init, net/smc/smc_llc.c): set it before connecting
                        steps.insert(
                            1,
                            Step::Sysctl {
                                key: "net.smc.smcr_testlink_time".into(),
                                value: "1".into(),
                            },
                        );
                    }
                }
                t
            },
            timeout_secs: 240,
        },
        Scenario {
            name: "deb-pnet-srv-norxe",
            about: "Debian kernel, two VMs, client with a PNET entry tying eth0 to rxe0 (needed by 6.1), server without RoCE: SMC-Rv2 Proposal, Decline v2 NOSMCRDEV",
            kernel: KernelKind::Debian,
            topology: {
                let mut t = pair(
                    Side { rxe: false, ..srv.clone() },
                    cli.clone(),
                    w(SRV_IP, 45250, 1, 4096),
                    0,
                );
                if let Topology::Pair { b, .. } = &mut t {
                    // Debian 6.1's smc_pnet cannot find rxe's netdev by itself
                    // (no ib_device_get_netdev there): tie them with a PNET ID
                    b.push(Step::Pnet {
                        pnetid: "LABNET".into(),
                        eth: "eth0".into(),
                        ib: "rxe0".into(),
                        port: 1,
                    });
                    let c = b.remove(b.len() - 2);
                    b.push(c);
                }
                t
            },
            timeout_secs: 240,
        },
        Scenario {
            name: "lo-noueid",
            about: "SMC_LO kernel, loopback-ism without a UEID: SMC-Dv2 Proposal, Decline v2 NOUEID",
            kernel: KernelKind::SmcLo,
            topology: single_lo("lo-noueid.pcap", vec![], w("127.0.0.1", 45500, 1, 4096)),
            timeout_secs: 120,
        },
        Scenario {
            name: "lo-smcd",
            about: "SMC_LO kernel, loopback-ism with a UEID: SMC-Dv2 (CHID 0xFFFF, 128-bit GID), first contact then reuse",
            kernel: KernelKind::SmcLo,
            topology: single_lo("lo-smcd.pcap", vec![Step::Ueid(UEID.into())], w("127.0.0.1", 45600, 3, 4096)),
            timeout_secs: 120,
        },
        Scenario {
            name: "lo-smcd-ipv6",
            about: "SMC_LO kernel, loopback-ism over IPv6 ::1 with a UEID: SMC-Dv2",
            kernel: KernelKind::SmcLo,
            topology: single_lo("lo-smcd-ipv6.pcap", vec![Step::Ueid(UEID.into())], w("::1", 45700, 2, 4096)),
            timeout_secs: 120,
        },
        Scenario {
            name: "lo-smcd-500",
            about: "SMC_LO kernel, 520 SMC-D connections in batches of 200: one first contact, the rest reuse the link group",
            kernel: KernelKind::SmcLo,
            topology: single_lo(
                "lo-smcd-500.pcap",
                vec![Step::Ueid(UEID.into())],
                Workload {
                    batch: 200,
                    backlog: 512,
                    ..w("127.0.0.1", 45800, 520, 64)
                },
            ),
            timeout_secs: 300,
        },
        Scenario {
            name: "lo-limit-hs",
            about: "SMC_LO kernel, SMC_LIMIT_HS listener, 350 connects, then 350 more while 300 never-answered connects hold smc_hs_wq congested: their SYN-ACKs carry no SMC option",
            kernel: KernelKind::SmcLo,
            topology: single_lo(
                "lo-limit-hs.pcap",
                vec![Step::Ueid(UEID.into())],
                Workload {
                    limit_hs: true,
                    backlog: 1024,
                    tolerate_errors: true,
                    ..w("127.0.0.1", 45900, 700, 16)
                },
            ),
            timeout_secs: 300,
        },
        Scenario {
            name: "lo-2vm-dr",
            about: "SMC_LO kernel, two VMs with loopback-ism and Soft-RoCE: Proposal offers SMC-Dv2 + SMC-Rv2, server picks SMC-Rv2",
            kernel: KernelKind::SmcLo,
            topology: pair(srv, cli, w(SRV_IP, 46000, 2, 16 * 1024), SNAPLEN),
            timeout_secs: 240,
        },
    ]
}

/// Looks a scenario up by name.
pub fn find(name: &str) -> Option<Scenario> {
    catalogue().into_iter().find(|s| s.name == name)
}
