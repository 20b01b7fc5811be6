//! The scheduler: workers that take jobs from the store, run them, and record how they ended.
//!
//! One dispatcher claims as many jobs as there are free slots (one transaction for the lot),
//! each job runs on the executor, and one writer records finished jobs in batches, so that the
//! store sees two write transactions per batch rather than per job.

mod allowances;
pub mod collector;
mod events;
mod progress;
mod public_net;
mod request;
mod webhooks;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, watch};

pub use events::{JobEvent, JobEvents};
pub use request::{StoredDifferentiation, StoredLimits, StoredRequest};
pub use webhooks::{Subscriber, Webhooks};

use crate::discipline::ModuleDigest;
use crate::execution::{Computed, Executed, ExecutionRequest, Executor};
use crate::files::WorkspacePath;
use crate::problem::{Problem, ProblemKind};
use crate::registry::{Registry, canonical_options};
use crate::sandbox::CancelFlag;
use crate::store::{
    Claim, JobId, JobOutcome, JobRecord, JobStatus, JobStore, RunningCaps, StoreError,
};
use progress::ProgressReporter;

/// How often an idle dispatcher looks at the store even without a wake-up (other processes
/// may have submitted jobs).
const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// The most jobs claimed in one transaction.
const MAX_CLAIM: usize = 256;
/// The most outcomes recorded in one transaction.
const MAX_FINISH_BATCH: usize = 1024;
/// The most jobs per guest thread claimed ahead (however short they are).
const PREFETCH_PER_THREAD: usize = 64;
/// How much work, by the average job's duration, each guest thread may have claimed ahead of
/// it. Short jobs are claimed in batches (one transaction for many); but a job claimed ahead
/// runs before any job claimed after it, so this bounds how long another user's job waits
/// behind one user's queue once its turn has come. Jobs longer than this are claimed only
/// when a guest thread is free, so that "running" means running.
const CLAIM_AHEAD: Duration = Duration::from_millis(20);
/// How long finished jobs wait before their outcomes are written again when the disk is full.
const DISK_FULL_RETRY: Duration = Duration::from_secs(1);
/// How many finished jobs must have been timed before jobs may count as short.
const MIN_OBSERVATIONS: u64 = 16;

/// Takes jobs from the store and runs them, at most `slots` at once.
pub struct Scheduler {
    store: JobStore,
    executor: Arc<Executor>,
    registry: Arc<Registry>,
    /// How many jobs each user may have running.
    caps: RunningCaps,
    jobs_dir: PathBuf,
    events: JobEvents,
    wake: Notify,
    slots: Arc<Semaphore>,
    capacity: usize,
    threads: usize,
    average_micros: AtomicU64,
    observations: AtomicU64,
    job_done: Notify,
    /// Jobs of this process in flight: their cancel flag and when they were claimed.
    running: Mutex<HashMap<JobId, (CancelFlag, Instant)>>,
    outcomes: mpsc::UnboundedSender<Finished>,
    webhooks: Webhooks,
    progress: mpsc::Sender<(JobId, u8, String)>,
    stop: watch::Sender<bool>,
}

impl Scheduler {
    /// Starts the dispatcher and the writers on the current runtime, for `threads` guest threads
    /// (the shared ones: jobs never run on the threads reserved for synchronous work).
    pub fn start(
        store: JobStore,
        executor: Arc<Executor>,
        registry: Arc<Registry>,
        jobs_dir: PathBuf,
        threads: usize,
        caps: RunningCaps,
        webhooks: Webhooks,
    ) -> Arc<Self> {
        let threads = threads.max(1);
        let capacity = threads * PREFETCH_PER_THREAD;
        let (outcomes, finished) = mpsc::unbounded_channel();
        let (progress, progressed) = mpsc::channel(4096);
        let scheduler = Arc::new(Self {
            store,
            executor,
            registry,
            caps,
            jobs_dir,
            events: JobEvents::default(),
            wake: Notify::new(),
            slots: Arc::new(Semaphore::new(capacity)),
            capacity,
            threads,
            // Jobs count as long until some have shown otherwise.
            average_micros: AtomicU64::new(CLAIM_AHEAD.as_micros() as u64),
            observations: AtomicU64::new(0),
            job_done: Notify::new(),
            running: Mutex::default(),
            outcomes,
            webhooks,
            progress,
            stop: watch::Sender::new(false),
        });
        tokio::spawn(scheduler.clone().dispatch());
        tokio::spawn(record_outcomes(
            scheduler.store.clone(),
            scheduler.events.clone(),
            scheduler.webhooks.clone(),
            finished,
        ));
        tokio::spawn(progress::record(scheduler.store.clone(), progressed));
        scheduler
    }

