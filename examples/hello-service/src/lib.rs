//! hello-service: the example service bundled with Slipway.
//!
//! A small HTTP/1.1 server on the standard library alone, with knobs
//! (`HELLO_ERROR_RATE`, `HELLO_LATENCY_MS`) that make a release misbehave on
//! demand for canary-analysis tests. See README.md for the endpoints and
//! configuration.

pub mod config;
pub mod handlers;
pub mod http;
pub mod rng;
pub mod server;

pub use config::Config;
pub use handlers::App;
pub use server::serve;
