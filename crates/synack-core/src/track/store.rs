//! Where the tracker keeps its connections: a slab of slots, found by key
//! through a hash table of slot numbers, each connection either live
//! (boxed, ready for its next segment) or packed (`pack.rs`) while it
//! waits: its exchange over and TIME_WAIT running, or idle.
//!
//! Most connections held at any time are waiting (a busy server's
//! TIME_WAITs outnumber its open connections several times), so a waiting
//! connection costs a few hundred bytes, not a kilobyte and more. The
//! table holds 4-byte slot numbers; keys are read from the connections
//! themselves, so the table costs a few bytes per connection too.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

use crate::decode::Timestamp;

use super::connection::Connection;
use super::key::ConnKey;
use super::pack::{Pack, Packer, Unpacker};
use super::state::TcpState;

/// A connection as held: live, or packed.
pub(crate) enum Held {
    Live(Box<Connection>),
    /// [`Header`], then the key's parts, then the whole connection packed.
    Packed(Box<[u8]>),
}

/// What a packed connection says without unpacking: its id (8 bytes),
/// last time (12), which sides wait in TIME_WAIT (1), and until when (12
/// each).
const HEADER: usize = 21;

/// Where a packed connection's key begins.
fn header_len(b: &[u8]) -> usize {
    HEADER + 12 * (b[20].count_ones() as usize)
}

/// Each side's end of TIME_WAIT, if it waits in it.
fn time_waits(c: &Connection) -> [Option<Timestamp>; 2] {
    [&c.client, &c.server].map(|e| match (e.state, e.time_wait) {
        (TcpState::TimeWait, Some(tw)) => Some(tw.until),
        _ => None,
    })
}

impl Held {
    pub(crate) fn id(&self) -> u64 {
        match self {
            Held::Live(c) => c.id,
            Held::Packed(b) => u64::from_le_bytes(fixed(&b[..8])),
        }
    }

    pub(crate) fn last_ts(&self) -> Timestamp {
        match self {
            Held::Live(c) => c.last_ts,
            Held::Packed(b) => Timestamp::new(
                i64::from_le_bytes(fixed(&b[8..16])),
                u32::from_le_bytes(fixed(&b[16..20])),
            ),
        }
    }

    /// Each side's end of TIME_WAIT, if it waits in it (client first).
    pub(crate) fn time_waits(&self) -> [Option<Timestamp>; 2] {
        match self {
            Held::Live(c) => time_waits(c),
            Held::Packed(b) => {
                let mut at = HEADER;
                [0, 1].map(|side| {
                    (b[20] & (1 << side) != 0).then(|| {
                        let ts = Timestamp::new(
                            i64::from_le_bytes(fixed(&b[at..at + 8])),
                            u32::from_le_bytes(fixed(&b[at + 8..at + 12])),
                        );
                        at += 12;
                        ts
                    })
                })
            }
        }
    }

    pub(crate) fn key(&self) -> ConnKey {
        match self {
            Held::Live(c) => c.key(),
            Held::Packed(b) => {
                // The packed connection begins with its key (`Connection`'s `Pack`).
                let mut u = Unpacker::new(&[], parts(b).1);
                let tunnel = u64::unpack(&mut u);
                let client = std::net::SocketAddr::unpack(&mut u);
                let server = std::net::SocketAddr::unpack(&mut u);
                ConnKey::of(client, server).in_tunnel(tunnel)
            }
        }
    }

    /// The connection, unpacked if it was packed.
    pub(crate) fn into_connection(self) -> Box<Connection> {
        match self {
            Held::Live(c) => c,
            Held::Packed(b) => Box::new(unpack(&b)),
        }
    }

    /// The connection, unpacked into a copy if it is packed.
    pub(crate) fn peek(&self) -> std::borrow::Cow<'_, Connection> {
        match self {
            Held::Live(c) => std::borrow::Cow::Borrowed(c),
            Held::Packed(b) => std::borrow::Cow::Owned(unpack(b)),
        }
    }
}

fn fixed<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(b);
    a
}

/// Buffers reused from one packing to the next.
#[derive(Default)]
struct Scratch {
    out: Vec<u8>,
    body: Vec<u8>,
    bits: Vec<u8>,
}

