//! Job events in this process: status and progress changes, for long-polls and event streams.

use serde::Serialize;
use tokio::sync::broadcast;

use crate::store::{JobId, JobStatus};

/// How many events a slow subscriber may fall behind before it skips some.
const BACKLOG: usize = 4096;

/// A change of one job.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobEvent {
    /// The job.
    #[serde(rename = "jobID")]
    pub id: JobId,
    /// Its status after the change.
    pub status: JobStatus,
    /// Its progress, 0 to 100.
    pub progress: u8,
    /// The last progress message.
    pub message: String,
}

/// Publishes job events to whoever listens.
#[derive(Debug, Clone)]
pub struct JobEvents {
    sender: broadcast::Sender<JobEvent>,
}

impl Default for JobEvents {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(BACKLOG).0,
        }
    }
}

impl JobEvents {
    /// Publishes an event (dropped when nobody listens).
    pub fn publish(&self, event: JobEvent) {
        let _ = self.sender.send(event);
    }

    /// Listens to every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<JobEvent> {
        self.sender.subscribe()
    }
}
