//! Synthetic assessment populations: realistic, reproducible and clearly
//! fictional, for tests, benchmarks and demos of the survey dashboard.
//!
//! Every generated assessment is a real [`Assessment`] made by
//! [`crate::assess::assess_observed`] from generated answers and, for most
//! enterprises, generated evidence facts; only the inputs are invented.
//!
//! # Reproducibility
//!
//! Randomness comes from [`ChaCha8Rng`] (portable and value-stable across
//! platforms): the key is `ChaCha8Rng::seed_from_u64(seed)`, and each
//! enterprise draws from its own ChaCha stream, numbered from (enterprise
//! index, round, purpose). Changing the number of enterprises therefore does
//! not reshuffle the others: enterprise 41 of a 1,000-enterprise population is
//! enterprise 41 of a 500-enterprise one. Normal variates are Irwin–Hall sums
//! of uniforms and integer ranges are `u32`/`u64`, so no platform-dependent
//! `libm` or `usize` arithmetic enters the numbers. The same [`Spec`] gives the
//! same assessments, byte for byte.
//!
//! # Who the enterprises are
//!
//! - Name `Synthetic Enterprise 00042` and BIN `99` followed by the index in
//!   ten digits (`990000000042`): a real BIN starts with the registration
//!   year and month, and month `00` does not exist, so a synthetic BIN (index
//!   below 10⁸) never collides with a real one.
//! - Sector: an OKED group code (`C24.2`) drawn by division with weights
//!   resembling the manufacturing census: food (C10) and beverages (C11) most
//!   common, then non-metallic minerals (C23), fabricated metal (C25), basic
//!   metals (C24), quarrying (B08), electricity (D35), oil and gas (B06),
//!   plastics (C22), chemicals (C20), machinery (C28), repair (C33), mining
//!   (B07), water (E36), textiles and clothing (C13, C14) and a long tail of
//!   other C divisions. 2% leave the sector empty and 1% type a word instead
//!   of a code (`металлургия`).
//! - Region: one of the 17 regions or the cities Astana, Almaty and Shymkent,
//!   weighted by industrial weight (Karaganda, Almaty city, Pavlodar, East
//!   Kazakhstan, Astana, Aktobe, Atyrau, Shymkent, Kostanay high; Ulytau,
//!   Jetisu, Abai, Kyzylorda low), with oil and gas favouring Atyrau,
//!   Mangystau, West Kazakhstan, Aktobe and Kyzylorda and metals and mining
//!   favouring Karaganda, Pavlodar, East Kazakhstan, Ulytau, Aktobe, Kostanay
//!   and Abai. It is written as a person would type it: Russian (about half:
//!   `Карагандинская область`, `г. Алматы`), English (`Karaganda region`,
//!   `Almaty` for the city), Kazakh (`Қарағанды облысы`) or a common short
//!   form (`ВКО`, `г. Астана`, `Алматы`); about 3% are typed sloppily
//!   (lower case or a stray space) and 3% leave the region empty.
//! - Size class: skewed by sector (oil and gas, mining, metals, refining,
//!   chemicals and power are mostly large; food, light industry, wood,
//!   printing, fabricated metal and repair mostly small).
//!
//! # How mature they are
//!
//! A latent true level per enterprise is a national base of 2.42, plus a
//! sector effect (oil and gas, refining, electricity +0.3; metals, mining
//! +0.2; chemicals, pharmaceuticals +0.15; food −0.1; textiles, clothing,
//! leather −0.2), a region effect (Atyrau +0.15; Astana, Almaty,
//! Mangystau, West Kazakhstan +0.1; Turkistan, Jetisu −0.15), a size effect
//! (micro −0.25, small −0.1, medium +0.05, large +0.2) and noise (σ 0.3). About
//! 2% of enterprises (0.3% of micro, 6.5% of large) are frontier plants whose
//! level is lifted to 4.5–4.9. Each dimension's true level is the latent level plus
//! a dimension effect (automation +0.1, other technology 0, process −0.05,
//! organisation −0.15, cybersecurity −0.25, usually the lowest) plus a
//! persistent per-enterprise deviation (σ 0.2). A population of 2,000 (seed 1)
//! verifies 77% of enterprises below 3.0, 21% at 3.x and 2% at 4.0; 18% of
//! enterprises (31% of those with evidence) have a contradiction.
//!
//! # What they answer
//!
//! The declared level of a dimension is the true level plus an optimism bias:
//! 0.5–1.0 for 30% of enterprises, about zero (σ 0.08) for the rest. Each
//! question gets the option whose level is nearest to the declared level plus
//! answer noise (σ 0.3); 1.5% of questions are `dont_know` and 1.5% left
//! unanswered. The interview date lies between February and November of the
//! round's year.
//!
//! # What the network shows
//!
//! About 60% of enterprises (35% of micro, 85% of large) come with evidence:
//! facts consistent with the *true* levels, not the declared ones, with the
//! same key set [`crate::evidence::facts::compute`] produces. PLCs answer only
//! where automation is real (and only 85% of those speak Modbus or OPC UA);
//! gateways with meters, drives and I/O behind them; HMIs; SCADA where
//! vertical integration is real; OPC UA servers from connectivity 2.75 up,
//! with companion specifications from about 3.2 and DI devices, historical
//! access and alarms where automation, data and integration are advanced and
//! a session could be opened (anonymous access, or the assessor's credentials
//! for 40% of scans). Security findings follow cybersecurity: plants below 3.0
//! mostly offer SecurityMode None and anonymous access; self-signed
//! certificates are the norm up to 3.5; frontier plants have none. Asset, ISA-95
//! level-2, Modbus, session and finding counts are mutually consistent the way
//! discovery produces them (level 3 is never produced). 5% of scans were
//! interrupted. Half of the enterprises with evidence declare the scope
//! complete in their answers, a quarter of scans in the run, and the scope is
//! decided by [`ScopeDecision::decide`]. Evidence summaries show one run,
//! `synthetic-<index>-<round label>`, started at most ten days before the
//! interview on private /24 ranges. Over-declaring enterprises with evidence
//! thus meet the real rules' caps and contradictions.
//!
//! # Later rounds
//!
//! Each round 80% (micro) to 93% (large) of the previous round's enterprises
//! return, with the same name, BIN, sector, region and size, their latent
//! level drifting by +0.15 on average (σ 0.15: about one in six goes down);
//! as many new entrants as left replace the leavers, with fresh indices
//! beyond those used so far. Round `r` (from 0) is labelled `first_year + r`.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::answers::{Answer, Answers, Enterprise, SizeClass};
use crate::assess::{self, Assessment, EvidenceSummary, Observed, RunSummary, ScopeDecision};
use crate::evidence::facts::{self, Facts};
use crate::questionnaire::{DONT_KNOW, Dimension, Group, Questionnaire};

