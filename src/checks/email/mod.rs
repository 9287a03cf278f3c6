//! The `email` check (`check`, `config`, `sample`) and its DNS-record core:
//! SPF evaluation, DMARC and DKIM records.
//!
//! The evaluators here only read DNS through [`dns::DnsLookup`], so the same
//! code runs against a real resolver (hickory, pointed at the profile's
//! nameservers) and against in-memory zones in tests and the demo.

pub mod check;
pub mod config;
pub mod dkim;
pub mod dmarc;
pub mod dns;
pub mod psl;
pub mod sample;
pub mod spf;
pub mod zone_server;
