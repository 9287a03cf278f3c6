//! The only way out of the process: a scoped, budgeted, rate-capped client.
//!
//! Every HTTP request, TLS handshake and raw TCP probe goes through a
//! [`CheckNet`], the per-check handle of the shared [`Net`]. Before a socket is
//! opened the URL or host is checked against the profile's scope and one unit
//! of the check's allowance is taken; the global rate cap is waited for; then
//! the request is sent, its body capped, and a redacted journal entry written.
//! Redirects are followed here, hop by hop, under the same rules.

pub mod budget;
pub mod dns;
pub mod http;
pub mod journal;
pub mod legacy_tls;
pub mod load;
pub mod probe;
pub mod scope;
pub mod tls;
pub mod webhook;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::RootCertStore;
use tokio_util::sync::CancellationToken;

use crate::profile::{Profile, Secret};
use crate::redact::Redactor;
use budget::{Allowance, Budget};
use dns::HostResolver;
use journal::{Journal, JournalEntry};
use scope::Scope;

pub use http::{Chain, ChainStop, Hop, HttpRequest, HttpResponse};
pub use tls::TlsInfo;

/// Why a request was not answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    #[error("refused: `{0}` is outside the profile's scope")]
    OutOfScope(String),
    #[error("refused: the check's request budget is spent")]
    Budget,
    #[error("timed out after {0} ms")]
    Timeout(u64),
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("TLS failed: {0}")]
    Tls(String),
    #[error("{0}")]
    Other(String),
    #[error("cancelled")]
    Cancelled,
}

/// Settings of the shared client, taken from the profile.
#[derive(Debug, Clone)]
pub struct NetSettings {
    pub scope: Scope,
    pub max_requests: u64,
    pub max_rps: f64,
    pub timeout: Duration,
    pub user_agent: String,
    pub max_body_bytes: usize,
    pub headers: Vec<(String, Secret)>,
}

impl NetSettings {
    pub fn from_profile(p: &Profile) -> NetSettings {
        NetSettings {
            scope: p.target.scope.clone(),
            max_requests: p.target.max_requests,
            max_rps: p.target.max_rps,
            timeout: p.target.timeout,
            user_agent: p.target.user_agent.clone(),
            max_body_bytes: p.target.max_body_bytes,
            headers: p.target.headers.clone(),
        }
    }
}

/// Health of one host, for back-off.
#[derive(Debug, Default, Clone)]
struct HostHealth {
    consecutive_failures: u32,
    pause_until: Option<Instant>,
}

/// The shared client state of one run.
pub struct Net {
    pub settings: NetSettings,
    pub budget: Budget,
    pub journal: Journal,
    pub redactor: Redactor,
    pub resolver: HostResolver,
    roots: Arc<RootCertStore>,
    client: reqwest::Client,
    /// The verifying TLS settings of load lanes (HTTP/1.1 only).
    lane_tls: Arc<rustls::ClientConfig>,
    /// The next free send slot, in nanoseconds since the run started.
    next_slot: AtomicU64,
    health: Mutex<HashMap<String, HostHealth>>,
    /// Set once any host has failed or been paused: until then the health map
    /// is not locked on every request.
    health_touched: AtomicBool,
    /// Start times of the requests of the last second (see `Net::pace`).
    window: Mutex<VecDeque<Instant>>,
    memo: Mutex<HashMap<String, Memo>>,
}

/// A value computed once per run and shared by every check that asks for it
/// by the same key (an identity's login, for example).
pub type Memo = Arc<tokio::sync::OnceCell<Arc<dyn std::any::Any + Send + Sync>>>;

impl Net {
    /// Builds the shared client from the profile.
    pub fn new(profile: &Profile, redactor: Redactor, start: Instant) -> Result<Arc<Net>, String> {
        let settings = NetSettings::from_profile(profile);
        let roots = tls::root_store(profile.target.ca_file.as_deref())?;
        let dns = dns::build_resolver(&profile.dns)?;
        let resolver = HostResolver::new(profile.target.resolve.clone(), dns);
        Net::build(settings, roots, resolver, redactor, start)
    }

