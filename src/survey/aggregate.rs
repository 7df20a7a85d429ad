//! Population statistics of one survey round, with the anonymity rule applied.
//! Pure and deterministic: the same members give the same [`Survey`].

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::Member;
use super::classify::{Classifiers, OTHER};
use super::suppress::{self, Partition};
use crate::answers::{QuestionnaireRef, SizeClass};
use crate::evidence::facts::FINDING_IDS;
use crate::questionnaire::Questionnaire;
use crate::scale::{Gap, Score};

/// Version of the survey statistics document.
pub const SCHEMA_VERSION: &str = "1.0";

/// How many of the most frequent evidence caps and roadmap actions are listed.
pub const TOP: usize = 10;

/// One round's members.
#[derive(Debug, Clone, Copy)]
pub struct Round<'a> {
    /// Round label.
    pub label: &'a str,
    /// One member per enterprise.
    pub members: &'a [Member],
}

/// The survey statistics document (schema [`SCHEMA_VERSION`], `docs/survey.md`).
/// Holds group figures only: no enterprise name, BIN, address or free text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Survey {
    /// `"MAJOR.MINOR"`.
    pub schema_version: String,
    /// The anonymity threshold applied.
    pub k: u32,
    /// Round label.
    pub round: String,
    /// The questionnaire every member was assessed with.
    pub questionnaire: QuestionnaireRef,
    /// False when the round has fewer than k enterprises: nothing else is published.
    pub published: bool,
    /// The whole round.
    pub national: Option<Stats>,
    /// Per dimension, in questionnaire order.
    pub dimensions: Vec<DimensionStats>,
    /// By sector (NACE division), small sectors merged into `other`.
    pub by_sector: Vec<Group>,
    /// By region, small regions merged into `other`.
    pub by_region: Vec<Group>,
    /// By size class, small classes merged into `other`.
    pub by_size: Vec<Group>,
    /// Sector × region over the published groups above.
    pub sector_region: CrossTab,
    /// Security findings among enterprises with network evidence.
    pub findings: Vec<Prevalence>,
    /// How often each dimension is an enterprise's weakest.
    pub holding_back: Vec<Prevalence>,
    /// The evidence caps that most often lowered a declared score.
    pub caps: Vec<Prevalence>,
    /// The roadmap actions most often planned for the first six months.
    pub actions: Vec<Prevalence>,
    /// Change since the previous round, for the enterprises in both.
    pub trend: TrendSection,
    /// What the anonymity rule withheld.
    pub suppression: Suppression,
}

/// Figures of a group of at least k enterprises.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Enterprises.
    pub enterprises: u64,
    /// With an overall verified score.
    pub scored: u64,
    /// Verified bands 2.0, 2.5, 3.0, 3.5, 4.0.
    pub bands: [u64; 5],
    /// Industry 2.x (verified below 3.0), 3.x, 4.0.
    pub levels: [u64; 3],
    /// Mean overall declared score.
    pub mean_declared: Option<Score>,
    /// Mean overall verified score.
    pub mean_verified: Option<Score>,
    /// Median overall verified score.
    pub median_verified: Option<Score>,
    /// Assessed with network evidence.
    pub with_evidence: u64,
    /// Mean declared − verified among those with evidence.
    pub mean_gap: Option<Gap>,
    /// With evidence contradicting an over-declaration.
    pub with_contradiction: u64,
    /// With at least one security finding.
    pub with_finding: u64,
    /// Mean confidence in percent.
    pub mean_confidence: u8,
}

/// A published group of a one-way table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// Classifier code, `unclassified` or `other` (merged small groups).
    pub code: String,
    /// Its figures.
    pub stats: Stats,
}

/// Per-dimension figures of the whole round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DimensionStats {
    /// Dimension id.
    pub id: String,
    /// Enterprises with a verified score for it.
    pub scored: u64,
    /// Verified bands 2.0 … 4.0.
    pub bands: [u64; 5],
    /// Mean declared score.
    pub mean_declared: Option<Score>,
    /// Mean verified score.
    pub mean_verified: Option<Score>,
    /// Enterprises whose declaration the evidence contradicts here.
    pub contradictions: u64,
}