/// What population to generate.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Enterprises in the first round.
    pub enterprises: usize,
    /// Survey rounds (≥ 1); round r is labelled `first_year + r` as a string ("2025", "2026").
    pub rounds: u32,
    /// The first round's year.
    pub first_year: i32,
    /// Seed: the same spec gives the same assessments, byte for byte.
    pub seed: u64,
}

impl Default for Spec {
    fn default() -> Spec {
        Spec {
            enterprises: 1000,
            rounds: 1,
            first_year: 2025,
            seed: 1,
        }
    }
}

/// One generated assessment and the round it belongs to.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The round's label, its year (`"2025"`).
    pub round: String,
    /// The assessment.
    pub assessment: Assessment,
}

/// Generates the population, round by round (all of round 1 first). Deterministic.
pub fn population(questionnaire: &Questionnaire, spec: &Spec) -> Vec<Generated> {
    let rounds = spec.rounds as usize;
    let mut all = Vec::with_capacity(spec.enterprises.saturating_mul(rounds));
    for_each(questionnaire, spec, |generated| all.push(generated));
    all
}

/// Generates the population like [`population`], handing each assessment to
/// `f` as it is made instead of holding them all: only the roster (a few dozen
/// bytes per enterprise) is kept between rounds.
pub fn for_each(questionnaire: &Questionnaire, spec: &Spec, mut f: impl FnMut(Generated)) {
    let key = ChaCha8Rng::seed_from_u64(spec.seed);
    let mut roster: Vec<Member> = (0..spec.enterprises as u64)
        .map(|index| Member::new(&key, questionnaire, index))
        .collect();
    let mut next_index = spec.enterprises as u64;
    let no_targets = BTreeMap::new();
    for round in 0..spec.rounds {
        if round > 0 {
            let before = roster.len();
            roster.retain_mut(|member| member.next_round(&key, round));
            for _ in roster.len()..before {
                roster.push(Member::new(&key, questionnaire, next_index));
                next_index += 1;
            }
        }
        let year = spec.first_year + round as i32;
        let label = year.to_string();
        for member in &roster {
            let (answers, observed) = member.inputs(&key, questionnaire, round, year);
            let assessment =
                assess::assess_observed(questionnaire, &answers, observed, &no_targets)
                    .expect("no targets, so nothing to refuse");
            f(Generated {
                round: label.clone(),
                assessment,
            });
        }
    }
}

// ---------------------------------------------------------------------------
// Randomness
// ---------------------------------------------------------------------------

/// What a stream is used for; part of the stream number.
#[derive(Clone, Copy)]
enum Purpose {
    /// Who the enterprise is (drawn once, round-independent).
    Profile = 0,
    /// Whether it returns and how it drifts, per round.
    Panel = 1,
    /// Answers and evidence, per round.
    Round = 2,
}

/// The enterprise's own stream for `round` and `purpose`.
fn stream(key: &ChaCha8Rng, index: u64, round: u32, purpose: Purpose) -> ChaCha8Rng {
    let mut rng = key.clone();
    // 40 bits of index, 16 of round, 8 of purpose: distinct streams, never a collision.
    rng.set_stream((index << 24) | (u64::from(round & 0xffff) << 8) | purpose as u64);
    rng.set_word_pos(0);
    rng
}

/// Approximately standard normal (Irwin–Hall of four uniforms, ±3.46 at most);
/// plain arithmetic, so identical on every platform.
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let sum: f64 = (0..4).map(|_| rng.r#gen::<f64>()).sum();
    (sum - 2.0) * 1.732_050_807_568_877_2
}

/// True with probability `p` (clamped into 0..=1).
fn chance(rng: &mut ChaCha8Rng, p: f64) -> bool {
    rng.gen_bool(p.clamp(0.0, 1.0))
}

/// Uniform in `low..high`.
fn uniform(rng: &mut ChaCha8Rng, low: f64, high: f64) -> f64 {
    low + (high - low) * rng.r#gen::<f64>()
}

/// 1 to `max` inclusive.
fn some(rng: &mut ChaCha8Rng, max: u64) -> u64 {
    1 + rng.gen_range(0..max.max(1))
}

/// How many of `n` trials succeed with probability `p`.
fn binomial(rng: &mut ChaCha8Rng, n: u64, p: f64) -> u64 {
    (0..n).filter(|_| chance(rng, p)).count() as u64
}

/// An item by weight.
fn pick<'a, T>(rng: &mut ChaCha8Rng, items: impl IntoIterator<Item = (&'a T, u32)>) -> &'a T {
    let items: Vec<(&T, u32)> = items.into_iter().collect();
    let total: u32 = items.iter().map(|(_, weight)| weight).sum();
    let mut at = rng.gen_range(0..total);
    for (item, weight) in &items {
        if at < *weight {
            return item;
        }
        at -= weight;
    }
    unreachable!("the draw is below the total weight")
}

/// 0 at `low`, 1 at `high`, linear between.
fn ramp(x: f64, low: f64, high: f64) -> f64 {
    ((x - low) / (high - low)).clamp(0.0, 1.0)
}

// ---------------------------------------------------------------------------
// Reference data
// ---------------------------------------------------------------------------

/// How a sector's enterprises are sized.
#[derive(Clone, Copy, PartialEq)]
enum Sizing {
    Heavy,
    Light,
    Usual,
}

/// Where a sector concentrates.
#[derive(Clone, Copy, PartialEq)]
enum Cluster {
    None,
    Oil,
    Metals,
}

/// An OKED division.
struct Sector {
    /// Section letter and division, `C24`.
    division: &'static str,
    /// Its groups, the digit after the dot.
    groups: &'static [&'static str],
    /// Relative frequency among industrial enterprises.
    weight: u32,
    /// Effect on the latent level.
    effect: f64,
    sizing: Sizing,
    cluster: Cluster,
    /// What a respondent types instead of the code.
    words: &'static str,
}

