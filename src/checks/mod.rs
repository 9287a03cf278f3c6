//! One module (or folder) per check id of the checklist (DESIGN.md).
//! `access` holds what the access checks share (logins, requests, judging);
//! `active` what the active checks share (requests from endpoints).

pub mod access;
pub mod active;
pub mod auth;
pub mod cors;
pub mod edge;
pub mod email;
pub mod https;
pub mod hygiene;
pub mod input;
pub mod latency;
pub mod monitoring;
pub mod rate_limit;
pub mod secrets;
pub mod tenant;
