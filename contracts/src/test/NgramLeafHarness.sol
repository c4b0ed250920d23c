// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title NgramLeafHarness
/// @notice Test-only: the spec's SpanMatch n-gram leaf written literally in Solidity, so the
///         tests can pin down the byte layout Solidity produces for `abi.encodePacked` of a
///         uint32 array (each element padded to 32 bytes) and check SpanMatchReference's
///         optimised leaf against it. Not a predeploy.
/// @dev    Storage layout: none.
contract NgramLeafHarness {
    /// `tokens` is the n-gram itself (n = tokens.length).
    function ngramLeaf(uint32[] memory tokens, uint32 tokenizerId, uint64 contributionIndex)
        external
        pure
        returns (bytes32)
    {
        uint8 n = uint8(tokens.length);
        return keccak256(
            bytes.concat(keccak256(abi.encode(n, tokenizerId, keccak256(abi.encodePacked(tokens)), contributionIndex)))
        );
    }

    function packed(uint32[] memory tokens) external pure returns (bytes memory) {
        return abi.encodePacked(tokens);
    }

    function packedFixed4(uint32[4] memory tokens) external pure returns (bytes memory) {
        return abi.encodePacked(tokens);
    }
}