    /// The directory of a job's workspace (it exists once the job has started).
    pub fn workspace_of(&self, id: JobId) -> PathBuf {
        self.jobs_dir.join(id.to_string())
    }

    /// Removes a job's workspace in the background (quarantined if it cannot be removed).
    pub fn remove_workspace(&self, id: JobId) {
        let dir = self.workspace_of(id);
        let disposal = self.executor.disposal().clone();
        tokio::task::spawn_blocking(move || disposal.dispose(&dir));
    }

    /// The job events of this process.
    pub fn events(&self) -> &JobEvents {
        &self.events
    }

    /// Tells the dispatcher that jobs were submitted.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Stops claiming jobs; running ones go on.
    pub fn stop_claiming(&self) {
        self.stop.send_replace(true);
        self.wake.notify_one();
    }

    /// Interrupts a running job of this process (after the store marked it dismissed).
    pub fn cancel(&self, id: JobId) {
        let running = self.running.lock().ok();
        if let Some((flag, _)) = running.as_ref().and_then(|running| running.get(&id)) {
            flag.cancel();
        }
    }

    /// How many jobs run in this process now.
    pub fn running_count(&self) -> usize {
        self.running
            .lock()
            .map(|running| running.len())
            .unwrap_or(0)
    }

    /// At shutdown, after the grace period: interrupts the jobs still running and hands them
    /// back to the queue, so that the next start runs them without counting an attempt.
    pub async fn hand_back_running(&self) {
        let ids: Vec<JobId> = match self.running.lock() {
            Ok(running) => running.keys().copied().collect(),
            Err(_) => return,
        };
        if ids.is_empty() {
            return;
        }
        match self.store.release(&ids).await {
            Ok(released) => tracing::info!(released, "handed unfinished jobs back to the queue"),
            Err(error) => tracing::error!(
                %error,
                "could not hand jobs back; they will be recovered at the next start"
            ),
        }
        for id in ids {
            self.cancel(id);
        }
    }

