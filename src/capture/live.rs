//! Live capture: a device opened in immediate mode, frames as they arrive,
//! an optional savefile, and the kernel's counters at the end.

use std::sync::atomic::{AtomicBool, Ordering};

use pcap::{Active, Capture, Device, Precision, Savefile};

use crate::error::{Error, Result};
use synack_core::counts::CaptureStats;
use synack_core::decode::link::LinkKind;
use synack_core::decode::{Frame, Timestamp};

/// How often a blocked read wakes up to look at the stop flag.
const POLL_MS: i32 = 100;
/// Loopback's MTU is 65536: every frame fits. (262144, tcpdump's default,
/// would leave few slots in the ring in immediate mode.)
pub(crate) const SNAPLEN: i32 = 65_600;
/// The kernel ring: bursts of a few thousand frames (many clients at once)
/// must fit while the annotations are written.
const BUFFER_BYTES: i32 = 64 << 20;

pub(crate) struct LiveSource {
    cap: Capture<Active>,
    device: String,
    dlt: i32,
    link: LinkKind,
    savefile: Option<Savefile>,
    records: u64,
    buf: Vec<u8>,
    header: (Timestamp, u32),
}

/// What to tell a user who may not capture.
pub(crate) fn privilege_hint() -> String {
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "synack".into());
    format!(
        "run as root, or once 'sudo setcap cap_net_raw,cap_net_admin+eip {exe}'; \
         without privileges, read a capture instead: synack read fixtures/close-client-first.pcap"
    )
}

impl LiveSource {
    pub(crate) fn open(device: &str, filter: Option<&str>) -> Result<LiveSource> {
        let open_err = |e: pcap::Error| {
            let msg = e.to_string();
            let msg = msg.trim_start_matches("libpcap error: ");
            let reason = if msg.contains("ermission") || msg.contains("Operation not permitted") {
                format!("permission denied ({msg}); {}", privilege_hint())
            } else if msg.contains("No such device") {
                format!("{msg} (list the interfaces with 'synack interfaces')")
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
            .snaplen(SNAPLEN)
            .buffer_size(BUFFER_BYTES)
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
            return Err(super::unsupported_link(format!("interface {device}"), dlt));
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
        })
    }

    /// Write every frame that passed the filter to `path`, readable by tcpdump.
    pub(crate) fn save_to(&mut self, path: &str) -> Result<()> {
        let sf = self.cap.savefile(path).map_err(|e| Error::Open {
            path: path.to_string(),
            reason: format!("cannot write the savefile: {e}"),
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

    /// The next frame that passes the filter; `Ok(None)` once `stop` is set.
    /// `idle` runs whenever nothing has arrived for a poll interval (a good
    /// moment to flush output).
    pub(crate) fn next_frame(
        &mut self,
        stop: &AtomicBool,
        idle: &mut dyn FnMut(),
    ) -> Result<Option<Frame<'_>>> {
        loop {
            if stop.load(Ordering::Relaxed) {
                return Ok(None);
            }
            match self.cap.next_packet() {
                Ok(p) => {
                    self.records += 1;
                    if let Some(sf) = &mut self.savefile {
                        sf.write(&p);
                    }
                    // A copy into a reused buffer: the packet borrows the
                    // handle, and the loop needs the handle again.
                    self.buf.clear();
                    self.buf.extend_from_slice(p.data);
                    self.header = (ts_of(p.header), p.header.len);
                    break;
                }
                Err(pcap::Error::TimeoutExpired) => {
                    if !self.wait_readable() {
                        idle();
                    }
                    continue;
                }
                // libpcap's NFLOG reader (1.10), unlike its packet-socket
                // one, reports a nonblocking read with nothing waiting as an
                // error: EAGAIN is "nothing yet" there too.
                Err(pcap::Error::PcapError(msg)) if msg.contains(EAGAIN_TEXT) => {
                    if !self.wait_readable() {
                        idle();
                    }
                    continue;
                }
                Err(pcap::Error::NoMorePackets) => return Ok(None),
                Err(e) => {
                    return Err(Error::Read {
                        path: format!("interface {}", self.device),
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

    /// Flush the savefile so it is complete on disk.
    pub(crate) fn flush(&mut self) -> Result<()> {
        if let Some(sf) = &mut self.savefile {
            sf.flush().map_err(|e| Error::Read {
                path: "savefile".into(),
                last_frame: self.records,
                reason: e.to_string(),
            })?;
        }
        Ok(())
    }
}

/// strerror(EAGAIN), as libpcap quotes it.
const EAGAIN_TEXT: &str = "Resource temporarily unavailable";

/// Microsecond timeval from libpcap, nanoseconds when opened for them.
fn ts_of(h: &pcap::PacketHeader) -> Timestamp {
    Timestamp::new(h.ts.tv_sec, h.ts.tv_usec as u32)
}
