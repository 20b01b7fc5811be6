//! Host bindings of the discipline contract (`guest-sdk/wit/discipline.wit`) and its host imports.

use wasmtime_wasi::{WasiCtxView, WasiView};

use super::state::ExecutionState;

wasmtime::component::bindgen!({
    path: "../guest-sdk/wit",
    world: "discipline-component",
    // Calls into the guest are async so that a guest blocked in a host call (a sleep, a poll)
    // can be abandoned at its deadline: the call's future is dropped, not waited for.
    exports: { default: async },
});

use disciplines::discipline::host::LogLevel;
pub(super) use exports::disciplines::discipline::discipline::{Description, Error as GuestError};

impl disciplines::discipline::host::Host for ExecutionState {
    fn progress(&mut self, fraction: f64, message: String) {
        self.record_progress(fraction, message);
    }

    fn log(&mut self, level: LogLevel, message: String) {
        self.record_log(level.into(), message);
    }
}

impl WasiView for ExecutionState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl From<LogLevel> for super::GuestLogLevel {
    fn from(level: LogLevel) -> Self {
        match level {
            LogLevel::Trace => Self::Trace,
            LogLevel::Debug => Self::Debug,
            LogLevel::Info => Self::Info,
            LogLevel::Warn => Self::Warn,
            LogLevel::Error => Self::Error,
        }
    }
}
