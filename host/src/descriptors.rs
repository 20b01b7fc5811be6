//! The process's own descriptor limit. Each guest may hold `limits.descriptors` WASI handles
//! (each open file is a host descriptor); the server raises its soft limit to the hard one at
//! start and says so when even that leaves the server too few beside its guests.

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

use crate::Config;

/// Descriptors the server keeps for itself: connections, the database, uploads, modules.
const SERVER_OWN: u64 = 1024;

/// Raises the soft descriptor limit to the hard one, and warns when guests at their cap
/// would leave the server fewer than [`SERVER_OWN`].
pub fn raise_limit(config: &Config) {
    let Rlimit { current, maximum } = getrlimit(Resource::Nofile);
    let raised = Rlimit {
        current: maximum,
        maximum,
    };
    let limit = match setrlimit(Resource::Nofile, raised) {
        Ok(()) => maximum,
        Err(error) => {
            tracing::warn!(%error, "could not raise the descriptor limit");
            current
        }
    };
    let guests = u64::try_from(config.execution.guest_threads()).unwrap_or(u64::MAX);
    let needed = guests
        .saturating_mul(config.limits.descriptors)
        .saturating_add(SERVER_OWN);
    if let Some(limit) = limit
        && limit < needed
    {
        tracing::warn!(
            limit,
            needed,
            "the process may open fewer descriptors than its guests may hold plus the server's own: lower limits.descriptors or execution.concurrency, or raise the limit (ulimit -n)"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        raise_limit(&Config::default());
        let Rlimit { current, maximum } = getrlimit(Resource::Nofile);
        assert_eq!(current, maximum);
    }
}
