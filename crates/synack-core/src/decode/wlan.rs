//! IEEE 802.11 as a link layer, with or without a radiotap header in front.
//! Only data frames carry packets: their body starts with an 802.2 LLC/SNAP
//! header naming the EtherType. A protected (encrypted) body cannot be read;
//! management and control frames carry no packet.

use super::link::{
    be16, invalid, mac_at, need, Link, LinkError, LinkExtra, LinkKind, MacAddr, NetProto,
};

/// What the 802.11 (and radiotap) header of a frame says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WlanInfo {
    /// Frame type: 0 management, 1 control, 2 data, 3 extension.
    pub frame_type: u8,
    /// Subtype (data: 0 data, 4 null, 8 QoS data, 12 QoS null).
    pub subtype: u8,
    /// The frame control flags byte: To DS 0x01, From DS 0x02, Retry 0x08,
    /// Protected 0x40, +HTC/Order 0x80.
    pub flags: u8,
    /// The BSS the frame belongs to, when its addresses name one.
    pub bssid: Option<MacAddr>,
    /// Length of the radiotap header (0 without one).
    pub radiotap_len: u16,
    /// Radiotap says the frame ends in its 4-byte FCS.
    pub fcs: bool,
    /// A QoS data frame whose body is an A-MSDU (several packets; not unpacked).
    pub amsdu: bool,
}

/// Frame control flags.
pub mod flags {
    /// To the distribution system.
    pub const TO_DS: u8 = 0x01;
    /// From the distribution system.
    pub const FROM_DS: u8 = 0x02;
    /// The body is encrypted (WEP, TKIP, CCMP, GCMP).
    pub const PROTECTED: u8 = 0x40;
    /// +HTC (in QoS data frames: a 4-byte HT control field follows QoS control).
    pub const ORDER: u8 = 0x80;
}

/// Radiotap flags (field 1): the frame ends in an FCS; padding after the
/// 802.11 header aligns the body to 32 bits.
const RADIOTAP_FCS: u8 = 0x10;
const RADIOTAP_DATAPAD: u8 = 0x20;

/// The 802.11 link, behind radiotap for `LinkKind::Radiotap`.
pub(crate) fn link(kind: LinkKind, data: &[u8]) -> Result<Link, LinkError> {
    let (rt_len, rt_flags) = if kind == LinkKind::Radiotap {
        radiotap(data)?
    } else {
        (0, 0)
    };
    let fcs = rt_flags & RADIOTAP_FCS != 0 && data.len() >= rt_len + 4;
    let end = if fcs { data.len() - 4 } else { data.len() };
    let mut link = ieee80211(kind, &data[rt_len..end], rt_flags & RADIOTAP_DATAPAD != 0)?;
    link.header_len += rt_len;
    link.trailer_len = data.len() - end;
    if let LinkExtra::Wlan(w) = &mut link.extra {
        w.radiotap_len = rt_len as u16;
        w.fcs = fcs;
    }
    Ok(link)
}

/// The radiotap header's length and flags field (0 when absent).
fn radiotap(data: &[u8]) -> Result<(usize, u8), LinkError> {
    let kind = LinkKind::Radiotap;
    need(kind, data, 8)?;
    if data[0] != 0 {
        return Err(invalid(kind, "radiotap version is not 0"));
    }
    let len = usize::from(u16::from_le_bytes([data[2], data[3]]));
    if len < 8 {
        return Err(invalid(kind, "radiotap length below 8 bytes"));
    }
    need(kind, data, len)?;
    let word = |at: usize| u32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
    let first = word(4);
    // Extended presence bitmaps follow while bit 31 is set; the fields
    // start after the last one, the first bitmap's fields first.
    let mut at = 8;
    let mut more = first & 0x8000_0000 != 0;
    while more {
        if at + 4 > len {
            return Err(invalid(
                kind,
                "radiotap presence bitmaps run past its length",
            ));
        }
        more = word(at) & 0x8000_0000 != 0;
        at += 4;
    }
    let mut flags = 0;
    if first & 0b10 != 0 {
        // Field 0, TSFT: 8 bytes aligned to 8; field 1, flags: one byte.
        if first & 0b01 != 0 {
            at = at.next_multiple_of(8) + 8;
        }
        if at < len {
            flags = data[at];
        }
    }
    Ok((len, flags))
}

