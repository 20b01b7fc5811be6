//! Python environments: `.venv` with componentize-py pinned in `python/requirements.txt`, for the
//! Python example guest (rebuilt only when its source or the contract changed); `.venv-compat`
//! with GEMSEO and its gemseo-http client, for the compatibility tests and benchmark.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use crate::run;

/// Python guests: (the directory of `app.py`, the component built from it).
const PYTHON_GUESTS: [(&str, &str); 1] = [(
    "examples/python-paraboloid",
    "modules/python_paraboloid.wasm",
)];

const CONTRACT: &str = "guest-sdk/wit";
const REQUIREMENTS: &str = "python/requirements.txt";
/// The compatibility clients and their dependencies, installed with them.
const COMPAT_REQUIREMENTS: &str = "python/compat-requirements.txt";
/// Packages installed without their dependencies (gemseo-http would pull `gemseo[all]`).
const COMPAT_NO_DEPS: &str = "python/compat-no-deps.txt";
/// Every package of `.venv-compat` at its exact version (`pip freeze`), so that runs on any
/// day install the same environment.
const COMPAT_CONSTRAINTS: &str = "python/compat-constraints.txt";

/// Builds every Python guest whose component is older than its sources.
pub fn build_python_guests(root: &Path) -> anyhow::Result<()> {
    for (source, component) in PYTHON_GUESTS {
        let component = root.join(component);
        let inputs = [
            root.join(source).join("app.py"),
            root.join(CONTRACT).join("discipline.wit"),
            root.join(REQUIREMENTS),
        ];
        if is_newer_than_all(&component, &inputs) {
            continue;
        }
        let venv = python_env(root)?;
        run(Command::new(venv.join("bin/componentize-py"))
            .current_dir(root)
            .args([
                "-d",
                CONTRACT,
                "-w",
                "discipline-component",
                "componentize",
                "app",
                "-p",
            ])
            .arg(source)
            .arg("-o")
            .arg(&component))?;
        println!("updated {}", component.display());
    }
    Ok(())
}

/// The project's virtual environment, created or updated from `python/requirements.txt`.
pub fn python_env(root: &Path) -> anyhow::Result<PathBuf> {
    let venv = root.join(".venv");
    let marker = venv.join(".requirements-installed");
    if is_newer_than_all(&marker, &[root.join(REQUIREMENTS)]) {
        return Ok(venv);
    }
    if !venv.join("bin/python").exists() {
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    run(Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(root.join(REQUIREMENTS)))?;
    std::fs::write(&marker, "")?;
    Ok(venv)
}

/// The compatibility tests' virtual environment (`.venv-compat`), created or updated from
/// `python/compat-requirements.txt` and then `python/compat-no-deps.txt` (without dependencies).
pub fn compat_env(root: &Path) -> anyhow::Result<PathBuf> {
    let venv = root.join(".venv-compat");
    let marker = venv.join(".requirements-installed");
    let requirements = [
        root.join(COMPAT_REQUIREMENTS),
        root.join(COMPAT_NO_DEPS),
        root.join(COMPAT_CONSTRAINTS),
    ];
    if is_newer_than_all(&marker, &requirements) {
        return Ok(venv);
    }
    if !venv.join("bin/python").exists() {
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    let pip = || {
        let mut command = Command::new(venv.join("bin/pip"));
        command.args(["install", "--quiet", "--disable-pip-version-check"]);
        command
    };
    run(pip()
        .arg("-r")
        .arg(&requirements[0])
        .arg("-c")
        .arg(&requirements[2]))?;
    run(pip().args(["--no-deps", "-r"]).arg(&requirements[1]))?;
    std::fs::write(&marker, "")?;
    Ok(venv)
}

/// Whether `target` exists and is at least as recent as every one of `sources`.
fn is_newer_than_all(target: &Path, sources: &[PathBuf]) -> bool {
    let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let Some(built) = modified(target) else {
        return false;
    };
    sources
        .iter()
        .all(|source| modified(source).unwrap_or(SystemTime::UNIX_EPOCH) <= built)
}
