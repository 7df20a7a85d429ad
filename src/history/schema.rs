//! The store's schema and its migrations.
//!
//! `PRAGMA user_version` holds the number of migrations applied. Migrations
//! only go forward: each runs in its own transaction together with the
//! `user_version` bump, so a store is always at one version or the next. A
//! store whose version is above [`LATEST`] was written by a newer i4gauge and
//! is refused, never migrated down. Existing migrations are never edited:
//! a change of schema is a new entry at the end of [`MIGRATIONS`].

/// Migrations in order; migration `n` (1-based) brings the store to version `n`.
pub const MIGRATIONS: &[&str] = &[
    // 1: enterprises, assessments (the whole document), per-dimension scores, assets.
    "
    CREATE TABLE enterprise (
        id       INTEGER PRIMARY KEY,
        key      TEXT NOT NULL UNIQUE,
        key_kind TEXT NOT NULL CHECK (key_kind IN ('bin', 'name')),
        name     TEXT NOT NULL
    );
    CREATE TABLE assessment (
        id                    INTEGER PRIMARY KEY,
        enterprise_id         INTEGER NOT NULL REFERENCES enterprise (id),
        content_hash          TEXT NOT NULL UNIQUE,
        date                  TEXT,
        saved_at              TEXT NOT NULL,
        source                TEXT NOT NULL,
        name                  TEXT NOT NULL,
        sector                TEXT,
        region                TEXT,
        questionnaire_id      TEXT NOT NULL,
        questionnaire_version TEXT NOT NULL,
        overall_declared      INTEGER,
        overall_verified      INTEGER,
        document              TEXT NOT NULL,
        answers               TEXT,
        has_assets            INTEGER NOT NULL CHECK (has_assets IN (0, 1))
    );
    CREATE INDEX assessment_by_enterprise ON assessment (enterprise_id, date, id);
    CREATE TABLE dimension_score (
        assessment_id INTEGER NOT NULL REFERENCES assessment (id),
        position      INTEGER NOT NULL,
        dimension     TEXT NOT NULL,
        declared      INTEGER,
        verified      INTEGER,
        PRIMARY KEY (assessment_id, dimension)
    );
    CREATE TABLE asset (
        assessment_id INTEGER NOT NULL REFERENCES assessment (id),
        asset_id      TEXT NOT NULL,
        role          TEXT NOT NULL,
        PRIMARY KEY (assessment_id, asset_id)
    );
    ",
    // 2: documents move to their own table, compressed (`lz4-json`: an lz4_flex block with its
    // size prepended) or not (`json`), so that scans of `assessment` never read them; survey
    // rounds: which assessments a round holds, with the survey's extract of each.
    "
    CREATE TABLE assessment_document (
        assessment_id INTEGER PRIMARY KEY REFERENCES assessment (id),
        encoding      TEXT NOT NULL CHECK (encoding IN ('json', 'lz4-json')),
        document      BLOB NOT NULL
    );
    INSERT INTO assessment_document (assessment_id, encoding, document)
        SELECT id, 'json', document FROM assessment;
    UPDATE assessment SET document = '';
    CREATE TABLE survey_member (
        round         TEXT NOT NULL,
        assessment_id INTEGER NOT NULL REFERENCES assessment (id),
        member        TEXT NOT NULL,
        imported_at   TEXT NOT NULL,
        PRIMARY KEY (round, assessment_id)
    );
    ",
];

/// The schema version this i4gauge writes.
pub const LATEST: i64 = MIGRATIONS.len() as i64;
