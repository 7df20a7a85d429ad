//! `i4gauge history`, `assess --save` and `report --history` against a store in
//! a temporary directory (every test passes `--db`; none touches the user's).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use i4gauge::answers::Answers;
use i4gauge::assess::{self, Assessment, Inputs};
use i4gauge::evidence::Evidence;
use i4gauge::questionnaire::Questionnaire;
use serde_json::Value;

use crate::util::{code, i4gauge, run, text};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/assess")
}

/// The earlier answers of the industry-3.0 enterprise: the industry-2.0
/// workshop's answers under its name, BIN and an earlier date.
fn earlier_answers(dir: &Path) -> PathBuf {
    let questionnaire = Questionnaire::builtin();
    let later = Answers::load(
        &fixtures().join("industry-3.0/answers.toml"),
        &questionnaire,
    )
    .unwrap();
    let mut earlier = Answers::load(
        &fixtures().join("industry-2.0/answers.toml"),
        &questionnaire,
    )
    .unwrap();
    earlier.enterprise = later.enterprise.clone();
    earlier.enterprise.date = Some("2025-11-30".to_owned());
    let path = dir.join("answers-2025.toml");
    earlier.save(&path).unwrap();
    path
}

/// An assessment of the industry-3.0 fixture dated `date`, written to `dir`.
fn assessment_file(dir: &Path, date: &str) -> PathBuf {
    let questionnaire = Questionnaire::builtin();
    let mut answers = Answers::load(
        &fixtures().join("industry-3.0/answers.toml"),
        &questionnaire,
    )
    .unwrap();
    answers.enterprise.date = Some(date.to_owned());
    let evidence = vec![Evidence::load(&fixtures().join("evidence-industry-3.0.json")).unwrap()];
    let assessment = assess::assess(Inputs {
        questionnaire: &questionnaire,
        answers: &answers,
        evidence: &evidence,
        targets: &BTreeMap::new(),
    })
    .unwrap();
    let path = dir.join(format!("assessment-{date}.json"));
    std::fs::write(&path, assessment.to_json()).unwrap();
    path
}

fn history(db: &Path) -> Command {
    let mut command = i4gauge();
    command.arg("history").arg("--db").arg(db);
    command
}

