//! JSON Lines per the contract in design.md: `packet`, `event` and
//! `connection` records and the closing `summary`. Written by hand into a
//! reused buffer: one record per frame must not cost an allocation, and
//! every value here is a number, a fixed name, or an address whose text
//! needs no escaping.

use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};

use synack_core::decode::checksum::{self, Verdict};
use synack_core::decode::encap::Encap;
use synack_core::decode::link::{LinkKind, MacAddr, NetProto};
use synack_core::decode::net::ipv4_flag;
use synack_core::decode::tcp::{flag, OptionError, TcpOption};
use synack_core::decode::{Network, Timestamp, Transport};
use synack_core::pressure::{linux_ephemeral_port_count, PressureFacts, LINUX_EPHEMERAL_PORTS};
use synack_core::track::{
    Analysis, CloseVariant, Connection, Endpoint, Event, EventKind, Facts, Side,
};
use synack_core::Packet;

use super::time::Rfc3339;
use super::{text, RunEnd, TunnelPaths, View};

/// A JSON object being written: handles the commas.
pub(crate) struct Obj<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Obj<'a> {
    pub(crate) fn new(out: &'a mut Vec<u8>) -> Obj<'a> {
        out.push(b'{');
        Obj { out, first: true }
    }

    #[inline]
    pub(crate) fn key(&mut self, k: &str) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(k.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    #[inline]
    pub(crate) fn num(&mut self, k: &str, v: impl itoa::Integer) -> &mut Self {
        let mut b = itoa::Buffer::new();
        let s = b.format(v);
        self.key(k).extend_from_slice(s.as_bytes());
        self
    }

    #[inline]
    pub(crate) fn opt_num(&mut self, k: &str, v: Option<impl itoa::Integer>) -> &mut Self {
        match v {
            Some(v) => self.num(k, v),
            None => self.null(k),
        }
    }

    #[inline]
    pub(crate) fn null(&mut self, k: &str) -> &mut Self {
        self.key(k).extend_from_slice(b"null");
        self
    }

    #[inline]
    pub(crate) fn bool(&mut self, k: &str, v: bool) -> &mut Self {
        self.key(k)
            .extend_from_slice(if v { b"true" } else { b"false" });
        self
    }

    /// A string known to need no escaping (names, addresses).
    #[inline]
    pub(crate) fn plain(&mut self, k: &str, v: impl Plain) -> &mut Self {
        let out = self.key(k);
        out.push(b'"');
        v.write_plain(out);
        out.push(b'"');
        self
    }

    /// Any text, escaped.
    pub(crate) fn text(&mut self, k: &str, v: &str) -> &mut Self {
        let out = self.key(k);
        escape_into(out, v);
        self
    }

    pub(crate) fn end(self) {
        self.out.push(b'}');
    }
}

/// Text that never needs JSON escaping, written without `fmt`.
pub(crate) trait Plain {
    fn write_plain(&self, out: &mut Vec<u8>);
}

impl Plain for &str {
    #[inline]
    fn write_plain(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_bytes());
    }
}

impl Plain for IpAddr {
    fn write_plain(&self, out: &mut Vec<u8>) {
        text::ip(out, *self);
    }
}

impl Plain for std::net::Ipv4Addr {
    fn write_plain(&self, out: &mut Vec<u8>) {
        text::ipv4(out, *self);
    }
}

impl Plain for SocketAddr {
    fn write_plain(&self, out: &mut Vec<u8>) {
        text::socket(out, *self);
    }
}

impl Plain for MacAddr {
    fn write_plain(&self, out: &mut Vec<u8>) {
        text::mac(out, self.0);
    }
}

pub(crate) fn escape_into(out: &mut Vec<u8>, s: &str) {
    escape_as(out, s, super::charset::ascii());
}

/// A JSON string; with `ascii`, the same string with `\uXXXX` escapes
/// for what is not ASCII (a reader gets the same text back).
fn escape_as(out: &mut Vec<u8>, s: &str, ascii: bool) {
    // serde_json's escaping is the reference; writing into a Vec cannot fail.
    let start = out.len();
    let _ = serde_json::to_writer(&mut *out, s);
    if !ascii || out[start..].is_ascii() {
        return;
    }
    let text = String::from_utf8_lossy(&out[start..]).into_owned();
    out.truncate(start);
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c as u8);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{u:04x}");
            }
        }
    }
}

