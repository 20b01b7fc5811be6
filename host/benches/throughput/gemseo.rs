//! The Sellar MDF study through GEMSEO's own gemseo-http client against this server, timed
//! against GEMSEO's in-process disciplines in the same run (`python/compat/mdf_benchmark.py`).

use std::path::Path;
use std::process::Command;

use host::Config;

const TOKEN: &str = "benchmark-admin-token-0123456789abcdef01234";

/// Serves the three Sellar disciplines with authentication on, and runs the study script.
pub fn mdf_study(root: &Path, scratch: &Path) -> anyhow::Result<()> {
    let python = root.join(".venv-compat/bin/python");
    anyhow::ensure!(
        python.exists(),
        "run `cargo xtask bench` (it installs .venv-compat)"
    );
    let modules = scratch.join("gemseo/modules");
    std::fs::create_dir_all(&modules)?;
    for name in ["sellar1", "sellar2", "sellar_system"] {
        let file = format!("{name}.wasm");
        std::fs::copy(root.join("modules").join(&file), modules.join(&file))?;
    }
    let mut config = Config {
        listen: "127.0.0.1:0".parse()?,
        modules_dir: modules,
        data_dir: scratch.join("gemseo/data"),
        ..Config::default()
    };
    config.auth.mode = host::auth::AuthMode::Tokens;
    config.auth.bootstrap_token = Some(TOKEN.into());
    let (server, address) = crate::serve(config)?;
    println!("## Sellar MDF (SLSQP) through GEMSEO's HTTPDiscipline vs in-process GEMSEO\n");
    let status = Command::new(python)
        .current_dir(root)
        .args(["python/compat/mdf_benchmark.py", "--repeat", "5"])
        .env("DISCIPLINES_PORT", address.port().to_string())
        .env("DISCIPLINES_TOKEN", TOKEN)
        .status()?;
    anyhow::ensure!(status.success(), "the MDF benchmark failed");
    println!();
    drop(server);
    Ok(())
}
