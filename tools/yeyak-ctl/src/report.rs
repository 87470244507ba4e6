//! What a command prints: the same facts as text for people and as JSON for
//! scripts (`--json`), built together so the two never disagree.
use serde_json::Value;

#[derive(Debug)]
pub struct Report {
    pub text: String,
    pub json: Value,
}

impl Report {
    pub fn new(text: impl Into<String>, json: Value) -> Self {
        Self { text: text.into(), json }
    }

    /// The form the caller asked for, ending with a line break.
    pub fn render(&self, json: bool) -> String {
        if self.text.is_empty() && self.json.is_null() {
            String::new()
        } else if json {
            format!("{}\n", self.json)
        } else if self.text.ends_with('\n') {
            self.text.clone()
        } else {
            format!("{}\n", self.text)
        }
    }
}

/// A count with thousands separators, as operators read large numbers.
pub(crate) fn grouped(n: u64) -> String {
    eligibility::cli::grouped(n)
}

/// A rate with the precision an operator sets it with.
pub(crate) fn rate(r: f64) -> String {
    if r.fract() == 0.0 {
        format!("{r:.0}/s")
    } else {
        format!("{r:.2}/s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_text_end_with_one_line_break() {
        let r = Report::new("a\n", serde_json::json!({"a": 1}));
        assert_eq!(r.render(false), "a\n");
        assert_eq!(r.render(true), "{\"a\":1}\n");
        assert_eq!(Report::new("b", Value::Null).render(false), "b\n");
    }

    #[test]
    fn rates_keep_what_the_operator_typed() {
        assert_eq!(rate(50.0), "50/s");
        assert_eq!(rate(2.5), "2.50/s");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }
}
