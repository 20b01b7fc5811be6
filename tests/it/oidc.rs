//! The external identity provider: tokens signed by test keys that a local JWKS server
//! publishes, checked by `OidcVerifier` (valid, refused, rotated keys, discovery, outages).

mod provider;

use std::time::Duration;

use host::auth::oidc::{OidcError, OidcSettings, OidcVerifier, SigningAlgorithm, TokenRejection};
use host::auth::{Identity, Role};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use self::provider::{AUDIENCE, TestKey, TestProvider};

fn verifier_for(settings: OidcSettings) -> OidcVerifier {
    OidcVerifier::new(settings, reqwest::Client::new()).expect("usable settings")
}

/// A provider publishing one RSA key, "primary", and a verifier with its default settings.
async fn one_key() -> (TestKey, TestProvider, OidcVerifier) {
    let key = TestKey::rsa("primary", 0);
    let provider = TestProvider::start(&[&key]).await;
    let verifier = verifier_for(provider.settings());
    (key, provider, verifier)
}

/// The identity a token proves, asserting that it was accepted.
async fn accepted(verifier: &OidcVerifier, token: &str) -> Identity {
    match verifier.verify(token).await {
        Ok(identity) => identity,
        Err(error) => panic!("refused: {error:?}"),
    }
}

/// Asserts that a token is refused as invalid (401), for the expected reason.
async fn assert_refused(verifier: &OidcVerifier, token: &str, expected: TokenRejection) {
    match verifier.verify(token).await {
        Err(OidcError::InvalidToken(rejection)) => assert_eq!(rejection, expected),
        other => panic!("not refused as {expected:?}: {other:?}"),
    }
}

/// Asserts that verification failed for want of the provider (503), not for the token.
fn assert_unavailable(result: Result<Identity, OidcError>) {
    match result {
        Err(error @ OidcError::ProviderUnavailable(_)) => {
            assert_eq!(
                error.status_code(),
                reqwest::StatusCode::SERVICE_UNAVAILABLE
            );
            assert_eq!(
                error.to_string(),
                "the identity provider could not be reached"
            );
        }
        other => panic!("not unavailable: {other:?}"),
    }
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

#[tokio::test]
async fn a_valid_token_is_the_identity_of_a_user() {
    let (key, provider, verifier) = one_key().await;
    let ada = Identity {
        user: "ada".to_owned(),
        role: Role::User,
    };
    let token = key.sign(&provider.claims(json!({"roles": ["reader"]})));
    assert_eq!(accepted(&verifier, &token).await, ada);
    let token = key.sign(&provider.claims(json!({"aud": ["another-service", AUDIENCE]})));
    assert_eq!(accepted(&verifier, &token).await, ada);
}

#[tokio::test]
async fn an_admin_role_as_a_string_in_an_array_or_at_a_dotted_path_makes_an_admin() {
    let (key, provider, verifier) = one_key().await;
    for roles in [
        json!({"roles": "admin"}),
        json!({"roles": ["reader", "admin"]}),
    ] {
        let token = key.sign(&provider.claims(roles.clone()));
        assert_eq!(
            accepted(&verifier, &token).await.role,
            Role::Admin,
            "{roles}"
        );
    }
    let keycloak = OidcSettings {
        role_claim: "realm_access.roles".to_owned(),
        ..provider.settings()
    };
    let token = key.sign(&provider.claims(json!({"realm_access": {"roles": ["admin"]}})));
    assert_eq!(
        accepted(&verifier_for(keycloak), &token).await.role,
        Role::Admin
    );
}

#[tokio::test]
async fn expired_and_not_yet_valid_tokens_are_refused_beyond_the_leeway() {
    let (key, provider, verifier) = one_key().await;
    let expired = key.sign(&provider.claims(json!({"exp": now() - 120})));
    assert_refused(&verifier, &expired, TokenRejection::Expired).await;
    let early = key.sign(&provider.claims(json!({"nbf": now() + 120})));
    assert_refused(&verifier, &early, TokenRejection::NotYetValid).await;
    let skewed = json!({"exp": now() - 10, "nbf": now() + 10});
    accepted(&verifier, &key.sign(&provider.claims(skewed))).await;
}

#[tokio::test]
async fn a_token_of_another_issuer_or_audience_or_without_them_is_refused() {
    let (key, provider, verifier) = one_key().await;
    let missing = |claim: &str| TokenRejection::MissingClaim(claim.to_owned());
    let cases = [
        (
            json!({"iss": "https://evil.example"}),
            TokenRejection::WrongIssuer,
        ),
        (
            json!({"aud": "another-service"}),
            TokenRejection::WrongAudience,
        ),
        (json!({"aud": ["a", "b"]}), TokenRejection::WrongAudience),
        (json!({"iss": null}), missing("iss")),
        (json!({"aud": null}), missing("aud")),
        (json!({"exp": null}), missing("exp")),
    ];
    for (claims, expected) in cases {
        let token = key.sign(&without_nulls(provider.claims(claims)));
        assert_refused(&verifier, &token, expected).await;
    }
}

/// The claims less those set to null (a way to drop a default claim).
fn without_nulls(mut claims: Value) -> Value {
    if let Some(claims) = claims.as_object_mut() {
        claims.retain(|_, value| !value.is_null());
    }
    claims
}

#[tokio::test]
async fn a_token_without_a_user_is_refused() {
    let (key, provider, verifier) = one_key().await;
    for claims in [json!({"sub": null}), json!({"sub": ""})] {
        let token = key.sign(&without_nulls(provider.claims(claims)));
        assert_refused(&verifier, &token, TokenRejection::MissingUser).await;
    }
}

#[tokio::test]
async fn a_signature_by_another_key_with_the_same_kid_is_refused() {
    let (_, provider, verifier) = one_key().await;
    let impostor = TestKey::rsa("primary", 1);
    let forged = impostor.sign(&provider.claims(json!({"roles": "admin"})));
    assert_refused(&verifier, &forged, TokenRejection::BadSignature).await;
}

#[tokio::test]
async fn alg_none_and_hmac_with_the_public_key_are_refused_without_fetching_keys() {
    let (key, provider, verifier) = one_key().await;
    let claims = provider.claims(json!({"roles": "admin"}));
    let signed = key.sign(&claims);
    let payload = signed.split('.').nth(1).expect("a payload");
    // {"alg":"none","typ":"JWT"}, then the claims, then an empty signature.
    let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
    assert_refused(&verifier, &unsigned, TokenRejection::Malformed).await;
    let public_key = serde_json::to_vec(&key.jwk).expect("the JWK as JSON");
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(key.kid.clone());
    let hmac = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&public_key))
        .expect("an HS256 token");
    assert_refused(&verifier, &hmac, TokenRejection::DisallowedAlgorithm).await;
    assert_eq!(provider.jwks_hits(), 0);
}

