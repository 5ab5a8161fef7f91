//! SMS: JSON lines under a folder (debug default) or Twilio's REST API through reqwest.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use super::SendError;
use crate::secrets::Secret;

pub enum SmsSender {
    File { dir: PathBuf },
    Twilio(Twilio),
}

pub struct Twilio {
    client: reqwest::Client,
    api_base: String,
    account_sid: String,
    auth_token: Secret,
    /// A phone number (`From`) or a messaging service (`MG…`, `MessagingServiceSid`).
    from: String,
    status_callback: Option<String>,
}

/// Twilio's error body: `{"code": 21211, "message": "...", "status": 400}`.
#[derive(Deserialize)]
struct TwilioError {
    code: Option<i64>,
}

/// Twilio's message resource: `{"sid": "SM…", "status": "queued", …}`.
#[derive(Deserialize)]
struct TwilioMessage {
    sid: Option<String>,
}

/// Checks `X-Twilio-Signature`: base64 of HMAC-SHA1, keyed with the auth token, over the full
/// callback URL followed by every POST parameter name and value, sorted by name.
pub fn valid_signature(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    signature: &str,
) -> bool {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(auth_token.as_bytes()) else {
        return false;
    };
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    let Ok(presented) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
        return false;
    };
    // `verify_slice` compares in constant time.
    mac.verify_slice(&presented).is_ok()
}

/// Decodes an `application/x-www-form-urlencoded` body. Works on bytes: a `%` followed by
/// anything but two hex digits is kept as it is, and no input can split a character.
pub fn parse_form(body: &str) -> Vec<(String, String)> {
    fn hex(byte: u8) -> Option<u8> {
        match byte {
            b'0'..=b'9' => Some(byte - b'0'),
            b'a'..=b'f' => Some(byte - b'a' + 10),
            b'A'..=b'F' => Some(byte - b'A' + 10),
            _ => None,
        }
    }
    fn decode(text: &str) -> String {
        let bytes = text.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let escaped = (bytes[i] == b'%')
                .then(|| Some((hex(*bytes.get(i + 1)?)?, hex(*bytes.get(i + 2)?)?)))
                .flatten();
            match (bytes[i], escaped) {
                (_, Some((high, low))) => {
                    out.push(high << 4 | low);
                    i += 3;
                }
                (b'+', None) => {
                    out.push(b' ');
                    i += 1;
                }
                (byte, None) => {
                    out.push(byte);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    body.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
        .collect()
}

impl Twilio {
    pub fn new(
        api_base: &str,
        account_sid: &str,
        auth_token: Secret,
        from: &str,
        status_callback: Option<String>,
        timeout: Duration,
    ) -> Result<Twilio, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Twilio {
            client,
            api_base: api_base.trim_end_matches('/').to_owned(),
            account_sid: account_sid.to_owned(),
            auth_token,
            from: from.to_owned(),
            status_callback,
        })
    }

    pub fn auth_token(&self) -> &str {
        self.auth_token.expose()
    }

    async fn send(&self, to: &str, body: &str) -> Result<Option<String>, SendError> {
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.api_base, self.account_sid
        );
        let sender = if self.from.starts_with("MG") {
            "MessagingServiceSid"
        } else {
            "From"
        };
        let mut form = vec![("To", to), (sender, self.from.as_str()), ("Body", body)];
        if let Some(callback) = &self.status_callback {
            form.push(("StatusCallback", callback));
        }
        let response = self
            .client
            .post(url)
            .basic_auth(&self.account_sid, Some(self.auth_token.expose()))
            .form(&form)
            .send()
            .await
            .map_err(|e| {
                if e.is_connect() {
                    SendError::Transient("Twilio unreachable".into())
                } else {
                    // The request may have reached Twilio, which has no idempotency key for
                    // sending: retrying could text the traveler twice. An operator decides.
                    SendError::Permanent(
                        "outcome unknown: Twilio did not answer in time; check before retrying"
                            .into(),
                    )
                }
            })?;
        let status = response.status();
        if status.is_success() {
            let sid = response
                .json::<TwilioMessage>()
                .await
                .ok()
                .and_then(|m| m.sid);
            return Ok(sid);
        }
        let code = response
            .json::<TwilioError>()
            .await
            .ok()
            .and_then(|e| e.code);
        let detail = format!(
            "Twilio answered {}{}",
            status.as_u16(),
            code.map(|c| format!(" (code {c})")).unwrap_or_default()
        );
        // Only errors about the recipient are permanent; credentials or account trouble (401,
        // 403, 404) is ours to fix, so those messages wait and retry until they are dead.
        const RECIPIENT_ERRORS: [i64; 5] = [21211, 21408, 21610, 21612, 21614];
        if status.as_u16() == 400 && code.is_some_and(|c| RECIPIENT_ERRORS.contains(&c)) {
            Err(SendError::Permanent(detail))
        } else {
            Err(SendError::Transient(detail))
        }
    }
}

impl SmsSender {
    /// Sends one SMS; returns the provider's id for it, when there is one.
    pub async fn send(&self, id: &str, to: &str, body: &str) -> Result<Option<String>, SendError> {
        match self {
            SmsSender::Twilio(twilio) => twilio.send(to, body).await,
            SmsSender::File { dir } => {
                let line =
                    serde_json::json!({ "id": id, "to": to, "body": body }).to_string() + "\n";
                let write = async {
                    tokio::fs::create_dir_all(dir).await?;
                    let mut file = tokio::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(dir.join("sms.jsonl"))
                        .await?;
                    file.write_all(line.as_bytes()).await
                };
                write
                    .await
                    .map(|()| None)
                    .map_err(|e| SendError::Transient(format!("sms folder: {}", e.kind())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_decode_without_panicking_on_any_input() {
        assert_eq!(
            parse_form("To=%2B351912345678&Body=caf%C3%A9+ok&x"),
            [
                ("To".into(), "+351912345678".into()),
                ("Body".into(), "café ok".into()),
                ("x".into(), String::new())
            ]
        );
        for hostile in ["a=%xé", "a=%", "a=%e", "%%%=%zz", "a=%C3", "é=%+1"] {
            let _ = parse_form(hostile);
        }
        assert_eq!(parse_form("a=%+1"), [("a".into(), "% 1".into())]);
    }

    /// The example from Twilio's documentation on validating requests.
    #[test]
    fn signatures_match_twilios_published_example() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let params: Vec<(String, String)> = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert!(valid_signature(
            "12345",
            url,
            &params,
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        ));
        assert!(!valid_signature(
            "12345",
            url,
            &params,
            "1/KCTR6DLpKmkAf8muzZqo1nDgQ="
        ));
        assert!(!valid_signature(
            "54321",
            url,
            &params,
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        ));
    }
}
