//! `i4gauge discover`: scan the named targets for Modbus TCP devices and write
//! the evidence.

use std::{
    io::IsTerminal,
    net::SocketAddr,
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use tokio_util::sync::CancellationToken;

use super::Outcome;
use crate::{
    discover::{
        opcua::{OpcUaCredentials, OpcUaProbeConfig, UserCertificate, browse::BrowseLimits},
        scan::{DiscoverConfig, ProgressSink, discover, ports_of, probes},
        targets::{self, ScanHost},
    },
    evidence::{Evidence, ScanStatus, Scope, UnitIdPolicy},
};

const DISCOVER_HELP: &str = "\
Discovery is read-only by construction: only Modbus function codes 1, 2, 3, 4
(reads), 17 (Report Server ID) and 43/14 (Read Device Identification) can be sent.
It contacts only the addresses you name, opens one connection per host and port,
keeps one request in flight per host, and honours --rate and --host-rate.

Per open Modbus port: unit ids 255, 0 and 1 are asked for their identity (FC 43,
FC 17, then one harmless read). A gateway (exceptions 0x0A/0x0B) gets a sweep of
unit ids 1-247 and every serial device behind it is reported. Devices answering
every unit id identically are reported once.

OPC UA: servers that a Local Discovery Server reports (FindServers) are probed
too, but only where their discovery URL resolves to an address among the
targets; the others are recorded in the evidence as outside the scope and
never contacted.

Ctrl-C or --deadline stops the scan, writes what was found (marked incomplete)
and exits 1.

Targets: 10.1.0.7, fd00::7, 10.1.0.0/24, 10.1.0.10-60, 10.1.0.10-10.1.0.60,
plc1.local, 10.1.0.7:5020, [fd00::7]:5020, @hosts.txt (one per line, # comments).

Examples:
  i4gauge discover 10.1.0.0/24 -o plant.json
  i4gauge discover 10.1.0.0/24 --exclude 10.1.0.1 --host-rate 10 --deadline 10m
  i4gauge discover @hosts.txt --dry-run
  i4gauge discover 127.0.0.1:15020 127.0.0.1:15023 --unit-ids all --json";

/// Arguments of `i4gauge discover`.
#[derive(Debug, Args)]
#[command(after_long_help = DISCOVER_HELP)]
pub struct DiscoverArgs {
    /// Targets: addresses, CIDR blocks, ranges, host names, HOST:PORT, @FILE.
    #[arg(required = true, value_name = "TARGET")]
    targets: Vec<String>,
    /// Targets never to contact (same syntax; repeat or separate with commas).
    #[arg(long, value_name = "TARGET", value_delimiter = ',')]
    exclude: Vec<String>,
    /// Where to write the evidence (JSON).
    #[arg(short, long, value_name = "FILE", default_value = "evidence.json")]
    output: PathBuf,
    /// Modbus TCP ports, e.g. 502,5020 or 1502-1510 (HOST:PORT targets override).
    #[arg(long, value_name = "LIST", default_value = "502", value_parser = parse_ports)]
    modbus_ports: PortList,
    /// OPC UA ports, e.g. 4840,4841 (HOST:PORT targets override: an explicit port
    /// gets Modbus first, then OPC UA).
    #[arg(long, value_name = "LIST", default_value = "4840", value_parser = parse_ports)]
    opcua_ports: PortList,
    /// OPC UA user name for a session where anonymous login is not offered.
    #[arg(long, value_name = "USER", requires = "opcua_password")]
    opcua_user: Option<String>,
    /// OPC UA password (better: the I4GAUGE_OPCUA_PASSWORD environment variable).
    #[arg(
        long,
        value_name = "PASSWORD",
        env = "I4GAUGE_OPCUA_PASSWORD",
        hide_env_values = true
    )]
    opcua_password: Option<String>,
    /// OPC UA user certificate (DER or PEM) for certificate login where anonymous
    /// login is not offered and the server takes certificates (preferred over
    /// --opcua-user).
    #[arg(long, value_name = "FILE", requires = "opcua_user_key")]
    opcua_user_cert: Option<PathBuf>,
    /// The private key of --opcua-user-cert (RSA; PEM, or DER in PKCS#8 or PKCS#1).
    #[arg(long, value_name = "FILE", requires = "opcua_user_cert")]
    opcua_user_key: Option<PathBuf>,
    /// Keep the OPC UA client's certificate and key here (created on first use),
    /// so a server can trust it once (default: a temporary directory per scan).
    #[arg(long, value_name = "DIR")]
    opcua_pki_dir: Option<PathBuf>,
    /// Browse each OPC UA server's address space (in a session) and summarise it.
    #[arg(long)]
    opcua_browse: bool,
    /// Stop browsing a server after this many nodes.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 200_000,
        requires = "opcua_browse"
    )]
    max_nodes: u64,
    /// Do not browse deeper than this below the Objects folder.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 16,
        requires = "opcua_browse"
    )]
    max_depth: u32,
    /// Global cap on new connections per second.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    rate: u32,
    /// Cap on requests per second to any one host.
    #[arg(long, value_name = "N", default_value_t = 40, value_parser = clap::value_parser!(u32).range(1..))]
    host_rate: u32,
    /// Timeout of one operation (connect or one request), e.g. 500ms, 2s.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// Stop the whole scan after this long, e.g. 90s, 10m (partial evidence, exit 1).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    deadline: Option<Duration>,
    /// Unit ids to probe: auto (255, 0, 1; sweep 1-247 behind gateways), all, or a list like 1,2,10-20.
    #[arg(long, value_name = "auto|all|LIST", default_value = "auto", value_parser = parse_unit_ids)]
    unit_ids: UnitIdPolicy,
    /// Refuse to scan more addresses than this.
    #[arg(long, value_name = "N", default_value_t = 65_536)]
    max_hosts: u64,
    /// Hosts scanned at the same time.
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=4096))]
    parallel_hosts: u32,
    /// Declare that the targets cover the whole plant network (lets rules such as
    /// "no PLC found" apply during assessment).
    #[arg(long)]
    scope_complete: bool,
    /// Site label recorded in the evidence.
    #[arg(long, value_name = "LABEL")]
    site: Option<String>,
    /// Print the plan (hosts, ports, probes, worst-case duration) and send nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print a JSON summary on stdout instead of text.
    #[arg(long)]
    json: bool,
}

