//! Changing a few values of a config file the way a person would: in place, keeping every comment, key
//! order and the rest of the file byte for byte. The settings page and the management API change one
//! key at a time; rewriting the whole file from a parsed value would throw away the user's comments.
//!
//! Each edit returns the new text; the caller validates it as a whole config before writing it.

use super::yaml::{self, Node, Pos};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EditError(String);

/// A scalar written as YAML: strings double-quoted (JSON escapes are valid YAML), the rest as is.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Str(String),
    Int(i64),
    Bool(bool),
}

impl Scalar {
    fn to_yaml(&self) -> String {
        match self {
            Scalar::Str(s) => serde_json::Value::from(s.as_str()).to_string(),
            Scalar::Int(n) => n.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

/// Sets `path` (one key, or a key inside a top-level mapping, e.g. `["routing", "strategy"]`) to
/// `value`, adding the key (and its parent) when missing.
pub fn set_scalar(text: &str, path: &[&str], value: &Scalar) -> Result<String, EditError> {
    let root = parse(text)?;
    let lines = Lines::new(text);
    let value = value.to_yaml();
    let (parent, key) = match path {
        [key] => (None, *key),
        [parent, key] => (Some(*parent), *key),
        _ => {
            return Err(EditError(
                "only one or two levels of keys can be set".into(),
            ))
        }
    };
    let map = match parent {
        None => Some(&root),
        Some(p) => root.get(p),
    };
    if let Some(Node::Map(entries, map_pos)) = map {
        if let Some((_, key_pos, node)) = entries.iter().find(|(k, _, _)| k == key) {
            return replace_inline_value(&lines, *key_pos, key, node, &value);
        }
        if let Some(parent) = parent {
            return insert_into_block_map(&lines, parent, entries, *map_pos, key, &value);
        }
    } else if let Some(parent) = parent.filter(|p| root.get(p).is_some()) {
        return Err(EditError(format!(
            "`{parent}` is not a mapping; fix it by hand first"
        )));
    }
    let addition = match parent {
        None => format!("{key}: {value}\n"),
        Some(parent) => format!("{parent}:\n  {key}: {value}\n"),
    };
    Ok(lines.append(&addition))
}

/// Replaces the top-level list `key` with `items` (strings), or adds it. Comments inside the old list
/// go with it; the rest of the file stays as it was.
pub fn set_string_list(text: &str, key: &str, items: &[String]) -> Result<String, EditError> {
    let root = parse(text)?;
    let lines = Lines::new(text);
    let block = if items.is_empty() {
        format!("{key}: []\n")
    } else {
        let mut b = format!("{key}:\n");
        for item in items {
            b.push_str(&format!("  - {}\n", Scalar::Str(item.clone()).to_yaml()));
        }
        b
    };
    let Node::Map(entries, _) = &root else {
        return Err(EditError("the config is not a mapping".into()));
    };
    let Some(index) = entries.iter().position(|(k, _, _)| k == key) else {
        return Ok(lines.append(&block));
    };
    let start = entries[index].1.line;
    if entries[index].1.col != 1 {
        return Err(EditError(format!(
            "`{key}` is not at the start of its line"
        )));
    }
    // The old value runs until the next top-level key, minus the blank and comment lines just before
    // it, which belong to that key.
    let mut end = match entries.get(index + 1) {
        Some((_, next, _)) => next.line,
        None => lines.count() + 1,
    };
    while end - 1 > start && lines.is_blank_or_comment(end - 1) {
        end -= 1;
    }
    Ok(lines.replace_lines(start, end, &block))
}

fn parse(text: &str) -> Result<Node, EditError> {
    yaml::parse(text).map_err(|e| {
        EditError(format!(
            "the config does not parse at {}: {}; fix it in the Config page first",
            e.pos, e.message
        ))
    })
}

/// Replaces a single-line scalar that follows `key:` on the key's own line, keeping a trailing comment.
fn replace_inline_value(
    lines: &Lines<'_>,
    key_pos: Pos,
    key: &str,
    node: &Node,
    value: &str,
) -> Result<String, EditError> {
    if matches!(node, Node::Map(..) | Node::Seq(..)) {
        return Err(EditError(format!(
            "`{key}` holds a {}, not a single value",
            node.kind()
        )));
    }
    let line = lines.get(key_pos.line);
    let key_at = line
        .char_indices()
        .nth(key_pos.col - 1)
        .map(|(i, _)| i)
        .ok_or_else(|| EditError(format!("cannot find `{key}` on line {}", key_pos.line)))?;
    let after_key = &line[key_at..];
    let colon = after_key
        .find(':')
        .ok_or_else(|| EditError(format!("cannot find `{key}:` on line {}", key_pos.line)))?;
    let value_from = key_at + colon + 1;
    // Inside a flow mapping (`routing: {strategy: x}`) the value also ends at `,` or `}`.
    let in_flow = line[..key_at].contains('{');
    let rest = &line[value_from..];
    let leading = rest.len() - rest.trim_start().len();
    let Some(len) = scalar_end(rest, leading, in_flow) else {
        return Err(EditError(format!(
            "`{key}` spans several lines; change it in the Config page"
        )));
    };
    if !matches!(node, Node::Null(_)) && leading == rest.len() {
        return Err(EditError(format!(
            "`{key}` spans several lines; change it in the Config page"
        )));
    }
    let mut new_line = String::with_capacity(line.len() + value.len());
    new_line.push_str(&line[..value_from]);
    new_line.push(' ');
    new_line.push_str(value);
    let tail = &rest[len..];
    if !tail.is_empty() && !tail.starts_with([',', '}']) && !tail.starts_with(char::is_whitespace) {
        new_line.push(' ');
    }
    new_line.push_str(tail);
    Ok(lines.replace_lines(key_pos.line, key_pos.line + 1, &format!("{new_line}\n")))
}

/// The byte length of the scalar starting at `from` in `s` (0 when there is none before a comment),
/// counted from the start of `s`; `None` for a block scalar or an unterminated quote, which span lines.
fn scalar_end(s: &str, from: usize, in_flow: bool) -> Option<usize> {
    let body = &s[from..];
    match body.chars().next() {
        None => Some(from),
        Some('|' | '>') => None,
        Some('#') => Some(from),
        Some(q @ ('"' | '\'')) => {
            let mut escaped = false;
            for (i, c) in body.char_indices().skip(1) {
                match c {
                    '\\' if q == '"' && !escaped => escaped = true,
                    c if c == q && !escaped => return Some(from + i + 1),
                    _ => escaped = false,
                }
            }
            None
        }
        Some(_) => {
            let mut end = body.len();
            if let Some(i) = body.find(" #") {
                end = end.min(i);
            }
            if in_flow {
                if let Some(i) = body.find([',', '}']) {
                    end = end.min(i);
                }
            }
            Some(from + body[..end].trim_end().len())
        }
    }
}

/// Adds `key: value` to the block mapping `parent`, right after its last entry's line, indented like
/// its entries.
fn insert_into_block_map(
    lines: &Lines<'_>,
    parent: &str,
    entries: &[(String, Pos, Node)],
    map_pos: Pos,
    key: &str,
    value: &str,
) -> Result<String, EditError> {
    let Some((_, first, _)) = entries.first() else {
        return Err(EditError(format!(
            "`{parent}` is empty; set `{parent}.{key}` in the Config page"
        )));
    };
    if lines.get(map_pos.line).contains('{') {
        return Err(EditError(format!(
            "`{parent}` is written inline; set `{parent}.{key}` in the Config page"
        )));
    }
    let indent = " ".repeat(first.col - 1);
    let last_line = entries
        .iter()
        .map(|(_, p, node)| p.line.max(node.pos().line))
        .max()
        .unwrap_or(first.line);
    Ok(lines.replace_lines(
        last_line + 1,
        last_line + 1,
        &format!("{indent}{key}: {value}\n"),
    ))
}

/// A text as 1-based lines, each with its line ending.
struct Lines<'a> {
    text: &'a str,
    lines: Vec<&'a str>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        Lines {
            text,
            lines: text.split_inclusive('\n').collect(),
        }
    }

