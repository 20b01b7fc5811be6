//! The discipline compute server: WebAssembly components run in a sandbox behind a REST API.
//!
//! See `ARCHITECTURE.md` at the repository root for the map of this crate.

pub mod admin;
pub mod auth;
pub mod cli;
pub mod client;
pub mod config;
pub mod descriptors;
pub mod discipline;
pub mod drain;
pub mod execution;
pub mod files;
pub mod http;
pub mod identity;
pub mod limits;
pub mod local;
pub mod problem;
pub mod quotas;
pub mod registry;
pub mod sandbox;
pub mod scaffold;
pub mod scheduler;
pub mod startup;
pub mod store;
pub mod workspace;

pub use config::Config;
pub use startup::Application;
