//! libpcap's offline reader through its C API, for the old pcap variants
//! the hand readers leave to it.

/// libpcap's offline reader, called directly: the pcap crate opens files
/// through a FILE* with stdio's default 4 KiB buffer, which costs a read(2)
/// per 4 KiB; here the FILE* is ours, with a 1 MiB buffer.
pub(crate) mod ffi {
    use std::ffi::{c_char, c_int, c_uint, c_void};

    #[repr(C)]
    pub(crate) struct PktHdr {
        pub(crate) ts: libc::timeval,
        pub(crate) caplen: u32,
        pub(crate) len: u32,
    }

    pub(crate) const PRECISION_NANO: c_uint = 1;
    pub(crate) const ERRBUF_SIZE: usize = 256;

    #[link(name = "pcap")]
    extern "C" {
        pub(crate) fn pcap_fopen_offline_with_tstamp_precision(
            fp: *mut libc::FILE,
            precision: c_uint,
            errbuf: *mut c_char,
        ) -> *mut c_void;
        pub(crate) fn pcap_next_ex(
            p: *mut c_void,
            hdr: *mut *mut PktHdr,
            data: *mut *const u8,
        ) -> c_int;
        pub(crate) fn pcap_datalink(p: *mut c_void) -> c_int;
        pub(crate) fn pcap_snapshot(p: *mut c_void) -> c_int;
        pub(crate) fn pcap_file(p: *mut c_void) -> *mut libc::FILE;
        pub(crate) fn pcap_geterr(p: *mut c_void) -> *const c_char;
        pub(crate) fn pcap_close(p: *mut c_void);
    }
}

pub(crate) const READ_BUFFER: usize = 1 << 20;

/// An open libpcap offline handle; closing it closes its FILE*.
pub(crate) struct Offline {
    handle: std::ptr::NonNull<libc::c_void>,
}

impl Offline {
    /// Open a file by path.
    pub(crate) fn open(path: &str) -> std::result::Result<Offline, String> {
        use std::os::fd::IntoRawFd;
        let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
        Offline::from_fd(file.into_raw_fd())
    }

    /// Open an already-open file descriptor (ours to give away) for reading.
    pub(crate) fn from_fd(fd: libc::c_int) -> std::result::Result<Offline, String> {
        // SAFETY: fdopen takes ownership of `fd`; setvbuf runs before any I/O
        // on the stream; on failure every resource is released here.
        unsafe {
            let fp = libc::fdopen(fd, c"rb".as_ptr());
            if fp.is_null() {
                libc::close(fd);
                return Err(std::io::Error::last_os_error().to_string());
            }
            libc::setvbuf(fp, std::ptr::null_mut(), libc::_IOFBF, READ_BUFFER);
            let mut errbuf = [0 as libc::c_char; ffi::ERRBUF_SIZE];
            let p = ffi::pcap_fopen_offline_with_tstamp_precision(
                fp,
                ffi::PRECISION_NANO,
                errbuf.as_mut_ptr(),
            );
            match std::ptr::NonNull::new(p) {
                Some(handle) => Ok(Offline { handle }),
                None => {
                    libc::fclose(fp);
                    Err(std::ffi::CStr::from_ptr(errbuf.as_ptr())
                        .to_string_lossy()
                        .into_owned())
                }
            }
        }
    }

    pub(crate) fn ptr(&self) -> *mut libc::c_void {
        self.handle.as_ptr()
    }

    pub(crate) fn error(&self) -> String {
        // SAFETY: pcap_geterr returns the handle's NUL-terminated error buffer.
        unsafe { std::ffi::CStr::from_ptr(ffi::pcap_geterr(self.ptr())) }
            .to_string_lossy()
            .into_owned()
    }
}

impl Drop for Offline {
    fn drop(&mut self) {
        // SAFETY: the handle is valid and closed exactly once.
        unsafe { ffi::pcap_close(self.ptr()) }
    }
}
