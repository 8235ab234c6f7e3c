//! Community ID v1: the flow hash that Zeek, Suricata and Arkime log, so a
//! synack connection record joins with theirs on one string.
//!
//! `1:` + base64(SHA-1(seed ‖ lower addr ‖ higher addr ‖ proto ‖ 0 ‖ lower
//! port ‖ higher port)), every number big-endian, the endpoints ordered so
//! the numerically smaller address (then port) comes first: both directions
//! of a flow hash alike. Written here rather than taken from the
//! `community-id` crate: TCP needs only these few lines, which keeps the
//! core's dependencies to RustCrypto's `sha1` and `base64` (the crate adds
//! `hex` and an older `sha1`, and returns a fresh `String` per call).

use std::net::{IpAddr, SocketAddr};

use base64::Engine;
use sha1::{Digest, Sha1};

/// The IP protocol number of TCP.
pub const PROTO_TCP: u8 = 6;

/// The 20-byte SHA-1 digest behind a Community ID (version 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CommunityId(pub [u8; 20]);

impl CommunityId {
    /// The flow `a` ⇄ `b` over IP protocol `proto`, with `seed` (0 unless a
    /// deployment chose another). Addresses of different families never
    /// share a flow; given one, the IPv4 side is taken as lower.
    pub fn v1(seed: u16, a: SocketAddr, b: SocketAddr, proto: u8) -> CommunityId {
        let (lo, hi) = if key(a) <= key(b) { (a, b) } else { (b, a) };
        let mut h = Sha1::new();
        h.update(seed.to_be_bytes());
        add_ip(&mut h, lo.ip());
        add_ip(&mut h, hi.ip());
        h.update([proto, 0]);
        h.update(lo.port().to_be_bytes());
        h.update(hi.port().to_be_bytes());
        CommunityId(h.finalize().into())
    }

    /// The logged form, e.g. `1:wCb3OG7yAFWelaUydu0D+125CLM=`.
    pub fn text(&self) -> String {
        let mut s = String::with_capacity(30);
        s.push_str("1:");
        base64::engine::general_purpose::STANDARD.encode_string(self.0, &mut s);
        s
    }

    /// The form without base64 (hex digits), as the spec's `--no-base64`.
    pub fn hex(&self) -> String {
        let mut s = String::with_capacity(42);
        s.push_str("1:");
        for b in self.0 {
            s.push_str(&format!("{b:02x}"));
        }
        s
    }
}

/// The order the spec compares endpoints in: address bytes, then port.
fn key(s: SocketAddr) -> (u8, [u8; 16], u16) {
    match s.ip() {
        IpAddr::V4(v4) => {
            let mut b = [0; 16];
            b[..4].copy_from_slice(&v4.octets());
            (4, b, s.port())
        }
        IpAddr::V6(v6) => (6, v6.octets(), s.port()),
    }
}

fn add_ip(h: &mut Sha1, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => h.update(v4.octets()),
        IpAddr::V6(v6) => h.update(v6.octets()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    /// The TCP rows of the specification's baseline data: repository
    /// corelight/community-id-spec, commit b1fe530faa0c6edc56fad01abf0bfe71f01134ed,
    /// files baseline/README.md (the sample tables) and
    /// baseline/baseline_deflt.json, baseline_seed1.json, baseline_nob64.json
    /// (flows of pcaps/combined.pcap.gz). Each flow is checked both ways.
    const VECTORS: &[(&str, &str, u16, &str, &str)] = &[
        // (a, b, seed, base64 form, hex form or "")
        (
            "1.2.3.4:1122",
            "5.6.7.8:3344",
            0,
            "1:wCb3OG7yAFWelaUydu0D+125CLM=",
            "1:c026f7386ef200559e95a53276ed03fb5db908b3",
        ),
        (
            "1.2.3.4:1122",
            "5.6.7.8:3344",
            1,
            "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=",
            "",
        ),
        (
            "128.232.110.120:34855",
            "66.35.250.204:80",
            0,
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
            "1:2d053da9994af81e45dca0e67afea6e4f3226eb8",
        ),
        (
            "128.232.110.120:34855",
            "66.35.250.204:80",
            1,
            "1:3V71V58M3Ksw/yuFALMcW0LAHvc=",
            "",
        ),
        (
            "[2001:470:e5bf:dead:4957:2174:e82c:4887]:63943",
            "[2607:f8b0:400c:c03::1a]:25",
            0,
            "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=",
            "1:fea15a78047e8057b52988cccd50ec32ffb0814e",
        ),
        (
            "[2001:470:e5bf:dead:4957:2174:e82c:4887]:63943",
            "[2607:f8b0:400c:c03::1a]:25",
            1,
            "1:eJYTW6AOzFLlSUoESovMjnu7rMw=",
            "",
        ),
    ];

    #[test]
    fn the_specifications_test_vectors() {
        for &(a, b, seed, b64, hex) in VECTORS {
            for (x, y) in [(a, b), (b, a)] {
                let id = CommunityId::v1(seed, sa(x), sa(y), PROTO_TCP);
                assert_eq!(id.text(), b64, "{x} → {y}, seed {seed}");
                if !hex.is_empty() {
                    assert_eq!(id.hex(), hex, "{x} → {y}, seed {seed}");
                }
            }
        }
    }

    #[test]
    fn equal_addresses_order_by_port() {
        let a = CommunityId::v1(0, sa("10.0.0.1:80"), sa("10.0.0.1:1234"), PROTO_TCP);
        let b = CommunityId::v1(0, sa("10.0.0.1:1234"), sa("10.0.0.1:80"), PROTO_TCP);
        assert_eq!(a, b);
        let c = CommunityId::v1(0, sa("10.0.0.1:81"), sa("10.0.0.1:1234"), PROTO_TCP);
        assert_ne!(a, c);
    }
}
