//! Address-space summary by browsing: breadth-first from the Objects folder
//! over hierarchical references, Variable children included.
//!
//! Many nodes go into one Browse request (up to the server's MaxNodesPerBrowse,
//! halved on BadTooManyOperations), several requests are in flight at once,
//! continuation points are followed with BrowseNext and released when the walk
//! stops early at `max_nodes` or the deadline. Read-only: Browse and BrowseNext
//! are the only services used.

use std::{
    collections::{BTreeMap, HashSet, VecDeque},
    time::{Duration, Instant},
};

use futures::{StreamExt, stream::FuturesUnordered};
use opcua::{
    client::Session,
    types::{
        BrowseDescription, BrowseDirection, BrowseResult, BrowseResultMask, ByteString, NodeClass,
        NodeClassMask, NodeId, ObjectId, ReferenceDescription, ReferenceTypeId, StatusCode,
    },
};

use crate::evidence::AddressSpaceSummary;

/// Limits of one browse.
#[derive(Debug, Clone, Copy)]
pub struct BrowseLimits {
    /// Stop after this many distinct nodes.
    pub max_nodes: u64,
    /// Do not browse deeper than this below the Objects folder.
    pub max_depth: u32,
    /// Nodes per Browse request at most (the server's MaxNodesPerBrowse if smaller).
    pub nodes_per_request: usize,
    /// Browse requests in flight at once.
    pub requests_in_flight: usize,
    /// Timeout of one request.
    pub timeout: Duration,
    /// Stop browsing after this long in all.
    pub budget: Duration,
}

/// A browse request in flight: the nodes asked for (with their depth) or the
/// continuation points followed.
enum Work {
    Browse(Vec<(NodeId, u32)>),
    Next(Vec<(ByteString, u32)>),
}

fn describe(node: &NodeId) -> BrowseDescription {
    BrowseDescription {
        node_id: node.clone(),
        browse_direction: BrowseDirection::Forward,
        reference_type_id: ReferenceTypeId::HierarchicalReferences.into(),
        include_subtypes: true,
        node_class_mask: NodeClassMask::empty().bits(),
        // Only what the summary needs: smaller responses, faster walks.
        result_mask: (BrowseResultMask::NodeClass as u32)
            | (BrowseResultMask::TypeDefinition as u32),
    }
}

fn class_name(class: NodeClass) -> &'static str {
    match class {
        NodeClass::Object => "Object",
        NodeClass::Variable => "Variable",
        NodeClass::Method => "Method",
        NodeClass::ObjectType => "ObjectType",
        NodeClass::VariableType => "VariableType",
        NodeClass::ReferenceType => "ReferenceType",
        NodeClass::DataType => "DataType",
        NodeClass::View => "View",
        NodeClass::Unspecified => "Unspecified",
    }
}

/// What the walk has learned so far.
struct Walk {
    visited: HashSet<NodeId>,
    queue: VecDeque<(NodeId, u32)>,
    by_node_class: BTreeMap<String, u64>,
    object_types: std::collections::HashMap<NodeId, u64>,
    deepest: u32,
    truncated: bool,
    limits: BrowseLimits,
}

impl Walk {
    fn take(
        &mut self,
        result: BrowseResult,
        depth: u32,
        continuations: &mut Vec<(ByteString, u32)>,
    ) {
        if !result.continuation_point.is_null() {
            continuations.push((result.continuation_point.clone(), depth));
        }
        for reference in result.references.unwrap_or_default() {
            self.visit(reference, depth);
        }
    }

    fn visit(&mut self, reference: ReferenceDescription, parent_depth: u32) {
        if reference.node_id.server_index != 0 || !reference.node_id.namespace_uri.is_null() {
            return; // a node on another server, or not resolvable here
        }
        let node = reference.node_id.node_id;
        if self.visited.len() as u64 >= self.limits.max_nodes {
            self.truncated = true;
            return;
        }
        if !self.visited.insert(node.clone()) {
            return;
        }
        let depth = parent_depth + 1;
        self.deepest = self.deepest.max(depth);
        *self
            .by_node_class
            .entry(class_name(reference.node_class).to_owned())
            .or_default() += 1;
        if reference.node_class == NodeClass::Object {
            let type_definition = reference.type_definition.node_id;
            if !type_definition.is_null() {
                *self.object_types.entry(type_definition).or_default() += 1;
            }
        }
        let descend = matches!(
            reference.node_class,
            NodeClass::Object | NodeClass::Variable
        );
        if descend {
            if depth < self.limits.max_depth {
                self.queue.push_back((node, depth));
            } else {
                self.truncated = true;
            }
        }
    }
}

