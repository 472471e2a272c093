//! Diagnostics: every problem found while loading, each naming its file, line or row, and field.

use std::fmt;

use crate::problem::Problem;

/// How bad a finding is. Errors stop a run; warnings are reported and the run goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

/// Where a finding sits: a line of a TOML/JSON file, or a row of a CSV/Parquet position file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Location {
    /// No finer location than the file itself.
    File,
    /// 1-based line of a text file.
    Line(u32),
    /// 1-based data row of a table (the CSV header is row 0).
    Row(u64),
}

/// One finding, e.g. `snapshot.toml:14: reserve "ETH": liquidation_threshold = 1.7, expected a number in (0, 1]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: String,
    pub location: Location,
    /// The field, with enough context to find it (`asset "stETH".underlying`).
    pub field: String,
    /// What was found and what was expected.
    pub problem: Problem,
}

impl Diagnostic {
    fn new(
        severity: Severity,
        file: &str,
        location: Location,
        field: impl Into<String>,
        problem: impl Into<Problem>,
    ) -> Self {
        Diagnostic {
            severity,
            file: file.to_string(),
            location,
            field: field.into(),
            problem: problem.into(),
        }
    }

    /// The problem in words, e.g. `= 1.7, expected a number in (0, 1]`.
    pub fn message(&self) -> String {
        self.problem.to_string()
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match self.location {
            Location::File => write!(f, "{sev}: {}", self.file)?,
            Location::Line(l) => write!(f, "{sev}: {}:{l}", self.file)?,
            Location::Row(r) => write!(f, "{sev}: {}: row {r}", self.file)?,
        }
        if self.field.is_empty() {
            write!(f, ": {}", self.problem)
        } else {
            write!(f, ": {}: {}", self.field, self.problem)
        }
    }
}

/// An ordered collection of findings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }
    /// Records an error at `file`/`location` about `field`.
    pub fn error(&mut self, file: &str, at: Location, field: &str, p: impl Into<Problem>) {
        self.record(Severity::Error, file, at, field, p.into());
    }
    /// Records a warning at `file`/`location` about `field`.
    pub fn warning(&mut self, file: &str, at: Location, field: &str, p: impl Into<Problem>) {
        self.record(Severity::Warning, file, at, field, p.into());
    }
    /// Records a finding of `severity`.
    pub fn record(
        &mut self,
        severity: Severity,
        file: &str,
        at: Location,
        field: &str,
        p: Problem,
    ) {
        self.items
            .push(Diagnostic::new(severity, file, at, field, p));
    }
    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }
    pub fn error_count(&self) -> usize {
        self.items
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items
            .iter()
            .filter(|d| d.severity == Severity::Warning)
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.items {
            writeln!(f, "{d}")?;
        }
        Ok(())
    }
}

/// A load that failed: the findings, at least one of them an error.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{} problem(s) found:\n{diagnostics}", diagnostics.error_count())]
pub struct LoadError {
    pub diagnostics: Diagnostics,
}
