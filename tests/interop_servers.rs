//! Discovery against Modbus TCP servers written by others: pymodbus (PyPI,
//! pinned in `tests/interop/requirements.txt`, in `.venv/`) and modbus-serial
//! (npm, pinned in `tests/interop/package-lock.json`, in
//! `tests/interop/node_modules/`), both installed by `.ci/run`. Each test
//! starts a server script from `tests/interop/` on 127.0.0.1, reads the ready
//! line in which it states what it serves, scans it with `i4gauge discover
//! 127.0.0.1:PORT` (200 requests/s, 500 ms timeout) and checks
//! that discovery finds exactly that: the configured identity (every object,
//! across "more follows"), roles, gateways and the devices behind them, and
//! nothing for unit ids where nothing is.
//!
//! What each server can't do is part of the expectation, as documented in the
//! scripts: pymodbus answers FC 43/17 from one identity for every unit id;
//! modbus-serial's ServerTCP never answers FC 17, and with `unitID` set it
//! ignores other unit ids.

use std::{
    collections::{BTreeMap, BTreeSet},
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use i4gauge::evidence::{
    Asset, AssetId, AssetRole, Attachment, Evidence, FunctionOutcome, Identity, ModbusUnit,
    ScanStatus,
};
use serde_json::Value;

use crate::util::{ScriptServer, binary, interop_dir, python};

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// A scan of one of these servers must take less than this, timeouts included.
const QUICK: Duration = Duration::from_secs(10);

/// `node` from PATH, once modbus-serial is installed.
fn node() -> PathBuf {
    crate::util::node_with("modbus-serial")
}

/// A third-party server this test started; killed when dropped.
struct Server {
    _child: tokio::process::Child,
    /// The ready line: port, mode and what the server serves.
    ready: Value,
    address: SocketAddr,
}

impl Server {
    async fn start(program: &Path, script: &str, args: &[&str]) -> Server {
        // The rest of stdout is dropped: these scripts print nothing after the ready line.
        let ScriptServer { child, ready, .. } = ScriptServer::spawn(
            program,
            &interop_dir().join(script),
            args,
            Duration::from_secs(30),
        )
        .await;
        let port = u16::try_from(ready["port"].as_u64().expect("port in the ready line")).unwrap();
        Server {
            _child: child,
            ready,
            address: SocketAddr::new(LOCALHOST, port),
        }
    }

    async fn pymodbus(args: &[&str]) -> Server {
        Server::start(&python(), "pymodbus_server.py", args).await
    }

    async fn modbus_serial(args: &[&str]) -> Server {
        Server::start(&node(), "node_server.mjs", args).await
    }

    /// The ready line's expectation for `unit` ("*" for every unit id).
    fn unit(&self, unit: &str) -> &Value {
        let value = &self.ready["units"][unit];
        assert!(!value.is_null(), "unit {unit} not in the ready line");
        value
    }

    /// The identification objects the server was configured with for `unit`.
    fn objects(&self, unit: &str) -> BTreeMap<u8, String> {
        self.unit(unit)["objects"]
            .as_object()
            .unwrap_or_else(|| panic!("unit {unit} has no identification objects"))
            .iter()
            .map(|(id, text)| (id.parse().unwrap(), text.as_str().unwrap().to_owned()))
            .collect()
    }

    /// Scans the server as a user does: `i4gauge discover 127.0.0.1:PORT -o FILE
    /// --json`, quick settings (200 requests/s, 500 ms timeout); returns the
    /// evidence and how long the command took.
    async fn scan(&self) -> (Evidence, Duration) {
        let dir = tempfile::tempdir().unwrap();
        let output_path = dir.path().join("evidence.json");
        let started = Instant::now();
        let output = tokio::time::timeout(
            Duration::from_secs(120),
            tokio::process::Command::new(binary())
                .arg("discover")
                .arg(self.address.to_string())
                .args(["--host-rate", "200", "--timeout", "500ms", "--json", "-o"])
                .arg(&output_path)
                .env_remove("RUST_LOG")
                .stdin(Stdio::null())
                .kill_on_drop(true)
                .output(),
        )
        .await
        .unwrap_or_else(|_| panic!("the scan of {} hung for 120 s", self.ready))
        .unwrap();
        let elapsed = started.elapsed();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}\n{}",
            self.ready,
            String::from_utf8_lossy(&output.stderr)
        );
        let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(summary["complete"], true, "{summary}");
        let evidence = Evidence::load(&output_path).unwrap();
        assert_eq!(evidence.runs[0].status, ScanStatus::Complete);
        assert_eq!(
            summary["assets"].as_array().map(Vec::len),
            Some(evidence.assets.len())
        );
        assert!(
            elapsed < QUICK,
            "scanning {} ({}) took {elapsed:?}",
            self.ready["server"],
            self.ready["mode"]
        );
        (evidence, elapsed)
    }

    fn host<'a>(&self, evidence: &'a Evidence) -> &'a Asset {
        evidence
            .asset(&AssetId::host(LOCALHOST))
            .unwrap_or_else(|| panic!("{} not found: {}", self.ready["server"], evidence.to_json()))
    }

    fn sub_device<'a>(&self, evidence: &'a Evidence, unit: u8) -> &'a Asset {
        evidence
            .asset(&AssetId::sub_device(self.address, unit))
            .unwrap_or_else(|| panic!("unit {unit} behind the gateway not found"))
    }
}

