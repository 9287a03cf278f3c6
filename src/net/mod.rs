pub mod legacy_tls;
pub mod scope;
