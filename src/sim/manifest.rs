//! The manifest a running simulated plant prints: every device, where it listens
//! and what an honest scanner should find there.
//!
//! It is the contract between `i4gauge sim` and whoever checks it (our tests,
//! third-party clients, a user): the identities listed here are exactly what the
//! devices answer. Serialized as JSON by `i4gauge sim --json`; versioned by
//! [`MANIFEST_VERSION`].

use std::{fmt, net::SocketAddr, path::PathBuf};

use serde::{Deserialize, Serialize};

use super::{
    opcua::{own_namespace, security_policy_uri},
    spec::{
        DeviceRole, MachineSpec, ModbusDeviceSpec, ModbusUnitSpec, OpcUaServerSpec, OtherUnitIds,
    },
};

/// Version of the manifest format; bumped on any incompatible change.
pub const MANIFEST_VERSION: u32 = 1;

/// Everything a running plant offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`MANIFEST_VERSION`].
    pub manifest_version: u32,
    /// Plant name from the plant file.
    pub plant: String,
    /// Plant description from the plant file.
    pub description: String,
    /// Level an assessor would expect for this plant.
    pub typical_level: Option<f32>,
    /// Directory holding the OPC UA servers' certificates and keys.
    pub pki_dir: PathBuf,
    /// Every device, Modbus first, in plant-file order.
    pub devices: Vec<ManifestDevice>,
}

/// One device of the plant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "protocol", rename_all = "kebab-case")]
#[expect(
    clippy::large_enum_variant,
    reason = "a manifest holds a handful of devices; boxing would only complicate matching"
)]
pub enum ManifestDevice {
    /// A Modbus TCP device.
    ModbusTcp(ModbusDeviceManifest),
    /// An OPC UA server.
    Opcua(OpcUaServerManifest),
}

impl ManifestDevice {
    /// The device's name.
    pub fn name(&self) -> &str {
        match self {
            ManifestDevice::ModbusTcp(device) => &device.name,
            ManifestDevice::Opcua(server) => &server.name,
        }
    }

    /// The address the device listens on.
    pub fn address(&self) -> SocketAddr {
        match self {
            ManifestDevice::ModbusTcp(device) => device.address,
            ManifestDevice::Opcua(server) => server.address,
        }
    }
}

/// A Modbus TCP device and what each of its unit ids answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModbusDeviceManifest {
    /// Device name.
    pub name: String,
    /// Expected classification of the device.
    pub kind: DeviceRole,
    /// Where it listens.
    pub address: SocketAddr,
    /// What unit ids not in `units` get.
    pub other_unit_ids: OtherUnitIds,
    /// Exception code for other unit ids, when `other_unit_ids` is a gateway exception.
    pub other_unit_ids_exception: Option<u8>,
    /// The configured units.
    pub units: Vec<ModbusUnitManifest>,
}

/// What one unit id answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModbusUnitManifest {
    /// Unit id.
    pub unit_id: u8,
    /// Expected classification.
    pub kind: DeviceRole,
    /// FC 43 / MEI 14 identification, absent when the unit answers exception 0x01.
    pub identification: Option<IdentificationManifest>,
    /// FC 17 answer, absent when the unit answers exception 0x01.
    pub server_id: Option<ServerIdManifest>,
    /// Number of holding registers from address 0.
    pub holding_registers: usize,
    /// Number of input registers from address 0.
    pub input_registers: usize,
    /// Number of coils from address 0.
    pub coils: usize,
    /// Number of discrete inputs from address 0.
    pub discrete_inputs: usize,
}

/// Read Device Identification objects as the unit serves them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentificationManifest {
    /// Conformity level byte.
    pub conformity_level: u8,
    /// Objects per response, when the answer is split with "more follows".
    pub objects_per_response: Option<u8>,
    /// All objects in id order.
    pub objects: Vec<IdentificationObject>,
}

/// One identification object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentificationObject {
    /// Object id.
    pub id: u8,
    /// Standard object name (`VendorName`…), or `Private0x80` for extended objects.
    pub name: String,
    /// Value as text.
    pub value: String,
}

