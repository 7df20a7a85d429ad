//! The evidence model: what discovery found on a plant network, as a versioned,
//! documented serde schema.
//!
//! [`Evidence`] is what `i4gauge discover` writes and `i4gauge assess` reads. It
//! holds the scan runs that produced it ([`ScanRun`]: parameters, scope, times,
//! whether it completed), one [`Asset`] per host or sub-device with per-protocol
//! findings ([`ModbusService`], [`OpcUaService`]), [`Diagnostic`]s for everything
//! that went wrong without stopping the scan, and the network [`Topology`].
//!
//! Versioning: [`SCHEMA_VERSION`] is `MAJOR.MINOR`. A minor bump only adds
//! optional fields, so older readers ignore what they do not know; a major bump
//! changes meaning, and [`Evidence::from_json`] refuses a major it does not read.
//! The field-by-field reference is `docs/evidence.md`.
//!
//! Architecture invariant: this module is plain data plus (de)serialization; it
//! does no network I/O and knows nothing about how evidence is scored.

pub mod facts;
pub mod topology;

use std::{
    collections::BTreeMap,
    fmt,
    net::{IpAddr, SocketAddr},
    path::Path,
};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use topology::{Topology, TopologyEdge, TopologyNode, TopologyNodeKind, TopologyRelation};

/// The schema version this build writes.
pub const SCHEMA_VERSION: SchemaVersion = SchemaVersion { major: 1, minor: 2 };

/// A `MAJOR.MINOR` schema version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SchemaVersion {
    /// Incompatible changes.
    pub major: u32,
    /// Compatible additions.
    pub minor: u32,
}

impl fmt::Display for SchemaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl std::str::FromStr for SchemaVersion {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (major, minor) = text
            .split_once('.')
            .ok_or_else(|| format!("schema version {text:?} is not MAJOR.MINOR"))?;
        let parse = |part: &str| {
            part.parse::<u32>()
                .map_err(|_| format!("schema version {text:?} is not MAJOR.MINOR"))
        };
        Ok(SchemaVersion {
            major: parse(major)?,
            minor: parse(minor)?,
        })
    }
}

impl Serialize for SchemaVersion {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SchemaVersion {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Everything one or more scans found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Schema version of this document.
    pub schema_version: SchemaVersion,
    /// The program that wrote the document.
    pub tool: ToolInfo,
    /// The scan runs merged into this document (one for a single scan).
    pub runs: Vec<ScanRun>,
    /// Hosts and sub-devices found, ordered by address, then gateway port and unit id.
    pub assets: Vec<Asset>,
    /// Problems met during the scans that did not stop them.
    #[serde(default)]
    pub diagnostics: Vec<Diagnostic>,
    /// Subnets, hosts, services and sub-devices, and how they connect.
    #[serde(default)]
    pub topology: Topology,
}

/// Name and version of the program that wrote a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolInfo {
    /// `i4gauge`.
    pub name: String,
    /// The crate version, e.g. `0.1.0`.
    pub version: String,
}

impl ToolInfo {
    /// This build of i4gauge.
    pub fn current() -> ToolInfo {
        ToolInfo {
            name: env!("CARGO_PKG_NAME").to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

/// One run of discovery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanRun {
    /// Identifier unique within the document, e.g. `run-1`.
    pub id: String,
    /// Free-text site label (a plant or building), when the user gave one.
    #[serde(default)]
    pub site: Option<String>,
    /// When the run started (UTC).
    pub started_at: DateTime<Utc>,
    /// When the run ended (UTC); absent if it never ended cleanly.
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    /// Whether the run covered everything it planned.
    pub status: ScanStatus,
    /// Limits and probes the run used.
    pub parameters: ScanParameters,
    /// What the run was allowed to touch.
    pub scope: Scope,
}

/// Whether a run finished what it planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum ScanStatus {
    /// Every planned probe was sent and answered or timed out.
    Complete,
    /// The run stopped early; its findings are partial.
    Incomplete {
        /// Why: `interrupted` (Ctrl-C), `deadline`, or another short reason.
        reason: String,
        /// Planned probes (host × port) not finished.
        unfinished_targets: u64,
    },
}

/// The parameters of a run: its caps and probes, for reproducibility.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanParameters {
    /// TCP ports probed for Modbus.
    pub modbus_ports: Vec<u16>,
    /// TCP ports probed for OPC UA.
    pub opcua_ports: Vec<u16>,
    /// Global cap on new connections per second.
    pub rate: u32,
    /// Cap on requests per second per host.
    pub host_rate: u32,
    /// Requests in flight per host at most.
    pub max_in_flight_per_host: u32,
    /// Timeout of one operation (connect, request), in milliseconds.
    pub timeout_ms: u64,
    /// Deadline of the whole run, in milliseconds, if any.
    #[serde(default)]
    pub deadline_ms: Option<u64>,
    /// Which Modbus unit ids were probed: `auto`, `all`, or a list.
    pub unit_ids: UnitIdPolicy,
    /// Whether OPC UA address spaces were browsed.
    #[serde(default)]
    pub opcua_browse: bool,
}

