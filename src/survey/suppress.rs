//! The anonymity rule: no published group has fewer than k enterprises, and
//! no such group can be recovered by subtracting published figures.
//!
//! - **One-way tables** (by sector, by region): groups that pass are
//!   published; the rest are merged into one "other" group. When that group
//!   does not pass either, the smallest published groups join it until it
//!   does (or nothing is left to publish). The national figures minus the
//!   published groups then equal a group that passes, never a small one.
//! - **Cross-tabulations** (sector × region, over the published groups of the
//!   one-way tables): a cell below k is suppressed; then, in every row and
//!   column, the suppressed cells must together hold 0 or at least k
//!   enterprises, else the smallest published non-empty cell of that line is
//!   suppressed too, until nothing changes. The margins minus the published
//!   cells thus only ever give groups of k or more.
//!
//! What "passes" is up to the caller: at least k members for a cross-section;
//! for a trend also that the enterprises outside the panel number 0 or ≥ k.

use std::collections::BTreeMap;

/// A one-way table after merging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition<K> {
    /// Published groups, in key order, with their members.
    pub groups: Vec<(K, Vec<usize>)>,
    /// Members of every unpublished group, merged.
    pub other: Vec<usize>,
    /// Whether the merged group passes and is published.
    pub other_published: bool,
    /// How many of the original groups were merged into "other".
    pub merged: usize,
}

/// Splits `groups` into published groups and one merged remainder, as
/// described in the module documentation. `passes` decides a group.
pub fn merge_small<K: Ord + Clone>(
    groups: BTreeMap<K, Vec<usize>>,
    passes: impl Fn(&[usize]) -> bool,
) -> Partition<K> {
    let mut published = Vec::new();
    let mut other = Vec::new();
    let mut merged = 0;
    for (key, members) in groups {
        if members.is_empty() {
            continue;
        }
        if passes(&members) {
            published.push((key, members));
        } else {
            other.extend(members);
            merged += 1;
        }
    }
    while !other.is_empty() && !passes(&other) {
        let Some(smallest) = published
            .iter()
            .enumerate()
            .min_by(|(_, (ka, a)), (_, (kb, b))| a.len().cmp(&b.len()).then_with(|| kb.cmp(ka)))
            .map(|(index, _)| index)
        else {
            break;
        };
        let (_, members) = published.remove(smallest);
        other.extend(members);
        merged += 1;
    }
    other.sort_unstable();
    let other_published = !other.is_empty() && passes(&other);
    Partition {
        groups: published,
        other,
        other_published,
        merged,
    }
}

