//! The three pure precompiles as plain functions of calldata and gas limit: FeeSplit
//! (`0x…A77002`), MerkleMultiProof (`0x…A77003`) and SpanMatch (`0x…A77004`).
//!
//! Every entry point follows the same order (see [`crate::gas`]):
//! 1. prepayment `base + 3·words(input)` > gas limit → out-of-gas halt;
//! 2. unknown selector → revert (empty data), charging the prepayment;
//! 3. the array length words are read straight from the calldata head (an offset or length that
//!    does not fit the calldata → revert, charging the prepayment); a length over a cap → revert,
//!    charging the prepayment;
//! 4. full cost from those lengths > gas limit → out-of-gas halt;
//! 5. ABI decode with validation (dirty padding, non-0/1 bools …) → on failure revert, charging
//!    the prepayment;
//! 6. the work itself: invalid values (fee ≥ 2^128, bps not summing to 10,000, n or a claim out
//!    of bounds) revert charging the full cost; success returns the binding's ABI-encoded return
//!    values, charging the full cost.
//!
//! Reverts carry no data (the interfaces declare no errors).

use alloy::sol_types::SolCall;
use alloy_primitives::{B256, Bytes};
use revm::precompile::{PrecompileHalt, PrecompileOutput};

use crate::{
    abi::{IFeeSplit, IMerkleMultiProof, ISpanMatch},
    fee_split::{MAX_SCORES, split},
    gas,
    merkle::{contribution_leaf, verify_multi_proof},
    span::{self, verify_spans},
};

fn out_of_gas() -> PrecompileOutput {
    PrecompileOutput::halt(PrecompileHalt::OutOfGas, 0)
}

fn revert(gas_used: u64) -> PrecompileOutput {
    PrecompileOutput::revert(gas_used, Bytes::new(), 0)
}

fn success(gas_used: u64, out: Vec<u8>) -> PrecompileOutput {
    PrecompileOutput::new(gas_used, out.into(), 0)
}

/// The arguments after `selector`, if `data` starts with it.
fn args_for(data: &[u8], selector: [u8; 4]) -> Option<&[u8]> {
    data.strip_prefix(&selector)
}

/// The 32-byte word at byte `at` of `args` as a `usize`, if it is in bounds and fits.
fn word_usize(args: &[u8], at: usize) -> Option<usize> {
    let w = args.get(at..at.checked_add(32)?)?;
    if w[..24].iter().any(|&b| b != 0) {
        return None;
    }
    usize::try_from(u64::from_be_bytes(w[24..].try_into().ok()?)).ok()
}

/// The length of the dynamic array whose offset is head word `slot` of `args`, provided its
/// `elem_words`-word elements fit within `args` (so a length is never larger than the calldata
/// could hold, and nothing computed from it can overflow).
fn array_len(args: &[u8], slot: usize, elem_words: usize) -> Option<u64> {
    let offset = word_usize(args, slot * 32)?;
    let len = word_usize(args, offset)?;
    let end = len
        .checked_mul(elem_words * 32)?
        .checked_add(offset.checked_add(32)?)?;
    (end <= args.len()).then_some(len as u64)
}

/// FeeSplit `split(uint256 fee, uint16[4] bps, int128[] scores, uint16 minShareBps)`.
pub fn fee_split(data: &[u8], gas_limit: u64) -> PrecompileOutput {
    let pre = gas::prepay(gas::FEE_SPLIT_BASE, data.len());
    if pre > gas_limit {
        return out_of_gas();
    }
    let Some(args) = args_for(data, IFeeSplit::splitCall::SELECTOR) else {
        return revert(pre);
    };
    // Head: fee, bps[0..4], offset(scores), minShareBps.
    let Some(n) = array_len(args, 5, 1) else {
        return revert(pre);
    };
    if n > MAX_SCORES as u64 {
        return revert(pre);
    }
    let cost = gas::fee_split(data.len(), n);
    if cost > gas_limit {
        return out_of_gas();
    }
    let Ok(call) = IFeeSplit::splitCall::abi_decode_validate(data) else {
        return revert(pre);
    };
    if call.scores.len() as u64 != n {
        return revert(pre);
    }
    match split(call.fee, call.bps, &call.scores, call.minShareBps) {
        Ok(s) => success(
            cost,
            IFeeSplit::splitCall::abi_encode_returns(&IFeeSplit::splitReturn {
                protocol: s.protocol,
                model: s.model,
                staker: s.staker,
                perContributor: s.per_contributor,
                unassigned: s.unassigned,
            }),
        ),
        Err(_) => revert(cost),
    }
}

