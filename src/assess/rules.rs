//! Evidence rules: conditions on facts that cap or floor a dimension's
//! verified score. Floors raise, then caps lower: when both fire, the cap wins
//! (a weakness the network shows is not outweighed by a strength).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::DimensionResult;
use crate::evidence::facts::Facts;
use crate::questionnaire::{Effect, Questionnaire};
use crate::scale::{Gap, Score};

/// Whether and why a rule fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleOutcome {
    /// Every condition held.
    Fired,
    /// Evaluated; some condition did not hold.
    NotFired,
    /// Reasons from absence, and the scope is not complete.
    SkippedScope,
    /// No evidence was given.
    NoEvidence,
}

/// One rule in the rule log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleResult {
    /// Rule id.
    pub id: String,
    /// Dimension acted on.
    pub dimension: String,
    /// Cap or floor.
    pub effect: Effect,
    /// Its level.
    pub level: Score,
    /// Outcome.
    pub outcome: RuleOutcome,
    /// The facts its conditions read, with their values (empty without evidence).
    pub inputs: BTreeMap<String, u64>,
    /// Its conditions as written.
    pub conditions: Vec<String>,
    /// It fired and moved the verified score.
    pub decisive: bool,
}

/// Which way a declaration and the evidence disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// Declared above what the evidence allows (a cap below the declared score).
    OverDeclared,
    /// Declared below what the evidence shows (a floor above the declared score).
    UnderDeclared,
}

/// A declaration the evidence contradicts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contradiction {
    /// Dimension.
    pub dimension: String,
    /// The rule.
    pub rule: String,
    /// Direction.
    pub direction: Direction,
    /// Declared score.
    pub declared: Score,
    /// The rule's cap or floor.
    pub evidence_level: Score,
    /// `declared - evidence_level`.
    pub gap: Gap,
}

/// Evaluates every rule of `questionnaire` on `facts`.
pub(super) fn evaluate(
    questionnaire: &Questionnaire,
    facts: &Facts,
    have_evidence: bool,
    scope_complete: bool,
) -> Vec<RuleResult> {
    questionnaire
        .rules
        .iter()
        .map(|rule| {
            let outcome = if !have_evidence {
                RuleOutcome::NoEvidence
            } else if rule.requires_complete_scope && !scope_complete {
                RuleOutcome::SkippedScope
            } else if rule.conditions.iter().all(|c| {
                c.op.holds(facts.get(&c.fact).copied().unwrap_or(0), c.value)
            }) {
                RuleOutcome::Fired
            } else {
                RuleOutcome::NotFired
            };
            RuleResult {
                id: rule.id.clone(),
                dimension: rule.dimension.clone(),
                effect: rule.effect,
                level: rule.level,
                outcome,
                inputs: if have_evidence {
                    rule.conditions
                        .iter()
                        .map(|c| (c.fact.clone(), facts.get(&c.fact).copied().unwrap_or(0)))
                        .collect()
                } else {
                    BTreeMap::new()
                },
                conditions: rule.conditions.iter().map(ToString::to_string).collect(),
                decisive: false,
            }
        })
        .collect()
}

/// Applies fired rules to the dimensions' verified scores; returns the
/// contradictions in rule order.
pub(super) fn apply(
    results: &mut [RuleResult],
    dimensions: &mut [DimensionResult],
) -> Vec<Contradiction> {
    let mut contradictions = Vec::new();
    for dimension in dimensions.iter_mut() {
        let mine = |r: &&mut RuleResult| r.dimension == dimension.id;
        dimension.evidence_backed = results
            .iter_mut()
            .filter(mine)
            .any(|r| matches!(r.outcome, RuleOutcome::Fired | RuleOutcome::NotFired));
        dimension.fired_rules = results
            .iter_mut()
            .filter(mine)
            .filter(|r| r.outcome == RuleOutcome::Fired)
            .map(|r| r.id.clone())
            .collect();
        let Some(declared) = dimension.declared else {
            continue;
        };
        let id = dimension.id.clone();
        let id = &id;
        let fired = |effect| {
            results
                .iter()
                .filter(move |r| {
                    r.dimension == *id && r.outcome == RuleOutcome::Fired && r.effect == effect
                })
                .map(|r| r.level)
        };
        let floor = fired(Effect::Floor).max();
        let cap = fired(Effect::Cap).min();
        let raised = floor.map_or(declared, |floor| declared.max(floor));
        let verified = cap.map_or(raised, |cap| raised.min(cap));
        dimension.verified = Some(verified);
        dimension.gap = Some(Gap::between(declared, verified));
        dimension.band = Some(verified.band());
        for result in results
            .iter_mut()
            .filter(|r| r.dimension == dimension.id && r.outcome == RuleOutcome::Fired)
        {
            let direction = match result.effect {
                Effect::Cap if result.level < declared => Direction::OverDeclared,
                Effect::Floor if result.level > declared => Direction::UnderDeclared,
                _ => continue,
            };
            // Decisive: this rule's level is where the verified score ended up.
            result.decisive = result.level == verified;
            contradictions.push(Contradiction {
                dimension: dimension.id.clone(),
                rule: result.id.clone(),
                direction,
                declared,
                evidence_level: result.level,
                gap: Gap::between(declared, result.level),
            });
        }
    }
    let order: Vec<String> = results.iter().map(|r| r.id.clone()).collect();
    contradictions.sort_by_key(|c| order.iter().position(|id| *id == c.rule));
    contradictions
}
