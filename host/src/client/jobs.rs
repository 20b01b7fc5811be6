//! `disciplines jobs …`: submit a job, follow it until it ends, read its results, cancel it.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Map, Value, json};

use super::output::{job_summary, results_summary, text};
use super::{Client, ClientOptions, Printer};

/// `disciplines jobs`: the options and the subcommand.
#[derive(Debug, Args)]
pub struct JobsArgs {
    #[command(flatten)]
    options: ClientOptions,
    #[command(subcommand)]
    command: JobsCommand,
}

#[derive(Debug, Subcommand)]
enum JobsCommand {
    /// Submit a job (POST /processes/PROCESS/execution, Prefer: respond-async).
    Submit(SubmitArgs),
    /// Print a job's status (GET /jobs/ID).
    Status {
        /// The job's id.
        id: String,
    },
    /// Wait until a job ends; fails if it failed, was dismissed, or the timeout passed.
    Wait {
        /// The job's id.
        id: String,
        #[command(flatten)]
        timeout: Timeout,
    },
    /// Print a job's results (GET /jobs/ID/results); a failed job's problem is the error.
    Results {
        /// The job's id.
        id: String,
    },
    /// Dismiss a job: a queued one never starts, a running one is interrupted (DELETE /jobs/ID).
    Cancel {
        /// The job's id.
        id: String,
    },
}

#[derive(Debug, Args)]
struct SubmitArgs {
    /// The process to run, e.g. Sellar1.
    process: String,
    /// The inputs: a JSON object, or @FILE to read it from a file (@- for stdin).
    #[arg(long, value_name = "JSON")]
    inputs: String,
    /// The discipline options: a JSON object, or @FILE.
    #[arg(long, value_name = "JSON")]
    options: Option<String>,
    /// Jobs of higher priority start first.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    priority: Option<i32>,
    /// Then wait until the job ends, as `jobs wait` does, and print its results.
    #[arg(long)]
    wait: bool,
    #[command(flatten)]
    timeout: Timeout,
}

/// How long to wait for a job to end.
#[derive(Debug, Args)]
struct Timeout {
    /// How long to wait for the end, e.g. 90s, 10m, 2h.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = humantime::parse_duration)]
    timeout: Duration,
}

/// The longest single long-poll: the server answers the current status after at most 300 s.
const LONGEST_POLL: Duration = Duration::from_secs(300);
/// Extra time a long-poll's answer may take beyond its wait.
const POLL_MARGIN: Duration = Duration::from_secs(30);

/// Runs a `jobs` subcommand.
pub fn run(args: JobsArgs) -> anyhow::Result<()> {
    args.options.run(|client, printer| async move {
        match args.command {
            JobsCommand::Submit(submit_args) => submit(&client, printer, submit_args).await,
            JobsCommand::Status { id } => {
                let status = client.get(&["jobs", &id]).await?;
                printer.document(&status, job_summary);
                Ok(())
            }
            JobsCommand::Wait { id, timeout } => wait(&client, printer, &id, timeout.timeout).await,
            JobsCommand::Results { id } => {
                let results = client.get(&["jobs", &id, "results"]).await?;
                printer.document(&results, results_summary);
                Ok(())
            }
            JobsCommand::Cancel { id } => {
                let request = client.request(Method::DELETE, &["jobs", &id]);
                let status = client.send_json(request).await?;
                printer.document(&status, job_summary);
                Ok(())
            }
        }
    })
}

async fn submit(client: &Client, printer: Printer, args: SubmitArgs) -> anyhow::Result<()> {
    let body = execute_document(&args)?;
    let request = client
        .request(Method::POST, &["processes", &args.process, "execution"])
        .header("prefer", "respond-async")
        .json(&body);
    let status = client.send_json(request).await?;
    printer.document(&status, job_summary);
    if !args.wait {
        return Ok(());
    }
    let id = text(&status, "jobID");
    if id.is_empty() {
        bail!("the server accepted the job without giving its jobID");
    }
    wait(client, printer, id, args.timeout.timeout).await?;
    let results = client.get(&["jobs", id, "results"]).await?;
    printer.document(&results, results_summary);
    Ok(())
}

/// The execute document: `{"inputs", "options", "priority"}`, the last two only when given.
fn execute_document(args: &SubmitArgs) -> anyhow::Result<Value> {
    let mut body = Map::new();
    body.insert("inputs".into(), json_object("--inputs", &args.inputs)?);
    if let Some(options) = &args.options {
        body.insert("options".into(), json_object("--options", options)?);
    }
    if let Some(priority) = args.priority {
        body.insert("priority".into(), json!(priority));
    }
    Ok(Value::Object(body))
}

/// A JSON object given inline, or as `@FILE` (`@-`: standard input).
pub(crate) fn json_object(flag: &str, argument: &str) -> anyhow::Result<Value> {
    let text = match argument.strip_prefix('@') {
        Some("-") => std::io::read_to_string(std::io::stdin())
            .with_context(|| format!("{flag}: cannot read standard input"))?,
        Some(file) => std::fs::read_to_string(Path::new(file))
            .with_context(|| format!("{flag}: cannot read {file}"))?,
        None => argument.to_owned(),
    };
    let value: Value =
        serde_json::from_str(&text).with_context(|| format!("{flag} is not valid JSON"))?;
    if !value.is_object() {
        bail!("{flag} must be a JSON object, like {{\"x\": [1.0]}}");
    }
    Ok(value)
}

/// Long-polls the job until it ends or `timeout` passes, prints its last status, and fails
/// unless it succeeded.
async fn wait(
    client: &Client,
    printer: Printer,
    id: &str,
    timeout: Duration,
) -> anyhow::Result<()> {
    let status = poll_until_final(client, id, timeout).await?;
    let word = text(&status, "status");
    if printer.is_json() || word == "successful" {
        printer.document(&status, job_summary);
    }
    match word {
        "successful" => Ok(()),
        "failed" | "dismissed" => bail!("{}", job_summary(&status)),
        _ => bail!(
            "job {id} is still {word} after {}",
            humantime::format_duration(timeout)
        ),
    }
}

/// The job's status once final, or its last status when `timeout` passes first.
async fn poll_until_final(client: &Client, id: &str, timeout: Duration) -> anyhow::Result<Value> {
    let deadline = Instant::now() + timeout;
    loop {
        let wait = deadline
            .saturating_duration_since(Instant::now())
            .min(LONGEST_POLL);
        let mut url = client.url(&["jobs", id]);
        url.query_pairs_mut()
            .append_pair("wait", &wait.as_secs_f64().to_string());
        let request = client
            .request_to(Method::GET, url)
            .timeout(wait + POLL_MARGIN);
        let status = client.send_json(request).await?;
        if is_final(text(&status, "status")) || Instant::now() >= deadline {
            return Ok(status);
        }
    }
}

fn is_final(status: &str) -> bool {
    matches!(status, "successful" | "failed" | "dismissed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_a_json_object_inline_or_from_a_file() -> anyhow::Result<()> {
        assert_eq!(json_object("--inputs", r#"{"x": [1]}"#)?, json!({"x": [1]}));
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("inputs.json");
        std::fs::write(&file, r#"{"y": 2}"#)?;
        let argument = format!("@{}", file.display());
        assert_eq!(json_object("--inputs", &argument)?, json!({"y": 2}));
        let not_object = json_object("--inputs", "[1]").map_err(|error| error.to_string());
        assert_eq!(
            not_object.err().as_deref(),
            Some("--inputs must be a JSON object, like {\"x\": [1.0]}")
        );
        assert!(json_object("--inputs", "@/no/such/file.json").is_err());
        Ok(())
    }
}
