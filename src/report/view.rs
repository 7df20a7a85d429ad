//! The report's view model: every value the template shows, already formatted
//! and sanitised, built from domain types. Domain types know nothing of
//! templates; the template knows nothing of domain types.

use serde::Serialize;

use super::filters::{gap, percent, score, untrusted};
use super::svg::{self, Series};
use crate::assess::{Assessment, Direction, Phase, RuleOutcome, Trigger};
use crate::evidence::{AssetRole, Attachment, Evidence};
use crate::questionnaire::glossary::Glossary;
use crate::questionnaire::ui::Labels;
use crate::questionnaire::{CostClass, Effect, Lang, Questionnaire};

/// A label and a value.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// What it is.
    pub label: String,
    /// Its value (sanitised).
    pub value: String,
}

/// The headline figures.
#[derive(Debug, Clone, Serialize)]
pub struct Headline {
    /// Verified overall, one decimal.
    pub verified: String,
    /// Declared overall.
    pub declared: String,
    /// Signed gap.
    pub gap: String,
    /// Band, one decimal.
    pub band: String,
    /// Name of the band's level ("Automated islands").
    pub band_name: String,
    /// What the band looks like.
    pub band_descriptor: String,
    /// Confidence, completeness and coverage as percentages.
    pub confidence: String,
    /// Questionnaire answered.
    pub completeness: String,
    /// Evidence coverage.
    pub coverage: String,
    /// The gauge drawing (generated SVG, escaped inside).
    pub gauge_svg: String,
}

/// A contradiction, in words.
#[derive(Debug, Clone, Serialize)]
pub struct ContradictionView {
    /// "Connectivity: declared 4.0, evidence says 3.0".
    pub summary: String,
    /// Over- or under-declared, in words.
    pub direction: String,
    /// `over` or `under`, for styling.
    pub class: String,
    /// Rule id.
    pub rule: String,
    /// What the rule says.
    pub text: String,
    /// Other rules that contradict the same declaration less strongly.
    pub also: Vec<String>,
}

/// One dimension's row.
#[derive(Debug, Clone, Serialize)]
pub struct DimensionView {
    /// Name.
    pub name: String,
    /// Weight in percent.
    pub weight: String,
    /// Declared.
    pub declared: String,
    /// Verified.
    pub verified: String,
    /// Signed gap.
    pub gap: String,
    /// Target.
    pub target: String,
    /// Some question unanswered.
    pub incomplete: bool,
    /// Checked by evidence, in words.
    pub basis: String,
}

/// An asset row.
#[derive(Debug, Clone, Serialize)]
pub struct AssetView {
    /// Asset id (address, or address/unit).
    pub address: String,
    /// Role in words.
    pub role: String,
    /// ISA-95 level or dash.
    pub isa95: String,
    /// Vendor, product, version.
    pub identity: String,
    /// `Modbus TCP :502`, `OPC UA :4840`.
    pub protocols: String,
}

/// A security finding.
#[derive(Debug, Clone, Serialize)]
pub struct FindingView {
    /// Where.
    pub address: String,
    /// Severity in words.
    pub severity: String,
    /// `high`, `medium`, … for styling.
    pub class: String,
    /// What it is.
    pub title: String,
    /// What discovery saw (untrusted).
    pub detail: String,
    /// What to do.
    pub remedy: String,
}

/// A rule-log row.
#[derive(Debug, Clone, Serialize)]
pub struct RuleView {
    /// Id.
    pub id: String,
    /// Dimension name.
    pub dimension: String,
    /// "cap 3.0".
    pub effect: String,
    /// Outcome in words.
    pub outcome: String,
    /// `fired`, `not-fired`, `skipped`, for styling.
    pub class: String,
    /// Decisive for the verified score.
    pub decisive: bool,
    /// `opcua.servers = 0, modbus.devices = 6`.
    pub inputs: String,
    /// Conditions as written.
    pub conditions: String,
    /// The rule's text.
    pub text: String,
}

/// A roadmap action.
#[derive(Debug, Clone, Serialize)]
pub struct ActionView {
    /// Title.
    pub title: String,
    /// Dimension name and transition, "Connectivity 3.0 → 3.5".
    pub dimension: String,
    /// What to do.
    pub description: String,
    /// Effort 1–5.
    pub effort: String,
    /// Cost class in words.
    pub cost: String,
    /// Impact 1–5.
    pub impact: String,
    /// Standards.
    pub standards: String,
    /// Titles of prerequisites on this roadmap.
    pub prerequisites: Vec<String>,
    /// Answers, rules and dependents that put it here.
    pub because: Vec<String>,
}

