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

impl Twilio {
    pub fn new(
        api_base: &str,
        account_sid: &str,
        auth_token: Secret,
        from: &str,
        status_callback: Option<String>,
    ) -> Result<Twilio, String> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
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

    async fn send(&self, to: &str, body: &str) -> Result<(), SendError> {
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
            return Ok(());
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
    pub async fn send(&self, id: &str, to: &str, body: &str) -> Result<(), SendError> {
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
                    .map_err(|e| SendError::Transient(format!("sms folder: {}", e.kind())))
            }
        }
    }
}
