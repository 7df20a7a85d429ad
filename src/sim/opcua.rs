//! Simulated OPC UA servers, served by the async-opcua server.
//!
//! Each [`OpcUaServerSpec`] becomes a real server with the endpoints, logins,
//! BuildInfo and namespaces it names. Its own namespace holds a tree of folders
//! with `variables` process variables; companion-spec namespaces get their own
//! node managers so they appear in the NamespaceArray, and machines are exposed
//! DI-style under `DeviceSet` with identification properties.

use std::{net::SocketAddr, path::Path, sync::Arc};

use opcua::{
    crypto::SecurityPolicy,
    server::{
        ANONYMOUS_USER_TOKEN_ID, ServerBuilder, ServerEndpoint, ServerHandle, ServerUserToken,
        address_space::{
            AccessLevel, AddressSpace, ObjectBuilder, ObjectTypeBuilder, VariableBuilder,
        },
        diagnostics::NamespaceMetadata,
        node_manager::memory::{SimpleNodeManager, simple_node_manager},
    },
    types::{
        BuildInfo, DataTypeId, DateTime, MessageSecurityMode, NodeId, ObjectId, ObjectTypeId,
        QualifiedName, VariableTypeId, Variant,
    },
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::spec::{EndpointSpec, OpcUaServerSpec};

/// OPC UA DI companion specification namespace.
pub const DI_NAMESPACE: &str = "http://opcfoundation.org/UA/DI/";
/// Numeric id of `DeviceSet` in the DI namespace (OPC 10000-100).
const DI_DEVICE_SET: u32 = 5001;
/// Numeric id of `DeviceType` in the DI namespace.
const DI_DEVICE_TYPE: u32 = 1002;

/// Name of the node manager holding the server's own namespace.
const PLANT_NODE_MANAGER: &str = "i4gauge-sim-plant";

/// The namespace URI of a simulated server's own nodes.
pub fn own_namespace(spec: &OpcUaServerSpec) -> String {
    format!("{}:plant", spec.application_uri)
}

/// The security policy and mode an endpoint spec names, or why it names none.
pub fn security_of(
    endpoint: &EndpointSpec,
) -> Result<(SecurityPolicy, MessageSecurityMode), String> {
    let policy = match endpoint.policy.as_str() {
        "None" => SecurityPolicy::None,
        "Basic128Rsa15" => SecurityPolicy::Basic128Rsa15,
        "Basic256" => SecurityPolicy::Basic256,
        "Basic256Sha256" => SecurityPolicy::Basic256Sha256,
        "Aes128_Sha256_RsaOaep" => SecurityPolicy::Aes128Sha256RsaOaep,
        "Aes256_Sha256_RsaPss" => SecurityPolicy::Aes256Sha256RsaPss,
        other => {
            return Err(format!(
                "unknown security policy {other:?} (known: None, Basic128Rsa15, Basic256, \
                 Basic256Sha256, Aes128_Sha256_RsaOaep, Aes256_Sha256_RsaPss)"
            ));
        }
    };
    let mode = match endpoint.mode.as_str() {
        "None" => MessageSecurityMode::None,
        "Sign" => MessageSecurityMode::Sign,
        "SignAndEncrypt" => MessageSecurityMode::SignAndEncrypt,
        other => {
            return Err(format!(
                "unknown security mode {other:?} (known: None, Sign, SignAndEncrypt)"
            ));
        }
    };
    if (policy == SecurityPolicy::None) != (mode == MessageSecurityMode::None) {
        return Err(format!(
            "security policy {} cannot be combined with mode {}",
            endpoint.policy, endpoint.mode
        ));
    }
    Ok((policy, mode))
}

/// The security policy URI of an endpoint spec (already validated).
pub fn security_policy_uri(endpoint: &EndpointSpec) -> String {
    let (policy, _) = security_of(endpoint).expect("plant specs are validated on load");
    policy.to_uri().to_owned()
}

/// Builds the server for `spec`, fills its address space and runs it on `listener`
/// until `cancel` fires. Returns once the server accepts connections.
pub async fn start(
    spec: &OpcUaServerSpec,
    listener: TcpListener,
    pki_dir: &Path,
    cancel: CancellationToken,
) -> Result<(ServerHandle, tokio::task::JoinHandle<()>), String> {
    let address: SocketAddr = listener.local_addr().map_err(|e| e.to_string())?;
    let mut user_token_ids = Vec::new();
    if spec.anonymous {
        user_token_ids.push(ANONYMOUS_USER_TOKEN_ID.to_owned());
    }
    let mut builder = ServerBuilder::new()
        .application_name(spec.application_name.clone())
        .application_uri(spec.application_uri.clone())
        .product_uri(spec.product_uri.clone())
        .build_info(BuildInfo {
            product_uri: spec.product_uri.clone().into(),
            manufacturer_name: spec.manufacturer_name.clone().into(),
            product_name: spec.product_name.clone().into(),
            software_version: spec.software_version.clone().into(),
            build_number: spec.build_number.clone().into(),
            build_date: DateTime::ymd(2025, 6, 1),
        })
        // Endpoint descriptions are built from host and port, so they must be the
        // address actually bound (port 0 is resolved by the listener).
        .host(address.ip().to_string())
        .port(address.port())
        .pki_dir(pki_dir)
        .create_sample_keypair(true)
        .certificate_path("own/cert.der")
        .private_key_path("private/private.pem")
        .trust_client_certs(true)
        .discovery_urls(vec!["/".to_owned()])
        .token(cancel.clone())
        .with_node_manager(simple_node_manager(
            NamespaceMetadata {
                namespace_uri: own_namespace(spec),
                ..Default::default()
            },
            PLANT_NODE_MANAGER,
        ));
    for namespace in &spec.companion_namespaces {
        builder = builder.with_node_manager(simple_node_manager(
            NamespaceMetadata {
                namespace_uri: namespace.clone(),
                ..Default::default()
            },
            &companion_manager_name(namespace),
        ));
    }
    for (index, user) in spec.users.iter().enumerate() {
        let id = format!("user-{index}");
        builder = builder.add_user_token(
            id.clone(),
            ServerUserToken::user_pass(user.user.clone(), user.password.clone()),
        );
        user_token_ids.push(id);
    }
    for endpoint in &spec.endpoints {
        let (policy, mode) = security_of(endpoint)?;
        let id = format!("{}-{}", endpoint.policy, endpoint.mode);
        builder = builder.add_endpoint(id, ServerEndpoint::new("/", policy, mode, &user_token_ids));
    }
    if !spec.endpoints.iter().any(|e| e.policy == "None") {
        // Without a None endpoint the default endpoint must still name one that exists.
        let first = &spec.endpoints[0];
        builder = builder.default_endpoint(format!("{}-{}", first.policy, first.mode));
    }

    create_certificate(spec, address, pki_dir)?;
    let (server, handle) = builder.build()?;
    populate(spec, &handle)?;

    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let join = tokio::spawn({
        let name = spec.name.clone();
        async move {
            // `run_with` initialises the node managers, then accepts; the listener
            // is already bound, so clients that connect early simply wait.
            let _ = ready_tx.send(());
            if let Err(error) = server.run_with(listener).await {
                tracing::warn!(server = %name, %error, "simulated OPC UA server stopped");
            }
        }
    });
    let _ = ready_rx.await;
    Ok((handle, join))
}

/// Creates the server's certificate with the address it actually listens on
/// among its subject alternative names, so clients that check host names accept
/// it. An existing certificate (a kept `--pki-dir`) is reused.
fn create_certificate(
    spec: &OpcUaServerSpec,
    address: SocketAddr,
    pki_dir: &Path,
) -> Result<(), String> {
    let store = opcua::crypto::CertificateStore::new(pki_dir);
    if store.own_certificate_path().exists() && store.own_private_key_path().exists() {
        return Ok(());
    }
    let data = opcua::crypto::X509Data {
        key_size: 2048,
        common_name: spec.application_name.clone(),
        organization: spec.manufacturer_name.clone(),
        organizational_unit: "i4gauge simulated plant".to_owned(),
        country: "KZ".to_owned(),
        state: String::new(),
        alt_host_names: opcua::crypto::X509Data::alt_host_names(
            &spec.application_uri,
            Some(vec![address.ip().to_string()]),
            true,
            false,
            false,
        ),
        certificate_duration_days: 365,
    };
    store
        .create_and_store_application_instance_cert(&data, false)
        .map(|_| ())
}

fn companion_manager_name(namespace: &str) -> String {
    format!("i4gauge-sim-companion:{namespace}")
}

/// Fills the address space: a folder tree of process variables in the server's own
/// namespace, and DI-style machines under `DeviceSet`.
fn populate(spec: &OpcUaServerSpec, handle: &ServerHandle) -> Result<(), String> {
    let managers = handle.node_managers();
    let plant = managers
        .get_by_name::<SimpleNodeManager>(PLANT_NODE_MANAGER)
        .ok_or("plant node manager missing")?;
    let own_uri = own_namespace(spec);
    let ns = namespace_index(&plant, &own_uri)?;

    {
        let mut space = plant.address_space().write();
        let root = NodeId::new(ns, "Plant");
        ObjectBuilder::new(&root, QualifiedName::new(ns, "Plant"), "Plant")
            .is_folder()
            .organized_by(ObjectId::ObjectsFolder)
            .insert(&mut *space);
        add_process_variables(
            &mut space,
            ns,
            &root,
            spec.variables,
            spec.variables_per_folder,
        );
    }

    if !spec.machines.is_empty() {
        // Machines live in the DI namespace's node manager when the server declares
        // DI, otherwise in its own namespace.
        let (manager, di_ns) = match managers
            .get_by_name::<SimpleNodeManager>(&companion_manager_name(DI_NAMESPACE))
        {
            Some(manager) => {
                let index = namespace_index(&manager, DI_NAMESPACE)?;
                (manager, index)
            }
            None => (plant.clone(), ns),
        };
        let mut space = manager.address_space().write();
        let device_set = NodeId::new(di_ns, DI_DEVICE_SET);
        ObjectBuilder::new(
            &device_set,
            QualifiedName::new(di_ns, "DeviceSet"),
            "DeviceSet",
        )
        .organized_by(ObjectId::ObjectsFolder)
        .has_type_definition(ObjectTypeId::BaseObjectType)
        .insert(&mut *space);
        let device_type = NodeId::new(di_ns, DI_DEVICE_TYPE);
        ObjectTypeBuilder::new(
            &device_type,
            QualifiedName::new(di_ns, "DeviceType"),
            "DeviceType",
        )
        .is_abstract(true)
        .subtype_of(ObjectTypeId::BaseObjectType)
        .insert(&mut *space);
        for machine in &spec.machines {
            let machine_id = NodeId::new(di_ns, format!("DeviceSet/{}", machine.name));
            ObjectBuilder::new(
                &machine_id,
                QualifiedName::new(di_ns, &machine.name),
                machine.name.as_str(),
            )
            .component_of(device_set.clone())
            .has_type_definition(NodeId::new(di_ns, DI_DEVICE_TYPE))
            .insert(&mut *space);
            let properties = [
                ("Manufacturer", &machine.manufacturer),
                ("Model", &machine.model),
                ("SerialNumber", &machine.serial_number),
                ("SoftwareRevision", &machine.software_revision),
            ];
            for (property, value) in properties {
                let id = NodeId::new(di_ns, format!("DeviceSet/{}/{property}", machine.name));
                VariableBuilder::new(&id, QualifiedName::new(di_ns, property), property)
                    .property_of(machine_id.clone())
                    .has_type_definition(VariableTypeId::PropertyType)
                    .data_type(DataTypeId::String)
                    .value(Variant::from(value.clone()))
                    .access_level(AccessLevel::CURRENT_READ)
                    .user_access_level(AccessLevel::CURRENT_READ)
                    .insert(&mut *space);
            }
        }
    }
    Ok(())
}

fn namespace_index(manager: &Arc<SimpleNodeManager>, uri: &str) -> Result<u16, String> {
    manager
        .namespaces()
        .iter()
        .find(|(_, namespace)| namespace.as_str() == uri)
        .map(|(index, _)| *index)
        .ok_or_else(|| format!("namespace {uri} was not registered"))
}

/// `count` variables in folders of `per_folder`, with a mix of data types a
/// process image has (analog values, counters, states).
fn add_process_variables(
    space: &mut AddressSpace,
    ns: u16,
    root: &NodeId,
    count: u32,
    per_folder: u32,
) {
    let folders = count.div_ceil(per_folder);
    for folder in 0..folders {
        let folder_name = format!("Cell{:03}", folder + 1);
        let folder_id = NodeId::new(ns, format!("Plant/{folder_name}"));
        ObjectBuilder::new(
            &folder_id,
            QualifiedName::new(ns, &folder_name),
            folder_name.as_str(),
        )
        .is_folder()
        .organized_by(root.clone())
        .insert(space);
        let first = folder * per_folder;
        let last = (first + per_folder).min(count);
        for index in first..last {
            let (name, data_type, value) = match index % 4 {
                0 => (
                    format!("Temperature{index:05}"),
                    DataTypeId::Double,
                    Variant::Double(20.0 + f64::from(index % 50) * 0.5),
                ),
                1 => (
                    format!("Pressure{index:05}"),
                    DataTypeId::Double,
                    Variant::Double(1.0 + f64::from(index % 10) * 0.1),
                ),
                2 => (
                    format!("Counter{index:05}"),
                    DataTypeId::UInt32,
                    Variant::UInt32(index * 7),
                ),
                _ => (
                    format!("Running{index:05}"),
                    DataTypeId::Boolean,
                    Variant::Boolean(index % 3 != 0),
                ),
            };
            let id = NodeId::new(ns, format!("Plant/{folder_name}/{name}"));
            VariableBuilder::new(&id, QualifiedName::new(ns, &name), name.as_str())
                .organized_by(folder_id.clone())
                .has_type_definition(VariableTypeId::BaseDataVariableType)
                .data_type(data_type)
                .value(value)
                .access_level(AccessLevel::CURRENT_READ)
                .user_access_level(AccessLevel::CURRENT_READ)
                .insert(space);
        }
    }
}
