//! Cycle detection over job `needs` and environment `after`, with the cycle's path.

use crate::model::{Environment, Job, Map};
use petgraph::algo::tarjan_scc;
use petgraph::graphmap::DiGraphMap;

/// Each dependency cycle once, as the ids along it, starting at the earliest-declared member.
pub fn cycles(jobs: &Map<Job>) -> Vec<Vec<String>> {
    let edges = jobs.iter().enumerate().flat_map(|(from, (_, job))| {
        job.needs
            .iter()
            .flat_map(|n| n.iter())
            .filter_map(move |need| jobs.get_index_of(need.as_str()).map(|to| (from, to)))
    });
    find_cycles(jobs.len(), edges.collect(), |i| {
        jobs.get_index(i)
            .map(|(k, _)| k.name.clone())
            .unwrap_or_default()
    })
}

pub fn environment_cycles(environments: &Map<Environment>) -> Vec<Vec<String>> {
    let edges = environments
        .iter()
        .enumerate()
        .flat_map(|(from, (_, env))| {
            env.after
                .iter()
                .flat_map(|a| a.iter())
                .filter_map(move |after| {
                    environments
                        .get_index_of(after.as_str())
                        .map(|to| (from, to))
                })
        });
    find_cycles(environments.len(), edges.collect(), |i| {
        environments
            .get_index(i)
            .map(|(k, _)| k.name.clone())
            .unwrap_or_default()
    })
}

fn find_cycles(
    count: usize,
    edges: Vec<(usize, usize)>,
    name: impl Fn(usize) -> String,
) -> Vec<Vec<String>> {
    let mut graph: DiGraphMap<usize, ()> = DiGraphMap::default();
    for node in 0..count {
        graph.add_node(node);
    }
    for (from, to) in &edges {
        graph.add_edge(*from, *to, ());
    }
    let mut out = Vec::new();
    for mut component in tarjan_scc(&graph) {
        component.sort_unstable();
        let start = component[0];
        if component.len() == 1 && !graph.contains_edge(start, start) {
            continue;
        }
        // Breadth-first from `start` back to itself inside the component gives a shortest cycle.
        let mut previous = vec![usize::MAX; count];
        let mut queue = std::collections::VecDeque::from([start]);
        let mut closing = None;
        'search: while let Some(node) = queue.pop_front() {
            let mut next: Vec<usize> = graph
                .neighbors(node)
                .filter(|n| component.binary_search(n).is_ok())
                .collect();
            next.sort_unstable();
            for neighbor in next {
                if neighbor == start {
                    closing = Some(node);
                    break 'search;
                }
                if previous[neighbor] == usize::MAX {
                    previous[neighbor] = node;
                    queue.push_back(neighbor);
                }
            }
        }
        let Some(mut node) = closing else { continue };
        let mut path = vec![node];
        while node != start {
            node = previous[node];
            path.push(node);
        }
        path.reverse();
        out.push(path.into_iter().map(&name).collect());
    }
    out.sort();
    out
}
