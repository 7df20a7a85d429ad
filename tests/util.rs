//! Shared helpers for the integration tests.

use std::{path::PathBuf, process::Command, time::Duration};

use i4gauge::sim::{
    Manifest, ManifestDevice, PlantSpec, RunningPlant, SimOptions,
    manifest::{ModbusDeviceManifest, OpcUaServerManifest},
    start_plant,
};

/// Starts a plant on 127.0.0.1 with ephemeral ports and a fresh PKI directory.
pub async fn start(spec: &PlantSpec) -> RunningPlant {
    start_plant(spec, &SimOptions::default())
        .await
        .expect("the simulated plant starts")
}

/// The Modbus device named `name` in a manifest.
pub fn modbus<'a>(manifest: &'a Manifest, name: &str) -> &'a ModbusDeviceManifest {
    manifest
        .devices
        .iter()
        .find_map(|device| match device {
            ManifestDevice::ModbusTcp(device) if device.name == name => Some(device),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no Modbus device {name} in the manifest"))
}

/// The OPC UA server named `name` in a manifest.
pub fn opcua<'a>(manifest: &'a Manifest, name: &str) -> &'a OpcUaServerManifest {
    manifest
        .devices
        .iter()
        .find_map(|device| match device {
            ManifestDevice::Opcua(server) if server.name == name => Some(server),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no OPC UA server {name} in the manifest"))
}

/// The `i4gauge` binary cargo built for these tests.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_i4gauge"))
}

/// A command running the binary with the environment cleared of `RUST_LOG`.
pub fn i4gauge() -> Command {
    let mut command = Command::new(binary());
    command.env_remove("RUST_LOG");
    command
}

/// Bounds every network step of a test: a hang becomes a failure with a message.
pub async fn bounded<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within 20 s"))
}
