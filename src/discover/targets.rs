//! Scan targets: parsing what the user typed and expanding it into the exact,
//! sorted list of addresses discovery may contact, and nothing else.
//!
//! Syntax of one target (also used for `--exclude`):
//!
//! | Written                                | Parsed as                                   |
//! |----------------------------------------|---------------------------------------------|
//! | `10.1.0.7`, `fd00::7`, `[fd00::7]`     | [`Target::Address`]                         |
//! | `10.1.0.7:5020`, `[fd00::7]:5020`      | [`Target::Address`] with an explicit port   |
//! | `10.1.0.0/24`, `fd00::/120`            | [`Target::Network`] (every address in it)   |
//! | `10.1.0.10-60`, `10.1.0.10-10.1.0.60`  | [`Target::Range`] (both ends included)      |
//! | `fd00::10-fd00::60`                    | [`Target::Range`] (IPv6: full form only)    |
//! | `plc1.local`, `scada-01:5020`          | [`Target::HostName`], resolved later        |
//! | `@hosts.txt`                           | the targets in the file, one per line       |
//!
//! Like nmap, a CIDR block includes *every* address in it, network and
//! broadcast addresses too (`10.1.0.0/24` is 256 addresses), and host bits are
//! ignored (`10.1.0.7/24` is `10.1.0.0/24`). A port written after a host
//! applies to that host only and replaces the default port lists for it, for
//! every protocol; an IPv6 address with a port must be bracketed. Host names
//! are case-insensitive and kept in lower case. In a `@FILE`, `#` starts a
//! comment, blank lines are ignored, and a file cannot name another file.
//!
//! The pipeline is [`parse_targets`] (the only file-system access), then
//! [`resolve_host_names`] (the only network access, for host names in both
//! targets and exclusions), then [`expand`], which is pure: it counts the
//! addresses with interval arithmetic and refuses more than the limit before
//! producing any, then returns one [`ScanHost`] per address, excluded
//! addresses removed.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use ipnet::IpNet;

/// One scan target as the user wrote it, parsed but not expanded.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// One address, optionally with an explicit port (`10.1.0.7:5020`).
    Address {
        /// The address.
        address: IpAddr,
        /// The port written after it, which replaces the default ports.
        port: Option<u16>,
    },
    /// A CIDR block, host bits cleared; every address in it is a target.
    Network(IpNet),
    /// An inclusive range of addresses of one family, `start <= end`.
    Range {
        /// First address.
        start: IpAddr,
        /// Last address (included).
        end: IpAddr,
    },
    /// A host name, lower case, not yet resolved.
    HostName {
        /// The name.
        name: String,
        /// The port written after it, which replaces the default ports.
        port: Option<u16>,
    },
}

/// Writes the target in canonical syntax, which [`parse_target`] reads back to
/// the same value: `10.1.0.7`, `[fd00::7]:5020`, `10.1.0.0/24`,
/// `10.1.0.10-10.1.0.60`, `plc1.local:5020`.
impl fmt::Display for Target {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Address {
                address,
                port: None,
            } => write!(formatter, "{address}"),
            Target::Address {
                address,
                port: Some(port),
            } => write!(formatter, "{}", SocketAddr::new(*address, *port)),
            Target::Network(network) => write!(formatter, "{network}"),
            Target::Range { start, end } => write!(formatter, "{start}-{end}"),
            Target::HostName { name, port: None } => write!(formatter, "{name}"),
            Target::HostName {
                name,
                port: Some(port),
            } => write!(formatter, "{name}:{port}"),
        }
    }
}

/// One address to scan, the result of [`expand`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanHost {
    /// The address.
    pub address: IpAddr,
    /// The host name the user named it by, if any (the first one, in target
    /// order, when several names resolve to it).
    pub hostname: Option<String>,
    /// Explicit ports from `HOST:PORT` targets, sorted and deduplicated, merged
    /// when the address is named several times; `None` means "the default
    /// ports". An address named both with and without a port gets only the
    /// explicit ports.
    pub ports: Option<Vec<u16>>,
}

