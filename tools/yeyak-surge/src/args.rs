//! The command line.
use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "yeyak-surge", version, about = "Opening-night simulator and capacity plan (docs/surge.md)")]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs a scenario against a deployment, checks the invariants and
    /// writes the report. Exits 1 when an invariant failed.
    Run(RunArgs),
    /// Sizes a deployment for a scenario's full-size figures from what a
    /// run measured (its summary.json): cores and replicas per service,
    /// Helm values, and whether it fits a core budget.
    Plan(PlanArgs),
}

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The scenario whose `[full_size]` figures to plan for.
    #[arg(long)]
    pub scenario: PathBuf,
    /// summary.json of a run (costs per booked person and per request).
    #[arg(long)]
    pub measured: PathBuf,
    /// Spare capacity on top of the need, e.g. 0.3 for 30%.
    #[arg(long, default_value_t = 0.3)]
    pub headroom: f64,
    /// Cores of services the deployment may use; the plan names the
    /// service that breaks it and by how much.
    #[arg(long)]
    pub budget: Option<f64>,
    /// Also print the Helm values that follow.
    #[arg(long)]
    pub helm_values: bool,
    /// Admission CPU µs per join measured under load (`bench_admission`),
    /// with --admission-poll-us: sizes admission per call instead of from
    /// the run's average, which carries its fixed per-second work.
    #[arg(long, requires = "admission_poll_us")]
    pub admission_join_us: Option<f64>,
    /// Admission CPU µs per poll measured under load (`bench_admission`).
    #[arg(long, requires = "admission_join_us")]
    pub admission_poll_us: Option<f64>,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The scenario (TOML), e.g. tools/yeyak-surge/scenarios/ci.toml.
    #[arg(long)]
    pub scenario: PathBuf,
    /// Where the deployment listens (TOML); `make run` writes .run/endpoints.toml.
    #[arg(long, default_value = ".run/endpoints.toml")]
    pub endpoints: PathBuf,
    /// A file holding the operator token (the run creates and closes its
    /// own booking event); or `YEYAK_OPERATOR_TOKEN`.
    #[arg(long)]
    pub operator_token_file: Option<PathBuf>,
    /// The report's folder (summary.json, report.html).
    #[arg(long, default_value = "surge-report")]
    pub out: PathBuf,
    /// First registry index to draw people from (default: random, so runs
    /// against one deployment book different people).
    #[arg(long)]
    pub people_from: Option<u64>,
    /// Injects the scenario's `[chaos]` faults into a local deployment
    /// (the endpoints file's pids_file): services killed and started again,
    /// Redis keys lost, a provider and the SMS gateway slowed.
    #[arg(long)]
    pub chaos: bool,
    /// The chaos schedule's seed (printed by every chaos run; random when absent).
    #[arg(long, requires = "chaos")]
    pub chaos_seed: Option<u64>,
    /// No progress line (CI logs).
    #[arg(long)]
    pub quiet: bool,
}
