//! SpanMatch: checks the claim "these n-gram spans of an output appear in Datanet D" against D's
//! committed fingerprint root, and measures how much of the output the proven spans cover.
//!
//! The fingerprint tree is an OpenZeppelin-style tree (sorted-pair keccak256, see
//! [`crate::merkle`]) whose leaves are, per n-gram of a contribution,
//!
//! ```text
//! leaf = keccak256(bytes.concat(keccak256(abi.encode(
//!            uint8 n, uint32 tokenizerId, bytes32 tokensHash, uint64 contributionIndex))))
//! tokensHash = keccak256(abi.encodePacked(uint32[] tokens))
//! ```
//!
//! **Byte layout of `tokensHash`.** Solidity's `abi.encodePacked` of a `uint32` *array* pads every
//! element to a full 32-byte word (only top-level scalars are packed tightly). So the preimage is
//! `n` words, token `k` as a 32-byte big-endian word (28 zero bytes then the 4 token bytes),
//! `32·n` bytes in all — the same bytes the Solidity reference `SpanMatchReference` hashes with
//! `abi.encodePacked(uint32[] memory slice)`, and the same as `abi.encode` of the array minus
//! its offset and length words. Off-chain fingerprint builders must hash the same bytes.
//!
//! It proves presence of exact n-grams, not absence or paraphrase.

use alloy_primitives::{B256, Keccak256, keccak256_uncached as keccak256};

use crate::merkle::{double_hash, process_multi_proof};

/// Smallest n-gram length.
pub const MIN_N: u8 = 4;
/// Largest n-gram length.
pub const MAX_N: u8 = 32;
/// The most output tokens one call accepts.
pub const MAX_TOKENS: usize = 8_192;
/// The most claims one call accepts.
pub const MAX_CLAIMS: usize = 1_024;

/// A claim: `output[pos .. pos + n)` matches an n-gram of contribution `contribution_index`.
pub type Claim = (u32, u64);

/// What a span check found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SpanResult {
    /// Whether the claims' leaves verified as one multiproof against the root. When false, the
    /// other fields are zero / empty.
    pub ok: bool,
    /// Size of the union of the claimed intervals.
    pub covered_tokens: u32,
    /// Longest contiguous covered run.
    pub longest_run: u32,
    /// Per claim, the tokens it covers that earlier claims did not.
    pub tokens_per_claim: Vec<u32>,
}

/// Inputs a span check refuses outright (the precompile reverts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SpanError {
    /// `n` outside `4..=32`.
    #[error("n-gram length {0} outside 4..=32")]
    BadN(u8),
    /// More than [`MAX_TOKENS`] output tokens.
    #[error("{0} output tokens, more than the cap of 8,192")]
    TooManyTokens(usize),
    /// More than [`MAX_CLAIMS`] claims.
    #[error("{0} claims, more than the cap of 1,024")]
    TooManyClaims(usize),
    /// Claim `index` reaches past the end of the output (`pos + n > len`).
    #[error("claim {index} at {pos} runs past the output")]
    ClaimOutOfRange {
        /// The claim's position in the list.
        index: usize,
        /// Its start.
        pos: u32,
    },
}

/// `keccak256` of the tokens, each as a 32-byte big-endian word (see the module docs).
pub fn tokens_hash(tokens: &[u32]) -> B256 {
    const STACK: usize = MAX_N as usize;
    if tokens.len() <= STACK {
        let mut buf = [0u8; 32 * STACK];
        for (k, t) in tokens.iter().enumerate() {
            buf[32 * k + 28..32 * k + 32].copy_from_slice(&t.to_be_bytes());
        }
        keccak256(&buf[..32 * tokens.len()])
    } else {
        let mut h = Keccak256::new();
        let mut word = [0u8; 32];
        for t in tokens {
            word[28..].copy_from_slice(&t.to_be_bytes());
            h.update(word);
        }
        h.finalize()
    }
}

/// The fingerprint leaf of one n-gram: `tokens` is the n-gram itself (`tokens.len()` is
/// normally `n`; the hash covers exactly the given tokens and encodes `n` as given).
pub fn ngram_leaf(n: u8, tokenizer_id: u32, tokens: &[u32], contribution_index: u64) -> B256 {
    let mut buf = [0u8; 128];
    buf[31] = n;
    buf[60..64].copy_from_slice(&tokenizer_id.to_be_bytes());
    buf[64..96].copy_from_slice(tokens_hash(tokens).as_slice());
    buf[120..128].copy_from_slice(&contribution_index.to_be_bytes());
    double_hash(&buf)
}

