//! What is wrong with an input, typed: each [`Problem`] carries what was found and what was expected,
//! and renders the message a [`Diagnostic`](crate::Diagnostic) shows after its location.

use std::fmt;

use cascade_model::{PositionError, PositionWarning, UnknownName};

use crate::diag::Location;

/// What a name in an input refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameKind {
    Asset,
    Protocol,
    Market,
    Account,
    /// The underlying asset of an option.
    Underlying,
    VaultType,
    EModeCategory,
    /// A node of a financial network.
    Node,
    Column,
}

impl NameKind {
    pub fn name(self) -> &'static str {
        match self {
            NameKind::Asset => "asset",
            NameKind::Protocol => "protocol",
            NameKind::Market => "market",
            NameKind::Account => "account",
            NameKind::Underlying => "underlying",
            NameKind::VaultType => "vault type",
            NameKind::EModeCategory => "e-mode category",
            NameKind::Node => "node",
            NameKind::Column => "column",
        }
    }
}

impl fmt::Display for NameKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One problem found in an input. The field, line or row it is about are the
/// [`Diagnostic`](crate::Diagnostic)'s; the problem says what was found there and what was expected.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Problem {
    /// The text is not valid `format` (TOML, JSON, CSV) at all.
    Syntax {
        format: &'static str,
        detail: String,
    },
    /// The file cannot be opened or read.
    Unreadable { detail: String },
    /// The file is empty.
    EmptyFile { expected: String },
    /// A table with no data rows.
    NoRows { expected: String },
    /// A key the table does not have.
    UnknownField { expected: Vec<String> },
    /// A required key is absent; `hint` says what was expected there or why it is needed.
    MissingField { hint: String },
    /// A required cell or value is empty; `hint` says what was expected there.
    Empty { hint: String },
    /// A value of the wrong type: `found a number, expected a string`.
    WrongType { found: String, expected: String },
    /// A value that is not what the field accepts, in the words of the option-book format:
    /// `found -0.2, expected ≥ 0`.
    Found { found: String, expected: String },
    /// A value outside what the field accepts; `found` as written (`1.7`, `"abc"`).
    OutOfRange { found: String, expected: String },
    /// A name that refers to something of the wrong kind: `asset "X" is of kind "stable"; expected
    /// a "cdp_stable" asset`.
    WrongKind {
        what: NameKind,
        name: String,
        found: String,
        expected: String,
    },
    /// A name that refers to nothing: `unknown asset "X"`, in the scope of a protocol if `scope`;
    /// `hint` lists what was expected.
    UnknownName {
        kind: NameKind,
        name: String,
        scope: Option<String>,
        hint: Option<String>,
    },
    /// Something given twice (`what`), first at `first` if known.
    Duplicate {
        what: String,
        first: Option<Location>,
    },
    /// Columns of a table that are not read: the first few names and how many there are in all.
    UnknownColumns {
        names: Vec<String>,
        count: usize,
        expected: String,
    },
    /// A header that is not the file's: `found "from,to,value", expected "debtor,creditor,amount"`.
    Header { found: String, expected: String },
    /// A name without the row a file should give it.
    MissingRow {
        kind: NameKind,
        name: String,
        /// Where the name was first given (`L.csv, row 3`).
        named_in: String,
    },
    /// A required column is absent.
    MissingColumn { expected: String },
    /// A row with the wrong number of fields.
    FieldCount { found: usize, expected: String },
    /// A column stored with the wrong type.
    ColumnType { found: String, expected: String },
    /// A file that is damaged: its structure contradicts itself or its length.
    Corrupt {
        format: &'static str,
        detail: String,
    },
    /// An amount whose USD value (`amount × price`) is not a finite number.
    NotFiniteUsd { amount: f64, price: f64 },
    /// A position that its protocol does not allow.
    Position(PositionError),
    /// A position that is kept but has no effect (a warning).
    PositionWarning(PositionWarning),
    /// A name outside the fixed set a field accepts.
    UnknownChoice(UnknownName),
    /// More rows with errors than are listed.
    MoreErrors { rows: u64 },
    /// A rule relating several fields or items, broken, in words.
    Rule(String),
}

impl Problem {
    /// An [`Problem::OutOfRange`] for a number.
    pub fn out_of_range(found: f64, expected: impl Into<String>) -> Problem {
        Problem::OutOfRange {
            found: fmt_number(found),
            expected: expected.into(),
        }
    }

    /// An [`Problem::OutOfRange`] for a string, quoted.
    pub fn bad_text(found: &str, expected: impl Into<String>) -> Problem {
        Problem::OutOfRange {
            found: format!("\"{found}\""),
            expected: expected.into(),
        }
    }

