//! Incremental roots against from-scratch rebuilds, over an in-memory store.

use std::collections::BTreeMap;

use alloy_primitives::{B256, keccak256};
use alloy_trie::{HashBuilder, proof::verify_proof};
use proptest::prelude::*;

use super::*;

#[derive(Default)]
struct MemTrie {
    nodes: BTreeMap<Nibbles, BranchNodeCompact>,
    leaves: BTreeMap<B256, Vec<u8>>,
}

struct Nodes<'a>(&'a BTreeMap<Nibbles, BranchNodeCompact>);

impl TrieNodeReader for Nodes<'_> {
    fn seek_node(
        &mut self,
        path: &Nibbles,
    ) -> Result<Option<(Nibbles, BranchNodeCompact)>, TrieError> {
        Ok(self.0.range(*path..).next().map(|(k, v)| (*k, v.clone())))
    }
}

struct Leaves<'a>(&'a BTreeMap<B256, Vec<u8>>);

impl LeafReader for Leaves<'_> {
    fn for_each_leaf(
        &mut self,
        from: &B256,
        to: Option<&B256>,
        f: &mut dyn FnMut(B256, &[u8]),
    ) -> Result<(), TrieError> {
        for (k, v) in self.0.range(*from..) {
            if to.is_some_and(|t| k >= t) {
                break;
            }
            f(*k, v);
        }
        Ok(())
    }
}

impl MemTrie {
    fn apply(&mut self, updates: TrieUpdates) {
        for p in updates.removed {
            self.nodes.remove(&p);
        }
        self.nodes.extend(updates.updated);
    }

    fn update(&mut self, changed: &PrefixSet) -> B256 {
        let out =
            compute_root(&mut Nodes(&self.nodes), &mut Leaves(&self.leaves), changed).unwrap();
        self.apply(out.updates);
        out.root
    }
}

/// Root and stored-node set of a full rebuild.
fn rebuild(leaves: &BTreeMap<B256, Vec<u8>>) -> (B256, BTreeMap<Nibbles, BranchNodeCompact>) {
    let mut hb = HashBuilder::default().with_updates(true);
    for (k, v) in leaves {
        hb.add_leaf(Nibbles::unpack(k), v);
    }
    let root = hb.root();
    let (_, nodes) = hb.split();
    (root, nodes.into_iter().collect())
}

fn value(len: usize, seed: u64) -> Vec<u8> {
    // A valid RLP string of `len` bytes, so leaves are well-formed.
    let body: Vec<u8> = keccak256(seed.to_be_bytes())
        .iter()
        .cycle()
        .take(len)
        .copied()
        .collect();
    alloy_rlp::encode(&body[..])
}

fn key(i: u64) -> B256 {
    keccak256(i.to_be_bytes())
}

/// Keys with low-entropy prefixes, so the trie has long shared paths, extension nodes and stored
/// branches below extensions.
fn structured_key(i: u64) -> B256 {
    let mut k = keccak256(i.to_be_bytes());
    k.0[0] = (i % 3) as u8 * 0x11;
    k.0[1] = ((i / 3) % 2) as u8;
    k.0[2] = 0;
    k.0[3] = if i.is_multiple_of(5) { 0x70 } else { 0 };
    k
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn incremental_root_matches_rebuild(
        structured in any::<bool>(),
        initial in proptest::collection::vec((0u64..400, 1usize..60), 0..200),
        steps in proptest::collection::vec(proptest::collection::vec((0u64..400, 0usize..60), 1..40), 1..6),
    ) {
        let key = if structured { structured_key } else { key };
        let mut trie = MemTrie::default();
        for (k, len) in &initial {
            trie.leaves.insert(key(*k), value(*len, *k));
        }
        let changed = PrefixSet::new(trie.leaves.keys().map(Nibbles::unpack).collect());
        let root = trie.update(&changed);
        let (want, want_nodes) = rebuild(&trie.leaves);
        prop_assert_eq!(root, want);
        prop_assert_eq!(&trie.nodes, &want_nodes);
        for (n, step) in steps.iter().enumerate() {
            let mut keys = vec![];
            for (k, len) in step {
                // len 0 deletes the key; otherwise insert or overwrite.
                if *len == 0 { trie.leaves.remove(&key(*k)); } else { trie.leaves.insert(key(*k), value(*len, *k + n as u64)); }
                keys.push(Nibbles::unpack(key(*k)));
            }
            let root = trie.update(&PrefixSet::new(keys));
            let (want, want_nodes) = rebuild(&trie.leaves);
            prop_assert_eq!(root, want);
            prop_assert_eq!(&trie.nodes, &want_nodes, "stored nodes differ from a rebuild after step {}", n);
        }
    }

    #[test]
    fn proofs_verify(entries in proptest::collection::vec((0u64..300, 1usize..50), 1..150), probe in 0u64..600) {
        let mut trie = MemTrie::default();
        for (k, len) in &entries {
            trie.leaves.insert(key(*k), value(*len, *k));
        }
        let changed = PrefixSet::new(trie.leaves.keys().map(Nibbles::unpack).collect());
        let root = trie.update(&changed);
        let target = Nibbles::unpack(key(probe));
        let leaves = &trie.leaves;
        let (proof_root, nodes) = proof(&mut Nodes(&trie.nodes), &mut Leaves(leaves), vec![target]).unwrap();
        prop_assert_eq!(proof_root, root);
        let path: Vec<_> = nodes.matching_nodes_sorted(&target).into_iter().map(|(_, n)| n).collect();
        let expected = leaves.get(&key(probe)).cloned();
        prop_assert!(verify_proof(root, target, expected.clone(), path.iter()).is_ok());
        // A wrong value must not verify.
        let wrong = Some(value(7, probe + 1000));
        prop_assert!(verify_proof(root, target, wrong, path.iter()).is_err());
    }
}

#[test]
fn unchanged_update_reuses_everything() {
    let mut trie = MemTrie::default();
    for i in 0..2000 {
        trie.leaves.insert(key(i), value(40, i));
    }
    let all = PrefixSet::new(trie.leaves.keys().map(Nibbles::unpack).collect());
    let root = trie.update(&all);
    // Nothing changed: the walk only visits the root and reuses its 16 child hashes.
    struct Counting<'a>(&'a BTreeMap<B256, Vec<u8>>, usize);
    impl LeafReader for Counting<'_> {
        fn for_each_leaf(
            &mut self,
            from: &B256,
            to: Option<&B256>,
            f: &mut dyn FnMut(B256, &[u8]),
        ) -> Result<(), TrieError> {
            let mut inner = Leaves(self.0);
            let n = &mut self.1;
            inner.for_each_leaf(from, to, &mut |k, v| {
                *n += 1;
                f(k, v)
            })
        }
    }
    let mut counting = Counting(&trie.leaves, 0);
    let out = compute_root(
        &mut Nodes(&trie.nodes),
        &mut counting,
        &PrefixSet::default(),
    )
    .unwrap();
    assert_eq!(out.root, root);
    assert_eq!(counting.1, 0, "no leaf should be read when nothing changed");
    // One changed key reads only the leaves next to it, not the state.
    let k = key(5);
    trie.leaves.insert(k, value(33, 99));
    let mut counting = Counting(&trie.leaves, 0);
    let out = compute_root(
        &mut Nodes(&trie.nodes),
        &mut counting,
        &PrefixSet::new(vec![Nibbles::unpack(k)]),
    )
    .unwrap();
    assert_eq!(out.root, rebuild(&trie.leaves).0);
    assert!(counting.1 < 20, "read {} leaves for one change", counting.1);
}
