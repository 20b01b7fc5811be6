//! Hot reload: the modules directory is watched, and each burst of changes (debounced) is
//! followed by one rescan, off the async runtime.

use std::sync::{Arc, Weak};
use std::time::Duration;

use notify_debouncer_mini::notify::RecursiveMode;
use notify_debouncer_mini::{DebounceEventResult, Debouncer, new_debouncer};

use super::Registry;

/// Keeps the directory watched while it lives.
pub struct Watch {
    _debouncer: Debouncer<notify_debouncer_mini::notify::RecommendedWatcher>,
}

/// Watches the registry's directory; every debounced burst of changes triggers a rescan on a
/// thread of its own. The watch holds the registry weakly, so dropping the registry ends it.
pub fn watch(registry: &Arc<Registry>, debounce: Duration) -> anyhow::Result<Watch> {
    let (changed, changes) = std::sync::mpsc::channel::<()>();
    let target: Weak<Registry> = Arc::downgrade(registry);
    std::thread::Builder::new()
        .name("modules-reload".into())
        .spawn(move || {
            while changes.recv().is_ok() {
                // Changes that arrived during the last rescan are all covered by one more.
                while changes.try_recv().is_ok() {}
                let Some(registry) = target.upgrade() else {
                    break;
                };
                registry.reconcile();
            }
        })?;
    let mut debouncer = new_debouncer(debounce, move |events: DebounceEventResult| match events {
        Ok(_) => {
            let _ = changed.send(());
        }
        Err(error) => tracing::warn!(%error, "watching the modules directory"),
    })?;
    debouncer
        .watcher()
        .watch(registry.dir(), RecursiveMode::NonRecursive)?;
    Ok(Watch {
        _debouncer: debouncer,
    })
}
