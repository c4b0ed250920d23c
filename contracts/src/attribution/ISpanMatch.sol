// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ISpanMatch
/// @notice The span-match precompile at 0x0000000000000000000000000000000000A77004 (pure).
/// Checks that n-gram spans of an output appear in a Datanet's committed fingerprint tree.
interface ISpanMatch {
    /// `output[pos .. pos + n)` matches an n-gram of contribution `contributionIndex`.
    struct Claim {
        uint32 pos;
        uint64 contributionIndex;
    }

    function verifySpans(
        uint32[] calldata outputTokens,
        uint8 n,
        uint32 tokenizerId,
        bytes32 fingerprintRoot,
        Claim[] calldata claims,
        bytes32[] calldata proof,
        bool[] calldata proofFlags
    ) external pure returns (bool ok, uint32 coveredTokens, uint32 longestRun, uint32[] memory tokensPerClaim);
}
