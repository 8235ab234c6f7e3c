//! A connection packed into a few hundred bytes while nothing happens to it
//! (its exchange is over and it waits out TIME_WAIT, or it is idle), and
//! unpacked, exactly as it was, when a segment or a timer comes for it.
//!
//! The tracker holds up to `max_connections` connections, most of them
//! finished ones waiting out 2MSL: unpacked, each is over a kilobyte; packed,
//! a few hundred bytes. Packing is lossless, so everything the tracker says
//! afterwards is what it would have said (a test packs and unpacks every
//! connection of every fixture after every segment).
//!
//! The format is private and lives only in memory: integers as LEB128
//! varints (signed ones zigzagged), each point in time as the distance from
//! the first one packed (whole microseconds in a few bytes), and each
//! sequence number as the distance from the nearer of the last two packed
//! (one for each direction's sequence space).
//!
//! Every struct is packed field by field through [`pack_struct!`], which
//! names every field: adding a field without packing it does not compile.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};

use crate::decode::{SeqNum, Timestamp};

/// Writes a connection's parts into bytes, and its flags (bools, and
/// whether each optional part is there) into bits apart.
pub(crate) struct Packer {
    pub(crate) out: Vec<u8>,
    pub(crate) bits: Vec<u8>,
    nbits: usize,
    /// The first point in time packed: later ones are packed as distances from it.
    ts_base: Option<Timestamp>,
    /// The last two sequence numbers packed.
    seq: [u32; 2],
}

/// Reads them back, in the same order. Reading past the end or a value
/// that was never written marks it spoiled (`is_whole` says so) and gives
/// zeroes: packed bytes come only from [`Packer`], so that never happens.
pub(crate) struct Unpacker<'a> {
    data: &'a [u8],
    bits: &'a [u8],
    bit_at: usize,
    spoiled: bool,
    /// The id and last time, which the packed bytes keep apart (`store.rs`).
    pub(crate) id: u64,
    pub(crate) last_ts: Timestamp,
    ts_base: Option<Timestamp>,
    seq: [u32; 2],
}

impl Packer {
    /// A packer writing into `out` and `bits` (both emptied first).
    pub(crate) fn new(mut out: Vec<u8>, mut bits: Vec<u8>) -> Packer {
        out.clear();
        bits.clear();
        Packer {
            out,
            bits,
            nbits: 0,
            ts_base: None,
            seq: [0; 2],
        }
    }

    #[inline]
    pub(crate) fn byte(&mut self, b: u8) {
        self.out.push(b);
    }

    #[inline]
    pub(crate) fn bit(&mut self, b: bool) {
        if self.nbits % 8 == 0 {
            self.bits.push(0);
        }
        if b {
            if let Some(last) = self.bits.last_mut() {
                *last |= 1 << (self.nbits % 8);
            }
        }
        self.nbits += 1;
    }

    #[inline]
    pub(crate) fn varint(&mut self, v: u64) {
        if v < 0x80 {
            self.out.push(v as u8);
        } else {
            self.varint_long(v);
        }
    }

    fn varint_long(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.out.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.out.push(v as u8);
    }

    fn varint128(&mut self, mut v: u128) {
        while v >= 0x80 {
            self.out.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.out.push(v as u8);
    }
}

impl<'a> Unpacker<'a> {
    /// Reads `data`, with flags from `bits`.
    pub(crate) fn new(bits: &'a [u8], data: &'a [u8]) -> Unpacker<'a> {
        Unpacker {
            data,
            bits,
            bit_at: 0,
            spoiled: false,
            id: 0,
            last_ts: Timestamp::new(0, 0),
            ts_base: None,
            seq: [0; 2],
        }
    }

    #[inline]
    pub(crate) fn bit(&mut self) -> bool {
        let at = self.bit_at;
        self.bit_at += 1;
        match self.bits.get(at / 8) {
            Some(b) => b & (1 << (at % 8)) != 0,
            None => {
                self.spoiled = true;
                false
            }
        }
    }

