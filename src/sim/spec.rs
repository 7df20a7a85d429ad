//! The plant description: what devices a simulated plant has and how each one answers.
//!
//! A [`PlantSpec`] is read from TOML (`--plant FILE`, or the built-in
//! [`PlantSpec::builtin_default`]). It is plain data: starting the devices is
//! [`super::start_plant`]'s job. Unknown keys are errors, so a typo in a plant
//! file never silently yields a different plant.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The built-in default plant, compiled into the binary.
const DEFAULT_PLANT_TOML: &str = include_str!("../../plants/default.toml");

/// The scenario plants shipped with i4gauge, by name: `(name, TOML text)`.
pub const SCENARIOS: &[(&str, &str)] = &[
    ("default", DEFAULT_PLANT_TOML),
    (
        "industry-2.5",
        include_str!("../../plants/industry-2.5.toml"),
    ),
    (
        "industry-3.0",
        include_str!("../../plants/industry-3.0.toml"),
    ),
    (
        "industry-3.5",
        include_str!("../../plants/industry-3.5.toml"),
    ),
];

/// A whole simulated plant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlantSpec {
    /// Short name shown in the manifest.
    pub name: String,
    /// What this plant represents, in one or two sentences.
    #[serde(default)]
    pub description: String,
    /// The maturity level an assessor would expect for this plant (documentation only).
    #[serde(default)]
    pub typical_level: Option<f32>,
    /// Modbus TCP devices, each on its own port.
    #[serde(default)]
    pub modbus: Vec<ModbusDeviceSpec>,
    /// OPC UA servers, each on its own port.
    #[serde(default)]
    pub opcua: Vec<OpcUaServerSpec>,
}

/// What a device is for; the manifest reports it as the expected classification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceRole {
    /// Programmable logic controller.
    Plc,
    /// Modbus TCP to serial gateway.
    Gateway,
    /// Energy or flow meter.
    Meter,
    /// Variable-frequency drive.
    Drive,
    /// Remote I/O module.
    Io,
    /// SCADA / HMI server.
    Scada,
    /// Line or cell controller.
    LineController,
}

/// How a Modbus TCP device answers a unit id it does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OtherUnitIds {
    /// Answer as the first listed unit (most TCP-native devices ignore the unit id).
    #[default]
    Answer,
    /// Exception 0x0B, "gateway target device failed to respond".
    GatewayTargetFailed,
    /// Exception 0x0A, "gateway path unavailable".
    GatewayPathUnavailable,
    /// Send nothing back.
    Ignore,
}

impl OtherUnitIds {
    /// The Modbus exception code this policy answers with, if any.
    pub fn exception_code(self) -> Option<u8> {
        match self {
            OtherUnitIds::GatewayTargetFailed => Some(0x0B),
            OtherUnitIds::GatewayPathUnavailable => Some(0x0A),
            OtherUnitIds::Answer | OtherUnitIds::Ignore => None,
        }
    }
}

/// One Modbus TCP device (a PLC, or a gateway with serial devices behind it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModbusDeviceSpec {
    /// Name shown in the manifest.
    pub name: String,
    /// Expected classification.
    pub role: DeviceRole,
    /// Answer for unit ids not listed in `units`.
    #[serde(default)]
    pub other_unit_ids: OtherUnitIds,
    /// The unit ids this device answers, each with its own behaviour. A gateway lists
    /// the serial devices behind it here.
    pub units: Vec<ModbusUnitSpec>,
}

/// How one Modbus unit id answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModbusUnitSpec {
    /// The unit id (0–255).
    pub unit_id: u8,
    /// Expected classification of this unit.
    pub role: DeviceRole,
    /// Read Device Identification (FC 43 / MEI 14). Absent: the unit answers
    /// exception 0x01 (illegal function).
    #[serde(default)]
    pub identification: Option<DeviceIdentificationSpec>,
    /// Report Server ID (FC 17). Absent: exception 0x01.
    #[serde(default)]
    pub server_id: Option<ServerIdSpec>,
    /// Holding registers (FC 3) starting at address 0.
    #[serde(default)]
    pub holding_registers: Vec<u16>,
    /// Input registers (FC 4) starting at address 0.
    #[serde(default)]
    pub input_registers: Vec<u16>,
    /// Coils (FC 1) starting at address 0.
    #[serde(default)]
    pub coils: Vec<bool>,
    /// Discrete inputs (FC 2) starting at address 0.
    #[serde(default)]
    pub discrete_inputs: Vec<bool>,
}

