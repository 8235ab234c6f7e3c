//! Writing classic pcap savefiles by hand, so that a failed write is seen
//! at once (libpcap's `pcap_dump` returns nothing) and the file keeps only
//! whole records: records are gathered in a buffer and written in one go;
//! if that write fails, the file is cut back to the last whole record.
//!
//! Rotation as tcpdump does it: `-C` starts a new file after that many
//! millions of bytes, `-W N` keeps a ring of N files, `-G` a new file every
//! so many seconds (the name may hold strftime `%` fields).

use std::fs::File;
use std::io::{self, Seek, Write};
use std::path::PathBuf;

use chrono::{Local, TimeZone};
use synack_core::decode::Timestamp;

/// Records are written out when this many bytes are waiting.
const BUFFER_BYTES: usize = 64 << 10;

/// How savefiles rotate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Rotation {
    /// `-C`: a new file once the current one would pass this many bytes.
    pub(crate) size_bytes: Option<u64>,
    /// `-W`: at most this many files (a ring with `-C`; an end with `-G` alone).
    pub(crate) files: Option<u32>,
    /// `-G`: a new file every this many seconds.
    pub(crate) seconds: Option<u64>,
}

impl Rotation {
    /// Any of -C, -W, -G was given.
    pub(crate) fn rotates(&self) -> bool {
        self.size_bytes.is_some() || self.files.is_some() || self.seconds.is_some()
    }
}

/// A write to the savefile failed: what and how far it got.
#[derive(Debug)]
pub(crate) struct SaveError {
    pub(crate) path: String,
    /// Packets written whole, in all files, before the failure.
    pub(crate) written: u64,
    pub(crate) source: io::Error,
}

impl std::fmt::Display for SaveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (path, n) = (&self.path, self.written);
        let e = crate::lang::io_reason(&self.source);
        let s = if n == 1 { "" } else { "s" };
        f.write_str(&crate::lang::tr!(
            "writing {path} failed after {n} packet{s}: {e} (the file holds only whole packets)",
            "写入 {path} 时在 {n} 个分组之后失败：{e} (文件里只有完整的分组)"
        ))
    }
}

/// What `write` tells the caller.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Saved {
    /// Written (or buffered).
    Ok,
    /// `-G` with `-W`: the last file is full; capture should stop (as tcpdump).
    Done,
}

/// A classic pcap savefile being written, with rotation.
pub(crate) struct Savefile {
    name: String,
    linktype: u32,
    snaplen: u32,
    rotation: Rotation,
    file: Option<File>,
    path: String,
    buf: Vec<u8>,
    /// Bytes of the current file known to be on disk (always a record boundary).
    on_disk: u64,
    /// Records buffered but not yet written.
    pending: u64,
    /// Records written whole, over all files.
    written: u64,
    /// Files opened so far.
    opened: u32,
    /// When the current file was opened (capture time, seconds), for `-G`.
    started: Option<i64>,
}

impl Savefile {
    /// Create the first file (or, with `-G`, wait for the first packet's time).
    pub(crate) fn create(
        name: &str,
        linktype: u32,
        snaplen: u32,
        rotation: Rotation,
    ) -> io::Result<Savefile> {
        let mut s = Savefile {
            name: name.to_string(),
            linktype,
            snaplen,
            rotation,
            file: None,
            path: String::new(),
            buf: Vec::with_capacity(BUFFER_BYTES + 65_600),
            on_disk: 0,
            pending: 0,
            written: 0,
            opened: 0,
            started: None,
        };
        if rotation.seconds.is_none() {
            s.open_next(None)?;
        }
        Ok(s)
    }

    /// The file being written now.
    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// The name of file number `index` (0-based), as tcpdump names them.
    fn file_name(&self, index: u32, at: Option<i64>) -> String {
        let mut base = self.name.clone();
        if let (Some(_), Some(secs)) = (self.rotation.seconds, at) {
            if base.contains('%') {
                if let Some(t) = Local.timestamp_opt(secs, 0).single() {
                    base = t.format(&base).to_string();
                }
            }
        }
        match (self.rotation.size_bytes, self.rotation.files) {
            (Some(_), Some(n)) => {
                let width = (n.max(1) - 1).to_string().len();
                format!("{base}{:0width$}", index % n.max(1))
            }
            (Some(_), None) if index > 0 => format!("{base}{index}"),
            _ => base,
        }
    }

    fn open_next(&mut self, at: Option<i64>) -> io::Result<()> {
        self.flush()?;
        let index = self.opened;
        let path = self.file_name(index, at);
        let mut f = File::create(PathBuf::from(&path))?;
        let mut header = Vec::with_capacity(24);
        header.extend_from_slice(&0xa1b2_3c4du32.to_le_bytes()); // nanosecond pcap
        header.extend_from_slice(&2u16.to_le_bytes());
        header.extend_from_slice(&4u16.to_le_bytes());
        header.extend_from_slice(&0i32.to_le_bytes());
        header.extend_from_slice(&0u32.to_le_bytes());
        header.extend_from_slice(&self.snaplen.to_le_bytes());
        header.extend_from_slice(&self.linktype.to_le_bytes());
        if let Err(e) = f.write_all(&header) {
            // Not even the header fits: leave no half header behind.
            let _ = f.set_len(0);
            return Err(e);
        }
        self.file = Some(f);
        self.path = path;
        self.on_disk = 24;
        self.opened += 1;
        self.started = at;
        Ok(())
    }

