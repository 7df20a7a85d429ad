//! Discovery against the simulated plant: every Modbus device and sub-device is
//! found with its identity, gateways' absent unit ids are not devices, only
//! read function codes are ever sent, and the per-host caps hold.

use std::{collections::BTreeSet, sync::Arc, time::Duration};

use i4gauge::{
    discover::{
        modbus::frame::ALLOWED_FUNCTION_CODES,
        scan::{DiscoverConfig, NoProgress, discover},
        targets::ScanHost,
    },
    evidence::{AssetId, AssetRole, Attachment, Evidence, ScanStatus, Scope, UnitIdPolicy},
    sim::{ManifestDevice, PlantSpec, RunningPlant, SimOptions, start_plant},
};
use tokio_util::sync::CancellationToken;

use crate::util::modbus;

async fn start_spread(spec: &PlantSpec, first: [u8; 4]) -> RunningPlant {
    start_plant(
        spec,
        &SimOptions {
            bind: std::net::IpAddr::from(first),
            host_per_device: true,
            ..SimOptions::default()
        },
    )
    .await
    .expect("plant starts")
}

fn config(host_rate: u32) -> DiscoverConfig {
    DiscoverConfig {
        modbus_ports: vec![502],
        opcua_ports: vec![4840],
        opcua: i4gauge::discover::opcua::OpcUaProbeConfig {
            timeout: Duration::from_millis(500),
            credentials: None,
            user_certificate: None,
            browse: None,
            pki_dir: None,
        },
        rate: 1000,
        host_rate,
        timeout: Duration::from_millis(500),
        deadline: None,
        unit_ids: UnitIdPolicy::Auto,
        parallel_hosts: 64,
        site: None,
        scope: Scope {
            targets: vec![],
            excluded: vec![],
            address_count: 0,
            declared_complete: false,
        },
    }
}

/// One scan host per Modbus device of the plant, with its explicit port.
fn modbus_hosts(plant: &RunningPlant) -> Vec<ScanHost> {
    plant
        .manifest()
        .devices
        .iter()
        .filter_map(|device| match device {
            ManifestDevice::ModbusTcp(device) => Some(ScanHost {
                address: device.address.ip(),
                hostname: Some(device.name.clone()),
                ports: Some(vec![device.address.port()]),
            }),
            ManifestDevice::Opcua(_) => None,
        })
        .collect()
}

async fn scan(plant: &RunningPlant, host_rate: u32) -> Evidence {
    discover(
        modbus_hosts(plant),
        &config(host_rate),
        Arc::new(NoProgress),
        CancellationToken::new(),
    )
    .await
}

