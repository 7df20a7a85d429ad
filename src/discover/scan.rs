//! The scan: every named host, every Modbus port, in parallel across hosts and
//! strictly one request at a time per host, under the global connection cap and
//! the per-host request cap, until done, the deadline, or cancellation.
//!
//! [`discover`] returns a complete [`Evidence`] document in every case; a scan
//! that stopped early is marked [`ScanStatus::Incomplete`] and keeps what it
//! found. Progress goes to a [`ProgressSink`] the caller supplies.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use chrono::Utc;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::{
    classify,
    modbus::{
        connection::ModbusConnection,
        identify::{PortFindings, identify_port},
    },
    opcua::{CompanionSpecTable, OpcUaFindings, OpcUaProbeConfig, probe_opcua},
    pacing::Pacer,
    targets::ScanHost,
};
use crate::evidence::{
    Asset, AssetId, Attachment, Diagnostic, Evidence, Protocol, ScanParameters, ScanRun,
    ScanStatus, Scope, Topology, UnitIdPolicy,
};

/// How to scan.
#[derive(Debug, Clone)]
pub struct DiscoverConfig {
    /// Modbus TCP ports probed on every host without explicit ports.
    pub modbus_ports: Vec<u16>,
    /// OPC UA ports probed on every host without explicit ports.
    pub opcua_ports: Vec<u16>,
    /// How OPC UA servers are probed.
    pub opcua: OpcUaProbeConfig,
    /// Global cap on new connections per second.
    pub rate: u32,
    /// Cap on requests per second per host.
    pub host_rate: u32,
    /// Timeout of one operation (connect, one request).
    pub timeout: Duration,
    /// Deadline of the whole scan.
    pub deadline: Option<Duration>,
    /// Which unit ids to probe.
    pub unit_ids: UnitIdPolicy,
    /// Hosts scanned at the same time.
    pub parallel_hosts: usize,
    /// Site label for the run.
    pub site: Option<String>,
    /// The scope, as recorded in the evidence.
    pub scope: Scope,
}

/// Receives progress; implemented by the CLI's progress bar.
pub trait ProgressSink: Send + Sync {
    /// The number of host × port probes planned.
    fn planned(&self, probes: u64);
    /// One probe finished; `found` says whether it found a Modbus device.
    fn probe_finished(&self, target: SocketAddr, found: bool);
}

/// A sink that ignores progress.
pub struct NoProgress;

impl ProgressSink for NoProgress {
    fn planned(&self, _probes: u64) {}
    fn probe_finished(&self, _target: SocketAddr, _found: bool) {}
}

/// The ports probed on `host`: its explicit ports, or the Modbus and OPC UA lists.
pub fn ports_of(host: &ScanHost, config: &DiscoverConfig) -> Vec<u16> {
    match &host.ports {
        Some(ports) => ports.clone(),
        None => {
            let mut ports: Vec<u16> = config
                .modbus_ports
                .iter()
                .chain(&config.opcua_ports)
                .copied()
                .collect();
            ports.sort_unstable();
            ports.dedup();
            ports
        }
    }
}

/// The host × port probes a scan of `hosts` will make, in order.
pub fn probes(hosts: &[ScanHost], config: &DiscoverConfig) -> Vec<(usize, SocketAddr)> {
    let mut probes = Vec::new();
    for (index, host) in hosts.iter().enumerate() {
        for port in ports_of(host, config) {
            probes.push((index, SocketAddr::new(host.address, port)));
        }
    }
    probes
}

/// Which protocols to try on a port: a port in only one list gets that
/// protocol; any other port (e.g. an explicit `HOST:PORT`) gets Modbus first,
/// then OPC UA if it did not speak Modbus.
fn protocols_for(port: u16, config: &DiscoverConfig) -> (bool, bool) {
    let modbus = config.modbus_ports.contains(&port);
    let opcua = config.opcua_ports.contains(&port);
    match (modbus, opcua) {
        (true, false) => (true, false),
        (false, true) => (false, true),
        _ => (true, true),
    }
}

struct HostResult {
    host: ScanHost,
    ports: Vec<PortFindings>,
    opcua: Vec<OpcUaFindings>,
    unfinished: u64,
}

