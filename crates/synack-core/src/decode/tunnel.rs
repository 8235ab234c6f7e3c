//! From the link layer to the innermost IP header: VLAN tags (802.1Q and
//! 802.1ad in any mix), MPLS label stacks, PPPoE sessions, and tunnels in IP
//! (IPv4/IPv6 in IPv4/IPv6, GRE with ERSPAN I/II/III, VXLAN, Geneve), each
//! layer recorded in the frame's [`EncapPath`]. A loop, not recursion:
//! every turn adds a layer to the path or ends, so hostile nesting stops at
//! `MAX_ENCAP` layers.

use super::encap::{Encap, MAX_ENCAP};
use super::link::{be16, mac_at, NetProto};
use super::net::{self, Ip};
use super::{ppp, DecodeError, Decoded, Network};

const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const ETHERTYPE_QINQ_OLD: u16 = 0x9100;
const ETHERTYPE_MPLS: u16 = 0x8847;
const ETHERTYPE_MPLS_MULTICAST: u16 = 0x8848;
const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;
/// Transparent Ethernet bridging: an Ethernet frame follows (GRE, Geneve).
const ETHERTYPE_TEB: u16 = 0x6558;
const ETHERTYPE_ERSPAN_2: u16 = 0x88be;
const ETHERTYPE_ERSPAN_3: u16 = 0x22eb;

const IPPROTO_IPIP: u8 = 4;
const IPPROTO_IPV6: u8 = 41;
const IPPROTO_GRE: u8 = 47;
const IPPROTO_UDP: u8 = 17;

/// IANA's UDP ports for VXLAN (RFC 7348) and Geneve (RFC 8926).
pub(crate) const VXLAN_PORT: u16 = 4789;
pub(crate) const GENEVE_PORT: u16 = 6081;

/// What comes next in the walk.
enum Next<'a> {
    /// A payload of this kind.
    Proto(NetProto, &'a [u8]),
    /// An Ethernet frame (inside a tunnel).
    Ethernet(&'a [u8]),
    /// A header inside a tunnel already entered could not be read.
    Failed(DecodeError),
}

fn truncated(layer: &'static str, needed: usize, got: usize) -> DecodeError {
    DecodeError::LayerTruncated { layer, needed, got }
}

fn need(layer: &'static str, data: &[u8], n: usize) -> Result<(), DecodeError> {
    if data.len() < n {
        Err(truncated(layer, n, data.len()))
    } else {
        Ok(())
    }
}

/// Follow `first` (what the link layer said comes next) through every
/// layer to the innermost network header, filling `out`. `bounded`: the
/// data ends where the packet ends on the wire (a length field cut it
/// there), not merely where the capture stopped.
pub(crate) fn walk<'a>(out: &mut Decoded<'a>, first: NetProto, data: &'a [u8], bounded: bool) {
    let mut bounded = bounded;
    let mut next = Next::Proto(first, data);
    // Each turn adds a layer or returns; the bound only makes that plain.
    for _ in 0..=MAX_ENCAP + 1 {
        let step = match next {
            Next::Failed(e) => Err(e),
            Next::Ethernet(data) => ethernet(out, data),
            Next::Proto(proto, data) => match proto {
                NetProto::Ipv4 | NetProto::Ipv6 => {
                    match ip(out, proto == NetProto::Ipv4, data, &mut bounded) {
                        Ok(Some(n)) => Ok(n),
                        Ok(None) => return,
                        Err(e) => Err(e),
                    }
                }
                NetProto::Arp => {
                    match net::arp(data) {
                        Ok(a) => out.network = Network::Arp(a),
                        Err(e) => out.error = Some(DecodeError::Net(e)),
                    }
                    return;
                }
                NetProto::EtherType(ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD) => {
                    let NetProto::EtherType(tpid) = proto else {
                        return;
                    };
                    vlan(out, tpid, data)
                }
                NetProto::EtherType(ETHERTYPE_MPLS | ETHERTYPE_MPLS_MULTICAST) => mpls(out, data),
                NetProto::EtherType(ETHERTYPE_PPPOE_SESSION) => pppoe(out, data, &mut bounded),
                NetProto::EtherType(ETHERTYPE_TEB) => Ok(Next::Ethernet(data)),
                NetProto::Protected => Err(DecodeError::Protected),
                other => {
                    out.network = Network::Other(other);
                    return;
                }
            },
        };
        match step {
            Ok(n) => next = n,
            Err(e) => {
                out.error = Some(e);
                return;
            }
        }
    }
    out.error = Some(DecodeError::TooDeep { max: MAX_ENCAP });
}

