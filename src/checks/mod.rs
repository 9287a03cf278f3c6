//! One module (or folder) per check id of the checklist (DESIGN.md).

pub mod active;
pub mod https;
pub mod input;
pub mod latency;
pub mod rate_limit;