    /// Builds the shared client from parts (used by tests and the demo).
    pub fn build(
        settings: NetSettings,
        roots: RootCertStore,
        resolver: HostResolver,
        redactor: Redactor,
        start: Instant,
    ) -> Result<Arc<Net>, String> {
        let tls = tls::verifying_config(roots.clone())?;
        let mut lane_tls = tls.clone();
        lane_tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(resolver.clone()))
            .connect_timeout(settings.timeout)
            .timeout(settings.timeout)
            .user_agent(settings.user_agent.clone())
            .no_proxy()
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        for (_, secret) in &settings.headers {
            redactor.register(secret.expose());
        }
        Ok(Arc::new(Net {
            budget: Budget::new(settings.max_requests),
            journal: Journal::new(start),
            settings,
            redactor,
            resolver,
            roots: Arc::new(roots),
            client,
            lane_tls: Arc::new(lane_tls),
            next_slot: AtomicU64::new(0),
            health: Mutex::new(HashMap::new()),
            health_touched: AtomicBool::new(false),
            window: Mutex::new(VecDeque::new()),
            memo: Mutex::new(HashMap::new()),
        }))
    }

    /// A handle for one check with its allowance.
    pub fn for_check(
        self: &Arc<Net>,
        check: &str,
        allowance: Allowance,
        cancel: CancellationToken,
    ) -> CheckNet {
        // Checking the token locks it; a watcher mirrors it into a flag that
        // every request reads instead (the token is still read when no
        // runtime runs the watcher).
        let cancelled = Arc::new(AtomicBool::new(false));
        let watched = match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                let (token, flag) = (cancel.clone(), cancelled.clone());
                handle.spawn(async move {
                    token.cancelled().await;
                    flag.store(true, Ordering::Release);
                });
                true
            }
            Err(_) => false,
        };
        CheckNet {
            cancelled,
            watched,
            net: self.clone(),
            check: Arc::from(check),
            allowance: Arc::new(allowance),
            cancel,
        }
    }

    /// The run-wide cell for `key`: the first check to fill it sends the
    /// requests (from its own budget); later ones reuse the value.
    pub fn memo_cell(&self, key: &str) -> Memo {
        let mut memo = match self.memo.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        memo.entry(key.to_string()).or_default().clone()
    }

    pub fn lane_tls(&self) -> Arc<rustls::ClientConfig> {
        self.lane_tls.clone()
    }

    pub fn roots(&self) -> Arc<RootCertStore> {
        self.roots.clone()
    }

    /// Waits for the next slot under the global rate cap.
    /// Lock-free: each request claims the next slot with one atomic update.
    ///
    /// A request whose slot is at most [`PACE_SLACK_NS`] away starts at once:
    /// the timer cannot sleep less than a millisecond, and sleeping a whole
    /// millisecond for a 10 µs gap would cap the rate far below `max_rps`.
    /// The 1 % headroom of the interval pays for the slack: slots are spaced
    /// 1.01/max_rps apart, so the starts within any one second come from at
    /// most 1.002 s of slots, fewer than max_rps.
    ///
    /// Slots only space requests out; timers wake late on a busy machine, and
    /// late wake-ups can bunch requests together. The hard guarantee is the
    /// start window: a request starts only when fewer than `max_rps` requests
    /// started in the second before it. Returns the journal time (ms) of the
    /// start.
    async fn pace(&self) -> u64 {
        match self.pace_until(None, None).await {
            Ok(at_ms) => at_ms,
            Err(()) => self.journal.elapsed_ms(),
        }
    }

    /// Waits until `not_before` (a host pause) and for a start under the rate
    /// cap; gives up, without starting, when that would be at or after
    /// `give_up_at`. Returns the journal time (ms) of the start.
    async fn pace_until(
        &self,
        not_before: Option<Instant>,
        give_up_at: Option<Instant>,
    ) -> Result<u64, ()> {
        let mut wait = match (not_before, self.claim_slot()) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        loop {
            if let Some(until) = wait {
                if give_up_at.is_some_and(|g| until >= g) {
                    return Err(());
                }
                tokio::time::sleep_until(until.into()).await;
            }
            match self.window_start() {
                Ok(at) => return Ok((at - self.journal.start()).as_millis() as u64),
                Err(free) => wait = Some(free),
            }
        }
    }

    /// Records a start now if fewer than `max_rps` requests started within
    /// the last second; otherwise says when the oldest of them leaves it.
    fn window_start(&self) -> Result<Instant, Instant> {
        let mut window = match self.window.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let now = Instant::now();
        let cap = (self.settings.max_rps.floor() as usize).max(1);
        while window.len() >= cap {
            let Some(&oldest) = window.front() else { break };
            let free = oldest + Duration::from_secs(1);
            if now < free {
                return Err(free);
            }
            window.pop_front();
        }
        window.push_back(now);
        Ok(now)
    }

    /// Claims the next send slot; `Some(instant)` when the request must wait
    /// for it (see [`Net::pace`]).
    fn claim_slot(&self) -> Option<Instant> {
        let interval = (1.01e9 / self.settings.max_rps) as u64;
        let start = self.journal.start();
        let now = start.elapsed().as_nanos() as u64;
        let mut slot = now;
        let _ = self
            .next_slot
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |next| {
                slot = next.max(now);
                Some(slot + interval)
            });
        (slot > now + PACE_SLACK_NS).then(|| start + Duration::from_nanos(slot))
    }

    /// Until when the host is paused by `Retry-After` or back-off, if it is.
    fn host_pause(&self, host: &str) -> Option<Instant> {
        if !self.health_touched.load(Ordering::Acquire) {
            return None;
        }
        let health = match self.health.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        health
            .get(host)
            .and_then(|h| h.pause_until)
            .filter(|until| *until > Instant::now())
    }

    /// Waits while the host is paused by `Retry-After` or back-off.
    async fn wait_for_host(&self, host: &str) {
        let pause = self.host_pause(host);
        if let Some(until) = pause
            && until > Instant::now()
        {
            tracing::debug!(
                host,
                wait_ms = (until - Instant::now()).as_millis() as u64,
                "pausing"
            );
            tokio::time::sleep_until(until.into()).await;
        }
    }

    /// Updates a host's health after a request: 429 pauses it for its
    /// `Retry-After`, and gateway errors or timeouts back off exponentially.
    fn note_outcome(&self, host: &str, status: Option<u16>, retry_after: Option<Duration>) {
        let failed = matches!(status, Some(429 | 502..=504) | None);
        if !failed && !self.health_touched.load(Ordering::Acquire) {
            // Healthy so far and healthy now: nothing to record.
            return;
        }
        if failed {
            self.health_touched.store(true, Ordering::Release);
        }
        let mut health = match self.health.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if !health.contains_key(host) {
            health.insert(host.to_string(), HostHealth::default());
        }
        let Some(h) = health.get_mut(host) else {
            return;
        };
        let now = Instant::now();
        match status {
            Some(429) => {
                let wait = retry_after
                    .unwrap_or(Duration::from_secs(1))
                    .min(MAX_RETRY_AFTER);
                h.pause_until = Some(now + wait);
            }
            Some(502..=504) | None => {
                h.consecutive_failures += 1;
                if h.consecutive_failures >= 3 {
                    let exp = (h.consecutive_failures - 3).min(5);
                    let wait = Duration::from_millis(250 * (1 << exp)).min(MAX_BACKOFF);
                    h.pause_until = Some(now + wait);
                }
            }
            _ => {
                h.consecutive_failures = 0;
            }
        }
    }
}

