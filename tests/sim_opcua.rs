//! Every simulated OPC UA server answers as its manifest says, checked with the
//! async-opcua client: GetEndpoints (policies, modes, user tokens), and in a
//! session BuildInfo, NamespaceArray and the DI identification of machines.

use std::{sync::Arc, time::Duration};

use i4gauge::discover::opcua::mode_name;
use i4gauge::sim::{PlantSpec, manifest::OpcUaServerManifest, spec::SCENARIOS};
use opcua::{
    client::{ClientBuilder, IdentityToken, Session},
    crypto::SecurityPolicy,
    types::{
        AttributeId, BrowseDescription, BrowseDirection, MessageSecurityMode, NodeClassMask,
        NodeId, ReadValueId, ReferenceTypeId, TimestampsToReturn, UserTokenType, VariableId,
        Variant,
    },
};

use crate::util::{bounded, opcua, start};

fn client(pki: &std::path::Path) -> opcua::client::Client {
    ClientBuilder::new()
        .application_name("i4gauge-test-client")
        .application_uri("urn:i4gauge-test-client")
        .pki_dir(pki)
        .create_sample_keypair(true)
        .trust_server_certs(true)
        .session_retry_limit(1)
        .client()
        .expect("client config is valid")
}

async fn check_endpoints(server: &OpcUaServerManifest) {
    let pki = tempfile::tempdir().unwrap();
    let client = client(pki.path());
    let endpoints = bounded(
        "GetEndpoints",
        client.get_server_endpoints_from_url(server.endpoint_url.as_str()),
    )
    .await
    .unwrap_or_else(|e| panic!("{}: GetEndpoints failed: {e}", server.name));

    let mut got: Vec<(String, String)> = endpoints
        .iter()
        .map(|e| {
            (
                e.security_policy_uri.as_ref().to_owned(),
                mode_name(e.security_mode).to_owned(),
            )
        })
        .collect();
    let mut expected: Vec<(String, String)> = server
        .endpoints
        .iter()
        .map(|e| (e.security_policy_uri.clone(), e.security_mode.clone()))
        .collect();
    got.sort();
    expected.sort();
    assert_eq!(got, expected, "{}: endpoints", server.name);

    for endpoint in &endpoints {
        assert_eq!(
            endpoint.endpoint_url.as_ref(),
            server.endpoint_url,
            "{}",
            server.name
        );
        assert_eq!(
            endpoint.server.application_uri.as_ref(),
            server.application_uri,
            "{}: ApplicationUri",
            server.name
        );
        let tokens = endpoint.user_identity_tokens.as_deref().unwrap_or_default();
        let anonymous = tokens
            .iter()
            .any(|t| t.token_type == UserTokenType::Anonymous);
        let username = tokens
            .iter()
            .any(|t| t.token_type == UserTokenType::UserName);
        assert_eq!(
            anonymous, server.anonymous,
            "{}: anonymous token",
            server.name
        );
        assert_eq!(
            username,
            !server.users.is_empty(),
            "{}: username token",
            server.name
        );
        if endpoint.security_mode != MessageSecurityMode::None {
            assert!(
                !endpoint.server_certificate.is_null(),
                "{}: a secured endpoint carries the server certificate",
                server.name
            );
        }
    }
}

/// Opens a session the way the manifest allows: anonymous over None if offered,
/// otherwise the given user over the most secure endpoint.
async fn session(
    server: &OpcUaServerManifest,
    password: &str,
    pki: &std::path::Path,
) -> Arc<Session> {
    let mut client = client(pki);
    let (policy, mode, identity) =
        if server.anonymous && server.endpoints.iter().any(|e| e.security_mode == "None") {
            (
                SecurityPolicy::None,
                MessageSecurityMode::None,
                IdentityToken::Anonymous,
            )
        } else {
            let endpoint = server
                .endpoints
                .iter()
                .find(|e| e.security_mode == "SignAndEncrypt")
                .unwrap_or(&server.endpoints[0]);
            let policy = SecurityPolicy::from_uri(&endpoint.security_policy_uri);
            let mode = match endpoint.security_mode.as_str() {
                "Sign" => MessageSecurityMode::Sign,
                _ => MessageSecurityMode::SignAndEncrypt,
            };
            (
                policy,
                mode,
                IdentityToken::UserName(server.users[0].clone(), password.to_owned().into()),
            )
        };
    let (session, event_loop) = bounded(
        "connect",
        client.connect_to_matching_endpoint(
            (server.endpoint_url.as_str(), policy.to_str(), mode),
            identity,
        ),
    )
    .await
    .unwrap_or_else(|e| panic!("{}: session: {e}", server.name));
    event_loop.spawn();
    let connected = tokio::time::timeout(Duration::from_secs(20), session.wait_for_connection())
        .await
        .unwrap_or(false);
    assert!(connected, "{}: session did not connect", server.name);
    session
}

fn read_id(node: impl Into<NodeId>) -> ReadValueId {
    ReadValueId {
        node_id: node.into(),
        attribute_id: AttributeId::Value as u32,
        ..Default::default()
    }
}

fn text(value: &Option<Variant>) -> String {
    match value {
        Some(Variant::String(s)) => s.as_ref().to_owned(),
        other => panic!("expected a string, got {other:?}"),
    }
}

