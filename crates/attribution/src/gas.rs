//! Gas schedule of the pure attribution precompiles (FeeSplit, MerkleMultiProof, SpanMatch).
//!
//! Every call is charged in two steps, both **before** its input is ABI-decoded:
//! 1. the prepayment `base + 3·words(input)` (`words` = ⌈calldata bytes / 32⌉, selector
//!    included), checked against the gas limit first; a call that cannot pay it halts out of gas.
//!    Reverts for an unknown selector, malformed input or a length over a cap charge only this.
//! 2. the full cost below, computed from the array length words alone (read directly from the
//!    calldata head, never trusting them beyond the calldata's size), checked against the gas
//!    limit before the decode; a call that cannot pay it halts out of gas.
//!
//! The compute constants are per-unit prices calibrated so that native work runs at or above
//! the node's EVM gas/s; `opal bench attribution` measures both, time per gas of each precompile
//! against the EVM running its Solidity reference.

/// Calldata copy cost per 32-byte word, as the EVM's `CALLDATACOPY` per-word charge.
pub const COPY_PER_WORD: u64 = 3;

/// FeeSplit base cost.
pub const FEE_SPLIT_BASE: u64 = 100;
/// FeeSplit cost per score (weight, pruning and floor-division passes).
pub const FEE_SPLIT_PER_SCORE: u64 = 60;
/// FeeSplit cost per score per ⌈log2 n⌉ (the largest-remainder selection).
pub const FEE_SPLIT_PER_SCORE_LOG: u64 = 40;

/// MerkleMultiProof base cost.
pub const MERKLE_BASE: u64 = 100;
/// MerkleMultiProof cost per hash: per leaf and proof element, plus, for `verifyContributions`,
/// the two leaf hashes of every item. The spec's 42 is the EVM's KECCAK256 price for 64 bytes;
/// measured, a native proof step then runs ~1.6× slower per gas than a KECCAK256 loop in the
/// EVM (hashing is the whole cost), so version 1 charges 72 (`opal bench attribution`).
pub const MERKLE_PER_HASH: u64 = 72;
/// The most hashes (as counted for gas) one MerkleMultiProof call may ask for.
pub const MERKLE_MAX_HASHES: u64 = 4_096;

/// SpanMatch base cost.
pub const SPAN_BASE: u64 = 200;
/// SpanMatch cost per claim for the coverage update (the spec's per-claim price).
pub const SPAN_PER_CLAIM: u64 = 36;
/// SpanMatch cost per claim for its leaf's three keccaks, without the per-token words: the EVM's
/// KECCAK256 prices for `keccak(tokens)` (30), `keccak(abi.encode(n, tokenizer, hash, index))`
/// (30 + 6·4) and the outer hash (30 + 6), 120 in all, scaled by 1.7 like [`MERKLE_PER_HASH`].
/// The spec's 36 per claim covered none of them.
pub const SPAN_PER_CLAIM_HASHES: u64 = 204;
/// SpanMatch cost per claim per n-gram token: the token words `keccak(tokens)` hashes (6 each).
pub const SPAN_PER_CLAIM_TOKEN: u64 = 10;
/// SpanMatch cost per proof element.
pub const SPAN_PER_PROOF_HASH: u64 = 72;
/// SpanMatch cost per output token (coverage scan).
pub const SPAN_PER_TOKEN: u64 = 2;

/// ⌈len / 32⌉.
pub const fn words(len: usize) -> u64 {
    (len as u64).div_ceil(32)
}

/// ⌈log2 n⌉, with ⌈log2 0⌉ = ⌈log2 1⌉ = 0.
pub const fn ceil_log2(n: u64) -> u64 {
    if n <= 1 {
        0
    } else {
        (64 - (n - 1).leading_zeros()) as u64
    }
}

/// The prepayment `base + 3·words(input)`.
pub const fn prepay(base: u64, input_len: usize) -> u64 {
    base.saturating_add(COPY_PER_WORD.saturating_mul(words(input_len)))
}

