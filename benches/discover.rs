//! Discovery benchmark: a plant of 24 hosts (the simulator, one loopback address
//! per device), a bare TCP connect scan of the same ports, and full
//! identification scans under the default caps and with the per-host cap raised.
//!
//! Run: `cargo bench --bench discover`. Prints hosts/s, total time and the ratio
//! to the connect scan. Figures, not assertions: performance is reported, not
//! timed in tests.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::Arc,
    time::{Duration, Instant},
};

use i4gauge::{
    discover::{
        pacing::Pacer,
        scan::{DiscoverConfig, NoProgress, discover},
        targets::ScanHost,
    },
    evidence::{Scope, UnitIdPolicy},
    sim::{
        ManifestDevice, PlantSpec, RunningPlant, SimOptions,
        spec::{
            DeviceIdentificationSpec, DeviceRole, ModbusDeviceSpec, ModbusUnitSpec, OtherUnitIds,
            ServerIdSpec,
        },
        start_plant,
    },
};
use tokio_util::sync::CancellationToken;

const HOSTS: usize = 24;

fn unit(unit_id: u8, role: DeviceRole) -> ModbusUnitSpec {
    ModbusUnitSpec {
        unit_id,
        role,
        identification: None,
        server_id: None,
        holding_registers: vec![1, 2, 3, 4],
        input_registers: vec![5, 6],
        coils: vec![true, false],
        discrete_inputs: vec![false],
    }
}

fn identification(index: usize, per_response: Option<u8>) -> DeviceIdentificationSpec {
    DeviceIdentificationSpec {
        vendor_name: "Bench Automation".into(),
        product_code: format!("BA-{index:03}"),
        revision: "1.0".into(),
        vendor_url: Some("https://bench.example".into()),
        product_name: Some("BenchControl".into()),
        model_name: Some(format!("BC-{index}")),
        user_application_name: Some(format!("Line {index}")),
        extended: vec![],
        objects_per_response: per_response,
        individual_access: true,
    }
}

/// 24 hosts: PLCs with FC 43 (some split over several responses), PLCs with
/// FC 17 only, PLCs with registers only, and optionally gateways with serial
/// devices behind them.
fn plant(gateways: usize) -> PlantSpec {
    let mut devices = Vec::new();
    for index in 0..HOSTS - gateways {
        let mut plc = unit(1, DeviceRole::Plc);
        match index % 4 {
            0 | 1 => {
                plc.identification = Some(identification(index, (index % 4 == 1).then_some(2)))
            }
            2 => {
                plc.server_id = Some(ServerIdSpec {
                    server_id: index as u8,
                    running: true,
                    additional_data: format!("BENCH PLC {index}"),
                })
            }
            _ => {}
        }
        devices.push(ModbusDeviceSpec {
            name: format!("plc-{index:02}"),
            role: DeviceRole::Plc,
            other_unit_ids: OtherUnitIds::Answer,
            units: vec![plc],
        });
    }
    for index in 0..gateways {
        let mut units = vec![];
        for (unit_id, role) in [
            (2, DeviceRole::Meter),
            (5, DeviceRole::Drive),
            (9, DeviceRole::Io),
        ] {
            let mut device = unit(unit_id, role);
            device.identification = Some(identification(100 + unit_id as usize, None));
            units.push(device);
        }
        devices.push(ModbusDeviceSpec {
            name: format!("gateway-{index}"),
            role: DeviceRole::Gateway,
            other_unit_ids: OtherUnitIds::GatewayTargetFailed,
            units,
        });
    }
    PlantSpec {
        name: "bench".into(),
        description: format!("{HOSTS} Modbus hosts, {gateways} of them gateways"),
        typical_level: None,
        modbus: devices,
        opcua: vec![],
    }
}

