//! idm-sandbox: a local simulator of the Okta management API and the OneLogin API.
//!
//! (work in progress: the server, seeding, faults and admin endpoints land with the sandbox
//! issue.) The API modules ([`okta`], [`onelogin`]) are pure request → response handlers over
//! the transport-neutral types of [`api`], so they can be tested without a socket and the
//! server owns everything that is about transport: rate limits, faults, stats.

pub mod api;
pub mod okta;
pub mod onelogin;