/// JSON Lines: packet records (unless only connections are wanted), event
/// and connection records, and the summary.
pub(crate) struct JsonView {
    time: Rfc3339,
    buf: Vec<u8>,
    /// `--summary --json`: connection records and the summary only.
    packets: bool,
    extras: Extras,
    /// Tunnelled connections' encapsulation paths, for their records.
    paths: TunnelPaths,
}

/// What packet records carry beyond the contract's fields, when asked.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Extras {
    /// `-v`: the IP header's other fields and the checksums checked.
    pub(crate) verbose: bool,
    /// `-x`, `-X`, `-A`: `payload_hex`, the TCP payload captured.
    pub(crate) payload_hex: bool,
    /// Doubled (`-XX`): `frame_hex`, every byte captured.
    pub(crate) frame_hex: bool,
}

impl JsonView {
    pub(crate) fn new(packets: bool, extras: Extras) -> JsonView {
        JsonView {
            time: Rfc3339::new(),
            buf: Vec::with_capacity(1024),
            packets,
            extras,
            paths: TunnelPaths::default(),
        }
    }
}

/// An `encap` array: one object per layer, outermost first.
pub(crate) fn encap_json(out: &mut Vec<u8>, layers: &[Encap]) {
    out.push(b'[');
    for (i, layer) in layers.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let mut o = Obj::new(out);
        o.plain("kind", layer.kind());
        match *layer {
            Encap::Vlan { tpid, id, pcp } => {
                o.num("id", id).num("tpid", tpid).num("pcp", pcp);
            }
            Encap::Mpls {
                label,
                tc,
                bottom,
                ttl,
            } => {
                o.num("label", label)
                    .num("tc", tc)
                    .bool("bottom", bottom)
                    .num("ttl", ttl);
            }
            Encap::Pppoe { session, protocol } => {
                o.num("session", session).num("ppp_protocol", protocol);
            }
            Encap::Ip {
                version,
                src,
                dst,
                proto,
                ttl,
                tos,
            } => {
                o.num("ip_version", version)
                    .plain("src_ip", src)
                    .plain("dst_ip", dst)
                    .num("ip_proto", proto)
                    .num("ttl", ttl)
                    .plain("ecn", synack_core::decode::net::Ecn::of(tos).name());
            }
            Encap::Gre {
                protocol,
                key,
                seq,
                checksum,
            } => {
                o.num("protocol", protocol);
                if let Some(k) = key {
                    o.num("key", k);
                }
                if let Some(n) = seq {
                    o.num("seq", n);
                }
                if let Some(c) = checksum {
                    o.num("checksum", c);
                }
            }
            Encap::Erspan {
                erspan_type,
                session,
                vlan,
            } => {
                o.num("erspan_type", erspan_type)
                    .num("session", session)
                    .num("vlan", vlan);
            }
            Encap::Vxlan { vni } => {
                o.num("vni", vni);
            }
            Encap::Geneve {
                vni,
                protocol,
                options_len,
                critical,
            } => {
                o.num("vni", vni)
                    .num("protocol", protocol)
                    .num("options_len", options_len)
                    .bool("critical", critical);
            }
            Encap::Ethernet { src, dst } => {
                o.plain("src_mac", src).plain("dst_mac", dst);
            }
        }
        o.end();
    }
    out.push(b']');
}

impl View for JsonView {
    fn packet(&mut self, p: &Packet<'_>, out: &mut dyn Write) -> io::Result<()> {
        self.paths.note(p, encap_json);
        if !self.packets {
            return Ok(());
        }
        self.buf.clear();
        let mut o = Obj::new(&mut self.buf);
        packet_fields(&mut o, p, &mut self.time);
        extra_fields(&mut o, p, self.extras);
        o.end();
        self.buf.push(b'\n');
        out.write_all(&self.buf)
    }

    /// An event with no frame of its own, as a `{"type":"event"}` record.
    fn event(&mut self, e: &Event, out: &mut dyn Write) -> io::Result<()> {
        if !self.packets {
            return Ok(());
        }
        self.buf.clear();
        let mut o = Obj::new(&mut self.buf);
        o.plain("type", "event").num("conn", e.conn);
        ts_field(&mut o, "ts", e.ts, &mut self.time);
        event_fields(&mut o, e, &mut self.time);
        o.end();
        self.buf.push(b'\n');
        out.write_all(&self.buf)
    }