/// The objects discovery read from a unit.
fn objects_read(unit: &ModbusUnit) -> BTreeMap<u8, String> {
    unit.device_identification
        .as_ref()
        .unwrap_or_else(|| panic!("unit {} has no identification", unit.unit_id))
        .objects
        .iter()
        .map(|object| (object.id, object.text.clone()))
        .collect()
}

/// The identity fields must be the configured objects 0x00–0x06, each from FC 43.
fn assert_identity(identity: &Identity, objects: &BTreeMap<u8, String>) {
    let want = |id: u8| objects.get(&id).cloned();
    assert_eq!(identity.vendor, want(0x00), "vendor");
    assert_eq!(identity.product_code, want(0x01), "product code");
    assert_eq!(identity.revision, want(0x02), "revision");
    assert_eq!(identity.product, want(0x04), "product");
    assert_eq!(identity.model, want(0x05), "model");
    assert_eq!(identity.application_name, want(0x06), "application name");
    assert!(
        identity
            .sources
            .values()
            .all(|source| source == "modbus.fc43"),
        "{:?}",
        identity.sources
    );
}

fn only_unit(asset: &Asset) -> &ModbusUnit {
    assert_eq!(asset.modbus.len(), 1);
    assert_eq!(
        asset.modbus[0].units.len(),
        1,
        "{:?}",
        asset.modbus[0].units
    );
    &asset.modbus[0].units[0]
}

fn behind_gateway(evidence: &Evidence) -> BTreeSet<u8> {
    evidence
        .assets
        .iter()
        .filter_map(|asset| match asset.attachment {
            Attachment::BehindGateway { unit_id, .. } => Some(unit_id),
            Attachment::Network => None,
        })
        .collect()
}

mod pymodbus {
    use super::*;

    /// Stock pymodbus: one identity for the whole server, answered at every unit
    /// id, with the extended objects split by "more follows".
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stock_server_is_one_device_with_every_identification_object() {
        let server = Server::pymodbus(&["--mode", "plain"]).await;
        let (evidence, _) = server.scan().await;
        assert_eq!(evidence.assets.len(), 1, "{}", evidence.to_json());
        let host = server.host(&evidence);
        let expected = server.objects("*");
        assert_identity(&host.identity, &expected);
        assert_eq!(
            host.role.role,
            AssetRole::Plc,
            "\"PLC\" in the product name"
        );

        let service = &host.modbus[0];
        assert!(!service.gateway);
        assert!(
            service.answers_every_unit_id,
            "pymodbus answers FC 43 at every unit id"
        );
        let unit = only_unit(host);
        assert_eq!(
            objects_read(unit),
            expected,
            "all objects across more-follows"
        );
        let identification = unit.device_identification.as_ref().unwrap();
        assert_eq!(identification.conformity_level, 0x83);
        assert!(
            identification.exchanges >= 3,
            "basic, extended and its continuation: {} exchange(s)",
            identification.exchanges
        );
        let server_id = unit.server_id.as_ref().expect("pymodbus answers FC 17");
        assert_eq!(
            server_id.hex,
            server.unit("*")["server_id_hex"].as_str().unwrap()
        );
        assert!(
            evidence.diagnostics.is_empty(),
            "{:?}",
            evidence.diagnostics
        );
    }

