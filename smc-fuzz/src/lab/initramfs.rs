//! The initramfs: our static `smc-guest` as `/init`, plus (for a Debian kernel) the
//! modules the lab needs with their dependencies, uncompressed, in load order.
//! Written as an uncompressed `newc` cpio archive (the kernel always accepts that).

use super::{Context, LabError, Result};
use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Modules the lab wants from a modular (Debian) kernel; built-in ones are skipped.
/// `crc32_generic`: rxe allocates the "crc32" shash (`rxe_icrc_init`), and without a
/// /sbin/modprobe in the guest it must already be loaded.
pub const WANTED_MODULES: &[&str] = &[
    "virtio_pci",
    "virtio_net",
    "9pnet_virtio",
    "9p",
    "af_packet",
    "ipv6",
    "smc",
    "smc_diag",
    "rdma_rxe",
    "crc32_generic",
];

/// A newc cpio archive being built in memory.
#[derive(Default)]
pub struct Cpio {
    buf: Vec<u8>,
    ino: u32,
}

impl Cpio {
    fn entry(&mut self, name: &str, mode: u32, data: &[u8], rdev: (u32, u32)) {
        self.ino += 1;
        let name_z = format!("{name}\0");
        let hdr = format!(
            "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            self.ino,
            mode,
            0, // uid
            0, // gid
            1, // nlink
            0, // mtime: reproducible archives
            data.len(),
            0,
            0,
            rdev.0,
            rdev.1,
            name_z.len(),
            0 // check
        );
        self.buf.extend_from_slice(hdr.as_bytes());
        self.buf.extend_from_slice(name_z.as_bytes());
        while self.buf.len() % 4 != 0 {
            self.buf.push(0);
        }
        self.buf.extend_from_slice(data);
        while self.buf.len() % 4 != 0 {
            self.buf.push(0);
        }
    }
    /// A directory.
    pub fn dir(&mut self, name: &str) {
        self.entry(name, 0o040755, &[], (0, 0));
    }
    /// A regular file.
    pub fn file(&mut self, name: &str, mode: u32, data: &[u8]) {
        self.entry(name, 0o100000 | mode, data, (0, 0));
    }
    /// A character device node.
    pub fn chardev(&mut self, name: &str, major: u32, minor: u32) {
        self.entry(name, 0o020600, &[], (major, minor));
    }
    /// Finishes the archive.
    pub fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, &[], (0, 0));
        self.buf
    }
}

/// Reads a module file, decompressing `.ko.xz` / `.ko.zst` with the host tools.
fn read_module(path: &Path) -> Result<Vec<u8>> {
    let s = path.to_string_lossy();
    let tool = if s.ends_with(".xz") {
        Some("xz")
    } else if s.ends_with(".zst") {
        Some("zstd")
    } else {
        None
    };
    match tool {
        None => fs::read(path).with_context(|| format!("reading {s}")),
        Some(t) => {
            let out = Command::new(t)
                .arg("-dc")
                .arg(path)
                .output()
                .with_context(|| format!("running {t} -dc {s} (apt-get install xz-utils zstd)"))?;
            if !out.status.success() {
                return Err(LabError::msg(format!("{t} -dc {s} failed")));
            }
            Ok(out.stdout)
        }
    }
}

fn module_name(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    let base = base.split(".ko").next().unwrap_or(base);
    base.replace('-', "_")
}

/// Resolves `wanted` against `modules.dep` of a kernel's module tree: returns the
/// module paths (relative to the tree) in load order (dependencies first), skipping
/// modules listed in `modules.builtin`.
pub fn module_closure(moddir: &Path, wanted: &[&str]) -> Result<Vec<String>> {
    let dep = fs::read_to_string(moddir.join("modules.dep"))
        .with_context(|| format!("reading {}/modules.dep", moddir.display()))?;
    let builtin = fs::read_to_string(moddir.join("modules.builtin")).unwrap_or_default();
    let builtin: BTreeSet<String> = builtin.lines().map(module_name).collect();
    let mut deps: HashMap<String, (String, Vec<String>)> = HashMap::new();
    for line in dep.lines() {
        let Some((m, rest)) = line.split_once(':') else {
            continue;
        };
        let d: Vec<String> = rest.split_whitespace().map(String::from).collect();
        deps.insert(module_name(m), (m.to_string(), d));
    }
    let by_path: HashMap<String, String> = deps
        .values()
        .map(|(p, _)| (p.clone(), module_name(p)))
        .collect();
    let mut order = Vec::new();
    let mut seen = BTreeSet::new();
    fn visit(
        name: &str,
        deps: &HashMap<String, (String, Vec<String>)>,
        by_path: &HashMap<String, String>,
        seen: &mut BTreeSet<String>,
        order: &mut Vec<String>,
    ) {
        if !seen.insert(name.to_string()) {
            return;
        }
        if let Some((path, d)) = deps.get(name) {
            // modules.dep lists the full closure; visit in reverse so that the
            // deepest dependencies come first
            for dp in d.iter().rev() {
                if let Some(n) = by_path.get(dp) {
                    visit(n, deps, by_path, seen, order);
                }
            }
            order.push(path.clone());
        }
    }
    let mut missing = Vec::new();
    for w in wanted {
        let n = w.replace('-', "_");
        if builtin.contains(&n) {
            continue;
        }
        if !deps.contains_key(&n) {
            missing.push(n);
            continue;
        }
        visit(&n, &deps, &by_path, &mut seen, &mut order);
    }
    // Modules that are neither built in nor shipped are reported by the caller only
    // if they matter (e.g. af_packet is always built in on Debian).
    let _ = missing;
    Ok(order)
}

