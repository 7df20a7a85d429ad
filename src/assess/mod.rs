//! Assessment: answers and evidence in, scores, rule log and roadmap out.
//! Everything here is pure (no I/O) and deterministic: identical inputs give a
//! byte-identical [`Assessment`]. The method is documented in
//! `docs/assessment.md`; its version is [`SCORING_METHOD`].

mod roadmap;
mod rules;
mod score;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::answers::{Answers, Enterprise};
use crate::evidence::facts::{self, Facts};
use crate::evidence::{Evidence, ScanStatus};
use crate::questionnaire::Questionnaire;
use crate::scale::{Gap, Score};

pub use roadmap::{Phase, PlannedAction, Roadmap, Target, Trigger};
pub use rules::{Contradiction, Direction, RuleOutcome, RuleResult};

/// Version of the assessment document this i4gauge writes.
pub const SCHEMA_VERSION: &str = "1.0";

/// Version of the scoring method (formulas, rule semantics, roadmap planning).
/// Bumped whenever the same inputs could give a different assessment.
pub const SCORING_METHOD: &str = "1.0";

/// What to assess.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The questionnaire with rules and actions.
    pub questionnaire: &'a Questionnaire,
    /// What the enterprise said.
    pub answers: &'a Answers,
    /// Zero or more evidence documents, merged.
    pub evidence: &'a [Evidence],
    /// Target levels set by the assessor; other dimensions aim at their next band.
    pub targets: &'a BTreeMap<String, Score>,
}

/// Why an assessment cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssessError {
    /// `--target` names a dimension the questionnaire does not have.
    #[error("target for unknown dimension {0:?}")]
    UnknownDimension(String),
    /// `--target` is not a level of the scale.
    #[error("target {1} for {0:?} is not a level of the scale (2.0, 2.5, 3.0, 3.5, 4.0)")]
    InvalidTarget(String, Score),
}

/// The assessment document (schema [`SCHEMA_VERSION`], `docs/assessment.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    /// `"MAJOR.MINOR"`.
    pub schema_version: String,
    /// [`SCORING_METHOD`] at the time of assessment.
    pub scoring_method: String,
    /// i4gauge version.
    pub tool_version: String,
    /// Questionnaire id and version.
    pub questionnaire: crate::answers::QuestionnaireRef,
    /// The enterprise profile from the answers.
    pub enterprise: Enterprise,
    /// What evidence was used.
    pub evidence: EvidenceSummary,
    /// Whether absence-based rules could apply, and why.
    pub scope: ScopeDecision,
    /// Headline figures.
    pub overall: Overall,
    /// Per dimension, in questionnaire order.
    pub dimensions: Vec<DimensionResult>,
    /// Facts computed from the evidence (empty without evidence).
    pub facts: Facts,
    /// Every rule, whether it fired, and with what inputs.
    pub rules: Vec<RuleResult>,
    /// Where declaration and evidence disagree.
    pub contradictions: Vec<Contradiction>,
    /// Targets and actions.
    pub roadmap: Roadmap,
}

/// The evidence an assessment used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceSummary {
    /// Documents merged.
    pub documents: usize,
    /// Scan runs across them, in document order.
    pub runs: Vec<RunSummary>,
    /// Assets across them (an asset in two documents counts once).
    pub assets: u64,
}

/// One scan run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Run id.
    pub id: String,
    /// Site label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// Start, RFC 3339.
    pub started_at: String,
    /// Whether it finished.
    pub complete: bool,
    /// Targets as named.
    pub targets: Vec<String>,
    /// Addresses in scope.
    pub address_count: u64,
    /// Whether the scan's user declared the scope complete.
    pub declared_complete: bool,
}

/// Whether the scan covered the whole plant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeDecision {
    /// Absence-based rules apply.
    pub complete: bool,
    /// Why: `answers`, `evidence`, `not-declared`, `scan-incomplete` or `no-evidence`.
    pub basis: String,
}