    /// A `{"type":"connection"}` record, written when the connection leaves the tracker.
    fn connection(&mut self, c: &Connection, f: &Facts, out: &mut dyn Write) -> io::Result<()> {
        self.buf.clear();
        let mut o = Obj::new(&mut self.buf);
        connection_fields(&mut o, c, f, &mut self.time);
        if let Some((first, reply)) = self.paths.take(c.id()) {
            o.key("encap").extend_from_slice(&first);
            if let Some(reply) = &reply {
                o.key("encap_reply").extend_from_slice(reply);
            }
        }
        o.end();
        self.buf.push(b'\n');
        out.write_all(&self.buf)
    }

    fn finish(&mut self, end: &RunEnd<'_>, out: &mut dyn Write) -> io::Result<()> {
        let counts = end.counts;
        self.buf.clear();
        let mut o = Obj::new(&mut self.buf);
        o.plain("type", "summary")
            .num("frames", counts.frames)
            .num("tcp_frames", counts.tcp)
            .num("udp_frames", counts.udp)
            .num("icmp_frames", counts.icmp)
            .num("arp_frames", counts.arp)
            .num("fragment_frames", counts.fragments)
            .num("other_frames", counts.other)
            .num("undecodable", counts.undecodable)
            .num("protected_frames", counts.protected)
            .num("cut_by_snaplen", counts.cut_by_snaplen)
            .num("connections", counts.connections)
            .num("evicted_idle", counts.evicted_idle)
            .num("evicted_max_connections", counts.evicted_cap)
            .num("time_went_back", counts.time_went_back);
        if let Some(k) = end.kernel {
            let out = o.key("kernel");
            let mut ko = Obj::new(out);
            ko.num("received", k.received)
                .num("dropped", k.dropped)
                .num("if_dropped", k.if_dropped);
            ko.end();
        }
        if let Some(s) = end.shard {
            let out = o.key("shard");
            let mut so = Obj::new(out);
            so.num("index", s.shard.index)
                .num("count", s.shard.count)
                .num("frames_read", s.frames_read)
                .num("frames_skipped", s.skipped);
            so.end();
        }
        write_pressure(&mut o, end.pressure, &mut self.time);
        for s in end.sections {
            s.write_json(&mut o);
        }
        let out_buf = o.key("errors");
        out_buf.push(b'[');
        for (i, e) in end.errors.iter().enumerate() {
            if i > 0 {
                out_buf.push(b',');
            }
            escape_into(out_buf, e);
        }
        out_buf.push(b']');
        o.end();
        self.buf.push(b'\n');
        out.write_all(&self.buf)
    }
}

/// Entries of each pressure list written out; the rest are counted in `more`.
const PRESSURE_LISTED: usize = 100;

fn opt_ts_field(o: &mut Obj<'_>, k: &str, ts: Option<Timestamp>, time: &mut Rfc3339) {
    match ts {
        Some(ts) => ts_field(o, k, ts, time),
        None => {
            o.null(k);
        }
    }
}

/// A JSON array of objects, one per item, each written by `f`.
fn array<T>(o: &mut Obj<'_>, k: &str, items: &[T], mut f: impl FnMut(&mut Obj<'_>, &T)) {
    let out = o.key(k);
    out.push(b'[');
    for (i, item) in items.iter().take(PRESSURE_LISTED).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let mut io = Obj::new(out);
        f(&mut io, item);
        io.end();
    }
    out.push(b']');
}