/// Why targets could not be parsed or expanded. Every message names the text
/// at fault, and the file and line when it came from a `@FILE`.
#[derive(Debug, thiserror::Error)]
pub enum ParseTargetError {
    /// The target is empty or only whitespace.
    #[error("empty target")]
    Empty,
    /// The text is none of the accepted forms.
    #[error("{text:?}: not an address, CIDR block, range or host name")]
    Unrecognized {
        /// The target as written.
        text: String,
    },
    /// The prefix length of a CIDR block is not a number in range.
    #[error("{text:?}: prefix length {prefix:?} is not a number from 0 to {max}")]
    InvalidPrefix {
        /// The target as written.
        text: String,
        /// The prefix length as written.
        prefix: String,
        /// 32 for IPv4, 128 for IPv6.
        max: u8,
    },
    /// The port after `HOST:` is not a number from 1 to 65535.
    #[error("{text:?}: port {port:?} is not a number from 1 to 65535")]
    InvalidPort {
        /// The target as written.
        text: String,
        /// The port as written.
        port: String,
    },
    /// `:PORT` with nothing before it.
    #[error("{text:?}: no address or host name before the port")]
    MissingHost {
        /// The target as written.
        text: String,
    },
    /// A port after a CIDR block or range.
    #[error("{text:?}: a port can only follow an address or host name, not a CIDR block or range")]
    PortNotAllowed {
        /// The target as written.
        text: String,
    },
    /// Brackets around something that is not an IPv6 address.
    #[error("{text:?}: brackets are only for IPv6 addresses, as in [fd00::7]:502")]
    BracketsNotIpv6 {
        /// The target as written.
        text: String,
    },
    /// The end of a range is neither an address nor (IPv4) a last octet.
    #[error(
        "{text:?}: range end {end:?} is not an address, nor (for IPv4 only) a last octet from 0 to 255"
    )]
    InvalidRangeEnd {
        /// The target as written.
        text: String,
        /// The end as written.
        end: String,
    },
    /// A range from an IPv4 to an IPv6 address or the reverse.
    #[error("{text:?}: a range must start and end in the same address family")]
    MixedFamilyRange {
        /// The target as written.
        text: String,
    },
    /// A range whose end comes before its start.
    #[error("{text:?}: the range ends at {end}, before its start {start}")]
    BackwardRange {
        /// The target as written.
        text: String,
        /// The parsed start.
        start: IpAddr,
        /// The parsed end.
        end: IpAddr,
    },
    /// `@FILE` inside a file of targets, or given to [`parse_target`].
    #[error(
        "{text:?}: a file of targets cannot name another file; @FILE is only accepted on the command line"
    )]
    NestedFile {
        /// The target as written.
        text: String,
    },
    /// `@` with no file name.
    #[error("\"@\": no file name after @")]
    MissingFileName,
    /// A `@FILE` could not be read.
    #[error("cannot read the targets file {path}: {error}")]
    ReadFile {
        /// The file as named after `@`.
        path: String,
        /// The I/O error.
        error: std::io::Error,
    },
    /// A line of a `@FILE` is invalid.
    #[error("{path}:{line}: {error}")]
    InFile {
        /// The file as named after `@`.
        path: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong with the line.
        error: Box<ParseTargetError>,
    },
    /// An exclusion with a port: exclusions remove whole addresses.
    #[error(
        "exclusion {text:?} has a port; exclusions remove whole addresses, so write it without the port"
    )]
    PortInExclusion {
        /// The exclusion, in canonical form.
        text: String,
    },
    /// An excluded host name that [`resolve_host_names`] did not resolve:
    /// without its addresses the exclusion cannot be honoured.
    #[error(
        "exclusion {name:?} could not be resolved, so its addresses cannot be kept out of the scan; exclude them by address instead"
    )]
    UnresolvedExclusion {
        /// The host name.
        name: String,
    },
    /// One target alone has more addresses than the limit.
    #[error(
        "{target} has {count} address{}, more than the limit of {limit}; narrow the targets or raise --max-hosts",
        plural_es(*.count)
    )]
    TargetTooLarge {
        /// The target, in canonical form.
        target: String,
        /// Its number of addresses (saturating at `u128::MAX` for `::/0`).
        count: u128,
        /// The limit.
        limit: u64,
    },
    /// All targets together, after exclusions, have more addresses than the
    /// limit.
    #[error(
        "the targets have {count} addresses after exclusions, more than the limit of {limit}; narrow the targets or raise --max-hosts"
    )]
    TooManyAddresses {
        /// The number of distinct addresses after exclusions.
        count: u128,
        /// The limit.
        limit: u64,
    },
}

/// `"es"` unless `count` is 1, for "address" in messages.
fn plural_es(count: u128) -> &'static str {
    if count == 1 { "" } else { "es" }
}

/// Parses one target (not `@FILE`; see [`parse_targets`]). Surrounding
/// whitespace is ignored.
pub fn parse_target(text: &str) -> Result<Target, ParseTargetError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(ParseTargetError::Empty);
    }
    if trimmed.starts_with('@') {
        return Err(ParseTargetError::NestedFile {
            text: trimmed.to_owned(),
        });
    }
    let unrecognized = || ParseTargetError::Unrecognized {
        text: trimmed.to_owned(),
    };

    if let Some(after_bracket) = trimmed.strip_prefix('[') {
        let (inside, rest) = after_bracket.split_once(']').ok_or_else(unrecognized)?;
        let address = match inside.parse::<Ipv6Addr>() {
            Ok(address) => address,
            Err(_) if inside.parse::<Ipv4Addr>().is_ok() || is_host_name(inside) => {
                return Err(ParseTargetError::BracketsNotIpv6 {
                    text: trimmed.to_owned(),
                });
            }
            Err(_) => return Err(unrecognized()),
        };
        let port = match rest {
            "" => None,
            _ => match rest.strip_prefix(':') {
                Some(port) => Some(parse_port(port, trimmed)?),
                None => return Err(unrecognized()),
            },
        };
        return Ok(Target::Address {
            address: IpAddr::V6(address),
            port,
        });
    }

    match trimmed.matches(':').count() {
        // No port, or an unbracketed IPv6 address, block or range.
        0 | 2.. => parse_without_port(trimmed, trimmed),
        _ => {
            let (host, port) = trimmed.split_once(':').ok_or_else(unrecognized)?;
            if host.is_empty() {
                return Err(ParseTargetError::MissingHost {
                    text: trimmed.to_owned(),
                });
            }
            let target = parse_without_port(host, trimmed)?;
            let port = Some(parse_port(port, trimmed)?);
            match target {
                Target::Address { address, .. } => Ok(Target::Address { address, port }),
                Target::HostName { name, .. } => Ok(Target::HostName { name, port }),
                Target::Network(_) | Target::Range { .. } => {
                    Err(ParseTargetError::PortNotAllowed {
                        text: trimmed.to_owned(),
                    })
                }
            }
        }
    }
}

/// Parses the command-line arguments naming targets (or exclusions), reading
/// every `@FILE` among them: one target per line, `#` comments, blank lines
/// ignored. Returns each target with its text as written (the argument, or
/// the line of the file without its comment). Reading the files is the only
/// I/O; errors in a file name the file and line.
pub fn parse_targets(args: &[String]) -> Result<Vec<(String, Target)>, ParseTargetError> {
    let mut targets = Vec::new();
    for arg in args {
        let Some(path) = arg.trim().strip_prefix('@') else {
            targets.push((arg.clone(), parse_target(arg)?));
            continue;
        };
        if path.is_empty() {
            return Err(ParseTargetError::MissingFileName);
        }
        let contents =
            std::fs::read_to_string(path).map_err(|error| ParseTargetError::ReadFile {
                path: path.to_owned(),
                error,
            })?;
        for (index, line) in contents.lines().enumerate() {
            let text = line.split('#').next().unwrap_or_default().trim();
            if text.is_empty() {
                continue;
            }
            let target = parse_target(text).map_err(|error| ParseTargetError::InFile {
                path: path.to_owned(),
                line: index + 1,
                error: Box::new(error),
            })?;
            targets.push((text.to_owned(), target));
        }
    }
    Ok(targets)
}