fn push(out: &mut Decoded<'_>, e: Encap) -> Result<(), DecodeError> {
    if out.encap.push(e) {
        Ok(())
    } else {
        Err(DecodeError::TooDeep { max: MAX_ENCAP })
    }
}

fn ethernet<'a>(out: &mut Decoded<'a>, data: &'a [u8]) -> Result<Next<'a>, DecodeError> {
    need("inner Ethernet", data, 14)?;
    push(
        out,
        Encap::Ethernet {
            dst: mac_at(data, 0),
            src: mac_at(data, 6),
        },
    )?;
    Ok(Next::Proto(
        NetProto::from_ethertype(be16(data, 12)),
        &data[14..],
    ))
}

fn vlan<'a>(out: &mut Decoded<'a>, tpid: u16, data: &'a [u8]) -> Result<Next<'a>, DecodeError> {
    need("802.1Q", data, 4)?;
    let tci = be16(data, 0);
    push(
        out,
        Encap::Vlan {
            tpid,
            id: tci & 0x0fff,
            pcp: (tci >> 13) as u8,
        },
    )?;
    Ok(Next::Proto(
        NetProto::from_ethertype(be16(data, 2)),
        &data[4..],
    ))
}

/// An MPLS label stack (RFC 3032) down to the entry with the S bit; the
/// payload says nothing of its type, so IPv4 and IPv6 are told by their
/// version nibble (as Linux and tcpdump do).
fn mpls<'a>(out: &mut Decoded<'a>, data: &'a [u8]) -> Result<Next<'a>, DecodeError> {
    let mut at = 0;
    loop {
        need("MPLS", data, at + 4)?;
        let entry = u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
        let bottom = entry & 0x100 != 0;
        push(
            out,
            Encap::Mpls {
                label: entry >> 12,
                tc: ((entry >> 9) & 0b111) as u8,
                bottom,
                ttl: entry as u8,
            },
        )?;
        at += 4;
        if bottom {
            break;
        }
    }
    let payload = &data[at..];
    Ok(Next::Proto(by_version(payload), payload))
}

fn by_version(payload: &[u8]) -> NetProto {
    match payload.first().map(|b| b >> 4) {
        Some(4) => NetProto::Ipv4,
        Some(6) => NetProto::Ipv6,
        _ => NetProto::Unknown,
    }
}

/// A PPPoE session packet (RFC 2516): version and type 1, code 0, the
/// session ID, the length of what follows; then a PPP protocol field.
fn pppoe<'a>(
    out: &mut Decoded<'a>,
    data: &'a [u8],
    bounded: &mut bool,
) -> Result<Next<'a>, DecodeError> {
    need("PPPoE", data, 7)?;
    if data[0] != 0x11 {
        return Err(DecodeError::LayerInvalid {
            layer: "PPPoE",
            reason: "version and type are not 1",
        });
    }
    let session = be16(data, 2);
    // The length excludes Ethernet padding after a short packet.
    let len = usize::from(be16(data, 4));
    let body = bound(&data[6..], len, bounded);
    let (protocol, n) = ppp::protocol_field(body).ok_or(truncated("PPPoE", 8, data.len()))?;
    push(out, Encap::Pppoe { session, protocol })?;
    Ok(Next::Proto(ppp::net_of(protocol), &body[n..]))
}

/// `data` cut to `len` bytes, noting when that cut off captured bytes
/// (then the data ends where the wire packet ends).
fn bound<'a>(data: &'a [u8], len: usize, bounded: &mut bool) -> &'a [u8] {
    if data.len() > len {
        *bounded = true;
        &data[..len]
    } else {
        data
    }
}

