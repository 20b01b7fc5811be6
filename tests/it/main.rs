//! The integration tests: one binary, real servers on port 0, real components built from source.

mod auth;
mod cli;
mod client;
mod deploy;
mod discovery;
mod disk;
mod drain;
mod examples;
mod files;
mod gemseo;
mod hardening;
mod helpers;
mod jobs;
mod limits;
mod loading;
mod local;
mod oidc;
mod quotas;
mod refusals;
mod reload;
mod removal;
mod requests;
mod sandbox;
mod storage;
mod webhooks;
