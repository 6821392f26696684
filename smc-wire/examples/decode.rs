//! Decodes one CLC message given as hex on the command line (or stdin) and prints it in both
//! modes: `cargo run -p smc-wire --example decode -- e2d4c3d904001c10…`
use smc_wire::{ClcRepr, Mode};
use std::io::Read;

fn main() -> std::process::ExitCode {
    let mut hex: String = std::env::args().skip(1).collect::<Vec<_>>().join("");
    if hex.is_empty() {
        let _ = std::io::stdin().read_to_string(&mut hex);
    }
    let clean: String = hex.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    let bytes: Vec<u8> = (0..clean.len() / 2)
        .filter_map(|i| u8::from_str_radix(&clean[2 * i..2 * i + 2], 16).ok())
        .collect();
    for mode in [Mode::Strict, Mode::Lenient] {
        match ClcRepr::parse(&bytes, mode) {
            Ok(d) => {
                if std::env::var_os("COMPACT").is_some() {
                    println!("{mode:?}: {:?}", d.repr)
                } else {
                    println!("{mode:?}: {:#?}", d.repr)
                }
                for a in d.anomalies.iter() {
                    println!("  anomaly: {a}");
                }
            }
            Err(e) => println!("{mode:?}: error: {e}"),
        }
    }
    std::process::ExitCode::SUCCESS
}
