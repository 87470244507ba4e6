use admission::{config::Config, startup};
use yeyak_platform::{cli::Command, config::Env, db::DatabaseSettings, Shutdown};

#[global_allocator]
static ALLOCATOR: yeyak_platform::Allocator = yeyak_platform::Allocator;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = yeyak_platform::telemetry::init("admission");
    let env = Env::process();
    if yeyak_platform::cli::command() == Command::Migrate {
        // Only the database settings: the migration step gets no service keys.
        return startup::migrate(&DatabaseSettings::from_env(&env, admission::config::DEFAULT_DATABASE)?).await;
    }
    let app = startup::Application::build(Config::from_env(&env)?).await?;
    tracing::info!(addr = %app.grpc_addr(), "admission listening");
    app.run_until_stopped(Shutdown::on_signals()).await
}
