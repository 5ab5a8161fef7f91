//! Bearer secrets: generated from the OS RNG, shown once, stored only as hashes. API tokens
//! are stored as SHA-256; session tokens and one-time codes as HMAC-SHA256 under the server's
//! secret key ([`Keyring`]), so a copy of the database alone cannot be used to check guesses.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A secret setting (a key, a token, a URL with a password): never printed, not even by
/// `Debug`. Configuration reads it (see `config`); the clients that need it hold it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

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

/// The version prefix of [`Keyring::seal`]'s output.
const SEALED_PREFIX: &str = "1.";

impl Keyring {
    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key) else {
            return [0; 32];
        };
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// Encrypts a short secret (at most 32 bytes, e.g. a TOTP key) for storage: a random 8-byte
    /// nonce, the secret XORed with HMAC-SHA256(key, purpose, nonce), and a 12-byte HMAC tag over
    /// all of it (encrypt-then-MAC with HMAC as the PRF). URL-safe base64, 56 characters for 20
    /// bytes. `None` for a longer secret.
    pub fn seal(&self, purpose: &str, secret: &[u8]) -> Option<String> {
        use base64::Engine;
        if secret.len() > 32 {
            return None;
        }
        let nonce = random_bytes(8);
        let stream = self.mac(&[b"seal\0", purpose.as_bytes(), b"\0", &nonce]);
        let cipher: Vec<u8> = secret.iter().zip(stream).map(|(s, k)| s ^ k).collect();
        let tag = self.mac(&[b"seal-tag\0", purpose.as_bytes(), b"\0", &nonce, &cipher]);
        let mut sealed = nonce;
        sealed.extend_from_slice(&cipher);
        sealed.extend_from_slice(&tag[..12]);
        Some(format!(
            "{SEALED_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sealed)
        ))
    }

    /// Opens what [`seal`](Self::seal) made with the same key and purpose; `None` when it was
    /// altered, made for another purpose or under another key.
    pub fn open(&self, purpose: &str, sealed: &str) -> Option<Vec<u8>> {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(sealed.strip_prefix(SEALED_PREFIX)?)
            .ok()?;
        if bytes.len() < 8 + 12 {
            return None;
        }
        let (nonce, rest) = bytes.split_at(8);
        let (cipher, tag) = rest.split_at(rest.len() - 12);
        let expected = self.mac(&[b"seal-tag\0", purpose.as_bytes(), b"\0", nonce, cipher]);
        if !constant_time_eq(&hex::encode(&expected[..12]), &hex::encode(tag)) {
            return None;
        }
        let stream = self.mac(&[b"seal\0", purpose.as_bytes(), b"\0", nonce]);
        Some(cipher.iter().zip(stream).map(|(c, k)| c ^ k).collect())
    }
}

/// The version prefix of [`Keyring::seal_text`]'s output.
const SEALED_TEXT_PREFIX: &str = "2.";

impl Keyring {
    /// A key used for exactly one message: HMAC-SHA256 of the server key over the purpose and a
    /// random 16-byte salt. One key per message makes a fixed nonce safe and puts no bound on
    /// how many messages one server key may seal.
    fn message_key(&self, purpose: &str, salt: &[u8]) -> [u8; 32] {
        self.mac(&[b"seal-text\0", purpose.as_bytes(), b"\0", salt])
    }

