//! `[checks.input]`: the write opt-in, the seed that fixes the mutation
//! order, the per-endpoint bound, test-data domain, the slowness factor, and
//! how the object a write created is read back (`[[checks.input.read_back]]`)
//! to see whether a privileged field was stored without being echoed.

use serde::Deserialize;
use toml::Spanned;

use crate::profile::access::Endpoint;
use crate::profile::check_config::ConfigError;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInput {
    pub enabled: Option<bool>,
    /// Second opt-in (with `[target] allow_writes`) for mutating endpoints.
    pub allow_writes: Option<bool>,
    /// Fixes the order of mutations and the test values; random when absent.
    pub seed: Option<u64>,
    /// Most mutation requests per endpoint.
    pub max_requests_per_endpoint: Option<Spanned<u64>>,
    /// Domain of the unique email addresses used as test data.
    pub email_domain: Option<String>,
    /// A response this many times slower than the baseline (and over 1 s) warns.
    pub slow_factor: Option<Spanned<f64>>,
    /// How the objects an onboarding endpoint writes are read back.
    #[serde(default)]
    pub read_back: Vec<RawReadBack>,
}

/// One `[[checks.input.read_back]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReadBack {
    /// The onboarding `[[endpoint]]` whose writes are read back.
    pub endpoint: Spanned<String>,
    /// The `[[endpoint]]` that reads the object; absent: the write's `Location` header.
    pub read: Option<Spanned<String>>,
    /// JSON pointer to the object's id in the write's response (default `/id`).
    pub id_pointer: Option<Spanned<String>>,
    /// The param of `read` (path, else query) that takes the id.
    pub id_param: Option<Spanned<String>>,
    /// JSON pointer to a bearer token in the write's response, sent on the read.
    pub token_pointer: Option<Spanned<String>>,
}

/// How the object one onboarding endpoint writes is read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadBack {
    /// The endpoint whose writes are read back.
    pub endpoint: String,
    /// The reading endpoint and the param its id goes in; `None`: `Location`.
    pub read: Option<ReadEndpoint>,
    /// A bearer token for the read, from the write's response.
    pub token_pointer: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadEndpoint {
    pub name: String,
    pub id_pointer: String,
    /// The id's param: a `{param}` of the read's path, or a query key.
    pub id_param: String,
    pub id_in_path: bool,
}

#[derive(Debug, Clone)]
pub struct InputSettings {
    pub enabled: bool,
    pub allow_writes: bool,
    pub seed: u64,
    /// The seed came from the profile (not drawn for this run).
    pub seed_given: bool,
    pub max_requests_per_endpoint: u64,
    pub email_domain: Option<String>,
    pub slow_factor: f64,
    /// Explicit read-backs; an endpoint without one is read back through
    /// the `Location` header of its answer when there is one.
    pub read_back: Vec<ReadBack>,
}

impl InputSettings {
    /// The read-back of an endpoint: its entry, else the `Location` header.
    pub fn read_back_of(&self, endpoint: &str) -> ReadBack {
        self.read_back
            .iter()
            .find(|r| r.endpoint == endpoint)
            .cloned()
            .unwrap_or_else(|| ReadBack {
                endpoint: endpoint.to_string(),
                read: None,
                token_pointer: None,
            })
    }
}

pub const DEFAULT_MAX_PER_ENDPOINT: u64 = 200;
pub const DEFAULT_SLOW_FACTOR: f64 = 10.0;

impl Default for InputSettings {
    fn default() -> Self {
        InputSettings {
            enabled: true,
            allow_writes: false,
            seed: rand::random::<u32>() as u64,
            seed_given: false,
            max_requests_per_endpoint: DEFAULT_MAX_PER_ENDPOINT,
            email_domain: None,
            slow_factor: DEFAULT_SLOW_FACTOR,
            read_back: Vec::new(),
        }
    }
}

