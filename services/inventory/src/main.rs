//! `yeyak-inventory` serves the inventory API; `seed` and `resize-slot` are
//! operator commands (see `cli`).
use clap::Parser as _;
use inventory::{config::Config, startup::Application};
use yeyak_platform::{config::Env, Shutdown};

mod cli;

#[global_allocator]
static ALLOCATOR: yeyak_platform::Allocator = yeyak_platform::Allocator;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = yeyak_platform::telemetry::init("inventory");
    match cli::Cli::parse().command.unwrap_or(cli::Command::Serve) {
        cli::Command::Serve => serve().await,
        cli::Command::Migrate => cli::migrate().await,
        cli::Command::Seed(args) => cli::seed(args).await,
        cli::Command::ResizeSlot(args) => cli::resize_slot(args).await,
    }
}

async fn serve() -> anyhow::Result<()> {
    let config = Config::from_env(&Env::process())?;
    let app = Application::build(config).await?;
    tracing::info!(addr = %app.grpc_addr(), internal = %app.internal_grpc_addr(), "inventory listening");
    app.run_until_stopped(Shutdown::on_signals()).await
}
