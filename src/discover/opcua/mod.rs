//! OPC UA discovery of one port: FindServers, GetEndpoints with the server
//! certificate's facts, and — only where allowed — one session that reads the
//! server's identity and capabilities in a single batched Read, then closes.
//!
//! [`probe_opcua`] never writes, calls methods or subscribes. Every network step
//! is wrapped in an explicit timeout (async-opcua's own request timeout does not
//! cover connect and handshake). [`security_findings`] and
//! [`CompanionSpecTable`] are pure and turn what was read into evidence.

use std::{net::SocketAddr, path::Path, time::Duration};

use chrono::{DateTime, Utc};
use opcua::{
    client::{ClientBuilder, IdentityToken},
    crypto::SecurityPolicy,
    types::{
        ApplicationType, AttributeId, DataValue, EndpointDescription, MessageSecurityMode,
        ReadValueId, TimestampsToReturn, UserTokenType, VariableId, Variant,
    },
};
use serde::Deserialize;

pub mod browse;
pub mod hello;

use super::modbus::identify::PortDiagnostic;
use crate::evidence::{
    AddressSpaceSummary, CertificateFacts, CompanionSpec, DiagnosticKind, OpcUaApplication,
    OpcUaBuildInfo, OpcUaDevice, OpcUaEndpoint, OpcUaService, OpcUaSessionFacts, SecurityFinding,
    Severity,
};

const COMPANION_SPECS_TOML: &str = include_str!("../../../data/opcua-companion-specs.toml");

/// Credentials for a session when anonymous login is not offered.
#[derive(Debug, Clone)]
pub struct OpcUaCredentials {
    /// User name.
    pub user: String,
    /// Password.
    pub password: String,
}

/// A user's X.509 certificate and private key for certificate login (the
/// X509IdentityToken), loaded by [`UserCertificate::load`].
#[derive(Debug, Clone)]
pub struct UserCertificate {
    certificate: opcua::crypto::X509,
    key: opcua::crypto::PrivateKey,
    /// The certificate's subject, for messages.
    pub subject: String,
}

impl UserCertificate {
    /// Reads a certificate (DER or PEM) and its RSA private key (PEM, or DER:
    /// PKCS#8 or PKCS#1) and checks that they belong together. The error
    /// names the file at fault.
    pub fn load(certificate: &Path, key: &Path) -> Result<UserCertificate, String> {
        use x509_cert::der::{Decode, DecodePem, Encode};

        let read = |path: &Path| {
            std::fs::read(path).map_err(|error| format!("{}: {error}", path.display()))
        };
        let is_pem = |bytes: &[u8]| {
            String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]).contains("-----BEGIN")
        };
        let certificate_bytes = read(certificate)?;
        let parsed = if is_pem(&certificate_bytes) {
            x509_cert::Certificate::from_pem(&certificate_bytes).map_err(|e| e.to_string())
        } else {
            x509_cert::Certificate::from_der(&certificate_bytes).map_err(|e| e.to_string())
        }
        .map_err(|error| {
            format!(
                "{}: not an X.509 certificate (DER or PEM): {error}",
                certificate.display()
            )
        })?;
        let certificate_der = parsed.to_der().map_err(|e| e.to_string())?;
        let x509 = opcua::crypto::X509::from_der(&certificate_der)
            .map_err(|error| format!("{}: {error}", certificate.display()))?;

        let key_bytes = read(key)?;
        let pem_forms: Vec<Vec<u8>> = if is_pem(&key_bytes) {
            vec![key_bytes]
        } else {
            ["PRIVATE KEY", "RSA PRIVATE KEY"]
                .iter()
                .filter_map(|label| {
                    x509_cert::der::pem::encode_string(
                        label,
                        x509_cert::der::pem::LineEnding::LF,
                        &key_bytes,
                    )
                    .ok()
                })
                .map(String::into_bytes)
                .collect()
        };
        let private_key = pem_forms
            .iter()
            .find_map(|pem| opcua::crypto::PrivateKey::from_pem(pem).ok())
            .ok_or_else(|| {
                format!(
                    "{}: not an RSA private key (PEM, or DER in PKCS#8 or PKCS#1; unencrypted)",
                    key.display()
                )
            })?;
        let key_info = private_key
            .public_key_to_info()
            .ok()
            .and_then(|info| info.to_der().ok());
        let certificate_info = parsed.tbs_certificate.subject_public_key_info.to_der().ok();
        if key_info.is_none() || key_info != certificate_info {
            return Err(format!(
                "{} is not the private key of the certificate {}",
                key.display(),
                certificate.display()
            ));
        }
        Ok(UserCertificate {
            certificate: x509,
            key: private_key,
            subject: parsed.tbs_certificate.subject.to_string(),
        })
    }

    fn token(&self) -> IdentityToken {
        IdentityToken::new_x509(self.certificate.clone(), self.key.clone())
    }
}

/// How to probe OPC UA ports.
#[derive(Debug, Clone)]
pub struct OpcUaProbeConfig {
    /// Timeout of each step (connect, request, session activation).
    pub timeout: Duration,
    /// Credentials, if the user gave them.
    pub credentials: Option<OpcUaCredentials>,
    /// A user certificate for certificate login, if the user gave one.
    pub user_certificate: Option<UserCertificate>,
    /// Browse the address space (in a session) within these limits.
    pub browse: Option<browse::BrowseLimits>,
    /// Where the client's certificate and key live; `None`: a temporary directory.
    pub pki_dir: Option<std::path::PathBuf>,
}

/// The companion specifications known by namespace URI (`data/opcua-companion-specs.toml`).
#[derive(Debug, Clone, Deserialize)]
pub struct CompanionSpecTable {
    #[serde(rename = "spec")]
    specs: Vec<CompanionSpecEntry>,
}

#[derive(Debug, Clone, Deserialize)]
struct CompanionSpecEntry {
    uri: String,
    name: String,
    #[allow(
        dead_code,
        reason = "documentation in the data file, shown by reports later"
    )]
    scope: String,
}

