// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IMerkleMultiProof} from "../IMerkleMultiProof.sol";

/// @title MultiProofReference
/// @notice Solidity implementation of the MerkleMultiProof precompile (0x…A77003) with exactly
///         its ABI, built on OpenZeppelin's `MerkleProof.multiProofVerifyCalldata`. Used by tests
///         and benchmarks only; never deployed in genesis.
/// @dev    Malformed multiproofs revert as OpenZeppelin does (`MerkleProofInvalidMultiproof()`,
///         or an array-bounds panic when the flags consume more values than exist), where the
///         precompile returns false. Over the precompile's hash cap (`leaves + proof` for
///         `verify`, `3 * items + proof` for `verifyContributions`, at most 4,096) it reverts
///         with empty data, as the precompile does. Storage layout: none.
contract MultiProofReference is IMerkleMultiProof {
    uint256 internal constant MAX_HASHES = 4096;

    function verify(bytes32 root, bytes32[] calldata leaves, bytes32[] calldata proof, bool[] calldata proofFlags)
        external
        pure
        returns (bool)
    {
        if (leaves.length + proof.length > MAX_HASHES) revert();
        return MerkleProof.multiProofVerifyCalldata(proof, proofFlags, root, leaves);
    }

    function verifyContributions(
        bytes32 root,
        Contribution[] calldata items,
        bytes32[] calldata proof,
        bool[] calldata proofFlags
    ) external pure returns (bool) {
        uint256 n = items.length;
        if (3 * n + proof.length > MAX_HASHES) revert();
        bytes32[] memory leaves = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            leaves[i] = contributionLeaf(items[i]);
        }
        return MerkleProof.multiProofVerifyCalldata(proof, proofFlags, root, leaves);
    }

    /// @notice The StandardMerkleTree leaf of a contribution:
    ///         keccak256(bytes.concat(keccak256(abi.encode(datanetId, version, index, contributor,
    ///         contentHash, validationScore)))).
    function contributionLeaf(Contribution calldata c) internal pure returns (bytes32) {
        return keccak256(
            bytes.concat(
                keccak256(abi.encode(c.datanetId, c.version, c.index, c.contributor, c.contentHash, c.validationScore))
            )
        );
    }
}
