//! Compiling untrusted modules in a child process of the server's own binary
//! (`disciplines __compile`), bounded in wall-clock time (killed past it) and in memory and CPU
//! (resource limits the child sets on itself before reading the module). The child writes the
//! precompiled artifact into the server's own cache directory; the parent loads it from there.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, ExitStatus, Stdio};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rustix::process::{Resource, Rlimit, Signal, setrlimit};

use super::cache::is_environmental;
use super::{LoadError, SandboxConfig, engine};

/// The hidden subcommand of the `disciplines` binary that compiles one module.
pub const COMPILE_SUBCOMMAND: &str = "__compile";

/// The child's exit code for a module that is not valid WebAssembly (its reason on stdout);
/// `EX_DATAERR`, apart from clap's 2 for a bad command line.
const EXIT_INVALID: u8 = 65;
/// The child's exit code for a failure of its own (its reason on stdout); `EX_SOFTWARE`.
const EXIT_FAILED: u8 = 70;
/// How much of the child's stdout and stderr is kept.
const MESSAGE_BYTES: u64 = 16 << 10;
/// How often the parent looks whether the child has finished.
const POLL: Duration = Duration::from_millis(10);

/// Where untrusted modules are compiled: an explicit choice of whoever builds the sandbox.
#[derive(Debug, Clone)]
pub enum Compilation {
    /// In this process, bounded by nothing: for library tests and benchmarks, where the
    /// running program is not the `disciplines` binary.
    InProcess,
    /// In a child process running `program __compile`, bounded.
    Child(ChildCompiler),
}

/// How a child process compiles: which program, within which bounds.
#[derive(Debug, Clone)]
pub struct ChildCompiler {
    /// The `disciplines` binary.
    pub program: PathBuf,
    /// Past it, the child is killed and the module refused.
    pub timeout: Duration,
    /// The child's data-segment limit (`RLIMIT_DATA`): heap and private writable mappings.
    pub memory_bytes: u64,
    /// Children compiling at once, whoever asks (rescans and deployments alike).
    pub at_once: usize,
}

/// Lets at most a fixed number of holders in at once; the others wait (blocking).
#[derive(Debug)]
pub(super) struct Gate {
    free: Mutex<usize>,
    freed: Condvar,
}

/// A place taken in a [`Gate`], given back when dropped.
pub(super) struct Pass<'a>(&'a Gate);

impl Gate {
    pub(super) fn new(places: usize) -> Self {
        Self {
            free: Mutex::new(places.max(1)),
            freed: Condvar::new(),
        }
    }

    /// Waits for a free place and takes it.
    pub(super) fn enter(&self) -> Pass<'_> {
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        while *free == 0 {
            free = self
                .freed
                .wait(free)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *free -= 1;
        Pass(self)
    }
}

impl Drop for Pass<'_> {
    fn drop(&mut self) {
        let mut free = self.0.free.lock().unwrap_or_else(PoisonError::into_inner);
        *free += 1;
        self.0.freed.notify_one();
    }
}

/// The arguments of `disciplines __compile`: the engine settings that make an artifact
/// loadable by the parent (the compatibility check at load time refuses any mismatch), the
/// bounds, and where to write. The module's bytes come on stdin.
#[derive(Debug, clap::Args)]
pub struct CompileArgs {
    /// Whether the parent's engine counts fuel.
    #[arg(long, action = clap::ArgAction::Set)]
    fuel_metering: bool,
    /// The parent's largest memory cap.
    #[arg(long)]
    max_memory_bytes: u64,
    /// The parent's wasm stack size.
    #[arg(long)]
    max_wasm_stack_bytes: usize,
    /// The data-segment limit to set on this process.
    #[arg(long)]
    memory_bytes: u64,
    /// The CPU-time limit to set on this process, in seconds (a backstop to the parent's
    /// wall-clock timeout, should the parent die).
    #[arg(long)]
    cpu_seconds: u64,
    /// Where to write the artifact (atomically).
    #[arg(long)]
    output: PathBuf,
}

