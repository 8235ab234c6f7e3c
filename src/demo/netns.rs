//! A private network namespace for the scenarios that need clean kernel
//! counters or traffic that must not leave the machine (a SYN flood from
//! forged addresses). The calling thread moves into a new namespace that
//! holds only its own loopback; threads it starts afterwards, and sockets
//! and captures they open, live there too. Dropping the guard moves the
//! thread back; the namespace goes away with its last socket.
//!
//! Sysctls written here (`/proc/sys/net/…` of the calling thread) change
//! only the private namespace, never the host's.

use std::fs::File;
use std::io;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;

/// The calling thread, moved into a new network namespace until dropped.
pub(super) struct PrivateNetns {
    original: File,
}

fn os_err(what: &str) -> io::Error {
    let e = io::Error::last_os_error();
    io::Error::new(e.kind(), format!("{what}: {}", crate::lang::io_reason(&e)))
}

/// `struct rtentry` of <linux/route.h> (libc has it only for musl).
#[repr(C)]
struct RtEntry {
    rt_pad1: libc::c_ulong,
    rt_dst: libc::sockaddr,
    rt_gateway: libc::sockaddr,
    rt_genmask: libc::sockaddr,
    rt_flags: libc::c_ushort,
    rt_pad2: libc::c_short,
    rt_pad3: libc::c_ulong,
    rt_pad4: *mut libc::c_void,
    rt_metric: libc::c_short,
    rt_dev: *mut libc::c_char,
    rt_mtu: libc::c_ulong,
    rt_window: libc::c_ulong,
    rt_irtt: libc::c_ushort,
}

fn sockaddr_v4(ip: Ipv4Addr) -> libc::sockaddr {
    // SAFETY: sockaddr_in fits in sockaddr (16 bytes each); all-zero is valid for both.
    unsafe {
        let mut sa: libc::sockaddr = std::mem::zeroed();
        let sin = &mut sa as *mut libc::sockaddr as *mut libc::sockaddr_in;
        (*sin).sin_family = libc::AF_INET as libc::sa_family_t;
        (*sin).sin_addr.s_addr = u32::from_ne_bytes(ip.octets());
        sa
    }
}

/// A socket to hand interface and route ioctls to.
fn ioctl_socket() -> io::Result<File> {
    // SAFETY: socket() has no preconditions; the fd is owned by the File.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0) };
    if fd < 0 {
        return Err(os_err("socket"));
    }
    // SAFETY: fd is a fresh descriptor nobody else owns.
    Ok(unsafe { <File as std::os::fd::FromRawFd>::from_raw_fd(fd) })
}

/// The interfaces of the calling thread's network namespace.
pub(super) fn interfaces() -> Vec<String> {
    let mut names = Vec::new();
    // SAFETY: if_nameindex returns a list ending with a zero entry, freed below.
    unsafe {
        let list = libc::if_nameindex();
        if list.is_null() {
            return names;
        }
        let mut p = list;
        while (*p).if_index != 0 && !(*p).if_name.is_null() {
            names.push(
                std::ffi::CStr::from_ptr((*p).if_name)
                    .to_string_lossy()
                    .into_owned(),
            );
            p = p.add(1);
        }
        libc::if_freenameindex(list);
    }
    names
}

impl PrivateNetns {
    /// Move the calling thread into a new network namespace with loopback
    /// up, `routes` (network, prefix length) sent to loopback, and the
    /// `net.ipv4` sysctls given set. Needs CAP_SYS_ADMIN (root).
    pub(super) fn enter(routes: &[(Ipv4Addr, u8)], sysctls: &[(&str, &str)]) -> io::Result<Self> {
        let original = File::open("/proc/thread-self/ns/net")
            .map_err(|e| io::Error::new(e.kind(), format!("/proc/thread-self/ns/net: {e}")))?;
        // SAFETY: unshare only changes the calling thread's namespaces.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            return Err(os_err(super::text::err_unshare()));
        }
        let guard = PrivateNetns { original };
        // Nothing but its own loopback: whatever is sent here cannot leave the machine.
        let ifs = interfaces();
        if ifs != ["lo"] {
            return Err(io::Error::other(super::text::err_netns_not_private(&ifs)));
        }
        let sock = ioctl_socket()?;
        // SAFETY: ifreq is plain data; the ioctls read and write only it.
        unsafe {
            let mut ifr: libc::ifreq = std::mem::zeroed();
            for (d, s) in ifr.ifr_name.iter_mut().zip(b"lo\0") {
                *d = *s as libc::c_char;
            }
            if libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut ifr) != 0 {
                return Err(os_err("SIOCGIFFLAGS lo"));
            }
            ifr.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            if libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &ifr) != 0 {
                return Err(os_err("SIOCSIFFLAGS lo up"));
            }
        }
        for (net, len) in routes {
            let mask = u32::MAX.checked_shl(32 - u32::from(*len)).unwrap_or(0);
            let mut dev = *b"lo\0";
            let rt = RtEntry {
                rt_pad1: 0,
                rt_dst: sockaddr_v4(*net),
                rt_gateway: sockaddr_v4(Ipv4Addr::UNSPECIFIED),
                rt_genmask: sockaddr_v4(Ipv4Addr::from(mask)),
                rt_flags: libc::RTF_UP,
                rt_pad2: 0,
                rt_pad3: 0,
                rt_pad4: std::ptr::null_mut(),
                rt_metric: 0,
                rt_dev: dev.as_mut_ptr().cast(),
                rt_mtu: 0,
                rt_window: 0,
                rt_irtt: 0,
            };
            // SAFETY: rt is a complete rtentry whose rt_dev points at a live C string.
            if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCADDRT, &rt) } != 0 {
                return Err(os_err(&super::text::err_route(*net, *len)));
            }
        }
        for (name, value) in sysctls {
            let path = format!("/proc/sys/net/ipv4/{name}");
            match std::fs::write(&path, value) {
                Ok(()) => {}
                // An older kernel without this knob behaves as the value asks anyway.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io::Error::new(e.kind(), format!("{path}: {e}"))),
            }
        }
        Ok(guard)
    }
}

impl Drop for PrivateNetns {
    fn drop(&mut self) {
        // SAFETY: setns with a namespace fd we opened; only this thread moves.
        unsafe {
            libc::setns(self.original.as_raw_fd(), libc::CLONE_NEWNET);
        }
    }
}
