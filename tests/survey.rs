//! `i4gauge survey` as a user runs it: generate, import (with broken files),
//! rounds, the dashboard and the exports, against a store in a temporary
//! directory (every command passes `--db`; none touches the user's store).
//!
//! The anonymity rule is checked on what is published, not on the code that
//! applies it: no group below k, no small group recoverable by subtracting
//! published figures, and no name, BIN or free text of an enterprise anywhere.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use i4gauge::assess::Assessment;
use i4gauge::questionnaire::ui::Labels;
use i4gauge::questionnaire::{Lang, Questionnaire};
use i4gauge::survey::synth::{self, Spec};
use serde_json::Value;

use crate::util::{code, i4gauge, run, text};

/// The columns of `survey export --format csv`, in order.
const CSV_COLUMNS: [&str; 23] = [
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
];

/// Exit code 0, or a failure showing both streams; returns stdout.
fn ok(output: &Output, what: &str) -> String {
    assert_eq!(
        code(output),
        0,
        "{what} failed:\nstdout:\n{}\nstderr:\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// A label of `questionnaires/ui.toml` with its placeholders filled, as the
/// dashboard shows it (the labels used here have nothing HTML escapes).
fn label(key: &str, lang: Lang, values: &[(&str, &str)]) -> String {
    let text = Labels::builtin().fill(key, lang, values);
    assert!(!text.contains(['&', '<', '>', '"', '\'']), "{key}: {text}");
    text
}

/// `i4gauge survey --db DB`, with no store or language from the environment.
fn survey(db: &Path) -> Command {
    let mut command = i4gauge();
    command
        .env_remove("I4GAUGE_DB")
        .env_remove("I4GAUGE_LANG")
        .arg("survey")
        .arg("--db")
        .arg(db);
    command
}

/// A temporary directory with the store path inside it.
struct Scratch {
    dir: tempfile::TempDir,
    db: PathBuf,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("store.sqlite3");
        Scratch { dir, db }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn survey(&self) -> Command {
        survey(&self.db)
    }

    /// `survey import PATHS...`, expected to succeed.
    fn import(&self, paths: &[&Path]) -> String {
        ok(
            &run(self.survey().arg("import").args(paths)),
            "survey import",
        )
    }

    /// `survey rounds --json` as (label, enterprises, assessments).
    fn rounds(&self) -> Vec<(String, u64, u64)> {
        let out = ok(
            &run(self.survey().args(["rounds", "--json"])),
            "survey rounds",
        );
        let rounds: Value = serde_json::from_str(&out).unwrap();
        rounds
            .as_array()
            .unwrap_or_else(|| panic!("rounds --json is not an array: {out}"))
            .iter()
            .map(|r| {
                (
                    r["label"].as_str().unwrap().to_owned(),
                    r["enterprises"].as_u64().unwrap(),
                    r["assessments"].as_u64().unwrap(),
                )
            })
            .collect()
    }

    /// `survey export --format json` with `args`, parsed.
    fn export_json(&self, args: &[&str]) -> Value {
        let out = ok(
            &run(self
                .survey()
                .args(["export", "--format", "json"])
                .args(args)),
            &format!("survey export --format json {args:?}"),
        );
        serde_json::from_str(&out)
            .unwrap_or_else(|error| panic!("the JSON export does not parse ({error}):\n{out}"))
    }

    /// `survey report` with `args`, into a file; returns its text.
    fn report(&self, name: &str, args: &[&str]) -> String {
        let path = self.path(name);
        let out = run(self.survey().arg("report").args(args).arg("-o").arg(&path));
        ok(&out, &format!("survey report {args:?}"));
        std::fs::read_to_string(&path).unwrap()
    }
}

/// `survey generate` into DIR/pop; returns DIR/pop.
fn generate(scratch: &Scratch, enterprises: usize, rounds: u32, seed: u64) -> PathBuf {
    let pop = scratch.path("pop");
    let out = run(i4gauge()
        .args([
            "survey",
            "generate",
            "--enterprises",
            &enterprises.to_string(),
            "--rounds",
            &rounds.to_string(),
            "--seed",
            &seed.to_string(),
            "-o",
        ])
        .arg(&pop));
    ok(&out, "survey generate");
    pop
}

/// Every `*.json` under `dir`, recursively, sorted.
fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(json_files(&path));
        } else if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    files.sort();
    files
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn write_json(path: &Path, value: &Value) {
    std::fs::write(path, serde_json::to_string_pretty(value).unwrap()).unwrap();
}

/// What identifies an enterprise in the assessment files under `dir`:
/// names, BINs and assessors.
fn identifying(dir: &Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for path in json_files(dir) {
        let Ok(value) = serde_json::from_str::<Value>(&std::fs::read_to_string(&path).unwrap())
        else {
            continue;
        };
        let enterprise = &value["enterprise"];
        for field in ["name", "bin", "assessor"] {
            if let Some(s) = enterprise[field].as_str() {
                found.insert(s.to_owned());
            }
        }
    }
    found
}

/// `what` contains none of `secrets`.
fn assert_no_secret<'a>(what: &str, published: &str, secrets: impl IntoIterator<Item = &'a str>) {
    let leaked: Vec<&str> = secrets
        .into_iter()
        .filter(|secret| published.contains(secret))
        .collect();
    assert!(
        leaked.is_empty(),
        "{what} publishes identifying data: {leaked:?}"
    );
}

