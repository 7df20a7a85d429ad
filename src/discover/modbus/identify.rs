//! Identification of one Modbus TCP port: which unit ids answer, who made them,
//! whether it is a gateway and what is behind it.
//!
//! [`identify_port`] drives a [`ModbusConnection`] through the probe sequence:
//! unit ids 255, 0, 1 (or the user's list), each with Read Device
//! Identification (FC 43/14, basic then as far as the conformity level allows,
//! following "more follows"), Report Server ID (FC 17), and, for a unit with no
//! identity, harmless reads at address 0 (FC 3, then 4, 1, 2 until one succeeds:
//! which table answers also hints at the role). Gateway
//! exceptions 0x0A/0x0B mean "nothing at this unit id", never a device; when
//! they appear (or with `--unit-ids all`) unit ids 1–247 are swept. A device
//! answering every probed unit id identically is collapsed into one unit.

use std::collections::BTreeMap;

use tokio_util::sync::CancellationToken;

use super::{
    connection::{Exchange, ModbusConnection},
    frame::{DeviceIdReadCode, ReadRequest, Reply},
};
use crate::{
    evidence::{
        DiagnosticKind, FunctionOutcome, ModbusDeviceIdObject, ModbusDeviceIdentification,
        ModbusServerId, ModbusService, ModbusUnit, UnitIdPolicy,
    },
    sim::manifest::device_id_object_name,
};

/// Exception code: gateway path unavailable.
pub const GATEWAY_PATH_UNAVAILABLE: u8 = 0x0A;
/// Exception code: gateway target device failed to respond.
pub const GATEWAY_TARGET_FAILED: u8 = 0x0B;
/// Unit ids probed first in `auto` mode.
pub const INITIAL_UNIT_IDS: [u8; 3] = [255, 0, 1];
/// At most this many FC 43 exchanges per unit ("more follows" loops end here).
const MAX_IDENTIFICATION_EXCHANGES: u32 = 32;

/// A problem found while identifying, for the evidence's diagnostics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortDiagnostic {
    /// Category.
    pub kind: DiagnosticKind,
    /// What happened.
    pub message: String,
    /// Offending bytes, hex.
    pub raw_hex: Option<String>,
}

/// Everything learned about one port.
#[derive(Debug, Clone, PartialEq)]
pub struct PortFindings {
    /// The service as the host asset reports it: its own units (for a gateway,
    /// unit 0/255 if they answered), gateway flag, absent unit ids.
    pub service: ModbusService,
    /// Devices behind a gateway (unit ids 1–247), each becomes its own asset.
    pub sub_devices: Vec<ModbusUnit>,
    /// Whether anything answered as Modbus at all.
    pub speaks_modbus: bool,
    /// Problems met.
    pub diagnostics: Vec<PortDiagnostic>,
    /// Whether identification stopped early (deadline or Ctrl-C).
    pub interrupted: bool,
    /// Requests sent.
    pub requests: u32,
}

enum UnitProbe {
    /// Answered as a device; with the request/reply that best fingerprints it.
    Present(ModbusUnit, Option<(ReadRequest, Reply)>),
    /// Gateway exception: nothing at this unit id.
    GatewayAbsent,
    /// Nothing usable came back.
    Silent,
}

