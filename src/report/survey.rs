//! The survey dashboard: one self-contained HTML file of population figures
//! (same standards as the enterprise report: inline CSS and SVG, no script,
//! a CSP that forbids any load, A4 print). Built from a [`Survey`] only, so it
//! cannot show what the survey statistics do not hold: no enterprise name,
//! BIN, address or free text.

use askama::Template;

use super::filters::{gap as fmt_gap, score as fmt_score};
use super::svg;
use crate::questionnaire::ui::Labels;
use crate::questionnaire::{Lang, Questionnaire};
use crate::survey::aggregate::{Prevalence, Stats, Survey};
use crate::survey::classify::{Classifiers, OTHER, UNCLASSIFIED};

/// A row of a group table.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRow {
    /// Group label.
    pub label: String,
    /// Enterprises.
    pub n: u64,
    /// Band bar (SVG).
    pub bar: String,
    /// Mean verified.
    pub verified: String,
    /// Mean declared.
    pub declared: String,
    /// Share at Industry 2.x.
    pub industry_2: String,
    /// Share with evidence.
    pub evidence: String,
    /// Mean gap.
    pub gap: String,
    /// Share with a contradiction.
    pub contradicted: String,
}

/// A prevalence line.
#[derive(Debug, Clone, PartialEq)]
pub struct PrevalenceRow {
    /// What.
    pub label: String,
    /// Count or "fewer than k".
    pub count: String,
    /// Percent, or empty.
    pub percent: String,
    /// Bar width in percent (0–100).
    pub width: u32,
}

/// A cross-tab row.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossRow {
    /// Region label.
    pub label: String,
    /// Cells: (enterprises, mean) or `None` when suppressed.
    pub cells: Vec<Option<(String, String)>>,
}

/// A sector trend row.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendRow {
    /// Sector label.
    pub label: String,
    /// Panel.
    pub n: u64,
    /// Mean before.
    pub before: String,
    /// Mean after.
    pub after: String,
    /// Moved up.
    pub improved: u64,
    /// Moved down.
    pub declined: u64,
}

