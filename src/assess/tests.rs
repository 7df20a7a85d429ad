//! Scoring, rules and roadmap on the small test questionnaire
//! (`tests/fixtures/questionnaire-mini`) and evidence recorded from the
//! simulated plants (`tests/fixtures/assess/`).

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;

use super::*;
use crate::answers::{Answer, Answers, Enterprise};
use crate::questionnaire::{Questionnaire, Sources};

fn mini() -> Questionnaire {
    Questionnaire::load(&Sources::read_dir(Path::new("tests/fixtures/questionnaire-mini")).unwrap())
        .unwrap()
}

fn evidence(name: &str) -> Evidence {
    Evidence::load(&Path::new("tests/fixtures/assess").join(format!("evidence-{name}.json")))
        .unwrap()
}

fn answers(
    questionnaire: &Questionnaire,
    scope_complete: bool,
    chosen: &[(&str, &str)],
) -> Answers {
    let mut answers = Answers::new(
        questionnaire,
        Enterprise {
            name: "Test plant".into(),
            scope_complete,
            ..Enterprise::default()
        },
    );
    for (question, option) in chosen {
        answers.set(
            questionnaire,
            Answer {
                question: (*question).into(),
                option: (*option).into(),
                comment: None,
            },
        );
    }
    answers
}

fn run(questionnaire: &Questionnaire, answers: &Answers, evidence: &[Evidence]) -> Assessment {
    assess(Inputs {
        questionnaire,
        answers,
        evidence,
        targets: &BTreeMap::new(),
    })
    .unwrap()
}

fn s(value: f64) -> Score {
    Score::from_f64(value).unwrap()
}

const ALL_AT_40: &[(&str, &str)] = &[
    ("automation.a", "l40"),
    ("automation.b", "l40"),
    ("automation.c", "l40"),
    ("connectivity.a", "l40"),
    ("connectivity.b", "l40"),
    ("connectivity.c", "l40"),
];

#[test]
fn a_weak_answer_is_not_averaged_away() {
    let q = mini();
    // Weighted mean (4.0 + 4.0 + 2 × 2.0) / 4 = 3.0, but the weakest is 2.0: at most 2.5.
    let a = answers(
        &q,
        false,
        &[
            ("automation.a", "l40"),
            ("automation.b", "l40"),
            ("automation.c", "l20"),
        ],
    );
    let result = run(&q, &a, &[]);
    let automation = result.dimension("automation").unwrap();
    assert_eq!(automation.mean, Some(s(3.0)));
    assert_eq!(automation.weakest, Some(s(2.0)));
    assert_eq!(automation.declared, Some(s(2.5)));
    // Question weights count, rounded half up: (3.0 + 3.5 + 2 × 3.5) / 4 = 3.375 → 3.38.
    let a = answers(
        &q,
        false,
        &[
            ("automation.a", "l30"),
            ("automation.b", "l35"),
            ("automation.c", "l35"),
        ],
    );
    assert_eq!(
        run(&q, &a, &[]).dimension("automation").unwrap().declared,
        Some(Score::from_hundredths(338))
    );
}

#[test]
fn missing_answers_are_never_zeros() {
    let q = mini();
    let a = answers(
        &q,
        false,
        &[("automation.a", "l35"), ("automation.b", "dont_know")],
    );
    let result = run(&q, &a, &[]);
    let automation = result.dimension("automation").unwrap();
    assert_eq!(
        automation.declared,
        Some(s(3.5)),
        "scored on what was answered"
    );
    assert!(automation.incomplete);
    assert_eq!(automation.questions[1].status, AnswerStatus::DontKnow);
    assert_eq!(automation.questions[2].status, AnswerStatus::Unanswered);
    let connectivity = result.dimension("connectivity").unwrap();
    assert_eq!(
        connectivity.declared, None,
        "nothing answered: no score, not 2.0"
    );
    // Overall over the scored dimensions only.
    assert_eq!(result.overall.declared, Some(s(3.5)));
    // One question of weight 1 out of automation's 4 (weight 60 %) → 15 %.
    assert_eq!(result.overall.completeness, 15);
    assert!(result.overall.incomplete);
    let full = run(&q, &answers(&q, false, ALL_AT_40), &[]);
    assert_eq!(full.overall.completeness, 100);
    assert!(full.overall.confidence > result.overall.confidence);
    // Without evidence, confidence is at most half.
    assert_eq!(full.overall.confidence, 50);
}

