//! A stand-in identity provider for the OpenID Connect tests: a real HTTP server on port 0
//! serving a discovery document and a JWKS of keys made in the test (never real keys), counting
//! the requests it answers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use host::auth::oidc::OidcSettings;
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::rand_core::OsRng;
use serde_json::{Value, json};

/// The audience every test token is meant for.
pub const AUDIENCE: &str = "disciplines";

/// A signing key made for the tests, and its public half as a JWK.
pub struct TestKey {
    pub kid: String,
    pub algorithm: Algorithm,
    pub encoding: EncodingKey,
    pub jwk: Jwk,
}

impl TestKey {
    /// An RS256 key: the `which`-th (0, 1 or 2) of three RSA key pairs made once per test run,
    /// since making one takes a while.
    pub fn rsa(kid: &str, which: usize) -> Self {
        static PAIRS: [OnceLock<Vec<u8>>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
        let der = PAIRS[which].get_or_init(|| {
            let private = rsa::RsaPrivateKey::new(&mut OsRng, 2048).expect("an RSA key");
            private.to_pkcs1_der().expect("DER").as_bytes().to_vec()
        });
        Self::new(kid, Algorithm::RS256, EncodingKey::from_rsa_der(der))
    }

    /// A fresh ES256 key (P-256).
    pub fn p256(kid: &str) -> Self {
        use p256::pkcs8::EncodePrivateKey;
        let der = p256::SecretKey::random(&mut OsRng)
            .to_pkcs8_der()
            .expect("DER");
        Self::new(
            kid,
            Algorithm::ES256,
            EncodingKey::from_ec_der(der.as_bytes()),
        )
    }

    fn new(kid: &str, algorithm: Algorithm, encoding: EncodingKey) -> Self {
        let mut jwk = Jwk::from_encoding_key(&encoding, algorithm).expect("a JWK");
        jwk.common.key_id = Some(kid.to_owned());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        Self {
            kid: kid.to_owned(),
            algorithm,
            encoding,
            jwk,
        }
    }

    /// A token with these claims, signed by this key, its header naming this key.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.algorithm);
        header.kid = Some(self.kid.clone());
        self.sign_with(&header, claims)
    }

    /// A token with this header and these claims, signed by this key.
    pub fn sign_with(&self, header: &Header, claims: &Value) -> String {
        jsonwebtoken::encode(header, claims, &self.encoding).expect("a signed token")
    }
}

/// What the provider's handlers share.
struct ProviderState {
    issuer: String,
    keys: Mutex<Vec<Jwk>>,
    discovery_hits: AtomicUsize,
    jwks_hits: AtomicUsize,
}

/// A running provider; it stops when dropped, or when `stop` is awaited.
pub struct TestProvider {
    pub issuer: String,
    state: Arc<ProviderState>,
    shutdown: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<()>,
}

impl TestProvider {
    /// A provider on a free port publishing these keys.
    pub async fn start(keys: &[&TestKey]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let issuer = format!("http://{}", listener.local_addr().expect("an address"));
        let state = Arc::new(ProviderState {
            issuer: issuer.clone(),
            keys: Mutex::new(Vec::new()),
            discovery_hits: AtomicUsize::new(0),
            jwks_hits: AtomicUsize::new(0),
        });
        let router = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .with_state(state.clone());
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = axum::serve(listener, router).with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        let server = tokio::spawn(async move { server.await.expect("the provider serves") });
        let provider = Self {
            issuer,
            state,
            shutdown,
            server,
        };
        provider.publish(keys);
        provider
    }

    /// Stops the server and waits until its port is closed.
    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        self.server.await.expect("the provider stops");
    }

    /// From now on, the JWKS holds exactly these keys.
    pub fn publish(&self, keys: &[&TestKey]) {
        let jwks = keys.iter().map(|key| key.jwk.clone()).collect();
        *self.state.keys.lock().expect("keys") = jwks;
    }

    /// The JWKS address, for settings that skip discovery.
    pub fn jwks_uri(&self) -> String {
        format!("{}/jwks", self.issuer)
    }

    /// How many times the JWKS was fetched.
    pub fn jwks_hits(&self) -> usize {
        self.state.jwks_hits.load(Ordering::SeqCst)
    }

    /// How many times the discovery document was fetched.
    pub fn discovery_hits(&self) -> usize {
        self.state.discovery_hits.load(Ordering::SeqCst)
    }

    /// Settings for this issuer and `AUDIENCE`, keys found by discovery.
    pub fn settings(&self) -> OidcSettings {
        OidcSettings {
            issuer: self.issuer.clone(),
            audience: AUDIENCE.to_owned(),
            ..OidcSettings::default()
        }
    }

    /// A valid token for user "ada", signed by `key`.
    pub fn token(&self, key: &TestKey) -> String {
        key.sign(&self.claims(json!({})))
    }

    /// Claims of a valid token for user "ada" (five minutes left), with `extra` merged in.
    pub fn claims(&self, extra: Value) -> Value {
        let now = jsonwebtoken::get_current_timestamp();
        let mut claims = json!({
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": "ada",
            "iat": now,
            "exp": now + 300,
        });
        if let (Some(claims), Value::Object(extra)) = (claims.as_object_mut(), extra) {
            claims.extend(extra);
        }
        claims
    }
}

async fn discovery(State(state): State<Arc<ProviderState>>) -> Json<Value> {
    state.discovery_hits.fetch_add(1, Ordering::SeqCst);
    Json(json!({
        "issuer": state.issuer,
        "jwks_uri": format!("{}/jwks", state.issuer),
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
    }))
}

async fn jwks(State(state): State<Arc<ProviderState>>) -> Json<JwkSet> {
    state.jwks_hits.fetch_add(1, Ordering::SeqCst);
    let keys = state.keys.lock().expect("keys").clone();
    Json(JwkSet { keys })
}
