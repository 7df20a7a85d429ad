//! Aggregation over crafted populations: the anonymity rule holds for every
//! table, trends are withheld where they would reveal a few enterprises, and
//! figures are right.

use proptest::prelude::*;

use super::aggregate::{Inputs, Round, Survey, aggregate};
use super::classify::{Classifiers, OTHER};
use super::{Member, MemberDimension, synth};
use crate::questionnaire::Questionnaire;
use crate::scale::Score;

fn member(enterprise: i64, sector: &str, region: &str, verified: u16) -> Member {
    let score = Score::from_hundredths(verified);
    Member {
        version: super::MEMBER_VERSION,
        enterprise,
        sector: Some(sector.to_owned()),
        region: Some(region.to_owned()),
        size: None,
        declared: Some(score),
        verified: Some(score),
        confidence: 50,
        has_evidence: false,
        dimensions: vec![MemberDimension {
            id: "automation".to_owned(),
            declared: Some(score),
            verified: Some(score),
        }],
        contradictions: Vec::new(),
        findings: Vec::new(),
        caps: Vec::new(),
        first_actions: Vec::new(),
    }
}

fn run(current: &[Member], previous: Option<&[Member]>, k: u32) -> Survey {
    aggregate(Inputs {
        current: Round {
            label: "2026",
            members: current,
        },
        previous: previous.map(|members| Round {
            label: "2025",
            members,
        }),
        questionnaire: &Questionnaire::builtin(),
        classifiers: &Classifiers::builtin(),
        k,
    })
}

/// Checks every published table of `survey` against the anonymity rule.
fn check_anonymity(survey: &Survey, total: usize) {
    let k = u64::from(survey.k);
    if !survey.published {
        assert!(survey.national.is_none() && survey.by_sector.is_empty());
        return;
    }
    for (name, groups) in [
        ("sector", &survey.by_sector),
        ("region", &survey.by_region),
        ("size", &survey.by_size),
    ] {
        let published: u64 = groups.iter().map(|g| g.stats.enterprises).sum();
        for g in groups.iter() {
            assert!(
                g.stats.enterprises >= k,
                "{name} {} has {}",
                g.code,
                g.stats.enterprises
            );
        }
        let rest = total as u64 - published;
        assert!(
            rest == 0 || rest >= k,
            "{name}: national − published = {rest}"
        );
    }
    let x = &survey.sector_region;
    for (r, row) in x.cells.iter().enumerate() {
        let margin = survey
            .by_sector
            .iter()
            .find(|g| g.code == x.sectors[r])
            .unwrap();
        let shown: u64 = row.iter().flatten().map(|c| c.enterprises).sum();
        let hidden = margin.stats.enterprises - shown;
        assert!(
            hidden == 0 || hidden >= k,
            "row {}: {hidden} hidden",
            x.sectors[r]
        );
        for cell in row.iter().flatten() {
            assert!(cell.enterprises == 0 || cell.enterprises >= k);
        }
    }
    for (c, region) in x.regions.iter().enumerate() {
        let margin = survey.by_region.iter().find(|g| &g.code == region).unwrap();
        let shown: u64 = x
            .cells
            .iter()
            .filter_map(|row| row[c].as_ref())
            .map(|c| c.enterprises)
            .sum();
        let hidden = margin.stats.enterprises - shown;
        assert!(
            hidden == 0 || hidden >= k,
            "column {region}: {hidden} hidden"
        );
    }
    // The weakest dimensions partition the scored enterprises: what is
    // withheld must not be recoverable from the total either.
    let scored = survey.national.as_ref().unwrap().scored;
    let shown: u64 = survey
        .holding_back
        .iter()
        .filter_map(|p| p.enterprises)
        .sum();
    let hidden = scored - shown;
    assert!(
        hidden == 0 || hidden >= k,
        "holding back: {hidden} withheld"
    );
    for p in survey
        .findings
        .iter()
        .chain(&survey.caps)
        .chain(&survey.actions)
        .chain(&survey.holding_back)
    {
        if let Some(n) = p.enterprises {
            assert!(n == 0 || n >= k, "{}: {n}", p.id);
        }
    }
}

#[test]
fn a_small_region_is_merged_and_cannot_be_recovered() {
    let mut population = Vec::new();
    let mut id = 0;
    let mut add = |n: usize, sector: &str, region: &str, verified: u16| {
        for _ in 0..n {
            id += 1;
            population.push(member(id, sector, region, verified));
        }
    };
    add(20, "C24.1", "Karaganda region", 300);
    add(12, "C10.1", "Pavlodar region", 250);
    add(3, "C24.1", "Ulytau region", 400); // three plants: never published alone
    let survey = run(&population, None, 5);
    check_anonymity(&survey, population.len());
    let regions: Vec<&str> = survey.by_region.iter().map(|g| g.code.as_str()).collect();
    assert!(!regions.contains(&"ulytau"), "{regions:?}");
    // Ulytau's 3 alone would be national − Karaganda − Pavlodar: so a second
    // region joins it in "other".
    assert!(regions.contains(&OTHER), "{regions:?}");
    assert!(regions.len() <= 2, "{regions:?}");
    let national = survey.national.as_ref().unwrap();
    assert_eq!(national.enterprises, 35);
    assert_eq!(national.bands, [0, 12, 20, 0, 3]);
    assert_eq!(national.levels, [12, 20, 3]);
}

