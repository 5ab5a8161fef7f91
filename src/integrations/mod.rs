//! Outbound I/O: email and SMS transports, and the payment provider (the `payments` seam,
//! Stripe behind it). No domain decisions here.

pub mod email;
pub mod payments;
pub mod sms;
pub mod stripe;
pub mod webhooks;

/// How a send failed: worth retrying, or never going to work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    Transient(String),
    Permanent(String),
}

/// An error text fit to store and show operators: anything that looks like an email address or a
/// phone number (servers echo recipients in their replies) is masked, and the length bounded.
pub fn scrub(error: &str) -> String {
    let words: Vec<String> = error
        .split_whitespace()
        .map(|word| {
            let digits = word.chars().filter(char::is_ascii_digit).count();
            if word.contains('@') || (word.contains('+') && digits >= 6) || digits >= 8 {
                "***".to_owned()
            } else {
                word.to_owned()
            }
        })
        .collect();
    let mut text = words.join(" ");
    if text.len() > 300 {
        let cut = (0..=300)
            .rev()
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(0);
        text.truncate(cut);
    }
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn scrubbing_masks_contacts() {
        assert_eq!(
            super::scrub("550 5.1.1 <ada@example.com>: Recipient rejected to +351912345678"),
            "550 5.1.1 *** Recipient rejected to ***"
        );
    }
}
