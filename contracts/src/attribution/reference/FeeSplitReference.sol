// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IFeeSplit} from "../IFeeSplit.sol";
import {FeeSplitLib} from "./FeeSplitLib.sol";

/// @title FeeSplitReference
/// @notice Solidity implementation of the FeeSplit precompile (0x…A77002) with exactly its ABI,
///         so the same calldata can be sent to both. Used by tests and benchmarks only; never
///         deployed in genesis. Bad input (fee >= 2^128, bps not summing to 10,000, more than
///         4,096 scores) reverts with empty data, as the precompile does.
/// @dev    Storage layout: none.
contract FeeSplitReference is IFeeSplit {
    function split(uint256 fee, uint16[4] calldata bps, int128[] calldata scores, uint16 minShareBps)
        external
        pure
        returns (uint256 protocol, uint256 model, uint256 staker, uint256[] memory perContributor, uint256 unassigned)
    {
        uint256 n = scores.length;
        if (
            fee >> 128 != 0 || n > FeeSplitLib.MAX_SCORES
                || uint256(bps[0]) + bps[1] + bps[2] + bps[3] != FeeSplitLib.BPS_DENOMINATOR
        ) revert();
        uint256 pool;
        (protocol, model, staker, pool) = FeeSplitLib.pools(fee, bps[0], bps[1], bps[2], bps[3]);
        perContributor = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            perContributor[i] = FeeSplitLib.weight(scores[i]);
        }
        unassigned = FeeSplitLib.distribute(pool, perContributor, minShareBps, new uint256[](n));
    }
}
