//! Role classification and ISA-95 level guesses, from documented rules over
//! identity and behaviour. Pure functions; every decision names its rule id.
//!
//! | rule id | applies to | decides |
//! |---|---|---|
//! | `role.modbus.gateway-exception` | a port that answered 0x0A/0x0B, or distinct devices at different unit ids | gateway |
//! | `role.identity.keyword` | identity text with a role keyword ([`KEYWORDS`]) | that role |
//! | `role.modbus.bits-only` | no identity, answers coils/inputs but no registers | remote I/O |
//! | `role.modbus.native-registers` | native Modbus TCP host, no identity, answers registers | PLC |
//! | `role.opcua.keyword` | an OPC UA-only host whose product or application names SCADA, HMI… | that role |
//! | `role.opcua.server` | an OPC UA-only host otherwise | OPC UA server |
//! | `role.unknown` | nothing above | unknown |
//!
//! ISA-95 levels: field devices behind gateways, meters, drives and I/O are
//! level 0; PLCs and gateways level 1; SCADA/HMI and other OPC UA servers level 2.

use crate::evidence::{
    AssetRole, FunctionOutcome, Identity, ModbusService, ModbusUnit, OpcUaService, RoleAssessment,
};

/// Lowercase keywords in identity text and the role they indicate, checked in order.
pub const KEYWORDS: &[(&str, AssetRole)] = &[
    ("gateway", AssetRole::Gateway),
    ("meter", AssetRole::Meter),
    ("energy", AssetRole::Meter),
    ("power analy", AssetRole::Meter),
    ("drive", AssetRole::Drive),
    ("inverter", AssetRole::Drive),
    ("vfd", AssetRole::Drive),
    ("servo", AssetRole::Drive),
    ("remote i/o", AssetRole::Io),
    ("i/o module", AssetRole::Io),
    ("coupler", AssetRole::Io),
    ("scada", AssetRole::Scada),
    ("historian", AssetRole::Scada),
    ("hmi", AssetRole::Hmi),
    ("panel", AssetRole::Hmi),
    ("plc", AssetRole::Plc),
    ("controller", AssetRole::Plc),
    ("control", AssetRole::Plc),
    ("cpu", AssetRole::Plc),
];

/// The identity a unit revealed: FC 43 objects first, FC 17 text as a fallback.
pub fn identity_of(unit: &ModbusUnit) -> Identity {
    let mut identity = Identity::default();
    if let Some(identification) = &unit.device_identification {
        for object in &identification.objects {
            let value = object.text.trim().to_owned();
            if value.is_empty() {
                continue;
            }
            let field = match object.id {
                0x00 => &mut identity.vendor,
                0x01 => &mut identity.product_code,
                0x02 => &mut identity.revision,
                0x04 => &mut identity.product,
                0x05 => &mut identity.model,
                0x06 => &mut identity.application_name,
                _ => continue,
            };
            *field = Some(value);
        }
        for (field, present) in [
            ("vendor", identity.vendor.is_some()),
            ("product_code", identity.product_code.is_some()),
            ("revision", identity.revision.is_some()),
            ("product", identity.product.is_some()),
            ("model", identity.model.is_some()),
            ("application_name", identity.application_name.is_some()),
        ] {
            if present {
                identity
                    .sources
                    .insert(field.to_owned(), "modbus.fc43".to_owned());
            }
        }
    }
    if identity.product.is_none()
        && let Some(server_id) = &unit.server_id
        && !server_id.text.trim().is_empty()
    {
        identity.product = Some(server_id.text.trim().to_owned());
        identity
            .sources
            .insert("product".to_owned(), "modbus.fc17".to_owned());
    }
    identity
}

fn keyword_role(identity: &Identity) -> Option<AssetRole> {
    let text = [
        &identity.vendor,
        &identity.product,
        &identity.product_code,
        &identity.model,
    ]
    .into_iter()
    .flatten()
    .map(|s| s.to_lowercase())
    .collect::<Vec<_>>()
    .join(" ");
    KEYWORDS
        .iter()
        .find(|(keyword, _)| text.contains(keyword))
        .map(|(_, role)| *role)
}

fn answers(unit: &ModbusUnit, function: u8) -> bool {
    unit.functions.get(&function) == Some(&FunctionOutcome::Supported)
}