/// The summary's `pressure` object (see `synack_core::pressure`).
fn write_pressure(o: &mut Obj<'_>, p: &PressureFacts, time: &mut Rfc3339) {
    let out = o.key("pressure");
    let mut po = Obj::new(out);
    po.num("span_ms", p.span_ns / 1_000_000);
    {
        let out = po.key("ephemeral_default");
        let mut eo = Obj::new(out);
        eo.num("first", LINUX_EPHEMERAL_PORTS.0)
            .num("last", LINUX_EPHEMERAL_PORTS.1)
            .num("ports", linux_ephemeral_port_count());
        eo.end();
    }
    array(&mut po, "time_wait", &p.time_wait, |ho, h| {
        ho.plain("host", h.host).num("peak", h.peak);
        ts_field(ho, "at", h.at, time);
        ho.num("peak_as_server", h.peak_as_server)
            .num("peak_as_client", h.peak_as_client)
            .num("entered", h.entered);
    });
    array(&mut po, "servers", &p.servers, |so, s| {
        so.plain("server", s.server)
            .num("attempts", s.attempts)
            .num("handshakes", s.handshakes)
            .num("half_open_peak", s.half_open_peak);
        opt_ts_field(so, "half_open_at", s.half_open_at, time);
        so.num("synacks_unanswered", s.synacks_unanswered)
            .num("synacks_resent", s.synacks_resent)
            .num("synacks_stateless", s.synacks_stateless)
            .num("syns_unanswered", s.syns_unanswered)
            .num("syn_segments_unanswered", s.syn_segments_unanswered)
            .bool(
                "syns_dropped_while_listening",
                s.dropped_syns_while_listening(),
            )
            .num("sources", s.sources)
            .bool("sources_capped", s.sources_capped)
            .num("peak_syn_rate", s.peak_syn_rate);
        opt_ts_field(so, "peak_syn_rate_at", s.peak_syn_rate_at, time);
        so.bool("syn_flood", s.flood());
    });
    array(&mut po, "clients", &p.clients, |co, c| {
        co.plain("host", c.host)
            .num("connections", c.connections)
            .num("peak_ports", c.peak_ports);
        ts_field(co, "at", c.at, time);
        let share = (c.share_of_default_range() * 100.0).round() / 100.0;
        let out = co.key("share_of_default_range_pct");
        let _ = write!(out, "{share}");
        co.num("reused_within_span", c.reused_within_span);
    });
    {
        let out = po.key("syn_flood");
        out.push(b'[');
        for (i, s) in p.floods().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let _ = write!(out, "\"{}\"", s.server);
        }
        out.push(b']');
    }
    po.num("port_reuse", p.port_reuse)
        .num("port_reuse_in_time_wait", p.port_reuse_in_time_wait);
    {
        let out = po.key("capped");
        let mut co = Obj::new(out);
        co.num("hosts", p.capped.hosts)
            .num("servers", p.capped.servers)
            .num("client_ports", p.capped.client_ports);
        co.end();
    }
    {
        let out = po.key("more");
        let mut mo = Obj::new(out);
        let over = |n: usize| n.saturating_sub(PRESSURE_LISTED);
        mo.num("time_wait", over(p.time_wait.len()))
            .num("servers", over(p.servers.len()))
            .num("clients", over(p.clients.len()));
        mo.end();
    }
    po.end();
}

