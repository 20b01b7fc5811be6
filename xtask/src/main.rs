//! Project automation: `cargo xtask <build-guests | serve | test | lint | bench>`.

mod python;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

/// Project automation.
#[derive(Debug, Parser)]
#[command(name = "xtask")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Build the example disciplines into modules/ and the test fixtures into tests/fixtures/built/.
    BuildGuests,
    /// Build the guests, then serve them on the embedded default (extra arguments go to `serve`).
    Serve {
        /// Arguments passed to `disciplines serve`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Build the guests and `.venv-compat`, then run every test of the workspace.
    Test,
    /// Formatting and clippy (host and guests), warnings as errors.
    Lint,
    /// Build the guests and `.venv-compat`, then run the benchmarks and print their figures.
    Bench,
}

/// A Cargo workspace of guests and where its components go.
struct GuestWorkspace {
    manifest: &'static str,
    destination: &'static str,
}

const GUEST_WORKSPACES: [GuestWorkspace; 2] = [
    GuestWorkspace {
        manifest: "examples/Cargo.toml",
        destination: "modules",
    },
    GuestWorkspace {
        manifest: "tests/fixtures/Cargo.toml",
        destination: "tests/fixtures/built",
    },
];

const GUEST_TARGET: &str = "wasm32-wasip2";

fn main() -> anyhow::Result<()> {
    let root = project_root()?;
    match Cli::parse().task {
        Task::BuildGuests => build_guests(&root),
        Task::Serve { args } => {
            build_guests(&root)?;
            let mut command = cargo(&root);
            command.args([
                "run",
                "--release",
                "-p",
                "host",
                "--bin",
                "disciplines",
                "--",
                "serve",
            ]);
            run(command.args(args))
        }
        Task::Test => test(&root),
        Task::Lint => lint(&root),
        Task::Bench => {
            build_guests(&root)?;
            python::compat_env(&root)?;
            run(cargo(&root).args(["bench", "-p", "host", "--bench", "throughput"]))
        }
    }
}

/// Every test: the guests' own (natively), then the host workspace's against built guests and,
/// for the GEMSEO compatibility tests, the clients installed in `.venv-compat`.
fn test(root: &Path) -> anyhow::Result<()> {
    build_guests(root)?;
    for guests in &GUEST_WORKSPACES {
        run(guest_cargo(root, guests).arg("test"))?;
    }
    python::compat_env(root)?;
    run(cargo(root).args(["test", "--workspace"]))
}

fn lint(root: &Path) -> anyhow::Result<()> {
    run(cargo(root).args(["fmt", "--all", "--check"]))?;
    for guests in &GUEST_WORKSPACES {
        run(guest_cargo(root, guests).args(["fmt", "--all", "--check"]))?;
    }
    run(cargo(root).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    for guests in &GUEST_WORKSPACES {
        let mut command = guest_cargo(root, guests);
        run(command.args(["clippy", "--target", GUEST_TARGET, "--", "-D", "warnings"]))?;
    }
    Ok(())
}

/// Builds every guest workspace for wasm32-wasip2 (Cargo rebuilds only what changed) and copies
/// components whose bytes changed to their destination.
fn build_guests(root: &Path) -> anyhow::Result<()> {
    ensure_guest_target(root)?;
    for guests in &GUEST_WORKSPACES {
        let mut command = guest_cargo(root, guests);
        run(command.args(["build", "--release", "--target", GUEST_TARGET]))?;
        let built = guest_target_dir(root).join(GUEST_TARGET).join("release");
        let destination = root.join(guests.destination);
        std::fs::create_dir_all(&destination)?;
        for package in workspace_cdylibs(root, guests)? {
            let file = format!("{}.wasm", package.replace('-', "_"));
            copy_if_changed(&built.join(&file), &destination.join(&file))?;
        }
    }
    python::build_python_guests(root)
}

/// Installs the guests' target when the pinned toolchain lacks it: rustup adds the targets of
/// `rust-toolchain.toml` only when it installs the toolchain, not to one already there.
fn ensure_guest_target(root: &Path) -> anyhow::Result<()> {
    let sysroot = Command::new("rustc")
        .current_dir(root)
        .args(["--print", "sysroot"])
        .output()?;
    let sysroot = String::from_utf8(sysroot.stdout)?;
    let library = Path::new(sysroot.trim())
        .join("lib/rustlib")
        .join(GUEST_TARGET);
    if library.exists() {
        return Ok(());
    }
    run(Command::new("rustup")
        .current_dir(root)
        .args(["target", "add", GUEST_TARGET]))
}

fn guest_cargo(root: &Path, guests: &GuestWorkspace) -> Command {
    let mut command = cargo(root);
    let manifest = root.join(guests.manifest);
    command
        .env("CARGO_TARGET_DIR", guest_target_dir(root))
        .current_dir(manifest.parent().unwrap_or(root));
    command
}

/// Guests share one target directory, beside the host's, so their dependencies build once.
fn guest_target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("guests")
}

/// The `cdylib` packages of a guest workspace: each is one component.
fn workspace_cdylibs(root: &Path, guests: &GuestWorkspace) -> anyhow::Result<Vec<String>> {
    let dir = root.join(guests.manifest);
    let dir = dir.parent().unwrap_or(root);
    let mut packages = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let manifest = entry?.path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        if text.contains("cdylib") {
            packages.push(
                package_name(&text)
                    .with_context(|| format!("no package name in {}", manifest.display()))?,
            );
        }
    }
    packages.sort();
    Ok(packages)
}

fn package_name(manifest: &str) -> Option<String> {
    manifest
        .lines()
        .skip_while(|line| line.trim() != "[package]")
        .find_map(|line| line.trim().strip_prefix("name").map(str::trim))
        .and_then(|rest| rest.strip_prefix('='))
        .map(|name| name.trim().trim_matches('"').to_owned())
}

fn copy_if_changed(from: &Path, to: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(from).with_context(|| format!("reading {}", from.display()))?;
    if std::fs::read(to).ok().as_deref() == Some(bytes.as_slice()) {
        return Ok(());
    }
    // Write beside, then rename: a server watching the directory never sees half a file.
    let partial = to.with_extension("wasm.partial");
    std::fs::write(&partial, &bytes)?;
    std::fs::rename(&partial, to)?;
    println!("updated {}", to.display());
    Ok(())
}

fn cargo(root: &Path) -> Command {
    // The rustup proxy, so that rust-toolchain.toml chooses the toolchain.
    let mut command = Command::new("cargo");
    command.current_dir(root);
    command
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    let status = command
        .status()
        .with_context(|| format!("starting {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed: {status}");
    }
    Ok(())
}

/// The checkout xtask was run from. `cargo run` says so at run time; the path compiled in is
/// only a fallback, since one xtask binary in a shared target directory may have been built
/// from another checkout (CI's clone) and would then work on that one.
fn project_root() -> anyhow::Result<PathBuf> {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest_dir
        .parent()
        .map(Path::to_owned)
        .context("xtask lives one level below the project root")
}