/// Which cells of a cross-tabulation of counts may be published.
///
/// `counts[row][column]`; every row and column total must itself be
/// publishable (a group of the one-way tables). Returns `true` for a
/// published cell.
pub fn cross_tab(counts: &[Vec<usize>], k: usize) -> Vec<Vec<bool>> {
    let rows = counts.len();
    let columns = counts.first().map_or(0, Vec::len);
    let mut published: Vec<Vec<bool>> = counts
        .iter()
        .map(|row| row.iter().map(|&n| n == 0 || n >= k).collect())
        .collect();
    let lines: Vec<Vec<(usize, usize)>> = (0..rows)
        .map(|r| (0..columns).map(|c| (r, c)).collect())
        .chain((0..columns).map(|c| (0..rows).map(|r| (r, c)).collect()))
        .collect();
    loop {
        let mut changed = false;
        for line in &lines {
            let hidden: usize = line
                .iter()
                .filter(|&&(r, c)| !published[r][c])
                .map(|&(r, c)| counts[r][c])
                .sum();
            if hidden == 0 || hidden >= k {
                continue;
            }
            let next = line
                .iter()
                .filter(|&&(r, c)| published[r][c] && counts[r][c] > 0)
                .min_by_key(|&&(r, c)| (counts[r][c], r, c));
            if let Some(&(r, c)) = next {
                published[r][c] = false;
                changed = true;
            }
        }
        if !changed {
            return published;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(sizes: &[(&'static str, usize)]) -> BTreeMap<&'static str, Vec<usize>> {
        let mut next = 0;
        sizes
            .iter()
            .map(|&(key, n)| {
                let members = (next..next + n).collect();
                next += n;
                (key, members)
            })
            .collect()
    }

    fn at_least(k: usize) -> impl Fn(&[usize]) -> bool {
        move |m: &[usize]| m.len() >= k
    }

    #[test]
    fn large_groups_are_published_and_small_ones_merged() {
        let p = merge_small(
            groups(&[("a", 10), ("b", 3), ("c", 2), ("d", 7)]),
            at_least(5),
        );
        let keys: Vec<_> = p.groups.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, ["a", "d"]);
        assert_eq!(p.other.len(), 5);
        assert!(p.other_published);
        assert_eq!(p.merged, 2);
    }

    #[test]
    fn a_small_remainder_pulls_in_the_smallest_published_group() {
        // "c" alone (2) would be recoverable as national − a − b: b joins it.
        let p = merge_small(groups(&[("a", 10), ("b", 6), ("c", 2)]), at_least(5));
        let keys: Vec<_> = p.groups.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, ["a"]);
        assert_eq!(p.other.len(), 8);
        assert!(p.other_published);
    }

    #[test]
    fn when_nothing_can_be_published_nothing_is() {
        let p = merge_small(groups(&[("a", 3), ("b", 1)]), at_least(5));
        assert!(p.groups.is_empty());
        assert!(!p.other_published);
        let p = merge_small(groups(&[("a", 6), ("b", 1)]), at_least(5));
        assert!(p.groups.is_empty(), "a alone would reveal b by subtraction");
        assert!(p.other_published, "a ∪ b is one group of 7");
    }

    #[test]
    fn no_published_figure_isolates_fewer_than_k() {
        // Exhaustively over small populations whose total is published (≥ k):
        // the complement of the published groups (what subtraction from the
        // total gives) is 0 or ≥ k.
        let k = 3;
        for a in 0..8 {
            for b in 0..8 {
                for c in (0..8).filter(|c| a + b + c >= k) {
                    let p = merge_small(groups(&[("a", a), ("b", b), ("c", c)]), at_least(k));
                    let published: usize = p.groups.iter().map(|(_, m)| m.len()).sum();
                    let rest = a + b + c - published;
                    assert!(rest == 0 || rest >= k, "{a} {b} {c}: {p:?}");
                    for (_, m) in &p.groups {
                        assert!(m.len() >= k);
                    }
                }
            }
        }
    }

    #[test]
    fn cross_tab_suppresses_a_second_cell_where_one_would_be_recoverable() {
        let counts = vec![vec![10, 2, 8], vec![9, 7, 6]];
        let published = cross_tab(&counts, 5);
        assert!(!published[0][1], "2 < k");
        // Row 0 would reveal the 2 by subtraction: its smallest other cell goes too.
        assert!(!published[0][2]);
        // Columns 1 and 2 now hide 2 and 8; column 1 hides only 2: cell (1,1) goes.
        assert!(!published[1][1]);
        // Every line hides 0 or ≥ k.
        check_lines(&counts, &published, 5);
    }

    fn check_lines(counts: &[Vec<usize>], published: &[Vec<bool>], k: usize) {
        for (r, row) in counts.iter().enumerate() {
            let hidden: usize = (0..row.len())
                .filter(|&c| !published[r][c])
                .map(|c| row[c])
                .sum();
            assert!(hidden == 0 || hidden >= k, "row {r}: {hidden}");
            for (c, &n) in row.iter().enumerate() {
                if published[r][c] {
                    assert!(n == 0 || n >= k);
                }
            }
        }
        for c in 0..counts[0].len() {
            let hidden: usize = (0..counts.len())
                .filter(|&r| !published[r][c])
                .map(|r| counts[r][c])
                .sum();
            assert!(hidden == 0 || hidden >= k, "column {c}: {hidden}");
        }
    }

    #[test]
    fn cross_tab_lines_never_hide_fewer_than_k() {
        // A deterministic sweep of 3 × 3 tables whose margins are ≥ k.
        let k = 4;
        let mut seed = 7u64;
        for _ in 0..5000 {
            let counts: Vec<Vec<usize>> = (0..3)
                .map(|_| {
                    (0..3)
                        .map(|_| {
                            seed = seed
                                .wrapping_mul(6364136223846793005)
                                .wrapping_add(1442695040888963407);
                            ((seed >> 33) % 9) as usize
                        })
                        .collect()
                })
                .collect();
            let margins_ok = counts.iter().all(|r| r.iter().sum::<usize>() >= k)
                && (0..3).all(|c| counts.iter().map(|r| r[c]).sum::<usize>() >= k);
            if !margins_ok {
                continue;
            }
            let published = cross_tab(&counts, k);
            check_lines(&counts, &published, k);
        }
    }
}
