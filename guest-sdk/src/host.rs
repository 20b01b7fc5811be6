//! Calls to the services the host offers a running discipline: progress and log lines.
//!
//! Off wasm32 (unit tests on the developer's machine) there is no host and they do nothing.

use crate::bindings::disciplines::discipline::host::{self as imports, LogLevel};

/// Reports progress: `fraction` in [0, 1] (the host clamps it) and a short message.
pub fn progress(fraction: f64, message: &str) {
    if cfg!(target_arch = "wasm32") {
        imports::progress(fraction, message);
    }
}

/// Log lines kept with the execution, apart from the captured stdout and stderr.
pub mod log {
    use super::{LogLevel, record};

    /// Records a line at the `trace` level.
    pub fn trace(message: &str) {
        record(LogLevel::Trace, message);
    }

    /// Records a line at the `debug` level.
    pub fn debug(message: &str) {
        record(LogLevel::Debug, message);
    }

    /// Records a line at the `info` level.
    pub fn info(message: &str) {
        record(LogLevel::Info, message);
    }

    /// Records a line at the `warn` level.
    pub fn warn(message: &str) {
        record(LogLevel::Warn, message);
    }

    /// Records a line at the `error` level.
    pub fn error(message: &str) {
        record(LogLevel::Error, message);
    }
}

fn record(level: LogLevel, message: &str) {
    if cfg!(target_arch = "wasm32") {
        imports::log(level, message);
    }
}