fn packet_fields(o: &mut Obj<'_>, rec: &Packet<'_>, time: &mut Rfc3339) {
    let f = rec.frame;
    let d = rec.decoded();
    o.plain("type", "packet").num("frame", f.number);
    let out = o.key("ts");
    out.push(b'"');
    time.write(out, f.ts);
    out.push(b'"');
    if f.ts.is_invalid() {
        o.bool("ts_invalid", true);
    }
    o.plain("link", rec.link.map_or("unsupported", LinkKind::name))
        .num("wire_len", f.wire_len)
        .num("caplen", f.data.len());
    if let Some(link) = &d.link {
        if let Some(m) = link.src_mac {
            o.plain("src_mac", m);
        }
        if let Some(m) = link.dst_mac {
            o.plain("dst_mac", m);
        }
        if !link.vlans().is_empty() {
            let out = o.key("vlan");
            out.push(b'[');
            for (i, v) in link.vlans().iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let _ = write!(out, "{}", v.id);
            }
            out.push(b']');
        }
        if let Some(p) = link.pkttype {
            o.plain("pkttype", synack_core::decode::link::sll_pkttype_name(p));
        }
        if let Some(i) = link.ifindex {
            o.num("ifindex", i);
        }
    }
    if !d.encap.is_empty() {
        encap_json(o.key("encap"), d.encap.layers());
    }
    match &d.network {
        Network::Ip(ip) => {
            o.num("ip_version", ip.version)
                .plain("src_ip", ip.src)
                .plain("dst_ip", ip.dst)
                .num("ttl", ip.ttl)
                .plain("ecn", ip.ecn().name());
            if let Some(id) = ip.id {
                o.num("ip_id", id);
            }
            if let Some(fr) = ip.fragment {
                let out = o.key("fragment");
                let mut fo = Obj::new(out);
                fo.num("id", fr.id)
                    .num("offset", fr.offset)
                    .bool("more", fr.more);
                fo.end();
            }
        }
        Network::Arp(a) => {
            o.plain("protocol", "arp").num("operation", a.operation);
            if let Some(ip) = a.sender_ip {
                o.plain("sender_ip", ip);
            }
            if let Some(ip) = a.target_ip {
                o.plain("target_ip", ip);
            }
        }
        Network::Other(NetProto::EtherType(t)) => {
            o.plain("protocol", "other").num("ethertype", *t);
        }
        Network::Other(NetProto::AddressFamily(af)) => {
            o.plain("protocol", "other").num("address_family", *af);
        }
        Network::Other(NetProto::Ppp(p)) => {
            o.plain("protocol", "other").num("ppp_protocol", *p);
        }
        Network::Other(NetProto::Llc { dsap, ssap }) => {
            o.plain("protocol", "other")
                .num("llc_dsap", *dsap)
                .num("llc_ssap", *ssap);
        }
        Network::Other(NetProto::Wlan {
            frame_type,
            subtype,
        }) => {
            o.plain("protocol", "other")
                .num("wlan_type", *frame_type)
                .num("wlan_subtype", *subtype);
        }
        Network::Other(NetProto::Unknown) => {
            o.plain("protocol", "other");
        }
        Network::Other(_) | Network::None => {}
    }
    match &d.transport {
        Transport::Tcp(tcp) => {
            let h = &tcp.header;
            let obs = rec.observation;
            o.opt_num("src_port", h.src_port())
                .opt_num("dst_port", h.dst_port());
            let flags = h.flags();
            let out = o.key("flags");
            match flags {
                Some(fl) => {
                    out.push(b'[');
                    let mut first = true;
                    for (bit, name) in flag::NAMES {
                        if fl & bit != 0 {
                            if !first {
                                out.push(b',');
                            }
                            first = false;
                            out.push(b'"');
                            out.extend_from_slice(name.as_bytes());
                            out.push(b'"');
                        }
                    }
                    if h.ae() == Some(true) {
                        if !first {
                            out.push(b',');
                        }
                        out.extend_from_slice(b"\"AE\"");
                    }
                    out.push(b']');
                }
                None => out.extend_from_slice(b"null"),
            }
            let has_ack = flags.is_some_and(|f| f & flag::ACK != 0);
            o.opt_num("seq", h.seq().map(|s| s.0));
            o.opt_num("ack", h.ack_field().filter(|_| has_ack).map(|a| a.0));
            o.opt_num("rel_seq", obs.map(|x| x.rel_seq));
            o.opt_num("rel_ack", obs.and_then(|x| x.rel_ack));
            o.opt_num("win", h.window());
            o.opt_num("win_scaled", obs.and_then(|x| x.win_scaled));
            if flags.is_some_and(|f| f & flag::URG != 0) {
                o.opt_num("urg", h.urgent_ptr());
            }
            o.num("len", tcp.payload_len);
            let out = o.key("options");
            out.push(b'[');
            for (i, opt) in h.options().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                option_json(out, &opt);
            }
            out.push(b']');
            if let Some(obs) = obs {
                o.num("conn", obs.conn).plain("dir", obs.side.dir());
                let out = o.key("states");
                let mut st = Obj::new(out);
                st.plain("client", obs.paths[0].after().name())
                    .plain("server", obs.paths[1].after().name());
                st.end();
                if obs.paths.iter().any(|p| p.changed()) {
                    // Each side's path at this packet, where it changed.
                    let out = o.key("transitions");
                    let mut tr = Obj::new(out);
                    for (i, side) in [Side::Client, Side::Server].into_iter().enumerate() {
                        if !obs.paths[i].changed() {
                            continue;
                        }
                        let out = tr.key(side.name());
                        out.push(b'[');
                        for (k, s) in obs.paths[i].states().iter().enumerate() {
                            if k > 0 {
                                out.push(b',');
                            }
                            out.push(b'"');
                            out.extend_from_slice(s.name().as_bytes());
                            out.push(b'"');
                        }
                        out.push(b']');
                    }
                    tr.end();
                }
                if obs.corrected.iter().any(|c| *c) {
                    o.bool("corrected", true);
                }
                if obs.assumed {
                    o.bool("states_assumed", true);
                }
                let out = o.key("events");
                out.push(b'[');
                for (i, e) in rec.events.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    let mut eo = Obj::new(out);
                    event_fields(&mut eo, e, time);
                    eo.end();
                }
                out.push(b']');
            }
        }
        Transport::Udp(u) => {
            o.plain("protocol", "udp")
                .num("src_port", u.src_port)
                .num("dst_port", u.dst_port)
                .num("len", u.len);
        }
        Transport::Icmp(i) => {
            o.plain("protocol", if i.version == 4 { "icmp" } else { "icmp6" })
                .num("icmp_type", i.icmp_type)
                .num("icmp_code", i.code);
        }
        Transport::Fragment => {
            o.plain("protocol", "fragment");
        }
        Transport::Other(p) => {
            o.plain("protocol", "ip").num("ip_proto", *p);
        }
        Transport::None => {}
    }
    o.bool("truncated", f.is_cut() || d.error.is_some());
    if let Some(e) = &d.error {
        let msg = e.to_string();
        o.text("error", &msg);
    }
}

