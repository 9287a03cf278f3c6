//! The checks, one module (or folder) per check id from DESIGN.md.
//!
//! Each check knows nothing of the others; the engine registers them.

pub mod https;