/// Scans `hosts` and returns the evidence. Cancelling `cancel` (Ctrl-C) stops
/// the scan and returns what was found, marked incomplete.
pub async fn discover(
    hosts: Vec<ScanHost>,
    config: &DiscoverConfig,
    progress: Arc<dyn ProgressSink>,
    cancel: CancellationToken,
) -> Evidence {
    let started_at = Utc::now();
    let planned = probes(&hosts, config);
    progress.planned(planned.len() as u64);
    let connect_pacer = Arc::new(Pacer::per_second(config.rate));
    let parallel = Arc::new(Semaphore::new(config.parallel_hosts.max(1)));
    let deadline_hit = Arc::new(AtomicBool::new(false));
    let companion_specs = Arc::new(CompanionSpecTable::builtin());
    // The OPC UA client's own certificate lives here for the scan, then is removed.
    let client_pki = match &config.opcua.pki_dir {
        Some(dir) => super::opcua::ClientPki::kept(dir),
        None => super::opcua::ClientPki::new(),
    }
    .ok()
    .map(Arc::new);
    let unfinished_total = Arc::new(AtomicU64::new(0));

    let scan_cancel = cancel.child_token();
    if let Some(deadline) = config.deadline {
        let scan_cancel = scan_cancel.clone();
        let deadline_hit = deadline_hit.clone();
        tokio::spawn(async move {
            tokio::time::sleep(deadline).await;
            deadline_hit.store(true, Ordering::SeqCst);
            scan_cancel.cancel();
        });
    }

    let mut tasks = Vec::new();
    for host in hosts {
        let ports = ports_of(&host, config);
        let companion_specs = companion_specs.clone();
        let client_pki = client_pki.clone();
        let connect_pacer = connect_pacer.clone();
        let parallel = parallel.clone();
        let cancel = scan_cancel.clone();
        let progress = progress.clone();
        let unfinished_total = unfinished_total.clone();
        let config = config.clone();
        tasks.push(tokio::spawn(async move {
            let mut result = HostResult {
                host,
                ports: Vec::new(),
                opcua: Vec::new(),
                unfinished: 0,
            };
            let _permit = tokio::select! {
                permit = parallel.acquire_owned() => permit.ok(),
                _ = cancel.cancelled() => None,
            };
            // One pacer per host: every request to this host, on any port, shares it.
            let host_pacer = Arc::new(Pacer::per_second(config.host_rate));
            for port in ports {
                if cancel.is_cancelled() {
                    result.unfinished += 1;
                    continue;
                }
                let address = SocketAddr::new(result.host.address, port);
                tokio::select! {
                    _ = connect_pacer.wait() => {}
                    _ = cancel.cancelled() => { result.unfinished += 1; continue; }
                }
                let (try_modbus, try_opcua) = protocols_for(port, &config);
                let mut found = false;
                let mut not_modbus: Option<PortFindings> = None;
                if try_modbus {
                    let connected = tokio::select! {
                        connected = ModbusConnection::connect(address, config.timeout, host_pacer.clone()) => connected,
                        _ = cancel.cancelled() => { result.unfinished += 1; continue; }
                    };
                    match connected {
                        Ok(mut connection) => {
                            let findings =
                                identify_port(&mut connection, &config.unit_ids, &cancel).await;
                            if findings.interrupted {
                                result.unfinished += 1;
                            }
                            found = findings.speaks_modbus;
                            // What a port that is not Modbus answered matters only
                            // if OPC UA does not answer there either.
                            if found || !try_opcua {
                                result.ports.push(findings);
                            } else {
                                not_modbus = Some(findings);
                            }
                        }
                        // Closed or filtered: nothing there, nothing to report.
                        Err(_) => {
                            progress.probe_finished(address, false);
                            continue;
                        }
                    }
                }
                if try_opcua && !found {
                    let Some(pki) = &client_pki else { continue };
                    host_pacer.wait().await;
                    let probe = async {
                        let pki_dir = pki.path().await;
                        probe_opcua(address, &config.opcua, pki_dir, &companion_specs).await
                    };
                    let findings = tokio::select! {
                        findings = probe => findings,
                        _ = cancel.cancelled() => { result.unfinished += 1; continue; }
                    };
                    found = findings.service.is_some();
                    if !found && let Some(modbus_findings) = not_modbus.take() {
                        result.ports.push(modbus_findings);
                    }
                    result.opcua.push(findings);
                }
                progress.probe_finished(address, found);
            }
            unfinished_total.fetch_add(result.unfinished, Ordering::SeqCst);
            result
        }));
    }

    let mut results = Vec::new();
    for task in tasks {
        if let Ok(result) = task.await {
            results.push(result);
        }
    }

    let unfinished = unfinished_total.load(Ordering::SeqCst);
    let status = if unfinished == 0 && !scan_cancel.is_cancelled() {
        ScanStatus::Complete
    } else {
        ScanStatus::Incomplete {
            reason: if deadline_hit.load(Ordering::SeqCst) {
                "deadline".to_owned()
            } else {
                "interrupted".to_owned()
            },
            unfinished_targets: unfinished,
        }
    };
    let run_id = "run-1".to_owned();
    let mut evidence = Evidence::new(ScanRun {
        id: run_id.clone(),
        site: config.site.clone(),
        started_at,
        finished_at: Some(Utc::now()),
        status,
        parameters: ScanParameters {
            modbus_ports: config.modbus_ports.clone(),
            opcua_ports: config.opcua_ports.clone(),
            rate: config.rate,
            host_rate: config.host_rate,
            max_in_flight_per_host: 1,
            timeout_ms: config.timeout.as_millis() as u64,
            deadline_ms: config.deadline.map(|d| d.as_millis() as u64),
            unit_ids: config.unit_ids.clone(),
            opcua_browse: false,
        },
        scope: config.scope.clone(),
    });
    for result in results {
        add_host(&mut evidence, &run_id, result);
    }
    evidence.assets.sort_by_key(|asset| {
        let unit = match asset.attachment {
            Attachment::Network => None,
            Attachment::BehindGateway { port, unit_id, .. } => Some((port, unit_id)),
        };
        (asset.address, unit)
    });
    evidence.topology = Topology::from_assets(&evidence.assets);
    evidence
}

