//! MMS media: validation of received parts ([`validate`]), the embedded store of
//! accepted files ([`store`]), the signed URLs the core fetches them by ([`sign`]), the
//! route that serves them ([`serve`]) and the purge of files no message names any more
//! ([`sweep`]).

pub mod serve;
pub mod sign;
pub mod store;
pub mod sweep;
pub mod validate;

pub use serve::{MediaRoute, routes};
pub use sign::{SignError, UrlSigner};
pub use store::{MediaFile, MediaStore};
pub use sweep::{MediaPurge, PurgeError, Purged};
pub use validate::{MediaPolicy, Rejection};
