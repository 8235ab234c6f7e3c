//! Capture: the one module that talks to libpcap. Files (pcap, pcapng, "-"
//! for stdin) come out as a stream of `Frame`s, one record at a time: classic
//! pcap and pcapng are read by hand from a large buffer (pcapng keeps each
//! interface's link type, which libpcap cannot); libpcap reads the rare old
//! variants, compiles BPF filters and captures live (live.rs).

use std::cell::Cell;
use std::io::Read;
use std::path::Path;
use std::rc::Rc;

use pcap::{Activated, BpfProgram, Capture};

use crate::error::{Error, Result};
use synack_core::decode::link::LinkKind;
use synack_core::decode::{Frame, Timestamp};

mod buffer;
pub(crate) mod classic;
mod compressed;
mod libpcap;
pub(crate) mod live;
pub(crate) mod pcapng;
pub(crate) mod pcapng_write;
pub(crate) mod savefile;

use classic::ClassicReader;
use compressed::{Codec, Counted};
use libpcap::Offline;
use pcapng::PcapngReader;

/// Why a capture file could not be read on.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    /// The file ends inside a header or record (libpcap's words).
    #[error("{0}")]
    Truncated(String),
    /// The bytes are not a capture, or not a sane one.
    #[error("{0}")]
    Corrupt(String),
    /// Reading failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// libpcap said so (old pcap variants it reads for us).
    #[error("{0}")]
    Libpcap(String),
}

/// Where frames come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Input {
    File(String),
    Stdin,
}

impl Input {
    pub(crate) fn parse(arg: &str) -> Input {
        if arg == "-" {
            Input::Stdin
        } else {
            Input::File(arg.to_string())
        }
    }

    pub(crate) fn name(&self) -> &str {
        match self {
            Input::File(p) => p,
            Input::Stdin => "-",
        }
    }
}

/// A BPF filter in tcpdump syntax, compiled for one link type.
pub(crate) struct Filter {
    program: BpfProgram,
}

impl Filter {
    pub(crate) fn matches(&self, data: &[u8]) -> bool {
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

/// One BPF expression, compiled for each link type it meets (pcapng files
/// can mix link types).
pub(crate) struct FilterSet {
    expr: String,
    compiled: Vec<(i32, Filter)>,
}

impl FilterSet {
    pub(crate) fn matches(&mut self, dlt: i32, data: &[u8]) -> Result<bool> {
        if let Some((_, f)) = self.compiled.iter().find(|(d, _)| *d == dlt) {
            return Ok(f.matches(data));
        }
        let dead = Capture::dead(pcap::Linktype(dlt)).map_err(|e| Error::Filter {
            expr: self.expr.clone(),
            reason: e.to_string(),
        })?;
        let f = compile_filter(&dead, &self.expr)?;
        let hit = f.matches(data);
        self.compiled.push((dlt, f));
        Ok(hit)
    }
}

/// Check a filter expression before any file is opened, so a typo fails fast.
pub(crate) fn check_filter(expr: &str) -> Result<()> {
    let dead = Capture::dead(pcap::Linktype::ETHERNET).map_err(|e| Error::Filter {
        expr: expr.to_string(),
        reason: e.to_string(),
    })?;
    compile_filter(&dead, expr).map(|_| ())
}

/// Which reader a file goes through.
enum Reader {
    /// Classic pcap: read by hand from a large buffer.
    Classic(ClassicReader<Box<dyn Read>>),
    /// pcapng: read by hand, each interface with its own link type.
    Pcapng(PcapngReader<Box<dyn Read>>),
    /// Anything else libpcap knows (old and modified pcap variants).
    Libpcap(Offline),
}

/// What a read brings.
pub(crate) enum Next<'a> {
    Frame(FileFrame<'a>),
    /// A stream (stdin) paused: nothing more for now; ask again.
    Quiet,
    End,
}

/// One frame and the DLT of the link it was captured on.
pub(crate) struct FileFrame<'a> {
    pub(crate) frame: Frame<'a>,
    pub(crate) dlt: i32,
}

/// An open capture file (or stdin).
pub(crate) struct FileSource {
    reader: Reader,
    name: String,
    /// The first interface's link type (the file's, for classic pcap).
    dlt: i32,
    filter: Option<String>,
    /// Records read so far (filtered or not): the frame number of the last one.
    records: u64,
    size: Option<u64>,
    /// The compression format, and the compressed bytes read so far.
    compressed: Option<(Codec, Rc<Cell<u64>>)>,
}

impl FileSource {
    pub(crate) fn open(input: &Input, filter: Option<&str>) -> Result<FileSource> {
        let name = input.name().to_string();
        let open_err = |reason: String| Error::Open {
            path: name.clone(),
            reason,
        };
        let (stream, size): (Box<dyn Read>, Option<u64>) = match input {
            Input::File(path) => {
                let file =
                    std::fs::File::open(Path::new(path)).map_err(|e| open_err(io_reason(&e)))?;
                let meta = file.metadata().map_err(|e| open_err(io_reason(&e)))?;
                if meta.is_dir() {
                    return Err(open_err("it is a directory".into()));
                }
                (Box::new(file), Some(meta.len()))
            }
            // The descriptor itself, not std's buffered Stdin: whether more
            // is waiting is asked of the descriptor (see `watch_for_quiet`).
            Input::Stdin => {
                use std::os::fd::AsFd;
                let fd = std::io::stdin()
                    .as_fd()
                    .try_clone_to_owned()
                    .map_err(|e| open_err(io_reason(&e)))?;
                (Box::new(std::fs::File::from(fd)), None)
            }
        };
        FileSource::from_stream(input, stream, size, filter)
    }

