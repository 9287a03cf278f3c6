//! Raw TCP and TLS probes under the same scope, budget and journal as HTTP.

use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

use super::journal::JournalEntry;
use super::tls::{self, TlsInfo};
use super::{CheckNet, NetError};

impl CheckNet {
    /// Opens a TCP connection to `host:port` if the scope allows it.
    pub async fn connect_tcp(
        &self,
        host: &str,
        port: u16,
        purpose: &str,
    ) -> Result<TcpStream, NetError> {
        let target = format!("tcp://{}:{port}", bracket(host));
        self.admit(
            "tcp",
            purpose,
            &target,
            self.scope().allows_host(host, port),
        )?;
        self.net.wait_for_host(host).await;
        let at_ms = self.net.pace().await;
        let started = Instant::now();
        let timeout = self.net.settings.timeout;
        let result = tokio::select! {
            r = tokio::time::timeout(timeout, self.open(host, port)) => match r {
                Ok(r) => r,
                Err(_) => Err(NetError::Timeout(timeout.as_millis() as u64)),
            },
            _ = self.cancel.cancelled() => Err(NetError::Cancelled),
        };
        self.net.journal.record(JournalEntry {
            seq: 0,
            at_ms,
            check: self.check.clone(),
            kind: "tcp",
            method: purpose.into(),
            url: target.into(),
            status: None,
            ms: started.elapsed().as_millis() as u64,
            bytes: 0,
            truncated: false,
            refused: None,
            error: result.as_ref().err().map(|e| e.to_string()),
        });
        result
    }

    pub(super) async fn open(&self, host: &str, port: u16) -> Result<TcpStream, NetError> {
        let addrs = self
            .net
            .resolver
            .resolve(host, port)
            .await
            .map_err(NetError::Connect)?;
        let mut last = String::from("no address");
        for addr in addrs {
            match TcpStream::connect(addr).await {
                Ok(s) => return Ok(s),
                Err(e) => last = format!("{addr}: {e}"),
            }
        }
        Err(NetError::Connect(last))
    }

    /// Performs a TLS handshake with `host:port` and describes it.
    pub async fn tls_probe(&self, host: &str, port: u16) -> Result<TlsInfo, NetError> {
        let stream = self.connect_tcp(host, port, "TLS").await?;
        let config = tls::capturing_config().map_err(NetError::Tls)?;
        let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
        let name = ServerName::try_from(host.trim_matches(['[', ']']).to_string())
            .map_err(|e| NetError::Tls(format!("`{host}` is not a valid server name: {e}")))?;
        let timeout = self.net.settings.timeout;
        let handshake = tokio::time::timeout(timeout, connector.connect(name, stream));
        let tls_stream = tokio::select! {
            r = handshake => match r {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => return Err(NetError::Tls(e.to_string())),
                Err(_) => return Err(NetError::Timeout(timeout.as_millis() as u64)),
            },
            _ = self.cancel.cancelled() => return Err(NetError::Cancelled),
        };
        let (_, conn) = tls_stream.get_ref();
        let version = conn
            .protocol_version()
            .map(|v| format!("{v:?}"))
            .unwrap_or_default();
        let cipher = conn
            .negotiated_cipher_suite()
            .map(|c| format!("{:?}", c.suite()))
            .unwrap_or_default();
        let alpn = conn
            .alpn_protocol()
            .map(|a| String::from_utf8_lossy(a).into_owned());
        let chain: Vec<_> = conn
            .peer_certificates()
            .map(|c| c.iter().map(|d| d.clone().into_owned()).collect())
            .unwrap_or_default();
        let verification =
            tls::verify_chain(self.net.roots(), &chain, host.trim_matches(['[', ']']));
        Ok(TlsInfo {
            version: pretty_version(&version),
            cipher,
            alpn,
            chain,
            verification,
        })
    }

    /// The request timeout of the profile.
    pub fn timeout(&self) -> Duration {
        self.net.settings.timeout
    }
}

fn bracket(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

fn pretty_version(debug: &str) -> String {
    match debug {
        "TLSv1_3" => "TLS 1.3".into(),
        "TLSv1_2" => "TLS 1.2".into(),
        other => other.to_string(),
    }
}
