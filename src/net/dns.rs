//! Name resolution for every connection the auditor opens.
//!
//! Profile overrides (`[target] resolve`, like curl's `--resolve`) come first;
//! then the nameservers of `[dns]` when set (so tests and staging can use their
//! own DNS server); then the system resolver.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;

use crate::profile::{DnsSettings, NameOverride};

/// Builds a resolver from the profile's `[dns]` settings; `None` means "use the system".
pub fn build_resolver(settings: &DnsSettings) -> Result<Option<TokioResolver>, String> {
    if settings.nameservers.is_empty() {
        return Ok(None);
    }
    let servers = settings
        .nameservers
        .iter()
        .map(|sa| {
            let mut server = NameServerConfig::udp_and_tcp(sa.ip());
            for conn in &mut server.connections {
                conn.port = sa.port();
            }
            server
        })
        .collect();
    let config = ResolverConfig::from_name_servers(servers);
    let mut builder = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
    builder.options_mut().timeout = settings.timeout;
    builder.options_mut().attempts = 2;
    builder
        .build()
        .map(Some)
        .map_err(|e| format!("cannot build the DNS resolver from [dns]: {e}"))
}

/// Resolves host names for connections, honouring overrides.
#[derive(Clone)]
pub struct HostResolver {
    overrides: Arc<Vec<NameOverride>>,
    dns: Option<TokioResolver>,
}

impl HostResolver {
    pub fn new(overrides: Vec<NameOverride>, dns: Option<TokioResolver>) -> HostResolver {
        HostResolver {
            overrides: Arc::new(overrides),
            dns,
        }
    }

    /// Addresses for `host` (port filled in), or a message saying why none.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
        let host = host
            .trim_end_matches('.')
            .trim_matches(['[', ']'])
            .to_ascii_lowercase();
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        if let Some(o) = self.overrides.iter().find(|o| o.host == host) {
            return Ok(vec![SocketAddr::new(o.addr, port)]);
        }
        let addrs: Vec<SocketAddr> = match &self.dns {
            Some(dns) => dns
                .lookup_ip(host.as_str())
                .await
                .map_err(|e| format!("cannot resolve `{host}`: {e}"))?
                .iter()
                .map(|ip| SocketAddr::new(ip, port))
                .collect(),
            None => tokio::net::lookup_host((host.as_str(), port))
                .await
                .map_err(|e| format!("cannot resolve `{host}`: {e}"))?
                .collect(),
        };
        if addrs.is_empty() {
            return Err(format!("`{host}` has no address"));
        }
        Ok(addrs)
    }
}

impl reqwest::dns::Resolve for HostResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let this = self.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs = this
                .resolve(&host, 0)
                .await
                .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { e.into() })?;
            let iter: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(iter)
        })
    }
}
