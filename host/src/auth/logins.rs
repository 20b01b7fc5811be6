//! Login attempt limiting. A login counts as an attempt from the moment it is let in, before
//! its password is checked, so concurrent guesses cannot slip past the count. Failures are
//! counted per user name *and client address*: `max_failures` of them within `lockout` lock
//! that name out for that address only, so a guesser who knows a name cannot keep its owner
//! out from elsewhere. Each address may also fail at most [`ADDRESS_FACTOR`] × `max_failures`
//! times per window over all names, which bounds guessing across many names.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// How many more failures an address may have over all names than one name from it.
pub const ADDRESS_FACTOR: u32 = 10;

/// How many windows are remembered at most, per kind; past it, the oldest goes first.
const REMEMBERED: usize = 100_000;

/// Login attempts in flight and failures, in memory.
#[derive(Debug)]
pub struct LoginLimiter {
    max_failures: u32,
    lockout: Duration,
    windows: Mutex<Windows>,
    remembered: usize,
}

#[derive(Debug, Default)]
struct Windows {
    by_name: HashMap<(String, IpAddr), Window>,
    by_address: HashMap<IpAddr, Window>,
}

/// Failures since `since`, and attempts let in and not yet settled.
#[derive(Debug, Clone, Copy)]
struct Window {
    failures: u32,
    pending: u32,
    since: Instant,
}

/// A login let in: settle it with [`Attempt::failed`] or [`Attempt::succeeded`]; dropped
/// unsettled (the request went away, or the check could not run), it counts for nothing.
#[must_use]
pub struct Attempt<'a> {
    limiter: &'a LoginLimiter,
    name: String,
    address: IpAddr,
    settled: bool,
}

impl LoginLimiter {
    /// A limiter allowing `max_failures` failures per name and address per `lockout` window.
    pub fn new(max_failures: u32, lockout: Duration) -> Self {
        Self {
            max_failures: max_failures.max(1),
            lockout,
            windows: Mutex::default(),
            remembered: REMEMBERED,
        }
    }

    /// Lets a login for `name` from `address` in, or `Err(wait)` while either is locked out
    /// (failures and attempts in flight together reach the limit).
    pub fn begin(&self, name: &str, address: IpAddr) -> Result<Attempt<'_>, Duration> {
        let mut windows = self.lock();
        let key = (name.to_owned(), address);
        let per_address = self.max_failures.saturating_mul(ADDRESS_FACTOR);
        let wait = [
            self.wait(windows.by_name.get(&key), self.max_failures),
            self.wait(windows.by_address.get(&address), per_address),
        ]
        .into_iter()
        .flatten()
        .max();
        if let Some(wait) = wait {
            return Err(wait);
        }
        let (lockout, remembered) = (self.lockout, self.remembered);
        // A name no user can have is not remembered by name: it can never log in anyway, and
        // remembering it would let anyone fill the memory. Its address still counts.
        if super::is_valid_user_name(name) {
            open(&mut windows.by_name, key, lockout, remembered).pending += 1;
        }
        open(&mut windows.by_address, address, lockout, remembered).pending += 1;
        Ok(Attempt {
            limiter: self,
            name: name.to_owned(),
            address,
            settled: false,
        })
    }

    /// How long a window at `limit` still locks out, if it does.
    fn wait(&self, window: Option<&Window>, limit: u32) -> Option<Duration> {
        let window = window?;
        let waited = window.since.elapsed();
        let counted = window.failures.saturating_add(window.pending);
        (waited < self.lockout && counted >= limit).then(|| self.lockout - waited)
    }

    fn lock(&self) -> MutexGuard<'_, Windows> {
        self.windows.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Ends an attempt: it is no longer pending; a failure counts, a success clears the
    /// name's failures from its address.
    fn settle(&self, name: &str, address: IpAddr, outcome: Outcome) {
        let mut windows = self.lock();
        let key = (name.to_owned(), address);
        let failed = u32::from(outcome == Outcome::Failed);
        if let Some(window) = windows.by_name.get_mut(&key) {
            window.pending = window.pending.saturating_sub(1);
            window.failures = window.failures.saturating_add(failed);
            if outcome == Outcome::Succeeded && window.pending == 0 {
                windows.by_name.remove(&key);
            }
        }
        if let Some(window) = windows.by_address.get_mut(&address) {
            window.pending = window.pending.saturating_sub(1);
            window.failures = window.failures.saturating_add(failed);
        }
    }
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Failed,
    Succeeded,
    /// Without an answer (the request went away, or the check could not run).
    Unanswered,
}