/// MerkleMultiProof `verify(root, leaves, proof, proofFlags)` and
/// `verifyContributions(root, items, proof, proofFlags)`. A structurally invalid multiproof
/// (where OpenZeppelin's library reverts) returns `false`.
pub fn merkle_multi_proof(data: &[u8], gas_limit: u64) -> PrecompileOutput {
    let pre = gas::prepay(gas::MERKLE_BASE, data.len());
    if pre > gas_limit {
        return out_of_gas();
    }
    let (contributions, args) = if let Some(a) =
        args_for(data, IMerkleMultiProof::verifyCall::SELECTOR)
    {
        (false, a)
    } else if let Some(a) = args_for(data, IMerkleMultiProof::verifyContributionsCall::SELECTOR) {
        (true, a)
    } else {
        return revert(pre);
    };
    // Head: root, offset(leaves | items), offset(proof), offset(proofFlags).
    let item_words = if contributions { 6 } else { 1 };
    let (Some(items), Some(proof)) = (array_len(args, 1, item_words), array_len(args, 2, 1)) else {
        return revert(pre);
    };
    let hashes = if contributions {
        gas::contribution_hashes(items, proof)
    } else {
        gas::verify_hashes(items, proof)
    };
    if hashes > gas::MERKLE_MAX_HASHES {
        return revert(pre);
    }
    let cost = gas::merkle(data.len(), hashes);
    if cost > gas_limit {
        return out_of_gas();
    }
    if contributions {
        let Ok(call) = IMerkleMultiProof::verifyContributionsCall::abi_decode_validate(data) else {
            return revert(pre);
        };
        if call.items.len() as u64 != items || call.proof.len() as u64 != proof {
            return revert(pre);
        }
        let leaves: Vec<B256> = call.items.iter().map(contribution_leaf).collect();
        let ok = verify_multi_proof(call.root, &leaves, &call.proof, &call.proofFlags);
        success(
            cost,
            IMerkleMultiProof::verifyContributionsCall::abi_encode_returns(&ok),
        )
    } else {
        let Ok(call) = IMerkleMultiProof::verifyCall::abi_decode_validate(data) else {
            return revert(pre);
        };
        if call.leaves.len() as u64 != items || call.proof.len() as u64 != proof {
            return revert(pre);
        }
        let ok = verify_multi_proof(call.root, &call.leaves, &call.proof, &call.proofFlags);
        success(cost, IMerkleMultiProof::verifyCall::abi_encode_returns(&ok))
    }
}

