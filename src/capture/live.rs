//! Live capture: a device opened in immediate mode, frames as they arrive,
//! an optional savefile, and the kernel's counters at the end.

use std::sync::atomic::{AtomicBool, Ordering};

use pcap::{Active, Capture, Device, Precision};

use super::savefile::{self, Rotation, SaveError, Saved, Savefile};

use crate::error::{Error, Result};
use synack_core::counts::CaptureStats;
use synack_core::decode::link::LinkKind;
use synack_core::decode::{Frame, Timestamp};

/// How often a blocked read wakes up to look at the stop flag.
const POLL_MS: i32 = 100;
/// Loopback's MTU is 65536: every frame fits. (262144, tcpdump's default,
/// would leave few slots in the ring in immediate mode.)
pub(crate) const SNAPLEN: i32 = 65_600;
/// The kernel ring, by default: bursts of a few thousand frames (many
/// clients at once) must fit while the annotations are written. It is most
/// of `synack live`'s memory (tcpdump's 2 MiB lost 248 of 400 frames from
/// 20 parallel clients); `-B` changes it.
pub(crate) const BUFFER_KIB: u32 = 64 << 10;

pub(crate) struct LiveSource {
    cap: Capture<Active>,
    device: String,
    dlt: i32,
    link: LinkKind,
    savefile: Option<Savefile>,
    records: u64,
    buf: Vec<u8>,
    header: (Timestamp, u32),
    /// Once stopped, still hand out the frames already captured (the
    /// demo stops when its traffic is over, and may be behind it).
    pub(crate) drain_on_stop: bool,
}

/// What to tell a user who may not capture.
pub(crate) fn privilege_hint() -> String {
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "synack".into());
    let capture = a_capture_to_read();
    crate::lang::tr!(
        "run as root, or once 'sudo setcap cap_net_raw,cap_net_admin+eip {exe}'; \
         without privileges, read a capture instead: synack read {capture}",
        "请以 root 运行，或执行一次 'sudo setcap cap_net_raw,cap_net_admin+eip {exe}'；\
         没有权限时，可以改读捕获文件：synack read {capture}"
    )
}

/// A bundled capture where one can be found (run from the repository, or
/// built from it), else what a capture is.
fn a_capture_to_read() -> String {
    let name = "fixtures/close-client-first.pcap";
    if std::path::Path::new(name).exists() {
        return name.into();
    }
    let built_from = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    if built_from.exists() {
        return built_from.display().to_string();
    }
    crate::lang::pick(
        "FILE.pcap (one saved by tcpdump -w or Wireshark)",
        "FILE.pcap (用 tcpdump -w 或 Wireshark 保存的捕获文件)",
    )
    .into()
}

impl LiveSource {
    pub(crate) fn open(device: &str, filter: Option<&str>, buffer_kib: u32) -> Result<LiveSource> {
        Self::open_with(device, filter, buffer_kib, None)
    }

    /// As `open`, capturing at most `snaplen` bytes of each frame (default
    /// SNAPLEN). In immediate mode every frame takes a slot of the snaplen's
    /// size in the kernel's ring, so a small snaplen lets the ring hold
    /// bursts of many thousands of small frames.
    pub(crate) fn open_with(
        device: &str,
        filter: Option<&str>,
        buffer_kib: u32,
        snaplen: Option<i32>,
    ) -> Result<LiveSource> {
        let open_err = |e: pcap::Error| {
            let msg = e.to_string();
            let msg = msg.trim_start_matches("libpcap error: ");
            let reason = if msg.contains("ermission") || msg.contains("Operation not permitted") {
                let hint = privilege_hint();
                crate::lang::tr!(
                    "permission denied ({msg}); {hint}",
                    "权限不足 ({msg})；{hint}"
                )
            } else if msg.contains("No such device") {
                crate::lang::tr!(
                    "{msg} (list the interfaces with 'synack interfaces')",
                    "{msg} (用 'synack interfaces' 列出网卡)"
                )
            } else {
                msg.to_string()
            };
            Error::Capture {
                device: device.to_string(),
                reason,
            }
        };
        let cap = Capture::from_device(Device::from(device))
            .map_err(open_err)?
            .immediate_mode(true)
            .snaplen(snaplen.unwrap_or(SNAPLEN))
            .buffer_size(i32::try_from(u64::from(buffer_kib) * 1024).unwrap_or(i32::MAX))
            .timeout(POLL_MS)
            .precision(Precision::Nano)
            .open()
            .map_err(open_err)?
            // Nonblocking with our own poll: libpcap retries its poll on EINTR
            // and (in immediate mode) may ignore the timeout, so a blocking
            // read would never see Ctrl-C.
            .setnonblock()
            .map_err(open_err)?;
        let dlt = cap.get_datalink().0;
        let Some(link) = LinkKind::from_dlt(dlt) else {
            return Err(super::unsupported_link(
                crate::lang::tr!("interface {device}", "网卡 {device}"),
                dlt,
            ));
        };
        let mut cap = cap;
        if let Some(f) = filter {
            // In the kernel, as tcpdump does: unwanted frames never cross into
            // user space, and the savefile holds only what matched.
            super::check_filter(f)?;
            cap.filter(f, true).map_err(|e| Error::Filter {
                expr: f.to_string(),
                reason: e.to_string(),
            })?;
        }
        Ok(LiveSource {
            cap,
            device: device.to_string(),
            dlt,
            link,
            savefile: None,
            records: 0,
            buf: Vec::with_capacity(SNAPLEN as usize),
            header: (Timestamp::default(), 0),
            drain_on_stop: false,
        })
    }

