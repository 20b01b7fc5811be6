//! Dedicated guest threads fed by a bounded queue: guests never run on the async runtime's
//! workers, and a full queue is refused at once instead of growing in memory.
//!
//! A thread that finishes a task looks for the next one for a short while before it sleeps:
//! under load it never sleeps, which saves two context switches per execution compared with
//! waking a pooled thread for each one.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError, TrySendError};

/// How long an idle guest thread keeps looking for work before it sleeps.
const SPIN_BEFORE_SLEEP: Duration = Duration::from_micros(50);

type Task = Box<dyn FnOnce() + Send>;

/// `threads` guest threads and a queue of at most `queue` waiting tasks.
pub(super) struct GuestThreads {
    tasks: Sender<Task>,
    busy: Arc<AtomicUsize>,
}

/// The queue is full: every thread is busy and `queue` tasks already wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct QueueFull;

impl GuestThreads {
    pub(super) fn start(threads: usize, queue: usize) -> std::io::Result<Self> {
        let (tasks, waiting) = crossbeam_channel::bounded::<Task>(queue);
        let busy = Arc::new(AtomicUsize::new(0));
        for index in 0..threads.max(1) {
            let waiting = waiting.clone();
            let busy = busy.clone();
            thread::Builder::new()
                .name(format!("guest-{index}"))
                .spawn(move || work(&waiting, &busy))?;
        }
        Ok(Self { tasks, busy })
    }

    /// How many tasks run now, and how many wait.
    pub(super) fn load(&self) -> (usize, usize) {
        (self.busy.load(Ordering::Relaxed), self.tasks.len())
    }

    /// Queues `task`, or refuses it at once when the queue is full.
    pub(super) fn submit(&self, task: Task) -> Result<(), QueueFull> {
        self.tasks.try_send(task).map_err(|error| match error {
            TrySendError::Full(_) | TrySendError::Disconnected(_) => QueueFull,
        })
    }
}

/// Runs tasks until every sender is gone.
fn work(waiting: &Receiver<Task>, busy: &AtomicUsize) {
    loop {
        let task = match next_soon(waiting) {
            Some(task) => task,
            None => match waiting.recv() {
                Ok(task) => task,
                Err(_) => return,
            },
        };
        busy.fetch_add(1, Ordering::Relaxed);
        task();
        busy.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The next task if one arrives within [`SPIN_BEFORE_SLEEP`].
fn next_soon(waiting: &Receiver<Task>) -> Option<Task> {
    let started = Instant::now();
    loop {
        match waiting.try_recv() {
            Ok(task) => return Some(task),
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) if started.elapsed() >= SPIN_BEFORE_SLEEP => return None,
            Err(TryRecvError::Empty) => std::hint::spin_loop(),
        }
    }
}
