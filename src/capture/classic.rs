//! Classic pcap files, read by hand: the format is a 24-byte header and
//! 16-byte record headers, and reading it straight from a large buffer
//! saves libpcap's per-record stdio copy (a tenth of the time per frame).
//! pcapng has its own reader (pcapng.rs); old pcap variants go to libpcap.

use std::io::Read;

use super::buffer::Buffered;
use super::ReadError;
use synack_core::decode::Timestamp;

/// Larger records are refused as corrupt (libpcap allows 256 KiB).
const MAX_RECORD: usize = 16 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) big_endian: bool,
    pub(crate) nanos: bool,
    pub(crate) snaplen: u32,
    pub(crate) linktype: u32,
}

impl Header {
    /// Recognise a classic pcap header; `None` for anything else (pcapng,
    /// the modified-pcap variants, not a capture) — libpcap decides those.
    pub(crate) fn parse(b: &[u8; 24]) -> Option<Header> {
        let (big_endian, nanos) = match [b[0], b[1], b[2], b[3]] {
            [0xd4, 0xc3, 0xb2, 0xa1] => (false, false),
            [0xa1, 0xb2, 0xc3, 0xd4] => (true, false),
            [0x4d, 0x3c, 0xb2, 0xa1] => (false, true),
            [0xa1, 0xb2, 0x3c, 0x4d] => (true, true),
            _ => return None,
        };
        let word = |at: usize| {
            let w = [b[at], b[at + 1], b[at + 2], b[at + 3]];
            if big_endian {
                u32::from_be_bytes(w)
            } else {
                u32::from_le_bytes(w)
            }
        };
        let major = if big_endian {
            u16::from_be_bytes([b[4], b[5]])
        } else {
            u16::from_le_bytes([b[4], b[5]])
        };
        if major != 2 {
            return None; // pre-2.x files need libpcap's quirks
        }
        Some(Header {
            big_endian,
            nanos,
            snaplen: word(16),
            // The upper bits carry FCS information, not the link type.
            linktype: word(20) & 0x03ff_ffff,
        })
    }
}

/// One record of a capture file, with the link type it belongs to (pcapng
/// can mix them; classic pcap has one for the file).
#[derive(Debug)]
pub(crate) struct Record<'a> {
    /// LINKTYPE_ value of the interface the record came from.
    pub(crate) linktype: u32,
    pub(crate) ts: Timestamp,
    pub(crate) wire_len: u32,
    pub(crate) data: &'a [u8],
}

pub(crate) struct ClassicReader<R: Read> {
    input: Buffered<R>,
    pub(crate) header: Header,
}

impl<R: Read> ClassicReader<R> {
    /// `header` has already been read from `input`.
    pub(crate) fn new(input: R, header: Header) -> ClassicReader<R> {
        ClassicReader {
            input: Buffered::new(input, 24),
            header,
        }
    }

    pub(crate) fn consumed(&self) -> u64 {
        self.input.consumed
    }

    pub(crate) fn watch_for_quiet(&mut self, fd: std::os::fd::RawFd) {
        self.input.watch_for_quiet(fd);
    }

    fn word(&self, b: &[u8], at: usize) -> u32 {
        let w = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        if self.header.big_endian {
            u32::from_be_bytes(w)
        } else {
            u32::from_le_bytes(w)
        }
    }

