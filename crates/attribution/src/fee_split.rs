//! The fee split: the one implementation used by the AttributionLedger (per inference, also inside
//! batches), the FeeSplit precompile and the RPC previews, so a fee is split to the wei the same
//! way everywhere.
//!
//! The algorithm (spec "FeeSplit"):
//! 1. `fee < 2^128`, `Σ bps = 10,000`, `n ≤ 4,096`, else an error.
//! 2. Pools by floor division: `P_proto = ⌊fee·bps0/1e4⌋`, `P_model = ⌊fee·bps1/1e4⌋`,
//!    `P_stake = ⌊fee·bps2/1e4⌋`, and `P_c = fee − the three`: the contributor pool absorbs the
//!    dust, so the pools sum to `fee` exactly (`bps3` is implied by the sum rule).
//! 3. `w_i = max(score_i, 0)`, `W = Σ w_i`. If `minShareBps > 0`, every `w_i` with
//!    `w_i·1e4 < minShareBps·W` is dropped (one pass against the original `W`), then `W` is
//!    recomputed. If `W = 0`, every share is 0 and `unassigned = P_c`.
//! 4. `a_i = ⌊P_c·w_i / W⌋` with exact wide products; the `R = P_c − Σ a_i` leftover units go one
//!    each to the `R` largest remainders `P_c·w_i mod W`, ties to the lower index.
//!
//! Integer math only, no hashing or map iteration; the result is a pure function of the inputs.
//! Widths: `P_c < 2^128`, `w_i < 2^127` and `W < 2^139`, so `P_c·w_i < 2^255` fits a `U256`; a
//! `u128` fast path is taken when `W` and the product fit, which gives the same integers.

use alloy_primitives::U256;

/// Basis-point denominator: the four `bps` must sum to this.
pub const BPS_TOTAL: u32 = 10_000;
/// The most scores one split accepts.
pub const MAX_SCORES: usize = 4_096;

/// The outcome of a split. `protocol + model + staker + Σ per_contributor + unassigned == fee`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Split {
    /// Protocol treasury pool.
    pub protocol: U256,
    /// Model owner pool.
    pub model: U256,
    /// Staker pool.
    pub staker: U256,
    /// One amount per input score, in input order (0 for non-positive or pruned scores).
    pub per_contributor: Vec<U256>,
    /// The contributor pool when no score carries weight (`W = 0`), otherwise 0.
    pub unassigned: U256,
}

/// Why a split was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    /// The fee is not below 2^128.
    #[error("fee is not below 2^128")]
    FeeTooLarge,
    /// The basis points do not sum to 10,000.
    #[error("basis points sum to {0}, not 10,000")]
    BadBps(u32),
    /// More than [`MAX_SCORES`] scores.
    #[error("{0} scores, more than the cap of 4,096")]
    TooManyScores(usize),
}

/// Splits `fee` into the protocol, model, staker and contributor pools by `bps`, and the
/// contributor pool over `scores` by the largest-remainder method (see the module docs).
pub fn split(
    fee: U256,
    bps: [u16; 4],
    scores: &[i128],
    min_share_bps: u16,
) -> Result<Split, SplitError> {
    if fee.bit_len() > 128 {
        return Err(SplitError::FeeTooLarge);
    }
    let bps_sum: u32 = bps.iter().map(|&b| u32::from(b)).sum();
    if bps_sum != BPS_TOTAL {
        return Err(SplitError::BadBps(bps_sum));
    }
    if scores.len() > MAX_SCORES {
        return Err(SplitError::TooManyScores(scores.len()));
    }
    let fee: u128 = fee.to();

    // ⌊fee·b/1e4⌋ without a 256-bit product: fee = q·1e4 + r, so ⌊fee·b/1e4⌋ = q·b + ⌊r·b/1e4⌋
    // (b ≤ 1e4, so q·b ≤ fee and r·b < 1e8).
    let total = u128::from(BPS_TOTAL);
    let (q, r) = (fee / total, fee % total);
    let pool = |b: u16| q * u128::from(b) + r * u128::from(b) / total;
    let protocol = pool(bps[0]);
    let model = pool(bps[1]);
    let staker = pool(bps[2]);
    let pc = fee - protocol - model - staker;

    let mut per_contributor = vec![U256::ZERO; scores.len()];
    let unassigned = distribute(pc, scores, min_share_bps, &mut per_contributor);

    Ok(Split {
        protocol: U256::from(protocol),
        model: U256::from(model),
        staker: U256::from(staker),
        per_contributor,
        unassigned: U256::from(unassigned),
    })
}

