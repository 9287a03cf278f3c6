//! One module (or folder) per check id of the checklist (DESIGN.md).

pub mod email;
pub mod https;
pub mod secrets;