pub fn resolve(
    raw: Option<RawInput>,
    endpoints: &[Endpoint],
) -> Result<InputSettings, ConfigError> {
    let Some(raw) = raw else {
        return Ok(InputSettings::default());
    };
    let key = |k: &str| format!("[checks.input] {k}");
    let max = match &raw.max_requests_per_endpoint {
        None => DEFAULT_MAX_PER_ENDPOINT,
        Some(m) if (1..=100_000).contains(m.get_ref()) => *m.get_ref(),
        Some(m) => {
            return Err(ConfigError::new(
                m.span(),
                &key("max_requests_per_endpoint"),
                "must be 1 to 100000",
            ));
        }
    };
    let slow_factor = match &raw.slow_factor {
        None => DEFAULT_SLOW_FACTOR,
        Some(f) if f.get_ref().is_finite() && *f.get_ref() >= 1.0 => *f.get_ref(),
        Some(f) => {
            return Err(ConfigError::new(
                f.span(),
                &key("slow_factor"),
                "must be >= 1",
            ));
        }
    };
    let mut read_back: Vec<ReadBack> = Vec::new();
    for raw in &raw.read_back {
        let entry = read_back_entry(raw, endpoints)?;
        if read_back.iter().any(|r| r.endpoint == entry.endpoint) {
            return Err(ConfigError::new(
                raw.endpoint.span(),
                &key("read_back endpoint"),
                "this endpoint already has a read_back entry",
            ));
        }
        read_back.push(entry);
    }
    let defaults = InputSettings::default();
    Ok(InputSettings {
        enabled: raw.enabled.unwrap_or(true),
        allow_writes: raw.allow_writes.unwrap_or(false),
        seed: raw.seed.unwrap_or(defaults.seed),
        seed_given: raw.seed.is_some(),
        max_requests_per_endpoint: max,
        email_domain: raw.email_domain,
        slow_factor,
        read_back,
    })
}

fn json_pointer(value: &Spanned<String>, key: &str) -> Result<String, ConfigError> {
    let p = value.get_ref();
    if !p.starts_with('/') {
        return Err(ConfigError::new(
            value.span(),
            key,
            format!("`{p}` is not a JSON pointer; write it like `/id` or `/user/id`"),
        ));
    }
    Ok(p.clone())
}

fn read_back_entry(raw: &RawReadBack, endpoints: &[Endpoint]) -> Result<ReadBack, ConfigError> {
    let key = |k: &str| format!("[[checks.input.read_back]] {k}");
    let named = |v: &Spanned<String>, k: &str| {
        endpoints
            .iter()
            .find(|e| &e.name == v.get_ref())
            .ok_or_else(|| {
                ConfigError::new(
                    v.span(),
                    &key(k),
                    format!("no [[endpoint]] is named `{}`", v.get_ref()),
                )
            })
    };
    let write = named(&raw.endpoint, "endpoint")?;
    if !write.onboarding {
        return Err(ConfigError::new(
            raw.endpoint.span(),
            &key("endpoint"),
            format!(
                "`{}` is not probed by the input check; mark it onboarding = true",
                write.name
            ),
        ));
    }
    let token_pointer = match &raw.token_pointer {
        Some(p) => Some(json_pointer(p, &key("token_pointer"))?),
        None => None,
    };
    let Some(read_name) = &raw.read else {
        if let Some(p) = raw.id_pointer.as_ref().or(raw.id_param.as_ref()) {
            return Err(ConfigError::new(
                p.span(),
                &key("read"),
                "id_pointer and id_param need `read` (the [[endpoint]] that reads the \
                 object); without it the write's Location header is followed",
            ));
        }
        return Ok(ReadBack {
            endpoint: write.name.clone(),
            read: None,
            token_pointer,
        });
    };
    let read = named(read_name, "read")?;
    let id_pointer = match &raw.id_pointer {
        Some(p) => json_pointer(p, &key("id_pointer"))?,
        None => "/id".to_string(),
    };
    let path_params = read.path_params();
    let query_keys: Vec<String> = read
        .query
        .shape()
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let (id_param, id_in_path) = match &raw.id_param {
        Some(p) if path_params.contains(p.get_ref()) => (p.get_ref().clone(), true),
        Some(p) if query_keys.contains(p.get_ref()) => (p.get_ref().clone(), false),
        Some(p) => {
            return Err(ConfigError::new(
                p.span(),
                &key("id_param"),
                format!(
                    "`{}` is neither a {{param}} of `{}`'s path nor a key of its query",
                    p.get_ref(),
                    read.name
                ),
            ));
        }
        None if path_params.len() == 1 => (path_params[0].clone(), true),
        None => {
            return Err(ConfigError::new(
                read_name.span(),
                &key("id_param"),
                format!(
                    "`{}`'s path has {} {{params}}; name the one that takes the id with \
                     id_param",
                    read.name,
                    path_params.len()
                ),
            ));
        }
    };
    Ok(ReadBack {
        endpoint: write.name.clone(),
        read: Some(ReadEndpoint {
            name: read.name.clone(),
            id_pointer,
            id_param,
            id_in_path,
        }),
        token_pointer,
    })
}
