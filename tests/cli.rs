//! The binary as a user runs it: help, the simulator's lifecycle, errors and
//! exit codes.

use std::{
    io::{BufRead, BufReader, Read},
    process::{Child, Stdio},
    time::{Duration, Instant},
};

use chrono::Utc;
use i4gauge::{
    evidence::{Evidence, ScanParameters, ScanRun, ScanStatus, Scope, UnitIdPolicy},
    sim::Manifest,
};

use crate::util::i4gauge;

#[test]
fn help_teaches_the_commands_and_exit_codes() {
    let output = i4gauge().arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for expected in [
        "sim",
        "evidence",
        "Exit codes",
        "-v, --verbose",
        "-q, --quiet",
    ] {
        assert!(
            help.contains(expected),
            "--help lacks {expected:?}:\n{help}"
        );
    }
    let output = i4gauge().args(["sim", "--help"]).output().unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    for expected in [
        "--plant",
        "--scenario",
        "--bind",
        "--base-port",
        "--latency",
        "--json",
        "Examples",
    ] {
        assert!(help.contains(expected), "sim --help lacks {expected:?}");
    }
}

#[test]
fn a_usage_error_exits_2() {
    let output = i4gauge()
        .args(["sim", "--latency", "soon"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let output = i4gauge().arg("frobnicate").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
}

/// Reads stdout until it holds one complete JSON document.
fn read_manifest(child: &mut Child) -> Manifest {
    let stdout = child.stdout.take().unwrap();
    let mut reader = BufReader::new(stdout);
    let mut text = String::new();
    let started = Instant::now();
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no manifest within 60 s"
        );
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            panic!("sim exited before printing a manifest: {text}");
        }
        text.push_str(&line);
        if let Ok(manifest) = serde_json::from_str::<Manifest>(&text) {
            return manifest;
        }
    }
}

