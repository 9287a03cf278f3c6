//! `[checks.latency]`: which endpoints are loaded, how (open model at a
//! constant arrival rate, or a fixed number of concurrent workers), and the
//! gates (p95 budget, error rate).

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::profile::access::Endpoint;
use crate::profile::check_config::ConfigError;
use crate::util::parse_duration;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLatency {
    pub enabled: Option<bool>,
    /// `[[endpoint]]` names, or paths (`/healthz`) fetched with GET.
    #[serde(default)]
    pub endpoints: Vec<Spanned<String>>,
    /// `open` (constant arrival rate) or `closed` (fixed concurrency).
    pub mode: Option<Spanned<String>>,
    /// Arrivals per second in the open model.
    pub rate: Option<Spanned<f64>>,
    /// How long the measured load lasts.
    pub duration: Option<Spanned<String>>,
    /// Closed model: workers; open model: most requests in flight.
    pub concurrency: Option<Spanned<u32>>,
    /// Closed model: most requests per endpoint.
    pub requests: Option<Spanned<u64>>,
    /// Unmeasured requests sent first, per endpoint.
    pub warmup: Option<u64>,
    pub p95_budget: Option<Spanned<String>>,
    /// Largest acceptable share of failed requests (0.01 = 1 %).
    pub max_error_rate: Option<Spanned<f64>>,
}

/// What one subject loads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LatencyTarget {
    Endpoint(String),
    Path(String),
}