    fn count(&self) -> usize {
        self.lines.len()
    }

    /// Line `n` without its line ending ("" past the end).
    fn get(&self, n: usize) -> &'a str {
        self.lines
            .get(n.wrapping_sub(1))
            .map_or("", |l| l.trim_end_matches(['\n', '\r']))
    }

    fn is_blank_or_comment(&self, n: usize) -> bool {
        let l = self.get(n).trim_start();
        l.is_empty() || l.starts_with('#')
    }

    /// The text with lines `from..to` (1-based, `to` exclusive) replaced by `with`.
    fn replace_lines(&self, from: usize, to: usize, with: &str) -> String {
        let mut out = String::with_capacity(self.text.len() + with.len());
        for line in &self.lines[..from - 1] {
            out.push_str(line);
        }
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(with);
        for line in &self.lines[(to - 1).min(self.lines.len())..] {
            out.push_str(line);
        }
        out
    }

    fn append(&self, with: &str) -> String {
        let mut out = self.text.to_string();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(with);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "# my proxy\nhost: 127.0.0.1  # only here\nport: 8317\napi-keys:\n  # the laptop\n  - \"a\"\n  - b\n\n# routing below\nrouting:\n  strategy: round-robin # default\nproxy-url:\ndebug: false\n";

    #[test]
    fn a_scalar_changes_in_place_and_comments_stay() {
        let out = set_scalar(CONFIG, &["port"], &Scalar::Int(9000)).unwrap();
        assert_eq!(out, CONFIG.replace("port: 8317", "port: 9000"));
        let out = set_scalar(CONFIG, &["host"], &Scalar::Str("0.0.0.0".into())).unwrap();
        assert!(out.contains("host: \"0.0.0.0\"  # only here\n"), "{out}");
        let out = set_scalar(
            CONFIG,
            &["routing", "strategy"],
            &Scalar::Str("fill-first".into()),
        )
        .unwrap();
        assert!(
            out.contains("  strategy: \"fill-first\" # default\n"),
            "{out}"
        );
        let out = set_scalar(CONFIG, &["proxy-url"], &Scalar::Str("socks5://h:1".into())).unwrap();
        assert!(
            out.contains("\nproxy-url: \"socks5://h:1\"\ndebug"),
            "{out}"
        );
        let out = set_scalar(CONFIG, &["debug"], &Scalar::Bool(true)).unwrap();
        assert!(out.ends_with("debug: true\n"), "{out}");
    }

    #[test]
    fn missing_keys_and_parents_are_added() {
        let out = set_scalar(CONFIG, &["request-retry"], &Scalar::Int(5)).unwrap();
        assert!(out.ends_with("debug: false\nrequest-retry: 5\n"), "{out}");
        let out = set_scalar(
            "port: 1\n",
            &["routing", "strategy"],
            &Scalar::Str("fill-first".into()),
        )
        .unwrap();
        assert_eq!(out, "port: 1\nrouting:\n  strategy: \"fill-first\"\n");
        let two = "routing:\n    strategy: round-robin\nport: 1\n";
        let out = set_scalar(two, &["routing", "session-affinity"], &Scalar::Bool(true)).unwrap();
        assert_eq!(
            out,
            "routing:\n    strategy: round-robin\n    session-affinity: true\nport: 1\n"
        );
        assert_eq!(
            set_scalar("", &["port"], &Scalar::Int(1)).unwrap(),
            "port: 1\n"
        );
    }

    #[test]
    fn flow_and_quoted_values_are_edited_too() {
        let flow = "routing: {strategy: round-robin, x: 1}\n";
        let out = set_scalar(
            flow,
            &["routing", "strategy"],
            &Scalar::Str("fill-first".into()),
        )
        .unwrap();
        assert_eq!(out, "routing: {strategy: \"fill-first\", x: 1}\n");
        let quoted = "host: \"a # not a comment\" # comment\n";
        let out = set_scalar(quoted, &["host"], &Scalar::Str("b".into())).unwrap();
        assert_eq!(out, "host: \"b\" # comment\n");
    }

    #[test]
    fn values_that_span_lines_are_refused() {
        let block = "host: |\n  127.0.0.1\n";
        assert!(set_scalar(block, &["host"], &Scalar::Str("x".into())).is_err());
        assert!(set_scalar(CONFIG, &["api-keys"], &Scalar::Str("x".into())).is_err());
        assert!(
            set_scalar("a: [\n", &["a"], &Scalar::Int(1)).is_err(),
            "a broken file"
        );
    }

    #[test]
    fn a_list_is_replaced_and_the_next_keys_comment_stays() {
        let out = set_string_list(CONFIG, "api-keys", &["a".into(), "new \"one\"".into()]).unwrap();
        assert_eq!(
            out,
            CONFIG.replace(
                "api-keys:\n  # the laptop\n  - \"a\"\n  - b\n",
                "api-keys:\n  - \"a\"\n  - \"new \\\"one\\\"\"\n"
            )
        );
        assert!(out.contains("\n\n# routing below\nrouting:"), "{out}");
        let out = set_string_list("port: 1\n", "api-keys", &[]).unwrap();
        assert_eq!(out, "port: 1\napi-keys: []\n");
        let inline = "api-keys: [\"x\"]\nport: 1\n";
        let out = set_string_list(inline, "api-keys", &["y".into()]).unwrap();
        assert_eq!(out, "api-keys:\n  - \"y\"\nport: 1\n");
        let last = "port: 1\napi-keys:\n  - x\n";
        assert_eq!(
            set_string_list(last, "api-keys", &["y".into()]).unwrap(),
            "port: 1\napi-keys:\n  - \"y\"\n"
        );
    }
}
