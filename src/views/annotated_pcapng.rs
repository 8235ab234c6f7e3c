//! `-w FILE.pcapng`: every frame written unchanged to a pcapng file, each
//! TCP packet commented with its annotation exactly as the packet line ends
//! (`#1 handshake 1/3 · client CLOSED→SYN_SENT · server LISTEN→SYN_RCVD`).
//! Wireshark shows the comments in the packet list and filters on them
//! (`frame.comment contains "TIME_WAIT"`). It sees packets after the
//! analyzer's look-ahead, so the comments carry proven states.

use std::fs::File;
use std::io::{self, BufWriter, Write};

use synack_core::decode::link::LinkKind;
use synack_core::decode::DecodeError;
use synack_core::Packet;

use super::time::{TimeFormat, TimeWriter};
use super::{words, RunEnd, View};
use crate::capture::pcapng_write::PcapngWriter;

/// The application the section header names.
pub(crate) fn application() -> String {
    format!("synack {}", env!("CARGO_PKG_VERSION"))
}

/// Writes the annotated copy of the capture.
pub(crate) struct AnnotatedPcapng {
    path: String,
    out: PcapngWriter<BufWriter<File>>,
    time: TimeWriter,
    comment: Vec<u8>,
}

impl AnnotatedPcapng {
    /// Create `path`; times in comments (TIME_WAIT's end) as `--time`/`--nano` say.
    pub(crate) fn create(path: &str, time: TimeFormat, nano: bool) -> io::Result<AnnotatedPcapng> {
        let file = File::create(path)?;
        Ok(AnnotatedPcapng {
            path: path.to_string(),
            out: PcapngWriter::new(BufWriter::new(file), &application())?,
            time: TimeWriter::new(time, nano),
            comment: Vec::with_capacity(256),
        })
    }

    fn named(&self, e: io::Error) -> io::Error {
        let (path, e2) = (&self.path, crate::lang::io_reason(&e));
        io::Error::new(
            e.kind(),
            crate::lang::tr!("cannot write {path}: {e2}", "无法写入 {path}：{e2}"),
        )
    }
}

/// The LINKTYPE a frame was captured with: a decoded link's, or the
/// number of one synack does not decode.
fn linktype(p: &Packet<'_>) -> u16 {
    match p.link {
        Some(LinkKind::Ethernet) => 1,
        Some(LinkKind::Null) => 0,
        Some(LinkKind::Loop) => 108,
        Some(LinkKind::Raw) => 101,
        Some(LinkKind::LinuxSll) => 113,
        Some(LinkKind::LinuxSll2) => 276,
        Some(LinkKind::Ppp) => 9,
        Some(LinkKind::PppHdlc) => 50,
        Some(LinkKind::CiscoHdlc) => 104,
        Some(LinkKind::Ieee80211) => 105,
        Some(LinkKind::Radiotap) => 127,
        Some(LinkKind::Pflog) => 117,
        Some(LinkKind::Nflog) => 239,
        Some(LinkKind::Ipoib) => 242,
        None => match p.decoded().error {
            Some(DecodeError::UnsupportedLink { dlt }) => u16::try_from(dlt).unwrap_or(0),
            _ => 0,
        },
    }
}

impl View for AnnotatedPcapng {
    fn packet(&mut self, p: &Packet<'_>, _out: &mut dyn Write) -> io::Result<()> {
        self.time.pass(p.frame.ts);
        self.comment.clear();
        if let Some(obs) = p.observation {
            let time = &self.time;
            let clock = |ts| time.point(ts);
            words::write_annotation(&mut self.comment, obs, p.events, &clock, None);
        }
        let comment = (!self.comment.is_empty()).then(|| String::from_utf8_lossy(&self.comment));
        let r = self.out.packet(
            linktype(p),
            p.frame.ts,
            p.frame.wire_len,
            p.frame.data,
            comment.as_deref(),
        );
        r.map_err(|e| self.named(e))
    }

    fn finish(&mut self, _end: &RunEnd<'_>, _out: &mut dyn Write) -> io::Result<()> {
        let r = self.out.flush();
        r.map_err(|e| self.named(e))
    }
}