/// The weight of a score: `max(score, 0)`, always `< 2^127`.
#[inline]
fn weight(score: i128) -> u128 {
    if score > 0 { score as u128 } else { 0 }
}

/// A sum of up to 4,096 weights (< 2^139): a `u128` low part and the carries.
#[derive(Clone, Copy)]
struct WideSum {
    lo: u128,
    hi: u64,
}

impl WideSum {
    fn of(weights: impl Iterator<Item = u128>) -> Self {
        let mut s = Self { lo: 0, hi: 0 };
        for w in weights {
            let (lo, carry) = s.lo.overflowing_add(w);
            s.lo = lo;
            s.hi += u64::from(carry);
        }
        s
    }

    fn is_zero(self) -> bool {
        self.lo == 0 && self.hi == 0
    }

    fn small(self) -> Option<u128> {
        (self.hi == 0).then_some(self.lo)
    }

    fn to_u256(self) -> U256 {
        (U256::from(self.hi) << 128) | U256::from(self.lo)
    }
}

/// Splits the contributor pool `pc` into `out` (all zero on entry, one slot per score); returns
/// the unassigned amount.
fn distribute(pc: u128, scores: &[i128], min_share_bps: u16, out: &mut [U256]) -> u128 {
    let w0 = WideSum::of(scores.iter().map(|&s| weight(s)));
    if w0.is_zero() {
        return pc;
    }
    // Keep w iff w·1e4 ≥ minShareBps·W0 ⟺ w ≥ ⌈minShareBps·W0 / 1e4⌉ =: threshold. Weights are
    // < 2^127, so a threshold that does not fit a u128 keeps nothing.
    let threshold: u128 = if min_share_bps == 0 {
        0
    } else {
        let x = U256::from(min_share_bps) * w0.to_u256();
        let t = x.div_ceil(U256::from(BPS_TOTAL));
        if t.bit_len() > 128 { u128::MAX } else { t.to() }
    };
    let eff = |s: i128| {
        let w = weight(s);
        if w >= threshold { w } else { 0 }
    };
    let w = if min_share_bps == 0 {
        w0
    } else {
        WideSum::of(scores.iter().map(|&s| eff(s)))
    };
    if w.is_zero() {
        return pc;
    }
    if pc == 0 {
        return 0;
    }

    match w.small() {
        Some(w) => apportion_small(pc, w, scores, eff, out),
        None => apportion_wide(pc, w.to_u256(), scores, eff, out),
    }
    0
}

/// Largest-remainder apportionment when `W < 2^128`: remainders fit a `u128`.
fn apportion_small(
    pc: u128,
    w: u128,
    scores: &[i128],
    eff: impl Fn(i128) -> u128,
    out: &mut [U256],
) {
    let wide_w = U256::from(w);
    let mut assigned: u128 = 0;
    for (slot, &s) in out.iter_mut().zip(scores) {
        let e = eff(s);
        if e == 0 {
            continue;
        }
        let a = match pc.checked_mul(e) {
            Some(p) => p / w,
            None => (U256::from(pc) * U256::from(e) / wide_w).to::<u128>(),
        };
        assigned += a;
        *slot = U256::from(a);
    }
    let r = pc - assigned;
    if r == 0 {
        return;
    }
    // r_i = P_c·w_i − a_i·W, recomputed only now that leftover units are known to exist.
    let remainder = |e: u128, a: u128| -> u128 {
        match pc.checked_mul(e) {
            Some(p) => p - a * w,
            None => (U256::from(pc) * U256::from(e) - U256::from(a) * wide_w).to::<u128>(),
        }
    };
    let rems = scores
        .iter()
        .zip(out.iter())
        .enumerate()
        .filter_map(|(i, (&s, a))| {
            let e = eff(s);
            if e == 0 {
                return None;
            }
            let rem = remainder(e, a.to::<u128>());
            (rem > 0).then_some((rem, i as u32))
        });
    award_largest(rems.collect(), r, out);
}

/// Largest-remainder apportionment when `W ≥ 2^128`, in 256-bit arithmetic.
fn apportion_wide(
    pc: u128,
    w: U256,
    scores: &[i128],
    eff: impl Fn(i128) -> u128,
    out: &mut [U256],
) {
    let pc_wide = U256::from(pc);
    let mut assigned: u128 = 0;
    for (slot, &s) in out.iter_mut().zip(scores) {
        let e = eff(s);
        if e == 0 {
            continue;
        }
        let a = pc_wide * U256::from(e) / w;
        assigned += a.to::<u128>();
        *slot = a;
    }
    let r = pc - assigned;
    if r == 0 {
        return;
    }
    let rems = scores
        .iter()
        .zip(out.iter())
        .enumerate()
        .filter_map(|(i, (&s, a))| {
            let e = eff(s);
            if e == 0 {
                return None;
            }
            let rem = pc_wide * U256::from(e) - *a * w;
            (!rem.is_zero()).then_some((rem, i as u32))
        });
    award_largest(rems.collect(), r, out);
}

