//! The roadmap: a target per dimension, the library's actions for each
//! transition up to it, their prerequisites as a petgraph DAG, and a
//! topological order with an impact-over-effort priority cut into phases.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use petgraph::graph::{DiGraph, NodeIndex};
use serde::{Deserialize, Serialize};

use super::{DimensionResult, RuleOutcome, RuleResult};
use crate::questionnaire::{Action, Effect, Questionnaire};
use crate::scale::Score;

/// The roadmap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roadmap {
    /// One per dimension with a verified score below its target.
    pub targets: Vec<Target>,
    /// Actions in execution order: by phase, then topologically, higher priority first.
    pub actions: Vec<PlannedAction>,
}

/// Where a dimension should go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// Dimension.
    pub dimension: String,
    /// Verified score now.
    pub from: Score,
    /// Target level.
    pub to: Score,
    /// `assessor` (set with --target) or `next-band`.
    pub basis: String,
}

/// When an action is planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Phase {
    /// Months 0–6.
    #[serde(rename = "0-6")]
    Now,
    /// Months 6–18.
    #[serde(rename = "6-18")]
    Next,
    /// Months 18–36.
    #[serde(rename = "18-36")]
    Later,
}

impl Phase {
    const ALL: [Phase; 3] = [Phase::Now, Phase::Next, Phase::Later];

    /// The months it spans, e.g. `0–6`.
    pub fn months(self) -> &'static str {
        match self {
            Phase::Now => "0–6",
            Phase::Next => "6–18",
            Phase::Later => "18–36",
        }
    }
}

/// An action placed on the roadmap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedAction {
    /// Action id (texts are in the questionnaire's library).
    pub id: String,
    /// Dimension.
    pub dimension: String,
    /// Transition start.
    pub from: Score,
    /// Transition end.
    pub to: Score,
    /// Phase.
    pub phase: Phase,
    /// `impact × (target − verified) / effort`, in hundredths; prerequisites
    /// inherit the highest priority of what depends on them.
    pub priority: u32,
    /// Prerequisites on this roadmap (those already achieved are left out).
    pub prerequisites: Vec<String>,
    /// Why it is here.
    pub triggered_by: Vec<Trigger>,
}

/// What put an action on the roadmap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", try_from = "RawTrigger")]
pub enum Trigger {
    /// An answer at or below the action's starting level.
    Answer {
        /// Question id.
        question: String,
        /// Level of the chosen option.
        level: Score,
    },
    /// An evidence rule that capped the dimension.
    Rule {
        /// Rule id.
        rule: String,
    },
    /// Another action on the roadmap needs it first.
    PrerequisiteOf {
        /// The dependent action.
        action: String,
    },
}

/// The wire form of a [`Trigger`], read as one flat object: serde buffers
/// every internally tagged enum before reading it, which made triggers the
/// costliest part of reading an assessment (a survey reads thousands).
#[derive(Deserialize)]
struct RawTrigger {
    kind: TriggerKind,
    #[serde(default)]
    question: Option<String>,
    #[serde(default)]
    level: Option<Score>,
    #[serde(default)]
    rule: Option<String>,
    #[serde(default)]
    action: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
enum TriggerKind {
    Answer,
    Rule,
    PrerequisiteOf,
}

impl TryFrom<RawTrigger> for Trigger {
    type Error = String;

