//! Typed reading of a [`Node`] table that records every problem instead of stopping at the first.

use crate::diag::{Diagnostics, Location};
use crate::doc::{Node, Value};
use crate::problem::Problem;
use cascade_model::UnknownName;

/// Where diagnostics go while one file is read.
pub struct Ctx<'a> {
    pub file: &'a str,
    pub diags: &'a mut Diagnostics,
}

impl<'a> Ctx<'a> {
    /// Parses `text` (see [`crate::doc::parse`]) and opens the context its problems go to.
    pub fn parse(
        text: &str,
        format: crate::doc::Format,
        file: &'a str,
        diags: &'a mut Diagnostics,
    ) -> Option<(Node, Ctx<'a>)> {
        let root = crate::doc::parse(text, format, file, diags)?;
        Some((root, Ctx { file, diags }))
    }

    pub fn error(&mut self, line: u32, field: impl Into<String>, problem: impl Into<Problem>) {
        self.diags
            .error(self.file, Location::Line(line), &field.into(), problem);
    }
    pub fn warning(&mut self, line: u32, field: impl Into<String>, problem: impl Into<Problem>) {
        self.diags
            .warning(self.file, Location::Line(line), &field.into(), problem);
    }
}

/// A table being read: keys asked for are marked, and [`Table::finish`] reports the others as unknown.
pub struct Table<'n> {
    pub line: u32,
    /// How this table is named in messages, e.g. `asset "ETH"` or `protocol "lend" reserve 2`.
    pub what: String,
    entries: &'n [(String, Node)],
    asked: Vec<&'static str>,
}

impl<'n> Table<'n> {
    /// Reads `node` as a table; reports an error and returns `None` if it is not one.
    pub fn new(node: &'n Node, what: impl Into<String>, ctx: &mut Ctx) -> Option<Self> {
        let what = what.into();
        match &node.value {
            Value::Obj(entries) => Some(Table {
                line: node.line,
                what,
                entries,
                asked: Vec::new(),
            }),
            other => {
                ctx.error(node.line, what, wrong_type(other, "a table"));
                None
            }
        }
    }

    /// The `index`-th (0-based) table of a list of `kind`s, with its `id`: messages name it
    /// `kind "id"`, or `kind N` (1-based) if it has none.
    pub fn identified(
        n: &'n Node,
        kind: &str,
        index: usize,
        ctx: &mut Ctx,
    ) -> Option<(Self, Option<String>)> {
        let mut t = Table::new(n, format!("{kind} {}", index + 1), ctx)?;
        let id = t.req_str("id", ctx);
        if let Some(id) = &id {
            t.what = format!("{kind} \"{id}\"");
        }
        Some((t, id))
    }

    /// The top table of a document and its `name` (`unnamed` if none).
    pub fn named_top(root: &'n Node, ctx: &mut Ctx) -> Option<(Self, String)> {
        let mut top = Table::new(root, "", ctx)?;
        let name = top.opt_str("name", ctx);
        Some((top, name.unwrap_or_else(|| "unnamed".into())))
    }

