//! Password hashing and verification on a few threads of their own. Argon2 takes 19 MiB and
//! tens of milliseconds per call on purpose; run on the async runtime's blocking pool, a flood
//! of logins ran hundreds at once (RSS 72 MB → 3.9 GB) and slowed every other request. Here
//! how many run at once, and so the memory they take, is fixed; a few more wait in a short
//! line, and past it the caller is told to retry.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};

type Job = Box<dyn FnOnce() + Send>;

/// How many password checks run at once: with Argon2's 19 MiB each, ≈ 40 MiB at most.
pub const PASSWORD_THREADS: usize = 2;
/// How many wait for a thread; past it a login answers `503 server-busy`.
pub const PASSWORD_LINE: usize = 32;

/// `threads` threads for password work and a line of at most `waiting` calls.
pub struct PasswordWorkers {
    line: SyncSender<Job>,
}

/// Every password thread is busy and the line is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many password checks at once")]
pub struct PasswordsBusy;

impl PasswordWorkers {
    /// Starts the threads; they end when this is dropped.
    pub fn start(threads: usize, waiting: usize) -> std::io::Result<Self> {
        let (line, jobs) = sync_channel::<Job>(waiting);
        let jobs = Arc::new(Mutex::new(jobs));
        for index in 0..threads.max(1) {
            let jobs = jobs.clone();
            std::thread::Builder::new()
                .name(format!("passwords-{index}"))
                .spawn(move || work(&jobs))?;
        }
        Ok(Self { line })
    }

    /// Runs `work` on a password thread and gives its result, or refuses at once when the
    /// line is full.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PasswordsBusy> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = answer.send(work());
        });
        self.line.try_send(job).map_err(|error| match error {
            TrySendError::Full(_) | TrySendError::Disconnected(_) => PasswordsBusy,
        })?;
        answered.await.map_err(|_| PasswordsBusy)
    }
}

/// Takes jobs from the line until it is closed.
fn work(jobs: &Mutex<Receiver<Job>>) {
    loop {
        let next = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
        match next {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;

    use super::*;

    #[tokio::test]
    async fn work_runs_on_the_threads_and_a_full_line_is_refused_at_once() {
        let workers = PasswordWorkers::start(1, 1).expect("threads");
        assert_eq!(workers.run(|| 6 * 7).await, Ok(42));
        let gate = Arc::new(Barrier::new(2));
        let held = gate.clone();
        let busy = workers.run(move || {
            held.wait();
        });
        let mut busy = std::pin::pin!(busy);
        // The first call occupies the one thread (held at the barrier)...
        tokio::select! {
            biased;
            _ = &mut busy => panic!("it cannot end before the barrier opens"),
            () = tokio::time::sleep(std::time::Duration::from_millis(50)) => {}
        }
        // ...one more waits in the line, and the next is refused.
        let waiting = workers.run(|| "waited");
        let mut waiting = std::pin::pin!(waiting);
        tokio::select! {
            biased;
            _ = &mut waiting => panic!("the line holds it"),
            () = tokio::time::sleep(std::time::Duration::from_millis(10)) => {}
        }
        assert_eq!(workers.run(|| ()).await, Err(PasswordsBusy));
        gate.wait();
        assert_eq!(busy.await, Ok(()));
        assert_eq!(waiting.await, Ok("waited"));
    }
}