/// A cross-tabulation; `cells[sector][region]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CrossTab {
    /// Row codes.
    pub sectors: Vec<String>,
    /// Column codes.
    pub regions: Vec<String>,
    /// Cells; `None` where suppressed.
    pub cells: Vec<Vec<Option<Cell>>>,
}

/// A published cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// Enterprises (0 is published: an empty cell reveals no one).
    pub enterprises: u64,
    /// Mean verified score.
    pub mean_verified: Option<Score>,
    /// Of them at Industry 2.x.
    pub industry_2: u64,
}

/// How many enterprises something applies to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prevalence {
    /// Finding, dimension, rule or action id.
    pub id: String,
    /// Enterprises; `None` when between 1 and k − 1 (published as "fewer than k").
    pub enterprises: Option<u64>,
    /// The population it is counted in.
    pub base: u64,
    /// `enterprises / base` in percent, one decimal.
    pub percent: Option<f64>,
}

/// The trend section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrendSection {
    /// The previous round, when there is one.
    pub from_round: Option<String>,
    /// The trend, when it may be published.
    pub trend: Option<Trend>,
    /// Why it is not: `no-previous-round`, `panel-below-k`,
    /// `remainder-below-k` (the enterprises in only one round are 1 … k − 1:
    /// the panel's figures would reveal theirs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withheld: Option<String>,
}

/// Change for the enterprises assessed in both rounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trend {
    /// Enterprises scored in both rounds.
    pub panel: u64,
    /// Their mean verified score then.
    pub mean_before: Option<Score>,
    /// And now.
    pub mean_after: Option<Score>,
    /// Industry 2.x / 3.x / 4.0 then.
    pub levels_before: [u64; 3],
    /// And now.
    pub levels_after: [u64; 3],
    /// Moved up at least one band.
    pub improved: u64,
    /// Same band.
    pub unchanged: u64,
    /// Moved down.
    pub declined: u64,
    /// By sector (of the current round), small ones merged into `other`.
    pub by_sector: Vec<GroupTrend>,
}

/// One sector's trend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupTrend {
    /// Sector code or `other`.
    pub code: String,
    /// Enterprises in both rounds.
    pub panel: u64,
    /// Mean verified then.
    pub mean_before: Option<Score>,
    /// Mean verified now.
    pub mean_after: Option<Score>,
    /// Moved up a band.
    pub improved: u64,
    /// Moved down a band.
    pub declined: u64,
}

/// What was withheld.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Suppression {
    /// Sectors merged into `other`.
    pub sectors_merged: u64,
    /// Regions merged into `other`.
    pub regions_merged: u64,
    /// Size classes merged into `other`.
    pub sizes_merged: u64,
    /// Sector × region cells suppressed.
    pub cells_suppressed: u64,
    /// Sectors merged in the trend.
    pub trend_sectors_merged: u64,
    /// Counts published as "fewer than k".
    pub rare_counts: u64,
}

fn mean(values: impl Iterator<Item = i64>) -> Option<i64> {
    let (sum, n) = values.fold((0i64, 0i64), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| (2 * sum + n).div_euclid(2 * n))
}

fn mean_score(values: impl Iterator<Item = Score>) -> Option<Score> {
    mean(values.map(|s| i64::from(s.hundredths()))).map(|h| Score::from_hundredths(h as u16))
}

fn band_index(score: Score) -> usize {
    usize::from((score.band().hundredths() - 200) / 50).min(4)
}

fn level_index(score: Score) -> usize {
    usize::from((score.hundredths() - 200) / 100).min(2)
}

fn percent(count: u64, base: u64) -> Option<f64> {
    (base > 0).then(|| (count as f64 * 1000.0 / base as f64).round() / 10.0)
}

