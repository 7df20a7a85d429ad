//! Facts: the numbers evidence rules reason about, computed from one or more
//! evidence documents. Pure; the vocabulary is documented in
//! `docs/questionnaire.md` and checked when a questionnaire's rules are loaded.

use std::collections::{BTreeMap, BTreeSet};

use super::{AssetRole, Attachment, Evidence, ScanStatus, Severity};

/// Facts that are always computed (every one is present in [`Facts`], zero
/// when nothing was seen).
pub const KNOWN: &[&str] = &[
    "assets.total",
    "assets.plc",
    "assets.gateway",
    "assets.meter",
    "assets.drive",
    "assets.io",
    "assets.hmi",
    "assets.scada",
    "assets.opcua-server",
    "assets.unknown",
    "assets.behind-gateway",
    "assets.isa95-level-2",
    "assets.isa95-level-3",
    "modbus.devices",
    "modbus.identified",
    "opcua.servers",
    "opcua.sessions",
    "opcua.secure-endpoints",
    "opcua.insecure-only",
    "opcua.companion-specs",
    "opcua.di-devices",
    "opcua.historical-access",
    "opcua.alarms-conditions",
    "findings.high",
    "findings.medium",
    "scan.incomplete",
];

/// Security finding ids discovery emits; `finding.<id>` counts the servers with it.
pub const FINDING_IDS: &[&str] = &[
    "opcua.security-mode-none",
    "opcua.anonymous-access",
    "opcua.deprecated-policy",
    "opcua.sha1-signature",
    "opcua.certificate-expired",
    "opcua.certificate-not-yet-valid",
    "opcua.certificate-expiring",
    "opcua.self-signed-certificate",
    "opcua.short-key",
];

/// Whether `name` is a fact rules may use.
pub fn is_known(name: &str) -> bool {
    KNOWN.contains(&name)
        || name
            .strip_prefix("finding.")
            .is_some_and(|id| FINDING_IDS.contains(&id))
}

/// Every fact name, for error messages.
pub fn vocabulary() -> Vec<String> {
    KNOWN
        .iter()
        .map(|name| (*name).to_owned())
        .chain(FINDING_IDS.iter().map(|id| format!("finding.{id}")))
        .collect()
}

/// Named counts over the merged evidence, in name order.
pub type Facts = BTreeMap<String, u64>;

fn role_fact(role: AssetRole) -> &'static str {
    match role {
        AssetRole::Plc => "assets.plc",
        AssetRole::Gateway => "assets.gateway",
        AssetRole::Meter => "assets.meter",
        AssetRole::Drive => "assets.drive",
        AssetRole::Io => "assets.io",
        AssetRole::Hmi => "assets.hmi",
        AssetRole::Scada => "assets.scada",
        AssetRole::OpcUaServer => "assets.opcua-server",
        AssetRole::Unknown => "assets.unknown",
    }
}

/// Computes every fact of [`vocabulary`] from `documents`. An asset seen in
/// several documents (same site and id) counts once.
pub fn compute(documents: &[Evidence]) -> Facts {
    let mut facts: Facts = vocabulary().into_iter().map(|name| (name, 0)).collect();
    let mut add = |name: &str, by: u64| *facts.get_mut(name).expect("fact in vocabulary") += by;
    let mut seen = BTreeSet::new();
    for document in documents {
        let site = document
            .runs
            .iter()
            .find_map(|run| run.site.clone())
            .unwrap_or_default();
        if document
            .runs
            .iter()
            .any(|run| !matches!(run.status, ScanStatus::Complete))
        {
            add("scan.incomplete", 1); // made a 0/1 flag below
        }
        for asset in &document.assets {
            if !seen.insert((site.clone(), asset.id.clone())) {
                continue;
            }
            add("assets.total", 1);
            add(role_fact(asset.role.role), 1);
            if matches!(asset.attachment, Attachment::BehindGateway { .. }) {
                add("assets.behind-gateway", 1);
            }
            match asset.isa95_level {
                Some(2) => add("assets.isa95-level-2", 1),
                Some(3) => add("assets.isa95-level-3", 1),
                _ => {}
            }
            if !asset.modbus.is_empty() {
                add("modbus.devices", 1);
                if asset
                    .modbus
                    .iter()
                    .flat_map(|s| &s.units)
                    .any(|unit| unit.device_identification.is_some() || unit.server_id.is_some())
                {
                    add("modbus.identified", 1);
                }
            }
            for server in asset.opcua.iter().filter(|s| !s.endpoints.is_empty()) {
                add("opcua.servers", 1);
                if server.session.is_some() {
                    add("opcua.sessions", 1);
                }
                let secure = server.endpoints.iter().any(|endpoint| {
                    let policy = endpoint
                        .security_policy_uri
                        .rsplit('#')
                        .next()
                        .unwrap_or("");
                    endpoint.security_mode == "SignAndEncrypt"
                        && !matches!(policy, "None" | "Basic128Rsa15" | "Basic256")
                });
                if secure {
                    add("opcua.secure-endpoints", 1);
                }
                if server.endpoints.iter().all(|e| e.security_mode == "None") {
                    add("opcua.insecure-only", 1);
                }
                if !server.companion_specs.is_empty() {
                    add("opcua.companion-specs", 1);
                }
                add("opcua.di-devices", server.devices.len() as u64);
                let capabilities: Vec<&str> = server
                    .session
                    .iter()
                    .flat_map(|session| session.capabilities.iter().map(String::as_str))
                    .collect();
                if capabilities.contains(&"historical-access") {
                    add("opcua.historical-access", 1);
                }
                if capabilities.contains(&"alarms-conditions") {
                    add("opcua.alarms-conditions", 1);
                }
                let ids: BTreeSet<&str> = server
                    .security_findings
                    .iter()
                    .map(|finding| finding.id.as_str())
                    .collect();
                for id in ids.into_iter().filter(|id| FINDING_IDS.contains(id)) {
                    // Findings from newer tools are ignored here, not errors.
                    add(&format!("finding.{id}"), 1);
                }
                let worst = server.security_findings.iter().map(|f| f.severity).max();
                if worst == Some(Severity::High) {
                    add("findings.high", 1);
                }
                if server
                    .security_findings
                    .iter()
                    .any(|f| f.severity == Severity::Medium)
                {
                    add("findings.medium", 1);
                }
            }
        }
    }
    if let Some(incomplete) = facts.get_mut("scan.incomplete") {
        *incomplete = (*incomplete).min(1);
    }
    facts
}
