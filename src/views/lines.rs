//! One line per frame, in tcpdump's shape, with three deliberate changes:
//! `ip:port` addresses, the seq on every segment (tcpdump hides it on pure
//! ACKs, which hides keepalive probes) and the scaled window once known.

use std::io::{self, Write};
use std::net::IpAddr;

use synack_core::decode::checksum::{self, Checksums};
use synack_core::decode::encap::Encap;
use synack_core::decode::link::{sll_pkttype_name, Link, LinkExtra, LinkKind, NetProto};
use synack_core::decode::net::{Arp, Ecn, Ip};
use synack_core::decode::tcp::{flag, OptionError, TcpOption};
use synack_core::decode::{Icmp, Network, SeqNum, Tcp, Transport, Udp};
use synack_core::track::Event;
use synack_core::Packet;

use super::dump::{self, Dump};
use super::time::{TimeFormat, TimeWriter};
use super::{charset, text, verbose, words, RunEnd, View};

/// What the lines show.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct LineOptions {
    /// `-e`: link-layer header.
    pub(crate) link_header: bool,
    /// `-S`: absolute sequence numbers.
    pub(crate) absolute: bool,
    /// `--number`: frame number first.
    pub(crate) number: bool,
    pub(crate) time: TimeFormat,
    pub(crate) nano: bool,
    /// `--why`: the rule and numbers behind each annotation.
    pub(crate) why: bool,
    /// 2MSL, for explanations.
    pub(crate) time_wait_ns: i128,
    /// `-v`: the IP header in parentheses and the checksums checked, as tcpdump -v.
    pub(crate) verbose: bool,
    /// `-x`, `-X`, `-A`: the frame's bytes after its line.
    pub(crate) dump: Option<Dump>,
    /// `--no-options`: leave the TCP options out (narrow terminals, teaching).
    pub(crate) no_options: bool,
}

/// One line per frame, tcpdump-style, then what synack found in it.
pub(crate) struct LinesView {
    opts: LineOptions,
    time: TimeWriter,
    buf: Vec<u8>,
    ifnames: IfNames,
}

/// Interface names by index, for LINUX_SLL2 captures: this machine's names,
/// as tcpdump shows them (`lo`, not `ifindex 1`); asked once per index.
#[derive(Default)]
struct IfNames(rustc_hash::FxHashMap<u32, Option<String>>);

impl IfNames {
    fn get(&mut self, index: u32) -> Option<&str> {
        self.0
            .entry(index)
            .or_insert_with(|| {
                let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
                // SAFETY: if_indextoname writes at most IF_NAMESIZE bytes,
                // NUL-terminated, into `buf`, or returns NULL.
                let p = unsafe { libc::if_indextoname(index, buf.as_mut_ptr()) };
                if p.is_null() {
                    return None;
                }
                // SAFETY: on success `buf` holds a NUL-terminated name.
                let name = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
                Some(super::words::escaped(&name.to_string_lossy()).into_owned())
            })
            .as_deref()
    }

    /// `lo   ` (padded as tcpdump pads it), or `ifindex N` when this
    /// machine has no interface with that index.
    fn write(&mut self, out: &mut Vec<u8>, index: Option<u32>) -> io::Result<()> {
        let Some(i) = index else {
            return Ok(());
        };
        match self.get(i) {
            Some(name) => write!(out, "{name:<5} "),
            None => write!(out, "ifindex {i} "),
        }
    }
}

impl View for LinesView {
    fn packet(&mut self, p: &Packet<'_>, out: &mut dyn Write) -> io::Result<()> {
        self.render(p)?;
        out.write_all(&self.buf)
    }

    fn event(&mut self, e: &Event, out: &mut dyn Write) -> io::Result<()> {
        self.render_event(e)?;
        out.write_all(&self.buf)
    }

    fn finish(&mut self, end: &RunEnd<'_>, out: &mut dyn Write) -> io::Result<()> {
        super::write_text_end(end, None, out)
    }
}

impl LinesView {
    pub(crate) fn new(opts: LineOptions) -> LinesView {
        LinesView {
            opts,
            time: TimeWriter::new(opts.time, opts.nano),
            buf: Vec::with_capacity(512),
            ifnames: IfNames::default(),
        }
    }

