// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IAttributionLedger
/// @notice The attribution ledger precompile at 0x0000000000000000000000000000000000A77001.
/// Records attested inferences, splits their fees with the FeeSplit algorithm and keeps
/// claimable balances (pull payments). This file is the ABI source of truth: the node's Rust
/// bindings are generated from it.
interface IAttributionLedger {
    /// One attested contribution to an inference. `score` is 1e18 fixed point and may be negative.
    struct Share {
        bytes32 datanetId;
        address contributor;
        int128 score;
    }

    // registry (Registrar role, or governance)
    function registerModel(bytes32 modelId, address owner, address payout, uint32 tokenizerId) external;
    function registerDatanet(bytes32 datanetId, address owner) external;
    /// Datanet owner only; `version` strictly increasing.
    function updateDatanet(bytes32 datanetId, uint64 version, bytes32 contributionRoot, bytes32 fingerprintRoot)
        external;

    // attestation (Attestor role); msg.value = the inference fee(s) in the native token
    function recordInference(bytes32 inferenceId, bytes32 modelId, bytes32 outputHash, Share[] calldata shares)
        external
        payable
        returns (bytes32 recordHash);
    function recordBatch(
        bytes32 modelId,
        uint64 nonce,
        bytes32[] calldata inferenceIds,
        uint128[] calldata fees,
        uint32[] calldata offsets,
        bytes32[] calldata shareDatanet,
        address[] calldata shareContributor,
        int128[] calldata shareScore
    ) external payable returns (bytes32 batchHash, uint32 uniqueRecipients);

    /// Moves the caller's claimable balance to `to`; runs no code at `to`.
    function claim(address to) external returns (uint256 amount);

    // views
    function claimable(address account) external view returns (uint256);
    function getInference(bytes32 inferenceId)
        external
        view
        returns (bytes32 recordHash, bytes32 modelId, uint64 blockNumber, uint128 fee);
    function getDatanet(bytes32 datanetId)
        external
        view
        returns (address owner, uint64 version, bytes32 contributionRoot, bytes32 fingerprintRoot);
    function getModel(bytes32 modelId)
        external
        view
        returns (address owner, address payout, uint32 tokenizerId, uint128 cumulativeFees, uint64 inferences);
    function feeConfig()
        external
        view
        returns (
            uint16 protocolBps,
            uint16 modelBps,
            uint16 stakerBps,
            uint16 contributorBps,
            address treasury,
            address stakerPool
        );
    /// 0 none, 1 attestor, 2 registrar, 3 admin.
    function roleOf(address account) external view returns (uint8);
    /// The batch nonce last used by `attestor` (0 before its first batch).
    function batchNonce(address attestor) external view returns (uint64);

    // governance (Admin role; the admin set at genesis)
    function setFeeConfig(
        uint16 protocolBps,
        uint16 modelBps,
        uint16 stakerBps,
        uint16 contributorBps,
        address treasury,
        address stakerPool
    ) external;
    function setRole(address account, uint8 role) external;

    // events, emitted from the ledger address
    event ModelRegistered(bytes32 indexed modelId, address indexed owner, address payout, uint32 tokenizerId);
    event DatanetRegistered(bytes32 indexed datanetId, address indexed owner);
    event DatanetUpdated(
        bytes32 indexed datanetId, uint64 indexed version, bytes32 contributionRoot, bytes32 fingerprintRoot
    );
    event InferenceAttributed(
        bytes32 indexed inferenceId, bytes32 indexed modelId, address indexed attestor, uint256 fee, bytes32 recordHash
    );
    event ShareCredited(
        bytes32 indexed inferenceId, bytes32 indexed datanetId, address indexed contributor, uint256 amount
    );
    event BatchAttributed(
        bytes32 indexed batchHash, bytes32 indexed modelId, address indexed attestor, uint256 totalFee, uint32 inferences
    );
    event BatchCredited(bytes32 indexed batchHash, address indexed recipient, uint256 amount);
    event Claimed(address indexed account, address indexed to, uint256 amount);
    event RoleSet(address indexed account, uint8 indexed role, address indexed by);
    event FeeConfigSet(
        uint16 protocolBps,
        uint16 modelBps,
        uint16 stakerBps,
        uint16 contributorBps,
        address treasury,
        address stakerPool
    );

    // errors (reverts carry these selectors)
    error NotAuthorized();
    error AlreadyRecorded(bytes32 inferenceId);
    error BadNonce(uint64 expected);
    error FeeMismatch();
    error TooManyShares(uint256 n);
    error UnknownModel(bytes32 id);
    error UnknownDatanet(bytes32 id);
    error BadVersion();
    error DelegateCallNotAllowed();
    error StaticCallWrite();
    error NonPayable();
    error BadInput();
}
