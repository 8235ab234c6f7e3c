//! JSON Lines per the contract in design.md: `packet` records and the
//! closing `summary`. Written by hand into a reused buffer: one record per
//! frame must not cost an allocation, and every value here is a number, a
//! fixed name, or an address whose text needs no escaping.

use std::fmt::Display;
use std::io::Write;

use super::time::Rfc3339;
use super::{Counts, PacketRecord};
use crate::decode::link::NetProto;
use crate::decode::tcp::{flag, OptionError, TcpOption};
use crate::decode::{Network, Transport};

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

    pub fn summary(&mut self, counts: &Counts, errors: &[String]) -> &[u8] {
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
            .num("connections", counts.connections);
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
    o.plain("link", rec.link.name())
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