/// `-v`: `tos`, `ip_length` (the length field as sent), `ip_flags` and
/// `ip_checksum`/`ip_checksum_ok` (IPv4), `flow_label` (IPv6),
/// `tcp_checksum`/`tcp_checksum_ok` (null when not judged, with
/// `tcp_checksum_unverified` saying why: `offload` or `incomplete`).
/// `-x`/`-X`/`-A`: `payload_hex`; doubled: `frame_hex`.
fn extra_fields(o: &mut Obj<'_>, rec: &Packet<'_>, extras: Extras) {
    let d = rec.decoded();
    if let (true, Network::Ip(ip)) = (extras.verbose, &d.network) {
        o.num("tos", ip.tos).num("ip_length", ip.length_field);
        let checks = checksum::check(d, rec.frame.data);
        if ip.version == 4 {
            let out = o.key("ip_flags");
            out.push(b'[');
            let mut first = true;
            for (bit, name) in [
                (ipv4_flag::DF, "DF"),
                (ipv4_flag::MF, "MF"),
                (ipv4_flag::RESERVED, "reserved"),
            ] {
                if ip.flags & bit != 0 {
                    if !first {
                        out.push(b',');
                    }
                    first = false;
                    let _ = write!(out, "\"{name}\"");
                }
            }
            out.push(b']');
        } else {
            o.num("flow_label", ip.flow_label);
        }
        let keys = [
            ("ip_checksum", "ip_checksum_ok", "ip_checksum_unverified"),
            ("tcp_checksum", "tcp_checksum_ok", "tcp_checksum_unverified"),
        ];
        for ((field, ok, why), check) in keys.into_iter().zip([checks.ip, checks.tcp]) {
            let Some(c) = check else { continue };
            o.num(field, c.field);
            match c.verdict {
                Verdict::Correct => o.bool(ok, true),
                Verdict::Incorrect { .. } => o.bool(ok, false),
                Verdict::Offload => o.null(ok).plain(why, "offload"),
                Verdict::Incomplete => o.null(ok).plain(why, "incomplete"),
            };
        }
    }
    if extras.payload_hex {
        if let Transport::Tcp(tcp) = &d.transport {
            let out = o.key("payload_hex");
            out.push(b'"');
            hex_into(out, tcp.payload);
            out.push(b'"');
        }
    }
    if extras.frame_hex {
        let out = o.key("frame_hex");
        out.push(b'"');
        hex_into(out, rec.frame.data);
        out.push(b'"');
    }
}

fn hex_into(out: &mut Vec<u8>, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.reserve(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 0xf)]);
    }
}

fn option_json(out: &mut Vec<u8>, opt: &TcpOption<'_>) {
    let mut o = Obj::new(out);
    match *opt {
        TcpOption::Eol => {
            o.plain("kind", "eol");
        }
        TcpOption::Nop => {
            o.plain("kind", "nop");
        }
        TcpOption::Mss(v) => {
            o.plain("kind", "mss").num("value", v);
        }
        TcpOption::WindowScale(v) => {
            o.plain("kind", "wscale").num("shift", v);
        }
        TcpOption::SackPermitted => {
            o.plain("kind", "sack_perm");
        }
        TcpOption::Sack(blocks) => {
            o.plain("kind", "sack");
            let out = o.key("blocks");
            out.push(b'[');
            for (i, (l, r)) in blocks.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let _ = write!(out, "[{},{}]", l.0, r.0);
            }
            out.push(b']');
        }
        TcpOption::Timestamp { val, ecr } => {
            o.plain("kind", "timestamp").num("val", val).num("ecr", ecr);
        }
        TcpOption::FastOpen(cookie) => {
            o.plain("kind", "tfo");
            let out = o.key("cookie");
            out.push(b'"');
            for b in cookie {
                let _ = write!(out, "{b:02x}");
            }
            out.push(b'"');
        }
        TcpOption::Mptcp { subtype, .. } => {
            o.plain("kind", "mptcp").num("subtype", subtype);
        }
        TcpOption::Unknown { kind, data } => {
            o.plain("kind", "unknown")
                .num("number", kind)
                .num("len", data.len() + 2);
        }
        TcpOption::Malformed { kind, reason } => {
            o.plain("kind", "malformed").num("number", kind);
            match reason {
                OptionError::Truncated => o.plain("reason", "cut by snaplen"),
                OptionError::BadLength(l) => o.plain("reason", "bad length").num("len", l),
                OptionError::WrongLength(l) => o.plain("reason", "wrong length").num("len", l),
            };
        }
    }
    o.end();
}

