//! HTTP requests and redirect chains through the scoped client.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use url::Url;

use super::journal::JournalEntry;
use super::scope::url_host;
use super::{CheckNet, NetError};

/// A request as a check describes it.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: http::Method,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub body: Option<Bytes>,
    /// Overrides the profile's request timeout.
    pub timeout: Option<Duration>,
}

impl HttpRequest {
    pub fn get(url: Url) -> HttpRequest {
        HttpRequest {
            method: http::Method::GET,
            url,
            headers: Vec::new(),
            body: None,
            timeout: None,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> HttpRequest {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

/// A response with its body read up to the cap.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub url: Url,
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The body was longer than the cap and was cut.
    pub truncated: bool,
    /// Time to the end of the (capped) body.
    pub elapsed: Duration,
}

impl HttpResponse {
    /// All values of a header, as text (invalid UTF-8 is replaced).
    pub fn header_values(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.header_values(name).into_iter().next()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn content_type(&self) -> String {
        self.header("content-type")
            .unwrap_or_default()
            .to_ascii_lowercase()
    }

    pub fn is_redirect(&self) -> bool {
        matches!(self.status, 301 | 302 | 303 | 307 | 308)
    }
}

/// One step of a redirect chain.
#[derive(Debug, Clone)]
pub struct Hop {
    pub url: Url,
    pub status: u16,
    pub location: Option<String>,
    /// The redirect response's headers (HSTS and cookies are set on redirects too).
    pub headers: HeaderMap,
}

/// Why following stopped before a final response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainStop {
    /// The next hop is outside the scope; it was reported, not fetched.
    OutOfScope(Url),
    /// The chain came back to a URL it had visited.
    Loop(Url),
    TooManyHops(usize),
    /// A redirect without a usable `Location`.
    BadLocation(String),
    Failed(NetError),
}

/// The result of following redirects.
#[derive(Debug, Clone)]
pub struct Chain {
    pub hops: Vec<Hop>,
    /// The last response received (a non-redirect when `stop` is `None`).
    pub last: Option<HttpResponse>,
    pub stop: Option<ChainStop>,
}

impl Chain {
    /// The chain in one line, for evidence: `http://a/ -301-> https://a/ -200`.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        for hop in &self.hops {
            out.push_str(&format!("{} -{}-> ", hop.url, hop.status));
        }
        match &self.stop {
            None => match &self.last {
                Some(r) => out.push_str(&format!("{} -{}", r.url, r.status)),
                None => {
                    if out.ends_with("-> ") {
                        out.truncate(out.len() - 3);
                    }
                }
            },
            Some(ChainStop::OutOfScope(u)) => {
                out.push_str(&format!("{u} (outside scope, not fetched)"))
            }
            Some(ChainStop::Loop(u)) => out.push_str(&format!("{u} (loop)")),
            Some(ChainStop::TooManyHops(n)) => out.push_str(&format!("(stopped after {n} hops)")),
            Some(ChainStop::BadLocation(l)) => out.push_str(&format!("(unusable Location `{l}`)")),
            Some(ChainStop::Failed(e)) => out.push_str(&format!("({e})")),
        }
        out
    }
}

pub(super) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .to_string();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(&value).ok()?;
    when.duration_since(std::time::SystemTime::now()).ok()
}

impl CheckNet {
    /// Sends one request (no redirect following).
    pub async fn send(&self, req: HttpRequest) -> Result<HttpResponse, NetError> {
        let url_text = req.url.to_string();
        let in_scope = self.scope().allows_url(&req.url);
        self.admit("http", req.method.as_str(), &url_text, in_scope)?;
        let host = url_host(&req.url).unwrap_or_default();

        self.net.wait_for_host(&host).await;
        let at_ms = self.net.pace().await;
        let started = Instant::now();
        let result = tokio::select! {
            r = self.perform(&req) => r,
            _ = self.cancel.cancelled() => Err(NetError::Cancelled),
        };
        let elapsed = started.elapsed();

        let (status, bytes, truncated, error) = match &result {
            Ok(r) => (Some(r.status), r.body.len() as u64, r.truncated, None),
            Err(e) => (None, 0, false, Some(e.to_string())),
        };
        let retry = result.as_ref().ok().and_then(|r| retry_after(&r.headers));
        if !matches!(result, Err(NetError::Cancelled)) {
            self.net.note_outcome(&host, status, retry);
        }
        tracing::debug!(
            check = %self.check, method = %req.method, url = %self.redactor().redact(&url_text),
            status = ?status, ms = elapsed.as_millis() as u64, "request"
        );
        self.net.journal.record(JournalEntry {
            seq: 0,
            at_ms,
            check: self.check.clone(),
            kind: "http",
            method: req.method.as_str().into(),
            url: url_text.into(),
            status,
            ms: elapsed.as_millis() as u64,
            bytes,
            truncated,
            refused: None,
            error,
        });
        result
    }

