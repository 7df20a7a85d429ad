//! The survey: many enterprises' assessments turned into population
//! statistics that never expose a single plant.
//!
//! - [`Member`] is what the survey keeps of one assessment (scores, sector,
//!   region, findings, contradictions, planned actions); the history store
//!   holds it beside the assessment, per round, as opaque JSON.
//! - [`classify`] maps the sector and region an enterprise typed to the codes
//!   of `questionnaires/classifiers.toml`; anything else is `unclassified`.
//! - [`aggregate`] is pure: members in, [`Survey`] statistics out, with the
//!   anonymity rule of [`suppress`] applied (no group of fewer than k
//!   enterprises, and no such group recoverable by subtraction).
//! - [`synth`] generates realistic synthetic populations for tests,
//!   benchmarks and the demo.
//!
//! Method and format: `docs/survey.md`.

pub mod aggregate;
pub mod classify;
pub mod import;
pub mod suppress;
pub mod synth;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

use crate::answers::SizeClass;
use crate::assess::{Assessment, Direction, Phase, RuleOutcome};
use crate::questionnaire::{Effect, Questionnaire};
use crate::scale::Score;

pub use aggregate::{Survey, aggregate};
pub use classify::Classifiers;

/// Version of the member extract stored per round.
pub const MEMBER_VERSION: u32 = 1;

/// The default anonymity threshold: no published group has fewer enterprises.
pub const DEFAULT_K: u32 = 5;

/// What the survey keeps of one assessment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// [`MEMBER_VERSION`].
    pub version: u32,
    /// The store's enterprise id: matches enterprises across rounds; never published.
    #[serde(skip)]
    pub enterprise: i64,
    /// Sector as the enterprise gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sector: Option<String>,
    /// Region as the enterprise gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Size class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<SizeClass>,
    /// Overall declared score.
    pub declared: Option<Score>,
    /// Overall verified score.
    pub verified: Option<Score>,
    /// Confidence in percent.
    pub confidence: u8,
    /// Whether network evidence was used.
    pub has_evidence: bool,
    /// Per dimension, in questionnaire order.
    pub dimensions: Vec<MemberDimension>,
    /// Dimensions where the evidence contradicts an over-declaration.
    pub contradictions: Vec<String>,
    /// Security finding ids the evidence shows (`opcua.anonymous-access`, …).
    pub findings: Vec<String>,
    /// Evidence caps that fired and lowered a verified score.
    pub caps: Vec<String>,
    /// Roadmap action ids planned for the first six months.
    pub first_actions: Vec<String>,
}

/// One dimension of a [`Member`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberDimension {
    /// Dimension id.
    pub id: String,
    /// Declared score.
    pub declared: Option<Score>,
    /// Verified score.
    pub verified: Option<Score>,
}

impl Member {
    /// The extract of `assessment`.
    pub fn of(assessment: &Assessment) -> Member {
        let e = &assessment.enterprise;
        let mut contradictions: Vec<String> = assessment
            .contradictions
            .iter()
            .filter(|c| c.direction == Direction::OverDeclared)
            .map(|c| c.dimension.clone())
            .collect();
        contradictions.sort();
        contradictions.dedup();
        let findings = assessment
            .facts
            .iter()
            .filter(|(_, count)| **count > 0)
            .filter_map(|(name, _)| name.strip_prefix("finding."))
            .map(str::to_owned)
            .collect();
        let caps = assessment
            .rules
            .iter()
            .filter(|r| r.effect == Effect::Cap && r.outcome == RuleOutcome::Fired && r.decisive)
            .map(|r| r.id.clone())
            .collect();
        let first_actions = assessment
            .roadmap
            .actions
            .iter()
            .filter(|a| a.phase == Phase::Now)
            .map(|a| a.id.clone())
            .collect();
        Member {
            version: MEMBER_VERSION,
            enterprise: 0,
            sector: e.sector.clone().filter(|s| !s.trim().is_empty()),
            region: e.region.clone().filter(|s| !s.trim().is_empty()),
            size: e.size,
            declared: assessment.overall.declared,
            verified: assessment.overall.verified,
            confidence: assessment.overall.confidence,
            has_evidence: assessment.evidence.documents > 0,
            dimensions: assessment
                .dimensions
                .iter()
                .map(|d| MemberDimension {
                    id: d.id.clone(),
                    declared: d.declared,
                    verified: d.verified,
                })
                .collect(),
            contradictions,
            findings,
            caps,
            first_actions,
        }
    }

    /// The dimension with the lowest verified score (the first in
    /// questionnaire order on a tie): what holds the enterprise back.
    pub fn weakest(&self) -> Option<&str> {
        self.dimensions
            .iter()
            .filter_map(|d| d.verified.map(|v| (v, d.id.as_str())))
            .min_by_key(|(v, _)| *v)
            .map(|(_, id)| id)
    }

    /// Compact JSON, as stored.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a member serializes")
    }
}

