//! The simulated plant: real Modbus TCP and OPC UA servers on loopback (or any
//! address the user binds), described by a [`PlantSpec`].
//!
//! Tests, benchmarks and the demo all run plants through [`start_plant`], which
//! binds every device (port 0 by default, so plants never collide), starts it and
//! returns a [`RunningPlant`] holding the [`Manifest`] and each Modbus device's
//! [`RequestLog`]. Dropping or [`RunningPlant::shutdown`] stops every server.
//!
//! Architecture invariant: the simulator is built on the same protocol servers a
//! real deployment would meet (tokio-modbus, async-opcua), never on mocks.

pub mod manifest;
pub mod modbus;
pub mod opcua;
pub mod spec;

use std::{
    collections::BTreeMap,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::PathBuf,
    sync::Arc,
    time::Duration,
};

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use manifest::{Manifest, ManifestDevice};
pub use modbus::{RecordedRequest, RequestLog};
pub use spec::PlantSpec;

/// How to run a plant.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Address every device binds to.
    pub bind: IpAddr,
    /// First port; devices get consecutive ports in plant order (with
    /// `host_per_device`, every device gets this port). `None`: ephemeral ports.
    pub base_port: Option<u16>,
    /// Delay before every Modbus response.
    pub latency: Duration,
    /// Where the OPC UA servers keep certificates and keys. `None`: a fresh
    /// temporary directory, removed when the plant stops.
    pub pki_dir: Option<PathBuf>,
    /// Give every device its own IPv4 address: `bind`, `bind + 1`, … (all of
    /// 127.0.0.0/8 is loopback on Linux), so a scan sees one host per device as
    /// on a real plant network.
    pub host_per_device: bool,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            base_port: None,
            latency: Duration::ZERO,
            pki_dir: None,
            host_per_device: false,
        }
    }
}

/// Why a plant could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A device's port could not be bound.
    #[error("cannot listen on {address} for {device}: {error}")]
    Bind {
        /// Device name.
        device: String,
        /// Address tried.
        address: SocketAddr,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The PKI directory could not be created.
    #[error("cannot create the PKI directory {path}: {error}")]
    Pki {
        /// Directory.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// An OPC UA server failed to build or start.
    #[error("cannot start OPC UA server {device}: {message}")]
    OpcUa {
        /// Device name.
        device: String,
        /// What async-opcua said.
        message: String,
    },
    /// `--host-per-device` needs an IPv4 address with room above it.
    #[error("--host-per-device needs an IPv4 bind address with {count} addresses above it")]
    AddressRange {
        /// Devices in the plant.
        count: usize,
    },
    /// `--base-port` leaves too few ports for the plant.
    #[error("base port {base} leaves no room for {count} devices")]
    PortRange {
        /// Base port.
        base: u16,
        /// Devices in the plant.
        count: usize,
    },
}

/// A plant whose devices are listening.
pub struct RunningPlant {
    manifest: Manifest,
    logs: BTreeMap<String, Arc<RequestLog>>,
    cancel: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    _opcua_handles: Vec<::opcua::server::ServerHandle>,
    _pki_temp: Option<tempfile::TempDir>,
}

impl RunningPlant {
    /// What runs where.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The request log of the Modbus device named `name`.
    pub fn modbus_log(&self, name: &str) -> Option<&Arc<RequestLog>> {
        self.logs.get(name)
    }

    /// Stops every device and waits until they have let go of their ports.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        for task in self.tasks.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
    }
}

impl Drop for RunningPlant {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Binds and starts every device of `spec`.
pub async fn start_plant(spec: &PlantSpec, options: &SimOptions) -> Result<RunningPlant, SimError> {
    let device_count = spec.modbus.len() + spec.opcua.len();
    let mut ports = (0..device_count).map(|index| match options.base_port {
        None => Ok(0),
        // One address per device: every device can listen on the same port.
        Some(base) if options.host_per_device => Ok(base),
        Some(base) => u16::try_from(index)
            .ok()
            .and_then(|offset| base.checked_add(offset))
            .ok_or(SimError::PortRange {
                base,
                count: device_count,
            }),
    });

    let (pki_dir, pki_temp) = match &options.pki_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|error| SimError::Pki {
                path: dir.clone(),
                error,
            })?;
            (dir.clone(), None)
        }
        None => {
            let temp = tempfile::Builder::new()
                .prefix("i4gauge-sim-pki-")
                .tempdir()
                .map_err(|error| SimError::Pki {
                    path: std::env::temp_dir(),
                    error,
                })?;
            (temp.path().to_owned(), Some(temp))
        }
    };

    let addresses: Vec<IpAddr> = if options.host_per_device {
        let IpAddr::V4(first) = options.bind else {
            return Err(SimError::AddressRange {
                count: device_count,
            });
        };
        (0..device_count as u32)
            .map(|offset| {
                u32::from(first)
                    .checked_add(offset)
                    .map(|a| IpAddr::V4(a.into()))
                    .ok_or(SimError::AddressRange {
                        count: device_count,
                    })
            })
            .collect::<Result<_, _>>()?
    } else {
        vec![options.bind; device_count]
    };
    let mut addresses = addresses.into_iter();

    let cancel = CancellationToken::new();
    let mut devices = Vec::with_capacity(device_count);
    let mut logs = BTreeMap::new();
    let mut tasks = Vec::new();
    let mut opcua_handles = Vec::new();

    for device in &spec.modbus {
        let port = ports.next().expect("one port per device")?;
        let ip = addresses.next().expect("one address per device");
        let listener = bind(&device.name, SocketAddr::new(ip, port)).await?;
        let address = local_address(&device.name, &listener)?;
        let log = Arc::new(RequestLog::default());
        logs.insert(device.name.clone(), log.clone());
        tasks.push(tokio::spawn(modbus::serve(
            listener,
            Arc::new(device.clone()),
            options.latency,
            log,
            cancel.child_token(),
        )));
        devices.push(manifest::modbus_device(device, address));
    }

    for server in &spec.opcua {
        let port = ports.next().expect("one port per device")?;
        let ip = addresses.next().expect("one address per device");
        let listener = bind(&server.name, SocketAddr::new(ip, port)).await?;
        let address = local_address(&server.name, &listener)?;
        let server_pki = pki_dir.join(&server.name);
        let (handle, task) = opcua::start(server, listener, &server_pki, cancel.child_token())
            .await
            .map_err(|message| SimError::OpcUa {
                device: server.name.clone(),
                message,
            })?;
        opcua_handles.push(handle);
        tasks.push(task);
        devices.push(manifest::opcua_server(server, address));
    }

    Ok(RunningPlant {
        manifest: Manifest {
            manifest_version: manifest::MANIFEST_VERSION,
            plant: spec.name.clone(),
            description: spec.description.clone(),
            typical_level: spec.typical_level,
            pki_dir,
            devices,
        },
        logs,
        cancel,
        tasks,
        _opcua_handles: opcua_handles,
        _pki_temp: pki_temp,
    })
}

async fn bind(device: &str, address: SocketAddr) -> Result<TcpListener, SimError> {
    TcpListener::bind(address)
        .await
        .map_err(|error| SimError::Bind {
            device: device.to_owned(),
            address,
            error,
        })
}

fn local_address(device: &str, listener: &TcpListener) -> Result<SocketAddr, SimError> {
    listener.local_addr().map_err(|error| SimError::Bind {
        device: device.to_owned(),
        address: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        error,
    })
}
