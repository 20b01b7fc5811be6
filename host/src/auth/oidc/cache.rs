//! The issuer's keys, fetched once and shared: trusted for `jwks_refresh`, fetched early (at
//! most once per 30 s) when a token names a key the cache lacks, and fetched by one caller at a
//! time while the others wait for, and share, its answer.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use tokio::sync::Mutex;

use super::error::{OidcError, ProviderFailure, TokenRejection};
use super::keys::{KeySet, VerificationKey};
use super::provider::{KeySource, Provider};

/// The least time between two fetches caused by unknown key ids, so that tokens with made-up
/// `kid`s cannot make the server hammer the provider.
pub const UNKNOWN_KEY_REFETCH_INTERVAL: Duration = Duration::from_secs(30);

/// How long a failed fetch is the answer for everyone before the provider is asked again.
const FAILURE_BACKOFF: Duration = Duration::from_secs(1);

/// The cached key set and what the one fetch at a time needs.
#[derive(Debug)]
pub(super) struct KeyCache {
    provider: Provider,
    /// How long a fetched key set is trusted.
    lifetime: Duration,
    /// The last key set fetched; read without waiting.
    current: ArcSwapOption<KeySet>,
    /// Fetches attempted so far; a caller that waited for the lock and sees this changed takes
    /// the answer of the fetch made meanwhile instead of fetching again.
    attempts: AtomicU64,
    /// Held for the whole of a fetch.
    fetching: Mutex<FetchState>,
}

/// What only the fetching caller touches.
#[derive(Debug)]
struct FetchState {
    source: KeySource,
    last_forced: Option<Instant>,
    last_attempt: Option<Attempt>,
}

/// How the last fetch ended.
#[derive(Debug, Clone)]
enum Attempt {
    Fetched(Arc<KeySet>),
    Failed {
        at: Instant,
        failure: Arc<ProviderFailure>,
    },
}

impl KeyCache {
    pub fn new(provider: Provider, source: KeySource, lifetime: Duration) -> Self {
        Self {
            provider,
            lifetime,
            current: ArcSwapOption::empty(),
            attempts: AtomicU64::new(0),
            fetching: Mutex::new(FetchState {
                source,
                last_forced: None,
                last_attempt: None,
            }),
        }
    }

    /// The key a token's `kid` names, from the cache while it is fresh.
    pub async fn key(&self, key_id: Option<&str>) -> Result<Arc<VerificationKey>, OidcError> {
        let attempts_seen = self.attempts.load(Ordering::SeqCst);
        if let Some(key) = self.fresh_set().and_then(|set| set.find(key_id)) {
            return Ok(key);
        }
        self.refetch(key_id, attempts_seen).await
    }

    /// The cached set, unless it has outlived its lifetime.
    fn fresh_set(&self) -> Option<Arc<KeySet>> {
        let set = self.current.load_full()?;
        (set.fetched_at.elapsed() < self.lifetime).then_some(set)
    }

    /// Fetches the set again (the cache is stale, or lacks `key_id`), unless a fetch made while
    /// waiting, a recent failure or the unknown-key interval already gives the answer.
    async fn refetch(
        &self,
        key_id: Option<&str>,
        attempts_seen: u64,
    ) -> Result<Arc<VerificationKey>, OidcError> {
        let mut state = self.fetching.lock().await;
        if self.attempts.load(Ordering::SeqCst) != attempts_seen {
            return answer(state.last_attempt.as_ref(), key_id);
        }
        if let Some(Attempt::Failed { at, failure }) = &state.last_attempt
            && at.elapsed() < FAILURE_BACKOFF
        {
            return Err(OidcError::ProviderUnavailable(failure.clone()));
        }
        let unknown_key = self.fresh_set().is_some();
        if unknown_key {
            if state
                .last_forced
                .is_some_and(|at| at.elapsed() < UNKNOWN_KEY_REFETCH_INTERVAL)
            {
                return Err(TokenRejection::UnknownKey.into());
            }
            state.last_forced = Some(Instant::now());
        }
        let attempt = self.fetch(&mut state).await;
        answer(Some(&attempt), key_id)
    }

    /// One fetch, recorded as the last attempt (and, if it worked, as the cached set).
    async fn fetch(&self, state: &mut FetchState) -> Attempt {
        let attempt = match self.provider.key_set(&mut state.source).await {
            Ok(set) => {
                let set = Arc::new(set);
                self.current.store(Some(set.clone()));
                Attempt::Fetched(set)
            }
            Err(failure) => {
                tracing::warn!(error = %failure, "the OpenID Connect keys could not be fetched");
                let (at, failure) = (Instant::now(), Arc::new(failure));
                Attempt::Failed { at, failure }
            }
        };
        state.last_attempt = Some(attempt.clone());
        self.attempts.fetch_add(1, Ordering::SeqCst);
        attempt
    }
}

/// What an attempt says about `key_id`: its key, unknown, or the provider unavailable.
fn answer(
    attempt: Option<&Attempt>,
    key_id: Option<&str>,
) -> Result<Arc<VerificationKey>, OidcError> {
    match attempt {
        Some(Attempt::Fetched(set)) => set.find(key_id).ok_or(TokenRejection::UnknownKey.into()),
        Some(Attempt::Failed { failure, .. }) => {
            Err(OidcError::ProviderUnavailable(failure.clone()))
        }
        None => Err(TokenRejection::UnknownKey.into()),
    }
}
