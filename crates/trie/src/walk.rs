//! The walk over stored branch nodes that decides which subtrees to reuse, and the feed of leaves
//! and reused subtree hashes into `HashBuilder`.

use alloy_primitives::{B256, map::HashMap};
use alloy_trie::{
    BranchNodeCompact, HashBuilder, Nibbles,
    proof::{ProofNodes, ProofRetainer},
};

use crate::{LeafReader, PrefixSet, TrieError, TrieNodeReader};

/// The node changes a root computation produced, to be written with the new state.
#[derive(Debug, Default, Clone)]
pub struct TrieUpdates {
    /// Stored nodes that must be deleted (exact paths).
    pub removed: Vec<Nibbles>,
    /// Nodes to write after the deletions.
    pub updated: Vec<(Nibbles, BranchNodeCompact)>,
}

impl TrieUpdates {
    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.removed.is_empty() && self.updated.is_empty()
    }
}

/// A new root and the node updates that go with it.
#[derive(Debug, Clone)]
pub struct RootOutput {
    /// The trie root.
    pub root: B256,
    /// Node updates to store.
    pub updates: TrieUpdates,
}

/// A subtree whose hash is reused as is.
struct Skip {
    path: Nibbles,
    hash: B256,
    in_db: bool,
}

#[derive(Default)]
struct Plan {
    skips: Vec<Skip>,
    visited: Vec<Nibbles>,
}

/// Walks stored nodes from the top, skipping every subtree with no key in `changed`.
fn plan(nodes: &mut impl TrieNodeReader, changed: &PrefixSet) -> Result<Plan, TrieError> {
    let mut plan = Plan::default();
    if let Some((path, node)) = nodes.seek_node(&Nibbles::default())? {
        walk(nodes, changed, path, node, &mut plan)?;
    }
    Ok(plan)
}

fn walk(
    nodes: &mut impl TrieNodeReader,
    changed: &PrefixSet,
    path: Nibbles,
    node: BranchNodeCompact,
    plan: &mut Plan,
) -> Result<(), TrieError> {
    plan.visited.push(path);
    for nibble in 0u8..16 {
        if !node.state_mask.is_bit_set(nibble) {
            continue;
        }
        let mut child = path;
        child.push(nibble);
        let in_db = node.tree_mask.is_bit_set(nibble);
        if node.hash_mask.is_bit_set(nibble) && !changed.contains_prefix(&child) {
            let hash = node_hash(&node, nibble, &path)?;
            plan.skips.push(Skip {
                path: child,
                hash,
                in_db,
            });
            continue;
        }
        if in_db
            && let Some((next_path, next)) = nodes.seek_node(&child)?
            && next_path.starts_with(&child)
        {
            walk(nodes, changed, next_path, next, plan)?;
            continue;
        }
        // Otherwise the subtree is rebuilt from its leaves. No stored node lies below it: the
        // tree mask has no bit for it, or the seek found none (the property tests compare the
        // stored node set with a full rebuild after every step).
    }
    Ok(())
}

fn node_hash(node: &BranchNodeCompact, nibble: u8, path: &Nibbles) -> Result<B256, TrieError> {
    let index = (node.hash_mask.get() & ((1u16 << nibble) - 1)).count_ones() as usize;
    node.hashes
        .get(index)
        .copied()
        .ok_or_else(|| TrieError::Corrupt {
            path: format!("{path:?}"),
            reason: "hash mask names more children than hashes stored",
        })
}

/// The smallest 32-byte key with the nibble prefix `path`.
fn lower_bound(path: &Nibbles) -> B256 {
    let mut out = [0u8; 32];
    path.pack_to(&mut out[..path.len().div_ceil(2)]);
    B256::from(out)
}

/// Feeds leaves outside skipped subtrees, and the skipped subtrees' hashes, in key order.
fn feed(
    hb: &mut HashBuilder,
    leaves: &mut impl LeafReader,
    skips: &[Skip],
) -> Result<(), TrieError> {
    let mut from = Some(B256::ZERO);
    for skip in skips {
        let lo = lower_bound(&skip.path);
        if let Some(f) = from.filter(|f| *f < lo) {
            leaves.for_each_leaf(&f, Some(&lo), &mut |k, v| {
                hb.add_leaf(Nibbles::unpack(k), v)
            })?;
        }
        hb.add_branch(skip.path, skip.hash, skip.in_db);
        from = skip.path.increment().map(|p| lower_bound(&p));
    }
    if let Some(f) = from {
        leaves.for_each_leaf(&f, None, &mut |k, v| hb.add_leaf(Nibbles::unpack(k), v))?;
    }
    Ok(())
}

/// Computes the root of a trie whose leaves are `leaves` and whose stored nodes are `nodes`, the
/// stored nodes being valid except along the keys in `changed`.
pub fn compute_root(
    nodes: &mut impl TrieNodeReader,
    leaves: &mut impl LeafReader,
    changed: &PrefixSet,
) -> Result<RootOutput, TrieError> {
    let plan = plan(nodes, changed)?;
    let mut hb = HashBuilder::default().with_updates(true);
    feed(&mut hb, leaves, &plan.skips)?;
    let root = hb.root();
    let (_, updated) = hb.split();
    let updated: HashMap<Nibbles, BranchNodeCompact> = updated.into_iter().collect();
    let removed = plan
        .visited
        .into_iter()
        .filter(|p| !updated.contains_key(p))
        .collect();
    let mut updated: Vec<_> = updated.into_iter().collect();
    updated.sort_unstable_by_key(|a| a.0);
    Ok(RootOutput {
        root,
        updates: TrieUpdates { removed, updated },
    })
}

/// Computes the root and the proof nodes for `targets` (full 64-nibble key paths).
pub fn proof(
    nodes: &mut impl TrieNodeReader,
    leaves: &mut impl LeafReader,
    targets: Vec<Nibbles>,
) -> Result<(B256, ProofNodes), TrieError> {
    let changed = PrefixSet::new(targets.clone());
    let plan = plan(nodes, &changed)?;
    let mut hb = HashBuilder::default().with_proof_retainer(ProofRetainer::new(targets));
    feed(&mut hb, leaves, &plan.skips)?;
    let root = hb.root();
    Ok((root, hb.take_proof_nodes()))
}
