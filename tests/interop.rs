//! Third-party clients read the simulated plant: pymodbus and asyncua (from
//! PyPI, pinned in `tests/interop/requirements.txt`, installed into `.venv/` by
//! `.ci/run`) check every device against the manifest with
//! `tests/interop/check_sim.py`. This proves the simulator speaks the protocols
//! as others implement them, not only as our own client libraries do.

use std::{process::Stdio, time::Duration};

use i4gauge::sim::{PlantSpec, spec::SCENARIOS};

use crate::util::{interop_dir, python, start};

async fn check_with_third_party_clients(plant_name: &str) {
    let plant = start(&PlantSpec::scenario(plant_name).unwrap()).await;
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("manifest.json");
    std::fs::write(
        &manifest,
        serde_json::to_vec_pretty(plant.manifest()).unwrap(),
    )
    .unwrap();
    let script = interop_dir().join("check_sim.py");
    let child = tokio::process::Command::new(python())
        .arg(&script)
        .arg(&manifest)
        .args([
            "--password",
            "operator=operator-sim,historian=historian-sim",
        ])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python starts");
    let output = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{plant_name}: the interop check took over 120 s"))
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{plant_name}: third-party clients disagree with the manifest\n{stdout}\n{stderr}"
    );
    let summary = stdout.lines().last().unwrap_or_default();
    assert!(summary.ends_with(" 0 failed"), "{plant_name}: {summary}");
    let passed: usize = summary.split(' ').next().unwrap().parse().unwrap();
    assert!(
        passed >= plant.manifest().devices.len(),
        "{plant_name}: only {passed} checks ran"
    );
    plant.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pymodbus_and_asyncua_read_every_shipped_plant_as_its_manifest_says() {
    for (name, _) in SCENARIOS {
        check_with_third_party_clients(name).await;
    }
}
