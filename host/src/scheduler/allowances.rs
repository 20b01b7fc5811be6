//! How much storage each user's finished jobs may keep after a collection: first their own
//! quota, then, while everyone's together passes the global cap, an equal share of it — the
//! users keeping the most are cut down first, to one level, and a user keeping less than that
//! level keeps everything. One user's usage thus never expires the results of a user who
//! keeps no more than their share.

/// The allowance of every user who must lose results: `(owner, bytes they may keep)`, for
/// each user whose usage (in `usage`) passes their quota (from `quota_of`) or the level that
/// fits everyone under `global_cap`.
pub fn allowances(
    usage: &[(String, u64)],
    quota_of: impl Fn(&str) -> Option<u64>,
    global_cap: u64,
) -> Vec<(String, u64)> {
    let own: Vec<u64> = usage
        .iter()
        .map(|(owner, used)| quota_of(owner).map_or(*used, |quota| quota.min(*used)))
        .collect();
    let level = fair_level(&own, global_cap);
    usage
        .iter()
        .zip(own)
        .map(|((owner, used), own)| (owner, *used, own.min(level)))
        .filter(|(_, used, allowed)| allowed < used)
        .map(|(owner, _, allowed)| (owner.clone(), allowed))
        .collect()
}

/// The largest level such that every usage cut down to it fits `cap` together (`u64::MAX`
/// when everything fits as it is).
fn fair_level(usage: &[u64], cap: u64) -> u64 {
    let mut sorted = usage.to_vec();
    sorted.sort_unstable();
    let mut left = cap;
    for (index, &used) in sorted.iter().enumerate() {
        let sharing = u64::try_from(sorted.len() - index).unwrap_or(u64::MAX);
        if used.saturating_mul(sharing) > left {
            return left / sharing;
        }
        left -= used;
    }
    u64::MAX
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(pairs: &[(&str, u64)]) -> Vec<(String, u64)> {
        pairs
            .iter()
            .map(|(owner, used)| ((*owner).to_owned(), *used))
            .collect()
    }

    fn no_quota(_: &str) -> Option<u64> {
        None
    }

    #[test]
    fn under_the_cap_and_the_quotas_nobody_loses_anything() {
        let kept = usage(&[("alice", 400), ("bob", 500)]);
        assert!(allowances(&kept, no_quota, 1000).is_empty());
    }

    #[test]
    fn a_user_over_their_quota_loses_only_their_own() {
        let kept = usage(&[("alice", 5000), ("bob", 500)]);
        let quota = |owner: &str| (owner == "alice").then_some(1000);
        assert_eq!(
            allowances(&kept, quota, 10_000),
            vec![("alice".to_owned(), 1000)]
        );
    }

    #[test]
    fn the_global_cap_cuts_the_heaviest_user_before_anyone_under_their_share() {
        let kept = usage(&[("alice", 1 << 40), ("bob", 300), ("carol", 200)]);
        // Bob and Carol keep less than a third of the cap each: only Alice is cut, to the rest.
        assert_eq!(
            allowances(&kept, no_quota, 1200),
            vec![("alice".to_owned(), 700)]
        );
    }

    #[test]
    fn users_over_an_equal_share_are_cut_to_the_same_level() {
        let kept = usage(&[("alice", 900), ("bob", 600), ("carol", 100)]);
        let cut = allowances(&kept, no_quota, 700);
        assert_eq!(
            cut,
            vec![("alice".to_owned(), 300), ("bob".to_owned(), 300)]
        );
        let total: u64 = 100 + cut.iter().map(|(_, allowed)| allowed).sum::<u64>();
        assert!(total <= 700);
    }

    #[test]
    fn quotas_apply_before_the_share_is_computed() {
        // Alice's quota brings her to 100: the 1000 of cap then fit Bob's 800 as well.
        let kept = usage(&[("alice", 5000), ("bob", 800)]);
        let quota = |owner: &str| (owner == "alice").then_some(100);
        assert_eq!(
            allowances(&kept, quota, 1000),
            vec![("alice".to_owned(), 100)]
        );
    }
}
