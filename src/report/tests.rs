//! View-model snapshots, hostile strings, self-containment and label coverage.

use std::collections::BTreeMap;
use std::path::Path;

use super::*;
use crate::answers::Answers;
use crate::assess::{self, Assessment};
use crate::evidence::Evidence;
use crate::questionnaire::Questionnaire;

fn fixture_inputs(case: &str, evidence_file: &str) -> (Questionnaire, Vec<Evidence>, Assessment) {
    let questionnaire = Questionnaire::builtin();
    let dir = Path::new("tests/fixtures/assess");
    let answers = Answers::load(&dir.join(case).join("answers.toml"), &questionnaire).unwrap();
    let evidence = vec![Evidence::load(&dir.join(evidence_file)).unwrap()];
    let assessment = assess::assess(assess::Inputs {
        questionnaire: &questionnaire,
        answers: &answers,
        evidence: &evidence,
        targets: &BTreeMap::new(),
    })
    .unwrap();
    (questionnaire, evidence, assessment)
}

fn view(
    questionnaire: &Questionnaire,
    evidence: &[Evidence],
    assessment: &Assessment,
    lang: Lang,
) -> ReportView {
    ReportView::build(
        &Inputs {
            assessment,
            questionnaire,
            evidence,
            previous: &[],
            lang,
        },
        &Labels::builtin(),
        &Glossary::builtin(),
    )
}

/// Compares with `tests/fixtures/report/NAME`, or writes it with I4GAUGE_BLESS=1.
fn snapshot(name: &str, actual: &str) {
    let path = Path::new("tests/fixtures/report").join(name);
    if std::env::var_os("I4GAUGE_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
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
            "{name} differs at line {}:\n  expected: {}\n  actual:   {}",
            line + 1,
            expected.lines().nth(line).unwrap_or(""),
            actual.lines().nth(line).unwrap_or("")
        );
    }
}

#[test]
fn view_models_match_their_snapshots() {
    let (questionnaire, evidence, assessment) =
        fixture_inputs("contradiction", "evidence-industry-3.0.json");
    for lang in [Lang::En, Lang::Kk] {
        let view = view(&questionnaire, &evidence, &assessment, lang);
        let json = serde_json::to_string_pretty(&view).unwrap() + "\n";
        snapshot(&format!("view-contradiction-{}.json", lang.code()), &json);
    }
}

#[test]
fn the_view_says_what_contradicts_and_what_to_do_first() {
    let (questionnaire, evidence, assessment) =
        fixture_inputs("contradiction", "evidence-industry-3.0.json");
    let view = view(&questionnaire, &evidence, &assessment, Lang::En);
    assert_eq!(view.contradictions.len(), 1);
    assert!(
        view.contradictions[0].summary.starts_with("Connectivity"),
        "{:?}",
        view.contradictions[0]
    );
    assert!(
        view.contradictions[0]
            .summary
            .contains("declared 4.0, evidence says 3.0")
    );
    assert_eq!(view.contradictions[0].rule, "connectivity.modbus-only");
    assert!(!view.next_actions.is_empty() && view.next_actions.len() <= 5);
    assert_eq!(view.assets.len(), evidence[0].assets.len());
    assert_eq!(
        view.headline.verified,
        assessment.overall.verified.unwrap().one_decimal()
    );
    assert_eq!(view.phases.len(), 3);
    // Kazakh labels and questionnaire texts.
    let kk = self::view(&questionnaire, &evidence, &assessment, Lang::Kk);
    assert!(
        kk.contradictions[0].summary.contains("мәлімделгені 4.0"),
        "{}",
        kk.contradictions[0].summary
    );
    assert_eq!(kk.dimensions[1].name, questionnaire.dimensions[1].name.kk);
}

