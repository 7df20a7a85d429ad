//! The history store: assessments of enterprises over time, in SQLite.
//!
//! Only this module knows SQL. [`Store::open`] checks that a file is an
//! i4gauge store (or empty) before anything is written to it, refuses a store
//! written by a newer i4gauge, migrates an older one forward and switches it
//! to WAL so that readers never wait for a writer. Every write is one
//! transaction: an assessment reported as saved is committed, and a process
//! killed mid-write leaves the store as it was before that write.
//! [`compare`] is pure: it diffs two [`Record`]s. Documented in `docs/history.md`.

pub mod compare;
mod schema;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::answers::Answers;
use crate::assess::Assessment;
use crate::evidence::Evidence;
use crate::scale::Score;

pub use compare::{Comparison, compare};
pub use schema::LATEST as SCHEMA_VERSION;

/// File name of the store in the data directory.
pub const FILE_NAME: &str = "history.sqlite3";

/// How long a writer waits for another writer before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The default store: `history.sqlite3` in the per-user data directory
/// (`$XDG_DATA_HOME/i4gauge/` on Linux).
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "i4gauge").map(|dirs| dirs.data_dir().join(FILE_NAME))
}

/// Why the store cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The file exists but is not an SQLite database.
    #[error("{0}: not an i4gauge history store (not an SQLite database); it was left untouched")]
    NotADatabase(PathBuf),
    /// An SQLite database of something else.
    #[error("{0}: an SQLite database, but not an i4gauge history store; it was left untouched")]
    Foreign(PathBuf),
    /// Written by a newer i4gauge.
    #[error(
        "{path}: history store version {found} was written by a newer i4gauge (this one reads up to {ours}); it was left untouched"
    )]
    Newer {
        /// The store.
        path: PathBuf,
        /// Its `user_version`.
        found: i64,
        /// [`SCHEMA_VERSION`].
        ours: i64,
    },
    /// No assessment with that id.
    #[error("no stored assessment with id {0}")]
    NotFound(i64),
    /// A stored document does not parse.
    #[error("stored assessment {id} is unreadable: {message}")]
    Document {
        /// Its id.
        id: i64,
        /// Why.
        message: String,
    },
    /// The file cannot be read or created.
    #[error("{path}: {source}")]
    Io {
        /// The store.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// SQLite said no.
    #[error("{path}: {source}")]
    Sqlite {
        /// The store.
        path: PathBuf,
        /// Cause.
        source: rusqlite::Error,
    },
}

/// How an enterprise is identified across assessments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyKind {
    /// By its business identification number.
    Bin,
    /// By its name: the assessment has no BIN.
    Name,
}

impl KeyKind {
    fn as_str(self) -> &'static str {
        match self {
            KeyKind::Bin => "bin",
            KeyKind::Name => "name",
        }
    }
    fn parse(text: &str) -> KeyKind {
        if text == "bin" {
            KeyKind::Bin
        } else {
            KeyKind::Name
        }
    }
}

/// The key an assessment's enterprise is stored under: its BIN, else its name.
pub fn enterprise_key(assessment: &Assessment) -> (String, KeyKind) {
    match assessment
        .enterprise
        .bin
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty())
    {
        Some(bin) => (bin.to_owned(), KeyKind::Bin),
        None => (assessment.enterprise.name.trim().to_owned(), KeyKind::Name),
    }
}

/// The content hash: SHA-256 of the canonical JSON ([`Assessment::to_json`]).
pub fn content_hash(assessment: &Assessment) -> String {
    Prepared::new(assessment).hash
}

/// An asset as history remembers it, for asset-level comparisons.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AssetRef {
    /// Asset id from the evidence (an address, or address/unit behind a gateway).
    pub id: String,
    /// Its role (`plc`, `gateway`, …).
    pub role: String,
}

/// The assets of evidence documents, deduplicated by id.
pub fn assets_of(evidence: &[Evidence]) -> Vec<AssetRef> {
    let mut assets: Vec<AssetRef> = evidence
        .iter()
        .flat_map(|e| &e.assets)
        .map(|asset| AssetRef {
            id: asset.id.0.clone(),
            role: serde_json::to_value(asset.role.role)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
        })
        .collect();
    assets.sort();
    assets.dedup_by(|a, b| a.id == b.id);
    assets
}