    /// Render one frame (with its trailing newline) into the internal buffer.
    pub(crate) fn render(&mut self, rec: &Packet<'_>) -> io::Result<&[u8]> {
        self.buf.clear();
        let out = &mut self.buf;
        if self.opts.number {
            write!(out, "{:5}  ", rec.frame.number)?;
        }
        if self.opts.time != TimeFormat::None {
            self.time.write(out, rec.frame.ts)?;
            out.push(b' ');
        } else {
            self.time.pass(rec.frame.ts);
        }
        let d = rec.decoded();
        if let Some(link) = &d.link {
            if link.kind == LinkKind::LinuxSll2 {
                // tcpdump shows the interface and direction for `-i any` captures.
                self.ifnames.write(out, link.ifindex)?;
            }
            if self.opts.link_header {
                link_header(out, link, rec.frame.data, rec.frame.wire_len)?;
            } else if link.kind == LinkKind::LinuxSll2 {
                write!(
                    out,
                    "{:<3} ",
                    sll_pkttype_name(link.pkttype.unwrap_or(0xff))
                )?;
            }
        }
        // The link's own tags are link-layer detail: -e shows them (as
        // tcpdump does); tags inside a tunnel are part of its path.
        let shown_tags = d.link.as_ref().map_or(0, |l| l.vlans().len());
        write_path(out, &d.encap.layers()[shown_tags..], self.opts.link_header)?;
        match &d.network {
            Network::Ip(ip) => {
                let checks = if self.opts.verbose {
                    checksum::check(d, rec.frame.data)
                } else {
                    Checksums::default()
                };
                ip_line(out, ip, &d.transport, rec, &self.opts, &checks)?;
            }
            Network::Arp(arp) => arp_line(out, arp)?,
            Network::Other(proto) => other_line(out, *proto, d.link.as_ref(), rec.frame.wire_len)?,
            Network::None => {}
        }
        if let Some(err) = &d.error {
            let err = words::decode_error(err);
            if matches!(d.network, Network::None) {
                write!(
                    out,
                    "[{}: {err}]",
                    crate::lang::pick("undecodable", "无法解码")
                )?;
            } else {
                write!(out, " [{err}]")?;
            }
        }
        if rec.frame.is_cut() {
            let (got, of) = (rec.frame.data.len(), rec.frame.wire_len);
            out.extend_from_slice(
                crate::lang::tr!(
                    " [cut by snaplen: {got} of {of} bytes captured]",
                    " [被 snaplen 截断：共 {of} 字节，捕获了 {got} 字节]"
                )
                .as_bytes(),
            );
        }
        if let Some(obs) = rec.observation {
            out.extend_from_slice(b" | ");
            let time = &self.time;
            let clock = |ts| time.point(ts);
            // --why speaks in the line's numbers: relative unless -S.
            let bases = if self.opts.absolute {
                words::Bases::default()
            } else {
                words::Bases {
                    own: rec.segment.map(|s| s.seq.minus(obs.rel_seq)),
                    peer: obs.peer_seq_base,
                }
            };
            let time_wait_ns = self.opts.time_wait_ns;
            let why = |e: &Event| words::why(e, time_wait_ns, bases);
            let why: Option<&dyn Fn(&Event) -> String> = self.opts.why.then_some(&why);
            words::write_annotation(out, obs, rec.events, &clock, why);
        }
        out.push(b'\n');
        if let Some(d) = self.opts.dump {
            let link_len = rec.decoded().link.map(|l| l.header_len);
            dump::write(out, d, rec.frame.data, link_len);
        }
        charset::bytes(&mut self.buf);
        Ok(&self.buf)
    }

    /// An event with no frame of its own (TIME_WAIT expiry, end of capture), on its own line.
    fn render_event(&mut self, e: &Event) -> io::Result<&[u8]> {
        self.buf.clear();
        let out = &mut self.buf;
        if self.opts.number {
            out.extend_from_slice(b"       ");
        }
        if self.opts.time != TimeFormat::None {
            let when = self.time.point(e.ts);
            out.extend_from_slice(when.as_bytes());
            out.push(b' ');
        }
        let time = &self.time;
        let clock = |ts| time.point(ts);
        out.extend_from_slice("── #".as_bytes());
        num(out, e.conn);
        out.push(b' ');
        words::write_label(out, e, &clock);
        if self.opts.why {
            let why = words::why(e, self.opts.time_wait_ns, words::Bases::default());
            write!(out, " [{}{why}]", words::why_tag())?;
        }
        out.push(b'\n');
        charset::bytes(&mut self.buf);
        Ok(&self.buf)
    }
}