/// The identification objects of a unit (Modbus Application Protocol v1.1b3, 6.21).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceIdentificationSpec {
    /// Object 0x00 (basic).
    pub vendor_name: String,
    /// Object 0x01 (basic).
    pub product_code: String,
    /// Object 0x02 (basic).
    pub revision: String,
    /// Object 0x03 (regular).
    #[serde(default)]
    pub vendor_url: Option<String>,
    /// Object 0x04 (regular).
    #[serde(default)]
    pub product_name: Option<String>,
    /// Object 0x05 (regular).
    #[serde(default)]
    pub model_name: Option<String>,
    /// Object 0x06 (regular).
    #[serde(default)]
    pub user_application_name: Option<String>,
    /// Private objects 0x80–0xFF (extended).
    #[serde(default)]
    pub extended: Vec<ExtendedObjectSpec>,
    /// At most this many objects per response; the rest follow with "more follows"
    /// set, as a device with a small buffer does. Absent: as many as fit.
    #[serde(default)]
    pub objects_per_response: Option<u8>,
    /// Whether individual access (read code 4) is supported (conformity level bit 0x80).
    #[serde(default = "default_true")]
    pub individual_access: bool,
}

fn default_true() -> bool {
    true
}

/// A private identification object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtendedObjectSpec {
    /// Object id, 0x80–0xFF.
    pub id: u8,
    /// Object value (sent as UTF-8 bytes).
    pub value: String,
}

impl DeviceIdentificationSpec {
    /// All objects in id order: `(object id, value)`.
    pub fn objects(&self) -> Vec<(u8, String)> {
        let mut objects = vec![
            (0x00, self.vendor_name.clone()),
            (0x01, self.product_code.clone()),
            (0x02, self.revision.clone()),
        ];
        let regular = [
            (0x03, &self.vendor_url),
            (0x04, &self.product_name),
            (0x05, &self.model_name),
            (0x06, &self.user_application_name),
        ];
        for (id, value) in regular {
            if let Some(value) = value {
                objects.push((id, value.clone()));
            }
        }
        for object in &self.extended {
            objects.push((object.id, object.value.clone()));
        }
        objects.sort_by_key(|(id, _)| *id);
        objects
    }

    /// The conformity level byte this unit reports (0x01–0x03, plus 0x80 when
    /// individual access is supported).
    pub fn conformity_level(&self) -> u8 {
        let has_regular = self.vendor_url.is_some()
            || self.product_name.is_some()
            || self.model_name.is_some()
            || self.user_application_name.is_some();
        let level = if !self.extended.is_empty() {
            0x03
        } else if has_regular {
            0x02
        } else {
            0x01
        };
        if self.individual_access {
            level | 0x80
        } else {
            level
        }
    }
}

/// The answer to Report Server ID (FC 17).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerIdSpec {
    /// The server id byte.
    pub server_id: u8,
    /// Run indicator status (0xFF when running).
    #[serde(default = "default_true")]
    pub running: bool,
    /// Additional device-specific data, as text (sent as UTF-8 bytes).
    #[serde(default)]
    pub additional_data: String,
}

impl ServerIdSpec {
    /// The bytes after the byte count in the FC 17 response: server id, run
    /// indicator, additional data.
    pub fn response_bytes(&self) -> Vec<u8> {
        let mut bytes = vec![self.server_id, if self.running { 0xFF } else { 0x00 }];
        bytes.extend_from_slice(self.additional_data.as_bytes());
        bytes
    }
}

/// One OPC UA server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpcUaServerSpec {
    /// Name shown in the manifest.
    pub name: String,
    /// Expected classification.
    pub role: DeviceRole,
    /// ApplicationName in the application description.
    pub application_name: String,
    /// ApplicationUri; also the subject alternative name of the server certificate.
    pub application_uri: String,
    /// ProductUri.
    pub product_uri: String,
    /// BuildInfo.ManufacturerName.
    pub manufacturer_name: String,
    /// BuildInfo.ProductName.
    pub product_name: String,
    /// BuildInfo.SoftwareVersion.
    pub software_version: String,
    /// BuildInfo.BuildNumber.
    pub build_number: String,
    /// Endpoints offered, e.g. `{ policy = "Basic256Sha256", mode = "SignAndEncrypt" }`.
    pub endpoints: Vec<EndpointSpec>,
    /// Whether anonymous login is accepted on every endpoint.
    #[serde(default)]
    pub anonymous: bool,
    /// Username/password logins accepted on every endpoint.
    #[serde(default)]
    pub users: Vec<UserSpec>,
    /// Extra namespaces in the NamespaceArray (companion specifications such as
    /// `http://opcfoundation.org/UA/DI/`), after the server's own.
    #[serde(default)]
    pub companion_namespaces: Vec<String>,
    /// Number of process variables in the server's own namespace.
    #[serde(default = "default_variables")]
    pub variables: u32,
    /// Variables per folder (the address space is a tree of folders).
    #[serde(default = "default_variables_per_folder")]
    pub variables_per_folder: u32,
    /// Machines exposed under a DI-style `DeviceSet` with identification properties.
    #[serde(default)]
    pub machines: Vec<MachineSpec>,
}

