//! A large read buffer that hands out borrowed byte ranges: the capture
//! readers parse records straight out of it, one copy from the kernel and no more.

use std::io::Read;

/// Under cargo fuzz (`--cfg fuzzing`) the buffer starts small: zeroing a
/// MiB per input would cost more than the parsing, and a small buffer puts
/// records across its end, which is where the refill and grow code runs.
const BUFFER: usize = if cfg!(fuzzing) { 4096 } else { 1 << 20 };

pub(crate) struct Buffered<R: Read> {
    input: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    /// Bytes handed out so far (for progress), counting what came before us.
    pub(crate) consumed: u64,
}

impl<R: Read> Buffered<R> {
    /// `already` bytes of the input were read before (a header peeked at).
    pub(crate) fn new(input: R, already: u64) -> Buffered<R> {
        Buffered {
            input,
            buf: vec![0; BUFFER],
            start: 0,
            end: 0,
            eof: false,
            consumed: already,
        }
    }

    /// Bytes available right now.
    pub(crate) fn available(&self) -> usize {
        self.end - self.start
    }

    /// Make at least `n` bytes available; false at the end of the input.
    pub(crate) fn fill(&mut self, n: usize) -> std::io::Result<bool> {
        while self.end - self.start < n {
            if self.eof {
                return Ok(false);
            }
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            // Grow only when full, doubling: a record header may claim up to
            // 16 MiB, and a cut or hostile file that does not hold them must
            // not cost 16 MiB of zeroed memory (found by fuzzing: a 40-byte
            // file spent its time zeroing 32 MiB).
            if self.end == self.buf.len() {
                // Full means fewer than `n` bytes are held, so this grows.
                let grown = (self.buf.len() * 2).min(n.next_power_of_two());
                self.buf.resize(grown, 0);
            }
            match self.input.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(k) => self.end += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// The next `n` available bytes, without consuming them (call `fill` first).
    pub(crate) fn peek(&self, n: usize) -> &[u8] {
        &self.buf[self.start..self.start + n]
    }

    /// Consume `n` bytes; returns where they start in the buffer.
    pub(crate) fn take(&mut self, n: usize) -> usize {
        let at = self.start;
        self.start += n;
        self.consumed += n as u64;
        at
    }

    /// Bytes the buffer holds room for (tests bound it).
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn slice(&self, at: usize, n: usize) -> &[u8] {
        &self.buf[at..at + n]
    }
}