/// A synthetic population made by the library, `first_year` its only round.
fn synthetic(enterprises: usize, first_year: i32, seed: u64) -> Vec<Assessment> {
    synth::population(
        &Questionnaire::builtin(),
        &Spec {
            enterprises,
            rounds: 1,
            first_year,
            seed,
        },
    )
    .into_iter()
    .map(|generated| generated.assessment)
    .collect()
}

/// One group of a crafted population: how many, where, what sector.
struct Crafted {
    count: usize,
    region: &'static str,
    sector: &'static str,
}

/// Writes a population with the given groups to `dir` (fresh names and BINs)
/// and returns how many files it wrote.
fn write_crafted(dir: &Path, groups: &[Crafted], seed: u64) -> usize {
    std::fs::create_dir_all(dir).unwrap();
    let total: usize = groups.iter().map(|g| g.count).sum();
    let mut population = synthetic(total, 2026, seed).into_iter();
    let mut index = 0;
    for group in groups {
        for _ in 0..group.count {
            let mut assessment = population.next().unwrap();
            let enterprise = &mut assessment.enterprise;
            enterprise.name = format!("Crafted Plant {index:03}");
            enterprise.bin = Some(format!("97{index:010}"));
            enterprise.region = Some(group.region.to_owned());
            enterprise.sector = Some(group.sector.to_owned());
            std::fs::write(
                dir.join(format!("crafted-{index:03}.json")),
                assessment.to_json(),
            )
            .unwrap();
            index += 1;
        }
    }
    total
}

fn enterprises(stats: &Value) -> u64 {
    stats["enterprises"]
        .as_u64()
        .unwrap_or_else(|| panic!("no enterprise count in {stats}"))
}

/// The codes of a one-way table of the survey document.
fn codes(survey: &Value, table: &str) -> Vec<String> {
    survey[table]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["code"].as_str().unwrap().to_owned())
        .collect()
}

/// The anonymity rule on a published survey document with `total` enterprises.
fn assert_k_anonymous(survey: &Value, k: u64, total: u64) {
    let at_least_k = |n: u64| n == 0 || n >= k;
    assert_eq!(survey["k"], k, "k in the document");
    assert_eq!(survey["published"], true, "{survey:#}");
    assert_eq!(
        enterprises(&survey["national"]),
        total,
        "national enterprises"
    );

    // One-way tables: every group ≥ k, and the national figure minus them
    // (what subtraction gives) 0 or ≥ k.
    for table in ["by_sector", "by_region", "by_size"] {
        let groups = survey[table].as_array().unwrap();
        let mut published = 0;
        for group in groups {
            let n = enterprises(&group["stats"]);
            assert!(
                n >= k,
                "{table} publishes group {} of {n} < k = {k}",
                group["code"]
            );
            published += n;
        }
        assert!(published <= total, "{table}: {published} > {total}");
        assert!(
            at_least_k(total - published),
            "{table}: national − published groups = {} (k = {k})",
            total - published
        );
    }

    // The cross-tabulation: published cells 0 or ≥ k; in every row and
    // column, margin − published cells (the suppressed cells together) 0 or ≥ k.
    let x = &survey["sector_region"];
    let sectors: Vec<&str> = x["sectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    let regions: Vec<&str> = x["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    let cells = x["cells"].as_array().unwrap();
    assert_eq!(cells.len(), sectors.len(), "one row per sector");
    let margin = |table: &str, code: &str| {
        survey[table]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["code"] == code)
            .map(|g| enterprises(&g["stats"]))
            .unwrap_or_else(|| panic!("cross-tab code {code} is not a published group of {table}"))
    };
    let cell = |r: usize, c: usize| -> Option<u64> {
        let cell = &cells[r][c];
        (!cell.is_null()).then(|| enterprises(cell))
    };
    for (r, row) in cells.iter().enumerate() {
        assert_eq!(row.as_array().unwrap().len(), regions.len(), "row {r}");
        for (c, region) in regions.iter().enumerate() {
            if let Some(n) = cell(r, c) {
                assert!(
                    at_least_k(n),
                    "cell {}/{region} publishes {n} (k = {k})",
                    sectors[r]
                );
            }
        }
    }
    let lines = sectors
        .iter()
        .enumerate()
        .map(|(r, code)| {
            (
                format!("row {code}"),
                margin("by_sector", code),
                (0..regions.len()).map(|c| cell(r, c)).collect::<Vec<_>>(),
            )
        })
        .chain(regions.iter().enumerate().map(|(c, code)| {
            (
                format!("column {code}"),
                margin("by_region", code),
                (0..sectors.len()).map(|r| cell(r, c)).collect(),
            )
        }));
    for (line, margin, line_cells) in lines {
        let shown: u64 = line_cells.iter().flatten().sum();
        assert!(shown <= margin, "{line}: cells {shown} > margin {margin}");
        let hidden = margin - shown;
        let suppressed = line_cells.iter().any(Option::is_none);
        if suppressed {
            assert!(
                hidden >= k,
                "{line}: its suppressed cells hold {hidden} enterprises, recoverable from \
                 the margin {margin} (k = {k}): {line_cells:?}"
            );
        } else {
            assert_eq!(hidden, 0, "{line}: margin {margin}, cells {line_cells:?}");
        }
    }

    // Prevalence counts: 0, ≥ k, or withheld.
    for list in ["findings", "holding_back", "caps", "actions"] {
        for item in survey[list].as_array().unwrap() {
            if let Some(n) = item["enterprises"].as_u64() {
                assert!(at_least_k(n), "{list} {} counts {n} (k = {k})", item["id"]);
            }
        }
    }
    // The trend, when published.
    let trend = &survey["trend"]["trend"];
    if !trend.is_null() {
        assert!(trend["panel"].as_u64().unwrap() >= k, "{trend}");
        for group in trend["by_sector"].as_array().unwrap() {
            assert!(group["panel"].as_u64().unwrap() >= k, "{group}");
        }
    }
}