    /// Encrypts text of any length for storage with ChaCha20-Poly1305 (an AEAD), under a key
    /// derived from the server key, `purpose` and a random salt. `context` is authenticated but
    /// not stored (e.g. the row the text belongs to), so sealed text copied to another row does
    /// not open there. URL-safe base64 behind a version prefix; 16 + 16 bytes longer than the
    /// text before encoding.
    pub fn seal_text(&self, purpose: &str, context: &str, text: &str) -> String {
        use base64::Engine;
        use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};
        let salt = random_bytes(16);
        let mut sealed = text.as_bytes().to_vec();
        let key = UnboundKey::new(&CHACHA20_POLY1305, &self.message_key(purpose, &salt))
            .map(LessSafeKey::new);
        let sealing = key.and_then(|key| {
            key.seal_in_place_append_tag(
                Nonce::assume_unique_for_key([0; 12]),
                Aad::from(context.as_bytes()),
                &mut sealed,
            )
        });
        // A 32-byte key always suits ChaCha20-Poly1305 and sealing a Vec cannot run out of room;
        // should either ever fail, store nothing readable rather than the text in clear.
        if sealing.is_err() {
            sealed.clear();
        }
        let mut stored = salt;
        stored.extend_from_slice(&sealed);
        format!(
            "{SEALED_TEXT_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(stored)
        )
    }

    /// Opens what [`seal_text`](Self::seal_text) made with the same key, purpose and context;
    /// `None` when it was altered, or made for another purpose, context or key.
    pub fn open_text(&self, purpose: &str, context: &str, sealed: &str) -> Option<String> {
        use base64::Engine;
        use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(sealed.strip_prefix(SEALED_TEXT_PREFIX)?)
            .ok()?;
        if bytes.len() < 16 + CHACHA20_POLY1305.tag_len() {
            return None;
        }
        let (salt, cipher) = bytes.split_at(16);
        let key = LessSafeKey::new(
            UnboundKey::new(&CHACHA20_POLY1305, &self.message_key(purpose, salt)).ok()?,
        );
        let mut in_out = cipher.to_vec();
        let text = key
            .open_in_place(
                Nonce::assume_unique_for_key([0; 12]),
                Aad::from(context.as_bytes()),
                &mut in_out,
            )
            .ok()?;
        String::from_utf8(text.to_vec()).ok()
    }

    /// Whether `stored` is the output of [`seal_text`](Self::seal_text) (rather than older
    /// plain text).
    pub fn is_sealed_text(stored: &str) -> bool {
        stored.starts_with(SEALED_TEXT_PREFIX)
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
    fn sealed_secrets_open_only_with_their_key_and_purpose() {
        let a = Keyring::new(b"0123456789abcdef0123456789abcdef");
        let b = Keyring::new(b"fedcba9876543210fedcba9876543210");
        let secret = b"twenty bytes secret!";
        let sealed = a.seal("totp", secret).unwrap();
        assert!(sealed.len() <= 64, "{sealed}");
        assert!(!sealed.contains(&hex::encode(secret)));
        assert_ne!(
            a.seal("totp", secret).unwrap(),
            sealed,
            "a fresh nonce each time"
        );
        assert_eq!(a.open("totp", &sealed).as_deref(), Some(&secret[..]));
        assert_eq!(b.open("totp", &sealed), None, "another key");
        assert_eq!(a.open("other", &sealed), None, "another purpose");
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 20;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(a.open("totp", &String::from_utf8(tampered).unwrap()), None);
        assert_eq!(a.open("totp", "JBSWY3DPEHPK3PXP"), None, "not sealed");
        assert_eq!(a.seal("totp", &[0; 33]), None);
    }

    #[test]
    fn sealed_text_opens_only_with_its_key_purpose_and_context() {
        let a = Keyring::new(b"0123456789abcdef0123456789abcdef");
        let b = Keyring::new(b"fedcba9876543210fedcba9876543210");
        let text = r#"{"access_token":"bkt_0123456789abcdef","client_secret":"pi_1_secret_2"}"#;
        let sealed = a.seal_text("idempotency", "scope\0key", text);
        assert!(Keyring::is_sealed_text(&sealed));
        assert!(
            !sealed.contains("bkt_") && !sealed.contains("secret"),
            "{sealed}"
        );
        assert_ne!(
            a.seal_text("idempotency", "scope\0key", text),
            sealed,
            "a fresh salt each time"
        );
        assert_eq!(
            a.open_text("idempotency", "scope\0key", &sealed).as_deref(),
            Some(text)
        );
        assert_eq!(
            b.open_text("idempotency", "scope\0key", &sealed),
            None,
            "another key"
        );
        assert_eq!(
            a.open_text("totp", "scope\0key", &sealed),
            None,
            "another purpose"
        );
        assert_eq!(
            a.open_text("idempotency", "scope\0other", &sealed),
            None,
            "another row"
        );
        let mut tampered = sealed.clone().into_bytes();
        let middle = tampered.len() / 2;
        tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert_eq!(a.open_text("idempotency", "scope\0key", &tampered), None);
        assert_eq!(
            a.open_text("idempotency", "scope\0key", text),
            None,
            "not sealed"
        );
        assert_eq!(
            a.open_text("idempotency", "scope\0key", "2.AAAA"),
            None,
            "too short"
        );
        // Empty and long texts both round-trip.
        for text in [String::new(), "x".repeat(70_000)] {
            let sealed = a.seal_text("idempotency", "", &text);
            assert_eq!(a.open_text("idempotency", "", &sealed), Some(text));
        }
    }

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