impl LatencyTarget {
    pub fn subject(&self) -> &str {
        match self {
            LatencyTarget::Endpoint(n) | LatencyTarget::Path(n) => n,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LoadModel {
    /// Constant arrival rate: request i is due at `start + i / rate`.
    Open { rate: f64 },
    /// `concurrency` workers, each sending as soon as its last answer came.
    Closed { requests: u64 },
}

#[derive(Debug, Clone)]
pub struct LatencySettings {
    pub enabled: bool,
    pub targets: Vec<LatencyTarget>,
    pub model: LoadModel,
    pub duration: Duration,
    pub concurrency: u32,
    pub warmup: u64,
    pub p95_budget: Duration,
    pub max_error_rate: f64,
}

impl Default for LatencySettings {
    fn default() -> Self {
        LatencySettings {
            enabled: true,
            targets: Vec::new(),
            model: LoadModel::Open { rate: DEFAULT_RATE },
            duration: DEFAULT_DURATION,
            concurrency: DEFAULT_CONCURRENCY,
            warmup: DEFAULT_WARMUP,
            p95_budget: DEFAULT_BUDGET,
            max_error_rate: DEFAULT_MAX_ERROR_RATE,
        }
    }
}

pub const DEFAULT_RATE: f64 = 20.0;
pub const DEFAULT_DURATION: Duration = Duration::from_secs(2);
pub const DEFAULT_CONCURRENCY: u32 = 8;
pub const DEFAULT_CLOSED_REQUESTS: u64 = 200;
pub const DEFAULT_WARMUP: u64 = 3;
pub const DEFAULT_BUDGET: Duration = Duration::from_millis(500);
pub const DEFAULT_MAX_ERROR_RATE: f64 = 0.01;
/// Most measured requests one endpoint may plan.
const MAX_PLANNED: u64 = 1_000_000;

impl LatencySettings {
    /// Measured requests per endpoint (an upper bound in the closed model).
    pub fn measured_requests(&self) -> u64 {
        match self.model {
            LoadModel::Open { rate } => (rate * self.duration.as_secs_f64()).ceil() as u64,
            LoadModel::Closed { requests } => requests,
        }
    }
}

/// Resolves the raw section; endpoint names must exist, and the open-model
/// rate must fit under `[target] max_rps` (the shared cap would otherwise
/// delay sends and the auditor would measure itself).
pub fn resolve(
    raw: Option<RawLatency>,
    endpoints: &[Endpoint],
    max_rps: f64,
) -> Result<LatencySettings, ConfigError> {
    let Some(raw) = raw else {
        return Ok(LatencySettings::default());
    };
    let key = |k: &str| format!("[checks.latency] {k}");
    let mut targets = Vec::new();
    for e in &raw.endpoints {
        let text = e.get_ref().trim();
        let target = if text.starts_with('/') {
            LatencyTarget::Path(text.to_string())
        } else if endpoints.iter().any(|ep| ep.name == text) {
            LatencyTarget::Endpoint(text.to_string())
        } else {
            return Err(ConfigError::new(
                e.span(),
                &key("endpoints"),
                format!("no [[endpoint]] is named `{text}`; give an endpoint name or a /path"),
            ));
        };
        if !targets.contains(&target) {
            targets.push(target);
        }
    }
    let duration = match &raw.duration {
        None => DEFAULT_DURATION,
        Some(d) => {
            let v = parse_duration(d.get_ref())
                .map_err(|m| ConfigError::new(d.span(), &key("duration"), m))?;
            if v.is_zero() {
                return Err(ConfigError::new(
                    d.span(),
                    &key("duration"),
                    "must be above zero",
                ));
            }
            v
        }
    };
    let p95_budget = match &raw.p95_budget {
        None => DEFAULT_BUDGET,
        Some(d) => parse_duration(d.get_ref())
            .map_err(|m| ConfigError::new(d.span(), &key("p95_budget"), m))?,
    };
    let concurrency = match &raw.concurrency {
        None => DEFAULT_CONCURRENCY,
        Some(c) if (1..=1024).contains(c.get_ref()) => *c.get_ref(),
        Some(c) => {
            return Err(ConfigError::new(
                c.span(),
                &key("concurrency"),
                "must be between 1 and 1024",
            ));
        }
    };
    let max_error_rate = match &raw.max_error_rate {
        None => DEFAULT_MAX_ERROR_RATE,
        Some(r) if (0.0..=1.0).contains(r.get_ref()) => *r.get_ref(),
        Some(r) => {
            return Err(ConfigError::new(
                r.span(),
                &key("max_error_rate"),
                "is a share between 0 and 1 (0.01 = 1 %)",
            ));
        }
    };
    let mode = raw.mode.as_ref().map(|m| (m.get_ref().as_str(), m.span()));
    let model = match mode {
        None | Some(("open", _)) => {
            let rate = raw
                .rate
                .as_ref()
                .map(|r| *r.get_ref())
                .unwrap_or(DEFAULT_RATE);
            let span = raw.rate.as_ref().map(|r| r.span()).unwrap_or(0..0);
            if !(rate.is_finite() && rate > 0.0) {
                return Err(ConfigError::new(span, &key("rate"), "must be above zero"));
            }
            // The cap spaces requests 1.01/max_rps apart: a rate above
            // max_rps/1.01 would queue behind it and the tool would measure
            // its own waiting.
            let fits = max_rps / 1.01;
            if rate > fits {
                return Err(ConfigError::new(
                    span,
                    &key("rate"),
                    format!(
                        "{rate}/s does not fit under [target] max_rps = {max_rps} (at most \
                         {fits:.1}/s with the cap's 1 % headroom); raise max_rps or lower the \
                         rate (the cap would delay sends and distort the latencies)"
                    ),
                ));
            }
            LoadModel::Open { rate }
        }
        Some(("closed", _)) => LoadModel::Closed {
            requests: raw
                .requests
                .as_ref()
                .map(|r| *r.get_ref())
                .unwrap_or(DEFAULT_CLOSED_REQUESTS),
        },
        Some((other, span)) => {
            return Err(ConfigError::new(
                span,
                &key("mode"),
                format!("`{other}` is not `open` (constant arrival rate) or `closed`"),
            ));
        }
    };
    let settings = LatencySettings {
        enabled: raw.enabled.unwrap_or(true),
        targets,
        model,
        duration,
        concurrency,
        warmup: raw.warmup.unwrap_or(DEFAULT_WARMUP),
        p95_budget,
        max_error_rate,
    };
    if settings.measured_requests() == 0 || settings.measured_requests() > MAX_PLANNED {
        return Err(ConfigError::new(
            0..0,
            "[checks.latency]",
            format!(
                "the load plans {} requests per endpoint; it must be between 1 and {MAX_PLANNED}",
                settings.measured_requests()
            ),
        ));
    }
    Ok(settings)
}
