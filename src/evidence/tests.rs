use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use chrono::TimeZone;

use super::*;

/// A document using every part of the schema: a PLC with FC 43 identity, a
/// gateway with a sub-device, an OPC UA server with findings, diagnostics.
fn sample() -> Evidence {
    let at = |s| Utc.with_ymd_and_hms(2026, 11, 30, 9, 0, s).unwrap();
    let plc = IpAddr::V4(Ipv4Addr::new(10, 1, 0, 7));
    let gateway = IpAddr::V4(Ipv4Addr::new(10, 1, 0, 20));
    let scada = IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 1, 0, 0, 0, 5));
    let mut evidence = Evidence::new(ScanRun {
        id: "run-1".into(),
        site: Some("Pavlodar plant, building 2".into()),
        started_at: at(0),
        finished_at: Some(at(42)),
        status: ScanStatus::Incomplete {
            reason: "deadline".into(),
            unfinished_targets: 3,
        },
        parameters: ScanParameters {
            modbus_ports: vec![502],
            opcua_ports: vec![4840],
            rate: 1000,
            host_rate: 40,
            max_in_flight_per_host: 1,
            timeout_ms: 2000,
            deadline_ms: Some(600_000),
            unit_ids: UnitIdPolicy::List(vec![1, 2, 255]),
            opcua_browse: true,
        },
        scope: Scope {
            targets: vec!["10.1.0.0/24".into(), "fd00::1:0:0:5".into()],
            excluded: vec!["10.1.0.1".into()],
            address_count: 254,
            declared_complete: true,
        },
    });
    let mut functions = BTreeMap::new();
    functions.insert(43, FunctionOutcome::Supported);
    functions.insert(17, FunctionOutcome::Exception { code: 0x01 });
    functions.insert(3, FunctionOutcome::NoResponse);
    evidence.assets = vec![
        Asset {
            id: AssetId::host(plc),
            address: plc,
            hostname: Some("plc-filling".into()),
            attachment: Attachment::Network,
            role: RoleAssessment {
                role: AssetRole::Plc,
                basis: vec!["role.modbus.identity-plc".into()],
            },
            isa95_level: Some(1),
            identity: Identity {
                vendor: Some("Altyn Automation".into()),
                product_code: Some("AC-1200".into()),
                revision: Some("V3.2.1".into()),
                sources: [("vendor".to_owned(), "modbus.fc43".to_owned())].into(),
                ..Identity::default()
            },
            modbus: vec![ModbusService {
                port: 502,
                units: vec![ModbusUnit {
                    unit_id: 1,
                    device_identification: Some(ModbusDeviceIdentification {
                        conformity_level: 0x82,
                        objects: vec![ModbusDeviceIdObject {
                            id: 0,
                            name: "VendorName".into(),
                            text: "Altyn Automation".into(),
                            hex: "416c747976".into(),
                        }],
                        exchanges: 4,
                    }),
                    server_id: None,
                    functions,
                }],
                gateway: false,
                answers_every_unit_id: true,
                gateway_absent_unit_ids: vec![],
            }],
            opcua: vec![],
            seen_in_runs: vec!["run-1".into()],
        },
        Asset {
            id: AssetId::host(gateway),
            address: gateway,
            hostname: None,
            attachment: Attachment::Network,
            role: RoleAssessment {
                role: AssetRole::Gateway,
                basis: vec!["role.modbus.gateway-exception".into()],
            },
            isa95_level: Some(1),
            identity: Identity::default(),
            modbus: vec![ModbusService {
                port: 502,
                units: vec![],
                gateway: true,
                answers_every_unit_id: false,
                gateway_absent_unit_ids: vec![1, 2, 4],
            }],
            opcua: vec![],
            seen_in_runs: vec!["run-1".into()],
        },
        Asset {
            id: AssetId::sub_device(SocketAddr::new(gateway, 502), 3),
            address: gateway,
            hostname: None,
            attachment: Attachment::BehindGateway {
                gateway: AssetId::host(gateway),
                port: 502,
                unit_id: 3,
            },
            role: RoleAssessment {
                role: AssetRole::Meter,
                basis: vec![],
            },
            isa95_level: Some(1),
            identity: Identity::default(),
            modbus: vec![ModbusService {
                port: 502,
                units: vec![ModbusUnit {
                    unit_id: 3,
                    device_identification: None,
                    server_id: Some(ModbusServerId {
                        hex: "07ff4952".into(),
                        text: "IR".into(),
                        running: Some(true),
                    }),
                    functions: BTreeMap::new(),
                }],
                gateway: false,
                answers_every_unit_id: false,
                gateway_absent_unit_ids: vec![],
            }],
            opcua: vec![],
            seen_in_runs: vec!["run-1".into()],
        },
        Asset {
            id: AssetId::host(scada),
            address: scada,
            hostname: None,
            attachment: Attachment::Network,
            role: RoleAssessment {
                role: AssetRole::Scada,
                basis: vec![],
            },
            isa95_level: Some(2),
            identity: Identity::default(),
            modbus: vec![],
            opcua: vec![OpcUaService {
                port: 4840,
                discovery_url: "opc.tcp://[fd00::1:0:0:5]:4840/".into(),
                applications: vec![OpcUaApplication {
                    application_uri: "urn:scada".into(),
                    product_uri: "urn:steppe:scada".into(),
                    application_name: "Plant SCADA".into(),
                    application_type: "server".into(),
                    discovery_urls: vec!["opc.tcp://[fd00::1:0:0:5]:4840/".into()],
                }],
                endpoints: vec![OpcUaEndpoint {
                    url: "opc.tcp://[fd00::1:0:0:5]:4840/".into(),
                    security_policy_uri: "http://opcfoundation.org/UA/SecurityPolicy#None".into(),
                    security_mode: "None".into(),
                    user_token_types: vec!["anonymous".into()],
                    security_level: 0,
                    certificate: Some(CertificateFacts {
                        subject: "CN=Plant SCADA".into(),
                        issuer: "CN=Plant SCADA".into(),
                        self_signed: true,
                        not_before: at(0),
                        not_after: at(1),
                        key_bits: Some(2048),
                        signature_algorithm: "sha256WithRSAEncryption".into(),
                        thumbprint: "00ff".into(),
                    }),
                }],
                session: Some(OpcUaSessionFacts {
                    login: "anonymous".into(),
                    server_state: Some("Running".into()),
                    start_time: Some(at(1)),
                    current_time: Some(at(2)),
                    build_info: Some(OpcUaBuildInfo {
                        manufacturer_name: "Steppe Controls".into(),
                        product_name: "ScadaView".into(),
                        product_uri: "urn:steppe:scada".into(),
                        software_version: "7.4.2".into(),
                        build_number: "7420".into(),
                        build_date: Some(at(3)),
                    }),
                    namespaces: vec!["http://opcfoundation.org/UA/".into()],
                    server_profiles: vec![],
                    capabilities: vec!["events".into()],
                    operation_limits: [("MaxNodesPerRead".to_owned(), 10_000)].into(),
                }),
                companion_specs: vec![CompanionSpec {
                    namespace_uri: "http://opcfoundation.org/UA/DI/".into(),
                    name: "DI".into(),
                }],
                address_space: Some(AddressSpaceSummary {
                    nodes: 120,
                    by_node_class: [("Variable".to_owned(), 100)].into(),
                    truncated: false,
                    max_depth: 3,
                    object_types: [("i=61".to_owned(), 12)].into(),
                    companion_instances: [("DI".to_owned(), 2)].into(),
                }),
                devices: vec![OpcUaDevice {
                    name: "Filler".into(),
                    manufacturer: Some("Altyn Automation".into()),
                    serial_number: Some("AF40-1".into()),
                    ..OpcUaDevice::default()
                }],
                security_findings: vec![SecurityFinding {
                    id: "opcua.security-mode-none".into(),
                    severity: Severity::High,
                    detail: "endpoint offers SecurityMode None with anonymous login".into(),
                }],
                registered_servers: vec![RegisteredServer {
                    application_uri: "urn:historian".into(),
                    application_name: "Historian".into(),
                    discovery_url: "opc.tcp://historian.office:4840/".into(),
                    status: RegisteredServerStatus::OutsideScope,
                    resolved: vec!["10.9.0.4".parse().unwrap()],
                }],
            }],
            seen_in_runs: vec!["run-1".into()],
        },
    ];
    evidence.diagnostics = vec![Diagnostic {
        run: "run-1".into(),
        target: "10.1.0.9:502".into(),
        protocol: Some(Protocol::ModbusTcp),
        kind: DiagnosticKind::Malformed,
        message: "byte count 9 larger than the 4 payload bytes".into(),
        raw_hex: Some("0001000000070103090102".into()),
    }];
    evidence.topology = Topology::from_assets(&evidence.assets);
    evidence
}

