//! Unit tests of the store and of `compare`, on the assessment fixtures.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::*;
use crate::assess::{self, Inputs};
use crate::questionnaire::Questionnaire;

fn fixture(case: &str, evidence: &str) -> (Assessment, Vec<AssetRef>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/assess");
    let questionnaire = Questionnaire::builtin();
    let answers = Answers::load(&root.join(case).join("answers.toml"), &questionnaire).unwrap();
    let evidence = vec![Evidence::load(&root.join(evidence)).unwrap()];
    let assessment = assess::assess(Inputs {
        questionnaire: &questionnaire,
        answers: &answers,
        evidence: &evidence,
        targets: &BTreeMap::new(),
    })
    .unwrap();
    (assessment, assets_of(&evidence))
}

fn temp_store() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/history.sqlite3");
    (dir, path)
}

fn extras(assets: &[AssetRef]) -> Extras<'_> {
    Extras {
        source: "test",
        answers: None,
        assets: Some(assets),
    }
}

#[test]
fn a_new_store_is_migrated_to_the_latest_version_in_wal_mode() {
    let (_dir, path) = temp_store();
    let store = Store::open(&path).unwrap();
    let version: i64 = store
        .connection
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    let mode: String = store
        .connection
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    drop(store);
    // Reopening applies nothing twice.
    Store::open(&path).unwrap();
}

#[test]
fn saving_twice_is_a_no_op_and_the_record_round_trips() {
    let (_dir, path) = temp_store();
    let mut store = Store::open(&path).unwrap();
    let (assessment, assets) = fixture("industry-3.0", "evidence-industry-3.0.json");
    let first = store.save(&assessment, extras(&assets)).unwrap();
    assert!(first.new);
    assert_eq!(first.key_kind, KeyKind::Bin);
    assert_eq!(first.enterprise, "050140005678");
    let second = store.save(&assessment, extras(&assets)).unwrap();
    assert_eq!((second.id, second.new), (first.id, false));
    assert_eq!(store.list(None).unwrap().len(), 1);
    let record = store.get(first.id).unwrap();
    assert_eq!(record.assessment, assessment);
    assert_eq!(record.assets.as_deref(), Some(assets.as_slice()));
    assert_eq!(record.content_hash, content_hash(&assessment));
    assert_eq!(record.content_hash.len(), 64);
    let rows = store.export().unwrap();
    assert_eq!(rows.len(), assessment.dimensions.len());
    assert_eq!(rows[0].dimension, assessment.dimensions[0].id);
    assert_eq!(rows[0].verified, assessment.dimensions[0].verified);
    assert!(matches!(store.get(999), Err(HistoryError::NotFound(999))));
}

#[test]
fn without_a_bin_the_enterprise_is_keyed_by_name() {
    let (_dir, path) = temp_store();
    let mut store = Store::open(&path).unwrap();
    let (mut assessment, _) = fixture("industry-3.0", "evidence-industry-3.0.json");
    assessment.enterprise.bin = None;
    let saved = store.save(&assessment, Extras::default()).unwrap();
    assert_eq!(saved.key_kind, KeyKind::Name);
    assert_eq!(saved.enterprise, "Pavlodar Pipe Plant");
    assert_eq!(store.get(saved.id).unwrap().assets, None);
}

#[test]
fn a_newer_store_is_refused_and_left_as_it_was() {
    let (_dir, path) = temp_store();
    drop(Store::open(&path).unwrap());
    {
        let connection = Connection::open(&path).unwrap();
        connection
            .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
    }
    let error = Store::open(&path).unwrap_err();
    assert!(matches!(error, HistoryError::Newer { found, .. } if found == SCHEMA_VERSION + 1));
    let connection = Connection::open(&path).unwrap();
    let version: i64 = connection
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION + 1);
}

#[test]
fn foreign_files_are_refused_untouched() {
    let (dir, _) = temp_store();
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, b"not a database at all, just text\n").unwrap();
    assert!(matches!(
        Store::open(&garbage),
        Err(HistoryError::NotADatabase(_))
    ));
    assert_eq!(
        std::fs::read(&garbage).unwrap(),
        b"not a database at all, just text\n"
    );
    let other = dir.path().join("other.sqlite3");
    Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE t (x INTEGER)")
        .unwrap();
    let before = std::fs::read(&other).unwrap();
    assert!(matches!(Store::open(&other), Err(HistoryError::Foreign(_))));
    assert_eq!(std::fs::read(&other).unwrap(), before);
}

fn record(id: i64, assessment: Assessment, assets: Option<Vec<AssetRef>>) -> Record {
    let (enterprise, key_kind) = enterprise_key(&assessment);
    Record {
        id,
        enterprise,
        key_kind,
        saved_at: String::new(),
        source: String::new(),
        content_hash: content_hash(&assessment),
        assessment,
        assets,
    }
}