/// Expands `targets` into the hosts to scan: sorted by address (IPv4 first),
/// each address once, `excludes` removed, host names replaced by the
/// addresses in `resolved` (names missing from it are skipped: their failure
/// was reported by [`resolve_host_names`]).
///
/// Refuses, before producing any address, to return more than `max_addresses`
/// hosts. Also refuses an exclusion with a port (exclusions remove whole
/// addresses) and an excluded host name missing from `resolved` (it could not
/// be honoured), so an excluded address is never produced.
pub fn expand(
    targets: &[Target],
    excludes: &[Target],
    resolved: &BTreeMap<String, Vec<IpAddr>>,
    max_addresses: u64,
) -> Result<Vec<ScanHost>, ParseTargetError> {
    let mut excluded = AddressSet::default();
    for exclude in excludes {
        match exclude {
            Target::Address { port: Some(_), .. } | Target::HostName { port: Some(_), .. } => {
                return Err(ParseTargetError::PortInExclusion {
                    text: exclude.to_string(),
                });
            }
            Target::HostName { name, port: None } => {
                let addresses = resolved
                    .get(name)
                    .ok_or_else(|| ParseTargetError::UnresolvedExclusion { name: name.clone() })?;
                for &address in addresses {
                    excluded.insert(address, address);
                }
            }
            _ => excluded.insert_target(exclude),
        }
    }
    excluded.normalize();

    let mut included = AddressSet::default();
    let mut annotations: BTreeMap<IpAddr, Annotation> = BTreeMap::new();
    let mut largest: Option<(&Target, u128)> = None;
    for target in targets {
        match target {
            Target::HostName { name, port } => {
                for &address in resolved.get(name).into_iter().flatten() {
                    included.insert(address, address);
                    let annotation = annotations.entry(address).or_default();
                    annotation.hostname.get_or_insert_with(|| name.clone());
                    annotation.add_port(*port);
                }
            }
            _ => {
                included.insert_target(target);
                if let Target::Address {
                    address,
                    port: Some(port),
                } = target
                {
                    annotations
                        .entry(*address)
                        .or_default()
                        .add_port(Some(*port));
                }
                let count = target_size(target);
                if largest.is_none_or(|(_, largest_count)| count > largest_count) {
                    largest = Some((target, count));
                }
            }
        }
    }
    included.normalize();
    let remaining = included.subtract(&excluded);

    let count = remaining.count();
    if count > u128::from(max_addresses) {
        return Err(match largest {
            Some((target, target_count)) if target_count > u128::from(max_addresses) => {
                ParseTargetError::TargetTooLarge {
                    target: target.to_string(),
                    count: target_count,
                    limit: max_addresses,
                }
            }
            _ => ParseTargetError::TooManyAddresses {
                count,
                limit: max_addresses,
            },
        });
    }

    Ok(remaining
        .addresses()
        .map(|address| {
            let annotation = annotations.get(&address);
            ScanHost {
                address,
                hostname: annotation.and_then(|a| a.hostname.clone()),
                ports: annotation
                    .and_then(|a| a.ports.as_ref())
                    .map(|ports| ports.iter().copied().collect()),
            }
        })
        .collect())
}

/// At most this many host-name lookups run at the same time.
const PARALLEL_LOOKUPS: usize = 16;

/// Resolves every distinct host name in `targets` (pass the exclusions too, so
/// that [`expand`] can honour excluded names), each lookup bounded by
/// `timeout`. Returns the addresses of each name that resolved (sorted,
/// deduplicated, never empty) and, sorted, one message per name that did not:
/// `plc9.local: no answer within 5s`. This is the module's only network access
/// (the system resolver).
pub async fn resolve_host_names(
    targets: &[Target],
    timeout: Duration,
) -> (BTreeMap<String, Vec<IpAddr>>, Vec<String>) {
    let names: BTreeSet<&str> = targets
        .iter()
        .filter_map(|target| match target {
            Target::HostName { name, .. } => Some(name.as_str()),
            _ => None,
        })
        .collect();
    let permits = Arc::new(tokio::sync::Semaphore::new(PARALLEL_LOOKUPS));
    let mut lookups = tokio::task::JoinSet::new();
    for name in names {
        let name = name.to_owned();
        let permits = permits.clone();
        lookups.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let result = lookup(&name, timeout).await;
            (name, result)
        });
    }

    let mut resolved = BTreeMap::new();
    let mut failures = Vec::new();
    while let Some(joined) = lookups.join_next().await {
        match joined {
            Ok((name, Ok(addresses))) => {
                resolved.insert(name, addresses);
            }
            Ok((name, Err(reason))) => failures.push(format!("{name}: {reason}")),
            Err(error) => failures.push(format!("a host-name lookup failed: {error}")),
        }
    }
    failures.sort();
    (resolved, failures)
}

/// Resolves one host name, bounded by `timeout`: its addresses (sorted,
/// deduplicated, never empty) or why there are none.
async fn lookup(name: &str, timeout: Duration) -> Result<Vec<IpAddr>, String> {
    match tokio::time::timeout(timeout, tokio::net::lookup_host((name, 0))).await {
        Err(_) => Err(format!("no answer within {timeout:?}")),
        Ok(Err(error)) => Err(error.to_string()),
        Ok(Ok(socket_addresses)) => {
            let addresses: BTreeSet<IpAddr> = socket_addresses.map(|socket| socket.ip()).collect();
            if addresses.is_empty() {
                Err("no addresses".to_owned())
            } else {
                Ok(addresses.into_iter().collect())
            }
        }
    }
}

