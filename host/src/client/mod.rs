//! The command-line client of a running server: one `Client` over HTTP, the options every
//! client command shares, and `ClientError`, every failure as one line.

pub mod deploy;
pub mod jobs;
pub(crate) mod output;
pub(crate) mod problem;
pub mod processes;

use std::future::Future;
use std::time::Duration;

use clap::Args;
use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use serde_json::Value;

pub use output::Printer;
pub use problem::RemoteProblem;

use problem::one_line;

/// The options every client command takes: which server, with which token, printed how.
#[derive(Debug, Args)]
#[command(next_help_heading = "Client options")]
pub struct ClientOptions {
    /// The server's base URL.
    #[arg(
        long,
        global = true,
        env = "DISCIPLINES_SERVER",
        default_value = "http://127.0.0.1:8080"
    )]
    server: String,
    /// A token, sent as `Authorization: Bearer TOKEN`.
    #[arg(long, global = true, env = "DISCIPLINES_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Print the server's JSON documents as they are, one per line, instead of summaries.
    #[arg(long, global = true)]
    json: bool,
}

impl ClientOptions {
    /// Runs `command` with a client of the chosen server, on a runtime of its own.
    pub fn run<F, Fut>(&self, command: F) -> anyhow::Result<()>
    where
        F: FnOnce(Client, Printer) -> Fut,
        Fut: Future<Output = anyhow::Result<()>>,
    {
        let client = Client::new(&self.server, self.token.clone())?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(command(client, Printer::new(self.json)))
    }
}

/// What can go wrong talking to the server.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The `--server` value is not an http URL.
    #[error("invalid server URL {url:?}: {reason}")]
    InvalidServer { url: String, reason: String },
    /// No connection could be made.
    #[error("cannot reach the server at {server}: {cause}")]
    Unreachable { server: Url, cause: String },
    /// The connection broke, or the answer could not be read.
    #[error("talking to the server at {server} failed: {cause}")]
    Transport { server: Url, cause: String },
    /// The server answered with an RFC 9457 problem document.
    #[error("{0}")]
    Problem(RemoteProblem),
    /// The server answered an error that is not a problem document.
    #[error("{status}{}", excerpt_suffix(.text))]
    Unexpected { status: StatusCode, text: String },
}

/// A client of one server: its base URL, the token it sends, and the HTTP connection pool.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    server: Url,
    token: Option<String>,
}

/// How long a connection may take to open; requests themselves have no overall timeout,
/// since long-polls and uploads take as long as they take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl Client {
    /// A client of `server` (an http or https URL, possibly with a path prefix).
    pub fn new(server: &str, token: Option<String>) -> Result<Self, ClientError> {
        let invalid = |reason: &dyn std::fmt::Display| ClientError::InvalidServer {
            url: server.to_owned(),
            reason: reason.to_string(),
        };
        let url = Url::parse(server).map_err(|error| invalid(&error))?;
        if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
            return Err(invalid(&"expected http://host:port or https://host"));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|error| invalid(&error))?;
        Ok(Self {
            http,
            server: url,
            token,
        })
    }

    /// A request to the path made of `segments`, each percent-encoded, with the token.
    pub fn request(&self, method: Method, segments: &[&str]) -> RequestBuilder {
        self.request_to(method, self.url(segments))
    }

    /// The URL of the path made of `segments`, each percent-encoded, under the server's.
    pub fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.server.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// A request to `url`, with the token.
    pub fn request_to(&self, method: Method, url: Url) -> RequestBuilder {
        let request = self.http.request(method, url);
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends a request; an answer other than 2xx becomes an error.
    pub async fn send(&self, request: RequestBuilder) -> Result<Response, ClientError> {
        let response = request
            .send()
            .await
            .map_err(|error| self.transport_error(&error))?;
        if response.status().is_success() {
            return Ok(response);
        }
        Err(self.error_answer(response).await)
    }

    /// Sends a request and reads its JSON answer.
    pub async fn send_json(&self, request: RequestBuilder) -> Result<Value, ClientError> {
        let response = self.send(request).await?;
        self.read_json(response).await
    }

    /// GETs the path made of `segments` and reads its JSON answer.
    pub async fn get(&self, segments: &[&str]) -> Result<Value, ClientError> {
        self.send_json(self.request(Method::GET, segments)).await
    }

    /// Reads a successful answer's JSON body.
    pub async fn read_json(&self, response: Response) -> Result<Value, ClientError> {
        let bytes = response
            .bytes()
            .await
            .map_err(|error| self.transport_error(&error))?;
        serde_json::from_slice(&bytes).map_err(|error| ClientError::Transport {
            server: self.server.clone(),
            cause: format!("the answer is not JSON: {error}"),
        })
    }

    /// Turns an error answer into a problem, or into its status and the start of its text.
    async fn error_answer(&self, response: Response) -> ClientError {
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let problem = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|document| RemoteProblem::from_document(status, &document));
        match problem {
            Some(problem) => ClientError::Problem(problem),
            None => ClientError::Unexpected { status, text },
        }
    }

    fn transport_error(&self, error: &reqwest::Error) -> ClientError {
        let server = self.server.clone();
        let cause = root_cause(error);
        if error.is_connect() {
            ClientError::Unreachable { server, cause }
        } else {
            ClientError::Transport { server, cause }
        }
    }
}

/// The innermost cause of an error: "Connection refused (os error 111)" rather than
/// "error sending request for url (…)".
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    one_line(&cause.to_string())
}

/// ": <the first 200 characters of the body>", or nothing when the body is empty.
fn excerpt_suffix(text: &str) -> String {
    let line = one_line(text);
    if line.is_empty() {
        return String::new();
    }
    let excerpt: String = line.chars().take(200).collect();
    format!(": {excerpt}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_sent_as_a_bearer() -> Result<(), ClientError> {
        let client = Client::new("http://127.0.0.1:1", Some("s3cret".to_owned()))?;
        let request = client
            .request(Method::GET, &["processes"])
            .build()
            .map_err(|error| client.transport_error(&error))?;
        let authorization = request.headers().get("authorization");
        assert_eq!(
            authorization.and_then(|value| value.to_str().ok()),
            Some("Bearer s3cret")
        );
        Ok(())
    }

    #[test]
    fn paths_are_percent_encoded_under_the_base_path() -> Result<(), ClientError> {
        let client = Client::new("http://127.0.0.1:1/api/", None)?;
        let request = client
            .request(Method::GET, &["jobs", "a/b c"])
            .build()
            .map_err(|error| client.transport_error(&error))?;
        assert_eq!(
            request.url().as_str(),
            "http://127.0.0.1:1/api/jobs/a%2Fb%20c"
        );
        assert!(request.headers().get("authorization").is_none());
        assert!(Client::new("ftp://host", None).is_err());
        assert!(
            Client::new("https://host", None).is_ok(),
            "TLS through rustls"
        );
        assert!(Client::new("not a url", None).is_err());
        Ok(())
    }
}