#[test]
fn compare_shows_improvement_assets_and_achieved_actions() {
    let (mut before, assets_before) = fixture("industry-2.0", "evidence-industry-2.5.json");
    let (after, assets_after) = fixture("industry-3.0", "evidence-industry-3.0.json");
    before.enterprise = after.enterprise.clone();
    before.enterprise.date = Some("2025-11-30".to_owned());
    let a = record(1, before.clone(), Some(assets_before.clone()));
    let b = record(2, after.clone(), Some(assets_after.clone()));
    let comparison = compare(&a, &b);
    assert!(comparison.comparable && comparison.same_enterprise);
    let overall = comparison.overall.as_ref().unwrap();
    assert!(
        overall.verified.delta.unwrap().hundredths() > 0,
        "{overall:?}"
    );
    assert_eq!(comparison.dimensions.len(), after.dimensions.len());
    for d in &comparison.dimensions {
        let expected = Gap::between(
            after.dimension(&d.id).unwrap().verified.unwrap(),
            before.dimension(&d.id).unwrap().verified.unwrap(),
        );
        assert_eq!(d.verified.delta, Some(expected), "{}", d.id);
    }
    let assets = comparison.assets.as_ref().unwrap();
    assert_eq!(assets.basis, "assets");
    let ids = |list: &[AssetRef]| list.iter().map(|a| a.id.clone()).collect::<BTreeSet<_>>();
    let expected_new: Vec<_> = ids(&assets_after)
        .difference(&ids(&assets_before))
        .cloned()
        .collect();
    assert_eq!(
        ids(&assets.appeared).into_iter().collect::<Vec<_>>(),
        expected_new
    );
    for action in &comparison.achieved_actions {
        assert!(action.to <= after.dimension(&action.dimension).unwrap().band.unwrap());
    }
    assert!(
        !comparison.achieved_actions.is_empty(),
        "moving from 2.0 to 3.0 achieves some of the 2.0 roadmap"
    );
    // Without stored assets the comparison falls back to the counts.
    let comparison = compare(&record(1, before, None), &b);
    assert_eq!(comparison.assets.unwrap().basis, "facts");
}

#[test]
fn findings_resolved_and_new_come_from_finding_facts() {
    let (mut before, _) = fixture("industry-3.0", "evidence-industry-3.0.json");
    let mut after = before.clone();
    after.enterprise.date = Some("2027-01-01".to_owned());
    before
        .facts
        .insert("finding.opcua.anonymous-access".to_owned(), 2);
    after
        .facts
        .insert("finding.opcua.sha1-signature".to_owned(), 1);
    let comparison = compare(&record(1, before, None), &record(2, after, None));
    let findings = comparison.findings.unwrap();
    assert_eq!(findings.resolved.len(), 1);
    assert_eq!(findings.resolved[0].fact, "finding.opcua.anonymous-access");
    assert_eq!(findings.new.len(), 1);
    assert_eq!(findings.new[0].fact, "finding.opcua.sha1-signature");
}

#[test]
fn different_questionnaires_are_not_compared() {
    let (before, _) = fixture("industry-3.0", "evidence-industry-3.0.json");
    let mut after = before.clone();
    after.questionnaire.version = "2.0.0".to_owned();
    let comparison = compare(&record(1, before, None), &record(2, after, None));
    assert!(!comparison.comparable);
    assert!(comparison.dimensions.is_empty() && comparison.overall.is_none());
}

use std::collections::BTreeSet;

use crate::scale::Gap;

#[test]
fn a_version_1_store_is_migrated_and_keeps_its_documents() {
    let (_dir, path) = temp_store();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let (assessment, _) = fixture("industry-3.0", "evidence-industry-3.0.json");
    {
        // A store as i4gauge with only migration 1 wrote it: the document in `assessment`.
        let connection = Connection::open(&path).unwrap();
        connection.execute_batch(schema::MIGRATIONS[0]).unwrap();
        connection.pragma_update(None, "user_version", 1).unwrap();
        connection
            .execute(
                "INSERT INTO enterprise (id, key, key_kind, name) VALUES (1, 'x', 'name', 'x')",
                [],
            )
            .unwrap();
        connection
            .execute(
                "INSERT INTO assessment (id, enterprise_id, content_hash, saved_at, source, name,
                     questionnaire_id, questionnaire_version, document, has_assets)
                 VALUES (7, 1, ?1, 'then', 'test', 'x', 'q', '1', ?2, 0)",
                params![content_hash(&assessment), assessment.to_json()],
            )
            .unwrap();
    }
    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.get(7).unwrap().assessment, assessment);
    // New saves are compressed beside it; both read back.
    let (other, assets) = fixture("industry-2.0", "evidence-industry-2.5.json");
    let saved = store.save(&other, extras(&assets)).unwrap();
    assert_eq!(store.get(saved.id).unwrap().assessment, other);
    let encodings: Vec<String> = store
        .connection
        .prepare("SELECT encoding FROM assessment_document ORDER BY assessment_id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(encodings, ["json", "lz4-json"]);
}
