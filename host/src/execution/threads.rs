//! Dedicated guest threads fed by bounded queues: guests never run on the async runtime's
//! workers, and a full queue is refused at once instead of growing in memory.
//!
//! Two lanes share the threads. Synchronous work (a client waits on it) may run on every
//! thread and is taken before any queued job; jobs run only on the shared threads, so the
//! reserved threads stay free for synchronous work however many jobs are queued, and jobs
//! keep every shared thread when no synchronous call comes. A reserved thread is woken only
//! when no shared thread is looking for work: while one is, synchronous calls never bounce
//! between threads (on two cores that cost a fifth of the rate of synchronous calls).
//!
//! A thread that finishes a task looks for the next one for a short while before it sleeps:
//! under load it never sleeps, which saves two context switches per execution compared with
//! waking a pooled thread for each one.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

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

/// Which tasks a thread may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Synchronous tasks first, then jobs.
    Shared,
    /// Synchronous tasks only.
    Reserved,
}

/// `shared` threads for both lanes, `reserved` threads for synchronous work only, and a queue
/// of at most `queue` waiting tasks per lane.
pub(super) struct GuestThreads {
    pool: Arc<Pool>,
}

/// The queue is full: every thread the task may use is busy and `queue` tasks already wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct QueueFull;

/// What the threads share: the queues, who is looking for work, and a bell for each kind.
struct Pool {
    queues: Mutex<Queues>,
    shared_bell: Condvar,
    reserved_bell: Condvar,
    /// Tasks waiting in each lane, readable without the lock (for spinning threads).
    waiting_sync: AtomicUsize,
    waiting_jobs: AtomicUsize,
    busy: AtomicUsize,
    capacity: usize,
    closed: AtomicBool,
}

/// The waiting tasks, and how many threads of each kind look for work (spinning or asleep):
/// a thread counts as looking until it takes a task, under this lock, so a task queued while
/// one looks is always taken by it.
#[derive(Default)]
struct Queues {
    sync: VecDeque<Task>,
    jobs: VecDeque<Task>,
    looking_shared: usize,
    looking_reserved: usize,
}

impl GuestThreads {
    pub(super) fn start(shared: usize, reserved: usize, queue: usize) -> std::io::Result<Self> {
        let pool = Arc::new(Pool {
            queues: Mutex::default(),
            shared_bell: Condvar::new(),
            reserved_bell: Condvar::new(),
            waiting_sync: AtomicUsize::new(0),
            waiting_jobs: AtomicUsize::new(0),
            busy: AtomicUsize::new(0),
            capacity: queue,
            closed: AtomicBool::new(false),
        });
        for index in 0..shared.max(1) {
            spawn(format!("guest-{index}"), Kind::Shared, &pool)?;
        }
        for index in 0..reserved {
            spawn(format!("guest-sync-{index}"), Kind::Reserved, &pool)?;
        }
        Ok(Self { pool })
    }

    /// How many tasks run now, and how many wait.
    pub(super) fn load(&self) -> (usize, usize) {
        let pool = &self.pool;
        let waiting =
            pool.waiting_sync.load(Ordering::Relaxed) + pool.waiting_jobs.load(Ordering::Relaxed);
        (pool.busy.load(Ordering::Relaxed), waiting)
    }

    /// Queues `task` in its lane, or refuses it at once when that lane's queue is full; wakes
    /// a thread that may take it (a shared one first).
    pub(super) fn submit(&self, lane: Lane, task: Task) -> Result<(), QueueFull> {
        let pool = &self.pool;
        let mut queues = pool.lock();
        let (queue, waiting) = match lane {
            Lane::Sync => (&mut queues.sync, &pool.waiting_sync),
            Lane::Job => (&mut queues.jobs, &pool.waiting_jobs),
        };
        if queue.len() >= pool.capacity {
            return Err(QueueFull);
        }
        queue.push_back(task);
        waiting.fetch_add(1, Ordering::Relaxed);
        if queues.looking_shared > 0 {
            pool.shared_bell.notify_one();
        } else if lane == Lane::Sync && queues.looking_reserved > 0 {
            pool.reserved_bell.notify_one();
        }
        Ok(())
    }
}

