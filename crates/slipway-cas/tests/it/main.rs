//! Integration tests of slipway-cas, one binary (see reference/rust-stack.md).

mod archive;
mod blobs;
mod cache;
mod outputs;
mod support;
