//! The questionnaire loader against a corpus of broken files: each case under
//! `tests/corpus/questionnaire/` replaces one or more files of the small
//! questionnaire in `tests/fixtures/questionnaire-mini/`, and `expect.txt` holds
//! the exact problem lines the loader must print (file:line:column: path: message).

use std::path::{Path, PathBuf};

use i4gauge::questionnaire::{Questionnaire, Sources};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_owned()
}

/// The mini questionnaire with the case's files in place of its own, named
/// relative to the repository so messages are stable.
fn sources(case: &Path) -> Sources {
    let pick = |name: &str| {
        let replaced = case.join(name);
        let path = if replaced.exists() {
            replaced
        } else {
            root().join("tests/fixtures/questionnaire-mini").join(name)
        };
        let text = std::fs::read_to_string(&path).unwrap();
        let relative = path.strip_prefix(root()).unwrap().display().to_string();
        (relative, text)
    };
    Sources {
        questionnaire: pick("questionnaire.toml"),
        rules: pick("rules.toml"),
        actions: pick("actions.toml"),
    }
}

#[test]
fn the_mini_questionnaire_is_valid() {
    let questionnaire = Questionnaire::load(&sources(Path::new("/nonexistent"))).unwrap();
    assert_eq!(questionnaire.dimensions.len(), 2);
    assert_eq!(questionnaire.questions().count(), 6);
    assert_eq!(questionnaire.rules.len(), 3);
    assert_eq!(questionnaire.actions.len(), 8);
}

#[test]
fn every_broken_file_in_the_corpus_gets_its_exact_message() {
    let corpus = root().join("tests/corpus/questionnaire");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    cases.sort();
    assert!(cases.len() >= 12, "corpus has {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let expected = std::fs::read_to_string(case.join("expect.txt"))
            .unwrap_or_else(|_| panic!("{}: no expect.txt", case.display()));
        let actual = match Questionnaire::load(&sources(case)) {
            Ok(_) => "(loaded without error)".to_owned(),
            Err(problems) => problems.to_string(),
        };
        if actual.trim_end() != expected.trim_end() {
            failures.push(format!(
                "{}:\n  expected: {}\n  actual:   {}",
                case.file_name().unwrap().to_string_lossy(),
                expected.trim_end().replace('\n', "\n            "),
                actual.replace('\n', "\n            ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
