//! `i4gauge history`: the store of repeat assessments (import, list, show,
//! compare, export), and the `--db` option shared with `assess --save` and
//! `report --history`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};

use super::Outcome;
use crate::assess::Assessment;
use crate::history::{self, Comparison, Extras, KeyKind, Saved, Store};
use crate::scale::{Gap, Score};

/// Slows each import's transaction by this many milliseconds (tests of interrupted imports).
const SLOW_IMPORT_ENV: &str = "I4GAUGE_TEST_SLOW_IMPORT_MS";

/// Where the store is: `--db PATH`, `$I4GAUGE_DB`, or the per-user data directory.
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// The history store (SQLite). Default: $XDG_DATA_HOME/i4gauge/history.sqlite3
    /// (~/.local/share/i4gauge/history.sqlite3).
    #[arg(long, value_name = "PATH", env = "I4GAUGE_DB", global = true)]
    pub db: Option<PathBuf>,
}

impl DbArgs {
    /// Opens the store.
    pub fn open(&self) -> anyhow::Result<Store> {
        let path = match &self.db {
            Some(path) => path.clone(),
            None => history::default_path()
                .context("no home directory to keep the history store in: pass --db PATH")?,
        };
        Ok(Store::open(&path)?)
    }
}

/// Arguments of `i4gauge history`.
#[derive(Debug, Args)]
#[command(after_help = "\
The history store keeps every saved assessment of every enterprise, identified by its BIN
(by its name when the assessment has none). See docs/history.md.

Examples:
  i4gauge assess --answers answers.toml --evidence scan.json --save
  i4gauge history import 2024.json 2025.json
  i4gauge history list --enterprise 050140005678
  i4gauge history compare --enterprise 050140005678
  i4gauge history export --format csv > history.csv")]
pub struct HistoryArgs {
    #[command(flatten)]
    db: DbArgs,
    #[command(subcommand)]
    command: HistoryCommand,
}

#[derive(Debug, Subcommand)]
enum HistoryCommand {
    /// Store assessment JSON files; one already stored is skipped.
    #[command(
        after_help = "Prints `saved ID FILE` once each assessment is committed, \
        `unchanged ID FILE` for one already stored.\n\nExit codes: 0 all stored; 1 some file \
        could not be read (the others are stored); 2 the store cannot be opened."
    )]
    Import {
        /// Assessment files (from `i4gauge assess -o`).
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
    },
    /// List stored assessments, by enterprise and date.
    List {
        /// Only this enterprise (its BIN, or its name when it has none).
        #[arg(long, value_name = "ID")]
        enterprise: Option<String>,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one stored assessment.
    Show {
        /// Its id (see `history list`).
        id: i64,
        /// The stored record as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Compare two assessments (default: the last two of one enterprise).
    #[command(
        after_help = "Exit codes: 0 compared; 1 the two used different questionnaires \
        (ids or versions) and are not compared; 2 not found."
    )]
    Compare {
        /// The earlier assessment's id.
        #[arg(requires = "id_b")]
        id_a: Option<i64>,
        /// The later assessment's id.
        id_b: Option<i64>,
        /// Compare the last two assessments of this enterprise (needed when the store holds several).
        #[arg(long, value_name = "ID", conflicts_with = "id_a")]
        enterprise: Option<String>,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Write every stored assessment, one row per assessment × dimension.
    Export {
        /// Output format.
        #[arg(long, value_enum, default_value = "csv")]
        format: ExportFormat,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ExportFormat {
    Csv,
    Json,
}

/// Runs `i4gauge history`.
pub fn run(args: HistoryArgs) -> anyhow::Result<Outcome> {
    let mut store = args.db.open()?;
    match args.command {
        HistoryCommand::Import { files } => import(&mut store, &files),
        HistoryCommand::List { enterprise, json } => list(&store, enterprise.as_deref(), json),
        HistoryCommand::Show { id, json } => show(&store, id, json),
        HistoryCommand::Compare {
            id_a,
            id_b,
            enterprise,
            json,
        } => compare(&store, id_a.zip(id_b), enterprise.as_deref(), json),
        HistoryCommand::Export { format } => export(&store, format),
    }
}

/// Tells on stderr when an enterprise is keyed by name for want of a BIN.
pub fn note_key(saved: &Saved, what: &str) {
    if saved.key_kind == KeyKind::Name {
        eprintln!(
            "i4gauge: note: {what} has no enterprise.bin; stored under the name {:?}",
            saved.enterprise
        );
    }
}

fn import(store: &mut Store, files: &[PathBuf]) -> anyhow::Result<Outcome> {
    if let Some(ms) = std::env::var(SLOW_IMPORT_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        store.set_insert_delay(Duration::from_millis(ms));
    }
    let mut failed = 0;
    let mut stdout = std::io::stdout();
    for file in files {
        let loaded = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))
            .and_then(|text| Assessment::from_json(&text, &file.display().to_string()));
        let assessment = match loaded {
            Ok(assessment) => assessment,
            Err(error) => {
                eprintln!("i4gauge: error: {error:#}");
                failed += 1;
                continue;
            }
        };
        let source = file.display().to_string();
        let saved = store.save(
            &assessment,
            Extras {
                source: &source,
                answers: None,
                assets: None,
            },
        )?;
        note_key(&saved, &source);
        let verb = if saved.new { "saved" } else { "unchanged" };
        writeln!(stdout, "{verb} {} {}", saved.id, file.display())?;
        stdout.flush()?;
    }
    Ok(if failed > 0 {
        Outcome::Partial
    } else {
        Outcome::Success
    })
}