/// FeeSplit: `100 + 3·words + 60·n + 40·n·⌈log2 n⌉` for `n` scores.
pub const fn fee_split(input_len: usize, n: u64) -> u64 {
    prepay(FEE_SPLIT_BASE, input_len)
        .saturating_add(FEE_SPLIT_PER_SCORE.saturating_mul(n))
        .saturating_add(
            FEE_SPLIT_PER_SCORE_LOG
                .saturating_mul(n)
                .saturating_mul(ceil_log2(n)),
        )
}

/// MerkleMultiProof: `100 + 3·words + 72·hashes`.
pub const fn merkle(input_len: usize, hashes: u64) -> u64 {
    prepay(MERKLE_BASE, input_len).saturating_add(MERKLE_PER_HASH.saturating_mul(hashes))
}

/// The hashes `verify` is charged for: one per leaf and per proof element.
pub const fn verify_hashes(leaves: u64, proof: u64) -> u64 {
    leaves.saturating_add(proof)
}

/// The hashes `verifyContributions` is charged for: one per item and per proof element, plus
/// the item's two leaf hashes (`keccak256(keccak256(abi.encode(...)))`).
pub const fn contribution_hashes(items: u64, proof: u64) -> u64 {
    items.saturating_mul(3).saturating_add(proof)
}

/// SpanMatch: `200 + 3·words + (36 + 204 + 10·n)·claims + 72·proof + 2·tokens` for n-grams of
/// `n` tokens (`n` above 32 is priced as 32; such a call is refused after decoding anyway).
pub const fn span_match(input_len: usize, claims: u64, proof: u64, tokens: u64, n: u64) -> u64 {
    let n = if n > 32 { 32 } else { n };
    let per_claim = SPAN_PER_CLAIM + SPAN_PER_CLAIM_HASHES + SPAN_PER_CLAIM_TOKEN * n;
    prepay(SPAN_BASE, input_len)
        .saturating_add(per_claim.saturating_mul(claims))
        .saturating_add(SPAN_PER_PROOF_HASH.saturating_mul(proof))
        .saturating_add(SPAN_PER_TOKEN.saturating_mul(tokens))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!([0, 1, 31, 32, 33, 64].map(words), [0, 1, 1, 1, 2, 2]);
        assert_eq!(
            [0, 1, 2, 3, 4, 5, 256, 257, 4096].map(ceil_log2),
            [0, 0, 1, 2, 2, 3, 8, 9, 12]
        );
        assert_eq!(prepay(100, 68), 100 + 3 * 3);
    }

    #[test]
    fn formulas_on_concrete_inputs() {
        // 256 scores: calldata 4 + 32·(1 fee + 4 bps + 1 offset + 1 minShare + 1 len + 256) bytes.
        let len = 4 + 32 * 264;
        assert_eq!(words(len), 265);
        assert_eq!(fee_split(len, 256), 100 + 795 + 60 * 256 + 40 * 256 * 8);
        assert_eq!(fee_split(len, 256), 98_175);
        assert_eq!(fee_split(4 + 32 * 8, 0), 100 + 3 * 9);
        assert_eq!(fee_split(4 + 32 * 9, 1), 100 + 3 * 10 + 60);
        assert_eq!(fee_split(0, 3), 100 + 180 + 40 * 3 * 2);
        assert_eq!(merkle(100, verify_hashes(256, 8)), 100 + 3 * 4 + 72 * 264);
        assert_eq!(merkle(0, contribution_hashes(10, 5)), 100 + 72 * 35);
        assert_eq!(
            span_match(64, 1024, 10, 8192, 8),
            200 + 6 + (36 + 204 + 10 * 8) * 1024 + 720 + 16_384
        );
        assert_eq!(
            span_match(usize::MAX, u64::MAX, u64::MAX, u64::MAX, u64::MAX),
            u64::MAX
        );
    }
}