    /// The next record, `Ok(None)` at a clean end; errors use libpcap's words.
    pub(crate) fn next(&mut self) -> Result<Option<Record<'_>>, ReadError> {
        if !self.input.fill(16)? {
            let got = self.input.available();
            return if got == 0 {
                Ok(None)
            } else {
                Err(ReadError::Truncated(crate::lang::tr!(
                    "truncated dump file; tried to read 16 header bytes, only got {got}",
                    "捕获文件被截断：要读 16 字节的记录头，只读到 {got} 字节"
                )))
            };
        }
        let h = self.input.peek(16);
        let (secs, frac) = (self.word(h, 0), self.word(h, 4));
        let caplen = self.word(h, 8) as usize;
        let wire_len = self.word(h, 12);
        if caplen > MAX_RECORD {
            return Err(ReadError::Corrupt(crate::lang::tr!(
                "invalid packet capture length {caplen}, bigger than the largest a capture can hold",
                "分组捕获长度 {caplen} 无效，超过了捕获能容纳的最大值"
            )));
        }
        if !self.input.fill(16 + caplen)? {
            let got = self.input.available() - 16;
            return Err(ReadError::Truncated(crate::lang::tr!(
                "truncated dump file; tried to read {caplen} captured bytes, only got {got}",
                "捕获文件被截断：要读 {caplen} 字节的捕获数据，只读到 {got} 字节"
            )));
        }
        let at = self.input.take(16 + caplen) + 16;
        let nanos = if self.header.nanos {
            frac
        } else {
            frac.saturating_mul(1000)
        };
        Ok(Some(Record {
            linktype: self.header.linktype,
            ts: Timestamp::new(i64::from(secs), nanos),
            wire_len,
            data: self.input.slice(at, caplen),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(records: &[(u32, u32, &[u8])]) -> Vec<u8> {
        let mut f = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
        f.extend([0; 8]);
        f.extend(65535u32.to_le_bytes());
        f.extend(1u32.to_le_bytes());
        for (secs, usecs, data) in records {
            f.extend(secs.to_le_bytes());
            f.extend(usecs.to_le_bytes());
            f.extend((data.len() as u32).to_le_bytes());
            f.extend((data.len() as u32 + 4).to_le_bytes());
            f.extend(*data);
        }
        f
    }

    fn reader(bytes: &[u8]) -> ClassicReader<&[u8]> {
        let h = Header::parse(bytes[..24].try_into().unwrap()).unwrap();
        ClassicReader::new(&bytes[24..], h)
    }

    #[test]
    fn reads_records_and_scales_microseconds() {
        let f = file(&[(1, 5, b"abc"), (2, 6, b"")]);
        let mut r = reader(&f);
        let a = r.next().unwrap().unwrap();
        assert_eq!(
            (a.ts, a.wire_len, a.data),
            (Timestamp::new(1, 5000), 7, &b"abc"[..])
        );
        let b = r.next().unwrap().unwrap();
        assert_eq!(b.data.len(), 0);
        assert!(r.next().unwrap().is_none());
    }

    #[test]
    fn cut_records_are_reported_like_libpcap() {
        let f = file(&[(1, 5, b"abcdef")]);
        let mut r = reader(&f[..f.len() - 2]);
        assert_eq!(
            r.next().err().unwrap().to_string(),
            "truncated dump file; tried to read 6 captured bytes, only got 4"
        );
        let mut r = reader(&f[..24 + 8]);
        assert_eq!(
            r.next().err().unwrap().to_string(),
            "truncated dump file; tried to read 16 header bytes, only got 8"
        );
    }

    #[test]
    fn records_larger_than_the_buffer_grow_it() {
        let big = vec![7u8; (1 << 20) * 2 + 3];
        let f = file(&[(1, 0, &big), (2, 0, b"x")]);
        let mut r = reader(&f);
        assert_eq!(r.next().unwrap().unwrap().data.len(), big.len());
        assert_eq!(r.next().unwrap().unwrap().data, b"x");
    }

    /// Fuzzing regression: a record header claiming 16 MiB in a file that
    /// holds 10 bytes grew the buffer to 32 MiB (zeroed) before finding out.
    #[test]
    fn a_huge_claimed_length_costs_only_what_the_file_holds() {
        let mut f = file(&[]);
        f.extend([0; 8]);
        f.extend((MAX_RECORD as u32).to_le_bytes());
        f.extend((MAX_RECORD as u32).to_le_bytes());
        f.extend([7; 10]);
        let mut r = reader(&f);
        assert_eq!(
            r.next().err().unwrap().to_string(),
            format!("truncated dump file; tried to read {MAX_RECORD} captured bytes, only got 10")
        );
        assert!(r.input.capacity() <= 1 << 20, "{}", r.input.capacity());
    }

    #[test]
    fn pcapng_and_text_are_not_classic() {
        let mut ng = [0u8; 24];
        ng[..4].copy_from_slice(&[0x0a, 0x0d, 0x0d, 0x0a]);
        assert!(Header::parse(&ng).is_none());
        assert!(Header::parse(b"This is not a capture!!!").is_none());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        #[test]
        fn arbitrary_records_never_panic(tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let mut f = file(&[]);
            f.extend(tail);
            let mut r = reader(&f);
            for _ in 0..64 {
                match r.next() {
                    Ok(Some(_)) => {}
                    Ok(None) | Err(_) => break,
                }
            }
        }
    }
}