fn default_variables() -> u32 {
    20
}

fn default_variables_per_folder() -> u32 {
    50
}

/// One endpoint: security policy and message security mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointSpec {
    /// Security policy short name: `None`, `Basic128Rsa15`, `Basic256`,
    /// `Basic256Sha256`, `Aes128_Sha256_RsaOaep`, `Aes256_Sha256_RsaPss`.
    pub policy: String,
    /// `None`, `Sign` or `SignAndEncrypt`.
    pub mode: String,
}

/// A username/password login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    /// User name.
    pub user: String,
    /// Password.
    pub password: String,
}

/// A machine behind an OPC UA server, identified DI-style.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineSpec {
    /// Browse name of the machine object.
    pub name: String,
    /// DI `Manufacturer`.
    pub manufacturer: String,
    /// DI `Model`.
    pub model: String,
    /// DI `SerialNumber`.
    pub serial_number: String,
    /// DI `SoftwareRevision`.
    pub software_revision: String,
}

/// Why a plant description could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PlantSpecError {
    /// The file could not be read.
    #[error("cannot read plant file {path}: {error}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The TOML is malformed or does not match the plant schema.
    #[error("{origin}:{line}:{column}: {message}")]
    Parse {
        /// File name, or `<built-in NAME>`.
        origin: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong, including the field.
        message: String,
    },
    /// The plant parses but makes no sense.
    #[error("{origin}: {message}")]
    Invalid {
        /// File name, or `<built-in NAME>`.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// No built-in scenario has this name.
    #[error(
        "no built-in plant named {0:?} (known: default, industry-2.5, industry-3.0, industry-3.5)"
    )]
    UnknownScenario(String),
}

impl PlantSpec {
    /// The plant used when no `--plant` is given.
    pub fn builtin_default() -> PlantSpec {
        PlantSpec::parse(DEFAULT_PLANT_TOML, "<built-in default>")
            .expect("the built-in default plant is valid (checked by a test)")
    }

    /// A shipped scenario by name (`default`, `industry-2.5`, `industry-3.0`, `industry-3.5`).
    pub fn scenario(name: &str) -> Result<PlantSpec, PlantSpecError> {
        let (_, text) = SCENARIOS
            .iter()
            .find(|(scenario, _)| *scenario == name)
            .ok_or_else(|| PlantSpecError::UnknownScenario(name.to_owned()))?;
        PlantSpec::parse(text, &format!("<built-in {name}>"))
    }

    /// Reads a plant file.
    pub fn load(path: &Path) -> Result<PlantSpec, PlantSpecError> {
        let text = std::fs::read_to_string(path).map_err(|error| PlantSpecError::Read {
            path: path.display().to_string(),
            error,
        })?;
        PlantSpec::parse(&text, &path.display().to_string())
    }

    /// Parses and validates plant TOML; `origin` names the source in errors.
    pub fn parse(text: &str, origin: &str) -> Result<PlantSpec, PlantSpecError> {
        let spec: PlantSpec = toml::from_str(text).map_err(|error| {
            let (line, column) = error
                .span()
                .map(|span| line_column(text, span.start))
                .unwrap_or((1, 1));
            PlantSpecError::Parse {
                origin: origin.to_owned(),
                line,
                column,
                message: error.message().to_owned(),
            }
        })?;
        spec.validate().map_err(|message| PlantSpecError::Invalid {
            origin: origin.to_owned(),
            message,
        })?;
        Ok(spec)
    }

