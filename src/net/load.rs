//! The load lane: the request path of a measured load (the `latency` check).
//!
//! A load sends one request thousands of times. Sending each through
//! [`CheckNet::send`] would redo, per request, decisions that cannot change
//! within a load (the scope of one fixed URL, the header set) and pay for a
//! general pooled client built for redirects and varied requests. A lane makes
//! those decisions once, keeps one HTTP/1.1 connection per worker, and still
//! takes, on every request, what makes the client safe to point at production:
//! one unit of the check's allowance, the global rate cap, host pauses from
//! `Retry-After` and back-off, cancellation, the body cap and a journal entry.
//! Redirects are not followed: a load measures the URL it was given.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};

use super::journal::JournalEntry;
use super::scope::url_host;
use super::{CheckNet, HttpRequest, NetError};

/// One request, prepared once, ready to be sent many times.
pub struct LoadLane {
    net: CheckNet,
    method: http::Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
    host: String,
    port: u16,
    /// The server name to verify, for `https` URLs.
    tls_name: Option<ServerName<'static>>,
    timeout: Duration,
    /// Journal fields shared by every entry of the lane.
    check: Arc<str>,
    method_text: Arc<str>,
    url_text: Arc<str>,
}

/// A worker's connection of a lane: opened on first use, reopened after an
/// error or when the server closes it.
#[derive(Default)]
pub struct LaneConnection {
    sender: Option<SendRequest<Full<Bytes>>>,
}

/// What one lane request produced (the body is counted, not kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaneAnswer {
    pub status: u16,
    pub bytes: u64,
    pub truncated: bool,
    /// When the request left, after the rate cap and host pauses: the start
    /// of the server's time, which the closed model measures.
    pub sent_at: Instant,
}

impl CheckNet {
    /// Prepares `req` for a load. Refuses (and journals the refusal) when the
    /// URL is outside the scope; nothing is sent until [`LoadLane::send`].
    pub fn load_lane(&self, req: &HttpRequest) -> Result<LoadLane, NetError> {
        let url_text = req.url.to_string();
        if !self.scope().allows_url(&req.url) {
            // Journals the refusal and returns the out-of-scope error.
            self.admit("http", req.method.as_str(), &url_text, false)?;
        }
        let host = url_host(&req.url).unwrap_or_default();
        let port = req.url.port_or_known_default().unwrap_or(80);
        let https = req.url.scheme() == "https";
        let tls_name = if https {
            let name = ServerName::try_from(host.trim_matches(['[', ']']).to_string())
                .map_err(|e| NetError::Tls(format!("`{host}` is not a valid server name: {e}")))?;
            Some(name)
        } else {
            None
        };

        let mut path = req.url.path().to_string();
        if let Some(q) = req.url.query() {
            path.push('?');
            path.push_str(q);
        }
        let uri: Uri = path
            .parse()
            .map_err(|e| NetError::Other(format!("cannot send `{url_text}`: {e}")))?;
        let headers = self.lane_headers(req, https)?;

        Ok(LoadLane {
            net: self.clone(),
            method: req.method.clone(),
            uri,
            headers,
            body: req.body.clone().unwrap_or_default(),
            host,
            port,
            tls_name,
            timeout: req.timeout.unwrap_or(self.net.settings.timeout),
            check: self.check.clone(),
            method_text: Arc::from(req.method.as_str()),
            url_text: Arc::from(url_text.as_str()),
        })
    }

    /// The header set of every lane request: `Host`, the profile's
    /// `User-Agent`, the profile headers (over HTTPS only: they carry
    /// secrets), then the request's own headers.
    fn lane_headers(&self, req: &HttpRequest, https: bool) -> Result<HeaderMap, NetError> {
        let bad = |name: &str| NetError::Other(format!("header `{name}` is not valid in HTTP"));
        let mut headers = HeaderMap::new();
        let authority = match req.url.port() {
            Some(p) => format!("{}:{p}", req.url.host_str().unwrap_or_default()),
            None => req.url.host_str().unwrap_or_default().to_string(),
        };
        let host = HeaderValue::from_str(&authority).map_err(|_| bad("host"))?;
        headers.insert(http::header::HOST, host);
        let agent =
            HeaderValue::from_str(&self.net.settings.user_agent).map_err(|_| bad("user-agent"))?;
        headers.insert(http::header::USER_AGENT, agent);
        let mut add = |name: &str, value: &str| -> Result<(), NetError> {
            let n = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad(name))?;
            let v = HeaderValue::from_str(value).map_err(|_| bad(name))?;
            headers.insert(n, v);
            Ok(())
        };
        if https {
            for (name, secret) in &self.net.settings.headers {
                add(name, secret.expose())?;
            }
        }
        for (name, value) in &req.headers {
            add(name, value)?;
        }
        if let Some(body) = &req.body {
            headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        }
        Ok(headers)
    }
}

/// Why a lane request was not sent although admitted.
const PAST_DEADLINE: &str = "not sent: the rate cap or a host pause would delay it past the \
                             check's deadline";

