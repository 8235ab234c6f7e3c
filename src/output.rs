//! Live output that never holds the capture up: what the views write goes
//! to a thread that writes it to stdout, through a bounded queue. If stdout
//! is not being read, the capture goes on (every frame still reaches the
//! savefile, Ctrl-C still stops at once) and output that does not fit is
//! dropped and counted; if the reader has gone (`| head`), the next write
//! says so and the capture ends quietly.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Bytes gathered before a chunk goes to the writer thread.
const CHUNK: usize = 32 << 10;
/// Chunks waiting for stdout at most (4 MiB).
const QUEUE: usize = 128;

struct Shared {
    /// The reader went away (EPIPE).
    gone: AtomicBool,
    /// Another write error, as text (reported once).
    failed: std::sync::Mutex<Option<io::Error>>,
    dropped: AtomicU64,
}

/// A `Write` for the capture thread; see the module docs.
pub(crate) struct AsyncOut {
    buf: Vec<u8>,
    tx: Option<SyncSender<Vec<u8>>>,
    spare: Receiver<Vec<u8>>,
    shared: Arc<Shared>,
    writer: Option<JoinHandle<()>>,
    done: Receiver<()>,
    /// Wait for room in the queue instead of dropping (see `wait_for_room`).
    patient: bool,
}

impl AsyncOut {
    /// Start the writer thread over `out`.
    pub(crate) fn new<W: Write + Send + 'static>(mut out: W) -> AsyncOut {
        let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(QUEUE);
        let (spare_tx, spare) = mpsc::channel::<Vec<u8>>();
        let (done_tx, done) = mpsc::channel::<()>();
        let shared = Arc::new(Shared {
            gone: AtomicBool::new(false),
            failed: std::sync::Mutex::new(None),
            dropped: AtomicU64::new(0),
        });
        let s = Arc::clone(&shared);
        let writer = std::thread::Builder::new()
            .name("stdout".into())
            .spawn(move || {
                for mut chunk in rx {
                    if s.gone.load(Ordering::Relaxed) {
                        continue;
                    }
                    let r = out.write_all(&chunk).and_then(|()| out.flush());
                    match r {
                        Ok(()) => {}
                        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                            s.gone.store(true, Ordering::Relaxed);
                        }
                        Err(e) => {
                            if let Ok(mut f) = s.failed.lock() {
                                f.get_or_insert(e);
                            }
                            s.gone.store(true, Ordering::Relaxed);
                        }
                    }
                    chunk.clear();
                    let _ = spare_tx.send(chunk);
                }
                let _ = done_tx.send(());
            })
            .ok();
        AsyncOut {
            buf: Vec::with_capacity(CHUNK * 2),
            tx: Some(tx),
            spare,
            shared,
            writer,
            done,
            patient: false,
        }
    }

    /// From now on a full queue makes writes wait rather than drop: for a
    /// file (`-o`) once the capture is over, where a picture's document,
    /// written whole at the end, must reach the file whole.
    pub(crate) fn wait_for_room(&mut self) {
        self.patient = true;
    }

    /// An error to hand the capture loop, if the output cannot go on.
    fn broken(&self) -> Option<io::Error> {
        if !self.shared.gone.load(Ordering::Relaxed) {
            return None;
        }
        if let Ok(mut f) = self.shared.failed.lock() {
            if let Some(e) = f.take() {
                return Some(e);
            }
        }
        Some(io::Error::from(io::ErrorKind::BrokenPipe))
    }

    fn send(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let next = self.spare.try_recv().unwrap_or_default();
        let chunk = std::mem::replace(&mut self.buf, next);
        let Some(tx) = &self.tx else { return };
        if self.patient {
            if let Err(mpsc::SendError(c)) = tx.send(chunk) {
                // The writer thread is gone (it failed): counted, as above.
                self.shared
                    .dropped
                    .fetch_add(c.len() as u64, Ordering::Relaxed);
            }
            return;
        }
        match tx.try_send(chunk) {
            Ok(()) => {}
            Err(TrySendError::Full(c)) | Err(TrySendError::Disconnected(c)) => {
                // stdout is not keeping up: the capture must not wait for it.
                self.shared
                    .dropped
                    .fetch_add(c.len() as u64, Ordering::Relaxed);
                self.buf = c;
                self.buf.clear();
            }
        }
    }

    /// Output bytes that were dropped because stdout was not being read.
    pub(crate) fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Hand on what is left and wait (at most `patience`) for it to be written.
    pub(crate) fn close(&mut self, patience: Duration) -> io::Result<()> {
        self.send();
        self.tx = None;
        if self.done.recv_timeout(patience).is_ok() {
            if let Some(w) = self.writer.take() {
                let _ = w.join();
            }
        }
        match self.broken() {
            Some(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(e),
            _ => Ok(()),
        }
    }
}

impl Write for AsyncOut {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if let Some(e) = self.broken() {
            return Err(e);
        }
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send();
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if let Some(e) = self.broken() {
            return Err(e);
        }
        self.send();
        Ok(())
    }
}

impl Drop for AsyncOut {
    fn drop(&mut self) {
        let _ = self.close(Duration::from_millis(200));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that never returns (stdout not being read).
    struct Stuck;
    impl Write for Stuck {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            std::thread::sleep(Duration::from_secs(3600));
            Ok(0)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    struct Gone;
    impl Write for Gone {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from(io::ErrorKind::BrokenPipe))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stuck_reader_never_blocks_the_writer_and_output_is_dropped_and_counted() {
        let mut out = AsyncOut::new(Stuck);
        let line = vec![b'x'; 1000];
        let t = std::time::Instant::now();
        for _ in 0..20_000 {
            out.write_all(&line).unwrap();
        }
        out.flush().unwrap();
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        assert!(out.dropped() > 10_000_000, "{}", out.dropped());
        out.close(Duration::from_millis(10)).unwrap();
    }

    /// A slow writer that keeps what it got.
    struct Slow(Arc<std::sync::Mutex<usize>>);
    impl Write for Slow {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            std::thread::sleep(Duration::from_millis(2));
            *self.0.lock().unwrap() += data.len();
            Ok(data.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn once_told_to_wait_nothing_is_dropped() {
        let got = Arc::new(std::sync::Mutex::new(0));
        let mut out = AsyncOut::new(Slow(Arc::clone(&got)));
        out.wait_for_room();
        // More than the queue holds (4 MiB), written at once.
        let line = vec![b'x'; 1000];
        for _ in 0..10_000 {
            out.write_all(&line).unwrap();
        }
        out.close(Duration::from_secs(60)).unwrap();
        assert_eq!(out.dropped(), 0);
        assert_eq!(*got.lock().unwrap(), 10_000_000);
    }

    #[test]
    fn a_closed_pipe_is_told_at_the_next_write() {
        let mut out = AsyncOut::new(Gone);
        out.write_all(b"hello\n").unwrap();
        out.flush().unwrap();
        let t = std::time::Instant::now();
        loop {
            match out.flush() {
                Err(e) => {
                    assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
                    break;
                }
                Ok(()) => {
                    assert!(t.elapsed() < Duration::from_secs(2));
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
    }
}
