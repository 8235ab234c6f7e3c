//! Render: decoded packets and tracker facts → text for people or machines.

pub mod annotation;
pub mod json;
pub mod ladder;
pub mod lines;
pub mod table;
pub mod time;

use crate::decode::link::LinkKind;
use crate::decode::{Decoded, Frame, Segment};
use crate::track::{Event, Observation};

/// Everything known about one frame, as the renderers see it.
#[derive(Clone, Copy)]
pub struct PacketRecord<'a> {
    pub frame: &'a Frame<'a>,
    /// `None`: a link type synack does not decode.
    pub link: Option<LinkKind>,
    pub decoded: &'a Decoded<'a>,
    pub segment: Option<&'a Segment>,
    pub observation: Option<&'a Observation>,
    /// This frame's events (lifecycle and analysis).
    pub events: &'a [Event],
}

/// Counts for the closing summary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub frames: u64,
    pub tcp: u64,
    pub udp: u64,
    pub icmp: u64,
    pub arp: u64,
    pub fragments: u64,
    pub other: u64,
    pub undecodable: u64,
    pub cut_by_snaplen: u64,
    pub connections: u64,
    pub evicted_idle: u64,
    pub evicted_cap: u64,
}

impl Counts {
    pub fn add(&mut self, rec: &PacketRecord<'_>) {
        use crate::decode::{Network, Transport};
        self.frames += 1;
        if rec.frame.is_cut() {
            self.cut_by_snaplen += 1;
        }
        let d = rec.decoded;
        match (&d.network, &d.transport) {
            (_, Transport::Tcp(_)) => self.tcp += 1,
            (_, Transport::Udp(_)) => self.udp += 1,
            (_, Transport::Icmp(_)) => self.icmp += 1,
            (_, Transport::Fragment) => self.fragments += 1,
            (Network::Arp(_), _) => self.arp += 1,
            _ if d.error.is_some() => self.undecodable += 1,
            _ => self.other += 1,
        }
    }
}