/// The number of distinct addresses named by the address, CIDR block and range
/// targets (overlaps counted once; host names are not counted, as they are
/// not resolved; exclusions are not subtracted: the length of [`expand`]'s
/// result is the exact number to scan). Saturates at `u64::MAX`.
pub fn address_count(targets: &[Target]) -> u64 {
    let mut set = AddressSet::default();
    for target in targets {
        set.insert_target(target);
    }
    set.normalize();
    u64::try_from(set.count()).unwrap_or(u64::MAX)
}

/// Per-address details from `HOST:PORT` and host-name targets.
#[derive(Debug, Default)]
struct Annotation {
    hostname: Option<String>,
    ports: Option<BTreeSet<u16>>,
}

impl Annotation {
    fn add_port(&mut self, port: Option<u16>) {
        if let Some(port) = port {
            self.ports.get_or_insert_with(BTreeSet::new).insert(port);
        }
    }
}

/// An inclusive span of addresses of one family, as integers.
type Span = (u128, u128);

/// A set of addresses as sorted spans, one list per family, so that counting,
/// merging and subtracting cost nothing per address.
#[derive(Debug, Default)]
struct AddressSet {
    v4: Vec<Span>,
    v6: Vec<Span>,
}

impl AddressSet {
    /// Adds `start..=end`; both must be of the same family (callers ensure
    /// it: ranges are checked when parsed).
    fn insert(&mut self, start: IpAddr, end: IpAddr) {
        match (start, end) {
            (IpAddr::V4(start), IpAddr::V4(end)) => self
                .v4
                .push((u128::from(u32::from(start)), u128::from(u32::from(end)))),
            (IpAddr::V6(start), IpAddr::V6(end)) => {
                self.v6.push((u128::from(start), u128::from(end)));
            }
            _ => {}
        }
    }

    /// Adds the addresses of an address, block or range (host names: none).
    fn insert_target(&mut self, target: &Target) {
        match target {
            Target::Address { address, .. } => self.insert(*address, *address),
            Target::Network(network) => self.insert(network.network(), network.broadcast()),
            Target::Range { start, end } => self.insert(*start, *end),
            Target::HostName { .. } => {}
        }
    }

    /// Sorts the spans and merges overlapping and adjacent ones.
    fn normalize(&mut self) {
        merge_spans(&mut self.v4);
        merge_spans(&mut self.v6);
    }

    /// The addresses of `self` not in `other` (both normalized).
    fn subtract(&self, other: &AddressSet) -> AddressSet {
        AddressSet {
            v4: subtract_spans(&self.v4, &other.v4),
            v6: subtract_spans(&self.v6, &other.v6),
        }
    }

    /// The number of addresses (normalized set), saturating at `u128::MAX`.
    fn count(&self) -> u128 {
        self.v4
            .iter()
            .chain(&self.v6)
            .fold(0u128, |total, &(start, end)| {
                total.saturating_add((end - start).saturating_add(1))
            })
    }

    /// Every address, in order (IPv4 first). Only call after bounding
    /// [`AddressSet::count`].
    fn addresses(&self) -> impl Iterator<Item = IpAddr> + '_ {
        let v4 = self.v4.iter().flat_map(|&(start, end)| {
            (start..=end).filter_map(|n| u32::try_from(n).ok().map(|n| IpAddr::V4(n.into())))
        });
        let v6 = self
            .v6
            .iter()
            .flat_map(|&(start, end)| (start..=end).map(|n| IpAddr::V6(n.into())));
        v4.chain(v6)
    }
}

