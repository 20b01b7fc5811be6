//! Dedicated guest threads fed by bounded queues: guests never run on the async runtime's
//! workers, and a full queue is refused at once instead of growing in memory.
//!
//! Two lanes share the threads. Synchronous work (a client waits on it) may run on every
//! thread and is taken before any queued job; jobs run only on the shared threads, so the
//! reserved threads stay free for synchronous work however many jobs are queued, and jobs
//! keep every shared thread when no synchronous call comes.
//!
//! A thread that finishes a task looks for the next one for a short while before it sleeps:
//! under load it never sleeps, which saves two context switches per execution compared with
//! waking a pooled thread for each one.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError};

/// How long an idle guest thread keeps looking for work before it sleeps.
const SPIN_BEFORE_SLEEP: Duration = Duration::from_micros(50);

type Task = Box<dyn FnOnce() + Send>;

/// Which work a task is, and so which guest threads may run it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lane {
    /// A client waits on it: any thread, before any queued job.
    Sync,
    /// An asynchronous job: the shared threads only.
    Job,
}

/// `shared` threads for both lanes, `reserved` threads for synchronous work only, and a queue
/// of at most `queue` waiting tasks per lane.
pub(super) struct GuestThreads {
    sync: Sender<Task>,
    jobs: Sender<Task>,
    busy: Arc<AtomicUsize>,
}

/// The queue is full: every thread the task may use is busy and `queue` tasks already wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct QueueFull;

/// The queues a thread takes its tasks from: synchronous first, then jobs if it may run them.
struct Lanes {
    sync: Receiver<Task>,
    jobs: Option<Receiver<Task>>,
}

impl GuestThreads {
    pub(super) fn start(shared: usize, reserved: usize, queue: usize) -> std::io::Result<Self> {
        let (sync, sync_waiting) = crossbeam_channel::bounded::<Task>(queue);
        let (jobs, jobs_waiting) = crossbeam_channel::bounded::<Task>(queue);
        let busy = Arc::new(AtomicUsize::new(0));
        let lanes = |jobs: Option<&Receiver<Task>>| Lanes {
            sync: sync_waiting.clone(),
            jobs: jobs.cloned(),
        };
        for index in 0..shared.max(1) {
            spawn(format!("guest-{index}"), lanes(Some(&jobs_waiting)), &busy)?;
        }
        for index in 0..reserved {
            spawn(format!("guest-sync-{index}"), lanes(None), &busy)?;
        }
        Ok(Self { sync, jobs, busy })
    }

    /// How many tasks run now, and how many wait.
    pub(super) fn load(&self) -> (usize, usize) {
        let waiting = self.sync.len() + self.jobs.len();
        (self.busy.load(Ordering::Relaxed), waiting)
    }

    /// Queues `task` in its lane, or refuses it at once when that lane's queue is full.
    pub(super) fn submit(&self, lane: Lane, task: Task) -> Result<(), QueueFull> {
        let queue = match lane {
            Lane::Sync => &self.sync,
            Lane::Job => &self.jobs,
        };
        queue.try_send(task).map_err(|error| match error {
            TrySendError::Full(_) | TrySendError::Disconnected(_) => QueueFull,
        })
    }
}

fn spawn(name: String, lanes: Lanes, busy: &Arc<AtomicUsize>) -> std::io::Result<()> {
    let busy = busy.clone();
    thread::Builder::new()
        .name(name)
        .spawn(move || work(&lanes, &busy))
        .map(drop)
}

