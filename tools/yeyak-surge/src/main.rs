//! `yeyak-surge`: see `docs/surge.md`.
use clap::Parser as _;

fn main() -> std::process::ExitCode {
    let args = yeyak_surge::args::Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("yeyak-surge: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    runtime.block_on(yeyak_surge::cli::main(args))
}
