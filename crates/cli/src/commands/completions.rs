//! `cascade completions SHELL`: a shell completion script on stdout (clap_complete).

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::failure::Failure;
use crate::output::print;

/// Flags of `cascade completions`.
#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    shell: Shell,
}

/// Writes the completion script of the command line `C` for the shell.
pub fn run<C: CommandFactory>(a: &CompletionsArgs) -> Result<(), Failure> {
    let mut cmd = C::command();
    let name = cmd.get_name().to_string();
    let mut script = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, name, &mut script);
    print(&String::from_utf8_lossy(&script))
}