/// Sorts `spans` and merges overlapping and adjacent ones.
fn merge_spans(spans: &mut Vec<Span>) {
    spans.sort_unstable();
    let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
    for &(start, end) in spans.iter() {
        match merged.last_mut() {
            Some(last) if start <= last.1.saturating_add(1) => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    *spans = merged;
}

/// The parts of `spans` not covered by `removed` (both sorted and merged).
fn subtract_spans(spans: &[Span], removed: &[Span]) -> Vec<Span> {
    let mut result = Vec::new();
    for &(start, end) in spans {
        // The first removed span that can overlap: the one ending at or after `start`.
        let first = removed.partition_point(|&(_, removed_end)| removed_end < start);
        let mut next = Some(start);
        for &(removed_start, removed_end) in &removed[first..] {
            let Some(current) = next else { break };
            if removed_start > end {
                break;
            }
            if removed_start > current {
                result.push((current, removed_start - 1));
            }
            next = removed_end.checked_add(1);
        }
        match next {
            Some(current) if current <= end => result.push((current, end)),
            _ => {}
        }
    }
    result
}

/// The number of addresses of one address, block or range (host names: 0).
fn target_size(target: &Target) -> u128 {
    let mut set = AddressSet::default();
    set.insert_target(target);
    set.count()
}

/// Parses an address, CIDR block, range or host name (no `:PORT`, no
/// brackets); errors quote `original`, the whole target as written.
fn parse_without_port(text: &str, original: &str) -> Result<Target, ParseTargetError> {
    if let Some((address, prefix)) = text.split_once('/') {
        let address: IpAddr = address
            .parse()
            .map_err(|_| ParseTargetError::Unrecognized {
                text: original.to_owned(),
            })?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        let invalid_prefix = || ParseTargetError::InvalidPrefix {
            text: original.to_owned(),
            prefix: prefix.to_owned(),
            max,
        };
        let prefix_len = parse_decimal::<u8>(prefix)
            .filter(|length| *length <= max)
            .ok_or_else(invalid_prefix)?;
        let network = IpNet::new(address, prefix_len).map_err(|_| invalid_prefix())?;
        return Ok(Target::Network(network.trunc()));
    }

    let range = text
        .split_once('-')
        .and_then(|(start, end)| Some((start.trim().parse::<IpAddr>().ok()?, end.trim())));
    if let Some((start, end_text)) = range {
        let end = match (start, end_text.parse::<IpAddr>()) {
            (_, Ok(end)) if end.is_ipv4() == start.is_ipv4() => end,
            (_, Ok(_)) => {
                return Err(ParseTargetError::MixedFamilyRange {
                    text: original.to_owned(),
                });
            }
            (IpAddr::V4(start), Err(_)) => match parse_decimal::<u8>(end_text) {
                Some(last_octet) => {
                    let [a, b, c, _] = start.octets();
                    IpAddr::V4(Ipv4Addr::new(a, b, c, last_octet))
                }
                None => {
                    return Err(ParseTargetError::InvalidRangeEnd {
                        text: original.to_owned(),
                        end: end_text.to_owned(),
                    });
                }
            },
            (IpAddr::V6(_), Err(_)) => {
                return Err(ParseTargetError::InvalidRangeEnd {
                    text: original.to_owned(),
                    end: end_text.to_owned(),
                });
            }
        };
        if end < start {
            return Err(ParseTargetError::BackwardRange {
                text: original.to_owned(),
                start,
                end,
            });
        }
        return Ok(Target::Range { start, end });
    }

    if let Ok(address) = text.parse::<IpAddr>() {
        return Ok(Target::Address {
            address,
            port: None,
        });
    }
    if is_host_name(text) {
        return Ok(Target::HostName {
            name: text.to_ascii_lowercase(),
            port: None,
        });
    }
    Err(ParseTargetError::Unrecognized {
        text: original.to_owned(),
    })
}

/// Parses a TCP port, 1 to 65535.
fn parse_port(port: &str, original: &str) -> Result<u16, ParseTargetError> {
    parse_decimal::<u16>(port)
        .filter(|port| *port != 0)
        .ok_or_else(|| ParseTargetError::InvalidPort {
            text: original.to_owned(),
            port: port.to_owned(),
        })
}

/// Parses ASCII decimal digits only (no sign, no spaces).
fn parse_decimal<T: std::str::FromStr>(text: &str) -> Option<T> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Whether `text` is a plausible host name: dot-separated labels of 1 to 63
/// letters, digits, `-` and `_`, not starting or ending with `-`, at most 253
/// characters, an optional final dot, and a last label that is not all digits
/// (so that `10.1.0.300` is a bad address, not a name).
fn is_host_name(text: &str) -> bool {
    let name = text.strip_suffix('.').unwrap_or(text);
    if name.is_empty() || name.len() > 253 {
        return false;
    }
    let labels_valid = name.split('.').all(|label| {
        (1..=63).contains(&label.len())
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
    });
    let last_label = name.rsplit('.').next().unwrap_or_default();
    labels_valid && !last_label.bytes().all(|byte| byte.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use std::{io::Write, time::Instant};

    use super::*;

    /// A structural description of a target, independent of `Display`.
    fn describe(target: &Target) -> String {
        let port = |port: &Option<u16>| port.map(|p| format!(" port {p}")).unwrap_or_default();
        match target {
            Target::Address { address, port: p } => format!("address {address}{}", port(p)),
            Target::Network(network) => format!("network {network}"),
            Target::Range { start, end } => format!("range {start} to {end}"),
            Target::HostName { name, port: p } => format!("host {name}{}", port(p)),
        }
    }

    /// (input, structural description of the parsed target).
    #[rustfmt::skip]
    const VALID: &[(&str, &str)] = &[
        ("10.1.0.7", "address 10.1.0.7"),
        ("  10.1.0.7\t", "address 10.1.0.7"),
        ("10.1.0.7:5020", "address 10.1.0.7 port 5020"),
        ("fd00::7", "address fd00::7"),
        ("[fd00::7]", "address fd00::7"),
        ("[fd00::7]:5020", "address fd00::7 port 5020"),
        ("::1", "address ::1"),
        ("fd00::7:502", "address fd00::7:502"), // unbracketed: all of it is the address
        ("10.1.0.0/24", "network 10.1.0.0/24"),
        ("10.1.0.7/24", "network 10.1.0.0/24"), // host bits ignored, as nmap does
        ("10.1.0.7/32", "network 10.1.0.7/32"),
        ("0.0.0.0/0", "network 0.0.0.0/0"),
        ("fd00::/120", "network fd00::/120"),
        ("fd00::1/128", "network fd00::1/128"),
        ("10.1.0.10-60", "range 10.1.0.10 to 10.1.0.60"),
        ("10.1.0.10-10", "range 10.1.0.10 to 10.1.0.10"),
        ("10.1.0.10-10.1.0.60", "range 10.1.0.10 to 10.1.0.60"),
        ("10.1.0.250-10.1.1.5", "range 10.1.0.250 to 10.1.1.5"),
        ("10.1.0.10 - 60", "range 10.1.0.10 to 10.1.0.60"),
        ("fd00::10-fd00::60", "range fd00::10 to fd00::60"),
        ("plc1.local", "host plc1.local"),
        ("PLC1.Local", "host plc1.local"),
        ("plc1.local.", "host plc1.local."),
        ("scada-01", "host scada-01"),
        ("scada-01:5020", "host scada-01 port 5020"),
        ("plc1.local:65535", "host plc1.local port 65535"),
        ("fd00", "host fd00"),
        ("host_1", "host host_1"),
    ];

    /// (input, the whole error message).
    #[rustfmt::skip]
    const INVALID: &[(&str, &str)] = &[
        ("", "empty target"),
        ("   ", "empty target"),
        ("10.1.0.300", r#""10.1.0.300": not an address, CIDR block, range or host name"#),
        ("010.1.0.7", r#""010.1.0.7": not an address, CIDR block, range or host name"#),
        ("10.1.0", r#""10.1.0": not an address, CIDR block, range or host name"#),
        ("10.1.0.60-10", r#""10.1.0.60-10": the range ends at 10.1.0.10, before its start 10.1.0.60"#),
        ("10.1.0.60-10.1.0.10", r#""10.1.0.60-10.1.0.10": the range ends at 10.1.0.10, before its start 10.1.0.60"#),
        ("10.1.0.10-256", r#""10.1.0.10-256": range end "256" is not an address, nor (for IPv4 only) a last octet from 0 to 255"#),
        ("10.1.0.10-", r#""10.1.0.10-": range end "" is not an address, nor (for IPv4 only) a last octet from 0 to 255"#),
        ("fd00::10-60", r#""fd00::10-60": range end "60" is not an address, nor (for IPv4 only) a last octet from 0 to 255"#),
        ("10.1.0.1-fd00::1", r#""10.1.0.1-fd00::1": a range must start and end in the same address family"#),
        ("10.1.0.0/33", r#""10.1.0.0/33": prefix length "33" is not a number from 0 to 32"#),
        ("fd00::/129", r#""fd00::/129": prefix length "129" is not a number from 0 to 128"#),
        ("10.1.0.0/", r#""10.1.0.0/": prefix length "" is not a number from 0 to 32"#),
        ("10.1.0.0/+8", r#""10.1.0.0/+8": prefix length "+8" is not a number from 0 to 32"#),
        ("plc/24", r#""plc/24": not an address, CIDR block, range or host name"#),
        (":502", r#"":502": no address or host name before the port"#),
        ("host:99999", r#""host:99999": port "99999" is not a number from 1 to 65535"#),
        ("host:0", r#""host:0": port "0" is not a number from 1 to 65535"#),
        ("host:", r#""host:": port "" is not a number from 1 to 65535"#),
        ("10.1.0.7:http", r#""10.1.0.7:http": port "http" is not a number from 1 to 65535"#),
        ("[fd00::7]:99999", r#""[fd00::7]:99999": port "99999" is not a number from 1 to 65535"#),
        ("[fd00::7", r#""[fd00::7": not an address, CIDR block, range or host name"#),
        ("[fd00::7]502", r#""[fd00::7]502": not an address, CIDR block, range or host name"#),
        ("[10.1.0.7]:502", r#""[10.1.0.7]:502": brackets are only for IPv6 addresses, as in [fd00::7]:502"#),
        ("10.1.0.0/24:502", r#""10.1.0.0/24:502": a port can only follow an address or host name, not a CIDR block or range"#),
        ("10.1.0.1-5:502", r#""10.1.0.1-5:502": a port can only follow an address or host name, not a CIDR block or range"#),
        ("-plc", r#""-plc": not an address, CIDR block, range or host name"#),
        ("plc..local", r#""plc..local": not an address, CIDR block, range or host name"#),
        ("plc 1", r#""plc 1": not an address, CIDR block, range or host name"#),
        ("fe80::1%eth0", r#""fe80::1%eth0": not an address, CIDR block, range or host name"#),
        ("@hosts.txt", r#""@hosts.txt": a file of targets cannot name another file; @FILE is only accepted on the command line"#),
    ];

    #[test]
    fn valid_targets_parse_as_expected() {
        for (input, expected) in VALID {
            match parse_target(input) {
                Ok(target) => assert_eq!(describe(&target), *expected, "input {input:?}"),
                Err(error) => panic!("{input:?} should parse, got: {error}"),
            }
        }
    }

    #[test]
    fn display_is_canonical_and_parses_back() {
        for (input, _) in VALID {
            let target = parse_target(input).unwrap();
            let written = target.to_string();
            assert_eq!(
                parse_target(&written).unwrap(),
                target,
                "{input:?} → {written:?}"
            );
        }
        let written: Vec<String> = ["[fd00::7]:5020", "10.1.0.10-60", "PLC1:502"]
            .iter()
            .map(|input| parse_target(input).unwrap().to_string())
            .collect();
        assert_eq!(
            written,
            ["[fd00::7]:5020", "10.1.0.10-10.1.0.60", "plc1:502"]
        );
    }

    #[test]
    fn invalid_targets_are_refused_with_a_message_naming_them() {
        for (input, expected) in INVALID {
            match parse_target(input) {
                Ok(target) => panic!("{input:?} should be refused, got {target:?}"),
                Err(error) => assert_eq!(error.to_string(), *expected, "input {input:?}"),
            }
        }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| (*item).to_owned()).collect()
    }

    fn file_with(contents: &str) -> (tempfile::NamedTempFile, String) {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(contents.as_bytes()).unwrap();
        let path = file.path().display().to_string();
        (file, path)
    }

    #[test]
    fn files_of_targets_skip_comments_and_blank_lines() {
        let contents = "# plant network\n\n  10.1.0.7  \n10.1.0.10-12 # filling line\r\n\t\n\
                        plc1.local:5020\n#10.1.0.99\n";
        let (_file, path) = file_with(contents);
        let args = strings(&["fd00::1", &format!("@{path}"), "scada-01"]);
        let parsed: Vec<(String, String)> = parse_targets(&args)
            .unwrap()
            .iter()
            .map(|(text, target)| (text.clone(), describe(target)))
            .collect();
        let expected = [
            ("fd00::1", "address fd00::1"),
            ("10.1.0.7", "address 10.1.0.7"),
            ("10.1.0.10-12", "range 10.1.0.10 to 10.1.0.12"),
            ("plc1.local:5020", "host plc1.local port 5020"),
            ("scada-01", "host scada-01"),
        ]
        .map(|(text, description)| (text.to_owned(), description.to_owned()));
        assert_eq!(parsed, expected);
    }

    /// (file contents, the error message after `PATH:`).
    #[rustfmt::skip]
    const BAD_FILES: &[(&str, &str)] = &[
        ("10.1.0.1\n# comment\n\n10.1.0.2\n10.1.0.3\n10.1.0.4\n10.1.0.300 # typo\n", r#"7: "10.1.0.300": not an address, CIDR block, range or host name"#),
        ("10.1.0.1\n@other.txt\n", r#"2: "@other.txt": a file of targets cannot name another file; @FILE is only accepted on the command line"#),
        ("host:99999\n", r#"1: "host:99999": port "99999" is not a number from 1 to 65535"#),
    ];

    #[test]
    fn file_errors_name_the_file_and_line() {
        for (contents, expected) in BAD_FILES {
            let (_file, path) = file_with(contents);
            let error = parse_targets(&strings(&[&format!("@{path}")])).unwrap_err();
            assert_eq!(error.to_string(), format!("{path}:{expected}"));
        }
    }

    #[test]
    fn missing_files_and_bad_arguments_are_refused() {
        let directory = tempfile::tempdir().unwrap();
        let missing = directory.path().join("missing.txt").display().to_string();
        let message = parse_targets(&strings(&[&format!("@{missing}")]))
            .unwrap_err()
            .to_string();
        let expected_start = format!("cannot read the targets file {missing}: ");
        assert!(message.starts_with(&expected_start), "{message}");
        let error = parse_targets(&strings(&["@"])).unwrap_err();
        assert_eq!(error.to_string(), "\"@\": no file name after @");
        let error = parse_targets(&strings(&["10.1.0.1", "10.1.0.300"])).unwrap_err();
        assert_eq!(
            error.to_string(),
            r#""10.1.0.300": not an address, CIDR block, range or host name"#
        );
    }

    /// Space-separated targets.
    fn parse_all(texts: &str) -> Vec<Target> {
        texts
            .split_whitespace()
            .map(|text| parse_target(text).unwrap())
            .collect()
    }

    /// `NAME=ADDRESS,ADDRESS NAME=ADDRESS`.
    fn resolved_map(entries: &str) -> BTreeMap<String, Vec<IpAddr>> {
        entries
            .split_whitespace()
            .map(|entry| {
                let (name, addresses) = entry.split_once('=').unwrap();
                let addresses = addresses.split(',').map(|a| a.parse().unwrap()).collect();
                (name.to_owned(), addresses)
            })
            .collect()
    }

    /// `ADDRESS[:PORT,PORT][@NAME]`, hosts separated by spaces.
    fn describe_hosts(hosts: &[ScanHost]) -> String {
        let describe_host = |host: &ScanHost| {
            let mut text = host.address.to_string();
            if let Some(ports) = &host.ports {
                let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
                text += &format!(":{}", ports.join(","));
            }
            if let Some(name) = &host.hostname {
                text += &format!("@{name}");
            }
            text
        };
        hosts
            .iter()
            .map(describe_host)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// (targets, exclusions, resolved names, expected hosts), see the helpers above.
    #[rustfmt::skip]
    const EXPAND: &[(&str, &str, &str, &str)] = &[
        ("10.1.0.7", "", "", "10.1.0.7"),
        ("10.1.0.0/30", "", "", "10.1.0.0 10.1.0.1 10.1.0.2 10.1.0.3"),
        ("10.1.0.0/30", "10.1.0.1", "", "10.1.0.0 10.1.0.2 10.1.0.3"),
        ("10.1.0.10-14", "10.1.0.11-13", "", "10.1.0.10 10.1.0.14"),
        ("10.1.0.10-14", "10.1.0.9-10.1.0.12 10.1.0.14", "", "10.1.0.13"),
        ("10.1.0.0/24", "10.1.0.0/24", "", ""),
        ("10.1.0.0/24", "10.1.0.2-10.1.0.255", "", "10.1.0.0 10.1.0.1"),
        ("10.1.0.3-5 10.1.0.4 10.1.0.5-6", "", "", "10.1.0.3 10.1.0.4 10.1.0.5 10.1.0.6"),
        ("fd00::2 10.1.0.2 fd00::1 10.1.0.1", "", "", "10.1.0.1 10.1.0.2 fd00::1 fd00::2"),
        ("10.1.0.7:5020 10.1.0.7:502 10.1.0.7:5020", "", "", "10.1.0.7:502,5020"),
        ("10.1.0.6-8 10.1.0.7:5020", "", "", "10.1.0.6 10.1.0.7:5020 10.1.0.8"),
        ("[fd00::7]:5020 fd00::6/127", "", "", "fd00::6 fd00::7:5020"),
        ("fd00::6/127", "fd00::7", "", "fd00::6"),
        ("plc1.local:5020 10.1.0.7 plc2.local", "", "plc1.local=10.1.0.7,fd00::7 plc2.local=10.1.0.8", "10.1.0.7:5020@plc1.local 10.1.0.8@plc2.local fd00::7:5020@plc1.local"),
        ("plc1.local plc1.local:502 plc1.local:503", "", "plc1.local=10.1.0.7", "10.1.0.7:502,503@plc1.local"),
        ("alias.local plc1.local", "", "alias.local=10.1.0.7 plc1.local=10.1.0.7", "10.1.0.7@alias.local"),
        ("unresolvable.local 10.1.0.1", "", "", "10.1.0.1"),
        ("plc1.local plc2.local", "10.1.0.7", "plc1.local=10.1.0.7 plc2.local=10.1.0.8", "10.1.0.8@plc2.local"),
        ("plc1.local", "10.1.0.0/24", "plc1.local=10.1.0.7,fd00::7", "fd00::7@plc1.local"),
        ("10.1.0.6-8", "plc1.local", "plc1.local=10.1.0.7", "10.1.0.6 10.1.0.8"),
        ("255.255.255.254/31", "255.255.255.255", "", "255.255.255.254"),
        ("::/127", "::1", "", "::"),
        ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127", "::", "", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        ("", "", "", ""),
    ];

    #[test]
    fn expansion_sorts_deduplicates_merges_ports_and_excludes() {
        for (targets, excludes, resolved, expected) in EXPAND {
            let hosts = expand(
                &parse_all(targets),
                &parse_all(excludes),
                &resolved_map(resolved),
                65_536,
            )
            .unwrap_or_else(|error| panic!("{targets:?} - {excludes:?}: {error}"));
            assert_eq!(
                describe_hosts(&hosts),
                *expected,
                "{targets:?} - {excludes:?}"
            );
        }
    }

    /// (targets, exclusions, resolved names, the whole error message).
    #[rustfmt::skip]
    const EXPAND_ERRORS: &[(&str, &str, &str, &str)] = &[
        ("10.1.0.0/24", "10.1.0.7:502", "", r#"exclusion "10.1.0.7:502" has a port; exclusions remove whole addresses, so write it without the port"#),
        ("10.1.0.0/24", "plc1.local:502", "plc1.local=10.1.0.7", r#"exclusion "plc1.local:502" has a port; exclusions remove whole addresses, so write it without the port"#),
        ("10.1.0.0/24", "plc9.local", "", r#"exclusion "plc9.local" could not be resolved, so its addresses cannot be kept out of the scan; exclude them by address instead"#),
    ];

    #[test]
    fn expansion_refuses_exclusions_it_cannot_honour_exactly() {
        for (targets, excludes, resolved, expected) in EXPAND_ERRORS {
            let error = expand(
                &parse_all(targets),
                &parse_all(excludes),
                &resolved_map(resolved),
                65_536,
            )
            .unwrap_err();
            assert_eq!(error.to_string(), *expected);
        }
    }

    /// (targets, exclusions, limit, the whole error message).
    #[rustfmt::skip]
    const TOO_MANY: &[(&str, &str, u64, &str)] = &[
        ("10.0.0.0/8", "", 65_536, "10.0.0.0/8 has 16777216 addresses, more than the limit of 65536; narrow the targets or raise --max-hosts"),
        ("10.0.0.0/8", "10.0.0.0/9", 65_536, "10.0.0.0/8 has 16777216 addresses, more than the limit of 65536; narrow the targets or raise --max-hosts"),
        ("10.1.0.1 fd00::/64", "", 65_536, "fd00::/64 has 18446744073709551616 addresses, more than the limit of 65536; narrow the targets or raise --max-hosts"),
        ("::/0", "", u64::MAX, "::/0 has 340282366920938463463374607431768211455 addresses, more than the limit of 18446744073709551615; narrow the targets or raise --max-hosts"),
        ("10.1.0.0/24 10.2.0.0/24", "", 500, "the targets have 512 addresses after exclusions, more than the limit of 500; narrow the targets or raise --max-hosts"),
        ("10.1.0.0/24", "", 255, "10.1.0.0/24 has 256 addresses, more than the limit of 255; narrow the targets or raise --max-hosts"),
        ("10.1.0.7", "", 0, "10.1.0.7 has 1 address, more than the limit of 0; narrow the targets or raise --max-hosts"),
    ];

    #[test]
    fn too_many_addresses_are_refused_quickly_before_being_produced() {
        for (targets, excludes, limit, expected) in TOO_MANY {
            let started = Instant::now();
            let error = expand(
                &parse_all(targets),
                &parse_all(excludes),
                &BTreeMap::new(),
                *limit,
            )
            .unwrap_err();
            assert!(
                started.elapsed() < Duration::from_millis(100),
                "{targets:?} was slow"
            );
            assert_eq!(error.to_string(), *expected);
        }
    }

    /// (targets, exclusions, limit, number of hosts produced).
    #[rustfmt::skip]
    const WITHIN_LIMIT: &[(&str, &str, u64, usize)] = &[
        ("10.1.0.0/24", "", 256, 256),
        ("10.1.0.0/24 10.1.0.0/25 10.1.0.7 10.1.0.7:502", "", 256, 256),
        ("10.0.0.0/8", "10.0.0.0/9 10.128.0.0/10 10.192.0.0/11 10.224.0.0/12 10.240.0.0/13 10.248.0.0/14 10.252.0.0/15 10.254.0.0/16", 65_536, 65_536),
        ("fd00::/112", "fd00::/113 fd00::8000", 32_767, 32_767),
    ];

    #[test]
    fn the_limit_counts_addresses_after_deduplication_and_exclusions() {
        for (targets, excludes, limit, expected) in WITHIN_LIMIT {
            let hosts = expand(
                &parse_all(targets),
                &parse_all(excludes),
                &BTreeMap::new(),
                *limit,
            )
            .unwrap_or_else(|error| panic!("{targets:?}: {error}"));
            assert_eq!(hosts.len(), *expected, "{targets:?}");
        }
    }

    /// (targets, address_count).
    #[rustfmt::skip]
    const COUNTS: &[(&str, u64)] = &[
        ("", 0),
        ("10.1.0.7 10.1.0.7:502", 1),
        ("10.1.0.0/24 10.1.0.10-60 plc1.local", 256),
        ("10.1.0.0/24 fd00::/120", 512),
        ("10.0.0.0/8", 16_777_216),
        ("::/0", u64::MAX),
    ];

    #[test]
    fn address_count_counts_distinct_literal_addresses() {
        for (targets, expected) in COUNTS {
            assert_eq!(address_count(&parse_all(targets)), *expected, "{targets:?}");
        }
    }

    #[tokio::test]
    async fn localhost_resolves_to_loopback_only() {
        let targets = parse_all("localhost:502 LOCALHOST 127.0.0.1");
        let (resolved, failures) = resolve_host_names(&targets, Duration::from_secs(5)).await;
        assert!(failures.is_empty(), "{failures:?}");
        assert_eq!(resolved.keys().collect::<Vec<_>>(), ["localhost"]);
        let addresses = &resolved["localhost"];
        assert!(!addresses.is_empty());
        assert!(addresses.iter().all(IpAddr::is_loopback), "{addresses:?}");
    }
}