/// Which Modbus unit ids discovery probes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnitIdPolicy {
    /// 255, 0 and 1, then a sweep of 1–247 where a gateway is detected.
    Auto,
    /// Every unit id 1–247 (plus 0 and 255).
    All,
    /// Exactly these unit ids.
    List(Vec<u8>),
}

/// What a run was allowed to touch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// Targets as the user named them (addresses, CIDR blocks, ranges, names).
    pub targets: Vec<String>,
    /// Exclusions as the user named them.
    #[serde(default)]
    pub excluded: Vec<String>,
    /// Number of addresses in scope after exclusions.
    pub address_count: u64,
    /// Whether the user declared that the scope covers the whole plant network.
    /// Evidence rules such as "no PLC found" only apply to complete scopes.
    #[serde(default)]
    pub declared_complete: bool,
}

/// Identifies an asset within a document: `HOST` for a host
/// (`10.1.0.7`, `[fd00::7]`), `HOST:PORT/unit/N` for a device behind a gateway.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AssetId(pub String);

impl AssetId {
    /// The id of a host.
    pub fn host(address: IpAddr) -> AssetId {
        AssetId(match address {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("[{v6}]"),
        })
    }

    /// The id of the device at `unit_id` behind the gateway at `gateway`.
    pub fn sub_device(gateway: SocketAddr, unit_id: u8) -> AssetId {
        AssetId(format!("{gateway}/unit/{unit_id}"))
    }
}

impl fmt::Display for AssetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A host on the network, or a device reached through a gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Asset {
    /// Unique id within the document.
    pub id: AssetId,
    /// The IP address of the host (for a sub-device: of its gateway).
    pub address: IpAddr,
    /// Host name the user gave for this address, if any.
    #[serde(default)]
    pub hostname: Option<String>,
    /// How the asset is reached.
    pub attachment: Attachment,
    /// Classification and the rules that decided it.
    pub role: RoleAssessment,
    /// ISA-95 level guess: 0 process, 1 sensing/actuation, 2 control (PLC, HMI,
    /// SCADA), 3 operations (MES, historian), 4 enterprise.
    #[serde(default)]
    pub isa95_level: Option<u8>,
    /// Identity consolidated from every protocol that revealed one.
    #[serde(default)]
    pub identity: Identity,
    /// Modbus TCP services on this asset (for a sub-device: the unit behind the gateway).
    #[serde(default)]
    pub modbus: Vec<ModbusService>,
    /// OPC UA services on this asset.
    #[serde(default)]
    pub opcua: Vec<OpcUaService>,
    /// Ids of the runs that saw this asset.
    #[serde(default)]
    pub seen_in_runs: Vec<String>,
}

/// How an asset is reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Attachment {
    /// Directly on the IP network.
    Network,
    /// Behind a Modbus gateway, at a unit id.
    BehindGateway {
        /// The gateway asset.
        gateway: AssetId,
        /// The gateway's Modbus TCP port.
        port: u16,
        /// Unit id of this device.
        unit_id: u8,
    },
}

