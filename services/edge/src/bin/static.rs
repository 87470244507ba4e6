//! `yeyak-static`: the citizen page's files, off the booking path.
use edge::statics::{Site, SiteConfig};
use yeyak_platform::{config::Env, telemetry, Shutdown};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = telemetry::init("static");
    let config = SiteConfig::from_env(&Env::process())?;
    let site = Site::build(config).await?;
    site.run_until_stopped(Shutdown::on_signals()).await
}
