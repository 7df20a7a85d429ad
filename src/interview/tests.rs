use std::io::Cursor;
use std::path::Path;

use super::script::{Script, parse_reply};
use super::*;
use crate::questionnaire::Sources;

fn mini() -> Questionnaire {
    Questionnaire::load(&Sources::read_dir(Path::new("tests/fixtures/questionnaire-mini")).unwrap())
        .unwrap()
}

fn interview(input: &str, answers: Option<Answers>, path: &Path) -> (Outcome, String) {
    let mut output = Vec::new();
    let mut script = Script::new(Cursor::new(input.as_bytes().to_vec()), &mut output);
    let outcome = run(
        &mini(),
        &Labels::builtin(),
        Lang::En,
        answers,
        path,
        "2026-11-30",
        &mut script,
    )
    .unwrap();
    (outcome, String::from_utf8(output).unwrap())
}

const PROFILE: &str = "Qazaq Cement\n12345\n123456789012\nC23.5\nTurkistan\n4\nA. Assessor\n\n1\n";

#[test]
fn replies_are_parsed_strictly() {
    assert_eq!(parse_reply("3", 5), Some(Reply::Option(2, None)));
    assert_eq!(
        parse_reply(" 5 # kiln line only ", 5),
        Some(Reply::Option(4, Some("kiln line only".into())))
    );
    assert_eq!(parse_reply("?", 5), Some(Reply::DontKnow(None)));
    assert_eq!(parse_reply("", 5), Some(Reply::Skip));
    assert_eq!(parse_reply("q", 5), Some(Reply::Quit));
    assert_eq!(parse_reply("6", 5), None);
    assert_eq!(parse_reply("0", 5), None);
    assert_eq!(parse_reply("three", 5), None);
}

#[test]
fn a_whole_interview_saves_profile_and_answers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("answers.toml");
    let (outcome, output) = interview(
        &format!("{PROFILE}1\n2 # line 2\n?\n5\n4\n3\n"),
        None,
        &path,
    );
    assert_eq!(
        outcome,
        Outcome {
            answered: 6,
            total: 6,
            stopped: false
        }
    );
    // The invalid BIN was refused and asked again.
    assert!(output.contains("Not understood: 12345"), "{output}");
    assert!(output.contains("All questions answered (6/6)"), "{output}");
    let answers = Answers::load(&path, &mini()).unwrap();
    assert_eq!(answers.enterprise.bin.as_deref(), Some("123456789012"));
    assert_eq!(
        answers.enterprise.size,
        Some(crate::answers::SizeClass::Large)
    );
    assert_eq!(
        answers.enterprise.date.as_deref(),
        Some("2026-11-30"),
        "the default date"
    );
    assert!(answers.enterprise.scope_complete);
    let chosen: Vec<(&str, &str, Option<&str>)> = answers
        .answers
        .iter()
        .map(|a| (a.question.as_str(), a.option.as_str(), a.comment.as_deref()))
        .collect();
    assert_eq!(
        chosen,
        [
            ("automation.a", "l20", None),
            ("automation.b", "l25", Some("line 2")),
            ("automation.c", "dont_know", None),
            ("connectivity.a", "l40", None),
            ("connectivity.b", "l35", None),
            ("connectivity.c", "l30", None),
        ]
    );
}

#[test]
fn an_interrupted_interview_keeps_every_reply_and_resumes_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("answers.toml");
    // Two answers, then the input ends (a closed terminal, a killed pipe).
    let (outcome, _) = interview(&format!("{PROFILE}3\n\n4\n"), None, &path);
    assert!(outcome.stopped);
    assert_eq!(outcome.answered, 2);
    let saved = Answers::load(&path, &mini()).unwrap();
    assert_eq!(saved.answers.len(), 2);
    assert_eq!(saved.get("automation.c").unwrap().option, "l35");
    assert!(
        saved.get("automation.b").is_none(),
        "skipped stays unanswered"
    );

    // Resuming asks only what is unanswered, starting with the skipped question.
    let (outcome, output) = interview("1\nq\n", Some(saved), &path);
    assert_eq!(
        outcome,
        Outcome {
            answered: 3,
            total: 6,
            stopped: true
        }
    );
    assert!(
        !output.contains("Question automation.a?"),
        "answered questions are not asked again"
    );
    assert!(
        output.contains("Automation — question 2 of 6\nQuestion automation.b?"),
        "{output}"
    );
    assert!(
        output.contains("Continue with: i4gauge interview --resume"),
        "{output}"
    );
    let saved = Answers::load(&path, &mini()).unwrap();
    assert_eq!(saved.get("automation.b").unwrap().option, "l20");
    assert_eq!(
        saved.enterprise.name, "Qazaq Cement",
        "the profile survives the resume"
    );
}

#[test]
fn stopping_during_the_profile_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("answers.toml");
    let (outcome, _) = interview("Qazaq Cement\n", None, &path);
    assert!(outcome.stopped);
    assert!(!path.exists());
}

#[test]
fn questions_are_shown_with_levels_in_the_chosen_language() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("answers.json");
    let mut output = Vec::new();
    let mut script = Script::new(
        Cursor::new(format!("{PROFILE}q\n").into_bytes()),
        &mut output,
    );
    run(
        &mini(),
        &Labels::builtin(),
        Lang::Kk,
        None,
        &path,
        "2026-11-30",
        &mut script,
    )
    .unwrap();
    let output = String::from_utf8(output).unwrap();
    assert!(output.contains("Automation (kk) — сұрақ 1 / 6"), "{output}");
    assert!(
        output.contains("  3) [3.0] automation.a at 3.0 (kk)"),
        "{output}"
    );
    assert!(output.contains("?) Білмеймін"), "{output}");
    // A .json path gets JSON.
    assert!(std::fs::read_to_string(&path).unwrap().starts_with('{'));
}
