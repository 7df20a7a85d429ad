//! The network topology in an evidence document: subnets contain hosts, hosts
//! serve protocol services, gateways lead to the devices behind them.
//!
//! Stored as flat node and edge lists (stable, diffable JSON); [`Topology::to_graph`]
//! gives a petgraph graph for analysis and drawing, and [`Topology::from_assets`]
//! derives the whole topology from the assets of a document.

use std::{collections::BTreeMap, net::IpAddr};

use petgraph::graph::{DiGraph, NodeIndex};
use serde::{Deserialize, Serialize};

use super::{Asset, AssetRole, Attachment};

/// Nodes and edges of the plant network as discovered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topology {
    /// Every node, ordered by id.
    pub nodes: Vec<TopologyNode>,
    /// Every edge, ordered by (from, to).
    pub edges: Vec<TopologyEdge>,
}

/// A node of the topology.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TopologyNode {
    /// Unique id: `subnet:10.1.0.0/24`, an asset id, or `ASSET/modbus:502`.
    pub id: String,
    /// What the node is.
    pub kind: TopologyNodeKind,
    /// Short label for drawings.
    pub label: String,
    /// ISA-95 level, for layered drawings.
    #[serde(default)]
    pub isa95_level: Option<u8>,
}

/// What a topology node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TopologyNodeKind {
    /// An IP subnet (/24 for IPv4, /64 for IPv6), grouping hosts.
    Subnet,
    /// A host on the network.
    Host,
    /// A protocol service on a host's port.
    Service,
    /// A device reached through a gateway.
    SubDevice,
}

/// An edge: `from` relates to `to`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TopologyEdge {
    /// Source node id.
    pub from: String,
    /// Target node id.
    pub to: String,
    /// How they relate.
    pub relation: TopologyRelation,
}

/// How two topology nodes relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TopologyRelation {
    /// Subnet contains host.
    Contains,
    /// Host serves a protocol on a port.
    Serves,
    /// A gateway service reaches a sub-device (over a serial line).
    Reaches,
}

impl Topology {
    /// Derives the topology of a set of assets.
    pub fn from_assets(assets: &[Asset]) -> Topology {
        let mut nodes = BTreeMap::new();
        let mut edges = Vec::new();
        for asset in assets {
            let asset_node = TopologyNode {
                id: asset.id.0.clone(),
                kind: match asset.attachment {
                    Attachment::Network => TopologyNodeKind::Host,
                    Attachment::BehindGateway { .. } => TopologyNodeKind::SubDevice,
                },
                label: asset_label(asset),
                isa95_level: asset.isa95_level,
            };
            nodes.insert(asset_node.id.clone(), asset_node);
            match &asset.attachment {
                Attachment::Network => {
                    let subnet = subnet_of(asset.address);
                    nodes.entry(subnet.clone()).or_insert_with(|| TopologyNode {
                        id: subnet.clone(),
                        kind: TopologyNodeKind::Subnet,
                        label: subnet.trim_start_matches("subnet:").to_owned(),
                        isa95_level: None,
                    });
                    edges.push(TopologyEdge {
                        from: subnet,
                        to: asset.id.0.clone(),
                        relation: TopologyRelation::Contains,
                    });
                    let services = asset
                        .modbus
                        .iter()
                        .map(|s| ("modbus", s.port))
                        .chain(asset.opcua.iter().map(|s| ("opcua", s.port)));
                    for (protocol, port) in services {
                        let id = service_id(&asset.id.0, protocol, port);
                        nodes.insert(
                            id.clone(),
                            TopologyNode {
                                id: id.clone(),
                                kind: TopologyNodeKind::Service,
                                label: format!("{protocol}:{port}"),
                                isa95_level: asset.isa95_level,
                            },
                        );
                        edges.push(TopologyEdge {
                            from: asset.id.0.clone(),
                            to: id,
                            relation: TopologyRelation::Serves,
                        });
                    }
                }
                Attachment::BehindGateway { gateway, port, .. } => {
                    edges.push(TopologyEdge {
                        from: service_id(&gateway.0, "modbus", *port),
                        to: asset.id.0.clone(),
                        relation: TopologyRelation::Reaches,
                    });
                }
            }
        }
        edges.sort();
        edges.dedup();
        Topology {
            nodes: nodes.into_values().collect(),
            edges,
        }
    }

    /// The topology as a directed petgraph graph (edges point from container to
    /// contained), with a map from node id to graph index. Edges naming unknown
    /// nodes are skipped.
    pub fn to_graph(
        &self,
    ) -> (
        DiGraph<TopologyNode, TopologyRelation>,
        BTreeMap<String, NodeIndex>,
    ) {
        let mut graph = DiGraph::new();
        let mut index = BTreeMap::new();
        for node in &self.nodes {
            index.insert(node.id.clone(), graph.add_node(node.clone()));
        }
        for edge in &self.edges {
            if let (Some(&from), Some(&to)) = (index.get(&edge.from), index.get(&edge.to)) {
                graph.add_edge(from, to, edge.relation);
            }
        }
        (graph, index)
    }
}

fn service_id(asset: &str, protocol: &str, port: u16) -> String {
    format!("{asset}/{protocol}:{port}")
}

fn asset_label(asset: &Asset) -> String {
    let identity = &asset.identity;
    let name = identity
        .product
        .as_ref()
        .or(identity.product_code.as_ref())
        .or(identity.vendor.as_ref());
    let role = match asset.role.role {
        AssetRole::Plc => "PLC",
        AssetRole::Gateway => "gateway",
        AssetRole::Meter => "meter",
        AssetRole::Drive => "drive",
        AssetRole::Io => "I/O",
        AssetRole::Hmi => "HMI",
        AssetRole::Scada => "SCADA",
        AssetRole::OpcUaServer => "OPC UA server",
        AssetRole::Unknown => "device",
    };
    match (name, &asset.attachment) {
        (Some(name), _) => format!("{role} {name}"),
        (None, Attachment::BehindGateway { unit_id, .. }) => format!("{role} unit {unit_id}"),
        (None, Attachment::Network) => format!("{role} {}", asset.id),
    }
}

/// The `subnet:` node id of an address: its /24 (IPv4) or /64 (IPv6).
fn subnet_of(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("subnet:{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let prefix = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            format!("subnet:{prefix}/64")
        }
    }
}