    fn try_from(raw: RawTrigger) -> Result<Trigger, String> {
        let missing =
            |field: &str, kind: &str| format!("missing field `{field}` in a `{kind}` trigger");
        match raw.kind {
            TriggerKind::Answer => Ok(Trigger::Answer {
                question: raw.question.ok_or_else(|| missing("question", "answer"))?,
                level: raw.level.ok_or_else(|| missing("level", "answer"))?,
            }),
            TriggerKind::Rule => Ok(Trigger::Rule {
                rule: raw.rule.ok_or_else(|| missing("rule", "rule"))?,
            }),
            TriggerKind::PrerequisiteOf => Ok(Trigger::PrerequisiteOf {
                action: raw
                    .action
                    .ok_or_else(|| missing("action", "prerequisite-of"))?,
            }),
        }
    }
}

fn band_of(dimensions: &[DimensionResult], dimension: &str) -> Option<Score> {
    dimensions
        .iter()
        .find(|d| d.id == dimension)
        .and_then(|d| d.band)
}

/// Plans the roadmap.
pub(super) fn plan(
    questionnaire: &Questionnaire,
    dimensions: &[DimensionResult],
    rules: &[RuleResult],
    explicit: &BTreeMap<String, Score>,
) -> Roadmap {
    // Targets: explicit, or the next band above the verified score.
    let mut targets = Vec::new();
    for dimension in dimensions {
        let Some(verified) = dimension.verified else {
            continue;
        };
        let (to, basis) = match explicit.get(&dimension.id) {
            Some(level) => (*level, "assessor"),
            None => match verified.next_band() {
                Some(next) => (next, "next-band"),
                None => continue,
            },
        };
        if to > verified {
            targets.push(Target {
                dimension: dimension.id.clone(),
                from: verified,
                to,
                basis: basis.to_owned(),
            });
        }
    }

    // Actions for every transition from the current band up to the target.
    let done = |action: &Action| {
        band_of(dimensions, &action.dimension).is_some_and(|band| action.to <= band)
    };
    let mut selected: BTreeMap<&str, (&Action, u32)> = BTreeMap::new();
    for target in &targets {
        let band = target.from.band();
        let gap = u32::from(target.to.hundredths() - target.from.hundredths());
        for action in questionnaire
            .actions
            .iter()
            .filter(|a| a.dimension == target.dimension && a.from >= band && a.to <= target.to)
        {
            let priority = u32::from(action.impact) * gap / u32::from(action.effort);
            selected.insert(action.id.as_str(), (action, priority));
        }
    }
    // Pull in prerequisites not yet achieved, transitively.
    let mut pulled: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut queue: Vec<&str> = selected.keys().copied().collect();
    while let Some(id) = queue.pop() {
        let action = selected[id].0;
        for prerequisite in &action.prerequisites {
            let Some(needed) = questionnaire.action(prerequisite) else {
                continue;
            };
            if done(needed) {
                continue;
            }
            pulled.entry(needed.id.as_str()).or_default().insert(id);
            if !selected.contains_key(needed.id.as_str()) {
                selected.insert(needed.id.as_str(), (needed, 0));
                queue.push(needed.id.as_str());
            }
        }
    }

    // The DAG: prerequisite → dependent, plus lower → higher transition in a dimension.
    let mut graph = DiGraph::<&str, ()>::new();
    let nodes: BTreeMap<&str, NodeIndex> = selected
        .keys()
        .map(|id| (*id, graph.add_node(*id)))
        .collect();
    for (id, (action, _)) in &selected {
        for prerequisite in &action.prerequisites {
            if let Some(&from) = nodes.get(prerequisite.as_str()) {
                graph.update_edge(from, nodes[id], ());
            }
        }
        for (other, (lower, _)) in &selected {
            if lower.dimension == action.dimension && lower.to <= action.from && other != id {
                graph.update_edge(nodes[other], nodes[id], ());
            }
        }
    }
    let order =
        petgraph::algo::toposort(&graph, None).expect("the loader refuses prerequisite cycles");

    // Prerequisites inherit the highest priority of their dependents (reverse topological order).
    let mut priority: BTreeMap<&str, u32> = selected.iter().map(|(id, (_, p))| (*id, *p)).collect();
    for node in order.iter().rev() {
        let inherited = graph
            .neighbors_directed(*node, petgraph::Direction::Outgoing)
            .map(|next| priority[graph[next]])
            .max()
            .unwrap_or(0);
        let own = priority.get_mut(graph[*node]).expect("selected");
        *own = (*own).max(inherited);
    }

    // Phases: quick wins start now, heavy work next; always after prerequisites.
    let mut phase: BTreeMap<&str, usize> = BTreeMap::new();
    for node in &order {
        let action = selected[graph[*node]].0;
        let base = if action.effort <= 3 { 0 } else { 1 };
        let after = graph
            .neighbors_directed(*node, petgraph::Direction::Incoming)
            .map(|previous| phase[graph[previous]] + 1)
            .max()
            .unwrap_or(0);
        phase.insert(graph[*node], base.max(after).min(2));
    }

    // Kahn's algorithm: among ready actions, earliest phase, then highest priority, then id.
    let mut indegree: BTreeMap<NodeIndex, usize> = graph
        .node_indices()
        .map(|n| {
            (
                n,
                graph
                    .neighbors_directed(n, petgraph::Direction::Incoming)
                    .count(),
            )
        })
        .collect();
    let key = |n: NodeIndex| {
        let id = graph[n];
        (Reverse(phase[id]), priority[id], Reverse(id))
    };
    let mut ready: BinaryHeap<_> = indegree
        .iter()
        .filter(|(_, d)| **d == 0)
        .map(|(n, _)| (key(*n), *n))
        .collect();
    let mut sequence = Vec::new();
    while let Some((_, node)) = ready.pop() {
        sequence.push(node);
        for next in graph.neighbors_directed(node, petgraph::Direction::Outgoing) {
            let degree = indegree.get_mut(&next).expect("node");
            *degree -= 1;
            if *degree == 0 {
                ready.push((key(next), next));
            }
        }
    }
    // Phases never go down along the sequence (prerequisites come first, and a
    // ready action in an earlier phase is always taken first), so a stable sort
    // by phase keeps the topological order.
    sequence.sort_by_key(|n| phase[graph[*n]]);

    let capping: Vec<&RuleResult> = rules
        .iter()
        .filter(|r| r.outcome == RuleOutcome::Fired && r.effect == Effect::Cap)
        .collect();
    let actions = sequence
        .into_iter()
        .map(|node| {
            let id = graph[node];
            let action = selected[id].0;
            let mut triggered_by = Vec::new();
            if let Some(dimension) = dimensions.iter().find(|d| d.id == action.dimension) {
                for question in &dimension.questions {
                    if let Some(level) = question.level.filter(|level| *level <= action.from) {
                        triggered_by.push(Trigger::Answer {
                            question: question.id.clone(),
                            level,
                        });
                    }
                }
            }
            for rule in capping
                .iter()
                .filter(|r| r.dimension == action.dimension && r.level <= action.from)
            {
                triggered_by.push(Trigger::Rule {
                    rule: rule.id.clone(),
                });
            }
            for dependent in pulled.get(id).into_iter().flatten() {
                triggered_by.push(Trigger::PrerequisiteOf {
                    action: (*dependent).to_owned(),
                });
            }
            PlannedAction {
                id: id.to_owned(),
                dimension: action.dimension.clone(),
                from: action.from,
                to: action.to,
                phase: Phase::ALL[phase[id]],
                priority: priority[id],
                prerequisites: action
                    .prerequisites
                    .iter()
                    .filter(|p| selected.contains_key(p.as_str()))
                    .cloned()
                    .collect(),
                triggered_by,
            }
        })
        .collect();
    Roadmap { targets, actions }
}