/// Headline figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overall {
    /// Weighted mean of the dimensions' declared scores.
    pub declared: Option<Score>,
    /// Weighted mean of the dimensions' verified scores: the headline level.
    pub verified: Option<Score>,
    /// `declared - verified`.
    pub gap: Option<Gap>,
    /// Band of the verified score.
    pub band: Option<Score>,
    /// Percent of the questionnaire answered (weighted), `dont_know` counting as unanswered.
    pub completeness: u8,
    /// Percent of the dimension weight that evidence rules could check.
    pub evidence_coverage: u8,
    /// `completeness × (50 + evidence_coverage / 2) / 100`, in percent.
    pub confidence: u8,
    /// Some question is unanswered or `dont_know`.
    pub incomplete: bool,
}

/// One dimension's scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DimensionResult {
    /// Dimension id.
    pub id: String,
    /// Weight in percent.
    pub weight: u32,
    /// Per question.
    pub questions: Vec<QuestionResult>,
    /// Weighted mean of the answered questions.
    pub mean: Option<Score>,
    /// Lowest answered level.
    pub weakest: Option<Score>,
    /// `min(mean, weakest + 0.5)`: the score from answers alone.
    pub declared: Option<Score>,
    /// After evidence rules.
    pub verified: Option<Score>,
    /// `declared - verified`.
    pub gap: Option<Gap>,
    /// Band of the verified score.
    pub band: Option<Score>,
    /// Some question unanswered or `dont_know`.
    pub incomplete: bool,
    /// Some evidence rule for this dimension could be evaluated.
    pub evidence_backed: bool,
    /// Ids of rules that fired for this dimension.
    pub fired_rules: Vec<String>,
}

/// One question's answer and level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionResult {
    /// Question id.
    pub id: String,
    /// Weight within the dimension.
    pub weight: u32,
    /// `answered`, `dont_know` or `unanswered`.
    pub status: AnswerStatus,
    /// Chosen option id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option: Option<String>,
    /// Its level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Score>,
    /// The respondent's comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// Whether and how a question was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnswerStatus {
    /// An option was chosen.
    Answered,
    /// The respondent did not know.
    DontKnow,
    /// No answer.
    Unanswered,
}

/// Decides whether absence-based rules may apply.
fn scope_decision(answers: &Answers, evidence: &[Evidence], facts: &Facts) -> ScopeDecision {
    if evidence.is_empty() {
        return ScopeDecision::no_evidence();
    }
    let from_evidence = evidence
        .iter()
        .flat_map(|e| &e.runs)
        .any(|run| run.scope.declared_complete);
    ScopeDecision::decide(
        answers.enterprise.scope_complete,
        from_evidence,
        facts.get("scan.incomplete").copied().unwrap_or(0) > 0,
    )
}

impl ScopeDecision {
    fn new(complete: bool, basis: &str) -> ScopeDecision {
        ScopeDecision {
            complete,
            basis: basis.to_owned(),
        }
    }

    /// The decision when there is no evidence.
    pub fn no_evidence() -> ScopeDecision {
        ScopeDecision::new(false, "no-evidence")
    }

    /// The decision when there is evidence: complete when the answers
    /// (`answers_complete`) or some scan run (`runs_declared_complete`) declare
    /// the scope complete and no run was interrupted (`scan_incomplete`).
    pub fn decide(
        answers_complete: bool,
        runs_declared_complete: bool,
        scan_incomplete: bool,
    ) -> ScopeDecision {
        if !(answers_complete || runs_declared_complete) {
            return ScopeDecision::new(false, "not-declared");
        }
        if scan_incomplete {
            return ScopeDecision::new(false, "scan-incomplete");
        }
        ScopeDecision::new(
            true,
            if answers_complete {
                "answers"
            } else {
                "evidence"
            },
        )
    }
}

fn summarize_evidence(evidence: &[Evidence], facts: &Facts) -> EvidenceSummary {
    EvidenceSummary {
        documents: evidence.len(),
        runs: evidence
            .iter()
            .flat_map(|e| &e.runs)
            .map(|run| RunSummary {
                id: run.id.clone(),
                site: run.site.clone(),
                started_at: run
                    .started_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                complete: matches!(run.status, ScanStatus::Complete),
                targets: run.scope.targets.clone(),
                address_count: run.scope.address_count,
                declared_complete: run.scope.declared_complete,
            })
            .collect(),
        assets: facts.get("assets.total").copied().unwrap_or(0),
    }
}