const fn sector(
    division: &'static str,
    groups: &'static [&'static str],
    weight: u32,
    effect: f64,
    sizing: Sizing,
    cluster: Cluster,
    words: &'static str,
) -> Sector {
    Sector {
        division,
        groups,
        weight,
        effect,
        sizing,
        cluster,
        words,
    }
}

use Cluster::{Metals, Oil};
use Sizing::{Heavy, Light, Usual};

#[rustfmt::skip]
const SECTORS: &[Sector] = &[
    sector("C10", &["1", "2", "3", "4", "5", "6", "7", "8", "9"], 200, -0.10, Light, Cluster::None, "пищевая промышленность"),
    sector("C11", &["0"], 55, 0.10, Usual, Cluster::None, "производство напитков"),
    sector("C13", &["1", "2", "9"], 20, -0.20, Light, Cluster::None, "текстильное производство"),
    sector("C14", &["1", "3"], 30, -0.20, Light, Cluster::None, "швейное производство"),
    sector("C15", &["1", "2"], 8, -0.20, Light, Cluster::None, "кожевенное производство"),
    sector("C16", &["1", "2"], 20, -0.15, Light, Cluster::None, "деревообработка"),
    sector("C17", &["1", "2"], 10, 0.0, Usual, Cluster::None, "бумажное производство"),
    sector("C18", &["1"], 20, -0.10, Light, Cluster::None, "полиграфия"),
    sector("C19", &["2"], 8, 0.30, Heavy, Oil, "нефтепереработка"),
    sector("C20", &["1", "3", "4", "5"], 30, 0.15, Heavy, Cluster::None, "химическая промышленность"),
    sector("C21", &["1", "2"], 10, 0.15, Usual, Cluster::None, "фармацевтика"),
    sector("C22", &["1", "2"], 40, 0.0, Usual, Cluster::None, "производство пластмасс"),
    sector("C23", &["1", "3", "5", "6", "9"], 90, 0.05, Usual, Cluster::None, "производство стройматериалов"),
    sector("C24", &["1", "2", "3", "4", "5"], 60, 0.25, Heavy, Metals, "металлургия"),
    sector("C25", &["1", "2", "5", "6", "9"], 85, -0.05, Light, Cluster::None, "металлообработка"),
    sector("C26", &["1", "5"], 8, 0.05, Usual, Cluster::None, "электроника"),
    sector("C27", &["1", "3", "9"], 18, 0.05, Usual, Cluster::None, "электротехника"),
    sector("C28", &["1", "2", "9"], 30, -0.05, Usual, Cluster::None, "машиностроение"),
    sector("C29", &["1", "3"], 10, 0.10, Usual, Cluster::None, "автомобилестроение"),
    sector("C30", &["2", "3"], 8, 0.05, Usual, Cluster::None, "вагоностроение"),
    sector("C31", &["0"], 20, -0.15, Light, Cluster::None, "мебельное производство"),
    sector("C32", &["5", "9"], 10, -0.10, Light, Cluster::None, "прочее производство"),
    sector("C33", &["1", "2"], 30, -0.15, Light, Cluster::None, "ремонт оборудования"),
    sector("B06", &["1", "2"], 35, 0.35, Heavy, Oil, "нефтегазодобыча"),
    sector("B07", &["1", "2"], 25, 0.20, Heavy, Metals, "горнодобывающая промышленность"),
    sector("B08", &["1", "9"], 50, -0.10, Light, Cluster::None, "добыча камня и песка"),
    sector("D35", &["1", "2", "3"], 45, 0.30, Heavy, Cluster::None, "энергетика"),
    sector("E36", &["0"], 25, 0.0, Usual, Cluster::None, "водоснабжение"),
];

/// A region as people write it.
struct Region {
    /// English.
    en: &'static str,
    /// Russian.
    ru: &'static str,
    /// Kazakh.
    kk: &'static str,
    /// Short or colloquial forms.
    other: &'static [&'static str],
    /// Relative number of industrial enterprises.
    weight: u32,
    /// Effect on the latent level.
    effect: f64,
    /// Where clustered sectors concentrate.
    cluster: Cluster,
}

const fn region(
    en: &'static str,
    ru: &'static str,
    kk: &'static str,
    other: &'static [&'static str],
    weight: u32,
    effect: f64,
    cluster: Cluster,
) -> Region {
    Region {
        en,
        ru,
        kk,
        other,
        weight,
        effect,
        cluster,
    }
}

#[rustfmt::skip]
const REGIONS: &[Region] = &[
    region("Abai region", "область Абай", "Абай облысы", &["Абайская область"], 5, -0.10, Metals),
    region("Akmola region", "Акмолинская область", "Ақмола облысы", &[], 8, -0.05, Cluster::None),
    region("Aktobe region", "Актюбинская область", "Ақтөбе облысы", &[], 12, 0.05, Oil),
    region("Almaty region", "Алматинская область", "Алматы облысы", &["Алматинская обл."], 10, -0.05, Cluster::None),
    region("Atyrau region", "Атырауская область", "Атырау облысы", &[], 12, 0.15, Oil),
    region("East Kazakhstan region", "Восточно-Казахстанская область", "Шығыс Қазақстан облысы", &["ВКО"], 16, 0.0, Metals),
    region("Jambyl region", "Жамбылская область", "Жамбыл облысы", &[], 8, -0.10, Cluster::None),
    region("Jetisu region", "область Жетісу", "Жетісу облысы", &["Жетысуская область"], 4, -0.15, Cluster::None),
    region("Karaganda region", "Карагандинская область", "Қарағанды облысы", &["Карагандинская обл."], 20, 0.05, Metals),
    region("Kostanay region", "Костанайская область", "Қостанай облысы", &[], 10, 0.0, Metals),
    region("Kyzylorda region", "Кызылординская область", "Қызылорда облысы", &[], 4, -0.10, Oil),
    region("Mangystau region", "Мангистауская область", "Маңғыстау облысы", &[], 8, 0.10, Oil),
    region("North Kazakhstan region", "Северо-Казахстанская область", "Солтүстік Қазақстан облысы", &["СКО"], 6, -0.10, Cluster::None),
    region("Pavlodar region", "Павлодарская область", "Павлодар облысы", &["Павлодарская обл."], 16, 0.05, Metals),
    region("Turkistan region", "Туркестанская область", "Түркістан облысы", &[], 8, -0.15, Cluster::None),
    region("Ulytau region", "область Ұлытау", "Ұлытау облысы", &["Улытауская область"], 3, 0.0, Metals),
    region("West Kazakhstan region", "Западно-Казахстанская область", "Батыс Қазақстан облысы", &["ЗКО"], 8, 0.10, Oil),
    region("Astana", "Астана", "Астана қаласы", &["г. Астана"], 14, 0.10, Cluster::None),
    region("Almaty", "г. Алматы", "Алматы қаласы", &["Алматы"], 18, 0.10, Cluster::None),
    region("Shymkent", "Шымкент", "Шымкент қаласы", &["г. Шымкент"], 12, 0.0, Cluster::None),
];

