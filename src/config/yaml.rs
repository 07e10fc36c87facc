//! A YAML document as a tree that remembers where every node came from.
//!
//! serde-based YAML loaders stop at the first error and forget positions once a value is built. The config
//! checker wants to report *every* problem with its line and column, so we build our own small tree from the
//! parser's marked events, validate it against the schema, then convert it to JSON for serde.

use std::collections::HashMap;

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// 1-based line and column in the source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

impl From<Marker> for Pos {
    fn from(m: Marker) -> Self {
        // yaml-rust2 counts lines from 1 and columns from 0.
        Pos {
            line: m.line(),
            col: m.col() + 1,
        }
    }
}

impl std::fmt::Display for Pos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null(Pos),
    Bool(bool, Pos),
    Int(i64, Pos),
    Float(f64, Pos),
    Str(String, Pos),
    Seq(Vec<Node>, Pos),
    /// Keys keep their own positions so "unknown key" points at the key, not its value.
    Map(Vec<(String, Pos, Node)>, Pos),
}

impl Node {
    pub fn pos(&self) -> Pos {
        match self {
            Node::Null(p)
            | Node::Bool(_, p)
            | Node::Int(_, p)
            | Node::Float(_, p)
            | Node::Str(_, p)
            | Node::Seq(_, p)
            | Node::Map(_, p) => *p,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Node::Null(_) => "null",
            Node::Bool(..) => "a boolean",
            Node::Int(..) => "an integer",
            Node::Float(..) => "a number",
            Node::Str(..) => "a string",
            Node::Seq(..) => "a list",
            Node::Map(..) => "a mapping",
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries, _) => entries.iter().find(|(k, _, _)| k == key).map(|(_, _, v)| v),
            _ => None,
        }
    }

    pub fn to_json(&self) -> Value {
        match self {
            Node::Null(_) => Value::Null,
            Node::Bool(b, _) => Value::Bool(*b),
            Node::Int(i, _) => Value::Number((*i).into()),
            Node::Float(f, _) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Node::Str(s, _) => Value::String(s.clone()),
            Node::Seq(items, _) => Value::Array(items.iter().map(Node::to_json).collect()),
            Node::Map(entries, _) => {
                let mut m = Map::new();
                for (k, _, v) in entries {
                    m.insert(k.clone(), v.to_json());
                }
                Value::Object(m)
            }
        }
    }

    /// The node at a serde path such as `claude-api-key[0].base-url`, for placing serde's errors.
    pub fn find(&self, path: &str) -> Option<&Node> {
        let mut node = self;
        for segment in path.split('.').filter(|s| !s.is_empty()) {
            let (key, indexes) = match segment.find('[') {
                Some(i) => (&segment[..i], &segment[i..]),
                None => (segment, ""),
            };
            if !key.is_empty() {
                node = node.get(key)?;
            }
            for idx in indexes.split(['[', ']']).filter(|s| !s.is_empty()) {
                let i: usize = idx.parse().ok()?;
                match node {
                    Node::Seq(items, _) => node = items.get(i)?,
                    _ => return None,
                }
            }
        }
        Some(node)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub pos: Pos,
    pub message: String,
}

/// Parses one YAML document. An empty file is an empty mapping.
pub fn parse(text: &str) -> Result<Node, YamlError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, false).map_err(|e| YamlError {
        pos: (*e.marker()).into(),
        message: e.info().to_string(),
    })?;
    if let Some(err) = builder.error {
        return Err(err);
    }
    Ok(builder
        .root
        .unwrap_or(Node::Map(Vec::new(), Pos { line: 1, col: 1 })))
}

enum Frame {
    Seq(Vec<Node>, Pos, usize),
    /// Entries so far, the key waiting for its value, the map's position and anchor.
    Map(Vec<(String, Pos, Node)>, Option<(String, Pos)>, Pos, usize),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    error: Option<YamlError>,
}

