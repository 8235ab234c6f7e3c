//! Connection identity: the canonical 4-tuple, the tunnel it travels in,
//! and which side is which.

use std::net::SocketAddr;

/// A 4-tuple in canonical order (`lo` < `hi`), so both directions of a
/// connection map to the same key, and the tunnel it travels in: the same
/// addresses and ports in two VXLAN segments (say) are two connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnKey {
    /// The lower endpoint, as `SocketAddr` orders them (address, then port).
    pub lo: SocketAddr,
    /// The higher endpoint.
    pub hi: SocketAddr,
    /// The tunnel: `decode::encap::EncapPath::tunnel_id` of the segments
    /// (0: not tunnelled). Its documentation says which headers count.
    pub tunnel: u64,
}

impl ConnKey {
    /// The key of a segment from `src` to `dst`, not tunnelled.
    pub fn of(src: SocketAddr, dst: SocketAddr) -> ConnKey {
        if src <= dst {
            ConnKey {
                lo: src,
                hi: dst,
                tunnel: 0,
            }
        } else {
            ConnKey {
                lo: dst,
                hi: src,
                tunnel: 0,
            }
        }
    }

    /// The same 4-tuple in the tunnel `tunnel`.
    pub fn in_tunnel(self, tunnel: u64) -> ConnKey {
        ConnKey { tunnel, ..self }
    }
}

/// Which endpoint of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    /// Whoever sent the first SYN (or, joined mid-stream, the ephemeral port).
    Client,
    /// The other end: the one the first SYN went to (mid-stream, the lower port).
    Server,
}

impl Side {
    /// The opposite endpoint.
    pub fn other(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }

    /// `"client"` or `"server"`, as in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }

    /// JSON `dir` of a segment sent by this side.
    pub fn dir(self) -> &'static str {
        match self {
            Side::Client => "c2s",
            Side::Server => "s2c",
        }
    }
}

use super::pack::pack_enum;
pack_enum!(Side { Client, Server });
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_directions_share_a_key() {
        let a: SocketAddr = "127.0.0.1:50000".parse().unwrap();
        let b: SocketAddr = "127.0.0.1:9999".parse().unwrap();
        assert_eq!(ConnKey::of(a, b), ConnKey::of(b, a));
        assert_eq!(ConnKey::of(a, b).lo, b);
    }
}
