//! The registry: every check, in the order rows appear in the scorecard.
//! Adding a check is one module under `checks/` plus one line here.

use std::sync::Arc;

use super::Check;

pub fn all() -> Vec<Arc<dyn Check>> {
    vec![
        Arc::new(crate::checks::https::HttpsCheck),
        Arc::new(crate::checks::auth::AuthCheck),
        Arc::new(crate::checks::tenant::TenantCheck),
        Arc::new(crate::checks::cors::CorsCheck),
        Arc::new(crate::checks::input::InputCheck),
        Arc::new(crate::checks::rate_limit::RateLimitCheck),
        Arc::new(crate::checks::latency::LatencyCheck),
        Arc::new(crate::checks::secrets::SecretsCheck),
        Arc::new(crate::checks::hygiene::HygieneCheck),
        Arc::new(crate::checks::monitoring::MonitoringCheck),
        Arc::new(crate::checks::edge::EdgeCheck),
        Arc::new(crate::checks::email::check::EmailCheck),
    ]
}

/// Check ids, for argument validation and `readiness checks`.
pub fn ids() -> Vec<&'static str> {
    all().iter().map(|c| c.meta().id).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    #[test]
    fn finding_codes_are_unique_and_prefixed_by_their_check() {
        let mut seen = BTreeSet::new();
        for check in super::all() {
            let id = check.meta().id;
            assert!(!check.codes().is_empty(), "{id} declares no finding codes");
            for code in check.codes() {
                assert!(
                    code.starts_with(&format!("{id}.")),
                    "{code} is not under {id}."
                );
                let name = &code[id.len() + 1..];
                assert!(
                    !name.is_empty()
                        && name
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                    "{code} is not kebab-case"
                );
                assert!(seen.insert(*code), "{code} is declared twice");
            }
        }
    }

    #[test]
    fn check_ids_are_unique() {
        let ids = super::ids();
        let set: BTreeSet<_> = ids.iter().collect();
        assert_eq!(set.len(), ids.len());
    }
}
