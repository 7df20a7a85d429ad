//! `i4gauge sim`: run a simulated plant until Ctrl-C.

use std::{io::Write, net::IpAddr, path::PathBuf, time::Duration};

use anyhow::Context;
use clap::Args;

use super::Outcome;
use crate::sim::{PlantSpec, SimOptions, spec::DeviceRole, start_plant};

const SIM_HELP: &str = "\
Starts real Modbus TCP and OPC UA servers that behave like a plant's PLCs, gateway,
SCADA server and line controller, prints a manifest of what runs where and what
each device should be identified as, then serves until Ctrl-C.

Without --plant or --scenario, the built-in default plant runs: three PLCs (one
answering Read Device Identification in several parts, one only Report Server ID,
one with registers only), a Modbus gateway with serial devices behind unit ids 3, 7
and 12, an OPC UA SCADA server with SecurityPolicy None and anonymous login, and a
line controller with Basic256Sha256 endpoints and the DI and Machinery companion
namespaces.

Examples:
  i4gauge sim                              default plant on 127.0.0.1, ephemeral ports
  i4gauge sim --json                       manifest as one JSON document on stdout
  i4gauge sim --scenario industry-3.0      a typical Industry 3.0 plant
  i4gauge sim --plant my-plant.toml --base-port 15020
  i4gauge sim --bind 127.0.1.1 --host-per-device --base-port 502
                                           one loopback address per device, port 502
  i4gauge sim --line-variables 100000      big address space for browse benchmarks";

/// Arguments of `i4gauge sim`.
#[derive(Debug, Args)]
#[command(after_long_help = SIM_HELP)]
pub struct SimArgs {
    /// Plant description file (TOML; see plants/ for examples).
    #[arg(long, value_name = "FILE", conflicts_with = "scenario")]
    plant: Option<PathBuf>,
    /// Built-in plant: default, industry-2.5, industry-3.0 or industry-3.5.
    #[arg(long, value_name = "NAME")]
    scenario: Option<String>,
    /// Address every device listens on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Give every device its own address: ADDR, ADDR+1, … (IPv4; 127.0.0.0/8 is all
    /// loopback), so a scan sees one host per device as on a real network.
    #[arg(long)]
    host_per_device: bool,
    /// First port; devices take consecutive ports in plant order, or all this port
    /// with --host-per-device (default: ephemeral).
    #[arg(long, value_name = "N")]
    base_port: Option<u16>,
    /// Delay before every Modbus response, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    latency: u64,
    /// Directory for the OPC UA servers' certificates and keys (default: a fresh
    /// temporary directory, removed on exit).
    #[arg(long, value_name = "DIR")]
    pki_dir: Option<PathBuf>,
    /// Number of variables in every line controller's address space (at most 100000).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=100_000))]
    line_variables: Option<u32>,
    /// Print the manifest as one JSON document on stdout.
    #[arg(long)]
    json: bool,
}

/// Runs the plant until Ctrl-C (SIGINT) or SIGTERM.
pub fn run(args: SimArgs, quiet: bool) -> anyhow::Result<Outcome> {
    let mut spec = match (&args.plant, &args.scenario) {
        (Some(path), _) => PlantSpec::load(path)?,
        (None, Some(name)) => PlantSpec::scenario(name)?,
        (None, None) => PlantSpec::builtin_default(),
    };
    if let Some(variables) = args.line_variables {
        for server in &mut spec.opcua {
            if server.role == DeviceRole::LineController {
                server.variables = variables;
            }
        }
    }
    let options = SimOptions {
        bind: args.bind,
        base_port: args.base_port,
        latency: Duration::from_millis(args.latency),
        pki_dir: args.pki_dir.clone(),
        host_per_device: args.host_per_device,
    };
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        // Handlers first: a Ctrl-C right after the manifest appears (a script or
        // test reacting to it) must stop the plant cleanly, not kill the process.
        let shutdown = ShutdownSignal::register()?;
        let plant = start_plant(&spec, &options).await?;
        let mut stdout = std::io::stdout().lock();
        if args.json {
            serde_json::to_writer_pretty(&mut stdout, plant.manifest())?;
            writeln!(stdout)?;
        } else {
            writeln!(stdout, "{}", plant.manifest())?;
        }
        stdout.flush()?;
        drop(stdout);
        if !quiet {
            eprintln!(
                "i4gauge: simulated plant running on {}; press Ctrl-C to stop",
                args.bind
            );
        }
        shutdown.wait().await;
        plant.shutdown().await;
        if !quiet {
            eprintln!("i4gauge: simulated plant stopped");
        }
        Ok(Outcome::Success)
    })
}

/// Ctrl-C (and SIGTERM on Unix), registered before it is awaited.
struct ShutdownSignal {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl ShutdownSignal {
    fn register() -> anyhow::Result<ShutdownSignal> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(ShutdownSignal {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(ShutdownSignal {})
    }

    async fn wait(mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}