/// What kind of device an asset is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AssetRole {
    /// Programmable logic controller.
    Plc,
    /// Protocol gateway (e.g. Modbus TCP to serial).
    Gateway,
    /// Meter (energy, flow).
    Meter,
    /// Drive (VFD, servo).
    Drive,
    /// Remote I/O.
    Io,
    /// HMI panel.
    Hmi,
    /// SCADA or data collection server.
    Scada,
    /// An OPC UA server whose purpose is not known.
    OpcUaServer,
    /// Not enough evidence to say.
    Unknown,
}

/// A classification with its reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleAssessment {
    /// The role.
    pub role: AssetRole,
    /// Ids of the classification rules that decided it, e.g. `role.modbus.gateway-exception`.
    #[serde(default)]
    pub basis: Vec<String>,
}

/// Identity facts about an asset; every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// Manufacturer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// Product name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// Product code / order number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_code: Option<String>,
    /// Model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Firmware or software revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Serial number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    /// Application name configured by the user (Modbus UserApplicationName, OPC UA ApplicationName).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_name: Option<String>,
    /// Where each field came from, e.g. `vendor → modbus.fc43`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sources: BTreeMap<String, String>,
}

/// A Modbus TCP service on one port.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModbusService {
    /// TCP port.
    pub port: u16,
    /// Units that answered as devices (never units that answered 0x0A/0x0B).
    #[serde(default)]
    pub units: Vec<ModbusUnit>,
    /// Whether the service behaves as a gateway: 0x0A/0x0B exceptions seen, or
    /// devices with different identities answered at different unit ids.
    #[serde(default)]
    pub gateway: bool,
    /// Whether the device answered every probed unit id identically and was
    /// collapsed into one unit.
    #[serde(default)]
    pub answers_every_unit_id: bool,
    /// Unit ids that answered a gateway exception (nothing there).
    #[serde(default)]
    pub gateway_absent_unit_ids: Vec<u8>,
}

/// What one unit id answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModbusUnit {
    /// Unit id.
    pub unit_id: u8,
    /// FC 43 / MEI 14 objects, when the unit supports them.
    #[serde(default)]
    pub device_identification: Option<ModbusDeviceIdentification>,
    /// FC 17 answer, when the unit supports it.
    #[serde(default)]
    pub server_id: Option<ModbusServerId>,
    /// What each probed function code got: key is the function code in decimal.
    #[serde(default)]
    pub functions: BTreeMap<u8, FunctionOutcome>,
}

/// Read Device Identification result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModbusDeviceIdentification {
    /// Conformity level byte (0x01–0x03, 0x81–0x83).
    pub conformity_level: u8,
    /// Objects in id order.
    pub objects: Vec<ModbusDeviceIdObject>,
    /// Number of request/response exchanges it took ("more follows").
    pub exchanges: u32,
}

/// One identification object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModbusDeviceIdObject {
    /// Object id.
    pub id: u8,
    /// Standard name (`VendorName`…), `Private0x80` for extended objects.
    pub name: String,
    /// Value decoded as UTF-8 (invalid bytes replaced).
    pub text: String,
    /// Raw value as lowercase hex.
    pub hex: String,
}

/// Report Server ID result: free-form bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModbusServerId {
    /// The bytes after the byte count, as lowercase hex.
    pub hex: String,
    /// Best-effort text: printable ASCII runs of the payload.
    pub text: String,
    /// Run indicator, when the payload has the usual `id, 0x00|0xFF, …` shape.
    #[serde(default)]
    pub running: Option<bool>,
}

/// What a function code probe got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum FunctionOutcome {
    /// A normal response.
    Supported,
    /// An exception response (0x01 means the function is not supported: a fact).
    Exception {
        /// Exception code.
        code: u8,
    },
    /// No response within the timeout.
    NoResponse,
}