#[test]
fn a_full_document_round_trips_byte_for_byte() {
    let evidence = sample();
    let json = evidence.to_json();
    let back = Evidence::from_json(&json, "<test>").unwrap();
    assert_eq!(back, evidence);
    assert_eq!(back.to_json(), json, "serialization is deterministic");
}

#[test]
fn the_document_says_its_version_and_tool() {
    let value: serde_json::Value = serde_json::from_str(&sample().to_json()).unwrap();
    assert_eq!(value["schema_version"], "1.2");
    assert_eq!(
        value["assets"][3]["opcua"][0]["registered_servers"][0]["status"],
        "outside-scope"
    );
    assert_eq!(value["tool"]["name"], "i4gauge");
    assert_eq!(value["runs"][0]["status"]["state"], "incomplete");
    assert_eq!(value["assets"][2]["attachment"]["kind"], "behind-gateway");
    assert_eq!(
        value["assets"][0]["modbus"][0]["units"][0]["functions"]["17"]["code"],
        1
    );
}

#[test]
fn a_future_major_version_is_refused_with_a_clear_message() {
    let json = sample().to_json().replacen(
        &format!("\"schema_version\": \"{SCHEMA_VERSION}\""),
        "\"schema_version\": \"2.0\"",
        1,
    );
    assert!(json.contains("\"2.0\""));
    let error = Evidence::from_json(&json, "site-b.json").unwrap_err();
    assert!(matches!(error, EvidenceError::UnsupportedVersion { .. }));
    let message = error.to_string();
    assert!(message.contains("site-b.json"), "{message}");
    assert!(message.contains("2.0"), "{message}");
    assert!(message.contains("upgrade i4gauge"), "{message}");
}