/// Runs tasks until every sender is gone.
fn work(lanes: &Lanes, busy: &AtomicUsize) {
    while let Some(task) = lanes.next_soon().or_else(|| lanes.wait()) {
        busy.fetch_add(1, Ordering::Relaxed);
        task();
        busy.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Lanes {
    /// A waiting task, synchronous ones first.
    fn try_next(&self) -> Option<Task> {
        self.sync
            .try_recv()
            .ok()
            .or_else(|| self.jobs.as_ref().and_then(|jobs| jobs.try_recv().ok()))
    }

    /// The next task if one arrives within [`SPIN_BEFORE_SLEEP`].
    fn next_soon(&self) -> Option<Task> {
        let started = Instant::now();
        loop {
            if let Some(task) = self.try_next() {
                return Some(task);
            }
            if started.elapsed() >= SPIN_BEFORE_SLEEP {
                return None;
            }
            std::hint::spin_loop();
        }
    }

    /// Sleeps until a task comes (synchronous first when both do); `None` once the senders
    /// are gone.
    fn wait(&self) -> Option<Task> {
        let Some(jobs) = &self.jobs else {
            return self.sync.recv().ok();
        };
        crossbeam_channel::select_biased! {
            recv(self.sync) -> task => task.ok(),
            recv(jobs) -> task => task.ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    const PATIENCE: Duration = Duration::from_secs(30);

    /// Guest threads and the names of the threads their held tasks started on.
    struct Watched {
        threads: GuestThreads,
        ran: mpsc::Sender<String>,
        runs: mpsc::Receiver<String>,
    }

    impl Watched {
        fn start(shared: usize, reserved: usize, queue: usize) -> Self {
            let (ran, runs) = mpsc::channel();
            let threads = GuestThreads::start(shared, reserved, queue).expect("threads");
            Self { threads, ran, runs }
        }

        /// Queues a task that reports its thread's name, then holds that thread until the
        /// returned sender is dropped.
        fn hold(&self, lane: Lane) -> mpsc::Sender<()> {
            let (release, released) = mpsc::channel::<()>();
            let ran = self.ran.clone();
            let task = Box::new(move || {
                let name = thread::current().name().unwrap_or_default().to_owned();
                let _ = ran.send(name);
                let _ = released.recv();
            });
            self.threads.submit(lane, task).expect("room");
            release
        }

        /// The thread the next held task started on.
        fn next_start(&self) -> String {
            self.runs.recv_timeout(PATIENCE).expect("a task started")
        }
    }

    #[test]
    fn a_synchronous_task_runs_while_jobs_hold_every_shared_thread() {
        let watched = Watched::start(1, 1, 8);
        let _job = watched.hold(Lane::Job);
        assert_eq!(watched.next_start(), "guest-0");
        let _call = watched.hold(Lane::Sync);
        assert_eq!(watched.next_start(), "guest-sync-0");
    }

    #[test]
    fn jobs_never_run_on_a_reserved_thread() {
        let watched = Watched::start(1, 2, 8);
        let first = watched.hold(Lane::Job);
        assert_eq!(watched.next_start(), "guest-0");
        let _second = watched.hold(Lane::Job);
        drop(first);
        assert_eq!(watched.next_start(), "guest-0");
    }

    #[test]
    fn a_waiting_synchronous_task_goes_before_waiting_jobs() {
        let watched = Watched::start(1, 0, 8);
        let blocker = watched.hold(Lane::Job);
        watched.next_start();
        let (order, finished) = mpsc::channel();
        for (lane, name) in [(Lane::Job, "job"), (Lane::Sync, "call")] {
            let order = order.clone();
            let task = Box::new(move || {
                let _ = order.send(name);
            });
            watched.threads.submit(lane, task).expect("room");
        }
        drop(blocker);
        assert_eq!(finished.recv_timeout(PATIENCE), Ok("call"));
        assert_eq!(finished.recv_timeout(PATIENCE), Ok("job"));
    }

    #[test]
    fn each_lane_refuses_past_its_own_queue() {
        let watched = Watched::start(1, 0, 1);
        let _blocker = watched.hold(Lane::Job);
        watched.next_start();
        let threads = &watched.threads;
        threads.submit(Lane::Job, Box::new(|| {})).expect("room");
        assert_eq!(threads.submit(Lane::Job, Box::new(|| {})), Err(QueueFull));
        threads.submit(Lane::Sync, Box::new(|| {})).expect("room");
        assert_eq!(threads.load(), (1, 2));
    }
}