/// Every text in a report made of `assessment` and `evidence` after `poison`
/// (applied to the enterprise and the first asset) is shown, never executed.
#[test]
fn hostile_strings_are_escaped_cut_and_made_visible() {
    let (questionnaire, mut evidence, mut assessment) =
        fixture_inputs("contradiction", "evidence-industry-3.0.json");
    let script = "<script>alert('pwned')</script>";
    let img = "\"><img src=x onerror=alert(1)>";
    let rlo = "invoice\u{202E}gpj.exe";
    let huge = "Ы".repeat(64 * 1024);
    assessment.enterprise.name = script.to_owned();
    assessment.enterprise.assessor = Some(img.to_owned());
    assessment.enterprise.region = Some(rlo.to_owned());
    assessment.enterprise.sector = Some(huge.clone());
    assessment.dimensions[0].questions[0].comment = Some(script.to_owned());
    let asset = &mut evidence[0].assets[0];
    asset.identity.vendor = Some(script.to_owned());
    asset.identity.product = Some(img.to_owned());
    asset.identity.revision = Some(rlo.to_owned());
    asset.hostname = Some(huge.clone());
    for lang in Lang::ALL {
        let html = render(&Inputs {
            assessment: &assessment,
            questionnaire: &questionnaire,
            evidence: &evidence,
            previous: &[],
            lang,
        });
        assert!(
            !html.to_lowercase().contains("<script"),
            "a script element got through"
        );
        assert!(!html.contains("<img"), "an img element got through");
        assert!(
            html.contains("&#34;&#62;&#60;img src=x onerror=alert(1)&#62;"),
            "shown as text"
        );
        assert!(
            html.contains("&#60;script&#62;alert(&#39;pwned&#39;)&#60;/script&#62;"),
            "shown as text"
        );
        // In generated SVG, our own escaping.
        assert!(
            html.contains("&lt;script&gt;alert(&#39;pwned&#39;)"),
            "escaped in the topology drawing"
        );
        assert!(!html.contains('\u{202E}'), "a bidi override got through");
        assert!(html.contains("invoice[U+202E]gpj.exe"));
        assert!(
            html.len() < 400 * 1024,
            "a 64 KiB name is cut, not repeated: {} bytes",
            html.len()
        );
        assert!(!html.contains(&"Ы".repeat(filters::MAX_UNTRUSTED_CHARS + 1)));
    }
}

#[test]
fn the_report_is_self_contained() {
    let (questionnaire, evidence, assessment) =
        fixture_inputs("contradiction", "evidence-industry-3.0.json");
    for lang in Lang::ALL {
        let html = render(&Inputs {
            assessment: &assessment,
            questionnaire: &questionnaire,
            evidence: &evidence,
            previous: &[],
            lang,
        });
        let lower = html.to_lowercase();
        for forbidden in [
            " src=",
            " href=",
            "url(",
            "@import",
            "<link",
            "<script",
            "<iframe",
            "<object",
            "<embed",
            "@font-face",
        ] {
            assert!(
                !lower.contains(forbidden),
                "{lang:?}: the report contains {forbidden:?}"
            );
        }
        // The only URL is the SVG namespace, which is never fetched.
        let urls = lower.matches("http://").count() + lower.matches("https://").count();
        assert_eq!(
            urls,
            lower.matches("http://www.w3.org/2000/svg").count(),
            "{lang:?}: a URL besides the SVG namespace"
        );
        assert!(html.contains("@page { size: A4;"), "print stylesheet");
        assert!(
            html.contains(
                "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\""
            ),
            "a CSP that forbids any request"
        );
        assert!(html.contains(&format!("<html lang=\"{}\">", lang.code())));
    }
}

#[test]
fn every_label_the_report_uses_exists_in_every_language() {
    let labels = Labels::builtin();
    let sources = [
        include_str!("../../templates/report.html"),
        include_str!("view.rs"),
    ];
    let mut keys = Vec::new();
    for source in sources {
        for section in ["report.", "finding.", "remedy.", "severity.", "role."] {
            for (start, _) in source.match_indices(&format!("\"{section}")) {
                let key: String = source[start + 1..]
                    .chars()
                    .take_while(|c| *c != '"')
                    .collect();
                if !key.ends_with('.') && !key.contains('{') {
                    keys.push(key);
                }
            }
        }
    }
    assert!(keys.len() > 60, "found only {} keys", keys.len());
    for key in &keys {
        assert!(
            labels.contains(key),
            "label {key} is missing from questionnaires/ui.toml"
        );
    }
    // Finding labels and remedies exist for every finding discovery emits.
    for id in crate::evidence::facts::FINDING_IDS {
        let id = id.trim_start_matches("opcua.");
        assert!(
            labels.contains(&format!("finding.{id}")) && labels.contains(&format!("remedy.{id}")),
            "{id}"
        );
    }
}

#[test]
fn earlier_assessments_show_progress() {
    let (questionnaire, evidence, assessment) =
        fixture_inputs("contradiction", "evidence-industry-3.0.json");
    let (_, _, mut earlier) = fixture_inputs("industry-2.0", "evidence-empty.json");
    earlier.enterprise.date = Some("2025-11-28".into());
    let view = ReportView::build(
        &Inputs {
            assessment: &assessment,
            questionnaire: &questionnaire,
            evidence: &evidence,
            previous: std::slice::from_ref(&earlier),
            lang: Lang::En,
        },
        &Labels::builtin(),
        &Glossary::builtin(),
    );
    let progress = view.progress.expect("a progress table");
    assert_eq!(progress.columns, ["2025-11-28", "2026-11-30"]);
    assert_eq!(
        progress.rows[0].1,
        [
            earlier.overall.verified.unwrap().one_decimal(),
            assessment.overall.verified.unwrap().one_decimal()
        ]
    );
    assert_eq!(progress.rows.len(), 1 + assessment.dimensions.len());
}
