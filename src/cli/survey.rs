//! `i4gauge survey`: many enterprises' assessments → the national picture
//! (import, rounds, report, export, generate).

use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use super::Outcome;
use crate::questionnaire::Lang;
use crate::report;
use crate::survey::aggregate::{Stats, Survey};
use crate::survey::import::{self, FileStatus};
use crate::survey::{Classifiers, DEFAULT_K, LoadedRound, load_round, synth};

/// Slows each import transaction by this many milliseconds (tests of interrupted imports).
const SLOW_IMPORT_ENV: &str = "I4GAUGE_TEST_SLOW_IMPORT_MS";

/// Assessments per import transaction instead of 1000 (tests of interrupted imports).
const BATCH_ENV: &str = "I4GAUGE_TEST_SURVEY_BATCH";

/// Arguments of `i4gauge survey`.
#[derive(Debug, Args)]
#[command(after_help = "\
A survey collects the assessments of many enterprises into rounds (one per year, say) in the
history store, and publishes population figures that never expose a single plant: no name,
BIN or network address, and no group of fewer than k enterprises (default 5), including by
subtraction between tables. See docs/survey.md.

Examples:
  i4gauge survey generate --enterprises 3000 --rounds 2 -o population/
  i4gauge survey import population/
  i4gauge survey rounds
  i4gauge survey report --lang kk -o dashboard-kk.html
  i4gauge survey export --format csv > groups.csv
  i4gauge survey export --per-enterprise --format csv > owner-only.csv")]
pub struct SurveyArgs {
    #[command(flatten)]
    db: super::history::DbArgs,
    #[command(subcommand)]
    command: SurveyCommand,
}

#[derive(Debug, Subcommand)]
enum SurveyCommand {
    /// Import assessment files (and directories of them) into a survey round.
    #[command(after_help = "\
Each file joins the round named by --round, or else the round of its date's year (`undated`
without a date). A file that is not a readable assessment, was made with another
questionnaire, or comes from an incompatible i4gauge is listed with its reason on stderr;
the others are imported. Re-importing is harmless: assessments already in the round are
counted as unchanged. An interrupted import keeps every batch of 1000 it committed.