/// An IP header: the innermost one (decoded into `out`, `Ok(None)`), or
/// the outer header of a tunnel (recorded in the path, with what follows).
fn ip<'a>(
    out: &mut Decoded<'a>,
    v4: bool,
    data: &'a [u8],
    bounded: &mut bool,
) -> Result<Option<Next<'a>>, DecodeError> {
    let (mut ip, payload) = if v4 { net::ipv4(data) } else { net::ipv6(data) }?;
    if *bounded && ip.header_len + ip.payload_len > data.len() {
        // The layer below ended the packet earlier than this header says
        // (tshark: "total length exceeds packet length"): what is there is all.
        ip.payload_len = data.len().saturating_sub(ip.header_len);
        ip.payload_len_guessed = true;
    }
    match tunnel_in(out, &ip, payload, bounded) {
        Ok(Some(next)) => Ok(Some(next)),
        // Not a tunnel, or one that cannot be followed: this is the innermost IP.
        Ok(None) => {
            super::transport(out, ip, payload);
            Ok(None)
        }
        Err(e) => {
            super::transport(out, ip, payload);
            out.error = Some(e);
            Ok(None)
        }
    }
}

fn outer(ip: &Ip) -> Encap {
    Encap::Ip {
        version: ip.version,
        src: ip.src,
        dst: ip.dst,
        proto: ip.proto,
        ttl: ip.ttl,
        tos: ip.tos,
    }
}

/// The tunnel this IP packet carries, if any: `Ok(None)` when it carries
/// none (or one synack does not follow), an error when its header is cut
/// (then this IP header is the innermost). Nothing is added to the path
/// unless the tunnel is followed; what goes wrong after that is `Failed`.
fn tunnel_in<'a>(
    out: &mut Decoded<'a>,
    ip: &Ip,
    payload: &'a [u8],
    bounded: &mut bool,
) -> Result<Option<Next<'a>>, DecodeError> {
    if ip.fragment.is_some() {
        // A fragment of a tunnelled packet: reassembly is not done.
        return Ok(None);
    }
    // What the IP header declares, not the captured padding after it
    // (decided only once the tunnel is followed: the flag is the walk's).
    let mut inside = *bounded;
    let payload = bound(payload, ip.payload_len, &mut inside);
    let room = |n| {
        if out.encap.room(n) {
            Ok(())
        } else {
            Err(DecodeError::TooDeep { max: MAX_ENCAP })
        }
    };
    match ip.proto {
        IPPROTO_IPIP | IPPROTO_IPV6 => {
            room(1)?;
            push(out, outer(ip))?;
            *bounded = inside;
            let inner = if ip.proto == IPPROTO_IPIP {
                NetProto::Ipv4
            } else {
                NetProto::Ipv6
            };
            Ok(Some(Next::Proto(inner, payload)))
        }
        IPPROTO_GRE => {
            let Some(gre) = Gre::parse(payload)? else {
                return Ok(None);
            };
            room(2)?;
            push(out, outer(ip))?;
            *bounded = inside;
            push(out, gre.encap)?;
            Ok(Some(
                gre_payload(out, gre, &payload[gre.len..]).unwrap_or_else(Next::Failed),
            ))
        }
        IPPROTO_UDP if payload.len() >= 8 => {
            let (sport, dport) = (be16(payload, 0), be16(payload, 2));
            let udp_len = usize::from(be16(payload, 4)).saturating_sub(8);
            let udp = bound(&payload[8..], udp_len, &mut inside);
            let is = |port| sport == port || dport == port;
            if is(VXLAN_PORT) {
                need("VXLAN", udp, 8)?;
                // RFC 7348: the I flag says the VNI is valid.
                if udp[0] & 0x08 == 0 {
                    return Ok(None);
                }
                room(2)?;
                push(out, outer(ip))?;
                *bounded = inside;
                let vni = u32::from_be_bytes([0, udp[4], udp[5], udp[6]]);
                push(out, Encap::Vxlan { vni })?;
                Ok(Some(Next::Ethernet(&udp[8..])))
            } else if is(GENEVE_PORT) {
                need("Geneve", udp, 8)?;
                if udp[0] >> 6 != 0 {
                    return Ok(None); // only version 0 exists
                }
                let options_len = usize::from(udp[0] & 0x3f) * 4;
                need("Geneve", udp, 8 + options_len)?;
                let protocol = be16(udp, 2);
                room(2)?;
                push(out, outer(ip))?;
                *bounded = inside;
                push(
                    out,
                    Encap::Geneve {
                        vni: u32::from_be_bytes([0, udp[4], udp[5], udp[6]]),
                        protocol,
                        options_len: options_len as u16,
                        critical: udp[1] & 0x40 != 0,
                    },
                )?;
                let rest = &udp[8 + options_len..];
                Ok(Some(match protocol {
                    ETHERTYPE_TEB => Next::Ethernet(rest),
                    other => Next::Proto(NetProto::from_ethertype(other), rest),
                }))
            } else {
                Ok(None)
            }
        }
        _ => Ok(None),
    }
}