fn score(score: Option<Score>) -> String {
    score.map_or_else(|| "–".to_owned(), Score::one_decimal)
}

fn list(store: &Store, enterprise: Option<&str>, json: bool) -> anyhow::Result<Outcome> {
    let entries = store.list(enterprise)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
        return Ok(Outcome::Success);
    }
    if entries.is_empty() {
        println!("No assessment stored in {}", store.path().display());
        return Ok(Outcome::Success);
    }
    println!(
        "{:>5}  {:<14} {:<30} {:<10} {:>8} {:>8}  questionnaire",
        "id", "enterprise", "name", "date", "declared", "verified"
    );
    for e in entries {
        println!(
            "{:>5}  {:<14} {:<30} {:<10} {:>8} {:>8}  {} {}",
            e.id,
            e.enterprise,
            e.name,
            e.date.as_deref().unwrap_or("–"),
            score(e.declared),
            score(e.verified),
            e.questionnaire_id,
            e.questionnaire_version
        );
    }
    Ok(Outcome::Success)
}

fn show(store: &Store, id: i64, json: bool) -> anyhow::Result<Outcome> {
    let record = store.get(id)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&record)?);
        return Ok(Outcome::Success);
    }
    println!(
        "Assessment {} of {} ({}), stored {} from {}",
        record.id,
        record.enterprise,
        record.key_kind_label(),
        record.saved_at,
        record.source
    );
    let questionnaire = crate::questionnaire::Questionnaire::builtin();
    let a = &record.assessment;
    if a.questionnaire.id == questionnaire.id && a.questionnaire.version == questionnaire.version {
        print!(
            "{}",
            super::assess::summary(a, &questionnaire, crate::questionnaire::Lang::En)
        );
    } else {
        println!(
            "{} — {} {}: overall verified {}, declared {}",
            a.enterprise.name,
            a.questionnaire.id,
            a.questionnaire.version,
            score(a.overall.verified),
            score(a.overall.declared)
        );
    }
    Ok(Outcome::Success)
}

trait KeyKindLabel {
    fn key_kind_label(&self) -> &'static str;
}

impl KeyKindLabel for history::Record {
    fn key_kind_label(&self) -> &'static str {
        match self.key_kind {
            KeyKind::Bin => "BIN",
            KeyKind::Name => "by name: no BIN",
        }
    }
}

fn compare(
    store: &Store,
    ids: Option<(i64, i64)>,
    enterprise: Option<&str>,
    json: bool,
) -> anyhow::Result<Outcome> {
    let (a, b) = match ids {
        Some(ids) => ids,
        None => {
            let enterprise = match enterprise {
                Some(e) => e.to_owned(),
                None => match store.enterprises()?.as_slice() {
                    [only] => only.clone(),
                    [] => bail!("the store {} is empty", store.path().display()),
                    _ => bail!(
                        "the store holds several enterprises: pass --enterprise BIN or two ids"
                    ),
                },
            };
            let entries = store.list(Some(&enterprise))?;
            match entries.as_slice() {
                [.., a, b] => (a.id, b.id),
                _ => bail!(
                    "{} assessment(s) of {enterprise:?} stored: comparing needs two",
                    entries.len()
                ),
            }
        }
    };
    let comparison = history::compare(&store.get(a)?, &store.get(b)?);
    if json {
        println!("{}", serde_json::to_string_pretty(&comparison)?);
    } else {
        print!("{}", comparison_text(&comparison));
    }
    Ok(if comparison.comparable {
        Outcome::Success
    } else {
        Outcome::Partial
    })
}

fn delta(gap: Option<Gap>) -> String {
    gap.map_or_else(
        || "–".to_owned(),
        |g| {
            if g.hundredths() > 0 {
                format!("+{g}")
            } else {
                g.to_string()
            }
        },
    )
}