fn ethertype_name(t: u16) -> &'static str {
    match t {
        0x0800 => "IPv4",
        0x86dd => "IPv6",
        0x0806 => "ARP",
        0x8100 => "802.1Q",
        0x88a8 => "802.1Q-QinQ",
        0x88cc => "LLDP",
        0x8035 => "RARP",
        0x8847 => "MPLS unicast",
        0x8848 => "MPLS multicast",
        0x8863 => "PPPoE discovery",
        0x8864 => "PPPoE session",
        0x6558 => "Transparent Ethernet Bridging",
        0x88be => "ERSPAN",
        0x888e => "EAPOL",
        0x22eb => "ERSPAN III",
        0x2000 => "CDP",
        0x9100 => "QinQ (0x9100)",
        0x88e5 => "MACsec",
        t if t < 0x0600 => "802.3 length",
        _ => "Unknown",
    }
}

/// The encapsulation path before the innermost header, each layer
/// followed by ` › `: `IP 10.0.0.1 > 10.0.0.2 › VXLAN vni 42 › `. Inner
/// Ethernet addresses only with `-e`, as the outer ones.
pub(crate) fn write_path(out: &mut Vec<u8>, layers: &[Encap], macs: bool) -> io::Result<()> {
    for layer in layers {
        if write_layer(out, layer, macs)? {
            out.extend_from_slice(" › ".as_bytes());
        }
    }
    Ok(())
}

/// The path as text, for a table: `IP 10.0.0.1 > 10.0.0.2 › VXLAN vni 42`.
pub(crate) fn path_text(out: &mut Vec<u8>, layers: &[Encap]) {
    // Writing into a Vec cannot fail.
    let _ = write_path(out, layers, false);
    let sep = " › ".as_bytes();
    if out.ends_with(sep) {
        out.truncate(out.len() - sep.len());
    }
}

/// One layer of the path; false when it is not shown.
fn write_layer(out: &mut Vec<u8>, layer: &Encap, macs: bool) -> io::Result<bool> {
    match *layer {
        Encap::Vlan { tpid, id, .. } => match tpid {
            0x8100 => write!(out, "VLAN {id}")?,
            0x88a8 => write!(out, "S-VLAN {id}")?,
            t => write!(out, "S-VLAN {id} (0x{t:04x})")?,
        },
        Encap::Mpls { label, .. } => write!(out, "MPLS {label}")?,
        Encap::Pppoe { session, .. } => write!(out, "PPPoE session 0x{session:04x}")?,
        Encap::Ip {
            version, src, dst, ..
        } => {
            out.extend_from_slice(if version == 4 { b"IP " } else { b"IP6 " });
            write_endpoint(out, src, None)?;
            out.extend_from_slice(b" > ");
            write_endpoint(out, dst, None)?;
        }
        Encap::Gre { key, seq, .. } => {
            out.extend_from_slice(b"GRE");
            if let Some(k) = key {
                write!(out, " key {k}")?;
            }
            if let Some(n) = seq {
                write!(out, " seq {n}")?;
            }
        }
        Encap::Erspan {
            erspan_type,
            session,
            ..
        } => match erspan_type {
            1 => out.extend_from_slice(b"ERSPAN I"),
            2 => write!(out, "ERSPAN II session {session}")?,
            _ => write!(out, "ERSPAN III session {session}")?,
        },
        Encap::Vxlan { vni } => write!(out, "VXLAN vni {vni}")?,
        Encap::Geneve { vni, .. } => write!(out, "Geneve vni {vni}")?,
        Encap::Ethernet { src, dst } => {
            if !macs {
                return Ok(false);
            }
            write!(out, "{src} > {dst}")?;
        }
    }
    Ok(true)
}

fn ppp_protocol_name(p: u16) -> &'static str {
    match p {
        0x0021 => "IPv4",
        0x0057 => "IPv6",
        0x0281 => "MPLS unicast",
        0x0283 => "MPLS multicast",
        0x002d | 0x002f => crate::lang::pick(
            "Van Jacobson compressed TCP/IP",
            "Van Jacobson 压缩的 TCP/IP",
        ),
        0x8021 => "IPCP",
        0x8057 => "IPv6CP",
        0x8281 => "MPLSCP",
        0x80fd => "CCP",
        0xc021 => "LCP",
        0xc023 => "PAP",
        0xc223 => "CHAP",
        _ => "Unknown",
    }
}

