//! Operator accounts, as pure rules: roles, the password policy, and TOTP codes (RFC 6238).

use std::fmt;
use std::str::FromStr;

use hmac::{Hmac, Mac};
use sha1::Sha1;

/// What a user or API token may do for its operator. Each role can do everything the roles
/// below it can: guide < staff < admin < owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including users, API tokens and the operator's settings.
    Owner,
    /// Tours, schedules, departures, bookings, refunds, reports, messages, the audit log.
    Admin,
    /// Bookings, check-in, manifests, and reading the catalogue.
    Staff,
    /// Reading manifests and checking travelers in.
    Guide,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Owner, Role::Admin, Role::Staff, Role::Guide];

    const fn rank(self) -> u8 {
        match self {
            Role::Owner => 3,
            Role::Admin => 2,
            Role::Staff => 1,
            Role::Guide => 0,
        }
    }

    /// Whether this role may do what `required` may.
    pub const fn at_least(self, required: Role) -> bool {
        self.rank() >= required.rank()
    }

    /// The spelling stored in the database and used in the API; never change an existing one.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Staff => "staff",
            Role::Guide => "guide",
        }
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| "must be one of owner, admin, staff, guide".to_owned())
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// The longest, in bytes: hashing is deliberately slow, so its input is bounded.
pub const MAX_PASSWORD_BYTES: usize = 256;

/// The 10,000 passwords people pick first, lower-cased (see the file's header for its source).
/// Most are shorter than [`MIN_PASSWORD_CHARS`]; they matter as the stems people pad with digits
/// and symbols to pass a length rule, which [`check_password`] strips before looking.
const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

/// Checks a new password against the policy: length, not a common password (also after
/// stripping the digits and symbols people add to reach a length), not one repeated character,
/// not the account's email. The message says what is wrong, never the password.
pub fn check_password(password: &str, email: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!("must be at least {MIN_PASSWORD_CHARS} characters"));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(format!("must be at most {MAX_PASSWORD_BYTES} bytes"));
    }
    let lower = password.to_lowercase();
    let mut chars = lower.chars();
    let first = chars.next();
    if chars.all(|c| Some(c) == first) {
        return Err("must not be one character repeated".into());
    }
    let email = email.trim().to_lowercase();
    let local = email.split('@').next().unwrap_or_default();
    if lower == email || (!local.is_empty() && lower.contains(local) && local.len() >= 4) {
        return Err("must not contain the account's email address".into());
    }
    let stem = lower.trim_matches(|c: char| !c.is_alphabetic());
    // The first half of a password made of one word twice (`sunshinesunshine`); byte-wise, so only
    // when the middle falls between characters.
    let mid = lower.len() / 2;
    let half = (lower.len().is_multiple_of(2)
        && lower.is_char_boundary(mid)
        && lower[..mid] == lower[mid..])
        .then(|| &lower[..mid]);
    let common = |candidate: &str| {
        !candidate.is_empty()
            && COMMON_PASSWORDS
                .lines()
                .any(|line| line.trim() == candidate)
    };
    if common(&lower) || common(stem) || half.is_some_and(common) || stem.is_empty() {
        return Err("is too common; choose a less predictable password".into());
    }
    Ok(())
}

/// Consecutive failed logins after which an account locks, and for how long.
pub const LOCKOUT_AFTER: u32 = 5;
pub const LOCKOUT: chrono::Duration = chrono::Duration::minutes(15);

/// How long an account refuses logins after its `failures`-th consecutive failure: nothing for
/// the first two (typos), then 5 s, 30 s, and from [`LOCKOUT_AFTER`] on the full lockout.
pub fn backoff(failures: u32) -> Option<chrono::Duration> {
    match failures {
        0..=2 => None,
        3 => Some(chrono::Duration::seconds(5)),
        f if f < LOCKOUT_AFTER => Some(chrono::Duration::seconds(30)),
        _ => Some(LOCKOUT),
    }
}

/// TOTP parameters berth uses: the defaults every authenticator app supports.
pub const TOTP_DIGITS: u32 = 6;
pub const TOTP_STEP_SECONDS: i64 = 30;

/// HOTP (RFC 4226): HMAC-SHA1 of the counter, dynamically truncated to `digits` digits.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret) else {
        // HMAC accepts keys of any length; this arm is unreachable.
        return 0;
    };
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let binary = (u32::from(digest[offset] & 0x7f) << 24)
        | (u32::from(digest[offset + 1]) << 16)
        | (u32::from(digest[offset + 2]) << 8)
        | u32::from(digest[offset + 3]);
    binary % 10u32.pow(digits)
}

/// The time step containing `unix_seconds`.
pub fn totp_step(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(TOTP_STEP_SECONDS)
}

/// The TOTP code (RFC 6238, SHA-1) for a time step, zero-padded.
pub fn totp_code(secret: &[u8], step: i64, digits: u32) -> String {
    let code = hotp(secret, step.max(0) as u64, digits);
    format!("{code:0width$}", width = digits as usize)
}

