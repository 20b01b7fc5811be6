//! An idle server's cost: wake-ups (voluntary context switches) and CPU time per second of
//! its threads, read from `/proc/self/task` (the server runs in this process; threads that
//! were there before it started, left by earlier sections, are not counted), and which
//! threads wake most.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// Time for the start-up work (discovery, first rescan, collector) to be over.
const SETTLE: Duration = Duration::from_secs(2);
/// How long the server is watched idle.
const IDLE: Duration = Duration::from_secs(5);
/// How many of the most wakeful thread names are shown.
const NAMED_THREADS: usize = 3;

/// What one thread has done since it started.
#[derive(Debug, Clone, Default)]
struct ThreadCounters {
    name: String,
    /// Voluntary context switches: each is a sleep the thread woke from.
    switches: u64,
    /// Time on a CPU, in nanoseconds.
    cpu_ns: u64,
}

/// Starts a server with the default configuration, lets it settle, and watches it idle.
pub fn wake_ups(sellar1: &Path, scratch: &Path) -> anyhow::Result<()> {
    let earlier = threads_of_this_process()?;
    let (server, _, _) = crate::start_server(sellar1, scratch, "idle")?;
    std::thread::sleep(SETTLE);
    let before = threads_of_this_process()?;
    let begun = Instant::now();
    std::thread::sleep(IDLE);
    let mut after = threads_of_this_process()?;
    let seconds = begun.elapsed().as_secs_f64();
    drop(server);
    after.retain(|tid, _| !earlier.contains_key(tid));
    anyhow::ensure!(!after.is_empty(), "no thread of the server could be read");
    let (mut switches, mut cpu_ns) = (0, 0);
    let mut by_name: HashMap<&str, u64> = HashMap::new();
    for (tid, now) in &after {
        let then = before.get(tid).cloned().unwrap_or_default();
        let woke = now.switches.saturating_sub(then.switches);
        switches += woke;
        cpu_ns += now.cpu_ns.saturating_sub(then.cpu_ns);
        *by_name.entry(&now.name).or_default() += woke;
    }
    let mut by_name: Vec<(&str, u64)> = by_name.into_iter().filter(|(_, woke)| *woke > 0).collect();
    by_name.sort_by_key(|(_, woke)| std::cmp::Reverse(*woke));
    let busiest: Vec<String> = by_name
        .iter()
        .take(NAMED_THREADS)
        .map(|(name, woke)| format!("{name} {:.1}", *woke as f64 / seconds))
        .collect();
    println!(
        "\n## An idle server (default configuration, one module), {}s after {}s to settle\n",
        IDLE.as_secs(),
        SETTLE.as_secs()
    );
    println!(
        "| threads | wake-ups/s | CPU ms/s | most wakeful threads, by name (wake-ups/s) |\n|---|---|---|---|"
    );
    println!(
        "| {} | {:.1} | {:.2} | {} |",
        after.len(),
        switches as f64 / seconds,
        cpu_ns as f64 / 1e6 / seconds,
        busiest.join(", ")
    );
    Ok(())
}

/// Every thread of this process but the calling one (the benchmark's, asleep meanwhile), by id.
fn threads_of_this_process() -> anyhow::Result<HashMap<String, ThreadCounters>> {
    let own = std::fs::read_link("/proc/thread-self")?
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut threads = HashMap::new();
    for entry in std::fs::read_dir("/proc/self/task")? {
        let entry = entry?;
        let tid = entry.file_name().to_string_lossy().into_owned();
        if tid == own {
            continue;
        }
        // A thread that ended meanwhile has no files left: it is no longer counted.
        if let Some(counters) = read_thread(&entry.path()) {
            threads.insert(tid, counters);
        }
    }
    Ok(threads)
}

fn read_thread(dir: &Path) -> Option<ThreadCounters> {
    let status = std::fs::read_to_string(dir.join("status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|value| value.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    // schedstat's first field is the time on a CPU in nanoseconds, finer than stat's ticks.
    let cpu_ns = std::fs::read_to_string(dir.join("schedstat"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(ThreadCounters {
        name: std::fs::read_to_string(dir.join("comm"))
            .ok()?
            .trim()
            .to_owned(),
        switches: field("voluntary_ctxt_switches:"),
        cpu_ns,
    })
}