/// A roadmap phase.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseView {
    /// "Months 0–6".
    pub title: String,
    /// Its actions in order.
    pub actions: Vec<ActionView>,
}

/// Progress between assessments: one row per dimension.
#[derive(Debug, Clone, Serialize)]
pub struct ProgressView {
    /// Column headings: dates of the assessments, oldest first, this one last.
    pub columns: Vec<String>,
    /// (dimension name or overall, verified score per column).
    pub rows: Vec<(String, Vec<String>)>,
    /// Set when some earlier assessment used another questionnaire (id or
    /// version) and was left out: it says so.
    pub not_comparable: Option<String>,
}

/// A level of the scale.
#[derive(Debug, Clone, Serialize)]
pub struct LevelView {
    /// "3.0".
    pub level: String,
    /// Name.
    pub name: String,
    /// Descriptor.
    pub descriptor: String,
}

/// Everything the report template shows.
#[derive(Debug, Clone, Serialize)]
pub struct ReportView {
    /// Language code for `<html lang>`.
    pub lang: String,
    /// Enterprise name (sanitised), for the title.
    pub enterprise_name: String,
    /// Profile rows.
    pub profile: Vec<Row>,
    /// Headline figures.
    pub headline: Headline,
    /// Contradictions.
    pub contradictions: Vec<ContradictionView>,
    /// The first actions of months 0–6.
    pub next_actions: Vec<ActionView>,
    /// Per dimension.
    pub dimensions: Vec<DimensionView>,
    /// The radar (generated SVG).
    pub radar_svg: String,
    /// Whether any evidence was given.
    pub have_evidence: bool,
    /// Scope in words.
    pub scope: String,
    /// Assets.
    pub assets: Vec<AssetView>,
    /// Topology (generated SVG), empty without assets.
    pub topology_svg: String,
    /// Findings, most severe first.
    pub findings: Vec<FindingView>,
    /// Rule log.
    pub rules: Vec<RuleView>,
    /// Roadmap by phase.
    pub phases: Vec<PhaseView>,
    /// Progress, when earlier assessments were given.
    pub progress: Option<ProgressView>,
    /// Scale.
    pub levels: Vec<LevelView>,
    /// Versions and inputs.
    pub versions: Vec<Row>,
    /// Glossary: (term in the report's language, English).
    pub glossary: Vec<(String, String)>,
    /// Footer.
    pub generated: String,
}

/// What a report is made of.
pub struct Inputs<'a> {
    /// The assessment.
    pub assessment: &'a Assessment,
    /// Its questionnaire (texts by id).
    pub questionnaire: &'a Questionnaire,
    /// The evidence it was made from (for the inventory and findings).
    pub evidence: &'a [Evidence],
    /// Earlier assessments of the same enterprise.
    pub previous: &'a [Assessment],
    /// Language.
    pub lang: Lang,
}

fn role_key(role: AssetRole) -> &'static str {
    match role {
        AssetRole::Plc => "role.plc",
        AssetRole::Gateway => "role.gateway",
        AssetRole::Meter => "role.meter",
        AssetRole::Drive => "role.drive",
        AssetRole::Io => "role.io",
        AssetRole::Hmi => "role.hmi",
        AssetRole::Scada => "role.scada",
        AssetRole::OpcUaServer => "role.opcua-server",
        AssetRole::Unknown => "role.unknown",
    }
}

