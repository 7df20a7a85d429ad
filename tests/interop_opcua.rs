//! OPC UA discovery against servers written by others: asyncua (PyPI, pinned in
//! `tests/interop/requirements.txt`, in `.venv/`) and node-opcua (npm, pinned
//! in `tests/interop/package-lock.json`, in `tests/interop/node_modules/`),
//! both installed by `.ci/run`; and against hostile peers on loopback that
//! answer nonsense, hang up after the OPC UA Hello, or say nothing.
//!
//! Each server test starts a script from `tests/interop/` on 127.0.0.1, reads
//! the ready line in which the server states what it serves (its endpoints as
//! it lists them itself, BuildInfo, NamespaceArray, a user and password), scans
//! it as a user does — `i4gauge discover 127.0.0.1:PORT --opcua-ports PORT
//! --timeout 2s --json -o FILE`, without and with `--opcua-user/--opcua-password`
//! — and checks that discovery reports exactly that. Every server runs in two
//! variants: "open" (SecurityPolicy None with anonymous login, plus
//! Basic256Sha256 Sign and SignAndEncrypt) and `--secure-only` (Basic256Sha256
//! with user name login only), since discovery prefers an anonymous None
//! session whenever one is offered and the credentials matter only without it.
//!
//! The scripts also report every service request and login attempt as event
//! lines, so the tests check what a scan did to the server: read-only services
//! only, a session only where one is allowed, credentials sent only where
//! anonymous access is not offered.
//!
//! A Local Discovery Server (`tests/interop/asyncua_lds.py`, asyncua keeping
//! registered servers) checks that registered servers are followed inside the
//! scope and never contacted outside it.

