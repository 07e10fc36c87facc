//! Switchyard's core: an AI API proxy that speaks OpenAI Chat, OpenAI Responses, Anthropic Messages and
//! Gemini to local clients and routes each request to the user's upstream credentials.
//!
//! Embed it with [`start`]: the desktop app and the headless `switchyard` binary both do.

pub mod accounts;
pub mod app;
pub mod config;
pub mod logs;
pub mod providers;
pub mod routing;
pub mod server;
pub mod service;
pub mod translate;
pub mod usage;
pub mod wire;

pub use app::{start, Error, RunningProxy, StartOptions};