/// `c` packed: [`HEADER`] (and the TIME_WAIT ends), the length of the
/// flags, the flags, and the packed connection (its key first).
fn pack(c: &Connection, scratch: &mut Scratch) -> Box<[u8]> {
    let mut p = Packer::new(
        std::mem::take(&mut scratch.body),
        std::mem::take(&mut scratch.bits),
    );
    c.pack(&mut p);
    let out = &mut scratch.out;
    out.clear();
    out.extend_from_slice(&c.id.to_le_bytes());
    out.extend_from_slice(&c.last_ts.secs.to_le_bytes());
    out.extend_from_slice(&c.last_ts.nanos.to_le_bytes());
    let tw = time_waits(c);
    out.push(u8::from(tw[0].is_some()) | (u8::from(tw[1].is_some()) << 1));
    for until in tw.into_iter().flatten() {
        out.extend_from_slice(&until.secs.to_le_bytes());
        out.extend_from_slice(&until.nanos.to_le_bytes());
    }
    let mut len = Packer::new(Vec::new(), Vec::new());
    len.varint(p.bits.len() as u64);
    out.extend_from_slice(&len.out);
    out.extend_from_slice(&p.bits);
    out.extend_from_slice(&p.out);
    let bytes: Box<[u8]> = Box::from(&out[..]);
    scratch.body = p.out;
    scratch.bits = p.bits;
    if cfg!(debug_assertions) {
        let h = Held::Packed(bytes);
        debug_assert_eq!(
            (h.id(), h.last_ts(), h.key(), h.time_waits()),
            (c.id, c.last_ts, c.key(), time_waits(c))
        );
        let Held::Packed(bytes) = h else {
            unreachable!()
        };
        return bytes;
    }
    bytes
}

/// A packed connection's flags and body.
fn parts(b: &[u8]) -> (&[u8], &[u8]) {
    let mut u = Unpacker::new(&[], &b[header_len(b)..]);
    let n = usize::try_from(u.varint()).unwrap_or(usize::MAX);
    let rest = u.rest();
    let n = n.min(rest.len());
    rest.split_at(n)
}

/// An unpacker of the packed connection `b`.
fn unpacker(b: &[u8]) -> Unpacker<'_> {
    let (bits, body) = parts(b);
    let mut u = Unpacker::new(bits, body);
    u.id = u64::from_le_bytes(fixed(&b[..8]));
    u.last_ts = Timestamp::new(
        i64::from_le_bytes(fixed(&b[8..16])),
        u32::from_le_bytes(fixed(&b[16..20])),
    );
    u
}

fn unpack(b: &[u8]) -> Connection {
    let mut u = unpacker(b);
    let c = Connection::unpack(&mut u);
    // Only `pack` writes these bytes, and it wrote a whole connection.
    assert!(u.is_whole(), "a packed connection reads back whole");
    c
}

/// [`unpack`] into a box that held another connection (no allocation).
fn unpack_into(b: &[u8], c: &mut Connection) {
    let mut u = unpacker(b);
    c.unpack_into(&mut u);
    assert!(u.is_whole(), "a packed connection reads back whole");
}

/// Boxes kept from packed connections for the next ones unpacked.
const SPARE_BOXES: usize = 16;

enum Slot {
    Held(Held),
    /// Free; the next free slot (`NONE` for none).
    Free(u32),
}

const NONE: u32 = u32::MAX;

/// The connections, by slot number and by key.
pub(crate) struct Store {
    slots: Vec<Slot>,
    free: u32,
    index: HashTable<u32>,
    len: usize,
    /// Connections held unpacked.
    live: usize,
    scratch: Scratch,
    /// Boxed: a box moves out to a slot and back as a pointer.
    #[allow(clippy::vec_box)]
    spare: Vec<Box<Connection>>,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            slots: Vec::new(),
            free: NONE,
            index: HashTable::new(),
            len: 0,
            live: 0,
            scratch: Scratch::default(),
            spare: Vec::new(),
        }
    }
}

fn hash(key: &ConnKey) -> u64 {
    FxBuildHasher.hash_one(key)
}

impl Store {
    /// Connections held.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Connections held unpacked.
    pub(crate) fn live(&self) -> usize {
        self.live
    }

    fn held(&self, slot: u32) -> Option<&Held> {
        match self.slots.get(slot as usize)? {
            Slot::Held(h) => Some(h),
            Slot::Free(_) => None,
        }
    }

    /// The slot of the connection under `key`.
    pub(crate) fn find(&self, key: &ConnKey) -> Option<u32> {
        let slots = &self.slots;
        self.index
            .find(hash(key), |&s| match &slots[s as usize] {
                Slot::Held(Held::Live(c)) => c.has_key(key),
                Slot::Held(h) => h.key() == *key,
                Slot::Free(_) => false,
            })
            .copied()
    }

