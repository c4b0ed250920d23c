// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {flzCompressLen} from "../lib/FastLZ.sol";

/// @title FastLZHarness
/// @notice Test-only wrapper exposing the FastLZ compressed-length function that GasPriceOracle
///         uses, so tests can compare it with op-revm's `flz_compress_len`. Not a predeploy.
/// @dev    Storage layout: none.
contract FastLZHarness {
    function compressedLength(bytes calldata data) external pure returns (uint256) {
        return flzCompressLen(data);
    }

    /// @notice Same as compressedLength, but the memory the hash table will occupy is filled
    ///         with entries pointing at position 1 first, to check that the table is cleared.
    function compressedLengthDirtyMemory(bytes calldata data) external pure returns (uint256) {
        bytes memory copy = data;
        assembly ("memory-safe") {
            let t := mload(0x40)
            for { let i := 0 } lt(i, 0x8020) { i := add(i, 0x20) } {
                mstore(add(t, i), 0x0000000100000001000000010000000100000001000000010000000100000001)
            }
        }
        return flzCompressLen(copy);
    }
}
