//! `smc-peer`: the reference SMC peer (issue 7). A userspace SMC endpoint with its own TCP/IP
//! that drives a real kernel through the CLC handshake. See `smc-peer --help`.
use clap::{Args, Parser, Subcommand};
use smc_fuzz::net::wire::{Datalink, QemuStream, Wire};
use smc_fuzz::peer::scenario::{
    AfterAccept, EntrySpec, ProposalSpec, ReplySpec, Role, Scenario, Value64,
};
use smc_fuzz::peer::{client, record::Recorder, server, Peer, PeerConfig};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// A userspace SMC peer with its own TCP/IP: it puts the SMC option (`01 01 fe 06 e2 d4 c3 d9`)
/// into its SYN or SYN-ACK — which a host socket cannot — and then speaks CLC (Proposal,
/// Accept, Confirm, Decline) to a real Linux kernel, as client or server. What it offers,
/// accepts or declines comes from a scenario file (TOML or JSON) and/or flags; every message is
/// built from smc-wire's representations. Every frame sent and received goes into a pcap that
/// smcdump reads.
///
/// The wire is QEMU's `-netdev socket` stream (no root: start QEMU with
/// `-netdev socket,id=n1,listen=127.0.0.1:PORT` and pass `--qemu 127.0.0.1:PORT`) or a real
/// interface (`--iface veth0`, needs CAP_NET_RAW), e.g. one end of a veth pair whose other end
/// sits in the network namespace of the kernel under test.
///
/// Examples:
///   smc-peer example d-kernel-gid > s.toml          # a scenario of the lab matrix, as TOML
///   smc-peer client --qemu 127.0.0.1:5555 --target 192.168.50.1:45000 --scenario s.toml
///   smc-peer client --qemu 127.0.0.1:5555 --target 192.168.50.1:45000 --typev2 D \
///       --virtual 0x1122334455667788:0x99aabbccddeeff00 --ueid SMC-LAB-UEID --release 15
///   smc-peer server --qemu 127.0.0.1:5555 --port 46000 --decline NOSMCDEV --pcap s.pcap
#[derive(Parser)]
#[command(name = "smc-peer", version, verbatim_doc_comment)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Connect to a kernel listener and send a Proposal.
    Client(Run),
    /// Listen for a kernel client and answer its Proposal.
    Server(Run),
    /// Print a scenario of the lab matrix as TOML (`smc-peer list` names them).
    Example {
        /// Scenario name.
        name: String,
    },
    /// List the lab matrix scenarios.
    List,
}

#[derive(Args)]
struct Run {
    /// QEMU `-netdev socket,listen=ADDR` to connect to.
    #[arg(long, conflicts_with = "iface")]
    qemu: Option<SocketAddr>,
    /// Network interface for AF_PACKET (pnet datalink).
    #[arg(long)]
    iface: Option<String>,
    /// Our IPv4 address.
    #[arg(long, default_value = "192.168.50.2")]
    ip: Ipv4Addr,
    /// Our MAC address.
    #[arg(long, default_value = "52:54:00:00:50:02")]
    mac: String,
    /// Client: the kernel's `ip:port`.
    #[arg(long)]
    target: Option<SocketAddr>,
    /// Server: the port to listen on.
    #[arg(long, default_value_t = 46000)]
    port: u16,
    /// Scenario file (TOML, or JSON if it starts with `{`); flags below override it.
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// Proposal typev1 (R, D, B, N).
    #[arg(long)]
    typev1: Option<String>,
    /// Proposal typev2.
    #[arg(long)]
    typev2: Option<String>,
    /// Proposal header version.
    #[arg(long)]
    version: Option<u8>,
    /// Release nibble of the v2 extension (0..15).
    #[arg(long)]
    release: Option<u8>,
    /// A UEID (repeat for several).
    #[arg(long)]
    ueid: Vec<String>,
    /// Set the SEID indicator.
    #[arg(long)]
    seid: bool,
    /// A raw SMC-Dv2 entry `GID:CHID` (hex or `kernel`, `kernel-ext`, `random`).
    #[arg(long)]
    entry: Vec<String>,
    /// An Emulated-ISM 128-bit GID `GID:GID_EXT` on CHID 0xFFFF (`kernel:kernel-ext` = collision).
    #[arg(long = "virtual")]
    virtual_gid: Vec<String>,
    /// v2.1 max_conns / max_links.
    #[arg(long)]
    max_conns: Option<u8>,
    /// v2.1 max_links.
    #[arg(long)]
    max_links: Option<u8>,
    /// Client: decline after an Accept with this code; server: decline the Proposal.
    #[arg(long)]
    decline: Option<String>,
    /// Write the capture here.
    #[arg(long)]
    pcap: Option<PathBuf>,
    /// Seconds to wait for the kernel to connect (server) or answer.
    #[arg(long, default_value_t = 60)]
    wait: u64,
}