    /// The id of the connection in `slot`, if one is there.
    pub(crate) fn id(&self, slot: u32) -> Option<u64> {
        self.held(slot).map(Held::id)
    }

    /// What is held in `slot` (a slot from `find` or `slots`).
    pub(crate) fn get(&self, slot: u32) -> &Held {
        match self.held(slot) {
            Some(h) => h,
            None => unreachable!("slot {slot} holds a connection"),
        }
    }

    /// The connection in `slot`, unpacked to be changed (or read by reference).
    pub(crate) fn get_mut(&mut self, slot: u32) -> &mut Connection {
        let s = &mut self.slots[slot as usize];
        if let Slot::Held(Held::Packed(b)) = s {
            let c = match self.spare.pop() {
                Some(mut c) => {
                    unpack_into(b, &mut c);
                    c
                }
                None => Box::new(unpack(b)),
            };
            *s = Slot::Held(Held::Live(c));
            self.live += 1;
        }
        match s {
            Slot::Held(Held::Live(c)) => c,
            _ => unreachable!("slot {slot} holds a connection"),
        }
    }

    /// Hold a new connection (its key is not held yet); its slot.
    pub(crate) fn insert(&mut self, c: Box<Connection>) -> u32 {
        let h = hash(&c.key());
        let slot = if self.free == NONE {
            self.slots.push(Slot::Held(Held::Live(c)));
            u32::try_from(self.slots.len() - 1)
                .unwrap_or_else(|_| unreachable!("fewer than 2³² connections held"))
        } else {
            let slot = self.free;
            let s = &mut self.slots[slot as usize];
            if let Slot::Free(next) = *s {
                self.free = next;
            }
            *s = Slot::Held(Held::Live(c));
            slot
        };
        let slots = &self.slots;
        self.index
            .insert_unique(h, slot, |&s| match &slots[s as usize] {
                Slot::Held(h) => hash(&h.key()),
                Slot::Free(_) => 0,
            });
        self.len += 1;
        self.live += 1;
        slot
    }

    /// Take the connection out of `slot`.
    pub(crate) fn remove(&mut self, slot: u32) -> Held {
        let key = self.get(slot).key();
        if let Ok(e) = self.index.find_entry(hash(&key), |&s| s == slot) {
            e.remove();
        }
        let s = std::mem::replace(&mut self.slots[slot as usize], Slot::Free(self.free));
        self.free = slot;
        self.len -= 1;
        match s {
            Slot::Held(h) => {
                if matches!(h, Held::Live(_)) {
                    self.live -= 1;
                }
                h
            }
            Slot::Free(_) => unreachable!("slot {slot} held a connection"),
        }
    }

    /// Every slot holding a connection.
    pub(crate) fn slots(&self) -> impl Iterator<Item = u32> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s, Slot::Held(_)))
            .map(|(i, _)| i as u32)
    }

    /// Pack every live connection quiet since `over_ns` before `now` if
    /// its exchange is over (only timers and stray segments remain), or
    /// since `open_ns` if not.
    pub(crate) fn pack_idle(&mut self, now: Timestamp, over_ns: i128, open_ns: i128) {
        for slot in 0..self.slots.len() {
            if let Slot::Held(Held::Live(c)) = &self.slots[slot] {
                let after = if Connection::exchange_over(c.states()) {
                    over_ns
                } else {
                    open_ns
                };
                if now.nanos_since(c.last_ts) >= after {
                    self.pack_slot(slot);
                }
            }
        }
    }

    /// Pack the least recently active live connections until `keep` are left.
    pub(crate) fn pack_oldest(&mut self, keep: usize) {
        let Some(n) = self.live.checked_sub(keep).filter(|n| *n > 0) else {
            return;
        };
        let mut by_age: Vec<(Timestamp, u32)> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match s {
                Slot::Held(Held::Live(c)) => Some((c.last_ts, i as u32)),
                _ => None,
            })
            .collect();
        if n < by_age.len() {
            by_age.select_nth_unstable(n);
        }
        for &(_, slot) in &by_age[..n.min(by_age.len())] {
            self.pack_slot(slot as usize);
        }
    }

    fn pack_slot(&mut self, slot: usize) {
        let s = &mut self.slots[slot];
        if let Slot::Held(Held::Live(c)) = s {
            let b = pack(c, &mut self.scratch);
            if let Slot::Held(Held::Live(c)) = std::mem::replace(s, Slot::Held(Held::Packed(b))) {
                if self.spare.len() < SPARE_BOXES {
                    self.spare.push(c);
                }
            }
            self.live -= 1;
        }
    }
}