impl Stats {
    /// Figures of `members`.
    pub fn of<'a>(members: impl Iterator<Item = &'a Member> + Clone) -> Stats {
        let mut stats = Stats {
            enterprises: 0,
            scored: 0,
            bands: [0; 5],
            levels: [0; 3],
            mean_declared: mean_score(members.clone().filter_map(|m| m.declared)),
            mean_verified: mean_score(members.clone().filter_map(|m| m.verified)),
            median_verified: None,
            with_evidence: 0,
            mean_gap: mean(members.clone().filter(|m| m.has_evidence).filter_map(|m| {
                Some(i64::from(
                    Gap::between(m.declared?, m.verified?).hundredths(),
                ))
            }))
            .map(|h| Gap::from_hundredths(h as i32)),
            with_contradiction: 0,
            with_finding: 0,
            mean_confidence: mean(members.clone().map(|m| i64::from(m.confidence))).unwrap_or(0)
                as u8,
        };
        let mut verified = Vec::new();
        for m in members {
            stats.enterprises += 1;
            if let Some(v) = m.verified {
                stats.scored += 1;
                stats.bands[band_index(v)] += 1;
                stats.levels[level_index(v)] += 1;
                verified.push(v);
            }
            stats.with_evidence += u64::from(m.has_evidence);
            stats.with_contradiction += u64::from(!m.contradictions.is_empty());
            stats.with_finding += u64::from(m.has_evidence && !m.findings.is_empty());
        }
        verified.sort_unstable();
        stats.median_verified = match verified.len() {
            0 => None,
            n if n % 2 == 1 => Some(verified[n / 2]),
            n => mean_score([verified[n / 2 - 1], verified[n / 2]].into_iter()),
        };
        stats
    }
}

/// What to aggregate.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The round reported on.
    pub current: Round<'a>,
    /// The round before it, for the trend.
    pub previous: Option<Round<'a>>,
    /// The questionnaire of both.
    pub questionnaire: &'a Questionnaire,
    /// Sector and region codes.
    pub classifiers: &'a Classifiers,
    /// The anonymity threshold (at least 2).
    pub k: u32,
}

fn size_code(size: Option<SizeClass>) -> String {
    size.map_or(super::classify::UNCLASSIFIED.to_owned(), |s| {
        serde_json::to_value(s)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    })
}

fn one_way(
    members: &[Member],
    key: impl Fn(&Member) -> String,
    k: usize,
) -> (Vec<Group>, Partition<String>) {
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (index, member) in members.iter().enumerate() {
        groups.entry(key(member)).or_default().push(index);
    }
    let partition = suppress::merge_small(groups, |m| m.len() >= k);
    let mut published: Vec<Group> = partition
        .groups
        .iter()
        .map(|(code, indices)| Group {
            code: code.clone(),
            stats: Stats::of(indices.iter().map(|&i| &members[i])),
        })
        .collect();
    if partition.other_published {
        published.push(Group {
            code: OTHER.to_owned(),
            stats: Stats::of(partition.other.iter().map(|&i| &members[i])),
        });
    }
    (published, partition)
}

/// The group code of every member under a partition (`other` for merged ones).
fn codes_under(partition: &Partition<String>, len: usize) -> Vec<Option<String>> {
    let mut codes = vec![None; len];
    for (code, indices) in &partition.groups {
        for &i in indices {
            codes[i] = Some(code.clone());
        }
    }
    if partition.other_published {
        for &i in &partition.other {
            codes[i] = Some(OTHER.to_owned());
        }
    }
    codes
}

/// Counts of `ids`. A count between 1 and k − 1 is withheld ("fewer than
/// k"). When the counts partition `base` (every enterprise counted once, as
/// for the weakest dimension), the withheld counts together must also be 0
/// or at least k, else base minus the published ones would reveal them: the
/// smallest published counts are withheld too until they are.
fn prevalence(
    ids: impl Iterator<Item = String>,
    count: impl Fn(&str) -> u64,
    base: u64,
    k: u64,
    partition: bool,
    rare: &mut u64,
) -> Vec<Prevalence> {
    let mut counted: Vec<(String, u64, bool)> = ids
        .map(|id| {
            let n = count(&id);
            (id, n, n > 0 && n < k)
        })
        .collect();
    if partition {
        loop {
            let hidden: u64 = counted.iter().filter(|c| c.2).map(|c| c.1).sum();
            if hidden == 0 || hidden >= k {
                break;
            }
            let next = counted
                .iter_mut()
                .filter(|c| !c.2 && c.1 > 0)
                .min_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)));
            match next {
                Some(c) => c.2 = true,
                None => break,
            }
        }
    }
    let mut list: Vec<Prevalence> = counted
        .into_iter()
        .map(|(id, n, hidden)| {
            *rare += u64::from(hidden);
            Prevalence {
                enterprises: (!hidden).then_some(n),
                percent: if hidden { None } else { percent(n, base) },
                base,
                id,
            }
        })
        .collect();
    list.sort_by(|a, b| {
        b.enterprises
            .unwrap_or(0)
            .cmp(&a.enterprises.unwrap_or(0))
            .then_with(|| a.id.cmp(&b.id))
    });
    list
}

