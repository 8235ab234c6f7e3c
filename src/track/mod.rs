//! Track: segments → connections. Pure: no IO, plain values in and out.
//!
//! This module knows which connection a segment belongs to, which side sent
//! it, and the per-side facts the renderers need (relative sequence bases,
//! window scale).

pub mod key;

use std::net::SocketAddr;

use rustc_hash::FxHashMap;

use crate::decode::tcp::flag;
use crate::decode::{Segment, SeqNum};
pub use key::{ConnKey, Side};

/// What one endpoint has shown of itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub addr: SocketAddr,
    /// Sequence number of this side's SYN, when seen.
    pub isn: Option<SeqNum>,
    /// Base for relative sequence numbers: the ISN, else first seq − 1.
    pub seq_base: Option<SeqNum>,
    /// Window-scale shift this side announced in its SYN (None: no option, or SYN unseen).
    pub wscale: Option<u8>,
    /// This side's SYN was seen (so whether it offered scaling is known).
    pub syn_seen: bool,
}

impl Endpoint {
    fn new(addr: SocketAddr) -> Endpoint {
        Endpoint {
            addr,
            isn: None,
            seq_base: None,
            wscale: None,
            syn_seen: false,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Connection {
    /// First-seen order, from 1.
    pub id: u64,
    pub key: ConnKey,
    pub client: Endpoint,
    pub server: Endpoint,
    /// No SYN was seen before the first segment.
    pub midstream: bool,
}

impl Connection {
    pub fn endpoint(&self, side: Side) -> &Endpoint {
        match side {
            Side::Client => &self.client,
            Side::Server => &self.server,
        }
    }

    fn endpoint_mut(&mut self, side: Side) -> &mut Endpoint {
        match side {
            Side::Client => &mut self.client,
            Side::Server => &mut self.server,
        }
    }

    pub fn side_of(&self, src: SocketAddr) -> Side {
        if src == self.client.addr {
            Side::Client
        } else {
            Side::Server
        }
    }

    /// Window scaling is in effect only when both SYNs carried the option (RFC 7323 §2.2).
    fn scaling_known(&self) -> Option<bool> {
        if self.client.syn_seen && self.server.syn_seen {
            Some(self.client.wscale.is_some() && self.server.wscale.is_some())
        } else {
            None
        }
    }
}

/// What the tracker says about one segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Observation {
    pub conn: u64,
    pub side: Side,
    pub rel_seq: u32,
    pub rel_ack: Option<u32>,
    /// The window in bytes, once the scale is known (SYN windows are never scaled).
    pub win_scaled: Option<u32>,
    /// The receiver's relative-sequence base: what `ack` and SACK edges count from.
    pub peer_seq_base: Option<SeqNum>,
}

#[derive(Default)]
pub struct Tracker {
    conns: FxHashMap<ConnKey, Connection>,
    next_id: u64,
}

impl Tracker {
    pub fn new() -> Tracker {
        Tracker::default()
    }

    pub fn observe(&mut self, seg: &Segment) -> Observation {
        let key = ConnKey::of(seg.src, seg.dst);
        let is_syn = seg.has(flag::SYN);
        let is_pure_syn = is_syn && !seg.has(flag::ACK);
        let next_id = &mut self.next_id;
        let conn = self
            .conns
            .entry(key)
            .and_modify(|c| {
                // A fresh SYN with a new ISN on a known 4-tuple is a new connection.
                let reused = is_pure_syn
                    && c.side_of(seg.src) == Side::Client
                    && c.client.isn.is_some_and(|isn| isn != seg.seq);
                if reused {
                    *next_id += 1;
                    *c = new_connection(*next_id, key, seg);
                }
            })
            .or_insert_with(|| {
                *next_id += 1;
                new_connection(*next_id, key, seg)
            });

        let side = conn.side_of(seg.src);
        {
            let me = conn.endpoint_mut(side);
            if is_syn && !me.syn_seen {
                me.syn_seen = true;
                me.isn = Some(seg.seq);
                me.seq_base = Some(seg.seq);
                me.wscale = seg.options.window_scale;
            }
            if me.seq_base.is_none() {
                me.seq_base = Some(seg.seq.minus(1));
            }
        }
        if let Some(ack) = seg.ack {
            let peer = conn.endpoint_mut(side.other());
            if peer.seq_base.is_none() {
                peer.seq_base = Some(ack.minus(1));
            }
        }
        let me = conn.endpoint(side);
        let peer = conn.endpoint(side.other());
        let win_scaled = if is_syn {
            Some(u32::from(seg.window))
        } else {
            conn.scaling_known().map(|on| {
                let shift = if on {
                    me.wscale.unwrap_or(0).min(14)
                } else {
                    0
                };
                u32::from(seg.window) << shift
            })
        };
        Observation {
            conn: conn.id,
            side,
            rel_seq: seg.seq.since(me.seq_base.unwrap_or(seg.seq)),
            rel_ack: seg
                .ack
                .map(|a| a.since(peer.seq_base.unwrap_or(a.minus(1)))),
            win_scaled,
            peer_seq_base: peer.seq_base,
        }
    }

    pub fn connection(&self, key: &ConnKey) -> Option<&Connection> {
        self.conns.get(key)
    }

    pub fn connections(&self) -> impl Iterator<Item = &Connection> {
        self.conns.values()
    }

    pub fn len(&self) -> usize {
        self.conns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }
}

fn new_connection(id: u64, key: ConnKey, seg: &Segment) -> Connection {
    let syn = seg.has(flag::SYN);
    let ack = seg.has(flag::ACK);
    // The client sent the first SYN; a SYN+ACK came from the server; with
    // no SYN at all, guess the ephemeral (higher) port is the client.
    let sender_is_client = match (syn, ack) {
        (true, false) => true,
        (true, true) => false,
        _ => seg.src.port() > seg.dst.port() || seg.src.port() == seg.dst.port(),
    };
    let (client, server) = if sender_is_client {
        (seg.src, seg.dst)
    } else {
        (seg.dst, seg.src)
    };
    Connection {
        id,
        key,
        client: Endpoint::new(client),
        server: Endpoint::new(server),
        midstream: !syn,
    }
}