#[test]
fn saved_assessments_compare_and_show_progress_in_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store/history.sqlite3");
    let earlier = earlier_answers(dir.path());
    let out = run(i4gauge()
        .args(["assess", "--save", "--db"])
        .arg(&db)
        .arg("--answers")
        .arg(&earlier)
        .arg("--evidence")
        .arg(fixtures().join("evidence-industry-2.5.json")));
    assert!(code(&out) <= 1, "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("History: saved as 1"),
        "{}",
        text(&out.stdout)
    );
    let later_json = dir.path().join("2026.json");
    // The later one through I4GAUGE_DB instead of --db.
    let out = run(i4gauge()
        .env("I4GAUGE_DB", &db)
        .args(["assess", "--save", "-o"])
        .arg(&later_json)
        .arg("--answers")
        .arg(fixtures().join("industry-3.0/answers.toml"))
        .arg("--evidence")
        .arg(fixtures().join("evidence-industry-3.0.json")));
    assert!(code(&out) <= 1, "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("History: saved as 2"),
        "{}",
        text(&out.stdout)
    );

    // Importing the file of an assessment already saved is a no-op.
    let out = run(history(&db).arg("import").arg(&later_json));
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("unchanged 2 "),
        "{}",
        text(&out.stdout)
    );

    let out = run(history(&db).args(["list", "--json"]));
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let dates: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["date"].as_str().unwrap())
        .collect();
    assert_eq!(dates, ["2025-11-30", "2026-11-30"]);

    let out = run(history(&db).args(["compare", "--enterprise", "050140005678", "--json"]));
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let comparison: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(comparison["a"]["id"], 1);
    assert_eq!(comparison["b"]["id"], 2);
    assert_eq!(comparison["comparable"], true);
    assert!(
        comparison["overall"]["verified"]["delta"].as_f64().unwrap() > 0.0,
        "{comparison:#}"
    );
    assert_eq!(comparison["assets"]["basis"], "assets");
    let appeared = comparison["assets"]["appeared"].as_array().unwrap();
    let disappeared = comparison["assets"]["disappeared"].as_array().unwrap();
    assert!(
        !appeared.is_empty() || !disappeared.is_empty(),
        "{comparison:#}"
    );
    assert!(
        !comparison["achieved_actions"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let out = run(history(&db).args(["compare"]));
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("#1 2025-11-30") && stdout.contains("#2 2026-11-30"),
        "{stdout}"
    );
    assert!(stdout.contains("overall"), "{stdout}");
    assert!(stdout.contains("now achieved"), "{stdout}");
    assert!(stdout.contains("gap narrowed (-0.07 → 0.0)"), "{stdout}");

    let out = run(history(&db).args(["show", "2"]));
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Pavlodar Pipe Plant"));

    let report = dir.path().join("report.html");
    let out = run(i4gauge()
        .arg("report")
        .arg(&later_json)
        .arg("--history")
        .arg("--db")
        .arg(&db)
        .arg("-o")
        .arg(&report));
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let html = std::fs::read_to_string(&report).unwrap();
    let progress = &html[html.find("<section id=\"progress\">").unwrap()..];
    let progress = &progress[..progress.find("</section>").unwrap()];
    assert!(
        progress.contains("2025-11-30") && progress.contains("2026-11-30"),
        "{progress}"
    );
    assert!(progress.contains("<table>"), "{progress}");

    let out = run(history(&db).args(["export", "--format", "csv"]));
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let csv = text(&out.stdout);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "assessment,bin,name,sector,region,date,questionnaire_id,questionnaire_version,dimension,declared,verified"
    );
    let dimensions = Questionnaire::builtin().dimensions.len();
    assert_eq!(lines.len(), 1 + 2 * dimensions);
    assert!(lines[1].starts_with("1,050140005678,Pavlodar Pipe Plant,C24.2,Pavlodar region,2025-11-30,i4gauge-core,1.0.0,"), "{}", lines[1]);
    let out = run(history(&db).args(["export", "--format", "json"]));
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 2 * dimensions);
}

#[test]
fn another_questionnaire_version_is_not_compared() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.sqlite3");
    let first = assessment_file(dir.path(), "2025-01-01");
    let second = assessment_file(dir.path(), "2026-01-01");
    let mut changed: Assessment =
        Assessment::from_json(&std::fs::read_to_string(&second).unwrap(), "x").unwrap();
    changed.questionnaire.version = "9.0.0".to_owned();
    std::fs::write(&second, changed.to_json()).unwrap();
    let out = run(history(&db).arg("import").arg(&first).arg(&second));
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let out = run(history(&db).args(["compare", "1", "2"]));
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("used a different questionnaire"),
        "{}",
        text(&out.stdout)
    );
    // And the report leaves the earlier one out of the progress table, saying why.
    let report = dir.path().join("r.html");
    let out = run(i4gauge()
        .arg("report")
        .arg(&first)
        .arg("--previous")
        .arg(&second)
        .arg("-o")
        .arg(&report));
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("used a different questionnaire"));
}

#[test]
fn an_assessment_without_bin_is_stored_by_name_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.sqlite3");
    let file = assessment_file(dir.path(), "2025-01-01");
    let mut assessment =
        Assessment::from_json(&std::fs::read_to_string(&file).unwrap(), "x").unwrap();
    assessment.enterprise.bin = None;
    std::fs::write(&file, assessment.to_json()).unwrap();
    let out = run(history(&db).arg("import").arg(&file));
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("has no enterprise.bin"),
        "{}",
        text(&out.stderr)
    );
    let out = run(history(&db).args(["list", "--enterprise", "Pavlodar Pipe Plant"]));
    assert!(
        text(&out.stdout).contains("2025-01-01"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn a_foreign_file_is_refused_and_left_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("notes.db");
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i * 7 + 3) as u8).collect();
    std::fs::write(&db, &garbage).unwrap();
    for args in [&["list"][..], &["import", "x.json"][..]] {
        let out = run(history(&db).args(args));
        assert_eq!(code(&out), 2);
        assert!(
            text(&out.stderr).contains("not an i4gauge history store"),
            "{}",
            text(&out.stderr)
        );
    }
    let out = run(i4gauge()
        .args(["assess", "--save", "--db"])
        .arg(&db)
        .arg("--answers")
        .arg(fixtures().join("industry-3.0/answers.toml")));
    assert_eq!(code(&out), 2, "{}", text(&out.stderr));
    assert_eq!(std::fs::read(&db).unwrap(), garbage);
    assert!(!dir.path().join("notes.db-wal").exists());
}

