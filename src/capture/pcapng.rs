//! pcapng, read by hand: libpcap refuses a file whose interfaces have
//! different link types, and Wireshark writes such files; here every
//! interface keeps its own link type, time resolution and offset.
//! Blocks we do not need (name resolution, statistics, custom) are skipped.

use std::io::Read;

use super::buffer::Buffered;
use super::classic::Record;
use super::ReadError;
use synack_core::decode::Timestamp;

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 1;
const PB: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
/// Larger blocks are refused as corrupt.
const MAX_BLOCK: usize = 16 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Interface {
    linktype: u32,
    snaplen: u32,
    /// Timestamp units per second (if_tsresol; default microseconds).
    units_per_sec: u64,
    offset_secs: i64,
}

pub(crate) struct PcapngReader<R: Read> {
    input: Buffered<R>,
    big_endian: bool,
    interfaces: Vec<Interface>,
    /// Link type of the first interface (for the "reading from file" line).
    pub(crate) first_linktype: Option<u32>,
    pub(crate) first_snaplen: u32,
    /// Time of the last packet: a simple packet block has none of its own.
    last_ts: Timestamp,
}

/// Is this the start of a pcapng file? (The SHB type reads the same in both byte orders.)
pub(crate) fn is_pcapng(head: &[u8]) -> bool {
    head.len() >= 4 && head[..4] == [0x0a, 0x0d, 0x0d, 0x0a]
}

fn u16_at(b: &[u8], at: usize, be: bool) -> u16 {
    let w = [b[at], b[at + 1]];
    if be {
        u16::from_be_bytes(w)
    } else {
        u16::from_le_bytes(w)
    }
}

fn u32_at(b: &[u8], at: usize, be: bool) -> u32 {
    let w = [b[at], b[at + 1], b[at + 2], b[at + 3]];
    if be {
        u32::from_be_bytes(w)
    } else {
        u32::from_le_bytes(w)
    }
}

/// Walk an option list: (code, value) pairs until opt_endofopt or the end.
fn options(body: &[u8], be: bool) -> impl Iterator<Item = (u16, &[u8])> {
    let mut rest = body;
    std::iter::from_fn(move || {
        if rest.len() < 4 {
            return None;
        }
        let code = u16_at(rest, 0, be);
        let len = usize::from(u16_at(rest, 2, be));
        if code == 0 || 4 + len > rest.len() {
            return None;
        }
        let value = &rest[4..4 + len];
        // Option values are padded to 32 bits.
        rest = rest.get((4 + len + 3) & !3..).unwrap_or(&[]);
        Some((code, value))
    })
}

impl<R: Read> PcapngReader<R> {
    /// The file starts at `input`'s current position (nothing consumed yet).
    pub(crate) fn new(input: R) -> Result<PcapngReader<R>, ReadError> {
        let mut r = PcapngReader {
            input: Buffered::new(input, 0),
            big_endian: false,
            interfaces: Vec::new(),
            first_linktype: None,
            first_snaplen: 0,
            last_ts: Timestamp::new(0, 0),
        };
        r.read_section_header()?;
        // Read up to the first interface description, so the file's link
        // type is known before the first frame.
        while r.first_linktype.is_none() {
            if !r.input.fill(8)? {
                break;
            }
            let kind = u32_at(r.input.peek(8), 0, r.big_endian);
            if matches!(kind, EPB | PB | SPB) {
                break;
            }
            r.meta_block()?;
        }
        Ok(r)
    }

    pub(crate) fn consumed(&self) -> u64 {
        self.input.consumed
    }

    pub(crate) fn watch_for_quiet(&mut self, fd: std::os::fd::RawFd) {
        self.input.watch_for_quiet(fd);
    }

    fn read_section_header(&mut self) -> Result<(), ReadError> {
        if !self.input.fill(12)? {
            return Err(ReadError::Truncated(
                crate::lang::pick(
                    "truncated pcapng file: the section header block is cut short",
                    "pcapng 文件被截断：节头块 (SHB) 不完整",
                )
                .into(),
            ));
        }
        let head = self.input.peek(12);
        let bom = [head[8], head[9], head[10], head[11]];
        self.big_endian = match u32::from_le_bytes(bom) {
            BYTE_ORDER_MAGIC => false,
            m if m.swap_bytes() == BYTE_ORDER_MAGIC => true,
            _ => {
                return Err(ReadError::Corrupt(
                    crate::lang::pick(
                        "not a pcap or pcapng capture (bad pcapng byte-order magic)",
                        "不是 pcap 或 pcapng 捕获文件 (pcapng 字节序魔数不对)",
                    )
                    .into(),
                ))
            }
        };
        Ok(())
    }