#[tokio::test]
async fn an_algorithm_must_be_allowed_and_fit_the_key_its_kid_names() {
    let rsa = TestKey::rsa("rsa", 0);
    let ec = TestKey::p256("ec");
    let provider = TestProvider::start(&[&rsa, &ec]).await;
    let verifier = verifier_for(provider.settings());
    accepted(&verifier, &provider.token(&ec)).await;
    let mut confused = Header::new(Algorithm::ES256);
    confused.kid = Some(rsa.kid.clone());
    let claims = provider.claims(json!({}));
    let token = ec.sign_with(&confused, &claims);
    assert_refused(&verifier, &token, TokenRejection::DisallowedAlgorithm).await;
    let rsa_only = OidcSettings {
        algorithms: vec![SigningAlgorithm::Rs256],
        ..provider.settings()
    };
    let token = provider.token(&ec);
    assert_refused(
        &verifier_for(rsa_only),
        &token,
        TokenRejection::DisallowedAlgorithm,
    )
    .await;
}

#[tokio::test]
async fn an_unknown_kid_fetches_the_keys_again_at_most_once_per_interval() {
    let (key, provider, verifier) = one_key().await;
    accepted(&verifier, &provider.token(&key)).await;
    assert_eq!(provider.jwks_hits(), 1);
    let unknown = provider.token(&TestKey::rsa("stranger", 1));
    assert_refused(&verifier, &unknown, TokenRejection::UnknownKey).await;
    assert_eq!(provider.jwks_hits(), 2, "one refetch for an unknown kid");
    assert_refused(&verifier, &unknown, TokenRejection::UnknownKey).await;
    assert_eq!(
        provider.jwks_hits(),
        2,
        "no second refetch within the interval"
    );
}

