//! A quick check that a DNS server listens, before musl's `getaddrinfo` queries one.
//!
//! When no server listens at the addresses of `/etc/resolv.conf` (the lab's hosts name
//! 127.0.0.1 and run none), glibc sees the ICMP "port unreachable" on its connected
//! socket and fails at once with `EAI_AGAIN`. musl ignores it and waits for its timeout,
//! 5 s per lookup. The static agent links musl, so before a DNS lookup it sends the
//! query itself on a connected socket: when every server refuses, the lookup fails as
//! glibc's does, and otherwise musl's `getaddrinfo` runs as before.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::Duration;

/// How long a server has to refuse the probe. An ICMP error from a host that exists
/// comes back within milliseconds; a server that stays silent is left to musl.
const PROBE_WAIT: Duration = Duration::from_millis(200);

/// Tells whether `host` would need DNS and every name server refuses it, so that
/// `getaddrinfo` can only fail with `EAI_AGAIN`.
pub(super) fn every_name_server_refuses(host: &str) -> bool {
    if in_hosts_file(host, &read("/etc/hosts")) {
        return false;
    }
    let servers = name_servers(&read("/etc/resolv.conf"));
    let Some(query) = dns_query(host) else {
        return false;
    };
    servers
        .iter()
        .all(|server| refuses(SocketAddr::new(*server, 53), &query))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Tells whether a line of the hosts file names `host`, as musl's `name_from_hosts`
/// matches it (case-insensitively, any name of the line).
fn in_hosts_file(host: &str, text: &str) -> bool {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or_default())
        .any(|line| {
            line.split_whitespace()
                .skip(1)
                .any(|name| name.eq_ignore_ascii_case(host))
        })
}

/// Returns the `nameserver` addresses of resolv.conf, or 127.0.0.1 when it names none,
/// as musl does (which uses at most three).
fn name_servers(text: &str) -> Vec<IpAddr> {
    let mut servers: Vec<IpAddr> = text
        .lines()
        .filter_map(|line| line.strip_prefix("nameserver"))
        .filter_map(|rest| rest.split_whitespace().next())
        .filter_map(|address| address.parse().ok())
        .take(3)
        .collect();
    if servers.is_empty() {
        servers.push(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    servers
}

/// Builds a DNS query for the `A` record of `host`, or None for a name DNS cannot
/// carry (an empty label or one longer than 63 bytes).
fn dns_query(host: &str) -> Option<Vec<u8>> {
    let mut query = vec![0x52, 0x50, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in host.trim_end_matches('.').split('.') {
        if label.is_empty() || label.len() > 63 {
            return None;
        }
        query.push(label.len() as u8);
        query.extend_from_slice(label.as_bytes());
    }
    query.extend_from_slice(&[0, 0, 1, 0, 1]);
    Some(query)
}

/// Sends the query on a connected socket and returns whether the server refused it:
/// the network or host is unreachable, or the port is closed.
fn refuses(server: SocketAddr, query: &[u8]) -> bool {
    use std::io::ErrorKind;
    let local: SocketAddr = match server {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let Ok(socket) = UdpSocket::bind(local) else {
        return false;
    };
    let refused = |error: &std::io::Error| {
        matches!(
            error.kind(),
            ErrorKind::ConnectionRefused
                | ErrorKind::HostUnreachable
                | ErrorKind::NetworkUnreachable
        )
    };
    if let Err(error) = socket
        .connect(server)
        .and_then(|()| socket.send(query).map(drop))
    {
        return refused(&error);
    }
    if socket.set_read_timeout(Some(PROBE_WAIT)).is_err() {
        return false;
    }
    let mut answer = [0u8; 512];
    match socket.recv(&mut answer) {
        Ok(_) => false,
        Err(error) => refused(&error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_file_names_matched() {
        let hosts = "127.0.0.1 localhost\n10.0.0.5 Web.Example web # comment names\n";
        assert!(in_hosts_file("web.example", hosts));
        assert!(in_hosts_file("web", hosts));
        assert!(!in_hosts_file("names", hosts));
        assert!(!in_hosts_file("10.0.0.5", hosts));
    }

    #[test]
    fn name_servers_with_default() {
        let servers = name_servers("# offline\nnameserver 10.0.0.2\nnameserver ::1\nsearch x\n");
        assert_eq!(
            servers,
            vec![
                "10.0.0.2".parse::<IpAddr>().unwrap(),
                "::1".parse().unwrap()
            ]
        );
        assert_eq!(name_servers(""), vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]);
    }

    #[test]
    fn closed_port_refuses_query() {
        // A port that was just free and is closed again: the kernel replies to the
        // datagram with ICMP "port unreachable".
        let port = UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let query = dns_query("does.not.exist").unwrap();
        assert!(refuses(
            SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            &query
        ));
        let listening = UdpSocket::bind("127.0.0.1:0").unwrap();
        let server = listening.local_addr().unwrap();
        assert!(!refuses(server, &query));
    }

    #[test]
    fn queries_reject_bad_labels() {
        assert!(dns_query("a..b").is_none());
        assert!(dns_query(&"x".repeat(64)).is_none());
        assert_eq!(
            dns_query("ab").unwrap()[12..],
            [2, b'a', b'b', 0, 0, 1, 0, 1]
        );
    }
}