use std::{
    collections::BTreeSet,
    ffi::OsString,
    net::{IpAddr, Ipv4Addr},
    path::{Path, PathBuf},
    process::Stdio,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chrono::Utc;
use i4gauge::evidence::{Asset, AssetId, Evidence, OpcUaService, Protocol, ScanStatus};
use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

use crate::util::{ScriptServer, binary, interop_dir, python};

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// A scan of one of these servers must take less than this, timeouts included.
const SERVER_SCAN_BOUND: Duration = Duration::from_secs(20);
/// A scan of a hostile peer must take less than this.
const HOSTILE_SCAN_BOUND: Duration = Duration::from_secs(10);
/// The services a discovery scan may call: discovery, one session, reads and
/// browsing. Anything else (Write, Call, subscriptions, node management,
/// history updates, RegisterServer…) is a bug.
const READ_ONLY_SERVICES: &[&str] = &[
    "GetEndpointsRequest",
    "FindServersRequest",
    "CreateSessionRequest",
    "ActivateSessionRequest",
    "CloseSessionRequest",
    "CloseSecureChannelRequest",
    "ReadRequest",
    "BrowseRequest",
    "BrowseNextRequest",
    "TranslateBrowsePathsToNodeIdsRequest",
];

/// `node` from PATH, once node-opcua is installed.
fn node() -> PathBuf {
    crate::util::node_with("node-opcua")
}

/// A third-party OPC UA server this test started; killed when dropped.
struct Server {
    _child: tokio::process::Child,
    /// The ready line: port, mode and what the server serves.
    ready: Value,
    port: u16,
    /// Event lines printed after the ready line (requests, logins).
    events: Arc<Mutex<Vec<Value>>>,
    /// The server's PKI directory, if the test gave it one; removed last.
    _pki: Option<tempfile::TempDir>,
}

/// What one scan found, and what the server saw of it.
struct Scan {
    evidence: Evidence,
    elapsed: Duration,
    /// The server's events during the scan.
    events: Vec<Value>,
}

impl Scan {
    fn host(&self) -> &Asset {
        self.evidence
            .asset(&AssetId::host(LOCALHOST))
            .unwrap_or_else(|| panic!("127.0.0.1 not found: {}", self.evidence.to_json()))
    }

    fn service(&self) -> &OpcUaService {
        let host = self.host();
        assert_eq!(host.opcua.len(), 1, "{:?}", host.opcua);
        &host.opcua[0]
    }

    fn finding_ids(&self) -> BTreeSet<&str> {
        self.service()
            .security_findings
            .iter()
            .map(|f| f.id.as_str())
            .collect()
    }

    /// The service requests the server received, in order.
    fn services(&self) -> Vec<&str> {
        self.events
            .iter()
            .filter(|e| e["event"] == "request")
            .map(|e| e["service"].as_str().unwrap())
            .collect()
    }

    fn count(&self, service: &str) -> usize {
        self.services().iter().filter(|s| **s == service).count()
    }

    fn logins(&self) -> Vec<&Value> {
        self.events
            .iter()
            .filter(|e| e["event"] == "login")
            .collect()
    }

    /// Discovery called read-only services only.
    fn assert_read_only(&self) {
        let services = self.services();
        let other: Vec<&&str> = services
            .iter()
            .filter(|s| !READ_ONLY_SERVICES.contains(s))
            .collect();
        assert!(
            other.is_empty(),
            "discovery called {other:?} (all requests: {services:?})"
        );
    }
}

impl Server {
    async fn start(
        program: &Path,
        script: &str,
        args: &[&str],
        pki: Option<tempfile::TempDir>,
    ) -> Server {
        let mut full_args: Vec<OsString> = args.iter().map(OsString::from).collect();
        if let Some(pki) = &pki {
            full_args.push("--pki".into());
            full_args.push(pki.path().into());
        }
        // node-opcua loads three nodesets and makes its certificate first: seconds.
        let ScriptServer {
            child,
            ready,
            stdout: mut lines,
            ..
        } = ScriptServer::spawn(
            program,
            &interop_dir().join(script),
            &full_args,
            Duration::from_secs(60),
        )
        .await;
        let port = u16::try_from(ready["port"].as_u64().expect("port in the ready line")).unwrap();
        let events = Arc::new(Mutex::new(Vec::new()));
        tokio::spawn({
            let events = events.clone();
            async move {
                while let Ok(Some(line)) = lines.next_line().await {
                    match serde_json::from_str(&line) {
                        Ok(event) => events.lock().unwrap().push(event),
                        // A library's log line on stdout: not an event.
                        Err(_) => eprintln!("server: {line}"),
                    }
                }
            }
        });
        Server {
            _child: child,
            ready,
            port,
            events,
            _pki: pki,
        }
    }

    async fn asyncua(secure_only: bool) -> Server {
        let args: &[&str] = if secure_only { &["--secure-only"] } else { &[] };
        Server::start(&python(), "asyncua_server.py", args, None).await
    }

    async fn node_opcua(secure_only: bool) -> Server {
        let args: &[&str] = if secure_only { &["--secure-only"] } else { &[] };
        let pki = tempfile::Builder::new()
            .prefix("i4gauge-test-node-opcua-pki-")
            .tempdir()
            .unwrap();
        Server::start(&node(), "node_opcua_server.mjs", args, Some(pki)).await
    }

    fn name(&self) -> String {
        format!("{} ({})", self.ready["server"], self.ready["mode"])
    }

    fn text(&self, pointer: &str) -> &str {
        self.ready
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{pointer} not in the ready line {}", self.ready))
    }

    /// The endpoints the server lists: (policy URI, mode, token types).
    fn endpoints(&self) -> BTreeSet<(String, String, BTreeSet<String>)> {
        self.ready["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["security_policy_uri"].as_str().unwrap().to_owned(),
                    e["security_mode"].as_str().unwrap().to_owned(),
                    e["user_token_types"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|t| t.as_str().unwrap().to_owned())
                        .collect(),
                )
            })
            .collect()
    }

    fn namespaces(&self) -> Vec<String> {
        serde_json::from_value(self.ready["namespaces"].clone()).unwrap()
    }

    /// Scans the server as a user does, with the server's user name and
    /// `password` if given; returns the evidence, the time the command took and
    /// the server's events meanwhile.
    async fn scan(&self, password: Option<&str>) -> Scan {
        let events_before = self.events.lock().unwrap().len();
        let (evidence, elapsed) = scan_port(self.port, self.text("/user"), password).await;
        assert!(
            elapsed < SERVER_SCAN_BOUND,
            "scanning {} took {elapsed:?}",
            self.name()
        );
        // The server prints an event as it handles a request: give the last ones a moment.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let events = self.events.lock().unwrap()[events_before..].to_vec();
        eprintln!(
            "{}{}: scanned in {elapsed:?}",
            self.name(),
            if password.is_some() {
                " with credentials"
            } else {
                ""
            }
        );
        Scan {
            evidence,
            elapsed,
            events,
        }
    }
}

