use eligibility::{config::Config, startup::Application};
use yeyak_platform::{config::Env, Shutdown};

#[global_allocator]
static ALLOCATOR: yeyak_platform::Allocator = yeyak_platform::Allocator;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = yeyak_platform::telemetry::init("eligibility");
    let config = Config::from_env(&Env::process())?;
    let app = Application::build(config).await?;
    tracing::info!(addr = %app.grpc_addr(), "eligibility listening");
    app.run_until_stopped(Shutdown::on_signals()).await
}