    /// Write every frame that passed the filter to `path` (rotating as
    /// asked), readable by tcpdump.
    pub(crate) fn save_to(&mut self, path: &str, rotation: Rotation) -> Result<()> {
        let sf = Savefile::create(
            path,
            savefile::dlt_to_linktype(self.dlt),
            SNAPLEN as u32,
            rotation,
        )
        .map_err(|e| Error::Create {
            path: path.to_string(),
            reason: super::io_reason(&e),
        })?;
        self.savefile = Some(sf);
        Ok(())
    }

    pub(crate) fn device(&self) -> &str {
        &self.device
    }

    pub(crate) fn link(&self) -> LinkKind {
        self.link
    }

    pub(crate) fn link_names(&self) -> (String, String) {
        super::link_names(self.dlt)
    }

    /// The next frame that passes the filter; `Ok(None)` once `stop` is set
    /// (with `drain_on_stop`, once nothing more is waiting after that), or
    /// `-G` with `-W` wrote its last file. `idle` runs whenever nothing has
    /// arrived for a poll interval (a good moment to flush output).
    pub(crate) fn next_frame(
        &mut self,
        stop: &AtomicBool,
        idle: &mut dyn FnMut(&mut LiveSource),
    ) -> Result<Option<Frame<'_>>> {
        loop {
            let stopping = stop.load(Ordering::Relaxed);
            if stopping && !self.drain_on_stop {
                return Ok(None);
            }
            match self.cap.next_packet() {
                Ok(p) => {
                    self.records += 1;
                    if let Some(sf) = &mut self.savefile {
                        match sf.write(ts_of(p.header), p.header.len, p.data) {
                            Ok(Saved::Ok) => {}
                            Ok(Saved::Done) => return Ok(None),
                            Err(e) => return Err(save_error(e)),
                        }
                    }
                    // A copy into a reused buffer: the packet borrows the
                    // handle, and the loop needs the handle again.
                    self.buf.clear();
                    self.buf.extend_from_slice(p.data);
                    self.header = (ts_of(p.header), p.header.len);
                    break;
                }
                Err(pcap::Error::TimeoutExpired) => {
                    if stopping {
                        return Ok(None);
                    }
                    if !self.wait_readable() {
                        idle(self);
                    }
                    continue;
                }
                // libpcap's NFLOG reader (1.10), unlike its packet-socket
                // one, reports a nonblocking read with nothing waiting as an
                // error: EAGAIN is "nothing yet" there too.
                Err(pcap::Error::PcapError(msg)) if msg.contains(EAGAIN_TEXT) => {
                    if !self.wait_readable() {
                        idle(self);
                    }
                    continue;
                }
                Err(pcap::Error::NoMorePackets) => return Ok(None),
                Err(e) => {
                    return Err(Error::Read {
                        path: crate::lang::tr!("interface {}", "网卡 {}", self.device),
                        last_frame: self.records,
                        reason: e.to_string(),
                    })
                }
            }
        }
        Ok(Some(Frame {
            number: self.records,
            ts: self.header.0,
            wire_len: self.header.1,
            data: &self.buf,
        }))
    }

    /// Sleep until a frame may be ready, at most POLL_MS; false if none came.
    fn wait_readable(&self) -> bool {
        use std::os::fd::AsRawFd;
        let mut pfd = libc::pollfd {
            fd: self.cap.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd; an EINTR (Ctrl-C) just returns early.
        unsafe { libc::poll(&mut pfd, 1, POLL_MS) > 0 }
    }

    pub(crate) fn stats(&mut self) -> CaptureStats {
        self.cap
            .stats()
            .map(|s| CaptureStats {
                received: s.received,
                dropped: s.dropped,
                if_dropped: s.if_dropped,
            })
            .unwrap_or_default()
    }

    /// Flush the savefile so it is complete on disk; how many packets it holds.
    pub(crate) fn flush(&mut self) -> Result<Option<u64>> {
        match &mut self.savefile {
            Some(sf) => sf.finish().map(Some).map_err(save_error),
            None => Ok(None),
        }
    }

    /// Write what the savefile holds in memory (while the wire is quiet).
    pub(crate) fn flush_savefile(&mut self) -> Result<()> {
        if let Some(sf) = &mut self.savefile {
            let written = sf.written();
            let path = sf.path().to_string();
            sf.flush().map_err(|source| {
                save_error(SaveError {
                    path,
                    written,
                    source,
                })
            })?;
        }
        Ok(())
    }
}

fn save_error(e: SaveError) -> Error {
    Error::Save(e.to_string())
}

/// strerror(EAGAIN), as libpcap quotes it.
const EAGAIN_TEXT: &str = "Resource temporarily unavailable";

/// Microsecond timeval from libpcap, nanoseconds when opened for them.
fn ts_of(h: &pcap::PacketHeader) -> Timestamp {
    Timestamp::new(h.ts.tv_sec, h.ts.tv_usec as u32)
}
