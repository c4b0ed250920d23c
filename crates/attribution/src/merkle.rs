//! Merkle multiproofs with OpenZeppelin `MerkleProof.processMultiProof` /
//! `multiProofVerify` semantics (sorted-pair keccak256), and the leaf of a Datanet contribution
//! as OpenZeppelin's `StandardMerkleTree` builds it.
//!
//! Validity follows OpenZeppelin exactly: `leaves.len + proof.len == flags.len + 1`, every proof
//! element consumed, and with no flags the root is `leaves[0]` if there are leaves, else
//! `proof[0]`. Where OpenZeppelin reverts (`MerkleProofInvalidMultiproof`, or an out-of-bounds
//! panic) [`process_multi_proof`] returns `None`. OpenZeppelin never reads a not-yet-computed
//! hash in a multiproof it accepts (counting flags: a valid proof has exactly
//! `leaves.len − 1` true flags, so the hash queue cannot overtake its producer); such a read is
//! treated as invalid here, which changes no accepted or rejected input.
//!
//! As in OpenZeppelin, no leaves with `proof == [root]` and no flags verifies: callers must
//! check that they prove something.

use alloy_primitives::{B256, keccak256_uncached as keccak256};

use crate::abi::IMerkleMultiProof::Contribution;

/// `keccak256(min(a, b) ‖ max(a, b))`: OpenZeppelin's `Hashes.commutativeKeccak256`.
#[inline]
pub fn hash_pair(a: &B256, b: &B256) -> B256 {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(lo.as_slice());
    buf[32..].copy_from_slice(hi.as_slice());
    keccak256(buf)
}

/// The root a multiproof rebuilds from `leaves`, or `None` where OpenZeppelin's
/// `processMultiProof` reverts.
pub fn process_multi_proof(leaves: &[B256], proof: &[B256], flags: &[bool]) -> Option<B256> {
    let total = leaves.len().checked_add(proof.len())?;
    if flags.len().checked_add(1)? != total {
        return None;
    }
    if flags.is_empty() {
        // total == 1: exactly one leaf, or no leaf and one proof element.
        return leaves.first().or_else(|| proof.first()).copied();
    }
    let mut hashes: Vec<B256> = Vec::with_capacity(flags.len());
    let (mut leaf_pos, mut hash_pos, mut proof_pos) = (0usize, 0usize, 0usize);
    // The next value of the main queue: leaves first, then the hashes computed so far.
    let mut next = |hashes: &Vec<B256>| -> Option<B256> {
        if leaf_pos < leaves.len() {
            leaf_pos += 1;
            Some(leaves[leaf_pos - 1])
        } else {
            let h = hashes.get(hash_pos).copied();
            hash_pos += 1;
            h
        }
    };
    for &flag in flags {
        let a = next(&hashes)?;
        let b = if flag {
            next(&hashes)?
        } else {
            let p = *proof.get(proof_pos)?;
            proof_pos += 1;
            p
        };
        hashes.push(hash_pair(&a, &b));
    }
    if proof_pos != proof.len() {
        return None;
    }
    hashes.last().copied()
}

/// Whether the multiproof rebuilds `root` (false wherever OpenZeppelin would revert).
pub fn verify_multi_proof(root: B256, leaves: &[B256], proof: &[B256], flags: &[bool]) -> bool {
    process_multi_proof(leaves, proof, flags) == Some(root)
}

/// The `StandardMerkleTree` leaf of a contribution:
/// `keccak256(bytes.concat(keccak256(abi.encode(datanetId, version, index, contributor,
/// contentHash, validationScore))))`, types `(bytes32, uint64, uint64, address, bytes32, uint32)`.
pub fn contribution_leaf(c: &Contribution) -> B256 {
    let mut buf = [0u8; 192];
    buf[..32].copy_from_slice(c.datanetId.as_slice());
    buf[56..64].copy_from_slice(&c.version.to_be_bytes());
    buf[88..96].copy_from_slice(&c.index.to_be_bytes());
    buf[108..128].copy_from_slice(c.contributor.as_slice());
    buf[128..160].copy_from_slice(c.contentHash.as_slice());
    buf[188..192].copy_from_slice(&c.validationScore.to_be_bytes());
    double_hash(&buf)
}

/// `keccak256(bytes.concat(keccak256(data)))`: the `StandardMerkleTree` leaf hash.
#[inline]
pub fn double_hash(data: &[u8]) -> B256 {
    keccak256(keccak256(data))
}

