//! `yeyak-ctl`: the operator CLI (`yeyak_ctl`, docs/operations.md). Exit
//! codes: 0 done, 1 refused or failed (the reason on stderr), 2 usage.
use clap::Parser as _;
use yeyak_ctl::args::Cli;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let cli = Cli::parse();
    let json = cli.global.json;
    match yeyak_ctl::run(cli).await {
        Ok(report) => print!("{}", report.render(json)),
        Err(e) => match e.downcast::<clap::Error>() {
            // `rules --help` and its usage errors, as clap prints them.
            Ok(usage) => usage.exit(),
            Err(e) => {
                eprintln!("yeyak-ctl: {e:#}");
                std::process::exit(1);
            }
        },
    }
}