/// The Report Server ID answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerIdManifest {
    /// Server id byte.
    pub server_id: u8,
    /// Run indicator.
    pub running: bool,
    /// Additional data as text.
    pub additional_data: String,
    /// The bytes after the byte count, as lowercase hex.
    pub response_hex: String,
}

/// An OPC UA server and what it offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpcUaServerManifest {
    /// Server name.
    pub name: String,
    /// Expected classification.
    pub kind: DeviceRole,
    /// Where it listens.
    pub address: SocketAddr,
    /// `opc.tcp://…` discovery and endpoint URL.
    pub endpoint_url: String,
    /// ApplicationName.
    pub application_name: String,
    /// ApplicationUri.
    pub application_uri: String,
    /// ProductUri.
    pub product_uri: String,
    /// BuildInfo, readable in a session.
    pub build_info: BuildInfoManifest,
    /// Endpoints as GetEndpoints reports them.
    pub endpoints: Vec<EndpointManifest>,
    /// Whether anonymous login is accepted.
    pub anonymous: bool,
    /// User names accepted (passwords are in the plant file).
    pub users: Vec<String>,
    /// Namespaces this server adds to the NamespaceArray (own namespace first).
    pub namespaces: Vec<String>,
    /// Number of process variables.
    pub variables: u32,
    /// Machines under DI `DeviceSet`.
    pub machines: Vec<MachineSpec>,
}

/// BuildInfo fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildInfoManifest {
    /// ManufacturerName.
    pub manufacturer_name: String,
    /// ProductName.
    pub product_name: String,
    /// SoftwareVersion.
    pub software_version: String,
    /// BuildNumber.
    pub build_number: String,
}

/// One endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointManifest {
    /// Security policy URI.
    pub security_policy_uri: String,
    /// `None`, `Sign` or `SignAndEncrypt`.
    pub security_mode: String,
    /// User token types accepted: `anonymous`, `username`.
    pub user_tokens: Vec<String>,
}

/// The standard name of a Read Device Identification object.
pub fn device_id_object_name(id: u8) -> String {
    match id {
        0x00 => "VendorName".to_owned(),
        0x01 => "ProductCode".to_owned(),
        0x02 => "MajorMinorRevision".to_owned(),
        0x03 => "VendorUrl".to_owned(),
        0x04 => "ProductName".to_owned(),
        0x05 => "ModelName".to_owned(),
        0x06 => "UserApplicationName".to_owned(),
        0x07..=0x7F => format!("Reserved{id:#04x}"),
        _ => format!("Private{id:#04x}"),
    }
}

pub(super) fn modbus_device(device: &ModbusDeviceSpec, address: SocketAddr) -> ManifestDevice {
    ManifestDevice::ModbusTcp(ModbusDeviceManifest {
        name: device.name.clone(),
        kind: device.role,
        address,
        other_unit_ids: device.other_unit_ids,
        other_unit_ids_exception: device.other_unit_ids.exception_code(),
        units: device.units.iter().map(modbus_unit).collect(),
    })
}

fn modbus_unit(unit: &ModbusUnitSpec) -> ModbusUnitManifest {
    ModbusUnitManifest {
        unit_id: unit.unit_id,
        kind: unit.role,
        identification: unit
            .identification
            .as_ref()
            .map(|identification| IdentificationManifest {
                conformity_level: identification.conformity_level(),
                objects_per_response: identification.objects_per_response,
                objects: identification
                    .objects()
                    .into_iter()
                    .map(|(id, value)| IdentificationObject {
                        id,
                        name: device_id_object_name(id),
                        value,
                    })
                    .collect(),
            }),
        server_id: unit.server_id.as_ref().map(|server_id| ServerIdManifest {
            server_id: server_id.server_id,
            running: server_id.running,
            additional_data: server_id.additional_data.clone(),
            response_hex: to_hex(&server_id.response_bytes()),
        }),
        holding_registers: unit.holding_registers.len(),
        input_registers: unit.input_registers.len(),
        coils: unit.coils.len(),
        discrete_inputs: unit.discrete_inputs.len(),
    }
}