/// SpanMatch `verifySpans(outputTokens, n, tokenizerId, fingerprintRoot, claims, proof,
/// proofFlags)`.
pub fn span_match(data: &[u8], gas_limit: u64) -> PrecompileOutput {
    let pre = gas::prepay(gas::SPAN_BASE, data.len());
    if pre > gas_limit {
        return out_of_gas();
    }
    let Some(args) = args_for(data, ISpanMatch::verifySpansCall::SELECTOR) else {
        return revert(pre);
    };
    // Head: offset(outputTokens), n, tokenizerId, fingerprintRoot, offset(claims),
    // offset(proof), offset(proofFlags).
    let (Some(tokens), Some(claims), Some(proof)) = (
        array_len(args, 0, 1),
        array_len(args, 4, 2),
        array_len(args, 5, 1),
    ) else {
        return revert(pre);
    };
    if tokens > span::MAX_TOKENS as u64 || claims > span::MAX_CLAIMS as u64 {
        return revert(pre);
    }
    // `n` is head word 1, a uint8: anything else is malformed.
    let Some(n) = word_usize(args, 32).filter(|n| *n <= u8::MAX as usize) else {
        return revert(pre);
    };
    let cost = gas::span_match(data.len(), claims, proof, tokens, n as u64);
    if cost > gas_limit {
        return out_of_gas();
    }
    let Ok(call) = ISpanMatch::verifySpansCall::abi_decode_validate(data) else {
        return revert(pre);
    };
    if call.outputTokens.len() as u64 != tokens
        || call.claims.len() as u64 != claims
        || call.proof.len() as u64 != proof
    {
        return revert(pre);
    }
    let claims: Vec<span::Claim> = call
        .claims
        .iter()
        .map(|c| (c.pos, c.contributionIndex))
        .collect();
    match verify_spans(
        &call.outputTokens,
        call.n,
        call.tokenizerId,
        call.fingerprintRoot,
        &claims,
        &call.proof,
        &call.proofFlags,
    ) {
        Ok(r) => success(
            cost,
            ISpanMatch::verifySpansCall::abi_encode_returns(&ISpanMatch::verifySpansReturn {
                ok: r.ok,
                coveredTokens: r.covered_tokens,
                longestRun: r.longest_run,
                tokensPerClaim: r.tokens_per_claim,
            }),
        ),
        Err(_) => revert(cost),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::tree::Tree;
    use crate::span::ngram_leaf;
    use alloy_primitives::{Address, U256, keccak256};
    use proptest::prelude::*;
    use revm::precompile::PrecompileStatus;

    const BIG: u64 = 100_000_000;

    fn split_call(fee: u64, bps: [u16; 4], scores: Vec<i128>, min: u16) -> Vec<u8> {
        IFeeSplit::splitCall {
            fee: U256::from(fee),
            bps,
            scores,
            minShareBps: min,
        }
        .abi_encode()
    }

    fn h(i: u64) -> B256 {
        keccak256(i.to_be_bytes())
    }

    /// A `verify` call proving `k` of `n` leaves (every `n / k`-th).
    fn verify_call(n: usize, k: usize) -> Vec<u8> {
        let leaves: Vec<B256> = (0..n as u64).map(h).collect();
        let tree = Tree::new(&leaves).expect("non-empty tree");
        let picks: Vec<usize> = (0..k).map(|i| i * (n / k.max(1))).collect();
        let mp = tree.multi_proof(&picks);
        IMerkleMultiProof::verifyCall {
            root: tree.root(),
            leaves: mp.leaf_order.iter().map(|&i| leaves[i]).collect(),
            proof: mp.proof,
            proofFlags: mp.flags,
        }
        .abi_encode()
    }

    fn contribution(i: u64) -> IMerkleMultiProof::Contribution {
        IMerkleMultiProof::Contribution {
            datanetId: h(1),
            version: 2,
            index: i,
            contributor: Address::with_last_byte(i as u8),
            contentHash: h(1000 + i),
            validationScore: i as u32 * 7,
        }
    }

    fn contributions_call(n: usize, picks: &[usize]) -> Vec<u8> {
        let items: Vec<_> = (0..n as u64).map(contribution).collect();
        let leaves: Vec<B256> = items.iter().map(contribution_leaf).collect();
        let tree = Tree::new(&leaves).expect("non-empty tree");
        let mp = tree.multi_proof(picks);
        IMerkleMultiProof::verifyContributionsCall {
            root: tree.root(),
            items: mp.leaf_order.iter().map(|&i| items[i].clone()).collect(),
            proof: mp.proof,
            proofFlags: mp.flags,
        }
        .abi_encode()
    }

    /// A `verifySpans` call over `len` tokens with `claims` claims of width `n` spread evenly,
    /// proven in a tree with `extra` decoy leaves.
    fn span_call(len: usize, n: u8, claims: usize, extra: usize) -> Vec<u8> {
        let output: Vec<u32> = (0..len as u32)
            .map(|t| t.wrapping_mul(2_654_435_761) % 50_000)
            .collect();
        let room = len - n as usize;
        let step = room
            .checked_div(claims.saturating_sub(1))
            .unwrap_or(1)
            .max(1);
        let cl: Vec<(u32, u64)> = (0..claims)
            .map(|i| ((i * step % (room + 1)) as u32, i as u64 % 17))
            .collect();
        let w = n as usize;
        let mut leaves: Vec<B256> = cl
            .iter()
            .map(|&(p, c)| ngram_leaf(n, 3, &output[p as usize..p as usize + w], c))
            .collect();
        leaves.extend((0..extra as u64).map(h));
        let tree = Tree::new(&leaves).expect("non-empty tree");
        crate::span::verify_spans_call(output, n, 3, &cl, &tree).abi_encode()
    }

    fn assert_oog_boundary(f: fn(&[u8], u64) -> PrecompileOutput, data: &[u8], cost: u64) {
        let at = f(data, cost);
        assert!(at.is_success(), "{at:?}");
        assert_eq!(at.gas_used, cost);
        let below = f(data, cost - 1);
        assert_eq!(
            below.status,
            PrecompileStatus::Halt(PrecompileHalt::OutOfGas)
        );
    }

    #[test]
    fn fee_split_end_to_end() {
        let data = split_call(1000, [1000, 2000, 500, 6500], vec![1, 1, 1], 0);
        let out = fee_split(&data, BIG);
        assert!(out.is_success());
        assert_eq!(out.gas_used, gas::fee_split(data.len(), 3));
        let r = IFeeSplit::splitCall::abi_decode_returns(&out.bytes).unwrap();
        assert_eq!(
            (r.protocol, r.model, r.staker),
            (U256::from(100), U256::from(200), U256::from(50))
        );
        assert_eq!(
            r.perContributor,
            vec![U256::from(217), U256::from(217), U256::from(216)]
        );
        assert_eq!(r.unassigned, U256::ZERO);
        assert_oog_boundary(fee_split, &data, gas::fee_split(data.len(), 3));
    }

    #[test]
    fn fee_split_gas_for_256_scores() {
        let data = split_call(
            10u64.pow(18),
            [500, 1500, 1000, 7000],
            (1..=256).collect(),
            0,
        );
        assert_eq!(data.len(), 4 + 32 * 264);
        let cost = gas::fee_split(data.len(), 256);
        assert_eq!(cost, 98_175);
        assert_oog_boundary(fee_split, &data, cost);
    }

    #[test]
    fn fee_split_reverts() {
        // Bad values revert after the full charge.
        let data = split_call(1, [0, 0, 0, 9_999], vec![1], 0);
        let out = fee_split(&data, BIG);
        assert!(out.is_revert() && out.bytes.is_empty());
        assert_eq!(out.gas_used, gas::fee_split(data.len(), 1));
        let mut data = split_call(1, [0, 0, 0, 10_000], vec![1], 0);
        data[4] = 1; // fee ≥ 2^248
        assert!(fee_split(&data, BIG).is_revert());
        // Over the cap: only the prepayment, even with a limit below the full cost.
        let data = split_call(1, [0, 0, 0, 10_000], vec![1; MAX_SCORES + 1], 0);
        let pre = gas::prepay(gas::FEE_SPLIT_BASE, data.len());
        let out = fee_split(&data, pre);
        assert!(out.is_revert());
        assert_eq!(out.gas_used, pre);
        assert!(fee_split(&data, pre - 1).is_halt());
        // Unknown selector, short input, dirty padding.
        for bad in [vec![], vec![1, 2, 3], vec![0xde, 0xad, 0xbe, 0xef, 0, 0]] {
            let out = fee_split(&bad, BIG);
            assert!(out.is_revert());
            assert_eq!(out.gas_used, gas::prepay(gas::FEE_SPLIT_BASE, bad.len()));
        }
        let mut data = split_call(1, [0, 0, 0, 10_000], vec![1], 0);
        data[4 + 32 + 29] = 1; // bps[0] with a bit above uint16
        let out = fee_split(&data, BIG);
        assert!(out.is_revert());
        assert_eq!(out.gas_used, gas::prepay(gas::FEE_SPLIT_BASE, data.len()));
        // A length word claiming more than the calldata holds.
        let mut data = split_call(1, [0, 0, 0, 10_000], vec![1, 2], 0);
        data[4 + 32 * 8 - 1] = 100;
        assert!(fee_split(&data, BIG).is_revert());
    }

    #[test]
    fn merkle_end_to_end_and_gas_for_256_leaves() {
        let data = verify_call(1024, 256);
        let args = &data[4..];
        let (leaves, proof) = (
            array_len(args, 1, 1).unwrap(),
            array_len(args, 2, 1).unwrap(),
        );
        assert_eq!(leaves, 256);
        let cost = gas::merkle(data.len(), leaves + proof);
        let out = merkle_multi_proof(&data, BIG);
        assert!(IMerkleMultiProof::verifyCall::abi_decode_returns(&out.bytes).unwrap());
        assert_oog_boundary(merkle_multi_proof, &data, cost);
        println!(
            "verify 256 of 1024 leaves: proof {proof}, calldata {} B, gas {cost}",
            data.len()
        );

        let data = contributions_call(300, &[0, 5, 17, 299]);
        let out = merkle_multi_proof(&data, BIG);
        assert!(
            IMerkleMultiProof::verifyContributionsCall::abi_decode_returns(&out.bytes).unwrap()
        );
        let c = IMerkleMultiProof::verifyContributionsCall::abi_decode(&data).unwrap();
        let hashes = gas::contribution_hashes(4, c.proof.len() as u64);
        assert_eq!(out.gas_used, gas::merkle(data.len(), hashes));
        assert_oog_boundary(merkle_multi_proof, &data, out.gas_used);

        // A wrong root is a successful `false`; a broken structure too.
        let mut c = c;
        c.root = h(0);
        let out = merkle_multi_proof(&c.abi_encode(), BIG);
        assert!(out.is_success());
        assert!(
            !IMerkleMultiProof::verifyContributionsCall::abi_decode_returns(&out.bytes).unwrap()
        );
        c.proofFlags.push(true);
        let out = merkle_multi_proof(&c.abi_encode(), BIG);
        assert!(
            !IMerkleMultiProof::verifyContributionsCall::abi_decode_returns(&out.bytes).unwrap()
        );
    }

    #[test]
    fn merkle_hash_cap() {
        let call = |leaves: usize, proof: usize| {
            IMerkleMultiProof::verifyCall {
                root: B256::ZERO,
                leaves: vec![B256::ZERO; leaves],
                proof: vec![B256::ZERO; proof],
                proofFlags: vec![],
            }
            .abi_encode()
        };
        let at_cap = call(4_000, 96);
        assert!(merkle_multi_proof(&at_cap, BIG).is_success());
        let over = call(4_000, 97);
        let out = merkle_multi_proof(&over, BIG);
        assert!(out.is_revert());
        assert_eq!(out.gas_used, gas::prepay(gas::MERKLE_BASE, over.len()));
        let items = |n: usize| {
            IMerkleMultiProof::verifyContributionsCall {
                root: B256::ZERO,
                items: vec![contribution(0); n],
                proof: vec![],
                proofFlags: vec![],
            }
            .abi_encode()
        };
        assert!(merkle_multi_proof(&items(1_365), BIG).is_success());
        assert!(merkle_multi_proof(&items(1_366), BIG).is_revert());
    }

    #[test]
    fn span_end_to_end_and_gas_for_1024_claims() {
        let data = span_call(8_192, 8, 1_024, 0);
        let c = ISpanMatch::verifySpansCall::abi_decode(&data).unwrap();
        let cost = gas::span_match(data.len(), 1_024, c.proof.len() as u64, 8_192, 8);
        let out = span_match(&data, BIG);
        let r = ISpanMatch::verifySpansCall::abi_decode_returns(&out.bytes).unwrap();
        assert!(r.ok);
        assert_eq!(r.coveredTokens, 8 * 1_024);
        assert_eq!(r.tokensPerClaim.len(), 1_024);
        assert_oog_boundary(span_match, &data, cost);
        println!(
            "span 1024 claims / 8192 tokens: proof {}, gas {cost}",
            c.proof.len()
        );

        // A bad n or claim position reverts after the full charge.
        let mut bad = c.clone();
        bad.n = 3;
        let data = bad.abi_encode();
        let out = span_match(&data, BIG);
        assert!(out.is_revert());
        let cost_n3 = gas::span_match(data.len(), 1_024, c.proof.len() as u64, 8_192, 3);
        assert_eq!(out.gas_used, cost_n3);
        let mut bad = c.clone();
        bad.claims[0].pos = 8_190;
        assert!(span_match(&bad.abi_encode(), BIG).is_revert());
        // A failed proof is a successful `ok = false` with empty outputs.
        let mut bad = c.clone();
        bad.tokenizerId = 4;
        let out = span_match(&bad.abi_encode(), BIG);
        let r = ISpanMatch::verifySpansCall::abi_decode_returns(&out.bytes).unwrap();
        assert!(!r.ok && r.coveredTokens == 0 && r.longestRun == 0 && r.tokensPerClaim.is_empty());
        // Caps.
        let mut big = c.clone();
        big.outputTokens.push(0);
        let data = big.abi_encode();
        let out = span_match(&data, BIG);
        assert!(out.is_revert());
        assert_eq!(out.gas_used, gas::prepay(gas::SPAN_BASE, data.len()));
        let mut many = c;
        many.claims.push(ISpanMatch::Claim {
            pos: 0,
            contributionIndex: 0,
        });
        let data = many.abi_encode();
        assert_eq!(
            span_match(&data, BIG).gas_used,
            gas::prepay(gas::SPAN_BASE, data.len())
        );
    }

    type Entry = fn(&[u8], u64) -> PrecompileOutput;

    /// Never panics (the caller runs it), never charges more than the limit, and a success
    /// decodes with the binding.
    fn check(f: Entry, data: &[u8], gas_limit: u64) -> Result<(), TestCaseError> {
        let out = f(data, gas_limit);
        prop_assert!(out.gas_used <= gas_limit);
        if out.is_halt() {
            prop_assert_eq!(out.gas_used, 0);
        }
        if out.is_success() {
            let sel: [u8; 4] = data[..4].try_into().unwrap();
            let decoded = match sel {
                IFeeSplit::splitCall::SELECTOR => {
                    IFeeSplit::splitCall::abi_decode_returns_validate(&out.bytes).is_ok()
                }
                IMerkleMultiProof::verifyCall::SELECTOR => {
                    IMerkleMultiProof::verifyCall::abi_decode_returns_validate(&out.bytes).is_ok()
                }
                IMerkleMultiProof::verifyContributionsCall::SELECTOR => {
                    IMerkleMultiProof::verifyContributionsCall::abi_decode_returns_validate(
                        &out.bytes,
                    )
                    .is_ok()
                }
                ISpanMatch::verifySpansCall::SELECTOR => {
                    ISpanMatch::verifySpansCall::abi_decode_returns_validate(&out.bytes).is_ok()
                }
                _ => false,
            };
            prop_assert!(decoded, "success with undecodable output");
        }
        Ok(())
    }

    const ENTRIES: [Entry; 3] = [fee_split, merkle_multi_proof, span_match];
    const SELECTORS: [[u8; 4]; 4] = [
        IFeeSplit::splitCall::SELECTOR,
        IMerkleMultiProof::verifyCall::SELECTOR,
        IMerkleMultiProof::verifyContributionsCall::SELECTOR,
        ISpanMatch::verifySpansCall::SELECTOR,
    ];

    fn gas_strategy() -> impl Strategy<Value = u64> {
        prop_oneof![0u64..500, 0u64..200_000, Just(BIG), Just(u64::MAX)]
    }

    /// Valid encodings of every call with random contents and lengths.
    fn valid_call() -> impl Strategy<Value = Vec<u8>> {
        let b256 = any::<[u8; 32]>().prop_map(B256::from);
        prop_oneof![
            (
                any::<u128>(),
                any::<[u16; 4]>(),
                prop::collection::vec(any::<i128>(), 0..40),
                any::<u16>()
            )
                .prop_map(|(fee, bps, scores, min)| {
                    let bps = if bps[0] % 2 == 0 {
                        [bps[0] % 5000, 2000, 1000, 7000 - bps[0] % 5000]
                    } else {
                        bps
                    };
                    IFeeSplit::splitCall {
                        fee: U256::from(fee),
                        bps,
                        scores,
                        minShareBps: min,
                    }
                    .abi_encode()
                }),
            (
                b256.clone(),
                prop::collection::vec(b256.clone(), 0..10),
                prop::collection::vec(b256.clone(), 0..10),
                prop::collection::vec(any::<bool>(), 0..20)
            )
                .prop_map(|(root, leaves, proof, flags)| {
                    IMerkleMultiProof::verifyCall {
                        root,
                        leaves,
                        proof,
                        proofFlags: flags,
                    }
                    .abi_encode()
                }),
            (
                1usize..40,
                prop::collection::vec(any::<prop::sample::Index>(), 0..6)
            )
                .prop_map(|(n, picks)| {
                    let mut p: Vec<usize> = picks.iter().map(|i| i.index(n)).collect();
                    p.sort_unstable();
                    p.dedup();
                    contributions_call(n, &p)
                }),
            (8usize..300, 4u8..=32, 0usize..30, 0usize..4).prop_map(|(len, n, claims, extra)| {
                span_call(
                    len.max(n as usize + 1),
                    n,
                    claims,
                    extra.max(usize::from(claims == 0)),
                )
            }),
            (
                prop::collection::vec(any::<u32>(), 0..64),
                any::<u8>(),
                any::<u32>(),
                b256.clone(),
                prop::collection::vec((any::<u32>(), any::<u64>()), 0..8),
                prop::collection::vec(b256, 0..8),
                prop::collection::vec(any::<bool>(), 0..16)
            )
                .prop_map(|(tokens, n, tokenizer, root, claims, proof, flags)| {
                    ISpanMatch::verifySpansCall {
                        outputTokens: tokens,
                        n: n % 40,
                        tokenizerId: tokenizer,
                        fingerprintRoot: root,
                        claims: claims
                            .into_iter()
                            .map(|(p, c)| ISpanMatch::Claim {
                                pos: p % 70,
                                contributionIndex: c,
                            })
                            .collect(),
                        proof,
                        proofFlags: flags,
                    }
                    .abi_encode()
                }),
        ]
    }

    /// A mutation of a valid encoding: a random word overwritten (often a length or offset word)
    /// with a random small or huge value, a truncation, or an extension.
    fn mutate(mut data: Vec<u8>, kind: u8, at: prop::sample::Index, value: u64) -> Vec<u8> {
        let words = (data.len().saturating_sub(4)) / 32;
        match kind % 4 {
            0 if words > 0 => {
                let w = 4 + 32 * at.index(words);
                data[w..w + 32].fill(0);
                data[w + 24..w + 32].copy_from_slice(&value.to_be_bytes());
            }
            1 if words > 0 => {
                let w = 4 + 32 * at.index(words);
                data[w] ^= 0x80;
            }
            2 => data.truncate(at.index(data.len() + 1)),
            3 => data.extend(std::iter::repeat_n(0xff, (value % 100) as usize)),
            _ => {}
        }
        data
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn random_bytes(data in prop::collection::vec(any::<u8>(), 0..600), g in gas_strategy()) {
            for f in ENTRIES {
                check(f, &data, g)?;
            }
        }

        #[test]
        fn selector_then_random_bytes(
            sel in 0usize..4, words in prop::collection::vec(
                prop_oneof![any::<[u8; 32]>(), (0u64..600).prop_map(|v| { let mut w = [0u8; 32]; w[24..].copy_from_slice(&v.to_be_bytes()); w })],
                0..24),
            tail in prop::collection::vec(any::<u8>(), 0..31), g in gas_strategy(),
        ) {
            let mut data = SELECTORS[sel].to_vec();
            words.iter().for_each(|w| data.extend_from_slice(w));
            data.extend(tail);
            for f in ENTRIES {
                check(f, &data, g)?;
            }
        }

        #[test]
        fn valid_encodings_with_random_lengths(
            data in valid_call(), mutate_it in any::<bool>(), kind in any::<u8>(),
            at in any::<prop::sample::Index>(), value in prop_oneof![0u64..100, any::<u64>()],
            g in gas_strategy(),
        ) {
            let data = if mutate_it { mutate(data, kind, at, value) } else { data };
            for f in ENTRIES {
                check(f, &data, g)?;
            }
        }
    }
}