/// Why an assessment cannot join a survey run with `questionnaire`.
pub fn incompatibility(assessment: &Assessment, questionnaire: &Questionnaire) -> Option<String> {
    let theirs = &assessment.questionnaire;
    if theirs.id != questionnaire.id {
        return Some(format!(
            "made with questionnaire {:?}, the survey uses {:?}",
            theirs.id, questionnaire.id
        ));
    }
    let major = |v: &str| v.split('.').next().unwrap_or("").to_owned();
    if major(&theirs.version) != major(&questionnaire.version) {
        return Some(format!(
            "made with questionnaire {} version {}, the survey uses version {} (another major version: its questions differ)",
            theirs.id, theirs.version, questionnaire.version
        ));
    }
    let dims: Vec<&str> = assessment
        .dimensions
        .iter()
        .map(|d| d.id.as_str())
        .collect();
    let ours: Vec<&str> = questionnaire
        .dimensions
        .iter()
        .map(|d| d.id.as_str())
        .collect();
    if dims != ours {
        return Some(format!(
            "its dimensions ({}) are not the questionnaire's ({})",
            dims.join(", "),
            ours.join(", ")
        ));
    }
    None
}

/// Why a round cannot be read back.
#[derive(Debug, thiserror::Error)]
pub enum SurveyError {
    /// The store.
    #[error(transparent)]
    Store(#[from] crate::history::HistoryError),
    /// No such round.
    #[error("no survey round {label:?} in the store (rounds: {known})")]
    NoRound {
        /// The label asked for.
        label: String,
        /// The labels there are.
        known: String,
    },
    /// A stored extract does not parse.
    #[error("survey member of assessment {assessment} is unreadable: {message}")]
    Member {
        /// Assessment id.
        assessment: i64,
        /// Why.
        message: String,
    },
}

/// A round read back from the store: its members and, for the data owner
/// only, who they are.
#[derive(Debug, Clone)]
pub struct LoadedRound {
    /// Label.
    pub label: String,
    /// One per enterprise (its latest assessment in the round).
    pub members: Vec<Member>,
    /// Per member: assessment id, BIN (when keyed by it), name, date.
    pub identities: Vec<Identity>,
    /// Assessments of the round replaced by a later one of the same enterprise.
    pub superseded: u64,
}

/// Who a member is: never part of survey statistics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// Assessment id in the store.
    pub assessment: i64,
    /// BIN, when the enterprise has one.
    pub bin: Option<String>,
    /// Name.
    pub name: String,
    /// Assessment date.
    pub date: Option<String>,
}

/// Reads a round. `label` `None` means the latest round.
pub fn load_round(
    store: &crate::history::Store,
    label: Option<&str>,
) -> Result<(LoadedRound, Option<LoadedRound>), SurveyError> {
    let rounds = store.survey_rounds()?;
    let known = || {
        if rounds.is_empty() {
            "none; import assessments with `i4gauge survey import`".to_owned()
        } else {
            rounds
                .iter()
                .map(|r| r.label.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let position = match label {
        Some(label) => rounds.iter().position(|r| r.label == label),
        None => rounds.len().checked_sub(1),
    }
    .ok_or_else(|| SurveyError::NoRound {
        label: label.unwrap_or("(latest)").to_owned(),
        known: known(),
    })?;
    let read = |label: &str| -> Result<LoadedRound, SurveyError> {
        let stored = store.survey_members(label)?;
        let total = rounds
            .iter()
            .find(|r| r.label == label)
            .map_or(0, |r| r.assessments);
        let mut members = Vec::with_capacity(stored.len());
        let mut identities = Vec::with_capacity(stored.len());
        for s in &stored {
            let mut member: Member =
                serde_json::from_str(&s.member).map_err(|e| SurveyError::Member {
                    assessment: s.assessment,
                    message: e.to_string(),
                })?;
            member.enterprise = s.enterprise_id;
            members.push(member);
            identities.push(Identity {
                assessment: s.assessment,
                bin: (s.key_kind == crate::history::KeyKind::Bin).then(|| s.enterprise.clone()),
                name: s.name.clone(),
                date: s.date.clone(),
            });
        }
        Ok(LoadedRound {
            label: label.to_owned(),
            superseded: total.saturating_sub(members.len() as u64),
            members,
            identities,
        })
    };
    let current = read(&rounds[position].label)?;
    let previous = position
        .checked_sub(1)
        .map(|p| read(&rounds[p].label))
        .transpose()?;
    Ok((current, previous))
}

/// The statistics of a round read back from the store, with the round
/// before it for the trend. Pure.
pub fn of_rounds(
    current: &LoadedRound,
    previous: Option<&LoadedRound>,
    questionnaire: &Questionnaire,
    classifiers: &Classifiers,
    k: u32,
) -> Survey {
    aggregate(aggregate::Inputs {
        current: aggregate::Round {
            label: &current.label,
            members: &current.members,
        },
        previous: previous.map(|p| aggregate::Round {
            label: &p.label,
            members: &p.members,
        }),
        questionnaire,
        classifiers,
        k,
    })
}