/// Inputs of one initramfs.
pub struct InitramfsSpec<'a> {
    /// The static guest binary.
    pub guest: &'a Path,
    /// Module tree (`lib/modules/<release>`) for modular kernels.
    pub modules: Option<&'a Path>,
}

/// Builds the initramfs into `out` (uncompressed newc cpio). Returns the module
/// names included.
pub fn build(spec: &InitramfsSpec<'_>, out: &Path) -> Result<Vec<String>> {
    let mut c = Cpio::default();
    for d in ["dev", "proc", "sys", "out", "tmp", "lib", "lib/modules"] {
        c.dir(d);
    }
    c.chardev("dev/console", 5, 1);
    let guest =
        fs::read(spec.guest).with_context(|| format!("reading {}", spec.guest.display()))?;
    c.file("init", 0o755, &guest);
    let mut names = Vec::new();
    if let Some(moddir) = spec.modules {
        let order = module_closure(moddir, WANTED_MODULES)?;
        let mut list = String::new();
        for rel in &order {
            let data = read_module(&moddir.join(rel))?;
            let name = module_name(rel);
            let dst = format!("lib/modules/{name}.ko");
            c.file(&dst, 0o644, &data);
            list.push_str(&format!("/{dst}\n"));
            names.push(name);
        }
        c.file("lib/modules/load.list", 0o644, list.as_bytes());
    }
    let bytes = c.finish();
    let tmp = out.with_extension("tmp");
    fs::write(&tmp, &bytes).with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, out).with_context(|| format!("publishing {}", out.display()))?;
    Ok(names)
}

/// Where the initramfs for a given kernel lives in the cache.
pub fn path_for(cache: &Path, kernel_tag: &str) -> PathBuf {
    cache.join("initramfs").join(format!("{kernel_tag}.cpio"))
}

#[cfg(test)]
mod test {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn cpio_layout() {
        let mut c = Cpio::default();
        c.file("init", 0o755, b"abc");
        let b = c.finish();
        assert_eq!(&b[..6], b"070701");
        assert_eq!(b.len() % 4, 0);
        // header 110 + "init\0" (5) -> 115, padded to 116; data 3 padded to 4
        assert_eq!(&b[116..119], b"abc");
        assert!(b.windows(10).any(|w| w == b"TRAILER!!!"));
    }

    #[test]
    fn closure_orders_dependencies_first() {
        let d = std::env::temp_dir().join(format!("smc-lab-test-{}", std::process::id()));
        fs::create_dir_all(&d).unwrap();
        fs::write(
            d.join("modules.dep"),
            "kernel/net/smc/smc_diag.ko.xz: kernel/net/smc/smc.ko.xz kernel/drivers/infiniband/core/ib_core.ko.xz\n\
             kernel/net/smc/smc.ko.xz: kernel/drivers/infiniband/core/ib_core.ko.xz\n\
             kernel/drivers/infiniband/core/ib_core.ko.xz:\n",
        )
        .unwrap();
        fs::write(
            d.join("modules.builtin"),
            "kernel/net/packet/af_packet.ko\n",
        )
        .unwrap();
        let o = module_closure(&d, &["smc_diag", "af_packet", "smc"]).unwrap();
        assert_eq!(
            o,
            vec![
                "kernel/drivers/infiniband/core/ib_core.ko.xz",
                "kernel/net/smc/smc.ko.xz",
                "kernel/net/smc/smc_diag.ko.xz"
            ]
        );
        fs::remove_dir_all(&d).unwrap();
    }
}