/// An OpenZeppelin-layout tree (for tests, benchmarks and tooling): nodes in one array, root at
/// 0, children of `i` at `2i + 1` and `2i + 2`, leaf `k` of `n` at `2n − 2 − k`; multiproofs built
/// the way `@openzeppelin/merkle-tree`'s `getMultiProof` lays them out. Leaves are used in the
/// order given (StandardMerkleTree sorts them first; sort before building to match it).
pub mod tree {
    use super::*;

    /// A complete tree.
    pub struct Tree {
        nodes: Vec<B256>,
        n: usize,
    }

    /// A multiproof for some leaves, with those leaves (by leaf number) in proof order.
    pub struct MultiProof {
        /// Leaf numbers in the order the proof consumes them.
        pub leaf_order: Vec<usize>,
        /// Proof elements.
        pub proof: Vec<B256>,
        /// Flags.
        pub flags: Vec<bool>,
    }

    impl Tree {
        /// Builds the tree over `leaves`; `None` when there are none.
        pub fn new(leaves: &[B256]) -> Option<Self> {
            let n = leaves.len();
            if n == 0 {
                return None;
            }
            let mut nodes = vec![B256::ZERO; 2 * n - 1];
            for (k, l) in leaves.iter().enumerate() {
                nodes[2 * n - 2 - k] = *l;
            }
            for i in (0..n - 1).rev() {
                nodes[i] = hash_pair(&nodes[2 * i + 1], &nodes[2 * i + 2]);
            }
            Some(Self { nodes, n })
        }

        /// The root.
        pub fn root(&self) -> B256 {
            self.nodes[0]
        }

