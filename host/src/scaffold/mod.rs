//! `disciplines new NAME`: scaffolds a discipline crate that builds into a WASI component with
//! `cargo build --release`.

mod name;
mod template;

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;

use name::CrateName;

/// `disciplines new`: the crate's name and where it goes.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The crate's name: lowercase ASCII letters, digits, '-' and '_', starting with a letter.
    /// The discipline (the process id) is its CamelCase form: heat-flux → HeatFlux.
    name: String,
    /// The crate's directory, which must not exist or be empty [default: ./NAME].
    #[arg(long, value_name = "DIR")]
    path: Option<PathBuf>,
    /// The guest SDK to depend on [default: the guest-sdk of the source tree this binary was
    /// built from].
    #[arg(long, value_name = "DIR")]
    sdk_path: Option<PathBuf>,
}

/// The guest SDK of the source tree this binary was built from.
const BUILT_WITH_SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../guest-sdk");

/// Creates the crate and says how to build it.
pub fn run(args: NewArgs) -> anyhow::Result<()> {
    let name = CrateName::parse(&args.name)?;
    let sdk = guest_sdk(args.sdk_path.as_deref())?;
    let directory = args.path.unwrap_or_else(|| PathBuf::from(name.as_str()));
    check_empty_or_absent(&directory)?;
    for file in template::render(&name, &sdk) {
        write_new(&directory.join(file.path), &file.contents)?;
    }
    println!(
        "created the {} discipline in {}",
        name.discipline(),
        directory.display()
    );
    println!(
        "build it with `cargo build --release` there: target/wasm32-wasip2/release/{}",
        name.wasm_file()
    );
    Ok(())
}

/// The guest SDK's directory, absolute, checked to hold the `guest-sdk` package.
fn guest_sdk(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    let candidate = given.unwrap_or(Path::new(BUILT_WITH_SDK));
    let sdk = candidate.canonicalize().with_context(|| {
        format!(
            "no guest SDK at {}; give its directory with --sdk-path",
            candidate.display()
        )
    })?;
    let manifest = std::fs::read_to_string(sdk.join("Cargo.toml")).unwrap_or_default();
    if !manifest.contains("name = \"guest-sdk\"") {
        bail!(
            "{} is not the guest SDK (no guest-sdk package there); give its directory with --sdk-path",
            sdk.display()
        );
    }
    Ok(sdk)
}

/// Refuses a directory that exists and holds anything, or a path that is not a directory.
fn check_empty_or_absent(directory: &Path) -> anyhow::Result<()> {
    match std::fs::read_dir(directory) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                bail!(
                    "{} already exists and is not empty; nothing was written",
                    directory.display()
                );
            }
            Ok(())
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error).with_context(|| format!("cannot use {}", directory.display())),
    }
}

/// Writes a file that must not exist yet, creating its directories.
fn write_new(path: &Path, contents: &str) -> anyhow::Result<()> {
    let cannot_write = || format!("cannot write {}", path.display());
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(cannot_write)?;
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(cannot_write)?;
    file.write_all(contents.as_bytes())
        .with_context(cannot_write)
}
