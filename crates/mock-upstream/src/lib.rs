//! Mock upstream for Switchyard's tests: a local HTTP server that answers like the Claude,
//! Codex, Gemini and OpenAI-compatible providers' servers, byte for byte as the reference mock
//! documented in `shared/conformance/cliproxyapi-rs/mock` (replies are generated here, the
//! crate never reads those files).
//!
//! ```no_run
//! # async fn demo() {
//! use switchyard_mock::{Family, Kind, MockUpstream, Reply, Step};
//! let mock = MockUpstream::start().await;
//! mock.script(vec![Step::reply(Reply::Error { status: 429, body: None }).times(1)], Reply::Ok(Kind::Tool));
//! let base = mock.base_url(Family::Claude); // configure the provider with this
//! // ... drive the proxy ...
//! let seen = mock.wait_for_requests(2, std::time::Duration::from_secs(5)).await;
//! assert_eq!(seen[0].path, "/v1/messages");
//! # }
//! ```
//!
//! Routes, the content model and the control JSON of the `switchyard-mock` binary are described
//! in the crate README.

mod control;
mod families;
pub mod oauth;
mod paced;
mod plan;
mod recorded;
pub mod replies;
mod route;
mod script;
mod server;
mod sse;
mod types;

pub use oauth::{MockIdentity, MockUsage, OAuthMock, RefreshFault};
pub use recorded::Recorded;
pub use server::MockUpstream;
pub use types::{Chunking, Family, Kind, Reply, Step};