/// `i4gauge discover 127.0.0.1:PORT --opcua-ports PORT --timeout 2s --json -o
/// FILE` (with `--opcua-user USER --opcua-password PASSWORD` if a password is
/// given): exit code 0, a complete scan; returns the evidence and the time the
/// command took. A hang fails after 60 s.
async fn scan_port(port: u16, user: &str, password: Option<&str>) -> (Evidence, Duration) {
    let mut login: Vec<OsString> = Vec::new();
    if let Some(password) = password {
        login.extend(["--opcua-user", user, "--opcua-password", password].map(OsString::from));
    }
    scan_port_with(port, &login).await
}

/// [`scan_port`] with these login arguments.
async fn scan_port_with(port: u16, login: &[OsString]) -> (Evidence, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let output_path = dir.path().join("evidence.json");
    let mut command = tokio::process::Command::new(binary());
    command
        .arg("discover")
        .arg(format!("127.0.0.1:{port}"))
        .args(["--opcua-ports", &port.to_string()])
        .args(login);
    let started = Instant::now();
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        command
            .args(["--timeout", "2s", "--json", "-o"])
            .arg(&output_path)
            .current_dir(dir.path())
            .env_remove("RUST_LOG")
            .env_remove("I4GAUGE_OPCUA_PASSWORD")
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .unwrap_or_else(|_| panic!("the scan of 127.0.0.1:{port} hung for 60 s"))
    .unwrap();
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "127.0.0.1:{port}\n{stderr}");
    let summary: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("summary: {error}\n{stderr}"));
    assert_eq!(summary["complete"], true, "{summary}");
    let evidence = Evidence::load(&output_path).unwrap();
    assert_eq!(evidence.runs[0].status, ScanStatus::Complete);
    (evidence, elapsed)
}

/// Endpoints, certificate facts, FindServers and the findings that depend on
/// the variant, as the server lists them.
fn assert_endpoints(server: &Server, scan: &Scan) {
    let service = scan.service();
    let found: BTreeSet<(String, String, BTreeSet<String>)> = service
        .endpoints
        .iter()
        .map(|e| {
            (
                e.security_policy_uri.clone(),
                e.security_mode.clone(),
                e.user_token_types.iter().cloned().collect(),
            )
        })
        .collect();
    assert_eq!(found, server.endpoints(), "{}", server.name());
    assert_eq!(
        service.endpoints.len(),
        server.ready["endpoints"].as_array().unwrap().len()
    );
    assert_eq!(service.port, server.port);

    // The configuration is what the test means to exercise.
    let basic256sha256 = "http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256";
    for mode in ["Sign", "SignAndEncrypt"] {
        assert!(
            found
                .iter()
                .any(|(p, m, t)| p == basic256sha256 && m == mode && t.contains("username")),
            "{}: Basic256Sha256 {mode} with user name login",
            server.name()
        );
    }

    let now = Utc::now();
    let mut thumbprints = BTreeSet::new();
    for endpoint in service
        .endpoints
        .iter()
        .filter(|e| e.security_mode != "None")
    {
        let certificate = endpoint
            .certificate
            .as_ref()
            .unwrap_or_else(|| panic!("no certificate facts for {endpoint:?}"));
        assert!(
            certificate.key_bits.is_some_and(|bits| bits >= 2048),
            "{certificate:?}"
        );
        assert!(
            certificate.not_before <= now && now < certificate.not_after,
            "{certificate:?}"
        );
        assert!(certificate.self_signed, "{certificate:?}");
        assert!(
            certificate
                .signature_algorithm
                .to_lowercase()
                .contains("sha256"),
            "{certificate:?}"
        );
        assert_eq!(certificate.thumbprint.len(), 40, "SHA-1 hex");
        thumbprints.insert(certificate.thumbprint.clone());
    }
    assert_eq!(thumbprints.len(), 1, "one server certificate");

    assert_eq!(service.applications.len(), 1, "{:?}", service.applications);
    let application = &service.applications[0];
    assert_eq!(application.application_uri, server.text("/application_uri"));
    assert_eq!(
        application.product_uri,
        server.text("/build_info/product_uri")
    );

    let findings = scan.finding_ids();
    let offers_none = found.iter().any(|(_, mode, _)| mode == "None");
    let offers_anonymous = found
        .iter()
        .any(|(_, _, tokens)| tokens.contains("anonymous"));
    assert_eq!(
        findings.contains("opcua.security-mode-none"),
        offers_none,
        "{}: {findings:?}",
        server.name()
    );
    assert_eq!(
        findings.contains("opcua.anonymous-access"),
        offers_anonymous,
        "{}: {findings:?}",
        server.name()
    );
    assert!(
        findings.contains("opcua.self-signed-certificate"),
        "{findings:?}"
    );
    for absent in [
        "opcua.deprecated-policy",
        "opcua.short-key",
        "opcua.sha1-signature",
        "opcua.certificate-expired",
        "opcua.certificate-not-yet-valid",
        "opcua.certificate-expiring",
    ] {
        assert!(
            !findings.contains(absent),
            "{}: {findings:?}",
            server.name()
        );
    }
}

