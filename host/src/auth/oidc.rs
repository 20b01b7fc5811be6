//! The external identity provider: bearer JWTs from one OpenID Connect issuer, verified against
//! the issuer's published keys (JWKS) and mapped to an `Identity`.

mod cache;
mod claims;
mod error;
mod keys;
mod provider;
mod settings;

use jsonwebtoken::{Header, Validation};
use serde_json::{Map, Value};

pub use cache::UNKNOWN_KEY_REFETCH_INTERVAL;
pub use error::{OidcError, ProviderFailure, TokenRejection};
pub use settings::{OidcSettings, SigningAlgorithm};

use self::cache::KeyCache;
use self::claims::ClaimMapping;
use self::keys::VerificationKey;
use self::provider::{KeySource, Provider};
use super::Identity;

/// Turns bearer tokens of the configured issuer into identities. Cheap to share (one per server):
/// the keys are cached inside.
#[derive(Debug)]
pub struct OidcVerifier {
    /// The algorithms the settings accept.
    algorithms: Vec<SigningAlgorithm>,
    /// Issuer, audience, leeway and required claims; the algorithm is set per token.
    validation: Validation,
    claims: ClaimMapping,
    keys: KeyCache,
}

impl OidcVerifier {
    /// A verifier for the settings' issuer; no request is made until the first token.
    ///
    /// `http` must have a TLS feature for https issuers (every real one); reqwest's `rustls`, on
    /// in this workspace, is enough. Fails on settings that cannot work: no issuer, no audience,
    /// no algorithm, no user claim, or an address that is not an http(s) URL.
    pub fn new(settings: OidcSettings, http: reqwest::Client) -> Result<Self, OidcError> {
        check_required(&settings)?;
        let source = KeySource::of(&settings)?;
        let provider = Provider::new(http, &settings);
        Ok(Self {
            algorithms: settings.algorithms.clone(),
            validation: validation(&settings),
            keys: KeyCache::new(provider, source, settings.jwks_refresh),
            claims: ClaimMapping {
                user_claim: settings.user_claim,
                role_claim: settings.role_claim,
                admin_roles: settings.admin_roles,
            },
        })
    }

    /// The identity a bearer token proves: its signature checked with the issuer's key of its
    /// `kid`, its algorithm allowed, `iss`, `aud`, `exp` and `nbf` checked, its claims mapped.
    pub async fn verify(&self, token: &str) -> Result<Identity, OidcError> {
        let header = jsonwebtoken::decode_header(token).map_err(TokenRejection::from)?;
        let algorithm = self.algorithm(&header)?;
        let key = self.keys.key(header.kid.as_deref()).await?;
        if !key.verifies(algorithm) {
            return Err(TokenRejection::DisallowedAlgorithm.into());
        }
        let claims = self.verified_claims(token, &key, algorithm)?;
        Ok(self.claims.identity(&claims)?)
    }

    /// The header's algorithm, if the settings allow it; a header with critical extensions
    /// (none of which this server understands) is refused.
    fn algorithm(&self, header: &Header) -> Result<SigningAlgorithm, TokenRejection> {
        if header.crit.as_ref().is_some_and(|crit| !crit.is_empty()) {
            return Err(TokenRejection::Malformed);
        }
        SigningAlgorithm::from_header(header.alg)
            .filter(|algorithm| self.algorithms.contains(algorithm))
            .ok_or(TokenRejection::DisallowedAlgorithm)
    }

    /// The claims, once the signature and the registered claims have been checked.
    fn verified_claims(
        &self,
        token: &str,
        key: &VerificationKey,
        algorithm: SigningAlgorithm,
    ) -> Result<Map<String, Value>, TokenRejection> {
        let mut validation = self.validation.clone();
        validation.algorithms = vec![algorithm.to_jsonwebtoken()];
        let data = jsonwebtoken::decode(token, &key.decoding, &validation)?;
        Ok(data.claims)
    }
}

/// Refuses settings without which no token could ever be accepted.
fn check_required(settings: &OidcSettings) -> Result<(), OidcError> {
    let missing = [
        (settings.issuer.is_empty(), "issuer"),
        (settings.audience.is_empty(), "audience"),
        (settings.algorithms.is_empty(), "algorithms"),
        (settings.user_claim.is_empty(), "user_claim"),
    ];
    match missing.iter().find(|(is_missing, _)| *is_missing) {
        Some((_, name)) => Err(OidcError::InvalidSettings(format!("{name} is empty"))),
        None => Ok(()),
    }
}

/// The registered-claim checks: `iss`, `aud` and `exp` required, `nbf` checked when present.
fn validation(settings: &OidcSettings) -> Validation {
    let mut validation = Validation::default();
    validation.set_issuer(&[&settings.issuer]);
    validation.set_audience(&[&settings.audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    validation.validate_nbf = true;
    validation.leeway = settings.leeway.as_secs();
    validation
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> OidcSettings {
        OidcSettings {
            issuer: "https://id.example".to_owned(),
            audience: "disciplines".to_owned(),
            ..OidcSettings::default()
        }
    }

    fn refusal(settings: OidcSettings) -> String {
        match OidcVerifier::new(settings, reqwest::Client::new()) {
            Err(OidcError::InvalidSettings(reason)) => reason,
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn settings_without_issuer_audience_or_algorithm_are_refused() {
        let no_issuer = OidcSettings {
            issuer: String::new(),
            ..settings()
        };
        assert_eq!(refusal(no_issuer), "issuer is empty");
        let no_audience = OidcSettings {
            audience: String::new(),
            ..settings()
        };
        assert_eq!(refusal(no_audience), "audience is empty");
        let no_algorithm = OidcSettings {
            algorithms: Vec::new(),
            ..settings()
        };
        assert_eq!(refusal(no_algorithm), "algorithms is empty");
    }

    #[test]
    fn addresses_must_be_http_urls() {
        let jwks = OidcSettings {
            jwks_uri: Some("file:///etc/keys".to_owned()),
            ..settings()
        };
        assert!(refusal(jwks).starts_with("jwks_uri"));
        let issuer = OidcSettings {
            issuer: "id.example".to_owned(),
            ..settings()
        };
        assert!(refusal(issuer).starts_with("issuer"));
    }

    #[test]
    fn a_verifier_is_shared_across_threads_and_verifies_on_any_worker() {
        fn assert_send_sync<T: Send + Sync>(_: &T) {}
        fn assert_send<T: Send>(_: &T) {}
        let verifier = OidcVerifier::new(settings(), reqwest::Client::new()).expect("a verifier");
        assert_send_sync(&verifier);
        assert_send(&verifier.verify("a.b.c"));
    }

    #[tokio::test]
    async fn a_token_that_is_no_jwt_is_refused_without_asking_the_provider() {
        let verifier = OidcVerifier::new(settings(), reqwest::Client::new()).expect("a verifier");
        for token in ["", "abc", "a.b.c", "e30.e30.", "eyJhbGciOiJub25lIn0.e30."] {
            let error = verifier.verify(token).await.expect_err(token);
            assert!(
                matches!(error, OidcError::InvalidToken(TokenRejection::Malformed)),
                "{token}: {error:?}"
            );
        }
    }
}
