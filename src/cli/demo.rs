//! `i4gauge demo`: the README's main command.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::Outcome;
use super::discover::Bar;
use crate::questionnaire::Lang;

/// Arguments of `i4gauge demo`.
#[derive(Debug, Args)]
#[command(after_help = "\
Starts the built-in simulated plant on loopback (127.77.0.x: three PLCs, a Modbus gateway
with serial devices, an open SCADA OPC UA server and a secured line controller), discovers
it with Modbus TCP and OPC UA, assesses it with built-in sample answers (one declaration
the scan contradicts), writes evidence.json, answers.toml, assessment.json and report.html
into DIR, and stops the plant. No configuration, no hardware, no network beyond loopback.")]
pub struct DemoArgs {
    /// Directory for the files (created if missing).
    #[arg(long, value_name = "DIR", default_value = "i4gauge-demo")]
    out: PathBuf,
    /// Language of the report.
    #[arg(long, value_enum, default_value = "en", env = "I4GAUGE_LANG")]
    lang: Lang,
}

/// Runs `i4gauge demo`.
pub fn run(args: DemoArgs, quiet: bool) -> anyhow::Result<Outcome> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let bar = if !quiet && std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} discovering the simulated plant {bar:30} {pos}/{len}",
            )
            .expect("valid template"),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    } else {
        ProgressBar::hidden()
    };
    if !quiet {
        eprintln!("Starting the simulated plant on 127.77.0.x and discovering it…");
    }
    let files = runtime.block_on(crate::demo::run(
        &args.out,
        args.lang,
        Arc::new(Bar(bar.clone())),
    ))?;
    bar.finish_and_clear();
    let overall = &files.result.overall;
    let score =
        |s: Option<crate::scale::Score>| s.map_or_else(|| "–".to_owned(), |s| s.one_decimal());
    println!(
        "Verified level {} (declared {}), confidence {}%; {} asset(s) found, {} contradiction(s), {} roadmap action(s).",
        score(overall.verified),
        score(overall.declared),
        overall.confidence,
        files.assets,
        files.result.contradictions.len(),
        files.result.roadmap.actions.len()
    );
    for contradiction in &files.result.contradictions {
        println!(
            "  {}: declared {}, the scan says {} ({})",
            contradiction.dimension,
            contradiction.declared,
            contradiction.evidence_level,
            contradiction.rule
        );
    }
    println!("\nReport:     {}", files.report.display());
    println!(
        "Dashboard:  {} (a ministry's survey of {} synthetic enterprises)",
        files.dashboard.display(),
        files.population
    );
    println!("Assessment: {}", files.assessment.display());
    println!("Evidence:   {}", files.evidence.display());
    println!("Answers:    {}", files.answers.display());
    println!("\nOpen the report and the dashboard in a browser; Print -> PDF gives A4 documents.");
    Ok(Outcome::Success)
}
