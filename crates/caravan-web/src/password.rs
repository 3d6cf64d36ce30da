//! Passwords: argon2id with OWASP's parameters, stored as a PHC string (issue 9).
//!
//! Why argon2id at 19 MiB, 2 passes, 1 lane: that is the OWASP Password Storage Cheat
//! Sheet's first recommended configuration, memory-hard enough that a stolen database is
//! slow to attack on GPUs, yet about a tenth of a second per sign-in on a node. The
//! parameters travel inside the PHC string, so raising them later still verifies old
//! hashes. Why a dummy hash: an unknown account must cost the same argon2 work as a wrong
//! password, or the time of the answer would tell an attacker which names exist.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// OWASP: m = 19 MiB, t = 2, p = 1.
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;

/// The shortest password accepted (NIST SP 800-63B §5.1.1.2: at least 8; we ask 12).
pub const MIN_LENGTH: usize = 12;
/// The longest (bounds the hashing work one request can ask for).
pub const MAX_LENGTH: usize = 256;

/// Why a new password is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Fewer than [`MIN_LENGTH`] characters.
    #[error("a password needs at least {MIN_LENGTH} characters")]
    TooShort,
    /// More than [`MAX_LENGTH`] bytes.
    #[error("a password may have at most {MAX_LENGTH} bytes")]
    TooLong,
    /// Hashing failed (no randomness for the salt, or a parameter error).
    #[error("the password could not be hashed: {0}")]
    Hash(String),
}

impl PasswordError {
    /// The public error code.
    pub fn code(&self) -> &'static str {
        match self {
            PasswordError::TooShort => "password_too_short",
            PasswordError::TooLong => "password_too_long",
            PasswordError::Hash(_) => "internal",
        }
    }
}

fn argon2() -> Argon2<'static> {
    // The constants are valid parameters; `Params::new` cannot fail on them.
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks a new password's length.
pub fn check_policy(password: &str) -> Result<(), PasswordError> {
    if password.len() > MAX_LENGTH {
        return Err(PasswordError::TooLong);
    }
    if password.chars().count() < MIN_LENGTH {
        return Err(PasswordError::TooShort);
    }
    Ok(())
}

/// Hashes a password that passes [`check_policy`] into a PHC string with a fresh salt.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    check_policy(password)?;
    hash_unchecked(password)
}

fn hash_unchecked(password: &str) -> Result<String, PasswordError> {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(|e| PasswordError::Hash(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError::Hash(e.to_string()))?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches the stored PHC string. `None` (no such account, or no
/// password set) verifies against a dummy hash and answers `false` after the same work.
/// The final comparison inside argon2 is constant-time.
pub fn verify(password: &str, phc: Option<&str>) -> bool {
    if password.len() > MAX_LENGTH {
        // No stored password can be this long: the same work on a bounded prefix, and a
        // certain refusal.
        return verify_against(&password[..floor_char_boundary(password, MAX_LENGTH)], None);
    }
    verify_against(password, phc)
}

fn verify_against(password: &str, phc: Option<&str>) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let real = phc.is_some();
    let target = match phc {
        Some(p) => p.to_owned(),
        None => DUMMY
            .get_or_init(|| hash_unchecked("caravan-dummy-password").unwrap_or_default())
            .clone(),
    };
    let Ok(parsed) = PasswordHash::new(&target) else {
        return false;
    };
    let ok = argon2()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    ok && real
}

fn floor_char_boundary(s: &str, mut at: usize) -> usize {
    while at > 0 && !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let phc = hash("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify("correct horse battery", Some(&phc)));
        assert!(!verify("correct horse batterY", Some(&phc)));
        assert!(!verify("", Some(&phc)));
    }

    #[test]
    fn salts_differ() {
        assert_ne!(
            hash("correct horse battery").unwrap(),
            hash("correct horse battery").unwrap()
        );
    }

    #[test]
    fn no_hash_never_verifies() {
        assert!(!verify("caravan-dummy-password", None));
        assert!(!verify("anything at all here", None));
        assert!(!verify("x", Some("not a phc string")));
    }

    #[test]
    fn policy_bounds_length() {
        assert_eq!(hash("short"), Err(PasswordError::TooShort));
        assert_eq!(check_policy(&"x".repeat(257)), Err(PasswordError::TooLong));
        assert!(check_policy(&"é".repeat(12)).is_ok());
        assert!(!verify(&"y".repeat(1000), None));
    }
}