    /// Add one record (flushed when enough are waiting).
    pub(crate) fn write(
        &mut self,
        ts: Timestamp,
        wire_len: u32,
        data: &[u8],
    ) -> Result<Saved, SaveError> {
        let ts = ts.normalized();
        let record_len = 16 + data.len() as u64;
        // Rotation first: the record goes into the file it belongs to.
        let by_time = match (self.rotation.seconds, self.started) {
            (Some(g), Some(start)) => ts.secs >= start + g as i64,
            (Some(_), None) => true,
            _ => false,
        };
        let by_size = self.rotation.size_bytes.is_some_and(|limit| {
            self.file.is_some()
                && self.on_disk + self.buf.len() as u64 + record_len > limit
                && self.on_disk + self.buf.len() as u64 > 24
        });
        if by_time || by_size {
            if by_time
                && self.rotation.size_bytes.is_none()
                && self.rotation.files.is_some_and(|n| self.opened >= n)
            {
                self.flush().map_err(|e| self.error(e))?;
                return Ok(Saved::Done);
            }
            let at = self.rotation.seconds.map(|_| ts.secs);
            self.open_next(at).map_err(|e| self.error(e))?;
        }
        let b = &mut self.buf;
        b.extend_from_slice(&(ts.secs as u32).to_le_bytes());
        b.extend_from_slice(&ts.nanos.to_le_bytes());
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(&wire_len.to_le_bytes());
        b.extend_from_slice(data);
        self.pending += 1;
        if self.buf.len() >= BUFFER_BYTES {
            self.flush().map_err(|e| self.error(e))?;
        }
        Ok(Saved::Ok)
    }

    fn error(&self, source: io::Error) -> SaveError {
        SaveError {
            path: if self.path.is_empty() {
                self.name.clone()
            } else {
                self.path.clone()
            },
            written: self.written,
            source,
        }
    }

    /// Write what is waiting. On failure the file is cut back to its last
    /// whole record, and what was waiting is lost (and not counted).
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        let Some(f) = &mut self.file else {
            return Ok(());
        };
        if self.buf.is_empty() {
            return Ok(());
        }
        let result = f.write_all(&self.buf).and_then(|()| f.flush());
        match result {
            Ok(()) => {
                self.on_disk += self.buf.len() as u64;
                self.written += self.pending;
                self.buf.clear();
                self.pending = 0;
                Ok(())
            }
            Err(e) => {
                let _ = f.set_len(self.on_disk);
                let _ = f.seek(io::SeekFrom::Start(self.on_disk));
                self.buf.clear();
                self.pending = 0;
                Err(e)
            }
        }
    }

    /// The end: everything waiting goes to disk (and to stable storage).
    pub(crate) fn finish(&mut self) -> Result<u64, SaveError> {
        self.flush().map_err(|e| self.error(e))?;
        if let Some(f) = &self.file {
            f.sync_data().map_err(|e| self.error(e))?;
        }
        Ok(self.written)
    }

    /// Packets written whole so far.
    pub(crate) fn written(&self) -> u64 {
        self.written
    }
}

/// The LINKTYPE_ value a savefile records for a libpcap DLT_ value (they
/// differ only where BSDs disagreed: raw IP).
pub(crate) fn dlt_to_linktype(dlt: i32) -> u32 {
    match dlt {
        12 | 14 => 101,
        d => d as u32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> String {
        std::env::temp_dir()
            .join(format!("synack-savefile-{}-{name}", std::process::id()))
            .display()
            .to_string()
    }

    #[test]
    fn size_rotation_names_files_like_tcpdump_and_keeps_a_ring() {
        let base = tmp("ring.pcap");
        let rot = Rotation {
            size_bytes: Some(200),
            files: Some(3),
            seconds: None,
        };
        let mut s = Savefile::create(&base, 1, 65535, rot).unwrap();
        for i in 0..20 {
            s.write(Timestamp::new(1_700_000_000 + i, 0), 60, &[0u8; 60])
                .unwrap();
        }
        assert_eq!(s.finish().unwrap(), 20);
        for i in 0..3 {
            let p = format!("{base}{i}");
            let len = std::fs::metadata(&p).unwrap().len();
            assert!(len <= 200 && (len - 24) % 76 == 0, "{p}: {len}");
            std::fs::remove_file(p).unwrap();
        }
        assert!(
            std::fs::metadata(format!("{base}3")).is_err(),
            "a ring of 3"
        );
    }

    #[test]
    fn names_without_a_ring_count_up_from_the_second_file() {
        let base = tmp("count.pcap");
        let rot = Rotation {
            size_bytes: Some(200),
            ..Default::default()
        };
        let mut s = Savefile::create(&base, 1, 65535, rot).unwrap();
        for i in 0..5 {
            s.write(Timestamp::new(1_700_000_000 + i, 0), 60, &[0u8; 60])
                .unwrap();
        }
        s.finish().unwrap();
        for p in [base.clone(), format!("{base}1"), format!("{base}2")] {
            assert!(std::fs::metadata(&p).is_ok(), "{p}");
            std::fs::remove_file(p).unwrap();
        }
    }
}