fn side_name(s: Option<Side>) -> Option<&'static str> {
    s.map(Side::name)
}

fn opt_plain(o: &mut Obj<'_>, k: &str, v: Option<&str>) {
    match v {
        Some(v) => {
            o.plain(k, v);
        }
        None => {
            o.null(k);
        }
    }
}

fn ts_field(o: &mut Obj<'_>, k: &str, ts: Timestamp, time: &mut Rfc3339) {
    let out = o.key(k);
    out.push(b'"');
    time.write(out, ts);
    out.push(b'"');
}

fn seconds(o: &mut Obj<'_>, k: &str, ns: Option<i128>) {
    match ns {
        Some(ns) => {
            let _ = write!(o.key(k), "{}", ns as f64 / 1e9);
        }
        None => {
            o.null(k);
        }
    }
}

fn event_fields(o: &mut Obj<'_>, e: &Event, time: &mut Rfc3339) {
    o.plain("kind", e.kind.name()).plain("side", e.side.name());
    match e.kind {
        EventKind::Handshake { step, rtt_ns } => {
            o.num("step", step);
            if step == 3 {
                o.opt_num("rtt_us", rtt_ns.map(|n| n / 1000));
            }
        }
        EventKind::Close { step, of, variant } => {
            o.num("step", step)
                .opt_num("of", of)
                .plain("variant", variant.name());
        }
        EventKind::HalfClose { bytes } => {
            o.num("bytes", bytes);
        }
        EventKind::TimeWait { until } | EventKind::TimeWaitContinues { until } => {
            ts_field(o, "until", until, time);
        }
        EventKind::Reset { cause } => {
            o.plain("cause", cause.name());
        }
        EventKind::PortReuse {
            previous,
            previous_in_time_wait,
        } => {
            o.num("previous_conn", previous)
                .bool("previous_in_time_wait", previous_in_time_wait);
        }
        EventKind::EcnSetup { mode } => {
            o.plain("mode", mode.name());
        }
        EventKind::TimeWentBack { ns } => {
            o.num("back_ns", ns);
        }
        EventKind::WindowScaleClamped { shift } => {
            o.num("shift", shift);
        }
        EventKind::Analysis { what, evidence } => {
            if what == Analysis::DuplicateAck {
                o.num("count", evidence.dup_acks);
            }
            if what == Analysis::Dsack {
                o.num("dsack_seq", evidence.seq.0)
                    .num("dsack_len", evidence.len)
                    .opt_num("spurious_frame", evidence.other_frame);
            }
            if let Some(us) = evidence.reported_us {
                if what.is_retransmission() || what == Analysis::OutOfOrder {
                    o.num("reported_us", us);
                }
            }
            if what.is_retransmission() || what == Analysis::OutOfOrder {
                o.bool("original_seen", evidence.original_seen);
            }
        }
        _ => {}
    }
    if let Some(f) = e.frame {
        o.num("frame", f);
    }
}

fn per_side(o: &mut Obj<'_>, k: &str, c: &Connection, f: impl Fn(&Endpoint) -> u64) {
    let out = o.key(k);
    let mut p = Obj::new(out);
    p.num("client", f(c.client())).num("server", f(c.server()));
    p.end();
}

