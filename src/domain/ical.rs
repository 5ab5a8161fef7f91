//! iCalendar (RFC 5545) text: the escaping and folding every calendar berth writes shares, and
//! a calendar of events in UTC. Used by the booking's calendar entry (its confirmation) and by
//! the tours' calendar feeds.

use chrono::{DateTime, Utc};

/// A TEXT value (§3.3.11): line breaks of any kind become `\n`, and the separators are escaped,
/// so operator text cannot start a property of its own.
pub fn text(value: &str) -> String {
    value
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace('\n', "\\n")
}

/// A content line folded at 75 octets (§3.1), never inside a character.
pub fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / 70 * 3);
    let mut width = 0;
    for ch in line.chars() {
        if width + ch.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(ch);
        width += ch.len_utf8();
    }
    out
}

/// A UTC DATE-TIME (`20270501T090000Z`).
pub fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

/// One VEVENT. Text fields are raw; [`calendar`] escapes them.
#[derive(Debug, Clone)]
pub struct Event {
    /// Stable across versions of the calendar, so a subscribed calendar updates the entry.
    pub uid: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub summary: String,
    pub location: String,
    pub description: String,
    /// `STATUS:CANCELLED` instead of `CONFIRMED`.
    pub cancelled: bool,
}

/// A VCALENDAR of `events` (`name`: the calendar's display name, for feeds), CRLF line ends.
pub fn calendar(prodid: &str, name: Option<&str>, events: &[Event], now: DateTime<Utc>) -> String {
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        format!("PRODID:{prodid}"),
        "METHOD:PUBLISH".to_owned(),
    ];
    if let Some(name) = name {
        lines.push(format!("X-WR-CALNAME:{}", text(name)));
    }
    for event in events {
        lines.extend([
            "BEGIN:VEVENT".to_owned(),
            format!("UID:{}", event.uid),
            format!("DTSTAMP:{}", stamp(now)),
            format!("DTSTART:{}", stamp(event.start)),
            format!("DTEND:{}", stamp(event.end)),
            format!("SUMMARY:{}", text(&event.summary)),
            format!("LOCATION:{}", text(&event.location)),
            format!("DESCRIPTION:{}", text(&event.description)),
            format!(
                "STATUS:{}",
                if event.cancelled {
                    "CANCELLED"
                } else {
                    "CONFIRMED"
                }
            ),
            "END:VEVENT".to_owned(),
        ]);
    }
    lines.push("END:VCALENDAR".to_owned());
    lines
        .iter()
        .map(|l| fold(l))
        .collect::<Vec<_>>()
        .join("\r\n")
        + "\r\n"
}