/// A GRE header (RFC 2784 and 2890).
#[derive(Clone, Copy)]
struct Gre {
    encap: Encap,
    protocol: u16,
    /// The S bit: ERSPAN type I and II are told apart by it.
    has_seq: bool,
    len: usize,
}

impl Gre {
    /// `Ok(None)` for what is not followed: version 1 (PPTP) and the
    /// routing present in RFC 1701's form.
    fn parse(data: &[u8]) -> Result<Option<Gre>, DecodeError> {
        need("GRE", data, 4)?;
        let flags = be16(data, 0);
        let protocol = be16(data, 2);
        let (c, r, k, s) = (
            flags & 0x8000 != 0,
            flags & 0x4000 != 0,
            flags & 0x2000 != 0,
            flags & 0x1000 != 0,
        );
        if flags & 0b111 != 0 || r {
            return Ok(None);
        }
        let len = 4 + 4 * (usize::from(c) + usize::from(k) + usize::from(s));
        need("GRE", data, len)?;
        let word =
            |at: usize| u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
        let mut at = 4;
        let checksum = c.then(|| be16(data, 4));
        at += 4 * usize::from(c);
        let key = k.then(|| word(at));
        at += 4 * usize::from(k);
        let seq = s.then(|| word(at));
        Ok(Some(Gre {
            encap: Encap::Gre {
                protocol,
                key,
                seq,
                checksum,
            },
            protocol,
            has_seq: s,
            len,
        }))
    }
}