impl Builder {
    fn push_value(&mut self, node: Node) {
        if self.error.is_some() {
            return;
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq(items, _, _)) => items.push(node),
            Some(Frame::Map(entries, pending, _, _)) => match pending.take() {
                Some((key, key_pos)) => {
                    // YAML forbids duplicate keys; silently keeping the last one hides typos.
                    if entries.iter().any(|(k, _, _)| *k == key) {
                        self.error = Some(YamlError {
                            pos: key_pos,
                            message: format!("duplicate key `{key}`"),
                        });
                        return;
                    }
                    entries.push((key, key_pos, node));
                }
                None => match node {
                    Node::Str(s, p) => *pending = Some((s, p)),
                    Node::Int(i, p) => *pending = Some((i.to_string(), p)),
                    Node::Bool(b, p) => *pending = Some((b.to_string(), p)),
                    Node::Null(p) => *pending = Some(("null".into(), p)),
                    other => {
                        self.error = Some(YamlError {
                            pos: other.pos(),
                            message: "mapping keys must be plain scalars".into(),
                        })
                    }
                },
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let pos = Pos::from(mark);
        match ev {
            Event::Scalar(value, style, anchor, tag) => {
                let node = scalar(value, style, tag.as_ref(), pos);
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.push_value(node);
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Seq(Vec::new(), pos, anchor)),
            Event::MappingStart(anchor, _) => {
                self.stack.push(Frame::Map(Vec::new(), None, pos, anchor))
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Frame::Seq(items, p, a)) => (Node::Seq(items, p), a),
                    Some(Frame::Map(entries, _, p, a)) => (Node::Map(entries, p), a),
                    None => return,
                };
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.push_value(node);
            }
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(node) => self.push_value(node),
                None => {
                    self.error.get_or_insert(YamlError {
                        pos,
                        message: "alias to an unknown anchor".into(),
                    });
                }
            },
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}

/// Resolves a scalar the way YAML 1.2's core schema does (what CLIProxyAPI's Go loader accepts too).
fn scalar(value: String, style: TScalarStyle, tag: Option<&Tag>, pos: Pos) -> Node {
    if let Some(tag) = tag {
        if tag.suffix == "str" {
            return Node::Str(value, pos);
        }
    }
    if style != TScalarStyle::Plain {
        return Node::Str(value, pos);
    }
    match value.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return Node::Null(pos),
        "true" | "True" | "TRUE" => return Node::Bool(true, pos),
        "false" | "False" | "FALSE" => return Node::Bool(false, pos),
        _ => {}
    }
    if let Ok(i) = value.parse::<i64>() {
        return Node::Int(i, pos);
    }
    if let Some(hex) = value.strip_prefix("0x") {
        if let Ok(i) = i64::from_str_radix(hex, 16) {
            return Node::Int(i, pos);
        }
    }
    let looks_numeric = value
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'));
    if looks_numeric && value.chars().any(|c| c.is_ascii_digit()) {
        if let Ok(f) = value.parse::<f64>() {
            return Node::Float(f, pos);
        }
    }
    Node::Str(value, pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_point_at_keys_and_values() {
        let doc = parse("host: 127.0.0.1\nport: 8317\nlist:\n  - a: 1\n").unwrap();
        let Node::Map(entries, _) = &doc else {
            panic!("not a map")
        };
        assert_eq!(entries[1].0, "port");
        assert_eq!(entries[1].1, Pos { line: 2, col: 1 });
        assert_eq!(entries[1].2, Node::Int(8317, Pos { line: 2, col: 7 }));
        let inner = doc.find("list[0].a").unwrap();
        assert_eq!(inner.pos(), Pos { line: 4, col: 8 });
    }

    #[test]
    fn scalars_resolve_like_yaml_core_schema() {
        let doc = parse("a: 'true'\nb: true\nc: ''\nd:\ne: 1.5\nf: 007\ng: \"8317\"\n").unwrap();
        assert_eq!(doc.get("a").unwrap().kind(), "a string");
        assert_eq!(doc.get("b").unwrap().kind(), "a boolean");
        assert_eq!(doc.get("c").unwrap().kind(), "a string");
        assert_eq!(doc.get("d").unwrap().kind(), "null");
        assert_eq!(doc.get("e").unwrap().kind(), "a number");
        assert_eq!(doc.get("f").unwrap().kind(), "an integer");
        assert_eq!(doc.get("g").unwrap().kind(), "a string");
    }

    #[test]
    fn duplicate_keys_and_syntax_errors_have_positions() {
        let err = parse("port: 1\nport: 2\n").unwrap_err();
        assert_eq!(err.pos.line, 2);
        assert!(err.message.contains("duplicate"));
        let err = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.pos.line >= 2, "{err:?}");
    }

    #[test]
    fn anchors_and_aliases_expand() {
        let doc = parse("base: &b {x: 1}\nother: *b\n").unwrap();
        assert_eq!(
            doc.get("other").unwrap().to_json(),
            serde_json::json!({"x": 1})
        );
    }

    #[test]
    fn empty_document_is_an_empty_map() {
        assert_eq!(parse("").unwrap().to_json(), serde_json::json!({}));
        assert_eq!(
            parse("# only a comment\n").unwrap().to_json(),
            serde_json::json!({})
        );
    }
}
