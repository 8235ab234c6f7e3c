//! Capture: the one module that talks to libpcap. Files (pcap, pcapng, "-"
//! for stdin) come out as a stream of `Frame`s, one record at a time.

use std::os::fd::AsRawFd;
use std::path::Path;

use pcap::{Activated, BpfProgram, Capture, Offline, Precision};

use crate::decode::link::LinkKind;
use crate::decode::{Frame, Timestamp};
use crate::error::{Error, Result};

extern "C" {
    // Not wrapped by the pcap crate; both are plain getters on an open handle.
    fn pcap_snapshot(p: *mut libc::c_void) -> libc::c_int;
    fn pcap_file(p: *mut libc::c_void) -> *mut libc::FILE;
}

/// Where frames come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    File(String),
    Stdin,
}

impl Input {
    pub fn parse(arg: &str) -> Input {
        if arg == "-" {
            Input::Stdin
        } else {
            Input::File(arg.to_string())
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Input::File(p) => p,
            Input::Stdin => "-",
        }
    }
}

/// A BPF filter in tcpdump syntax, compiled for one link type.
pub struct Filter {
    program: BpfProgram,
}

impl Filter {
    pub fn matches(&self, data: &[u8]) -> bool {
        self.program.filter(data)
    }
}

fn compile_filter<T: Activated + ?Sized>(cap: &Capture<T>, expr: &str) -> Result<Filter> {
    cap.compile(expr, true)
        .map(|program| Filter { program })
        .map_err(|e| Error::Filter {
            expr: expr.to_string(),
            reason: e.to_string(),
        })
}

/// Check a filter expression before any file is opened, so a typo fails fast.
pub fn check_filter(expr: &str) -> Result<()> {
    let dead = Capture::dead(pcap::Linktype::ETHERNET).map_err(|e| Error::Filter {
        expr: expr.to_string(),
        reason: e.to_string(),
    })?;
    compile_filter(&dead, expr).map(|_| ())
}

/// An open capture file.
pub struct FileSource {
    cap: Capture<Offline>,
    name: String,
    dlt: i32,
    link: LinkKind,
    filter: Option<Filter>,
    /// Records read so far (filtered or not): the frame number of the last one.
    records: u64,
    size: Option<u64>,
}

impl FileSource {
    pub fn open(input: &Input, filter: Option<&str>) -> Result<FileSource> {
        let name = input.name().to_string();
        let open_err = |reason: String| Error::Open {
            path: name.clone(),
            reason,
        };
        let (cap, size) = match input {
            Input::File(path) => {
                let meta = std::fs::metadata(path).map_err(|e| open_err(io_reason(&e)))?;
                if meta.is_dir() {
                    return Err(open_err("it is a directory".into()));
                }
                let cap = Capture::from_file_with_precision(Path::new(path), Precision::Nano)
                    .map_err(|e| open_err(pcap_reason(&e)))?;
                (cap, Some(meta.len()))
            }
            Input::Stdin => {
                let fd = std::io::stdin().as_raw_fd();
                // SAFETY: fd 0 stays open for the life of the process; libpcap
                // takes its own FILE* on a dup of it.
                let cap = unsafe { Capture::from_raw_fd_with_precision(fd, Precision::Nano) }
                    .map_err(|e| open_err(pcap_reason(&e)))?;
                (cap, None)
            }
        };
        let dlt = cap.get_datalink().0;
        let Some(link) = LinkKind::from_dlt(dlt) else {
            return Err(Error::UnsupportedLink {
                path: name,
                name: pcap::Linktype(dlt)
                    .get_name()
                    .unwrap_or_else(|_| "unknown".into()),
                dlt,
            });
        };
        let filter = filter.map(|f| compile_filter(&cap, f)).transpose()?;
        Ok(FileSource {
            cap,
            name,
            dlt,
            link,
            filter,
            records: 0,
            size,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn link(&self) -> LinkKind {
        self.link
    }

    /// libpcap's name and description of the link type, e.g. ("EN10MB", "Ethernet").
    pub fn link_names(&self) -> (String, String) {
        let lt = pcap::Linktype(self.dlt);
        (
            lt.get_name().unwrap_or_else(|_| self.dlt.to_string()),
            lt.get_description().unwrap_or_default(),
        )
    }

    pub fn snaplen(&self) -> i32 {
        // SAFETY: the handle is open for as long as `self` lives.
        unsafe { pcap_snapshot(self.cap.as_ptr().cast()) }
    }

    /// File size and bytes read so far, for a progress bar (not for stdin).
    pub fn progress(&self) -> Option<(u64, u64)> {
        let size = self.size?;
        // SAFETY: pcap_file returns the handle's own FILE*, valid while open.
        let pos = unsafe {
            let f = pcap_file(self.cap.as_ptr().cast());
            if f.is_null() {
                return None;
            }
            libc::ftell(f)
        };
        u64::try_from(pos).ok().map(|p| (p.min(size), size))
    }

    /// Number of the last record read.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The filter compiled for this file's link type, for the caller to apply
    /// (applied outside so that frame numbers count every record).
    pub fn take_filter(&mut self) -> Option<Filter> {
        self.filter.take()
    }

    /// The next record; `Ok(None)` at the end of the file.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>> {
        match self.cap.next_packet() {
            Ok(p) => {
                self.records += 1;
                Ok(Some(Frame {
                    number: self.records,
                    // Opened with nanosecond precision: tv_usec holds nanoseconds.
                    ts: Timestamp::new(p.header.ts.tv_sec, p.header.ts.tv_usec as u32),
                    wire_len: p.header.len,
                    data: p.data,
                }))
            }
            Err(pcap::Error::NoMorePackets) => Ok(None),
            Err(e) => {
                let reason = pcap_reason(&e);
                let (path, last_frame) = (self.name.clone(), self.records);
                Err(if reason.contains("truncated") {
                    Error::Truncated {
                        path,
                        last_frame,
                        reason,
                    }
                } else {
                    Error::Read {
                        path,
                        last_frame,
                        reason,
                    }
                })
            }
        }
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

fn pcap_reason(e: &pcap::Error) -> String {
    match e {
        pcap::Error::PcapError(msg) => {
            if msg.contains("unknown file format") {
                "not a pcap or pcapng capture (unknown file format)".into()
            } else {
                msg.clone()
            }
        }
        other => other.to_string(),
    }
}