#[test]
fn declared_connectivity_contradicted_by_modbus_islands() {
    let q = mini();
    let result = run(
        &q,
        &answers(&q, true, ALL_AT_40),
        &[evidence("industry-3.0")],
    );
    let connectivity = result.dimension("connectivity").unwrap();
    assert_eq!(connectivity.declared, Some(s(4.0)));
    assert_eq!(connectivity.verified, Some(s(3.0)));
    assert_eq!(connectivity.gap.unwrap().hundredths(), 100);
    assert_eq!(connectivity.fired_rules, ["connectivity.modbus-islands"]);
    assert_eq!(result.contradictions.len(), 1);
    let contradiction = &result.contradictions[0];
    assert_eq!(contradiction.rule, "connectivity.modbus-islands");
    assert_eq!(contradiction.direction, Direction::OverDeclared);
    let rule = result
        .rules
        .iter()
        .find(|r| r.id == "connectivity.modbus-islands")
        .unwrap();
    assert!(rule.decisive);
    assert_eq!(rule.inputs["opcua.servers"], 0);
    assert_eq!(rule.inputs["modbus.devices"], 6);
    // Overall: verified (0.6 × 4.0 + 0.4 × 3.0) = 3.6, declared 4.0.
    assert_eq!(result.overall.verified, Some(s(3.6)));
    assert_eq!(result.overall.gap.unwrap().hundredths(), 40);
    // The roadmap's connectivity actions cite the rule.
    let action = result
        .roadmap
        .actions
        .iter()
        .find(|a| a.dimension == "connectivity")
        .unwrap();
    assert!(
        action.triggered_by.contains(&Trigger::Rule {
            rule: "connectivity.modbus-islands".into()
        }),
        "{action:?}"
    );
}

#[test]
fn companion_specs_raise_an_understated_connectivity() {
    let q = mini();
    let mut chosen = ALL_AT_40.to_vec();
    chosen.retain(|(question, _)| question.starts_with("automation"));
    chosen.extend([
        ("connectivity.a", "l30"),
        ("connectivity.b", "l30"),
        ("connectivity.c", "l30"),
    ]);
    let result = run(&q, &answers(&q, false, &chosen), &[evidence("default")]);
    let connectivity = result.dimension("connectivity").unwrap();
    assert_eq!(connectivity.verified, Some(s(3.5)));
    assert_eq!(result.contradictions[0].direction, Direction::UnderDeclared);
    assert_eq!(result.facts["opcua.companion-specs"], 1);
}

#[test]
fn absence_rules_need_a_complete_scope() {
    let q = mini();
    let mut empty = evidence("industry-3.0");
    empty.assets.clear();
    let a = answers(&q, false, ALL_AT_40);
    let result = run(&q, &a, std::slice::from_ref(&empty));
    let no_plc = result
        .rules
        .iter()
        .find(|r| r.id == "automation.no-plc")
        .unwrap();
    assert_eq!(no_plc.outcome, RuleOutcome::SkippedScope);
    assert_eq!(result.scope.basis, "not-declared");
    assert_eq!(
        result.dimension("automation").unwrap().verified,
        Some(s(4.0))
    );

    let a = answers(&q, true, ALL_AT_40);
    let result = run(&q, &a, std::slice::from_ref(&empty));
    assert_eq!(result.scope.basis, "answers");
    let no_plc = result
        .rules
        .iter()
        .find(|r| r.id == "automation.no-plc")
        .unwrap();
    assert_eq!(no_plc.outcome, RuleOutcome::Fired);
    assert_eq!(
        result.dimension("automation").unwrap().verified,
        Some(s(2.5))
    );

    // An interrupted scan proves no absence, whatever was declared.
    let mut interrupted = empty.clone();
    interrupted.runs[0].status = ScanStatus::Incomplete {
        reason: "interrupted".into(),
        unfinished_targets: 3,
    };
    let result = run(&q, &a, &[interrupted]);
    assert_eq!(result.scope.basis, "scan-incomplete");
    assert_eq!(
        result.dimension("automation").unwrap().verified,
        Some(s(4.0))
    );
}

#[test]
fn without_evidence_no_rule_applies_and_the_log_says_so() {
    let q = mini();
    let result = run(&q, &answers(&q, true, ALL_AT_40), &[]);
    assert!(
        result
            .rules
            .iter()
            .all(|r| r.outcome == RuleOutcome::NoEvidence && r.inputs.is_empty())
    );
    assert_eq!(result.overall.evidence_coverage, 0);
    assert!(result.facts.is_empty());
}