impl ReportView {
    /// Builds the view model.
    pub fn build(inputs: &Inputs<'_>, labels: &Labels, glossary: &Glossary) -> ReportView {
        let Inputs {
            assessment,
            questionnaire,
            evidence,
            previous,
            lang,
        } = *inputs;
        let t = |key: &str| labels.get(key, lang).to_owned();
        let dimension_name = |id: &str| {
            questionnaire
                .dimension(id)
                .map_or_else(|| untrusted(id), |d| d.name.get(lang).to_owned())
        };
        let enterprise = &assessment.enterprise;
        let mut profile = vec![Row {
            label: t("report.enterprise"),
            value: untrusted(&enterprise.name),
        }];
        for (key, value) in [
            ("report.bin", &enterprise.bin),
            ("report.sector", &enterprise.sector),
            ("report.region", &enterprise.region),
            ("report.assessor", &enterprise.assessor),
            ("report.date", &enterprise.date),
        ] {
            if let Some(value) = value {
                profile.push(Row {
                    label: t(key),
                    value: untrusted(value),
                });
            }
        }

        let overall = &assessment.overall;
        let band_level = overall.band.and_then(|band| questionnaire.level(band));
        let headline = Headline {
            verified: score(overall.verified),
            declared: score(overall.declared),
            gap: gap(overall.gap),
            band: score(overall.band),
            band_name: band_level.map_or_else(String::new, |l| l.name.get(lang).to_owned()),
            band_descriptor: band_level
                .map_or_else(String::new, |l| l.descriptor.get(lang).to_owned()),
            confidence: percent(overall.confidence),
            completeness: percent(overall.completeness),
            coverage: percent(overall.evidence_coverage),
            gauge_svg: svg::gauge(overall.verified, overall.declared, &t("report.headline")),
        };

        // One entry per dimension and direction: the strongest rule, the others named.
        let mut strongest: Vec<&crate::assess::Contradiction> = Vec::new();
        for c in &assessment.contradictions {
            match strongest
                .iter_mut()
                .find(|s| s.dimension == c.dimension && s.direction == c.direction)
            {
                Some(kept) if c.gap.hundredths().abs() > kept.gap.hundredths().abs() => *kept = c,
                Some(_) => {}
                None => strongest.push(c),
            }
        }
        let contradictions = strongest
            .into_iter()
            .map(|c| ContradictionView {
                also: assessment
                    .contradictions
                    .iter()
                    .filter(|o| {
                        o.dimension == c.dimension && o.direction == c.direction && o.rule != c.rule
                    })
                    .map(|o| o.rule.clone())
                    .collect(),
                summary: labels.fill(
                    "report.contradiction_line",
                    lang,
                    &[
                        ("dimension", &dimension_name(&c.dimension)),
                        ("declared", &c.declared.one_decimal()),
                        ("level", &c.evidence_level.one_decimal()),
                    ],
                ),
                direction: t(match c.direction {
                    Direction::OverDeclared => "report.over_declared",
                    Direction::UnderDeclared => "report.under_declared",
                }),
                class: match c.direction {
                    Direction::OverDeclared => "over".to_owned(),
                    Direction::UnderDeclared => "under".to_owned(),
                },
                rule: c.rule.clone(),
                text: questionnaire
                    .rule(&c.rule)
                    .map_or_else(String::new, |r| r.text.get(lang).to_owned()),
            })
            .collect();

        let target_of = |id: &str| {
            assessment
                .roadmap
                .targets
                .iter()
                .find(|t| t.dimension == id)
                .map(|t| t.to)
        };
        let dimensions = assessment
            .dimensions
            .iter()
            .map(|d| DimensionView {
                name: dimension_name(&d.id),
                weight: format!("{} %", d.weight),
                declared: score(d.declared),
                verified: score(d.verified),
                gap: gap(d.gap),
                target: score(target_of(&d.id)),
                incomplete: d.incomplete,
                basis: t(if d.evidence_backed {
                    "report.evidence_backed"
                } else {
                    "report.not_evidence_backed"
                }),
            })
            .collect();
        let axes: Vec<String> = assessment
            .dimensions
            .iter()
            .map(|d| dimension_name(&d.id))
            .collect();
        let radar_svg = svg::radar(
            &axes,
            &[
                Series {
                    class: "target",
                    scores: assessment
                        .dimensions
                        .iter()
                        .map(|d| target_of(&d.id).or(d.verified))
                        .collect(),
                },
                Series {
                    class: "declared",
                    scores: assessment.dimensions.iter().map(|d| d.declared).collect(),
                },
                Series {
                    class: "verified",
                    scores: assessment.dimensions.iter().map(|d| d.verified).collect(),
                },
            ],
            &t("report.radar_caption"),
        );

        // Inventory, topology and findings from the evidence.
        let mut assets = Vec::new();
        let mut nodes = Vec::new();
        let mut findings = Vec::new();
        for document in evidence {
            let first = nodes.len();
            for asset in &document.assets {
                let identity = [
                    &asset.identity.vendor,
                    &asset.identity.product,
                    &asset.identity.revision,
                ]
                .into_iter()
                .flatten()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" / ");
                let identity = if identity.is_empty() {
                    asset.identity.application_name.clone().unwrap_or_default()
                } else {
                    identity
                };
                let mut protocols: Vec<String> = asset
                    .modbus
                    .iter()
                    .map(|m| format!("Modbus TCP :{}", m.port))
                    .collect();
                protocols.extend(asset.opcua.iter().map(|o| format!("OPC UA :{}", o.port)));
                if let Attachment::BehindGateway { unit_id, .. } = &asset.attachment {
                    protocols.push(format!("Modbus unit {unit_id}"));
                }
                assets.push(AssetView {
                    address: untrusted(&asset.id.to_string()),
                    role: t(role_key(asset.role.role)),
                    isa95: asset
                        .isa95_level
                        .map_or_else(|| "–".to_owned(), |l| l.to_string()),
                    identity: untrusted(&identity),
                    protocols: protocols.join(", "),
                });
                let row = match (&asset.attachment, asset.role.role) {
                    (Attachment::BehindGateway { .. }, _) => 2,
                    (_, AssetRole::Scada | AssetRole::Hmi) => 0,
                    _ if asset.isa95_level.is_some_and(|l| l >= 3) => 0,
                    _ => 1,
                };
                let parent = match &asset.attachment {
                    Attachment::BehindGateway { gateway, .. } => document
                        .assets
                        .iter()
                        .position(|a| &a.id == gateway)
                        .map(|p| first + p),
                    Attachment::Network => None,
                };
                let detail: String = untrusted(&identity).chars().take(26).collect();
                nodes.push(svg::Node {
                    row,
                    title: t(role_key(asset.role.role)),
                    address: untrusted(&asset.id.to_string()).chars().take(26).collect(),
                    detail,
                    parent,
                    class: role_key(asset.role.role)
                        .trim_start_matches("role.")
                        .to_owned(),
                });
                for server in &asset.opcua {
                    for finding in &server.security_findings {
                        let id = finding.id.trim_start_matches("opcua.");
                        let known = labels.contains(&format!("finding.{id}"));
                        let severity = format!("{:?}", finding.severity).to_lowercase();
                        findings.push((
                            finding.severity,
                            FindingView {
                                address: untrusted(&format!("{}:{}", asset.address, server.port)),
                                severity: t(&format!("severity.{severity}")),
                                class: severity,
                                title: if known {
                                    t(&format!("finding.{id}"))
                                } else {
                                    untrusted(&finding.id)
                                },
                                detail: untrusted(&finding.detail),
                                remedy: if known {
                                    t(&format!("remedy.{id}"))
                                } else {
                                    String::new()
                                },
                            },
                        ));
                    }
                }
            }
        }
        findings.sort_by_key(|finding| std::cmp::Reverse(finding.0));
        let findings: Vec<FindingView> = findings.into_iter().map(|(_, f)| f).collect();
        let topology_svg = if nodes.is_empty() {
            String::new()
        } else {
            svg::topology(&nodes, &t("report.topology"), "Ethernet")
        };

