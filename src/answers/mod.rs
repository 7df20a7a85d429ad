//! Answers: what an enterprise says, question by question, with its profile.
//! Schema `1.0`, documented in `docs/answers.md`; TOML or JSON (by extension),
//! validated against a questionnaire with file, line, column and field path.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::questionnaire::{DONT_KNOW, Questionnaire};
use crate::source::{Problem, Problems, parse_toml};

/// The version this i4gauge writes; documents of another major are refused.
pub const SCHEMA_VERSION: &str = "1.0";

/// An answers document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answers {
    /// `"MAJOR.MINOR"`.
    pub schema_version: String,
    /// The questionnaire these answers belong to.
    pub questionnaire: QuestionnaireRef,
    /// Who is assessed, by whom, and how far the scan reached.
    pub enterprise: Enterprise,
    /// One entry per answered question, in questionnaire order when written by
    /// i4gauge; a question without an entry is "not answered".
    #[serde(rename = "answer", default)]
    pub answers: Vec<Answer>,
}

/// Questionnaire id and version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionnaireRef {
    /// Id, e.g. `i4gauge-core`.
    pub id: String,
    /// Version, e.g. `1.0.0`.
    pub version: String,
}

/// The enterprise profile.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enterprise {
    /// Legal or common name.
    pub name: String,
    /// Business identification number (Kazakhstan's БСН/БИН: 12 digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bin: Option<String>,
    /// Sector code (ОКЭД/NACE, e.g. `C25.6`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sector: Option<String>,
    /// Region (oblast or city of republican significance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Size class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<SizeClass>,
    /// Who did the assessment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assessor: Option<String>,
    /// Date of the interview, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// Whether the discovery scope covered the whole plant network. Evidence
    /// rules that reason from absence ("no PLC found") apply only then.
    #[serde(default)]
    pub scope_complete: bool,
}

/// Enterprise size class (by headcount, as statistics offices use it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SizeClass {
    /// Up to 15 people.
    Micro,
    /// Up to 100.
    Small,
    /// Up to 250.
    Medium,
    /// More than 250.
    Large,
}

/// One answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    /// Question id.
    pub question: String,
    /// An option id of the question, or `dont_know`.
    pub option: String,
    /// What the respondent added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl Answer {
    /// Whether the respondent said they do not know.
    pub fn is_dont_know(&self) -> bool {
        self.option == DONT_KNOW
    }
}

/// Which syntax a file is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// TOML (`.toml`, and anything not `.json`).
    Toml,
    /// JSON (`.json`).
    Json,
}

impl Format {
    /// By file extension.
    pub fn of(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("json") => Format::Json,
            _ => Format::Toml,
        }
    }
}

impl Answers {
    /// Empty answers to `questionnaire` for `enterprise`.
    pub fn new(questionnaire: &Questionnaire, enterprise: Enterprise) -> Answers {
        Answers {
            schema_version: SCHEMA_VERSION.to_owned(),
            questionnaire: QuestionnaireRef {
                id: questionnaire.id.clone(),
                version: questionnaire.version.clone(),
            },
            enterprise,
            answers: Vec::new(),
        }
    }

    /// The answer to `question`, if any.
    pub fn get(&self, question: &str) -> Option<&Answer> {
        self.answers.iter().find(|a| a.question == question)
    }

    /// Sets (or replaces) the answer to a question, keeping questionnaire order.
    pub fn set(&mut self, questionnaire: &Questionnaire, answer: Answer) {
        self.answers.retain(|a| a.question != answer.question);
        self.answers.push(answer);
        let order: Vec<&str> = questionnaire
            .questions()
            .map(|(_, q)| q.id.as_str())
            .collect();
        self.answers.sort_by_key(|a| {
            order
                .iter()
                .position(|id| *id == a.question)
                .unwrap_or(usize::MAX)
        });
    }

