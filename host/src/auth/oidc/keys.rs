//! The issuer's public keys as the verifier uses them: one JWKS document read into keys that
//! each know which algorithm they may verify.

use std::sync::Arc;
use std::time::Instant;

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use serde::Deserialize;
use serde_json::Value;

use super::settings::{KeyType, SigningAlgorithm};

/// A JWKS document whose keys are read one by one, so that one odd key spoils no other.
#[derive(Debug, Deserialize)]
pub(super) struct JwksDocument {
    keys: Vec<Value>,
}

/// One public signing key of the issuer.
#[derive(Debug)]
pub(super) struct VerificationKey {
    /// The key id (`kid`), if the JWKS gives one.
    id: Option<String>,
    /// The kind of key, which fixes the algorithms it verifies.
    key_type: KeyType,
    /// The one algorithm the JWKS ties the key to (`alg`), if any.
    algorithm: Option<KeyAlgorithm>,
    /// The key in jsonwebtoken's form.
    pub decoding: DecodingKey,
}

impl VerificationKey {
    /// A signature key from a JWK, or None for encryption keys, symmetric (`oct`) keys and
    /// curves or formats this server does not verify.
    fn from_jwk(jwk: &Jwk) -> Option<Self> {
        let use_ = &jwk.common.public_key_use;
        if !matches!(use_, None | Some(PublicKeyUse::Signature)) {
            return None;
        }
        Some(Self {
            id: jwk.common.key_id.clone(),
            key_type: key_type(&jwk.algorithm)?,
            algorithm: jwk.common.key_algorithm,
            decoding: DecodingKey::from_jwk(jwk).ok()?,
        })
    }

    /// Whether this key may verify a signature made with `algorithm`.
    pub fn verifies(&self, algorithm: SigningAlgorithm) -> bool {
        let declared = KeyAlgorithm::from(algorithm.to_jsonwebtoken());
        self.key_type == algorithm.key_type()
            && self.algorithm.is_none_or(|algorithm| algorithm == declared)
    }
}

/// The kind of key a JWK holds, if it is one that verifies signatures here.
fn key_type(parameters: &AlgorithmParameters) -> Option<KeyType> {
    match parameters {
        AlgorithmParameters::RSA(_) => Some(KeyType::Rsa),
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => Some(KeyType::EcP256),
            EllipticCurve::P384 => Some(KeyType::EcP384),
            _ => None,
        },
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
            Some(KeyType::Ed25519)
        }
        _ => None,
    }
}

/// The keys of one fetch of the JWKS, and when they were fetched.
#[derive(Debug)]
pub(super) struct KeySet {
    keys: Vec<Arc<VerificationKey>>,
    pub fetched_at: Instant,
}

impl KeySet {
    /// The usable keys of a JWKS document, fetched now; the rest are logged and skipped.
    pub fn from_document(document: &JwksDocument) -> Self {
        let keys = document.keys.iter().filter_map(read_key).map(Arc::new);
        Self {
            keys: keys.collect(),
            fetched_at: Instant::now(),
        }
    }

    /// The key a token's `kid` names; a token without `kid` may use the only key of a set of one.
    pub fn find(&self, key_id: Option<&str>) -> Option<Arc<VerificationKey>> {
        let found = match key_id {
            Some(id) => self.keys.iter().find(|key| key.id.as_deref() == Some(id)),
            None if self.keys.len() == 1 => self.keys.first(),
            None => None,
        };
        found.cloned()
    }
}

/// One JWK of the document, if this server can verify signatures with it.
fn read_key(value: &Value) -> Option<VerificationKey> {
    let key = serde_json::from_value::<Jwk>(value.clone())
        .ok()
        .and_then(|jwk| VerificationKey::from_jwk(&jwk));
    if key.is_none() {
        let kid = value.get("kid").and_then(Value::as_str).unwrap_or("(none)");
        tracing::debug!(
            kid,
            "JWKS key skipped: not a signature key this server can use"
        );
    }
    key
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    // A P-256 public key (RFC 7515, appendix A.3): public material only.
    const EC_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
    const EC_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

    fn set_of(keys: Value) -> KeySet {
        let document: JwksDocument =
            serde_json::from_value(json!({ "keys": keys })).expect("a JWKS document");
        KeySet::from_document(&document)
    }

    fn ec_key(kid: &str, extra: Value) -> Value {
        let mut key = json!({"kty": "EC", "crv": "P-256", "x": EC_X, "y": EC_Y, "kid": kid});
        if let (Some(key), Value::Object(extra)) = (key.as_object_mut(), extra) {
            key.extend(extra);
        }
        key
    }

    #[test]
    fn symmetric_encryption_and_unknown_keys_are_skipped() {
        let set = set_of(json!([
            {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
            ec_key("enc", json!({"use": "enc"})),
            {"kty": "EC", "crv": "P-521", "x": EC_X, "y": EC_Y, "kid": "p521"},
            {"kty": "future", "kid": "odd"},
            ec_key("good", json!({"use": "sig"})),
        ]));
        for kid in ["hmac", "enc", "p521", "odd"] {
            assert!(set.find(Some(kid)).is_none(), "{kid}");
        }
        assert!(set.find(Some("good")).is_some());
    }

    #[test]
    fn a_key_verifies_only_the_algorithms_of_its_type_and_declared_alg() {
        let set = set_of(json!([
            ec_key("any", json!({})),
            ec_key("tied", json!({"alg": "ES384"}))
        ]));
        let any = set.find(Some("any")).expect("a key");
        assert!(any.verifies(SigningAlgorithm::Es256));
        assert!(!any.verifies(SigningAlgorithm::Es384));
        assert!(!any.verifies(SigningAlgorithm::Rs256));
        let tied = set.find(Some("tied")).expect("a key");
        assert!(!tied.verifies(SigningAlgorithm::Es256));
    }

    #[test]
    fn a_token_without_kid_uses_the_only_key_or_none() {
        assert!(set_of(json!([ec_key("a", json!({}))])).find(None).is_some());
        let two = set_of(json!([ec_key("a", json!({})), ec_key("b", json!({}))]));
        assert!(two.find(None).is_none());
    }
}