fn parse_mac(s: &str) -> Result<[u8; 6], String> {
    let v: Vec<u8> = s
        .split(':')
        .filter_map(|p| u8::from_str_radix(p, 16).ok())
        .collect();
    v.try_into()
        .map_err(|_| format!("bad MAC {s:?}: want aa:bb:cc:dd:ee:ff"))
}

fn scenario(r: &Run, role: Role) -> Result<Scenario, String> {
    let mut s = match &r.scenario {
        Some(p) => Scenario::from_text(
            &std::fs::read_to_string(p).map_err(|e| format!("reading {}: {e}", p.display()))?,
        )?,
        None => Scenario {
            name: "cli".into(),
            about: String::new(),
            role,
            tcp: Default::default(),
            proposal: None,
            after_accept: AfterAccept::default(),
            reply: None,
            data: 64,
        },
    };
    s.role = role;
    if role == Role::Client {
        let p = s.proposal.get_or_insert_with(ProposalSpec::default);
        if let Some(v) = &r.typev1 {
            p.typev1 = v.clone();
        }
        if let Some(v) = &r.typev2 {
            p.typev2 = v.clone();
        }
        if let Some(v) = r.version {
            p.version = v;
        }
        if let Some(v) = r.release {
            p.release = v;
        }
        if !r.ueid.is_empty() {
            p.ueids = r.ueid.clone();
        }
        p.seid |= r.seid;
        if let Some(v) = r.max_conns {
            p.max_conns = v;
        }
        if let Some(v) = r.max_links {
            p.max_links = v;
        }
        for e in &r.entry {
            let (g, c) = e
                .split_once(':')
                .ok_or(format!("--entry {e:?}: want GID:CHID"))?;
            let chid = u16::from_str_radix(c.trim_start_matches("0x"), 16)
                .map_err(|_| format!("bad CHID in {e:?}"))?;
            p.entries.push(EntrySpec::Raw {
                gid: Value64(g.into()),
                chid,
            });
        }
        for e in &r.virtual_gid {
            let (g, x) = e
                .split_once(':')
                .ok_or(format!("--virtual {e:?}: want GID:GID_EXT"))?;
            p.entries.push(EntrySpec::Virtual {
                gid: Value64(g.into()),
                gid_ext: Value64(x.into()),
                chid: 0xffff,
                swapped: false,
            });
        }
        if let Some(d) = &r.decline {
            s.after_accept = AfterAccept::Decline { code: d.clone() };
        }
    } else if let Some(d) = &r.decline {
        s.reply = Some(ReplySpec::Decline {
            code: d.clone(),
            version: None,
            out_of_sync: false,
        });
    }
    Ok(s)
}

fn run(r: &Run, role: Role) -> Result<(), String> {
    let s = scenario(r, role)?;
    let wire: Box<dyn Wire> = match (&r.qemu, &r.iface) {
        (Some(a), _) => Box::new(
            QemuStream::connect(*a, Duration::from_secs(r.wait)).map_err(|e| e.to_string())?,
        ),
        (None, Some(i)) => Box::new(Datalink::open(i).map_err(|e| e.to_string())?),
        (None, None) => return Err("give --qemu ADDR or --iface NAME (see --help)".into()),
    };
    let rec = match &r.pcap {
        Some(p) => Some(Recorder::create(p).map_err(|e| e.to_string())?),
        None => None,
    };
    let cfg = PeerConfig {
        mac: parse_mac(&r.mac)?,
        ipv4: Some(r.ip),
        ipv6: None,
        seed: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
    };
    let mut peer = Peer::new(wire, cfg, rec);
    let o = match role {
        Role::Client => {
            let t = r.target.ok_or("client needs --target IP:PORT")?;
            client::run(&mut peer, &s, t)
        }
        Role::Server => server::run(&mut peer, &s, r.port, Duration::from_secs(r.wait)),
    }
    .map_err(|e| e.to_string())?;
    println!(
        "{}",
        serde_json::to_string_pretty(&o).map_err(|e| e.to_string())?
    );
    eprintln!("{}", o.summary());
    Ok(())
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let r = match &cli.cmd {
        Cmd::Client(a) => run(a, Role::Client),
        Cmd::Server(a) => run(a, Role::Server),
        Cmd::List => {
            for c in smc_fuzz::lab::peer::matrix() {
                println!("{:<36} {}", c.scenario.name, c.scenario.about);
            }
            Ok(())
        }
        Cmd::Example { name } => smc_fuzz::lab::peer::matrix()
            .into_iter()
            .find(|c| &c.scenario.name == name)
            .ok_or_else(|| format!("no scenario {name:?} (smc-peer list)"))
            .and_then(|c| c.scenario.to_toml())
            .map(|t| print!("{t}")),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("smc-peer: {e}");
            ExitCode::from(2)
        }
    }
}
