//! Secrets: API tokens (random, shown once, stored only as their SHA-256) and passwords
//! (Argon2id, in PHC form).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use sha2::{Digest, Sha256};

/// The prefix of every token this server issues, so that leaked tokens are easy to recognise.
pub const TOKEN_PREFIX: &str = "dsc_";

/// A new token: the prefix and 32 random bytes in hex (256 bits of entropy).
pub fn new_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(format!("{TOKEN_PREFIX}{}", hex::encode(bytes)))
}

/// What is stored of a token: its SHA-256, in hex. A token has 256 bits of entropy, so a fast
/// hash is safe, and a lookup by hash never compares secrets byte by byte.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A well-formed Argon2id hash that no password is known to match: checked when a login names
/// no user, so that a login takes as long whether the name exists or not.
pub const UNMATCHABLE_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3mC0WhnlR52iL3i1N6nHpfJVOiNdD5I8ENMwK4Ayt2I";

/// The fewest characters a password may have.
pub const MIN_PASSWORD_LEN: usize = 8;

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// The password is shorter than [`MIN_PASSWORD_LEN`].
    #[error("a password has at least {MIN_PASSWORD_LEN} characters")]
    TooShort,
    /// No randomness for the salt.
    #[error("no random bytes for a salt: {0}")]
    Random(#[from] getrandom::Error),
    /// Argon2 refused.
    #[error("hashing the password: {0}")]
    Argon2(argon2::password_hash::Error),
}

/// Hashes a password with Argon2id and a random 16-byte salt.
pub fn hash_password(password: &str) -> Result<String, HashError> {
    if password.len() < MIN_PASSWORD_LEN {
        return Err(HashError::TooShort);
    }
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)?;
    let salt = SaltString::encode_b64(&salt).map_err(HashError::Argon2)?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(HashError::Argon2)?
        .to_string())
}

/// Whether `password` matches a stored Argon2 hash (in constant time).
pub fn password_matches(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .and_then(|hash| Argon2::default().verify_password(password.as_bytes(), &hash))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_prefixed_and_stored_as_hashes() {
        let (first, second) = (new_token().expect("a token"), new_token().expect("a token"));
        assert_ne!(first, second);
        assert!(first.starts_with(TOKEN_PREFIX) && first.len() == TOKEN_PREFIX.len() + 64);
        assert_eq!(token_hash(&first), token_hash(&first));
        assert!(!token_hash(&first).contains(&first[TOKEN_PREFIX.len()..]));
    }

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let stored = hash_password("correct horse").expect("hashed");
        assert!(stored.starts_with("$argon2id$"));
        assert!(password_matches("correct horse", &stored));
        assert!(!password_matches("wrong horse", &stored));
        assert!(!password_matches("correct horse", "not a hash"));
        assert!(matches!(hash_password("short"), Err(HashError::TooShort)));
    }

    #[test]
    fn the_unmatchable_hash_is_well_formed_so_checking_it_costs_a_real_verification() {
        assert!(PasswordHash::new(UNMATCHABLE_HASH).is_ok());
        assert!(!password_matches("", UNMATCHABLE_HASH));
    }
}
