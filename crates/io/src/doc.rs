//! A small document tree with line numbers, built from TOML (toml_edit) or JSON (jsonc-parser), so that
//! the typed loaders can report every problem with its line instead of stopping at the first one.

use std::collections::HashMap;

use crate::diag::{Diagnostics, Location};
use crate::problem::Problem;

/// A value with the 1-based line it starts on.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub line: u32,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Num(f64),
    Bool(bool),
    Arr(Vec<Node>),
    /// Keys in document order, each with its own line.
    Obj(Vec<(String, Node)>),
    Null,
    /// A value of a type the loaders never accept (a TOML date-time).
    Other(&'static str),
}

impl Value {
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "a string",
            Value::Num(_) => "a number",
            Value::Bool(_) => "a boolean",
            Value::Arr(_) => "an array",
            Value::Obj(_) => "a table",
            Value::Null => "null",
            Value::Other(t) => t,
        }
    }
}

/// Maps byte offsets to 1-based line numbers.
struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Self { starts }
    }
    fn line(&self, offset: usize) -> u32 {
        match self.starts.binary_search(&offset) {
            Ok(i) => i as u32 + 1,
            Err(i) => i as u32,
        }
    }
}

/// The format of a document, chosen from the file extension (`.json` is JSON, anything else TOML).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Toml,
    Json,
}

impl Format {
    pub fn from_path(path: &str) -> Format {
        if path.to_ascii_lowercase().ends_with(".json") {
            Format::Json
        } else {
            Format::Toml
        }
    }
}

/// Parses `text` into a [`Node`] tree. A syntax error becomes one diagnostic naming the line.
pub fn parse(text: &str, format: Format, file: &str, diags: &mut Diagnostics) -> Option<Node> {
    let lines = Lines::new(text);
    match format {
        Format::Toml => match toml_edit::Document::parse(text) {
            Ok(doc) => Some(Node {
                line: 1,
                value: toml_table(doc.as_table(), &lines, 1),
            }),
            Err(e) => {
                let line = e.span().map(|s| lines.line(s.start)).unwrap_or(1);
                let msg = e.message().trim().to_string();
                diags.error(
                    file,
                    Location::Line(line),
                    "",
                    format!("invalid TOML: {msg}"),
                );
                None
            }
        },
        Format::Json => {
            let opts = jsonc_parser::ParseOptions::default();
            match jsonc_parser::parse_to_ast(text, &Default::default(), &opts) {
                Ok(res) => match res.value {
                    Some(v) => {
                        let mut dup = |line: u32, key: &str, first: u32| {
                            diags.error(
                                file,
                                Location::Line(line),
                                key,
                                Problem::Duplicate {
                                    what: format!("key \"{key}\""),
                                    first: Some(Location::Line(first)),
                                },
                            );
                        };
                        Some(json_node(&v, &lines, &mut dup))
                    }
                    None => {
                        diags.error(file, Location::File, "", "empty JSON document");
                        None
                    }
                },
                Err(e) => {
                    let line = lines.line(e.range().start);
                    diags.error(
                        file,
                        Location::Line(line),
                        "",
                        format!("invalid JSON: {}", e.kind()),
                    );
                    None
                }
            }
        }
    }
}

fn span_line(span: Option<std::ops::Range<usize>>, lines: &Lines, fallback: u32) -> u32 {
    span.map(|s| lines.line(s.start)).unwrap_or(fallback)
}

fn toml_table(t: &toml_edit::Table, lines: &Lines, fallback: u32) -> Value {
    let table_line = span_line(t.span(), lines, fallback);
    let mut out = Vec::new();
    for (k, item) in t.iter() {
        let key_line = t
            .key(k)
            .and_then(|key| key.span())
            .map(|s| lines.line(s.start))
            .unwrap_or(table_line);
        out.push((k.to_string(), toml_item(item, lines, key_line)));
    }
    Value::Obj(out)
}

fn toml_item(item: &toml_edit::Item, lines: &Lines, fallback: u32) -> Node {
    match item {
        toml_edit::Item::None => Node {
            line: fallback,
            value: Value::Null,
        },
        toml_edit::Item::Value(v) => toml_value(v, lines, fallback),
        toml_edit::Item::Table(t) => {
            let line = span_line(t.span(), lines, fallback);
            Node {
                line,
                value: toml_table(t, lines, line),
            }
        }
        toml_edit::Item::ArrayOfTables(a) => {
            let line = span_line(a.span(), lines, fallback);
            let items = a
                .iter()
                .map(|t| {
                    let l = span_line(t.span(), lines, line);
                    Node {
                        line: l,
                        value: toml_table(t, lines, l),
                    }
                })
                .collect();
            Node {
                line,
                value: Value::Arr(items),
            }
        }
    }
}

fn toml_value(v: &toml_edit::Value, lines: &Lines, fallback: u32) -> Node {
    let line = span_line(v.span(), lines, fallback);
    let value = match v {
        toml_edit::Value::String(s) => Value::Str(s.value().clone()),
        toml_edit::Value::Integer(i) => Value::Num(*i.value() as f64),
        toml_edit::Value::Float(f) => Value::Num(*f.value()),
        toml_edit::Value::Boolean(b) => Value::Bool(*b.value()),
        toml_edit::Value::Datetime(_) => Value::Other("a date-time"),
        toml_edit::Value::Array(a) => {
            Value::Arr(a.iter().map(|x| toml_value(x, lines, line)).collect())
        }
        toml_edit::Value::InlineTable(t) => {
            let mut out = Vec::new();
            for (k, x) in t.iter() {
                let kl = t
                    .key(k)
                    .and_then(|key| key.span())
                    .map(|s| lines.line(s.start))
                    .unwrap_or(line);
                out.push((k.to_string(), toml_value(x, lines, kl)));
            }
            Value::Obj(out)
        }
    };
    Node { line, value }
}

/// The node of a JSON value; a key repeated in an object goes to `dup` (line, key, first line): a
/// JSON reader would silently keep one of the two.
fn json_node(
    v: &jsonc_parser::ast::Value<'_>,
    lines: &Lines,
    dup: &mut dyn FnMut(u32, &str, u32),
) -> Node {
    use jsonc_parser::ast::Value as J;
    use jsonc_parser::common::Ranged;
    let line = lines.line(v.start());
    let value = match v {
        J::StringLit(s) => Value::Str(s.value.to_string()),
        J::NumberLit(n) => match n.value.parse::<f64>() {
            Ok(x) => Value::Num(x),
            Err(_) => Value::Other("an unsupported number literal"),
        },
        J::BooleanLit(b) => Value::Bool(b.value),
        J::NullKeyword(_) => Value::Null,
        J::Array(a) => Value::Arr(
            a.elements
                .iter()
                .map(|x| json_node(x, lines, &mut *dup))
                .collect(),
        ),
        J::Object(o) => {
            let mut out: Vec<(String, Node)> = Vec::with_capacity(o.properties.len());
            let mut first: HashMap<&str, u32> = HashMap::new();
            for p in &o.properties {
                let key = p.name.as_str();
                let node = json_node(&p.value, lines, &mut *dup);
                match first.get(key) {
                    Some(&l) => dup(node.line, key, l),
                    None => {
                        first.insert(key, node.line);
                        out.push((key.to_string(), node));
                    }
                }
            }
            Value::Obj(out)
        }
    };
    Node { line, value }
}

#[cfg(test)]
mod tests;
