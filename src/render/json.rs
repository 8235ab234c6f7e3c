//! JSON Lines per the contract in design.md: `packet` records and the
//! closing `summary`. Written by hand into a reused buffer: one record per
//! frame must not cost an allocation, and every value here is a number, a
//! fixed name, or an address whose text needs no escaping.

use std::fmt::Display;
use std::io::Write;

use super::time::Rfc3339;
use super::{Counts, PacketRecord};
use crate::decode::link::{LinkKind, NetProto};
use crate::decode::tcp::{flag, OptionError, TcpOption};
use crate::decode::{Network, Transport};
use crate::track::connection::Connection;
use crate::track::event::{Analysis, CloseVariant};
use crate::track::{zeek, Event, EventKind, Retired, Side};

/// A JSON object being written: handles the commas.
pub struct Obj<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Obj<'a> {
    pub fn new(out: &'a mut Vec<u8>) -> Obj<'a> {
        out.push(b'{');
        Obj { out, first: true }
    }

    pub fn key(&mut self, k: &str) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(k.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    pub fn num(&mut self, k: &str, v: impl itoa::Integer) -> &mut Self {
        let mut b = itoa::Buffer::new();
        let s = b.format(v);
        self.key(k).extend_from_slice(s.as_bytes());
        self
    }

    pub fn opt_num(&mut self, k: &str, v: Option<impl itoa::Integer>) -> &mut Self {
        match v {
            Some(v) => self.num(k, v),
            None => self.null(k),
        }
    }

    pub fn null(&mut self, k: &str) -> &mut Self {
        self.key(k).extend_from_slice(b"null");
        self
    }

    pub fn bool(&mut self, k: &str, v: bool) -> &mut Self {
        self.key(k)
            .extend_from_slice(if v { b"true" } else { b"false" });
        self
    }

    /// A string known to need no escaping (names, addresses).
    pub fn plain(&mut self, k: &str, v: impl Display) -> &mut Self {
        let out = self.key(k);
        out.push(b'"');
        let _ = write!(out, "{v}");
        out.push(b'"');
        self
    }

    /// Any text, escaped.
    pub fn text(&mut self, k: &str, v: &str) -> &mut Self {
        let out = self.key(k);
        escape_into(out, v);
        self
    }

    pub fn end(self) {
        self.out.push(b'}');
    }
}

pub fn escape_into(out: &mut Vec<u8>, s: &str) {
    // serde_json's escaping is the reference; writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

pub struct JsonRenderer {
    time: Rfc3339,
    buf: Vec<u8>,
}

impl Default for JsonRenderer {
    fn default() -> Self {
        JsonRenderer::new()
    }
}

impl JsonRenderer {
    pub fn new() -> JsonRenderer {
        JsonRenderer {
            time: Rfc3339::new(),
            buf: Vec::with_capacity(1024),
        }
    }

    pub fn render(&mut self, rec: &PacketRecord<'_>) -> &[u8] {
        self.buf.clear();
        let mut o = Obj::new(&mut self.buf);
        packet_fields(&mut o, rec, &mut self.time);
        o.end();
        self.buf.push(b'\n');
        &self.buf
    }

    /// An event with no frame of its own, as a `{"type":"event"}` record.
    pub fn event(&mut self, e: &Event) -> &[u8] {
        self.buf.clear();
        let mut o = Obj::new(&mut self.buf);
        o.plain("type", "event").num("conn", e.conn);
        let out = o.key("ts");
        out.push(b'"');
        self.time.write(out, e.ts);
        out.push(b'"');
        event_fields(&mut o, e, &mut self.time);
        o.end();
        self.buf.push(b'\n');
        &self.buf
    }

    /// A `{"type":"connection"}` record, written when the connection leaves the tracker.
    pub fn connection(&mut self, c: &Connection, why: Retired) -> &[u8] {
        self.buf.clear();
        let mut o = Obj::new(&mut self.buf);
        connection_fields(&mut o, c, why, &mut self.time);
        o.end();
        self.buf.push(b'\n');
        &self.buf
    }

    pub fn summary(
        &mut self,
        counts: &Counts,
        errors: &[String],
        kernel: Option<&crate::capture::live::KernelStats>,
        demo: Option<&crate::app::DemoReport>,
    ) -> &[u8] {
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
            .num("cut_by_snaplen", counts.cut_by_snaplen)
            .num("connections", counts.connections)
            .num("evicted_idle", counts.evicted_idle)
            .num("evicted_max_connections", counts.evicted_cap);
        if let Some(k) = kernel {
            let out = o.key("kernel");
            let mut ko = Obj::new(out);
            ko.num("received", k.received)
                .num("dropped", k.dropped)
                .num("if_dropped", k.if_dropped);
            ko.end();
        }
        if let Some(d) = demo {
            o.text("scenario", &d.scenario);
            let out = o.key("kernel_check");
            let mut kc = Obj::new(out);
            kc.num("compared", d.checks.len())
                .num("agree", d.checks.iter().filter(|c| c.agrees()).count());
            for (key, only_disagreements) in [("checks", false), ("disagreements", true)] {
                let out = kc.key(key);
                out.push(b'[');
                let shown = d
                    .checks
                    .iter()
                    .filter(|c| !only_disagreements || !c.agrees());
                for (i, c) in shown.enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    let mut co = Obj::new(out);
                    co.num("conn", c.conn)
                        .plain("side", c.side)
                        .plain("addr", c.addr)
                        .plain("synack", c.synack.name())
                        .plain("kernel", c.kernel.name())
                        .bool("agree", c.agrees());
                    co.end();
                }
                out.push(b']');
            }
            kc.end();
            let out = o.key("app_errors");
            out.push(b'[');
            for (i, e) in d.app_errors.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                escape_into(out, e);
            }
            out.push(b']');
        }
        let out = o.key("errors");
        out.push(b'[');
        for (i, e) in errors.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            escape_into(out, e);
        }
        out.push(b']');
        o.end();
        self.buf.push(b'\n');
        &self.buf
    }
}