/// An OPC UA server on one port.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpcUaService {
    /// TCP port.
    pub port: u16,
    /// The URL discovery used.
    pub discovery_url: String,
    /// FindServers answer.
    #[serde(default)]
    pub applications: Vec<OpcUaApplication>,
    /// GetEndpoints answer.
    #[serde(default)]
    pub endpoints: Vec<OpcUaEndpoint>,
    /// What a session could read, when one was allowed.
    #[serde(default)]
    pub session: Option<OpcUaSessionFacts>,
    /// Companion specifications recognised in the NamespaceArray.
    #[serde(default)]
    pub companion_specs: Vec<CompanionSpec>,
    /// Address-space summary, when browsed.
    #[serde(default)]
    pub address_space: Option<AddressSpaceSummary>,
    /// Devices under DI `DeviceSet`, read in a session (since 1.1).
    #[serde(default)]
    pub devices: Vec<OpcUaDevice>,
    /// Security findings about this server.
    #[serde(default)]
    pub security_findings: Vec<SecurityFinding>,
    /// Other servers this one reports in FindServers (a Local Discovery
    /// Server's registered servers), one per discovery URL, and whether
    /// discovery followed them (since 1.2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub registered_servers: Vec<RegisteredServer>,
}

/// A discovery URL of another server reported by FindServers (since 1.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredServer {
    /// ApplicationUri of the registered server.
    pub application_uri: String,
    /// ApplicationName text.
    pub application_name: String,
    /// The discovery URL as reported.
    pub discovery_url: String,
    /// What discovery did with it.
    pub status: RegisteredServerStatus,
    /// The addresses its host resolved to, when it resolved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolved: Vec<IpAddr>,
}

/// What discovery did with a registered server's discovery URL (since 1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RegisteredServerStatus {
    /// In scope and not probed otherwise: probed now; its findings are on the
    /// asset of that address, under that port.
    Followed,
    /// In scope and probed anyway (named by the user, or followed earlier).
    AlreadyProbed,
    /// Registered, outside the scope, not followed: no address it resolves
    /// to is one the user named. Never contacted.
    OutsideScope,
    /// Its host name did not resolve; not contacted.
    Unresolved,
    /// Not an `opc.tcp://HOST[:PORT]` URL; not contacted.
    UnsupportedUrl,
    /// In scope, but the scan stopped (deadline, Ctrl-C) before it was probed.
    Interrupted,
}

/// An application description (FindServers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpcUaApplication {
    /// ApplicationUri.
    pub application_uri: String,
    /// ProductUri.
    pub product_uri: String,
    /// ApplicationName text.
    pub application_name: String,
    /// `server`, `client`, `client-and-server` or `discovery-server`.
    pub application_type: String,
    /// DiscoveryUrls.
    #[serde(default)]
    pub discovery_urls: Vec<String>,
}

/// An endpoint description (GetEndpoints).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpcUaEndpoint {
    /// EndpointUrl.
    pub url: String,
    /// SecurityPolicyUri.
    pub security_policy_uri: String,
    /// `None`, `Sign` or `SignAndEncrypt`.
    pub security_mode: String,
    /// User token types: `anonymous`, `username`, `certificate`, `issued-token`.
    pub user_token_types: Vec<String>,
    /// SecurityLevel byte.
    pub security_level: u8,
    /// Facts about the server certificate sent with the endpoint.
    #[serde(default)]
    pub certificate: Option<CertificateFacts>,
}

/// Facts about an X.509 certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateFacts {
    /// Subject distinguished name.
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// Whether subject and issuer are the same.
    pub self_signed: bool,
    /// Start of validity.
    pub not_before: DateTime<Utc>,
    /// End of validity.
    pub not_after: DateTime<Utc>,
    /// Public key length in bits.
    #[serde(default)]
    pub key_bits: Option<u32>,
    /// Signature algorithm, e.g. `sha256WithRSAEncryption`.
    pub signature_algorithm: String,
    /// SHA-1 thumbprint, lowercase hex.
    pub thumbprint: String,
}