    /// The next packet, `Ok(None)` at the end.
    pub(crate) fn next(&mut self) -> Result<Option<Record<'_>>, ReadError> {
        loop {
            let be = self.big_endian;
            if !self.input.fill(8)? {
                let got = self.input.available();
                return if got == 0 {
                    Ok(None)
                } else {
                    Err(ReadError::Truncated(crate::lang::tr!(
                        "truncated pcapng file: a block header is cut after {got} bytes",
                        "pcapng 文件被截断：一个块头在 {got} 字节后断了"
                    )))
                };
            }
            let kind = u32_at(self.input.peek(8), 0, be);
            if !matches!(kind, EPB | PB | SPB) {
                self.meta_block()?;
                continue;
            }
            let len = u32_at(self.input.peek(8), 4, be) as usize;
            self.check_len(len)?;
            self.fill_block(len)?;
            let at = self.input.take(len);
            let body_len = len - 12;
            match kind {
                EPB | PB => {
                    let body = self.input.slice(at + 8, body_len);
                    if body.len() < 20 {
                        return Err(ReadError::Corrupt(
                            crate::lang::pick("corrupt pcapng packet block", "pcapng 分组块已损坏")
                                .into(),
                        ));
                    }
                    let iface_id = if kind == EPB {
                        u32_at(body, 0, be) as usize
                    } else {
                        usize::from(u16_at(body, 0, be))
                    };
                    let ts =
                        (u64::from(u32_at(body, 4, be)) << 32) | u64::from(u32_at(body, 8, be));
                    let caplen = u32_at(body, 12, be) as usize;
                    let wire_len = u32_at(body, 16, be);
                    let Some(iface) = self.interfaces.get(iface_id).copied() else {
                        return Err(ReadError::Corrupt(crate::lang::tr!(
                            "corrupt pcapng file: a packet names interface {iface_id}, which was never described",
                            "pcapng 文件已损坏：一个分组引用了从未描述过的接口 {iface_id}"
                        )));
                    };
                    if caplen > body.len() - 20 {
                        return Err(ReadError::Corrupt(crate::lang::tr!(
                            "corrupt pcapng packet block: captured length {caplen} is larger than the block",
                            "pcapng 分组块已损坏：捕获长度 {caplen} 大于块本身"
                        )));
                    }
                    let ups = iface.units_per_sec.max(1);
                    // Saturate: a hostile if_tsoffset plus a large timestamp
                    // overflowed i64 (a panic in debug builds, a wrapped
                    // time in release; found by reading while fuzzing).
                    let secs = i64::try_from(ts / ups)
                        .unwrap_or(i64::MAX)
                        .saturating_add(iface.offset_secs);
                    let nanos = ((u128::from(ts % ups) * 1_000_000_000) / u128::from(ups)) as u32;
                    self.last_ts = Timestamp::new(secs, nanos);
                    return Ok(Some(Record {
                        linktype: iface.linktype,
                        ts: self.last_ts,
                        wire_len,
                        data: self.input.slice(at + 8 + 20, caplen),
                    }));
                }
                SPB => {
                    let body = self.input.slice(at + 8, body_len);
                    let Some(iface) = self.interfaces.first().copied() else {
                        return Err(ReadError::Corrupt(
                            crate::lang::pick(
                                "corrupt pcapng file: a simple packet before any interface",
                                "pcapng 文件已损坏：在任何接口之前出现了简单分组块",
                            )
                            .into(),
                        ));
                    };
                    if body.len() < 4 {
                        return Err(ReadError::Corrupt(
                            crate::lang::pick(
                                "corrupt pcapng simple packet block",
                                "pcapng 简单分组块已损坏",
                            )
                            .into(),
                        ));
                    }
                    let wire_len = u32_at(body, 0, be);
                    let mut caplen = (wire_len as usize).min(body.len() - 4);
                    if iface.snaplen > 0 {
                        caplen = caplen.min(iface.snaplen as usize);
                    }
                    return Ok(Some(Record {
                        linktype: iface.linktype,
                        // A simple packet block carries no time: keep the clock
                        // where the last packet left it rather than jump to 1970.
                        ts: self.last_ts,
                        wire_len,
                        data: self.input.slice(at + 8 + 4, caplen),
                    }));
                }
                _ => {}
            }
        }
    }

    /// A block that is not a packet: a section header (which resets the
    /// interfaces), an interface description, or one we skip.
    fn meta_block(&mut self) -> Result<(), ReadError> {
        if u32_at(self.input.peek(8), 0, self.big_endian) == SHB {
            self.read_section_header()?;
            self.interfaces.clear();
        }
        let be = self.big_endian;
        let kind = u32_at(self.input.peek(8), 0, be);
        let len = u32_at(self.input.peek(8), 4, be) as usize;
        self.check_len(len)?;
        self.fill_block(len)?;
        let at = self.input.take(len);
        if kind != IDB {
            return Ok(());
        }
        let body = self.input.slice(at + 8, len - 12);
        if body.len() < 8 {
            return Err(ReadError::Corrupt(
                crate::lang::pick(
                    "corrupt pcapng interface description block",
                    "pcapng 接口描述块已损坏",
                )
                .into(),
            ));
        }
        let mut iface = Interface {
            linktype: u32::from(u16_at(body, 0, be)),
            snaplen: u32_at(body, 4, be),
            units_per_sec: 1_000_000,
            offset_secs: 0,
        };
        for (code, v) in options(&body[8..], be) {
            match (code, v.len()) {
                // if_tsresol: 10^-n, or 2^-n with the top bit set.
                (9, 1) => {
                    let r = v[0];
                    let exp = u32::from(r & 0x7f).min(19);
                    iface.units_per_sec = if r & 0x80 == 0 {
                        10u64.pow(exp)
                    } else {
                        1u64.checked_shl(exp.min(63)).unwrap_or(u64::MAX)
                    };
                }
                // if_tsoffset: seconds to add.
                (14, 8) => {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(v);
                    iface.offset_secs = if be {
                        i64::from_be_bytes(b)
                    } else {
                        i64::from_le_bytes(b)
                    };
                }
                _ => {}
            }
        }
        if self.first_linktype.is_none() {
            self.first_linktype = Some(iface.linktype);
            self.first_snaplen = iface.snaplen;
        }
        self.interfaces.push(iface);
        Ok(())
    }

    fn check_len(&self, len: usize) -> Result<(), ReadError> {
        if len < 12 || len % 4 != 0 || len > MAX_BLOCK {
            Err(ReadError::Corrupt(crate::lang::tr!(
                "corrupt pcapng file: block length {len}",
                "pcapng 文件已损坏：块长度 {len}"
            )))
        } else {
            Ok(())
        }
    }

    fn fill_block(&mut self, len: usize) -> Result<(), ReadError> {
        if self.input.fill(len)? {
            // Each block ends with its length again: a mismatch means the
            // file is corrupt here, and what follows cannot be trusted.
            let trailer = u32_at(&self.input.peek(len)[len - 4..], 0, self.big_endian) as usize;
            if trailer != len {
                return Err(ReadError::Corrupt(crate::lang::tr!(
                    "corrupt pcapng file: a block's trailing length {trailer} differs from its leading length {len}",
                    "pcapng 文件已损坏：块尾的长度 {trailer} 与块头的长度 {len} 不一致"
                )));
            }
            Ok(())
        } else {
            let got = self.input.available();
            Err(ReadError::Truncated(crate::lang::tr!(
                "truncated pcapng file: a block of {len} bytes is cut after {got} bytes",
                "pcapng 文件被截断：一个 {len} 字节的块在 {got} 字节后断了"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(kind: u32, body: &[u8]) -> Vec<u8> {
        let mut body = body.to_vec();
        while body.len() % 4 != 0 {
            body.push(0);
        }
        let len = (body.len() + 12) as u32;
        let mut b = kind.to_le_bytes().to_vec();
        b.extend(len.to_le_bytes());
        b.extend(body);
        b.extend(len.to_le_bytes());
        b
    }

    fn shb() -> Vec<u8> {
        let mut body = BYTE_ORDER_MAGIC.to_le_bytes().to_vec();
        body.extend([1, 0, 0, 0]);
        body.extend((-1i64).to_le_bytes());
        block(SHB, &body)
    }

    fn idb(linktype: u16, tsresol: Option<u8>) -> Vec<u8> {
        let mut body = linktype.to_le_bytes().to_vec();
        body.extend([0, 0]);
        body.extend(65535u32.to_le_bytes());
        if let Some(r) = tsresol {
            body.extend([9, 0, 1, 0, r, 0, 0, 0]);
            body.extend([0, 0, 0, 0]);
        }
        block(IDB, &body)
    }

    fn epb(iface: u32, ts: u64, data: &[u8]) -> Vec<u8> {
        let mut body = iface.to_le_bytes().to_vec();
        body.extend(((ts >> 32) as u32).to_le_bytes());
        body.extend((ts as u32).to_le_bytes());
        body.extend((data.len() as u32).to_le_bytes());
        body.extend((data.len() as u32).to_le_bytes());
        body.extend(data);
        block(EPB, &body)
    }

    #[test]
    fn interfaces_keep_their_own_link_type_and_resolution() {
        let mut f = shb();
        f.extend(idb(1, None));
        f.extend(idb(101, Some(9)));
        f.extend(epb(0, 1_500_000, b"eth"));
        f.extend(block(5, b"stats"));
        f.extend(epb(1, 2_000_000_007, b"raw!"));
        let mut r = PcapngReader::new(&f[..]).unwrap();
        assert_eq!(r.first_linktype, Some(1));
        let a = r.next().unwrap().unwrap();
        assert_eq!(
            (a.linktype, a.ts, a.data),
            (1, Timestamp::new(1, 500_000_000), &b"eth"[..])
        );
        let b = r.next().unwrap().unwrap();
        assert_eq!(
            (b.linktype, b.ts, b.data),
            (101, Timestamp::new(2, 7), &b"raw!"[..])
        );
        assert!(r.next().unwrap().is_none());
    }

    /// Regression (fuzzing): if_tsoffset = i64::MAX seconds with a 2^62 s
    /// timestamp (if_tsresol 10^0) overflowed; the time now saturates, and
    /// the whole pipeline takes such a frame through every view.
    #[test]
    fn a_huge_time_offset_saturates() {
        let mut f = shb();
        let mut body = 1u16.to_le_bytes().to_vec();
        body.extend([0, 0]);
        body.extend(65535u32.to_le_bytes());
        body.extend([9, 0, 1, 0, 0, 0, 0, 0]); // if_tsresol: seconds
        body.extend([14, 0, 8, 0]); // if_tsoffset
        body.extend(i64::MAX.to_le_bytes());
        body.extend([0, 0, 0, 0]);
        f.extend(block(IDB, &body));
        f.extend(epb(0, 1 << 62, b"x"));
        f.extend(epb(0, u64::MAX, b"y"));
        let mut r = PcapngReader::new(&f[..]).unwrap();
        assert_eq!(r.next().unwrap().unwrap().ts, Timestamp::new(i64::MAX, 0));
        assert_eq!(r.next().unwrap().unwrap().ts, Timestamp::new(i64::MAX, 0));
        crate::fuzzing::pipeline(&f);
    }

    #[test]
    fn cut_and_corrupt_blocks_are_errors_not_panics() {
        let mut f = shb();
        f.extend(idb(1, None));
        f.extend(epb(0, 1, b"abcdef"));
        let cut = &f[..f.len() - 3];
        let mut r = PcapngReader::new(cut).unwrap();
        assert!(
            matches!(r.next(), Err(ReadError::Truncated(m)) if m.contains("truncated pcapng file"))
        );
        let mut bad = shb();
        bad.extend(epb(3, 1, b"x"));
        let mut r = PcapngReader::new(&bad[..]).unwrap();
        assert!(matches!(r.next(), Err(ReadError::Corrupt(m)) if m.contains("interface 3")));
    }

    #[test]
    fn a_trailing_length_that_differs_from_the_leading_one_is_corrupt() {
        let mut f = shb();
        f.extend(idb(1, None));
        let mut p = epb(0, 1, b"abcdef");
        let n = p.len();
        p[n - 4] ^= 4; // the trailing copy of the length, off by 4
        f.extend(p);
        let mut r = PcapngReader::new(&f[..]).unwrap();
        assert!(matches!(r.next(), Err(ReadError::Corrupt(m)) if m.contains("trailing length")),);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Hostile bytes after a valid section header: errors, never panics.
        #[test]
        fn arbitrary_blocks_never_panic(tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400), seed_idb in proptest::prelude::any::<bool>()) {
            let mut f = shb();
            if seed_idb {
                f.extend(idb(1, Some(0x86)));
            }
            f.extend(tail);
            if let Ok(mut r) = PcapngReader::new(&f[..]) {
                for _ in 0..64 {
                    match r.next() {
                        Ok(Some(_)) => {}
                        Ok(None) | Err(_) => break,
                    }
                }
            }
        }
    }
}