Exit codes: 0 every file imported or already there; 1 some files rejected (the rest are
imported); 2 the store cannot be opened or a named path cannot be read.")]
    Import {
        /// The round's label (e.g. 2026); default: the year of each assessment's date.
        #[arg(long, value_name = "LABEL")]
        round: Option<String>,
        /// The questionnaire the survey uses, if not the built-in one.
        #[arg(long, value_name = "DIR")]
        questionnaire: Option<PathBuf>,
        /// Print every file's outcome as JSON on stdout.
        #[arg(long)]
        json: bool,
        /// Assessment files, or directories searched for *.json.
        #[arg(value_name = "PATH", required = true)]
        paths: Vec<PathBuf>,
    },
    /// List the rounds in the store.
    Rounds {
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Write the dashboard: one self-contained HTML file.
    #[command(after_help = "\
The dashboard shows the distribution of verified levels, per dimension, by sector, region and
size, sector × region where groups are large enough, the declared-versus-verified gap,
security findings, what holds enterprises back, the most frequent first actions, and the
change since the previous round for the enterprises assessed in both.")]
    Report {
        #[command(flatten)]
        common: Common,
        /// Language.
        #[arg(long, value_enum, default_value = "en", env = "I4GAUGE_LANG")]
        lang: Lang,
        /// Output file.
        #[arg(short, long, value_name = "FILE", default_value = "dashboard.html")]
        output: PathBuf,
    },
    /// Export group statistics (CSV or JSON) under the same anonymity rule, or,
    /// with --per-enterprise, one row per enterprise for the data owner.
    #[command(after_help = "\
CSV has one row per group (national, sector, region, size, sector×region; suppressed cells
marked) with the figures of the dashboard; JSON is the whole survey document (schema in
docs/survey.md).

--per-enterprise writes names and BINs: it is for the data owner, never for publication.")]
    Export {
        #[command(flatten)]
        common: Common,
        /// Output format.
        #[arg(long, value_enum, default_value = "csv")]
        format: ExportFormat,
        /// One row per enterprise, with its name and BIN (not anonymised).
        #[arg(long)]
        per_enterprise: bool,
        /// Output file (default: stdout).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Write a synthetic population of assessments (for demos, tests, benchmarks).
    Generate {
        /// Enterprises in the first round.
        #[arg(long, default_value_t = 1000)]
        enterprises: usize,
        /// Rounds, one a year.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=20))]
        rounds: u32,
        /// The first round's year.
        #[arg(long, default_value_t = 2025)]
        first_year: i32,
        /// Random seed: the same seed gives the same files.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Directory to write ROUND/ENTERPRISE.json into.
        #[arg(short, long, value_name = "DIR")]
        output: PathBuf,
    },
}

/// Options of `report` and `export`.
#[derive(Debug, Args)]
struct Common {
    /// The round (default: the latest).
    #[arg(long, value_name = "LABEL")]
    round: Option<String>,
    /// Anonymity threshold: no published group has fewer enterprises.
    #[arg(long, default_value_t = DEFAULT_K, value_parser = clap::value_parser!(u32).range(2..))]
    k: u32,
    /// The questionnaire the survey uses, if not the built-in one.
    #[arg(long, value_name = "DIR")]
    questionnaire: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ExportFormat {
    Csv,
    Json,
}

/// Runs `i4gauge survey`.
pub fn run(args: SurveyArgs, quiet: bool) -> anyhow::Result<Outcome> {
    match args.command {
        SurveyCommand::Generate {
            enterprises,
            rounds,
            first_year,
            seed,
            output,
        } => generate(enterprises, rounds, first_year, seed, &output, quiet),
        SurveyCommand::Import {
            round,
            questionnaire,
            json,
            paths,
        } => {
            let questionnaire = super::assess::questionnaire(questionnaire.as_ref())?;
            let files = import::expand(&paths)?;
            if files.is_empty() {
                bail!("no assessment files (*.json) under the named paths");
            }
            let mut store = args.db.open()?;
            if let Some(ms) = std::env::var(SLOW_IMPORT_ENV)
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
            {
                store.set_insert_delay(Duration::from_millis(ms));
            }
            let bar = progress_bar(quiet, files.len() as u64, "importing");
            let batch = std::env::var(BATCH_ENV)
                .ok()
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(import::BATCH);
            let (outcomes, summary) = import::import_batched(
                &mut store,
                &files,
                round.as_deref(),
                &questionnaire,
                batch,
                &mut |done| bar.set_position(done as u64),
            )?;
            bar.finish_and_clear();
            for outcome in &outcomes {
                if let FileStatus::Rejected { reason } = &outcome.status {
                    eprintln!("i4gauge: rejected {}: {reason}", outcome.path.display());
                }
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&outcomes)?);
            } else {
                let mut rounds: Vec<&str> = outcomes
                    .iter()
                    .filter_map(|o| match &o.status {
                        FileStatus::Imported { round, .. } | FileStatus::Unchanged { round } => {
                            Some(round.as_str())
                        }
                        FileStatus::Rejected { .. } => None,
                    })
                    .collect();
                rounds.sort_unstable();
                rounds.dedup();
                println!(
                    "{} files: {} imported, {} already there, {} rejected; rounds: {}",
                    summary.files,
                    summary.imported,
                    summary.unchanged,
                    summary.rejected,
                    if rounds.is_empty() {
                        "none".to_owned()
                    } else {
                        rounds.join(", ")
                    }
                );
            }
            Ok(if summary.rejected > 0 {
                Outcome::Partial
            } else {
                Outcome::Success
            })
        }
        SurveyCommand::Rounds { json } => {
            let store = args.db.open()?;
            let rounds = store.survey_rounds()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rounds)?);
            } else if rounds.is_empty() {
                println!("no survey rounds; import assessments with `i4gauge survey import`");
            } else {
                println!(
                    "{:<16} {:>12} {:>12}",
                    "round", "enterprises", "assessments"
                );
                for r in rounds {
                    println!(
                        "{:<16} {:>12} {:>12}",
                        r.label, r.enterprises, r.assessments
                    );
                }
            }
            Ok(Outcome::Success)
        }
        SurveyCommand::Report {
            common,
            lang,
            output,
        } => {
            let (survey, questionnaire, classifiers, round) = survey(&args.db, &common)?;
            let html = report::survey::render(&survey, &questionnaire, &classifiers, lang);
            crate::source::write_atomic(&output, html.as_bytes())
                .with_context(|| format!("cannot write {}", output.display()))?;
            eprintln!(
                "i4gauge: round {}: {} enterprises{}; dashboard written to {}",
                survey.round,
                round.members.len(),
                if round.superseded > 0 {
                    format!(" ({} earlier assessments superseded)", round.superseded)
                } else {
                    String::new()
                },
                output.display()
            );
            Ok(Outcome::Success)
        }
        SurveyCommand::Export {
            common,
            format,
            per_enterprise,
            output,
        } => {
            let (survey, _, classifiers, round) = survey(&args.db, &common)?;
            let mut sink: Box<dyn std::io::Write> = match &output {
                Some(path) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path)
                        .with_context(|| format!("cannot write {}", path.display()))?,
                )),
                None => Box::new(std::io::stdout().lock()),
            };
            if per_enterprise {
                eprintln!(
                    "i4gauge: warning: this export names every enterprise (name, BIN): it is for the data owner, not for publication"
                );
                per_enterprise_export(&round, &classifiers, format, &mut sink)?;
            } else {
                match format {
                    ExportFormat::Json => {
                        writeln!(sink, "{}", serde_json::to_string_pretty(&survey)?)?
                    }
                    ExportFormat::Csv => groups_csv(&survey, &mut sink)?,
                }
            }
            sink.flush()?;
            Ok(Outcome::Success)
        }
    }
}