/// What a session read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpcUaSessionFacts {
    /// How the session logged in: `anonymous`, `username`, or `certificate`
    /// (an X.509 user certificate, since 1.2).
    pub login: String,
    /// ServerStatus.State, e.g. `Running`.
    #[serde(default)]
    pub server_state: Option<String>,
    /// ServerStatus.StartTime (since 1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<DateTime<Utc>>,
    /// ServerStatus.CurrentTime, the server's clock when read (since 1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_time: Option<DateTime<Utc>>,
    /// BuildInfo.
    #[serde(default)]
    pub build_info: Option<OpcUaBuildInfo>,
    /// NamespaceArray.
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// ServerProfileArray.
    #[serde(default)]
    pub server_profiles: Vec<String>,
    /// Capabilities learned cheaply (since 1.1): `events` and `event-history`
    /// from the Server object's EventNotifier, `historical-access`,
    /// `alarms-conditions` and `methods` from the profiles claimed.
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// OperationLimits by name (MaxNodesPerRead…).
    #[serde(default)]
    pub operation_limits: BTreeMap<String, u32>,
}

/// BuildInfo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpcUaBuildInfo {
    /// ManufacturerName.
    pub manufacturer_name: String,
    /// ProductName.
    pub product_name: String,
    /// ProductUri.
    pub product_uri: String,
    /// SoftwareVersion.
    pub software_version: String,
    /// BuildNumber.
    pub build_number: String,
    /// BuildDate (since 1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_date: Option<DateTime<Utc>>,
}

/// A companion specification recognised by its namespace URI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanionSpec {
    /// Namespace URI as found.
    pub namespace_uri: String,
    /// Short name, e.g. `DI`, `Machinery`.
    pub name: String,
}

/// Counts from a browse of the address space.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressSpaceSummary {
    /// Nodes visited.
    pub nodes: u64,
    /// Nodes by node class (`Object`, `Variable`…).
    pub by_node_class: BTreeMap<String, u64>,
    /// Whether the browse stopped at `--max-nodes` or `--max-depth`.
    pub truncated: bool,
    /// Deepest level reached below the Objects folder (since 1.1).
    #[serde(default)]
    pub max_depth: u32,
    /// Objects by type definition: `i=58` for standard types,
    /// `NAMESPACE_URI#IDENTIFIER` for others (since 1.1).
    #[serde(default)]
    pub object_types: BTreeMap<String, u64>,
    /// Objects whose type comes from a companion specification, by spec name (since 1.1).
    #[serde(default)]
    pub companion_instances: BTreeMap<String, u64>,
}

/// A device behind an OPC UA server, identified DI-style under `DeviceSet` (since 1.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpcUaDevice {
    /// Browse name of the device object.
    pub name: String,
    /// DI `Manufacturer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<String>,
    /// DI `Model`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// DI `SerialNumber`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    /// DI `SoftwareRevision`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_revision: Option<String>,
    /// DI `HardwareRevision`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardware_revision: Option<String>,
    /// DI `ProductCode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_code: Option<String>,
}

/// A security weakness, with an id the scoring rules refer to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityFinding {
    /// Stable id, e.g. `opcua.security-mode-none`.
    pub id: String,
    /// How bad it is.
    pub severity: Severity,
    /// What was seen, in one sentence.
    pub detail: String,
}

/// Severity of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Should be fixed.
    Low,
    /// Should be fixed soon.
    Medium,
    /// Exposes the plant.
    High,
}

/// A problem met during a scan: a device that timed out, refused, or answered
/// garbage. Diagnostics never abort a scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// The run it happened in.
    pub run: String,
    /// `HOST:PORT` (or `HOST`) it concerns.
    pub target: String,
    /// Protocol in use, if any.
    #[serde(default)]
    pub protocol: Option<Protocol>,
    /// Category.
    pub kind: DiagnosticKind,
    /// What happened, in one sentence.
    pub message: String,
    /// The offending bytes, lowercase hex, when there were any.
    #[serde(default)]
    pub raw_hex: Option<String>,
}

/// A network protocol i4gauge speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    /// Modbus TCP.
    ModbusTcp,
    /// OPC UA binary over TCP.
    Opcua,
}

/// Category of a [`Diagnostic`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DiagnosticKind {
    /// No answer within the timeout.
    Timeout,
    /// Connection refused or reset.
    Refused,
    /// A reply that does not parse.
    Malformed,
    /// A reply for another transaction or unit id.
    Mismatch,
    /// Something else (the message says what).
    Other,
}