/// The session's facts are the server's: state, BuildInfo, NamespaceArray,
/// companion specs.
fn assert_session(server: &Server, scan: &Scan, login: &str) {
    let service = scan.service();
    let session = service.session.as_ref().unwrap_or_else(|| {
        panic!(
            "{}: no session ({login}): {:?}",
            server.name(),
            scan.evidence.diagnostics
        )
    });
    assert_eq!(session.login, login);
    assert_eq!(session.server_state.as_deref(), Some("Running"));
    let build = session.build_info.as_ref().expect("BuildInfo read");
    assert_eq!(
        build.manufacturer_name,
        server.text("/build_info/manufacturer_name")
    );
    assert_eq!(build.product_name, server.text("/build_info/product_name"));
    assert_eq!(build.product_uri, server.text("/build_info/product_uri"));
    assert_eq!(
        build.software_version,
        server.text("/build_info/software_version")
    );
    assert_eq!(build.build_number, server.text("/build_info/build_number"));
    assert_eq!(session.namespaces, server.namespaces());
    assert!(
        session.operation_limits.contains_key("MaxNodesPerRead"),
        "{:?}",
        session.operation_limits
    );

    let names: BTreeSet<&str> = service
        .companion_specs
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert!(
        names.contains("DI") && names.contains("Machinery"),
        "{names:?}"
    );
    for spec in &service.companion_specs {
        assert!(session.namespaces.contains(&spec.namespace_uri), "{spec:?}");
    }
    // The identity of the host comes from BuildInfo.
    let identity = &scan.host().identity;
    assert_eq!(
        identity.vendor.as_deref(),
        Some(server.text("/build_info/manufacturer_name"))
    );
    assert_eq!(
        identity.product.as_deref(),
        Some(server.text("/build_info/product_name"))
    );

    assert_eq!(
        scan.count("CreateSessionRequest"),
        1,
        "{:?}",
        scan.services()
    );
    assert_eq!(
        scan.count("ActivateSessionRequest"),
        1,
        "{:?}",
        scan.services()
    );
    assert_eq!(
        scan.count("CloseSessionRequest"),
        1,
        "the session is closed"
    );
    assert!(scan.count("ReadRequest") >= 1);
    assert!(
        scan.evidence.diagnostics.is_empty(),
        "{}: {:?}",
        server.name(),
        scan.evidence.diagnostics
    );
}

/// An open server (None + anonymous, Basic256Sha256 + user name): read
/// anonymously over None, whether or not credentials are given — and then the
/// credentials are not sent.
async fn open_server_is_read_anonymously(server: Server) -> Vec<Scan> {
    let mut scans = Vec::new();
    for password in [None, Some(server.text("/password").to_owned())] {
        let scan = server.scan(password.as_deref()).await;
        assert_eq!(scan.evidence.assets.len(), 1, "{}", scan.evidence.to_json());
        assert_endpoints(&server, &scan);
        assert_session(&server, &scan, "anonymous");
        let logins = scan.logins();
        assert_eq!(logins.len(), 1, "{logins:?}");
        assert_eq!(
            logins[0]["token"], "anonymous",
            "credentials not sent: {logins:?}"
        );
        scan.assert_read_only();
        scans.push(scan);
    }
    scans
}

