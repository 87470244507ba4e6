//! The binary's subcommands: `serve` (default) and `seed --count N [--seed S]`.
//! Hand-parsed: two commands do not justify an argument-parser dependency.
use crate::{config::Config, seed::SeedReport};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Serve,
    Seed { count: u64, seed: Option<u64> },
}

pub const USAGE: &str = "usage: yeyak-mock-registry [serve | seed --count N [--seed S]]";

impl Command {
    /// Parses the arguments after the program name.
    pub fn parse<I, S>(args: I) -> anyhow::Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let args: Vec<String> = args.into_iter().map(Into::into).collect();
        match args.first().map(String::as_str) {
            None | Some("serve") if args.len() <= 1 => Ok(Self::Serve),
            Some("seed") => {
                let (mut count, mut seed) = (None, None);
                let mut rest = args[1..].iter();
                while let Some(flag) = rest.next() {
                    let value = rest.next().ok_or_else(|| anyhow::anyhow!("{flag} needs a value\n{USAGE}"))?;
                    let number = value.parse::<u64>().map_err(|e| anyhow::anyhow!("{flag} {value:?}: {e}\n{USAGE}"))?;
                    match flag.as_str() {
                        "--count" => count = Some(number),
                        "--seed" => seed = Some(number),
                        other => anyhow::bail!("unknown option {other:?}\n{USAGE}"),
                    }
                }
                let count = count.ok_or_else(|| anyhow::anyhow!("seed needs --count N\n{USAGE}"))?;
                Ok(Self::Seed { count, seed })
            }
            _ => anyhow::bail!("unknown arguments {args:?}\n{USAGE}"),
        }
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