fn progress_bar(quiet: bool, len: u64, what: &str) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} {what} {{bar:30}} {{pos}}/{{len}} files, {{per_sec}}, {{eta}} left"
        ))
        .expect("valid template"),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

type Loaded = (
    Survey,
    crate::questionnaire::Questionnaire,
    Classifiers,
    LoadedRound,
);

fn survey(db: &super::history::DbArgs, common: &Common) -> anyhow::Result<Loaded> {
    let questionnaire = super::assess::questionnaire(common.questionnaire.as_ref())?;
    let classifiers = Classifiers::builtin();
    let store = db.open()?;
    let (current, previous) = load_round(&store, common.round.as_deref())?;
    let survey = crate::survey::of_rounds(
        &current,
        previous.as_ref(),
        &questionnaire,
        &classifiers,
        common.k,
    );
    Ok((survey, questionnaire, classifiers, current))
}

/// Columns after `round, k, table, group, suppressed`.
const STATS_FIELDS: usize = 18;

fn stats_fields(s: Option<&Stats>) -> Vec<String> {
    let Some(s) = s else {
        return vec![String::new(); STATS_FIELDS];
    };
    let score = |v: Option<crate::scale::Score>| v.map(|v| v.to_string()).unwrap_or_default();
    let mut fields = vec![s.enterprises.to_string(), s.scored.to_string()];
    fields.extend(s.bands.iter().map(u64::to_string));
    fields.extend(s.levels.iter().map(u64::to_string));
    fields.extend([
        score(s.mean_declared),
        score(s.mean_verified),
        score(s.median_verified),
        s.with_evidence.to_string(),
        s.mean_gap.map(|g| g.to_string()).unwrap_or_default(),
        s.with_contradiction.to_string(),
        s.with_finding.to_string(),
        s.mean_confidence.to_string(),
    ]);
    fields
}

fn groups_csv(survey: &Survey, sink: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let mut writer = csv::Writer::from_writer(sink);
    writer.write_record([
        "round",
        "k",
        "table",
        "group",
        "suppressed",
        "enterprises",
        "scored",
        "band_2_0",
        "band_2_5",
        "band_3_0",
        "band_3_5",
        "band_4_0",
        "industry_2",
        "industry_3",
        "industry_4",
        "mean_declared",
        "mean_verified",
        "median_verified",
        "with_evidence",
        "mean_gap",
        "with_contradiction",
        "with_finding",
        "mean_confidence",
    ])?;
    let k = survey.k.to_string();
    let head = |table: &str, group: &str, suppressed: bool| {
        vec![
            survey.round.clone(),
            k.clone(),
            table.to_owned(),
            group.to_owned(),
            suppressed.to_string(),
        ]
    };
    let mut records: Vec<Vec<String>> = Vec::new();
    if let Some(national) = &survey.national {
        let mut record = head("national", "all", false);
        record.extend(stats_fields(Some(national)));
        records.push(record);
    }
    for (table, groups) in [
        ("sector", &survey.by_sector),
        ("region", &survey.by_region),
        ("size", &survey.by_size),
    ] {
        for g in groups {
            let mut record = head(table, &g.code, false);
            record.extend(stats_fields(Some(&g.stats)));
            records.push(record);
        }
    }
    let x = &survey.sector_region;
    for (sector, cells) in x.sectors.iter().zip(&x.cells) {
        for (region, cell) in x.regions.iter().zip(cells) {
            let group = format!("{sector}/{region}");
            let mut record = head("sector_region", &group, cell.is_none());
            // A cell publishes its count, its Industry 2.x count and its mean verified score.
            let mut fields = vec![String::new(); STATS_FIELDS];
            if let Some(c) = cell {
                fields[0] = c.enterprises.to_string();
                fields[7] = c.industry_2.to_string();
                fields[11] = c.mean_verified.map(|v| v.to_string()).unwrap_or_default();
            }
            record.extend(fields);
            records.push(record);
        }
    }
    for record in records {
        writer.write_record(&record)?;
    }
    writer.flush()?;
    Ok(())
}