    /// pymodbus with a per-unit identity (custom FC 43/17 request classes):
    /// unknown unit ids get pymodbus's own exception 0x0B, so the server is a
    /// gateway and exactly the configured units are devices behind it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_gateway_answering_0x0b_has_exactly_its_configured_devices_behind_it() {
        let server = Server::pymodbus(&["--mode", "gateway"]).await;
        let (evidence, _) = server.scan().await;
        let host = server.host(&evidence);
        assert_eq!(host.role.role, AssetRole::Gateway);
        let service = &host.modbus[0];
        assert!(service.gateway);
        assert_identity(&host.identity, &server.objects("255"));
        assert_eq!(
            service.units.iter().map(|u| u.unit_id).collect::<Vec<_>>(),
            [255],
            "the gateway's own unit"
        );
        assert_eq!(objects_read(&service.units[0]), server.objects("255"));

        assert_eq!(
            behind_gateway(&evidence),
            BTreeSet::from([1, 2, 5]),
            "exactly the configured devices, no absent unit id"
        );
        assert_eq!(evidence.assets.len(), 1 + 3, "{}", evidence.to_json());
        // Unit 0 (initial probe) and 2–247 except 2 and 5.
        assert_eq!(service.gateway_absent_unit_ids.len(), 1 + 244);
        assert!(service.gateway_absent_unit_ids.contains(&0));

        for (unit, role) in [(1, AssetRole::Meter), (2, AssetRole::Drive)] {
            let device = server.sub_device(&evidence, unit);
            let expected = server.objects(&unit.to_string());
            assert_identity(&device.identity, &expected);
            assert_eq!(device.role.role, role, "unit {unit}");
            let read = only_unit(device);
            assert_eq!(objects_read(read), expected, "unit {unit}");
            assert_eq!(
                read.server_id.as_ref().unwrap().hex,
                server.unit(&unit.to_string())["server_id_hex"]
                    .as_str()
                    .unwrap()
            );
        }
        let io = server.sub_device(&evidence, 5);
        assert_eq!(io.identity, Identity::default(), "no identity invented");
        assert_eq!(io.role.role, AssetRole::Io, "coils and inputs only");
        let unit = only_unit(io);
        assert_eq!(
            unit.functions.get(&43),
            Some(&FunctionOutcome::Exception { code: 0x01 })
        );
        assert!(
            evidence.diagnostics.is_empty(),
            "{:?}",
            evidence.diagnostics
        );
    }

    /// The same gateway with `ignore_missing_devices=True`: pymodbus stays silent
    /// for FC 43/17 to unknown unit ids (but still answers reads there with
    /// exception 0x04, "no device", see the script). Without a gateway exception
    /// there is no automatic sweep, but units 255 and 1 identify as different
    /// devices: discovery reports a gateway with the meter behind it, advises
    /// `--unit-ids all`, invents nothing, and stays quick.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_gateway_ignoring_unknown_unit_ids_is_recognised_without_invented_devices() {
        let server = Server::pymodbus(&["--mode", "gateway", "--ignore-missing"]).await;
        let (evidence, elapsed) = server.scan().await;
        let host = server.host(&evidence);
        assert_identity(&host.identity, &server.objects("255"));
        let service = &host.modbus[0];
        assert!(service.gateway, "distinct devices at 255 and 1: a gateway");
        assert_eq!(service.units.len(), 1, "the gateway's own unit 255 only");
        let behind: Vec<_> = evidence.assets.iter().filter(|a| a.id != host.id).collect();
        assert_eq!(behind.len(), 1, "{}", evidence.to_json());
        let meter = &behind[0].modbus[0].units[0];
        assert_eq!(meter.unit_id, 1);
        assert_eq!(objects_read(meter), server.objects("1"));
        assert!(
            evidence
                .diagnostics
                .iter()
                .any(|d| d.message.contains("--unit-ids all")),
            "{:?}",
            evidence.diagnostics
        );
        eprintln!("pymodbus ignoring unknown unit ids: scanned in {elapsed:?}");
    }
}

mod modbus_serial {
    use super::*;

