//! `i4gauge demo`: the whole pipeline on the built-in simulated plant, on
//! loopback only: start the plant, discover it (Modbus TCP and OPC UA), assess
//! it with built-in sample answers that the evidence partly contradicts, write
//! evidence, answers, assessment and report, and stop the plant.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::answers::{Answers, Format};
use crate::assess::{self, Assessment};
use crate::discover::opcua::browse::BrowseLimits;
use crate::discover::opcua::{OpcUaCredentials, OpcUaProbeConfig};
use crate::discover::scan::{DiscoverConfig, ProgressSink, discover};
use crate::discover::targets::ScanHost;
use crate::evidence::{Evidence, Scope, UnitIdPolicy};
use crate::questionnaire::{Lang, Questionnaire};
use crate::report;
use crate::sim::manifest::ManifestDevice;
use crate::sim::spec::PlantSpec;
use crate::sim::{SimOptions, start_plant};

/// The sample answers the demo assesses (`questionnaires/demo-answers.toml`).
pub const DEMO_ANSWERS: &str = include_str!("../questionnaires/demo-answers.toml");

/// The first address of the demo plant; each device gets the next one.
pub const DEMO_BIND: Ipv4Addr = Ipv4Addr::new(127, 77, 0, 1);

/// What the demo wrote.
#[derive(Debug, Clone)]
pub struct DemoFiles {
    /// `evidence.json`.
    pub evidence: PathBuf,
    /// `answers.toml`.
    pub answers: PathBuf,
    /// `assessment.json`.
    pub assessment: PathBuf,
    /// `report.html`.
    pub report: PathBuf,
    /// `dashboard.html`: the survey dashboard of a synthetic population.
    pub dashboard: PathBuf,
    /// Enterprises in that population's latest round.
    pub population: usize,
    /// The assessment itself, for a summary.
    pub result: Assessment,
    /// Assets discovered.
    pub assets: usize,
}

/// Runs the demo, writing into `out` (created if missing).
pub async fn run(
    out: &Path,
    lang: Lang,
    progress: Arc<dyn ProgressSink>,
) -> anyhow::Result<DemoFiles> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let spec = PlantSpec::builtin_default();
    let options = SimOptions {
        bind: IpAddr::V4(DEMO_BIND),
        host_per_device: true,
        ..SimOptions::default()
    };
    let plant = start_plant(&spec, &options)
        .await
        .context("cannot start the simulated plant on loopback")?;
    let manifest = plant.manifest().clone();
    let hosts: Vec<ScanHost> = manifest
        .devices
        .iter()
        .map(|device| ScanHost {
            address: device.address().ip(),
            hostname: Some(device.name().to_owned()),
            ports: Some(vec![device.address().port()]),
        })
        .collect();
    let ports = |opcua: bool| -> Vec<u16> {
        manifest
            .devices
            .iter()
            .filter(|d| matches!(d, ManifestDevice::Opcua(_)) == opcua)
            .map(|d| d.address().port())
            .collect()
    };
    // The demo knows its own plant: the line controller's user from the plant file.
    let credentials = spec
        .opcua
        .iter()
        .flat_map(|server| &server.users)
        .next()
        .map(|user| OpcUaCredentials {
            user: user.user.clone(),
            password: user.password.clone(),
        });
    let timeout = Duration::from_secs(2);
    let config = DiscoverConfig {
        modbus_ports: ports(false),
        opcua_ports: ports(true),
        opcua: OpcUaProbeConfig {
            timeout,
            credentials,
            user_certificate: None,
            browse: Some(BrowseLimits {
                max_nodes: 20_000,
                max_depth: 10,
                nodes_per_request: 1000,
                requests_in_flight: 8,
                timeout,
                budget: Duration::from_secs(30),
            }),
            pki_dir: None,
        },
        rate: 200,
        host_rate: 200,
        timeout,
        deadline: Some(Duration::from_secs(60)),
        unit_ids: UnitIdPolicy::Auto,
        parallel_hosts: 16,
        site: Some("demo".to_owned()),
        scope: Scope {
            targets: hosts
                .iter()
                .map(|h| format!("{}:{}", h.address, h.ports.as_ref().map_or(0, |p| p[0])))
                .collect(),
            excluded: Vec::new(),
            address_count: hosts.len() as u64,
            declared_complete: true,
        },
    };
    let evidence = discover(hosts, &config, progress, CancellationToken::new()).await;
    plant.shutdown().await;
    finish(out, lang, evidence)
}

/// Assesses the demo evidence with the sample answers and writes the files.
fn finish(out: &Path, lang: Lang, evidence: Evidence) -> anyhow::Result<DemoFiles> {
    let questionnaire = Questionnaire::builtin();
    let answers = Answers::parse(
        DEMO_ANSWERS,
        "questionnaires/demo-answers.toml",
        Format::Toml,
        &questionnaire,
    )
    .expect("the demo answers are valid (tested)");
    let mut files = DemoFiles {
        evidence: out.join("evidence.json"),
        answers: out.join("answers.toml"),
        assessment: out.join("assessment.json"),
        report: out.join("report.html"),
        dashboard: out.join("dashboard.html"),
        population: 0,
        result: assess::assess(assess::Inputs {
            questionnaire: &questionnaire,
            answers: &answers,
            evidence: std::slice::from_ref(&evidence),
            targets: &BTreeMap::new(),
        })?,
        assets: evidence.assets.len(),
    };
    evidence.save(&files.evidence)?;
    crate::source::write_atomic(&files.answers, DEMO_ANSWERS.as_bytes())?;
    crate::source::write_atomic(&files.assessment, files.result.to_json().as_bytes())?;
    let html = report::render(&report::Inputs {
        assessment: &files.result,
        questionnaire: &questionnaire,
        evidence: std::slice::from_ref(&evidence),
        previous: &[],
        lang,
    });
    crate::source::write_atomic(&files.report, html.as_bytes())?;
    let (dashboard, population) = dashboard(&questionnaire, lang);
    crate::source::write_atomic(&files.dashboard, dashboard.as_bytes())?;
    files.population = population;
    Ok(files)
}

/// The survey dashboard of a synthetic population of two yearly rounds, as a
/// ministry would see it (`i4gauge survey` does the same from real files).
fn dashboard(questionnaire: &Questionnaire, lang: Lang) -> (String, usize) {
    use crate::survey::aggregate::{Inputs, Round, aggregate};
    use crate::survey::{Classifiers, DEFAULT_K, Member, synth};
    let spec = synth::Spec {
        enterprises: 2000,
        rounds: 2,
        first_year: 2025,
        seed: 1,
    };
    let (mut before, mut after) = (Vec::new(), Vec::new());
    synth::for_each(questionnaire, &spec, |generated| {
        let mut member = Member::of(&generated.assessment);
        // Synthetic BINs are unique numbers: they identify the enterprise across rounds.
        member.enterprise = generated
            .assessment
            .enterprise
            .bin
            .as_deref()
            .and_then(|b| b.parse().ok())
            .unwrap_or_default();
        if generated.round == "2025" {
            before.push(member);
        } else {
            after.push(member);
        }
    });
    let classifiers = Classifiers::builtin();
    let survey = aggregate(Inputs {
        current: Round {
            label: "2026",
            members: &after,
        },
        previous: Some(Round {
            label: "2025",
            members: &before,
        }),
        questionnaire,
        classifiers: &classifiers,
        k: DEFAULT_K,
    });
    (
        report::survey::render(&survey, questionnaire, &classifiers, lang),
        after.len(),
    )
}