/// Checks `claims` against `root` as one multiproof over their leaves (in claim order) and, if it
/// holds, measures coverage. A failing proof is `Ok` with `ok == false`, not an error.
pub fn verify_spans(
    output: &[u32],
    n: u8,
    tokenizer_id: u32,
    root: B256,
    claims: &[Claim],
    proof: &[B256],
    flags: &[bool],
) -> Result<SpanResult, SpanError> {
    if !(MIN_N..=MAX_N).contains(&n) {
        return Err(SpanError::BadN(n));
    }
    if output.len() > MAX_TOKENS {
        return Err(SpanError::TooManyTokens(output.len()));
    }
    if claims.len() > MAX_CLAIMS {
        return Err(SpanError::TooManyClaims(claims.len()));
    }
    let width = usize::from(n);
    for (index, &(pos, _)) in claims.iter().enumerate() {
        if pos as usize + width > output.len() {
            return Err(SpanError::ClaimOutOfRange { index, pos });
        }
    }
    // Cheap structural check first, so a malformed proof costs no hashing.
    if claims.len() + proof.len() != flags.len() + 1 {
        return Ok(SpanResult::default());
    }
    let leaves: Vec<B256> = claims
        .iter()
        .map(|&(pos, ci)| {
            let p = pos as usize;
            ngram_leaf(n, tokenizer_id, &output[p..p + width], ci)
        })
        .collect();
    if process_multi_proof(&leaves, proof, flags) != Some(root) {
        return Ok(SpanResult::default());
    }

    let mut covered = Coverage::new();
    let tokens_per_claim: Vec<u32> = claims
        .iter()
        .map(|&(pos, _)| covered.add(pos as usize, width))
        .collect();
    let covered_tokens = tokens_per_claim.iter().sum();
    let used_words = output.len().div_ceil(64);
    Ok(SpanResult {
        ok: true,
        covered_tokens,
        longest_run: covered.longest_run(used_words),
        tokens_per_claim,
    })
}

/// A bitset over the output positions (at most [`MAX_TOKENS`]).
struct Coverage {
    words: [u64; MAX_TOKENS / 64],
}

impl Coverage {
    fn new() -> Self {
        Self {
            words: [0; MAX_TOKENS / 64],
        }
    }

    /// Marks `[pos, pos + len)` and returns how many of those positions were new.
    fn add(&mut self, pos: usize, len: usize) -> u32 {
        let (mut at, end) = (pos, pos + len);
        let mut new = 0;
        while at < end {
            let (w, bit) = (at / 64, at % 64);
            let take = (64 - bit).min(end - at);
            let mask = if take == 64 {
                u64::MAX
            } else {
                ((1u64 << take) - 1) << bit
            };
            new += (mask & !self.words[w]).count_ones();
            self.words[w] |= mask;
            at += take;
        }
        new
    }

    /// The longest run of set bits in the first `used` words.
    fn longest_run(&self, used: usize) -> u32 {
        let (mut best, mut cur) = (0u32, 0u32);
        for &word in &self.words[..used] {
            if word == u64::MAX {
                cur += 64;
                best = best.max(cur);
                continue;
            }
            let (mut bits, mut left) = (word, 64u32);
            while left > 0 {
                let ones = bits.trailing_ones().min(left);
                cur += ones;
                best = best.max(cur);
                left -= ones;
                if left == 0 {
                    break;
                }
                bits >>= ones;
                let zeros = bits.trailing_zeros().min(left);
                cur = 0;
                left -= zeros;
                if left == 0 {
                    break;
                }
                bits >>= zeros;
            }
        }
        best
    }
}

