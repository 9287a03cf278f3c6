//! The one egress outside the scope (DESIGN.md): the webhook the profile
//! names for `readiness watch` alerts.
//!
//! It has its own tiny client that can only ever POST to that one configured
//! URL: no redirects are followed, bodies pass through the redactor before
//! they leave, and every post is journaled (with the URL redacted, since
//! webhook URLs carry tokens).

use std::sync::Arc;
use std::time::{Duration, Instant};

use url::Url;

use super::journal::{Journal, JournalEntry};
use crate::profile::Secret;
use crate::redact::Redactor;

/// How long one alert post may take.
const POST_TIMEOUT: Duration = Duration::from_secs(10);

/// A client bound to one webhook URL.
pub struct Webhook {
    url: Url,
    client: reqwest::Client,
    redactor: Redactor,
    journal: Arc<Journal>,
}

impl Webhook {
    /// Binds a client to `url`; `ca_file` adds a CA to the system roots.
    pub fn new(
        url: &Secret,
        ca_file: Option<&std::path::Path>,
        redactor: Redactor,
        journal: Arc<Journal>,
    ) -> Result<Webhook, String> {
        redactor.register(url.expose());
        let parsed = Url::parse(url.expose().trim())
            .map_err(|e| format!("the webhook is not a URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err("the webhook must be an http(s) URL".into());
        }
        let roots = super::tls::root_store(ca_file)?;
        let tls = super::tls::verifying_config(roots)?;
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(POST_TIMEOUT)
            .no_proxy()
            .user_agent(crate::profile::DEFAULT_USER_AGENT)
            .build()
            .map_err(|e| format!("cannot build the webhook client: {e}"))?;
        Ok(Webhook {
            url: parsed,
            client,
            redactor,
            journal,
        })
    }

    /// Posts one JSON alert (redacted) and returns the status code.
    pub async fn post(&self, payload: &serde_json::Value) -> Result<u16, String> {
        let body = self.redactor.redact(&payload.to_string());
        let at_ms = self.journal.elapsed_ms();
        let started = Instant::now();
        let result = self
            .client
            .post(self.url.clone())
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await;
        let (status, error) = match &result {
            Ok(r) => (Some(r.status().as_u16()), None),
            Err(e) => (None, Some(self.redactor.redact(&e.to_string()))),
        };
        self.journal.record(JournalEntry {
            seq: 0,
            at_ms,
            check: "watch".into(),
            kind: "webhook",
            method: "POST".into(),
            url: self.url.as_str().into(),
            status,
            ms: started.elapsed().as_millis() as u64,
            bytes: body.len() as u64,
            truncated: false,
            refused: None,
            error: error.clone(),
        });
        match (status, error) {
            (Some(s), _) => Ok(s),
            (None, e) => Err(e.unwrap_or_default()),
        }
    }
}
