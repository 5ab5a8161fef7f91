//! How berth's catalogue reads in OCTO's words (the channel API resellers speak): rules that do
//! not depend on the wire format's plumbing.

/// The OCTO unit type of a tour's unit, from its code: the usual ticket names map to OCTO's
/// types, anything else is `OTHER` (a reseller then shows the unit's own name).
pub fn unit_type(code: &str) -> &'static str {
    match code.trim().to_ascii_lowercase().as_str() {
        "adult" | "adults" => "ADULT",
        "youth" | "teen" | "teenager" => "YOUTH",
        "child" | "children" | "kid" | "kids" => "CHILD",
        "infant" | "baby" => "INFANT",
        "family" => "FAMILY",
        "senior" | "seniors" => "SENIOR",
        "student" | "students" => "STUDENT",
        "military" => "MILITARY",
        _ => "OTHER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_codes_map_to_octo_types() {
        assert_eq!(unit_type("adult"), "ADULT");
        assert_eq!(unit_type(" Child "), "CHILD");
        assert_eq!(unit_type("senior"), "SENIOR");
        assert_eq!(unit_type("kayak-double"), "OTHER");
    }
}
