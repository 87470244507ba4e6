//! What each subcommand does with its arguments.
use std::process::ExitCode;

use anyhow::Context as _;
use yeyak_platform::config::Secret;

use crate::{
    args::{Args, Command, PlanArgs, RunArgs},
    run,
    scenario::Scenario,
    targets::EndpointsFile,
};

pub async fn main(args: Args) -> ExitCode {
    let result = match args.command {
        Command::Run(run) => run_scenario(run).await,
        Command::Plan(plan) => plan_capacity(&plan),
    };
    result.unwrap_or_else(|e| {
        eprintln!("yeyak-surge: {e:#}");
        ExitCode::from(2)
    })
}

async fn run_scenario(args: RunArgs) -> anyhow::Result<ExitCode> {
    let scenario = Scenario::load(&args.scenario)?;
    let endpoints = EndpointsFile::load(&args.endpoints)?;
    let token = match &args.operator_token_file {
        Some(file) => std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?.trim().to_owned(),
        None => std::env::var("YEYAK_OPERATOR_TOKEN").context("the operator token: YEYAK_OPERATOR_TOKEN or --operator-token-file")?,
    };
    let options = run::Options {
        scenario,
        endpoints,
        operator_token: Secret::new(token),
        out_dir: args.out.clone(),
        people_from: args.people_from,
        progress: !args.quiet,
        chaos: args.chaos.then(|| args.chaos_seed.unwrap_or_else(rand::random)),
    };
    let run::Outcome { summary, written, restarted } = run::run(options).await?;
    // Processes chaos started again keep running (make run stops them: the
    // pids file names them); their input closing is theirs to ignore.
    drop(restarted);
    if let Some(seed) = summary.chaos_seed {
        println!("chaos seed {seed} (--chaos --chaos-seed {seed} replays the faults): {} faults", summary.faults.len());
    }
    let failed: Vec<_> = summary.invariants.iter().filter(|i| !i.held).collect();
    println!(
        "{}: {} people, {} bookings ({:.1}/s) in {:.0} s; report {}",
        summary.scenario.name,
        summary.people,
        summary.bookings,
        summary.bookings_per_second,
        summary.duration_seconds,
        written.html.display()
    );
    for i in &summary.invariants {
        println!("  [{}] {}: {}", if i.held { "held" } else { "FAILED" }, i.name, i.detail);
    }
    Ok(if failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn plan_capacity(args: &PlanArgs) -> anyhow::Result<ExitCode> {
    let scenario = Scenario::load(&args.scenario)?;
    let text = std::fs::read_to_string(&args.measured).with_context(|| format!("reading {}", args.measured.display()))?;
    let measured: crate::report::Summary = serde_json::from_str(&text).with_context(|| format!("parsing {}", args.measured.display()))?;
    let full = crate::plan::FullSize::from_map(&scenario.full_size).context("the scenario's [full_size]")?;
    let per_call = args.admission_join_us.zip(args.admission_poll_us).map(|(join_us, poll_us)| crate::plan::PerCall { join_us, poll_us });
    let options = crate::plan::PlanOptions { headroom: args.headroom, admission_us_per_call: per_call, ..Default::default() };
    let plan = crate::plan::plan_with(&full, &measured, &options)?;
    println!("{plan}");
    if args.helm_values {
        println!("{}", plan.to_helm_values());
    }
    let broken = args.budget.and_then(|budget| plan.fits_budget(budget));
    match (&broken, args.budget) {
        (Some(why), _) => println!("does not fit: {why}"),
        (None, Some(budget)) => println!("fits {budget} cores of services ({} needed)", plan.total_cores()),
        (None, None) => {}
    }
    Ok(if broken.is_some() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