/// The 802.11 frame names in Chinese (the abbreviations stay).
fn wlan_frame_name_zh(en: &'static str) -> &'static str {
    match en {
        "association request" => "关联请求",
        "association response" => "关联响应",
        "reassociation request" => "重关联请求",
        "reassociation response" => "重关联响应",
        "probe request" => "探测请求",
        "probe response" => "探测响应",
        "beacon" => "信标",
        "disassociation" => "取消关联",
        "authentication" => "认证",
        "deauthentication" => "取消认证",
        "action" => "动作帧",
        "action no ack" => "无需确认的动作帧",
        "management frame" => "管理帧",
        "block ack request" => "块确认请求",
        "block ack" => "块确认",
        "control frame" => "控制帧",
        "null data" => "空数据帧",
        "QoS null data" => "QoS 空数据帧",
        "QoS data" => "QoS 数据帧",
        "data" => "数据帧",
        "extension frame" => "扩展帧",
        other => other,
    }
}

/// 802.11 frame names by type and subtype (IEEE 802.11-2020, table 9-1).
fn wlan_frame_name(frame_type: u8, subtype: u8) -> &'static str {
    match (frame_type, subtype) {
        (0, 0) => "association request",
        (0, 1) => "association response",
        (0, 2) => "reassociation request",
        (0, 3) => "reassociation response",
        (0, 4) => "probe request",
        (0, 5) => "probe response",
        (0, 8) => "beacon",
        (0, 9) => "ATIM",
        (0, 10) => "disassociation",
        (0, 11) => "authentication",
        (0, 12) => "deauthentication",
        (0, 13) => "action",
        (0, 14) => "action no ack",
        (0, _) => "management frame",
        (1, 8) => "block ack request",
        (1, 9) => "block ack",
        (1, 10) => "PS-poll",
        (1, 11) => "RTS",
        (1, 12) => "CTS",
        (1, 13) => "ACK",
        (1, 14) => "CF-end",
        (1, _) => "control frame",
        (2, 4) => "null data",
        (2, 12) => "QoS null data",
        (2, s) if s & 8 != 0 => "QoS data",
        (2, _) => "data",
        _ => "extension frame",
    }
}

