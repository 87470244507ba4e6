//! The command line every service binary with a database shares: serving is
//! the default, `migrate` applies the service's migrations and exits (what
//! the Helm pre-install/pre-upgrade hook Job runs, with the same image).
//! Settings still come from `YEYAK_*` variables, never from arguments.
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(about, disable_version_flag = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

/// What the binary was asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Serve gRPC until SIGTERM (the default).
    Serve,
    /// Apply this service's database migrations and exit.
    Migrate,
}

/// The command on this process's command line; exits with clap's usage
/// message on anything else.
pub fn command() -> Command {
    Cli::parse().command.unwrap_or(Command::Serve)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, clap::Error> {
        Cli::try_parse_from(args).map(|c| c.command.unwrap_or(Command::Serve))
    }

    #[test]
    fn serving_is_the_default_and_migrate_is_a_subcommand() {
        assert_eq!(parse(&["yeyak-x"]).unwrap(), Command::Serve);
        assert_eq!(parse(&["yeyak-x", "serve"]).unwrap(), Command::Serve);
        assert_eq!(parse(&["yeyak-x", "migrate"]).unwrap(), Command::Migrate);
        assert!(parse(&["yeyak-x", "migrat"]).is_err());
    }
}