/// The comparison as text for the terminal.
pub fn comparison_text(c: &Comparison) -> String {
    let labels = crate::questionnaire::ui::Labels::builtin();
    let lang = crate::questionnaire::Lang::En;
    let mut out = String::new();
    let side = |s: &history::compare::Side| {
        format!(
            "#{} {} ({})",
            s.id,
            s.date.as_deref().unwrap_or("no date"),
            s.questionnaire
        )
    };
    let _ = writeln!(out, "{}: {} → {}", c.b.name, side(&c.a), side(&c.b));
    if !c.same_enterprise {
        let _ = writeln!(out, "Note: these are assessments of different enterprises.");
    }
    if !c.comparable {
        let _ = writeln!(out, "{}", labels.get("report.not_comparable", lang));
        return out;
    }
    let _ = writeln!(
        out,
        "\n{:<24} {:>8} {:>8} {:>7}   {:>8} {:>8} {:>7}   {:>6} {:>6}",
        "dimension", "decl. A", "decl. B", "Δ", "verif. A", "verif. B", "Δ", "gap A", "gap B"
    );
    for d in c.overall.iter().chain(&c.dimensions) {
        let _ = writeln!(
            out,
            "{:<24} {:>8} {:>8} {:>7}   {:>8} {:>8} {:>7}   {:>6} {:>6}",
            d.id,
            score(d.declared.a),
            score(d.declared.b),
            delta(d.declared.delta),
            score(d.verified.a),
            score(d.verified.b),
            delta(d.verified.delta),
            d.gap.a.map_or_else(|| "–".to_owned(), |g| g.to_string()),
            d.gap.b.map_or_else(|| "–".to_owned(), |g| g.to_string()),
        );
    }
    if let Some(overall) = &c.overall
        && let (Some(a), Some(b)) = (overall.gap.a, overall.gap.b)
    {
        // Narrower means closer to zero, whichever side of it the gap is on.
        let change = b.hundredths().abs() - a.hundredths().abs();
        let words = match change.signum() {
            -1 => "narrowed",
            1 => "widened",
            _ => "unchanged",
        };
        let _ = writeln!(out, "\nDeclared-vs-verified gap {words} ({} → {}).", a, b);
    }
    if let Some(assets) = &c.assets {
        let _ = writeln!(out, "\nAssets (compared by {}):", assets.basis);
        for a in &assets.appeared {
            let _ = writeln!(out, "  + {} ({})", a.id, a.role);
        }
        for a in &assets.disappeared {
            let _ = writeln!(out, "  - {} ({})", a.id, a.role);
        }
        for count in &assets.counts {
            let _ = writeln!(out, "  {}: {} → {}", count.fact, count.a, count.b);
        }
        if assets.appeared.is_empty() && assets.disappeared.is_empty() && assets.counts.is_empty() {
            let _ = writeln!(out, "  no change");
        }
    }
    if let Some(findings) = &c.findings {
        let _ = writeln!(out, "\nSecurity findings:");
        for f in &findings.resolved {
            let _ = writeln!(out, "  resolved: {} ({} → 0)", f.fact, f.a);
        }
        for f in &findings.new {
            let _ = writeln!(out, "  new: {} (0 → {})", f.fact, f.b);
        }
        for f in &findings.changed {
            let _ = writeln!(out, "  changed: {} ({} → {})", f.fact, f.a, f.b);
        }
        if findings.resolved.is_empty() && findings.new.is_empty() && findings.changed.is_empty() {
            let _ = writeln!(out, "  no change");
        }
    }
    let _ = writeln!(
        out,
        "\nRoadmap actions of #{} now achieved: {}",
        c.a.id,
        c.achieved_actions.len()
    );
    for action in &c.achieved_actions {
        let _ = writeln!(
            out,
            "  {} ({} → {}, now band {})",
            action.id, action.dimension, action.to, action.band
        );
    }
    out
}

fn export(store: &Store, format: ExportFormat) -> anyhow::Result<Outcome> {
    let rows = store.export()?;
    let stdout = std::io::stdout();
    match format {
        ExportFormat::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
        ExportFormat::Csv => {
            let mut writer = csv::Writer::from_writer(stdout.lock());
            writer.write_record([
                "assessment",
                "bin",
                "name",
                "sector",
                "region",
                "date",
                "questionnaire_id",
                "questionnaire_version",
                "dimension",
                "declared",
                "verified",
            ])?;
            for r in rows {
                writer.write_record([
                    r.assessment.to_string(),
                    r.bin,
                    r.name,
                    r.sector,
                    r.region,
                    r.date,
                    r.questionnaire_id,
                    r.questionnaire_version,
                    r.dimension,
                    r.declared.map(|s| s.to_string()).unwrap_or_default(),
                    r.verified.map(|s| s.to_string()).unwrap_or_default(),
                ])?;
            }
            writer.flush()?;
        }
    }
    Ok(Outcome::Success)
}