/// A secured-only server (Basic256Sha256, user name only): no session at all
/// without credentials, a user name session with them, a diagnostic and no
/// session with a wrong password.
async fn secure_only_server_is_read_with_credentials_only(server: Server) {
    let unauthenticated = server.scan(None).await;
    assert_eq!(unauthenticated.evidence.assets.len(), 1);
    assert_endpoints(&server, &unauthenticated);
    assert!(
        unauthenticated.service().session.is_none(),
        "no anonymous login offered, no credentials: no session"
    );
    assert_eq!(
        unauthenticated.count("CreateSessionRequest")
            + unauthenticated.count("ActivateSessionRequest"),
        0,
        "a session was attempted where none is allowed: {:?}",
        unauthenticated.services()
    );
    assert!(unauthenticated.logins().is_empty());
    unauthenticated.assert_read_only();

    let password = server.text("/password").to_owned();
    let authenticated = server.scan(Some(&password)).await;
    assert_endpoints(&server, &authenticated);
    assert_session(&server, &authenticated, "username");
    let logins = authenticated.logins();
    assert_eq!(logins.len(), 1, "{logins:?}");
    assert_eq!(logins[0]["token"], "username");
    assert_eq!(logins[0]["user"], server.ready["user"]);
    assert_eq!(logins[0]["accepted"], true);
    authenticated.assert_read_only();

    let refused = server.scan(Some("not-the-password")).await;
    assert!(refused.service().session.is_none());
    let logins = refused.logins();
    assert_eq!(logins.len(), 1, "{logins:?}");
    assert_eq!(logins[0]["accepted"], false);
    assert_eq!(refused.count("ReadRequest"), 0, "{:?}", refused.services());
    let target = format!("127.0.0.1:{}", server.port);
    assert!(
        refused
            .evidence
            .diagnostics
            .iter()
            .any(|d| d.target == target && d.protocol == Some(Protocol::Opcua)),
        "a refused login is a diagnostic: {:?}",
        refused.evidence.diagnostics
    );
    refused.assert_read_only();
    eprintln!(
        "{}: wrong password refused, scan took {:?}",
        server.name(),
        refused.elapsed
    );
}

mod asyncua {
    use super::*;

    /// asyncua lists the identity tokens server-wide: anonymous and user name
    /// on every endpoint, the None one included.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_open_server_is_read_anonymously_and_flagged() {
        let server = Server::asyncua(false).await;
        let scans = open_server_is_read_anonymously(server).await;
        for scan in &scans {
            assert!(scan.service().devices.is_empty(), "no DeviceSet, no device");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_secure_only_server_is_read_with_credentials_only() {
        secure_only_server_is_read_with_credentials_only(Server::asyncua(true).await).await;
    }
}

/// Certificate login (X509 user token) against asyncua configured to accept
/// one user certificate besides user names, on secured endpoints only.
mod user_certificate {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_user_certificate_logs_in_in_pem_and_der_and_a_stranger_is_refused() {
        let certificates = tempfile::Builder::new()
            .prefix("i4gauge-test-user-cert-")
            .tempdir()
            .unwrap();
        let dir = certificates.path().to_str().unwrap().to_owned();
        let server = Server::start(
            &python(),
            "asyncua_server.py",
            &["--secure-only", "--user-cert-dir", &dir],
            None,
        )
        .await;
        assert!(
            server
                .endpoints()
                .iter()
                .all(|(_, mode, tokens)| mode != "None"
                    && tokens.contains("certificate")
                    && !tokens.contains("anonymous")),
            "secured endpoints with certificate login only: {:?}",
            server.endpoints()
        );
        let login = |prefix: &str, format: &str| -> Vec<OsString> {
            let path = |what: &str| {
                certificates
                    .path()
                    .join(format!("{prefix}-{what}.{format}"))
            };
            vec![
                "--opcua-user-cert".into(),
                path("cert").into(),
                "--opcua-user-key".into(),
                path("key").into(),
            ]
        };

        for format in ["pem", "der"] {
            let events_before = server.events.lock().unwrap().len();
            let (evidence, elapsed) = scan_port_with(server.port, &login("user", format)).await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            let events = server.events.lock().unwrap()[events_before..].to_vec();
            eprintln!("user certificate ({format}): scanned in {elapsed:?}");
            let scan = Scan {
                evidence,
                elapsed,
                events,
            };
            assert_endpoints(&server, &scan);
            assert_session(&server, &scan, "certificate");
            let logins = scan.logins();
            assert_eq!(logins.len(), 1, "{logins:?}");
            assert_eq!(logins[0]["token"], "certificate", "{logins:?}");
            assert_eq!(logins[0]["accepted"], true, "{logins:?}");
            assert_eq!(logins[0]["user"], "CN=i4gauge interop user", "{logins:?}");
            scan.assert_read_only();
        }