#[tokio::test]
async fn every_device_and_sub_device_of_the_default_plant_is_identified() {
    let plant = start_spread(&PlantSpec::builtin_default(), [127, 0, 10, 1]).await;
    let evidence = scan(&plant, 500).await;
    assert_eq!(evidence.runs[0].status, ScanStatus::Complete);
    let manifest = plant.manifest();
    let asset = |name: &str| {
        let address = modbus(manifest, name).address.ip();
        evidence
            .asset(&AssetId::host(address))
            .unwrap_or_else(|| panic!("{name} at {address} not found"))
    };

    let filling = asset("plc-filling");
    assert_eq!(filling.role.role, AssetRole::Plc);
    assert_eq!(filling.identity.vendor.as_deref(), Some("Altyn Automation"));
    assert_eq!(filling.identity.product_code.as_deref(), Some("AC-1200"));
    assert_eq!(filling.identity.revision.as_deref(), Some("V3.2.1"));
    assert_eq!(filling.identity.model.as_deref(), Some("AC-1200-ETH"));
    let service = &filling.modbus[0];
    assert!(
        service.answers_every_unit_id,
        "a TCP-native PLC answers every unit id"
    );
    assert_eq!(service.units.len(), 1);
    let identification = service.units[0].device_identification.as_ref().unwrap();
    let expected = modbus(manifest, "plc-filling").units[0]
        .identification
        .as_ref()
        .unwrap();
    assert_eq!(
        identification.objects.len(),
        expected.objects.len(),
        "all objects across more-follows"
    );
    for (got, want) in identification.objects.iter().zip(&expected.objects) {
        assert_eq!((got.id, got.text.as_str()), (want.id, want.value.as_str()));
    }

    let packing = asset("plc-packing");
    let server_id = packing.modbus[0].units[0].server_id.as_ref().unwrap();
    assert_eq!(
        server_id.hex,
        modbus(manifest, "plc-packing").units[0]
            .server_id
            .as_ref()
            .unwrap()
            .response_hex
    );
    assert!(
        server_id.text.contains("STEPPE CONTROLS SC-300"),
        "{}",
        server_id.text
    );
    assert_eq!(packing.role.role, AssetRole::Plc);

    let boiler = asset("plc-boiler");
    assert_eq!(
        boiler.identity,
        Default::default(),
        "no identity is invented"
    );
    assert_eq!(boiler.role.role, AssetRole::Plc);

    let gateway = asset("gateway-utilities");
    assert_eq!(gateway.role.role, AssetRole::Gateway);
    assert!(gateway.modbus[0].gateway);
    assert_eq!(gateway.identity.product_code.as_deref(), Some("MG-485"));
    let gateway_address = modbus(manifest, "gateway-utilities").address;
    let gateway_id = AssetId::host(gateway_address.ip());
    let sub_devices: Vec<_> = evidence
        .assets
        .iter()
        .filter(|a| matches!(&a.attachment, Attachment::BehindGateway { gateway, .. } if *gateway == gateway_id))
        .collect();
    let units: BTreeSet<u8> = sub_devices
        .iter()
        .map(|a| match a.attachment {
            Attachment::BehindGateway { unit_id, .. } => unit_id,
            Attachment::Network => unreachable!(),
        })
        .collect();
    assert_eq!(
        units,
        BTreeSet::from([3, 7, 12]),
        "exactly the serial devices, no absent unit id"
    );
    let role_of = |unit: u8| {
        evidence
            .asset(&AssetId::sub_device(gateway_address, unit))
            .unwrap()
            .role
            .role
    };
    assert_eq!(role_of(3), AssetRole::Meter);
    assert_eq!(role_of(7), AssetRole::Drive);
    assert_eq!(role_of(12), AssetRole::Io);
    // Unit 0 and 1 (initial probes) plus 2–247 except 3, 7 and 12: 2 + 243.
    assert_eq!(gateway.modbus[0].gateway_absent_unit_ids.len(), 245);

    // Nothing that isn't there: one host asset per Modbus device plus the sub-devices.
    assert_eq!(evidence.assets.len(), 4 + 3);
    plant.shutdown().await;
}

