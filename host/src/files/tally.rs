//! The bytes each user's uploads hold, counted once from the uploads' records at start and kept
//! up to date as uploads are saved and removed: what the storage quota adds to a user's jobs.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use super::UploadInfo;

/// Bytes of uploads by owner.
#[derive(Debug, Default)]
pub struct UploadTally {
    bytes: Mutex<HashMap<String, u64>>,
}

impl UploadTally {
    /// The tally of the uploads recorded in `dir` (`<id>.json`): every record counts, as every
    /// record's removal subtracts, whether or not its bytes (`<id>.bin`) are still there.
    pub fn of_dir(dir: &Path) -> Self {
        let tally = Self::default();
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|extension| extension != "json") {
                continue;
            }
            let info = std::fs::read(&path)
                .ok()
                .and_then(|bytes| serde_json::from_slice::<UploadInfo>(&bytes).ok());
            if let Some(info) = info {
                tally.add(&info.owner, info.size);
            }
        }
        tally
    }

    /// The bytes `owner`'s uploads hold.
    pub fn of(&self, owner: &str) -> u64 {
        self.lock().get(owner).copied().unwrap_or(0)
    }

    /// An upload of `owner`'s in progress, whose bytes may bring their uploads up to `cap`.
    pub(super) fn charge<'a>(&'a self, owner: &'a str, cap: Option<u64>) -> Charge<'a> {
        Charge {
            tally: self,
            owner,
            cap,
            bytes: 0,
        }
    }

    /// Adds `bytes` to `owner` unless that passes `cap`: `false` then, and nothing added.
    fn try_add(&self, owner: &str, bytes: u64, cap: Option<u64>) -> bool {
        let mut tally = self.lock();
        let held = tally.entry(owner.to_owned()).or_default();
        let total = held.saturating_add(bytes);
        if cap.is_some_and(|cap| total > cap) {
            return false;
        }
        *held = total;
        true
    }

    fn add(&self, owner: &str, bytes: u64) {
        let mut tally = self.lock();
        let held = tally.entry(owner.to_owned()).or_default();
        *held = held.saturating_add(bytes);
    }

    pub(super) fn remove(&self, owner: &str, bytes: u64) {
        let mut tally = self.lock();
        if let Some(held) = tally.get_mut(owner) {
            *held = held.saturating_sub(bytes);
            if *held == 0 {
                tally.remove(owner);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, u64>> {
        self.bytes.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The bytes of one upload in progress, charged to its owner as they arrive, so that uploads
/// running side by side see each other's bytes against the quota; refunded when dropped unless
/// the upload was kept.
pub struct Charge<'a> {
    tally: &'a UploadTally,
    owner: &'a str,
    cap: Option<u64>,
    bytes: u64,
}

impl Charge<'_> {
    /// Charges `bytes` more: `false` when that would bring the owner's uploads past the cap.
    pub fn add(&mut self, bytes: u64) -> bool {
        let added = self.tally.try_add(self.owner, bytes, self.cap);
        if added {
            self.bytes += bytes;
        }
        added
    }

    /// The upload was kept: its bytes stay counted.
    pub fn keep(mut self) {
        self.bytes = 0;
    }
}

impl Drop for Charge<'_> {
    fn drop(&mut self) {
        if self.bytes > 0 {
            self.tally.remove(self.owner, self.bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_side_by_side_never_pass_the_cap_and_a_dropped_one_is_refunded() {
        let tally = UploadTally::default();
        let mut first = tally.charge("alice", Some(100));
        let mut second = tally.charge("alice", Some(100));
        assert!(first.add(60));
        assert!(!second.add(60));
        assert!(second.add(40));
        assert_eq!(tally.of("alice"), 100);
        drop(second);
        assert_eq!(tally.of("alice"), 60);
        first.keep();
        assert_eq!(tally.of("alice"), 60);
    }
}