fn connection_fields(o: &mut Obj<'_>, c: &Connection, f: &Facts, time: &mut Rfc3339) {
    let (first_frame, last_frame) = c.frames();
    o.plain("type", "connection")
        .num("conn", c.id())
        .plain("client", c.client().addr())
        .plain("server", c.server().addr())
        .num("first_frame", first_frame)
        .num("last_frame", last_frame);
    ts_field(o, "start", c.first_ts(), time);
    ts_field(o, "end", c.last_ts(), time);
    per_side(o, "packets", c, |e| e.packets());
    per_side(o, "bytes", c, |e| e.bytes());
    {
        let h = c.handshake();
        let out = o.key("handshake");
        let mut ho = Obj::new(out);
        ho.bool("complete", h.complete())
            .num("syn_count", h.syn_count())
            .opt_num("rtt_us", h.rtt_ns().map(|n| n / 1000));
        if h.rtt_ambiguous() {
            ho.bool("rtt_ambiguous", true);
        }
        if h.simultaneous() {
            ho.bool("simultaneous", true);
        }
        ho.end();
    }
    o.bool("refused", f.ending == synack_core::track::Ending::Refused);
    {
        let out = o.key("close");
        let mut cl = Obj::new(out);
        opt_plain(
            &mut cl,
            "type",
            f.ending.close_variant().map(CloseVariant::name),
        );
        opt_plain(&mut cl, "first_fin", side_name(c.close().first_fin()));
        cl.bool("half_close", c.close().half_close())
            .num("half_close_bytes", c.close().half_close_bytes());
        cl.end();
    }
    opt_plain(
        o,
        "time_wait",
        match f.time_wait_holders() {
            (true, true) => Some("both"),
            (true, false) => Some("client"),
            (false, true) => Some("server"),
            (false, false) => None,
        },
    );
    {
        let out = o.key("time_wait_until");
        let mut t = Obj::new(out);
        for (side, tw) in [Side::Client, Side::Server].into_iter().zip(f.time_wait) {
            match tw {
                Some(tw) => ts_field(&mut t, side.name(), tw.until, time),
                None => {
                    t.null(side.name());
                }
            }
        }
        t.end();
    }
    per_side(o, "resets", c, |e| u64::from(e.resets()));
    let aborted_by = match f.ending {
        synack_core::track::Ending::Reset { by, cause }
            if cause != synack_core::track::ResetCause::Unknown =>
        {
            Some(by)
        }
        _ => None,
    };
    opt_plain(o, "aborted_by", side_name(aborted_by));
    if let synack_core::track::Ending::Reset { cause, .. } = f.ending {
        o.plain("reset_cause", cause.name());
    }
    {
        let out = o.key("analysis");
        let mut a = Obj::new(out);
        for side in [Side::Client, Side::Server] {
            let out = a.key(side.name());
            let mut per = Obj::new(out);
            for kind in Analysis::ALL {
                per.num(kind.name(), c.endpoint(side).count(kind));
            }
            per.end();
        }
        a.end();
    }
    o.bool("port_reuse", c.port_reuse())
        .bool("midstream", c.midstream());
    {
        let out = o.key("states");
        let mut st = Obj::new(out);
        st.plain("client", f.states[0].name())
            .plain("server", f.states[1].name());
        st.end();
    }
    {
        let k = f.keepalive;
        let out = o.key("keepalive");
        let mut ko = Obj::new(out);
        ko.num("probes", k.map_or(0, |k| k.probes));
        seconds(&mut ko, "idle_s", k.and_then(|k| k.idle_ns));
        seconds(&mut ko, "interval_s", k.and_then(|k| k.interval_ns));
        opt_plain(&mut ko, "by", side_name(k.map(|k| k.by)));
        ko.end();
    }
    {
        let out = o.key("zero_window_s");
        let mut z = Obj::new(out);
        for (side, ns) in [Side::Client, Side::Server]
            .into_iter()
            .zip(f.zero_window_ns)
        {
            seconds(&mut z, side.name(), Some(ns));
        }
        z.end();
    }
    {
        let e = c.ecn();
        let out = o.key("ecn");
        let mut eo = Obj::new(out);
        opt_plain(&mut eo, "mode", e.mode().map(|m| m.name()));
        for (k, v) in [("ce", e.ce()), ("ece", e.ece()), ("cwr", e.cwr())] {
            let out = eo.key(k);
            let mut p = Obj::new(out);
            p.num("client", v[0]).num("server", v[1]);
            p.end();
        }
        eo.end();
    }
    o.plain("conn_state", f.conn_state.name())
        .text("history", c.history())
        .plain("ended_by", f.retired.name());
    // Added with Zeek's conn.log: the flow hash other tools log, IP bytes
    // and bytes the capture missed, per side.
    o.text("community_id", &c.community_id().text());
    per_side(o, "ip_bytes", c, |e| e.ip_bytes());
    per_side(o, "missed_bytes", c, |e| e.missed_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_json_escapes_what_is_not_ascii_and_reads_back_the_same() {
        let text = "38 µs → ok 🙂 \"q\"";
        let mut out = Vec::new();
        escape_as(&mut out, text, true);
        assert!(out.is_ascii(), "{}", String::from_utf8_lossy(&out));
        assert!(String::from_utf8_lossy(&out).contains("\\u00b5"));
        let back: String = serde_json::from_slice(&out).unwrap();
        assert_eq!(back, text);
        let mut utf8 = Vec::new();
        escape_as(&mut utf8, text, false);
        assert_eq!(
            String::from_utf8(utf8).unwrap(),
            "\"38 µs → ok 🙂 \\\"q\\\"\""
        );
    }
}