fn link_header(out: &mut Vec<u8>, link: &Link, frame: &[u8], wire_len: u32) -> io::Result<()> {
    match link.extra {
        LinkExtra::Ppp { protocol, .. } => {
            write!(
                out,
                "PPP, protocol {} (0x{protocol:04x}), length {wire_len}: ",
                ppp_protocol_name(protocol)
            )?;
            return Ok(());
        }
        LinkExtra::CiscoHdlc { address, protocol } => {
            let cast = if address & 0x80 != 0 {
                "broadcast"
            } else {
                "unicast"
            };
            write!(
                out,
                "HDLC ({cast}), ethertype {} (0x{protocol:04x}), length {wire_len}: ",
                ethertype_name(protocol)
            )?;
            return Ok(());
        }
        LinkExtra::Wlan(w) => {
            if w.radiotap_len > 0 {
                write!(out, "radiotap {} bytes, ", w.radiotap_len)?;
            }
            if let (Some(s), Some(d)) = (link.src_mac, link.dst_mac) {
                write!(out, "{s} > {d}, ")?;
            }
            write!(out, "802.11 {}", wlan_frame_name(w.frame_type, w.subtype))?;
            if let Some(b) = w.bssid {
                write!(out, ", BSSID {b}")?;
            }
            if w.flags & synack_core::decode::wlan::flags::PROTECTED != 0 {
                out.extend_from_slice(b", protected");
            }
            if let Some(t) = link.ethertype() {
                write!(out, ", ethertype {} (0x{t:04x})", ethertype_name(t))?;
            }
            write!(out, ", length {wire_len}: ")?;
            return Ok(());
        }
        LinkExtra::Pflog(p) => {
            // tcpdump's words: `rule 5: block in on vio0: `.
            let rule = p.rulenr as i32;
            write!(
                out,
                "rule {rule}: {} {} on {}, length {wire_len}: ",
                p.action_name(),
                p.dir_name(),
                // The interface name is the frame's bytes: escaped like any outside text.
                crate::escape::Escaped(p.interface())
            )?;
            return Ok(());
        }
        LinkExtra::Nflog(n) => {
            write!(out, "NFLOG group {}", n.group)?;
            if let Some(prefix) = n.prefix(frame).filter(|p| !p.is_empty()) {
                out.extend_from_slice(b", prefix ");
                crate::views::json::escape_into(out, prefix);
            }
            if let Some(h) = n.hook {
                let hook = match h {
                    0 => "prerouting",
                    1 => "input",
                    2 => "forward",
                    3 => "output",
                    4 => "postrouting",
                    _ => "?",
                };
                write!(out, ", hook {hook}")?;
            }
            write!(out, ", length {wire_len}: ")?;
            return Ok(());
        }
        LinkExtra::None => {}
    }
    match link.kind {
        LinkKind::Ethernet => {
            if let (Some(s), Some(d)) = (link.src_mac, link.dst_mac) {
                write!(out, "{s} > {d}, ")?;
            }
            for v in link.vlans() {
                write!(
                    out,
                    "ethertype {} (0x{:04x}), vlan {}, p {}, ",
                    ethertype_name(v.tpid),
                    v.tpid,
                    v.id,
                    v.pcp
                )?;
            }
        }
        LinkKind::LinuxSll | LinkKind::LinuxSll2 => {
            // tcpdump's order: direction, then the index (after the name).
            let dir = sll_pkttype_name(link.pkttype.unwrap_or(0xff));
            if link.kind == LinkKind::LinuxSll2 {
                write!(out, "{dir:<3} ")?;
            } else {
                write!(out, "{dir} ")?;
            }
            if let Some(i) = link.ifindex {
                write!(out, "ifindex {i} ")?;
            }
            if let Some(s) = link.src_mac {
                write!(out, "{s} ")?;
            }
        }
        LinkKind::Null | LinkKind::Loop => {
            let family = match link.net {
                NetProto::Ipv4 => "IPv4",
                NetProto::Ipv6 => "IPv6",
                _ => "unknown",
            };
            write!(out, "AF {family}, length {wire_len}: ")?;
            return Ok(());
        }
        LinkKind::Raw => {
            write!(out, "raw, length {wire_len}: ")?;
            return Ok(());
        }
        LinkKind::Ipoib => out.extend_from_slice(b"IPoIB, "),
        // Their headers were written above (`extra`).
        LinkKind::Ppp
        | LinkKind::PppHdlc
        | LinkKind::CiscoHdlc
        | LinkKind::Ieee80211
        | LinkKind::Radiotap
        | LinkKind::Pflog
        | LinkKind::Nflog => {}
    }
    if let Some(t) = link.ethertype() {
        write!(out, "ethertype {} (0x{t:04x}), ", ethertype_name(t))?;
    }
    write!(out, "length {wire_len}: ")
}

fn ip_line(
    out: &mut Vec<u8>,
    ip: &Ip,
    transport: &Transport<'_>,
    rec: &Packet<'_>,
    opts: &LineOptions,
    checks: &Checksums,
) -> io::Result<()> {
    out.extend_from_slice(if ip.version == 4 { b"IP " } else { b"IP6 " });
    if opts.verbose {
        let link_len = rec.decoded().link.map_or(0, |l| l.header_len);
        let packet = rec.frame.data.get(link_len..).unwrap_or(&[]);
        verbose::write_ip(out, ip, packet, checks)?;
    }
    match transport {
        Transport::Tcp(tcp) => tcp_line(out, ip, tcp, rec, opts, checks)?,
        Transport::Udp(u) => udp_line(out, ip, u)?,
        Transport::Icmp(i) => {
            write!(out, "{} > {}: ", ip.src, ip.dst)?;
            icmp_text(out, i)?;
        }
        Transport::Fragment | Transport::Other(_) | Transport::None => {
            write!(out, "{} > {}: {}", ip.src, ip.dst, proto_name(ip.proto))?;
            if !matches!(transport, Transport::Fragment) {
                write!(out, ", length {}", ip.payload_len)?;
            }
        }
    }
    if let Some(f) = ip.fragment {
        let (fragment, offset, bytes) = if crate::lang::zh() {
            ("分片 id", "偏移", "字节")
        } else {
            ("fragment id", "offset", "bytes")
        };
        write!(
            out,
            " ({fragment} {}, {offset} {}, {} {bytes}{})",
            f.id,
            f.offset,
            ip.payload_len,
            if f.more {
                crate::lang::pick(", more follow", "，后面还有")
            } else {
                crate::lang::pick(", last", "，最后一片")
            }
        )?;
    }
    Ok(())
}

