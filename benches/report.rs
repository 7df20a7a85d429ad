//! Report benchmark: builds the view model and renders the HTML report of the
//! demo-sized assessment (the contradiction fixture with the default plant's
//! evidence: 9 assets, 19 rules, two dozen roadmap actions) in each language.
//! Prints the median and worst render time and the report's size.
//! Target: ≤ 50 ms per report.
//!
//! Run: `cargo bench --bench report`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use i4gauge::answers::Answers;
use i4gauge::assess::{self, Inputs as AssessInputs};
use i4gauge::evidence::Evidence;
use i4gauge::questionnaire::{Lang, Questionnaire};
use i4gauge::report::{self, Inputs};

const RUNS: usize = 50;

fn main() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/assess");
    let questionnaire = Questionnaire::builtin();
    let answers =
        Answers::load(&fixtures.join("contradiction/answers.toml"), &questionnaire).unwrap();
    let evidence = vec![Evidence::load(&fixtures.join("evidence-default.json")).unwrap()];
    let assessment = assess::assess(AssessInputs {
        questionnaire: &questionnaire,
        answers: &answers,
        evidence: &evidence,
        targets: &BTreeMap::new(),
    })
    .unwrap();
    println!(
        "report: {} assets, {} rules, {} roadmap actions; {RUNS} runs per language",
        evidence[0].assets.len(),
        assessment.rules.len(),
        assessment.roadmap.actions.len()
    );
    for lang in Lang::ALL {
        let mut times: Vec<Duration> = Vec::with_capacity(RUNS);
        let mut size = 0;
        for _ in 0..RUNS {
            let started = Instant::now();
            let html = report::render(&Inputs {
                assessment: &assessment,
                questionnaire: &questionnaire,
                evidence: &evidence,
                previous: &[],
                lang,
            });
            times.push(started.elapsed());
            size = html.len();
        }
        times.sort();
        println!(
            "  {}: median {:.2} ms, worst {:.2} ms, {:.1} KiB (target ≤ 50 ms)",
            lang.code(),
            times[RUNS / 2].as_secs_f64() * 1000.0,
            times[RUNS - 1].as_secs_f64() * 1000.0,
            size as f64 / 1024.0
        );
    }
}