fn normalize_uri(uri: &str) -> String {
    uri.trim().trim_end_matches('/').to_lowercase()
}

impl CompanionSpecTable {
    /// The built-in table.
    pub fn builtin() -> CompanionSpecTable {
        toml::from_str(COMPANION_SPECS_TOML).expect("the companion spec table is valid (tested)")
    }

    /// The spec name of a namespace URI, if it is a companion spec.
    pub fn name_of(&self, namespace: &str) -> Option<&str> {
        let key = normalize_uri(namespace);
        self.specs
            .iter()
            .find(|spec| normalize_uri(&spec.uri) == key)
            .map(|spec| spec.name.as_str())
    }

    /// The companion specs among `namespaces`, in NamespaceArray order.
    pub fn recognise(&self, namespaces: &[String]) -> Vec<CompanionSpec> {
        namespaces
            .iter()
            .filter_map(|namespace| {
                let key = normalize_uri(namespace);
                self.specs
                    .iter()
                    .find(|spec| normalize_uri(&spec.uri) == key)
                    .map(|spec| CompanionSpec {
                        namespace_uri: namespace.clone(),
                        name: spec.name.clone(),
                    })
            })
            .collect()
    }
}

/// What a probe of one OPC UA port produced.
#[derive(Debug, Clone)]
pub struct OpcUaFindings {
    /// The port probed.
    pub port: u16,
    /// The service, if the port speaks OPC UA.
    pub service: Option<OpcUaService>,
    /// Problems met.
    pub diagnostics: Vec<PortDiagnostic>,
    /// Discovery URLs of other servers FindServers reported (a Local Discovery
    /// Server's registered servers): the scan decides which to follow.
    pub registered: Vec<RegisteredLink>,
}

/// One discovery URL of another server that FindServers reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredLink {
    /// ApplicationUri of that server.
    pub application_uri: String,
    /// ApplicationName text.
    pub application_name: String,
    /// The discovery URL as reported.
    pub discovery_url: String,
}

/// The host and port of an `opc.tcp://HOST[:PORT][/PATH]` URL (port 4840 if
/// not written; IPv6 hosts bracketed); `None` for anything else.
pub fn opc_tcp_host_port(url: &str) -> Option<(String, u16)> {
    let url = url.trim();
    let scheme = "opc.tcp://";
    if url.len() < scheme.len() || !url[..scheme.len()].eq_ignore_ascii_case(scheme) {
        return None;
    }
    let authority = url[scheme.len()..].split(['/', '?', '#']).next()?;
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']')?;
        host.parse::<std::net::Ipv6Addr>().ok()?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(port) => port.parse::<u16>().ok().filter(|p| *p > 0)?,
        None => 4840,
    };
    let host = host.trim_end_matches('.');
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'))
    {
        return None;
    }
    Some((host.to_ascii_lowercase(), port))
}

/// The discovery URLs of the servers in a FindServers answer other than the
/// one probed at `address` (known by the ApplicationUris in `own_uris`, or by
/// a discovery URL naming `address` itself), in answer order, without repeats.
/// Clients are not servers and are left out.
pub fn registered_links(
    applications: &[OpcUaApplication],
    own_uris: &[&str],
    address: SocketAddr,
) -> Vec<RegisteredLink> {
    let names_self = |url: &str| {
        opc_tcp_host_port(url).is_some_and(|(host, port)| {
            port == address.port() && host.parse::<std::net::IpAddr>().ok() == Some(address.ip())
        })
    };
    let mut links: Vec<RegisteredLink> = Vec::new();
    for application in applications {
        if application.application_type == "client"
            || own_uris.contains(&application.application_uri.as_str())
            || application.discovery_urls.iter().any(|u| names_self(u))
        {
            continue;
        }
        for url in &application.discovery_urls {
            if links.iter().all(|l| &l.discovery_url != url) {
                links.push(RegisteredLink {
                    application_uri: application.application_uri.clone(),
                    application_name: application.application_name.clone(),
                    discovery_url: url.clone(),
                });
            }
        }
    }
    links
}

fn diagnostic(kind: DiagnosticKind, message: String) -> PortDiagnostic {
    PortDiagnostic {
        kind,
        message,
        raw_hex: None,
    }
}

/// The name of a message security mode as OPC UA writes it (`SignAndEncrypt`).
pub fn mode_name(mode: MessageSecurityMode) -> &'static str {
    match mode {
        MessageSecurityMode::None => "None",
        MessageSecurityMode::Sign => "Sign",
        MessageSecurityMode::SignAndEncrypt => "SignAndEncrypt",
        MessageSecurityMode::Invalid => "Invalid",
    }
}

fn token_name(token: UserTokenType) -> &'static str {
    match token {
        UserTokenType::Anonymous => "anonymous",
        UserTokenType::UserName => "username",
        UserTokenType::Certificate => "certificate",
        UserTokenType::IssuedToken => "issued-token",
    }
}

fn application_type_name(application_type: ApplicationType) -> &'static str {
    match application_type {
        ApplicationType::Server => "server",
        ApplicationType::Client => "client",
        ApplicationType::ClientAndServer => "client-and-server",
        ApplicationType::DiscoveryServer => "discovery-server",
    }
}

/// Facts about a DER certificate; `None` if it does not parse.
pub fn certificate_facts(der: &[u8]) -> Option<CertificateFacts> {
    use sha1::Digest;
    use x509_cert::der::Decode;

    let certificate = x509_cert::Certificate::from_der(der).ok()?;
    let tbs = &certificate.tbs_certificate;
    let subject = tbs.subject.to_string();
    let issuer = tbs.issuer.to_string();
    let signature_oid = certificate.signature_algorithm.oid;
    let signature_algorithm = const_oid::db::DB
        .by_oid(&signature_oid)
        .map(str::to_owned)
        .unwrap_or_else(|| signature_oid.to_string());
    let not_before: DateTime<Utc> = tbs.validity.not_before.to_system_time().into();
    let not_after: DateTime<Utc> = tbs.validity.not_after.to_system_time().into();
    let key_bits = opcua::crypto::X509::from_der(der)
        .ok()
        .and_then(|x509| x509.key_length().ok())
        .map(|bits| u32::try_from(bits).unwrap_or(u32::MAX));
    let thumbprint = sha1::Sha1::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Some(CertificateFacts {
        self_signed: subject == issuer,
        subject,
        issuer,
        not_before,
        not_after,
        key_bits,
        signature_algorithm,
        thumbprint,
    })
}

