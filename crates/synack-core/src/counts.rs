//! What a run saw, by kind of frame: the closing summary's numbers.

use crate::decode::{Decoded, Frame, Network, Transport};

/// Frames by kind, and what the tracker did with connections.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Every frame handed to the analyzer.
    pub frames: u64,
    /// Frames with a TCP header (whole or cut).
    pub tcp: u64,
    /// UDP datagrams.
    pub udp: u64,
    /// ICMP and ICMPv6 messages.
    pub icmp: u64,
    /// ARP frames.
    pub arp: u64,
    /// IP fragments that carry no transport header.
    pub fragments: u64,
    /// Frames of other protocols, decoded no further.
    pub other: u64,
    /// Frames whose headers could not be decoded (cut, corrupt, unsupported link).
    pub undecodable: u64,
    /// Of those, 802.11 frames whose body is encrypted.
    pub protected: u64,
    /// Frames the snaplen cut short.
    pub cut_by_snaplen: u64,
    /// TCP connections seen (live or retired).
    pub connections: u64,
    /// Connections forgotten after the idle timeout.
    pub evicted_idle: u64,
    /// Connections dropped at the connection cap.
    pub evicted_cap: u64,
    /// TCP segments stamped earlier than an earlier segment of their connection.
    pub time_went_back: u64,
}

impl Counts {
    /// Count one frame by what decoding found in it.
    pub fn add(&mut self, frame: &Frame<'_>, d: &Decoded<'_>) {
        self.frames += 1;
        if frame.is_cut() {
            self.cut_by_snaplen += 1;
        }
        match (&d.network, &d.transport) {
            // A first fragment carries a transport header but not the
            // whole datagram: it is a fragment first.
            (Network::Ip(ip), _) if ip.fragment.is_some() => self.fragments += 1,
            (_, Transport::Tcp(_)) => self.tcp += 1,
            (_, Transport::Udp(_)) => self.udp += 1,
            (_, Transport::Icmp(_)) => self.icmp += 1,
            (_, Transport::Fragment) => self.fragments += 1,
            (Network::Arp(_), _) => self.arp += 1,
            _ if d.error.is_some() => {
                self.undecodable += 1;
                if matches!(d.error, Some(crate::decode::DecodeError::Protected)) {
                    self.protected += 1;
                }
            }
            _ => self.other += 1,
        }
    }
}

impl Counts {
    /// Count a frame found to be a TCP segment without a full decode
    /// ([`Segment::of_frame`](crate::decode::Segment::of_frame)): what
    /// [`Counts::add`] counts for it.
    pub fn add_tcp(&mut self, frame: &Frame<'_>) {
        self.frames += 1;
        if frame.is_cut() {
            self.cut_by_snaplen += 1;
        }
        self.tcp += 1;
    }
}

/// What the capture layer counted (libpcap's `pcap_stats` on a live capture).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CaptureStats {
    /// Packets the kernel handed to the capture.
    pub received: u32,
    /// Packets dropped because the capture buffer was full.
    pub dropped: u32,
    /// Packets dropped by the interface or its driver.
    pub if_dropped: u32,
}
