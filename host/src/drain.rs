//! The drain flag: raised once at shutdown, it turns new requests away and wakes whatever
//! waits for a client (long-polls, event streams, queued synchronous executions) to answer now.

use tokio::sync::watch;

/// Whether the server is draining, and a way to wait until it is. Cheap to clone; every clone
/// sees the same flag.
#[derive(Debug, Clone)]
pub struct Drain {
    flag: watch::Sender<bool>,
}

impl Default for Drain {
    fn default() -> Self {
        Self {
            flag: watch::Sender::new(false),
        }
    }
}

impl Drain {
    /// Raises the flag (once; raising it again changes nothing) and wakes every waiter.
    pub fn begin(&self) {
        self.flag
            .send_if_modified(|draining| !std::mem::replace(draining, true));
    }

    /// Whether the flag is raised.
    pub fn is_draining(&self) -> bool {
        *self.flag.borrow()
    }

    /// Completes once the flag is raised (at once if it is already).
    pub async fn begun(&self) {
        let mut flag = self.flag.subscribe();
        // The sender lives in `self`, so the channel cannot close while this waits.
        let _ = flag.wait_for(|draining| *draining).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiters_wake_when_the_drain_begins_and_later_ones_return_at_once() {
        let drain = Drain::default();
        assert!(!drain.is_draining());
        let waiter = tokio::spawn({
            let drain = drain.clone();
            async move { drain.begun().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drain.begin();
        drain.begin();
        waiter.await.expect("the waiter ends");
        assert!(drain.is_draining());
        drain.begun().await;
    }
}