    /// An [`Problem::UnknownName`] without a scope.
    pub fn unknown(kind: NameKind, name: &str, hint: impl Into<String>) -> Problem {
        Problem::UnknownName {
            kind,
            name: name.to_string(),
            scope: None,
            hint: Some(hint.into()),
        }
    }

    /// The message, e.g. `= 1.7, expected a number in (0, 1]`.
    pub fn message(&self) -> String {
        self.to_string()
    }
}

/// A number as messages show it: `-1`, `1.5`, and `1.7976931348623157e308` rather than 309 digits.
pub fn fmt_number(x: f64) -> String {
    let a = x.abs();
    if a.is_finite() && a != 0.0 && !(1e-6..1e16).contains(&a) {
        format!("{x:e}")
    } else {
        x.to_string()
    }
}

/// `, … (N in all)` after the first few of a list that has more.
fn list(items: &[String], count: usize) -> String {
    let mut out = items.join(", ");
    if count > items.len() {
        out.push_str(&format!(", … ({count} in all)"));
    }
    out
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Syntax { format, detail } => write!(f, "invalid {format}: {detail}"),
            Problem::Unreadable { detail } => write!(f, "cannot read: {detail}"),
            Problem::EmptyFile { expected } => write!(f, "empty file; expected {expected}"),
            Problem::NoRows { expected } => write!(f, "no data rows; expected {expected}"),
            Problem::UnknownField { expected } => {
                write!(f, "unknown field; expected one of: {}", expected.join(", "))
            }
            Problem::MissingField { hint } => write!(f, "missing; {hint}"),
            Problem::Empty { hint } => write!(f, "empty; {hint}"),
            Problem::WrongType { found, expected } => write!(f, "found {found}, expected {expected}"),
            Problem::OutOfRange { found, expected } => write!(f, "= {found}, expected {expected}"),
            Problem::Found { found, expected } => write!(f, "found {found}, expected {expected}"),
            Problem::WrongKind {
                what,
                name,
                found,
                expected,
            } => write!(f, "{what} \"{name}\" is of kind \"{found}\"; expected {expected}"),
            Problem::UnknownName {
                kind,
                name,
                scope,
                hint,
            } => {
                write!(f, "unknown {kind} \"{name}\"")?;
                if let Some(s) = scope {
                    write!(f, " in protocol \"{s}\"")?;
                }
                match hint {
                    Some(h) => write!(f, "; {h}"),
                    None => Ok(()),
                }
            }
            Problem::Duplicate { what, first } => {
                write!(f, "duplicate {what}")?;
                match first {
                    Some(Location::Line(l)) => write!(f, "; first on line {l}"),
                    Some(Location::Row(r)) => write!(f, "; first in row {r}"),
                    _ => Ok(()),
                }
            }
            Problem::UnknownColumns {
                names,
                count,
                expected,
            } => {
                let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
                let what = if *count == 1 { "column" } else { "columns" };
                write!(
                    f,
                    "unknown {what} {}; expected only the columns {expected}",
                    list(&quoted, *count)
                )
            }
            Problem::Header { found, expected } => {
                write!(f, "found \"{found}\", expected \"{expected}\"")
            }
            Problem::MissingRow {
                kind,
                name,
                named_in,
            } => write!(
                f,
                "no row for {kind} \"{name}\" (named in {named_in}); expected one row for every {kind} of the network"
            ),
            Problem::MissingColumn { expected } => {
                write!(f, "missing column; expected the columns {expected}")
            }
            Problem::FieldCount { found, expected } => {
                write!(f, "found {found} fields, expected {expected}")
            }
            Problem::ColumnType { found, expected } => {
                write!(f, "the column is stored as {found}; expected {expected}")
            }
            Problem::Corrupt { format, detail } => write!(f, "corrupt {format} file ({detail})"),
            Problem::NotFiniteUsd { amount, price } => write!(
                f,
                "= {} tokens at {} USD each is not a finite USD value; expected an amount whose value in USD is finite",
                fmt_number(*amount),
                fmt_number(*price)
            ),
            Problem::Position(e) => write!(f, "{e}"),
            Problem::PositionWarning(w) => write!(f, "{w}"),
            Problem::UnknownChoice(e) => write!(f, "{e}"),
            Problem::MoreErrors { rows } => write!(f, "... and {rows} more rows with errors"),
            Problem::Rule(m) => f.write_str(m),
        }
    }
}

/// A message in words is a [`Problem::Rule`].
impl From<String> for Problem {
    fn from(m: String) -> Problem {
        Problem::Rule(m)
    }
}

/// A message in words is a [`Problem::Rule`].
impl From<&str> for Problem {
    fn from(m: &str) -> Problem {
        Problem::Rule(m.to_string())
    }
}