fn add_host(evidence: &mut Evidence, run_id: &str, result: HostResult) {
    let address = result.host.address;
    for findings in &result.ports {
        for diagnostic in &findings.diagnostics {
            evidence.diagnostics.push(Diagnostic {
                run: run_id.to_owned(),
                target: SocketAddr::new(address, findings.service.port).to_string(),
                protocol: Some(Protocol::ModbusTcp),
                kind: diagnostic.kind,
                message: diagnostic.message.clone(),
                raw_hex: diagnostic.raw_hex.clone(),
            });
        }
    }
    for findings in &result.opcua {
        for diagnostic in &findings.diagnostics {
            evidence.diagnostics.push(Diagnostic {
                run: run_id.to_owned(),
                target: SocketAddr::new(address, findings.port).to_string(),
                protocol: Some(Protocol::Opcua),
                kind: diagnostic.kind,
                message: diagnostic.message.clone(),
                raw_hex: diagnostic.raw_hex.clone(),
            });
        }
    }
    let services: Vec<_> = result
        .ports
        .iter()
        .filter(|f| f.speaks_modbus)
        .map(|f| f.service.clone())
        .collect();
    let opcua_services: Vec<_> = result
        .opcua
        .iter()
        .filter_map(|f| f.service.clone())
        .collect();
    if services.is_empty() && opcua_services.is_empty() {
        return;
    }
    let host_id = AssetId::host(address);
    let (role, identity) = if services.is_empty() {
        classify::classify_opcua_host(&opcua_services)
    } else {
        classify::classify_host(&services)
    };
    let level = classify::isa95_level(role.role, false);
    evidence.assets.push(Asset {
        id: host_id.clone(),
        address,
        hostname: result.host.hostname.clone(),
        attachment: Attachment::Network,
        role,
        isa95_level: level,
        identity,
        modbus: services,
        opcua: opcua_services,
        seen_in_runs: vec![run_id.to_owned()],
    });
    for findings in result.ports.iter().filter(|f| f.speaks_modbus) {
        let port = findings.service.port;
        for unit in &findings.sub_devices {
            let (role, identity) = classify::classify_sub_device(unit);
            let level = classify::isa95_level(role.role, true);
            evidence.assets.push(Asset {
                id: AssetId::sub_device(SocketAddr::new(address, port), unit.unit_id),
                address,
                hostname: None,
                attachment: Attachment::BehindGateway {
                    gateway: host_id.clone(),
                    port,
                    unit_id: unit.unit_id,
                },
                role,
                isa95_level: level,
                identity,
                modbus: vec![crate::evidence::ModbusService {
                    port,
                    units: vec![unit.clone()],
                    gateway: false,
                    answers_every_unit_id: false,
                    gateway_absent_unit_ids: Vec::new(),
                }],
                opcua: Vec::new(),
                seen_in_runs: vec![run_id.to_owned()],
            });
        }
    }
}