/// An 802.11 frame (FCS already cut off); `datapad`: radiotap says the body
/// is aligned to 32 bits.
fn ieee80211(kind: LinkKind, f: &[u8], datapad: bool) -> Result<Link, LinkError> {
    need(kind, f, 2)?;
    if f[0] & 0b11 != 0 {
        return Err(invalid(kind, "802.11 protocol version is not 0"));
    }
    let frame_type = (f[0] >> 2) & 0b11;
    let subtype = f[0] >> 4;
    let fl = f[1];
    let mut info = WlanInfo {
        frame_type,
        subtype,
        flags: fl,
        bssid: None,
        radiotap_len: 0,
        fcs: false,
        amsdu: false,
    };
    let no_payload = NetProto::Wlan {
        frame_type,
        subtype,
    };
    if frame_type != 2 {
        // Management frames: DA, SA, BSSID. Control frames: a receiver
        // address, and for some a transmitter address.
        let mut link = Link::new(kind, no_payload, f.len());
        if f.len() >= 10 {
            link.dst_mac = Some(mac_at(f, 4));
        }
        if frame_type == 0 && f.len() >= 24 {
            link.src_mac = Some(mac_at(f, 10));
            info.bssid = Some(mac_at(f, 16));
        }
        link.extra = LinkExtra::Wlan(info);
        return Ok(link);
    }
    let four_addresses = fl & (flags::TO_DS | flags::FROM_DS) == flags::TO_DS | flags::FROM_DS;
    let mut hdr = if four_addresses { 30 } else { 24 };
    need(kind, f, hdr)?;
    let (a1, a2, a3) = (mac_at(f, 4), mac_at(f, 10), mac_at(f, 16));
    let (dst, src, bssid) = match fl & (flags::TO_DS | flags::FROM_DS) {
        0 => (a1, a2, Some(a3)),
        flags::TO_DS => (a3, a2, Some(a1)),
        flags::FROM_DS => (a1, a3, Some(a2)),
        _ => (a3, mac_at(f, 24), None),
    };
    info.bssid = bssid;
    if subtype & 0x08 != 0 {
        // QoS data: a QoS control field, and an HT control field with +HTC.
        need(kind, f, hdr + 2)?;
        info.amsdu = f[hdr] & 0x80 != 0;
        hdr += 2;
        if fl & flags::ORDER != 0 {
            hdr += 4;
        }
    }
    if datapad {
        hdr = hdr.next_multiple_of(4);
    }
    let net = if subtype & 0x04 != 0 || info.amsdu {
        // Null data (no body), or an A-MSDU.
        no_payload
    } else if fl & flags::PROTECTED != 0 {
        NetProto::Protected
    } else {
        need(kind, f, hdr + 3)?;
        if f[hdr..hdr + 3] == [0xaa, 0xaa, 0x03] {
            // SNAP: a 3-byte OUI, then the EtherType (RFC 1042).
            need(kind, f, hdr + 8)?;
            let t = be16(f, hdr + 6);
            hdr += 8;
            NetProto::from_ethertype(t)
        } else {
            NetProto::Llc {
                dsap: f[hdr],
                ssap: f[hdr + 1],
            }
        }
    };
    let mut link = Link::new(kind, net, hdr.min(f.len()));
    link.dst_mac = Some(dst);
    link.src_mac = Some(src);
    link.extra = LinkExtra::Wlan(info);
    Ok(link)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A radiotap header as the radiotap spec lays it out: presence bits
    /// TSFT, flags and channel (plus `extra` chained presence words), the
    /// TSFT aligned to 8 bytes, flags 0x10 (FCS at the end).
    fn radiotap_header(extra_words: usize) -> Vec<u8> {
        let mut h = vec![0, 0, 0, 0];
        let first: u32 = 0b1011 | if extra_words > 0 { 1 << 31 } else { 0 };
        h.extend(first.to_le_bytes());
        for i in 0..extra_words {
            let more: u32 = if i + 1 < extra_words { 1 << 31 } else { 0 };
            h.extend(more.to_le_bytes());
        }
        while h.len() % 8 != 0 {
            h.push(0);
        }
        h.extend(0x5656_61e1u64.to_le_bytes()); // TSFT
        h.push(RADIOTAP_FCS);
        h.push(0); // alignment of the channel field
        h.extend([0x6c, 0x09, 0xa0, 0x00]); // 2412 MHz, 2 GHz OFDM
        let len = h.len() as u16;
        h[2..4].copy_from_slice(&len.to_le_bytes());
        h
    }

    /// A QoS data frame To DS (BSSID, SA, DA; sequence control; QoS
    /// control), LLC/SNAP for IPv4, the first bytes of the packet, an FCS.
    fn qos_data_to_ds() -> Vec<u8> {
        let mut f = vec![0x88, 0x01, 0x2c, 0x00];
        f.extend([0x8a, 0x15, 0x14, 0x9b, 0x5a, 0xe0]); // addr1: BSSID
        f.extend([0x90, 0x72, 0x40, 0x97, 0xb6, 0xf5]); // addr2: source
        f.extend([0x44, 0x2b, 0x03, 0xaa, 0xab, 0x8d]); // addr3: destination
        f.extend([0x10, 0x00, 0x06, 0x00]); // sequence control, QoS control
        f.extend([0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00]);
        f.extend([0x45, 0, 0, 0x3f]);
        f.extend([1, 2, 3, 4]); // FCS
        f
    }

    #[test]
    fn radiotap_qos_data_to_ds() {
        for extra_words in [0, 1, 2] {
            let rt = radiotap_header(extra_words);
            let mut f = rt.clone();
            f.extend(qos_data_to_ds());
            let l = link(LinkKind::Radiotap, &f).unwrap();
            assert_eq!(l.net, NetProto::Ipv4);
            assert_eq!(l.header_len, rt.len() + 26 + 8);
            assert_eq!(l.trailer_len, 4);
            let LinkExtra::Wlan(w) = l.extra else {
                panic!("{:?}", l.extra)
            };
            assert_eq!((w.frame_type, w.subtype, w.flags), (2, 8, 0x01));
            assert!(w.fcs && !w.amsdu);
            assert_eq!(usize::from(w.radiotap_len), rt.len());
            // To DS: addr1 is the BSSID, addr2 the source, addr3 the destination.
            assert_eq!(w.bssid.unwrap().to_string(), "8a:15:14:9b:5a:e0");
            assert_eq!(l.src_mac.unwrap().to_string(), "90:72:40:97:b6:f5");
            assert_eq!(l.dst_mac.unwrap().to_string(), "44:2b:03:aa:ab:8d");
        }
        // Without radiotap the FCS is not known to be there.
        let l = link(LinkKind::Ieee80211, &qos_data_to_ds()).unwrap();
        assert_eq!((l.header_len, l.trailer_len), (34, 0));
    }

    #[test]
    fn protected_and_management_frames_carry_no_packet() {
        let mut f = qos_data_to_ds();
        f[1] |= flags::PROTECTED;
        assert_eq!(
            link(LinkKind::Ieee80211, &f).unwrap().net,
            NetProto::Protected
        );
        let mut beacon = vec![0x80, 0x00];
        beacon.extend([0u8; 22]);
        assert_eq!(
            link(LinkKind::Ieee80211, &beacon).unwrap().net,
            NetProto::Wlan {
                frame_type: 0,
                subtype: 8
            }
        );
        // An ACK: 10 bytes, a receiver address only.
        let ack = [0xd4, 0, 0, 0, 1, 2, 3, 4, 5, 6];
        let l = link(LinkKind::Ieee80211, &ack).unwrap();
        assert_eq!(l.dst_mac.unwrap().to_string(), "01:02:03:04:05:06");
    }

    #[test]
    fn cut_and_hostile_headers_are_errors() {
        let mut f = radiotap_header(1);
        f.extend(qos_data_to_ds());
        for cut in 0..f.len() {
            let _ = link(LinkKind::Radiotap, &f[..cut]);
            let _ = link(LinkKind::Ieee80211, &f[..cut]);
        }
        // Presence bitmaps chained past the header's length.
        let mut f = vec![0, 0, 12, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        f.extend([0u8; 30]);
        assert!(link(LinkKind::Radiotap, &f).is_err());
        assert!(link(LinkKind::Radiotap, &[1, 0, 8, 0, 0, 0, 0, 0]).is_err());
        assert!(link(LinkKind::Radiotap, &[0, 0, 4, 0, 0, 0, 0, 0]).is_err());
    }
}
