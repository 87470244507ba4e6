//! `yeyak-mock-registry [serve | seed --count N [--seed S]]`.
use mock_registry::{cli, Application, Command, Config};
use yeyak_platform::{config::Env, telemetry, Shutdown};

#[tokio::main]
async fn main() {
    let _telemetry = telemetry::init("mock-registry");
    if let Err(error) = run().await {
        // One readable line (with causes) for operators, not a backtrace.
        eprintln!("yeyak-mock-registry: {error:#}");
        std::process::exit(1);
    }
}

async fn run() -> anyhow::Result<()> {
    let command = Command::parse(std::env::args().skip(1))?;
    let config = Config::from_env(&Env::process())?;
    match command {
        Command::Serve => Application::build(config).await?.run_until_stopped(Shutdown::on_signals()).await,
        Command::Seed { count, seed } => {
            let report = cli::run_seed(&config, count, seed).await?;
            println!("seeded {} people (seed {}) in {:.1?}", report.count, report.seed, report.elapsed);
            Ok(())
        }
    }
}
