//! Importing assessment files into survey rounds.
//!
//! Files are read and checked on worker threads (one per core) and written by
//! one thread in transactions of [`BATCH`] assessments, so an interrupted
//! import keeps every batch it committed and a re-run adds only the rest
//! (assessments are deduplicated by content hash, round membership by
//! assessment). A file that cannot join is listed with its reason; the others
//! are imported.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use serde::Serialize;

use super::{Member, incompatibility};
use crate::assess::Assessment;
use crate::history::{HistoryError, Prepared, Store, SurveyItem};
use crate::questionnaire::Questionnaire;

/// Assessments per transaction.
pub const BATCH: usize = 1000;

/// The round of assessments without a date when no label is given.
pub const UNDATED: &str = "undated";

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum FileStatus {
    /// Joined the round.
    Imported {
        /// Round label.
        round: String,
        /// The assessment was new to the store (else it was stored by `history` or an earlier import).
        new_assessment: bool,
    },
    /// Already in the round: nothing written.
    Unchanged {
        /// Round label.
        round: String,
    },
    /// Not imported.
    Rejected {
        /// Why, in one line.
        reason: String,
    },
}

/// One file's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileOutcome {
    /// The file.
    pub path: PathBuf,
    /// What happened.
    #[serde(flatten)]
    pub status: FileStatus,
}

/// Totals of an import.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Files looked at.
    pub files: usize,
    /// Joined a round.
    pub imported: usize,
    /// Already there.
    pub unchanged: usize,
    /// Not imported.
    pub rejected: usize,
}

/// The files to import: each named file, and the `.json` files under each
/// named directory (recursively), in path order. A named path that does not
/// exist, or a directory that cannot be read, is an error: the user named it.
pub fn expand(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?
            .map(|entry| entry.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, out)?;
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for path in paths {
        let metadata = std::fs::metadata(path)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        if metadata.is_dir() {
            walk(path, &mut out)?;
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

/// Why `text` is not an assessment, in one line, when it is some other
/// JSON document (an evidence or answers file) rather than a broken one.
fn foreign(text: &str) -> Option<&'static str> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let object = value.as_object()?;
    if object.contains_key("scoring_method") {
        return None;
    }
    Some(
        if object.contains_key("runs") && object.contains_key("assets") {
            "an evidence document (i4gauge discover), not an assessment; run i4gauge assess first"
        } else if object.contains_key("answers") && object.contains_key("enterprise") {
            "an answers file, not an assessment; run i4gauge assess first"
        } else {
            "not an i4gauge assessment (no scoring_method)"
        },
    )
}

/// Parses an assessment: the fast path first; on failure, the slow one that
/// says what is wrong and where.
fn parse(text: &str, path: &Path) -> Result<Assessment, String> {
    if let Ok(assessment) = serde_json::from_str::<Assessment>(text) {
        let major = |v: &str| v.split('.').next().map(str::to_owned);
        if major(&assessment.schema_version) == major(crate::assess::SCHEMA_VERSION) {
            return Ok(assessment);
        }
    }
    if text.trim().is_empty() {
        return Err("empty file".to_owned());
    }
    if let Err(error) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
        return Err(match error.classify() {
            serde_json::error::Category::Eof => format!(
                "the JSON ends early at line {} column {} (truncated?)",
                error.line(),
                error.column()
            ),
            _ => format!("not valid JSON: {error}"),
        });
    }
    if let Some(reason) = foreign(text) {
        return Err(reason.to_owned());
    }
    let origin = path.display().to_string();
    match Assessment::from_json(text, &origin) {
        Ok(assessment) => Ok(assessment),
        Err(e) => {
            let message = format!("{e:#}");
            Err(message
                .strip_prefix(&origin)
                .map_or(message.clone(), |rest| {
                    rest.trim_start_matches(':').trim().to_owned()
                }))
        }
    }
}

/// Reads and checks one file.
fn prepare(
    path: &Path,
    round: Option<&str>,
    questionnaire: &Questionnaire,
) -> Result<SurveyItem, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| "not a text file (not UTF-8): not an assessment".to_owned())?;
    let assessment = parse(&text, path)?;
    if let Some(reason) = incompatibility(&assessment, questionnaire) {
        return Err(reason);
    }
    let round = match round {
        Some(label) => label.to_owned(),
        None => round_of(&assessment),
    };
    Ok(SurveyItem {
        round,
        member: Member::of(&assessment).to_json(),
        prepared: Prepared::with_text(&assessment, &text),
        source: path.display().to_string(),
    })
}

/// Checked files waiting to be written, with their positions in the file list.
#[derive(Default)]
struct Batch {
    indices: Vec<usize>,
    items: Vec<SurveyItem>,
}

