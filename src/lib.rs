//! `readiness`: a launch-readiness auditor for B2B web products.
//!
//! The binary in `main.rs` is a thin shell around this library so that the
//! integration tests and the built-in demo can reuse the same pieces.

pub mod app;
pub mod checks;
pub mod cli;
pub mod debugpage;
pub mod demo;
pub mod engine;
pub mod envfile;
pub mod html;
pub mod net;
pub mod profile;
pub mod redact;
pub mod report;
pub mod util;
