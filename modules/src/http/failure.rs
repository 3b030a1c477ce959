//! Python's texts for failed connections: `getaddrinfo` errors as `socket.gaierror`
//! and OS errors as `OSError`, with glibc's wording whatever libc the agent uses.

use std::net::{SocketAddr, ToSocketAddrs};

/// Resolves `host` with the C library's `getaddrinfo`, so that a failure carries its
/// `EAI_*` code for Python's message.
pub(super) fn resolve_host(host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    // musl waits for its DNS timeout where glibc fails at once when no server listens.
    if cfg!(target_env = "musl") && super::resolver::every_name_server_refuses(host) {
        return Err(std::io::Error::other(DnsError(libc::EAI_AGAIN)));
    }
    let name = std::ffi::CString::new(host).map_err(std::io::Error::other)?;
    // SAFETY: `hints` is zeroed as getaddrinfo requires for unused fields, `list` is
    // freed with freeaddrinfo once the addresses are copied out.
    unsafe {
        let mut hints: libc::addrinfo = std::mem::zeroed();
        hints.ai_socktype = libc::SOCK_STREAM;
        hints.ai_family = libc::AF_UNSPEC;
        let mut list: *mut libc::addrinfo = std::ptr::null_mut();
        let code = libc::getaddrinfo(name.as_ptr(), std::ptr::null(), &hints, &mut list);
        if code != 0 {
            return Err(std::io::Error::other(DnsError(code)));
        }
        let mut addresses = Vec::new();
        let mut node = list;
        while !node.is_null() {
            let entry = &*node;
            match entry.ai_family {
                libc::AF_INET => {
                    let raw = &*(entry.ai_addr as *const libc::sockaddr_in);
                    let ip = std::net::Ipv4Addr::from(u32::from_be(raw.sin_addr.s_addr));
                    addresses.push(SocketAddr::new(ip.into(), port));
                }
                libc::AF_INET6 => {
                    let raw = &*(entry.ai_addr as *const libc::sockaddr_in6);
                    let ip = std::net::Ipv6Addr::from(raw.sin6_addr.s6_addr);
                    addresses.push(SocketAddr::new(ip.into(), port));
                }
                _ => {}
            }
            node = entry.ai_next;
        }
        libc::freeaddrinfo(list);
        if addresses.is_empty() {
            return (host, port).to_socket_addrs().map(Iterator::collect);
        }
        Ok(addresses)
    }
}

/// A `getaddrinfo` failure, shown as Python's `socket.gaierror` with glibc's texts
/// (the agent may be linked with musl, whose texts differ).
#[derive(Debug)]
pub(super) struct DnsError(i32);

impl std::fmt::Display for DnsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self.0 {
            -2 => "Name or service not known",
            -3 => "Temporary failure in name resolution",
            -4 => "Non-recoverable failure in name resolution",
            -5 => "No address associated with hostname",
            -6 => "ai_family not supported",
            -8 => "Servname not supported for ai_socktype",
            -10 => "Memory allocation failure",
            -11 => "System error",
            _ => "Unknown error",
        };
        write!(f, "[Errno {}] {text}", self.0)
    }
}

impl std::error::Error for DnsError {}

/// Formats an OS error as Python does (`[Errno 111] Connection refused`, or `timed out`
/// for a socket timeout). Network errors get glibc's texts, whatever libc the agent
/// uses.
pub fn os_error_text(error: &std::io::Error) -> String {
    if matches!(
        error.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    ) && error.raw_os_error().is_none_or(|code| code == libc::EAGAIN)
    {
        return "timed out".to_string();
    }
    let Some(code) = error.raw_os_error() else {
        return error.to_string();
    };
    let text = match code {
        libc::ECONNREFUSED => "Connection refused",
        libc::ETIMEDOUT => "Connection timed out",
        libc::EHOSTUNREACH => "No route to host",
        libc::ENETUNREACH => "Network is unreachable",
        libc::ECONNRESET => "Connection reset by peer",
        libc::EPIPE => "Broken pipe",
        libc::EADDRNOTAVAIL => "Cannot assign requested address",
        _ => return crate::files::os_error(error),
    };
    format!("[Errno {code}] {text}")
}
