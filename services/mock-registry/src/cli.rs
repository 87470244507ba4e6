//! The binary's subcommands: `serve` (the default) and `seed --count N
//! [--seed S]`, parsed with `clap`.
use std::ffi::OsString;

use clap::{Parser, Subcommand};

use crate::{config::Config, seed::SeedReport};

/// `yeyak-mock-registry [serve | seed --count N [--seed S]]`; settings come
/// from `YEYAK_*` variables (see `Config`).
#[derive(Debug, Parser)]
#[command(name = "yeyak-mock-registry", about = "Mock national health-insurance registry")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Clone, Debug, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Serve the lookup API (the default); seeds first when YEYAK_SEED_COUNT
    /// is set and the stored population differs.
    Serve,
    /// Replace the whole population, whatever is loaded now.
    Seed {
        /// People to generate.
        #[arg(long, value_name = "N")]
        count: u64,
        /// Generator seed (default: YEYAK_SEED or the built-in seed).
        #[arg(long, value_name = "S")]
        seed: Option<u64>,
    },
}

impl Command {
    /// Parses the arguments after the program name. On a `clap::Error`,
    /// `exit()` prints usage or help and exits as command-line tools do.
    pub fn parse<I, S>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        let program = std::iter::once(OsString::from("yeyak-mock-registry"));
        let cli = Cli::try_parse_from(program.chain(args.into_iter().map(Into::into)))?;
        Ok(cli.command.unwrap_or(Self::Serve))
    }
}

/// `seed`: connect, migrate and load the population unconditionally.
pub async fn run_seed(config: &Config, count: u64, seed: Option<u64>) -> anyhow::Result<SeedReport> {
    let hash_key = config.require_hash_key()?;
    let pool = crate::connect_and_migrate(&config.database).await?;
    let report = crate::seed::seed(&pool, hash_key, seed.unwrap_or(config.seed), count).await?;
    pool.close().await;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse() {
        assert_eq!(Command::parse(Vec::<String>::new()).unwrap(), Command::Serve);
        assert_eq!(Command::parse(["serve"]).unwrap(), Command::Serve);
        assert_eq!(Command::parse(["seed", "--count", "100"]).unwrap(), Command::Seed { count: 100, seed: None });
        let both = Command::parse(["seed", "--seed", "7", "--count", "5"]).unwrap();
        assert_eq!(both, Command::Seed { count: 5, seed: Some(7) });
        assert!(Command::parse(["seed"]).unwrap_err().to_string().contains("--count"));
        assert!(Command::parse(["seed", "--count", "x"]).is_err());
        assert!(Command::parse(["seed", "--count"]).is_err());
        assert!(Command::parse(["serve", "extra"]).is_err());
        assert!(Command::parse(["dance"]).is_err());
    }
}
