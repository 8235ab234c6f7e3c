//! Numbers, addresses and MACs as text, written straight into a byte
//! buffer: the same characters as `Display`, without the `fmt` machinery
//! (which cost more than the rest of a packet line or record).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// An integer in decimal.
#[inline]
pub(crate) fn num(out: &mut Vec<u8>, n: impl itoa::Integer) {
    let mut b = itoa::Buffer::new();
    out.extend_from_slice(b.format(n).as_bytes());
}

/// `a.b.c.d`, as `Ipv4Addr`'s `Display`: built on the stack, appended once.
pub(crate) fn ipv4(out: &mut Vec<u8>, ip: Ipv4Addr) {
    let mut buf = [0u8; 15];
    let mut n = 0;
    for (i, octet) in ip.octets().into_iter().enumerate() {
        if i > 0 {
            buf[n] = b'.';
            n += 1;
        }
        if octet >= 100 {
            buf[n] = b'0' + octet / 100;
            buf[n + 1] = b'0' + octet / 10 % 10;
            n += 2;
        } else if octet >= 10 {
            buf[n] = b'0' + octet / 10;
            n += 1;
        }
        buf[n] = b'0' + octet % 10;
        n += 1;
    }
    out.extend_from_slice(&buf[..n]);
}

/// Lower-case hex without leading zeros, as `{:x}` writes a `u16`.
fn hex16(out: &mut Vec<u8>, v: u16) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut started = false;
    for shift in [12, 8, 4, 0] {
        let d = (v >> shift) & 0xf;
        if d != 0 || started || shift == 0 {
            started = true;
            out.push(DIGITS[usize::from(d)]);
        }
    }
}

/// An IPv6 address as `Ipv6Addr`'s `Display` writes it (RFC 5952: the
/// longest run of two or more zero groups, the first if tied, becomes
/// `::`; an IPv4-mapped address ends in dotted decimal).
pub(crate) fn ipv6(out: &mut Vec<u8>, ip: Ipv6Addr) {
    if let Some(v4) = ip.to_ipv4_mapped() {
        out.extend_from_slice(b"::ffff:");
        ipv4(out, v4);
        return;
    }
    let groups = ip.segments();
    let (mut best, mut best_len) = (0, 0);
    let (mut cur, mut cur_len) = (0, 0);
    for (i, g) in groups.iter().enumerate() {
        if *g == 0 {
            if cur_len == 0 {
                cur = i;
            }
            cur_len += 1;
            if cur_len > best_len {
                (best, best_len) = (cur, cur_len);
            }
        } else {
            cur_len = 0;
        }
    }
    let part = |out: &mut Vec<u8>, gs: &[u16]| {
        for (i, g) in gs.iter().enumerate() {
            if i > 0 {
                out.push(b':');
            }
            hex16(out, *g);
        }
    };
    if best_len > 1 {
        part(out, &groups[..best]);
        out.extend_from_slice(b"::");
        part(out, &groups[best + best_len..]);
    } else {
        part(out, &groups);
    }
}

/// An IP address, as its `Display`.
pub(crate) fn ip(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => ipv4(out, v4),
        IpAddr::V6(v6) => ipv6(out, v6),
    }
}

/// `ip:port`, `[v6]:port`, as `SocketAddr`'s `Display` (no scope id or
/// flow info: captures carry none).
pub(crate) fn socket(out: &mut Vec<u8>, addr: SocketAddr) {
    match addr {
        SocketAddr::V4(a) => ipv4(out, *a.ip()),
        SocketAddr::V6(a) if a.scope_id() != 0 => {
            use std::io::Write as _;
            // Writing into a Vec cannot fail.
            let _ = write!(out, "{a}");
            return;
        }
        SocketAddr::V6(a) => {
            out.push(b'[');
            ipv6(out, *a.ip());
            out.push(b']');
        }
    }
    out.push(b':');
    num(out, addr.port());
}

/// `aa:bb:cc:dd:ee:ff`: built on the stack, appended once.
pub(crate) fn mac(out: &mut Vec<u8>, m: [u8; 6]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [b':'; 17];
    for (i, b) in m.into_iter().enumerate() {
        buf[i * 3] = DIGITS[usize::from(b >> 4)];
        buf[i * 3 + 1] = DIGITS[usize::from(b & 0xf)];
    }
    out.extend_from_slice(&buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl Fn(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    /// Random-looking addresses with many zero groups, runs of every length
    /// and position, mapped and compatible forms: all as `Display` writes them.
    #[test]
    fn addresses_are_written_as_display_writes_them() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..100_000 {
            let r = next();
            let mut g = [0u16; 8];
            for (i, s) in g.iter_mut().enumerate() {
                // About half the groups zero, some small, some full.
                *s = match (r >> (i * 4)) & 3 {
                    0 | 1 => 0,
                    2 => (next() & 0xff) as u16,
                    _ => next() as u16,
                };
            }
            if r >> 60 == 0 {
                g = [0, 0, 0, 0, 0, 0xffff, g[6], g[7]];
            }
            let v6 = Ipv6Addr::from(g);
            assert_eq!(text(|o| ipv6(o, v6)), v6.to_string());
            let port = (r >> 40) as u16;
            let sa = SocketAddr::new(IpAddr::V6(v6), port);
            assert_eq!(text(|o| socket(o, sa)), sa.to_string());
            let v4 = Ipv4Addr::from((r >> 16) as u32);
            assert_eq!(text(|o| ipv4(o, v4)), v4.to_string());
            let sa = SocketAddr::new(IpAddr::V4(v4), port);
            assert_eq!(text(|o| socket(o, sa)), sa.to_string());
        }
        for s in [
            "::",
            "::1",
            "1::",
            "::ffff:1.2.3.4",
            "::1.2.3.4",
            "1:0:0:1:0:0:0:1",
            "fe80::1",
        ] {
            let v6: Ipv6Addr = s.parse().unwrap();
            assert_eq!(text(|o| ipv6(o, v6)), v6.to_string());
        }
    }

    #[test]
    fn macs_and_numbers() {
        assert_eq!(
            text(|o| mac(o, [0x02, 0, 0x5e, 0x10, 0xab, 0xff])),
            "02:00:5e:10:ab:ff"
        );
        assert_eq!(text(|o| num(o, 0u32)), "0");
    }
}