/// Compiles `bytes` in a child process into the artifact at `artifact`.
pub(super) fn compile_in_child(
    compiler: &ChildCompiler,
    config: &SandboxConfig,
    bytes: &[u8],
    artifact: &Path,
) -> Result<(), LoadError> {
    let mut child = spawn(compiler, config, artifact)
        .map_err(|error| LoadError::CompileFailed(format!("cannot start the compiler: {error}")))?;
    let (stdin, stdout, stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
    let (waited, stdout, stderr) = std::thread::scope(|scope| {
        scope.spawn(move || stdin.map(|mut stdin| stdin.write_all(bytes)));
        let stdout = scope.spawn(move || read_message(stdout));
        let stderr = scope.spawn(move || read_message(stderr));
        let waited = wait_or_kill(&mut child, compiler.timeout);
        let join =
            |reader: std::thread::ScopedJoinHandle<'_, String>| reader.join().unwrap_or_default();
        (waited, join(stdout), join(stderr))
    });
    match waited {
        Err(error) => Err(LoadError::CompileFailed(format!(
            "cannot wait for the compiler: {error}"
        ))),
        Ok(None) => Err(LoadError::CompileFailed(too_long(compiler))),
        Ok(Some(status)) => settle(status, compiler, stdout, &stderr),
    }
}

/// The child's arguments that make its engine the parent's ([`child_engine`] reads them).
fn engine_arguments(config: &SandboxConfig) -> [String; 3] {
    [
        format!("--fuel-metering={}", config.fuel_metering),
        format!("--max-memory-bytes={}", config.max_memory_bytes),
        format!("--max-wasm-stack-bytes={}", config.max_wasm_stack_bytes),
    ]
}

/// The engine a child compiles with: the parent's settings, the smallest pool.
fn child_engine(args: &CompileArgs) -> wasmtime::Result<wasmtime::Engine> {
    engine::build_engine(&SandboxConfig {
        fuel_metering: args.fuel_metering,
        max_memory_bytes: args.max_memory_bytes,
        // The child instantiates nothing: the smallest pool.
        max_live_instances: 1,
        max_wasm_stack_bytes: args.max_wasm_stack_bytes,
        epoch_tick: Duration::from_secs(1),
        cache_dir: PathBuf::new(),
        compilation: Compilation::InProcess,
    })
}

fn spawn(
    compiler: &ChildCompiler,
    config: &SandboxConfig,
    artifact: &Path,
) -> std::io::Result<Child> {
    let cores = std::thread::available_parallelism()
        .map_or(1, |cores| u64::try_from(cores.get()).unwrap_or(1));
    let cpu_seconds = compiler
        .timeout
        .as_secs()
        .saturating_add(1)
        .saturating_mul(cores);
    Command::new(&compiler.program)
        .arg(COMPILE_SUBCOMMAND)
        .args(engine_arguments(config))
        .arg(format!("--memory-bytes={}", compiler.memory_bytes))
        .arg(format!("--cpu-seconds={cpu_seconds}"))
        .arg("--output")
        .arg(artifact)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
}

/// The child's exit status, or `None` when it ran past `timeout` and was killed.
fn wait_or_kill(child: &mut Child, timeout: Duration) -> std::io::Result<Option<ExitStatus>> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            child.kill()?;
            child.wait()?;
            return Ok(None);
        }
        std::thread::sleep(POLL);
    }
}

fn read_message(stream: Option<impl Read>) -> String {
    let mut message = Vec::new();
    if let Some(mut stream) = stream {
        let _ = stream
            .by_ref()
            .take(MESSAGE_BYTES)
            .read_to_end(&mut message);
        let _ = std::io::copy(&mut stream, &mut std::io::sink());
    }
    String::from_utf8_lossy(&message).trim().to_owned()
}