/// What to store besides the assessment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Extras<'a> {
    /// Where it came from: `assess --save` or the imported file's path.
    pub source: &'a str,
    /// The answers it was made from, when known.
    pub answers: Option<&'a Answers>,
    /// The assets of its evidence, when the evidence is at hand (`assess --save`).
    pub assets: Option<&'a [AssetRef]>,
}

/// The result of [`Store::save`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Saved {
    /// The assessment's id in the store.
    pub id: i64,
    /// False when the same assessment was already stored (nothing was written).
    pub new: bool,
    /// The enterprise key.
    pub enterprise: String,
    /// Whether the key is the BIN or the name.
    pub key_kind: KeyKind,
}

/// One line of `history list`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// Id in the store.
    pub id: i64,
    /// Enterprise key (BIN, or name when there is none).
    pub enterprise: String,
    /// Whether the key is the BIN or the name.
    pub key_kind: KeyKind,
    /// Enterprise name as in this assessment.
    pub name: String,
    /// Interview date.
    pub date: Option<String>,
    /// Questionnaire id.
    pub questionnaire_id: String,
    /// Questionnaire version.
    pub questionnaire_version: String,
    /// Overall declared score.
    pub declared: Option<Score>,
    /// Overall verified score.
    pub verified: Option<Score>,
    /// When it was stored (RFC 3339, UTC).
    pub saved_at: String,
    /// Where it came from.
    pub source: String,
}

/// A stored assessment with what was stored beside it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    /// Id in the store.
    pub id: i64,
    /// Enterprise key.
    pub enterprise: String,
    /// Whether the key is the BIN or the name.
    pub key_kind: KeyKind,
    /// When it was stored.
    pub saved_at: String,
    /// Where it came from.
    pub source: String,
    /// SHA-256 of the canonical assessment JSON.
    pub content_hash: String,
    /// The assessment.
    pub assessment: Assessment,
    /// Assets of its evidence, when it was saved with its evidence.
    pub assets: Option<Vec<AssetRef>>,
}

/// One row of `history export`: one assessment × one dimension.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportRow {
    /// Id in the store.
    pub assessment: i64,
    /// BIN (empty when the enterprise has none).
    pub bin: String,
    /// Name.
    pub name: String,
    /// Sector code.
    pub sector: String,
    /// Region.
    pub region: String,
    /// Interview date.
    pub date: String,
    /// Questionnaire id.
    pub questionnaire_id: String,
    /// Questionnaire version.
    pub questionnaire_version: String,
    /// Dimension id.
    pub dimension: String,
    /// Declared score.
    pub declared: Option<Score>,
    /// Verified score.
    pub verified: Option<Score>,
}

/// An open history store.
#[derive(Debug)]
pub struct Store {
    connection: Connection,
    path: PathBuf,
    insert_delay: Duration,
}

fn score_column(value: Option<i64>) -> Option<Score> {
    value.and_then(|v| Score::from_f64(v as f64 / 100.0))
}

fn hundredths(score: Option<Score>) -> Option<i64> {
    score.map(|s| (s.as_f64() * 100.0).round() as i64)
}

