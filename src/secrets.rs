//! Bearer secrets: generated from the OS RNG, shown once, stored only as hashes. API tokens
//! are stored as SHA-256; session tokens and one-time codes as HMAC-SHA256 under the server's
//! secret key ([`Keyring`]), so a copy of the database alone cannot be used to check guesses.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A new 256-bit secret with a recognisable prefix (so secret scanners can spot a leaked one),
/// and its hash for storage.
pub fn generate_token(prefix: &str) -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = format!("{prefix}{}", hex::encode(bytes));
    let hash = hash_token(&token);
    (token, hash)
}

/// SHA-256, hex. A fast hash is right here: the input is 256 random bits, not a password.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares two strings in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// `BERTH_SECRET_KEY`, used as the HMAC key ("pepper") for stored session tokens, password
/// reset codes and 2FA recovery codes. Rotating it signs every user out and voids pending codes.
#[derive(Clone)]
pub struct Keyring {
    key: Vec<u8>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keyring(***)")
    }
}

impl Keyring {
    pub fn new(key: &[u8]) -> Keyring {
        Keyring { key: key.to_vec() }
    }

    /// HMAC-SHA256 of `value` for one `purpose` (so a hash made for one use never matches another), hex.
    pub fn hash(&self, purpose: &str, value: &str) -> String {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key) else {
            // HMAC takes keys of any length; this arm is unreachable.
            return hash_token(value);
        };
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// `n` random bytes from the OS RNG.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_hashes_depend_on_key_and_purpose() {
        let a = Keyring::new(b"0123456789abcdef0123456789abcdef");
        let b = Keyring::new(b"fedcba9876543210fedcba9876543210");
        assert_eq!(a.hash("session", "x"), a.hash("session", "x"));
        assert_ne!(a.hash("session", "x"), b.hash("session", "x"));
        assert_ne!(a.hash("session", "x"), a.hash("reset", "x"));
        assert_eq!(a.hash("session", "x").len(), 64);
        assert!(!format!("{a:?}").contains("0123"));
    }

    #[test]
    fn tokens_are_unique_and_hash_stably() {
        let (a, hash_a) = generate_token("brt_");
        let (b, _) = generate_token("brt_");
        assert_ne!(a, b);
        assert!(a.starts_with("brt_") && a.len() == 4 + 64);
        assert_eq!(hash_token(&a), hash_a);
        assert_ne!(hash_a, a);
        assert!(constant_time_eq(&hash_a, &hash_token(&a)));
        assert!(!constant_time_eq(&hash_a, &hash_token(&b)));
        assert!(!constant_time_eq("abc", "abcd"));
    }
}
