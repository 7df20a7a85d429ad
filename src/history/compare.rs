//! Comparing two stored assessments. Pure: no SQL, no I/O.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{AssetRef, Record};
use crate::scale::{Gap, Score};

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Side {
    /// Id in the store.
    pub id: i64,
    /// Interview date.
    pub date: Option<String>,
    /// Enterprise name.
    pub name: String,
    /// Questionnaire id and version.
    pub questionnaire: String,
}

/// A score before and after.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Change {
    /// In A.
    pub a: Option<Score>,
    /// In B.
    pub b: Option<Score>,
    /// `b - a`, when both exist.
    pub delta: Option<Gap>,
}

impl Change {
    fn of(a: Option<Score>, b: Option<Score>) -> Change {
        Change {
            a,
            b,
            delta: a.zip(b).map(|(a, b)| Gap::between(b, a)),
        }
    }
}

/// A signed gap before and after.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GapChange {
    /// Declared minus verified in A.
    pub a: Option<Gap>,
    /// In B.
    pub b: Option<Gap>,
    /// `b - a` in hundredths: negative when the gap narrowed.
    pub delta: Option<i32>,
}

/// One dimension's change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DimensionChange {
    /// Dimension id.
    pub id: String,
    /// Declared score.
    pub declared: Change,
    /// Verified score.
    pub verified: Change,
    /// Declared-vs-verified gap.
    pub gap: GapChange,
}

/// A count fact before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CountChange {
    /// Fact name (`assets.plc`, `finding.opcua.anonymous-access`, …).
    pub fact: String,
    /// In A.
    pub a: u64,
    /// In B.
    pub b: u64,
}

/// What changed on the network.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssetChanges {
    /// `assets` when both sides were saved with their evidence (asset ids
    /// compared), `facts` otherwise (only `assets.*` counts compared).
    pub basis: String,
    /// Assets in B, not in A (basis `assets`).
    pub appeared: Vec<AssetRef>,
    /// Assets in A, not in B (basis `assets`).
    pub disappeared: Vec<AssetRef>,
    /// `assets.*` counts that changed.
    pub counts: Vec<CountChange>,
}

/// Security findings (`finding.*` facts).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingChanges {
    /// Present in A, gone in B.
    pub resolved: Vec<CountChange>,
    /// Absent in A, present in B.
    pub new: Vec<CountChange>,
    /// Present in both with a different count.
    pub changed: Vec<CountChange>,
}

/// A roadmap action of A that B has reached.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AchievedAction {
    /// Action id.
    pub id: String,
    /// Dimension.
    pub dimension: String,
    /// The level the action leads to.
    pub to: Score,
    /// B's band in that dimension.
    pub band: Score,
}

/// Two assessments compared (A earlier, B later).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// A.
    pub a: Side,
    /// B.
    pub b: Side,
    /// Both used the same questionnaire id and version; otherwise nothing
    /// below is compared.
    pub comparable: bool,
    /// Both are of the same enterprise.
    pub same_enterprise: bool,
    /// Overall scores.
    pub overall: Option<DimensionChange>,
    /// Per dimension, in B's order.
    pub dimensions: Vec<DimensionChange>,
    /// Assets.
    pub assets: Option<AssetChanges>,
    /// Security findings.
    pub findings: Option<FindingChanges>,
    /// Actions on A's roadmap whose target level B has reached.
    pub achieved_actions: Vec<AchievedAction>,
}

fn side(record: &Record) -> Side {
    let a = &record.assessment;
    Side {
        id: record.id,
        date: a.enterprise.date.clone(),
        name: a.enterprise.name.clone(),
        questionnaire: format!("{} {}", a.questionnaire.id, a.questionnaire.version),
    }
}