#[test]
fn several_evidence_files_merge() {
    let q = mini();
    let lines = evidence("industry-3.5-lines");
    let scada = evidence("industry-3.5-scada");
    let result = run(
        &q,
        &answers(&q, false, ALL_AT_40),
        &[lines.clone(), scada.clone()],
    );
    assert_eq!(result.evidence.documents, 2);
    assert_eq!(
        result.evidence.assets,
        (lines.assets.len() + scada.assets.len()) as u64
    );
    assert_eq!(result.facts["opcua.servers"], 2);
    // The same document twice counts its assets once.
    let twice = run(&q, &answers(&q, false, ALL_AT_40), &[lines.clone(), lines]);
    assert_eq!(
        twice.evidence.assets,
        result.evidence.assets - scada.assets.len() as u64
    );
}

#[test]
fn the_roadmap_respects_prerequisites_and_phases() {
    let q = mini();
    let a = answers(
        &q,
        true,
        &[
            ("automation.a", "l20"),
            ("automation.b", "l20"),
            ("automation.c", "l20"),
            ("connectivity.a", "l25"),
            ("connectivity.b", "l25"),
            ("connectivity.c", "l25"),
        ],
    );
    let mut targets = BTreeMap::new();
    targets.insert("connectivity".to_owned(), s(3.5));
    let result = assess(Inputs {
        questionnaire: &q,
        answers: &a,
        evidence: &[],
        targets: &targets,
    })
    .unwrap();
    let ids: Vec<&str> = result
        .roadmap
        .actions
        .iter()
        .map(|a| a.id.as_str())
        .collect();
    // connectivity 2.5 → 3.5 needs step-25 and step-30; step-30 needs automation.step-30,
    // which needs automation.step-25 (automation is at 2.0: step-20 is its own target).
    for expected in [
        "automation.step-20",
        "connectivity.step-25",
        "connectivity.step-30",
        "automation.step-30",
        "automation.step-25",
    ] {
        assert!(ids.contains(&expected), "{expected} missing from {ids:?}");
    }
    let position = |id: &str| ids.iter().position(|x| *x == id).unwrap();
    for action in &result.roadmap.actions {
        for prerequisite in &action.prerequisites {
            assert!(
                position(prerequisite) < position(&action.id),
                "{prerequisite} after {}",
                action.id
            );
        }
        assert!(
            !action.triggered_by.is_empty(),
            "{} has no trigger",
            action.id
        );
    }
    let phases: Vec<Phase> = result.roadmap.actions.iter().map(|a| a.phase).collect();
    assert!(phases.windows(2).all(|w| w[0] <= w[1]), "{phases:?}");
    let pulled = result
        .roadmap
        .actions
        .iter()
        .find(|a| a.id == "automation.step-30")
        .unwrap();
    assert!(pulled.triggered_by.contains(&Trigger::PrerequisiteOf {
        action: "connectivity.step-30".into()
    }));
    assert_eq!(
        result
            .roadmap
            .targets
            .iter()
            .find(|t| t.dimension == "connectivity")
            .unwrap()
            .basis,
        "assessor"
    );
    // Unknown dimensions and non-levels are refused.
    targets.insert("finance".to_owned(), s(3.0));
    assert_eq!(
        assess(Inputs {
            questionnaire: &q,
            answers: &a,
            evidence: &[],
            targets: &targets
        })
        .unwrap_err(),
        AssessError::UnknownDimension("finance".into())
    );
}

#[test]
fn identical_inputs_give_identical_bytes_and_the_document_round_trips() {
    let q = mini();
    let a = answers(&q, true, ALL_AT_40);
    let first = run(&q, &a, &[evidence("default"), evidence("industry-3.0")]).to_json();
    let second = run(&q, &a, &[evidence("default"), evidence("industry-3.0")]).to_json();
    assert_eq!(first, second);
    let parsed = Assessment::from_json(&first, "a.json").unwrap();
    assert_eq!(parsed.to_json(), first);
    let future = first.replacen(
        "\"schema_version\": \"1.0\"",
        "\"schema_version\": \"2.0\"",
        1,
    );
    assert!(
        Assessment::from_json(&future, "a.json")
            .unwrap_err()
            .to_string()
            .contains("schema version 2.0")
    );
}

/// A document with one OPC UA server that only confirms: secure endpoints,
/// companion specifications, no security findings.
fn confirming_document() -> Evidence {
    let mut document = evidence("industry-3.5-lines");
    document.runs[0].site = Some("extra".into());
    document.assets.retain(|asset| !asset.opcua.is_empty());
    for asset in &mut document.assets {
        for server in &mut asset.opcua {
            server.security_findings.clear();
        }
    }
    assert_eq!(document.assets.len(), 1);
    document
}

fn all_fixtures() -> Vec<Evidence> {
    [
        "default",
        "industry-2.5",
        "industry-3.0",
        "industry-3.5-lines",
        "industry-3.5-scada",
    ]
    .into_iter()
    .map(evidence)
    .collect()
}

