// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ISpanMatch} from "../ISpanMatch.sol";

/// @title SpanMatchReference
/// @notice Solidity implementation of the SpanMatch precompile (0x…A77004) with exactly its ABI.
///         Used by tests and benchmarks only; never deployed in genesis.
/// @dev    The leaf of claim `{pos, contributionIndex}` is the spec's
///           keccak256(bytes.concat(keccak256(abi.encode(uint8 n, uint32 tokenizerId,
///             keccak256(abi.encodePacked(tokens[pos .. pos + n))), uint64 contributionIndex))))
///         where `abi.encodePacked` of a uint32 array pads every element to a 32-byte big-endian
///         word (Solidity packs only non-array values tightly), so the inner token hash is
///         keccak256 over n * 32 bytes. The leaves, in claim order, are verified as one OpenZeppelin
///         multiproof; malformed multiproofs revert as OpenZeppelin does (the precompile returns
///         not-ok instead). If the proof does not reach `fingerprintRoot` the result is
///         (false, 0, 0, []). Bounds: 4 <= n <= 32, at most 8,192 tokens and 1,024 claims, every
///         `pos + n <= outputTokens.length`; otherwise it reverts with empty data, as the
///         precompile does. Storage layout: none.
contract SpanMatchReference is ISpanMatch {
    uint256 internal constant MIN_N = 4;
    uint256 internal constant MAX_N = 32;
    uint256 internal constant MAX_TOKENS = 8192;
    uint256 internal constant MAX_CLAIMS = 1024;

    function verifySpans(
        uint32[] memory outputTokens,
        uint8 n,
        uint32 tokenizerId,
        bytes32 fingerprintRoot,
        Claim[] calldata claims,
        bytes32[] calldata proof,
        bool[] calldata proofFlags
    ) external pure returns (bool ok, uint32 coveredTokens, uint32 longestRun, uint32[] memory tokensPerClaim) {
        if (n < MIN_N || n > MAX_N || outputTokens.length > MAX_TOKENS || claims.length > MAX_CLAIMS) {
            revert();
        }
        {
            bytes32[] memory leaves = _leaves(outputTokens, n, tokenizerId, claims);
            // multiProofVerifyCalldata, spelled out (its argument order does not fit the stack).
            if (MerkleProof.processMultiProofCalldata(proof, proofFlags, leaves) != fingerprintRoot) {
                return (false, 0, 0, new uint32[](0));
            }
        }
        ok = true;
        (coveredTokens, longestRun, tokensPerClaim) = _coverage(outputTokens.length, n, claims);
    }

    /// @dev The claims' leaves, in claim order; checks `pos + n <= len`.
    ///      `tokens` is in memory (ABI-decoded, so validated): token i is the 32-byte word at
    ///      tokens + 32 + 32 * i, which is exactly the abi.encodePacked layout of any slice.
    function _leaves(uint32[] memory tokens, uint8 n, uint32 tokenizerId, Claim[] calldata claims)
        private
        pure
        returns (bytes32[] memory leaves)
    {
        uint256 len = tokens.length;
        uint256 m = claims.length;
        leaves = new bytes32[](m);
        for (uint256 i; i < m; ++i) {
            uint256 pos = claims[i].pos;
            if (pos + n > len) revert();
            bytes32 tokensHash;
            assembly ("memory-safe") {
                tokensHash := keccak256(add(add(tokens, 0x20), shl(5, pos)), shl(5, n))
            }
            leaves[i] = keccak256(
                bytes.concat(keccak256(abi.encode(n, tokenizerId, tokensHash, claims[i].contributionIndex)))
            );
        }
    }

    /// @dev Coverage on a bitmap: position p is bit (p % 256) of word p / 256.
    function _coverage(uint256 len, uint8 n, Claim[] calldata claims)
        private
        pure
        returns (uint32 total, uint32 longest, uint32[] memory perClaim)
    {
        uint256[] memory covered = new uint256[]((len >> 8) + 1);
        uint256 m = claims.length;
        perClaim = new uint32[](m);
        unchecked {
            for (uint256 i; i < m; ++i) {
                uint32 fresh = _mark(covered, claims[i].pos, n);
                perClaim[i] = fresh;
                total += fresh;
            }
        }
        longest = uint32(_longestRun(covered));
    }

    /// @dev Sets bits [pos, pos + n) and returns how many were not set yet. A span of n <= 32
    ///      bits touches at most two words.
    function _mark(uint256[] memory covered, uint256 pos, uint256 n) private pure returns (uint32) {
        unchecked {
            uint256 ones = (uint256(1) << n) - 1;
            uint256 w = pos >> 8;
            uint256 b = pos & 255;
            uint256 mask = ones << b;
            uint256 word = covered[w];
            uint256 fresh = _popcount32(mask & ~word);
            covered[w] = word | mask;
            if (b + n > 256) {
                mask = ones >> (256 - b);
                word = covered[w + 1];
                fresh += _popcount32(mask & ~word);
                covered[w + 1] = word | mask;
            }
            return uint32(fresh);
        }
    }

    /// @dev Longest run of set bits across the bitmap, bit 0 of word 0 first.
    function _longestRun(uint256[] memory bits) private pure returns (uint256 best) {
        unchecked {
            uint256 run; // set bits continuing from the top of the previous word
            for (uint256 w; w < bits.length; ++w) {
                uint256 x = bits[w];
                if (x == type(uint256).max) {
                    run += 256;
                    continue;
                }
                if (x != 0) {
                    uint256 zeros = ~x;
                    run += Math.log2(zeros & (0 - zeros)); // + trailing ones
                    if (run > best) best = run;
                    uint256 inner = _maxRun(x);
                    if (inner > best) best = inner;
                    run = 255 - Math.log2(zeros); // leading ones
                } else {
                    if (run > best) best = run;
                    run = 0;
                }
            }
            if (run > best) best = run;
        }
    }

    /// @dev Longest run of set bits inside one word, by binary lifting: with
    ///      A_r = AND_{j<r} (x >> j) (bit i set iff bits i .. i+r-1 of x are), A_{r+s} = A_r & (A_s >> r).
    function _maxRun(uint256 x) private pure returns (uint256 r) {
        unchecked {
            uint256[9] memory pow; // pow[k] = A_{2^k}
            pow[0] = x;
            for (uint256 k = 1; k < 9; ++k) {
                uint256 p = pow[k - 1];
                pow[k] = p & (p >> (1 << (k - 1)));
            }
            uint256 acc = type(uint256).max; // A_r
            for (uint256 k = 9; k > 0;) {
                --k;
                uint256 next = acc & (pow[k] >> r);
                if (next != 0) {
                    acc = next;
                    r += 1 << k;
                }
            }
        }
    }

    /// @dev Population count of a word with at most 255 set bits (here: at most 32).
    function _popcount32(uint256 x) private pure returns (uint256) {
        unchecked {
            x -= (x >> 1) & 0x5555555555555555555555555555555555555555555555555555555555555555;
            x = (x & 0x3333333333333333333333333333333333333333333333333333333333333333)
                + ((x >> 2) & 0x3333333333333333333333333333333333333333333333333333333333333333);
            x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f;
            return (x * 0x0101010101010101010101010101010101010101010101010101010101010101) >> 248;
        }
    }
}