        /// Multiproof for distinct leaf numbers.
        pub fn multi_proof(&self, leaves: &[usize]) -> MultiProof {
            let mut idx: Vec<usize> = leaves.iter().map(|&k| 2 * self.n - 2 - k).collect();
            idx.sort_unstable_by(|a, b| b.cmp(a));
            let leaf_order = idx.iter().map(|&i| 2 * self.n - 2 - i).collect();
            let mut queue: std::collections::VecDeque<usize> = idx.iter().copied().collect();
            let (mut proof, mut flags) = (Vec::new(), Vec::new());
            while let Some(&j) = queue.front() {
                if j == 0 {
                    break;
                }
                queue.pop_front();
                let sibling = if j % 2 == 1 { j + 1 } else { j - 1 };
                if queue.front() == Some(&sibling) {
                    queue.pop_front();
                    flags.push(true);
                } else {
                    flags.push(false);
                    proof.push(self.nodes[sibling]);
                }
                queue.push_back((j - 1) / 2);
            }
            if leaves.is_empty() {
                proof.push(self.nodes[0]);
            }
            MultiProof {
                leaf_order,
                proof,
                flags,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::sol_types::SolValue;
    use alloy_primitives::{Address, U256, keccak256};
    use proptest::prelude::*;

    fn h(i: u64) -> B256 {
        keccak256(i.to_be_bytes())
    }

    /// A complete binary tree over leaves (sorted pairs), as levels bottom-up, with odd nodes
    /// carried up — enough to build valid single-leaf-path multiproofs for tests.
    fn root_of(leaves: &[B256]) -> B256 {
        let mut level = leaves.to_vec();
        while level.len() > 1 {
            level = level
                .chunks(2)
                .map(|c| {
                    if c.len() == 2 {
                        hash_pair(&c[0], &c[1])
                    } else {
                        c[0]
                    }
                })
                .collect();
        }
        level[0]
    }

    #[test]
    fn pair_hash_is_commutative_and_sorted() {
        let (a, b) = (h(1), h(2));
        assert_eq!(hash_pair(&a, &b), hash_pair(&b, &a));
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        assert_eq!(
            hash_pair(&a, &b),
            keccak256([lo.as_slice(), hi.as_slice()].concat())
        );
    }

    #[test]
    fn empty_and_trivial_cases_follow_openzeppelin() {
        let (a, b) = (h(1), h(2));
        assert_eq!(process_multi_proof(&[a], &[], &[]), Some(a));
        assert_eq!(process_multi_proof(&[], &[b], &[]), Some(b));
        assert_eq!(process_multi_proof(&[], &[], &[]), None);
        assert_eq!(process_multi_proof(&[a, b], &[], &[]), None);
        assert_eq!(process_multi_proof(&[a], &[b], &[]), None);
        assert_eq!(
            process_multi_proof(&[a, b], &[], &[true]),
            Some(hash_pair(&a, &b))
        );
        assert_eq!(
            process_multi_proof(&[a], &[b], &[false]),
            Some(hash_pair(&a, &b))
        );
        // Length rule holds but a proof element is left over.
        assert_eq!(process_multi_proof(&[a], &[b, b], &[true, false]), None);
        // Length rule holds but the proof runs out.
        assert_eq!(process_multi_proof(&[a, a], &[b], &[false, false]), None);
        // No leaves and flags: the hash queue would read a hash not yet computed.
        assert_eq!(process_multi_proof(&[], &[a, b], &[true]), None);
        assert_eq!(process_multi_proof(&[], &[a, b, a], &[false, false]), None);
        assert!(verify_multi_proof(a, &[a], &[], &[]));
        assert!(!verify_multi_proof(b, &[a], &[], &[]));
    }

    #[test]
    fn four_leaf_tree() {
        let l: Vec<B256> = (0..4).map(h).collect();
        let root = root_of(&l);
        let n01 = hash_pair(&l[0], &l[1]);
        let n23 = hash_pair(&l[2], &l[3]);
        // Leaves 0 and 1, sibling n23.
        assert!(verify_multi_proof(
            root,
            &[l[0], l[1]],
            &[n23],
            &[true, false]
        ));
        // Leaf 2 only: proof l3, n01.
        assert!(verify_multi_proof(
            root,
            &[l[2]],
            &[l[3], n01],
            &[false, false]
        ));
        // All four leaves, no proof.
        assert!(verify_multi_proof(root, &l, &[], &[true, true, true]));
        assert!(!verify_multi_proof(root, &l, &[], &[true, true, false]));
        assert!(!verify_multi_proof(
            root,
            &[l[0], l[2]],
            &[n23],
            &[true, false]
        ));
    }

    #[test]
    fn contribution_leaf_matches_abi_encode() {
        let c = Contribution {
            datanetId: h(7),
            version: 3,
            index: u64::MAX - 5,
            contributor: Address::repeat_byte(0xab),
            contentHash: h(9),
            validationScore: 0xdead_beef,
        };
        let enc = (
            c.datanetId,
            c.version,
            c.index,
            c.contributor,
            c.contentHash,
            U256::from(c.validationScore),
        )
            .abi_encode_params();
        assert_eq!(enc.len(), 192);
        assert_eq!(contribution_leaf(&c), keccak256(keccak256(&enc)));
    }

    proptest! {
        #[test]
        fn random_trees_and_subsets_verify_and_any_flip_fails(
            n in 1usize..80, picks in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
            which in any::<prop::sample::Index>(),
        ) {
            let leaves: Vec<B256> = (0..n as u64).map(h).collect();
            let tree = tree::Tree::new(&leaves).expect("non-empty tree");
            let mut chosen: Vec<usize> = picks.iter().map(|p| p.index(n)).collect();
            chosen.sort_unstable();
            chosen.dedup();
            let mp = tree.multi_proof(&chosen);
            let ls: Vec<B256> = mp.leaf_order.iter().map(|&k| leaves[k]).collect();
            prop_assert!(verify_multi_proof(tree.root(), &ls, &mp.proof, &mp.flags));
            let total = ls.len() + mp.proof.len() + mp.flags.len();
            let k = which.index(total);
            let (mut ls2, mut proof2, mut flags2) = (ls.clone(), mp.proof.clone(), mp.flags.clone());
            if k < ls.len() {
                ls2[k].0[0] ^= 1;
            } else if k < ls.len() + mp.proof.len() {
                proof2[k - ls.len()].0[31] ^= 0x80;
            } else {
                let f = k - ls.len() - mp.proof.len();
                flags2[f] = !flags2[f];
            }
            prop_assert!(!verify_multi_proof(tree.root(), &ls2, &proof2, &flags2));
        }

        #[test]
        fn arbitrary_inputs_never_panic(
            leaves in prop::collection::vec(any::<[u8; 32]>().prop_map(B256::from), 0..8),
            proof in prop::collection::vec(any::<[u8; 32]>().prop_map(B256::from), 0..8),
            flags in prop::collection::vec(any::<bool>(), 0..16),
        ) {
            let r = process_multi_proof(&leaves, &proof, &flags);
            if leaves.len() + proof.len() != flags.len() + 1 {
                prop_assert!(r.is_none());
            }
        }
    }
}
