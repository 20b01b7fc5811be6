//! Hot reload: the modules directory is watched for changes (files created, written, renamed,
//! removed, or their times changed), and each burst of them (debounced) is followed by one
//! rescan, off the async runtime. Mere reads — such as the rescan's own opening of the
//! directory and its files — are not changes: an idle directory causes no rescan at all.

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, MetadataKind, ModifyKind};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};

use super::Registry;

/// A burst of changes waits at most this many debounce periods for quiet before its rescan.
const LONGEST_BURST: u32 = 8;

/// Keeps the directory watched while it lives.
pub struct Watch {
    _watcher: RecommendedWatcher,
}

/// Watches the registry's directory; every burst of changes, once quiet for `debounce`,
/// triggers a rescan on a thread of its own. The watch holds the registry weakly, so dropping
/// the registry ends it.
pub fn watch(registry: &Arc<Registry>, debounce: Duration) -> anyhow::Result<Watch> {
    let (changed, changes) = std::sync::mpsc::channel::<()>();
    let target: Weak<Registry> = Arc::downgrade(registry);
    std::thread::Builder::new()
        .name("modules-reload".into())
        .spawn(move || {
            while changes.recv().is_ok() {
                if !wait_for_quiet(&changes, debounce) {
                    break;
                }
                let Some(registry) = target.upgrade() else {
                    break;
                };
                registry.reconcile();
            }
        })?;
    let mut watcher = notify::recommended_watcher(move |event| report(&changed, event))?;
    watcher.watch(registry.dir(), RecursiveMode::NonRecursive)?;
    Ok(Watch { _watcher: watcher })
}

/// Passes changes on to the reload thread; reads and errors are not changes.
fn report(changed: &Sender<()>, event: notify::Result<Event>) {
    match event {
        Ok(event) if is_change(&event.kind) => {
            let _ = changed.send(());
        }
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "watching the modules directory"),
    }
}

/// Whether an event may change what a rescan finds: anything but opening, reading and
/// closing without writing, and access-time updates.
fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime)) => false,
        _ => true,
    }
}

/// Absorbs further changes until none came for `debounce` (at most `LONGEST_BURST` periods);
/// false once the watcher is gone.
fn wait_for_quiet(changes: &Receiver<()>, debounce: Duration) -> bool {
    let deadline = Instant::now() + debounce * LONGEST_BURST;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match changes.recv_timeout(debounce.min(left)) {
            Ok(()) if !left.is_zero() => {}
            Ok(()) | Err(RecvTimeoutError::Timeout) => return true,
            Err(RecvTimeoutError::Disconnected) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, DataChange, RemoveKind, RenameMode};

    #[test]
    fn reads_are_not_changes_and_writes_are() {
        let reads = [
            EventKind::Access(AccessKind::Open(AccessMode::Any)),
            EventKind::Access(AccessKind::Close(AccessMode::Read)),
            EventKind::Access(AccessKind::Read),
            EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime)),
        ];
        let changes = [
            EventKind::Create(CreateKind::File),
            EventKind::Access(AccessKind::Close(AccessMode::Write)),
            EventKind::Modify(ModifyKind::Data(DataChange::Any)),
            EventKind::Modify(ModifyKind::Name(RenameMode::To)),
            EventKind::Modify(ModifyKind::Metadata(MetadataKind::Any)),
            EventKind::Remove(RemoveKind::File),
            EventKind::Any,
        ];
        assert!(reads.iter().all(|kind| !is_change(kind)));
        assert!(changes.iter().all(is_change));
    }
}
