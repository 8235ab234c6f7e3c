//! pcapng, written by hand: a section header naming the writing
//! application, one interface description per link type (nanosecond
//! timestamps), and an enhanced packet block per frame with an optional
//! comment, which Wireshark shows in the packet list and filters on as
//! `frame.comment`. Little-endian, as the reader's byte-order magic says.
//! (draft-ietf-opsawg-pcapng: SHB §4.1, IDB §4.2, EPB §4.3, options §3.5.)

use std::io::{self, Write};

use synack_core::decode::Timestamp;

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 1;
const EPB: u32 = 6;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
const OPT_END: u16 = 0;
const OPT_COMMENT: u16 = 1;
const SHB_USERAPPL: u16 = 4;
const IF_TSRESOL: u16 = 9;
/// Readers such as tcpdump want a snapshot length; synack's own live limit.
const SNAPLEN: u32 = 262_144;

/// Writes one pcapng section to `out`.
pub(crate) struct PcapngWriter<W: Write> {
    out: W,
    /// The link type of each interface described so far, by interface id.
    interfaces: Vec<u16>,
    block: Vec<u8>,
}

impl<W: Write> PcapngWriter<W> {
    /// Start a section whose header names `application` (e.g. `synack 0.1.0`).
    pub(crate) fn new(out: W, application: &str) -> io::Result<PcapngWriter<W>> {
        let mut w = PcapngWriter {
            out,
            interfaces: Vec::new(),
            block: Vec::with_capacity(2048),
        };
        w.block.clear();
        put32(&mut w.block, BYTE_ORDER_MAGIC);
        put16(&mut w.block, 1); // major version
        put16(&mut w.block, 0); // minor version
        w.block.extend_from_slice(&(-1i64).to_le_bytes()); // section length: not given
        option(&mut w.block, SHB_USERAPPL, application.as_bytes());
        end_options(&mut w.block);
        w.emit(SHB)?;
        Ok(w)
    }

    /// The interface id for `linktype`, describing a new interface the first
    /// time a link type is seen.
    fn interface(&mut self, linktype: u16) -> io::Result<u32> {
        if let Some(i) = self.interfaces.iter().position(|l| *l == linktype) {
            return Ok(i as u32);
        }
        self.block.clear();
        put16(&mut self.block, linktype);
        put16(&mut self.block, 0); // reserved
        put32(&mut self.block, SNAPLEN);
        option(&mut self.block, IF_TSRESOL, &[9]); // 10^-9 s
        end_options(&mut self.block);
        self.emit(IDB)?;
        self.interfaces.push(linktype);
        Ok((self.interfaces.len() - 1) as u32)
    }

    /// One frame, its bytes unchanged, with `comment` when there is one.
    pub(crate) fn packet(
        &mut self,
        linktype: u16,
        ts: Timestamp,
        wire_len: u32,
        data: &[u8],
        comment: Option<&str>,
    ) -> io::Result<()> {
        let id = self.interface(linktype)?;
        let ns = u64::try_from(ts.normalized().as_nanos()).unwrap_or(0);
        let captured = u32::try_from(data.len()).unwrap_or(u32::MAX);
        self.block.clear();
        put32(&mut self.block, id);
        put32(&mut self.block, (ns >> 32) as u32);
        put32(&mut self.block, ns as u32);
        put32(&mut self.block, captured);
        put32(&mut self.block, wire_len.max(captured));
        self.block.extend_from_slice(data);
        pad(&mut self.block);
        if let Some(c) = comment {
            option(&mut self.block, OPT_COMMENT, c.as_bytes());
            end_options(&mut self.block);
        }
        self.emit(EPB)
    }

    /// Push everything written so far to the file.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Write the block body in `self.block` framed as block `kind`.
    fn emit(&mut self, kind: u32) -> io::Result<()> {
        let total = u32::try_from(self.block.len() + 12)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pcapng block over 4 GiB"))?;
        self.out.write_all(&kind.to_le_bytes())?;
        self.out.write_all(&total.to_le_bytes())?;
        self.out.write_all(&self.block)?;
        self.out.write_all(&total.to_le_bytes())
    }
}

fn put16(b: &mut Vec<u8>, v: u16) {
    b.extend_from_slice(&v.to_le_bytes());
}

fn put32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_le_bytes());
}

fn pad(b: &mut Vec<u8>) {
    while b.len() % 4 != 0 {
        b.push(0);
    }
}

/// An option: code, length, value padded to 32 bits. A value longer than an
/// option can hold (64 KiB) is cut there; comments never come near.
fn option(b: &mut Vec<u8>, code: u16, value: &[u8]) {
    let value = &value[..value.len().min(usize::from(u16::MAX) - 3)];
    put16(b, code);
    put16(b, value.len() as u16);
    b.extend_from_slice(value);
    pad(b);
}

fn end_options(b: &mut Vec<u8>) {
    put16(b, OPT_END);
    put16(b, 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_framed_and_padded() {
        let mut out = Vec::new();
        let mut w = PcapngWriter::new(&mut out, "synack 1").unwrap();
        w.packet(1, Timestamp::new(1, 5), 60, &[0xAA; 5], Some("hi"))
            .unwrap();
        drop(w);
        // SHB: 12 framing + 16 fixed + option (4 + 8) + end (4) = 44.
        assert_eq!(&out[0..4], &SHB.to_le_bytes());
        assert_eq!(u32::from_le_bytes(out[4..8].try_into().unwrap()), 44);
        assert_eq!(u32::from_le_bytes(out[40..44].try_into().unwrap()), 44);
        // IDB: 12 + 8 + if_tsresol (4 + 4) + end (4) = 32.
        let idb = &out[44..76];
        assert_eq!(u32::from_le_bytes(idb[0..4].try_into().unwrap()), IDB);
        assert_eq!(u32::from_le_bytes(idb[4..8].try_into().unwrap()), 32);
        // EPB: 12 + 20 + 8 (5 bytes padded) + comment (4 + 4) + end (4) = 52.
        let epb = &out[76..];
        assert_eq!(epb.len(), 52);
        assert_eq!(u32::from_le_bytes(epb[4..8].try_into().unwrap()), 52);
        let ns = 1_000_000_005u64;
        assert_eq!(
            u32::from_le_bytes(epb[12..16].try_into().unwrap()),
            (ns >> 32) as u32
        );
        assert_eq!(
            u32::from_le_bytes(epb[16..20].try_into().unwrap()),
            ns as u32
        );
        assert_eq!(u32::from_le_bytes(epb[20..24].try_into().unwrap()), 5);
        assert_eq!(u32::from_le_bytes(epb[24..28].try_into().unwrap()), 60);
        assert_eq!(&epb[36..40], &[1, 0, 2, 0]);
        assert_eq!(&epb[40..42], b"hi");
    }
}