/// The time step a submitted code belongs to, allowing one step of clock drift either way, and
/// only steps after `last_used` (a code is good once).
pub fn verify_totp(
    secret: &[u8],
    code: &str,
    unix_seconds: i64,
    last_used: Option<i64>,
) -> Option<i64> {
    let code = code.trim();
    if code.len() != TOTP_DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = totp_step(unix_seconds);
    (now - 1..=now + 1)
        .filter(|step| last_used.is_none_or(|last| *step > last))
        .find(|step| crate::secrets::constant_time_eq(&totp_code(secret, *step, TOTP_DIGITS), code))
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding, as authenticator apps expect secrets.
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(BASE32[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Decodes base32 (case-insensitive, padding and spaces ignored); `None` on any other character.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter(|c| *c != b'=' && *c != b' ') {
        let value = BASE32.iter().position(|b| *b == c.to_ascii_uppercase())? as u32;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    Some(out)
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The `otpauth://` URI an authenticator app scans (Key Uri Format).
pub fn provisioning_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let issuer = percent_encode(issuer);
    format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={TOTP_DIGITS}&period={TOTP_STEP_SECONDS}",
        account = percent_encode(account),
        secret = base32_encode(secret),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_round_trip() {
        assert!(Role::Owner.at_least(Role::Admin));
        assert!(Role::Admin.at_least(Role::Staff));
        assert!(Role::Staff.at_least(Role::Guide));
        assert!(!Role::Guide.at_least(Role::Staff));
        assert!(!Role::Admin.at_least(Role::Owner));
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
            assert!(role.at_least(role));
        }
        assert!("root".parse::<Role>().is_err());
        assert!("Owner".parse::<Role>().is_err());
    }

    #[test]
    fn the_password_policy_refuses_short_common_and_padded_passwords() {
        let email = "harbour.ops@example.com";
        for bad in [
            "short",
            "elevenchars",
            "password1234",
            "Password1234!",
            "123456789012",
            "qwertyuiop123",
            "aaaaaaaaaaaaaaaa",
            "!!!!2024!!!!1234",
            "sunshinesunshine",
            "Trustno1trustno1",
            "Michael!!2024",
            "harbour.ops@example.com",
            "i-am-harbour.ops-2026",
            &"x".repeat(MAX_PASSWORD_BYTES + 1),
        ] {
            assert!(check_password(bad, email).is_err(), "{bad:?} was accepted");
        }
        for good in [
            // Multi-byte characters around the middle (this once sliced inside a character).
            "aaéééééééééé",
            "correct horse battery staple",
            "Tr4vel-the-Douro-2026",
            "ümlaut-and-ñ-are-fine",
        ] {
            assert_eq!(check_password(good, email), Ok(()), "{good:?}");
        }
    }

    #[test]
    fn backoff_grows_then_locks() {
        assert_eq!(backoff(1), None);
        assert_eq!(backoff(2), None);
        assert_eq!(backoff(3), Some(chrono::Duration::seconds(5)));
        assert_eq!(backoff(4), Some(chrono::Duration::seconds(30)));
        assert_eq!(backoff(LOCKOUT_AFTER), Some(LOCKOUT));
        assert_eq!(backoff(40), Some(LOCKOUT));
    }

    /// RFC 6238, Appendix B: the SHA-1 test vectors (8 digits, 30-second steps).
    #[test]
    fn totp_matches_the_rfc_6238_test_vectors() {
        let secret = b"12345678901234567890";
        for (time, expected) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(
                totp_code(secret, totp_step(time), 8),
                expected,
                "T = {time}"
            );
        }
        // RFC 4226, Appendix D: HOTP values for counters 0 and 9.
        assert_eq!(hotp(secret, 0, 6), 755_224);
        assert_eq!(hotp(secret, 9, 6), 520_489);
    }

    #[test]
    fn a_totp_code_is_accepted_within_one_step_and_only_once() {
        let secret = b"an example secret of 20b";
        let now = 1_700_000_000;
        let code = totp_code(secret, totp_step(now), TOTP_DIGITS);
        let step = verify_totp(secret, &code, now, None).expect("accepted");
        assert_eq!(step, totp_step(now));
        assert_eq!(verify_totp(secret, &code, now + 30, None), Some(step));
        assert_eq!(verify_totp(secret, &code, now + 90, None), None, "too late");
        assert_eq!(
            verify_totp(secret, &code, now, Some(step)),
            None,
            "replayed"
        );
        assert_eq!(verify_totp(secret, "12345", now, None), None);
        assert_eq!(verify_totp(secret, "abcdef", now, None), None);
    }

    #[test]
    fn base32_round_trips_and_the_uri_names_the_account() {
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_decode("mzxw6ytboi").as_deref(), Some(&b"foobar"[..]));
        assert_eq!(
            base32_decode("MZXW6YTBOI======").as_deref(),
            Some(&b"foobar"[..])
        );
        assert_eq!(base32_decode("not base32!"), None);
        let uri = provisioning_uri("berth (Harbour Tours)", "ops@harbour.example", b"foobar");
        assert_eq!(
            uri,
            "otpauth://totp/berth%20%28Harbour%20Tours%29:ops@harbour.example?secret=MZXW6YTBOI\
             &issuer=berth%20%28Harbour%20Tours%29&algorithm=SHA1&digits=6&period=30"
        );
    }
}