fn behaviour_role(unit: &ModbusUnit, native: bool) -> Option<(AssetRole, &'static str)> {
    if unit.device_identification.is_some() || unit.server_id.is_some() {
        return None;
    }
    let registers = answers(unit, 3) || answers(unit, 4);
    let bits = answers(unit, 1) || answers(unit, 2);
    if bits && !registers {
        Some((AssetRole::Io, "role.modbus.bits-only"))
    } else if registers && native {
        Some((AssetRole::Plc, "role.modbus.native-registers"))
    } else {
        None
    }
}

/// ISA-95 level guess for a role.
pub fn isa95_level(role: AssetRole, behind_gateway: bool) -> Option<u8> {
    if behind_gateway {
        return Some(0);
    }
    match role {
        AssetRole::Meter | AssetRole::Drive | AssetRole::Io => Some(0),
        AssetRole::Plc | AssetRole::Gateway => Some(1),
        AssetRole::Hmi | AssetRole::Scada | AssetRole::OpcUaServer => Some(2),
        AssetRole::Unknown => None,
    }
}

/// Classifies a host from its Modbus services; returns the role and its identity.
pub fn classify_host(services: &[ModbusService]) -> (RoleAssessment, Identity) {
    let identity = services
        .iter()
        .flat_map(|s| &s.units)
        .map(identity_of)
        .find(|identity| identity != &Identity::default())
        .unwrap_or_default();
    if services.iter().any(|s| s.gateway) {
        return (
            RoleAssessment {
                role: AssetRole::Gateway,
                basis: vec!["role.modbus.gateway-exception".to_owned()],
            },
            identity,
        );
    }
    if let Some(role) = keyword_role(&identity) {
        return (
            RoleAssessment {
                role,
                basis: vec!["role.identity.keyword".to_owned()],
            },
            identity,
        );
    }
    for unit in services.iter().flat_map(|s| &s.units) {
        if let Some((role, rule)) = behaviour_role(unit, true) {
            return (
                RoleAssessment {
                    role,
                    basis: vec![rule.to_owned()],
                },
                identity,
            );
        }
    }
    (
        RoleAssessment {
            role: AssetRole::Unknown,
            basis: vec!["role.unknown".to_owned()],
        },
        identity,
    )
}

/// Classifies a device behind a gateway.
pub fn classify_sub_device(unit: &ModbusUnit) -> (RoleAssessment, Identity) {
    let identity = identity_of(unit);
    let (role, rule) = if let Some(role) = keyword_role(&identity) {
        (role, "role.identity.keyword")
    } else if let Some((role, rule)) = behaviour_role(unit, false) {
        (role, rule)
    } else {
        (AssetRole::Unknown, "role.unknown")
    };
    (
        RoleAssessment {
            role,
            basis: vec![rule.to_owned()],
        },
        identity,
    )
}

/// Classifies a host that speaks only OPC UA, from its BuildInfo and
/// application description.
pub fn classify_opcua_host(services: &[OpcUaService]) -> (RoleAssessment, Identity) {
    let mut identity = Identity::default();
    for service in services {
        if let Some(build) = service.session.as_ref().and_then(|s| s.build_info.as_ref()) {
            for (field, name, value) in [
                (&mut identity.vendor, "vendor", &build.manufacturer_name),
                (&mut identity.product, "product", &build.product_name),
                (&mut identity.revision, "revision", &build.software_version),
            ] {
                if field.is_none() && !value.trim().is_empty() {
                    *field = Some(value.trim().to_owned());
                    identity
                        .sources
                        .insert(name.to_owned(), "opcua.build-info".to_owned());
                }
            }
        }
        if identity.application_name.is_none()
            && let Some(application) = service.applications.first()
            && !application.application_name.is_empty()
        {
            identity.application_name = Some(application.application_name.clone());
            identity.sources.insert(
                "application_name".to_owned(),
                "opcua.find-servers".to_owned(),
            );
        }
    }
    let mut words: Vec<String> = [&identity.product, &identity.application_name]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    words.extend(
        services
            .iter()
            .flat_map(|s| &s.applications)
            .map(|a| a.product_uri.clone()),
    );
    let text = words.join(" ").to_lowercase();
    let keyword = KEYWORDS
        .iter()
        .filter(|(_, role)| matches!(role, AssetRole::Scada | AssetRole::Hmi | AssetRole::Plc))
        .find(|(keyword, _)| text.contains(keyword))
        .map(|(_, role)| *role);
    let (role, rule) = match keyword {
        Some(role) => (role, "role.opcua.keyword"),
        None => (AssetRole::OpcUaServer, "role.opcua.server"),
    };
    (
        RoleAssessment {
            role,
            basis: vec![rule.to_owned()],
        },
        identity,
    )
}