fn proto_name(p: u8) -> &'static str {
    match p {
        1 => "ICMP",
        2 => "IGMP",
        6 => "TCP",
        17 => "UDP",
        47 => "GRE",
        50 => "ESP",
        51 => "AH",
        58 => "ICMP6",
        59 => "no-next-header",
        132 => "SCTP",
        _ => "ip-proto",
    }
}

fn udp_line(out: &mut Vec<u8>, ip: &Ip, u: &Udp) -> io::Result<()> {
    write!(
        out,
        "{} > {}: UDP, length {}",
        std::net::SocketAddr::new(ip.src, u.src_port),
        std::net::SocketAddr::new(ip.dst, u.dst_port),
        u.len
    )
}

fn icmp_text(out: &mut Vec<u8>, i: &Icmp) -> io::Result<()> {
    let name = if i.version == 4 {
        match i.icmp_type {
            0 => "echo reply",
            3 => "destination unreachable",
            5 => "redirect",
            8 => "echo request",
            11 => "time exceeded",
            _ => "type",
        }
    } else {
        match i.icmp_type {
            1 => "destination unreachable",
            2 => "packet too big",
            3 => "time exceeded",
            128 => "echo request",
            129 => "echo reply",
            133 => "router solicitation",
            134 => "router advertisement",
            135 => "neighbor solicitation",
            136 => "neighbor advertisement",
            143 => "multicast listener report v2",
            _ => "type",
        }
    };
    let tag = if i.version == 4 { "ICMP" } else { "ICMP6" };
    write!(out, "{tag} {name}")?;
    if name == "type" {
        write!(out, " {} code {}", i.icmp_type, i.code)?;
    }
    if let Some((id, seq)) = i.echo {
        write!(out, ", id {id}, seq {seq}")?;
    }
    write!(out, ", length {}", i.len)
}

fn arp_line(out: &mut Vec<u8>, a: &Arp) -> io::Result<()> {
    match (a.operation, a.sender_ip, a.target_ip) {
        (1, Some(s), Some(t)) => write!(out, "ARP, Request who-has {t} tell {s}")?,
        (2, Some(s), Some(_)) => {
            write!(out, "ARP, Reply {s} is-at ")?;
            if let Some(hw) = a.sender_hw {
                write!(out, "{}", synack_core::decode::link::MacAddr(hw))?;
            }
        }
        (op, _, _) => write!(out, "ARP, operation {op}")?,
    }
    write!(out, ", length {}", a.len)
}

fn other_line(
    out: &mut Vec<u8>,
    proto: NetProto,
    link: Option<&Link>,
    wire_len: u32,
) -> io::Result<()> {
    match proto {
        NetProto::EtherType(t) => write!(
            out,
            "ethertype {} (0x{t:04x}), length {wire_len} ({})",
            ethertype_name(t),
            crate::lang::pick("not decoded", "未解码")
        ),
        NetProto::AddressFamily(af) => {
            let not = crate::lang::pick("not decoded", "未解码");
            write!(out, "address family {af}, length {wire_len} ({not})")
        }
        NetProto::Ppp(p) => write!(
            out,
            "PPP protocol {} (0x{p:04x}), length {wire_len} ({})",
            ppp_protocol_name(p),
            crate::lang::pick("not decoded", "未解码")
        ),
        NetProto::Llc { dsap, ssap } => write!(
            out,
            "LLC dsap 0x{dsap:02x} ssap 0x{ssap:02x}, length {wire_len} ({})",
            crate::lang::pick("not decoded", "未解码")
        ),
        NetProto::Wlan {
            frame_type,
            subtype,
        } => {
            let name = wlan_frame_name(frame_type, subtype);
            let name = if crate::lang::zh() {
                wlan_frame_name_zh(name)
            } else {
                name
            };
            write!(out, "802.11 {name}")?;
            if matches!(link.map(|l| l.extra), Some(LinkExtra::Wlan(w)) if w.amsdu) {
                out.extend_from_slice(b" (A-MSDU)");
            }
            let not = crate::lang::pick("not decoded", "未解码");
            write!(out, ", length {wire_len} ({not})")
        }
        NetProto::Unknown => {
            let (what, not) = if crate::lang::zh() {
                ("未知类型的载荷", "未解码")
            } else {
                ("payload of unknown type", "not decoded")
            };
            write!(out, "{what}, length {wire_len} ({not})")
        }
        NetProto::Ipv4 | NetProto::Ipv6 | NetProto::Arp | NetProto::Protected => Ok(()),
    }
}

