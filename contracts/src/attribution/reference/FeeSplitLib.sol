// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title FeeSplitLib
/// @notice The FeeSplit algorithm (spec: FeeSplit, steps 1-4) in Solidity, shared by
///         FeeSplitReference and LedgerReference. Reference code for tests and benchmarks only.
/// @dev    1. `fee < 2^128`, `sum(bps) == 10_000`, at most 4,096 scores, else `BadInput()`.
///         2. Pools by floor division; the contributor pool is `fee` minus the other three.
///         3. `w_i = max(score_i, 0)`; with `minShareBps > 0`, weights with
///            `w_i * 1e4 < minShareBps * W` are dropped (W taken before dropping) and W recomputed.
///            If W is 0 every share is 0 and the whole contributor pool is unassigned.
///         4. `a_i = floor(P_c * w_i / W)`; the `P_c - sum(a_i)` leftover units go one each to the
///            largest remainders `P_c * w_i mod W`, ties to the lower index.
///         Every product fits in 256 bits: `P_c < 2^128`, `w_i < 2^127`, `W < 2^139`.
library FeeSplitLib {
    error BadInput();

    uint256 internal constant BPS_DENOMINATOR = 10_000;
    uint256 internal constant MAX_SCORES = 4096;

    /// @notice Step 1 (fee and bps checks) and step 2 (the four pools).
    function pools(uint256 fee, uint256 bps0, uint256 bps1, uint256 bps2, uint256 bps3)
        internal
        pure
        returns (uint256 protocol, uint256 model, uint256 staker, uint256 contributors)
    {
        if (fee >> 128 != 0 || bps0 + bps1 + bps2 + bps3 != BPS_DENOMINATOR) revert BadInput();
        unchecked {
            protocol = fee * bps0 / BPS_DENOMINATOR;
            model = fee * bps1 / BPS_DENOMINATOR;
            staker = fee * bps2 / BPS_DENOMINATOR;
            contributors = fee - protocol - model - staker;
        }
    }

    /// @notice `max(score, 0)` as a weight.
    function weight(int128 score) internal pure returns (uint256) {
        return score > 0 ? uint256(uint128(score)) : 0;
    }

    /// @notice Steps 3 and 4: splits `pool` over the weights `w`, which are overwritten with the
    ///         shares. `scratch` must be at least as long as `w` (its contents are clobbered).
    /// @return unassigned the part of `pool` no weight receives (`pool` when W = 0, else 0)
    function distribute(uint256 pool, uint256[] memory w, uint16 minShareBps, uint256[] memory scratch)
        internal
        pure
        returns (uint256 unassigned)
    {
        uint256 n = w.length;
        uint256 total;
        unchecked {
            for (uint256 i; i < n; ++i) total += w[i];
            if (total != 0 && minShareBps != 0) {
                uint256 bar = uint256(minShareBps) * total;
                total = 0;
                for (uint256 i; i < n; ++i) {
                    uint256 wi = w[i];
                    if (wi * BPS_DENOMINATOR < bar) w[i] = 0;
                    else total += wi;
                }
            }
            if (total == 0) {
                for (uint256 i; i < n; ++i) w[i] = 0;
                return pool;
            }

            // Floor shares; remainders packed as (remainder << 16 | 0xffff - index), so ordering
            // the keys descending orders by remainder descending, then by index ascending.
            uint256 assigned;
            uint256 keys;
            for (uint256 i; i < n; ++i) {
                uint256 product = pool * w[i];
                uint256 share = product / total;
                uint256 rem = product - share * total;
                w[i] = share;
                assigned += share;
                if (rem != 0) {
                    scratch[keys] = (rem << 16) | (0xffff - i);
                    ++keys;
                }
            }
            // left < number of non-zero remainders, so every winner has a positive remainder.
            uint256 left = pool - assigned;
            if (left != 0) {
                if (left < keys) _selectTop(scratch, 0, keys - 1, left);
                for (uint256 j; j < left; ++j) ++w[0xffff - (scratch[j] & 0xffff)];
            }
        }
    }

    /// @dev Quickselect on the distinct keys `a[lo..hi]`: afterwards the `k` largest of them are
    ///      in `a[lo .. lo+k)` (in any order). Iterative Hoare partition around the middle key.
    function _selectTop(uint256[] memory a, uint256 lo, uint256 hi, uint256 k) private pure {
        unchecked {
            uint256 want = lo + k; // boundary: a[..want) must end up >= a[want..]
            while (lo < hi) {
                uint256 pivot = a[lo + (hi - lo) / 2];
                uint256 i = lo;
                uint256 j = hi;
                while (i <= j) {
                    while (a[i] > pivot) ++i;
                    while (a[j] < pivot) --j;
                    if (i <= j) {
                        (a[i], a[j]) = (a[j], a[i]);
                        ++i;
                        if (j == 0) break; // j would go below lo = 0; a[0] is the pivot here
                        --j;
                    }
                }
                // a[lo..j] >= pivot >= a[i..hi], j < i, anything between equals the pivot.
                if (want <= j) hi = j;
                else if (want > i) lo = i;
                else return;
            }
        }
    }
}