fn gre_payload<'a>(
    out: &mut Decoded<'a>,
    gre: Gre,
    data: &'a [u8],
) -> Result<Next<'a>, DecodeError> {
    match gre.protocol {
        ETHERTYPE_TEB => Ok(Next::Ethernet(data)),
        // ERSPAN type I has no header of its own and no GRE sequence number.
        ETHERTYPE_ERSPAN_2 if !gre.has_seq => {
            push(
                out,
                Encap::Erspan {
                    erspan_type: 1,
                    session: 0,
                    vlan: 0,
                },
            )?;
            Ok(Next::Ethernet(data))
        }
        ETHERTYPE_ERSPAN_2 => {
            // Version 1, VLAN, COS/encapsulation/truncated, session ID, index.
            need("ERSPAN II", data, 8)?;
            push(
                out,
                Encap::Erspan {
                    erspan_type: 2,
                    session: be16(data, 2) & 0x03ff,
                    vlan: be16(data, 0) & 0x0fff,
                },
            )?;
            Ok(Next::Ethernet(&data[8..]))
        }
        ETHERTYPE_ERSPAN_3 => {
            // Version 2, VLAN, COS/BSO/T, session ID, timestamp, SGT, then
            // P, frame type, hardware ID, direction, granularity and O (an
            // 8-byte platform-specific sub-header follows).
            need("ERSPAN III", data, 12)?;
            let bits = be16(data, 10);
            let len = if bits & 1 != 0 { 20 } else { 12 };
            need("ERSPAN III", data, len)?;
            push(
                out,
                Encap::Erspan {
                    erspan_type: 3,
                    session: be16(data, 2) & 0x03ff,
                    vlan: be16(data, 0) & 0x0fff,
                },
            )?;
            let rest = &data[len..];
            Ok(match (bits >> 10) & 0x1f {
                0 => Next::Ethernet(rest),
                2 => Next::Proto(by_version(rest), rest),
                _ => Next::Proto(NetProto::Unknown, rest),
            })
        }
        other => Ok(Next::Proto(NetProto::from_ethertype(other), data)),
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::super::link::LinkKind;
    use super::super::{decode, Transport};
    use super::*;

    /// The records of a little-endian classic pcap file (the fixtures).
    fn records(pcap: &'static [u8]) -> Vec<&'static [u8]> {
        let mut out = Vec::new();
        let mut at = 24;
        while at + 16 <= pcap.len() {
            let caplen = u32::from_le_bytes(pcap[at + 8..at + 12].try_into().unwrap()) as usize;
            out.push(&pcap[at + 16..at + 16 + caplen]);
            at += 16 + caplen;
        }
        out
    }

    /// Frame 1 (the SYN) of a fixture: its path and inner TCP ports.
    fn syn_of(pcap: &'static [u8]) -> (Vec<Encap>, IpAddr, u16) {
        let frame = records(pcap)[0];
        let d = decode(LinkKind::Ethernet, frame);
        assert!(d.error.is_none(), "{:?}", d.error);
        let Transport::Tcp(t) = d.transport else {
            panic!("no TCP: {:?}", d.transport)
        };
        assert_eq!(t.header.dst_port(), Some(9999));
        let ip = d.ip().unwrap();
        (
            d.encap.layers().to_vec(),
            ip.src,
            t.header.src_port().unwrap(),
        )
    }

    fn outer_v4<'s>(src: &'s str, dst: &'s str, proto: u8) -> impl Fn(&Encap) -> bool + 's {
        move |e| {
            matches!(e, Encap::Ip { version: 4, src: s, dst: d, proto: p, .. }
                if *s == src.parse::<IpAddr>().unwrap() && *d == dst.parse::<IpAddr>().unwrap() && *p == proto)
        }
    }

    // Every expectation below was read off `tshark -V` of the same frame.

    #[test]
    fn vxlan_from_the_kernel() {
        let (path, src, _) = syn_of(include_bytes!("../../../../fixtures/tunnel-vxlan.pcap"));
        assert_eq!(path.len(), 3, "{path:?}");
        assert!(outer_v4("10.99.14.1", "10.99.14.2", 17)(&path[0]));
        assert_eq!(path[1], Encap::Vxlan { vni: 42 });
        assert!(matches!(path[2], Encap::Ethernet { .. }));
        assert_eq!(src, "10.99.41.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn vxlan_over_ipv6_in_a_vlan() {
        let (path, _, _) = syn_of(include_bytes!(
            "../../../../fixtures/tunnel-vlan-vxlan.pcap"
        ));
        assert_eq!(
            path[0],
            Encap::Vlan {
                tpid: 0x8100,
                id: 100,
                pcp: 0
            }
        );
        assert!(matches!(
            path[1],
            Encap::Ip {
                version: 6,
                proto: 17,
                ..
            }
        ));
        assert_eq!(path[2], Encap::Vxlan { vni: 4242 });
        assert_eq!(path.len(), 4);
    }

    #[test]
    fn gre_with_key_and_sequence() {
        let frames = records(include_bytes!("../../../../fixtures/tunnel-gre.pcap"));
        // Client → server frames 1, 3, 4 carry GRE sequence numbers 0, 1, 2.
        for (i, want_seq) in [(0, 0), (2, 1), (3, 2)] {
            let d = decode(LinkKind::Ethernet, frames[i]);
            assert!(outer_v4("10.99.14.1", "10.99.14.2", 47)(
                &d.encap.layers()[0]
            ));
            assert_eq!(
                d.encap.layers()[1],
                Encap::Gre {
                    protocol: 0x0800,
                    key: Some(7),
                    seq: Some(want_seq),
                    checksum: None
                }
            );
            assert!(d.tcp().is_some());
        }
    }

    #[test]
    fn gretap_with_checksum_carries_ethernet() {
        let (path, _, _) = syn_of(include_bytes!("../../../../fixtures/tunnel-gretap.pcap"));
        assert!(matches!(
            path[1],
            Encap::Gre {
                protocol: 0x6558,
                key: Some(7),
                seq: None,
                checksum: Some(_)
            }
        ));
        assert!(matches!(path[2], Encap::Ethernet { .. }));
    }

    #[test]
    fn erspan_types_two_and_three() {
        let (path, _, _) = syn_of(include_bytes!("../../../../fixtures/tunnel-erspan2.pcap"));
        assert!(matches!(
            path[1],
            Encap::Gre {
                protocol: 0x88be,
                seq: Some(0),
                ..
            }
        ));
        assert_eq!(
            path[2],
            Encap::Erspan {
                erspan_type: 2,
                session: 123,
                vlan: 0
            }
        );
        let (path, _, _) = syn_of(include_bytes!("../../../../fixtures/tunnel-erspan3.pcap"));
        assert!(matches!(
            path[1],
            Encap::Gre {
                protocol: 0x22eb,
                ..
            }
        ));
        assert_eq!(
            path[2],
            Encap::Erspan {
                erspan_type: 3,
                session: 321,
                vlan: 0
            }
        );
        assert!(matches!(path[3], Encap::Ethernet { .. }));
    }

    #[test]
    fn geneve_with_an_option() {
        let (path, _, _) = syn_of(include_bytes!("../../../../fixtures/tunnel-geneve.pcap"));
        assert_eq!(
            path[1],
            Encap::Geneve {
                vni: 42,
                protocol: 0x6558,
                // One option: a 4-byte option header and 4 bytes of data.
                options_len: 8,
                critical: false
            }
        );
    }

    #[test]
    fn ip_in_ip_all_four_ways() {
        let (path, src, _) = syn_of(include_bytes!("../../../../fixtures/tunnel-ipip.pcap"));
        assert!(outer_v4("10.99.14.1", "10.99.14.2", 4)(&path[0]));
        assert_eq!(path.len(), 1);
        assert!(src.is_ipv4());
        let (path, src, _) = syn_of(include_bytes!("../../../../fixtures/tunnel-sit.pcap"));
        assert!(outer_v4("10.99.14.1", "10.99.14.2", 41)(&path[0]));
        assert_eq!(src, "fd00:99:41::1".parse::<IpAddr>().unwrap());
        let frames = records(include_bytes!("../../../../fixtures/tunnel-ip6ip6.pcap"));
        // Frames 1–10 IPv6 in IPv6, 11–20 IPv4 in IPv6.
        for (frame, inner_v4) in [(frames[0], false), (frames[10], true)] {
            let d = decode(LinkKind::Ethernet, frame);
            let [Encap::Ip {
                version: 6, proto, ..
            }] = d.encap.layers()
            else {
                panic!("{:?}", d.encap.layers())
            };
            assert_eq!(*proto, if inner_v4 { 4 } else { 41 });
            assert_eq!(d.ip().unwrap().version, if inner_v4 { 4 } else { 6 });
            assert!(d.tcp().is_some());
        }
        // SRv6: a routing header between the two IPv6 headers.
        let (path, _, _) = syn_of(include_bytes!("../../../../fixtures/tunnel-srv6.pcap"));
        assert!(matches!(
            path[..],
            [Encap::Ip {
                version: 6,
                proto: 41,
                ..
            }]
        ));
    }

    #[test]
    fn mpls_label_stack_and_pppoe() {
        let (path, _, _) = syn_of(include_bytes!("../../../../fixtures/tunnel-mpls.pcap"));
        assert_eq!(
            path,
            vec![
                Encap::Mpls {
                    label: 100,
                    tc: 0,
                    bottom: false,
                    ttl: 64
                },
                Encap::Mpls {
                    label: 200,
                    tc: 0,
                    bottom: true,
                    ttl: 64
                }
            ]
        );
        let (path, _, _) = syn_of(include_bytes!("../../../../fixtures/tunnel-pppoe.pcap"));
        assert_eq!(
            path,
            vec![Encap::Pppoe {
                session: 0x1234,
                protocol: 0x0021
            }]
        );
    }

    #[test]
    fn qinq_tags_are_in_the_path() {
        let frames = records(include_bytes!("../../../../fixtures/vlan.pcap"));
        let d = decode(LinkKind::Ethernet, frames[18]);
        assert_eq!(
            d.encap.layers(),
            &[
                Encap::Vlan {
                    tpid: 0x88a8,
                    id: 200,
                    pcp: 0
                },
                Encap::Vlan {
                    tpid: 0x8100,
                    id: 300,
                    pcp: 0
                }
            ]
        );
        assert!(d.tcp().is_some());
    }

    #[test]
    fn each_direction_of_a_tunnel_has_the_same_id() {
        for pcap in [
            &include_bytes!("../../../../fixtures/tunnel-vxlan.pcap")[..],
            include_bytes!("../../../../fixtures/tunnel-gre.pcap"),
            include_bytes!("../../../../fixtures/tunnel-pppoe.pcap"),
        ] {
            let frames = records(pcap);
            let ids: Vec<u64> = frames
                .iter()
                .map(|f| decode(LinkKind::Ethernet, f).tunnel_id())
                .collect();
            assert!(ids.iter().all(|i| *i == ids[0] && *i != 0), "{ids:?}");
        }
        // MPLS labels do not count: the same inner packet without them is
        // the same connection.
        let frames = records(include_bytes!("../../../../fixtures/tunnel-mpls.pcap"));
        assert_eq!(decode(LinkKind::Ethernet, frames[0]).tunnel_id(), 0);
    }

    #[test]
    fn cut_tunnel_headers_are_errors_where_they_are_cut() {
        let frame = records(include_bytes!("../../../../fixtures/tunnel-erspan3.pcap"))[0];
        for cut in 0..frame.len() {
            let d = decode(LinkKind::Ethernet, &frame[..cut]);
            if cut < frame.len() - 40 {
                assert!(d.error.is_some() || d.tcp().is_none(), "cut {cut}");
            }
        }
        // Cut inside the GRE header: the outer IP is the innermost header read.
        let d = decode(LinkKind::Ethernet, &frame[..14 + 20 + 6]);
        assert!(d.encap.is_empty());
        assert_eq!(d.ip().unwrap().proto, 47);
        assert!(matches!(
            d.error,
            Some(DecodeError::LayerTruncated { layer: "GRE", .. })
        ));
        // Cut inside the ERSPAN header: the path so far, and why it stops.
        let d = decode(LinkKind::Ethernet, &frame[..14 + 20 + 8 + 4]);
        assert_eq!(d.encap.len(), 2);
        assert!(matches!(d.network, Network::None));
        assert!(matches!(
            d.error,
            Some(DecodeError::LayerTruncated {
                layer: "ERSPAN III",
                ..
            })
        ));
    }

    #[test]
    fn a_pppoe_length_shorter_than_the_ip_length_ends_the_packet() {
        // Frame 3 of tunnel-pppoe.pcap (a pure ACK, IP total length 52),
        // with the PPPoE length cut by 6 and 6 bytes of padding after it.
        let mut f = records(include_bytes!("../../../../fixtures/tunnel-pppoe.pcap"))[2].to_vec();
        let len = u16::from_be_bytes([f[18], f[19]]);
        f[18..20].copy_from_slice(&(len - 6).to_be_bytes());
        f.extend([0u8; 6]);
        let d = decode(LinkKind::Ethernet, &f);
        let ip = d.ip().unwrap();
        // As tshark: the IP header's 52 bytes do not fit in the 46 the
        // PPPoE length (48, with the PPP protocol field) leaves.
        assert_eq!(ip.payload_len, 46 - 20);
        assert!(ip.payload_len_guessed);
        // Unchanged, the same frame ends where its IP length says.
        let f = records(include_bytes!("../../../../fixtures/tunnel-pppoe.pcap"))[2];
        let d = decode(LinkKind::Ethernet, f);
        assert_eq!(d.ip().unwrap().payload_len, 32);
        assert!(!d.ip().unwrap().payload_len_guessed);
    }
}