fn per_enterprise_export(
    round: &LoadedRound,
    classifiers: &Classifiers,
    format: ExportFormat,
    sink: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    #[derive(serde::Serialize)]
    struct Row<'a> {
        round: &'a str,
        assessment: i64,
        bin: &'a str,
        name: &'a str,
        date: &'a str,
        sector: &'a str,
        division: &'a str,
        sector_group: &'a str,
        region: &'a str,
        region_code: &'a str,
        declared: String,
        verified: String,
        confidence: u8,
        has_evidence: bool,
        contradictions: String,
        findings: String,
    }
    let rows: Vec<Row<'_>> = round
        .members
        .iter()
        .zip(&round.identities)
        .map(|(m, id)| Row {
            round: &round.label,
            assessment: id.assessment,
            bin: id.bin.as_deref().unwrap_or(""),
            name: &id.name,
            date: id.date.as_deref().unwrap_or(""),
            sector: m.sector.as_deref().unwrap_or(""),
            division: classifiers.division(m.sector.as_deref()),
            sector_group: classifiers.sector(m.sector.as_deref()),
            region: m.region.as_deref().unwrap_or(""),
            region_code: classifiers.region(m.region.as_deref()),
            declared: m.declared.map(|v| v.to_string()).unwrap_or_default(),
            verified: m.verified.map(|v| v.to_string()).unwrap_or_default(),
            confidence: m.confidence,
            has_evidence: m.has_evidence,
            contradictions: m.contradictions.join(" "),
            findings: m.findings.join(" "),
        })
        .collect();
    match format {
        ExportFormat::Json => writeln!(sink, "{}", serde_json::to_string_pretty(&rows)?)?,
        ExportFormat::Csv => {
            let mut writer = csv::Writer::from_writer(sink);
            for row in &rows {
                writer.serialize(row)?;
            }
            writer.flush()?;
        }
    }
    Ok(())
}

fn generate(
    enterprises: usize,
    rounds: u32,
    first_year: i32,
    seed: u64,
    output: &std::path::Path,
    quiet: bool,
) -> anyhow::Result<Outcome> {
    let questionnaire = super::assess::questionnaire(None)?;
    let spec = synth::Spec {
        enterprises,
        rounds,
        first_year,
        seed,
    };
    std::fs::create_dir_all(output)
        .with_context(|| format!("cannot create {}", output.display()))?;
    let bar = progress_bar(quiet, 0, "generating");
    let mut written = 0usize;
    let mut error = None;
    synth::for_each(&questionnaire, &spec, |generated| {
        if error.is_some() {
            return;
        }
        let dir = output.join(&generated.round);
        let bin = generated
            .assessment
            .enterprise
            .bin
            .clone()
            .unwrap_or_default();
        let path = dir.join(format!("{bin}.json"));
        let result = std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(&path, generated.assessment.to_json()));
        match result {
            Ok(()) => {
                written += 1;
                bar.set_position(written as u64);
            }
            Err(e) => error = Some(anyhow::anyhow!("cannot write {}: {e}", path.display())),
        }
    });
    bar.finish_and_clear();
    if let Some(error) = error {
        return Err(error);
    }
    println!(
        "{written} synthetic assessments written under {} (one directory per round)",
        output.display()
    );
    Ok(Outcome::Success)
}
