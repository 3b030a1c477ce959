//! TLS for `fetch_url`'s connections, with the verification rules of Python's `ssl`
//! module on OpenSSL 3. It trusts the system's CA certificates (or `ca_path`) and a
//! trusted self-signed server certificate, matches the subject's CN when the
//! certificate has no DNS subjectAltName, and reports failures in OpenSSL's words.

use std::sync::Arc;

use super::failure::os_error_text;
use super::Client;

/// Builds the TLS settings: the system's CA certificates (or `ca_path`), or no
/// verification for `validate_certs: false`. Python builds its context before it
/// connects, for every request; an error is the text of the `OSError` it raises.
pub(super) fn tls_config(client: &Client) -> Result<Arc<rustls::ClientConfig>, String> {
    // ring is the provider that builds for the static musl agent; rustls 0.23.48
    // deprecates its defaults only because they lack post-quantum key exchange.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|err| err.to_string())?;
    let config = if client.validate_certs {
        let mut roots = rustls::RootCertStore::empty();
        let trusted = match &client.ca_path {
            Some(path) => {
                let pem = std::fs::read(path).map_err(|err| os_error_text(&err))?;
                rustls_pem_certificates(&pem)
            }
            None => rustls_native_certs::load_native_certs().certs,
        };
        for cert in &trusted {
            let _ = roots.add(cert.clone());
        }
        let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .map_err(|err| err.to_string())?;
        let builder = builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(OpenSslVerifier { webpki, trusted }));
        match client_identity(client)? {
            Some((certs, key)) => builder.with_client_auth_cert(certs, key),
            None => Ok(builder.with_no_client_auth()),
        }
    } else {
        let builder = builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider)));
        match client_identity(client)? {
            Some((certs, key)) => builder.with_client_auth_cert(certs, key),
            None => Ok(builder.with_no_client_auth()),
        }
    };
    let config = config.map_err(|err| err.to_string())?;
    Ok(Arc::new(config))
}

type ClientIdentity = (
    Vec<rustls::pki_types::CertificateDer<'static>>,
    rustls::pki_types::PrivateKeyDer<'static>,
);

/// Reads `client_cert` and its key (from `client_key`, else from the certificate's
/// file), as Python's `load_cert_chain` does. A file that cannot be read fails with
/// the text of Python's `OSError`.
fn client_identity(client: &Client) -> Result<Option<ClientIdentity>, String> {
    use rustls::pki_types::pem::PemObject;
    let Some(cert_path) = &client.client_cert else {
        return Ok(None);
    };
    let read = |path: &str| std::fs::read(path).map_err(|err| crate::files::os_error(&err));
    let cert_pem = read(cert_path)?;
    let key_pem = match &client.client_key {
        Some(key_path) => read(key_path)?,
        None => cert_pem.clone(),
    };
    let certs: Vec<_> = rustls::pki_types::CertificateDer::pem_slice_iter(&cert_pem)
        .filter_map(Result::ok)
        .collect();
    let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(&key_pem);
    match (certs.is_empty(), key) {
        (false, Ok(key)) => Ok(Some((certs, key))),
        // Python 3.11's ssl module on Debian 12, as measured on the lab.
        _ => Err("[SSL] PEM lib (_ssl.c:3874)".to_string()),
    }
}

fn rustls_pem_certificates(pem: &[u8]) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .filter_map(Result::ok)
        .collect()
}

/// webpki's chain verification with two of OpenSSL's rules that webpki lacks: a server
/// certificate that is itself one of the trusted certificates is accepted for the
/// names it contains (webpki rejects a CA certificate as the server's own), and a
/// certificate without a DNS subjectAltName is matched by its subject's CN.
#[derive(Debug)]
struct OpenSslVerifier {
    webpki: Arc<rustls::client::WebPkiServerVerifier>,
    trusted: Vec<rustls::pki_types::CertificateDer<'static>>,
}