    async fn perform(&self, req: &HttpRequest) -> Result<HttpResponse, NetError> {
        let timeout = req.timeout.unwrap_or(self.net.settings.timeout);
        let mut builder = self
            .net
            .client
            .request(req.method.clone(), req.url.clone())
            .timeout(timeout);
        // Profile headers carry secrets: never over plain HTTP.
        if req.url.scheme() == "https" {
            for (name, secret) in &self.net.settings.headers {
                builder = builder.header(name.as_str(), secret.expose());
            }
        }
        for (name, value) in &req.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Some(body) = &req.body {
            builder = builder.body(body.clone());
        }
        let started = Instant::now();
        let deadline = started + timeout;
        let mut response = builder.send().await.map_err(|e| classify(&e, timeout))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let url = response.url().clone();

        let cap = self.net.settings.max_body_bytes;
        let mut body = BytesMut::new();
        let mut truncated = false;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let chunk = tokio::time::timeout(remaining, response.chunk()).await;
            match chunk {
                Err(_) => return Err(NetError::Timeout(timeout.as_millis() as u64)),
                Ok(Err(e)) => return Err(classify(&e, timeout)),
                Ok(Ok(None)) => break,
                Ok(Ok(Some(bytes))) => {
                    let room = cap.saturating_sub(body.len());
                    if bytes.len() > room {
                        body.extend_from_slice(&bytes[..room]);
                        truncated = true;
                        break;
                    }
                    body.extend_from_slice(&bytes);
                }
            }
        }
        Ok(HttpResponse {
            url,
            status,
            headers,
            body: body.freeze(),
            truncated,
            elapsed: started.elapsed(),
        })
    }

    /// Follows redirects from `req` for at most `max_hops` redirects. Every hop
    /// is checked against the scope; a hop outside it ends the chain unfetched.
    pub async fn follow(&self, req: HttpRequest, max_hops: usize) -> Chain {
        let mut hops = Vec::new();
        let mut visited = vec![req.url.clone()];
        let mut current = req;
        loop {
            if !self.scope().allows_url(&current.url) {
                let _ = self.admit("http", current.method.as_str(), current.url.as_str(), false);
                return Chain {
                    hops,
                    last: None,
                    stop: Some(ChainStop::OutOfScope(current.url)),
                };
            }
            let response = match self.send(current.clone()).await {
                Ok(r) => r,
                Err(e) => {
                    return Chain {
                        hops,
                        last: None,
                        stop: Some(ChainStop::Failed(e)),
                    };
                }
            };
            if !response.is_redirect() {
                return Chain {
                    hops,
                    last: Some(response),
                    stop: None,
                };
            }
            let location = response.header("location");
            hops.push(Hop {
                url: current.url.clone(),
                status: response.status,
                location: location.clone(),
                headers: response.headers.clone(),
            });
            let Some(location) = location else {
                return Chain {
                    hops,
                    last: Some(response),
                    stop: Some(ChainStop::BadLocation(String::new())),
                };
            };
            // RFC 9110 §10.2.2: a URI-reference resolved against the request URI.
            let next = match current.url.join(location.trim()) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => u,
                _ => {
                    return Chain {
                        hops,
                        last: Some(response),
                        stop: Some(ChainStop::BadLocation(location)),
                    };
                }
            };
            if visited.contains(&next) {
                return Chain {
                    hops,
                    last: Some(response),
                    stop: Some(ChainStop::Loop(next)),
                };
            }
            if hops.len() >= max_hops {
                return Chain {
                    hops,
                    last: Some(response),
                    stop: Some(ChainStop::TooManyHops(max_hops)),
                };
            }
            visited.push(next.clone());
            let method_to_get = response.status == 303
                || (matches!(response.status, 301 | 302) && current.method == http::Method::POST);
            if method_to_get {
                current.method = http::Method::GET;
                current.body = None;
            }
            current.url = next;
        }
    }
}

fn classify(e: &reqwest::Error, timeout: Duration) -> NetError {
    if e.is_timeout() {
        return NetError::Timeout(timeout.as_millis() as u64);
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    let lower = text.to_ascii_lowercase();
    if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
        NetError::Tls(text)
    } else if e.is_connect() {
        NetError::Connect(text)
    } else {
        NetError::Other(text)
    }
}
