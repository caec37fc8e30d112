//! Passwords, hashed with argon2id off the async threads (hashing is deliberately slow).

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

pub const MIN_LENGTH: usize = 12;
/// Long enough for any passphrase, short enough that hashing cannot be used to tie up the server.
pub const MAX_LENGTH: usize = 256;

/// Why a password cannot be used, or `None`.
pub fn weakness(password: &str) -> Option<String> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        Some(format!("use at least {MIN_LENGTH} characters"))
    } else if length > MAX_LENGTH {
        Some(format!("use at most {MAX_LENGTH} characters"))
    } else {
        None
    }
}

/// At most this many hashes at once (each takes about 19 MiB and a core's time), so a burst of logins
/// queues instead of exhausting the machine.
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

pub async fn hash(password: String) -> anyhow::Result<String> {
    let _permit = HASHING.acquire().await?;
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
    })
    .await?
}

/// Whether `password` matches `hash`. A malformed stored hash never matches.
pub async fn verify(password: String, hash: String) -> bool {
    if password.len() > MAX_LENGTH * 4 {
        return false;
    }
    let Ok(_permit) = HASHING.acquire().await else { return false };
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .unwrap_or(false)
}

/// A hash to verify against when no account matched, so that the answer takes as long either way.
pub const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$K1D6j6rUSuDhrVqDBVhXWkS/mS2rj5y5MSGfIBZ7tmE";
