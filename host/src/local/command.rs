//! The command-line side of the offline commands: `modules validate` and `run`, their flags and
//! what they print.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use serde_json::{Map, Value};

use super::LocalRun;
use crate::client::Printer;
use crate::client::jobs::json_object;
use crate::client::output::{results_summary, text};
use crate::config::Config;
use crate::limits::RequestedLimits;

/// `disciplines modules validate FILE`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The component to check.
    file: PathBuf,
    /// A TOML configuration file (its limits apply to describe()).
    #[arg(long, env = "DISCIPLINES_CONFIG")]
    config: Option<PathBuf>,
    /// Print the summary as JSON (the server's process summary members).
    #[arg(long)]
    json: bool,
}

/// `disciplines run FILE`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The component to run, e.g. target/wasm32-wasip2/release/my_discipline.wasm.
    file: PathBuf,
    /// The inputs: a JSON object, or @FILE (@- for stdin); defaults fill the gaps.
    #[arg(long, value_name = "JSON", default_value = "{}")]
    inputs: String,
    /// The discipline options: a JSON object, or @FILE.
    #[arg(long, value_name = "JSON")]
    options: Option<String>,
    /// Also compute the Jacobian of every output with respect to every input.
    #[arg(long)]
    linearize: bool,
    /// A file to place in the workspace, as PATH_INSIDE=LOCAL_FILE (repeatable).
    #[arg(long = "file", value_name = "INSIDE=LOCAL")]
    files: Vec<String>,
    /// Keep the workspace afterwards in this directory (it must not exist yet).
    #[arg(long, value_name = "DIR")]
    keep_workspace: Option<PathBuf>,
    /// Fuel budget (at most the configured maximum).
    #[arg(long)]
    fuel: Option<u64>,
    /// Memory cap in bytes (at most the configured maximum).
    #[arg(long)]
    memory_bytes: Option<u64>,
    /// Disk the workspace may use, in bytes (at most the configured maximum).
    #[arg(long)]
    workspace_bytes: Option<u64>,
    /// Entries the workspace may hold (at most the configured maximum).
    #[arg(long)]
    workspace_files: Option<u64>,
    /// Wall-clock deadline, e.g. 10s (at most the configured maximum).
    #[arg(long, value_parser = humantime::parse_duration)]
    deadline: Option<Duration>,
    /// A TOML configuration file (its limits apply).
    #[arg(long, env = "DISCIPLINES_CONFIG")]
    config: Option<PathBuf>,
    /// Print the whole result document as JSON (outputs, Jacobian, fuel, captured output).
    #[arg(long)]
    json: bool,
}

/// Checks a component and prints its summary.
pub fn validate(args: &ValidateArgs) -> anyhow::Result<()> {
    let printer = Printer::new(args.json);
    let config = load_config(args.config.as_ref())?;
    let summary = super::validate(&config, &args.file)?;
    printer.document(&summary, |summary| {
        format!(
            "valid: {} {} ({}), inputs {}, outputs {}{}",
            text(summary, "id"),
            text(summary, "version"),
            text(summary, "moduleDigest"),
            names(&summary["inputNames"]),
            names(&summary["outputNames"]),
            if summary["hasJacobian"] == true {
                ", with a Jacobian"
            } else {
                ""
            }
        )
    });
    Ok(())
}

/// Runs a component once and prints its outputs (and Jacobian); what the guest printed and
/// logged goes to stderr.
pub fn run(args: RunArgs) -> anyhow::Result<()> {
    let config = load_config(args.config.as_ref())?;
    let request = LocalRun {
        inputs: object(json_object("--inputs", &args.inputs)?),
        options: match &args.options {
            Some(options) => object(json_object("--options", options)?),
            None => Map::new(),
        },
        linearize: args.linearize,
        files: args
            .files
            .iter()
            .map(|file| parse_file(file))
            .collect::<anyhow::Result<_>>()?,
        keep_workspace: args.keep_workspace.clone(),
        limits: RequestedLimits {
            fuel: args.fuel,
            memory_bytes: args.memory_bytes,
            deadline_ms: args
                .deadline
                .map(|deadline| u64::try_from(deadline.as_millis()).unwrap_or(u64::MAX)),
            workspace_bytes: args.workspace_bytes,
            workspace_files: args.workspace_files,
        },
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let document = runtime.block_on(super::run(&config, &args.file, request))?;
    if args.json {
        println!("{document}");
        return Ok(());
    }
    print_captured(&document);
    println!("{}", results_summary(&document["outputs"]));
    if let Some(jacobian) = document.get("jacobian").and_then(Value::as_object) {
        for (output, blocks) in jacobian {
            for (input, block) in blocks.as_object().into_iter().flatten() {
                println!("d{output}/d{input} = {block}");
            }
        }
    }
    Ok(())
}

fn load_config(file: Option<&PathBuf>) -> anyhow::Result<Config> {
    let no_overrides = serde_json::Map::new();
    let mut config = Config::load(file.map(PathBuf::as_path), no_overrides)?;
    config
        .compile_with_this_program()
        .context("finding this program to compile modules with")?;
    Ok(config)
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(members) => members,
        _ => Map::new(),
    }
}

fn parse_file(argument: &str) -> anyhow::Result<(String, PathBuf)> {
    let (inside, local) = argument
        .split_once('=')
        .with_context(|| format!("--file {argument:?} must be PATH_INSIDE=LOCAL_FILE"))?;
    Ok((inside.to_owned(), PathBuf::from(local)))
}

fn names(list: &Value) -> String {
    let names: Vec<&str> = list
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    names.join(", ")
}

/// The guest's stdout, stderr and log lines, on stderr.
pub(super) fn print_captured(document: &Value) {
    for stream in ["stdout", "stderr"] {
        if let Some(text) = document[stream].as_str().filter(|text| !text.is_empty()) {
            eprintln!("--- guest {stream} ---\n{}", text.trim_end());
        }
    }
    for line in document["log"].as_array().into_iter().flatten() {
        eprintln!("[{}] {}", text(line, "level"), text(line, "message"));
    }
}
