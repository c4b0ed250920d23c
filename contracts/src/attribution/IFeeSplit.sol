// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IFeeSplit
/// @notice The fee-split precompile at 0x0000000000000000000000000000000000A77002 (pure).
/// Pools by floor division (the contributor pool absorbs the dust), then the contributor pool by
/// the largest-remainder method over max(score, 0), ties to the lower index.
interface IFeeSplit {
    /// @param fee the amount to split, < 2^128
    /// @param bps protocol, model, staker and contributor basis points, summing to 10,000
    /// @param scores contributor scores (1e18 fixed point; negative scores earn nothing), at most 4,096
    /// @param minShareBps drop contributors whose weight is below this share of the total
    function split(uint256 fee, uint16[4] calldata bps, int128[] calldata scores, uint16 minShareBps)
        external
        pure
        returns (uint256 protocol, uint256 model, uint256 staker, uint256[] memory perContributor, uint256 unassigned);
}
