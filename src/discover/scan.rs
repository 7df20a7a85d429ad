//! The scan: every named host, every Modbus port, in parallel across hosts and
//! strictly one request at a time per host, under the global connection cap and
//! the per-host request cap, until done, the deadline, or cancellation.
//!
//! [`discover`] returns a complete [`Evidence`] document in every case; a scan
//! that stopped early is marked [`ScanStatus::Incomplete`] and keeps what it
//! found. Progress goes to a [`ProgressSink`] the caller supplies.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    net::{IpAddr, SocketAddr},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
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
    opcua::{CompanionSpecTable, OpcUaFindings, OpcUaProbeConfig, opc_tcp_host_port, probe_opcua},
    pacing::Pacer,
    targets::ScanHost,
};
use crate::evidence::{
    Asset, AssetId, Attachment, Diagnostic, Evidence, Protocol, RegisteredServer,
    RegisteredServerStatus, ScanParameters, ScanRun, ScanStatus, Scope, Topology, UnitIdPolicy,
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

/// Follow-up rounds of registered servers at most (an LDS listing an LDS
/// listing…); every round probes only in-scope host:ports not probed before.
const MAX_FOLLOW_ROUNDS: usize = 4;

/// What every host task shares.
struct Shared {
    config: DiscoverConfig,
    companion_specs: CompanionSpecTable,
    client_pki: Option<super::opcua::ClientPki>,
    connect_pacer: Pacer,
    /// One pacer per host for the whole scan: every request to a host, on any
    /// port and in any round, shares it.
    host_pacers: std::sync::Mutex<HashMap<IpAddr, Arc<Pacer>>>,
    parallel: Arc<Semaphore>,
    cancel: CancellationToken,
    progress: Arc<dyn ProgressSink>,
}

impl Shared {
    fn host_pacer(&self, address: IpAddr) -> Arc<Pacer> {
        self.host_pacers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(address)
            .or_insert_with(|| Arc::new(Pacer::per_second(self.config.host_rate)))
            .clone()
    }
}

/// Probes `ports` of `host`, each with the protocols given (Modbus, OPC UA).
async fn scan_host(
    host: ScanHost,
    ports: Vec<(u16, (bool, bool))>,
    shared: Arc<Shared>,
) -> HostResult {
    let config = &shared.config;
    let cancel = &shared.cancel;
    let progress = &shared.progress;
    let mut result = HostResult {
        host,
        ports: Vec::new(),
        opcua: Vec::new(),
        unfinished: 0,
    };
    let _permit = tokio::select! {
        permit = shared.parallel.clone().acquire_owned() => permit.ok(),
        _ = cancel.cancelled() => None,
    };
    let host_pacer = shared.host_pacer(result.host.address);
    for (port, (try_modbus, try_opcua)) in ports {
        if cancel.is_cancelled() {
            result.unfinished += 1;
            continue;
        }
        let address = SocketAddr::new(result.host.address, port);
        tokio::select! {
            _ = shared.connect_pacer.wait() => {}
            _ = cancel.cancelled() => { result.unfinished += 1; continue; }
        }
        let mut found = false;
        let mut not_modbus: Option<PortFindings> = None;
        if try_modbus {
            let connected = tokio::select! {
                connected = ModbusConnection::connect(address, config.timeout, host_pacer.clone()) => connected,
                _ = cancel.cancelled() => { result.unfinished += 1; continue; }
            };
            match connected {
                Ok(mut connection) => {
                    let findings = identify_port(&mut connection, &config.unit_ids, cancel).await;
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
            let Some(pki) = &shared.client_pki else {
                continue;
            };
            host_pacer.wait().await;
            let probe = async {
                let pki_dir = pki.path().await;
                probe_opcua(address, &config.opcua, pki_dir, &shared.companion_specs).await
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
    result
}

/// The addresses `host` (from a discovery URL) stands for: itself if it is an
/// address, else what it resolves to within `timeout` (empty if nothing).
async fn resolve(host: &str, port: u16, timeout: Duration) -> Vec<IpAddr> {
    let literal = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
    if let Ok(address) = literal.unwrap_or(host).parse::<IpAddr>() {
        return vec![address];
    }
    let mut addresses: Vec<IpAddr> =
        match tokio::time::timeout(timeout, tokio::net::lookup_host((host, port))).await {
            Ok(Ok(found)) => found.map(|a| a.ip()).collect(),
            _ => Vec::new(),
        };
    addresses.sort_unstable();
    addresses.dedup();
    addresses
}

/// Decides, for every registered server reported in the last round, whether to
/// follow it: only if an address its URL resolves to is in `in_scope` and that
/// address and port were not probed. Records the decision on the service that
/// reported it and returns the host:ports to probe next. Nothing is contacted
/// here (host names are resolved with the system resolver).
async fn registered_to_follow(
    results: &mut [HostResult],
    in_scope: &HashSet<IpAddr>,
    probed: &mut HashSet<SocketAddr>,
    timeout: Duration,
    cancel: &CancellationToken,
) -> Vec<(SocketAddr, (usize, usize, usize))> {
    let mut follow = Vec::new();
    for (host_index, result) in results.iter_mut().enumerate() {
        for (findings_index, findings) in result.opcua.iter_mut().enumerate() {
            let links = std::mem::take(&mut findings.registered);
            let Some(service) = findings.service.as_mut() else {
                continue;
            };
            for link in links {
                let mut resolved = Vec::new();
                let status = match opc_tcp_host_port(&link.discovery_url) {
                    None => RegisteredServerStatus::UnsupportedUrl,
                    Some((host, port)) => {
                        resolved = tokio::select! {
                            found = resolve(&host, port, timeout) => found,
                            _ = cancel.cancelled() => Vec::new(),
                        };
                        match resolved.iter().find(|a| in_scope.contains(a)) {
                            _ if resolved.is_empty() => RegisteredServerStatus::Unresolved,
                            None => RegisteredServerStatus::OutsideScope,
                            Some(address) => {
                                let target = SocketAddr::new(*address, port);
                                if probed.insert(target) {
                                    follow.push((
                                        target,
                                        (
                                            host_index,
                                            findings_index,
                                            service.registered_servers.len(),
                                        ),
                                    ));
                                    RegisteredServerStatus::Followed
                                } else {
                                    RegisteredServerStatus::AlreadyProbed
                                }
                            }
                        }
                    }
                };
                service.registered_servers.push(RegisteredServer {
                    application_uri: link.application_uri,
                    application_name: link.application_name,
                    discovery_url: link.discovery_url,
                    status,
                    resolved,
                });
            }
        }
    }
    follow
}

/// Scans `hosts` and returns the evidence. Cancelling `cancel` (Ctrl-C) stops
/// the scan and returns what was found, marked incomplete.
///
/// After the named ports, the discovery URLs of servers registered with a
/// Local Discovery Server (FindServers) are followed — only where they resolve
/// to an address in `hosts` on a port not probed yet; the others are recorded
/// as not followed (`OpcUaService::registered_servers`) and never contacted.
pub async fn discover(
    hosts: Vec<ScanHost>,
    config: &DiscoverConfig,
    progress: Arc<dyn ProgressSink>,
    cancel: CancellationToken,
) -> Evidence {
    let started_at = Utc::now();
    let planned = probes(&hosts, config);
    let mut planned_count = planned.len() as u64;
    progress.planned(planned_count);
    let deadline_hit = Arc::new(AtomicBool::new(false));
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
    let shared = Arc::new(Shared {
        config: config.clone(),
        companion_specs: CompanionSpecTable::builtin(),
        // The OPC UA client's own certificate lives here for the scan, then is removed.
        client_pki: match &config.opcua.pki_dir {
            Some(dir) => super::opcua::ClientPki::kept(dir),
            None => super::opcua::ClientPki::new(),
        }
        .ok(),
        connect_pacer: Pacer::per_second(config.rate),
        host_pacers: std::sync::Mutex::new(HashMap::new()),
        parallel: Arc::new(Semaphore::new(config.parallel_hosts.max(1))),
        cancel: scan_cancel.clone(),
        progress: progress.clone(),
    });
    let in_scope: HashSet<IpAddr> = hosts.iter().map(|h| h.address).collect();
    let mut probed: HashSet<SocketAddr> = planned.iter().map(|(_, a)| *a).collect();

    let mut tasks = Vec::new();
    for host in hosts {
        let ports = ports_of(&host, config)
            .into_iter()
            .map(|port| (port, protocols_for(port, config)))
            .collect();
        tasks.push(tokio::spawn(scan_host(host, ports, shared.clone())));
    }
    let mut results = Vec::new();
    for task in tasks {
        if let Ok(result) = task.await {
            results.push(result);
        }
    }

    for _ in 0..MAX_FOLLOW_ROUNDS {
        let follow = registered_to_follow(
            &mut results,
            &in_scope,
            &mut probed,
            config.timeout,
            &scan_cancel,
        )
        .await;
        if follow.is_empty() {
            break;
        }
        planned_count += follow.len() as u64;
        progress.planned(planned_count);
        let mut by_host: BTreeMap<IpAddr, Vec<u16>> = BTreeMap::new();
        for (address, _) in &follow {
            by_host
                .entry(address.ip())
                .or_default()
                .push(address.port());
        }
        let tasks: Vec<_> = by_host
            .into_iter()
            .map(|(address, ports)| {
                let host = results
                    .iter()
                    .find(|r| r.host.address == address)
                    .map(|r| r.host.clone())
                    .unwrap_or(ScanHost {
                        address,
                        hostname: None,
                        ports: None,
                    });
                // Registered servers are OPC UA servers: OPC UA only.
                let ports = ports.into_iter().map(|p| (p, (false, true))).collect();
                tokio::spawn(scan_host(host, ports, shared.clone()))
            })
            .collect();
        for task in tasks {
            let Ok(round) = task.await else { continue };
            match results
                .iter_mut()
                .find(|r| r.host.address == round.host.address)
            {
                Some(result) => {
                    result.opcua.extend(round.opcua);
                    result.ports.extend(round.ports);
                    result.unfinished += round.unfinished;
                }
                None => results.push(round),
            }
        }
        // A followed server the scan stopped before probing says so.
        for (address, (host_index, findings_index, link_index)) in follow {
            let probed_now = results.iter().any(|r| {
                r.host.address == address.ip() && r.opcua.iter().any(|f| f.port == address.port())
            });
            if !probed_now
                && let Some(link) = results[host_index].opcua[findings_index]
                    .service
                    .as_mut()
                    .and_then(|s| s.registered_servers.get_mut(link_index))
            {
                link.status = RegisteredServerStatus::Interrupted;
            }
        }
    }

    let unfinished: u64 = results.iter().map(|r| r.unfinished).sum();
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
