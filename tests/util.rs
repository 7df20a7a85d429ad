//! Shared helpers for the integration tests.

use std::{
    ffi::OsStr,
    fmt::Debug,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use i4gauge::sim::{
    Manifest, ManifestDevice, PlantSpec, RunningPlant, SimOptions,
    manifest::{ModbusDeviceManifest, OpcUaServerManifest},
    start_plant,
};
use serde_json::Value;
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, BufReader, Lines},
    process::{Child, ChildStdout},
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

/// `tests/interop/`: the third-party scripts and their pinned dependencies.
pub fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

/// The Python with the interop packages: `$I4GAUGE_PYTHON`, else `.venv/bin/python`.
pub fn python() -> PathBuf {
    let path = std::env::var_os("I4GAUGE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    assert!(
        path.exists(),
        "{} not found: the interop tests need the third-party clients and servers; run \
         `bash .ci/run` (or: python3 -m venv .venv && .venv/bin/pip install -r \
         tests/interop/requirements.txt)",
        path.display()
    );
    path
}

/// A third-party server script this test started, once it printed its ready
/// line; killed when dropped.
pub struct ScriptServer {
    pub child: Child,
    /// The first line the script printed on stdout, as JSON.
    pub ready: Value,
    /// The rest of the script's stdout, unread. (Its stderr is drained in the
    /// background and shown only if the script fails to get ready.)
    pub stdout: Lines<BufReader<ChildStdout>>,
}

impl ScriptServer {
    /// Runs `program script args...` in the script's directory and waits up to
    /// `ready_timeout` for its JSON ready line on stdout.
    pub async fn spawn<A: AsRef<OsStr> + Debug>(
        program: &Path,
        script: &Path,
        args: &[A],
        ready_timeout: Duration,
    ) -> ScriptServer {
        let name = script
            .file_name()
            .unwrap_or(script.as_os_str())
            .to_string_lossy();
        let mut command = tokio::process::Command::new(program);
        command.arg(script).args(args);
        if let Some(dir) = script.parent() {
            command.current_dir(dir);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| panic!("{} {name} does not start: {error}", program.display()));
        // Keep stderr drained (a full pipe would stall the server) and at hand for messages.
        let stderr = Arc::new(Mutex::new(String::new()));
        tokio::spawn({
            let stderr = stderr.clone();
            let mut pipe = child.stderr.take().unwrap();
            async move {
                let mut chunk = [0u8; 4096];
                while let Ok(n @ 1..) = pipe.read(&mut chunk).await {
                    stderr
                        .lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&chunk[..n]));
                }
            }
        });
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(ready_timeout, stdout.next_line())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{name} {args:?}: no ready line within {} s\n{}",
                    ready_timeout.as_secs(),
                    stderr.lock().unwrap()
                )
            })
            .unwrap();
        let Some(line) = line else {
            // Give the stderr task a moment to collect the error.
            tokio::time::sleep(Duration::from_millis(200)).await;
            panic!(
                "{name} {args:?} exited before it was ready:\n{}",
                stderr.lock().unwrap()
            );
        };
        let ready: Value = serde_json::from_str(&line)
            .unwrap_or_else(|error| panic!("{name}: bad ready line {line:?}: {error}"));
        ScriptServer {
            child,
            ready,
            stdout,
        }
    }
}

/// `node` from PATH, once `package` is installed next to the interop scripts.
pub fn node_with(package: &str) -> PathBuf {
    let installed = interop_dir().join(format!("node_modules/{package}/package.json"));
    assert!(
        installed.exists(),
        "{} not found: the interop tests need {package}; run `bash .ci/run` \
         (or: cd tests/interop && npm ci)",
        installed.display()
    );
    PathBuf::from("node")
}

/// Runs a command with stdin closed and collects its output.
pub fn run(command: &mut std::process::Command) -> std::process::Output {
    command
        .stdin(std::process::Stdio::null())
        .output()
        .expect("i4gauge runs")
}

/// Process output as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The exit code of a process that exited.
pub fn code(output: &std::process::Output) -> i32 {
    output.status.code().expect("exited")
}