/// How early a request may start before its rate slot (see `Net::pace`).
const PACE_SLACK_NS: u64 = 2_000_000;

/// The longest a `Retry-After` may pause a host.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// The longest back-off after repeated failures.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// One check's view of the network.
#[derive(Clone)]
pub struct CheckNet {
    net: Arc<Net>,
    check: Arc<str>,
    /// Mirrors `cancel` when `watched` (see `Net::for_check`).
    cancelled: Arc<AtomicBool>,
    watched: bool,
    allowance: Arc<Allowance>,
    cancel: CancellationToken,
}

impl CheckNet {
    pub fn net(&self) -> &Arc<Net> {
        &self.net
    }

    pub fn check(&self) -> &str {
        &self.check
    }

    pub fn redactor(&self) -> &Redactor {
        &self.net.redactor
    }

    pub fn requests_used(&self) -> u64 {
        self.allowance.used()
    }

    pub fn scope(&self) -> &Scope {
        &self.net.settings.scope
    }

    /// Checks scope and budget, journaling a refusal. Called before any socket.
    fn admit(
        &self,
        kind: &'static str,
        method: &str,
        target: &str,
        in_scope: bool,
    ) -> Result<(), NetError> {
        let cancelled = if self.watched {
            self.cancelled.load(Ordering::Acquire)
        } else {
            self.cancel.is_cancelled()
        };
        let refusal = if cancelled {
            Some((NetError::Cancelled, "cancelled".to_string()))
        } else if !in_scope {
            Some((
                NetError::OutOfScope(target.to_string()),
                "outside scope".to_string(),
            ))
        } else if !self.allowance.take() {
            Some((NetError::Budget, "budget spent".to_string()))
        } else {
            None
        };
        match refusal {
            None => Ok(()),
            Some((err, why)) => {
                tracing::debug!(check = %self.check, target, reason = %why, "request refused");
                self.net.journal.record(JournalEntry {
                    seq: 0,
                    at_ms: self.net.journal.elapsed_ms(),
                    check: self.check.clone(),
                    kind,
                    method: method.into(),
                    url: target.into(),
                    status: None,
                    ms: 0,
                    bytes: 0,
                    truncated: false,
                    refused: Some(why),
                    error: None,
                });
                Err(err)
            }
        }
    }
}
