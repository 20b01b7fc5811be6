//! OGC callbacks: a job's subscriber is told when it starts, succeeds or fails, by POSTs that
//! are retried with back-off and never hold a worker.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::public_net::{PublicOnly, literal_non_public};

/// How many times a callback is tried.
const ATTEMPTS: u32 = 3;
/// How long one try may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The wait before the second try; it doubles after each failure.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// OGC's `subscriber`: where to send news of a job.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Subscriber {
    /// Receives the results document when the job succeeds.
    pub success_uri: Option<String>,
    /// Receives the status document when the job starts running.
    pub in_progress_uri: Option<String>,
    /// Receives the problem document when the job fails.
    pub failed_uri: Option<String>,
}

impl Subscriber {
    /// Checks that every URI is an absolute http(s) URL (whose literal address, if it has one,
    /// is public unless `private_allowed`); on error, names the member.
    pub fn check(&self, private_allowed: bool) -> Result<(), (&'static str, String)> {
        let members = [
            ("successUri", &self.success_uri),
            ("inProgressUri", &self.in_progress_uri),
            ("failedUri", &self.failed_uri),
        ];
        for (name, uri) in members {
            let Some(uri) = uri else { continue };
            match reqwest::Url::parse(uri) {
                Ok(url) if matches!(url.scheme(), "http" | "https") => {
                    if let Some(address) = literal_non_public(&url).filter(|_| !private_allowed) {
                        return Err((
                            name,
                            format!(
                                "{name} points to {address}, not a public address: callbacks go to the public internet only (jobs.webhooks_to_private_networks)"
                            ),
                        ));
                    }
                }
                _ => {
                    return Err((
                        name,
                        format!("{name} must be an absolute http(s) URL, not {uri:?}"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Sends callbacks in the background.
#[derive(Debug, Clone)]
pub struct Webhooks {
    client: reqwest::Client,
    private_allowed: bool,
}

impl Webhooks {
    /// Callbacks to public addresses only, unless `private_allowed`. Redirects are not
    /// followed (they could lead anywhere). A client that cannot be built is an error, never
    /// replaced by a default one without those protections.
    pub fn new(private_allowed: bool) -> Result<Self, reqwest::Error> {
        let mut builder = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none());
        if !private_allowed {
            builder = builder.dns_resolver(std::sync::Arc::new(PublicOnly));
        }
        Ok(Self {
            client: builder.build()?,
            private_allowed,
        })
    }
}

impl Webhooks {
    /// POSTs `body` (JSON) to `uri` in the background, retrying on failure.
    pub fn send(&self, uri: &str, content_type: &'static str, body: String) {
        let literal = reqwest::Url::parse(uri)
            .ok()
            .and_then(|url| literal_non_public(&url));
        if let Some(address) = literal.filter(|_| !self.private_allowed) {
            tracing::warn!(%uri, %address, "callback to a non-public address not sent");
            return;
        }
        let client = self.client.clone();
        let uri = uri.to_owned();
        tokio::spawn(async move {
            let mut backoff = FIRST_BACKOFF;
            for attempt in 1..=ATTEMPTS {
                let sent = client
                    .post(&uri)
                    .header("content-type", content_type)
                    .body(body.clone())
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status().is_success() => return,
                    Ok(response) => {
                        tracing::warn!(%uri, attempt, status = %response.status(), "callback refused")
                    }
                    Err(error) => tracing::warn!(%uri, attempt, %error, "callback failed"),
                }
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
        });
    }
}