impl rustls::client::danger::ServerCertVerifier for OpenSslVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        intermediates: &[rustls::pki_types::CertificateDer<'_>],
        server_name: &rustls::pki_types::ServerName<'_>,
        ocsp_response: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        let verified = self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        let Err(rustls::Error::InvalidCertificate(failure)) = &verified else {
            return verified;
        };
        // rustls checks the name last, so a name error means the chain is trusted.
        let chain_trusted = matches!(
            failure,
            rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. }
        );
        let trusted_leaf = self
            .trusted
            .iter()
            .any(|cert| cert.as_ref() == end_entity.as_ref());
        if !chain_trusted && !trusted_leaf {
            return verified;
        }
        // NOTE: the validity period of a trusted self-signed certificate is not checked.
        verify_name(end_entity, server_name)?;
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// `validate_certs: false`: any certificate is accepted, as with Python's `CERT_NONE`;
/// signatures are still checked so that the handshake is well-formed.
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Checks the server name as OpenSSL's `X509_check_host` does for Python: the DNS
/// subjectAltNames, or the subject's CNs when there is no DNS subjectAltName. An IP
/// address is only checked against the IP subjectAltNames.
fn verify_name(
    end_entity: &rustls::pki_types::CertificateDer<'_>,
    server_name: &rustls::pki_types::ServerName<'_>,
) -> Result<(), rustls::Error> {
    let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
    let error = match rustls::client::verify_server_name(&parsed, server_name) {
        Ok(()) => return Ok(()),
        Err(error) => error,
    };
    let rustls::pki_types::ServerName::DnsName(host) = server_name else {
        return Err(error);
    };
    let cert = webpki::EndEntityCert::try_from(end_entity).map_err(|_| error.clone())?;
    if cert.valid_dns_names().next().is_some() {
        return Err(error);
    }
    let matched = common_names(cert.subject())
        .iter()
        .any(|name| openssl_host_match(name, host.as_ref()));
    if matched {
        Ok(())
    } else {
        Err(error)
    }
}

/// Returns the values of the CN attributes of a DER subject (the content of the
/// `Name` sequence), as UTF-8.
fn common_names(subject: &[u8]) -> Vec<String> {
    const COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
    let mut names = Vec::new();
    let mut sets = subject;
    while let Some((0x31, set, rest)) = der_element(sets) {
        sets = rest;
        let mut attributes = set;
        while let Some((0x30, attribute, rest)) = der_element(attributes) {
            attributes = rest;
            let Some((0x06, oid, value)) = der_element(attribute) else {
                continue;
            };
            let Some((tag, text, _)) = der_element(value) else {
                continue;
            };
            if oid == COMMON_NAME {
                if let Some(text) = der_string(tag, text) {
                    names.push(text);
                }
            }
        }
    }
    names
}

/// Splits the first DER element off `input`: its tag, its content and the rest.
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let length = rest[..count]
            .iter()
            .fold(0usize, |length, byte| (length << 8) | usize::from(*byte));
        (length, &rest[count..])
    };
    if rest.len() < length {
        return None;
    }
    Some((tag, &rest[..length], &rest[length..]))
}

