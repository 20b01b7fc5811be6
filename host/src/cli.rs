//! The command line: `serve` and `config`; the client commands (`processes`, `jobs`,
//! `modules`) and `new`, which live in `client` and `scaffold`. Errors are one line and a
//! non-zero exit.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use serde::Serialize;

use crate::auth::{Bootstrap, FIRST_ADMIN};
use crate::client::problem::one_line;
use crate::client::{deploy, jobs, processes};
use crate::config::{Config, LogFormat};
use crate::sandbox::{COMPILE_SUBCOMMAND, CompileArgs, compile_child};
use crate::startup::Application;
use crate::{admin, local, scaffold};

/// Numerical disciplines compiled to WebAssembly components, served in a sandbox.
#[derive(Debug, Parser)]
#[command(name = "disciplines", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Discover the modules and serve the REST API until SIGTERM or Ctrl-C.
    Serve(ConfigArgs),
    /// Print the effective configuration as TOML (defaults, file, environment and flags merged).
    Config(ConfigArgs),
    /// The processes of a running server.
    Processes(processes::ProcessesArgs),
    /// Jobs on a running server: submit, status, wait, results, cancel.
    Jobs(jobs::JobsArgs),
    /// Discipline components: validate offline, or deploy to a running server.
    #[command(subcommand)]
    Modules(ModulesCommand),
    /// Run a component once, locally, in the server's sandbox (no server needed).
    Run(local::command::RunArgs),
    /// Users of the server's database: add, list, remove, passwd.
    Users(admin::UsersArgs),
    /// API tokens of the server's database: create, list, revoke.
    Tokens(admin::TokensArgs),
    /// Create a discipline crate that builds into a component with `cargo build --release`.
    New(scaffold::NewArgs),
    /// Internal: compile one module read on stdin, in a bounded child process of the server.
    #[command(name = COMPILE_SUBCOMMAND, hide = true)]
    Compile(CompileArgs),
}

#[derive(Debug, Subcommand)]
enum ModulesCommand {
    /// Check a component offline, with the same checks and errors as the server's deployment.
    Validate(local::command::ValidateArgs),
    /// Deploy a component to a running server (POST /processes), with a progress bar.
    Deploy(deploy::DeployArgs),
}

/// Where the configuration comes from; flags override the file and the environment.
#[derive(Debug, Args, Serialize)]
struct ConfigArgs {
    /// A TOML configuration file.
    #[arg(long, env = "DISCIPLINES_CONFIG")]
    #[serde(skip)]
    config: Option<PathBuf>,
    /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    listen: Option<SocketAddr>,
    /// Directory scanned for *.wasm discipline components.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    modules_dir: Option<PathBuf>,
    /// Directory for the server's state (artifact cache, workspaces).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    data_dir: Option<PathBuf>,
}

impl ConfigArgs {
    fn load(&self) -> anyhow::Result<Config> {
        Ok(Config::load(self.config.as_deref(), self)?)
    }
}

/// Runs the command line; every error is one line on stderr and exit code 1.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Compile(args) => return compile_child(&args),
        Command::Serve(args) => args.load().and_then(serve),
        Command::Config(args) => args.load().and_then(print_config),
        Command::Processes(args) => processes::run(args),
        Command::Jobs(args) => jobs::run(args),
        Command::Modules(ModulesCommand::Validate(args)) => local::command::validate(&args),
        Command::Modules(ModulesCommand::Deploy(args)) => deploy::run(args),
        Command::New(args) => scaffold::run(args),
        Command::Run(args) => local::command::run(args),
        Command::Users(args) => admin::users(args),
        Command::Tokens(args) => admin::tokens(args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", one_line(&format!("{error:#}")));
            ExitCode::FAILURE
        }
    }
}

fn print_config(config: Config) -> anyhow::Result<()> {
    print!("{}", toml::to_string_pretty(&config)?);
    Ok(())
}

fn serve(mut config: Config) -> anyhow::Result<()> {
    init_logging(&config);
    config
        .compile_with_this_program()
        .context("finding this program to compile modules with")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let application = Application::build(config).await?;
        println!("listening on http://{}", application.address());
        if let Bootstrap::NewToken(token) = application.first_run() {
            println!(
                "first run: created the administrator {FIRST_ADMIN}; its token (shown once, keep it): {token}"
            );
        }
        application.run_until_stopped(shutdown_signal()).await
    })
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.log.filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log.format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Completes on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing the requests in flight");
}
