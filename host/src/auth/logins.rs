//! Login attempt limiting: after `max_failures` failed logins for one user name, further
//! attempts are refused until `lockout` has passed since the first of them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed logins per user name, in memory.
#[derive(Debug)]
pub struct LoginLimiter {
    max_failures: u32,
    lockout: Duration,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
    remembered: usize,
}

/// How many names are remembered at most; past it, the oldest window is forgotten first.
const REMEMBERED: usize = 100_000;

impl LoginLimiter {
    /// A limiter allowing `max_failures` failures per `lockout` window.
    pub fn new(max_failures: u32, lockout: Duration) -> Self {
        Self {
            max_failures: max_failures.max(1),
            lockout,
            failures: Mutex::default(),
            remembered: REMEMBERED,
        }
    }

    /// `Err(wait)` while `name` is locked out.
    pub fn check(&self, name: &str) -> Result<(), Duration> {
        let Ok(failures) = self.failures.lock() else {
            return Ok(());
        };
        match failures.get(name) {
            Some((count, since)) if *count >= self.max_failures => {
                let waited = since.elapsed();
                if waited < self.lockout {
                    Err(self.lockout - waited)
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    /// Records a failed login for `name`. A name no user can have is not remembered: it can
    /// never log in anyway, and remembering it would let anyone fill the memory.
    pub fn failed(&self, name: &str) {
        if !super::is_valid_user_name(name) {
            return;
        }
        let Ok(mut failures) = self.failures.lock() else {
            return;
        };
        if failures.len() >= self.remembered && !failures.contains_key(name) {
            let lockout = self.lockout;
            failures.retain(|_, (_, since)| since.elapsed() < lockout);
            if failures.len() >= self.remembered {
                let oldest = failures
                    .iter()
                    .min_by_key(|(_, (_, since))| *since)
                    .map(|(oldest, _)| oldest.clone());
                if let Some(oldest) = oldest {
                    failures.remove(&oldest);
                }
            }
        }
        let entry = failures
            .entry(name.to_owned())
            .or_insert((0, Instant::now()));
        if entry.1.elapsed() >= self.lockout {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    /// Forgets the failures of `name` after a successful login.
    pub fn succeeded(&self, name: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_locked_out_after_too_many_failures_and_others_are_not() {
        let limiter = LoginLimiter::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert!(limiter.check("alice").is_ok());
            limiter.failed("alice");
        }
        assert!(limiter.check("alice").is_err());
        assert!(limiter.check("bob").is_ok());
        limiter.succeeded("alice");
        assert!(limiter.check("alice").is_ok());
    }

    #[test]
    fn the_lockout_ends_after_its_window() {
        let limiter = LoginLimiter::new(1, Duration::from_millis(20));
        limiter.failed("alice");
        assert!(limiter.check("alice").is_err());
        std::thread::sleep(Duration::from_millis(30));
        assert!(limiter.check("alice").is_ok());
    }

    #[test]
    fn at_most_the_cap_of_names_is_remembered_the_oldest_going_first() {
        let limiter = LoginLimiter {
            remembered: 3,
            ..LoginLimiter::new(1, Duration::from_secs(60))
        };
        for name in ["a", "b", "c", "d"] {
            limiter.failed(name);
            std::thread::sleep(Duration::from_millis(2));
        }
        let remembered = limiter.failures.lock().map(|failures| failures.len());
        assert_eq!(remembered.ok(), Some(3));
        assert!(limiter.check("a").is_ok(), "the oldest was forgotten");
        assert!(limiter.check("d").is_err());
        limiter.failed(&"x".repeat(10_000));
        limiter.failed("not a user name");
        assert!(limiter.check("b").is_err() && limiter.check("c").is_err());
    }
}
