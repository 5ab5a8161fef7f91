//! Bearer secrets: generated from the OS RNG, shown once, stored only as SHA-256 hashes.

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

#[cfg(test)]
mod tests {
    use super::*;

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