impl Drop for GuestThreads {
    /// The threads run what is queued, then end.
    fn drop(&mut self) {
        let _queues = self.pool.lock();
        self.pool.closed.store(true, Ordering::Relaxed);
        self.pool.shared_bell.notify_all();
        self.pool.reserved_bell.notify_all();
    }
}

fn spawn(name: String, kind: Kind, pool: &Arc<Pool>) -> std::io::Result<()> {
    let pool = pool.clone();
    thread::Builder::new()
        .name(name)
        .spawn(move || work(&pool, kind))
        .map(drop)
}

/// Runs tasks until the pool is closed and nothing is left for this thread.
fn work(pool: &Pool, kind: Kind) {
    loop {
        pool.start_looking(kind);
        let Some(task) = pool.next_soon(kind).or_else(|| pool.wait(kind)) else {
            return;
        };
        pool.busy.fetch_add(1, Ordering::Relaxed);
        task();
        pool.busy.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Pool {
    fn lock(&self) -> MutexGuard<'_, Queues> {
        self.queues.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn start_looking(&self, kind: Kind) {
        let mut queues = self.lock();
        match kind {
            Kind::Shared => queues.looking_shared += 1,
            Kind::Reserved => queues.looking_reserved += 1,
        }
    }

    /// Whether a task this kind may take is waiting (without the lock: a hint).
    fn has_work_for(&self, kind: Kind) -> bool {
        self.waiting_sync.load(Ordering::Relaxed) > 0
            || (kind == Kind::Shared && self.waiting_jobs.load(Ordering::Relaxed) > 0)
    }

    /// Takes a task this kind may run (synchronous first) and stops looking; under the lock.
    fn take(&self, queues: &mut Queues, kind: Kind) -> Option<Task> {
        let task = match queues.sync.pop_front() {
            Some(task) => {
                self.waiting_sync.fetch_sub(1, Ordering::Relaxed);
                task
            }
            None if kind == Kind::Shared => {
                let task = queues.jobs.pop_front()?;
                self.waiting_jobs.fetch_sub(1, Ordering::Relaxed);
                task
            }
            None => return None,
        };
        match kind {
            Kind::Shared => queues.looking_shared -= 1,
            Kind::Reserved => queues.looking_reserved -= 1,
        }
        Some(task)
    }

    /// The next task if one arrives within [`SPIN_BEFORE_SLEEP`].
    fn next_soon(&self, kind: Kind) -> Option<Task> {
        let started = Instant::now();
        loop {
            if self.has_work_for(kind)
                && let Some(task) = self.take(&mut self.lock(), kind)
            {
                return Some(task);
            }
            if started.elapsed() >= SPIN_BEFORE_SLEEP {
                return None;
            }
            std::hint::spin_loop();
        }
    }

    /// Sleeps until a task this kind may run comes; `None` once the pool is closed and
    /// nothing is left.
    fn wait(&self, kind: Kind) -> Option<Task> {
        let bell = match kind {
            Kind::Shared => &self.shared_bell,
            Kind::Reserved => &self.reserved_bell,
        };
        let mut queues = self.lock();
        loop {
            if let Some(task) = self.take(&mut queues, kind) {
                return Some(task);
            }
            if self.closed.load(Ordering::Relaxed) {
                return None;
            }
            queues = bell.wait(queues).unwrap_or_else(PoisonError::into_inner);
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
    fn a_synchronous_task_goes_to_an_idle_shared_thread_not_a_reserved_one() {
        let watched = Watched::start(1, 1, 8);
        for _ in 0..10 {
            // Set-up, not a measure: the threads have started, or finished the last call, and
            // look for work again.
            thread::sleep(Duration::from_millis(50));
            let call = watched.hold(Lane::Sync);
            assert_eq!(watched.next_start(), "guest-0");
            drop(call);
        }
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
