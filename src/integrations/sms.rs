//! SMS: JSON lines under a folder (debug default) or Twilio's REST API through reqwest.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use super::SendError;
use crate::config::Secret;

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

/// Decodes an `application/x-www-form-urlencoded` body.
pub fn parse_form(body: &str) -> Vec<(String, String)> {
    fn decode(text: &str) -> String {
        let bytes = text.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&text[i + 1..i + 3], 16) {
                    Ok(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                },
                byte => out.push(byte),
            }
            i += 1;
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
                SendError::Transient(if e.is_timeout() {
                    "Twilio timed out".into()
                } else {
                    "Twilio unreachable".into()
                })
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
        if status.as_u16() == 429 || status.is_server_error() {
            Err(SendError::Transient(detail))
        } else {
            Err(SendError::Permanent(detail))
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
