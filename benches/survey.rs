//! Survey benchmark: imports a synthetic population of assessment files into a
//! fresh store, then builds the dashboard (read the round back, aggregate,
//! render) — what `i4gauge survey import DIR` and `survey report` do.
//! Targets: 10,000 assessments imported and reported in ≤ 2 s; 100,000 in
//! ≤ 20 s with ≤ 1 GB peak memory.
//!
//! Run: `cargo bench --bench survey` (10,000), or
//! `I4GAUGE_SURVEY_N=100000 cargo bench --bench survey`.
//! The population (one round, seed 1) is generated once into
//! `target/survey-bench/N/` and reused; generating is not timed. Peak memory
//! is the process's high-water mark (VmHWM) measured after a generation-free
//! run (the population already on disk); with generation it is reported too.

use std::path::PathBuf;
use std::time::Instant;

use i4gauge::history::Store;
use i4gauge::questionnaire::{Lang, Questionnaire};
use i4gauge::report;
use i4gauge::survey::{self, Classifiers, import, load_round, synth};

/// The allocator of the `i4gauge` binary (src/main.rs), so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn peak_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// CPU seconds (user + system) this process has used so far.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    // After the command name: state is field 3, utime 14 and stime 15 (1-based).
    let ticks = |i: usize| {
        fields
            .get(i - 3)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(14) + ticks(15)) / 100.0
}

fn main() {
    let n: usize = std::env::var("I4GAUGE_SURVEY_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let questionnaire = Questionnaire::builtin();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/survey-bench")
        .join(n.to_string());
    let round_dir = dir.join("2025");
    let existing = std::fs::read_dir(&round_dir).map_or(0, |d| d.count());
    let mut generated = false;
    if existing != n {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&round_dir).unwrap();
        let started = Instant::now();
        let spec = synth::Spec {
            enterprises: n,
            rounds: 1,
            first_year: 2025,
            seed: 1,
        };
        synth::for_each(&questionnaire, &spec, |g| {
            let bin = g.assessment.enterprise.bin.clone().unwrap_or_default();
            std::fs::write(
                round_dir.join(format!("{bin}.json")),
                g.assessment.to_json(),
            )
            .unwrap();
        });
        generated = true;
        println!(
            "generated {n} assessments in {:.1} s (not part of the figures)",
            started.elapsed().as_secs_f64()
        );
    }
    let files = import::expand(std::slice::from_ref(&dir)).unwrap();
    let bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
        .sum();
    let store_dir = tempfile::tempdir().unwrap();
    let store_path = store_dir.path().join("store.sqlite3");

    // Write back what generating (or an earlier run) left dirty, so that it
    // does not compete with the import for the disk.
    let _ = std::process::Command::new("sync").status();
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let mut store = Store::open(&store_path).unwrap();
    let (_, summary) =
        import::import(&mut store, &files, None, &questionnaire, &mut |_| {}).unwrap();
    let imported = started.elapsed();
    assert_eq!(summary.imported, n, "every file imports");

    let started = Instant::now();
    let classifiers = Classifiers::builtin();
    let (current, previous) = load_round(&store, None).unwrap();
    let survey = survey::of_rounds(&current, previous.as_ref(), &questionnaire, &classifiers, 5);
    let html = report::survey::render(&survey, &questionnaire, &classifiers, Lang::Kk);
    let reported = started.elapsed();
    let cpu = cpu_seconds() - cpu_before;
    let store_size = std::fs::metadata(&store_path).map_or(0, |m| m.len())
        + std::fs::metadata(store_path.with_extension("sqlite3-wal")).map_or(0, |m| m.len());

    let total = imported + reported;
    let target = if n <= 10_000 {
        2.0
    } else {
        20.0 * n as f64 / 100_000.0
    };
    println!(
        "survey: {n} assessments ({:.0} MiB of JSON) on {} cores",
        bytes as f64 / 1048576.0,
        std::thread::available_parallelism().map_or(1, |p| p.get())
    );
    println!(
        "  import {:.2} s ({:.0} files/s), report {:.2} s ({:.0} KiB kk dashboard), total {:.2} s (target ≤ {target:.0} s)",
        imported.as_secs_f64(),
        n as f64 / imported.as_secs_f64(),
        reported.as_secs_f64(),
        html.len() as f64 / 1024.0,
        total.as_secs_f64()
    );
    println!("  CPU time {cpu:.2} s (user + system; wall ≥ CPU / cores when nothing else runs)");
    println!(
        "  peak memory {:.0} MiB{} (target ≤ 1024 MiB); store {:.0} MiB",
        peak_mib(),
        if generated {
            " including generation: run again for the import/report figure"
        } else {
            ""
        },
        store_size as f64 / 1048576.0
    );
}