async fn check_session(server: &OpcUaServerManifest, password: &str) {
    let pki = tempfile::tempdir().unwrap();
    let session = session(server, password, pki.path()).await;
    let values = bounded(
        "Read",
        session.read(
            &[
                read_id(VariableId::Server_ServerStatus_BuildInfo_ManufacturerName),
                read_id(VariableId::Server_ServerStatus_BuildInfo_ProductName),
                read_id(VariableId::Server_ServerStatus_BuildInfo_SoftwareVersion),
                read_id(VariableId::Server_ServerStatus_BuildInfo_BuildNumber),
                read_id(VariableId::Server_NamespaceArray),
            ],
            TimestampsToReturn::Neither,
            0.0,
        ),
    )
    .await
    .unwrap();
    let build = &server.build_info;
    assert_eq!(text(&values[0].value), build.manufacturer_name);
    assert_eq!(text(&values[1].value), build.product_name);
    assert_eq!(text(&values[2].value), build.software_version);
    assert_eq!(text(&values[3].value), build.build_number);
    let namespaces: Vec<String> = match &values[4].value {
        Some(Variant::Array(array)) => array
            .values
            .iter()
            .map(|v| match v {
                Variant::String(s) => s.as_ref().to_owned(),
                other => panic!("namespace is not a string: {other:?}"),
            })
            .collect(),
        other => panic!("NamespaceArray is not an array: {other:?}"),
    };
    for namespace in &server.namespaces {
        assert!(
            namespaces.contains(namespace),
            "{}: {namespace} missing from {namespaces:?}",
            server.name
        );
    }

    if !server.machines.is_empty() {
        let di = namespaces
            .iter()
            .position(|n| n == "http://opcfoundation.org/UA/DI/")
            .expect("machines are exposed through DI") as u16;
        for machine in &server.machines {
            let property = |name: &str| {
                read_id(NodeId::new(
                    di,
                    format!("DeviceSet/{}/{name}", machine.name),
                ))
            };
            let values = session
                .read(
                    &[
                        property("Manufacturer"),
                        property("Model"),
                        property("SerialNumber"),
                    ],
                    TimestampsToReturn::Neither,
                    0.0,
                )
                .await
                .unwrap();
            assert_eq!(text(&values[0].value), machine.manufacturer);
            assert_eq!(text(&values[1].value), machine.model);
            assert_eq!(text(&values[2].value), machine.serial_number);
        }
        // DeviceSet is reachable from the Objects folder by browsing.
        let browse = session
            .browse(
                &[BrowseDescription {
                    node_id: opcua::types::ObjectId::ObjectsFolder.into(),
                    browse_direction: BrowseDirection::Forward,
                    reference_type_id: ReferenceTypeId::HierarchicalReferences.into(),
                    include_subtypes: true,
                    node_class_mask: NodeClassMask::all().bits(),
                    result_mask: 0x3F,
                }],
                1000,
                None,
            )
            .await
            .unwrap();
        let names: Vec<String> = browse[0]
            .references
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|r| r.browse_name.name.as_ref().to_owned())
            .collect();
        assert!(names.contains(&"DeviceSet".to_owned()), "{names:?}");
        assert!(names.contains(&"Plant".to_owned()), "{names:?}");
    }
    let _ = session.disconnect().await;
}

/// The passwords of the shipped plants' users.
fn password_of(user: &str) -> &'static str {
    match user {
        "operator" => "operator-sim",
        "historian" => "historian-sim",
        other => panic!("no known password for {other}"),
    }
}

#[tokio::test]
async fn every_opcua_server_of_every_plant_answers_as_its_manifest_says() {
    for (name, _) in SCENARIOS {
        let plant = start(&PlantSpec::scenario(name).unwrap()).await;
        for device in &plant.manifest().devices {
            if let i4gauge::sim::ManifestDevice::Opcua(server) = device {
                check_endpoints(server).await;
                let password = server.users.first().map(|u| password_of(u)).unwrap_or("");
                check_session(server, password).await;
            }
        }
        plant.shutdown().await;
    }
}

#[tokio::test]
async fn default_plant_has_an_open_scada_and_a_secured_line_controller() {
    let plant = start(&PlantSpec::builtin_default()).await;
    let scada = opcua(plant.manifest(), "scada");
    assert!(scada.anonymous);
    assert!(scada.endpoints.iter().all(|e| e.security_mode == "None"));
    let line = opcua(plant.manifest(), "line-controller");
    assert!(!line.anonymous);
    assert!(
        line.endpoints.iter().all(
            |e| e.security_policy_uri.ends_with("#Basic256Sha256") && e.security_mode != "None"
        )
    );
    assert!(
        line.namespaces
            .iter()
            .any(|n| n == "http://opcfoundation.org/UA/DI/")
    );
    assert!(
        line.namespaces
            .iter()
            .any(|n| n == "http://opcfoundation.org/UA/Machinery/")
    );
    assert!(line.variables > scada.variables);
    plant.shutdown().await;
}

#[tokio::test]
async fn the_pki_lives_in_the_simulators_own_directory() {
    let cwd_pki = std::env::current_dir().unwrap().join("pki");
    let existed = cwd_pki.exists();
    let plant = start(&PlantSpec::builtin_default()).await;
    let pki = plant.manifest().pki_dir.clone();
    assert!(
        pki.join("line-controller")
            .join("own")
            .join("cert.der")
            .exists()
    );
    assert!(pki.starts_with(std::env::temp_dir()));
    plant.shutdown().await;
    assert!(!pki.exists(), "the temporary PKI is removed on shutdown");
    assert_eq!(cwd_pki.exists(), existed, "nothing is written to ./pki");
}
