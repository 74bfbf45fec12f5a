//! MMS media: validation of received parts ([`validate`]), the embedded store of
//! accepted files ([`store`]), the signed URLs the core fetches them by ([`sign`]) and
//! the route that serves them ([`serve`]).

pub mod serve;
pub mod sign;
pub mod store;
pub mod validate;

pub use serve::{MediaRoute, routes};
pub use sign::{SignError, UrlSigner};
pub use store::MediaStore;
pub use validate::{MediaPolicy, Rejection};