/// Decodes an ASN.1 string as `ASN1_STRING_to_UTF8` does for the usual string types.
fn der_string(tag: u8, content: &[u8]) -> Option<String> {
    match tag {
        // UTF8String, PrintableString, IA5String, T61String (read as ISO-8859-1).
        0x0c => String::from_utf8(content.to_vec()).ok(),
        0x13 | 0x16 | 0x14 => Some(content.iter().map(|&b| char::from(b)).collect()),
        // BMPString: UTF-16BE.
        0x1e => {
            let units: Vec<u16> = content
                .chunks_exact(2)
                .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        // UniversalString: UTF-32BE.
        0x1c => content
            .chunks_exact(4)
            .map(|quad| char::from_u32(u32::from_be_bytes([quad[0], quad[1], quad[2], quad[3]])))
            .collect(),
        _ => None,
    }
}

/// Compares a certificate name with the host as OpenSSL does with Python's flags: case
/// insensitively, and a `*` that is the whole leftmost label of a name with at least
/// two more labels matches one non-empty label.
fn openssl_host_match(pattern: &str, host: &str) -> bool {
    if let Some(suffix) = pattern.strip_prefix("*.") {
        let wildcard_valid = !suffix.contains('*') && suffix.contains('.');
        if wildcard_valid {
            return match host.split_once('.') {
                Some((label, rest)) => !label.is_empty() && rest.eq_ignore_ascii_case(suffix),
                None => false,
            };
        }
    }
    pattern.eq_ignore_ascii_case(host)
}

/// OpenSSL's wording of a TLS failure, as Python's `ssl` module reports it (Python
/// 3.11 on Debian 12 names `_ssl.c:992`).
///
/// NOTE: the texts follow OpenSSL's for the common failures only; others show rustls's
/// own description.
pub(super) fn tls_text(error: &rustls::Error) -> String {
    use rustls::CertificateError;
    let reason = match error {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "unable to get local issuer certificate".to_string()
        }
        rustls::Error::InvalidCertificate(CertificateError::Other(other))
            if format!("{other:?}").contains("CaUsedAsEndEntity") =>
        {
            "self-signed certificate".to_string()
        }
        rustls::Error::InvalidCertificate(CertificateError::Expired)
        | rustls::Error::InvalidCertificate(CertificateError::ExpiredContext { .. }) => {
            "certificate has expired".to_string()
        }
        rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
            expected,
            ..
        }) => {
            let (kind, host) = match expected {
                rustls::pki_types::ServerName::DnsName(name) => {
                    ("Hostname", name.as_ref().to_string())
                }
                rustls::pki_types::ServerName::IpAddress(ip) => {
                    ("IP address", std::net::IpAddr::from(*ip).to_string())
                }
                other => ("Hostname", format!("{other:?}")),
            };
            format!("{kind} mismatch, certificate is not valid for '{host}'.")
        }
        rustls::Error::InvalidCertificate(CertificateError::NotValidForName) => {
            "Hostname mismatch, certificate is not valid for the host.".to_string()
        }
        rustls::Error::InvalidCertificate(other) => format!("{other:?}"),
        rustls::Error::InvalidMessage(_) => {
            return "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:992)".to_string()
        }
        other => return format!("[SSL] {other} (_ssl.c:992)"),
    };
    format!("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {reason} (_ssl.c:992)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::pem::PemObject;

    fn certificate(pem: &str) -> rustls::pki_types::CertificateDer<'static> {
        rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
    }

    fn name(host: &str) -> rustls::pki_types::ServerName<'static> {
        rustls::pki_types::ServerName::try_from(host.to_string()).unwrap()
    }

    const CN_ONLY: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/tls/cn-only.pem"
    ));
    const CN_WILDCARD: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/tls/cn-wildcard.pem"
    ));
    const SAN_OTHER: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/tls/san-other.pem"
    ));

    #[test]
    fn cn_matches_without_san() {
        let cert = certificate(CN_ONLY);
        assert!(verify_name(&cert, &name("localhost")).is_ok());
        assert!(verify_name(&cert, &name("LOCALHOST")).is_ok());
        assert!(verify_name(&cert, &name("other.example")).is_err());
    }

    #[test]
    fn cn_ignored_with_dns_san() {
        let cert = certificate(SAN_OTHER);
        assert!(verify_name(&cert, &name("localhost")).is_err());
        assert!(verify_name(&cert, &name("other.example")).is_ok());
    }

    #[test]
    fn cn_wildcard_one_label() {
        let cert = certificate(CN_WILDCARD);
        assert!(verify_name(&cert, &name("a.localtest.me")).is_ok());
        assert!(verify_name(&cert, &name("localtest.me")).is_err());
        assert!(verify_name(&cert, &name("a.b.localtest.me")).is_err());
    }

    #[test]
    fn wildcard_rules_like_openssl() {
        assert!(openssl_host_match("*.example.com", "www.example.com"));
        assert!(!openssl_host_match("*.com", "example.com"));
        assert!(!openssl_host_match("w*.example.com", "www.example.com"));
        assert!(openssl_host_match("Host.Example", "host.example"));
    }
}
