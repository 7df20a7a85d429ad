//! `i4gauge assess`: answers + evidence → assessment.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::Outcome;
use crate::answers::Answers;
use crate::assess::{self, Assessment, Inputs, RuleOutcome};
use crate::evidence::Evidence;
use crate::questionnaire::ui::Labels;
use crate::questionnaire::{Lang, Questionnaire};
use crate::report::filters;
use crate::scale::Score;

/// Arguments of `i4gauge assess`.
#[derive(Debug, Args)]
#[command(after_help = "\
Scores each dimension from the answers (declared), then applies the evidence rules to the
merged evidence files (verified), and plans a roadmap to the targets. The same inputs
always give the same assessment, byte for byte.

Exit codes: 0 complete assessment; 1 assessment written but some questions are unanswered
or `dont_know`, or the evidence comes from an interrupted scan; 2 invalid input.

Examples:
  i4gauge assess --answers answers.toml --evidence scan.json -o assessment.json
  i4gauge assess --answers answers.toml --evidence hall1.json --evidence hall2.json \\
      --target connectivity=4.0 --lang kk")]
pub struct AssessArgs {
    /// The answers file (TOML or JSON, see docs/answers.md).
    #[arg(long, value_name = "FILE")]
    answers: PathBuf,
    /// Evidence files from `i4gauge discover`; several are merged.
    #[arg(long, value_name = "FILE")]
    evidence: Vec<PathBuf>,
    /// Write the assessment (JSON) here, atomically.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Target level for a dimension (default: its next band), e.g. `connectivity=3.5`.
    #[arg(long, value_name = "DIMENSION=LEVEL", value_parser = parse_target)]
    target: Vec<(String, Score)>,
    /// A questionnaire directory instead of the built-in one.
    #[arg(long, value_name = "DIR")]
    questionnaire: Option<PathBuf>,
    /// Language of the summary.
    #[arg(long, value_enum, default_value = "en", env = "I4GAUGE_LANG")]
    lang: Lang,
    /// Print the whole assessment as JSON on stdout instead of the summary.
    #[arg(long)]
    json: bool,
    /// Also store the assessment, its answers and its evidence's assets in the
    /// history store (see `i4gauge history`).
    #[arg(long)]
    save: bool,
    #[command(flatten)]
    db: super::history::DbArgs,
}

fn parse_target(text: &str) -> Result<(String, Score), String> {
    let (dimension, level) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?}: write DIMENSION=LEVEL, e.g. connectivity=3.5"))?;
    let level = level
        .trim()
        .parse::<f64>()
        .ok()
        .and_then(Score::from_f64)
        .filter(|s| s.is_level())
        .ok_or_else(|| format!("{level:?} is not a level: use 2.0, 2.5, 3.0, 3.5 or 4.0"))?;
    Ok((dimension.trim().to_owned(), level))
}

/// The questionnaire named on the command line, or the built-in one.
pub(super) fn questionnaire(dir: Option<&PathBuf>) -> anyhow::Result<Questionnaire> {
    match dir {
        Some(dir) => Questionnaire::load_dir(dir),
        None => Ok(Questionnaire::builtin()),
    }
}

