// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IMerkleMultiProof
/// @notice The multiproof precompile at 0x0000000000000000000000000000000000A77003 (pure), with
/// OpenZeppelin `MerkleProof.multiProofVerify` semantics (sorted-pair keccak256).
interface IMerkleMultiProof {
    /// A Datanet contribution as committed in a version's contribution root. Its leaf is the
    /// OpenZeppelin StandardMerkleTree double hash of the ABI-encoded fields.
    struct Contribution {
        bytes32 datanetId;
        uint64 version;
        uint64 index;
        address contributor;
        bytes32 contentHash;
        uint32 validationScore;
    }

    function verify(bytes32 root, bytes32[] calldata leaves, bytes32[] calldata proof, bool[] calldata proofFlags)
        external
        pure
        returns (bool);

    function verifyContributions(
        bytes32 root,
        Contribution[] calldata items,
        bytes32[] calldata proof,
        bool[] calldata proofFlags
    ) external pure returns (bool);
}