/// The security findings of an OPC UA service, judged at `now`.
pub fn security_findings(endpoints: &[OpcUaEndpoint], now: DateTime<Utc>) -> Vec<SecurityFinding> {
    let mut findings = Vec::new();
    let none_endpoints: Vec<&OpcUaEndpoint> = endpoints
        .iter()
        .filter(|e| e.security_mode == "None")
        .collect();
    let anonymous_on_none = none_endpoints
        .iter()
        .any(|e| e.user_token_types.iter().any(|t| t == "anonymous"));
    if !none_endpoints.is_empty() {
        findings.push(SecurityFinding {
            id: "opcua.security-mode-none".to_owned(),
            severity: if anonymous_on_none {
                Severity::High
            } else {
                Severity::Medium
            },
            detail: format!(
                "{} endpoint(s) offer SecurityMode None: traffic is neither signed nor encrypted",
                none_endpoints.len()
            ),
        });
    }
    if endpoints
        .iter()
        .any(|e| e.user_token_types.iter().any(|t| t == "anonymous"))
    {
        findings.push(SecurityFinding {
            id: "opcua.anonymous-access".to_owned(),
            severity: if anonymous_on_none {
                Severity::High
            } else {
                Severity::Medium
            },
            detail: if anonymous_on_none {
                "anonymous login is accepted without any message security".to_owned()
            } else {
                "anonymous login is accepted".to_owned()
            },
        });
    }
    let mut deprecated: Vec<&str> = endpoints
        .iter()
        .filter_map(|e| e.security_policy_uri.rsplit('#').next())
        .filter(|policy| matches!(*policy, "Basic128Rsa15" | "Basic256"))
        .collect();
    deprecated.sort_unstable();
    deprecated.dedup();
    if !deprecated.is_empty() {
        findings.push(SecurityFinding {
            id: "opcua.deprecated-policy".to_owned(),
            severity: Severity::Medium,
            detail: format!(
                "deprecated security policies offered: {}",
                deprecated.join(", ")
            ),
        });
    }

    let mut certificates: Vec<&CertificateFacts> = endpoints
        .iter()
        .filter_map(|e| e.certificate.as_ref())
        .collect();
    certificates.sort_by(|a, b| a.thumbprint.cmp(&b.thumbprint));
    certificates.dedup_by(|a, b| a.thumbprint == b.thumbprint);
    for certificate in certificates {
        let subject = &certificate.subject;
        if certificate
            .signature_algorithm
            .to_lowercase()
            .contains("sha1")
        {
            findings.push(SecurityFinding {
                id: "opcua.sha1-signature".to_owned(),
                severity: Severity::Medium,
                detail: format!(
                    "certificate {subject} is signed with {}",
                    certificate.signature_algorithm
                ),
            });
        }
        if certificate.not_after < now {
            findings.push(SecurityFinding {
                id: "opcua.certificate-expired".to_owned(),
                severity: Severity::High,
                detail: format!(
                    "certificate {subject} expired on {}",
                    certificate.not_after.date_naive()
                ),
            });
        } else if certificate.not_before > now {
            findings.push(SecurityFinding {
                id: "opcua.certificate-not-yet-valid".to_owned(),
                severity: Severity::Medium,
                detail: format!(
                    "certificate {subject} is valid only from {}",
                    certificate.not_before.date_naive()
                ),
            });
        } else if certificate.not_after - now < chrono::Duration::days(30) {
            findings.push(SecurityFinding {
                id: "opcua.certificate-expiring".to_owned(),
                severity: Severity::Low,
                detail: format!(
                    "certificate {subject} expires in {} day(s)",
                    (certificate.not_after - now).num_days()
                ),
            });
        }
        if certificate.self_signed {
            findings.push(SecurityFinding {
                id: "opcua.self-signed-certificate".to_owned(),
                severity: Severity::Low,
                detail: format!("certificate {subject} is self-signed (no CA-managed trust)"),
            });
        }
        if let Some(bits) = certificate.key_bits
            && bits < 2048
        {
            findings.push(SecurityFinding {
                id: "opcua.short-key".to_owned(),
                severity: Severity::High,
                detail: format!("certificate {subject} has a {bits}-bit key (below 2048)"),
            });
        }
    }
    findings
}

fn endpoint_facts(endpoint: &EndpointDescription) -> OpcUaEndpoint {
    let certificate = if endpoint.server_certificate.is_null() {
        None
    } else {
        certificate_facts(endpoint.server_certificate.as_ref())
    };
    OpcUaEndpoint {
        url: endpoint.endpoint_url.as_ref().to_owned(),
        security_policy_uri: endpoint.security_policy_uri.as_ref().to_owned(),
        security_mode: mode_name(endpoint.security_mode).to_owned(),
        user_token_types: endpoint
            .user_identity_tokens
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|token| token_name(token.token_type).to_owned())
            .collect(),
        security_level: endpoint.security_level,
        certificate,
    }
}