    fn validate(&self) -> Result<(), String> {
        let mut names = std::collections::BTreeSet::new();
        let all_names = self
            .modbus
            .iter()
            .map(|d| &d.name)
            .chain(self.opcua.iter().map(|s| &s.name));
        for name in all_names {
            if !names.insert(name) {
                return Err(format!("device name {name:?} is used twice"));
            }
        }
        for device in &self.modbus {
            if device.units.is_empty() {
                return Err(format!("modbus device {:?} has no units", device.name));
            }
            let mut unit_ids = std::collections::BTreeSet::new();
            for unit in &device.units {
                if !unit_ids.insert(unit.unit_id) {
                    return Err(format!(
                        "modbus device {:?} lists unit id {} twice",
                        device.name, unit.unit_id
                    ));
                }
                if let Some(server_id) = &unit.server_id
                    && server_id.additional_data.len() > 249
                {
                    return Err(format!(
                        "modbus device {:?} unit {}: server id additional_data is longer than \
                         the 249 bytes a Modbus PDU can carry",
                        device.name, unit.unit_id
                    ));
                }
                if let Some(identification) = &unit.identification {
                    if let Some((id, _)) = identification
                        .objects()
                        .into_iter()
                        .find(|(_, value)| value.len() > 244)
                    {
                        return Err(format!(
                            "modbus device {:?} unit {}: identification object {id:#04x} is \
                             longer than the 244 bytes one response can carry",
                            device.name, unit.unit_id
                        ));
                    }
                    for object in &identification.extended {
                        if object.id < 0x80 {
                            return Err(format!(
                                "modbus device {:?} unit {}: extended object id {:#04x} must be 0x80 or above",
                                device.name, unit.unit_id, object.id
                            ));
                        }
                    }
                    if identification.objects_per_response == Some(0) {
                        return Err(format!(
                            "modbus device {:?} unit {}: objects_per_response must be at least 1",
                            device.name, unit.unit_id
                        ));
                    }
                }
            }
        }
        for server in &self.opcua {
            if server.endpoints.is_empty() {
                return Err(format!("OPC UA server {:?} has no endpoints", server.name));
            }
            for endpoint in &server.endpoints {
                super::opcua::security_of(endpoint)
                    .map_err(|message| format!("OPC UA server {:?}: {message}", server.name))?;
            }
            if !server.anonymous && server.users.is_empty() {
                return Err(format!(
                    "OPC UA server {:?} accepts no login (set anonymous = true or add users)",
                    server.name
                ));
            }
            if server.variables > 100_000 {
                return Err(format!(
                    "OPC UA server {:?}: at most 100000 variables are supported",
                    server.name
                ));
            }
            if server.variables_per_folder == 0 {
                return Err(format!(
                    "OPC UA server {:?}: variables_per_folder must be at least 1",
                    server.name
                ));
            }
        }
        Ok(())
    }
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_scenario_is_valid() {
        for (name, _) in SCENARIOS {
            PlantSpec::scenario(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn unknown_key_names_line_and_field() {
        let text =
            "name = \"x\"\n[[modbus]]\nname = \"a\"\nrole = \"plc\"\ncolour = 1\nunits = []\n";
        let error = PlantSpec::parse(text, "p.toml").unwrap_err().to_string();
        assert!(error.starts_with("p.toml:5:"), "{error}");
        assert!(error.contains("colour"), "{error}");
    }

    #[test]
    fn duplicate_unit_id_is_rejected() {
        let text = r#"
name = "x"
[[modbus]]
name = "a"
role = "gateway"
units = [{ unit_id = 2, role = "meter" }, { unit_id = 2, role = "drive" }]
"#;
        let error = PlantSpec::parse(text, "p.toml").unwrap_err().to_string();
        assert!(error.contains("unit id 2 twice"), "{error}");
    }

    #[test]
    fn conformity_level_follows_the_objects() {
        let mut identification = DeviceIdentificationSpec {
            vendor_name: "V".into(),
            product_code: "P".into(),
            revision: "1".into(),
            vendor_url: None,
            product_name: None,
            model_name: None,
            user_application_name: None,
            extended: vec![],
            objects_per_response: None,
            individual_access: false,
        };
        assert_eq!(identification.conformity_level(), 0x01);
        identification.model_name = Some("M".into());
        assert_eq!(identification.conformity_level(), 0x02);
        identification.individual_access = true;
        assert_eq!(identification.conformity_level(), 0x82);
        identification.extended.push(ExtendedObjectSpec {
            id: 0x80,
            value: "x".into(),
        });
        assert_eq!(identification.conformity_level(), 0x83);
        let ids: Vec<u8> = identification.objects().iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, vec![0, 1, 2, 5, 0x80]);
    }
}
