//! `yeyak-edge`: gRPC-Web for browsers in front of the public services.
use edge::{Application, Config};
use yeyak_platform::{config::Env, telemetry, Shutdown};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = telemetry::init("edge");
    let config = Config::from_env(&Env::process())?;
    let app = Application::build(config).await?;
    app.run_until_stopped(Shutdown::on_signals()).await
}
