//! One module (or folder) per check id of the checklist (DESIGN.md).

pub mod access;
pub mod auth;
pub mod cors;
pub mod https;
pub mod tenant;