/// National base of the latent level.
const BASE: f64 = 2.42;

fn size_effect(size: SizeClass) -> f64 {
    match size {
        SizeClass::Micro => -0.25,
        SizeClass::Small => -0.10,
        SizeClass::Medium => 0.05,
        SizeClass::Large => 0.20,
    }
}

/// Dimension effect: organisation lags technology, cybersecurity lags most.
fn dimension_effect(dimension: &Dimension) -> f64 {
    match dimension.id.as_str() {
        "cybersecurity" => -0.25,
        "automation" => 0.10,
        _ => match dimension.group {
            Group::Technology => 0.0,
            Group::Process => -0.05,
            Group::Organisation => -0.15,
        },
    }
}

// ---------------------------------------------------------------------------
// Enterprises
// ---------------------------------------------------------------------------

/// One enterprise of the panel.
struct Member {
    index: u64,
    sector: Option<String>,
    region: Option<String>,
    size: SizeClass,
    assessor: u32,
    /// Latent true level, drifting between rounds.
    latent: f64,
    /// Per dimension of the questionnaire: effect plus persistent deviation.
    offsets: Vec<f64>,
    /// Declared minus true, for every dimension.
    optimism: f64,
}

impl Member {
    fn new(key: &ChaCha8Rng, questionnaire: &Questionnaire, index: u64) -> Member {
        let mut rng = stream(key, index, 0, Purpose::Profile);
        let sector = pick(&mut rng, SECTORS.iter().map(|s| (s, s.weight)));
        let group = sector.groups[rng.gen_range(0..sector.groups.len() as u32) as usize];
        let sector_written = match rng.gen_range(0..100u32) {
            0..=1 => None,
            2 => Some(sector.words.to_owned()),
            _ => Some(format!("{}.{group}", sector.division)),
        };
        let region = pick(
            &mut rng,
            REGIONS.iter().map(|r| {
                let boost = if r.cluster != Cluster::None && r.cluster == sector.cluster {
                    5
                } else {
                    1
                };
                (r, r.weight * boost)
            }),
        );
        let region_written = (rng.gen_range(0..100u32) >= 3).then(|| spell(&mut rng, region));
        let size_weights: [u32; 4] = match sector.sizing {
            Heavy => [2, 20, 33, 45],
            Light => [25, 50, 18, 7],
            Usual => [12, 45, 28, 15],
        };
        let sizes = [
            SizeClass::Micro,
            SizeClass::Small,
            SizeClass::Medium,
            SizeClass::Large,
        ];
        let size = *pick(&mut rng, sizes.iter().zip(size_weights));
        let mut latent =
            BASE + sector.effect + region.effect + size_effect(size) + 0.3 * normal(&mut rng);
        let frontier = match size {
            SizeClass::Micro => 0.003,
            SizeClass::Small => 0.009,
            SizeClass::Medium => 0.03,
            SizeClass::Large => 0.065,
        };
        if chance(&mut rng, frontier) {
            latent = latent.max(4.3) + uniform(&mut rng, 0.2, 0.6);
        }
        let offsets = questionnaire
            .dimensions
            .iter()
            .map(|dimension| dimension_effect(dimension) + 0.2 * normal(&mut rng))
            .collect();
        let optimism = if chance(&mut rng, 0.3) {
            uniform(&mut rng, 0.5, 1.0)
        } else {
            0.08 * normal(&mut rng)
        };
        Member {
            index,
            sector: sector_written,
            region: region_written,
            size,
            assessor: rng.gen_range(1..=40),
            latent,
            offsets,
            optimism,
        }
    }

    /// Whether the enterprise takes part in `round`; drifts its level if so.
    fn next_round(&mut self, key: &ChaCha8Rng, round: u32) -> bool {
        let mut rng = stream(key, self.index, round, Purpose::Panel);
        let stays = match self.size {
            SizeClass::Micro => 0.80,
            SizeClass::Small => 0.86,
            SizeClass::Medium => 0.90,
            SizeClass::Large => 0.93,
        };
        if !chance(&mut rng, stays) {
            return false;
        }
        self.latent += 0.15 + 0.15 * normal(&mut rng);
        true
    }

    /// Answers and evidence of `round`.
    fn inputs(
        &self,
        key: &ChaCha8Rng,
        questionnaire: &Questionnaire,
        round: u32,
        year: i32,
    ) -> (Answers, Option<Observed>) {
        let mut rng = stream(key, self.index, round, Purpose::Round);
        let truth: Vec<f64> = self.offsets.iter().map(|o| self.latent + o).collect();
        let day = rng.gen_range(32..=334u32);
        let date = chrono::NaiveDate::from_yo_opt(year, day).expect("a day of the year");
        let with_evidence = chance(
            &mut rng,
            match self.size {
                SizeClass::Micro => 0.35,
                SizeClass::Small => 0.55,
                SizeClass::Medium => 0.72,
                SizeClass::Large => 0.85,
            },
        );
        let scope_complete = with_evidence && chance(&mut rng, 0.5);
        let enterprise = Enterprise {
            name: format!("Synthetic Enterprise {:05}", self.index),
            bin: Some(format!("99{:010}", self.index)),
            sector: self.sector.clone(),
            region: self.region.clone(),
            size: Some(self.size),
            assessor: Some(format!("Synthetic Assessor {:02}", self.assessor)),
            date: Some(date.format("%Y-%m-%d").to_string()),
            scope_complete,
        };
        let mut answers = Answers::new(questionnaire, enterprise);
        for (dimension, true_level) in questionnaire.dimensions.iter().zip(&truth) {
            let declared = true_level + self.optimism;
            for question in &dimension.questions {
                let option = match rng.gen_range(0..1000u32) {
                    0..=14 => DONT_KNOW.to_owned(),
                    15..=29 => continue,
                    _ => {
                        let wanted = declared + 0.3 * normal(&mut rng);
                        let nearest = question.options.iter().min_by(|a, b| {
                            (a.level.as_f64() - wanted)
                                .abs()
                                .total_cmp(&(b.level.as_f64() - wanted).abs())
                        });
                        match nearest {
                            Some(option) => option.id.clone(),
                            None => continue,
                        }
                    }
                };
                // Questionnaire order, each question once: what `Answers::set` keeps.
                answers.answers.push(Answer {
                    question: question.id.clone(),
                    option,
                    comment: None,
                });
            }
        }
        let observed = with_evidence.then(|| {
            let level = |id: &str| {
                questionnaire
                    .dimensions
                    .iter()
                    .position(|d| d.id == id)
                    .map_or(self.latent, |at| truth[at])
            };
            let truth = Truth {
                automation: level("automation"),
                connectivity: level("connectivity"),
                data: level("data-analytics"),
                cybersecurity: level("cybersecurity"),
                vertical: level("vertical-integration"),
            };
            self.observe(&mut rng, &truth, date, scope_complete, year)
        });
        (answers, observed)
    }