#[tokio::test]
async fn a_rotated_key_is_fetched_once_then_served_from_the_cache() {
    let (key, provider, verifier) = one_key().await;
    accepted(&verifier, &provider.token(&key)).await;
    let rotated = TestKey::rsa("rotated", 2);
    provider.publish(&[&rotated]);
    for _ in 0..2 {
        accepted(&verifier, &provider.token(&rotated)).await;
    }
    assert_eq!(provider.jwks_hits(), 2);
    assert_eq!(provider.discovery_hits(), 1);
}

#[tokio::test]
async fn keys_are_fetched_again_when_the_cache_expires() {
    let (key, provider, _) = one_key().await;
    let uncached = OidcSettings {
        jwks_refresh: Duration::ZERO,
        ..provider.settings()
    };
    let verifier = verifier_for(uncached);
    for _ in 0..2 {
        accepted(&verifier, &provider.token(&key)).await;
    }
    assert_eq!(provider.jwks_hits(), 2);
}

#[tokio::test]
async fn concurrent_callers_share_one_fetch() {
    let (key, provider, verifier) = one_key().await;
    let token = provider.token(&key);
    let calls = (0..20).map(|_| verifier.verify(&token));
    let results = futures_util::future::join_all(calls).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(provider.jwks_hits(), 1);
    assert_eq!(provider.discovery_hits(), 1);
}

#[tokio::test]
async fn discovery_is_used_only_without_a_configured_jwks_uri() {
    let (key, provider, verifier) = one_key().await;
    let token = provider.token(&key);
    let configured = OidcSettings {
        jwks_uri: Some(provider.jwks_uri()),
        ..provider.settings()
    };
    accepted(&verifier_for(configured), &token).await;
    assert_eq!((provider.discovery_hits(), provider.jwks_hits()), (0, 1));
    accepted(&verifier, &token).await;
    assert_eq!((provider.discovery_hits(), provider.jwks_hits()), (1, 2));
}

#[tokio::test]
async fn a_discovery_document_of_another_issuer_makes_the_provider_unavailable() {
    let (key, provider, _) = one_key().await;
    let trailing_slash = OidcSettings {
        issuer: format!("{}/", provider.issuer),
        ..provider.settings()
    };
    let token = key.sign(&provider.claims(json!({"iss": trailing_slash.issuer})));
    assert_unavailable(verifier_for(trailing_slash).verify(&token).await);
    assert_eq!(provider.jwks_hits(), 0);
}

#[tokio::test]
async fn an_unreachable_provider_is_unavailable_not_an_invalid_token() {
    let (key, provider, _) = one_key().await;
    let settings = provider.settings();
    let token = provider.token(&key);
    provider.stop().await;
    assert_unavailable(verifier_for(settings).verify(&token).await);
}

/// Through the server: a provider's token is a user named `oidc:<claim>`, isolated from the
/// local users; a forged one is 401; an unreachable provider is 503; local tokens still work.
#[tokio::test(flavor = "multi_thread")]
async fn the_server_takes_the_providers_tokens_beside_its_own() {
    let key = TestKey::rsa("primary", 0);
    let provider = TestProvider::start(&[&key]).await;
    let admin_token = "oidc-admin-token-0123456789abcdef0123456789";
    let app = crate::helpers::spawn_app_with(&["sellar1"], |config| {
        config.auth.mode = host::auth::AuthMode::Tokens;
        config.auth.bootstrap_token = Some(admin_token.into());
        config.auth.oidc = provider.settings();
    })
    .await;
    let token = key.sign(&provider.claims(json!({"roles": ["reader"]})));
    let ada = app.with_token(&token);
    let me = ada.get("/users/me").await;
    assert_eq!(
        me.body,
        json!({"name": "oidc:ada", "role": "user"}),
        "{me:?}"
    );
    let job = ada.submit_ok("Sellar1", &json!({})).await;
    assert_eq!(ada.wait_for_job(&job).await["status"], "successful");
    let admin = app.with_token(admin_token);
    assert_eq!(admin.get("/users/me").await.body["name"], "admin");

    let forged = TestKey::rsa("primary", 1).sign(&provider.claims(json!({})));
    let refused = app.with_token(&forged).get("/users/me").await;
    assert_eq!(refused.status, 401, "{refused:?}");

    let late = TestKey::rsa("rotated", 2).sign(&provider.claims(json!({})));
    provider.stop().await;
    let unavailable = app.with_token(&late).get("/users/me").await;
    assert_eq!(
        unavailable.status, 503,
        "a new key with the provider down: {unavailable:?}"
    );
    assert_eq!(
        admin.get("/users/me").await.status,
        200,
        "local tokens need no provider"
    );
}