    /// A capture already open as a byte stream (`size` for the progress bar).
    /// Classic pcap and pcapng are read by hand; anything else goes to
    /// libpcap when `input` is a file it can open again, and is refused otherwise.
    pub(crate) fn from_stream(
        input: &Input,
        mut stream: Box<dyn Read>,
        size: Option<u64>,
        filter: Option<&str>,
    ) -> Result<FileSource> {
        let name = input.name().to_string();
        let open_err = |reason: String| Error::Open {
            path: name.clone(),
            reason,
        };
        // Peek at the first 24 bytes; the readers get them back in front of the rest.
        let mut head = peek(&mut stream, 24).map_err(|e| open_err(crate::lang::io_reason(&e)))?;
        if head.is_empty() {
            return Err(open_err(match input {
                Input::File(_) => crate::lang::pick(
                    "the file is empty (0 bytes), not a capture",
                    "文件是空的 (0 字节)，不是捕获文件",
                )
                .into(),
                Input::Stdin => crate::lang::pick(
                    "the input is empty, not a capture",
                    "输入是空的，不是捕获数据",
                )
                .into(),
            }));
        }
        // A compressed capture: the same readers, on the decompressed bytes.
        let mut compressed = None;
        if let Some(codec) = Codec::sniff(&head) {
            let count = Rc::new(Cell::new(0));
            let raw: Box<dyn Read> = Box::new(Counted::new(
                std::io::Cursor::new(head).chain(stream),
                Rc::clone(&count),
            ));
            stream = codec.decoder(raw).map_err(|e| open_err(e.to_string()))?;
            // Under cargo fuzz a few KiB of zstd can stand for a GiB of
            // zeros: a long, bounded read that only shows up as a timeout.
            #[cfg(fuzzing)]
            {
                stream = Box::new(stream.take(4 << 20));
            }
            head = peek(&mut stream, 24).map_err(|e| open_err(e.to_string()))?;
            compressed = Some((codec, count));
        }
        let reader = if let Some(h) = <&[u8; 24]>::try_from(head.as_slice())
            .ok()
            .and_then(classic::Header::parse)
        {
            Reader::Classic(ClassicReader::new(stream, h))
        } else if pcapng::is_pcapng(&head) {
            let rest: Box<dyn Read> = Box::new(std::io::Cursor::new(head).chain(stream));
            Reader::Pcapng(
                PcapngReader::new(rest).map_err(|e| open_err(pcap_message(&e.to_string())))?,
            )
        } else {
            match input {
                _ if compressed.is_some() => {
                    let name = compressed.as_ref().map_or("", |(c, _)| c.name());
                    return Err(open_err(if head.len() < 24 {
                        // lz4 ends quietly when cut inside a frame header.
                        let n = head.len();
                        crate::lang::tr!(
                            "the {name} data holds only {n} bytes, too few for a capture header \
                             (not a capture, or the compressed file is cut short)",
                            "{name} 数据只有 {n} 字节，不够一个捕获文件头 (不是捕获文件，或压缩文件被截断了)"
                        )
                    } else {
                        crate::lang::tr!(
                            "{name}-compressed, but what it holds is not a pcap or pcapng capture",
                            "{name} 压缩的内容不是 pcap 或 pcapng 捕获文件"
                        )
                    }));
                }
                // libpcap knows a few old variants; it reads the file again from the start.
                Input::File(path) => {
                    Reader::Libpcap(Offline::open(path).map_err(|e| open_err(pcap_message(&e)))?)
                }
                Input::Stdin if head.len() < 4 => {
                    return Err(open_err(
                        crate::lang::pick(
                            "the input ends before a capture header",
                            "输入在捕获文件头之前就结束了",
                        )
                        .into(),
                    ))
                }
                Input::Stdin => return Err(open_err(not_a_capture().into())),
            }
        };
        let mut reader = reader;
        if *input == Input::Stdin {
            // A stream (tcpdump -U -w - | synack read -): show each frame
            // while the writer pauses, not at the end.
            use std::os::fd::AsRawFd;
            let fd = std::io::stdin().as_raw_fd();
            match &mut reader {
                Reader::Classic(r) => r.watch_for_quiet(fd),
                Reader::Pcapng(r) => r.watch_for_quiet(fd),
                Reader::Libpcap(_) => {}
            }
        }
        let mut src = FileSource {
            reader,
            name,
            dlt: 0,
            filter: filter.map(str::to_string),
            records: 0,
            size,
            compressed,
        };
        src.dlt = src.first_dlt()?;
        if LinkKind::from_dlt(src.dlt).is_none() {
            return Err(unsupported_link(src.name, src.dlt));
        }
        Ok(src)
    }