/// A list of TCP ports.
#[derive(Debug, Clone)]
pub struct PortList(Vec<u16>);

fn parse_ports(text: &str) -> Result<PortList, String> {
    let mut ports = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (start, end) = match part.split_once('-') {
            Some((a, b)) => (a, b),
            None => (part, part),
        };
        let parse = |p: &str| {
            p.parse::<u16>()
                .ok()
                .filter(|port| *port > 0)
                .ok_or_else(|| format!("{p:?} is not a TCP port (1-65535)"))
        };
        let (start, end) = (parse(start)?, parse(end)?);
        if end < start {
            return Err(format!("port range {part:?} ends before it starts"));
        }
        ports.extend(start..=end);
    }
    ports.sort_unstable();
    ports.dedup();
    if ports.is_empty() {
        return Err("no ports given".to_owned());
    }
    Ok(PortList(ports))
}

fn parse_unit_ids(text: &str) -> Result<UnitIdPolicy, String> {
    match text {
        "auto" => return Ok(UnitIdPolicy::Auto),
        "all" => return Ok(UnitIdPolicy::All),
        _ => {}
    }
    let mut ids = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (start, end) = part.split_once('-').unwrap_or((part, part));
        let parse = |p: &str| {
            p.parse::<u8>()
                .map_err(|_| format!("{p:?} is not a unit id (0-255)"))
        };
        let (start, end) = (parse(start)?, parse(end)?);
        if end < start {
            return Err(format!("unit id range {part:?} ends before it starts"));
        }
        ids.extend(start..=end);
    }
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Err("expected auto, all, or a list of unit ids".to_owned());
    }
    Ok(UnitIdPolicy::List(ids))
}

/// Requests one unit probe can take at most: FC 43 (identification up to the
/// "more follows" cap is counted as 8), FC 17, and four reads.
const WORST_REQUESTS_PER_UNIT: u64 = 8 + 1 + 4;

fn worst_case_requests_per_port(policy: &UnitIdPolicy) -> u64 {
    let units = match policy {
        UnitIdPolicy::Auto | UnitIdPolicy::All => 3 + 244,
        UnitIdPolicy::List(ids) => ids.len() as u64,
    };
    units * WORST_REQUESTS_PER_UNIT
}

pub(super) struct Bar(pub(super) ProgressBar);

impl ProgressSink for Bar {
    fn planned(&self, probes: u64) {
        self.0.set_length(probes);
    }
    fn probe_finished(&self, target: SocketAddr, found: bool) {
        if found {
            self.0.println(format!("  found Modbus at {target}"));
        }
        self.0.inc(1);
    }
}