/// The `verifySpans` call for `claims` (`(pos, contributionIndex)` into `output`) against
/// `tree`, whose leaf `i` is claim `i`'s n-gram leaf: the claims in the multiproof's leaf order,
/// with its proof and flags.
pub fn verify_spans_call(
    output: Vec<u32>,
    n: u8,
    tokenizer_id: u32,
    claims: &[(u32, u64)],
    tree: &crate::merkle::tree::Tree,
) -> crate::abi::ISpanMatch::verifySpansCall {
    use crate::abi::ISpanMatch;
    let mp = tree.multi_proof(&(0..claims.len()).collect::<Vec<_>>());
    ISpanMatch::verifySpansCall {
        outputTokens: output,
        n,
        tokenizerId: tokenizer_id,
        fingerprintRoot: tree.root(),
        claims: mp
            .leaf_order
            .iter()
            .map(|&i| ISpanMatch::Claim {
                pos: claims[i].0,
                contributionIndex: claims[i].1,
            })
            .collect(),
        proof: mp.proof,
        proofFlags: mp.flags,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::tree::Tree;
    use alloy::sol_types::SolValue;
    use alloy_primitives::{U256, keccak256};
    use proptest::prelude::*;

    #[test]
    fn tokens_hash_is_abi_encode_packed_of_a_uint32_array() {
        let tokens = [1u32, 0xdead_beef, 7, u32::MAX, 0];
        let words: Vec<U256> = tokens.iter().map(|&t| U256::from(t)).collect();
        // abi.encode(uint256[]) = offset, length, words: the packed array is the words alone.
        let enc = words.abi_encode();
        assert_eq!(tokens_hash(&tokens), keccak256(&enc[64..]));
        let long: Vec<u32> = (0..100).collect();
        let enc = long
            .iter()
            .map(|&t| U256::from(t))
            .collect::<Vec<_>>()
            .abi_encode();
        assert_eq!(tokens_hash(&long), keccak256(&enc[64..]));
    }

    #[test]
    fn ngram_leaf_layout() {
        let tokens = [5u32, 6, 7, 8];
        let inner = (U256::from(4u8), 99u32, tokens_hash(&tokens), 12u64).abi_encode_params();
        assert_eq!(inner.len(), 128);
        assert_eq!(ngram_leaf(4, 99, &tokens, 12), keccak256(keccak256(&inner)));
    }

    /// A fingerprint tree holding the claims' n-grams (plus `extra` decoys), and the claims
    /// reordered to the proof's leaf order with their proof.
    fn prove(
        output: &[u32],
        n: u8,
        tok: u32,
        claims: &[Claim],
        extra: usize,
    ) -> (B256, Vec<Claim>, Vec<B256>, Vec<bool>) {
        let w = n as usize;
        let mut leaves: Vec<B256> = claims
            .iter()
            .map(|&(p, c)| ngram_leaf(n, tok, &output[p as usize..p as usize + w], c))
            .collect();
        leaves.extend((0..extra as u64).map(|i| keccak256(i.to_be_bytes())));
        let tree = Tree::new(&leaves).expect("non-empty tree");
        let mp = tree.multi_proof(&(0..claims.len()).collect::<Vec<_>>());
        let ordered = mp.leaf_order.iter().map(|&k| claims[k]).collect();
        (tree.root(), ordered, mp.proof, mp.flags)
    }

    #[test]
    fn coverage_by_hand() {
        let output: Vec<u32> = (100..120).collect();
        let claims = [(0u32, 1u64), (2, 1), (10, 2), (14, 3)];
        let (root, claims, proof, flags) = prove(&output, 4, 1, &claims, 3);
        let r = verify_spans(&output, 4, 1, root, &claims, &proof, &flags).unwrap();
        assert!(r.ok);
        // [0,4) ∪ [2,6) ∪ [10,14) ∪ [14,18) = 6 + 8 tokens; longest run [10,18) = 8.
        assert_eq!(r.covered_tokens, 14);
        assert_eq!(r.longest_run, 8);
        assert_eq!(r.tokens_per_claim.iter().sum::<u32>(), 14);
        let bad = verify_spans(&output, 4, 2, root, &claims, &proof, &flags).unwrap();
        assert_eq!(bad, SpanResult::default());
    }

    #[test]
    fn bounds_are_errors() {
        let output = vec![1u32; 40];
        let root = B256::ZERO;
        assert_eq!(
            verify_spans(&output, 3, 0, root, &[], &[], &[]),
            Err(SpanError::BadN(3))
        );
        assert_eq!(
            verify_spans(&output, 33, 0, root, &[], &[], &[]),
            Err(SpanError::BadN(33))
        );
        assert!(verify_spans(&output, 32, 0, root, &[(8, 0)], &[], &[]).is_ok());
        assert_eq!(
            verify_spans(&output, 32, 0, root, &[(9, 0)], &[], &[]),
            Err(SpanError::ClaimOutOfRange { index: 0, pos: 9 })
        );
        assert_eq!(
            verify_spans(&output, 4, 0, root, &[(0, 0), (u32::MAX, 0)], &[], &[]),
            Err(SpanError::ClaimOutOfRange {
                index: 1,
                pos: u32::MAX
            })
        );
        let long = vec![0u32; MAX_TOKENS + 1];
        assert_eq!(
            verify_spans(&long, 4, 0, root, &[], &[], &[]),
            Err(SpanError::TooManyTokens(MAX_TOKENS + 1))
        );
        let claims = vec![(0u32, 0u64); MAX_CLAIMS + 1];
        assert_eq!(
            verify_spans(&output, 4, 0, root, &claims, &[], &[]),
            Err(SpanError::TooManyClaims(MAX_CLAIMS + 1))
        );
        // No claims and proof == [root]: an empty but valid multiproof, as OpenZeppelin has it.
        let r = verify_spans(&output, 4, 0, root, &[], &[root], &[]).unwrap();
        assert!(r.ok);
        assert_eq!((r.covered_tokens, r.longest_run), (0, 0));
    }

    #[test]
    fn full_coverage_of_the_largest_output() {
        let output: Vec<u32> = (0..MAX_TOKENS as u32).collect();
        let claims: Vec<Claim> = (0..256).map(|i| (i * 32, u64::from(i))).collect();
        let (root, claims, proof, flags) = prove(&output, 32, 9, &claims, 0);
        let r = verify_spans(&output, 32, 9, root, &claims, &proof, &flags).unwrap();
        assert!(r.ok);
        assert_eq!(r.covered_tokens, MAX_TOKENS as u32);
        assert_eq!(r.longest_run, MAX_TOKENS as u32);
    }

    fn brute(len: usize, n: usize, claims: &[Claim]) -> (u32, u32, Vec<u32>) {
        let mut cov = vec![false; len];
        let per = claims
            .iter()
            .map(|&(p, _)| {
                let mut new = 0;
                for c in &mut cov[p as usize..p as usize + n] {
                    new += u32::from(!*c);
                    *c = true;
                }
                new
            })
            .collect();
        let total = cov.iter().filter(|&&c| c).count() as u32;
        let (mut best, mut cur) = (0, 0);
        for c in cov {
            cur = if c { cur + 1 } else { 0 };
            best = best.max(cur);
        }
        (total, best, per)
    }

    fn case() -> impl Strategy<Value = (Vec<u32>, u8, Vec<Claim>)> {
        (
            4u8..=32,
            0usize..400,
            prop_oneof![Just(3u32), Just(u32::MAX)],
        )
            .prop_flat_map(|(n, extra, alphabet)| {
                let len = n as usize + extra;
                let claim = (0..=(len - n as usize) as u32, 0u64..4);
                (
                    prop::collection::vec(0..=alphabet, len),
                    Just(n),
                    prop::collection::vec(claim, 0..40),
                )
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn coverage_matches_brute_force((output, n, claims) in case(), extra in 0usize..5) {
            prop_assume!(!claims.is_empty() || extra > 0);
            let (root, claims, proof, flags) = prove(&output, n, 77, &claims, extra);
            let r = verify_spans(&output, n, 77, root, &claims, &proof, &flags).unwrap();
            prop_assert!(r.ok);
            let (total, best, per) = brute(output.len(), n as usize, &claims);
            prop_assert_eq!(r.covered_tokens, total);
            prop_assert_eq!(r.longest_run, best);
            prop_assert_eq!(r.tokens_per_claim, per);
        }

        #[test]
        fn any_flip_fails(
            (output, n, claims) in case(), extra in 1usize..5, which in any::<prop::sample::Index>(),
        ) {
            prop_assume!(!claims.is_empty());
            let (root, claims, proof, flags) = prove(&output, n, 5, &claims, extra);
            let total = proof.len() + flags.len() + claims.len();
            let k = which.index(total);
            let (mut p2, mut f2, mut c2) = (proof.clone(), flags.clone(), claims.clone());
            if k < proof.len() {
                p2[k].0[5] ^= 4;
            } else if k < proof.len() + flags.len() {
                f2[k - proof.len()] ^= true;
            } else {
                let i = k - proof.len() - flags.len();
                // Move the claim to another position whose n-gram differs.
                let w = n as usize;
                let at = c2[i].0 as usize;
                let other = (0..=output.len() - w).find(|&q| output[q..q + w] != output[at..at + w]);
                prop_assume!(other.is_some());
                c2[i].0 = other.unwrap() as u32;
            }
            let r = verify_spans(&output, n, 5, root, &c2, &p2, &f2).unwrap();
            prop_assert_eq!(r, SpanResult::default());
        }
    }
}