#[tokio::test]
async fn only_read_function_codes_are_ever_sent_and_the_host_caps_hold() {
    let plant = start_spread(&PlantSpec::builtin_default(), [127, 0, 11, 1]).await;
    let host_rate = 500;
    let evidence = scan(&plant, host_rate).await;
    assert!(evidence.is_complete());
    // Every unit id, too: the sweep path on TCP-native devices and the gateway.
    let mut all = config(host_rate);
    all.unit_ids = UnitIdPolicy::All;
    let swept = discover(
        modbus_hosts(&plant),
        &all,
        Arc::new(NoProgress),
        CancellationToken::new(),
    )
    .await;
    let filling = modbus(plant.manifest(), "plc-filling").address.ip();
    let filling = swept.asset(&AssetId::host(filling)).unwrap();
    assert!(
        filling.modbus[0].answers_every_unit_id,
        "249 identical answers collapse into one"
    );
    assert_eq!(filling.modbus[0].units.len(), 1);
    assert_eq!(
        swept.assets.len(),
        evidence.assets.len(),
        "--unit-ids all finds the same devices"
    );
    for device in &plant.manifest().devices {
        let ManifestDevice::ModbusTcp(device) = device else {
            continue;
        };
        let log = plant.modbus_log(&device.name).unwrap().requests();
        assert!(!log.is_empty(), "{} was probed", device.name);
        for request in &log {
            assert!(
                ALLOWED_FUNCTION_CODES.contains(&request.function_code),
                "{}: FC {} sent",
                device.name,
                request.function_code
            );
            assert_eq!(
                request.in_flight, 1,
                "{}: two requests in flight",
                device.name
            );
        }
        // The pacer spaces sends by 1/host_rate; arrival times jitter under load,
        // so the cap is checked over sliding 200 ms windows.
        let window = Duration::from_millis(200);
        let allowed = (window.as_secs_f64() * f64::from(host_rate)).ceil() as usize + 1;
        for (index, first) in log.iter().enumerate() {
            let in_window = log[index..]
                .iter()
                .take_while(|r| r.at - first.at < window)
                .count();
            assert!(
                in_window <= allowed,
                "{}: {in_window} requests within {window:?}, cap allows {allowed}",
                device.name
            );
        }
        if log.len() > allowed {
            let span = log.last().unwrap().at - log[0].at;
            let rate = (log.len() - 1) as f64 / span.as_secs_f64();
            assert!(
                rate <= f64::from(host_rate) * 1.05,
                "{}: {rate:.0} req/s",
                device.name
            );
        }
    }
    plant.shutdown().await;
}

#[tokio::test]
async fn a_deadline_keeps_what_was_found_and_marks_the_scan_incomplete() {
    let plant = start_spread(&PlantSpec::builtin_default(), [127, 0, 12, 1]).await;
    let mut config = config(20);
    config.deadline = Some(Duration::from_millis(700));
    let evidence = discover(
        modbus_hosts(&plant),
        &config,
        Arc::new(NoProgress),
        CancellationToken::new(),
    )
    .await;
    match &evidence.runs[0].status {
        ScanStatus::Incomplete { reason, .. } => assert_eq!(reason, "deadline"),
        ScanStatus::Complete => {
            panic!("a 700 ms deadline cannot finish a gateway sweep at 20 req/s")
        }
    }
    // The gateway sweep was cut short, but the PLCs were identified.
    let filling = modbus(plant.manifest(), "plc-filling").address.ip();
    assert!(evidence.asset(&AssetId::host(filling)).is_some());
    let text = evidence.to_json();
    assert_eq!(Evidence::from_json(&text, "<test>").unwrap(), evidence);
    plant.shutdown().await;
}

/// `i4gauge discover` as a user runs it, against a plant this test starts.
mod command {
    use std::{process::Stdio, time::Duration};

    use i4gauge::{
        evidence::{Evidence, ScanStatus},
        sim::PlantSpec,
    };

    use super::start_spread;
    use crate::util::{binary, modbus};