impl LoadLane {
    /// Sends the lane's request once on `conn`, under the same rules as every
    /// request of the client, and gives up at `give_up_at` (the check's
    /// deadline). The latency a caller measures around this call includes
    /// waiting for the rate cap and host pauses, as a user would wait.
    ///
    /// Cancellation is checked when the request is admitted; a caller races
    /// its workers (not each request: that costs a waker registration per
    /// request) against the check's cancellation and drops them when it fires.
    pub async fn send(
        &self,
        conn: &mut LaneConnection,
        give_up_at: Instant,
    ) -> Result<LaneAnswer, NetError> {
        self.net
            .admit("http", &self.method_text, &self.url_text, true)?;
        let net = &self.net.net;
        let pause = net.host_pause(&self.host);
        let Ok(at_ms) = net.pace_until(pause, Some(give_up_at)).await else {
            net.journal.record(JournalEntry {
                refused: Some(PAST_DEADLINE.to_string()),
                ..self.entry(net.journal.elapsed_ms())
            });
            return Err(NetError::Other(PAST_DEADLINE.into()));
        };
        let started = Instant::now();
        let deadline = (started + self.timeout).min(give_up_at);
        let result =
            match tokio::time::timeout_at(deadline.into(), self.exchange(conn, started)).await {
                Ok(r) => r,
                Err(_) if deadline < started + self.timeout => Err(NetError::Other(
                    "not answered before the check's deadline".into(),
                )),
                Err(_) => Err(NetError::Timeout(self.timeout.as_millis() as u64)),
            };
        let elapsed = started.elapsed();
        if result.is_err() {
            // The connection may be mid-response: never reuse it.
            conn.sender = None;
        }

        let (status, retry, bytes, truncated, error) = match &result {
            Ok((answer, retry)) => (
                Some(answer.status),
                *retry,
                answer.bytes,
                answer.truncated,
                None,
            ),
            Err(e) => (None, None, 0, false, Some(e.to_string())),
        };
        // A lane request is never cancelled midway (its caller drops it), so
        // every outcome counts for the host's health.
        net.note_outcome(&self.host, status, retry);
        net.journal.record(JournalEntry {
            status,
            ms: elapsed.as_millis() as u64,
            bytes,
            truncated,
            error,
            ..self.entry(at_ms)
        });
        result.map(|(answer, _)| answer)
    }

    /// The journal entry of one lane request, before its outcome is known.
    fn entry(&self, at_ms: u64) -> JournalEntry {
        JournalEntry {
            seq: 0,
            at_ms,
            check: self.check.clone(),
            kind: "http",
            method: self.method_text.clone(),
            url: self.url_text.clone(),
            status: None,
            ms: 0,
            bytes: 0,
            truncated: false,
            refused: None,
            error: None,
        }
    }

    /// Connects when needed, sends, and reads the body up to the cap.
    async fn exchange(
        &self,
        conn: &mut LaneConnection,
        sent_at: Instant,
    ) -> Result<(LaneAnswer, Option<Duration>), NetError> {
        let ready = match conn.sender.as_mut() {
            Some(s) => s.ready().await.is_ok(),
            None => false,
        };
        if !ready {
            conn.sender = Some(self.connect().await?);
        }
        let Some(sender) = conn.sender.as_mut() else {
            return Err(NetError::Connect("no connection".into()));
        };

        let mut request = Request::new(Full::new(self.body.clone()));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        let response = sender.send_request(request).await.map_err(hyper_error)?;
        let status = response.status().as_u16();
        let retry = super::http::retry_after(response.headers());

        let cap = self.net.net.settings.max_body_bytes as u64;
        let mut body = response.into_body();
        let mut bytes = 0u64;
        let mut truncated = false;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(hyper_error)?;
            if let Some(data) = frame.data_ref() {
                bytes += data.len() as u64;
                if bytes > cap {
                    bytes = cap;
                    truncated = true;
                    break;
                }
            }
        }
        if truncated {
            // The rest of the body is still on the wire.
            conn.sender = None;
        }
        let answer = LaneAnswer {
            status,
            bytes,
            truncated,
            sent_at,
        };
        Ok((answer, retry))
    }

    /// Opens a connection (TCP, then TLS for `https`) and starts its driver.
    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, NetError> {
        let tcp = self.net.open(&self.host, self.port).await?;
        let _ = tcp.set_nodelay(true);
        match &self.tls_name {
            None => handshake(tcp).await,
            Some(name) => {
                let connector = tokio_rustls::TlsConnector::from(self.net.net.lane_tls());
                let stream = connector
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|e| NetError::Tls(e.to_string()))?;
                handshake(stream).await
            }
        }
    }
}

async fn handshake<S>(stream: S) -> Result<SendRequest<Full<Bytes>>, NetError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(hyper_error)?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::trace!(error = %e, "load connection closed");
        }
    });
    Ok(sender)
}

fn hyper_error(e: hyper::Error) -> NetError {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    NetError::Other(text)
}