    /// Evidence consistent with the true levels.
    fn observe(
        &self,
        rng: &mut ChaCha8Rng,
        truth: &Truth,
        date: chrono::NaiveDate,
        answers_complete: bool,
        year: i32,
    ) -> Observed {
        let (facts, scan_incomplete) = plant_facts(rng, self.size, truth);
        let declared_complete = chance(rng, 0.25);
        // Interviews start in February: the scan stays in the round's year.
        let scan_day = date - chrono::Days::new(rng.gen_range(0..=10));
        let started_at = format!(
            "{}T{:02}:{:02}:{:02}Z",
            scan_day.format("%Y-%m-%d"),
            rng.gen_range(3..12u32),
            rng.gen_range(0..60u32),
            rng.gen_range(0..60u32)
        );
        let subnets = match self.size {
            SizeClass::Micro => 1,
            SizeClass::Small => some(rng, 2),
            SizeClass::Medium => 1 + some(rng, 3),
            SizeClass::Large => 2 + some(rng, 6),
        };
        let targets: Vec<String> = if self.size <= SizeClass::Small && chance(rng, 0.5) {
            let third = rng.gen_range(0..=250u64);
            (0..subnets)
                .map(|k| format!("192.168.{}.0/24", third + k))
                .collect()
        } else {
            let (second, third) = (rng.gen_range(0..=255u64), rng.gen_range(0..=240u64));
            (0..subnets)
                .map(|k| format!("10.{second}.{}.0/24", third + k))
                .collect()
        };
        let summary = EvidenceSummary {
            documents: 1,
            runs: vec![RunSummary {
                id: format!("synthetic-{}-{year}", self.index),
                site: None,
                started_at,
                complete: !scan_incomplete,
                targets,
                address_count: 256 * subnets,
                declared_complete,
            }],
            assets: facts["assets.total"],
        };
        Observed {
            scope: ScopeDecision::decide(answers_complete, declared_complete, scan_incomplete),
            facts,
            summary,
        }
    }
}

/// How a person writes `region`.
fn spell(rng: &mut ChaCha8Rng, region: &Region) -> String {
    let written = match rng.gen_range(0..100u32) {
        0..=49 => region.ru,
        50..=74 => region.en,
        75..=92 => region.kk,
        _ if region.other.is_empty() => region.ru,
        _ => region.other[rng.gen_range(0..region.other.len() as u32) as usize],
    };
    match rng.gen_range(0..100u32) {
        0 | 1 => written.to_lowercase(),
        2 => format!("{written} "),
        _ => written.to_owned(),
    }
}

/// Counts one more of `name` if `yes`.
fn add(facts: &mut Facts, name: &str, yes: bool) {
    if yes {
        *facts.get_mut(name).expect("a fact of the vocabulary") += 1;
    }
}

/// True levels of the dimensions evidence can see.
struct Truth {
    automation: f64,
    connectivity: f64,
    data: f64,
    cybersecurity: f64,
    vertical: f64,
}

