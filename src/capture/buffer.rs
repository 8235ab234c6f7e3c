//! A large read buffer that hands out borrowed byte ranges: the capture
//! readers parse records straight out of it, one copy from the kernel and no more.

use std::io::Read;
use std::os::fd::RawFd;

/// Under cargo fuzz (`--cfg fuzzing`) the buffer starts small: zeroing a
/// MiB per input would cost more than the parsing, and a small buffer puts
/// records across its end, which is where the refill and grow code runs.
const BUFFER: usize = if cfg!(fuzzing) { 4096 } else { 1 << 20 };

/// A stream that brings nothing for this long is quiet: the reader says so
/// once, so what is held can be shown before it blocks for more.
const QUIET_MS: i32 = 100;

pub(crate) struct Buffered<R: Read> {
    input: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    /// Bytes handed out so far (for progress), counting what came before us.
    pub(crate) consumed: u64,
    /// A pipe or terminal to watch for going quiet (stdin).
    watch: Option<RawFd>,
    /// Quiet was said and nothing came since: block without asking again.
    quiet_said: bool,
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
            watch: None,
            quiet_said: false,
        }
    }

    /// Say when `fd` goes quiet: `fill` then fails once with `WouldBlock`
    /// instead of blocking, having consumed nothing, so the caller can show
    /// what it holds and ask again (readers are restartable at a record).
    pub(crate) fn watch_for_quiet(&mut self, fd: RawFd) {
        self.watch = Some(fd);
    }

    /// Nothing can be read from the watched fd within `QUIET_MS`.
    fn quiet(&self) -> bool {
        let Some(fd) = self.watch else {
            return false;
        };
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd; the fd stays open while we own the reader.
        unsafe { libc::poll(&mut p, 1, QUIET_MS) == 0 }
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
            if !self.quiet_said && self.quiet() {
                self.quiet_said = true;
                return Err(std::io::ErrorKind::WouldBlock.into());
            }
            match self.input.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(k) => {
                    self.end += k;
                    self.quiet_said = false;
                }
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
