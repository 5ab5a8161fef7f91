//! A traveler's contact details, validated at the boundary and masked in logs.

/// A customer's display name: 1–200 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerName(String);

impl CustomerName {
    pub fn parse(text: &str) -> Result<Self, String> {
        let name = text.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err("must be 1 to 200 characters".into());
        }
        if name.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address, checked for shape only (local@domain.tld); deliverability is the mailer's job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(text: &str) -> Result<Self, String> {
        let email = text.trim();
        let invalid = || Err("must be an email address such as ada@example.com".to_owned());
        if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return invalid();
        }
        let Some((local, domain)) = email.rsplit_once('@') else {
            return invalid();
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with(['.', '-'])
            && !domain.ends_with(['.', '-'])
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        if local.is_empty() || local.len() > 64 || local.contains('@') || !domain_ok {
            return invalid();
        }
        Ok(Self(email.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `a***@example.com`: enough to recognise in a log, not enough to contact.
    pub fn masked(&self) -> String {
        mask_email(&self.0)
    }
}

pub fn mask_email(email: &str) -> String {
    match email.rsplit_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

/// A phone number in E.164 (`+` and 8–15 digits). Spaces, dashes, dots and brackets that people
/// type are removed first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub fn parse(text: &str) -> Result<Self, String> {
        let compact: String = text
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
            .collect();
        let digits = compact.strip_prefix('+').unwrap_or("");
        let valid = (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if valid {
            Ok(Self(compact))
        } else {
            Err("must be an international number in E.164 form, e.g. +351912345678".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `+35191*****78`.
    pub fn masked(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        let keep_head = 6.min(chars.len());
        let keep_tail = 2.min(chars.len() - keep_head);
        let head: String = chars[..keep_head].iter().collect();
        let tail: String = chars[chars.len() - keep_tail..].iter().collect();
        format!(
            "{head}{}{tail}",
            "*".repeat(chars.len() - keep_head - keep_tail)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_for_shape() {
        assert!(Email::parse("ada@example.com").is_ok());
        assert!(Email::parse(" ada.l+tours@mail.example.co.uk ").is_ok());
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "ada@exa mple.com",
            "ada@.example.com",
            "ada@example..com",
            "ada@@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn phones_are_normalized_to_e164() {
        assert_eq!(
            Phone::parse("+351 912-345-678").map(|p| p.0),
            Ok("+351912345678".into())
        );
        for bad in [
            "912345678",
            "+0123456789",
            "+1",
            "+1234567890123456",
            "+35191234567x",
        ] {
            assert!(Phone::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn masks_hide_most_of_the_contact() {
        let email = Email::parse("ada@example.com").unwrap();
        assert_eq!(email.masked(), "a***@example.com");
        let phone = Phone::parse("+351912345678").unwrap();
        assert_eq!(phone.masked(), "+35191*****78");
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            CustomerName::parse("  Ada  ").map(|n| n.0),
            Ok("Ada".into())
        );
        assert!(CustomerName::parse("   ").is_err());
        assert!(CustomerName::parse(&"x".repeat(201)).is_err());
        assert!(CustomerName::parse("Ada\u{0}").is_err());
    }
}