/// Why an evidence document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// The file could not be read or written.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        error: std::io::Error,
    },
    /// Not JSON, or not evidence.
    #[error("{origin}:{line}:{column}: not a valid evidence document: {message}")]
    Malformed {
        /// File name or `<input>`.
        origin: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// serde's message (names the field).
        message: String,
    },
    /// Written by a version of i4gauge whose evidence this one cannot read.
    #[error(
        "{origin}: evidence schema version {found} is newer than this i4gauge {tool} reads \
         (1.x); upgrade i4gauge to read it"
    )]
    UnsupportedVersion {
        /// File name or `<input>`.
        origin: String,
        /// Version in the document.
        found: SchemaVersion,
        /// This program's version.
        tool: &'static str,
    },
}

impl Evidence {
    /// An empty document for a run that is about to start.
    pub fn new(run: ScanRun) -> Evidence {
        Evidence {
            schema_version: SCHEMA_VERSION,
            tool: ToolInfo::current(),
            runs: vec![run],
            assets: Vec::new(),
            diagnostics: Vec::new(),
            topology: Topology::default(),
        }
    }

    /// Parses a document, checking its schema version before anything else so
    /// a future major version gets a clear message instead of a field error.
    pub fn from_json(text: &str, origin: &str) -> Result<Evidence, EvidenceError> {
        #[derive(Deserialize)]
        struct VersionOnly {
            schema_version: SchemaVersion,
        }
        let malformed = |error: serde_path_to_error::Error<serde_json::Error>| {
            let path = error.path().to_string();
            let inner = error.into_inner();
            let mut message = inner.to_string();
            // serde_json appends the position, which the error already shows.
            if let Some(at) = message.rfind(" at line ") {
                message.truncate(at);
            }
            if path != "." {
                message = format!("field `{path}`: {message}");
            }
            EvidenceError::Malformed {
                origin: origin.to_owned(),
                line: inner.line(),
                column: inner.column(),
                message,
            }
        };
        let parse = |text| {
            let mut deserializer = serde_json::Deserializer::from_str(text);
            serde_path_to_error::deserialize(&mut deserializer)
        };
        let version: VersionOnly = parse(text).map_err(malformed)?;
        if version.schema_version.major != SCHEMA_VERSION.major {
            return Err(EvidenceError::UnsupportedVersion {
                origin: origin.to_owned(),
                found: version.schema_version,
                tool: env!("CARGO_PKG_VERSION"),
            });
        }
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let evidence: Evidence =
            serde_path_to_error::deserialize(&mut deserializer).map_err(malformed)?;
        deserializer
            .end()
            .map_err(|error| EvidenceError::Malformed {
                origin: origin.to_owned(),
                line: error.line(),
                column: error.column(),
                message: "trailing characters after the document".to_owned(),
            })?;
        Ok(evidence)
    }

    /// Pretty JSON, ending with a newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("evidence always serializes");
        text.push('\n');
        text
    }

    /// Reads a document from a file.
    pub fn load(path: &Path) -> Result<Evidence, EvidenceError> {
        let text = std::fs::read_to_string(path).map_err(|error| EvidenceError::Io {
            path: path.display().to_string(),
            error,
        })?;
        Evidence::from_json(&text, &path.display().to_string())
    }

    /// Writes the document atomically: to a temporary file beside `path`, then
    /// renamed over it, so a reader never sees half a document.
    pub fn save(&self, path: &Path) -> Result<(), EvidenceError> {
        crate::source::write_atomic(path, self.to_json().as_bytes()).map_err(|error| {
            EvidenceError::Io {
                path: path.display().to_string(),
                error,
            }
        })
    }

    /// Whether every run completed.
    pub fn is_complete(&self) -> bool {
        self.runs
            .iter()
            .all(|run| run.status == ScanStatus::Complete)
    }

    /// The asset with this id.
    pub fn asset(&self, id: &AssetId) -> Option<&Asset> {
        self.assets.iter().find(|asset| &asset.id == id)
    }
}

#[cfg(test)]
mod tests;