pub(super) fn opcua_server(server: &OpcUaServerSpec, address: SocketAddr) -> ManifestDevice {
    let mut user_tokens = Vec::new();
    if server.anonymous {
        user_tokens.push("anonymous".to_owned());
    }
    if !server.users.is_empty() {
        user_tokens.push("username".to_owned());
    }
    let mut namespaces = vec![own_namespace(server)];
    namespaces.extend(server.companion_namespaces.iter().cloned());
    ManifestDevice::Opcua(OpcUaServerManifest {
        name: server.name.clone(),
        kind: server.role,
        address,
        endpoint_url: format!("opc.tcp://{address}/"),
        application_name: server.application_name.clone(),
        application_uri: server.application_uri.clone(),
        product_uri: server.product_uri.clone(),
        build_info: BuildInfoManifest {
            manufacturer_name: server.manufacturer_name.clone(),
            product_name: server.product_name.clone(),
            software_version: server.software_version.clone(),
            build_number: server.build_number.clone(),
        },
        endpoints: server
            .endpoints
            .iter()
            .map(|endpoint| EndpointManifest {
                security_policy_uri: security_policy_uri(endpoint),
                security_mode: endpoint.mode.clone(),
                user_tokens: user_tokens.clone(),
            })
            .collect(),
        anonymous: server.anonymous,
        users: server.users.iter().map(|u| u.user.clone()).collect(),
        namespaces,
        variables: server.variables,
        machines: server.machines.clone(),
    })
}

/// Lowercase hex without separators.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl fmt::Display for Manifest {
    /// The human-readable manifest `i4gauge sim` prints without `--json`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Simulated plant {:?}: {}", self.plant, self.description)?;
        for device in &self.devices {
            match device {
                ManifestDevice::ModbusTcp(device) => {
                    writeln!(
                        f,
                        "  modbus-tcp  {:<21} {:<18} {:?}",
                        device.address, device.name, device.kind
                    )?;
                    for unit in &device.units {
                        let identity = match (&unit.identification, &unit.server_id) {
                            (Some(identification), _) => identification
                                .objects
                                .iter()
                                .take(3)
                                .map(|o| o.value.as_str())
                                .collect::<Vec<_>>()
                                .join(" / "),
                            (None, Some(server_id)) => {
                                format!("server id: {}", server_id.additional_data)
                            }
                            (None, None) => {
                                let tables: Vec<&str> = [
                                    (unit.holding_registers, "holding registers"),
                                    (unit.input_registers, "input registers"),
                                    (unit.coils, "coils"),
                                    (unit.discrete_inputs, "discrete inputs"),
                                ]
                                .into_iter()
                                .filter(|(count, _)| *count > 0)
                                .map(|(_, name)| name)
                                .collect();
                                format!("no identity ({} only)", tables.join(", "))
                            }
                        };
                        writeln!(
                            f,
                            "      unit {:>3}  {:<16} {identity}",
                            unit.unit_id,
                            format!("{:?}", unit.kind)
                        )?;
                    }
                    if let Some(code) = device.other_unit_ids_exception {
                        writeln!(f, "      other unit ids: exception {code:#04x}")?;
                    }
                }
                ManifestDevice::Opcua(server) => {
                    writeln!(
                        f,
                        "  opcua       {:<21} {:<18} {:?}",
                        server.address, server.name, server.kind
                    )?;
                    writeln!(
                        f,
                        "      {} {} {} ({} variables)",
                        server.build_info.manufacturer_name,
                        server.build_info.product_name,
                        server.build_info.software_version,
                        server.variables
                    )?;
                    for endpoint in &server.endpoints {
                        let policy = endpoint
                            .security_policy_uri
                            .rsplit('#')
                            .next()
                            .unwrap_or(&endpoint.security_policy_uri);
                        writeln!(
                            f,
                            "      endpoint {policy}/{} [{}]",
                            endpoint.security_mode,
                            endpoint.user_tokens.join(", ")
                        )?;
                    }
                }
            }
        }
        write!(f, "PKI: {}", self.pki_dir.display())
    }
}