    /// The link type the file starts with; pcapng reads ahead to its first
    /// interface description for it.
    fn first_dlt(&mut self) -> Result<i32> {
        Ok(match &mut self.reader {
            Reader::Classic(r) => linktype_to_dlt(r.header.linktype),
            Reader::Pcapng(r) => linktype_to_dlt(r.first_linktype.unwrap_or(1)),
            // SAFETY: the handle is open.
            Reader::Libpcap(cap) => unsafe { libpcap::ffi::pcap_datalink(cap.ptr()) },
        })
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn link_names(&self) -> (String, String) {
        link_names(self.dlt)
    }

    pub(crate) fn snaplen(&self) -> i64 {
        match &self.reader {
            Reader::Classic(r) => i64::from(r.header.snaplen),
            Reader::Pcapng(r) => i64::from(r.first_snaplen),
            // SAFETY: the handle is open for as long as `self` lives.
            Reader::Libpcap(cap) => i64::from(unsafe { libpcap::ffi::pcap_snapshot(cap.ptr()) }),
        }
    }

    /// File size and bytes read so far, for a progress bar (not for stdin).
    /// A compressed file counts its compressed bytes.
    pub(crate) fn progress(&self) -> Option<(u64, u64)> {
        let size = self.size?;
        if let Some((_, count)) = &self.compressed {
            return Some((count.get().min(size), size));
        }
        let pos = match &self.reader {
            Reader::Classic(r) => r.consumed(),
            Reader::Pcapng(r) => r.consumed(),
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
    pub(crate) fn records(&self) -> u64 {
        self.records
    }

    /// The filter for the caller to apply, compiled per link type as frames
    /// of each type turn up (applied outside so frame numbers count every record).
    pub(crate) fn take_filter(&mut self) -> Option<FilterSet> {
        self.filter.take().map(|expr| FilterSet {
            expr,
            compiled: Vec::new(),
        })
    }

    /// The next record, or word that a stream paused, or the end.
    pub(crate) fn next_frame(&mut self) -> Result<Next<'_>> {
        let result = match &mut self.reader {
            Reader::Classic(r) => r.next().map(|o| o.map(record_frame)),
            Reader::Pcapng(r) => r.next().map(|o| o.map(record_frame)),
            Reader::Libpcap(cap) => {
                let dlt = self.dlt;
                libpcap_next(cap).map(|o| o.map(|frame| FileFrame { frame, dlt }))
            }
        };
        match result {
            Ok(Some(mut f)) => {
                self.records += 1;
                f.frame.number = self.records;
                Ok(Next::Frame(f))
            }
            Ok(None) => Ok(Next::End),
            Err(ReadError::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(Next::Quiet),
            Err(e) => {
                let (path, last_frame) = (self.name.clone(), self.records);
                Err(match e {
                    ReadError::Truncated(reason) => Error::Truncated {
                        path,
                        last_frame,
                        reason,
                    },
                    ReadError::Libpcap(msg) if msg.contains("truncated") => Error::Truncated {
                        // libpcap words a cut file so; it has no other way to say it.
                        path,
                        last_frame,
                        reason: msg,
                    },
                    ReadError::Corrupt(reason) if self.compressed.is_some() => {
                        // gzip and xz check their CRC only at the end of the
                        // data: damage shows first as a record that makes no sense.
                        let name = self.compressed.as_ref().map_or("", |(c, _)| c.name());
                        Error::Read {
                            path,
                            last_frame,
                            reason: crate::lang::tr!(
                                "{reason} (in the {name}-decompressed data: the compressed file may be damaged)",
                                "{reason} (在 {name} 解压后的数据中：压缩文件可能已损坏)"
                            ),
                        }
                    }
                    other => Error::Read {
                        path,
                        last_frame,
                        reason: pcap_message(&other.to_string()),
                    },
                })
            }
        }
    }
}

/// Up to `n` bytes from the start of `stream` (fewer only at its end).
fn peek(stream: &mut Box<dyn Read>, n: u64) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(n as usize);
    stream.take(n).read_to_end(&mut head)?;
    Ok(head)
}

fn record_frame(rec: classic::Record<'_>) -> FileFrame<'_> {
    FileFrame {
        frame: Frame {
            number: 0,
            ts: rec.ts,
            wire_len: rec.wire_len,
            data: rec.data,
        },
        dlt: linktype_to_dlt(rec.linktype),
    }
}

fn libpcap_next(cap: &mut Offline) -> std::result::Result<Option<Frame<'_>>, ReadError> {
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
        _ => Err(ReadError::Libpcap(cap.error())),
    }
}

/// libpcap's name and description of a link type, e.g. ("EN10MB", "Ethernet").
pub(crate) fn link_names(dlt: i32) -> (String, String) {
    let lt = pcap::Linktype(dlt);
    (
        lt.get_name().unwrap_or_else(|_| dlt.to_string()),
        lt.get_description().unwrap_or_default(),
    )
}

/// The error for a link type synack does not decode, naming those it does
/// (in libpcap's names, from the same list `LinkKind::from_dlt` accepts).
pub(crate) fn unsupported_link(path: String, dlt: i32) -> Error {
    let (name, _) = link_names(dlt);
    let why = if name.starts_with("JUNIPER_") {
        crate::lang::pick(
            " (Juniper's encapsulations are not decoded)",
            " (不解码 Juniper 的封装)",
        )
        .to_string()
    } else {
        String::new()
    };
    Error::UnsupportedLink {
        path,
        name,
        dlt,
        why,
        supported: supported_link_names(),
    }
}

/// "EN10MB, LINUX_SLL, …, NFLOG and IPOIB": every link type synack decodes,
/// once (aliases such as DLT_RAW's platform numbers named once).
pub(crate) fn supported_link_names() -> String {
    let mut names: Vec<String> = Vec::new();
    for dlt in LinkKind::DLTS {
        if let Ok(name) = pcap::Linktype(dlt).get_name() {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.join(""),
    }
}

/// Files store LINKTYPE_ values; libpcap's compiler wants DLT_ values. They
/// differ only where platforms disagreed (raw IP); for every other link type
/// synack decodes the two are the same number (LINKTYPE_PPP_HDLC 50 is
/// DLT_PPP_SERIAL 50, LINKTYPE_C_HDLC 104 is DLT_C_HDLC, LINKTYPE_PFLOG 117
/// is DLT_PFLOG on every platform but old OpenBSD, which wrote 117 in files too).
fn linktype_to_dlt(linktype: u32) -> i32 {
    use synack_core::decode::link::dlt;
    match linktype {
        // OpenBSD wrote its DLT_RAW, 14, into files; decoded as raw IP, so
        // filtered as raw IP (libpcap on Linux knows no DLT 14).
        101 | 14 => dlt::RAW_12,
        other => other as i32,
    }
}

pub(crate) fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => crate::lang::pick("no such file", "没有这个文件").into(),
        std::io::ErrorKind::PermissionDenied => {
            crate::lang::pick("permission denied", "权限不足").into()
        }
        _ => crate::lang::io_reason(e),
    }
}

fn not_a_capture() -> &'static str {
    crate::lang::pick(
        "not a pcap or pcapng capture (unknown file format)",
        "不是 pcap 或 pcapng 捕获文件 (未知的文件格式)",
    )
}

