use inventory::{config::Config, startup::Application};
use yeyak_platform::{config::Env, Shutdown};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = yeyak_platform::telemetry::init("inventory");
    let config = Config::from_env(&Env::process())?;
    let app = Application::build(config).await?;
    tracing::info!(addr = %app.grpc_addr(), "inventory listening");
    app.run_until_stopped(Shutdown::on_signals()).await
}
