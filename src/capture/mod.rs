//! Capture: the one module that talks to libpcap. Files (pcap, pcapng, "-"
//! for stdin) come out as a stream of `Frame`s, one record at a time.

use std::os::fd::AsRawFd;
use std::path::Path;

use std::os::fd::IntoRawFd;

use pcap::{Activated, BpfProgram, Capture};

use crate::decode::link::LinkKind;
use crate::decode::{Frame, Timestamp};
use crate::error::{Error, Result};

mod classic;
mod libpcap;
pub mod live;

use classic::ClassicReader;
use libpcap::Offline;

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
/// Which reader a file goes through.
enum Reader {
    /// Classic pcap from a file: read by hand from a large buffer.
    Classic(ClassicReader<std::fs::File>),
    /// pcapng, stdin, and anything else libpcap knows.
    Libpcap(Offline),
}

pub struct FileSource {
    reader: Reader,
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
        let (fd, size) = match input {
            Input::File(path) => {
                let file =
                    std::fs::File::open(Path::new(path)).map_err(|e| open_err(io_reason(&e)))?;
                let meta = file.metadata().map_err(|e| open_err(io_reason(&e)))?;
                if meta.is_dir() {
                    return Err(open_err("it is a directory".into()));
                }
                (file.into_raw_fd(), Some(meta.len()))
            }
            Input::Stdin => {
                // A duplicate, so closing the capture does not close stdin.
                // SAFETY: dup of fd 0 returns a new descriptor or -1.
                let fd = unsafe { libc::dup(std::io::stdin().as_raw_fd()) };
                if fd < 0 {
                    return Err(open_err(std::io::Error::last_os_error().to_string()));
                }
                (fd, None)
            }
        };
        let classic = match input {
            // A pipe cannot be rewound after a peek: stdin always goes to libpcap.
            Input::File(_) => classic_header(fd),
            Input::Stdin => None,
        };
        let reader = match classic {
            Some((file, header)) => Reader::Classic(ClassicReader::new(file, header)),
            None => Reader::Libpcap(Offline::from_fd(fd).map_err(|e| open_err(pcap_message(&e)))?),
        };
        let dlt = match &reader {
            Reader::Classic(r) => linktype_to_dlt(r.header.linktype),
            // SAFETY: the handle is open.
            Reader::Libpcap(cap) => unsafe { libpcap::ffi::pcap_datalink(cap.ptr()) },
        };
        let Some(link) = LinkKind::from_dlt(dlt) else {
            return Err(Error::UnsupportedLink {
                path: name,
                name: pcap::Linktype(dlt)
                    .get_name()
                    .unwrap_or_else(|_| "unknown".into()),
                dlt,
            });
        };
        let filter = filter
            .map(|f| {
                let dead = Capture::dead(pcap::Linktype(dlt)).map_err(|e| Error::Filter {
                    expr: f.to_string(),
                    reason: e.to_string(),
                })?;
                compile_filter(&dead, f)
            })
            .transpose()?;
        Ok(FileSource {
            reader,
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

    pub fn link_names(&self) -> (String, String) {
        link_names(self.dlt)
    }

    pub fn snaplen(&self) -> i64 {
        match &self.reader {
            Reader::Classic(r) => i64::from(r.header.snaplen),
            // SAFETY: the handle is open for as long as `self` lives.
            Reader::Libpcap(cap) => i64::from(unsafe { libpcap::ffi::pcap_snapshot(cap.ptr()) }),
        }
    }

    /// File size and bytes read so far, for a progress bar (not for stdin).
    pub fn progress(&self) -> Option<(u64, u64)> {
        let size = self.size?;
        let pos = match &self.reader {
            Reader::Classic(r) => r.consumed,
            // SAFETY: pcap_file returns the handle's own FILE*, valid while open.
            Reader::Libpcap(cap) => unsafe {
                let f = libpcap::ffi::pcap_file(cap.ptr());
                if f.is_null() {
                    return None;
                }
                u64::try_from(libc::ftell(f)).ok()?
            },
        };
        Some((pos.min(size), size))
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
        let result = match &mut self.reader {
            Reader::Classic(r) => r.next().map(|rec| {
                rec.map(|rec| Frame {
                    number: 0,
                    ts: rec.ts,
                    wire_len: rec.wire_len,
                    data: rec.data,
                })
            }),
            Reader::Libpcap(cap) => libpcap_next(cap),
        };
        match result {
            Ok(Some(mut frame)) => {
                self.records += 1;
                frame.number = self.records;
                Ok(Some(frame))
            }
            Ok(None) => Ok(None),
            Err(msg) => {
                let reason = pcap_message(&msg);
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

fn libpcap_next(cap: &mut Offline) -> std::result::Result<Option<Frame<'_>>, String> {
    let mut hdr: *mut libpcap::ffi::PktHdr = std::ptr::null_mut();
    let mut data: *const u8 = std::ptr::null();
    // SAFETY: the handle is open; on success libpcap points `hdr` and `data`
    // at its own buffers, valid until the next call, which the returned
    // borrow of `cap` prevents.
    let rc = unsafe { libpcap::ffi::pcap_next_ex(cap.ptr(), &mut hdr, &mut data) };
    match rc {
        1 => {
            // SAFETY: see above; caplen bytes are readable at `data`.
            let (h, bytes) = unsafe {
                let h = &*hdr;
                (h, std::slice::from_raw_parts(data, h.caplen as usize))
            };
            Ok(Some(Frame {
                number: 0,
                // Opened with nanosecond precision: tv_usec holds nanoseconds.
                ts: Timestamp::new(h.ts.tv_sec, h.ts.tv_usec as u32),
                wire_len: h.len,
                data: bytes,
            }))
        }
        -2 => Ok(None),
        _ => Err(cap.error()),
    }
}

/// Read the 24-byte header of a file: a classic pcap gets the hand reader;
/// anything else is rewound for libpcap. Takes `fd` only on success.
fn classic_header(fd: libc::c_int) -> Option<(std::fs::File, classic::Header)> {
    use std::io::Read;
    use std::os::fd::FromRawFd;
    let mut head = [0u8; 24];
    // SAFETY: `fd` is an open descriptor we own; ManuallyDrop keeps it open
    // unless we decide to take it.
    let mut file = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(fd) });
    let ok = file.read_exact(&mut head).is_ok();
    if let Some(h) = ok.then(|| classic::Header::parse(&head)).flatten() {
        return Some((std::mem::ManuallyDrop::into_inner(file), h));
    }
    // SAFETY: rewinding our own descriptor.
    unsafe { libc::lseek(fd, 0, libc::SEEK_SET) };
    None
}

/// libpcap's name and description of a link type, e.g. ("EN10MB", "Ethernet").
pub fn link_names(dlt: i32) -> (String, String) {
    let lt = pcap::Linktype(dlt);
    (
        lt.get_name().unwrap_or_else(|_| dlt.to_string()),
        lt.get_description().unwrap_or_default(),
    )
}

/// Files store LINKTYPE_ values; libpcap's compiler wants DLT_ values. They
/// differ only where BSDs disagreed (raw IP).
fn linktype_to_dlt(linktype: u32) -> i32 {
    match linktype {
        101 => crate::decode::link::dlt::RAW_12,
        other => other as i32,
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

fn pcap_message(msg: &str) -> String {
    if msg.contains("unknown file format") {
        "not a pcap or pcapng capture (unknown file format)".into()
    } else if msg.is_empty() {
        "the file ends inside its header".into()
    } else {
        msg.to_string()
    }
}