    /// modbus-serial's ServerTCP answering every unit id, identity through its
    /// `readDeviceIdentification` hook. FC 17 is never answered by ServerTCP.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_plc_is_identified_by_fc43_although_fc17_is_never_answered() {
        let server = Server::modbus_serial(&["--mode", "plc"]).await;
        let (evidence, _) = server.scan().await;
        assert_eq!(evidence.assets.len(), 1, "{}", evidence.to_json());
        let host = server.host(&evidence);
        let expected = server.objects("*");
        assert_identity(&host.identity, &expected);
        assert_eq!(host.role.role, AssetRole::Plc);
        assert!(host.modbus[0].answers_every_unit_id);
        let unit = only_unit(host);
        assert_eq!(unit.server_id, None);
        assert_eq!(unit.functions.get(&17), Some(&FunctionOutcome::NoResponse));
        // Whatever was read is what the server holds (nothing garbled or invented).
        for (id, text) in objects_read(unit) {
            assert_eq!(Some(&text), expected.get(&id), "object {id:#04x}");
        }
    }

    /// Every object, including the private ones that come after a "more
    /// follows". modbus-serial puts every object into the answer to a *basic*
    /// (read code 01) request and, when they don't fit, sets "more follows" with
    /// next object 0x81; a basic request for 0x81 restarts at object 0 (the
    /// spec's rule for an id outside the category), an extended (03) one
    /// returns 0x81 and 0x82: discovery continues in the object's category.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_plc_reports_every_identification_object_across_more_follows() {
        let server = Server::modbus_serial(&["--mode", "plc"]).await;
        let (evidence, _) = server.scan().await;
        let unit = only_unit(server.host(&evidence));
        assert_eq!(objects_read(unit), server.objects("*"));
        assert!(
            evidence.diagnostics.is_empty(),
            "{:?}",
            evidence.diagnostics
        );
    }

    /// Hooks that answer exception 0x0B for unknown unit ids make a gateway.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_gateway_built_on_the_vector_hooks_has_exactly_its_devices_behind_it() {
        let server = Server::modbus_serial(&["--mode", "gateway"]).await;
        let (evidence, _) = server.scan().await;
        let host = server.host(&evidence);
        assert_eq!(host.role.role, AssetRole::Gateway);
        assert!(host.modbus[0].gateway);
        assert_identity(&host.identity, &server.objects("255"));
        assert_eq!(behind_gateway(&evidence), BTreeSet::from([3, 4]));
        assert_eq!(evidence.assets.len(), 1 + 2, "{}", evidence.to_json());
        // Unit ids 0 and 1 (initial probes) and 2–247 except 3 and 4.
        assert_eq!(host.modbus[0].gateway_absent_unit_ids.len(), 2 + 244);

        let meter = server.sub_device(&evidence, 3);
        assert_identity(&meter.identity, &server.objects("3"));
        assert_eq!(objects_read(only_unit(meter)), server.objects("3"));
        assert_eq!(meter.role.role, AssetRole::Meter);

        let plain = server.sub_device(&evidence, 4);
        assert_eq!(plain.identity, Identity::default(), "no identity invented");
        let unit = only_unit(plain);
        assert_eq!(
            unit.functions.get(&43),
            Some(&FunctionOutcome::Exception { code: 0x01 })
        );
        assert_eq!(unit.functions.get(&3), Some(&FunctionOutcome::Supported));
        assert!(
            evidence.diagnostics.is_empty(),
            "{:?}",
            evidence.diagnostics
        );
    }

    /// No FC 43 hook and `unitID: 1`: "a Modbus device, no identity", found at
    /// unit 1 only, although unit ids 255 and 0 never answer.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_device_without_identification_is_a_modbus_device_with_no_identity() {
        let server = Server::modbus_serial(&["--mode", "noid"]).await;
        let (evidence, elapsed) = server.scan().await;
        assert_eq!(evidence.assets.len(), 1, "{}", evidence.to_json());
        let host = server.host(&evidence);
        assert_eq!(host.identity, Identity::default(), "no identity invented");
        assert_eq!(
            host.role.role,
            AssetRole::Plc,
            "native Modbus TCP with registers"
        );
        assert!(!host.modbus[0].gateway);
        assert!(!host.modbus[0].answers_every_unit_id);
        let unit = only_unit(host);
        assert_eq!(unit.unit_id, 1, "only unit 1 answers");
        assert_eq!(
            unit.functions.get(&43),
            Some(&FunctionOutcome::Exception { code: 0x01 })
        );
        assert_eq!(unit.functions.get(&3), Some(&FunctionOutcome::Supported));
        assert!(
            evidence.diagnostics.is_empty(),
            "{:?}",
            evidence.diagnostics
        );
        eprintln!("modbus-serial ignoring unit ids other than 1: scanned in {elapsed:?}");
    }
}