#[test]
fn a_future_minor_version_with_new_fields_is_read() {
    let mut value: serde_json::Value = serde_json::from_str(&sample().to_json()).unwrap();
    value["schema_version"] = "1.7".into();
    value["assets"][0]["new_field_from_1_7"] = serde_json::json!({"x": 1});
    let evidence = Evidence::from_json(&value.to_string(), "<test>").unwrap();
    assert_eq!(
        evidence.schema_version,
        SchemaVersion { major: 1, minor: 7 }
    );
    assert_eq!(evidence.assets.len(), 4);
}

#[test]
fn malformed_documents_name_the_place_and_the_field() {
    for (text, expected) in [
        ("{\"schema_version\": \"1.0\", \"tool\": 3}", "field `tool`"),
        ("{\"schema_version\": \"one\"}", "MAJOR.MINOR"),
        ("{\"assets\": []}", "schema_version"),
        ("not json", "bad.json:1:2:"),
    ] {
        let error = Evidence::from_json(text, "bad.json")
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("bad.json:"), "{error}");
        assert!(error.contains(expected), "{text}: {error}");
    }
}

#[test]
fn save_writes_a_complete_document_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("evidence.json");
    std::fs::write(&path, "old content").unwrap();
    sample().save(&path).unwrap();
    assert_eq!(Evidence::load(&path).unwrap(), sample());
    let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(leftovers, 1, "no temporary file is left behind");
}

#[test]
fn topology_links_subnets_hosts_services_and_sub_devices() {
    let evidence = sample();
    let (graph, index) = evidence.topology.to_graph();
    let subnet = index["subnet:10.1.0.0/24"];
    let gateway = index["10.1.0.20"];
    let service = index["10.1.0.20/modbus:502"];
    let meter = index["10.1.0.20:502/unit/3"];
    assert!(graph.contains_edge(subnet, gateway));
    assert!(graph.contains_edge(gateway, service));
    assert!(graph.contains_edge(service, meter));
    assert!(index.contains_key("subnet:fd00:0:0:1::/64"));
    assert_eq!(graph[meter].kind, TopologyNodeKind::SubDevice);
    // Everything is reachable from a subnet: no orphan nodes.
    let roots: Vec<_> = graph
        .node_indices()
        .filter(|n| graph[*n].kind == TopologyNodeKind::Subnet)
        .collect();
    let mut reached = std::collections::BTreeSet::new();
    for root in roots {
        let mut dfs = petgraph::visit::Dfs::new(&graph, root);
        while let Some(node) = dfs.next(&graph) {
            reached.insert(node);
        }
    }
    assert_eq!(reached.len(), graph.node_count());
}

#[test]
fn asset_ids_are_stable_and_bracket_ipv6() {
    assert_eq!(
        AssetId::host(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))).0,
        "10.0.0.1"
    );
    assert_eq!(AssetId::host("fd00::5".parse().unwrap()).0, "[fd00::5]");
    let gateway: SocketAddr = "10.0.0.2:502".parse().unwrap();
    assert_eq!(AssetId::sub_device(gateway, 7).0, "10.0.0.2:502/unit/7");
}

#[test]
fn a_1_0_document_without_the_1_1_and_1_2_fields_is_read() {
    let mut value: serde_json::Value = serde_json::from_str(&sample().to_json()).unwrap();
    value["schema_version"] = "1.0".into();
    let service = &mut value["assets"][3]["opcua"][0];
    let removed = [
        service.as_object_mut().unwrap().remove("devices"),
        service["address_space"]
            .as_object_mut()
            .unwrap()
            .remove("object_types"),
        service["session"]
            .as_object_mut()
            .unwrap()
            .remove("start_time"),
        service["session"]["build_info"]
            .as_object_mut()
            .unwrap()
            .remove("build_date"),
        service
            .as_object_mut()
            .unwrap()
            .remove("registered_servers"),
    ];
    assert!(
        removed.iter().all(Option::is_some),
        "the sample uses every 1.1 and 1.2 field"
    );
    let evidence = Evidence::from_json(&value.to_string(), "<1.0>").unwrap();
    let service = &evidence.assets[3].opcua[0];
    assert!(service.devices.is_empty());
    assert!(
        service
            .address_space
            .as_ref()
            .unwrap()
            .object_types
            .is_empty()
    );
    assert_eq!(service.session.as_ref().unwrap().start_time, None);
    assert!(service.registered_servers.is_empty());
}
