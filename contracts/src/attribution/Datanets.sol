// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IAttributionLedger} from "./IAttributionLedger.sol";
import {IMerkleMultiProof} from "./IMerkleMultiProof.sol";

/// @title Datanets
/// @notice Predeploy for Datanets: curated data sets whose contributors the attribution ledger
///         pays. Anyone creates a Datanet and becomes its curator; anyone submits contributions
///         (a content hash and a metadata URI); the curator approves or rejects them and publishes
///         versions (a contribution root and an n-gram fingerprint root, built off chain).
/// @dev    Runtime code is placed in genesis: no constructor, no immutables; the precompile
///         addresses are constants. The contract holds the ledger's Registrar role from genesis
///         and registers every Datanet in the ledger with itself as the ledger-level owner, so
///         only this contract can publish versions there; it keeps the human curator itself and
///         forwards the curator's `publishVersion` to `IAttributionLedger.updateDatanet`.
///         Storage layout (genesis needs none):
///           0: `_datanets` mapping(bytes32 => Datanet): entry at keccak256(id ++ pad32(0)),
///              fields: +0 curator (address, bits 0..159) | version (uint64, bits 160..223),
///              +1 contributionCount (uint64), +2 contributionRoot, +3 fingerprintRoot,
///              +4 metadataURI (string)
///           1: `_contributions` mapping(bytes32 => mapping(uint64 => Contribution)): entry at
///              keccak256(pad32(index) ++ keccak256(id ++ pad32(1))), fields: +0 contributor
///              (bits 0..159) | status (uint8, bits 160..167) | submittedAt block (uint64, bits
///              168..231), +1 contentHash
contract Datanets {
    /// The attribution ledger precompile (0x…A77001).
    IAttributionLedger internal constant LEDGER = IAttributionLedger(0x0000000000000000000000000000000000a77001);
    /// The MerkleMultiProof precompile (0x…A77003).
    IMerkleMultiProof internal constant MULTIPROOF = IMerkleMultiProof(0x0000000000000000000000000000000000A77003);

    string public constant version = "1.0.0";

    enum Status {
        None,
        Pending,
        Approved,
        Rejected
    }

    struct Datanet {
        address curator;
        uint64 version;
        uint64 contributionCount;
        bytes32 contributionRoot;
        bytes32 fingerprintRoot;
        string metadataURI;
    }

    struct Contribution {
        address contributor;
        Status status;
        uint64 submittedAt;
        bytes32 contentHash;
    }

    event DatanetCreated(bytes32 indexed datanetId, address indexed curator, bytes32 salt, string metadataURI);
    event ContributionSubmitted(
        bytes32 indexed datanetId,
        uint64 indexed index,
        address indexed contributor,
        bytes32 contentHash,
        string metadataURI
    );
    event ContributionApproved(bytes32 indexed datanetId, uint64 indexed index, address indexed contributor);
    event ContributionRejected(
        bytes32 indexed datanetId, uint64 indexed index, address indexed contributor, string reason
    );
    event VersionPublished(
        bytes32 indexed datanetId, uint64 indexed version, bytes32 contributionRoot, bytes32 fingerprintRoot
    );
    event CuratorshipTransferred(bytes32 indexed datanetId, address indexed previousCurator, address indexed newCurator);

    error DatanetExists(bytes32 datanetId);
    error UnknownDatanet(bytes32 datanetId);
    error NotCurator(bytes32 datanetId, address caller);
    error ZeroContentHash();
    error UnknownContribution(bytes32 datanetId, uint64 index);
    error NotPending(bytes32 datanetId, uint64 index, Status status);
    error StaleVersion(bytes32 datanetId, uint64 current, uint64 proposed);
    error ZeroRoot();
    error ZeroAddress();

    mapping(bytes32 => Datanet) internal _datanets;
    mapping(bytes32 => mapping(uint64 => Contribution)) internal _contributions;

    // ---------------------------------------------------------------------------------------
    // Datanets

    /// @notice Creates a Datanet curated by the caller, with id keccak256(abi.encode(caller, salt)),
    ///         and registers it in the ledger (owner: this contract).
    function createDatanet(bytes32 salt, string calldata metadataURI) external returns (bytes32 datanetId) {
        datanetId = keccak256(abi.encode(msg.sender, salt));
        Datanet storage d = _datanets[datanetId];
        if (d.curator != address(0)) revert DatanetExists(datanetId);
        d.curator = msg.sender;
        d.metadataURI = metadataURI;
        LEDGER.registerDatanet(datanetId, address(this));
        emit DatanetCreated(datanetId, msg.sender, salt, metadataURI);
    }

    /// @notice The id `createDatanet(salt, …)` gives when `curator` calls it.
    function datanetIdOf(address curator, bytes32 salt) external pure returns (bytes32) {
        return keccak256(abi.encode(curator, salt));
    }

    /// @notice Hands the Datanet to a new curator (effective immediately).
    function transferCuratorship(bytes32 datanetId, address newCurator) external {
        Datanet storage d = _curated(datanetId);
        if (newCurator == address(0)) revert ZeroAddress();
        d.curator = newCurator;
        emit CuratorshipTransferred(datanetId, msg.sender, newCurator);
    }

    /// @notice Publishes a version: the roots of the contribution tree and of the n-gram
    ///         fingerprint tree (OpenZeppelin StandardMerkleTree layouts, see the spec), recorded
    ///         here and in the ledger. Versions strictly increase.
    function publishVersion(bytes32 datanetId, uint64 newVersion, bytes32 contributionRoot, bytes32 fingerprintRoot)
        external
    {
        Datanet storage d = _curated(datanetId);
        uint64 current = d.version;
        if (newVersion <= current) revert StaleVersion(datanetId, current, newVersion);
        if (contributionRoot == 0 || fingerprintRoot == 0) revert ZeroRoot();
        d.version = newVersion;
        d.contributionRoot = contributionRoot;
        d.fingerprintRoot = fingerprintRoot;
        LEDGER.updateDatanet(datanetId, newVersion, contributionRoot, fingerprintRoot);
        emit VersionPublished(datanetId, newVersion, contributionRoot, fingerprintRoot);
    }

    // ---------------------------------------------------------------------------------------
    // Contributions

    /// @notice Submits a contribution; indices are sequential per Datanet from 0.
    function submitContribution(bytes32 datanetId, bytes32 contentHash, string calldata metadataURI)
        external
        returns (uint64 index)
    {
        Datanet storage d = _existing(datanetId);
        if (contentHash == 0) revert ZeroContentHash();
        index = d.contributionCount;
        d.contributionCount = index + 1;
        _contributions[datanetId][index] = Contribution(msg.sender, Status.Pending, uint64(block.number), contentHash);
        emit ContributionSubmitted(datanetId, index, msg.sender, contentHash, metadataURI);
    }

    /// @notice Curator: accepts a pending contribution.
    function approveContribution(bytes32 datanetId, uint64 index) external {
        Contribution storage c = _pending(datanetId, index);
        c.status = Status.Approved;
        emit ContributionApproved(datanetId, index, c.contributor);
    }

    /// @notice Curator: turns down a pending contribution, with a reason for the contributor.
    function rejectContribution(bytes32 datanetId, uint64 index, string calldata reason) external {
        Contribution storage c = _pending(datanetId, index);
        c.status = Status.Rejected;
        emit ContributionRejected(datanetId, index, c.contributor, reason);
    }

    // ---------------------------------------------------------------------------------------
    // Views

    function getDatanet(bytes32 datanetId)
        external
        view
        returns (
            address curator,
            uint64 latestVersion,
            uint64 contributions,
            bytes32 contributionRoot,
            bytes32 fingerprintRoot,
            string memory metadataURI
        )
    {
        Datanet storage d = _datanets[datanetId];
        return (d.curator, d.version, d.contributionCount, d.contributionRoot, d.fingerprintRoot, d.metadataURI);
    }

    function getContribution(bytes32 datanetId, uint64 index)
        external
        view
        returns (address contributor, Status status, uint64 submittedAt, bytes32 contentHash)
    {
        Contribution storage c = _contributions[datanetId][index];
        return (c.contributor, c.status, c.submittedAt, c.contentHash);
    }

    function contributionCount(bytes32 datanetId) external view returns (uint64) {
        return _datanets[datanetId].contributionCount;
    }

    /// @notice Whether every item is in the Datanet's latest contribution tree (one multiproof,
    ///         checked by the MerkleMultiProof precompile) and names this Datanet. False for an
    ///         empty list, before the first version, or for a malformed proof.
    function checkContributions(
        bytes32 datanetId,
        IMerkleMultiProof.Contribution[] calldata items,
        bytes32[] calldata proof,
        bool[] calldata proofFlags
    ) external view returns (bool) {
        bytes32 root = _existing(datanetId).contributionRoot;
        if (root == 0 || items.length == 0) return false;
        for (uint256 i; i < items.length; ++i) {
            if (items[i].datanetId != datanetId) return false;
        }
        try MULTIPROOF.verifyContributions(root, items, proof, proofFlags) returns (bool ok) {
            return ok;
        } catch {
            return false;
        }
    }

    // ---------------------------------------------------------------------------------------

    function _existing(bytes32 datanetId) private view returns (Datanet storage d) {
        d = _datanets[datanetId];
        if (d.curator == address(0)) revert UnknownDatanet(datanetId);
    }

    function _curated(bytes32 datanetId) private view returns (Datanet storage d) {
        d = _existing(datanetId);
        if (d.curator != msg.sender) revert NotCurator(datanetId, msg.sender);
    }

    function _pending(bytes32 datanetId, uint64 index) private view returns (Contribution storage c) {
        Datanet storage d = _curated(datanetId);
        if (index >= d.contributionCount) revert UnknownContribution(datanetId, index);
        c = _contributions[datanetId][index];
        if (c.status != Status.Pending) revert NotPending(datanetId, index, c.status);
    }
}
