//! `yeyak-mock-sms`: the SMS gateway stand-in, as a process.
use mock_sms::{Application, Config};
use yeyak_platform::{config::Env, telemetry, Shutdown};

#[global_allocator]
static ALLOCATOR: yeyak_platform::Allocator = yeyak_platform::Allocator;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = telemetry::init("mock-sms");
    let config = Config::from_env(&Env::process())?;
    let app = Application::build(config).await?;
    app.run_until_stopped(Shutdown::on_signals()).await
}