/// Probes the OPC UA server at `address`. `pki_dir` holds the client's own
/// certificate (created on first use), never the current directory.
pub async fn probe_opcua(
    address: SocketAddr,
    config: &OpcUaProbeConfig,
    pki_dir: &Path,
    companion_specs: &CompanionSpecTable,
) -> OpcUaFindings {
    let mut diagnostics = Vec::new();
    let url = format!("opc.tcp://{address}/");
    // A raw Hello first: a port that is not OPC UA (or refuses us) is told
    // apart in one round trip, with the bytes it sent, before the client
    // library (which can wait out its whole timeout on garbage) is involved.
    if let Err(problem) = hello::check(address, &url, config.timeout).await {
        diagnostics.push(problem);
        return OpcUaFindings {
            port: address.port(),
            service: None,
            diagnostics,
            registered: Vec::new(),
        };
    }
    let client = match client_builder(pki_dir, config.timeout).client() {
        Ok(client) => client,
        Err(errors) => {
            diagnostics.push(diagnostic(
                DiagnosticKind::Other,
                format!(
                    "{address}: cannot set up the OPC UA client: {}",
                    errors.join("; ")
                ),
            ));
            return OpcUaFindings {
                port: address.port(),
                service: None,
                diagnostics,
                registered: Vec::new(),
            };
        }
    };

    let endpoints = match tokio::time::timeout(
        config.timeout,
        client.get_server_endpoints_from_url(url.as_str()),
    )
    .await
    {
        Ok(Ok(endpoints)) => endpoints,
        Ok(Err(error)) => {
            diagnostics.push(diagnostic(
                DiagnosticKind::Refused,
                format!("{address}: GetEndpoints failed: {error}"),
            ));
            return OpcUaFindings {
                port: address.port(),
                service: None,
                diagnostics,
                registered: Vec::new(),
            };
        }
        Err(_) => {
            diagnostics.push(diagnostic(
                DiagnosticKind::Timeout,
                format!(
                    "{address}: no OPC UA answer to GetEndpoints within {:?}",
                    config.timeout
                ),
            ));
            return OpcUaFindings {
                port: address.port(),
                service: None,
                diagnostics,
                registered: Vec::new(),
            };
        }
    };

    let applications = match tokio::time::timeout(
        config.timeout,
        client.find_servers(url.as_str(), None, None),
    )
    .await
    {
        Ok(Ok(applications)) => applications
            .iter()
            .map(|application| OpcUaApplication {
                application_uri: application.application_uri.as_ref().to_owned(),
                product_uri: application.product_uri.as_ref().to_owned(),
                application_name: application.application_name.text.as_ref().to_owned(),
                application_type: application_type_name(application.application_type).to_owned(),
                discovery_urls: application
                    .discovery_urls
                    .as_deref()
                    .unwrap_or_default()
                    .iter()
                    .map(|u| u.as_ref().to_owned())
                    .collect(),
            })
            .collect(),
        Ok(Err(error)) => {
            diagnostics.push(diagnostic(
                DiagnosticKind::Other,
                format!("{address}: FindServers failed: {error}"),
            ));
            Vec::new()
        }
        Err(_) => {
            diagnostics.push(diagnostic(
                DiagnosticKind::Timeout,
                format!("{address}: FindServers timed out"),
            ));
            Vec::new()
        }
    };

    let own_uris: Vec<&str> = endpoints
        .iter()
        .map(|e| e.server.application_uri.as_ref())
        .collect();
    let registered = registered_links(&applications, &own_uris, address);
    let endpoint_facts: Vec<OpcUaEndpoint> = endpoints.iter().map(endpoint_facts).collect();
    let security_findings = security_findings(&endpoint_facts, Utc::now());
    let read = read_session_facts(client, &url, &endpoints, config, &mut diagnostics).await;
    let (session, devices, mut address_space) = match read {
        Some((facts, devices, summary)) => (Some(facts), devices, summary),
        None => (None, Vec::new(), None),
    };
    let companion = session
        .as_ref()
        .map(|facts| companion_specs.recognise(&facts.namespaces))
        .unwrap_or_default();
    if let Some(summary) = &mut address_space {
        for (type_name, count) in &summary.object_types {
            let namespace = type_name.split('#').next().unwrap_or_default();
            if let Some(spec) = companion_specs.name_of(namespace) {
                *summary
                    .companion_instances
                    .entry(spec.to_owned())
                    .or_default() += count;
            }
        }
    }

    OpcUaFindings {
        port: address.port(),
        service: Some(OpcUaService {
            port: address.port(),
            discovery_url: url,
            applications,
            endpoints: endpoint_facts,
            session,
            companion_specs: companion,
            address_space,
            devices,
            security_findings,
            registered_servers: Vec::new(),
        }),
        diagnostics,
        registered,
    }
}

/// What one session learned: the facts, DI devices, and the browse summary.
type SessionRead = (
    OpcUaSessionFacts,
    Vec<OpcUaDevice>,
    Option<AddressSpaceSummary>,
);