/// Identifies the Modbus service behind `connection`.
pub async fn identify_port(
    connection: &mut ModbusConnection,
    policy: &UnitIdPolicy,
    cancel: &CancellationToken,
) -> PortFindings {
    let mut findings = PortFindings {
        service: ModbusService {
            port: connection.address().port(),
            units: Vec::new(),
            gateway: false,
            answers_every_unit_id: false,
            gateway_absent_unit_ids: Vec::new(),
        },
        sub_devices: Vec::new(),
        speaks_modbus: false,
        diagnostics: Vec::new(),
        interrupted: false,
        requests: 0,
    };
    let initial: Vec<u8> = match policy {
        UnitIdPolicy::List(ids) => ids.clone(),
        UnitIdPolicy::Auto | UnitIdPolicy::All => INITIAL_UNIT_IDS.to_vec(),
    };

    // Units that answered, the request/reply that fingerprints the first of
    // them, and unit ids that answered that fingerprint identically.
    let mut present: Vec<ModbusUnit> = Vec::new();
    let mut fingerprint: Option<(ReadRequest, Reply)> = None;
    let mut duplicates: Vec<u8> = Vec::new();
    let mut silent = 0usize;

    let sweep_ids = (1..=247u8).filter(|id| !initial.contains(id));
    let mut queue: std::collections::VecDeque<u8> = initial.iter().copied().collect();
    let mut swept = false;
    loop {
        let Some(unit_id) = queue.pop_front() else {
            let sweep = match policy {
                UnitIdPolicy::Auto => !findings.service.gateway_absent_unit_ids.is_empty(),
                UnitIdPolicy::All => true,
                UnitIdPolicy::List(_) => false,
            };
            if sweep && !swept {
                swept = true;
                queue.extend(sweep_ids.clone());
                continue;
            }
            break;
        };
        if cancel.is_cancelled() || !connection.is_open() {
            findings.interrupted = cancel.is_cancelled();
            break;
        }
        // Behind a gateway, identical answers come from identical devices at
        // different unit ids; elsewhere they are one device answering every id.
        let gateway_seen = !findings.service.gateway_absent_unit_ids.is_empty();
        if !gateway_seen && let Some((request, reply)) = &fingerprint {
            match ask(connection, unit_id, request, &mut findings.diagnostics).await {
                Outcome::Gateway => {
                    findings.service.gateway_absent_unit_ids.push(unit_id);
                    continue;
                }
                Outcome::Answer(answer) if answer == *reply => {
                    duplicates.push(unit_id);
                    continue;
                }
                // Silent where the first unit answered: nothing here, and no
                // point in waiting for the same silence again.
                Outcome::Nothing(FunctionOutcome::NoResponse) => {
                    silent += 1;
                    continue;
                }
                Outcome::Answer(_) | Outcome::Nothing(_) => {}
            }
        }
        match probe_unit(connection, unit_id, &mut findings.diagnostics).await {
            UnitProbe::Present(unit, unit_fingerprint) => {
                if fingerprint.is_none() {
                    fingerprint = unit_fingerprint;
                }
                present.push(unit);
            }
            UnitProbe::GatewayAbsent => findings.service.gateway_absent_unit_ids.push(unit_id),
            UnitProbe::Silent => silent += 1,
        }
    }
    let silent_gateway =
        findings.service.gateway_absent_unit_ids.is_empty() && distinct_devices(&present);
    if silent_gateway && matches!(policy, UnitIdPolicy::Auto) {
        // Sweeping a gateway that stays silent for absent unit ids costs one
        // timeout per id: only on request.
        findings.diagnostics.push(PortDiagnostic {
            kind: DiagnosticKind::Other,
            message: format!(
                "{}: different devices answer at different unit ids but absent ids get no \
                 gateway exception: a gateway that stays silent; use --unit-ids all to sweep \
                 1-247 (each silent id costs one timeout)",
                connection.address()
            ),
            raw_hex: None,
        });
    }
    findings.service.gateway =
        !findings.service.gateway_absent_unit_ids.is_empty() || silent_gateway;
    findings.speaks_modbus = !present.is_empty() || findings.service.gateway;
    if !findings.service.gateway && !duplicates.is_empty() {
        findings.service.answers_every_unit_id =
            silent == 0 && present.len() == 1 && !findings.interrupted;
    }
    for unit in present {
        if findings.service.gateway && (1..=247).contains(&unit.unit_id) {
            findings.sub_devices.push(unit);
        } else {
            findings.service.units.push(unit);
        }
    }
    findings.requests = connection.requests_sent();
    findings
}

/// Whether units at different ids identified themselves differently: a gateway
/// that ignores absent unit ids instead of answering 0x0A/0x0B.
fn distinct_devices(present: &[ModbusUnit]) -> bool {
    let identities: Vec<_> = present
        .iter()
        .filter(|unit| unit.device_identification.is_some() || unit.server_id.is_some())
        .map(|unit| {
            (
                unit.device_identification.as_ref().map(|d| &d.objects),
                unit.server_id.as_ref().map(|s| &s.hex),
            )
        })
        .collect();
    identities.iter().any(|identity| *identity != identities[0])
}

/// What one exchange says about a function code, and whether it was a gateway exception.
enum Outcome {
    Answer(Reply),
    Gateway,
    Nothing(FunctionOutcome),
}