fn packet_fields(o: &mut Obj<'_>, rec: &PacketRecord<'_>, time: &mut Rfc3339) {
    let f = rec.frame;
    let d = rec.decoded;
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
            o.plain("pkttype", crate::decode::link::sll_pkttype_name(p));
        }
        if let Some(i) = link.ifindex {
            o.num("ifindex", i);
        }
    }
    match &d.network {
        Network::Ip(ip) => {
            o.num("ip_version", ip.version)
                .plain("src_ip", ip.src)
                .plain("dst_ip", ip.dst)
                .num("ttl", ip.ttl);
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
                st.plain("client", obs.after[0].name())
                    .plain("server", obs.after[1].name());
                st.end();
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

fn ts_field(o: &mut Obj<'_>, k: &str, ts: crate::decode::Timestamp, time: &mut Rfc3339) {
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

pub fn event_fields(o: &mut Obj<'_>, e: &Event, time: &mut Rfc3339) {
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
        EventKind::Analysis { what, evidence } => {
            if what == Analysis::DuplicateAck {
                o.num("count", evidence.dup_acks);
            }
            if what.is_retransmission() || what == Analysis::OutOfOrder {
                o.bool("original_seen", evidence.original_seen);
            }
        }
        EventKind::SimultaneousOpen
        | EventKind::Refused
        | EventKind::TimeWaitExpired
        | EventKind::Midstream
        | EventKind::LastAckLost => {}
    }
    if let Some(f) = e.frame {
        o.num("frame", f);
    }
}

fn per_side(
    o: &mut Obj<'_>,
    k: &str,
    c: &Connection,
    f: impl Fn(&crate::track::endpoint::Endpoint) -> u64,
) {
    let out = o.key(k);
    let mut p = Obj::new(out);
    p.num("client", f(&c.client)).num("server", f(&c.server));
    p.end();
}

pub fn connection_fields(o: &mut Obj<'_>, c: &Connection, why: Retired, time: &mut Rfc3339) {
    o.plain("type", "connection")
        .num("conn", c.id)
        .plain("client", c.client.addr)
        .plain("server", c.server.addr)
        .num("first_frame", c.first_frame)
        .num("last_frame", c.last_frame);
    ts_field(o, "start", c.first_ts, time);
    ts_field(o, "end", c.last_ts, time);
    per_side(o, "packets", c, |e| e.packets);
    per_side(o, "bytes", c, |e| e.bytes);
    {
        let out = o.key("handshake");
        let mut h = Obj::new(out);
        h.bool("complete", c.handshake.complete)
            .num("syn_count", c.handshake.syn_count)
            .opt_num("rtt_us", c.handshake.rtt_ns.map(|n| n / 1000));
        if c.handshake.simultaneous {
            h.bool("simultaneous", true);
        }
        h.end();
    }
    o.bool("refused", c.refused);
    {
        let out = o.key("close");
        let mut cl = Obj::new(out);
        let variant = c.close.variant.or(if c.close.first_fin.is_some() {
            Some(CloseVariant::FourWay)
                .filter(|_| c.client.fin_seq.is_some() && c.server.fin_seq.is_some())
        } else {
            None
        });
        opt_plain(&mut cl, "type", variant.map(CloseVariant::name));
        opt_plain(&mut cl, "first_fin", side_name(c.close.first_fin));
        cl.bool("half_close", c.close.half_close)
            .num("half_close_bytes", c.close.half_close_bytes);
        cl.end();
    }
    let (c_tw, s_tw) = c.time_wait_holders();
    opt_plain(
        o,
        "time_wait",
        match (c_tw, s_tw) {
            (true, true) => Some("both"),
            (true, false) => Some("client"),
            (false, true) => Some("server"),
            (false, false) => None,
        },
    );
    {
        let out = o.key("time_wait_until");
        let mut t = Obj::new(out);
        for side in [Side::Client, Side::Server] {
            match c.endpoint(side).time_wait_until {
                Some(u) => ts_field(&mut t, side.name(), u, time),
                None => {
                    t.null(side.name());
                }
            }
        }
        t.end();
    }
    per_side(o, "resets", c, |e| u64::from(e.resets));
    opt_plain(o, "aborted_by", side_name(c.aborted_by));
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
    o.bool("port_reuse", c.port_reuse)
        .bool("midstream", c.midstream);
    {
        let out = o.key("states");
        let mut st = Obj::new(out);
        st.plain("client", c.client.state.name())
            .plain("server", c.server.state.name());
        st.end();
    }
    {
        // Whichever side probed (usually one); idle and interval from the first prober.
        let prober = [&c.client, &c.server]
            .into_iter()
            .find(|e| e.keepalive.probes > 0);
        let out = o.key("keepalive");
        let mut k = Obj::new(out);
        k.num(
            "probes",
            c.client.keepalive.probes + c.server.keepalive.probes,
        );
        seconds(&mut k, "idle_s", prober.and_then(|e| e.keepalive.idle_ns));
        seconds(
            &mut k,
            "interval_s",
            prober.and_then(|e| e.keepalive.interval_ns),
        );
        opt_plain(
            &mut k,
            "by",
            prober.map(|e| {
                if e.addr == c.client.addr {
                    "client"
                } else {
                    "server"
                }
            }),
        );
        k.end();
    }
    {
        let out = o.key("zero_window_s");
        let mut z = Obj::new(out);
        for side in [Side::Client, Side::Server] {
            let e = c.endpoint(side);
            let open = e
                .zero_window_since
                .map_or(0, |since| c.last_ts.nanos_since(since));
            seconds(&mut z, side.name(), Some(e.zero_window_ns + open));
        }
        z.end();
    }
    o.plain("conn_state", zeek::conn_state(c))
        .text("history", c.history.as_str())
        .plain(
            "ended_by",
            match why {
                Retired::Finished => "closed",
                Retired::Reused => "port_reuse",
                Retired::Idle => "idle_timeout",
                Retired::Evicted => "max_connections",
                Retired::EndOfInput => "end_of_input",
            },
        );
}
