//! Email: `.eml` files under a folder (debug default) or SMTP through lettre (STARTTLS/TLS via
//! rustls, pooled connections, timeouts).

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::SendError;

/// A rendered email.
#[derive(Debug, Clone)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// An iCalendar attachment (`booking.ics`), for confirmations.
    pub ics: Option<String>,
}

/// Who an email comes from, per operator; `None` uses the global default. `from` is a whole
/// mailbox, built by [`operator_mailbox`] from a sender the operator may use.
#[derive(Debug, Clone, Default)]
pub struct Sender {
    pub from: Option<String>,
    pub reply_to: Option<String>,
}

/// The domain of a mailbox (`Tours <a@b.example>` → `b.example`); empty when it has none.
pub fn domain_of(mailbox: &str) -> String {
    mailbox
        .parse::<Mailbox>()
        .map(|m| m.email.domain().to_owned())
        .unwrap_or_default()
}

/// Checks a mailbox such as `Harbour Tours <tours@harbour.example>`.
pub fn valid_mailbox(text: &str) -> bool {
    text.len() <= 320 && text.parse::<Mailbox>().is_ok()
}

/// Checks a bare address such as `tours@harbour.example` (no display name).
pub fn valid_address(text: &str) -> bool {
    text.len() <= 254 && text.parse::<lettre::Address>().is_ok()
}

/// The From of an operator's traveler emails: its own name (control characters removed, so a
/// name can never add a header) and the address part of `mail_from`. `None` when `mail_from`
/// holds no address.
pub fn operator_mailbox(name: &str, mail_from: &str) -> Option<String> {
    let address = mail_from.parse::<Mailbox>().ok()?.email;
    let name: String = name
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    let name = (!name.is_empty()).then_some(name);
    Some(Mailbox::new(name, address).to_string())
}

pub enum Mailer {
    File {
        dir: PathBuf,
        from: Mailbox,
    },
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
    },
}

impl Mailer {
    pub fn file(dir: PathBuf, from: &str) -> Result<Mailer, String> {
        Ok(Mailer::File {
            dir,
            from: parse_from(from)?,
        })
    }

    /// `smtp://host:587?tls=required`, `smtps://user:pass@host:465`, …
    pub fn smtp(url: &str, from: &str) -> Result<Mailer, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|_| "BERTH_SMTP_URL is not a valid smtp:// or smtps:// URL".to_owned())?
            .timeout(Some(Duration::from_secs(15)))
            .build();
        Ok(Mailer::Smtp {
            transport,
            from: parse_from(from)?,
        })
    }

    /// Sends one email; `id` names the file for the file transport. The operator's own sender
    /// and reply-to, when set, replace the global `BERTH_MAIL_FROM`.
    pub async fn send(&self, id: &str, email: &Email, sender: &Sender) -> Result<(), SendError> {
        let default = match self {
            Mailer::File { from, .. } | Mailer::Smtp { from, .. } => from.clone(),
        };
        let from = sender
            .from
            .as_deref()
            .and_then(|f| f.parse().ok())
            .unwrap_or(default);
        let reply_to = sender
            .reply_to
            .as_deref()
            .and_then(|r| r.parse().ok())
            .unwrap_or_else(|| from.clone());
        let message = build(id, from, reply_to, email)?;
        match self {
            Mailer::File { dir, .. } => {
                let write = async {
                    tokio::fs::create_dir_all(dir).await?;
                    tokio::fs::write(dir.join(format!("{id}.eml")), message.formatted()).await
                };
                write
                    .await
                    .map_err(|e| SendError::Transient(format!("mail folder: {}", e.kind())))
            }
            Mailer::Smtp { transport, .. } => match transport.send(message).await {
                Ok(_) => Ok(()),
                // Permanent only when the recipient is refused (550, 551, 553); a 5xx about us
                // (authentication, TLS, relaying) is configuration to fix, so it waits and retries.
                Err(error)
                    if error.is_permanent()
                        && error.status().is_some_and(|code| {
                            matches!(code.to_string().as_str(), "550" | "551" | "553")
                        }) =>
                {
                    Err(SendError::Permanent(super::scrub(&error.to_string())))
                }
                Err(error) => Err(SendError::Transient(super::scrub(&error.to_string()))),
            },
        }
    }
}

fn parse_from(from: &str) -> Result<Mailbox, String> {
    from.parse().map_err(|_| {
        "BERTH_MAIL_FROM is not a valid mailbox such as \"Tours <tours@example.com>\"".to_owned()
    })
}

fn build(id: &str, from: Mailbox, reply_to: Mailbox, email: &Email) -> Result<Message, SendError> {
    let to: Mailbox = email
        .to
        .parse()
        .map_err(|_| SendError::Permanent("invalid recipient address".into()))?;
    let alternative = MultiPart::alternative()
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(email.text.clone()),
        )
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(email.html.clone()),
        );
    let body = match &email.ics {
        Some(ics) => {
            let calendar = ContentType::parse("text/calendar; charset=utf-8; method=PUBLISH")
                .map_err(|e| SendError::Permanent(e.to_string()))?;
            MultiPart::mixed()
                .multipart(alternative)
                .singlepart(Attachment::new("booking.ics".to_owned()).body(ics.clone(), calendar))
        }
        None => alternative,
    };
    // A Message-ID derived from the outbox id: if a crash makes the dispatcher send again,
    // receiving systems can recognise the second copy as the same message.
    let message_id = format!("<{id}@{}>", from.email.domain());
    Message::builder()
        .message_id(Some(message_id))
        .from(from)
        .reply_to(reply_to)
        .to(to)
        .subject(email.subject.clone())
        .multipart(body)
        .map_err(|e| SendError::Permanent(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operators_sender_shows_its_name_and_never_more_headers() {
        let from = operator_mailbox("Harbour Tours", "bookings@harbour.example").unwrap();
        let parsed: Mailbox = from.parse().unwrap();
        assert_eq!(parsed.name.as_deref(), Some("Harbour Tours"));
        assert_eq!(parsed.email.to_string(), "bookings@harbour.example");
        // A display name stored earlier is replaced by the operator's name.
        let from = operator_mailbox("Harbour Tours", "PayPal <bookings@harbour.example>").unwrap();
        assert_eq!(
            from.parse::<Mailbox>().unwrap().name.as_deref(),
            Some("Harbour Tours")
        );
        // A name with line breaks cannot inject a header.
        let from =
            operator_mailbox("Evil\r\nBcc: victim@example.com", "a@harbour.example").unwrap();
        assert!(!from.contains('\n') && !from.contains('\r'), "{from}");
        assert_eq!(
            from.parse::<Mailbox>().unwrap().email.to_string(),
            "a@harbour.example"
        );
        assert_eq!(operator_mailbox("Harbour", "not an address"), None);
        assert!(valid_address("bookings@harbour.example"));
        assert!(!valid_address("Harbour <bookings@harbour.example>"));
    }
}