impl Store {
    /// Opens (creating when missing) the store at `path`, migrating it forward.
    pub fn open(path: &Path) -> Result<Store, HistoryError> {
        let io = |source| HistoryError::Io {
            path: path.to_owned(),
            source,
        };
        let sql = |source| HistoryError::Sqlite {
            path: path.to_owned(),
            source,
        };
        // Look before SQLite touches anything: a foreign file is never written.
        match std::fs::File::open(path) {
            Ok(mut file) => {
                use std::io::Read;
                let mut header = [0u8; 16];
                let mut read = 0;
                while read < header.len() {
                    match file.read(&mut header[read..]).map_err(io)? {
                        0 => break,
                        n => read += n,
                    }
                }
                if read > 0 && &header[..read] != b"SQLite format 3\0" {
                    return Err(HistoryError::NotADatabase(path.to_owned()));
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(io)?;
                }
            }
            Err(error) => return Err(io(error)),
        }
        let connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sql)?;
        connection.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
        let not_a_database = |error: rusqlite::Error| match error.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase) => HistoryError::NotADatabase(path.to_owned()),
            _ => sql(error),
        };
        let version: i64 = connection
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(not_a_database)?;
        if version > schema::LATEST {
            return Err(HistoryError::Newer {
                path: path.to_owned(),
                found: version,
                ours: schema::LATEST,
            });
        }
        if version == 0 {
            let objects: i64 = connection
                .query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get(0))
                .map_err(not_a_database)?;
            if objects > 0 {
                return Err(HistoryError::Foreign(path.to_owned()));
            }
        }
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(sql)?;
        connection
            .pragma_update(None, "synchronous", "FULL")
            .map_err(sql)?;
        connection
            .pragma_update(None, "foreign_keys", "ON")
            .map_err(sql)?;
        // 64 MiB of page cache (default 2 MiB): a survey of 100,000 enterprises
        // inserts into unique indexes of random hashes that outgrow 2 MiB.
        connection
            .pragma_update(None, "cache_size", -65536)
            .map_err(sql)?;
        // Read through a memory map: a survey report of 100,000 members
        // otherwise makes tens of thousands of pread calls.
        connection
            .pragma_update(None, "mmap_size", 256i64 << 20)
            .map_err(sql)?;
        let mut store = Store {
            connection,
            path: path.to_owned(),
            insert_delay: Duration::ZERO,
        };
        store.migrate(version)?;
        Ok(store)
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// For tests of interrupted writes: wait this long inside each save's
    /// transaction, before it commits.
    pub fn set_insert_delay(&mut self, delay: Duration) {
        self.insert_delay = delay;
    }

    fn sql(&self) -> impl Fn(rusqlite::Error) -> HistoryError + '_ {
        |source| HistoryError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn migrate(&mut self, from: i64) -> Result<(), HistoryError> {
        let path = self.path.clone();
        let sql = |source| HistoryError::Sqlite {
            path: path.clone(),
            source,
        };
        for (index, migration) in schema::MIGRATIONS.iter().enumerate().skip(from as usize) {
            let tx = self.connection.transaction().map_err(sql)?;
            // Someone else may have migrated meanwhile: check inside the transaction.
            let version: i64 = tx
                .query_row("PRAGMA user_version", [], |row| row.get(0))
                .map_err(sql)?;
            if version > index as i64 {
                continue;
            }
            tx.execute_batch(migration).map_err(sql)?;
            tx.pragma_update(None, "user_version", index as i64 + 1)
                .map_err(sql)?;
            tx.commit().map_err(sql)?;
        }
        Ok(())
    }

    /// Stores an assessment unless the same one (by content hash) is there already.
    pub fn save(
        &mut self,
        assessment: &Assessment,
        extras: Extras<'_>,
    ) -> Result<Saved, HistoryError> {
        let prepared = Prepared::new(assessment);
        let delay = self.insert_delay;
        let path = self.path.clone();
        let sql = |source| HistoryError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self
            .connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sql)?;
        let (id, new) = insert(&tx, &prepared, extras).map_err(sql)?;
        if new && !delay.is_zero() {
            std::thread::sleep(delay);
        }
        tx.commit().map_err(sql)?;
        Ok(Saved {
            id,
            new,
            enterprise: prepared.key,
            key_kind: prepared.key_kind,
        })
    }

    /// For imports of thousands of assessments: `synchronous=NORMAL` (in WAL
    /// mode a commit is then not synced until the next checkpoint: a power cut
    /// may lose the last batches, never consistency; a killed process loses
    /// nothing committed) and checkpoints every 64 MiB instead of 4 MiB.
    /// `false` restores the defaults.
    pub fn set_bulk(&mut self, bulk: bool) -> Result<(), HistoryError> {
        let (synchronous, pages) = if bulk {
            ("NORMAL", 16384)
        } else {
            ("FULL", 1000)
        };
        self.connection
            .pragma_update(None, "synchronous", synchronous)
            .map_err(self.sql())?;
        self.connection
            .pragma_update(None, "wal_autocheckpoint", pages)
            .map_err(self.sql())?;
        Ok(())
    }

    /// Adds assessments to survey rounds, all in one transaction: each is
    /// stored (unless already there, by content hash) and joins the round
    /// with its extract (unless already a member). Idempotent.
    pub fn survey_import(
        &mut self,
        items: &[SurveyItem],
    ) -> Result<Vec<SurveyImported>, HistoryError> {
        let path = self.path.clone();
        let sql = |source| HistoryError::Sqlite {
            path: path.clone(),
            source,
        };
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let tx = self
            .connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sql)?;
        let mut outcomes = Vec::with_capacity(items.len());
        {
            let mut join = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO survey_member (round, assessment_id, member, imported_at)
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(sql)?;
            for item in items {
                let extras = Extras {
                    source: &item.source,
                    answers: None,
                    assets: None,
                };
                let (id, new_assessment) = insert(&tx, &item.prepared, extras).map_err(sql)?;
                let joined = join
                    .execute(params![item.round, id, item.member, now])
                    .map_err(sql)?;
                outcomes.push(SurveyImported {
                    id,
                    new_assessment,
                    new_member: joined > 0,
                });
            }
        }
        if !self.insert_delay.is_zero() {
            std::thread::sleep(self.insert_delay);
        }
        tx.commit().map_err(sql)?;
        Ok(outcomes)
    }

    /// The survey rounds, by label.
    pub fn survey_rounds(&self) -> Result<Vec<RoundEntry>, HistoryError> {
        let mut statement = self
            .connection
            .prepare(
                "SELECT m.round, count(*), count(DISTINCT a.enterprise_id)
                 FROM survey_member m JOIN assessment a ON a.id = m.assessment_id
                 GROUP BY m.round ORDER BY m.round",
            )
            .map_err(self.sql())?;
        let rows = statement
            .query_map([], |row| {
                Ok(RoundEntry {
                    label: row.get(0)?,
                    assessments: row.get(1)?,
                    enterprises: row.get(2)?,
                })
            })
            .map_err(self.sql())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.sql())
    }

    /// The members of a round: for each enterprise its latest assessment in
    /// the round (by date, then id), ordered by enterprise id.
    pub fn survey_members(&self, round: &str) -> Result<Vec<StoredMember>, HistoryError> {
        let mut statement = self
            .connection
            .prepare(
                "SELECT a.id, a.enterprise_id, e.key, e.key_kind, a.name, a.date, m.member
                 FROM survey_member m
                 JOIN assessment a ON a.id = m.assessment_id
                 JOIN enterprise e ON e.id = a.enterprise_id
                 WHERE m.round = ?1",
            )
            .map_err(self.sql())?;
        let rows = statement
            .query_map([round], |row| {
                Ok(StoredMember {
                    assessment: row.get(0)?,
                    enterprise_id: row.get(1)?,
                    enterprise: row.get(2)?,
                    key_kind: KeyKind::parse(&row.get::<_, String>(3)?),
                    name: row.get(4)?,
                    date: row.get(5)?,
                    member: row.get(6)?,
                })
            })
            .map_err(self.sql())?;
        // Sorted here, not by SQLite: with the extracts in every row, a sort
        // of 100,000 members spills to temporary files.
        let mut rows = rows.collect::<Result<Vec<_>, _>>().map_err(self.sql())?;
        rows.sort_unstable_by(|a, b| {
            (a.enterprise_id, &a.date, a.assessment).cmp(&(b.enterprise_id, &b.date, b.assessment))
        });
        let mut members: Vec<StoredMember> = Vec::with_capacity(rows.len());
        for row in rows {
            match members.last_mut() {
                Some(last) if last.enterprise_id == row.enterprise_id => *last = row,
                _ => members.push(row),
            }
        }
        Ok(members)
    }

    /// Stored assessments, oldest first (by date, then id), optionally of one enterprise.
    pub fn list(&self, enterprise: Option<&str>) -> Result<Vec<Entry>, HistoryError> {
        let mut statement = self
            .connection
            .prepare(
                "SELECT a.id, e.key, e.key_kind, a.name, a.date, a.questionnaire_id,
                        a.questionnaire_version, a.overall_declared, a.overall_verified,
                        a.saved_at, a.source
                 FROM assessment a JOIN enterprise e ON e.id = a.enterprise_id
                 WHERE ?1 IS NULL OR e.key = ?1
                 ORDER BY e.key, a.date, a.id",
            )
            .map_err(self.sql())?;
        let rows = statement
            .query_map([enterprise], |row| {
                Ok(Entry {
                    id: row.get(0)?,
                    enterprise: row.get(1)?,
                    key_kind: KeyKind::parse(&row.get::<_, String>(2)?),
                    name: row.get(3)?,
                    date: row.get(4)?,
                    questionnaire_id: row.get(5)?,
                    questionnaire_version: row.get(6)?,
                    declared: score_column(row.get(7)?),
                    verified: score_column(row.get(8)?),
                    saved_at: row.get(9)?,
                    source: row.get(10)?,
                })
            })
            .map_err(self.sql())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.sql())
    }

    /// The enterprise keys in the store.
    pub fn enterprises(&self) -> Result<Vec<String>, HistoryError> {
        let mut statement = self
            .connection
            .prepare("SELECT key FROM enterprise ORDER BY key")
            .map_err(self.sql())?;
        let rows = statement
            .query_map([], |row| row.get(0))
            .map_err(self.sql())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.sql())
    }

    /// One stored assessment.
    pub fn get(&self, id: i64) -> Result<Record, HistoryError> {
        let row =
            self.connection
                .query_row(
                    "SELECT e.key, e.key_kind, a.saved_at, a.source, a.content_hash, d.document,
                        a.has_assets, d.encoding
                 FROM assessment a
                 JOIN enterprise e ON e.id = a.enterprise_id
                 JOIN assessment_document d ON d.assessment_id = a.id
                 WHERE a.id = ?1",
                    [id],
                    |row| {
                        let bytes = match row.get_ref(5)? {
                            rusqlite::types::ValueRef::Text(t)
                            | rusqlite::types::ValueRef::Blob(t) => t.to_vec(),
                            _ => Vec::new(),
                        };
                        let document = match row.get::<_, String>(7)?.as_str() {
                            "lz4-json" => decompress(&bytes),
                            _ => String::from_utf8(bytes)
                                .map_err(|e| format!("document is not UTF-8: {e}")),
                        };
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, String>(2)?,
                            row.get::<_, String>(3)?,
                            row.get::<_, String>(4)?,
                            document,
                            row.get::<_, bool>(6)?,
                        ))
                    },
                )
                .optional()
                .map_err(self.sql())?
                .ok_or(HistoryError::NotFound(id))?;
        let (enterprise, key_kind, saved_at, source, content_hash, document, has_assets) = row;
        let document = document.map_err(|message| HistoryError::Document { id, message })?;
        let assessment =
            Assessment::from_json(&document, &format!("assessment {id}")).map_err(|error| {
                HistoryError::Document {
                    id,
                    message: format!("{error:#}"),
                }
            })?;
        let assets = if has_assets {
            let mut statement = self
                .connection
                .prepare(
                    "SELECT asset_id, role FROM asset WHERE assessment_id = ?1 ORDER BY asset_id",
                )
                .map_err(self.sql())?;
            let rows = statement
                .query_map([id], |row| {
                    Ok(AssetRef {
                        id: row.get(0)?,
                        role: row.get(1)?,
                    })
                })
                .map_err(self.sql())?;
            Some(rows.collect::<Result<Vec<_>, _>>().map_err(self.sql())?)
        } else {
            None
        };
        Ok(Record {
            id,
            enterprise,
            key_kind: KeyKind::parse(&key_kind),
            saved_at,
            source,
            content_hash,
            assessment,
            assets,
        })
    }

    /// Assessments of the same enterprise as `assessment` dated before it
    /// (any other assessment when it has no date), oldest first.
    pub fn earlier(&self, assessment: &Assessment) -> Result<Vec<Record>, HistoryError> {
        let (key, _) = enterprise_key(assessment);
        let hash = content_hash(assessment);
        let date = assessment.enterprise.date.clone();
        let entries = self.list(Some(&key))?;
        entries
            .into_iter()
            .filter(|entry| match (&entry.date, &date) {
                (Some(earlier), Some(this)) => earlier < this,
                _ => true,
            })
            .map(|entry| self.get(entry.id))
            .filter(|record| !matches!(record, Ok(r) if r.content_hash == hash))
            .collect()
    }

    /// One row per assessment × dimension, by enterprise, date and id.
    pub fn export(&self) -> Result<Vec<ExportRow>, HistoryError> {
        let mut statement = self
            .connection
            .prepare(
                "SELECT a.id, e.key_kind, e.key, a.name, a.sector, a.region, a.date,
                        a.questionnaire_id, a.questionnaire_version, d.dimension, d.declared,
                        d.verified
                 FROM assessment a
                 JOIN enterprise e ON e.id = a.enterprise_id
                 JOIN dimension_score d ON d.assessment_id = a.id
                 ORDER BY e.key, a.date, a.id, d.position",
            )
            .map_err(self.sql())?;
        let rows = statement
            .query_map([], |row| {
                let kind: String = row.get(1)?;
                Ok(ExportRow {
                    assessment: row.get(0)?,
                    bin: if kind == "bin" {
                        row.get(2)?
                    } else {
                        String::new()
                    },
                    name: row.get(3)?,
                    sector: row.get::<_, Option<String>>(4)?.unwrap_or_default(),
                    region: row.get::<_, Option<String>>(5)?.unwrap_or_default(),
                    date: row.get::<_, Option<String>>(6)?.unwrap_or_default(),
                    questionnaire_id: row.get(7)?,
                    questionnaire_version: row.get(8)?,
                    dimension: row.get(9)?,
                    declared: score_column(row.get(10)?),
                    verified: score_column(row.get(11)?),
                })
            })
            .map_err(self.sql())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.sql())
    }
}

