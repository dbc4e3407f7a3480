//! Herd's HTTP layer: the hyper server with graceful shutdown, the URL dispatcher with Django's
//! semantics (converters, `include`, namespaces, `reverse`, `APPEND_SLASH`), the middleware
//! stack as tower layers, health endpoints and static files.

pub mod middleware;
pub mod request;
pub mod server;
pub mod static_files;
pub mod urls;

pub use middleware::Readiness;
pub use request::RequestExt;
pub use server::{Server, shutdown_signal};
pub use static_files::StaticFiles;
pub use urls::{Dispatcher, Resolver, UrlConf};
