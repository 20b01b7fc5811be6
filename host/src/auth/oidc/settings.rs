//! What an operator tells the server about its OpenID Connect provider, and the signature
//! algorithms it may accept (asymmetric ones only: HMAC cannot even be named).

use std::time::Duration;

use jsonwebtoken::Algorithm;
use serde::{Deserialize, Serialize};

/// The external identity provider: bearer JWTs issued by one OpenID Connect issuer.
///
/// Real issuers serve their discovery document and keys over https only, so the HTTP client
/// handed to [`super::OidcVerifier::new`] needs a TLS feature: this workspace enables reqwest's
/// `rustls`, which trusts the system's certificate authorities.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct OidcSettings {
    /// The issuer exactly as its tokens name it in `iss`, e.g.
    /// "https://login.example.com/realms/main"; empty turns the provider off.
    pub issuer: String,
    /// The audience a token must name in `aud` to be accepted here (usually the client id).
    pub audience: String,
    /// Where the issuer publishes its signing keys (JWKS); unset: the `jwks_uri` of
    /// `{issuer}/.well-known/openid-configuration`.
    pub jwks_uri: Option<String>,
    /// The claim naming the user, e.g. "sub", "preferred_username" or "email"; a dotted path
    /// such as "profile.login" reaches into nested objects.
    pub user_claim: String,
    /// The claim holding the user's roles: a string or an array of strings; a dotted path such
    /// as "realm_access.roles" (Keycloak) reaches into nested objects.
    pub role_claim: String,
    /// Any of these in the role claim makes the user an admin; otherwise a user.
    pub admin_roles: Vec<String>,
    /// The signature algorithms accepted, e.g. ["RS256", "ES256"].
    pub algorithms: Vec<SigningAlgorithm>,
    /// Clock skew tolerated on `exp` and `nbf`, e.g. "30s".
    #[serde(with = "humantime_serde")]
    pub leeway: Duration,
    /// How long fetched keys are trusted before they are fetched again, e.g. "10min".
    #[serde(with = "humantime_serde")]
    pub jwks_refresh: Duration,
    /// How long one request to the provider (discovery or keys) may take, e.g. "10s".
    #[serde(with = "humantime_serde")]
    pub fetch_timeout: Duration,
}

impl Default for OidcSettings {
    fn default() -> Self {
        Self {
            issuer: String::new(),
            audience: String::new(),
            jwks_uri: None,
            user_claim: "sub".to_owned(),
            role_claim: "roles".to_owned(),
            admin_roles: vec!["admin".to_owned()],
            algorithms: vec![SigningAlgorithm::Rs256, SigningAlgorithm::Es256],
            leeway: Duration::from_secs(30),
            jwks_refresh: Duration::from_secs(10 * 60),
            fetch_timeout: Duration::from_secs(10),
        }
    }
}

impl OidcSettings {
    /// Whether an issuer is configured at all.
    pub fn is_enabled(&self) -> bool {
        !self.issuer.is_empty()
    }
}

/// A signature algorithm verified with a public key from the issuer's JWKS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SigningAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    #[serde(rename = "RS256")]
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    #[serde(rename = "RS384")]
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    #[serde(rename = "RS512")]
    Rs512,
    /// RSASSA-PSS with SHA-256.
    #[serde(rename = "PS256")]
    Ps256,
    /// RSASSA-PSS with SHA-384.
    #[serde(rename = "PS384")]
    Ps384,
    /// RSASSA-PSS with SHA-512.
    #[serde(rename = "PS512")]
    Ps512,
    /// ECDSA on P-256 with SHA-256.
    #[serde(rename = "ES256")]
    Es256,
    /// ECDSA on P-384 with SHA-384.
    #[serde(rename = "ES384")]
    Es384,
    /// Ed25519.
    #[serde(rename = "EdDSA")]
    EdDsa,
}

impl SigningAlgorithm {
    /// The algorithm of a token's header, or None for HMAC (a shared secret, never a public key).
    pub(super) fn from_header(algorithm: Algorithm) -> Option<Self> {
        match algorithm {
            Algorithm::RS256 => Some(Self::Rs256),
            Algorithm::RS384 => Some(Self::Rs384),
            Algorithm::RS512 => Some(Self::Rs512),
            Algorithm::PS256 => Some(Self::Ps256),
            Algorithm::PS384 => Some(Self::Ps384),
            Algorithm::PS512 => Some(Self::Ps512),
            Algorithm::ES256 => Some(Self::Es256),
            Algorithm::ES384 => Some(Self::Es384),
            Algorithm::EdDSA => Some(Self::EdDsa),
            _ => None,
        }
    }

    /// The same algorithm as jsonwebtoken names it.
    pub(super) fn to_jsonwebtoken(self) -> Algorithm {
        match self {
            Self::Rs256 => Algorithm::RS256,
            Self::Rs384 => Algorithm::RS384,
            Self::Rs512 => Algorithm::RS512,
            Self::Ps256 => Algorithm::PS256,
            Self::Ps384 => Algorithm::PS384,
            Self::Ps512 => Algorithm::PS512,
            Self::Es256 => Algorithm::ES256,
            Self::Es384 => Algorithm::ES384,
            Self::EdDsa => Algorithm::EdDSA,
        }
    }

    /// The kind of public key that verifies this algorithm.
    pub(super) fn key_type(self) -> KeyType {
        match self {
            Self::Rs256 | Self::Rs384 | Self::Rs512 => KeyType::Rsa,
            Self::Ps256 | Self::Ps384 | Self::Ps512 => KeyType::Rsa,
            Self::Es256 => KeyType::EcP256,
            Self::Es384 => KeyType::EcP384,
            Self::EdDsa => KeyType::Ed25519,
        }
    }
}

/// The kind of a public key: its type and, for curves, the curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KeyType {
    /// An RSA key (RS* and PS*).
    Rsa,
    /// An elliptic-curve key on P-256 (ES256).
    EcP256,
    /// An elliptic-curve key on P-384 (ES384).
    EcP384,
    /// An Edwards-curve key on Ed25519 (EdDSA).
    Ed25519,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_read_from_toml_with_humantime_durations() {
        let settings: OidcSettings = toml::from_str(
            r#"
            issuer = "https://id.example"
            audience = "disciplines"
            role_claim = "realm_access.roles"
            algorithms = ["ES256", "PS256"]
            jwks_refresh = "1h"
            "#,
        )
        .expect("valid settings");
        assert_eq!(settings.role_claim, "realm_access.roles");
        assert_eq!(
            settings.algorithms,
            [SigningAlgorithm::Es256, SigningAlgorithm::Ps256]
        );
        assert_eq!(settings.jwks_refresh, Duration::from_secs(3600));
        assert_eq!(settings.leeway, Duration::from_secs(30));
        assert_eq!(settings.user_claim, "sub");
    }

    #[test]
    fn hmac_and_none_cannot_be_configured() {
        for name in ["HS256", "none"] {
            let text = format!("algorithms = [{name:?}]");
            assert!(toml::from_str::<OidcSettings>(&text).is_err(), "{name}");
        }
    }

    #[test]
    fn hmac_in_a_header_is_no_signing_algorithm() {
        assert_eq!(SigningAlgorithm::from_header(Algorithm::HS256), None);
        let rs256 = SigningAlgorithm::from_header(Algorithm::RS256);
        assert_eq!(
            rs256.map(SigningAlgorithm::to_jsonwebtoken),
            Some(Algorithm::RS256)
        );
    }

    #[test]
    fn the_provider_is_off_by_default() {
        assert!(!OidcSettings::default().is_enabled());
    }
}