fn interrupt(child: &Child) {
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait_with_timeout(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("process did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sim_prints_a_json_manifest_serves_and_stops_cleanly_on_ctrl_c() {
    let cwd = tempfile::tempdir().unwrap();
    let mut child = i4gauge()
        .args(["sim", "--json"])
        .current_dir(cwd.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let manifest = read_manifest(&mut child);
    assert_eq!(manifest.plant, "default");
    assert_eq!(manifest.devices.len(), 6);
    for device in &manifest.devices {
        let address = device.address();
        assert!(address.ip().is_loopback(), "{address}");
        std::net::TcpStream::connect_timeout(&address, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("{} at {address} is not listening: {e}", device.name()));
    }
    let pki = manifest.pki_dir.clone();
    assert!(pki.exists());

    interrupt(&child);
    let status = wait_with_timeout(&mut child, Duration::from_secs(15));
    assert_eq!(status.code(), Some(0), "Ctrl-C is a clean stop");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(stderr.contains("stopped"), "{stderr}");
    assert!(
        !stderr.contains("ERROR"),
        "no library noise on stderr: {stderr}"
    );
    assert!(!pki.exists(), "the temporary PKI is removed");
    assert_eq!(
        std::fs::read_dir(cwd.path()).unwrap().count(),
        0,
        "nothing is written to the current directory"
    );
}

#[test]
fn sim_base_port_assigns_consecutive_ports() {
    // Find a free run of ports by binding an ephemeral one and using the range above it.
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = probe
        .local_addr()
        .unwrap()
        .port()
        .saturating_add(100)
        .min(60_000);
    drop(probe);
    let mut child = i4gauge()
        .args([
            "sim",
            "--json",
            "--scenario",
            "industry-2.5",
            "--base-port",
            &base.to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let manifest = read_manifest(&mut child);
    let ports: Vec<u16> = manifest
        .devices
        .iter()
        .map(|d| d.address().port())
        .collect();
    assert_eq!(ports, vec![base, base + 1]);
    interrupt(&child);
    assert_eq!(
        wait_with_timeout(&mut child, Duration::from_secs(15)).code(),
        Some(0)
    );
}

#[test]
fn a_broken_plant_file_names_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plant.toml");
    std::fs::write(
        &path,
        "name = \"x\"\n\n[[modbus]]\nname = \"plc\"\nrole = \"plc\"\nunits = [{ unit_id = 1, role = \"plc\", colour = \"red\" }]\n",
    )
    .unwrap();
    let output = i4gauge()
        .args(["sim", "--plant"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("plant.toml:6:"), "{stderr}");
    assert!(stderr.contains("colour"), "{stderr}");

    let output = i4gauge()
        .args(["sim", "--scenario", "industry-9.0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains("industry-3.5")
    );
}

fn evidence_with(status: ScanStatus) -> Evidence {
    Evidence::new(ScanRun {
        id: "run-1".into(),
        site: None,
        started_at: Utc::now(),
        finished_at: Some(Utc::now()),
        status,
        parameters: ScanParameters {
            modbus_ports: vec![502],
            opcua_ports: vec![4840],
            rate: 1000,
            host_rate: 40,
            max_in_flight_per_host: 1,
            timeout_ms: 1000,
            deadline_ms: None,
            unit_ids: UnitIdPolicy::Auto,
            opcua_browse: false,
        },
        scope: Scope {
            targets: vec!["127.0.0.1".into()],
            excluded: vec![],
            address_count: 1,
            declared_complete: false,
        },
    })
}

#[test]
fn evidence_check_exit_codes_follow_completeness_and_validity() {
    let dir = tempfile::tempdir().unwrap();
    let complete = dir.path().join("complete.json");
    let partial = dir.path().join("partial.json");
    let future = dir.path().join("future.json");
    evidence_with(ScanStatus::Complete).save(&complete).unwrap();
    evidence_with(ScanStatus::Incomplete {
        reason: "interrupted".into(),
        unfinished_targets: 5,
    })
    .save(&partial)
    .unwrap();
    let text = std::fs::read_to_string(&complete).unwrap();
    let current = format!("\"{}\"", i4gauge::evidence::SCHEMA_VERSION);
    assert!(text.contains(&current), "{text}");
    std::fs::write(&future, text.replace(&current, "\"3.1\"")).unwrap();

    let output = i4gauge()
        .args(["evidence", "check", "--json"])
        .arg(&complete)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary[0]["complete"], true);

    let output = i4gauge()
        .args(["evidence", "check"])
        .arg(&complete)
        .arg(&partial)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8(output.stdout)
            .unwrap()
            .contains("INCOMPLETE")
    );

    let output = i4gauge()
        .args(["evidence", "check"])
        .arg(&future)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("future.json") && stderr.contains("3.1"),
        "{stderr}"
    );
}

#[test]
fn demo_runs_the_whole_pipeline_on_loopback_and_writes_five_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let result = i4gauge()
        .args(["demo", "--lang", "kk", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert_eq!(
        result.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&result.stderr)
    );
    for file in [
        "evidence.json",
        "answers.toml",
        "assessment.json",
        "report.html",
        "dashboard.html",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
        assert!(
            stdout.contains(&out.join(file).display().to_string()),
            "{file} not printed: {stdout}"
        );
    }
    // Discovery found the whole default plant: 4 Modbus hosts, 3 devices behind
    // the gateway, 2 OPC UA servers.
    let evidence = i4gauge::evidence::Evidence::load(&out.join("evidence.json")).unwrap();
    assert_eq!(
        evidence.assets.len(),
        9,
        "{:#?}",
        evidence.assets.iter().map(|a| &a.id).collect::<Vec<_>>()
    );
    assert!(evidence.is_complete());
    assert!(
        evidence
            .assets
            .iter()
            .all(|a| a.address.to_string().starts_with("127.77.0."))
    );
    // The sample answers claim more cybersecurity than the open SCADA server allows.
    let text = std::fs::read_to_string(out.join("assessment.json")).unwrap();
    let assessment = i4gauge::assess::Assessment::from_json(&text, "assessment.json").unwrap();
    let contradiction = assessment
        .contradictions
        .iter()
        .find(|c| c.rule == "cybersecurity.open-opcua")
        .expect("the contradiction");
    assert_eq!(contradiction.evidence_level.to_string(), "2.5");
    assert!(stdout.contains("cybersecurity.open-opcua"), "{stdout}");
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(report.contains("<html lang=\"kk\">"));
    assert!(report.contains("Altyn Dala Foods (demo)"));
    assert!(report.contains("Индустрия 4.0 дайындығын бағалау есебі"));
    // The survey dashboard of the synthetic population: the national picture
    // with a trend, and no enterprise named.
    let dashboard = std::fs::read_to_string(out.join("dashboard.html")).unwrap();
    assert!(dashboard.contains("<html lang=\"kk\">"));
    assert!(dashboard.contains("ұлттық көрініс"), "the kk title");
    assert!(dashboard.contains("2025 → 2026"), "the trend section");
    assert!(!dashboard.contains("Synthetic Enterprise"));
    assert!(!dashboard.contains("9900000"), "no synthetic BIN");
}

#[test]
fn report_renders_an_assessment_and_refuses_a_foreign_questionnaire() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/assess");
    let assessment = dir.path().join("assessment.json");
    let status = i4gauge()
        .arg("assess")
        .arg("--answers")
        .arg(fixtures.join("contradiction/answers.toml"))
        .arg("--evidence")
        .arg(fixtures.join("evidence-industry-3.0.json"))
        .arg("-o")
        .arg(&assessment)
        .arg("-q")
        .output()
        .unwrap()
        .status;
    assert_eq!(status.code(), Some(0));
    let report = dir.path().join("report.html");
    let result = i4gauge()
        .arg("report")
        .arg(&assessment)
        .arg("--evidence")
        .arg(fixtures.join("evidence-industry-3.0.json"))
        .args(["--lang", "ru", "-o"])
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(
        result.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("Отчёт об оценке готовности к Индустрии 4.0"));
    assert!(html.contains("connectivity.modbus-only"));

    let text = std::fs::read_to_string(&assessment).unwrap();
    std::fs::write(
        &assessment,
        text.replacen("\"version\": \"1.0.0\"", "\"version\": \"0.9.0\"", 1),
    )
    .unwrap();
    let result = i4gauge()
        .arg("report")
        .arg(&assessment)
        .arg("-o")
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(result.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&result.stderr)
            .contains("was made with questionnaire i4gauge-core 0.9.0")
    );
}