        let events_before = server.events.lock().unwrap().len();
        let (evidence, _) = scan_port_with(server.port, &login("stranger", "pem")).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let events = server.events.lock().unwrap()[events_before..].to_vec();
        let refused = Scan {
            evidence,
            elapsed: Duration::ZERO,
            events,
        };
        assert!(refused.service().session.is_none());
        let logins = refused.logins();
        assert_eq!(logins.len(), 1, "{logins:?}");
        assert_eq!(logins[0]["token"], "certificate");
        assert_eq!(logins[0]["accepted"], false);
        assert_eq!(refused.count("ReadRequest"), 0, "{:?}", refused.services());
        let target = format!("127.0.0.1:{}", server.port);
        assert!(
            refused
                .evidence
                .diagnostics
                .iter()
                .any(|d| d.target == target && d.message.contains("certificate session")),
            "a refused certificate is a diagnostic: {:?}",
            refused.evidence.diagnostics
        );
        refused.assert_read_only();

        // A key that is not the certificate's is refused before anything is sent.
        let output = tokio::process::Command::new(binary())
            .arg("discover")
            .arg(format!("127.0.0.1:{}", server.port))
            .arg("--opcua-user-cert")
            .arg(certificates.path().join("user-cert.pem"))
            .arg("--opcua-user-key")
            .arg(certificates.path().join("stranger-key.der"))
            .arg("-o")
            .arg(certificates.path().join("never.json"))
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("stranger-key.der is not the private key"),
            "{stderr}"
        );
        assert!(!certificates.path().join("never.json").exists());
    }
}

mod node_opcua {
    use super::*;

    /// node-opcua lists user name (encrypted with Basic256Sha256), X509 and
    /// anonymous tokens on every endpoint, and loads the real DI, IA and
    /// Machinery nodesets: DI's `DeviceSet` exists but holds no device.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_open_server_is_read_anonymously_and_flagged() {
        let server = Server::node_opcua(false).await;
        let scans = open_server_is_read_anonymously(server).await;
        for scan in &scans {
            let devices = &scan.service().devices;
            assert!(
                devices.is_empty(),
                "DeviceSet holds only DI's DeviceFeatures object (BaseObjectType, \
                 Organizes), no device: {devices:?}"
            );
        }
    }

    /// With SecurityMode None not offered, node-opcua still answers discovery
    /// over a None channel (its "restricted" endpoint, not listed).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_secure_only_server_is_read_with_credentials_only() {
        secure_only_server_is_read_with_credentials_only(Server::node_opcua(true).await).await;
    }
}

/// A Local Discovery Server (asyncua keeping registered servers, as an LDS
/// does): discovery follows the registered servers inside the scope and
/// records, without contacting them, those outside it.
mod lds {
    use i4gauge::evidence::RegisteredServerStatus;

    use super::*;

    /// Scanning only the LDS port of 127.0.0.1: the asyncua server registered
    /// at `localhost:P` is followed (127.0.0.1 is in scope, port P was not
    /// probed) and read; its second URL `127.0.0.1:P` is the same server,
    /// not probed twice; the server registered at 127.0.0.77 is outside the
    /// scope and nothing connects there, nor to its https URL.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn registered_servers_are_followed_inside_the_scope_only() {
        let registered = Server::asyncua(false).await;
        let outside = TcpListener::bind((Ipv4Addr::new(127, 0, 0, 77), 0))
            .await
            .expect("127.0.0.77 is a loopback address on Linux");
        let outside_port = outside.local_addr().unwrap().port();
        let connections = Arc::new(Mutex::new(0usize));
        let listener = tokio::spawn({
            let connections = connections.clone();
            async move {
                while let Ok((_stream, peer)) = outside.accept().await {
                    eprintln!("127.0.0.77:{outside_port}: connection from {peer}");
                    *connections.lock().unwrap() += 1;
                }
            }
        });
        let in_scope_urls = format!(
            "opc.tcp://localhost:{port}/,opc.tcp://127.0.0.1:{port}/",
            port = registered.port
        );
        let outside_urls =
            format!("opc.tcp://127.0.0.77:{outside_port}/,https://127.0.0.77:{outside_port}/");
        let lds = Server::start(
            &python(),
            "asyncua_lds.py",
            &[
                "--register",
                registered.text("/application_uri"),
                &in_scope_urls,
                "--register",
                "urn:i4gauge:interop:head-office-historian",
                &outside_urls,
            ],
            None,
        )
        .await;
        let events_before = registered.events.lock().unwrap().len();