/// tcpdump's flag letters, in tcpdump's order (print-tcp.c
/// `tcp_flag_values`): F S R P . U E W e, "none" for none.
fn write_flags(out: &mut Vec<u8>, flags: u16) {
    out.extend_from_slice(b"Flags [");
    let start = out.len();
    for (bit, ch) in [
        (u16::from(flag::FIN), b'F'),
        (u16::from(flag::SYN), b'S'),
        (u16::from(flag::RST), b'R'),
        (u16::from(flag::PSH), b'P'),
        (u16::from(flag::ACK), b'.'),
        (u16::from(flag::URG), b'U'),
        (u16::from(flag::ECE), b'E'),
        (u16::from(flag::CWR), b'W'),
        (flag::AE, b'e'),
    ] {
        if flags & bit != 0 {
            out.push(ch);
        }
    }
    if out.len() == start {
        out.extend_from_slice(b"none");
    }
    out.push(b']');
}

fn num(out: &mut Vec<u8>, n: impl itoa::Integer) {
    let mut b = itoa::Buffer::new();
    out.extend_from_slice(b.format(n).as_bytes());
}

/// `ip:port` as a String, the fast way (tables have a row per connection).
pub(crate) fn endpoint_string(addr: std::net::SocketAddr) -> String {
    let mut v = Vec::with_capacity(24);
    // Writing into a Vec cannot fail.
    let _ = write_endpoint(&mut v, addr.ip(), Some(addr.port()));
    String::from_utf8(v).unwrap_or_default()
}

/// An address as `ip:port` (`[v6]:port`), or the bare IP without a port.
pub(crate) fn write_endpoint(out: &mut Vec<u8>, ip: IpAddr, port: Option<u16>) -> io::Result<()> {
    match ip {
        IpAddr::V4(v4) => text::ipv4(out, v4),
        IpAddr::V6(v6) if port.is_some() => {
            out.push(b'[');
            text::ipv6(out, v6);
            out.push(b']');
        }
        IpAddr::V6(v6) => text::ipv6(out, v6),
    }
    if let Some(p) = port {
        out.push(b':');
        num(out, p);
    }
    Ok(())
}