/// Evidence already reduced to facts: for callers without evidence documents
/// (the survey's synthetic populations).
#[derive(Debug, Clone)]
pub struct Observed {
    /// Every fact of [`facts::vocabulary`], zero when nothing was seen.
    pub facts: Facts,
    /// The evidence used.
    pub summary: EvidenceSummary,
    /// Whether absence-based rules apply (see [`ScopeDecision::decide`]).
    pub scope: ScopeDecision,
}

impl Observed {
    /// Reduces evidence documents to facts, summary and scope; `None` without documents.
    fn from_documents(answers: &Answers, evidence: &[Evidence]) -> Option<Observed> {
        if evidence.is_empty() {
            return None;
        }
        let facts = facts::compute(evidence);
        Some(Observed {
            summary: summarize_evidence(evidence, &facts),
            scope: scope_decision(answers, evidence, &facts),
            facts,
        })
    }
}

/// Assesses. Pure and deterministic.
pub fn assess(inputs: Inputs<'_>) -> Result<Assessment, AssessError> {
    let Inputs {
        questionnaire,
        answers,
        evidence,
        targets,
    } = inputs;
    assess_observed(
        questionnaire,
        answers,
        Observed::from_documents(answers, evidence),
        targets,
    )
}

/// Like [`assess`], from facts instead of documents (`None`: no evidence). Pure.
pub fn assess_observed(
    questionnaire: &Questionnaire,
    answers: &Answers,
    observed: Option<Observed>,
    targets: &BTreeMap<String, Score>,
) -> Result<Assessment, AssessError> {
    for (dimension, level) in targets {
        if questionnaire.dimension(dimension).is_none() {
            return Err(AssessError::UnknownDimension(dimension.clone()));
        }
        if !level.is_level() {
            return Err(AssessError::InvalidTarget(dimension.clone(), *level));
        }
    }
    let have_evidence = observed.is_some();
    let Observed {
        facts,
        summary,
        scope,
    } = observed.unwrap_or_else(|| Observed {
        facts: Facts::new(),
        summary: summarize_evidence(&[], &Facts::new()),
        scope: ScopeDecision::no_evidence(),
    });
    let mut dimensions: Vec<DimensionResult> = questionnaire
        .dimensions
        .iter()
        .map(|dimension| score::dimension(dimension, answers))
        .collect();
    let mut rule_results = rules::evaluate(questionnaire, &facts, have_evidence, scope.complete);
    let contradictions = rules::apply(&mut rule_results, &mut dimensions);
    let overall = score::overall(questionnaire, &dimensions);
    let roadmap = roadmap::plan(questionnaire, &dimensions, &rule_results, targets);
    Ok(Assessment {
        schema_version: SCHEMA_VERSION.to_owned(),
        scoring_method: SCORING_METHOD.to_owned(),
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        questionnaire: crate::answers::QuestionnaireRef {
            id: questionnaire.id.clone(),
            version: questionnaire.version.clone(),
        },
        enterprise: answers.enterprise.clone(),
        evidence: summary,
        scope,
        overall,
        dimensions,
        facts,
        rules: rule_results,
        contradictions,
        roadmap,
    })
}

impl Assessment {
    /// Pretty JSON with a final newline: the same assessment gives the same bytes.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("assessment serializes");
        text.push('\n');
        text
    }

    /// Parses a document, refusing another major version; errors carry line,
    /// column and field path.
    pub fn from_json(text: &str, origin: &str) -> anyhow::Result<Assessment> {
        #[derive(Deserialize)]
        struct Version {
            schema_version: String,
        }
        if let Ok(Version { schema_version }) = serde_json::from_str::<Version>(text) {
            let major = |v: &str| v.split('.').next().map(str::to_owned);
            if major(&schema_version) != major(SCHEMA_VERSION) {
                anyhow::bail!(
                    "{origin}: assessment schema version {schema_version} is not one this i4gauge {} reads ({SCHEMA_VERSION})",
                    env!("CARGO_PKG_VERSION")
                );
            }
        }
        let mut deserializer = serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
            let path = error.path().to_string();
            let inner = error.into_inner();
            anyhow::anyhow!(
                "{origin}:{}:{}: not a valid assessment: field `{path}`: {inner}",
                inner.line(),
                inner.column()
            )
        })
    }

    /// The dimension result with `id`.
    pub fn dimension(&self, id: &str) -> Option<&DimensionResult> {
        self.dimensions.iter().find(|d| d.id == id)
    }
}