/// An assessment ready to store: its canonical JSON, hash and key, computed
/// once (and, for a survey import, on a worker thread).
#[derive(Debug, Clone)]
pub struct Prepared {
    hash: String,
    key: String,
    key_kind: KeyKind,
    /// The document, LZ4-compressed (`lz4-json`).
    document: Vec<u8>,
    name: String,
    date: Option<String>,
    sector: Option<String>,
    region: Option<String>,
    questionnaire_id: String,
    questionnaire_version: String,
    declared: Option<Score>,
    verified: Option<Score>,
    dimensions: Vec<(String, Option<Score>, Option<Score>)>,
}

impl Prepared {
    /// Prepares `assessment`, stored as its canonical JSON.
    pub fn new(assessment: &Assessment) -> Prepared {
        Prepared::with_text(assessment, &assessment.to_json())
    }

    /// Prepares `assessment` whose JSON is `text` as read from a file: the
    /// text is stored and hashed as it is, which spares serializing it again.
    /// For a file written by i4gauge (`assess -o`) the text is the canonical
    /// JSON, so the hash is the one [`Prepared::new`] gives.
    pub fn with_text(assessment: &Assessment, text: &str) -> Prepared {
        let hash = Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let (key, key_kind) = enterprise_key(assessment);
        let e = &assessment.enterprise;
        Prepared {
            hash,
            key,
            key_kind,
            document: lz4_flex::compress_prepend_size(text.as_bytes()),
            name: e.name.clone(),
            date: e.date.clone(),
            sector: e.sector.clone(),
            region: e.region.clone(),
            questionnaire_id: assessment.questionnaire.id.clone(),
            questionnaire_version: assessment.questionnaire.version.clone(),
            declared: assessment.overall.declared,
            verified: assessment.overall.verified,
            dimensions: assessment
                .dimensions
                .iter()
                .map(|d| (d.id.clone(), d.declared, d.verified))
                .collect(),
        }
    }