async fn ask(
    connection: &mut ModbusConnection,
    unit_id: u8,
    request: &ReadRequest,
    diagnostics: &mut Vec<PortDiagnostic>,
) -> Outcome {
    let function = request.function_code();
    let address = connection.address();
    let reply = match connection.exchange(unit_id, request).await {
        Exchange::Reply(reply) => reply,
        Exchange::UnitMismatch {
            replied_unit,
            reply,
            raw_hex,
        } => {
            diagnostics.push(PortDiagnostic {
                kind: DiagnosticKind::Mismatch,
                message: format!(
                    "{address}: FC {function} to unit {unit_id} was answered for unit {replied_unit}"
                ),
                raw_hex: Some(raw_hex),
            });
            reply
        }
        Exchange::TransactionMismatch {
            sent,
            received,
            raw_hex,
        } => {
            diagnostics.push(PortDiagnostic {
                kind: DiagnosticKind::Mismatch,
                message: format!(
                    "{address}: FC {function} to unit {unit_id} sent transaction {sent}, \
                     the reply carried transaction {received}"
                ),
                raw_hex: Some(raw_hex),
            });
            return Outcome::Nothing(FunctionOutcome::NoResponse);
        }
        Exchange::BadFrame { reason, raw_hex } => {
            diagnostics.push(PortDiagnostic {
                kind: DiagnosticKind::Malformed,
                message: format!(
                    "{address}: reply to FC {function} is not a Modbus TCP frame: {reason}"
                ),
                raw_hex: Some(raw_hex),
            });
            return Outcome::Nothing(FunctionOutcome::NoResponse);
        }
        Exchange::Timeout => return Outcome::Nothing(FunctionOutcome::NoResponse),
        Exchange::Closed(reason) => {
            diagnostics.push(PortDiagnostic {
                kind: DiagnosticKind::Refused,
                message: format!(
                    "{address}: connection ended during FC {function} to unit {unit_id}: {reason}"
                ),
                raw_hex: None,
            });
            return Outcome::Nothing(FunctionOutcome::NoResponse);
        }
    };
    match reply {
        Reply::Exception { code, .. }
            if code == GATEWAY_PATH_UNAVAILABLE || code == GATEWAY_TARGET_FAILED =>
        {
            Outcome::Gateway
        }
        Reply::Malformed(malformed) => {
            diagnostics.push(PortDiagnostic {
                kind: DiagnosticKind::Malformed,
                message: format!(
                    "{address}: malformed reply to FC {function} from unit {unit_id}: {}",
                    malformed.reason
                ),
                raw_hex: Some(connection.last_frame_hex()),
            });
            Outcome::Nothing(FunctionOutcome::NoResponse)
        }
        other => Outcome::Answer(other),
    }
}

fn outcome_of(reply: &Reply) -> FunctionOutcome {
    match reply {
        Reply::Exception { code, .. } => FunctionOutcome::Exception { code: *code },
        _ => FunctionOutcome::Supported,
    }
}

async fn probe_unit(
    connection: &mut ModbusConnection,
    unit_id: u8,
    diagnostics: &mut Vec<PortDiagnostic>,
) -> UnitProbe {
    // The most specific answer fingerprints the unit: identification, then
    // server id, then a successful read.
    let mut fingerprint: Option<(ReadRequest, Reply)> = None;
    let mut unit = ModbusUnit {
        unit_id,
        device_identification: None,
        server_id: None,
        functions: BTreeMap::new(),
    };

    // FC 43 / MEI 14, basic stream from object 0.
    let basic = ReadRequest::ReadDeviceIdentification {
        read_code: DeviceIdReadCode::Basic,
        object_id: 0,
    };
    match ask(connection, unit_id, &basic, diagnostics).await {
        Outcome::Gateway => return UnitProbe::GatewayAbsent,
        Outcome::Nothing(outcome) => {
            unit.functions.insert(43, outcome);
        }
        Outcome::Answer(reply) => {
            unit.functions.insert(43, outcome_of(&reply));
            if let Reply::DeviceIdentification(first) = reply {
                fingerprint = Some((basic, Reply::DeviceIdentification(first.clone())));
                unit.device_identification =
                    Some(read_all_objects(connection, unit_id, first, diagnostics).await);
            }
        }
    }

    // FC 17, free-form bytes.
    match ask(
        connection,
        unit_id,
        &ReadRequest::ReportServerId,
        diagnostics,
    )
    .await
    {
        Outcome::Gateway => return UnitProbe::GatewayAbsent,
        Outcome::Nothing(outcome) => {
            unit.functions.insert(17, outcome);
        }
        Outcome::Answer(reply) => {
            unit.functions.insert(17, outcome_of(&reply));
            if fingerprint.is_none() && matches!(reply, Reply::ServerId { .. }) {
                fingerprint = Some((ReadRequest::ReportServerId, reply.clone()));
            }
            if let Reply::ServerId { payload } = reply {
                unit.server_id = Some(ModbusServerId {
                    hex: super::connection::hex(&payload),
                    text: super::frame::server_id_text(&payload),
                    running: super::frame::server_id_running(&payload),
                });
            }
        }
    }

    // No identity: one harmless read per table tells "Modbus device" from silence.
    if unit.device_identification.is_none() && unit.server_id.is_none() {
        let reads = [
            ReadRequest::holding_registers(0, 1),
            ReadRequest::input_registers(0, 1),
            ReadRequest::coils(0, 1),
            ReadRequest::discrete_inputs(0, 1),
        ];
        for request in reads.into_iter().flatten() {
            let function = request.function_code();
            match ask(connection, unit_id, &request, diagnostics).await {
                Outcome::Gateway => return UnitProbe::GatewayAbsent,
                Outcome::Nothing(outcome) => {
                    let silent = outcome == FunctionOutcome::NoResponse;
                    unit.functions.insert(function, outcome);
                    if silent
                        && unit
                            .functions
                            .values()
                            .all(|o| *o == FunctionOutcome::NoResponse)
                    {
                        // Nothing answered at all: don't spend more requests here.
                        break;
                    }
                }
                Outcome::Answer(reply) => {
                    let outcome = outcome_of(&reply);
                    let supported = outcome == FunctionOutcome::Supported;
                    unit.functions.insert(function, outcome);
                    if supported {
                        if fingerprint.is_none() {
                            fingerprint = Some((request, reply));
                        }
                        // One successful read proves a Modbus device; stop here.
                        break;
                    }
                }
            }
        }
    }

    // "Server device failure" to everything is how some gateways and servers
    // (pymodbus) say there is no device at this unit id.
    let answered = unit.functions.values().any(|outcome| {
        !matches!(
            outcome,
            FunctionOutcome::NoResponse | FunctionOutcome::Exception { code: 0x04 }
        )
    });
    if answered {
        UnitProbe::Present(unit, fingerprint)
    } else {
        UnitProbe::Silent
    }
}

