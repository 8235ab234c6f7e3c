//! Compressed captures: gzip, zstd, xz and lz4 (frame format), known by
//! their magic bytes, never by the file name. The decompressor is a `Read`
//! between the file and the capture reader, so a capture is unpacked as it
//! is read, a buffer at a time: never whole, never to disk. The bytes taken
//! from the compressed file are counted for the progress bar.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

/// A compression format synack reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Codec {
    Gzip,
    Zstd,
    Xz,
    Lz4,
}

impl Codec {
    /// The format whose magic number `head` starts with.
    pub(crate) fn sniff(head: &[u8]) -> Option<Codec> {
        const MAGICS: [(&[u8], Codec); 4] = [
            // RFC 1952: ID1 ID2 (a gzip member; `gzip -c a b` concatenates members).
            (&[0x1f, 0x8b], Codec::Gzip),
            // RFC 8878: 0xFD2FB528 little-endian.
            (&[0x28, 0xb5, 0x2f, 0xfd], Codec::Zstd),
            // The .xz container's stream header.
            (&[0xfd, b'7', b'z', b'X', b'Z', 0x00], Codec::Xz),
            // The LZ4 frame format: 0x184D2204 little-endian (not the legacy format).
            (&[0x04, 0x22, 0x4d, 0x18], Codec::Lz4),
        ];
        MAGICS
            .iter()
            .find(|(magic, _)| head.starts_with(magic))
            .map(|(_, c)| *c)
    }

    /// The name people know it by.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Codec::Gzip => "gzip",
            Codec::Zstd => "zstd",
            Codec::Xz => "xz",
            Codec::Lz4 => "lz4",
        }
    }

    /// A reader of the decompressed bytes of `input`. Concatenated members
    /// or frames are read one after the other, as `gzip -d` and `zstd -d` do.
    pub(crate) fn decoder(self, input: Box<dyn Read>) -> io::Result<Box<dyn Read>> {
        let inner: Box<dyn Read> = match self {
            Codec::Gzip => Box::new(flate2::read::MultiGzDecoder::new(input)),
            Codec::Zstd => Box::new(zstd::stream::read::Decoder::new(input)?),
            Codec::Xz => Box::new(xz2::read::XzDecoder::new_multi_decoder(input)),
            Codec::Lz4 => Box::new(lz4_flex::frame::FrameDecoder::new(input)),
        };
        Ok(Box::new(Decompressing { codec: self, inner }))
    }
}

/// Counts the bytes read through it, for a progress bar that measures the
/// compressed file.
pub(crate) struct Counted<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Counted<R> {
    /// `count` already holds the bytes read before (a header peeked at).
    pub(crate) fn new(inner: R, count: Rc<Cell<u64>>) -> Counted<R> {
        Counted { inner, count }
    }
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// The decompressor, with its errors said in a capture reader's words: the
/// libraries name the symptom ("corrupt deflate stream", "unexpected end of
/// file"), the reader wants to know the file is cut or damaged.
struct Decompressing {
    codec: Codec,
    inner: Box<dyn Read>,
}

impl Read for Decompressing {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.inner.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.explain(e)),
                ok => return ok,
            }
        }
    }
}

impl Decompressing {
    fn explain(&self, e: io::Error) -> io::Error {
        let name = self.codec.name();
        let ends_early = e.kind() == io::ErrorKind::UnexpectedEof
            || matches!(self.codec, Codec::Zstd if e.to_string().contains("incomplete frame"));
        if ends_early {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                crate::lang::tr!(
                    "the {name} data ends early: the compressed file is cut short",
                    "{name} 数据提前结束：压缩文件被截断了"
                ),
            )
        } else {
            io::Error::new(
                io::ErrorKind::InvalidData,
                crate::lang::tr!(
                    "the {name} data is corrupt ({e})",
                    "{name} 数据已损坏 ({e})"
                ),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes_name_the_format() {
        assert_eq!(Codec::sniff(&[0x1f, 0x8b, 8, 0]), Some(Codec::Gzip));
        assert_eq!(
            Codec::sniff(&[0x28, 0xb5, 0x2f, 0xfd, 0]),
            Some(Codec::Zstd)
        );
        assert_eq!(
            Codec::sniff(&[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0, 0]),
            Some(Codec::Xz)
        );
        assert_eq!(Codec::sniff(&[0x04, 0x22, 0x4d, 0x18]), Some(Codec::Lz4));
        // pcap, pcapng and a cut xz magic are not compressed.
        assert_eq!(Codec::sniff(&[0xd4, 0xc3, 0xb2, 0xa1]), None);
        assert_eq!(Codec::sniff(&[0x0a, 0x0d, 0x0d, 0x0a]), None);
        assert_eq!(Codec::sniff(&[0xfd, 0x37, 0x7a]), None);
        assert_eq!(Codec::sniff(&[]), None);
    }

    #[test]
    fn counted_counts_what_passes() {
        let count = Rc::new(Cell::new(3));
        let mut r = Counted::new(&b"hello"[..], Rc::clone(&count));
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(count.get(), 8);
    }
}