/// Gives one unit to each of the `r` entries with the largest remainder, ties to the lower index.
///
/// `rems` holds only positive remainders; since `Σ r_i = R·W` and every `r_i < W`, there are
/// more than `R` of them. The order (remainder descending, index ascending) is total, so the
/// selected set is unique whatever the selection algorithm does internally.
fn award_largest<T: Ord>(mut rems: Vec<(T, u32)>, r: u128, out: &mut [U256]) {
    let r = r as usize;
    debug_assert!(r < rems.len());
    let r = r.min(rems.len());
    if r < rems.len() {
        rems.select_nth_unstable_by(r, |x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
    }
    for (_, i) in &rems[..r] {
        out[*i as usize] += U256::from(1u8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn u(v: u128) -> U256 {
        U256::from(v)
    }

    fn shares(v: &[u128]) -> Vec<U256> {
        v.iter().map(|&x| u(x)).collect()
    }

    /// A deliberately naive version: everything in U256, every remainder sorted.
    fn reference(fee: u128, bps: [u16; 4], scores: &[i128], min_share_bps: u16) -> Split {
        let fee_w = u(fee);
        let pools: Vec<U256> = bps[..3]
            .iter()
            .map(|&b| fee_w * U256::from(b) / u(10_000))
            .collect();
        let pc = fee_w - pools[0] - pools[1] - pools[2];
        let mut w: Vec<U256> = scores.iter().map(|&s| u(s.max(0) as u128)).collect();
        let mut total = w.iter().fold(U256::ZERO, |a, b| a + b);
        if min_share_bps > 0 {
            for x in w.iter_mut() {
                if *x * u(10_000) < U256::from(min_share_bps) * total {
                    *x = U256::ZERO;
                }
            }
            total = w.iter().fold(U256::ZERO, |a, b| a + b);
        }
        let mut out = vec![U256::ZERO; scores.len()];
        let mut unassigned = U256::ZERO;
        if total.is_zero() {
            unassigned = pc;
        } else {
            let mut rems = Vec::new();
            let mut sum = U256::ZERO;
            for (i, x) in w.iter().enumerate() {
                let (a, r) = (pc * x).div_rem(total);
                out[i] = a;
                sum += a;
                rems.push((r, i));
            }
            rems.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            let r: usize = (pc - sum).to();
            for (_, i) in &rems[..r] {
                out[*i] += u(1);
            }
        }
        Split {
            protocol: pools[0],
            model: pools[1],
            staker: pools[2],
            per_contributor: out,
            unassigned,
        }
    }

    #[test]
    fn spec_vector_three_equal_scores() {
        let s = split(u(1000), [1000, 2000, 500, 6500], &[1, 1, 1], 0).unwrap();
        assert_eq!((s.protocol, s.model, s.staker), (u(100), u(200), u(50)));
        assert_eq!(s.per_contributor, shares(&[217, 217, 216]));
        assert_eq!(s.unassigned, U256::ZERO);
    }

    #[test]
    fn ties_go_to_the_lower_index() {
        let s = split(u(10), [0, 0, 0, 10_000], &[1, 1, 1, 1], 0).unwrap();
        assert_eq!(s.per_contributor, shares(&[3, 3, 2, 2]));
        // Remainders [1, 2, 1, 2] (W = 6, P_c = 7): the one leftover unit goes to index 1.
        let s = split(u(7), [0, 0, 0, 10_000], &[1, 2, 1, 2], 0).unwrap();
        assert_eq!(s.per_contributor, shares(&[1, 3, 1, 2]));
        // The largest remainder wins over a lower index: W = 3, P_c = 2 → 2/3, 4/3: [0, 1] + 1 to idx 0
        // (remainder 2 vs 1).
        let s = split(u(2), [0, 0, 0, 10_000], &[1, 2], 0).unwrap();
        assert_eq!(s.per_contributor, shares(&[1, 1]));
        let s = split(u(5), [0, 0, 0, 10_000], &[2, 1, 2], 0).unwrap();
        // W = 5: exact 2, 1, 2.
        assert_eq!(s.per_contributor, shares(&[2, 1, 2]));
        let s = split(u(4), [0, 0, 0, 10_000], &[1, 3, 3], 0).unwrap();
        // W = 7: 4/7 → 0 r4, 12/7 → 1 r5, 1 r5; R = 2 → indices 1 and 2.
        assert_eq!(s.per_contributor, shares(&[0, 2, 2]));
    }

    #[test]
    fn contributor_pool_absorbs_the_dust() {
        // 999·0.1 = 99.9, 999·0.2 = 199.8, 999·0.05 = 49.95 → 99, 199, 49; P_c = 652 (not 649).
        let s = split(u(999), [1000, 2000, 500, 6500], &[5], 0).unwrap();
        assert_eq!((s.protocol, s.model, s.staker), (u(99), u(199), u(49)));
        assert_eq!(s.per_contributor, shares(&[652]));
        let s = split(u(999), [1000, 2000, 500, 6500], &[], 0).unwrap();
        assert_eq!(s.unassigned, u(652));
    }

    #[test]
    fn no_positive_weight_leaves_the_pool_unassigned() {
        let s = split(u(1000), [1000, 2000, 500, 6500], &[-1, 0, -5], 0).unwrap();
        assert_eq!(s.per_contributor, shares(&[0, 0, 0]));
        assert_eq!(s.unassigned, u(650));
        let s = split(u(1000), [1000, 2000, 500, 6500], &[], 0).unwrap();
        assert!(s.per_contributor.is_empty());
        assert_eq!(s.unassigned, u(650));
        let s = split(u(1000), [1000, 2000, 500, 6500], &[i128::MIN, 3], 0).unwrap();
        assert_eq!(s.per_contributor, shares(&[0, 650]));
        assert_eq!(s.unassigned, U256::ZERO);
    }

    #[test]
    fn pruning_drops_the_small_and_keeps_the_boundary() {
        // W0 = 1002; w·1e4 < 10·1002 drops the two 1s.
        let s = split(u(100), [0, 0, 0, 10_000], &[1000, 1, 1], 10).unwrap();
        assert_eq!(s.per_contributor, shares(&[100, 0, 0]));
        // Exactly at the boundary (1·1e4 == 1·10,000) is kept.
        let s = split(u(10_000), [0, 0, 0, 10_000], &[1, 9999], 1).unwrap();
        assert_eq!(s.per_contributor, shares(&[1, 9999]));
        // minShareBps above 10,000 drops everyone.
        let s = split(u(100), [0, 0, 0, 10_000], &[1, 2], 10_001).unwrap();
        assert_eq!(s.per_contributor, shares(&[0, 0]));
        assert_eq!(s.unassigned, u(100));
        // 10,000 keeps only a sole holder of all the weight.
        let s = split(u(100), [0, 0, 0, 10_000], &[0, 7, -1], 10_000).unwrap();
        assert_eq!(s.per_contributor, shares(&[0, 100, 0]));
    }

    #[test]
    fn input_checks() {
        let max = (U256::from(1) << 128) - u(1);
        assert!(split(max, [0, 0, 0, 10_000], &[1], 0).is_ok());
        assert_eq!(
            split(max + u(1), [0, 0, 0, 10_000], &[1], 0),
            Err(SplitError::FeeTooLarge)
        );
        assert_eq!(
            split(U256::MAX, [0, 0, 0, 10_000], &[1], 0),
            Err(SplitError::FeeTooLarge)
        );
        assert_eq!(
            split(u(1), [0, 0, 0, 9_999], &[1], 0),
            Err(SplitError::BadBps(9_999))
        );
        assert_eq!(
            split(u(1), [u16::MAX, u16::MAX, 0, 10_000], &[1], 0),
            Err(SplitError::BadBps(2 * 65_535 + 10_000))
        );
        assert!(split(u(1), [0, 0, 0, 10_000], &[1; MAX_SCORES], 0).is_ok());
        assert_eq!(
            split(u(1), [0, 0, 0, 10_000], &[1; MAX_SCORES + 1], 0),
            Err(SplitError::TooManyScores(MAX_SCORES + 1))
        );
    }

    #[test]
    fn extreme_widths() {
        let fee = (U256::from(1) << 128) - u(1);
        let scores = vec![i128::MAX; MAX_SCORES];
        let s = split(fee, [1, 2, 3, 9_994], &scores, 1).unwrap();
        assert_eq!(s, reference(u128::MAX, [1, 2, 3, 9_994], &scores, 1));
        let total = s
            .per_contributor
            .iter()
            .fold(s.protocol + s.model + s.staker, |a, b| a + b);
        assert_eq!(total, fee);
        let mut mixed = scores.clone();
        mixed[7] = 3;
        mixed[100] = i128::MAX - 1;
        mixed[4000] = -1;
        let s = split(fee, [0, 0, 0, 10_000], &mixed, 0).unwrap();
        assert_eq!(s, reference(u128::MAX, [0, 0, 0, 10_000], &mixed, 0));
    }

    fn bps_strategy() -> impl Strategy<Value = [u16; 4]> {
        (0u16..=10_000, 0u16..=10_000, 0u16..=10_000).prop_map(|(a, b, c)| {
            let mut cuts = [a, b, c];
            cuts.sort_unstable();
            [
                cuts[0],
                cuts[1] - cuts[0],
                cuts[2] - cuts[1],
                10_000 - cuts[2],
            ]
        })
    }

    fn fee_strategy() -> impl Strategy<Value = u128> {
        prop_oneof![
            0u128..100,
            0u128..1_000_000,
            any::<u64>().prop_map(u128::from),
            any::<u128>()
        ]
    }

    fn score_strategy() -> impl Strategy<Value = i128> {
        prop_oneof![
            -3i128..10,
            -1_000_000i128..1_000_000,
            any::<i64>().prop_map(i128::from),
            any::<i128>(),
            Just(i128::MAX),
        ]
    }

    fn scores_strategy() -> impl Strategy<Value = Vec<i128>> {
        prop_oneof![
            prop::collection::vec(score_strategy(), 0..12),
            prop::collection::vec(score_strategy(), 0..300),
        ]
    }

    fn total_of(s: &Split) -> U256 {
        s.per_contributor.iter().fold(U256::ZERO, |a, b| a + b)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn conserves_and_matches_reference(
            fee in fee_strategy(), bps in bps_strategy(), scores in scores_strategy(),
            min in prop_oneof![Just(0u16), 0u16..50, any::<u16>()],
        ) {
            let s = split(u(fee), bps, &scores, min).unwrap();
            let pc = u(fee) - s.protocol - s.model - s.staker;
            prop_assert_eq!(total_of(&s) + s.unassigned, pc);
            prop_assert_eq!(s.protocol + s.model + s.staker + pc, u(fee));
            prop_assert_eq!(s.per_contributor.len(), scores.len());
            prop_assert!(s.unassigned.is_zero() || total_of(&s).is_zero());
            prop_assert_eq!(&s, &reference(fee, bps, &scores, min));
        }

        #[test]
        fn scaling_positive_scores_changes_nothing(
            fee in fee_strategy(), bps in bps_strategy(),
            scores in prop::collection::vec(-(1i128 << 40)..(1i128 << 40), 0..64),
            k in 1i128..(1i128 << 40), min in prop_oneof![Just(0u16), 0u16..3000],
        ) {
            let scaled: Vec<i128> = scores.iter().map(|&x| if x > 0 { x * k } else { x }).collect();
            prop_assert_eq!(split(u(fee), bps, &scores, min).unwrap(), split(u(fee), bps, &scaled, min).unwrap());
        }

        #[test]
        fn a_larger_score_never_gets_less_and_negatives_earn_nothing(
            fee in fee_strategy(), bps in bps_strategy(), scores in scores_strategy(),
            min in prop_oneof![Just(0u16), 0u16..3000],
        ) {
            let s = split(u(fee), bps, &scores, min).unwrap();
            for (i, &a) in scores.iter().enumerate() {
                if a <= 0 {
                    prop_assert_eq!(s.per_contributor[i], U256::ZERO);
                }
                for (j, &b) in scores.iter().enumerate() {
                    if a > b {
                        prop_assert!(s.per_contributor[i] >= s.per_contributor[j], "{} > {} but {} < {}", a, b, s.per_contributor[i], s.per_contributor[j]);
                    }
                }
            }
        }

        #[test]
        fn pruning_drops_exactly_the_small_ones(
            fee in fee_strategy(), bps in bps_strategy(), scores in scores_strategy(), min in 1u16..=10_000,
        ) {
            let total = scores.iter().fold(U256::ZERO, |a, &x| a + u(x.max(0) as u128));
            let small = |x: i128| u(x.max(0) as u128) * u(10_000) < U256::from(min) * total;
            let zeroed: Vec<i128> = scores.iter().map(|&x| if small(x) { 0 } else { x }).collect();
            let pruned = split(u(fee), bps, &scores, min).unwrap();
            prop_assert_eq!(&pruned, &split(u(fee), bps, &zeroed, 0).unwrap());
            for (i, &x) in scores.iter().enumerate() {
                if small(x) {
                    prop_assert_eq!(pruned.per_contributor[i], U256::ZERO);
                }
            }
        }
    }
}