/// Random answers: per question, nothing, `dont_know` or one of its options.
fn answers_strategy(
    questionnaire: &Questionnaire,
) -> impl Strategy<Value = (Vec<Option<usize>>, bool)> {
    let questions = questionnaire.questions().count();
    (
        prop::collection::vec(prop::option::of(0usize..6), questions),
        any::<bool>(),
    )
}

fn build_answers(
    questionnaire: &Questionnaire,
    picks: &[Option<usize>],
    scope_complete: bool,
) -> Answers {
    let chosen: Vec<(String, String)> = questionnaire
        .questions()
        .zip(picks)
        .filter_map(|((_, question), pick)| {
            pick.map(|index| {
                let option = question
                    .options
                    .get(index)
                    .map_or("dont_know".to_owned(), |o| o.id.clone());
                (question.id.clone(), option)
            })
        })
        .collect();
    let borrowed: Vec<(&str, &str)> = chosen
        .iter()
        .map(|(q, o)| (q.as_str(), o.as_str()))
        .collect();
    answers(questionnaire, scope_complete, &borrowed)
}

fn check_properties(
    questionnaire: &Questionnaire,
    picks: &[Option<usize>],
    scope: bool,
    documents: &[bool],
) -> Result<(), TestCaseError> {
    let a = build_answers(questionnaire, picks, scope);
    let fixtures = all_fixtures();
    let chosen: Vec<Evidence> = fixtures
        .into_iter()
        .zip(documents)
        .filter(|(_, pick)| **pick)
        .map(|(e, _)| e)
        .collect();
    let result = run(questionnaire, &a, &chosen);
    let in_range =
        |score: Option<Score>| score.is_none_or(|s| (Score::MIN..=Score::MAX).contains(&s));
    prop_assert!(in_range(result.overall.declared) && in_range(result.overall.verified));
    for dimension in &result.dimensions {
        prop_assert!(
            in_range(dimension.declared) && in_range(dimension.verified),
            "{:?}",
            dimension
        );
        if let (Some(declared), Some(weakest)) = (dimension.declared, dimension.weakest) {
            prop_assert!(declared <= weakest.plus_half_step());
        }
    }
    prop_assert!(result.overall.confidence <= 100 && result.overall.completeness <= 100);
    // Adding confirming evidence never lowers a verified score.
    let mut more = chosen.clone();
    more.push(confirming_document());
    let confirmed = run(questionnaire, &a, &more);
    for (before, after) in result.dimensions.iter().zip(&confirmed.dimensions) {
        prop_assert!(
            after.verified >= before.verified,
            "{}: {:?} → {:?}",
            before.id,
            before.verified,
            after.verified
        );
    }
    prop_assert!(confirmed.overall.verified >= result.overall.verified);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn scores_stay_on_the_scale_and_confirming_evidence_never_lowers_them(
        (picks, scope) in answers_strategy(&mini()),
        documents in prop::collection::vec(any::<bool>(), 5),
    ) {
        check_properties(&mini(), &picks, scope, &documents)?;
    }

    #[test]
    fn the_builtin_questionnaire_keeps_the_same_properties(
        (picks, scope) in answers_strategy(&Questionnaire::builtin()),
        documents in prop::collection::vec(any::<bool>(), 5),
    ) {
        check_properties(&Questionnaire::builtin(), &picks, scope, &documents)?;
    }
}

#[test]
fn triggers_keep_their_wire_form_and_name_a_missing_field() {
    use super::Trigger;
    let triggers = vec![
        Trigger::Answer {
            question: "automation.control".to_owned(),
            level: Score::from_hundredths(250),
        },
        Trigger::Rule {
            rule: "cybersecurity.open-opcua".to_owned(),
        },
        Trigger::PrerequisiteOf {
            action: "connectivity.opcua-gateway".to_owned(),
        },
    ];
    let json = serde_json::to_string(&triggers).unwrap();
    assert_eq!(
        json,
        r#"[{"kind":"answer","question":"automation.control","level":2.5},{"kind":"rule","rule":"cybersecurity.open-opcua"},{"kind":"prerequisite-of","action":"connectivity.opcua-gateway"}]"#
    );
    assert_eq!(
        serde_json::from_str::<Vec<Trigger>>(&json).unwrap(),
        triggers
    );
    let error = serde_json::from_str::<Trigger>(r#"{"kind":"answer","question":"q"}"#)
        .unwrap_err()
        .to_string();
    assert!(error.contains("missing field `level`"), "{error}");
    let error = serde_json::from_str::<Trigger>(r#"{"kind":"guess"}"#)
        .unwrap_err()
        .to_string();
    assert!(error.contains("unknown variant `guess`"), "{error}");
}