        let rules = assessment
            .rules
            .iter()
            .map(|r| {
                let (outcome, class) = match r.outcome {
                    RuleOutcome::Fired => ("report.fired", "fired"),
                    RuleOutcome::NotFired => ("report.not_fired", "not-fired"),
                    RuleOutcome::SkippedScope => ("report.skipped_scope", "skipped"),
                    RuleOutcome::NoEvidence => ("report.no_evidence_rule", "skipped"),
                };
                RuleView {
                    id: r.id.clone(),
                    dimension: dimension_name(&r.dimension),
                    effect: format!(
                        "{} {}",
                        t(match r.effect {
                            Effect::Cap => "report.cap",
                            Effect::Floor => "report.floor",
                        }),
                        r.level
                    ),
                    outcome: t(outcome),
                    class: class.to_owned(),
                    decisive: r.decisive,
                    inputs: r
                        .inputs
                        .iter()
                        .map(|(fact, value)| format!("{fact} = {value}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    conditions: r.conditions.join(" ∧ "),
                    text: questionnaire
                        .rule(&r.id)
                        .map_or_else(String::new, |rule| rule.text.get(lang).to_owned()),
                }
            })
            .collect();

        let action_title = |id: &str| {
            questionnaire
                .action(id)
                .map_or_else(|| untrusted(id), |a| a.title.get(lang).to_owned())
        };
        let question_text = |id: &str| {
            questionnaire
                .question(id)
                .map_or_else(|| untrusted(id), |(_, q)| q.text.get(lang).to_owned())
        };
        let action_view = |planned: &crate::assess::PlannedAction| {
            let action = questionnaire.action(&planned.id);
            ActionView {
                title: action_title(&planned.id),
                dimension: format!(
                    "{} {} → {}",
                    dimension_name(&planned.dimension),
                    planned.from,
                    planned.to
                ),
                description: action
                    .map_or_else(String::new, |a| a.description.get(lang).to_owned()),
                effort: action.map_or_else(String::new, |a| format!("{}/5", a.effort)),
                cost: action.map_or_else(String::new, |a| {
                    t(match a.cost {
                        CostClass::Low => "report.cost_low",
                        CostClass::Medium => "report.cost_medium",
                        CostClass::High => "report.cost_high",
                    })
                }),
                impact: action.map_or_else(String::new, |a| format!("{}/5", a.impact)),
                standards: action.map_or_else(String::new, |a| a.standards.join(", ")),
                prerequisites: planned
                    .prerequisites
                    .iter()
                    .map(|p| action_title(p))
                    .collect(),
                because: planned
                    .triggered_by
                    .iter()
                    .map(|trigger| match trigger {
                        Trigger::Answer { question, level } => labels.fill(
                            "report.answer_trigger",
                            lang,
                            &[
                                ("question", &question_text(question)),
                                ("level", &level.to_string()),
                            ],
                        ),
                        Trigger::Rule { rule } => {
                            labels.fill("report.rule_trigger", lang, &[("rule", rule)])
                        }
                        Trigger::PrerequisiteOf { action } => labels.fill(
                            "report.prerequisite_trigger",
                            lang,
                            &[("action", &action_title(action))],
                        ),
                    })
                    .collect(),
            }
        };
        let phases: Vec<PhaseView> = [Phase::Now, Phase::Next, Phase::Later]
            .into_iter()
            .map(|phase| PhaseView {
                title: labels.fill("report.phase", lang, &[("months", phase.months())]),
                actions: assessment
                    .roadmap
                    .actions
                    .iter()
                    .filter(|a| a.phase == phase)
                    .map(action_view)
                    .collect(),
            })
            .collect();
        let next_actions = phases[0].actions.iter().take(5).cloned().collect();

        let progress = (!previous.is_empty()).then(|| {
            let mut all: Vec<&Assessment> = previous
                .iter()
                .filter(|p| p.questionnaire == assessment.questionnaire)
                .collect();
            let not_comparable = (all.len() < previous.len()).then(|| t("report.not_comparable"));
            all.push(assessment);
            let columns = all
                .iter()
                .map(|a| {
                    a.enterprise
                        .date
                        .as_deref()
                        .map_or_else(|| "–".to_owned(), untrusted)
                })
                .collect();
            let mut rows = vec![(
                t("report.verified"),
                all.iter().map(|a| score(a.overall.verified)).collect(),
            )];
            for dimension in &assessment.dimensions {
                rows.push((
                    dimension_name(&dimension.id),
                    all.iter()
                        .map(|a| score(a.dimension(&dimension.id).and_then(|d| d.verified)))
                        .collect(),
                ));
            }
            ProgressView {
                columns,
                rows,
                not_comparable,
            }
        });

        let levels = questionnaire
            .levels
            .iter()
            .map(|l| LevelView {
                level: l.level.to_string(),
                name: l.name.get(lang).to_owned(),
                descriptor: l.descriptor.get(lang).to_owned(),
            })
            .collect();
        let mut versions = vec![
            Row {
                label: t("report.questionnaire"),
                value: format!(
                    "{} {}",
                    untrusted(&assessment.questionnaire.id),
                    untrusted(&assessment.questionnaire.version)
                ),
            },
            Row {
                label: t("report.scoring_method"),
                value: untrusted(&assessment.scoring_method),
            },
            Row {
                label: t("report.tool"),
                value: format!("i4gauge {}", untrusted(&assessment.tool_version)),
            },
        ];
        for run in &assessment.evidence.runs {
            versions.push(Row {
                label: t("report.scans"),
                value: untrusted(&format!(
                    "{} — {} ({})",
                    run.started_at,
                    run.targets.join(" "),
                    run.site.as_deref().unwrap_or("-")
                )),
            });
        }
        let scope = t(if assessment.scope.complete {
            "report.scope_complete"
        } else {
            "report.scope_partial"
        });
        let glossary = glossary
            .terms()
            .iter()
            .map(|term| (term.text(lang).to_owned(), term.en.clone()))
            .collect();
        ReportView {
            lang: lang.code().to_owned(),
            enterprise_name: untrusted(&enterprise.name),
            profile,
            headline,
            contradictions,
            next_actions,
            dimensions,
            radar_svg,
            have_evidence: !evidence.is_empty(),
            scope,
            assets,
            topology_svg,
            findings,
            rules,
            phases,
            progress,
            levels,
            versions,
            glossary,
            generated: labels.fill(
                "report.generated",
                lang,
                &[("version", env!("CARGO_PKG_VERSION"))],
            ),
        }
    }
}