/// The window of `key`, opened afresh when absent or past `lockout`; makes room first when
/// `remembered` windows are already held (expired ones, else the oldest).
fn open<K: Hash + Eq + Clone>(
    windows: &mut HashMap<K, Window>,
    key: K,
    lockout: Duration,
    remembered: usize,
) -> &mut Window {
    if windows.len() >= remembered && !windows.contains_key(&key) {
        windows.retain(|_, window| window.since.elapsed() < lockout || window.pending > 0);
        if windows.len() >= remembered {
            let oldest = windows
                .iter()
                .min_by_key(|(_, window)| window.since)
                .map(|(oldest, _)| oldest.clone());
            if let Some(oldest) = oldest {
                windows.remove(&oldest);
            }
        }
    }
    let window = windows.entry(key).or_insert(Window {
        failures: 0,
        pending: 0,
        since: Instant::now(),
    });
    if window.since.elapsed() >= lockout && window.pending == 0 {
        *window = Window {
            failures: 0,
            pending: 0,
            since: Instant::now(),
        };
    }
    window
}

impl Attempt<'_> {
    /// The password was wrong (or the user unknown).
    pub fn failed(mut self) {
        self.settled = true;
        self.limiter
            .settle(&self.name, self.address, Outcome::Failed);
    }

    /// The login succeeded: the name's failures from this address are forgotten.
    pub fn succeeded(mut self) {
        self.settled = true;
        self.limiter
            .settle(&self.name, self.address, Outcome::Succeeded);
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.limiter
                .settle(&self.name, self.address, Outcome::Unanswered);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    const HOME: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    const ATTACKER: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 66));

    fn fail(limiter: &LoginLimiter, name: &str, address: IpAddr) {
        limiter.begin(name, address).expect("let in").failed();
    }

    #[test]
    fn a_name_is_locked_out_after_too_many_failures_from_that_address_only() {
        let limiter = LoginLimiter::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            fail(&limiter, "alice", ATTACKER);
        }
        assert!(limiter.begin("alice", ATTACKER).is_err());
        assert!(limiter.begin("bob", ATTACKER).is_ok());
        limiter
            .begin("alice", HOME)
            .expect("alice's own address is not locked out")
            .succeeded();
        assert!(
            limiter.begin("alice", ATTACKER).is_err(),
            "still locked there"
        );
    }

    #[test]
    fn concurrent_attempts_count_before_their_passwords_are_checked() {
        let limiter = LoginLimiter::new(3, Duration::from_secs(60));
        let in_flight: Vec<Attempt<'_>> = (0..3)
            .map(|_| limiter.begin("alice", ATTACKER).expect("let in"))
            .collect();
        assert!(
            limiter.begin("alice", ATTACKER).is_err(),
            "a fourth guess waits for the three in flight"
        );
        drop(in_flight);
        assert!(
            limiter.begin("alice", ATTACKER).is_ok(),
            "unanswered attempts count for nothing"
        );
    }

    #[test]
    fn an_address_guessing_many_names_is_locked_out() {
        let limiter = LoginLimiter::new(1, Duration::from_secs(60));
        for index in 0..ADDRESS_FACTOR {
            fail(&limiter, &format!("user{index}"), ATTACKER);
        }
        assert!(limiter.begin("someone-else", ATTACKER).is_err());
        assert!(limiter.begin("someone-else", HOME).is_ok());
    }

    #[test]
    fn the_lockout_ends_after_its_window() {
        let limiter = LoginLimiter::new(1, Duration::from_millis(20));
        fail(&limiter, "alice", ATTACKER);
        assert!(limiter.begin("alice", ATTACKER).is_err());
        std::thread::sleep(Duration::from_millis(30));
        assert!(limiter.begin("alice", ATTACKER).is_ok());
    }

    #[test]
    fn at_most_the_cap_of_windows_is_remembered_the_oldest_going_first() {
        let limiter = LoginLimiter {
            remembered: 3,
            ..LoginLimiter::new(1, Duration::from_secs(60))
        };
        let addresses: Vec<IpAddr> = (1..=4)
            .map(|n| IpAddr::V4(Ipv4Addr::new(10, 1, 0, n)))
            .collect();
        for address in &addresses {
            fail(&limiter, "alice", *address);
            std::thread::sleep(Duration::from_millis(2));
        }
        let remembered = limiter.lock().by_name.len();
        assert_eq!(remembered, 3);
        assert!(
            limiter.begin("alice", addresses[0]).is_ok(),
            "the oldest was forgotten"
        );
        assert!(limiter.begin("alice", addresses[3]).is_err());
        limiter
            .begin(&"x".repeat(10_000), HOME)
            .expect("let in")
            .failed();
        limiter
            .begin("not a user name", HOME)
            .expect("let in")
            .failed();
        assert!(
            !limiter
                .lock()
                .by_name
                .keys()
                .any(|(name, _)| name.contains(' ') || name.len() > 100)
        );
    }
}
