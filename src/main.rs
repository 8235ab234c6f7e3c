use std::process::ExitCode;

/// glibc returns freed memory at the top of the heap to the kernel at once
/// and then faults it back in page by page: with connections retiring in
/// waves that cost more system time than all the parsing. Keep it instead.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called before any threads.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 << 20);
    }
}

fn main() -> ExitCode {
    tune_allocator();
    synack::run()
}