/// Opens a session only where allowed (anonymous over SecurityPolicy None, or
/// the user's certificate or else credentials over the most secure endpoint
/// taking that token),
/// reads identity and capabilities in one batch, the DI devices and (if asked)
/// browses, then closes the session.
async fn read_session_facts(
    mut client: opcua::client::Client,
    url: &str,
    endpoints: &[EndpointDescription],
    config: &OpcUaProbeConfig,
    diagnostics: &mut Vec<PortDiagnostic>,
) -> Option<SessionRead> {
    let offers = |endpoint: &EndpointDescription, token: UserTokenType| {
        endpoint
            .user_identity_tokens
            .as_deref()
            .unwrap_or_default()
            .iter()
            .any(|t| t.token_type == token)
    };
    let anonymous = endpoints.iter().find(|e| {
        e.security_mode == MessageSecurityMode::None && offers(e, UserTokenType::Anonymous)
    });
    // The most secure endpoint that takes a token type.
    let best = |token: UserTokenType| {
        endpoints
            .iter()
            .filter(|e| offers(e, token))
            .max_by_key(|e| e.security_level)
    };
    // Anonymous over None first (nothing of the user's is sent), then the
    // user's certificate, then the user name: the first the server offers.
    let certificate = config
        .user_certificate
        .as_ref()
        .and_then(|c| Some((best(UserTokenType::Certificate)?, c)));
    let username = config
        .credentials
        .as_ref()
        .and_then(|c| Some((best(UserTokenType::UserName)?, c)));
    let (endpoint, identity, login) = match (anonymous, certificate, username) {
        (Some(endpoint), _, _) => (endpoint, IdentityToken::Anonymous, "anonymous"),
        (None, Some((endpoint, certificate)), _) => (endpoint, certificate.token(), "certificate"),
        (None, None, Some((endpoint, credentials))) => (
            endpoint,
            IdentityToken::UserName(
                credentials.user.clone(),
                credentials.password.clone().into(),
            ),
            "username",
        ),
        (None, None, None) => return None,
    };
    let policy = SecurityPolicy::from_uri(endpoint.security_policy_uri.as_ref());
    let target = (url, policy.to_str(), endpoint.security_mode);
    let connected = tokio::time::timeout(
        config.timeout,
        client.connect_to_matching_endpoint(target, identity),
    )
    .await;
    let (session, event_loop) = match connected {
        Ok(Ok(pair)) => pair,
        Ok(Err(error)) => {
            diagnostics.push(diagnostic(
                DiagnosticKind::Refused,
                format!("{url}: no session ({login}): {error}"),
            ));
            return None;
        }
        Err(_) => {
            diagnostics.push(diagnostic(
                DiagnosticKind::Timeout,
                format!("{url}: session setup timed out"),
            ));
            return None;
        }
    };
    let mut event_loop = event_loop.spawn();
    // The event loop ends with the server's status code when it refuses the
    // session (a wrong password, BadTooManySessions): no need to wait it out.
    let refused = tokio::select! {
        connected = tokio::time::timeout(config.timeout * 2, session.wait_for_connection()) => {
            match connected {
                Ok(true) => None,
                Ok(false) => Some("the connection ended".to_owned()),
                Err(_) => Some(format!("no activation within {:?}", config.timeout * 2)),
            }
        }
        ended = &mut event_loop => Some(match ended {
            Ok(status) => status.to_string(),
            Err(_) => "the client stopped".to_owned(),
        }),
    };
    if let Some(reason) = refused {
        let article = if login.starts_with('a') { "an" } else { "a" };
        diagnostics.push(diagnostic(
            DiagnosticKind::Refused,
            format!("{url}: the server did not activate {article} {login} session: {reason}"),
        ));
        event_loop.abort();
        return None;
    }

    let mut nodes = SESSION_READS
        .iter()
        .map(|(_, node)| ReadValueId {
            node_id: (*node).into(),
            attribute_id: AttributeId::Value as u32,
            ..Default::default()
        })
        .collect::<Vec<_>>();
    // The Server object's EventNotifier, in the same batch: whether events can
    // be subscribed to (alarms & conditions come as events) and read from history.
    nodes.push(ReadValueId {
        node_id: opcua::types::ObjectId::Server.into(),
        attribute_id: AttributeId::EventNotifier as u32,
        ..Default::default()
    });
    let values = tokio::time::timeout(
        config.timeout,
        session.read(&nodes, TimestampsToReturn::Neither, 0.0),
    )
    .await;
    let facts = match values {
        Ok(Ok(values)) => Some(session_facts(login, &values)),
        Ok(Err(error)) => {
            diagnostics.push(diagnostic(
                DiagnosticKind::Other,
                format!("{url}: Read failed: {error}"),
            ));
            None
        }
        Err(_) => {
            diagnostics.push(diagnostic(
                DiagnosticKind::Timeout,
                format!("{url}: Read timed out"),
            ));
            None
        }
    };
    let mut result = None;
    if let Some(facts) = facts {
        let devices = read_di_devices(&session, &facts, config.timeout).await;
        let summary = match config.browse {
            Some(limits) => {
                let max_per_browse = facts.operation_limits.get("MaxNodesPerBrowse").copied();
                let (summary, problems) =
                    browse::summarize(&session, &facts.namespaces, max_per_browse, limits).await;
                for problem in problems {
                    diagnostics.push(diagnostic(
                        DiagnosticKind::Other,
                        format!("{url}: {problem}"),
                    ));
                }
                Some(summary)
            }
            None => None,
        };
        result = Some((facts, devices, summary));
    }
    // Always close the session.
    let _ = tokio::time::timeout(config.timeout, session.disconnect()).await;
    event_loop.abort();
    result
}

/// DI identification properties read for each device under `DeviceSet`.
const DI_PROPERTIES: [&str; 6] = [
    "Manufacturer",
    "Model",
    "SerialNumber",
    "SoftwareRevision",
    "HardwareRevision",
    "ProductCode",
];