    /// The enterprise key.
    pub fn key(&self) -> (&str, KeyKind) {
        (&self.key, self.key_kind)
    }
}

/// One assessment for [`Store::survey_import`].
#[derive(Debug, Clone)]
pub struct SurveyItem {
    /// The round it joins.
    pub round: String,
    /// The assessment.
    pub prepared: Prepared,
    /// Where it came from (the file).
    pub source: String,
    /// The survey's extract of it, as JSON.
    pub member: String,
}

/// What [`Store::survey_import`] did with one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SurveyImported {
    /// The assessment's id.
    pub id: i64,
    /// It was not in the store before.
    pub new_assessment: bool,
    /// It was not in the round before.
    pub new_member: bool,
}

/// A survey round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoundEntry {
    /// Its label.
    pub label: String,
    /// Assessments in it.
    pub assessments: u64,
    /// Distinct enterprises.
    pub enterprises: u64,
}

/// A round member as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMember {
    /// Assessment id.
    pub assessment: i64,
    /// Enterprise id (the same across rounds).
    pub enterprise_id: i64,
    /// Enterprise key: BIN, or name.
    pub enterprise: String,
    /// Which.
    pub key_kind: KeyKind,
    /// Name.
    pub name: String,
    /// Assessment date.
    pub date: Option<String>,
    /// The extract, JSON.
    pub member: String,
}

