//! How a command fails, and the exit code each failure maps to.

use cascade_io::Diagnostics;

/// A failure, with the exit code it maps to.
pub enum Failure {
    /// Bad input or usage (exit 2): the message is already formatted.
    Input(String),
    /// A failure while running (exit 1).
    Runtime(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Runtime(e)
    }
}

/// Bad input: every problem a loader found.
pub fn input(d: Diagnostics) -> Failure {
    Failure::Input(d.to_string())
}