#[test]
fn below_k_nothing_is_published() {
    let population: Vec<Member> = (0..4).map(|i| member(i, "C24", "Astana", 300)).collect();
    let survey = run(&population, None, 5);
    assert!(!survey.published);
    assert!(survey.national.is_none());
    let json = serde_json::to_string(&survey).unwrap();
    assert!(!json.contains("astana"), "{json}");
}

#[test]
fn a_trend_that_would_reveal_the_newcomers_is_withheld() {
    let before: Vec<Member> = (0..30).map(|i| member(i, "C24", "Astana", 250)).collect();
    // The same 30 plus 2 newcomers: their mean would be (now·32 − panel·30) / 2.
    let mut after: Vec<Member> = (0..32).map(|i| member(i, "C24", "Astana", 300)).collect();
    let survey = run(&after, Some(&before), 5);
    assert!(survey.trend.trend.is_none());
    assert_eq!(survey.trend.withheld.as_deref(), Some("remainder-below-k"));
    // With 6 newcomers the remainder is a group of its own: published.
    after.extend((32..36).map(|i| member(i, "C24", "Astana", 300)));
    let survey = run(&after, Some(&before), 5);
    let trend = survey.trend.trend.expect("published");
    assert_eq!(trend.panel, 30);
    assert_eq!(trend.mean_before, Some(Score::from_hundredths(250)));
    assert_eq!(trend.mean_after, Some(Score::from_hundredths(300)));
    assert_eq!(
        (trend.improved, trend.unchanged, trend.declined),
        (30, 0, 0)
    );
    // Too small a panel.
    let survey = run(&after, Some(&before[..3]), 5);
    assert_eq!(survey.trend.withheld.as_deref(), Some("panel-below-k"));
    let survey = run(&after, None, 5);
    assert_eq!(survey.trend.withheld.as_deref(), Some("no-previous-round"));
}

#[test]
fn synthetic_populations_keep_the_rule_for_every_k() {
    let questionnaire = Questionnaire::builtin();
    let generated = synth::population(
        &questionnaire,
        &synth::Spec {
            enterprises: 400,
            rounds: 2,
            first_year: 2025,
            seed: 11,
        },
    );
    let round = |label: &str| -> Vec<Member> {
        generated
            .iter()
            .filter(|g| g.round == label)
            .map(|g| {
                let mut m = Member::of(&g.assessment);
                m.enterprise = g
                    .assessment
                    .enterprise
                    .bin
                    .as_deref()
                    .unwrap()
                    .parse()
                    .unwrap();
                m
            })
            .collect()
    };
    let (before, after) = (round("2025"), round("2026"));
    assert!(!before.is_empty() && !after.is_empty());
    for k in [2, 3, 5, 10, 25, 60] {
        let survey = run(&after, Some(&before), k);
        check_anonymity(&survey, after.len());
        if let Some(trend) = &survey.trend.trend {
            assert!(trend.panel >= u64::from(k));
            for g in &trend.by_sector {
                assert!(g.panel >= u64::from(k), "trend {} {}", g.code, g.panel);
            }
        }
        // Nothing identifying is in the document.
        let json = serde_json::to_string(&survey).unwrap();
        for g in generated.iter().take(50) {
            assert!(!json.contains(g.assessment.enterprise.bin.as_deref().unwrap()));
            assert!(!json.contains(&g.assessment.enterprise.name));
        }
    }
    // Deterministic.
    assert_eq!(run(&after, Some(&before), 5), run(&after, Some(&before), 5));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn the_rule_holds_on_random_populations(
        cells in proptest::collection::vec((0usize..6, 0usize..5, 0u16..5), 0..120),
        k in 2u32..8,
    ) {
        const SECTORS: [&str; 6] = ["C24.1", "C10.1", "B06.1", "D35.1", "C28", "металлургия"];
        const REGIONS: [&str; 5] = ["Astana", "Almaty", "Pavlodar region", "Ulytau region", "nowhere"];
        let population: Vec<Member> = cells
            .iter()
            .enumerate()
            .map(|(i, &(s, r, level))| member(i as i64, SECTORS[s], REGIONS[r], 200 + 50 * level))
            .collect();
        let survey = run(&population, None, k);
        check_anonymity(&survey, population.len());
    }
}

#[test]
fn a_withheld_weakest_dimension_is_not_the_total_minus_the_rest() {
    // 30 enterprises weakest in automation, 3 in cybersecurity: hiding the 3
    // alone would leave 33 − 30 = 3 for anyone to compute.
    let population: Vec<Member> = (0..33)
        .map(|i| {
            let mut m = member(i, "C24", "Astana", 300);
            let weak = if i < 3 { "cybersecurity" } else { "automation" };
            m.dimensions = ["automation", "cybersecurity"]
                .iter()
                .map(|id| MemberDimension {
                    id: (*id).to_owned(),
                    declared: Some(Score::from_hundredths(300)),
                    verified: Some(Score::from_hundredths(if *id == weak { 250 } else { 300 })),
                })
                .collect();
            m
        })
        .collect();
    let survey = run(&population, None, 5);
    check_anonymity(&survey, population.len());
    let shown: Vec<_> = survey
        .holding_back
        .iter()
        .filter(|p| p.enterprises.is_some_and(|n| n > 0))
        .collect();
    assert!(shown.is_empty(), "{shown:?}");
}
