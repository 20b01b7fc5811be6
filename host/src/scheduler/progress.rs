//! Progress of running jobs: every change announced at once, written to the store at most
//! every [`WRITE_INTERVAL`] per job, in batches.

use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::events::{JobEvent, JobEvents};
use crate::sandbox::ExecutionObserver;
use crate::store::{JobId, JobStatus, JobStore};

/// The least time between two progress writes of one job.
const WRITE_INTERVAL: Duration = Duration::from_millis(200);

/// Receives a guest's progress on its thread and passes it on without blocking.
#[derive(Clone)]
pub(super) struct ProgressReporter {
    id: JobId,
    events: JobEvents,
    writes: mpsc::Sender<(JobId, u8, String)>,
    last_percent: Option<u8>,
    last_write: Option<Instant>,
}

impl ProgressReporter {
    pub(super) fn new(
        id: JobId,
        events: JobEvents,
        writes: mpsc::Sender<(JobId, u8, String)>,
    ) -> Self {
        Self {
            id,
            events,
            writes,
            last_percent: None,
            last_write: None,
        }
    }
}

impl ExecutionObserver for ProgressReporter {
    fn progress(&mut self, fraction: f64, message: &str) {
        let percent = (fraction * 100.0).floor().clamp(0.0, 100.0) as u8;
        if self.last_percent == Some(percent) {
            return;
        }
        self.last_percent = Some(percent);
        self.events.publish(JobEvent {
            id: self.id,
            status: JobStatus::Running,
            progress: percent,
            message: message.to_owned(),
        });
        if self
            .last_write
            .is_none_or(|last| last.elapsed() >= WRITE_INTERVAL)
        {
            self.last_write = Some(Instant::now());
            // A full line only loses an intermediate value; the next one carries on.
            let _ = self.writes.try_send((self.id, percent, message.to_owned()));
        }
    }
}

/// Writes progress updates in batches.
pub(super) async fn record(store: JobStore, mut updates: mpsc::Receiver<(JobId, u8, String)>) {
    let mut batch = Vec::new();
    while updates.recv_many(&mut batch, 1024).await > 0 {
        if let Err(error) = store.record_progress(&batch).await {
            tracing::warn!(%error, "could not record progress");
        }
        batch.clear();
    }
}