/// Runs `i4gauge assess`.
pub fn run(args: AssessArgs) -> anyhow::Result<Outcome> {
    let questionnaire = questionnaire(args.questionnaire.as_ref())?;
    let answers = Answers::load(&args.answers, &questionnaire)?;
    let evidence = args
        .evidence
        .iter()
        .map(|path| Evidence::load(path))
        .collect::<Result<Vec<_>, _>>()?;
    let targets: BTreeMap<String, Score> = args.target.into_iter().collect();
    let assessment = assess::assess(Inputs {
        questionnaire: &questionnaire,
        answers: &answers,
        evidence: &evidence,
        targets: &targets,
    })?;
    if let Some(path) = &args.output {
        crate::source::write_atomic(path, assessment.to_json().as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let saved = if args.save {
        let mut store = args.db.open()?;
        let assets = crate::history::assets_of(&evidence);
        let source = format!("assess --answers {}", args.answers.display());
        let saved = store.save(
            &assessment,
            crate::history::Extras {
                source: &source,
                answers: Some(&answers),
                assets: Some(&assets),
            },
        )?;
        super::history::note_key(&saved, &args.answers.display().to_string());
        Some((saved, store.path().to_owned()))
    } else {
        None
    };
    if args.json {
        print!("{}", assessment.to_json());
    } else {
        print!("{}", summary(&assessment, &questionnaire, args.lang));
        if let Some(path) = &args.output {
            println!("\nAssessment written to {}", path.display());
        }
        if let Some((saved, path)) = &saved {
            let verb = if saved.new {
                "saved as"
            } else {
                "already stored as"
            };
            println!("History: {verb} {} in {}", saved.id, path.display());
        }
    }
    let partial =
        assessment.overall.incomplete || assessment.evidence.runs.iter().any(|r| !r.complete);
    Ok(if partial {
        Outcome::Partial
    } else {
        Outcome::Success
    })
}

fn score(score: Option<Score>) -> String {
    score.map_or_else(|| "–".to_owned(), Score::one_decimal)
}

/// A plain-text summary for the terminal, labelled in `lang`.
pub fn summary(assessment: &Assessment, questionnaire: &Questionnaire, lang: Lang) -> String {
    use std::fmt::Write;
    let labels = Labels::builtin();
    let t = |key: &str| labels.get(key, lang).to_owned();
    let mut out = String::new();
    let overall = &assessment.overall;
    let _ = writeln!(
        out,
        "{} — {} {}, {} {}",
        assessment.enterprise.name,
        assessment.questionnaire.id,
        assessment.questionnaire.version,
        t("report.scoring_method"),
        assessment.scoring_method
    );
    let _ = writeln!(
        out,
        "{} {} ({} {}), {} {}, {} {}, {} {}% ({} {}%, {} {}%)",
        t("report.verified"),
        score(overall.verified),
        t("report.band"),
        score(overall.band),
        t("report.declared"),
        score(overall.declared),
        t("report.gap"),
        filters::gap(overall.gap),
        t("report.confidence"),
        overall.confidence,
        t("report.completeness"),
        overall.completeness,
        t("report.coverage"),
        overall.evidence_coverage
    );
    let _ = writeln!(
        out,
        "\n{:<34} {:>8} {:>8} {:>6} {:>6}",
        t("report.dimension"),
        t("report.declared"),
        t("report.verified"),
        t("report.gap"),
        t("report.target")
    );
    for dimension in &assessment.dimensions {
        let name = questionnaire
            .dimension(&dimension.id)
            .map_or(dimension.id.as_str(), |d| d.name.get(lang));
        let target = assessment
            .roadmap
            .targets
            .iter()
            .find(|t| t.dimension == dimension.id)
            .map(|t| t.to);
        let _ = writeln!(
            out,
            "{:<34} {:>8} {:>8} {:>6} {:>6}{}",
            name,
            score(dimension.declared),
            score(dimension.verified),
            filters::gap(dimension.gap),
            score(target),
            if dimension.incomplete {
                format!("  {}", t("report.incomplete"))
            } else {
                String::new()
            }
        );
    }
    if !assessment.contradictions.is_empty() {
        let _ = writeln!(out, "\n{}:", t("report.contradictions"));
        for c in &assessment.contradictions {
            let text = questionnaire.rule(&c.rule).map_or("", |r| r.text.get(lang));
            let _ = writeln!(
                out,
                "  {}: {} {}, {} ({}): {}",
                c.dimension,
                t("report.declared"),
                c.declared.one_decimal(),
                c.evidence_level,
                c.rule,
                text
            );
        }
    }
    let fired = assessment
        .rules
        .iter()
        .filter(|r| r.outcome == RuleOutcome::Fired)
        .count();
    let _ = writeln!(
        out,
        "\n{}: {} / {}; {} {}, {} {}: {}",
        t("report.rule_log"),
        fired,
        assessment.rules.len(),
        assessment.evidence.documents,
        t("report.scans"),
        assessment.evidence.assets,
        t("report.assets"),
        t(if assessment.scope.complete {
            "report.scope_complete"
        } else {
            "report.scope_partial"
        })
    );
    let _ = writeln!(
        out,
        "{}: {}",
        t("report.roadmap"),
        assessment.roadmap.actions.len()
    );
    for action in &assessment.roadmap.actions {
        let title = questionnaire
            .action(&action.id)
            .map_or(action.id.as_str(), |a| a.title.get(lang));
        let _ = writeln!(
            out,
            "  {:<16} {}  ({})",
            labels.fill("report.phase", lang, &[("months", action.phase.months())]),
            title,
            action.id
        );
    }
    out
}