/// Aggregates a round. Pure.
pub fn aggregate(inputs: Inputs<'_>) -> Survey {
    let Inputs {
        current,
        previous,
        questionnaire,
        classifiers,
        k,
    } = inputs;
    let members = current.members;
    let kk = k as usize;
    let mut survey = Survey {
        schema_version: SCHEMA_VERSION.to_owned(),
        k,
        round: current.label.to_owned(),
        questionnaire: QuestionnaireRef {
            id: questionnaire.id.clone(),
            version: questionnaire.version.clone(),
        },
        published: members.len() >= kk,
        national: None,
        dimensions: Vec::new(),
        by_sector: Vec::new(),
        by_region: Vec::new(),
        by_size: Vec::new(),
        sector_region: CrossTab::default(),
        findings: Vec::new(),
        holding_back: Vec::new(),
        caps: Vec::new(),
        actions: Vec::new(),
        trend: TrendSection {
            from_round: previous.map(|p| p.label.to_owned()),
            trend: None,
            withheld: Some("below-k".to_owned()),
        },
        suppression: Suppression::default(),
    };
    if !survey.published {
        return survey;
    }
    survey.national = Some(Stats::of(members.iter()));

    // Per dimension.
    let mut weakest: HashMap<&str, u64> = HashMap::new();
    for m in members {
        if let Some(d) = m.weakest() {
            *weakest.entry(d).or_default() += 1;
        }
    }
    survey.dimensions = questionnaire
        .dimensions
        .iter()
        .enumerate()
        .map(|(position, dimension)| {
            let of = |m: &'_ Member| {
                m.dimensions
                    .get(position)
                    .filter(|d| d.id == dimension.id)
                    .cloned()
            };
            let scores: Vec<_> = members.iter().filter_map(of).collect();
            let mut bands = [0; 5];
            for v in scores.iter().filter_map(|d| d.verified) {
                bands[band_index(v)] += 1;
            }
            DimensionStats {
                id: dimension.id.clone(),
                scored: scores.iter().filter(|d| d.verified.is_some()).count() as u64,
                bands,
                mean_declared: mean_score(scores.iter().filter_map(|d| d.declared)),
                mean_verified: mean_score(scores.iter().filter_map(|d| d.verified)),
                contradictions: members
                    .iter()
                    .filter(|m| m.contradictions.contains(&dimension.id))
                    .count() as u64,
            }
        })
        .collect();

    // One-way tables and the cross-tabulation.
    let sector_of = |m: &Member| classifiers.sector(m.sector.as_deref()).to_owned();
    let region_of = |m: &Member| classifiers.region(m.region.as_deref()).to_owned();
    let (by_sector, sectors) = one_way(members, sector_of, kk);
    let (by_region, regions) = one_way(members, region_of, kk);
    let (by_size, sizes) = one_way(members, |m| size_code(m.size), kk);
    survey.suppression.sectors_merged = sectors.merged as u64;
    survey.suppression.regions_merged = regions.merged as u64;
    survey.suppression.sizes_merged = sizes.merged as u64;
    survey.sector_region = cross_tab(members, &sectors, &regions, &by_sector, &by_region, kk);
    survey.suppression.cells_suppressed = survey
        .sector_region
        .cells
        .iter()
        .flatten()
        .filter(|c| c.is_none())
        .count() as u64;
    survey.by_sector = by_sector;
    survey.by_region = by_region;
    survey.by_size = by_size;

    // Prevalence lists.
    let k64 = u64::from(k);
    let national = survey.national.as_ref().expect("set above");
    let mut rare = 0;
    let evidence_base = national.with_evidence;
    let count = |pred: &dyn Fn(&Member) -> bool| members.iter().filter(|m| pred(m)).count() as u64;
    survey.findings = prevalence(
        FINDING_IDS.iter().map(|id| (*id).to_owned()),
        |id| count(&|m| m.has_evidence && m.findings.iter().any(|f| f == id)),
        evidence_base,
        k64,
        false,
        &mut rare,
    );
    survey.holding_back = prevalence(
        questionnaire.dimensions.iter().map(|d| d.id.clone()),
        |id| weakest.get(id).copied().unwrap_or(0),
        national.scored,
        k64,
        true,
        &mut rare,
    );
    let caps: BTreeSet<&String> = members.iter().flat_map(|m| &m.caps).collect();
    survey.caps = prevalence(
        caps.into_iter().cloned(),
        |id| count(&|m| m.caps.iter().any(|c| c == id)),
        evidence_base,
        k64,
        false,
        &mut rare,
    );
    survey.caps.truncate(TOP);
    let mut action_counts: HashMap<&str, u64> = HashMap::new();
    for m in members {
        for a in &m.first_actions {
            *action_counts.entry(a.as_str()).or_default() += 1;
        }
    }
    let action_ids: BTreeSet<&str> = action_counts.keys().copied().collect();
    survey.actions = prevalence(
        action_ids.into_iter().map(str::to_owned),
        |id| action_counts.get(id).copied().unwrap_or(0),
        national.scored,
        k64,
        false,
        &mut rare,
    );
    survey.actions.truncate(TOP);
    survey.suppression.rare_counts = rare;

    // Trend.
    if let Some(previous) = previous {
        let (trend, withheld, merged) = trend(current, previous, classifiers, kk);
        survey.trend.trend = trend;
        survey.trend.withheld = withheld;
        survey.suppression.trend_sectors_merged = merged;
    } else {
        survey.trend.withheld = Some("no-previous-round".to_owned());
    }
    survey
}

