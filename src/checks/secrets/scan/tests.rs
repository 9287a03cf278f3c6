//! Scanner behaviour tests.
