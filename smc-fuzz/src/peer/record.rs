//! Records every frame the peer sends and receives as a classic pcap (LINKTYPE_ETHERNET,
//! microsecond timestamps), which smcdump, tshark and tcpdump read.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// pcap global header fields (libpcap `pcap_file_header`).
mod field {
    pub const MAGIC_USEC: u32 = 0xa1b2_c3d4; // written in host (little-endian) order
    pub const VERSION_MAJOR: u16 = 2;
    pub const VERSION_MINOR: u16 = 4;
    pub const SNAPLEN: u32 = 65_535;
    pub const LINKTYPE_ETHERNET: u32 = 1;
}

/// A pcap file being written.
pub struct Recorder {
    out: BufWriter<File>,
    path: PathBuf,
    frames: u64,
}

impl Recorder {
    /// Creates (truncates) `path` and writes the global header.
    pub fn create(path: &Path) -> io::Result<Recorder> {
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d)?;
        }
        let f = File::create(path)
            .map_err(|e| io::Error::new(e.kind(), format!("creating {}: {e}", path.display())))?;
        let mut out = BufWriter::new(f);
        out.write_all(&field::MAGIC_USEC.to_le_bytes())?;
        out.write_all(&field::VERSION_MAJOR.to_le_bytes())?;
        out.write_all(&field::VERSION_MINOR.to_le_bytes())?;
        out.write_all(&0i32.to_le_bytes())?; // thiszone
        out.write_all(&0u32.to_le_bytes())?; // sigfigs
        out.write_all(&field::SNAPLEN.to_le_bytes())?;
        out.write_all(&field::LINKTYPE_ETHERNET.to_le_bytes())?;
        Ok(Recorder {
            out,
            path: path.to_path_buf(),
            frames: 0,
        })
    }

    /// Appends one frame with the current time.
    pub fn frame(&mut self, data: &[u8]) -> io::Result<()> {
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let caplen = data.len().min(field::SNAPLEN as usize);
        self.out.write_all(&(t.as_secs() as u32).to_le_bytes())?;
        self.out.write_all(&t.subsec_micros().to_le_bytes())?;
        self.out.write_all(&(caplen as u32).to_le_bytes())?;
        self.out.write_all(&(data.len() as u32).to_le_bytes())?;
        self.out.write_all(&data[..caplen])?;
        self.frames += 1;
        Ok(())
    }

    /// Flushes to disk.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Frames written.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.out.flush();
    }
}
