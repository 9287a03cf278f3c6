//! One module (or folder) per check id of the checklist (DESIGN.md).

pub mod edge;
pub mod https;
pub mod hygiene;
pub mod monitoring;