/// Everything the dashboard shows, as plain strings.
#[derive(Debug, Clone, PartialEq)]
pub struct SurveyView {
    /// Language code.
    pub lang: &'static str,
    /// Subtitle with the round.
    pub subtitle: String,
    /// Questionnaire id and version.
    pub questionnaire: String,
    /// False when the round is below k.
    pub published: bool,
    /// "fewer than k enterprises" message.
    pub not_published: String,
    /// The headline sentence.
    pub headline: String,
    /// Key figures: (value, label).
    pub figures: Vec<(String, String)>,
    /// National band bar.
    pub national_bar: String,
    /// Legend: (colour, band).
    pub legend: Vec<(&'static str, String)>,
    /// Industry 2/3/4 shares: (label, count, percent).
    pub levels: Vec<(String, u64, String)>,
    /// Dimension rows.
    pub dimensions: Vec<GroupRow>,
    /// By sector.
    pub sectors: Vec<GroupRow>,
    /// By region.
    pub regions: Vec<GroupRow>,
    /// By size.
    pub sizes: Vec<GroupRow>,
    /// Cross-tab column labels (industry groups).
    pub cross_columns: Vec<String>,
    /// Cross-tab rows (regions).
    pub cross_rows: Vec<CrossRow>,
    /// Gap paragraph.
    pub gap_intro: String,
    /// Security findings.
    pub findings: Vec<PrevalenceRow>,
    /// Share with at least one finding.
    pub with_finding: String,
    /// Weakest dimensions.
    pub holding_back: Vec<PrevalenceRow>,
    /// Frequent caps.
    pub caps: Vec<PrevalenceRow>,
    /// Frequent first actions.
    pub actions: Vec<PrevalenceRow>,
    /// Trend heading.
    pub trend_title: String,
    /// Trend intro, or why it is withheld.
    pub trend_intro: String,
    /// Whether a trend is shown.
    pub has_trend: bool,
    /// (label, before, after) rows.
    pub trend_figures: Vec<(String, String, String)>,
    /// By sector.
    pub trend_sectors: Vec<TrendRow>,
    /// Anonymity paragraph.
    pub anonymity: String,
    /// What was suppressed.
    pub suppressed: String,
    /// Footer.
    pub generated: String,
}

fn pct(count: u64, base: u64) -> String {
    if base == 0 {
        return "—".to_owned();
    }
    format!("{:.1}%", count as f64 * 100.0 / base as f64)
}

impl SurveyView {
    /// Builds the view of `survey`.
    pub fn build(
        survey: &Survey,
        questionnaire: &Questionnaire,
        classifiers: &Classifiers,
        labels: &Labels,
        lang: Lang,
    ) -> SurveyView {
        let t = |key: &str| labels.get(key, lang).to_owned();
        let k = survey.k.to_string();
        let group_label = |code: &str, name: Option<&str>| match code {
            OTHER => t("survey.other"),
            UNCLASSIFIED => t("survey.unclassified"),
            _ => name.map_or_else(|| t("survey.unclassified"), str::to_owned),
        };
        let row = |label: String, s: &Stats| GroupRow {
            bar: svg::bands_bar(&s.bands, 160.0, 14.0, &label),
            n: s.enterprises,
            verified: fmt_score(s.mean_verified),
            declared: fmt_score(s.mean_declared),
            industry_2: pct(s.levels[0], s.scored),
            evidence: pct(s.with_evidence, s.enterprises),
            gap: fmt_gap(s.mean_gap),
            contradicted: pct(s.with_contradiction, s.with_evidence),
            label,
        };
        let prevalence = |list: &[Prevalence], name: &dyn Fn(&str) -> String| {
            list.iter()
                .map(|p| PrevalenceRow {
                    label: name(&p.id),
                    count: p.enterprises.map_or_else(
                        || labels.fill("survey.fewer_than_k", lang, &[("k", &k)]),
                        |n| n.to_string(),
                    ),
                    percent: p.percent.map_or(String::new(), |v| format!("{v:.1}%")),
                    width: p.percent.map_or(0, |v| v.round().clamp(0.0, 100.0) as u32),
                })
                .collect::<Vec<_>>()
        };
        let dimension_name = |id: &str| {
            questionnaire
                .dimension(id)
                .map_or(id.to_owned(), |d| d.name.get(lang).to_owned())
        };
        let generated = labels.fill(
            "survey.generated",
            lang,
            &[("version", env!("CARGO_PKG_VERSION"))],
        );
        let mut view = SurveyView {
            lang: lang.code(),
            subtitle: labels.fill("survey.subtitle", lang, &[("round", &survey.round)]),
            questionnaire: format!(
                "{} {}",
                survey.questionnaire.id, survey.questionnaire.version
            ),
            published: survey.published,
            not_published: labels.fill("survey.not_published", lang, &[("k", &k)]),
            headline: String::new(),
            figures: Vec::new(),
            national_bar: String::new(),
            legend: svg::BAND_COLOURS
                .iter()
                .zip(crate::scale::Score::LEVELS)
                .map(|(colour, level)| (*colour, level.one_decimal()))
                .collect(),
            levels: Vec::new(),
            dimensions: Vec::new(),
            sectors: Vec::new(),
            regions: Vec::new(),
            sizes: Vec::new(),
            cross_columns: Vec::new(),
            cross_rows: Vec::new(),
            gap_intro: String::new(),
            findings: Vec::new(),
            with_finding: String::new(),
            holding_back: Vec::new(),
            caps: Vec::new(),
            actions: Vec::new(),
            trend_title: String::new(),
            trend_intro: String::new(),
            has_trend: false,
            trend_figures: Vec::new(),
            trend_sectors: Vec::new(),
            anonymity: labels.fill("survey.anonymity_text", lang, &[("k", &k)]),
            suppressed: {
                let s = &survey.suppression;
                labels.fill(
                    "survey.suppressed_summary",
                    lang,
                    &[
                        ("sectors", &s.sectors_merged.to_string()),
                        ("regions", &s.regions_merged.to_string()),
                        ("sizes", &s.sizes_merged.to_string()),
                        ("cells", &s.cells_suppressed.to_string()),
                        ("rare", &s.rare_counts.to_string()),
                        ("k", &k),
                    ],
                )
            },
            generated,
        };
        let Some(national) = &survey.national else {
            return view;
        };
        view.headline = labels.fill(
            "survey.headline",
            lang,
            &[("percent", &pct(national.levels[0], national.scored))],
        );
        view.figures = vec![
            (national.enterprises.to_string(), t("survey.assessed")),
            (fmt_score(national.mean_verified), t("survey.mean_verified")),
            (fmt_score(national.mean_declared), t("survey.mean_declared")),
            (
                pct(national.with_evidence, national.enterprises),
                t("survey.with_evidence"),
            ),
        ];
        view.national_bar = svg::bands_bar(&national.bands, 640.0, 28.0, &t("survey.bands"));
        view.levels = [
            "survey.industry_2",
            "survey.industry_3",
            "survey.industry_4",
        ]
        .iter()
        .zip(national.levels)
        .map(|(key, n)| (t(key), n, pct(n, national.scored)))
        .collect();
        view.dimensions = survey
            .dimensions
            .iter()
            .map(|d| GroupRow {
                label: dimension_name(&d.id),
                n: d.scored,
                bar: svg::bands_bar(&d.bands, 160.0, 14.0, &dimension_name(&d.id)),
                verified: fmt_score(d.mean_verified),
                declared: fmt_score(d.mean_declared),
                industry_2: pct(d.bands[0] + d.bands[1], d.scored),
                evidence: String::new(),
                gap: String::new(),
                contradicted: pct(d.contradictions, national.with_evidence),
            })
            .collect();
        // Sectors in classifier (NACE) order, regions by name in the report's
        // language, sizes from micro to large; "not stated" and "other" last.
        let ordered = |groups: &[crate::survey::aggregate::Group],
                       rank: &dyn Fn(&str) -> (usize, String),
                       name: &dyn Fn(&str) -> Option<String>| {
            let mut rows: Vec<((usize, String), GroupRow)> = groups
                .iter()
                .map(|g| {
                    let special = match g.code.as_str() {
                        UNCLASSIFIED => 1,
                        OTHER => 2,
                        _ => 0,
                    };
                    let (position, key) = rank(&g.code);
                    let label = group_label(&g.code, name(&g.code).as_deref());
                    ((special * 1000 + position, key), row(label, &g.stats))
                })
                .collect();
            rows.sort_by(|a, b| a.0.cmp(&b.0));
            rows.into_iter().map(|(_, r)| r).collect::<Vec<_>>()
        };
        view.sectors = ordered(
            &survey.by_sector,
            &|code| {
                let position = classifiers
                    .sector_groups()
                    .iter()
                    .position(|e| e.code == code);
                (position.unwrap_or(999), String::new())
            },
            &|code| classifiers.sector_name(code, lang).map(str::to_owned),
        );
        view.regions = ordered(
            &survey.by_region,
            &|code| {
                let name = classifiers.region_name(code, lang).unwrap_or_default();
                (0, name.to_lowercase())
            },
            &|code| classifiers.region_name(code, lang).map(str::to_owned),
        );
        const SIZES: [&str; 4] = ["micro", "small", "medium", "large"];
        view.sizes = ordered(
            &survey.by_size,
            &|code| {
                (
                    SIZES.iter().position(|s| *s == code).unwrap_or(999),
                    String::new(),
                )
            },
            &|code| SIZES.contains(&code).then(|| t(&format!("survey.{code}"))),
        );
        // Regions down, industry groups across: the wider list runs down the page.
        let x = &survey.sector_region;
        view.cross_columns = x
            .sectors
            .iter()
            .map(|code| group_label(code, classifiers.sector_name(code, lang)))
            .collect();
        view.cross_rows = x
            .regions
            .iter()
            .enumerate()
            .map(|(r, code)| CrossRow {
                label: group_label(code, classifiers.region_name(code, lang)),
                cells: x
                    .cells
                    .iter()
                    .map(|row| {
                        row[r].as_ref().map(|c| {
                            (
                                c.enterprises.to_string(),
                                if c.enterprises == 0 {
                                    String::new()
                                } else {
                                    fmt_score(c.mean_verified)
                                },
                            )
                        })
                    })
                    .collect(),
            })
            .collect();
        view.gap_intro = labels.fill(
            "survey.gap_intro",
            lang,
            &[
                ("n", &national.with_evidence.to_string()),
                ("gap", &fmt_gap(national.mean_gap)),
                (
                    "contradictions",
                    &pct(national.with_contradiction, national.with_evidence),
                ),
            ],
        );
        let finding_name = |id: &str| {
            let key = format!("finding.{}", id.strip_prefix("opcua.").unwrap_or(id));
            labels.get(&key, lang).to_owned()
        };
        view.findings = prevalence(&survey.findings, &finding_name);
        view.with_finding = pct(national.with_finding, national.with_evidence);
        view.holding_back = prevalence(&survey.holding_back, &dimension_name);
        view.caps = prevalence(&survey.caps, &|id: &str| {
            questionnaire
                .rule(id)
                .map_or(id.to_owned(), |r| r.text.get(lang).to_owned())
        });
        view.actions = prevalence(&survey.actions, &|id: &str| {
            questionnaire
                .action(id)
                .map_or(id.to_owned(), |a| a.title.get(lang).to_owned())
        });
        let trend = &survey.trend;
        view.trend_title = labels.fill(
            "survey.trend",
            lang,
            &[
                ("from", trend.from_round.as_deref().unwrap_or("—")),
                ("to", &survey.round),
            ],
        );
        match &trend.trend {
            Some(tr) => {
                view.has_trend = true;
                view.trend_intro =
                    labels.fill("survey.trend_intro", lang, &[("n", &tr.panel.to_string())]);
                view.trend_figures = vec![
                    (
                        t("survey.mean_verified"),
                        fmt_score(tr.mean_before),
                        fmt_score(tr.mean_after),
                    ),
                    (
                        t("survey.industry_2"),
                        pct(tr.levels_before[0], tr.panel),
                        pct(tr.levels_after[0], tr.panel),
                    ),
                    (
                        t("survey.industry_3"),
                        pct(tr.levels_before[1], tr.panel),
                        pct(tr.levels_after[1], tr.panel),
                    ),
                    (
                        t("survey.industry_4"),
                        pct(tr.levels_before[2], tr.panel),
                        pct(tr.levels_after[2], tr.panel),
                    ),
                    (
                        t("survey.improved"),
                        String::new(),
                        pct(tr.improved, tr.panel),
                    ),
                    (
                        t("survey.unchanged"),
                        String::new(),
                        pct(tr.unchanged, tr.panel),
                    ),
                    (
                        t("survey.declined"),
                        String::new(),
                        pct(tr.declined, tr.panel),
                    ),
                ];
                view.trend_sectors = tr
                    .by_sector
                    .iter()
                    .map(|g| TrendRow {
                        label: group_label(&g.code, classifiers.sector_name(&g.code, lang)),
                        n: g.panel,
                        before: fmt_score(g.mean_before),
                        after: fmt_score(g.mean_after),
                        improved: g.improved,
                        declined: g.declined,
                    })
                    .collect();
            }
            None => {
                let key = match trend.withheld.as_deref() {
                    Some("panel-below-k") => "survey.panel_below_k",
                    Some("remainder-below-k") => "survey.remainder_below_k",
                    _ => "survey.no_previous_round",
                };
                view.trend_intro = labels.fill(key, lang, &[("k", &k)]);
            }
        }
        view
    }
}

#[derive(Template)]
#[template(path = "survey.html")]
struct SurveyTemplate<'a> {
    v: &'a SurveyView,
    labels: &'a Labels,
    lang: Lang,
}

impl SurveyTemplate<'_> {
    fn t(&self, key: &str) -> String {
        self.labels.get(key, self.lang).to_owned()
    }
}

/// Renders the dashboard of `survey`.
pub fn render(
    survey: &Survey,
    questionnaire: &Questionnaire,
    classifiers: &Classifiers,
    lang: Lang,
) -> String {
    let labels = Labels::builtin();
    let view = SurveyView::build(survey, questionnaire, classifiers, &labels, lang);
    SurveyTemplate {
        v: &view,
        labels: &labels,
        lang,
    }
    .render()
    .expect("rendering into a String cannot fail")
}