    /// What is left to read.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.data
    }

    /// Everything was read, and all of it made sense.
    pub(crate) fn is_whole(&self) -> bool {
        self.data.is_empty() && self.bit_at.div_ceil(8) == self.bits.len() && !self.spoiled
    }

    /// Something did not read back.
    pub(crate) fn spoil(&mut self) {
        self.spoiled = true;
    }

    #[inline]
    pub(crate) fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => {
                self.spoiled = true;
                0
            }
        }
    }

    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        match self.data.split_first_chunk::<N>() {
            Some((head, rest)) => {
                self.data = rest;
                *head
            }
            None => {
                self.spoiled = true;
                [0; N]
            }
        }
    }

    #[inline]
    pub(crate) fn varint(&mut self) -> u64 {
        match self.data.split_first() {
            Some((&b, rest)) if b < 0x80 => {
                self.data = rest;
                u64::from(b)
            }
            _ => self.varint_long(),
        }
    }

    fn varint_long(&mut self) -> u64 {
        let mut v = 0u64;
        let mut shift = 0;
        while shift < 64 {
            let b = self.byte();
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return v;
            }
            shift += 7;
        }
        self.spoiled = true;
        v
    }

    fn varint128(&mut self) -> u128 {
        let mut v = 0u128;
        let mut shift = 0;
        while shift < 128 {
            let b = self.byte();
            v |= u128::from(b & 0x7f) << shift;
            if b < 0x80 {
                return v;
            }
            shift += 7;
        }
        self.spoiled = true;
        v
    }

    /// A varint that must fit `T`.
    #[inline]
    fn varint_as<T: TryFrom<u64> + Default>(&mut self) -> T {
        let v = self.varint();
        T::try_from(v).unwrap_or_else(|_| {
            self.spoiled = true;
            T::default()
        })
    }
}

