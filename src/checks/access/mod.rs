//! Shared pieces of the access checks (`auth`, `tenant`, `cors`): logging the
//! profile's identities in, building an endpoint's request for an identity,
//! judging whether a response hands out the owner's data, and reading and
//! forging JWTs.
//!
//! Checks know nothing of each other, so each access check logs in through
//! these helpers itself, through its own budgeted `ctx.net`, and counts the
//! logins in its plan.

pub mod judge;
pub mod jwt;
pub mod request;
pub mod sessions;
