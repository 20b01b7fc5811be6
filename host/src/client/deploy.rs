//! `disciplines modules deploy`: a component sent to a running server, streamed from disk with a
//! progress bar.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use futures_util::stream::Stream;
use indicatif::{ProgressBar, ProgressStyle};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use reqwest::{Body, Method, StatusCode};
use serde_json::Value;
use tokio::io::AsyncReadExt;

use super::output::{short_digest, text};
use super::{Client, ClientError, ClientOptions, Printer};

/// `disciplines modules deploy FILE`.
#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    options: ClientOptions,
    /// The component, e.g. target/wasm32-wasip2/release/my_discipline.wasm.
    file: PathBuf,
}

/// Deploys a component (POST /processes, Content-Type: application/wasm).
pub fn run(args: DeployArgs) -> anyhow::Result<()> {
    let file = args.file;
    args.options
        .run(|client, printer| async move { deploy(&client, printer, &file).await })
}

/// The size of each piece read from the file and sent.
const CHUNK_BYTES: usize = 64 << 10;

async fn deploy(client: &Client, printer: Printer, file: &Path) -> anyhow::Result<()> {
    let (opened, size) = open_file(file).await?;
    let bar = progress_bar(size, printer.is_json());
    let request = client
        .request(Method::POST, &["processes"])
        .header(CONTENT_TYPE, "application/wasm")
        .header(CONTENT_LENGTH, size)
        .body(Body::wrap_stream(chunks(opened, bar.clone())));
    let sent = client.send(request).await;
    bar.finish_and_clear();
    let response = sent.map_err(|error| upload_error(error, file))?;
    let created = response.status() == StatusCode::CREATED;
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let document = client.read_json(response).await?;
    printer.document(&document, |document| {
        deployed_summary(created, document, location.as_deref())
    });
    Ok(())
}

/// A connection broken during the upload names the file: a server may close the connection
/// to refuse a body early, before its answer can be read.
fn upload_error(error: ClientError, file: &Path) -> anyhow::Error {
    match error {
        ClientError::Transport { .. } => {
            anyhow::Error::new(error).context(format!("uploading {} broke off", file.display()))
        }
        other => other.into(),
    }
}

/// Opens a regular file and tells its size.
async fn open_file(file: &Path) -> anyhow::Result<(tokio::fs::File, u64)> {
    let cannot_read = || format!("cannot read {}", file.display());
    let opened = tokio::fs::File::open(file)
        .await
        .with_context(cannot_read)?;
    let metadata = opened.metadata().await.with_context(cannot_read)?;
    if !metadata.is_file() {
        bail!("{} is not a file", file.display());
    }
    Ok((opened, metadata.len()))
}

/// The file as a stream of chunks, each counted on the bar as it is read.
fn chunks(
    file: tokio::fs::File,
    bar: ProgressBar,
) -> impl Stream<Item = std::io::Result<Vec<u8>>> + Send + 'static {
    futures_util::stream::try_unfold((file, bar), |(mut file, bar)| async move {
        let mut chunk = vec![0; CHUNK_BYTES];
        let read = file.read(&mut chunk).await?;
        if read == 0 {
            return Ok(None);
        }
        chunk.truncate(read);
        bar.inc(read as u64);
        Ok(Some((chunk, (file, bar))))
    })
}

/// A byte-counting bar on stderr, hidden when stderr is not a terminal or with `--json`.
fn progress_bar(size: u64, json: bool) -> ProgressBar {
    if json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(size);
    if let Ok(style) = ProgressStyle::with_template(
        "uploading {bar:40} {bytes}/{total_bytes} {bytes_per_sec} {eta}",
    ) {
        bar.set_style(style);
    }
    bar
}

/// `deployed Sellar1 1.0.0 (sha256:…) at /processes/Sellar1`, or `already deployed …`.
fn deployed_summary(created: bool, document: &Value, location: Option<&str>) -> String {
    let verb = if created {
        "deployed"
    } else {
        "already deployed"
    };
    let mut line = format!(
        "{verb} {} {} ({})",
        text(document, "id"),
        text(document, "version"),
        short_digest(text(document, "moduleDigest"))
    );
    if let Some(location) = location {
        line.push_str(&format!(" at {location}"));
    }
    line
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_deployment_is_summed_up_in_one_line() {
        let document =
            json!({"id": "Sellar1", "version": "1.0.0", "moduleDigest": "sha256:0123456789abcdef"});
        assert_eq!(
            deployed_summary(true, &document, Some("/processes/Sellar1")),
            "deployed Sellar1 1.0.0 (sha256:0123456789ab) at /processes/Sellar1"
        );
        assert_eq!(
            deployed_summary(false, &document, None),
            "already deployed Sellar1 1.0.0 (sha256:0123456789ab)"
        );
    }
}