fn cross_tab(
    members: &[Member],
    sectors: &Partition<String>,
    regions: &Partition<String>,
    by_sector: &[Group],
    by_region: &[Group],
    k: usize,
) -> CrossTab {
    let row_codes: Vec<String> = by_sector.iter().map(|g| g.code.clone()).collect();
    let column_codes: Vec<String> = by_region.iter().map(|g| g.code.clone()).collect();
    if row_codes.len() < 2 || column_codes.len() < 2 {
        // One row or column repeats the other table: nothing to cross.
        return CrossTab::default();
    }
    let sector_codes = codes_under(sectors, members.len());
    let region_codes = codes_under(regions, members.len());
    let mut cell_members: Vec<Vec<Vec<usize>>> =
        vec![vec![Vec::new(); column_codes.len()]; row_codes.len()];
    for index in 0..members.len() {
        let (Some(s), Some(r)) = (&sector_codes[index], &region_codes[index]) else {
            continue;
        };
        let row = row_codes
            .iter()
            .position(|c| c == s)
            .expect("published sector");
        let column = column_codes
            .iter()
            .position(|c| c == r)
            .expect("published region");
        cell_members[row][column].push(index);
    }
    let counts: Vec<Vec<usize>> = cell_members
        .iter()
        .map(|row| row.iter().map(Vec::len).collect())
        .collect();
    let published = suppress::cross_tab(&counts, k);
    let cells = cell_members
        .iter()
        .enumerate()
        .map(|(r, row)| {
            row.iter()
                .enumerate()
                .map(|(c, indices)| {
                    published[r][c].then(|| {
                        let of = || indices.iter().map(|&i| &members[i]);
                        Cell {
                            enterprises: indices.len() as u64,
                            mean_verified: mean_score(of().filter_map(|m| m.verified)),
                            industry_2: of()
                                .filter(|m| m.verified.is_some_and(|v| level_index(v) == 0))
                                .count() as u64,
                        }
                    })
                })
                .collect()
        })
        .collect();
    CrossTab {
        sectors: row_codes,
        regions: column_codes,
        cells,
    }
}

type TrendResult = (Option<Trend>, Option<String>, u64);