    fn discover_command() -> tokio::process::Command {
        let mut command = tokio::process::Command::new(binary());
        command
            .arg("discover")
            .env_remove("RUST_LOG")
            .kill_on_drop(true);
        command
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dry_run_prints_the_plan_and_sends_nothing() {
        let plant = start_spread(&PlantSpec::builtin_default(), [127, 0, 13, 1]).await;
        let device = modbus(plant.manifest(), "plc-filling");
        let output = discover_command()
            .arg(device.address.to_string())
            .args(["--dry-run", "--json"])
            .output()
            .await
            .unwrap();
        assert_eq!(output.status.code(), Some(0));
        let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(plan["probes"][0], device.address.to_string());
        assert_eq!(
            plan["function_codes"],
            serde_json::json!([1, 2, 3, 4, 17, 43])
        );
        assert!(plan["worst_case_seconds"].as_f64().unwrap() > 0.0);
        assert!(
            plant
                .modbus_log("plc-filling")
                .unwrap()
                .requests()
                .is_empty()
        );
        plant.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_evidence_and_a_json_summary_and_exits_0() {
        let plant = start_spread(&PlantSpec::builtin_default(), [127, 0, 14, 1]).await;
        let dir = tempfile::tempdir().unwrap();
        let output_path = dir.path().join("plant.json");
        let port = modbus(plant.manifest(), "plc-filling").address.port();
        let packing_port = modbus(plant.manifest(), "plc-packing").address.port();
        let output = discover_command()
            .arg(format!("127.0.14.1:{port}"))
            .arg(format!("127.0.14.2:{packing_port}"))
            .args(["--host-rate", "400", "--json", "-o"])
            .arg(&output_path)
            .output()
            .await
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(summary["complete"], true);
        assert_eq!(summary["assets"][0]["vendor"], "Altyn Automation");
        let evidence = Evidence::load(&output_path).unwrap();
        assert_eq!(evidence.assets.len(), 2);
        assert_eq!(evidence.runs[0].scope.targets.len(), 2);
        plant.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ctrl_c_writes_partial_evidence_marked_incomplete_and_exits_1() {
        let plant = start_spread(&PlantSpec::builtin_default(), [127, 0, 15, 1]).await;
        let gateway = modbus(plant.manifest(), "gateway-utilities").address;
        let dir = tempfile::tempdir().unwrap();
        let output_path = dir.path().join("partial.json");
        // At 20 requests/s the gateway sweep takes over 12 s: interrupt it.
        let child = discover_command()
            .arg(gateway.to_string())
            .args(["--host-rate", "20", "-o"])
            .arg(&output_path)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let pid = child.id().unwrap().to_string();
        let status = tokio::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .await
            .unwrap();
        assert!(status.success());
        let output = tokio::time::timeout(Duration::from_secs(15), child.wait_with_output())
            .await
            .expect("discover stops promptly after Ctrl-C")
            .unwrap();
        assert_eq!(output.status.code(), Some(1));
        let evidence = Evidence::load(&output_path).unwrap();
        assert_eq!(
            evidence.runs[0].status,
            ScanStatus::Incomplete {
                reason: "interrupted".into(),
                unfinished_targets: 1
            }
        );
        // What was found before the interruption is kept: the gateway itself.
        assert!(evidence.assets.iter().all(|a| a.address == gateway.ip()));
        assert_eq!(
            evidence.assets[0].id,
            i4gauge::evidence::AssetId::host(gateway.ip())
        );
        assert!(evidence.assets[0].modbus[0].gateway);
        assert!(String::from_utf8_lossy(&output.stdout).contains("INCOMPLETE"));
        plant.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_opcua_client_certificate_is_kept_only_where_asked() {
        let plant = start_spread(&PlantSpec::builtin_default(), [127, 0, 19, 1]).await;
        let line = crate::util::opcua(plant.manifest(), "line-controller").address;
        let cwd = tempfile::tempdir().unwrap();
        let pki = cwd.path().join("my-pki");
        let scan = |extra: Vec<std::ffi::OsString>| {
            let mut command = discover_command();
            command
                .arg(line.to_string())
                .args(["--opcua-ports", &line.port().to_string()])
                .args(["--opcua-user", "operator", "-o"])
                .arg(cwd.path().join("evidence.json"))
                .env("I4GAUGE_OPCUA_PASSWORD", "operator-sim")
                .current_dir(cwd.path())
                .args(extra);
            command.output()
        };
        // Default: a temporary PKI, nothing left behind but the evidence.
        let output = scan(vec![]).await.unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let left: Vec<_> = std::fs::read_dir(cwd.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("evidence.json")]);
        let evidence = Evidence::load(&cwd.path().join("evidence.json")).unwrap();
        assert_eq!(
            evidence.assets[0].opcua[0].session.as_ref().unwrap().login,
            "username"
        );
        // --opcua-pki-dir: created on first use, reused afterwards.
        let kept = vec!["--opcua-pki-dir".into(), pki.clone().into_os_string()];
        assert_eq!(scan(kept.clone()).await.unwrap().status.code(), Some(0));
        let certificate =
            std::fs::read(pki.join("own/cert.der")).expect("the client certificate is kept");
        assert_eq!(scan(kept).await.unwrap().status.code(), Some(0));
        assert_eq!(
            std::fs::read(pki.join("own/cert.der")).unwrap(),
            certificate,
            "reused, not remade"
        );
        plant.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unwritable_output_is_refused_before_anything_is_sent() {
        let plant = start_spread(&PlantSpec::builtin_default(), [127, 0, 20, 1]).await;
        let device = modbus(plant.manifest(), "plc-boiler");
        let output = discover_command()
            .arg(device.address.to_string())
            .args(["-o", "/nonexistent-i4gauge-dir/evidence.json"])
            .output()
            .await
            .unwrap();
        assert_eq!(output.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("/nonexistent-i4gauge-dir"), "{stderr}");
        assert!(
            plant
                .modbus_log("plc-boiler")
                .unwrap()
                .requests()
                .is_empty()
        );
        plant.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bad_targets_are_usage_errors_naming_the_target() {
        for (target, expected) in [("10.1.0.300", "10.1.0.300"), ("10.0.0.0/8", "16777216")] {
            let output = discover_command().arg(target).output().await.unwrap();
            assert_eq!(output.status.code(), Some(2), "{target}");
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(stderr.contains(expected), "{target}: {stderr}");
        }
    }
}

/// Devices that answer garbage: each becomes a diagnostic with the raw bytes,
/// never a crash or a hang.
mod quirks {
    use std::{net::SocketAddr, sync::Arc, time::Duration};

    use i4gauge::{
        discover::{
            scan::{NoProgress, discover},
            targets::ScanHost,
        },
        evidence::{DiagnosticKind, Evidence},
    };
    use tokio::{
        io::{AsyncReadExt, AsyncWriteExt},
        net::TcpListener,
    };
    use tokio_util::sync::CancellationToken;

    use super::config;

    /// A raw Modbus TCP server: `reply(transaction, unit, pdu)` gives the bytes to send.
    async fn quirky_server(reply: fn(u16, u8, &[u8]) -> Vec<u8>) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut header = [0u8; 7];
                    while stream.read_exact(&mut header).await.is_ok() {
                        let length = usize::from(u16::from_be_bytes([header[4], header[5]]));
                        let mut pdu = vec![0u8; length.saturating_sub(1)];
                        if stream.read_exact(&mut pdu).await.is_err() {
                            return;
                        }
                        let transaction = u16::from_be_bytes([header[0], header[1]]);
                        let bytes = reply(transaction, header[6], &pdu);
                        if stream.write_all(&bytes).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        address
    }

    fn frame(transaction: u16, unit: u8, pdu: &[u8]) -> Vec<u8> {
        let mut bytes = transaction.to_be_bytes().to_vec();
        bytes.extend_from_slice(&[0, 0]);
        bytes.extend_from_slice(&(pdu.len() as u16 + 1).to_be_bytes());
        bytes.push(unit);
        bytes.extend_from_slice(pdu);
        bytes
    }

    async fn scan_one(address: SocketAddr) -> Evidence {
        let mut config = config(1000);
        config.timeout = Duration::from_millis(300);
        let hosts = vec![ScanHost {
            address: address.ip(),
            hostname: None,
            ports: Some(vec![address.port()]),
        }];
        tokio::time::timeout(
            Duration::from_secs(30),
            discover(
                hosts,
                &config,
                Arc::new(NoProgress),
                CancellationToken::new(),
            ),
        )
        .await
        .expect("a quirky device never hangs the scan")
    }

    #[tokio::test]
    async fn a_byte_count_larger_than_the_payload_is_a_diagnostic_with_raw_bytes() {
        let address = quirky_server(|transaction, unit, pdu| match pdu[0] {
            // FC 3 claims 8 bytes but carries 2.
            3 => frame(transaction, unit, &[3, 8, 0x12, 0x34]),
            function => frame(transaction, unit, &[function | 0x80, 0x01]),
        })
        .await;
        let evidence = scan_one(address).await;
        let malformed: Vec<_> = evidence
            .diagnostics
            .iter()
            .filter(|d| d.kind == DiagnosticKind::Malformed)
            .collect();
        assert!(!malformed.is_empty(), "{:#?}", evidence.diagnostics);
        assert!(
            malformed[0].message.contains("FC 3"),
            "{}",
            malformed[0].message
        );
        let raw = malformed[0].raw_hex.as_deref().unwrap();
        assert!(raw.ends_with("03081234"), "raw bytes kept: {raw}");
        // It still answered FC 43/17 with exceptions: a Modbus device, no identity.
        assert_eq!(evidence.assets.len(), 1);
        assert!(evidence.assets[0].identity.vendor.is_none());
    }

    #[tokio::test]
    async fn replies_for_another_transaction_or_unit_are_mismatches_not_absence() {
        let address = quirky_server(|transaction, unit, pdu| match pdu[0] {
            // FC 43 answered with another transaction id, FC 17 for another unit.
            43 => frame(transaction.wrapping_add(100), unit, &[43 | 0x80, 0x01]),
            17 => frame(
                transaction,
                unit.wrapping_add(1),
                &[17, 3, 0x42, 0xFF, b'X'],
            ),
            function => frame(transaction, unit, &[function | 0x80, 0x02]),
        })
        .await;
        let evidence = scan_one(address).await;
        let mismatches: Vec<_> = evidence
            .diagnostics
            .iter()
            .filter(|d| d.kind == DiagnosticKind::Mismatch)
            .map(|d| d.message.as_str())
            .collect();
        assert!(
            mismatches.iter().any(|m| m.contains("transaction")),
            "{mismatches:#?}"
        );
        assert!(
            mismatches.iter().any(|m| m.contains("answered for unit")),
            "{mismatches:#?}"
        );
        assert_eq!(
            evidence.assets.len(),
            1,
            "a device that answers oddly is still a device"
        );
        let server_id = evidence.assets[0].modbus[0].units[0].server_id.as_ref();
        assert_eq!(server_id.map(|s| s.hex.as_str()), Some("42ff58"));
    }

    #[tokio::test]
    async fn garbage_that_is_not_modbus_is_a_diagnostic_and_no_asset() {
        let address = quirky_server(|_, _, _| b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec()).await;
        let evidence = scan_one(address).await;
        assert!(evidence.assets.is_empty(), "{:#?}", evidence.assets);
        let diagnostic = &evidence.diagnostics[0];
        assert_eq!(diagnostic.kind, DiagnosticKind::Malformed);
        assert!(
            diagnostic
                .raw_hex
                .as_deref()
                .unwrap()
                .starts_with("48545450")
        );
    }

    #[tokio::test]
    async fn more_follows_that_never_ends_is_cut_off() {
        let address = quirky_server(|transaction, unit, pdu| match pdu[0] {
            // Always "more follows", always pointing back at object 1.
            43 => frame(
                transaction,
                unit,
                &[43, 0x0E, pdu[2], 0x01, 0xFF, 0x01, 1, 0x00, 1, b'V'],
            ),
            function => frame(transaction, unit, &[function | 0x80, 0x01]),
        })
        .await;
        let evidence = scan_one(address).await;
        assert_eq!(evidence.assets.len(), 1);
        assert_eq!(evidence.assets[0].identity.vendor.as_deref(), Some("V"));
        assert!(
            evidence
                .diagnostics
                .iter()
                .any(|d| d.message.contains("more follows")),
            "{:#?}",
            evidence.diagnostics
        );
    }
}

/// OPC UA discovery of the simulated servers: endpoints, certificates, findings,
/// and a session only where anonymous access or credentials allow it.
mod opcua {
    use std::{sync::Arc, time::Duration};

    use i4gauge::{
        discover::{
            opcua::{OpcUaCredentials, OpcUaProbeConfig, browse::BrowseLimits},
            scan::{NoProgress, discover},
            targets::ScanHost,
        },
        evidence::{AssetId, AssetRole, Evidence, Severity},
        sim::{ManifestDevice, PlantSpec, RunningPlant},
    };
    use tokio_util::sync::CancellationToken;

    use super::{config, start_spread};
    use crate::util::opcua;

    async fn scan_all(plant: &RunningPlant, credentials: Option<OpcUaCredentials>) -> Evidence {
        let hosts = plant
            .manifest()
            .devices
            .iter()
            .map(|device| ScanHost {
                address: device.address().ip(),
                hostname: Some(device.name().to_owned()),
                ports: Some(vec![device.address().port()]),
            })
            .collect();
        let mut config = config(500);
        config.opcua = OpcUaProbeConfig {
            timeout: Duration::from_secs(5),
            credentials,
            user_certificate: None,
            pki_dir: None,
            browse: Some(BrowseLimits {
                max_nodes: 100_000,
                max_depth: 16,
                nodes_per_request: 1000,
                requests_in_flight: 4,
                timeout: Duration::from_secs(5),
                budget: Duration::from_secs(60),
            }),
        };
        discover(
            hosts,
            &config,
            Arc::new(NoProgress),
            CancellationToken::new(),
        )
        .await
    }

    fn ids(findings: &[i4gauge::evidence::SecurityFinding]) -> Vec<&str> {
        findings.iter().map(|f| f.id.as_str()).collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_open_scada_is_read_anonymously_and_flagged() {
        let plant = start_spread(&PlantSpec::builtin_default(), [127, 0, 16, 1]).await;
        let evidence = scan_all(&plant, None).await;
        let manifest = opcua(plant.manifest(), "scada");
        let asset = evidence
            .asset(&AssetId::host(manifest.address.ip()))
            .expect("SCADA found");
        assert_eq!(asset.role.role, AssetRole::Scada);
        assert!(
            asset.modbus.is_empty(),
            "an OPC UA server is not reported as Modbus"
        );
        let service = &asset.opcua[0];
        assert_eq!(
            service.applications[0].application_uri,
            manifest.application_uri
        );
        assert_eq!(service.endpoints.len(), 1);
        assert_eq!(service.endpoints[0].security_mode, "None");
        assert_eq!(service.endpoints[0].user_token_types, vec!["anonymous"]);
        let certificate = service.endpoints[0]
            .certificate
            .as_ref()
            .expect("certificate facts");
        assert!(certificate.self_signed);
        assert_eq!(certificate.key_bits, Some(2048));
        assert!(
            certificate.signature_algorithm.contains("sha256"),
            "{}",
            certificate.signature_algorithm
        );
        let session = service
            .session
            .as_ref()
            .expect("anonymous None allows a session");
        assert_eq!(session.login, "anonymous");
        assert_eq!(session.server_state.as_deref(), Some("Running"));
        let skew = session.current_time.unwrap() - chrono::Utc::now();
        assert!(skew.num_seconds().abs() < 60, "server clock read: {skew}");
        assert!(session.start_time.unwrap() <= session.current_time.unwrap());
        let build = session.build_info.as_ref().unwrap();
        assert_eq!(
            build.manufacturer_name,
            manifest.build_info.manufacturer_name
        );
        assert_eq!(build.software_version, manifest.build_info.software_version);
        assert!(session.namespaces.contains(&manifest.namespaces[0]));
        assert!(session.operation_limits.contains_key("MaxNodesPerRead"));
        assert!(
            session.capabilities.iter().any(|c| c == "events"),
            "the Server object notifies events: {:?}",
            session.capabilities
        );
        let findings = ids(&service.security_findings);
        assert!(
            findings.contains(&"opcua.security-mode-none"),
            "{findings:?}"
        );
        assert!(findings.contains(&"opcua.anonymous-access"), "{findings:?}");
        assert!(
            service
                .security_findings
                .iter()
                .any(|f| f.severity == Severity::High)
        );
        assert_eq!(asset.identity.vendor.as_deref(), Some("Steppe Controls"));
        // Browsed: the simulated process variables plus the Server object's.
        let space = service
            .address_space
            .as_ref()
            .expect("browsed in the session");
        assert!(!space.truncated, "{space:?}");
        assert!(
            space.by_node_class["Variable"] >= u64::from(manifest.variables),
            "{space:?}"
        );
        assert!(
            space.max_depth >= 3,
            "Objects/Plant/CellNNN/variable: {space:?}"
        );
        assert!(
            space.object_types.contains_key("i=61"),
            "folders: {space:?}"
        );
        plant.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_secured_line_controller_gets_no_session_without_credentials() {
        let plant = start_spread(&PlantSpec::builtin_default(), [127, 0, 17, 1]).await;
        let evidence = scan_all(&plant, None).await;
        let manifest = opcua(plant.manifest(), "line-controller");
        let asset = evidence
            .asset(&AssetId::host(manifest.address.ip()))
            .unwrap();
        let service = &asset.opcua[0];
        let mut modes: Vec<&str> = service
            .endpoints
            .iter()
            .map(|e| e.security_mode.as_str())
            .collect();
        modes.sort();
        assert_eq!(modes, vec!["Sign", "SignAndEncrypt"]);
        assert!(
            service
                .endpoints
                .iter()
                .all(|e| e.security_policy_uri.ends_with("#Basic256Sha256"))
        );
        assert!(
            service.session.is_none(),
            "no anonymous access, no credentials: no session"
        );
        let findings = ids(&service.security_findings);
        assert!(
            !findings.contains(&"opcua.security-mode-none"),
            "{findings:?}"
        );
        assert!(
            !findings.contains(&"opcua.anonymous-access"),
            "{findings:?}"
        );
        // Every simulated device was found, and nothing else.
        let hosts = evidence
            .assets
            .iter()
            .filter(|a| a.attachment == i4gauge::evidence::Attachment::Network)
            .count();
        assert_eq!(hosts, plant.manifest().devices.len());
        plant.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn with_credentials_the_companion_specs_are_recognised() {
        let plant = start_spread(&PlantSpec::builtin_default(), [127, 0, 18, 1]).await;
        let credentials = OpcUaCredentials {
            user: "operator".into(),
            password: "operator-sim".into(),
        };
        let evidence = scan_all(&plant, Some(credentials)).await;
        let manifest = opcua(plant.manifest(), "line-controller");
        let asset = evidence
            .asset(&AssetId::host(manifest.address.ip()))
            .unwrap();
        let service = &asset.opcua[0];
        let session = service
            .session
            .as_ref()
            .unwrap_or_else(|| panic!("credentials open a session: {:#?}", evidence.diagnostics));
        assert_eq!(session.login, "username");
        let names: Vec<&str> = service
            .companion_specs
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(names, vec!["DI", "Machinery"]);
        assert_eq!(
            asset.identity.product.as_deref(),
            Some("AltynLine Controller")
        );
        // The machines behind it, DI-style.
        let machines: Vec<(&str, Option<&str>, Option<&str>)> = service
            .devices
            .iter()
            .map(|d| {
                (
                    d.name.as_str(),
                    d.manufacturer.as_deref(),
                    d.serial_number.as_deref(),
                )
            })
            .collect();
        let mut expected: Vec<(&str, Option<&str>, Option<&str>)> = manifest
            .machines
            .iter()
            .map(|m| {
                (
                    m.name.as_str(),
                    Some(m.manufacturer.as_str()),
                    Some(m.serial_number.as_str()),
                )
            })
            .collect();
        expected.sort();
        assert_eq!(machines, expected);
        let space = service.address_space.as_ref().unwrap();
        assert!(space.by_node_class["Variable"] >= u64::from(manifest.variables));
        assert_eq!(space.companion_instances.get("DI"), Some(&2), "{space:?}");
        // The SCADA server still gets its anonymous session; the credentials are
        // only used where anonymous access is not offered.
        let scada = opcua(plant.manifest(), "scada");
        let scada = evidence.asset(&AssetId::host(scada.address.ip())).unwrap();
        assert_eq!(scada.opcua[0].session.as_ref().unwrap().login, "anonymous");
        let _ = ManifestDevice::name;
        plant.shutdown().await;
    }
}
