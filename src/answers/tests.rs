use std::path::Path;

use super::*;
use crate::questionnaire::{Questionnaire, Sources};

fn mini() -> Questionnaire {
    Questionnaire::load(&Sources::read_dir(Path::new("tests/fixtures/questionnaire-mini")).unwrap())
        .unwrap()
}

const GOOD: &str = r#"schema_version = "1.0"

[questionnaire]
id = "mini"
version = "0.1.0"

[enterprise]
name = "Қарағанды құю зауыты"
bin = "123456789012"
sector = "C24.5"
region = "Қарағанды облысы"
size = "medium"
assessor = "A. Consultant"
date = "2026-11-30"
scope_complete = true

[[answer]]
question = "automation.a"
option = "l35"
comment = "Line 2 only"

[[answer]]
question = "automation.b"
option = "dont_know"
"#;

#[test]
fn toml_and_json_round_trip_to_the_same_answers() {
    let questionnaire = mini();
    let answers = Answers::parse(GOOD, "a.toml", Format::Toml, &questionnaire).unwrap();
    assert_eq!(answers.enterprise.size, Some(SizeClass::Medium));
    assert!(answers.get("automation.b").unwrap().is_dont_know());
    assert_eq!(
        answers.get("automation.a").unwrap().comment.as_deref(),
        Some("Line 2 only")
    );
    let toml = answers.to_toml();
    assert_eq!(
        Answers::parse(&toml, "b.toml", Format::Toml, &questionnaire).unwrap(),
        answers
    );
    let json = answers.to_json();
    assert_eq!(
        Answers::parse(&json, "b.json", Format::Json, &questionnaire).unwrap(),
        answers
    );
    // Writing is deterministic.
    assert_eq!(
        Answers::parse(&toml, "b.toml", Format::Toml, &questionnaire)
            .unwrap()
            .to_toml(),
        toml
    );
}

#[test]
fn set_replaces_and_keeps_questionnaire_order() {
    let questionnaire = mini();
    let mut answers = Answers::new(
        &questionnaire,
        Enterprise {
            name: "X".into(),
            ..Enterprise::default()
        },
    );
    let answer = |q: &str, o: &str| Answer {
        question: q.into(),
        option: o.into(),
        comment: None,
    };
    answers.set(&questionnaire, answer("connectivity.c", "l20"));
    answers.set(&questionnaire, answer("automation.a", "l30"));
    answers.set(&questionnaire, answer("connectivity.c", "l40"));
    let order: Vec<(&str, &str)> = answers
        .answers
        .iter()
        .map(|a| (a.question.as_str(), a.option.as_str()))
        .collect();
    assert_eq!(order, [("automation.a", "l30"), ("connectivity.c", "l40")]);
}

fn error(text: &str, format: Format) -> String {
    let origin = if format == Format::Json {
        "a.json"
    } else {
        "a.toml"
    };
    Answers::parse(text, origin, format, &mini())
        .unwrap_err()
        .to_string()
}

#[test]
fn invalid_references_are_errors_with_their_place() {
    let text = GOOD.replace("option = \"l35\"", "option = \"l33\"");
    assert_eq!(
        error(&text, Format::Toml),
        "a.toml:19:10: answer[0].option: question \"automation.a\" has no option \"l33\" (options: l20, l25, l30, l35, l40, or dont_know)"
    );
    let text = GOOD.replace("question = \"automation.b\"", "question = \"automation.z\"");
    assert_eq!(
        error(&text, Format::Toml),
        "a.toml:23:12: answer[1].question: unknown question \"automation.z\""
    );
    let text = GOOD.replace("question = \"automation.b\"", "question = \"automation.a\"");
    assert_eq!(
        error(&text, Format::Toml),
        "a.toml:23:12: answer[1].question: question \"automation.a\" is answered twice"
    );
    let text = GOOD.replace("123456789012", "12345");
    assert_eq!(
        error(&text, Format::Toml),
        "a.toml:9:7: enterprise.bin: \"12345\" is not a business identification number (12 digits)"
    );
    let text = GOOD.replace("2026-11-30", "30.11.2026");
    assert_eq!(
        error(&text, Format::Toml),
        "a.toml:14:8: enterprise.date: \"30.11.2026\" is not a date (YYYY-MM-DD)"
    );
    let text = GOOD.replace("id = \"mini\"", "id = \"other\"");
    assert_eq!(
        error(&text, Format::Toml),
        "a.toml:4:6: questionnaire.id: these answers are for questionnaire \"other\", not \"mini\""
    );
    // Several problems are all reported.
    let text = GOOD.replace("l35", "l33").replace("12345678901", "1");
    assert_eq!(error(&text, Format::Toml).lines().count(), 2);
}

#[test]
fn syntax_and_type_errors_name_the_field() {
    let text = GOOD.replace("size = \"medium\"", "size = \"huge\"");
    let message = error(&text, Format::Toml);
    assert!(
        message.starts_with("a.toml:12:8: enterprise.size: unknown variant `huge`"),
        "{message}"
    );
    let text = GOOD.replace("comment = ", "remark = ");
    let message = error(&text, Format::Toml);
    assert!(
        message.starts_with("a.toml:20:1: answer[0].remark: unknown field `remark`"),
        "{message}"
    );

    let json = Answers::parse(GOOD, "a.toml", Format::Toml, &mini())
        .unwrap()
        .to_json();
    let broken = json.replace("\"scope_complete\": true", "\"scope_complete\": \"yes\"");
    let message = error(&broken, Format::Json);
    assert!(
        message
            .starts_with("a.json:15:27: enterprise.scope_complete: invalid type: string \"yes\""),
        "{message}"
    );
    let broken = json.replace("\"l35\"", "\"l99\"");
    let message = error(&broken, Format::Json);
    assert!(message.starts_with("a.json:20:17:"), "{message}");
    assert!(
        message.contains("answer[0].option: question \"automation.a\" has no option \"l99\""),
        "{message}"
    );
}

#[test]
fn a_future_major_version_is_refused() {
    let text = GOOD.replace("schema_version = \"1.0\"", "schema_version = \"2.0\"");
    assert!(
        error(&text, Format::Toml)
            .starts_with("a.toml:1:18: schema_version: answers schema version \"2.0\"")
    );
}
