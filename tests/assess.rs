//! Data-driven assessment fixtures: each directory under
//! `tests/fixtures/assess/` holds `answers.toml`, `evidence.txt` (the evidence
//! files to merge, recorded from the simulated plants) and
//! `expected-assessment.json`, the snapshot the assessment must equal byte for
//! byte. After a deliberate change of method or questionnaire, regenerate with
//! `I4GAUGE_BLESS=1 cargo test assess::` and review the diff.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use i4gauge::answers::Answers;
use i4gauge::assess::{self, Assessment, Direction, Inputs, RuleOutcome};
use i4gauge::evidence::Evidence;
use i4gauge::questionnaire::Questionnaire;
use i4gauge::scale::Score;

use crate::util::i4gauge;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/assess")
}

fn evidence_files(case: &str) -> Vec<PathBuf> {
    std::fs::read_to_string(fixtures().join(case).join("evidence.txt"))
        .unwrap()
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| fixtures().join(line.trim()))
        .collect()
}

fn assess_case(case: &str) -> Assessment {
    let questionnaire = Questionnaire::builtin();
    let answers =
        Answers::load(&fixtures().join(case).join("answers.toml"), &questionnaire).unwrap();
    let evidence: Vec<Evidence> = evidence_files(case)
        .iter()
        .map(|p| Evidence::load(p).unwrap())
        .collect();
    assess::assess(Inputs {
        questionnaire: &questionnaire,
        answers: &answers,
        evidence: &evidence,
        targets: &BTreeMap::new(),
    })
    .unwrap()
}

/// Compares with the snapshot, or writes it when blessing.
fn snapshot(case: &str, actual: &str) {
    let path = fixtures().join(case).join("expected-assessment.json");
    if std::env::var_os("I4GAUGE_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{}: missing; bless it", path.display()));
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(e, a)| e != a)
            .unwrap_or(0);
        panic!(
            "{case}: assessment differs from {} at line {}:\n  expected: {}\n  actual:   {}",
            path.display(),
            line + 1,
            expected.lines().nth(line).unwrap_or(""),
            actual.lines().nth(line).unwrap_or("")
        );
    }
}

fn s(value: f64) -> Score {
    Score::from_f64(value).unwrap()
}

#[test]
fn industry_2_0_enterprise() {
    let assessment = assess_case("industry-2.0");
    snapshot("industry-2.0", &assessment.to_json());
    assert_eq!(assessment.overall.band, Some(s(2.0)));
    // The whole network was scanned and held no controller: the declaration agrees.
    let rule = assessment
        .rules
        .iter()
        .find(|r| r.id == "automation.no-controllers")
        .unwrap();
    assert_eq!(rule.outcome, RuleOutcome::Fired);
    assert!(
        assessment.contradictions.is_empty(),
        "{:?}",
        assessment.contradictions
    );
    assert!(!assessment.roadmap.actions.is_empty());
    // Each dimension's actions start at its band: nothing is planned twice or skipped.
    for action in &assessment.roadmap.actions {
        let band = assessment
            .dimension(&action.dimension)
            .unwrap()
            .band
            .unwrap();
        assert_eq!(action.from, band, "{}", action.id);
    }
}

#[test]
fn industry_3_0_enterprise() {
    let assessment = assess_case("industry-3.0");
    snapshot("industry-3.0", &assessment.to_json());
    let verified = assessment.overall.verified.unwrap();
    assert!((s(2.5)..=s(3.2)).contains(&verified), "{verified}");
    assert!(
        assessment.overall.incomplete,
        "a skipped and a dont_know question"
    );
    assert!(assessment.overall.completeness < 100);
}

#[test]
fn industry_4_0_enterprise() {
    let assessment = assess_case("industry-4.0");
    snapshot("industry-4.0", &assessment.to_json());
    let connectivity = assessment.dimension("connectivity").unwrap();
    assert_eq!(
        connectivity.verified,
        Some(s(4.0)),
        "companion specs back the claim"
    );
    assert!(
        connectivity
            .fired_rules
            .contains(&"connectivity.companion-specs".to_owned())
    );
    // Self-signed certificates cap declared 4.0 cybersecurity.
    let cybersecurity = assessment.dimension("cybersecurity").unwrap();
    assert!(cybersecurity.verified < cybersecurity.declared);
    assert!(assessment.overall.verified.unwrap() >= s(3.5));
}

#[test]
fn declared_4_0_connectivity_with_only_modbus_islands_is_verified_at_most_3_0() {
    let assessment = assess_case("contradiction");
    snapshot("contradiction", &assessment.to_json());
    let connectivity = assessment.dimension("connectivity").unwrap();
    assert_eq!(connectivity.declared, Some(s(4.0)));
    assert!(connectivity.verified.unwrap() <= s(3.0));
    let contradiction = assessment
        .contradictions
        .iter()
        .find(|c| c.dimension == "connectivity")
        .expect("the contradiction is named");
    assert_eq!(contradiction.rule, "connectivity.modbus-only");
    assert_eq!(contradiction.direction, Direction::OverDeclared);
    assert!(assessment.overall.gap.unwrap().hundredths() > 0);
}

#[test]
fn the_command_writes_the_same_bytes_as_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("assessment.json");
    let mut command = i4gauge();
    command
        .arg("assess")
        .arg("--answers")
        .arg(fixtures().join("contradiction/answers.toml"));
    for file in evidence_files("contradiction") {
        command.arg("--evidence").arg(file);
    }
    let result = command
        .arg("-o")
        .arg(&output)
        .arg("--lang")
        .arg("kk")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert_eq!(
        result.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert!(stdout.contains("connectivity.modbus-only"), "{stdout}");
    let written = std::fs::read_to_string(&output).unwrap();
    let expected =
        std::fs::read_to_string(fixtures().join("contradiction/expected-assessment.json")).unwrap();
    assert_eq!(written, expected);
}

#[test]
fn bad_answers_fail_with_the_place_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let answers = dir.path().join("answers.toml");
    let text = std::fs::read_to_string(fixtures().join("contradiction/answers.toml")).unwrap();
    std::fs::write(
        &answers,
        text.replacen("option = \"ethernet-cells\"", "option = \"ethernet\"", 1),
    )
    .unwrap();
    let result = i4gauge()
        .arg("assess")
        .arg("--answers")
        .arg(&answers)
        .output()
        .unwrap();
    assert_eq!(result.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains("answers.toml:20:10: answer[0].option: question \"automation.control\" has no option \"ethernet\""),
        "{stderr}"
    );
}
