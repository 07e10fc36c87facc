//! The text exposition format 0.0.4: HELP and TYPE lines, samples with escaped label values,
//! cumulative histogram buckets.

use std::fmt::{Display, Write};

use super::{Hist, BUCKETS_MS};

/// Text exposition format 0.0.4 being written.
#[derive(Default)]
pub(super) struct Exposition {
    pub(super) text: String,
}

impl Exposition {
    pub(super) fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.text, "# TYPE {name} {kind}");
    }

    pub(super) fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                self.text.push_str(k);
                self.text.push_str("=\"");
                escape_label_into(&mut self.text, v);
                self.text.push('"');
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {value}");
    }

    pub(super) fn histogram(&mut self, name: &str, labels: &[(&str, &str)], h: &Hist) {
        let bucket = format!("{name}_bucket");
        let mut cumulative = 0;
        for (i, n) in h.buckets.iter().enumerate() {
            cumulative += n;
            let le = match BUCKETS_MS.get(i) {
                Some(ms) => seconds(*ms).to_string(),
                None => "+Inf".to_string(),
            };
            let mut with_le = labels.to_vec();
            with_le.push(("le", &le));
            self.sample(&bucket, &with_le, cumulative);
        }
        self.sample(&format!("{name}_sum"), labels, seconds(h.sum_ms));
        self.sample(&format!("{name}_count"), labels, h.count);
    }
}

fn seconds(ms: u64) -> f64 {
    // Exact for every bucket bound; sums lose precision only past 2^53 ms.
    ms as f64 / 1000.0
}

/// Label values may hold anything (credential labels hold emails, quotes, backslashes): the format
/// escapes backslash, double quote and line feed.
fn escape_label_into(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// HELP text escapes backslash and line feed (quotes stay as they are).
fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_and_help_are_escaped() {
        let mut s = String::new();
        escape_label_into(&mut s, "a\"b\\c\nd@e.com");
        assert_eq!(s, r#"a\"b\\c\nd@e.com"#);
        assert_eq!(escape_help("x\\y\n\"z\""), "x\\\\y\\n\"z\"");
    }
}