#[test]
fn a_store_from_a_newer_i4gauge_is_refused_not_migrated_down() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.sqlite3");
    let out = run(history(&db)
        .arg("import")
        .arg(assessment_file(dir.path(), "2025-01-01")));
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let newer = i4gauge::history::SCHEMA_VERSION + 5;
    rusqlite::Connection::open(&db)
        .unwrap()
        .pragma_update(None, "user_version", newer)
        .unwrap();
    let out = run(history(&db).arg("list"));
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).contains(&format!("version {newer} was written by a newer i4gauge")),
        "{}",
        text(&out.stderr)
    );
    let version: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, newer);
}

fn many_assessments(dir: &Path, n: u32) -> Vec<PathBuf> {
    (1..=n)
        .map(|day| assessment_file(dir, &format!("2025-01-{day:02}")))
        .collect()
}

#[test]
fn an_import_killed_mid_way_keeps_every_assessment_it_reported() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.sqlite3");
    let files = many_assessments(dir.path(), 30);
    let mut child = history(&db)
        .arg("import")
        .args(&files)
        .env("I4GAUGE_TEST_SLOW_IMPORT_MS", "150")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut reported = BTreeSet::new();
    while reported.len() < 5 {
        let line = lines.next().expect("the import reports progress").unwrap();
        let id: i64 = line
            .strip_prefix("saved ")
            .and_then(|rest| rest.split(' ').next())
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("unexpected line {line:?}"));
        reported.insert(id);
    }
    // In the middle of the next insert's transaction (150 ms each).
    std::thread::sleep(Duration::from_millis(60));
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    // Lines written before the kill but not yet read were reported too.
    for line in lines.map_while(Result::ok) {
        if let Some(id) = line
            .strip_prefix("saved ")
            .and_then(|r| r.split(' ').next())
        {
            reported.insert(id.parse().unwrap());
        }
    }
    let connection = rusqlite::Connection::open(&db).unwrap();
    let check: String = connection
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let stored: BTreeSet<i64> = connection
        .prepare("SELECT id FROM assessment")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(reported.is_subset(&stored), "{reported:?} ⊄ {stored:?}");
    assert!(
        stored.len() < files.len(),
        "the kill came after the whole import"
    );
    drop(connection);
    // The store is usable, and importing again completes it without duplicates.
    let out = run(history(&db).arg("import").args(&files));
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let out = run(history(&db).args(["list", "--json"]));
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), files.len());
}

#[test]
fn readers_are_not_blocked_by_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.sqlite3");
    let files = many_assessments(dir.path(), 8);
    let out = run(history(&db).arg("import").arg(&files[0]));
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    // Each of the writer's transactions stays open for 400 ms.
    let mut writer = history(&db)
        .arg("import")
        .args(&files[1..])
        .env("I4GAUGE_TEST_SLOW_IMPORT_MS", "400")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let mut reads = 0;
    while writer.try_wait().unwrap().is_none() && reads < 10 {
        let started = Instant::now();
        let out = run(history(&db).args(["list", "--json"]));
        assert_eq!(code(&out), 0, "{}", text(&out.stderr));
        let list: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(!list.as_array().unwrap().is_empty());
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "a read waited for the writer"
        );
        reads += 1;
    }
    assert!(reads >= 3, "the writer finished before the readers ran");
    let out = writer.wait_with_output().unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), files.len() - 1);
}
