//! One module (or folder) per check id of the checklist (DESIGN.md).
//! `access` holds what the access checks share (logins, requests, judging).

pub mod access;
pub mod auth;
pub mod cors;
pub mod edge;
pub mod email;
pub mod https;
pub mod hygiene;
pub mod monitoring;
pub mod secrets;
pub mod tenant;