fn tcp_line(
    out: &mut Vec<u8>,
    ip: &Ip,
    tcp: &Tcp<'_>,
    rec: &Packet<'_>,
    opts: &LineOptions,
    checks: &Checksums,
) -> io::Result<()> {
    let absolute = opts.absolute;
    let h = &tcp.header;
    write_endpoint(out, ip.src, h.src_port())?;
    out.extend_from_slice(b" > ");
    write_endpoint(out, ip.dst, h.dst_port())?;
    out.extend_from_slice(b": ");
    let (Some(flags), Some(flags16)) = (h.flags(), h.flags16()) else {
        if let Some(seq) = h.seq() {
            write!(out, "seq {seq}")?;
        }
        return Ok(());
    };
    write_flags(out, flags16);
    if let Some(c) = checks.tcp {
        verbose::write_tcp_checksum(out, &c)?;
    }
    let obs = if absolute { None } else { rec.observation };
    let seq = h.seq().unwrap_or_default();
    out.extend_from_slice(b", seq ");
    let start = obs.map_or(seq.0, |o| o.rel_seq);
    num(out, start);
    if tcp.payload_len > 0 {
        out.push(b':');
        num(out, start.wrapping_add(tcp.payload_len));
    }
    if flags & flag::ACK != 0 {
        if let Some(ack) = h.ack_field() {
            out.extend_from_slice(b", ack ");
            num(out, obs.and_then(|o| o.rel_ack).unwrap_or(ack.0));
        }
    }
    if let Some(win) = h.window() {
        out.extend_from_slice(b", win ");
        num(out, win);
        if let Some(scaled) = rec.observation.and_then(|o| o.win_scaled) {
            if scaled != u32::from(win) {
                out.extend_from_slice(b" (scaled ");
                num(out, scaled);
                out.push(b')');
            }
        }
    }
    if flags & flag::URG != 0 {
        if let Some(u) = h.urgent_ptr() {
            out.extend_from_slice(b", urg ");
            num(out, u);
        }
    }
    if !opts.no_options && (!h.option_bytes().is_empty() || h.options_truncated()) {
        out.extend_from_slice(b", options [");
        let sack_base = obs.and_then(|o| o.peer_seq_base);
        let mut first = true;
        for opt in h.options() {
            if !first {
                out.push(b',');
            }
            first = false;
            write_option(out, &opt, sack_base)?;
        }
        out.push(b']');
    }
    out.extend_from_slice(b", length ");
    num(out, tcp.payload_len);
    // The IP ECN codepoint, where the packet is ECN-capable (tcpdump shows
    // it only with -v, inside the IP header's parentheses, as -v does here).
    let ecn = ip.ecn();
    if ecn != Ecn::NotEct && !opts.verbose {
        out.extend_from_slice(b", ");
        out.extend_from_slice(ecn.name().as_bytes());
    }
    if ip.payload_len_guessed {
        out.extend_from_slice(
            crate::lang::pick(
                " (IP length unusable: length from capture)",
                " (IP 长度字段不可用：长度取自捕获)",
            )
            .as_bytes(),
        );
    }
    Ok(())
}

fn write_option(
    out: &mut Vec<u8>,
    opt: &TcpOption<'_>,
    sack_base: Option<SeqNum>,
) -> io::Result<()> {
    match *opt {
        TcpOption::Eol => out.extend_from_slice(b"eol"),
        TcpOption::Nop => out.extend_from_slice(b"nop"),
        TcpOption::Mss(v) => {
            out.extend_from_slice(b"mss ");
            num(out, v);
        }
        TcpOption::WindowScale(v) => {
            out.extend_from_slice(b"wscale ");
            num(out, v);
        }
        TcpOption::SackPermitted => out.extend_from_slice(b"sackOK"),
        TcpOption::Sack(blocks) => {
            write!(out, "sack {} ", blocks.len())?;
            for (l, r) in blocks.iter() {
                let base = sack_base.unwrap_or(SeqNum(0));
                write!(out, "{{{}:{}}}", l.since(base), r.since(base))?;
            }
        }
        TcpOption::Timestamp { val, ecr } => {
            out.extend_from_slice(b"TS val ");
            num(out, val);
            out.extend_from_slice(b" ecr ");
            num(out, ecr);
        }
        TcpOption::FastOpen([]) => out.extend_from_slice(b"tfo cookiereq"),
        TcpOption::FastOpen(cookie) => {
            out.extend_from_slice(b"tfo cookie ");
            hex(out, cookie);
        }
        TcpOption::Mptcp { subtype, .. } => {
            let name = match subtype {
                0 => "capable",
                1 => "join",
                2 => "dss",
                3 => "add-addr",
                4 => "remove-addr",
                5 => "prio",
                6 => "fail",
                7 => "fast-close",
                8 => "tcprst",
                _ => "unknown",
            };
            write!(out, "mptcp {name}")?;
        }
        TcpOption::Unknown { kind, data } => {
            write!(out, "unknown-{kind}")?;
            if !data.is_empty() {
                out.extend_from_slice(b" 0x");
                hex(out, data);
            }
        }
        TcpOption::Malformed { kind, reason } => match reason {
            OptionError::Truncated => {
                let cut = crate::lang::pick("cut by snaplen", "被 snaplen 截断");
                write!(out, "opt-{kind} [{cut}]")?
            }
            OptionError::BadLength(l) => {
                let bad = crate::lang::pick("bad length", "长度错误");
                write!(out, "opt-{kind} {bad} {l}")?
            }
            OptionError::WrongLength(l) => {
                let wrong = crate::lang::pick("wrong length", "长度不对");
                write!(out, "opt-{kind} {wrong} {l}")?
            }
        },
    }
    Ok(())
}

fn hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 0xf)]);
    }
}
