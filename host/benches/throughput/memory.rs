//! The server's resident memory once ready, in a process of its own (`disciplines serve`):
//! after a cold start that compiles every example module (the Python one included), and after
//! a restart on the same data directory that loads them from the artifact cache.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Time for start-up work after `/ready` (the first collection, the watcher) to settle.
const SETTLE: Duration = Duration::from_secs(2);
/// The longest a start may take (a cold one compiles the Python guest).
const START: Duration = Duration::from_secs(300);

pub fn after_starts(root: &Path, scratch: &Path) -> anyhow::Result<()> {
    let data = scratch.join("memory");
    std::fs::create_dir_all(&data)?;
    let modules = root.join("modules");
    let cold = resident_once_ready(&modules, &data)?;
    let cached = resident_once_ready(&modules, &data)?;
    println!(
        "## Resident memory once ready, example modules ({})\n",
        modules.display()
    );
    println!("| start | ready after s | RSS MiB |");
    println!("|---|---|---|");
    for (start, (took, rss)) in [
        ("cold (compiles every module)", cold),
        ("cached restart", cached),
    ] {
        println!("| {start} | {:.1} | {rss:.0} |", took.as_secs_f64());
    }
    println!("\ncold / cached: {:.2}\n", cold.1 / cached.1.max(1.0));
    Ok(())
}

/// Starts the server, waits for `/ready`, lets it settle, reads its RSS and stops it.
fn resident_once_ready(modules: &Path, data: &Path) -> anyhow::Result<(Duration, f64)> {
    let begun = Instant::now();
    let mut server = Command::new(env!("CARGO_BIN_EXE_disciplines"))
        .args(["serve", "--listen", "127.0.0.1:0", "--modules-dir"])
        .arg(modules)
        .arg("--data-dir")
        .arg(data)
        .env("DISCIPLINES_AUTH__MODE", "open")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let measured = measure(&mut server, begun);
    let _ = Command::new("kill").arg(server.id().to_string()).status();
    server.wait()?;
    measured
}

fn measure(server: &mut Child, begun: Instant) -> anyhow::Result<(Duration, f64)> {
    let stdout = server
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let mut stdout = BufReader::new(stdout);
    let mut first = String::new();
    stdout.read_line(&mut first)?;
    // The server's later lines must be read, or its writes fail once the pipe is full.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let address = first
        .trim()
        .strip_prefix("listening on http://")
        .ok_or_else(|| anyhow::anyhow!("not an address line: {first}"))?
        .to_owned();
    while !ready(&address) {
        anyhow::ensure!(begun.elapsed() < START, "not ready after {START:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let took = begun.elapsed();
    std::thread::sleep(SETTLE);
    Ok((took, resident_mib(server.id())?))
}

/// Whether `GET /ready` answers 200.
fn ready(address: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect(address) else {
        return false;
    };
    let asked = stream.write_all(b"GET /ready HTTP/1.0\r\nhost: bench\r\n\r\n");
    let mut answer = String::new();
    asked.is_ok()
        && stream.read_to_string(&mut answer).is_ok()
        && answer.split_whitespace().nth(1) == Some("200")
}

/// `VmRSS` of process `pid`, in MiB.
fn resident_mib(pid: u32) -> anyhow::Result<f64> {
    crate::status_mib(&pid.to_string(), "VmRSS:")
        .ok_or_else(|| anyhow::anyhow!("no VmRSS for {pid}"))
}
