//! Connection identity: the canonical 4-tuple and which side is which.

use std::net::SocketAddr;

/// A 4-tuple in canonical order (`lo` < `hi`), so both directions of a
/// connection map to the same key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnKey {
    /// The lower endpoint, as `SocketAddr` orders them (address, then port).
    pub lo: SocketAddr,
    /// The higher endpoint.
    pub hi: SocketAddr,
}

impl ConnKey {
    /// The key of a segment from `src` to `dst`.
    pub fn of(src: SocketAddr, dst: SocketAddr) -> ConnKey {
        if src <= dst {
            ConnKey { lo: src, hi: dst }
        } else {
            ConnKey { lo: dst, hi: src }
        }
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