/// Runs `i4gauge discover`.
pub fn run(args: DiscoverArgs, quiet: bool) -> anyhow::Result<Outcome> {
    let parsed = targets::parse_targets(&args.targets)?;
    let excluded = targets::parse_targets(&args.exclude)?;
    let target_list: Vec<_> = parsed.iter().map(|(_, t)| t.clone()).collect();
    let exclude_list: Vec<_> = excluded.iter().map(|(_, t)| t.clone()).collect();

    let user_certificate = match (&args.opcua_user_cert, &args.opcua_user_key) {
        (Some(certificate), Some(key)) => Some(
            UserCertificate::load(certificate, key)
                .map_err(|error| anyhow::anyhow!("OPC UA user certificate: {error}"))?,
        ),
        _ => None,
    };

    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let (resolved, failures) = targets::resolve_host_names(
            &[target_list.clone(), exclude_list.clone()].concat(),
            Duration::from_secs(5),
        )
        .await;
        for failure in &failures {
            eprintln!("i4gauge: warning: {failure}");
        }
        let hosts: Vec<ScanHost> =
            targets::expand(&target_list, &exclude_list, &resolved, args.max_hosts)?;
        if hosts.is_empty() {
            bail!("no address left to scan after exclusions");
        }
        let config = DiscoverConfig {
            modbus_ports: args.modbus_ports.0.clone(),
            opcua_ports: args.opcua_ports.0.clone(),
            opcua: OpcUaProbeConfig {
                timeout: args.timeout,
                credentials: match (&args.opcua_user, &args.opcua_password) {
                    (Some(user), Some(password)) => Some(OpcUaCredentials {
                        user: user.clone(),
                        password: password.clone(),
                    }),
                    _ => None,
                },
                user_certificate,
                pki_dir: args.opcua_pki_dir.clone(),
                browse: args.opcua_browse.then_some(BrowseLimits {
                    max_nodes: args.max_nodes,
                    max_depth: args.max_depth,
                    nodes_per_request: 1000,
                    requests_in_flight: 8,
                    timeout: args.timeout,
                    budget: args.deadline.unwrap_or(Duration::from_secs(300)),
                }),
            },
            rate: args.rate,
            host_rate: args.host_rate,
            timeout: args.timeout,
            deadline: args.deadline,
            unit_ids: args.unit_ids.clone(),
            parallel_hosts: args.parallel_hosts as usize,
            site: args.site.clone(),
            scope: Scope {
                targets: args.targets.clone(),
                excluded: args.exclude.clone(),
                address_count: hosts.len() as u64,
                declared_complete: args.scope_complete,
            },
        };
        if args.dry_run {
            print_plan(&hosts, &config, args.json)?;
            return Ok(Outcome::Success);
        }
        // Find out now, not after a long scan, that the evidence cannot be written.
        let directory = match args.output.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => std::path::Path::new("."),
        };
        tempfile::NamedTempFile::new_in(directory).with_context(|| {
            format!(
                "cannot write the evidence to {}: its directory {} is not writable",
                args.output.display(),
                directory.display()
            )
        })?;

        let cancel = CancellationToken::new();
        tokio::spawn({
            let cancel = cancel.clone();
            async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    cancel.cancel();
                }
            }
        });
        let bar = if !quiet && std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} host:port probes {msg}",
                )
                .expect("valid template"),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        } else {
            ProgressBar::hidden()
        };
        let started = Instant::now();
        let progress = Arc::new(Bar(bar.clone()));
        let evidence = discover(hosts, &config, progress, cancel).await;
        bar.finish_and_clear();
        evidence
            .save(&args.output)
            .with_context(|| format!("cannot write the evidence to {}", args.output.display()))?;
        report(&evidence, &args, started.elapsed())?;
        Ok(if evidence.is_complete() {
            Outcome::Success
        } else {
            Outcome::Partial
        })
    })
}