/// The round of an assessment when none is named: the year of its date, else [`UNDATED`].
pub fn round_of(assessment: &Assessment) -> String {
    assessment
        .enterprise
        .date
        .as_deref()
        .and_then(|d| d.get(..4))
        .filter(|y| y.chars().all(|c| c.is_ascii_digit()))
        .map_or(UNDATED.to_owned(), str::to_owned)
}

/// Imports `files` into `store`: into `round` when given, else each into the
/// year of its date. `progress` is called with the files done so far.
/// Returns every file's outcome, in the order of `files`.
pub fn import(
    store: &mut Store,
    files: &[PathBuf],
    round: Option<&str>,
    questionnaire: &Questionnaire,
    progress: &mut dyn FnMut(usize),
) -> Result<(Vec<FileOutcome>, Summary), HistoryError> {
    import_batched(store, files, round, questionnaire, BATCH, progress)
}

/// [`import`] with `batch` assessments per transaction (tests of interruption
/// use small ones).
pub fn import_batched(
    store: &mut Store,
    files: &[PathBuf],
    round: Option<&str>,
    questionnaire: &Questionnaire,
    batch_size: usize,
    progress: &mut dyn FnMut(usize),
) -> Result<(Vec<FileOutcome>, Summary), HistoryError> {
    let batch_size = batch_size.max(1);
    store.set_bulk(true)?;
    let result = import_in_bulk(store, files, round, questionnaire, batch_size, progress);
    store.set_bulk(false)?;
    result
}

fn import_in_bulk(
    store: &mut Store,
    files: &[PathBuf],
    round: Option<&str>,
    questionnaire: &Questionnaire,
    batch_size: usize,
    progress: &mut dyn FnMut(usize),
) -> Result<(Vec<FileOutcome>, Summary), HistoryError> {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let next = AtomicUsize::new(0);
    let mut outcomes: Vec<Option<FileStatus>> = vec![None; files.len()];
    let mut result = Ok(());
    std::thread::scope(|scope| {
        let (sender, receiver) =
            mpsc::sync_channel::<(usize, Result<SurveyItem, String>)>(batch_size);
        for _ in 0..workers {
            let sender = sender.clone();
            let next = &next;
            let worker = std::thread::Builder::new().name("survey-check".to_owned());
            worker
                .spawn_scoped(scope, move || {
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(path) = files.get(index) else {
                            return;
                        };
                        if sender
                            .send((index, prepare(path, round, questionnaire)))
                            .is_err()
                        {
                            return;
                        }
                    }
                })
                .expect("a worker thread starts");
        }
        drop(sender);
        let mut batch = Batch::default();
        let mut done = 0;
        let mut flush = |batch: &mut Batch,
                         outcomes: &mut Vec<Option<FileStatus>>|
         -> Result<(), HistoryError> {
            let written = store.survey_import(&batch.items)?;
            for ((index, item), w) in batch
                .indices
                .drain(..)
                .zip(batch.items.drain(..))
                .zip(written)
            {
                outcomes[index] = Some(if w.new_member {
                    FileStatus::Imported {
                        round: item.round,
                        new_assessment: w.new_assessment,
                    }
                } else {
                    FileStatus::Unchanged { round: item.round }
                });
            }
            Ok(())
        };
        for (index, prepared) in receiver.iter() {
            match prepared {
                Ok(item) => {
                    batch.indices.push(index);
                    batch.items.push(item);
                }
                Err(reason) => outcomes[index] = Some(FileStatus::Rejected { reason }),
            }
            done += 1;
            if batch.items.len() >= batch_size {
                if let Err(error) = flush(&mut batch, &mut outcomes) {
                    result = Err(error);
                    // Stop the workers: dropping the receiver makes their sends fail.
                    return;
                }
                progress(done);
            } else if done % 100 == 0 {
                progress(done);
            }
        }
        if !batch.items.is_empty() {
            result = flush(&mut batch, &mut outcomes);
        }
        progress(done);
    });
    result?;
    let mut summary = Summary {
        files: files.len(),
        ..Summary::default()
    };
    let outcomes: Vec<FileOutcome> = files
        .iter()
        .zip(outcomes)
        .map(|(path, status)| {
            let status = status.expect("every file has an outcome");
            match &status {
                FileStatus::Imported { .. } => summary.imported += 1,
                FileStatus::Unchanged { .. } => summary.unchanged += 1,
                FileStatus::Rejected { .. } => summary.rejected += 1,
            }
            FileOutcome {
                path: path.clone(),
                status,
            }
        })
        .collect();
    Ok((outcomes, summary))
}