/// Walks the address space of `session` and summarises it. `namespaces` is the
/// server's NamespaceArray (to name object types); `max_nodes_per_browse` is
/// its operation limit, if it published one.
pub async fn summarize(
    session: &Session,
    namespaces: &[String],
    max_nodes_per_browse: Option<u32>,
    limits: BrowseLimits,
) -> (AddressSpaceSummary, Vec<String>) {
    let started = Instant::now();
    let mut problems = Vec::new();
    let mut batch_size = limits
        .nodes_per_request
        .min(max_nodes_per_browse.map_or(usize::MAX, |n| n as usize))
        .max(1);
    let root: NodeId = ObjectId::ObjectsFolder.into();
    let mut walk = Walk {
        visited: HashSet::from([root.clone()]),
        queue: VecDeque::from([(root, 0)]),
        by_node_class: BTreeMap::new(),
        object_types: std::collections::HashMap::new(),
        deepest: 0,
        truncated: false,
        limits,
    };
    let mut pending_continuations: Vec<(ByteString, u32)> = Vec::new();
    let mut references_per_node: u32 = 1000;
    let mut in_flight = FuturesUnordered::new();

    loop {
        let out_of_budget = started.elapsed() > limits.budget;
        let full = walk.visited.len() as u64 >= limits.max_nodes;
        if out_of_budget || full {
            walk.truncated |= !walk.queue.is_empty()
                || !pending_continuations.is_empty()
                || !in_flight.is_empty();
            if out_of_budget {
                problems.push(format!(
                    "browse stopped after {:.1} s with {} nodes",
                    started.elapsed().as_secs_f64(),
                    walk.visited.len()
                ));
            }
            break;
        }
        // Fill the pipeline: continuation points first, then new nodes.
        while in_flight.len() < limits.requests_in_flight {
            let work = if !pending_continuations.is_empty() {
                let take = pending_continuations.len().min(batch_size);
                Work::Next(pending_continuations.drain(..take).collect())
            } else if !walk.queue.is_empty() {
                let take = walk.queue.len().min(batch_size);
                Work::Browse(walk.queue.drain(..take).collect())
            } else {
                break;
            };
            in_flight.push(send(session, work, references_per_node, limits.timeout));
        }
        let Some((work, outcome)) = in_flight.next().await else {
            break; // nothing queued, nothing in flight: done
        };
        match outcome {
            Ok(results) => {
                let depths: Vec<u32> = match &work {
                    Work::Browse(nodes) => nodes.iter().map(|(_, d)| *d).collect(),
                    Work::Next(points) => points.iter().map(|(_, d)| *d).collect(),
                };
                for (result, depth) in results.into_iter().zip(depths) {
                    if result.status_code.is_bad() {
                        continue; // BadNodeIdUnknown and the like: nothing below
                    }
                    walk.take(result, depth, &mut pending_continuations);
                }
            }
            Err(status) if is_too_big(status) && (batch_size > 1 || references_per_node > 1) => {
                // Fewer references per node first (the rest comes through
                // continuation points, and leaf nodes cost nothing), then fewer
                // nodes per request.
                if references_per_node > 1 {
                    references_per_node /= 2;
                } else {
                    batch_size /= 2;
                }
                match work {
                    Work::Browse(nodes) => walk.queue.extend(nodes),
                    Work::Next(points) => pending_continuations.extend(points),
                }
            }
            Err(status) => {
                problems.push(format!("browse request failed: {status}"));
                walk.truncated = true;
                break;
            }
        }
    }

    // Let requests in flight finish so their continuation points can be released.
    while let Some((_, outcome)) = in_flight.next().await {
        if let Ok(results) = outcome {
            for result in results {
                if !result.continuation_point.is_null() {
                    pending_continuations.push((result.continuation_point, 0));
                }
            }
        }
    }
    if !pending_continuations.is_empty() {
        let points: Vec<ByteString> = pending_continuations.into_iter().map(|(p, _)| p).collect();
        for chunk in points.chunks(batch_size) {
            let _ = tokio::time::timeout(limits.timeout, session.browse_next(true, chunk)).await;
        }
    }

    let object_types = walk
        .object_types
        .into_iter()
        .map(|(type_id, count)| (type_name(&type_id, namespaces), count))
        .fold(BTreeMap::new(), |mut map, (name, count)| {
            *map.entry(name).or_insert(0) += count;
            map
        });
    let summary = AddressSpaceSummary {
        nodes: walk.visited.len() as u64 - 1,
        by_node_class: walk.by_node_class,
        truncated: walk.truncated,
        max_depth: walk.deepest,
        object_types,
        companion_instances: BTreeMap::new(),
    };
    (summary, problems)
}

/// Whether a failed request should be retried with fewer nodes.
fn is_too_big(status: StatusCode) -> bool {
    [
        StatusCode::BadTooManyOperations,
        StatusCode::BadResponseTooLarge,
        StatusCode::BadRequestTooLarge,
        StatusCode::BadEncodingLimitsExceeded,
        StatusCode::BadTcpMessageTooLarge,
    ]
    .iter()
    .any(|big| big.sub_code() == status.sub_code())
}

/// `NAMESPACE_URI#IDENTIFIER` for a type node; standard types as `i=58`.
fn type_name(node: &NodeId, namespaces: &[String]) -> String {
    let identifier = node.identifier.to_string();
    match node.namespace {
        0 => identifier,
        index => match namespaces.get(usize::from(index)) {
            Some(uri) => format!("{uri}#{identifier}"),
            None => format!("ns={index};{identifier}"),
        },
    }
}

async fn send(
    session: &Session,
    work: Work,
    references_per_node: u32,
    timeout: Duration,
) -> (Work, Result<Vec<BrowseResult>, StatusCode>) {
    let outcome = match &work {
        Work::Browse(nodes) => {
            let descriptions: Vec<BrowseDescription> =
                nodes.iter().map(|(node, _)| describe(node)).collect();
            tokio::time::timeout(
                timeout,
                session.browse(&descriptions, references_per_node, None),
            )
            .await
        }
        Work::Next(points) => {
            let points: Vec<ByteString> = points.iter().map(|(p, _)| p.clone()).collect();
            tokio::time::timeout(timeout, session.browse_next(false, &points)).await
        }
    };
    let outcome = match outcome {
        Ok(Ok(results)) => Ok(results),
        Ok(Err(error)) => Err(error.status()),
        Err(_) => Err(StatusCode::BadTimeout),
    };
    (work, outcome)
}
