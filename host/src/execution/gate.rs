//! The one decision between a guest thread and the client waiting on queued synchronous work:
//! the work starts, or it is withdrawn and never will.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

const WAITING: u8 = 0;
const STARTED: u8 = 1;
const WITHDRAWN: u8 = 2;

/// Shared by the waiting client and the task; whichever acts first decides.
#[derive(Debug, Clone, Default)]
pub struct StartGate(Arc<AtomicU8>);

impl StartGate {
    /// Withdraws the work if it has not started: `true` when it never will.
    pub fn withdraw(&self) -> bool {
        self.decide(WITHDRAWN)
    }

    /// Lets the work start unless it was withdrawn: `true` when it may.
    pub(super) fn start(&self) -> bool {
        self.decide(STARTED)
    }

    fn decide(&self, decision: u8) -> bool {
        self.0
            .compare_exchange(WAITING, decision, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_decision_holds() {
        let started = StartGate::default();
        assert!(started.start());
        assert!(!started.withdraw());
        let withdrawn = StartGate::default();
        assert!(withdrawn.withdraw());
        assert!(!withdrawn.start());
    }
}