        let (evidence, elapsed) = scan_port(lds.port, "", None).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        listener.abort();
        eprintln!("LDS and its registered server scanned in {elapsed:?}");
        assert!(elapsed < SERVER_SCAN_BOUND, "{elapsed:?}");
        assert_eq!(
            *connections.lock().unwrap(),
            0,
            "discovery connected to 127.0.0.77, which is outside the scope"
        );

        let host = evidence
            .asset(&AssetId::host(LOCALHOST))
            .unwrap_or_else(|| panic!("127.0.0.1 not found: {}", evidence.to_json()));
        assert_eq!(evidence.assets.len(), 1, "{}", evidence.to_json());
        let ports: Vec<u16> = host.opcua.iter().map(|s| s.port).collect();
        assert_eq!(ports, vec![lds.port, registered.port], "{ports:?}");

        let links: Vec<(&str, RegisteredServerStatus)> = host.opcua[0]
            .registered_servers
            .iter()
            .map(|r| (r.discovery_url.as_str(), r.status))
            .collect();
        let localhost_url = format!("opc.tcp://localhost:{}/", registered.port);
        let loopback_url = format!("opc.tcp://127.0.0.1:{}/", registered.port);
        let far_url = format!("opc.tcp://127.0.0.77:{outside_port}/");
        let https_url = format!("https://127.0.0.77:{outside_port}/");
        assert_eq!(
            links,
            vec![
                (localhost_url.as_str(), RegisteredServerStatus::Followed),
                (loopback_url.as_str(), RegisteredServerStatus::AlreadyProbed),
                (far_url.as_str(), RegisteredServerStatus::OutsideScope),
                (https_url.as_str(), RegisteredServerStatus::UnsupportedUrl),
            ],
            "{:#?}",
            host.opcua[0].registered_servers
        );
        assert!(
            host.opcua[0].registered_servers[0]
                .resolved
                .contains(&LOCALHOST),
            "localhost resolved to 127.0.0.1"
        );

        // The followed server is reported as a scan of it would report it.
        let followed = &host.opcua[1];
        let found: BTreeSet<(String, String, BTreeSet<String>)> = followed
            .endpoints
            .iter()
            .map(|e| {
                (
                    e.security_policy_uri.clone(),
                    e.security_mode.clone(),
                    e.user_token_types.iter().cloned().collect(),
                )
            })
            .collect();
        assert_eq!(found, registered.endpoints());
        let session = followed.session.as_ref().expect("anonymous session");
        assert_eq!(session.namespaces, registered.namespaces());
        assert!(followed.registered_servers.is_empty(), "{followed:?}");
        let services: Vec<String> = registered.events.lock().unwrap()[events_before..]
            .iter()
            .filter(|e| e["event"] == "request")
            .map(|e| e["service"].as_str().unwrap().to_owned())
            .collect();
        assert!(
            services.iter().any(|s| s == "GetEndpointsRequest"),
            "{services:?}"
        );
        assert!(
            evidence.diagnostics.is_empty(),
            "{:?}",
            evidence.diagnostics
        );
    }
}

/// Peers on an OPC UA port that do not speak OPC UA, or stop half-way: no
/// asset, a diagnostic for the port, no hang.
mod hostile {
    use super::*;

    /// What a hostile peer saw: connections and the bytes of each.
    #[derive(Default)]
    struct Seen {
        connections: usize,
        received: Vec<Vec<u8>>,
    }

    enum Behaviour {
        /// Answers every read with bytes that are no OPC UA message.
        Nonsense,
        /// Reads the Hello (HEL) message, then closes the connection.
        CloseAfterHello,
        /// Accepts and never says anything.
        Silent,
    }