/// Facts a discovery of this plant would produce, and whether the scan was
/// interrupted.
fn plant_facts(rng: &mut ChaCha8Rng, size: SizeClass, truth: &Truth) -> (Facts, bool) {
    let mut facts: Facts = facts::vocabulary().into_iter().map(|n| (n, 0)).collect();
    let n: u64 = match size {
        SizeClass::Micro => 1,
        SizeClass::Small => 2,
        SizeClass::Medium => 4,
        SizeClass::Large => 8,
    };
    let t = truth;
    let count = |rng: &mut ChaCha8Rng, p: f64, max: u64| {
        if chance(rng, p) { some(rng, max) } else { 0 }
    };
    // Modbus TCP and OPC UA only: some real controllers speak neither.
    let plcs = count(rng, 0.85 * ramp(t.automation, 2.2, 3.0), 2 * n);
    let gateways = count(rng, 0.5 * ramp(t.connectivity, 2.3, 3.0), n / 2 + 1);
    let meters = count(rng, 0.6 * ramp(t.automation, 2.3, 3.0), n);
    let drives = count(rng, 0.4 * ramp(t.automation, 2.5, 3.2), n);
    let io = count(rng, 0.3 * ramp(t.automation, 2.75, 3.5), n / 2 + 1);
    let hmis = count(rng, 0.5 * ramp(t.automation, 2.9, 3.5), n / 2 + 1);
    let scada = count(rng, 0.8 * ramp(t.vertical, 2.85, 3.5), n / 4 + 1);
    let any_modbus = plcs + gateways + meters + drives + io + hmis > 0;
    let unknown = if any_modbus { count(rng, 0.3, 2) } else { 0 };
    // Sub-devices behind gateways: meters, drives, I/O, some unidentified.
    let (mut behind_meters, mut behind_drives, mut behind_io, mut behind_unknown) = (0, 0, 0, 0);
    let mut behind = 0;
    for _ in 0..gateways {
        for _ in 0..some(rng, 4) {
            behind += 1;
            match rng.gen_range(0..10u32) {
                0..=3 => behind_meters += 1,
                4..=6 => behind_drives += 1,
                7..=8 => behind_io += 1,
                _ => behind_unknown += 1,
            }
        }
    }
    // OPC UA servers: on SCADA, on PLCs, or standalone.
    let servers = count(rng, 0.9 * ramp(t.connectivity, 2.75, 3.5), n / 2 + 1);
    let (mut on_scada, mut on_plc, mut standalone) = (0, 0, 0);
    for _ in 0..servers {
        if on_scada < scada && chance(rng, 0.7) {
            on_scada += 1;
        } else if on_plc < plcs && chance(rng, 0.3) {
            on_plc += 1;
        } else {
            standalone += 1;
        }
    }
    // PLCs hosting OPC UA speak Modbus too half of the time; SCADA without OPC UA
    // was recognised over Modbus.
    let plcs_modbus = plcs - on_plc + binomial(rng, on_plc, 0.5);
    let modbus = plcs_modbus
        + gateways
        + meters
        + drives
        + io
        + hmis
        + (scada - on_scada)
        + unknown
        + behind;
    let identified = binomial(rng, modbus, 0.6 + 0.3 * ramp(t.automation, 2.5, 3.5));
    let mut set = |name: &str, value: u64| {
        *facts.get_mut(name).expect("a fact of the vocabulary") = value;
    };
    let meters = meters + behind_meters;
    let drives = drives + behind_drives;
    let io = io + behind_io;
    let unknown = unknown + behind_unknown;
    set("assets.plc", plcs);
    set("assets.gateway", gateways);
    set("assets.meter", meters);
    set("assets.drive", drives);
    set("assets.io", io);
    set("assets.hmi", hmis);
    set("assets.scada", scada);
    set("assets.opcua-server", standalone);
    set("assets.unknown", unknown);
    set(
        "assets.total",
        plcs + gateways + meters + drives + io + hmis + scada + standalone + unknown,
    );
    set("assets.behind-gateway", behind);
    set("assets.isa95-level-2", hmis + scada + standalone);
    set("modbus.devices", modbus);
    set("modbus.identified", identified);
    set("opcua.servers", servers);
    // Per server: security and what a session shows.
    let credentials = chance(rng, 0.4);
    let c = t.cybersecurity;
    for _ in 0..servers {
        let none = chance(rng, 0.95 * (1.0 - ramp(c, 2.6, 3.7)));
        let secure = !none || chance(rng, 0.3 + 0.6 * ramp(c, 2.5, 3.5));
        let anonymous = chance(rng, 0.9 * (1.0 - ramp(c, 2.5, 3.6)));
        let anonymous_on_none = anonymous && none;
        let weak = 1.0 - ramp(c, 2.5, 3.3);
        let deprecated = chance(rng, 0.35 * (1.0 - ramp(c, 2.5, 3.4)));
        let sha1 = chance(rng, 0.12 * weak);
        let expired = chance(rng, 0.08 * weak);
        let not_yet_valid = !expired && chance(rng, 0.01 * weak);
        let expiring = !expired && !not_yet_valid && chance(rng, 0.04);
        let self_signed = chance(rng, 0.9 * (1.0 - ramp(c, 3.2, 3.8)));
        let short_key = chance(rng, 0.06 * weak);
        let session = anonymous_on_none || credentials;
        add(&mut facts, "opcua.secure-endpoints", secure);
        add(&mut facts, "opcua.insecure-only", none && !secure);
        add(&mut facts, "finding.opcua.security-mode-none", none);
        add(&mut facts, "finding.opcua.anonymous-access", anonymous);
        add(&mut facts, "finding.opcua.deprecated-policy", deprecated);
        add(&mut facts, "finding.opcua.sha1-signature", sha1);
        add(&mut facts, "finding.opcua.certificate-expired", expired);
        add(
            &mut facts,
            "finding.opcua.certificate-not-yet-valid",
            not_yet_valid,
        );
        add(&mut facts, "finding.opcua.certificate-expiring", expiring);
        add(
            &mut facts,
            "finding.opcua.self-signed-certificate",
            self_signed,
        );
        add(&mut facts, "finding.opcua.short-key", short_key);
        // Severities as discovery assigns them.
        add(
            &mut facts,
            "findings.high",
            anonymous_on_none || expired || short_key,
        );
        add(
            &mut facts,
            "findings.medium",
            ((none || anonymous) && !anonymous_on_none) || deprecated || sha1 || not_yet_valid,
        );
        add(&mut facts, "opcua.sessions", session);
        if session {
            let companion = chance(rng, 0.9 * ramp(t.connectivity, 3.2, 3.9));
            add(&mut facts, "opcua.companion-specs", companion);
            let devices = count(rng, 0.8 * ramp(t.automation, 3.0, 3.75), 6);
            *facts.get_mut("opcua.di-devices").expect("a fact") += devices;
            let history = chance(rng, 0.85 * ramp(t.data, 2.9, 3.6));
            add(&mut facts, "opcua.historical-access", history);
            let alarms = chance(rng, 0.7 * ramp(t.vertical, 3.0, 3.7));
            add(&mut facts, "opcua.alarms-conditions", alarms);
        }
    }
    let incomplete = chance(rng, 0.05);
    if incomplete {
        *facts.get_mut("scan.incomplete").expect("a fact") = 1;
    }
    (facts, incomplete)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::scale::Score;

    fn questionnaire() -> Questionnaire {
        Questionnaire::builtin()
    }

    fn spec(enterprises: usize, rounds: u32, seed: u64) -> Spec {
        Spec {
            enterprises,
            rounds,
            first_year: 2025,
            seed,
        }
    }

    #[test]
    fn the_same_spec_gives_the_same_bytes_and_another_seed_does_not() {
        let q = questionnaire();
        let json = |spec: &Spec| -> Vec<String> {
            population(&q, spec)
                .iter()
                .map(|g| format!("{}\n{}", g.round, g.assessment.to_json()))
                .collect()
        };
        let first = json(&spec(200, 2, 7));
        assert_eq!(first, json(&spec(200, 2, 7)));
        let other = json(&spec(200, 2, 8));
        assert_eq!(first.len(), other.len());
        let differing = first.iter().zip(&other).filter(|(a, b)| a != b).count();
        assert!(differing > 390, "only {differing} of 400 differ");
    }

    #[test]
    fn more_enterprises_do_not_reshuffle_the_others() {
        let q = questionnaire();
        let by_bin = |enterprises: usize| -> BTreeMap<(String, String), String> {
            population(&q, &spec(enterprises, 2, 3))
                .into_iter()
                .map(|g| {
                    let bin = g.assessment.enterprise.bin.clone().unwrap();
                    ((g.round, bin), g.assessment.to_json())
                })
                .collect()
        };
        let (small, large) = (by_bin(50), by_bin(120));
        let mut same = 0;
        for (key, json) in &small {
            let index: u64 = key.1[2..].parse().unwrap();
            if index < 50 {
                assert_eq!(Some(json), large.get(key), "{key:?}");
                same += 1;
            }
        }
        // All of the first round, and those of them who return in the second.
        assert!(same > 90, "{same}");
    }

    #[test]
    fn every_enterprise_is_clearly_synthetic_and_unique_within_a_round() {
        let q = questionnaire();
        let generated = population(&q, &spec(1000, 3, 1));
        let mut by_round: BTreeMap<&str, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
        for g in &generated {
            let enterprise = &g.assessment.enterprise;
            let bin = enterprise.bin.clone().expect("a BIN");
            assert_eq!(bin.len(), 12);
            assert!(bin.starts_with("99") && bin.bytes().all(|b| b.is_ascii_digit()));
            assert!(enterprise.name.starts_with("Synthetic Enterprise "));
            assert_eq!(
                &bin[2..],
                format!("{:010}", &enterprise.name[21..].parse::<u64>().unwrap())
            );
            let date = enterprise.date.as_deref().expect("a date");
            assert!(date.starts_with(&g.round), "{date} in round {}", g.round);
            for run in &g.assessment.evidence.runs {
                assert!(run.started_at.starts_with(&g.round));
            }
            let (bins, names) = by_round.entry(&g.round).or_default();
            assert!(bins.insert(bin), "a BIN twice in round {}", g.round);
            assert!(names.insert(enterprise.name.clone()));
        }
        let rounds: Vec<&str> = by_round.keys().copied().collect();
        assert_eq!(rounds, ["2025", "2026", "2027"]);
        for (bins, _) in by_round.values() {
            assert_eq!(bins.len(), 1000);
        }
        // Rounds are generated in order.
        let order: Vec<&str> = generated.iter().map(|g| g.round.as_str()).collect();
        assert!(order.is_sorted());
    }

    #[test]
    fn generated_answers_are_valid_documents_for_the_questionnaire() {
        let q = questionnaire();
        let key = ChaCha8Rng::seed_from_u64(4);
        let (mut dont_know, mut answered) = (0, 0);
        for index in 0..300 {
            let member = Member::new(&key, &q, index);
            for round in 0..2 {
                let (answers, _) = member.inputs(&key, &q, round, 2025 + round as i32);
                let text = answers.to_json();
                let parsed = Answers::parse(&text, "synthetic", crate::answers::Format::Json, &q)
                    .unwrap_or_else(|problems| panic!("{problems:?}\n{text}"));
                assert_eq!(parsed, answers);
                dont_know += answers.answers.iter().filter(|a| a.is_dont_know()).count();
                answered += answers.answers.len();
            }
        }
        assert!(
            dont_know > 0 && dont_know * 20 < answered,
            "{dont_know} of {answered}"
        );
    }

    #[test]
    fn the_profile_looks_like_a_national_survey() {
        let q = questionnaire();
        let generated = population(&q, &spec(2000, 1, 11));
        let enterprises: Vec<&Enterprise> =
            generated.iter().map(|g| &g.assessment.enterprise).collect();
        let share = |f: &dyn Fn(&Enterprise) -> bool| {
            enterprises.iter().filter(|e| f(e)).count() as f64 / enterprises.len() as f64
        };
        let code = |e: &Enterprise| {
            e.sector.as_deref().is_some_and(|s| {
                let b = s.as_bytes();
                s.len() == 5 && b[0].is_ascii_uppercase() && b[3] == b'.'
            })
        };
        let food = share(&|e| e.sector.as_deref().is_some_and(|s| s.starts_with("C10")));
        let no_sector = share(&|e| e.sector.is_none());
        let words = share(&|e| e.sector.is_some() && !code(e));
        let no_region = share(&|e| e.region.is_none());
        let cyrillic = share(&|e| {
            e.region
                .as_deref()
                .is_some_and(|r| r.chars().any(|c| ('\u{400}'..='\u{4ff}').contains(&c)))
        });
        let regions: BTreeSet<&str> = enterprises
            .iter()
            .filter_map(|e| e.region.as_deref())
            .collect();
        println!(
            "food {food:.3}, no sector {no_sector:.3}, words {words:.3}, no region {no_region:.3}, cyrillic {cyrillic:.3}, {} spellings",
            regions.len()
        );
        assert!((0.15..0.35).contains(&food));
        assert!((0.005..0.04).contains(&no_sector));
        assert!((0.002..0.025).contains(&words));
        assert!((0.01..0.06).contains(&no_region));
        assert!((0.55..0.85).contains(&cyrillic));
        assert!(regions.len() > 60, "{} spellings", regions.len());
        for city in [
            "Almaty",
            "г. Алматы",
            "Astana",
            "Шымкент",
            "Karaganda region",
        ] {
            assert!(regions.contains(city), "{city}");
        }
        let sizes: BTreeSet<SizeClass> = enterprises.iter().filter_map(|e| e.size).collect();
        assert_eq!(sizes.len(), 4);
    }

    #[test]
    fn maturity_answers_and_evidence_are_plausible() {
        let q = questionnaire();
        let generated = population(&q, &spec(2000, 1, 1));
        let total = generated.len() as f64;
        let share = |f: &dyn Fn(&Assessment) -> bool| {
            generated.iter().filter(|g| f(&g.assessment)).count() as f64 / total
        };
        let verified = |a: &Assessment| a.overall.verified.expect("answered");
        let below = share(&|a| verified(a) < Score::from_hundredths(300));
        let three = share(&|a| (300..400).contains(&verified(a).hundredths()));
        let four = share(&|a| verified(a) == Score::MAX);
        let evidence = share(&|a| a.evidence.documents > 0);
        let contradicted = share(&|a| !a.contradictions.is_empty());
        let contradicted_with_evidence = contradicted / evidence;
        let over = share(&|a| {
            a.contradictions
                .iter()
                .any(|c| c.direction == assess::Direction::OverDeclared)
        });
        let complete_scope = share(&|a| a.scope.complete);
        let statuses: Vec<_> = generated
            .iter()
            .flat_map(|g| &g.assessment.dimensions)
            .flat_map(|d| &d.questions)
            .map(|q| q.status)
            .collect();
        let missing = statuses
            .iter()
            .filter(|s| **s != assess::AnswerStatus::Answered)
            .count() as f64
            / statuses.len() as f64;
        let mean_gap = generated
            .iter()
            .filter_map(|g| g.assessment.overall.gap)
            .map(|gap| f64::from(gap.hundredths()))
            .sum::<f64>()
            / total
            / 100.0;
        println!(
            "verified below 3.0 {below:.3}, 3.x {three:.3}, 4.0 {four:.3}; evidence {evidence:.3}, \
             complete scope {complete_scope:.3}; contradictions {contradicted:.3} \
             ({contradicted_with_evidence:.3} of those with evidence, over-declared {over:.3}); \
             missing answers {missing:.3}; mean gap {mean_gap:.2}"
        );
        assert!((0.65..=0.85).contains(&below), "below 3.0: {below}");
        assert!((0.12..=0.30).contains(&three), "3.x: {three}");
        assert!((0.005..=0.04).contains(&four), "4.0: {four}");
        assert!((0.50..=0.70).contains(&evidence), "evidence: {evidence}");
        assert!(
            (0.10..=0.40).contains(&contradicted),
            "contradictions: {contradicted}"
        );
        assert!(over > 0.05, "over-declared: {over}");
        assert!(
            (0.015..=0.05).contains(&missing),
            "missing answers: {missing}"
        );
        assert!(mean_gap > 0.0);
        // Cybersecurity is the weakest dimension on average.
        let mean = |id: &str| {
            generated
                .iter()
                .filter_map(|g| g.assessment.dimension(id)?.verified)
                .map(|s| s.as_f64())
                .sum::<f64>()
                / total
        };
        let cyber = mean("cybersecurity");
        for dimension in &q.dimensions {
            assert!(
                mean(&dimension.id) >= cyber,
                "{} below cybersecurity",
                dimension.id
            );
        }
    }

    #[test]
    fn evidence_facts_have_the_key_set_and_consistency_of_discovery() {
        let q = questionnaire();
        let vocabulary: BTreeSet<String> = facts::vocabulary().into_iter().collect();
        let mut anonymous = (0, 0);
        for g in population(&q, &spec(1000, 1, 5)) {
            let a = &g.assessment;
            if a.evidence.documents == 0 {
                assert!(a.facts.is_empty());
                assert_eq!(a.scope.basis, "no-evidence");
                continue;
            }
            let keys: BTreeSet<String> = a.facts.keys().cloned().collect();
            assert_eq!(keys, vocabulary);
            let f = |name: &str| a.facts[name];
            let roles: u64 = [
                "plc",
                "gateway",
                "meter",
                "drive",
                "io",
                "hmi",
                "scada",
                "opcua-server",
                "unknown",
            ]
            .iter()
            .map(|role| f(&format!("assets.{role}")))
            .sum();
            assert_eq!(f("assets.total"), roles);
            assert_eq!(a.evidence.assets, roles);
            assert!(f("assets.behind-gateway") <= f("assets.total"));
            assert!(f("assets.behind-gateway") == 0 || f("assets.gateway") > 0);
            assert!(f("modbus.identified") <= f("modbus.devices"));
            assert!(f("modbus.devices") <= f("assets.total"));
            assert_eq!(f("assets.isa95-level-3"), 0);
            let servers = f("opcua.servers");
            for name in [
                "opcua.sessions",
                "opcua.secure-endpoints",
                "opcua.insecure-only",
                "opcua.companion-specs",
                "findings.high",
                "findings.medium",
            ] {
                assert!(f(name) <= servers, "{name}");
            }
            assert!(f("opcua.secure-endpoints") + f("opcua.insecure-only") <= servers);
            assert!(f("opcua.historical-access") <= f("opcua.sessions"));
            for id in facts::FINDING_IDS {
                assert!(f(&format!("finding.{id}")) <= servers);
            }
            assert!(f("scan.incomplete") <= 1);
            let run = &a.evidence.runs[0];
            assert_eq!(run.complete, f("scan.incomplete") == 0);
            assert_eq!(run.address_count, 256 * run.targets.len() as u64);
            assert!(run.started_at.ends_with('Z') && run.started_at.len() == 20);
            let expected = ScopeDecision::decide(
                a.enterprise.scope_complete,
                run.declared_complete,
                f("scan.incomplete") > 0,
            );
            assert_eq!(a.scope, expected);
            if servers > 0 {
                anonymous.0 += 1;
                if f("finding.opcua.anonymous-access") > 0 {
                    anonymous.1 += 1;
                }
            }
        }
        let share = f64::from(anonymous.1) / f64::from(anonymous.0);
        println!(
            "{} plants with OPC UA, {share:.2} accept anonymous access",
            anonymous.0
        );
        assert!(anonymous.0 > 50 && share > 0.4, "{anonymous:?}");
    }

    #[test]
    fn later_rounds_keep_most_enterprises_and_they_improve() {
        let q = questionnaire();
        let generated = population(&q, &spec(1000, 2, 2));
        let round = |label: &str| -> BTreeMap<String, &Assessment> {
            generated
                .iter()
                .filter(|g| g.round == label)
                .map(|g| (g.assessment.enterprise.bin.clone().unwrap(), &g.assessment))
                .collect()
        };
        let (first, second) = (round("2025"), round("2026"));
        assert_eq!(first.len(), 1000);
        assert_eq!(second.len(), 1000);
        let returning: Vec<&String> = first.keys().filter(|b| second.contains_key(*b)).collect();
        let share = returning.len() as f64 / first.len() as f64;
        let mut declared_change = 0.0;
        for bin in &returning {
            let (a, b) = (&first[*bin].enterprise, &second[*bin].enterprise);
            assert_eq!(
                (&a.name, &a.sector, &a.region, a.size),
                (&b.name, &b.sector, &b.region, b.size)
            );
            let declared = |x: &Assessment| x.overall.declared.unwrap().as_f64();
            declared_change += declared(second[*bin]) - declared(first[*bin]);
        }
        declared_change /= returning.len() as f64;
        let entrants: Vec<u64> = second
            .keys()
            .filter(|b| !first.contains_key(*b))
            .map(|b| b.parse::<u64>().unwrap() - 990_000_000_000)
            .collect();
        println!(
            "returning {share:.3}, mean declared change {declared_change:.3}, {} entrants",
            entrants.len()
        );
        assert!((0.80..=0.95).contains(&share), "returning {share}");
        assert!(
            (0.03..=0.30).contains(&declared_change),
            "{declared_change}"
        );
        assert!(entrants.iter().all(|index| *index >= 1000));
    }
}