/// Inserts a prepared assessment unless its hash is stored; returns its id
/// and whether it is new.
fn insert(tx: &Transaction<'_>, p: &Prepared, extras: Extras<'_>) -> rusqlite::Result<(i64, bool)> {
    let existing: Option<i64> = tx
        .prepare_cached("SELECT id FROM assessment WHERE content_hash = ?1")?
        .query_row([&p.hash], |row| row.get(0))
        .optional()?;
    if let Some(id) = existing {
        return Ok((id, false));
    }
    let enterprise_id = upsert_enterprise(tx, &p.key, p.key_kind, &p.name)?;
    let answers = extras.answers.map(Answers::to_json);
    tx.prepare_cached(
        "INSERT INTO assessment (enterprise_id, content_hash, date, saved_at, source, name,
             sector, region, questionnaire_id, questionnaire_version, overall_declared,
             overall_verified, document, answers, has_assets)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, '', ?13, ?14)",
    )?
    .execute(params![
        enterprise_id,
        p.hash,
        p.date,
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        extras.source,
        p.name,
        p.sector,
        p.region,
        p.questionnaire_id,
        p.questionnaire_version,
        hundredths(p.declared),
        hundredths(p.verified),
        answers,
        extras.assets.is_some(),
    ])?;
    let id = tx.last_insert_rowid();
    tx.prepare_cached(
        "INSERT INTO assessment_document (assessment_id, encoding, document)
         VALUES (?1, 'lz4-json', ?2)",
    )?
    .execute(params![id, p.document])?;
    {
        let mut statement = tx.prepare_cached(
            "INSERT INTO dimension_score (assessment_id, position, dimension, declared, verified)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for (position, (dimension, declared, verified)) in p.dimensions.iter().enumerate() {
            statement.execute(params![
                id,
                position as i64,
                dimension,
                hundredths(*declared),
                hundredths(*verified)
            ])?;
        }
    }
    if let Some(assets) = extras.assets {
        let mut statement = tx.prepare_cached(
            "INSERT OR IGNORE INTO asset (assessment_id, asset_id, role) VALUES (?1, ?2, ?3)",
        )?;
        for asset in assets {
            statement.execute(params![id, asset.id, asset.role])?;
        }
    }
    Ok((id, true))
}

/// Decompresses an `lz4-json` document.
fn decompress(bytes: &[u8]) -> Result<String, String> {
    let raw = lz4_flex::decompress_size_prepended(bytes)
        .map_err(|e| format!("compressed document is damaged: {e}"))?;
    String::from_utf8(raw).map_err(|e| format!("document is not UTF-8: {e}"))
}

fn upsert_enterprise(
    tx: &Transaction<'_>,
    key: &str,
    kind: KeyKind,
    name: &str,
) -> rusqlite::Result<i64> {
    tx.prepare_cached(
        "INSERT INTO enterprise (key, key_kind, name) VALUES (?1, ?2, ?3)
         ON CONFLICT (key) DO UPDATE SET name = excluded.name",
    )?
    .execute(params![key, kind.as_str(), name])?;
    tx.prepare_cached("SELECT id FROM enterprise WHERE key = ?1")?
        .query_row([key], |row| row.get(0))
}
