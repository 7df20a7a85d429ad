//! OPC UA browse benchmark: a 100,000-variable address space (the simulator's
//! async-opcua server, in its own process so only the client is measured),
//! browsed fully by discovery. Prints nodes, seconds, nodes/s and the bench
//! process's peak memory.
//!
//! Run: `cargo bench --bench browse`. Optional: `I4GAUGE_BROWSE_URL=opc.tcp://HOST:PORT/`
//! browses another server (e.g. a node-opcua one: `node tests/interop/node_opcua_server.mjs
//! --port 0 --folders 100 --per-folder 1000`) instead of starting the simulator;
//! `I4GAUGE_BROWSE_CONFIGS=1000x8,2000x16` sets the nodes per request x requests
//! in flight tried, `I4GAUGE_BROWSE_RUNS=N` how often each runs (default 3; take
//! the best: the first run also warms the server up).

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use i4gauge::{
    discover::opcua::{
        ClientPki, CompanionSpecTable, OpcUaProbeConfig, browse::BrowseLimits, probe_opcua,
    },
    sim::{Manifest, ManifestDevice},
};

const VARIABLES: u32 = 100_000;

fn peak_memory_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

/// Starts `i4gauge sim` with one anonymous OPC UA server of `VARIABLES` variables.
fn start_simulator(dir: &std::path::Path) -> (std::process::Child, SocketAddr) {
    let plant = dir.join("big.toml");
    std::fs::write(
        &plant,
        format!(
            r#"name = "browse-bench"
[[opcua]]
name = "big"
role = "scada"
application_name = "Big Server"
application_uri = "urn:i4gauge-bench:big"
product_uri = "urn:i4gauge-bench"
manufacturer_name = "Bench"
product_name = "Big"
software_version = "1"
build_number = "1"
endpoints = [{{ policy = "None", mode = "None" }}]
anonymous = true
variables = {VARIABLES}
variables_per_folder = 1000
"#
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_i4gauge"))
        .args(["-q", "sim", "--json", "--plant"])
        .arg(&plant)
        .stdout(Stdio::piped())
        .spawn()
        .expect("the simulator starts");
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut text = String::new();
    let manifest = loop {
        let mut line = String::new();
        assert!(reader.read_line(&mut line).unwrap() > 0, "simulator exited");
        text.push_str(&line);
        if let Ok(manifest) = serde_json::from_str::<Manifest>(&text) {
            break manifest;
        }
    };
    let ManifestDevice::Opcua(server) = &manifest.devices[0] else {
        unreachable!("one OPC UA server")
    };
    (child, server.address)
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, address) = match std::env::var("I4GAUGE_BROWSE_URL") {
        Ok(url) => {
            let address = url
                .trim_start_matches("opc.tcp://")
                .trim_end_matches('/')
                .parse()
                .expect("I4GAUGE_BROWSE_URL is opc.tcp://IP:PORT/");
            (None, address)
        }
        Err(_) => {
            let (child, address) = start_simulator(dir.path());
            (Some(child), address)
        }
    };
    println!("i4gauge OPC UA browse benchmark against {address}");
    let pki = ClientPki::new().unwrap();
    let pki_dir = pki.path().await;
    let table = CompanionSpecTable::builtin();
    // I4GAUGE_BROWSE_CONFIGS="1000x8,2000x16" (nodes per request x requests in
    // flight) and I4GAUGE_BROWSE_RUNS=N (runs of each; the best is the figure).
    let configs: Vec<(usize, usize)> = std::env::var("I4GAUGE_BROWSE_CONFIGS")
        .unwrap_or_else(|_| "1000x8,2000x8,2000x16".to_owned())
        .split(',')
        .map(|pair| {
            let (per_request, in_flight) = pair
                .split_once('x')
                .expect("I4GAUGE_BROWSE_CONFIGS is like 1000x8,2000x16");
            (per_request.parse().unwrap(), in_flight.parse().unwrap())
        })
        .collect();
    let runs: usize = std::env::var("I4GAUGE_BROWSE_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    let configs: Vec<(usize, usize)> = configs
        .into_iter()
        .flat_map(|config| std::iter::repeat_n(config, runs))
        .collect();
    for (per_request, in_flight) in configs {
        let config = OpcUaProbeConfig {
            timeout: Duration::from_secs(10),
            credentials: None,
            user_certificate: None,
            pki_dir: None,
            browse: Some(BrowseLimits {
                max_nodes: 500_000,
                max_depth: 32,
                nodes_per_request: per_request,
                requests_in_flight: in_flight,
                timeout: Duration::from_secs(10),
                budget: Duration::from_secs(120),
            }),
        };
        let started = Instant::now();
        let findings = probe_opcua(address, &config, pki_dir, &table).await;
        let elapsed = started.elapsed();
        for diagnostic in &findings.diagnostics {
            println!("  diagnostic: {}", diagnostic.message);
        }
        let service = findings.service.expect("the server answers");
        let max_per_browse = service
            .session
            .as_ref()
            .and_then(|s| s.operation_limits.get("MaxNodesPerBrowse").copied());
        let space = service.address_space.expect("browsed");
        println!(
            "  {per_request:>4} nodes/request, {in_flight} in flight: {:>7} nodes ({} variables) in {:.2} s \
             = {:>7.0} nodes/s (whole probe incl. session); truncated: {}; peak memory {:.0} MiB; \
             server MaxNodesPerBrowse {max_per_browse:?}",
            space.nodes,
            space.by_node_class.get("Variable").copied().unwrap_or(0),
            elapsed.as_secs_f64(),
            space.nodes as f64 / elapsed.as_secs_f64(),
            space.truncated,
            peak_memory_mib()
        );
    }
    if let Some(child) = &mut child {
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let _ = child.wait();
    }
}
