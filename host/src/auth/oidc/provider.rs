//! Talking to the identity provider: its discovery document, then its JWKS, each one bounded
//! GET of a JSON document.

use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::error::{OidcError, ProviderFailure};
use super::keys::{JwksDocument, KeySet};
use super::settings::OidcSettings;

/// The most bytes read of a discovery document or a JWKS; real ones are a few kilobytes.
const MAX_DOCUMENT_BYTES: usize = 1 << 20;

/// Where the keys are: configured, or found through the issuer's discovery document (once).
#[derive(Debug)]
pub(super) enum KeySource {
    /// The `jwks_uri` of the settings.
    Configured(Url),
    /// `{issuer}/.well-known/openid-configuration`, and the `jwks_uri` it gave, once read.
    Discovered {
        /// The discovery document's address.
        document: Url,
        /// Its `jwks_uri`, once read.
        jwks_uri: Option<Url>,
    },
}

impl KeySource {
    /// The source the settings name; an address that is not an http(s) URL is refused.
    pub fn of(settings: &OidcSettings) -> Result<Self, OidcError> {
        if let Some(jwks_uri) = &settings.jwks_uri {
            return Ok(Self::Configured(http_url("jwks_uri", jwks_uri)?));
        }
        let issuer = settings.issuer.trim_end_matches('/');
        let document = format!("{issuer}/.well-known/openid-configuration");
        Ok(Self::Discovered {
            document: http_url("issuer", &document)?,
            jwks_uri: None,
        })
    }
}

/// A URL with an http or https scheme, or a settings error naming the setting.
fn http_url(setting: &str, text: &str) -> Result<Url, OidcError> {
    let invalid =
        |reason: String| OidcError::InvalidSettings(format!("{setting} {text:?}: {reason}"));
    let url = Url::parse(text).map_err(|error| invalid(error.to_string()))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        _ => Err(invalid("not an http or https URL".to_owned())),
    }
}

/// The discovery document, of which only these members matter.
#[derive(Debug, Deserialize)]
struct DiscoveryDocument {
    issuer: String,
    jwks_uri: String,
}

/// The identity provider as an HTTP server.
#[derive(Debug)]
pub(super) struct Provider {
    http: reqwest::Client,
    issuer: String,
    timeout: Duration,
}

impl Provider {
    pub fn new(http: reqwest::Client, settings: &OidcSettings) -> Self {
        Self {
            http,
            issuer: settings.issuer.clone(),
            timeout: settings.fetch_timeout,
        }
    }

    /// The issuer's keys now, reading the discovery document first if it was not read yet.
    pub async fn key_set(&self, source: &mut KeySource) -> Result<KeySet, ProviderFailure> {
        let jwks_uri = match source {
            KeySource::Configured(uri) => uri.clone(),
            KeySource::Discovered {
                jwks_uri: Some(uri),
                ..
            } => uri.clone(),
            KeySource::Discovered { document, jwks_uri } => {
                jwks_uri.insert(self.discover(document).await?).clone()
            }
        };
        let document: JwksDocument = self.get_json(&jwks_uri).await?;
        Ok(KeySet::from_document(&document))
    }

    /// The `jwks_uri` of the discovery document, which must name the configured issuer.
    async fn discover(&self, document_url: &Url) -> Result<Url, ProviderFailure> {
        let document: DiscoveryDocument = self.get_json(document_url).await?;
        if document.issuer != self.issuer {
            let found = document.issuer;
            let reason = format!("it names the issuer {found:?}, not {:?}", self.issuer);
            return Err(ProviderFailure::Discovery(reason));
        }
        Url::parse(&document.jwks_uri).map_err(|error| {
            ProviderFailure::Discovery(format!("jwks_uri {:?}: {error}", document.jwks_uri))
        })
    }

    /// One JSON document, at most `MAX_DOCUMENT_BYTES` long, within the fetch timeout.
    async fn get_json<T: DeserializeOwned>(&self, url: &Url) -> Result<T, ProviderFailure> {
        let body = self.get_body(url).await?;
        serde_json::from_slice(&body).map_err(|source| ProviderFailure::Unreadable {
            url: url.to_string(),
            source,
        })
    }

    async fn get_body(&self, url: &Url) -> Result<Vec<u8>, ProviderFailure> {
        let failed = |source| ProviderFailure::Request {
            url: url.to_string(),
            source,
        };
        let request = self.http.get(url.clone()).timeout(self.timeout);
        let mut response = request.send().await.map_err(failed)?;
        let status = response.status();
        if !status.is_success() {
            let url = url.to_string();
            return Err(ProviderFailure::Status { url, status });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(failed)? {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                let (url, limit) = (url.to_string(), MAX_DOCUMENT_BYTES);
                return Err(ProviderFailure::TooLarge { url, limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}