    async fn peer(behaviour: Behaviour) -> (u16, Arc<Mutex<Seen>>, tokio::task::JoinHandle<()>) {
        let listener = TcpListener::bind((LOCALHOST, 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let behaviour = Arc::new(behaviour);
        let task = tokio::spawn({
            let seen = seen.clone();
            async move {
                // Every connection is served until the client closes it (or
                // the test ends and aborts the accept loop).
                while let Ok((mut stream, _)) = listener.accept().await {
                    let index = {
                        let mut seen = seen.lock().unwrap();
                        seen.connections += 1;
                        seen.received.push(Vec::new());
                        seen.received.len() - 1
                    };
                    let seen = seen.clone();
                    let behaviour = behaviour.clone();
                    tokio::spawn(async move {
                        let mut buffer = [0u8; 4096];
                        let mut round = 0u8;
                        loop {
                            let n = match stream.read(&mut buffer).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => n,
                            };
                            let received = {
                                let mut seen = seen.lock().unwrap();
                                seen.received[index].extend_from_slice(&buffer[..n]);
                                seen.received[index].clone()
                            };
                            match *behaviour {
                                Behaviour::Nonsense => {
                                    round = round.wrapping_add(1);
                                    let mut reply = b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec();
                                    reply.extend((0..200u8).map(|i| i.wrapping_mul(37) ^ round));
                                    if stream.write_all(&reply).await.is_err() {
                                        return;
                                    }
                                }
                                Behaviour::CloseAfterHello => {
                                    // A whole message: "HEL" + 'F' + u32 LE size.
                                    if received.len() >= 8 {
                                        let size =
                                            u32::from_le_bytes(received[4..8].try_into().unwrap());
                                        if received.len() >= size as usize {
                                            return; // drop: close the connection
                                        }
                                    }
                                }
                                Behaviour::Silent => {}
                            }
                        }
                    });
                }
            }
        });
        (port, seen, task)
    }

    async fn scan_hostile(behaviour: Behaviour, what: &str) -> Arc<Mutex<Seen>> {
        let (port, seen, task) = peer(behaviour).await;
        let (evidence, elapsed) = scan_port(port, "", None).await;
        task.abort();
        eprintln!("hostile peer ({what}): scanned in {elapsed:?}");
        assert!(
            elapsed < HOSTILE_SCAN_BOUND,
            "{what}: the scan took {elapsed:?}"
        );
        assert!(
            evidence.assets.is_empty(),
            "{what}: no asset invented: {}",
            evidence.to_json()
        );
        let target = format!("127.0.0.1:{port}");
        let diagnostics: Vec<_> = evidence
            .diagnostics
            .iter()
            .filter(|d| d.protocol == Some(Protocol::Opcua) && d.message.contains(&target))
            .collect();
        assert!(
            !diagnostics.is_empty(),
            "{what}: a diagnostic for {target}: {:?}",
            evidence.diagnostics
        );
        {
            let seen = seen.lock().unwrap();
            eprintln!(
                "hostile peer ({what}): {} connection(s), {:?} bytes received",
                seen.connections,
                seen.received.iter().map(Vec::len).collect::<Vec<_>>()
            );
            assert!(seen.connections >= 1, "{what}: discovery never connected");
            assert!(
                seen.connections <= 4,
                "{what}: {} connections for one port",
                seen.connections
            );
            for bytes in &seen.received {
                assert!(
                    bytes.is_empty() || bytes.starts_with(b"HELF"),
                    "{what}: discovery opened with {:02x?}, not an OPC UA Hello",
                    &bytes[..bytes.len().min(16)]
                );
            }
        }
        // Last, so that the checks above run whatever happens here.
        assert!(
            diagnostics.iter().all(|d| d.target == target),
            "{what}: the diagnostic's target is the port it concerns ({target}), \
             as for Modbus: {diagnostics:?}"
        );
        seen
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_peer_answering_nonsense_is_no_asset_and_a_diagnostic() {
        scan_hostile(Behaviour::Nonsense, "nonsense").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_peer_closing_after_the_hello_is_no_asset_and_a_diagnostic() {
        let seen = scan_hostile(Behaviour::CloseAfterHello, "close after HEL").await;
        assert!(
            seen.lock()
                .unwrap()
                .received
                .iter()
                .any(|b| b.starts_with(b"HELF")),
            "discovery sent a Hello"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_silent_peer_is_no_asset_and_a_diagnostic() {
        scan_hostile(Behaviour::Silent, "silent").await;
    }
}