    async fn dispatch(self: Arc<Self>) {
        let mut stop = self.stop.subscribe();
        // A job claimed before discovery has finished would find no module to run on.
        self.registry.wait_ready().await;
        loop {
            if *stop.borrow() {
                return;
            }
            let Ok(first) = self.slots.clone().acquire_owned().await else {
                return;
            };
            let mut permits = vec![first];
            while permits.len() < MAX_CLAIM {
                match self.slots.clone().try_acquire_owned() {
                    Ok(permit) => permits.push(permit),
                    Err(_) => break,
                }
            }
            let wanted = self.claim_size(permits.len());
            if wanted == 0 {
                drop(permits);
                self.job_done.notified().await;
                continue;
            }
            permits.truncate(wanted);
            let claim = match self
                .store
                .claim(u32::try_from(wanted).unwrap_or(1), &self.caps)
                .await
            {
                Ok(claim) => claim,
                Err(error) => {
                    tracing::error!(%error, "could not claim jobs");
                    Claim::default()
                }
            };
            // Fewer jobs than asked for: the queue is empty (or capped) for now, and claiming
            // again at once would only hold the write lock that submissions and outcomes need.
            let queue_drained = claim.jobs.len() < permits.len();
            for (job, permit) in claim.jobs.into_iter().zip(permits) {
                tokio::spawn(self.clone().run(job, permit));
            }
            if queue_drained {
                // A job that ends matters only if it may free a capped user's turn.
                let capped = claim.capped;
                tokio::select! {
                    () = self.wake.notified() => {}
                    () = self.job_done.notified(), if capped => {}
                    () = tokio::time::sleep(POLL_INTERVAL) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }

    /// How many jobs to claim with `free` free slots: enough to give each guest thread its
    /// [`Self::depth`] of jobs, counting those in flight.
    fn claim_size(&self, free: usize) -> usize {
        let in_flight = self.capacity - free;
        free.min((self.threads * self.depth()).saturating_sub(in_flight))
    }

    /// How many jobs each guest thread may have in flight now (see [`depth`]).
    fn depth(&self) -> usize {
        let timed = self.observations.load(Ordering::Relaxed) >= MIN_OBSERVATIONS;
        let average = Duration::from_micros(self.average_micros.load(Ordering::Relaxed));
        depth(
            timed.then_some(average),
            self.any_in_flight_for(CLAIM_AHEAD),
        )
    }

    fn any_in_flight_for(&self, age: Duration) -> bool {
        self.running
            .lock()
            .map(|running| {
                running
                    .values()
                    .any(|(_, claimed)| claimed.elapsed() >= age)
            })
            .unwrap_or(false)
    }

    fn record_duration(&self, took: Duration) {
        self.observations.fetch_add(1, Ordering::Relaxed);
        let took = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let average = self.average_micros.load(Ordering::Relaxed);
        self.average_micros
            .store(average - average / 8 + took / 8, Ordering::Relaxed);
    }

    async fn run(self: Arc<Self>, job: JobRecord, permit: OwnedSemaphorePermit) {
        let cancel = CancelFlag::default();
        if let Ok(mut running) = self.running.lock() {
            running.insert(job.id, (cancel.clone(), Instant::now()));
        }
        self.events.publish(JobEvent {
            id: job.id,
            status: JobStatus::Running,
            progress: 0,
            message: String::new(),
        });
        let (outcome, subscriber) = match serde_json::from_str::<StoredRequest>(&job.request) {
            Ok(stored) => {
                let subscriber = stored.subscriber.clone().unwrap_or_default();
                if let Some(uri) = &subscriber.in_progress_uri {
                    let status =
                        json!({"jobID": job.id, "processID": job.process_id, "status": "running"});
                    self.webhooks
                        .send(uri, "application/json", status.to_string());
                }
                let outcome = self.execute(&job, stored, cancel.clone()).await;
                if cancel.is_cancelled() {
                    self.remove_workspace(job.id);
                }
                (outcome, subscriber)
            }
            Err(error) => {
                let problem =
                    Problem::internal(format!("job {}: unreadable request: {error}", job.id));
                (failed(job.id, &problem, None), Subscriber::default())
            }
        };
        if let Ok(mut running) = self.running.lock() {
            running.remove(&job.id);
        }
        drop(permit);
        self.job_done.notify_one();
        let _ = self.outcomes.send(Finished {
            outcome,
            subscriber,
        });
    }

    async fn execute(
        &self,
        job: &JobRecord,
        stored: StoredRequest,
        cancel: CancelFlag,
    ) -> JobOutcome {
        let request = match self.rebuild(job, stored).await {
            Ok(request) => request,
            Err(problem) => return failed(job.id, &problem, None),
        };
        let selected = request.1;
        let request = request.0;
        let reporter = ProgressReporter::new(job.id, self.events.clone(), self.progress.clone());
        loop {
            match self
                .executor
                .execute_job(request.clone(), Box::new(reporter.clone()), cancel.clone())
                .await
            {
                Ok(executed) => {
                    if !cancel.is_cancelled() {
                        self.record_duration(executed.facts.duration);
                    }
                    return outcome_of(job.id, executed, selected.as_deref());
                }
                // The executor's line for jobs is full: wait for room.
                Err(_busy) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
            if cancel.is_cancelled() {
                return failed(
                    job.id,
                    &Problem::new(ProblemKind::Cancelled, "dismissed"),
                    None,
                );
            }
        }
    }

    /// Rebuilds the execution request of a stored job, checking its module is still served.
    async fn rebuild(
        &self,
        job: &JobRecord,
        stored: StoredRequest,
    ) -> Result<(ExecutionRequest, Option<Vec<String>>), Problem> {
        let process = job
            .module_digest
            .parse::<ModuleDigest>()
            .ok()
            .and_then(|digest| self.registry.catalog().by_digest(&digest).cloned())
            .ok_or_else(|| {
                Problem::new(
                    ProblemKind::ModuleUnavailable,
                    format!(
                        "{} ({}) is no longer served",
                        job.process_id, job.module_digest
                    ),
                )
            })?;
        let discipline = match self
            .executor
            .describe_for_job(&process, &stored.options)
            .await
        {
            Ok(Ok(discipline)) => discipline,
            Ok(Err(reason)) => return Err(Problem::new(ProblemKind::InvalidOptions, reason)),
            Err(busy) => return Err(Problem::new(ProblemKind::ServerBusy, busy.to_string())),
        };
        let files = stored
            .files
            .iter()
            .map(|(path, source)| WorkspacePath::parse(path).map(|path| (path, source.clone())))
            .collect::<Result<Vec<_>, _>>()
            .map_err(Problem::internal)?;
        let request = ExecutionRequest {
            process,
            discipline,
            inputs: stored.inputs,
            options: canonical_options(&stored.options),
            linearize: stored.linearize.map(Into::into),
            limits: stored.limits.into(),
            files,
            workspace: Some(self.workspace_of(job.id)),
        };
        Ok((request, stored.outputs))
    }
}

/// How an execution ended, as a job's outcome (only the `selected` outputs, if any).
pub fn outcome_of(id: JobId, executed: Executed, selected: Option<&[String]>) -> JobOutcome {
    let Executed { result, facts } = executed;
    let logs =
        json!({"stdout": facts.stdout, "stderr": facts.stderr, "log": facts.logs}).to_string();
    match result {
        Ok(Computed {
            mut outputs,
            jacobian,
        }) => {
            if let Some(selected) = selected {
                outputs.retain(|name, _| selected.iter().any(|wanted| wanted == name));
            }
            JobOutcome {
                id,
                status: JobStatus::Successful,
                outputs: Some(Value::Object(outputs).to_string()),
                jacobian: jacobian.map(|jacobian| json!(jacobian).to_string()),
                error: None,
                fuel_consumed: facts.fuel_consumed,
                logs: Some(logs),
                workspace_bytes: facts.workspace_bytes,
            }
        }
        Err(error) => JobOutcome {
            logs: Some(logs),
            workspace_bytes: facts.workspace_bytes,
            ..failed(
                id,
                &Problem::of_execution(error, &facts),
                facts.fuel_consumed,
            )
        },
    }
}

/// A job's outcome that is `problem`.
pub fn failed(id: JobId, problem: &Problem, fuel_consumed: Option<u64>) -> JobOutcome {
    JobOutcome {
        id,
        status: JobStatus::Failed,
        outputs: None,
        jacobian: None,
        error: Some(problem.to_json()),
        fuel_consumed,
        logs: None,
        workspace_bytes: 0,
    }
}

/// A job's end, and whom to tell.
struct Finished {
    outcome: JobOutcome,
    subscriber: Subscriber,
}

/// Records finished jobs in batches, then announces them and sends their callbacks.
async fn record_outcomes(
    store: JobStore,
    events: JobEvents,
    webhooks: Webhooks,
    mut finished: mpsc::UnboundedReceiver<Finished>,
) {
    let mut batch = Vec::new();
    while finished.recv_many(&mut batch, MAX_FINISH_BATCH).await > 0 {
        let outcomes: Vec<JobOutcome> = batch.iter().map(|done| done.outcome.clone()).collect();
        loop {
            match store.finish(&outcomes).await {
                Ok(applied) => {
                    for done in batch
                        .iter()
                        .filter(|done| applied.contains(&done.outcome.id))
                    {
                        announce(&events, &webhooks, done);
                    }
                }
                // No job can be claimed while the disk is full either: the outcomes wait here
                // (a few at most) until space returns, and nobody is told before they are kept.
                Err(error) if error.is_disk_full() => {
                    tracing::warn!(%error, jobs = batch.len(), "the disk is full: finished jobs wait to be recorded");
                    tokio::time::sleep(DISK_FULL_RETRY).await;
                    continue;
                }
                Err(error) => log_store_error(&error, batch.len()),
            }
            break;
        }
        batch.clear();
    }
}

fn announce(events: &JobEvents, webhooks: &Webhooks, done: &Finished) {
    let outcome = &done.outcome;
    let successful = outcome.status == JobStatus::Successful;
    events.publish(JobEvent {
        id: outcome.id,
        status: outcome.status,
        progress: if successful { 100 } else { 0 },
        message: String::new(),
    });
    if successful && let Some(uri) = &done.subscriber.success_uri {
        let document = results_document(outcome.outputs.as_deref(), outcome.jacobian.as_deref());
        webhooks.send(uri, "application/json", document);
    }
    if !successful && let Some(uri) = &done.subscriber.failed_uri {
        let problem = outcome.error.clone().unwrap_or_default();
        webhooks.send(uri, "application/problem+json", problem);
    }
}

/// The results document of a successful job, from its stored outputs and Jacobian: the
/// outputs object, or `{"outputs", "jacobian"}` when it was linearized.
pub fn results_document(outputs: Option<&str>, jacobian: Option<&str>) -> String {
    let outputs = outputs.unwrap_or("{}");
    match jacobian {
        None => outputs.to_owned(),
        Some(jacobian) => format!(r#"{{"outputs":{outputs},"jacobian":{jacobian}}}"#),
    }
}

fn log_store_error(error: &StoreError, jobs: usize) {
    tracing::error!(%error, jobs, "could not record finished jobs; they will be retried after a restart");
}

/// How many jobs each guest thread may have in flight (running or claimed ahead): as many as
/// take [`CLAIM_AHEAD`] at the `average` duration, and one while jobs have not been timed yet
/// or while one in flight takes longer than that (the average is then out of date).
fn depth(average: Option<Duration>, long_one_in_flight: bool) -> usize {
    let Some(average) = average.filter(|_| !long_one_in_flight) else {
        return 1;
    };
    let fitting = CLAIM_AHEAD.as_micros() / average.as_micros().max(1);
    usize::try_from(fitting)
        .unwrap_or(PREFETCH_PER_THREAD)
        .clamp(1, PREFETCH_PER_THREAD)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_jobs_are_claimed_ahead_only_as_far_as_their_average_fills_the_window() {
        let ms = Duration::from_millis;
        assert_eq!(depth(Some(ms(1)), false), 20);
        assert_eq!(depth(Some(ms(7)), false), 2);
        assert_eq!(
            depth(Some(Duration::from_micros(50)), false),
            PREFETCH_PER_THREAD
        );
        assert_eq!(depth(Some(Duration::ZERO), false), PREFETCH_PER_THREAD);
    }

    #[test]
    fn long_untimed_or_outgrown_jobs_are_claimed_one_per_thread() {
        let ms = Duration::from_millis;
        assert_eq!(depth(Some(ms(11)), false), 1);
        assert_eq!(depth(Some(ms(500)), false), 1);
        assert_eq!(depth(None, false), 1);
        assert_eq!(
            depth(Some(ms(1)), true),
            1,
            "one in flight outgrew the average"
        );
    }
}