    pub fn field(&self, key: &str) -> String {
        if self.what.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.what)
        }
    }

    /// The node under `key`, if present.
    pub fn get(&mut self, key: &'static str) -> Option<&'n Node> {
        self.asked.push(key);
        self.entries.iter().find(|(k, _)| k == key).map(|(_, n)| n)
    }

    /// Whether `key` is present.
    pub fn has(&self, key: &str) -> bool {
        self.entries.iter().any(|(k, _)| k == key)
    }

    /// The line of `key` if present, else the table's line.
    pub fn line_of(&self, key: &str) -> u32 {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, n)| n.line)
            .unwrap_or(self.line)
    }

    pub fn opt_str(&mut self, key: &'static str, ctx: &mut Ctx) -> Option<String> {
        let n = self.get(key)?;
        match &n.value {
            Value::Str(s) => Some(s.clone()),
            other => {
                ctx.error(n.line, self.field(key), wrong_type(other, "a string"));
                None
            }
        }
    }

    pub fn req_str(&mut self, key: &'static str, ctx: &mut Ctx) -> Option<String> {
        if self.entries.iter().all(|(k, _)| k != key) {
            self.asked.push(key);
            ctx.error(self.line, self.field(key), missing("expected a string"));
            return None;
        }
        self.opt_str(key, ctx)
    }

    /// A required name of a [`cascade_model::named_enum!`] enumeration; an error lists the names
    /// otherwise.
    pub fn req_choice<T>(&mut self, key: &'static str, ctx: &mut Ctx) -> Option<T>
    where
        T: std::str::FromStr<Err = UnknownName>,
    {
        let s = self.req_str(key, ctx)?;
        match s.parse::<T>() {
            Ok(v) => Some(v),
            Err(e) => {
                ctx.error(
                    self.line_of(key),
                    self.field(key),
                    Problem::UnknownChoice(e),
                );
                None
            }
        }
    }

    /// An optional finite number.
    pub fn opt_num(&mut self, key: &'static str, ctx: &mut Ctx) -> Option<f64> {
        let n = self.get(key)?;
        num_of(n, &self.field(key), ctx)
    }

    pub fn req_num(&mut self, key: &'static str, ctx: &mut Ctx) -> Option<f64> {
        if self.entries.iter().all(|(k, _)| k != key) {
            self.asked.push(key);
            ctx.error(self.line, self.field(key), missing("expected a number"));
            return None;
        }
        self.opt_num(key, ctx)
    }

    /// An optional number following `rule`.
    pub fn opt(&mut self, key: &'static str, rule: Rule, ctx: &mut Ctx) -> Option<f64> {
        let v = self.opt_num(key, ctx)?;
        self.judged(key, v, rule, ctx)
    }

    /// A required number following `rule`.
    pub fn req(&mut self, key: &'static str, rule: Rule, ctx: &mut Ctx) -> Option<f64> {
        let v = self.req_num(key, ctx)?;
        self.judged(key, v, rule, ctx)
    }

    fn judged(&self, key: &str, v: f64, rule: Rule, ctx: &mut Ctx) -> Option<f64> {
        rule.check(v)
            .map_err(|p| ctx.error(self.line_of(key), self.field(key), p))
            .ok()
    }

    pub fn opt_bool(&mut self, key: &'static str, ctx: &mut Ctx) -> Option<bool> {
        let n = self.get(key)?;
        match &n.value {
            Value::Bool(b) => Some(*b),
            other => {
                ctx.error(n.line, self.field(key), wrong_type(other, "true or false"));
                None
            }
        }
    }

    /// An array under `key` (absent: empty).
    pub fn arr(&mut self, key: &'static str, ctx: &mut Ctx) -> &'n [Node] {
        match self.get(key) {
            None => &[],
            Some(n) => match &n.value {
                Value::Arr(items) => items,
                other => {
                    ctx.error(n.line, self.field(key), wrong_type(other, "an array"));
                    &[]
                }
            },
        }
    }

    /// A table of `name = number` pairs under `key` (absent: empty).
    pub fn amounts(&mut self, key: &'static str, ctx: &mut Ctx) -> Vec<(String, f64, u32)> {
        let Some(n) = self.get(key) else {
            return Vec::new();
        };
        let field = self.field(key);
        match &n.value {
            Value::Obj(entries) => entries
                .iter()
                .filter_map(|(k, v)| {
                    num_of(v, &format!("{field}.{k}"), ctx).map(|x| (k.clone(), x, v.line))
                })
                .collect(),
            other => {
                ctx.error(
                    n.line,
                    field,
                    wrong_type(other, "a table of asset = amount"),
                );
                Vec::new()
            }
        }
    }

    /// Reports every key that was never asked for; the table's line if `ok`.
    pub fn done(self, ok: bool, ctx: &mut Ctx) -> Option<u32> {
        let line = self.line;
        self.finish(ctx);
        ok.then_some(line)
    }

    /// Reports every key that was never asked for.
    pub fn finish(self, ctx: &mut Ctx) {
        for (k, n) in self.entries {
            if !self.asked.contains(&k.as_str()) {
                let mut known: Vec<String> = self.asked.iter().map(|k| k.to_string()).collect();
                known.sort_unstable();
                known.dedup();
                ctx.error(
                    n.line,
                    self.field(k),
                    Problem::UnknownField { expected: known },
                );
            }
        }
    }
}

/// What a number field accepts, and how messages say so.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub ok: fn(f64) -> bool,
    pub expected: &'static str,
}

impl Rule {
    pub const fn new(ok: fn(f64) -> bool, expected: &'static str) -> Rule {
        Rule { ok, expected }
    }

    /// `x` if it is finite and accepted, else the problem.
    pub fn check(&self, x: f64) -> Result<f64, Problem> {
        if x.is_finite() && (self.ok)(x) {
            Ok(x)
        } else {
            Err(Problem::out_of_range(x, self.expected))
        }
    }
}

/// The rules most fields follow.
pub const POSITIVE: Rule = Rule::new(|x| x > 0.0, "a number > 0");
pub const NON_NEGATIVE: Rule = Rule::new(|x| x >= 0.0, "a number ≥ 0");
/// `[0, 1]`.
pub const UNIT: Rule = Rule::new(|x| (0.0..=1.0).contains(&x), "a number in [0, 1]");
/// `[0, 1)`.
pub const BELOW_ONE: Rule = Rule::new(|x| (0.0..1.0).contains(&x), "a number in [0, 1)");
/// `(0, 1]`.
pub const UNIT_OPEN: Rule = Rule::new(|x| x > 0.0 && x <= 1.0, "a number in (0, 1]");
/// `[0, 1)`, said as a share.
pub const SHARE: Rule = Rule::new(|x| (0.0..1.0).contains(&x), "a share in [0, 1)");
/// A whole number of rounds.
pub const ROUNDS: Rule = Rule::new(
    |x| x >= 0.0 && x.fract() == 0.0 && x <= 1e6,
    "a whole number of rounds ≥ 0",
);

/// A finite number, or an error naming `field`.
pub fn num_of(n: &Node, field: &str, ctx: &mut Ctx) -> Option<f64> {
    match &n.value {
        Value::Num(x) if x.is_finite() => Some(*x),
        Value::Num(x) => {
            ctx.error(n.line, field, Problem::out_of_range(*x, "a finite number"));
            None
        }
        other => {
            ctx.error(n.line, field, wrong_type(other, "a number"));
            None
        }
    }
}

/// A string, or an error naming `field`.
pub fn str_of(n: &Node, field: &str, ctx: &mut Ctx) -> Option<String> {
    match &n.value {
        Value::Str(s) => Some(s.clone()),
        other => {
            ctx.error(n.line, field, wrong_type(other, "a string"));
            None
        }
    }
}

/// A [`Problem::WrongType`]: `found a number, expected a string`.
pub fn wrong_type(found: &Value, expected: &str) -> Problem {
    Problem::WrongType {
        found: found.type_name().to_string(),
        expected: expected.to_string(),
    }
}

/// A [`Problem::MissingField`]: `missing; {hint}`.
pub fn missing(hint: impl Into<String>) -> Problem {
    Problem::MissingField { hint: hint.into() }
}
