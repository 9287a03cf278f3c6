//! `readiness`: a launch-readiness auditor for B2B web products.
//!
//! The binary in `main.rs` is a thin shell around this library so that the
//! integration tests and the built-in demo can reuse the same pieces.

pub mod checks;
pub mod net;
pub mod profile;
pub mod redact;
pub mod util;