    /// Reads and validates a file against `questionnaire`.
    pub fn load(path: &Path, questionnaire: &Questionnaire) -> anyhow::Result<Answers> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| anyhow::anyhow!("{}: {error}", path.display()))?;
        Ok(Answers::parse(
            &text,
            &path.display().to_string(),
            Format::of(path),
            questionnaire,
        )?)
    }

    /// Parses and validates `text`; every problem is located.
    pub fn parse(
        text: &str,
        origin: &str,
        format: Format,
        questionnaire: &Questionnaire,
    ) -> Result<Answers, Problems> {
        let answers: Answers = match format {
            Format::Toml => parse_toml(origin, text).map_err(|p| Problems(vec![p]))?,
            Format::Json => {
                let mut deserializer = serde_json::Deserializer::from_str(text);
                serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
                    let path = error.path().to_string();
                    let inner = error.into_inner();
                    let message = inner.to_string();
                    let message = message
                        .split(" at line ")
                        .next()
                        .unwrap_or(&message)
                        .to_owned();
                    Problems(vec![Problem {
                        origin: origin.to_owned(),
                        line: inner.line(),
                        column: inner.column(),
                        path: if path == "." { String::new() } else { path },
                        message,
                    }])
                })?
            }
        };
        let problems = answers.problems(text, origin, format, questionnaire);
        if problems.is_empty() {
            Ok(answers)
        } else {
            Err(Problems(problems))
        }
    }

    /// What is wrong with these answers for `questionnaire`, located in `text`.
    fn problems(
        &self,
        text: &str,
        origin: &str,
        format: Format,
        questionnaire: &Questionnaire,
    ) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut finder = Finder {
            text,
            format,
            cursor: 0,
        };
        let mut at = |offset: usize, path: String, message: String| {
            problems.push(Problem::at(origin, text, offset, path, message))
        };
        let major = |v: &str| v.split('.').next().map(str::to_owned);
        if major(&self.schema_version) != major(SCHEMA_VERSION) {
            at(
                finder.value("schema_version", &self.schema_version),
                "schema_version".into(),
                format!(
                    "answers schema version {:?} is not one this i4gauge reads ({SCHEMA_VERSION})",
                    self.schema_version
                ),
            );
        }
        if self.questionnaire.id != questionnaire.id {
            at(
                finder.value("id", &self.questionnaire.id),
                "questionnaire.id".into(),
                format!(
                    "these answers are for questionnaire {:?}, not {:?}",
                    self.questionnaire.id, questionnaire.id
                ),
            );
        }
        if self.questionnaire.version != questionnaire.version {
            at(
                finder.value("version", &self.questionnaire.version),
                "questionnaire.version".into(),
                format!(
                    "these answers are for version {} of {:?}; this questionnaire is version {}",
                    self.questionnaire.version, questionnaire.id, questionnaire.version
                ),
            );
        }
        let enterprise = &self.enterprise;
        if enterprise.name.trim().is_empty() {
            at(
                finder.value("name", &enterprise.name),
                "enterprise.name".into(),
                "the enterprise needs a name".into(),
            );
        }
        if let Some(bin) = &enterprise.bin
            && !(bin.len() == 12 && bin.bytes().all(|b| b.is_ascii_digit()))
        {
            at(
                finder.value("bin", bin),
                "enterprise.bin".into(),
                format!("{bin:?} is not a business identification number (12 digits)"),
            );
        }
        if let Some(date) = &enterprise.date
            && chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_err()
        {
            at(
                finder.value("date", date),
                "enterprise.date".into(),
                format!("{date:?} is not a date (YYYY-MM-DD)"),
            );
        }
        let mut seen = std::collections::BTreeSet::new();
        for (index, answer) in self.answers.iter().enumerate() {
            let path = format!("answer[{index}]");
            let offset = finder.value("question", &answer.question);
            let Some((_, question)) = questionnaire.question(&answer.question) else {
                at(
                    offset,
                    format!("{path}.question"),
                    format!("unknown question {:?}", answer.question),
                );
                continue;
            };
            if !seen.insert(answer.question.as_str()) {
                at(
                    offset,
                    format!("{path}.question"),
                    format!("question {:?} is answered twice", answer.question),
                );
            }
            if !answer.is_dont_know() && question.option(&answer.option).is_none() {
                let options: Vec<&str> = question.options.iter().map(|o| o.id.as_str()).collect();
                let offset = finder.value("option", &answer.option);
                at(
                    offset,
                    format!("{path}.option"),
                    format!(
                        "question {:?} has no option {:?} (options: {}, or {DONT_KNOW})",
                        answer.question,
                        answer.option,
                        options.join(", ")
                    ),
                );
            }
        }
        problems
    }

    /// The document as TOML, answers in questionnaire order.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("answers serialize")
    }

    /// The document as pretty JSON.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("answers serialize");
        text.push('\n');
        text
    }

    /// Writes the document atomically in the format of `path`'s extension.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let text = match Format::of(path) {
            Format::Toml => self.to_toml(),
            Format::Json => self.to_json(),
        };
        crate::source::write_atomic(path, text.as_bytes()).map_err(|error| {
            std::io::Error::new(error.kind(), format!("{}: {error}", path.display()))
        })
    }
}

/// Finds where a key's value is written, moving forward through the text so
/// that repeated values (the same option id in many answers) are found in order.
struct Finder<'a> {
    text: &'a str,
    format: Format,
    cursor: usize,
}

impl Finder<'_> {
    fn value(&mut self, key: &str, value: &str) -> usize {
        let quoted = serde_json::to_string(value).expect("string serializes");
        let patterns = match self.format {
            Format::Json => vec![format!("\"{key}\"")],
            Format::Toml => vec![format!("{key} ="), format!("{key}=")],
        };
        let search = |from: usize| {
            patterns
                .iter()
                .filter_map(|p| self.text[from..].find(p.as_str()).map(|i| from + i))
                .min()
                .and_then(|key_at| {
                    self.text[key_at..]
                        .find(&quoted)
                        .map(|i| key_at + i)
                        .or(Some(key_at))
                })
        };
        match search(self.cursor).or_else(|| search(0)) {
            Some(offset) => {
                self.cursor = offset;
                offset
            }
            None => 0,
        }
    }
}

#[cfg(test)]
mod tests;