fn hosts(plant: &RunningPlant) -> Vec<ScanHost> {
    plant
        .manifest()
        .devices
        .iter()
        .filter_map(|device| match device {
            ManifestDevice::ModbusTcp(device) => Some(ScanHost {
                address: device.address.ip(),
                hostname: None,
                ports: Some(vec![device.address.port()]),
            }),
            ManifestDevice::Opcua(_) => None,
        })
        .collect()
}

/// Connects to every host:port under the same global connection cap, in parallel.
async fn connect_scan(targets: &[SocketAddr], rate: u32) -> Duration {
    let pacer = Arc::new(Pacer::per_second(rate));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for &target in targets {
        let pacer = pacer.clone();
        tasks.push(tokio::spawn(async move {
            pacer.wait().await;
            tokio::time::timeout(
                Duration::from_secs(2),
                tokio::net::TcpStream::connect(target),
            )
            .await
            .map(|r| r.is_ok())
            .unwrap_or(false)
        }));
    }
    for task in tasks {
        assert!(task.await.unwrap(), "every simulated host accepts");
    }
    started.elapsed()
}

async fn identification_scan(hosts: Vec<ScanHost>, host_rate: u32) -> (Duration, usize, u64) {
    let config = DiscoverConfig {
        modbus_ports: vec![502],
        opcua_ports: vec![4840],
        opcua: i4gauge::discover::opcua::OpcUaProbeConfig {
            timeout: Duration::from_millis(500),
            credentials: None,
            user_certificate: None,
            browse: None,
            pki_dir: None,
        },
        rate: 1000,
        host_rate,
        timeout: Duration::from_secs(2),
        deadline: None,
        unit_ids: UnitIdPolicy::Auto,
        parallel_hosts: 256,
        site: None,
        scope: Scope {
            targets: vec![],
            excluded: vec![],
            address_count: HOSTS as u64,
            declared_complete: false,
        },
    };
    let started = Instant::now();
    let evidence = discover(
        hosts,
        &config,
        Arc::new(NoProgress),
        CancellationToken::new(),
    )
    .await;
    let elapsed = started.elapsed();
    assert!(evidence.is_complete());
    let identified = evidence
        .assets
        .iter()
        .filter(|a| a.identity.vendor.is_some() || a.identity.product.is_some())
        .count();
    (elapsed, evidence.assets.len(), identified as u64)
}

fn line(label: &str, elapsed: Duration, baseline: Duration) {
    println!(
        "  {label:<44} {:>8.3} s  {:>8.1} hosts/s  {:>7.1}x connect scan",
        elapsed.as_secs_f64(),
        HOSTS as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64() / baseline.as_secs_f64()
    );
}

#[tokio::main]
async fn main() {
    println!("i4gauge discovery benchmark: {HOSTS} hosts on loopback (one address per device)");
    for (first, gateways) in [([127, 0, 40, 1], 0), ([127, 0, 41, 1], 2)] {
        let spec = plant(gateways);
        let running = start_plant(
            &spec,
            &SimOptions {
                bind: IpAddr::V4(Ipv4Addr::from(first)),
                host_per_device: true,
                ..SimOptions::default()
            },
        )
        .await
        .expect("bench plant starts");
        let targets: Vec<SocketAddr> = running
            .manifest()
            .devices
            .iter()
            .map(|d| d.address())
            .collect();
        println!("\nplant: {}", spec.description);
        let baseline = connect_scan(&targets, 1000).await;
        line("bare TCP connect scan (--rate 1000)", baseline, baseline);
        for host_rate in [40, 1000] {
            let (elapsed, assets, identified) =
                identification_scan(hosts(&running), host_rate).await;
            line(
                &format!(
                    "identification (--host-rate {host_rate}): {assets} assets, {identified} identified"
                ),
                elapsed,
                baseline,
            );
        }
        let requests: usize = running
            .manifest()
            .devices
            .iter()
            .map(|d| {
                running
                    .modbus_log(d.name())
                    .map_or(0, |l| l.requests().len())
            })
            .sum();
        println!("  requests sent in total over both scans: {requests}");
        running.shutdown().await;
    }
}