/// The stream read code whose category holds `object_id`.
fn category_of(object_id: u8) -> DeviceIdReadCode {
    match object_id {
        0x00..=0x02 => DeviceIdReadCode::Basic,
        0x03..=0x7F => DeviceIdReadCode::Regular,
        _ => DeviceIdReadCode::Extended,
    }
}

/// Reads every object the conformity level allows, following "more follows".
async fn read_all_objects(
    connection: &mut ModbusConnection,
    unit_id: u8,
    first: super::frame::DeviceIdResponse,
    diagnostics: &mut Vec<PortDiagnostic>,
) -> ModbusDeviceIdentification {
    let conformity_level = first.conformity_level;
    let read_code = match conformity_level & 0x7F {
        0x03 => DeviceIdReadCode::Extended,
        0x02 => DeviceIdReadCode::Regular,
        _ => DeviceIdReadCode::Basic,
    };
    let mut objects: BTreeMap<u8, Vec<u8>> = BTreeMap::new();
    let mut exchanges = 1;
    let mut response = first;
    // Continue the basic stream first when it was split.
    let mut current_code = DeviceIdReadCode::Basic;
    let mut requested =
        std::collections::BTreeSet::from([(DeviceIdReadCode::Basic.to_byte(), 0u8)]);
    loop {
        for (id, value) in &response.objects {
            objects.insert(*id, value.clone());
        }
        let next = if response.more_follows {
            // Some devices answer a basic request with every object and point
            // "more follows" past 0x02; asking on in the basic category would
            // restart at object 0, so continue in the category of that object.
            let needed = category_of(response.next_object_id);
            if needed.to_byte() > current_code.to_byte() {
                current_code = needed;
            }
            Some((current_code, response.next_object_id))
        } else if current_code != read_code {
            // Continue after the basic objects (0x00–0x02) already read.
            current_code = read_code;
            Some((read_code, 0x03))
        } else {
            None
        };
        let Some((code, object_id)) = next else { break };
        if exchanges >= MAX_IDENTIFICATION_EXCHANGES {
            diagnostics.push(PortDiagnostic {
                kind: DiagnosticKind::Other,
                message: format!(
                    "{}: unit {unit_id}: \"more follows\" did not end after {exchanges} exchanges",
                    connection.address()
                ),
                raw_hex: None,
            });
            break;
        }
        if !requested.insert((code.to_byte(), object_id)) {
            diagnostics.push(PortDiagnostic {
                kind: DiagnosticKind::Other,
                message: format!(
                    "{}: unit {unit_id}: \"more follows\" points back to object {object_id:#04x}, \
                     already read",
                    connection.address()
                ),
                raw_hex: None,
            });
            break;
        }
        exchanges += 1;
        let request = ReadRequest::ReadDeviceIdentification {
            read_code: code,
            object_id,
        };
        match ask(connection, unit_id, &request, diagnostics).await {
            Outcome::Answer(Reply::DeviceIdentification(next_response)) => response = next_response,
            // The device refused the higher category or stopped answering: keep what we have.
            _ => break,
        }
    }
    ModbusDeviceIdentification {
        conformity_level,
        objects: objects
            .into_iter()
            .map(|(id, value)| ModbusDeviceIdObject {
                id,
                name: device_id_object_name(id),
                text: String::from_utf8_lossy(&value).into_owned(),
                hex: super::connection::hex(&value),
            })
            .collect(),
        exchanges,
    }
}
