//! TLS details of a connection: negotiated version and cipher, the chain the
//! server sent, and whether that chain verifies for the host.
//!
//! The handshake accepts any certificate so that a broken chain can still be
//! described; verification is then done separately with the same roots the
//! HTTP client trusts, and its error becomes evidence.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

/// What one TLS handshake showed.
#[derive(Debug, Clone)]
pub struct TlsInfo {
    pub version: String,
    pub cipher: String,
    pub alpn: Option<String>,
    /// The chain as sent, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// `Ok` when the chain verifies for the host with the trusted roots.
    pub verification: Result<(), String>,
}

/// The crypto provider for the whole binary (DESIGN.md: one provider).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Root store: the system's trust store plus the profile's extra CA file.
pub fn root_store(ca_file: Option<&std::path::Path>) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        let _ = roots.add(cert);
    }
    if let Some(path) = ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| format!("cannot read [target] ca_file `{}`: {e}", path.display()))?;
        let mut added = 0;
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            let cert = cert.map_err(|e| {
                format!(
                    "[target] ca_file `{}` is not valid PEM: {e}",
                    path.display()
                )
            })?;
            roots
                .add(cert)
                .map_err(|e| format!("[target] ca_file `{}`: {e}", path.display()))?;
            added += 1;
        }
        if added == 0 {
            return Err(format!(
                "[target] ca_file `{}` holds no PEM certificate",
                path.display()
            ));
        }
    }
    Ok(roots)
}

/// A client config that verifies certificates normally (for HTTP requests).
pub fn verifying_config(roots: RootCertStore) -> Result<rustls::ClientConfig, String> {
    rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
}

/// A client config that records the chain without judging it (for probes).
pub fn capturing_config() -> Result<rustls::ClientConfig, String> {
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
        .with_no_client_auth())
}

/// Verifies a captured chain for `host` against `roots`.
pub fn verify_chain(
    roots: Arc<RootCertStore>,
    chain: &[CertificateDer<'static>],
    host: &str,
) -> Result<(), String> {
    let Some((leaf, intermediates)) = chain.split_first() else {
        return Err("the server sent no certificate".to_string());
    };
    let verifier = WebPkiServerVerifier::builder_with_provider(roots, provider())
        .build()
        .map_err(|e| format!("cannot build a verifier: {e}"))?;
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| format!("`{host}` is not a valid server name: {e}"))?;
    verifier
        .verify_server_cert(leaf, intermediates, &name, &[], UnixTime::now())
        .map(|_| ())
        .map_err(|e| describe_tls_error(&e))
}

/// Says a rustls certificate error in words a person can act on.
pub fn describe_tls_error(e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::Expired | C::ExpiredContext { .. } => "the certificate has expired".into(),
            C::NotValidYet | C::NotValidYetContext { .. } => {
                "the certificate is not valid yet".into()
            }
            C::UnknownIssuer => {
                "the chain does not lead to a trusted root (unknown issuer or missing intermediate)"
                    .into()
            }
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                "the certificate does not cover this host name".into()
            }
            C::BadSignature => "a signature in the chain does not verify".into(),
            C::Revoked => "the certificate is revoked".into(),
            other => format!("invalid certificate: {other:?}"),
        },
        other => other.to_string(),
    }
}

#[derive(Debug)]
struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
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
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