/// Something that packs losslessly.
pub(crate) trait Pack: Sized {
    fn pack(&self, p: &mut Packer);
    fn unpack(u: &mut Unpacker<'_>) -> Self;
    /// [`Pack::unpack`] over `self`, reusing what it can (boxes, strings).
    #[inline]
    fn unpack_into(&mut self, u: &mut Unpacker<'_>) {
        *self = Self::unpack(u);
    }
}

/// `Pack` for a struct, field by field in the order given. Every field
/// must be named (the destructuring has no `..`).
/// Fields listed after `skip` are not packed: unpacked, they get the
/// value given (their owner sets them), and `unpack_into` leaves them.
macro_rules! pack_struct {
    ($t:ident { $($f:ident),* $(,)? } $(skip { $($s:ident = $v:expr),* $(,)? })?) => {
        impl $crate::track::pack::Pack for $t {
            fn pack(&self, p: &mut $crate::track::pack::Packer) {
                let $t { $($f,)* $($($s: _),*)? } = self;
                $( $crate::track::pack::Pack::pack($f, p); )*
            }
            fn unpack(u: &mut $crate::track::pack::Unpacker<'_>) -> Self {
                // Struct expressions evaluate their fields in the order written.
                $t { $($f: $crate::track::pack::Pack::unpack(u),)* $($($s: $v),*)? }
            }
            fn unpack_into(&mut self, u: &mut $crate::track::pack::Unpacker<'_>) {
                let $t { $($f,)* $($($s: _),*)? } = self;
                $( $crate::track::pack::Pack::unpack_into($f, u); )*
            }
        }
    };
}

/// `Pack` for an enum without data: one byte, its discriminant.
macro_rules! pack_enum {
    ($t:ident { $first:ident $(, $v:ident)* $(,)? }) => {
        impl $crate::track::pack::Pack for $t {
            fn pack(&self, p: &mut $crate::track::pack::Packer) {
                // Every variant is listed (or this match does not compile).
                match self {
                    $t::$first $(| $t::$v)* => p.byte(*self as u8),
                }
            }
            fn unpack(u: &mut $crate::track::pack::Unpacker<'_>) -> Self {
                let b = u.byte();
                $(
                    if b == $t::$v as u8 {
                        return $t::$v;
                    }
                )*
                if b != $t::$first as u8 {
                    u.spoil();
                }
                $t::$first
            }
        }
    };
}

pub(crate) use {pack_enum, pack_struct};

#[inline]
fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

#[inline]
fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

impl Pack for u8 {
    #[inline]
    fn pack(&self, p: &mut Packer) {
        p.byte(*self);
    }
    #[inline]
    fn unpack(u: &mut Unpacker<'_>) -> Self {
        u.byte()
    }
}

impl Pack for bool {
    #[inline]
    fn pack(&self, p: &mut Packer) {
        p.bit(*self);
    }
    #[inline]
    fn unpack(u: &mut Unpacker<'_>) -> Self {
        u.bit()
    }
}

macro_rules! pack_unsigned {
    ($($t:ty),*) => {$(
        impl Pack for $t {
            #[inline]
            fn pack(&self, p: &mut Packer) {
                p.varint(*self as u64);
            }
            #[inline]
            fn unpack(u: &mut Unpacker<'_>) -> Self {
                u.varint_as()
            }
        }
    )*};
}
pack_unsigned!(u16, u32, u64, usize);

macro_rules! pack_signed {
    ($($t:ty),*) => {$(
        impl Pack for $t {
            #[inline]
            fn pack(&self, p: &mut Packer) {
                p.varint(zigzag(i64::from(*self)));
            }
            #[inline]
            fn unpack(u: &mut Unpacker<'_>) -> Self {
                let v = unzigzag(u.varint());
                <$t>::try_from(v).unwrap_or_else(|_| {
                    u.spoil();
                    0
                })
            }
        }
    )*};
}
pack_signed!(i32, i64);

impl Pack for i128 {
    fn pack(&self, p: &mut Packer) {
        p.varint128(((self << 1) ^ (self >> 127)) as u128);
    }
    fn unpack(u: &mut Unpacker<'_>) -> Self {
        let v = u.varint128();
        ((v >> 1) as i128) ^ -((v & 1) as i128)
    }
}

impl<T: Pack> Pack for Option<T> {
    #[inline]
    fn pack(&self, p: &mut Packer) {
        p.bit(self.is_some());
        if let Some(v) = self {
            v.pack(p);
        }
    }
    #[inline]
    fn unpack(u: &mut Unpacker<'_>) -> Self {
        u.bit().then(|| T::unpack(u))
    }
    #[inline]
    fn unpack_into(&mut self, u: &mut Unpacker<'_>) {
        match (u.bit(), self.as_mut()) {
            (false, _) => *self = None,
            (true, Some(v)) => v.unpack_into(u),
            (true, None) => *self = Some(T::unpack(u)),
        }
    }
}

impl<T: Pack> Pack for Box<T> {
    fn pack(&self, p: &mut Packer) {
        (**self).pack(p);
    }
    fn unpack(u: &mut Unpacker<'_>) -> Self {
        Box::new(T::unpack(u))
    }
    fn unpack_into(&mut self, u: &mut Unpacker<'_>) {
        (**self).unpack_into(u);
    }
}

impl<T: Pack, const N: usize> Pack for [T; N] {
    #[inline]
    fn pack(&self, p: &mut Packer) {
        for v in self {
            v.pack(p);
        }
    }
    #[inline]
    fn unpack(u: &mut Unpacker<'_>) -> Self {
        std::array::from_fn(|_| T::unpack(u))
    }
    #[inline]
    fn unpack_into(&mut self, u: &mut Unpacker<'_>) {
        for v in self {
            v.unpack_into(u);
        }
    }
}

impl<T: Pack> Pack for Vec<T> {
    fn pack(&self, p: &mut Packer) {
        p.varint(self.len() as u64);
        for v in self {
            v.pack(p);
        }
    }
    fn unpack(u: &mut Unpacker<'_>) -> Self {
        let n: usize = u.varint_as();
        // Never more than what is left to read (a byte each at least).
        let n = if n > u.data.len() {
            u.spoil();
            0
        } else {
            n
        };
        (0..n).map(|_| T::unpack(u)).collect()
    }
}

impl Pack for String {
    fn pack(&self, p: &mut Packer) {
        p.varint(self.len() as u64);
        p.out.extend_from_slice(self.as_bytes());
    }
    fn unpack(u: &mut Unpacker<'_>) -> Self {
        let mut s = String::new();
        s.unpack_into(u);
        s
    }
    fn unpack_into(&mut self, u: &mut Unpacker<'_>) {
        self.clear();
        let n: usize = u.varint_as();
        if n > u.data.len() {
            u.spoil();
            return;
        }
        let (text, rest) = u.data.split_at(n);
        u.data = rest;
        match std::str::from_utf8(text) {
            Ok(t) => self.push_str(t),
            Err(_) => u.spoil(),
        }
    }
}

impl<A: Pack, B: Pack> Pack for (A, B) {
    #[inline]
    fn pack(&self, p: &mut Packer) {
        self.0.pack(p);
        self.1.pack(p);
    }
    #[inline]
    fn unpack(u: &mut Unpacker<'_>) -> Self {
        let a = A::unpack(u);
        (a, B::unpack(u))
    }
}

impl Pack for SocketAddr {
    fn pack(&self, p: &mut Packer) {
        match self {
            SocketAddr::V4(a) => {
                p.byte(4);
                p.out.extend_from_slice(&a.ip().octets());
                p.out.extend_from_slice(&a.port().to_le_bytes());
            }
            SocketAddr::V6(a) => {
                p.byte(6);
                p.out.extend_from_slice(&a.ip().octets());
                p.out.extend_from_slice(&a.port().to_le_bytes());
                p.varint(u64::from(a.flowinfo()));
                p.varint(u64::from(a.scope_id()));
            }
        }
    }
    fn unpack(u: &mut Unpacker<'_>) -> Self {
        match u.byte() {
            6 => {
                let ip = Ipv6Addr::from(u.bytes::<16>());
                let port = u16::from_le_bytes(u.bytes::<2>());
                let flowinfo = u.varint_as();
                let scope = u.varint_as();
                SocketAddr::V6(SocketAddrV6::new(ip, port, flowinfo, scope))
            }
            tag => {
                if tag != 4 {
                    u.spoil();
                }
                let ip = Ipv4Addr::from(u.bytes::<4>());
                let port = u16::from_le_bytes(u.bytes::<2>());
                SocketAddr::new(IpAddr::V4(ip), port)
            }
        }
    }
}

/// Nanoseconds, shorter when they are whole microseconds (a classic pcap's).
#[inline]
fn pack_nanos(p: &mut Packer, nanos: u32) {
    if nanos % 1000 == 0 {
        p.varint((u64::from(nanos / 1000) << 1) | 1);
    } else {
        p.varint(u64::from(nanos) << 1);
    }
}

#[inline]
fn unpack_nanos(u: &mut Unpacker<'_>) -> u32 {
    let v = u.varint();
    let n = (v >> 1) as u32;
    let nanos = if v & 1 == 1 {
        n.checked_mul(1000)
    } else {
        u32::try_from(v >> 1).ok()
    };
    nanos.unwrap_or_else(|| {
        u.spoil();
        0
    })
}

impl Pack for Timestamp {
    #[inline]
    fn pack(&self, p: &mut Packer) {
        let base = p.ts_base.map_or(0, |b| b.secs);
        p.varint(zigzag(self.secs.wrapping_sub(base)));
        pack_nanos(p, self.nanos);
        p.ts_base.get_or_insert(*self);
    }
    #[inline]
    fn unpack(u: &mut Unpacker<'_>) -> Self {
        let base = u.ts_base.map_or(0, |b| b.secs);
        let secs = unzigzag(u.varint()).wrapping_add(base);
        let ts = Timestamp::new(secs, unpack_nanos(u));
        u.ts_base.get_or_insert(ts);
        ts
    }
}

impl Pack for SeqNum {
    #[inline]
    fn pack(&self, p: &mut Packer) {
        let d = [0, 1].map(|i| self.0.wrapping_sub(p.seq[i]) as i32);
        let i = usize::from(d[1].unsigned_abs() < d[0].unsigned_abs());
        p.varint((zigzag(i64::from(d[i])) << 1) | i as u64);
        p.seq[i] = self.0;
    }
    #[inline]
    fn unpack(u: &mut Unpacker<'_>) -> Self {
        let v = u.varint();
        let i = (v & 1) as usize;
        let d = unzigzag(v >> 1) as i32;
        let s = u.seq[i].wrapping_add(d as u32);
        u.seq[i] = s;
        SeqNum(s)
    }
}
