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

    pub(super) fn add(&self, owner: &str, bytes: u64) {
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
