//! `yeyak-mock-registry [serve | seed --count N [--seed S]]`.
use mock_registry::{cli, Application, Command, Config};
use yeyak_platform::{config::Env, telemetry, Shutdown};

#[global_allocator]
static ALLOCATOR: yeyak_platform::Allocator = yeyak_platform::Allocator;

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
    // A usage error (or --help) prints and exits here, as clap does.
    let command = Command::parse(std::env::args_os().skip(1)).unwrap_or_else(|e| e.exit());
    let config = Config::from_env(&Env::process())?;
    match command {
        Command::Serve => Application::build(config).await?.run_until_stopped(Shutdown::on_signals()).await,
        Command::Seed { count, seed } => {
            let report = cli::run_seed(&config, count, seed).await?;
            println!(
                "seeded {} people (seed {}) in {:.1?} (generate + COPY {:.1?}, indexes {:.1?}): {:.0} people/s",
                report.count,
                report.seed,
                report.elapsed,
                report.copy_elapsed,
                report.index_elapsed,
                report.count as f64 / report.elapsed.as_secs_f64().max(1e-9)
            );
            Ok(())
        }
    }
}