fn print_plan(hosts: &[ScanHost], config: &DiscoverConfig, json: bool) -> anyhow::Result<()> {
    let probe_list = probes(hosts, config);
    let requests_per_port = worst_case_requests_per_port(&config.unit_ids);
    let per_host_requests =
        |host: &ScanHost| ports_of(host, config).len() as u64 * requests_per_port;
    // Worst case: every request times out; hosts run in parallel batches.
    let per_request = config
        .timeout
        .max(Duration::from_secs(1) / config.host_rate);
    let slowest_host = hosts
        .iter()
        .map(|h| per_request * per_host_requests(h) as u32)
        .max()
        .unwrap_or_default();
    let batches = hosts.len().div_ceil(config.parallel_hosts.max(1)) as u32;
    let connect_time = Duration::from_secs(1) / config.rate * probe_list.len() as u32;
    let mut worst = slowest_host * batches + connect_time;
    if let Some(deadline) = config.deadline {
        worst = worst.min(deadline);
    }
    if json {
        let plan = serde_json::json!({
            "hosts": hosts.iter().map(|h| h.address.to_string()).collect::<Vec<_>>(),
            "modbus_ports": config.modbus_ports,
            "opcua_ports": config.opcua_ports,
            "probes": probe_list.iter().map(|(_, a)| a.to_string()).collect::<Vec<_>>(),
            "function_codes": crate::discover::modbus::frame::ALLOWED_FUNCTION_CODES,
            "worst_case_requests_per_port": requests_per_port,
            "worst_case_seconds": worst.as_secs_f64(),
            "rate": config.rate,
            "host_rate": config.host_rate,
        });
        println!("{}", serde_json::to_string_pretty(&plan)?);
        return Ok(());
    }
    println!("Plan (dry run: nothing is sent)");
    println!("  hosts:       {}", hosts.len());
    for host in hosts.iter().take(20) {
        println!("    {} ports {:?}", host.address, ports_of(host, config));
    }
    if hosts.len() > 20 {
        println!("    … and {} more", hosts.len() - 20);
    }
    println!("  probes:      {} host:port connections", probe_list.len());
    println!(
        "  Modbus:      ports {:?}; FC 43/14, FC 17, then FC 3/4/1/2 at address 0 per unit id; unit ids {}",
        config.modbus_ports,
        match &config.unit_ids {
            UnitIdPolicy::Auto => "255, 0, 1 (1-247 behind gateways)".to_owned(),
            UnitIdPolicy::All => "0, 255 and 1-247".to_owned(),
            UnitIdPolicy::List(ids) => format!("{ids:?}"),
        }
    );
    println!(
        "  OPC UA:      ports {:?}; FindServers, GetEndpoints; a session (one Read, then close) only \
         for anonymous SecurityPolicy None{}",
        config.opcua_ports,
        match (&config.opcua.user_certificate, &config.opcua.credentials) {
            (Some(_), Some(_)) => " or with the given user certificate or user",
            (Some(_), None) => " or with the given user certificate",
            (None, Some(_)) => " or with the given user",
            (None, None) => "",
        }
    );
    println!(
        "  caps:        {} connections/s overall, {} requests/s and 1 in flight per host, timeout {}",
        config.rate,
        config.host_rate,
        humantime::format_duration(config.timeout)
    );
    println!(
        "  worst case:  {} ({} requests per port if every unit id is probed and times out)",
        humantime::format_duration(Duration::from_secs(worst.as_secs())),
        requests_per_port
    );
    Ok(())
}

fn report(evidence: &Evidence, args: &DiscoverArgs, elapsed: Duration) -> anyhow::Result<()> {
    let complete = evidence.is_complete();
    if args.json {
        let summary = serde_json::json!({
            "output": args.output.display().to_string(),
            "complete": complete,
            "status": evidence.runs.first().map(|r| &r.status),
            "seconds": elapsed.as_secs_f64(),
            "assets": evidence.assets.iter().map(|a| serde_json::json!({
                "id": a.id,
                "role": a.role.role,
                "vendor": a.identity.vendor,
                "product": a.identity.product,
                "product_code": a.identity.product_code,
                "revision": a.identity.revision,
            })).collect::<Vec<_>>(),
            "diagnostics": evidence.diagnostics.len(),
        });
        println!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(());
    }
    println!(
        "{} asset(s) in {:.1} s; evidence written to {}",
        evidence.assets.len(),
        elapsed.as_secs_f64(),
        args.output.display()
    );
    for asset in &evidence.assets {
        let identity = &asset.identity;
        let name = [
            &identity.vendor,
            &identity.product,
            &identity.product_code,
            &identity.revision,
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect::<Vec<_>>()
        .join(" / ");
        println!(
            "  {:<28} {:<12} {}",
            asset.id.0,
            format!("{:?}", asset.role.role).to_lowercase(),
            if name.is_empty() {
                "(no identity)".to_owned()
            } else {
                name
            }
        );
    }
    if !evidence.diagnostics.is_empty() {
        println!(
            "{} diagnostic(s) recorded in the evidence",
            evidence.diagnostics.len()
        );
    }
    if let Some(run) = evidence.runs.first()
        && let ScanStatus::Incomplete {
            reason,
            unfinished_targets,
        } = &run.status
    {
        println!("INCOMPLETE scan ({reason}): {unfinished_targets} probe(s) unfinished");
    }
    Ok(())
}
