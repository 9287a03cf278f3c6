//! The registry: every check, in the order rows appear in the scorecard.
//! Adding a check is one module under `checks/` plus one line here.

use std::sync::Arc;

use super::Check;

pub fn all() -> Vec<Arc<dyn Check>> {
    vec![
        Arc::new(crate::checks::https::HttpsCheck),
        Arc::new(crate::checks::input::InputCheck),
        Arc::new(crate::checks::rate_limit::RateLimitCheck),
        Arc::new(crate::checks::latency::LatencyCheck),
    ]
}

/// Check ids, for argument validation and `readiness checks`.
pub fn ids() -> Vec<&'static str> {
    all().iter().map(|c| c.meta().id).collect()
}