fn pcap_message(msg: &str) -> String {
    if msg.contains("unknown file format") {
        not_a_capture().into()
    } else if msg.is_empty() {
        crate::lang::pick(
            "the file ends inside its header",
            "文件在文件头中间就结束了",
        )
        .into()
    } else {
        msg.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_counts_the_compressed_bytes() {
        let root = env!("CARGO_MANIFEST_DIR");
        for packed in ["close-client-first.pcap.xz", "echo.pcapng.zst"] {
            let path = format!("{root}/fixtures/compressed/{packed}");
            let original = format!("{root}/fixtures/{}", packed.rsplit_once('.').unwrap().0);
            let size = std::fs::metadata(&path).unwrap().len();
            let unpacked = std::fs::metadata(&original).unwrap().len();
            assert!(size < unpacked);
            let mut src = FileSource::open(&Input::File(path), None).unwrap();
            let (start, total) = src.progress().unwrap();
            assert_eq!(total, size);
            assert!(start <= size);
            let mut frames = 0;
            while matches!(src.next_frame().unwrap(), Next::Frame(_)) {
                frames += 1;
            }
            assert!(frames > 10);
            // All of the file was read, and no more: compressed bytes, not unpacked ones.
            assert_eq!(src.progress(), Some((size, size)));
        }
    }

    #[test]
    fn every_supported_link_type_compiles_a_filter_or_says_why() {
        // libpcap compiles filters per DLT; `len` works on any link type.
        let mut failed = Vec::new();
        for linktype in LinkKind::DLTS {
            let dlt = linktype_to_dlt(linktype as u32);
            let mut set = FilterSet {
                expr: "len > 0".into(),
                compiled: Vec::new(),
            };
            if set.matches(dlt, &[0u8; 64]).is_err() {
                failed.push(linktype);
            }
        }
        assert!(failed.is_empty(), "{failed:?}");
        let names = supported_link_names();
        for name in [
            "EN10MB",
            "PPP",
            "PPP_SERIAL",
            "C_HDLC",
            "IEEE802_11_RADIO",
            "PFLOG",
            "NFLOG",
            "IPOIB",
        ] {
            assert!(names.contains(name), "{name} not in {names}");
        }
    }
}