/// Reads the identification of the devices under DI `DeviceSet` (ns=DI;i=5001):
/// one Browse of the device set, one Browse of the devices' properties, one
/// Read of their values (each batch within the server's operation limits).
async fn read_di_devices(
    session: &opcua::client::Session,
    facts: &OpcUaSessionFacts,
    timeout: Duration,
) -> Vec<OpcUaDevice> {
    use opcua::types::{BrowseDescription, BrowseDirection, NodeId, ReferenceTypeId};

    let Some(di) = facts
        .namespaces
        .iter()
        .position(|n| normalize_uri(n) == normalize_uri(super::super::sim::opcua::DI_NAMESPACE))
    else {
        return Vec::new();
    };
    let Ok(di) = u16::try_from(di) else {
        return Vec::new();
    };
    let browse = |nodes: Vec<NodeId>, reference: ReferenceTypeId| {
        nodes
            .into_iter()
            .map(|node_id| BrowseDescription {
                node_id,
                browse_direction: BrowseDirection::Forward,
                reference_type_id: reference.into(),
                include_subtypes: true,
                node_class_mask: 0,
                result_mask: 0x3F,
            })
            .collect::<Vec<_>>()
    };
    let device_set = browse(
        vec![NodeId::new(di, 5001)],
        ReferenceTypeId::HierarchicalReferences,
    );
    let Ok(Ok(results)) =
        tokio::time::timeout(timeout, session.browse(&device_set, 1000, None)).await
    else {
        return Vec::new();
    };
    let devices: Vec<(String, NodeId)> = results
        .into_iter()
        .flat_map(|r| r.references.unwrap_or_default())
        // Devices are instances of DI or vendor types; standard-typed objects
        // under DeviceSet (DI's own DeviceFeatures folder) are not devices.
        .filter(|r| {
            r.node_class == opcua::types::NodeClass::Object
                && r.type_definition.node_id.namespace != 0
        })
        .map(|r| (r.browse_name.name.as_ref().to_owned(), r.node_id.node_id))
        .take(256)
        .collect();
    if devices.is_empty() {
        return Vec::new();
    }
    let limit = facts
        .operation_limits
        .get("MaxNodesPerBrowse")
        .map_or(1000, |n| *n as usize)
        .max(1);
    let mut properties: Vec<(usize, &'static str, NodeId)> = Vec::new();
    for (chunk_index, chunk) in devices.chunks(limit).enumerate() {
        let request = browse(
            chunk.iter().map(|(_, id)| id.clone()).collect(),
            ReferenceTypeId::HierarchicalReferences,
        );
        let Ok(Ok(results)) =
            tokio::time::timeout(timeout, session.browse(&request, 1000, None)).await
        else {
            break;
        };
        for (offset, result) in results.into_iter().enumerate() {
            for reference in result.references.unwrap_or_default() {
                let name = reference.browse_name.name.as_ref();
                if let Some(property) = DI_PROPERTIES.iter().find(|p| **p == name) {
                    properties.push((
                        chunk_index * limit + offset,
                        property,
                        reference.node_id.node_id,
                    ));
                }
            }
        }
    }
    let mut found: Vec<OpcUaDevice> = devices
        .iter()
        .map(|(name, _)| OpcUaDevice {
            name: name.clone(),
            ..OpcUaDevice::default()
        })
        .collect();
    let read_limit = facts
        .operation_limits
        .get("MaxNodesPerRead")
        .map_or(1000, |n| *n as usize)
        .max(1);
    for chunk in properties.chunks(read_limit) {
        let nodes: Vec<ReadValueId> = chunk
            .iter()
            .map(|(_, _, node)| ReadValueId {
                node_id: node.clone(),
                attribute_id: AttributeId::Value as u32,
                ..Default::default()
            })
            .collect();
        let Ok(Ok(values)) = tokio::time::timeout(
            timeout,
            session.read(&nodes, TimestampsToReturn::Neither, 0.0),
        )
        .await
        else {
            break;
        };
        for ((device, property, _), value) in chunk.iter().zip(values) {
            let Some(text) = text_of(&value) else {
                continue;
            };
            let device = &mut found[*device];
            let field = match *property {
                "Manufacturer" => &mut device.manufacturer,
                "Model" => &mut device.model,
                "SerialNumber" => &mut device.serial_number,
                "SoftwareRevision" => &mut device.software_revision,
                "HardwareRevision" => &mut device.hardware_revision,
                _ => &mut device.product_code,
            };
            *field = Some(text);
        }
    }
    // Browse order is the server's; the evidence is ordered by name.
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

/// The values read in a session, in this order.
const SESSION_READS: &[(&str, VariableId)] = &[
    ("ServerState", VariableId::Server_ServerStatus_State),
    ("StartTime", VariableId::Server_ServerStatus_StartTime),
    ("CurrentTime", VariableId::Server_ServerStatus_CurrentTime),
    ("BuildDate", VariableId::Server_ServerStatus_BuildInfo_BuildDate),
    ("ManufacturerName", VariableId::Server_ServerStatus_BuildInfo_ManufacturerName),
    ("ProductName", VariableId::Server_ServerStatus_BuildInfo_ProductName),
    ("ProductUri", VariableId::Server_ServerStatus_BuildInfo_ProductUri),
    ("SoftwareVersion", VariableId::Server_ServerStatus_BuildInfo_SoftwareVersion),
    ("BuildNumber", VariableId::Server_ServerStatus_BuildInfo_BuildNumber),
    ("NamespaceArray", VariableId::Server_NamespaceArray),
    ("ServerProfileArray", VariableId::Server_ServerCapabilities_ServerProfileArray),
    ("MaxNodesPerRead", VariableId::Server_ServerCapabilities_OperationLimits_MaxNodesPerRead),
    ("MaxNodesPerBrowse", VariableId::Server_ServerCapabilities_OperationLimits_MaxNodesPerBrowse),
    ("MaxNodesPerWrite", VariableId::Server_ServerCapabilities_OperationLimits_MaxNodesPerWrite),
    ("MaxNodesPerMethodCall", VariableId::Server_ServerCapabilities_OperationLimits_MaxNodesPerMethodCall),
    (
        "MaxNodesPerTranslateBrowsePathsToNodeIds",
        VariableId::Server_ServerCapabilities_OperationLimits_MaxNodesPerTranslateBrowsePathsToNodeIds,
    ),
    ("MaxMonitoredItemsPerCall", VariableId::Server_ServerCapabilities_OperationLimits_MaxMonitoredItemsPerCall),
    ("MaxBrowseContinuationPoints", VariableId::Server_ServerCapabilities_MaxBrowseContinuationPoints),
];

fn text_of(value: &DataValue) -> Option<String> {
    match value.value.as_ref()? {
        Variant::String(s) => Some(s.as_ref().to_owned()),
        Variant::LocalizedText(t) => Some(t.text.as_ref().to_owned()),
        _ => None,
    }
}

fn strings_of(value: &DataValue) -> Vec<String> {
    match value.value.as_ref() {
        Some(Variant::Array(array)) => array
            .values
            .iter()
            .filter_map(|v| match v {
                Variant::String(s) => Some(s.as_ref().to_owned()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn time_of(value: &DataValue) -> Option<DateTime<Utc>> {
    match value.value.as_ref()? {
        Variant::DateTime(time) if !time.is_null() => Some(time.as_chrono()),
        _ => None,
    }
}

fn number_of(value: &DataValue) -> Option<u32> {
    match value.value.as_ref()? {
        Variant::UInt32(n) => Some(*n),
        Variant::UInt16(n) => Some(u32::from(*n)),
        Variant::Int32(n) => u32::try_from(*n).ok(),
        _ => None,
    }
}

fn server_state_name(value: &DataValue) -> Option<String> {
    let state = match value.value.as_ref()? {
        Variant::Int32(n) => *n,
        Variant::ExtensionObject(_) => return None,
        _ => return None,
    };
    Some(
        match state {
            0 => "Running",
            1 => "Failed",
            2 => "NoConfiguration",
            3 => "Suspended",
            4 => "Shutdown",
            5 => "Test",
            6 => "CommunicationFault",
            _ => "Unknown",
        }
        .to_owned(),
    )
}

/// Capabilities cheap to learn: from the Server object's EventNotifier (the
/// value after [`SESSION_READS`]) and the profile URIs the server claims.
fn capabilities(values: &[DataValue], profiles: &[String]) -> Vec<String> {
    let mut capabilities = Vec::new();
    let notifier = match values
        .get(SESSION_READS.len())
        .and_then(|v| v.value.as_ref())
    {
        Some(Variant::Byte(bits)) => *bits,
        _ => 0,
    };
    if notifier & 0x01 != 0 {
        capabilities.push("events".to_owned());
    }
    if notifier & 0x04 != 0 {
        capabilities.push("event-history".to_owned());
    }
    let claims = |needle: &str| profiles.iter().any(|p| p.to_lowercase().contains(needle));
    if claims("historical") || claims("historyread") {
        capabilities.push("historical-access".to_owned());
    }
    if claims("alarm") || claims("a&c") {
        capabilities.push("alarms-conditions".to_owned());
    }
    if claims("methodserver") || claims("method server") {
        capabilities.push("methods".to_owned());
    }
    capabilities
}

fn session_facts(login: &str, values: &[DataValue]) -> OpcUaSessionFacts {
    let value = |name: &str| {
        SESSION_READS
            .iter()
            .position(|(n, _)| *n == name)
            .and_then(|index| values.get(index))
    };
    let text = |name: &str| value(name).and_then(text_of);
    let build_info = match (text("ManufacturerName"), text("ProductName")) {
        (None, None) => None,
        (manufacturer, product) => Some(OpcUaBuildInfo {
            manufacturer_name: manufacturer.unwrap_or_default(),
            product_name: product.unwrap_or_default(),
            product_uri: text("ProductUri").unwrap_or_default(),
            software_version: text("SoftwareVersion").unwrap_or_default(),
            build_number: text("BuildNumber").unwrap_or_default(),
            build_date: value("BuildDate").and_then(time_of),
        }),
    };
    let operation_limits = SESSION_READS
        .iter()
        .filter(|(name, _)| name.starts_with("Max"))
        .filter_map(|(name, _)| {
            value(name)
                .and_then(number_of)
                .filter(|n| *n > 0)
                .map(|n| ((*name).to_owned(), n))
        })
        .collect();
    OpcUaSessionFacts {
        login: login.to_owned(),
        server_state: value("ServerState").and_then(server_state_name),
        start_time: value("StartTime").and_then(time_of),
        current_time: value("CurrentTime").and_then(time_of),
        build_info,
        namespaces: value("NamespaceArray").map(strings_of).unwrap_or_default(),
        server_profiles: value("ServerProfileArray")
            .map(strings_of)
            .unwrap_or_default(),
        capabilities: capabilities(
            values,
            &value("ServerProfileArray")
                .map(strings_of)
                .unwrap_or_default(),
        ),
        operation_limits,
    }
}

/// The discovery client's own certificate and key, in a temporary directory
/// removed when the scan ends (never the current directory). The key pair is
/// made once, before the first probe needs it: concurrent probes creating it
/// at the same time would mix one probe's certificate with another's key.
pub struct ClientPki {
    dir: PkiDir,
    ready: tokio::sync::OnceCell<()>,
}

enum PkiDir {
    Temporary(tempfile::TempDir),
    Kept(std::path::PathBuf),
}

impl ClientPki {
    /// A fresh, empty PKI directory, removed when dropped.
    pub fn new() -> std::io::Result<ClientPki> {
        Ok(ClientPki {
            dir: PkiDir::Temporary(
                tempfile::Builder::new()
                    .prefix("i4gauge-discover-pki-")
                    .tempdir()?,
            ),
            ready: tokio::sync::OnceCell::new(),
        })
    }

    /// A PKI directory the user keeps (`--opcua-pki-dir`): its key pair is
    /// reused across scans, so a server's administrator can trust it once.
    pub fn kept(dir: &Path) -> std::io::Result<ClientPki> {
        std::fs::create_dir_all(dir)?;
        Ok(ClientPki {
            dir: PkiDir::Kept(dir.to_owned()),
            ready: tokio::sync::OnceCell::new(),
        })
    }

    fn dir(&self) -> &Path {
        match &self.dir {
            PkiDir::Temporary(temp) => temp.path(),
            PkiDir::Kept(path) => path,
        }
    }

    /// The directory, with the key pair created.
    pub async fn path(&self) -> &Path {
        self.ready
            .get_or_init(|| async {
                let dir = self.dir().to_owned();
                // Building a client creates the key pair (CPU-bound RSA key generation).
                let _ = tokio::task::spawn_blocking(move || {
                    client_builder(&dir, Duration::from_secs(5)).client()
                })
                .await;
            })
            .await;
        self.dir()
    }
}

fn client_builder(pki_dir: &Path, timeout: Duration) -> ClientBuilder {
    ClientBuilder::new()
        .application_name("i4gauge discovery")
        .application_uri("urn:i4gauge:discovery")
        .product_uri("urn:i4gauge")
        .pki_dir(pki_dir)
        .create_sample_keypair(true)
        // Discovery reads what a server presents and judges its certificate
        // itself (findings); it must not refuse to look at a bad one.
        .trust_server_certs(true)
        .verify_server_certs(false)
        .session_retry_limit(0)
        .request_timeout(timeout)
        // Browse responses of big address spaces are large: accept up to 64 MiB
        // in up to 4096 chunks (the server still applies its own limits, and
        // the browse halves its batches when a response is too large).
        .max_message_size(64 * 1024 * 1024)
        .max_chunk_count(4096)
        .max_array_length(1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(policy: &str, mode: &str, tokens: &[&str]) -> OpcUaEndpoint {
        OpcUaEndpoint {
            url: "opc.tcp://127.0.0.1:4840/".into(),
            security_policy_uri: format!("http://opcfoundation.org/UA/SecurityPolicy#{policy}"),
            security_mode: mode.into(),
            user_token_types: tokens.iter().map(|t| (*t).to_owned()).collect(),
            security_level: 0,
            certificate: None,
        }
    }

    fn ids(findings: &[SecurityFinding]) -> Vec<(&str, Severity)> {
        findings
            .iter()
            .map(|f| (f.id.as_str(), f.severity))
            .collect()
    }

    #[test]
    fn none_with_anonymous_is_high_and_deprecated_policies_are_named() {
        let findings = security_findings(
            &[
                endpoint("None", "None", &["anonymous"]),
                endpoint("Basic128Rsa15", "Sign", &["username"]),
                endpoint("Basic256", "SignAndEncrypt", &["username"]),
            ],
            Utc::now(),
        );
        assert_eq!(
            ids(&findings),
            vec![
                ("opcua.security-mode-none", Severity::High),
                ("opcua.anonymous-access", Severity::High),
                ("opcua.deprecated-policy", Severity::Medium),
            ]
        );
        assert!(findings[2].detail.contains("Basic128Rsa15, Basic256"));
    }

    #[test]
    fn a_secured_server_with_user_login_has_no_endpoint_findings() {
        let findings = security_findings(
            &[endpoint("Basic256Sha256", "SignAndEncrypt", &["username"])],
            Utc::now(),
        );
        assert!(findings.is_empty(), "{findings:?}");
    }

    #[test]
    fn certificate_findings_follow_dates_keys_and_signatures() {
        let now = Utc::now();
        let mut with_certificate = endpoint("Basic256Sha256", "Sign", &["username"]);
        with_certificate.certificate = Some(CertificateFacts {
            subject: "CN=plc".into(),
            issuer: "CN=plc".into(),
            self_signed: true,
            not_before: now - chrono::Duration::days(400),
            not_after: now - chrono::Duration::days(1),
            key_bits: Some(1024),
            signature_algorithm: "sha1WithRSAEncryption".into(),
            thumbprint: "aa".into(),
        });
        let findings = security_findings(&[with_certificate], now);
        assert_eq!(
            ids(&findings),
            vec![
                ("opcua.sha1-signature", Severity::Medium),
                ("opcua.certificate-expired", Severity::High),
                ("opcua.self-signed-certificate", Severity::Low),
                ("opcua.short-key", Severity::High),
            ]
        );
    }

    #[test]
    fn companion_specs_match_ignoring_case_and_trailing_slash() {
        let table = CompanionSpecTable::builtin();
        let found = table.recognise(&[
            "http://opcfoundation.org/UA/".into(),
            "urn:vendor:plant".into(),
            "http://opcfoundation.org/UA/DI".into(),
            "http://opcfoundation.org/ua/machinery/".into(),
            "http://opcfoundation.org/UA/MachineVision".into(),
        ]);
        let names: Vec<&str> = found.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, vec!["DI", "Machinery", "MachineVision"]);
        assert_eq!(found[0].namespace_uri, "http://opcfoundation.org/UA/DI");
    }

    #[test]
    fn opc_tcp_urls_give_host_and_port() {
        for (url, expected) in [
            ("opc.tcp://10.1.0.7:4841/", Some(("10.1.0.7", 4841))),
            ("OPC.TCP://PLC1.Local/UA/Server", Some(("plc1.local", 4840))),
            ("opc.tcp://[fd00::7]:4842", Some(("fd00::7", 4842))),
            ("opc.tcp://[fd00::7]", Some(("fd00::7", 4840))),
            ("opc.tcp://historian:48010?x=1", Some(("historian", 48010))),
            ("https://10.1.0.7:4843/", None),
            ("opc.tcp://:4840/", None),
            ("opc.tcp://10.1.0.7:0/", None),
            ("opc.tcp://10.1.0.7:port/", None),
            ("opc.tcp://fd00::7:4840/", None),
            ("opc.tcp://[not-v6]:4840/", None),
            ("opc.tcp://a b:4840/", None),
        ] {
            let found = opc_tcp_host_port(url);
            assert_eq!(
                found.as_ref().map(|(h, p)| (h.as_str(), *p)),
                expected,
                "{url}"
            );
        }
    }

    #[test]
    fn registered_links_leave_out_the_server_itself_and_clients() {
        let application = |uri: &str, kind: &str, urls: &[&str]| OpcUaApplication {
            application_uri: uri.into(),
            product_uri: String::new(),
            application_name: uri.trim_start_matches("urn:").into(),
            application_type: kind.into(),
            discovery_urls: urls.iter().map(|u| (*u).to_owned()).collect(),
        };
        let address: SocketAddr = "10.1.0.2:4840".parse().unwrap();
        let links = registered_links(
            &[
                application("urn:lds", "discovery-server", &["opc.tcp://lds:4840/"]),
                application("urn:alias", "server", &["opc.tcp://10.1.0.2:4840/"]),
                application("urn:hmi", "client", &["opc.tcp://10.1.0.9:4840/"]),
                application(
                    "urn:line",
                    "server",
                    &["opc.tcp://10.1.0.5:4841/", "opc.tcp://line:4841/"],
                ),
                application("urn:line-again", "server", &["opc.tcp://10.1.0.5:4841/"]),
            ],
            &["urn:lds"],
            address,
        );
        let found: Vec<(&str, &str)> = links
            .iter()
            .map(|l| (l.application_uri.as_str(), l.discovery_url.as_str()))
            .collect();
        assert_eq!(
            found,
            vec![
                ("urn:line", "opc.tcp://10.1.0.5:4841/"),
                ("urn:line", "opc.tcp://line:4841/"),
            ]
        );
    }

    #[test]
    fn the_companion_table_has_unique_uris() {
        let table = CompanionSpecTable::builtin();
        let mut uris: Vec<String> = table.specs.iter().map(|s| normalize_uri(&s.uri)).collect();
        let count = uris.len();
        uris.sort();
        uris.dedup();
        assert_eq!(uris.len(), count);
        assert!(count >= 20);
    }
}
