//! API clients of the identity providers idm reads from and writes to.
//!
//! - [`onelogin`]: the OneLogin v2 API (token, users, roles, apps, custom attributes), used by
//!   idm-load, idm-attrs and idm-csv.

pub mod onelogin;
