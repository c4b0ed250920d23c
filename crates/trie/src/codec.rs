//! Byte encoding of stored branch nodes. Decoding checks every invariant, so a corrupt record is
//! an error, never a panic.

use std::sync::Arc;

use alloy_primitives::B256;
use alloy_trie::{BranchNodeCompact, TrieMask};

/// Encodes a node: `state u16 ++ tree u16 ++ hash u16 ++ has_root u8 ++ hashes ++ [root]`.
pub fn encode_branch_node(node: &BranchNodeCompact) -> Vec<u8> {
    let mut out = Vec::with_capacity(7 + 32 * (node.hashes.len() + 1));
    out.extend_from_slice(&node.state_mask.get().to_be_bytes());
    out.extend_from_slice(&node.tree_mask.get().to_be_bytes());
    out.extend_from_slice(&node.hash_mask.get().to_be_bytes());
    out.push(node.root_hash.is_some() as u8);
    for h in node.hashes.iter() {
        out.extend_from_slice(h.as_slice());
    }
    if let Some(root) = node.root_hash {
        out.extend_from_slice(root.as_slice());
    }
    out
}

/// Decodes a node written by [`encode_branch_node`].
pub fn decode_branch_node(bytes: &[u8]) -> Result<BranchNodeCompact, &'static str> {
    if bytes.len() < 7 {
        return Err("record shorter than its header");
    }
    let mask = |i: usize| TrieMask::new(u16::from_be_bytes([bytes[i], bytes[i + 1]]));
    let (state, tree, hash) = (mask(0), mask(2), mask(4));
    let has_root = match bytes[6] {
        0 => false,
        1 => true,
        _ => return Err("bad root flag"),
    };
    if !tree.is_subset_of(state) || !hash.is_subset_of(state) {
        return Err("child masks not within the state mask");
    }
    let n = hash.count_bits() as usize;
    let want = 7 + 32 * (n + has_root as usize);
    if bytes.len() != want {
        return Err("record length does not match its hash mask");
    }
    let word = |i: usize| B256::from_slice(&bytes[7 + 32 * i..7 + 32 * (i + 1)]);
    let hashes: Vec<B256> = (0..n).map(word).collect();
    let root_hash = has_root.then(|| word(n));
    Ok(BranchNodeCompact {
        state_mask: state,
        tree_mask: tree,
        hash_mask: hash,
        hashes: Arc::new(hashes),
        root_hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejects_garbage() {
        let node = BranchNodeCompact::new(
            TrieMask::new(0b1011),
            TrieMask::new(0b0001),
            TrieMask::new(0b1001),
            vec![B256::repeat_byte(1), B256::repeat_byte(2)],
            Some(B256::repeat_byte(9)),
        );
        let enc = encode_branch_node(&node);
        assert_eq!(decode_branch_node(&enc).unwrap(), node);
        assert!(decode_branch_node(&enc[..enc.len() - 1]).is_err());
        assert!(decode_branch_node(&[0xff; 3]).is_err());
        let mut bad = enc.clone();
        bad[3] = 0b0100; // tree mask outside state mask
        assert!(decode_branch_node(&bad).is_err());
    }
}