fn change(
    id: &str,
    declared: (Option<Score>, Option<Score>),
    verified: (Option<Score>, Option<Score>),
) -> DimensionChange {
    let gap = |d: Option<Score>, v: Option<Score>| d.zip(v).map(|(d, v)| Gap::between(d, v));
    let (gap_a, gap_b) = (gap(declared.0, verified.0), gap(declared.1, verified.1));
    DimensionChange {
        id: id.to_owned(),
        declared: Change::of(declared.0, declared.1),
        verified: Change::of(verified.0, verified.1),
        gap: GapChange {
            a: gap_a,
            b: gap_b,
            delta: gap_a
                .zip(gap_b)
                .map(|(a, b)| b.hundredths() - a.hundredths()),
        },
    }
}

fn counts(a: &BTreeMap<String, u64>, b: &BTreeMap<String, u64>, prefix: &str) -> Vec<CountChange> {
    let names: BTreeSet<&String> = a
        .keys()
        .chain(b.keys())
        .filter(|k| k.starts_with(prefix))
        .collect();
    names
        .into_iter()
        .map(|name| CountChange {
            fact: name.clone(),
            a: a.get(name).copied().unwrap_or(0),
            b: b.get(name).copied().unwrap_or(0),
        })
        .filter(|c| c.a != c.b)
        .collect()
}

/// Compares A (earlier) with B (later).
pub fn compare(a: &Record, b: &Record) -> Comparison {
    let (x, y) = (&a.assessment, &b.assessment);
    let comparable = x.questionnaire == y.questionnaire;
    let mut comparison = Comparison {
        a: side(a),
        b: side(b),
        comparable,
        same_enterprise: a.enterprise == b.enterprise,
        overall: None,
        dimensions: Vec::new(),
        assets: None,
        findings: None,
        achieved_actions: Vec::new(),
    };
    if !comparable {
        return comparison;
    }
    comparison.overall = Some(change(
        "overall",
        (x.overall.declared, y.overall.declared),
        (x.overall.verified, y.overall.verified),
    ));
    comparison.dimensions = y
        .dimensions
        .iter()
        .map(|dy| {
            let dx = x.dimension(&dy.id);
            change(
                &dy.id,
                (dx.and_then(|d| d.declared), dy.declared),
                (dx.and_then(|d| d.verified), dy.verified),
            )
        })
        .collect();
    let asset_counts = counts(&x.facts, &y.facts, "assets.");
    comparison.assets = Some(match (&a.assets, &b.assets) {
        (Some(before), Some(after)) => {
            let ids =
                |list: &[AssetRef]| list.iter().map(|a| a.id.clone()).collect::<BTreeSet<_>>();
            let (ids_before, ids_after) = (ids(before), ids(after));
            AssetChanges {
                basis: "assets".to_owned(),
                appeared: after
                    .iter()
                    .filter(|a| !ids_before.contains(&a.id))
                    .cloned()
                    .collect(),
                disappeared: before
                    .iter()
                    .filter(|a| !ids_after.contains(&a.id))
                    .cloned()
                    .collect(),
                counts: asset_counts,
            }
        }
        _ => AssetChanges {
            basis: "facts".to_owned(),
            appeared: Vec::new(),
            disappeared: Vec::new(),
            counts: asset_counts,
        },
    });
    let findings = counts(&x.facts, &y.facts, "finding.");
    comparison.findings = Some(FindingChanges {
        resolved: findings.iter().filter(|c| c.b == 0).cloned().collect(),
        new: findings.iter().filter(|c| c.a == 0).cloned().collect(),
        changed: findings
            .iter()
            .filter(|c| c.a > 0 && c.b > 0)
            .cloned()
            .collect(),
    });
    comparison.achieved_actions = x
        .roadmap
        .actions
        .iter()
        .filter_map(|action| {
            let band = y.dimension(&action.dimension)?.band?;
            (action.to <= band).then(|| AchievedAction {
                id: action.id.clone(),
                dimension: action.dimension.clone(),
                to: action.to,
                band,
            })
        })
        .collect();
    comparison
}
