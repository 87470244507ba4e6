//! `yeyak-eligibility-cli`: who is eligible at instant T and why, for one
//! subject or a sample of the registry, and dry runs of new rules files.
//! See `eligibility::cli` and docs/eligibility.md.
use eligibility::cli::{run, Command, Defaults};
use yeyak_platform::Secret;

#[global_allocator]
static ALLOCATOR: yeyak_platform::Allocator = yeyak_platform::Allocator;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let command = match Command::parse(std::env::args_os().skip(1), &Defaults::from_process(), chrono::Utc::now()) {
        Ok(c) => c,
        // Usage errors and --help, printed as clap prints them.
        Err(e) => match e.downcast::<clap::Error>() {
            Ok(usage) => usage.exit(),
            Err(e) => {
                eprintln!("yeyak-eligibility-cli: {e:#}");
                std::process::exit(2);
            }
        },
    };
    let hash_key = std::env::var("YEYAK_SUBJECT_HASH_KEY").ok().filter(|k| !k.is_empty()).map(Secret::new);
    match run(command, hash_key).await {
        Ok(out) => print!("{out}"),
        Err(e) => {
            eprintln!("yeyak-eligibility-cli: {e:#}");
            std::process::exit(1);
        }
    }
}
