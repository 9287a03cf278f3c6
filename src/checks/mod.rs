//! The checks of the scorecard, one module (or folder) per check id.
//!
//! Each check knows nothing of the others; the engine wires them together.

pub mod secrets;