/// What the child's exit means.
fn settle(
    status: ExitStatus,
    compiler: &ChildCompiler,
    stdout: String,
    stderr: &str,
) -> Result<(), LoadError> {
    use std::os::unix::process::ExitStatusExt;
    match status.code() {
        Some(0) => return Ok(()),
        Some(code) if code == i32::from(EXIT_INVALID) => return Err(LoadError::Invalid(stdout)),
        _ => {}
    }
    let out_of_memory = [
        "memory allocation of",
        "out of memory",
        "Cannot allocate memory",
    ]
    .iter()
    .any(|sign| stderr.contains(sign) || stdout.contains(sign));
    // The parent's own kill at the timeout never reaches here (`wait_or_kill` reports it): a
    // SIGKILL came from the system, the out-of-memory killer or the CPU-time backstop.
    let signal = status.signal();
    Err(LoadError::CompileFailed(if out_of_memory {
        format!(
            "compiling needed more than {} bytes of memory (sandbox.compile_memory_bytes)",
            compiler.memory_bytes
        )
    } else if signal == Some(Signal::XCPU.as_raw()) {
        too_long(compiler)
    } else if signal == Some(Signal::KILL.as_raw()) {
        "the system killed the compiler (out of memory, or past its CPU time)".to_owned()
    } else {
        format!("the compiler stopped ({status}): {stdout} {stderr}")
            .trim()
            .to_owned()
    }))
}

fn too_long(compiler: &ChildCompiler) -> String {
    format!(
        "compiling took longer than {} (sandbox.compile_timeout)",
        humantime::format_duration(compiler.timeout)
    )
}

/// `disciplines __compile`: limits itself, reads a module on stdin, writes its artifact.
pub fn compile_child(args: &CompileArgs) -> ExitCode {
    match limit_and_compile(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, message)) => {
            println!("{message}");
            ExitCode::from(code)
        }
    }
}

fn limit_and_compile(args: &CompileArgs) -> Result<(), (u8, String)> {
    let failed = |message: String| (EXIT_FAILED, message);
    limit(Resource::Data, args.memory_bytes)
        .map_err(|error| failed(format!("cannot limit memory: {error}")))?;
    limit(Resource::Cpu, args.cpu_seconds)
        .map_err(|error| failed(format!("cannot limit CPU time: {error}")))?;
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .map_err(|error| failed(format!("cannot read the module: {error}")))?;
    let engine = child_engine(args)
        .map_err(|error| failed(format!("cannot build the engine: {error:#}")))?;
    let artifact = engine.precompile_component(&bytes).map_err(|error| {
        let code = if is_environmental(&error) {
            EXIT_FAILED
        } else {
            EXIT_INVALID
        };
        (code, format!("{error:#}"))
    })?;
    super::cache::write_atomically(&args.output, &artifact)
        .map_err(|error| failed(format!("cannot write the artifact: {error}")))
}

fn limit(resource: Resource, value: u64) -> rustix::io::Result<()> {
    setrlimit(
        resource,
        Rlimit {
            current: Some(value),
            maximum: Some(value),
        },
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn a_gate_lets_no_more_than_its_places_in_at_once() {
        let gate = Arc::new(Gate::new(2));
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let holders: Vec<_> = (0..8)
            .map(|_| {
                let (gate, inside, most) = (gate.clone(), inside.clone(), most.clone());
                std::thread::spawn(move || {
                    let _pass = gate.enter();
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for holder in holders {
            holder.join().expect("a holder");
        }
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }

    /// The command line of `disciplines __compile`.
    #[derive(clap::Parser)]
    struct Child {
        #[command(flatten)]
        args: CompileArgs,
    }

    #[test]
    fn the_childs_engine_makes_artifacts_the_parents_engine_accepts() {
        for fuel_metering in [true, false] {
            let config = SandboxConfig {
                fuel_metering,
                max_memory_bytes: 64 << 20,
                max_live_instances: 4,
                max_wasm_stack_bytes: 256 << 10,
                epoch_tick: Duration::from_millis(5),
                cache_dir: PathBuf::new(),
                compilation: Compilation::InProcess,
            };
            let bounds = ["--memory-bytes=1", "--cpu-seconds=1", "--output=/x"];
            let line = std::iter::once("__compile".to_owned())
                .chain(engine_arguments(&config))
                .chain(bounds.map(String::from));
            let child = <Child as clap::Parser>::try_parse_from(line).expect("arguments");
            let parent = engine::build_engine(&config).expect("the parent's engine");
            let child = child_engine(&child.args).expect("the child's engine");
            assert_eq!(
                super::super::cache::engine_key(&parent),
                super::super::cache::engine_key(&child),
                "fuel metering {fuel_metering}"
            );
        }
    }
}