fn trend(
    current: Round<'_>,
    previous: Round<'_>,
    classifiers: &Classifiers,
    k: usize,
) -> TrendResult {
    let before: HashMap<i64, &Member> =
        previous.members.iter().map(|m| (m.enterprise, m)).collect();
    // Panel: scored in both rounds. Pairs are (before, after).
    let pairs: Vec<(&Member, &Member)> = current
        .members
        .iter()
        .filter(|m| m.verified.is_some())
        .filter_map(|m| before.get(&m.enterprise).map(|b| (*b, m)))
        .filter(|(b, _)| b.verified.is_some())
        .collect();
    let remainder_ok = |n: usize| n == 0 || n >= k;
    // Whether a set of panel pairs may be published beside the rounds'
    // cross-sections of the same sectors.
    let sector_now = |m: &Member| classifiers.sector(m.sector.as_deref()).to_owned();
    let passes = |indices: &[usize]| {
        if indices.len() < k {
            return false;
        }
        let sectors: BTreeSet<String> = indices.iter().map(|&i| sector_now(pairs[i].1)).collect();
        let now = current
            .members
            .iter()
            .filter(|m| sectors.contains(&sector_now(m)))
            .count();
        let then = previous
            .members
            .iter()
            .filter(|m| sectors.contains(&sector_now(m)))
            .count();
        let then_in_panel = indices
            .iter()
            .filter(|&&i| sectors.contains(&sector_now(pairs[i].0)))
            .count();
        remainder_ok(now - indices.len()) && remainder_ok(then - then_in_panel)
    };
    if pairs.len() < k {
        return (None, Some("panel-below-k".to_owned()), 0);
    }
    if !remainder_ok(current.members.len() - pairs.len())
        || !remainder_ok(previous.members.len() - pairs.len())
    {
        return (None, Some("remainder-below-k".to_owned()), 0);
    }
    let moved = |indices: &mut dyn Iterator<Item = usize>| {
        let (mut up, mut same, mut down) = (0, 0, 0);
        for i in indices {
            let (b, a) = pairs[i];
            let (b, a) = (
                b.verified.expect("panel").band(),
                a.verified.expect("panel").band(),
            );
            match a.cmp(&b) {
                std::cmp::Ordering::Greater => up += 1,
                std::cmp::Ordering::Equal => same += 1,
                std::cmp::Ordering::Less => down += 1,
            }
        }
        (up, same, down)
    };
    let mean_of = |indices: &[usize], side: usize| {
        mean_score(indices.iter().filter_map(|&i| {
            let (b, a) = pairs[i];
            if side == 0 { b.verified } else { a.verified }
        }))
    };
    let all: Vec<usize> = (0..pairs.len()).collect();
    let (improved, unchanged, declined) = moved(&mut all.iter().copied());
    let mut levels_before = [0; 3];
    let mut levels_after = [0; 3];
    for (b, a) in &pairs {
        levels_before[level_index(b.verified.expect("panel"))] += 1;
        levels_after[level_index(a.verified.expect("panel"))] += 1;
    }
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, (_, a)) in pairs.iter().enumerate() {
        groups.entry(sector_now(a)).or_default().push(i);
    }
    let partition = suppress::merge_small(groups, passes);
    let mut by_sector: Vec<GroupTrend> = partition
        .groups
        .iter()
        .map(|(code, indices)| (code.clone(), indices))
        .chain(
            partition
                .other_published
                .then(|| (OTHER.to_owned(), &partition.other)),
        )
        .map(|(code, indices)| {
            let (up, _, down) = moved(&mut indices.iter().copied());
            GroupTrend {
                code,
                panel: indices.len() as u64,
                mean_before: mean_of(indices, 0),
                mean_after: mean_of(indices, 1),
                improved: up,
                declined: down,
            }
        })
        .collect();
    if by_sector.len() < 2 {
        // One group would only repeat the national panel.
        by_sector.clear();
    }
    let trend = Trend {
        panel: pairs.len() as u64,
        mean_before: mean_of(&all, 0),
        mean_after: mean_of(&all, 1),
        levels_before,
        levels_after,
        improved,
        unchanged,
        declined,
        by_sector,
    };
    (Some(trend), None, partition.merged as u64)
}
