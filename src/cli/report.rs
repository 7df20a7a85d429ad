//! `i4gauge report`: an assessment (and its evidence) → one HTML file.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;

use super::Outcome;
use crate::assess::Assessment;
use crate::evidence::Evidence;
use crate::questionnaire::Lang;
use crate::report;

/// Arguments of `i4gauge report`.
#[derive(Debug, Args)]
#[command(after_help = "\
Writes one self-contained HTML file: inline CSS and SVG, no script, no request to anything
outside the file; Print -> PDF gives a clean A4 document. Pass the evidence files the
assessment was made from to include the asset inventory, topology and security findings,
and earlier assessments of the same enterprise to show progress.

Examples:
  i4gauge report assessment.json --evidence scan.json --lang kk -o report-kk.html
  i4gauge report 2026.json --previous 2025.json --previous 2024.json -o progress.html
  i4gauge report 2026.json --history -o progress.html")]
pub struct ReportArgs {
    /// The assessment (JSON, from `i4gauge assess`).
    #[arg(value_name = "ASSESSMENT")]
    assessment: PathBuf,
    /// Evidence files the assessment was made from.
    #[arg(long, value_name = "FILE")]
    evidence: Vec<PathBuf>,
    /// Earlier assessments of the same enterprise, for the progress section.
    #[arg(long, value_name = "FILE")]
    previous: Vec<PathBuf>,
    /// Add earlier assessments of the same enterprise from the history store
    /// (those dated before this one) to the progress section.
    #[arg(long)]
    history: bool,
    #[command(flatten)]
    db: super::history::DbArgs,
    /// Language of the report.
    #[arg(long, value_enum, default_value = "en", env = "I4GAUGE_LANG")]
    lang: Lang,
    /// Output file.
    #[arg(short, long, value_name = "FILE", default_value = "report.html")]
    output: PathBuf,
    /// The questionnaire directory the assessment used, if not the built-in one.
    #[arg(long, value_name = "DIR")]
    questionnaire: Option<PathBuf>,
}

fn load_assessment(path: &PathBuf) -> anyhow::Result<Assessment> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Assessment::from_json(&text, &path.display().to_string())
}

/// Runs `i4gauge report`.
pub fn run(args: ReportArgs) -> anyhow::Result<Outcome> {
    let questionnaire = super::assess::questionnaire(args.questionnaire.as_ref())?;
    let assessment = load_assessment(&args.assessment)?;
    if assessment.questionnaire.id != questionnaire.id
        || assessment.questionnaire.version != questionnaire.version
    {
        bail!(
            "{} was made with questionnaire {} {}, not {} {}: pass --questionnaire DIR",
            args.assessment.display(),
            assessment.questionnaire.id,
            assessment.questionnaire.version,
            questionnaire.id,
            questionnaire.version
        );
    }
    let evidence = args
        .evidence
        .iter()
        .map(|p| Evidence::load(p))
        .collect::<Result<Vec<_>, _>>()?;
    let mut previous = args
        .previous
        .iter()
        .map(load_assessment)
        .collect::<anyhow::Result<Vec<_>>>()?;
    if args.history {
        let store = args.db.open()?;
        for record in store.earlier(&assessment)? {
            if !previous.contains(&record.assessment) {
                previous.push(record.assessment);
            }
        }
    }
    previous.sort_by(|a, b| a.enterprise.date.cmp(&b.enterprise.date));
    let html = report::render(&report::Inputs {
        assessment: &assessment,
        questionnaire: &questionnaire,
        evidence: &evidence,
        previous: &previous,
        lang: args.lang,
    });
    crate::source::write_atomic(&args.output, html.as_bytes())
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    println!(
        "Report written to {} ({} KiB)",
        args.output.display(),
        html.len().div_ceil(1024)
    );
    Ok(Outcome::Success)
}