/// The broken files of the import test: name → key words its reason must contain.
fn broken_files(round_dir: &Path) -> Vec<(&'static str, Vec<&'static str>)> {
    let valid: Vec<PathBuf> = json_files(round_dir);
    let original = std::fs::read_to_string(&valid[0]).unwrap();
    std::fs::write(
        round_dir.join("truncated.json"),
        &original[..original.len() / 2],
    )
    .unwrap();
    std::fs::write(round_dir.join("foo.json"), r#"{"foo":1}"#).unwrap();
    std::fs::write(
        round_dir.join("evidence.json"),
        r#"{"schema_version":"1.2","runs":[],"assets":[]}"#,
    )
    .unwrap();
    std::fs::write(round_dir.join("empty.json"), "").unwrap();
    // 0xff never occurs in UTF-8; NUL bytes make it binary.
    let mut garbage = vec![0xff, 0xfe, 0x00, 0x01];
    garbage.extend((0..512u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    std::fs::write(round_dir.join("garbage.json"), garbage).unwrap();
    let mut foreign = read_json(&valid[1]);
    foreign["questionnaire"]["id"] = "other-questionnaire".into();
    write_json(&round_dir.join("foreign-questionnaire.json"), &foreign);
    let mut major = read_json(&valid[2]);
    major["questionnaire"]["version"] = "2.0.0".into();
    write_json(&round_dir.join("questionnaire-v2.json"), &major);
    let mut schema = read_json(&valid[3]);
    schema["schema_version"] = "9.0".into();
    write_json(&round_dir.join("schema-9.json"), &schema);
    vec![
        ("truncated.json", vec!["truncated"]),
        ("foo.json", vec!["assessment"]),
        ("evidence.json", vec!["evidence"]),
        ("empty.json", vec!["empty"]),
        ("garbage.json", vec!["utf-8"]),
        ("foreign-questionnaire.json", vec!["other-questionnaire"]),
        ("questionnaire-v2.json", vec!["2.0.0", "version"]),
        ("schema-9.json", vec!["9.0", "schema"]),
    ]
}

#[test]
fn import_rejects_each_broken_file_once_and_is_idempotent() {
    let scratch = Scratch::new();
    let pop = generate(&scratch, 60, 2, 7);
    let valid_2025 = json_files(&pop.join("2025")).len();
    let valid_2026 = json_files(&pop.join("2026")).len();
    assert_eq!((valid_2025, valid_2026), (60, 60), "generated files");
    let broken = broken_files(&pop.join("2026"));
    let files = valid_2025 + valid_2026 + broken.len();

    let check_rejections = |stderr: &str| {
        let rejected: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("i4gauge: rejected "))
            .collect();
        assert_eq!(
            rejected.len(),
            broken.len(),
            "one rejection per broken file:\n{stderr}"
        );
        for (name, words) in &broken {
            let suffix = format!("{}{name}: ", std::path::MAIN_SEPARATOR);
            let lines: Vec<&&str> = rejected.iter().filter(|l| l.contains(&suffix)).collect();
            assert_eq!(
                lines.len(),
                1,
                "{name} is not named exactly once:\n{stderr}"
            );
            let reason = lines[0].split_once(&suffix).unwrap().1.to_lowercase();
            for word in words {
                assert!(
                    reason.contains(&word.to_lowercase()),
                    "the reason for {name} does not mention {word:?}: {reason}"
                );
            }
        }
    };

    let out = run(scratch.survey().arg("import").arg(&pop));
    assert_eq!(
        code(&out),
        1,
        "some files were rejected: exit 1\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    check_rejections(&text(&out.stderr));
    let summary = text(&out.stdout);
    for part in [
        format!("{files} files"),
        format!("{} imported", valid_2025 + valid_2026),
        "0 already there".to_owned(),
        format!("{} rejected", broken.len()),
        "rounds: 2025, 2026".to_owned(),
    ] {
        assert!(summary.contains(&part), "no {part:?} in: {summary}");
    }
    let rounds = scratch.rounds();
    assert_eq!(
        rounds,
        [
            ("2025".to_owned(), valid_2025 as u64, valid_2025 as u64),
            ("2026".to_owned(), valid_2026 as u64, valid_2026 as u64),
        ]
    );

    // Again: nothing new, the same rejections, the same rounds.
    let out = run(scratch.survey().arg("import").arg(&pop));
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    check_rejections(&text(&out.stderr));
    let summary = text(&out.stdout);
    for part in [
        format!("{files} files"),
        "0 imported".to_owned(),
        format!("{} already there", valid_2025 + valid_2026),
        format!("{} rejected", broken.len()),
    ] {
        assert!(summary.contains(&part), "no {part:?} in: {summary}");
    }
    assert_eq!(scratch.rounds(), rounds, "a re-import changes the rounds");

    // The same as JSON, file by file.
    let out = run(scratch.survey().args(["import", "--json"]).arg(&pop));
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    let outcomes: Value = serde_json::from_slice(&out.stdout).unwrap();
    let outcomes = outcomes.as_array().unwrap();
    assert_eq!(outcomes.len(), files);
    let broken_names: BTreeSet<&str> = broken.iter().map(|(name, _)| *name).collect();
    for outcome in outcomes {
        let path = outcome["path"].as_str().unwrap();
        let name = Path::new(path).file_name().unwrap().to_str().unwrap();
        if broken_names.contains(name) {
            assert_eq!(outcome["status"], "rejected", "{outcome}");
            assert!(!outcome["reason"].as_str().unwrap().is_empty(), "{outcome}");
        } else {
            assert_eq!(outcome["status"], "unchanged", "{outcome}");
            let round = Path::new(path)
                .parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_str()
                .unwrap();
            assert_eq!(outcome["round"], round, "{outcome}");
        }
    }
}

#[test]
fn round_label_puts_files_in_a_named_round() {
    let scratch = Scratch::new();
    let pop = generate(&scratch, 12, 1, 3);
    let files = json_files(&pop.join("2025"));
    assert_eq!(files.len(), 12);
    let subset: Vec<&Path> = files[..7].iter().map(PathBuf::as_path).collect();
    let out = run(scratch
        .survey()
        .args(["import", "--round", "pilot"])
        .args(&subset));
    let summary = ok(&out, "survey import --round pilot");
    assert!(summary.contains("7 imported"), "{summary}");
    assert!(summary.contains("rounds: pilot"), "{summary}");
    assert_eq!(scratch.rounds(), [("pilot".to_owned(), 7, 7)]);

    // The whole round by its year: the pilot's assessments also join 2025.
    scratch.import(&[&pop]);
    let rounds = scratch.rounds();
    assert!(
        rounds.contains(&("pilot".to_owned(), 7, 7)),
        "the pilot round changed: {rounds:?}"
    );
    assert!(
        rounds.contains(&("2025".to_owned(), 12, 12)),
        "round 2025: {rounds:?}"
    );
    let pilot = scratch.export_json(&["--round", "pilot"]);
    assert_eq!(pilot["round"], "pilot");
    assert_eq!(enterprises(&pilot["national"]), 7);

    // An unknown round is an error that names the known ones.
    let out = run(scratch.survey().args(["export", "--round", "nope"]));
    assert_eq!(code(&out), 2, "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("nope") && stderr.contains("pilot"),
        "{stderr}"
    );
}

#[test]
fn the_kazakh_dashboard_is_self_contained_and_shows_the_trend() {
    let scratch = Scratch::new();
    let pop = generate(&scratch, 60, 2, 7);
    scratch.import(&[&pop]);
    let html = scratch.report("dash.html", &["--lang", "kk", "--round", "2026"]);
    assert!(html.contains(r#"lang="kk""#), "no lang=\"kk\"");
    assert!(
        html.contains(r#"http-equiv="Content-Security-Policy""#),
        "no CSP meta"
    );
    assert!(html.contains("default-src 'none'"), "the CSP allows loads");
    let lower = html.to_lowercase();
    for forbidden in ["<script", "src=", "href=", "url(", "@import"] {
        assert!(!lower.contains(forbidden), "the dashboard has {forbidden}");
    }
    // survey.title and survey.trend in ui.toml, in Kazakh.
    assert!(html.contains("Өнеркәсіптің Индустрия 4.0-ге дайындығы"));
    let trend = label(
        "survey.trend",
        Lang::Kk,
        &[("from", "2025"), ("to", "2026")],
    );
    assert!(trend.contains("2025 → 2026"), "{trend}");
    assert!(html.contains(&trend), "no trend heading {trend:?}");
    let english = label(
        "survey.trend",
        Lang::En,
        &[("from", "2025"), ("to", "2026")],
    );
    assert!(
        !html.contains(&english),
        "English text in the Kazakh dashboard"
    );
}

#[test]
fn no_published_output_identifies_an_enterprise() {
    let scratch = Scratch::new();
    let pop = generate(&scratch, 60, 2, 11);
    // One enterprise that typed its address into the region and a word into the sector.
    let files = json_files(&pop.join("2026"));
    let mut secret = read_json(&files[5]);
    secret["enterprise"]["bin"] = "123456789012".into();
    secret["enterprise"]["name"] = "Zzyzx Secret Plant LLP".into();
    secret["enterprise"]["region"] = "Zzyzx street 5, Temirtau".into();
    secret["enterprise"]["sector"] = "Zzyzx".into();
    write_json(&pop.join("2026/zzyzx.json"), &secret);
    let identities = identifying(&pop);
    assert!(identities.len() > 120, "{} identities", identities.len());
    let secrets: Vec<&str> = identities
        .iter()
        .map(String::as_str)
        .chain(["Zzyzx", "123456789012", "Temirtau"])
        .collect();
    scratch.import(&[&pop]);
    assert!(
        scratch.rounds().contains(&("2026".to_owned(), 61, 61)),
        "{:?}",
        scratch.rounds()
    );

    for round in ["2025", "2026"] {
        for lang in ["en", "ru", "kk"] {
            let html = scratch.report(
                &format!("dash-{round}-{lang}.html"),
                &["--lang", lang, "--round", round],
            );
            assert_no_secret(
                &format!("the {lang} dashboard of {round}"),
                &html,
                secrets.iter().copied(),
            );
        }
    }
    // Check every export for leaks first, then that each one worked.
    let mut exports = Vec::new();
    for format in ["csv", "json"] {
        for k in ["5", "2"] {
            let out = run(scratch
                .survey()
                .args(["export", "--format", format, "--k", k]));
            assert_no_secret(
                &format!("the {format} export (k = {k})"),
                &text(&out.stdout),
                secrets.iter().copied(),
            );
            exports.push((format!("survey export --format {format} --k {k}"), out));
        }
    }

    // The data owner's export names them, and says what it is.
    let out = run(scratch
        .survey()
        .args(["export", "--per-enterprise", "--format", "csv"]));
    let owner = ok(&out, "survey export --per-enterprise");
    for expected in ["Zzyzx Secret Plant LLP", "123456789012", "Temirtau"] {
        assert!(
            owner.contains(expected),
            "the per-enterprise export lacks {expected}"
        );
    }
    assert_eq!(owner.lines().count(), 1 + 61, "header and one row each");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("data owner"),
        "no warning on stderr: {stderr}"
    );

    for (what, out) in &exports {
        ok(out, what);
    }
}

#[test]
fn a_named_path_that_cannot_be_read_is_fatal() {
    // `survey import --help`: "2 the store cannot be opened or a named path
    // cannot be read".
    let scratch = Scratch::new();
    let pop = generate(&scratch, 6, 1, 5);
    let missing = scratch.path("populaton");
    for paths in [vec![missing.clone()], vec![pop.clone(), missing.clone()]] {
        let out = run(scratch.survey().arg("import").args(&paths));
        assert_eq!(
            code(&out),
            2,
            "import {paths:?}: a misspelt directory is not a rejected assessment\n{}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains("populaton"),
            "{}",
            text(&out.stderr)
        );
    }
}

#[test]
fn a_reassessed_enterprise_counts_once_by_its_latest_assessment() {
    let scratch = Scratch::new();
    let dir = scratch.path("pop");
    std::fs::create_dir_all(&dir).unwrap();
    let population = synthetic(6, 2026, 17);
    for assessment in &population {
        let bin = assessment.enterprise.bin.as_deref().unwrap();
        std::fs::write(dir.join(format!("{bin}.json")), assessment.to_json()).unwrap();
    }
    // A later assessment of the first enterprise, imported before the earlier one.
    let mut later = population[0].clone();
    later.enterprise.date = Some("2026-12-20".to_owned());
    let later_file = scratch.path("later.json");
    std::fs::write(&later_file, later.to_json()).unwrap();
    scratch.import(&[&later_file]);
    scratch.import(&[&dir]);
    assert_eq!(scratch.rounds(), [("2026".to_owned(), 6, 7)]);
    assert_eq!(enterprises(&scratch.export_json(&[])["national"]), 6);
    let out = run(scratch
        .survey()
        .args(["export", "--per-enterprise", "--format", "json"]));
    let rows: Value = serde_json::from_str(&ok(&out, "export --per-enterprise")).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 6, "{rows:#?}");
    let bin = population[0].enterprise.bin.as_deref().unwrap();
    let row = rows.iter().find(|r| r["bin"] == bin).unwrap();
    assert_eq!(
        row["date"], "2026-12-20",
        "not the latest assessment: {row}"
    );
    let out = run(scratch
        .survey()
        .arg("report")
        .arg("-o")
        .arg(scratch.path("dash.html")));
    ok(&out, "survey report");
    assert!(
        text(&out.stderr).contains("1 earlier assessments superseded"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_withheld_weakest_dimension_count_is_not_recoverable_from_the_total() {
    // Every scored enterprise has exactly one weakest dimension, so the
    // "what holds enterprises back" counts add up to the scored enterprises:
    // a single count withheld as "fewer than k" is the total minus the others.
    let scratch = Scratch::new();
    let pop = generate(&scratch, 60, 2, 7);
    scratch.import(&[&pop]);
    let mut problems = Vec::new();
    for round in ["2025", "2026"] {
        for k in 3..=10u64 {
            let survey = scratch.export_json(&["--round", round, "--k", &k.to_string()]);
            let scored = survey["national"]["scored"].as_u64().unwrap();
            let list = survey["holding_back"].as_array().unwrap();
            let shown: u64 = list.iter().filter_map(|p| p["enterprises"].as_u64()).sum();
            let withheld: Vec<&str> = list
                .iter()
                .filter(|p| p["enterprises"].is_null())
                .map(|p| p["id"].as_str().unwrap())
                .collect();
            assert!(shown <= scored);
            let hidden = scored - shown;
            if hidden != 0 && hidden < k {
                problems.push(format!(
                    "round {round}, k = {k}: {withheld:?} withheld as fewer than {k}, \
                     but scored {scored} − published {shown} = {hidden}"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// 40 + 12 + 3 + 2 enterprises: metals in Karaganda, food in Pavlodar, a
/// small metals group in Ulytau and two oil-and-gas plants in Karaganda.
const SMALL_GROUPS: [Crafted; 4] = [
    Crafted {
        count: 40,
        region: "Karaganda region",
        sector: "C24.1",
    },
    Crafted {
        count: 12,
        region: "Pavlodar region",
        sector: "C10.1",
    },
    Crafted {
        count: 3,
        region: "Ulytau region",
        sector: "C24.1",
    },
    Crafted {
        count: 2,
        region: "Karaganda region",
        sector: "B06.1",
    },
];

#[test]
fn small_groups_are_never_published_nor_recoverable() {
    let scratch = Scratch::new();
    let pop = scratch.path("pop");
    let total = write_crafted(&pop, &SMALL_GROUPS, 5) as u64;
    assert_eq!(total, 57);
    scratch.import(&[&pop]);

    let survey = scratch.export_json(&["--k", "5"]);
    assert_k_anonymous(&survey, 5, total);
    for table in ["by_region", "by_sector"] {
        let codes = codes(&survey, table);
        assert!(
            !codes.iter().any(|c| c == "ulytau" || c == "oil-gas"),
            "{table}: {codes:?}"
        );
    }
    assert!(
        !survey["sector_region"]["regions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "ulytau")
    );
    let html = scratch.report("dash.html", &["--k", "5"]);
    assert!(!html.contains("Ulytau"), "the dashboard names Ulytau");
    assert!(
        !html.contains("Crafted Plant"),
        "the dashboard names a plant"
    );

    // k = 50: the round (57) is published, but no region or sector group is
    // large enough on its own.
    let survey = scratch.export_json(&["--k", "50"]);
    assert_k_anonymous(&survey, 50, total);
    for table in ["by_region", "by_sector"] {
        assert_eq!(codes(&survey, table), ["other"], "{table}");
    }
    assert!(
        survey["sector_region"]["cells"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // k = 100: nothing is published, and the dashboard says why.
    let survey = scratch.export_json(&["--k", "100"]);
    assert_eq!(survey["published"], false);
    assert!(survey["national"].is_null(), "{survey:#}");
    for table in [
        "dimensions",
        "by_sector",
        "by_region",
        "by_size",
        "findings",
        "holding_back",
        "caps",
        "actions",
    ] {
        assert!(
            survey[table].as_array().unwrap().is_empty(),
            "{table} published below k"
        );
    }
    let html = scratch.report("unpublished.html", &["--k", "100", "--lang", "en"]);
    let not_published = label("survey.not_published", Lang::En, &[("k", "100")]);
    assert!(
        html.contains(&not_published),
        "the dashboard does not say {not_published:?}"
    );
    assert!(!html.contains("Karaganda"), "a region is shown below k");
}

#[test]
fn a_cross_tab_never_reveals_a_small_cell_by_subtraction() {
    let scratch = Scratch::new();
    let pop = scratch.path("pop");
    let mut groups: Vec<Crafted> = SMALL_GROUPS.into_iter().collect();
    for (count, region, sector) in [
        (9, "Pavlodar region", "C24.1"),
        (7, "Almaty", "C10.1"),
        (6, "Karaganda region", "C10.1"),
        (8, "Karaganda region", "C20.1"),
    ] {
        groups.push(Crafted {
            count,
            region,
            sector,
        });
    }
    let total = write_crafted(&pop, &groups, 9) as u64;
    scratch.import(&[&pop]);
    for k in [5, 3, 8] {
        let survey = scratch.export_json(&["--k", &k.to_string()]);
        assert_k_anonymous(&survey, k, total);
        let x = &survey["sector_region"];
        assert!(
            x["sectors"].as_array().unwrap().len() >= 2,
            "k = {k}: no cross-tabulation: {x}"
        );
        if k == 5 {
            // The 3 in Ulytau are below k: at least one cell is withheld.
            assert!(
                x["cells"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .flat_map(|row| row.as_array().unwrap())
                    .any(Value::is_null),
                "nothing suppressed: {x}"
            );
            assert!(!codes(&survey, "by_region").contains(&"ulytau".to_owned()));
        }
    }
}

/// Two rounds: `panel` enterprises in both, `new` more in 2026 only.
fn panel_rounds(scratch: &Scratch, panel: usize, new: usize) {
    let dir = scratch.path("pop");
    let before = synthetic(panel, 2025, 21);
    let after = synthetic(panel + new, 2026, 21);
    for (round, assessments) in [("2025", &before), ("2026", &after)] {
        std::fs::create_dir_all(dir.join(round)).unwrap();
        for assessment in assessments {
            assert!(
                assessment.overall.verified.is_some(),
                "an unscored synthetic assessment"
            );
            let bin = assessment.enterprise.bin.as_deref().unwrap();
            let date = assessment.enterprise.date.as_deref().unwrap();
            assert!(date.starts_with(round), "{date}");
            std::fs::write(
                dir.join(round).join(format!("{bin}.json")),
                assessment.to_json(),
            )
            .unwrap();
        }
    }
    // The panel is the same enterprises (BINs) in both rounds.
    let bins = |a: &[Assessment]| -> BTreeSet<String> {
        a.iter()
            .map(|a| a.enterprise.bin.clone().unwrap())
            .collect()
    };
    assert_eq!(bins(&before).intersection(&bins(&after)).count(), panel);
    scratch.import(&[&dir]);
    assert_eq!(
        scratch.rounds(),
        [
            ("2025".to_owned(), panel as u64, panel as u64),
            (
                "2026".to_owned(),
                (panel + new) as u64,
                (panel + new) as u64
            ),
        ]
    );
}

#[test]
fn the_trend_is_withheld_when_few_enterprises_are_in_one_round_only() {
    let scratch = Scratch::new();
    panel_rounds(&scratch, 20, 2);
    let survey = scratch.export_json(&["--k", "5"]);
    assert_eq!(survey["trend"]["from_round"], "2025");
    assert!(
        survey["trend"]["trend"].is_null(),
        "the 2 newcomers' figures would be the round's minus the panel's: {}",
        survey["trend"]
    );
    assert_eq!(survey["trend"]["withheld"], "remainder-below-k");
    assert_k_anonymous(&survey, 5, 22);
    let html = scratch.report("dash.html", &["--lang", "en"]);
    let why = label("survey.remainder_below_k", Lang::En, &[("k", "5")]);
    assert!(
        html.contains(&why),
        "the dashboard does not say why the change is withheld: {why:?}"
    );
    // The first round has nothing to compare with.
    let first = scratch.export_json(&["--round", "2025"]);
    assert!(first["trend"]["trend"].is_null());
    assert_eq!(first["trend"]["withheld"], "no-previous-round");

    let scratch = Scratch::new();
    panel_rounds(&scratch, 20, 6);
    let survey = scratch.export_json(&["--k", "5"]);
    let trend = &survey["trend"]["trend"];
    assert!(!trend.is_null(), "withheld: {}", survey["trend"]);
    assert!(survey["trend"]["withheld"].is_null(), "{}", survey["trend"]);
    assert_eq!(trend["panel"], 20);
    let moved: u64 = ["improved", "unchanged", "declined"]
        .iter()
        .map(|f| trend[f].as_u64().unwrap())
        .sum();
    assert_eq!(moved, 20, "{trend}");
    for field in ["levels_before", "levels_after"] {
        let sum: u64 = trend[field]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_u64().unwrap())
            .sum();
        assert_eq!(sum, 20, "{field}: {trend}");
    }
    assert_k_anonymous(&survey, 5, 26);
}

#[test]
fn the_kazakh_dashboard_renders_cleanly_in_chromium() {
    crate::browser::chromium();
    let scratch = Scratch::new();
    let pop = generate(&scratch, 60, 2, 7);
    scratch.import(&[&pop]);
    let report = scratch.path("dashboard-kk.html");
    scratch.report("dashboard-kk.html", &["--lang", "kk"]);
    let crate::browser::Check {
        code,
        summary,
        stderr,
    } = crate::browser::check(&report, &scratch.path("rendered"));
    assert_eq!(
        code,
        Some(0),
        "the kk dashboard does not render cleanly:\n{summary}\n{stderr}"
    );
    let url = summary["url"].as_str().unwrap();
    assert!(
        url.starts_with("file:///") && url.ends_with("/dashboard-kk.html"),
        "{url}"
    );
    let requests: Vec<&Value> = summary["requests"].as_array().unwrap().iter().collect();
    assert_eq!(requests, [&summary["url"]], "it requested more than itself");
    assert!(summary["data_urls"].as_array().unwrap().is_empty());
    assert!(
        summary["errors"].as_array().unwrap().is_empty(),
        "{summary}"
    );
    let width = summary["page_width"].as_u64().unwrap();
    assert!(width <= 1280, "the kk dashboard is {width} px wide at 1280");
    assert!(
        summary["title"]
            .as_str()
            .is_some_and(|t| t.contains("Өнеркәсіп")),
        "title: {}",
        summary["title"]
    );
    let png = std::fs::read(scratch.path("rendered/report.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10 * 1024);
}

// ---------------------------------------------------------------------------
// CSV export.
// ---------------------------------------------------------------------------

/// Checks the group CSV of a store against its JSON export at `k`.
fn check_csv(scratch: &Scratch, k: u64) {
    let out = run(scratch
        .survey()
        .args(["export", "--format", "csv", "--k", &k.to_string()]));
    let csv_text = ok(&out, &format!("survey export --format csv --k {k}"));
    let survey = scratch.export_json(&["--k", &k.to_string()]);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(csv_text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header, CSV_COLUMNS, "CSV header");
    let column = |name: &str| CSV_COLUMNS.iter().position(|c| *c == name).unwrap();
    let records: Vec<csv::StringRecord> = reader
        .records()
        .map(|r| r.unwrap_or_else(|error| panic!("k = {k}: a CSV record: {error}\n{csv_text}")))
        .collect();
    let mut national = None;
    let mut tables: std::collections::BTreeMap<String, Vec<(String, u64)>> = Default::default();
    let mut cells = 0;
    for record in &records {
        assert_eq!(record.len(), CSV_COLUMNS.len(), "{record:?}");
        assert_eq!(&record[column("round")], survey["round"].as_str().unwrap());
        assert_eq!(record[column("k")], k.to_string());
        let suppressed = &record[column("suppressed")];
        assert!(
            suppressed == "true" || suppressed == "false",
            "suppressed {suppressed:?}: {record:?}"
        );
        let table = &record[column("table")];
        let group = record[column("group")].to_owned();
        let count = &record[column("enterprises")];
        match table {
            "national" => {
                assert_eq!(suppressed, "false");
                national = Some(count.parse::<u64>().unwrap());
            }
            "sector" | "region" | "size" => {
                assert_eq!(suppressed, "false", "{record:?}");
                let n: u64 = count.parse().unwrap();
                assert!(n >= k, "{table} {group} has {n} < k = {k}");
                tables.entry(table.to_owned()).or_default().push((group, n));
            }
            "sector_region" => {
                cells += 1;
                if suppressed == "true" {
                    assert!(
                        record.iter().skip(column("enterprises")).all(str::is_empty),
                        "a suppressed cell with figures: {record:?}"
                    );
                } else {
                    let n: u64 = count.parse().unwrap();
                    assert!(n == 0 || n >= k, "cell {group} has {n} (k = {k})");
                }
            }
            other => panic!("unknown table {other:?}: {record:?}"),
        }
    }
    assert_eq!(national, survey["national"]["enterprises"].as_u64());
    for (table, json) in [
        ("sector", "by_sector"),
        ("region", "by_region"),
        ("size", "by_size"),
    ] {
        let expected: Vec<(String, u64)> = survey[json]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                (
                    g["code"].as_str().unwrap().to_owned(),
                    enterprises(&g["stats"]),
                )
            })
            .collect();
        assert_eq!(
            tables.get(table).cloned().unwrap_or_default(),
            expected,
            "{table} rows"
        );
    }
    let x = &survey["sector_region"];
    assert_eq!(
        cells,
        x["sectors"].as_array().unwrap().len() * x["regions"].as_array().unwrap().len(),
        "one row per sector × region cell"
    );
}

#[test]
fn the_csv_export_has_its_columns_and_only_groups_of_k() {
    // A crafted population with a cross-tabulation.
    let scratch = Scratch::new();
    let pop = scratch.path("pop");
    let mut groups: Vec<Crafted> = SMALL_GROUPS.into_iter().collect();
    groups.push(Crafted {
        count: 9,
        region: "Pavlodar region",
        sector: "C24.1",
    });
    groups.push(Crafted {
        count: 8,
        region: "Almaty",
        sector: "C20.1",
    });
    write_crafted(&pop, &groups, 13);
    scratch.import(&[&pop]);
    check_csv(&scratch, 5);
    check_csv(&scratch, 7);

    // A generated one.
    let scratch = Scratch::new();
    let pop = generate(&scratch, 60, 1, 7);
    scratch.import(&[&pop]);
    check_csv(&scratch, 5);
}

#[test]
#[should_panic(expected = "recoverable from the margin")]
fn the_anonymity_check_catches_a_cell_recoverable_by_subtraction() {
    // metals = 10 in Karaganda + 3 elsewhere: suppressing only the 3 leaves it
    // recoverable as the metals total minus the 10.
    let group = |code: &str, n: u64| serde_json::json!({"code": code, "stats": {"enterprises": n}});
    let survey = serde_json::json!({
        "k": 5,
        "published": true,
        "national": {"enterprises": 25},
        "by_sector": [group("metals", 13), group("other", 12)],
        "by_region": [group("karaganda", 16), group("other", 9)],
        "by_size": [group("other", 25)],
        "sector_region": {
            "sectors": ["metals", "other"],
            "regions": ["karaganda", "other"],
            "cells": [[{"enterprises": 10}, null], [{"enterprises": 6}, {"enterprises": 6}]]
        },
        "findings": [], "holding_back": [], "caps": [], "actions": [],
        "trend": {"trend": null}
    });
    assert_k_anonymous(&survey, 5, 25);
}

#[test]
fn an_import_killed_mid_way_keeps_its_committed_batches_and_resumes() {
    let scratch = Scratch::new();
    let pop = generate(&scratch, 40, 1, 5);
    // Batches of 5, each transaction held open 200 ms: 8 batches, ~1.6 s.
    let mut child = scratch
        .survey()
        .arg("import")
        .arg(&pop)
        .env("I4GAUGE_TEST_SURVEY_BATCH", "5")
        .env("I4GAUGE_TEST_SLOW_IMPORT_MS", "200")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once the first batch is committed (readers never wait in WAL mode).
    let started = Instant::now();
    loop {
        let committed = rusqlite::Connection::open_with_flags(
            &scratch.db,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .and_then(|c| c.query_row("SELECT count(*) FROM survey_member", [], |r| r.get(0)))
        .unwrap_or(0i64);
        if committed >= 5 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no batch committed in a minute"
        );
        thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    let connection = rusqlite::Connection::open(&scratch.db).unwrap();
    let check: String = connection
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let members: i64 = connection
        .query_row("SELECT count(*) FROM survey_member", [], |r| r.get(0))
        .unwrap();
    let assessments: i64 = connection
        .query_row("SELECT count(*) FROM assessment", [], |r| r.get(0))
        .unwrap();
    drop(connection);
    assert!(
        (5..40).contains(&members) && members % 5 == 0,
        "whole batches only, and the kill came mid-way: {members}"
    );
    assert_eq!(assessments, members, "no assessment without its membership");
    // Importing again adds exactly the rest.
    let out = run(scratch.survey().arg("import").arg(&pop));
    let stdout = ok(&out, "survey import (again)");
    assert!(
        stdout.contains(&format!(
            "40 files: {} imported, {members} already there, 0 rejected",
            40 - members
        )),
        "{stdout}"
    );
    let out = run(scratch.survey().args(["rounds", "--json"]));
    let rounds: Value = serde_json::from_str(&ok(&out, "survey rounds")).unwrap();
    assert_eq!(rounds[0]["enterprises"], 40, "{rounds}");
}
