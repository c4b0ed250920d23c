// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IAttributionLedger} from "../IAttributionLedger.sol";
import {FeeSplitLib} from "./FeeSplitLib.sol";

/// @title LedgerReference
/// @notice The AttributionLedger (0x…A77001) written as an ordinary Solidity contract, with the
///         IAttributionLedger ABI: the gas baseline the native ledger is compared against. Used by
///         tests and benchmarks only; never deployed in genesis (it has a constructor).
/// @dev    Behaviour (spec "AttributionLedger"; where the spec is silent, as the native ledger in
///         crates/attribution/src/ledger decides):
///         - Roles: `setRole`/`setFeeConfig` need Admin (the constructor's `admin`); registering
///           models and datanets needs Registrar or Admin; recording needs Attestor. Zero ids,
///           owners, payouts, accounts, treasury or staker pool are `BadInput`.
///         - `recordInference`: at most 64 shares (`TooManyShares(n)`); `msg.value` is the fee
///           (0 < fee < 2^128, else `FeeMismatch`); no zero contributor (`BadInput`); unused
///           inference id; known model and datanets. The fee is split with FeeSplitLib (the
///           FeeSplitReference code) using the fee config and `minShareBps = 0`; credits go to the
///           contributors, the model's payout, the staker pool and the treasury, which also gets
///           the unassigned contributor pool (all scores <= 0). Emits `InferenceAttributed`, then
///           one `ShareCredited` per share with a positive score.
///         - `recordBatch`: <= 16,384 shares (`TooManyShares`); 1..2,048 inferences, matching
///           array lengths and a CSR `offsets` (n + 1 entries, `offsets[0] = 0`, non-decreasing,
///           last = number of shares), else `BadInput`; <= 64 shares per inference
///           (`TooManyShares(k)`); Attestor; no zero fee or contributor (`BadInput`);
///           `msg.value == sum(fees) < 2^128` (`FeeMismatch`); no inference id twice in the batch
///           (`AlreadyRecorded`, the smallest repeated id); `nonce == batchNonce + 1`
///           (`BadNonce(expected)`); known model and datanets; calldata <= 2 MiB (`BadInput`; the
///           spec's 512 KiB cannot hold 16,384 shares). Credits are summed per recipient in an
///           in-memory hash table; `BatchAttributed` is emitted, then each recipient is written
///           once in ascending address order with one `BatchCredited`; more than 4,096 recipients
///           is `BadInput`. Then the batch record (attestor, inferences, model, block, total fee)
///           is stored under the batch hash. Batch entries get no per-inference record (as in the
///           native ledger).
///         - `claim(to)`: `to != 0` (`BadInput`); zeroes the balance, emits `Claimed` and sends it
///           with a plain CALL (so, unlike the precompile, it runs code at `to`; a failed
///           transfer reverts with `TransferFailed()`). Nothing happens for a zero balance.
///         Storage: Solidity structs in mappings, with the same fields and packing per record as
///         the native ledger (3 slots per model, datanet, inference and batch record).
contract LedgerReference is IAttributionLedger {
    error TransferFailed();

    uint8 internal constant ROLE_ATTESTOR = 1;
    uint8 internal constant ROLE_REGISTRAR = 2;
    uint8 internal constant ROLE_ADMIN = 3;

    uint256 internal constant MAX_SHARES = 64;
    uint256 internal constant MAX_BATCH_INFERENCES = 2048;
    uint256 internal constant MAX_BATCH_SHARES = 16_384;
    uint256 internal constant MAX_RECIPIENTS = 4096;
    uint256 internal constant MAX_CALLDATA = 2 * 1024 * 1024;

    struct Fees {
        uint16 protocolBps;
        uint16 modelBps;
        uint16 stakerBps;
        uint16 contributorBps;
        address treasury;
    }

    struct Model {
        address owner;
        uint32 tokenizerId;
        address payout;
        uint128 cumulativeFees;
        uint64 inferences;
    }

    struct Datanet {
        address owner;
        uint64 version;
        bytes32 contributionRoot;
        bytes32 fingerprintRoot;
    }

    struct Inference {
        bytes32 recordHash;
        bytes32 modelId;
        uint64 blockNumber;
        uint128 fee;
        uint32 nShares;
    }

    struct BatchRecord {
        address attestor;
        uint32 inferences;
        bytes32 modelId;
        uint64 blockNumber;
        uint128 totalFee;
    }

    Fees internal _fees;
    address internal _stakerPool;
    mapping(address => uint8) internal _roles;
    mapping(bytes32 => Model) internal _models;
    mapping(bytes32 => Datanet) internal _datanets;
    mapping(bytes32 => Inference) internal _inferences;
    mapping(address => uint256) internal _claimable;
    mapping(address => uint64) internal _batchNonce;
    mapping(bytes32 => BatchRecord) internal _batches;

    constructor(address admin) {
        _roles[admin] = ROLE_ADMIN;
        emit RoleSet(admin, ROLE_ADMIN, msg.sender);
    }

    // ---------------------------------------------------------------------------------------
    // governance and registry

    function setRole(address account, uint8 role) external {
        if (_roles[msg.sender] != ROLE_ADMIN) revert NotAuthorized();
        if (role > ROLE_ADMIN || account == address(0)) revert BadInput();
        _roles[account] = role;
        emit RoleSet(account, role, msg.sender);
    }

    function setFeeConfig(
        uint16 protocolBps,
        uint16 modelBps,
        uint16 stakerBps,
        uint16 contributorBps,
        address treasury,
        address stakerPool
    ) external {
        if (_roles[msg.sender] != ROLE_ADMIN) revert NotAuthorized();
        if (
            uint256(protocolBps) + modelBps + stakerBps + contributorBps != FeeSplitLib.BPS_DENOMINATOR
                || treasury == address(0) || stakerPool == address(0)
        ) revert BadInput();
        _fees = Fees(protocolBps, modelBps, stakerBps, contributorBps, treasury);
        _stakerPool = stakerPool;
        emit FeeConfigSet(protocolBps, modelBps, stakerBps, contributorBps, treasury, stakerPool);
    }

    function registerModel(bytes32 modelId, address owner, address payout, uint32 tokenizerId) external {
        _onlyRegistrar();
        if (modelId == 0 || owner == address(0) || payout == address(0)) revert BadInput();
        if (_models[modelId].owner != address(0)) revert BadInput();
        _models[modelId] = Model(owner, tokenizerId, payout, 0, 0);
        emit ModelRegistered(modelId, owner, payout, tokenizerId);
    }

    function registerDatanet(bytes32 datanetId, address owner) external {
        _onlyRegistrar();
        if (datanetId == 0 || owner == address(0) || _datanets[datanetId].owner != address(0)) revert BadInput();
        _datanets[datanetId].owner = owner;
        emit DatanetRegistered(datanetId, owner);
    }

    function updateDatanet(bytes32 datanetId, uint64 version, bytes32 contributionRoot, bytes32 fingerprintRoot)
        external
    {
        Datanet storage d = _datanets[datanetId];
        address owner = d.owner;
        if (owner == address(0)) revert UnknownDatanet(datanetId);
        if (msg.sender != owner) revert NotAuthorized();
        if (version <= d.version) revert BadVersion();
        d.version = version;
        d.contributionRoot = contributionRoot;
        d.fingerprintRoot = fingerprintRoot;
        emit DatanetUpdated(datanetId, version, contributionRoot, fingerprintRoot);
    }

    function _onlyRegistrar() private view {
        uint8 role = _roles[msg.sender];
        if (role != ROLE_REGISTRAR && role != ROLE_ADMIN) revert NotAuthorized();
    }

    // ---------------------------------------------------------------------------------------
    // recordInference

    function recordInference(bytes32 inferenceId, bytes32 modelId, bytes32 outputHash, Share[] calldata shares)
        external
        payable
        returns (bytes32 recordHash)
    {
        uint256 n = shares.length;
        if (n > MAX_SHARES) revert TooManyShares(n);
        if (_roles[msg.sender] != ROLE_ATTESTOR) revert NotAuthorized();
        if (msg.value == 0 || msg.value >> 128 != 0) revert FeeMismatch();
        for (uint256 i; i < n; ++i) {
            if (shares[i].contributor == address(0)) revert BadInput();
        }
        if (_inferences[inferenceId].recordHash != 0) revert AlreadyRecorded(inferenceId);
        Model storage model = _models[modelId];
        if (model.owner == address(0)) revert UnknownModel(modelId);

        uint256[] memory amounts = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            bytes32 datanetId = shares[i].datanetId;
            if (_datanets[datanetId].owner == address(0)) revert UnknownDatanet(datanetId);
            amounts[i] = FeeSplitLib.weight(shares[i].score);
        }

        recordHash = keccak256(
            abi.encode(block.chainid, address(this), inferenceId, modelId, outputHash, msg.value, keccak256(abi.encode(shares)))
        );
        _inferences[inferenceId] =
            Inference(recordHash, modelId, uint64(block.number), uint128(msg.value), uint32(n));
        _bumpModel(model, msg.value, 1);
        emit InferenceAttributed(inferenceId, modelId, msg.sender, msg.value, recordHash);

        _splitAndCredit(inferenceId, model.payout, shares, amounts);
    }

    /// @dev Splits msg.value, credits every party and emits ShareCredited per positive score.
    function _splitAndCredit(bytes32 inferenceId, address payout, Share[] calldata shares, uint256[] memory amounts)
        private
    {
        Fees memory cfg = _fees;
        (uint256 protocol, uint256 modelPool, uint256 staker, uint256 pool) =
            FeeSplitLib.pools(msg.value, cfg.protocolBps, cfg.modelBps, cfg.stakerBps, cfg.contributorBps);
        uint256 unassigned = FeeSplitLib.distribute(pool, amounts, 0, new uint256[](amounts.length));
        for (uint256 i; i < amounts.length; ++i) {
            if (shares[i].score > 0) {
                uint256 amount = amounts[i];
                address contributor = shares[i].contributor;
                if (amount != 0) _claimable[contributor] += amount;
                emit ShareCredited(inferenceId, shares[i].datanetId, contributor, amount);
            }
        }
        _credit(payout, modelPool);
        _credit(_stakerPool, staker);
        _credit(cfg.treasury, protocol + unassigned);
    }

    function _credit(address account, uint256 amount) private {
        if (amount != 0) _claimable[account] += amount;
    }

    // ---------------------------------------------------------------------------------------
    // recordBatch
    //
    // The per-inference arrays are taken in memory (at most 2,048 entries each) to stay within
    // the legacy code generator's stack; the share arrays stay in calldata.

    struct Batch {
        bytes32 modelId;
        uint64 nonce;
        bytes32 batchHash;
        uint256 totalFee;
        uint256 maxShares; // most shares of one inference (scratch buffer size)
        bytes32[] inferenceIds;
        uint128[] fees;
        uint32[] offsets;
    }

    /// @dev Open-addressing hash table (linear probing) of recipient => amount. A used key is
    ///      `1 << 160 | address`, so 0 marks an empty slot and address(0) is a valid recipient.
    struct Table {
        uint256[] keys;
        uint256[] amounts;
        uint256 mask;
        uint256 shift;
        uint256 count;
    }

    function recordBatch(
        bytes32 modelId,
        uint64 nonce,
        bytes32[] memory inferenceIds,
        uint128[] memory fees,
        uint32[] memory offsets,
        bytes32[] calldata shareDatanet,
        address[] calldata shareContributor,
        int128[] calldata shareScore
    ) external payable returns (bytes32 batchHash, uint32 uniqueRecipients) {
        _checkCounts(inferenceIds.length, fees.length, shareDatanet.length, shareContributor.length, shareScore.length);
        Batch memory b = _checkOffsets(modelId, nonce, inferenceIds, fees, offsets, shareScore.length);
        if (_roles[msg.sender] != ROLE_ATTESTOR) revert NotAuthorized();
        _checkFees(b, shareContributor);
        _checkBatchState(b);
        _checkDatanets(shareDatanet);
        Table memory t = _splitBatch(b, shareContributor, shareScore);
        emit BatchAttributed(b.batchHash, b.modelId, msg.sender, b.totalFee, uint32(b.inferenceIds.length));
        uniqueRecipients = _creditBatch(b.batchHash, t);
        _finishBatch(b);
        batchHash = b.batchHash;
    }

    function _checkCounts(uint256 n, uint256 nFees, uint256 nDatanets, uint256 nContributors, uint256 nShares)
        private
        pure
    {
        if (msg.data.length > MAX_CALLDATA) revert BadInput();
        if (nShares > MAX_BATCH_SHARES) revert TooManyShares(nShares);
        if (n == 0 || n > MAX_BATCH_INFERENCES || nFees != n || nDatanets != nShares || nContributors != nShares) {
            revert BadInput();
        }
    }

    /// @dev The CSR index: n + 1 entries, offsets[0] = 0, non-decreasing, last = shares, at most
    ///      64 shares per inference.
    function _checkOffsets(
        bytes32 modelId,
        uint64 nonce,
        bytes32[] memory inferenceIds,
        uint128[] memory fees,
        uint32[] memory offsets,
        uint256 nShares
    ) private pure returns (Batch memory b) {
        uint256 n = inferenceIds.length;
        if (offsets.length != n + 1 || offsets[0] != 0 || offsets[n] != nShares) revert BadInput();
        uint256 maxShares;
        for (uint256 i; i < n; ++i) {
            uint256 lo = offsets[i];
            uint256 hi = offsets[i + 1];
            if (hi < lo) revert BadInput();
            uint256 k = hi - lo;
            if (k > MAX_SHARES) revert TooManyShares(k);
            if (k > maxShares) maxShares = k;
        }
        b = Batch(modelId, nonce, bytes32(0), 0, maxShares, inferenceIds, fees, offsets);
    }

    /// @dev No zero fee or contributor; msg.value equals the fees' sum, below 2^128.
    function _checkFees(Batch memory b, address[] calldata shareContributor) private view {
        uint128[] memory fees = b.fees;
        uint256 total;
        for (uint256 i; i < fees.length; ++i) {
            uint256 fee = fees[i];
            if (fee == 0) revert BadInput();
            total += fee;
        }
        for (uint256 i; i < shareContributor.length; ++i) {
            if (shareContributor[i] == address(0)) revert BadInput();
        }
        if (total != msg.value || total >> 128 != 0) revert FeeMismatch();
        b.totalFee = total;
    }

    /// @dev Distinct inference ids (the smallest repeated one is reported), the nonce, the model.
    function _checkBatchState(Batch memory b) private view {
        uint256 n = b.inferenceIds.length;
        if (n > 1) {
            uint256[] memory ids = new uint256[](n);
            for (uint256 i; i < n; ++i) {
                ids[i] = uint256(b.inferenceIds[i]);
            }
            _sort(ids, 0, n - 1);
            for (uint256 i = 1; i < n; ++i) {
                if (ids[i] == ids[i - 1]) revert AlreadyRecorded(bytes32(ids[i]));
            }
        }
        uint64 expected = _batchNonce[msg.sender] + 1;
        if (b.nonce != expected) revert BadNonce(expected);
        if (_models[b.modelId].owner == address(0)) revert UnknownModel(b.modelId);
        b.batchHash = keccak256(msg.data[4:]);
    }

    /// @dev Stores the batch record, the model totals and the nonce.
    function _finishBatch(Batch memory b) private {
        uint256 n = b.inferenceIds.length;
        _batches[b.batchHash] = BatchRecord(msg.sender, uint32(n), b.modelId, uint64(block.number), uint128(b.totalFee));
        Model storage model = _models[b.modelId];
        _bumpModel(model, b.totalFee, n);
        _batchNonce[msg.sender] = b.nonce;
    }

    /// @dev Adds to a model's totals, saturating at the field widths as the native ledger does.
    function _bumpModel(Model storage model, uint256 fees, uint256 n) private {
        uint256 c = uint256(model.cumulativeFees) + fees;
        model.cumulativeFees = c > type(uint128).max ? type(uint128).max : uint128(c);
        uint256 k = uint256(model.inferences) + n;
        model.inferences = k > type(uint64).max ? type(uint64).max : uint64(k);
    }

    /// @dev Every share's datanet exists (a run of the same datanet is checked once).
    function _checkDatanets(bytes32[] calldata shareDatanet) private view {
        bytes32 last;
        for (uint256 i; i < shareDatanet.length; ++i) {
            bytes32 datanetId = shareDatanet[i];
            if (i == 0 || datanetId != last) {
                if (_datanets[datanetId].owner == address(0)) revert UnknownDatanet(datanetId);
                last = datanetId;
            }
        }
    }

    /// @dev Working state of a batch split.
    struct Work {
        Fees cfg;
        uint256[] weights; // buffer of b.maxShares words, viewed as the current inference's shares
        uint256[] scratch;
        uint256 modelTotal;
        uint256 stakerTotal;
        uint256 treasuryTotal;
    }

    /// @dev Splits every inference and sums the credits in the table.
    function _splitBatch(Batch memory b, address[] calldata shareContributor, int128[] calldata shareScore)
        private
        view
        returns (Table memory t)
    {
        t = _newTable(shareScore.length + 3);
        Work memory w =
            Work(_fees, new uint256[](b.maxShares), new uint256[](b.maxShares), 0, 0, 0);
        uint256 n = b.inferenceIds.length;
        for (uint256 i; i < n; ++i) {
            _splitOne(b, w, t, i, shareContributor, shareScore);
        }
        if (w.modelTotal != 0) _add(t, _models[b.modelId].payout, w.modelTotal);
        if (w.stakerTotal != 0) _add(t, _stakerPool, w.stakerTotal);
        if (w.treasuryTotal != 0) _add(t, w.cfg.treasury, w.treasuryTotal);
    }

    function _splitOne(
        Batch memory b,
        Work memory w,
        Table memory t,
        uint256 i,
        address[] calldata shareContributor,
        int128[] calldata shareScore
    ) private pure {
        uint256 lo = b.offsets[i];
        uint256 k = b.offsets[i + 1] - lo;
        uint256 pool = _pools(b, w, i);
        uint256[] memory weights = w.weights;
        assembly ("memory-safe") {
            mstore(weights, k) // view the first k words of the buffer (k <= its capacity)
        }
        for (uint256 j; j < k; ++j) {
            weights[j] = FeeSplitLib.weight(shareScore[lo + j]);
        }
        w.treasuryTotal += FeeSplitLib.distribute(pool, weights, 0, w.scratch); // unassigned
        for (uint256 j; j < k; ++j) {
            uint256 amount = weights[j];
            if (amount != 0) _add(t, shareContributor[lo + j], amount);
        }
    }

    /// @dev Adds inference i's protocol, model and staker pools to the totals and returns its
    ///      contributor pool.
    function _pools(Batch memory b, Work memory w, uint256 i) private pure returns (uint256 pool) {
        Fees memory cfg = w.cfg;
        uint256 protocol;
        uint256 modelPool;
        uint256 staker;
        (protocol, modelPool, staker, pool) =
            FeeSplitLib.pools(b.fees[i], cfg.protocolBps, cfg.modelBps, cfg.stakerBps, cfg.contributorBps);
        w.modelTotal += modelPool;
        w.stakerTotal += staker;
        w.treasuryTotal += protocol;
    }

    /// @dev Writes each recipient's total once, in ascending address order, with BatchCredited.
    function _creditBatch(bytes32 batchHash, Table memory t) private returns (uint32) {
        uint256 count = t.count;
        // (address << 16 | slot), so sorting the words sorts by address.
        uint256[] memory order = new uint256[](count);
        uint256 m;
        for (uint256 s; s < t.keys.length; ++s) {
            uint256 key = t.keys[s];
            if (key != 0) {
                order[m] = (uint256(uint160(key)) << 16) | s;
                ++m;
            }
        }
        if (count > 1) _sort(order, 0, count - 1);
        for (uint256 i; i < count; ++i) {
            uint256 entry = order[i];
            address recipient = address(uint160(entry >> 16));
            uint256 amount = t.amounts[entry & 0xffff];
            _claimable[recipient] += amount;
            emit BatchCredited(batchHash, recipient, amount);
        }
        return uint32(count);
    }

    /// @dev A table sized for `entries` insertions: a power of two at least twice the number of
    ///      distinct keys it may hold (at most MAX_RECIPIENTS; one more reverts).
    function _newTable(uint256 entries) private pure returns (Table memory t) {
        if (entries > MAX_RECIPIENTS) entries = MAX_RECIPIENTS;
        uint256 bits = 2;
        while ((uint256(1) << bits) < 2 * entries) ++bits;
        uint256 size = uint256(1) << bits;
        t.keys = new uint256[](size);
        t.amounts = new uint256[](size);
        t.mask = size - 1;
        t.shift = 256 - bits;
    }

    function _add(Table memory t, address account, uint256 amount) private pure {
        uint256 key = (uint256(1) << 160) | uint160(account);
        uint256[] memory keys = t.keys;
        unchecked {
            // Fibonacci hashing: the top bits of the address times an odd 256-bit constant.
            uint256 s = (uint256(uint160(account)) * 0x9e3779b97f4a7c15f39cc0605cedc8341082276bf3a27251f86c6a11d0c18e95)
                >> t.shift;
            while (true) {
                uint256 k = keys[s];
                if (k == key) {
                    t.amounts[s] += amount; // <= sum of the batch's fees: no overflow
                    return;
                }
                if (k == 0) {
                    keys[s] = key;
                    t.amounts[s] = amount;
                    if (++t.count > MAX_RECIPIENTS) revert BadInput();
                    return;
                }
                s = (s + 1) & t.mask;
            }
        }
    }

    /// @dev Ascending quicksort of distinct words; recurses into the smaller part only.
    function _sort(uint256[] memory a, uint256 lo, uint256 hi) private pure {
        unchecked {
            while (lo < hi) {
                uint256 pivot = a[lo + (hi - lo) / 2];
                uint256 i = lo;
                uint256 j = hi;
                while (i <= j) {
                    while (a[i] < pivot) ++i;
                    while (a[j] > pivot) --j;
                    if (i <= j) {
                        (a[i], a[j]) = (a[j], a[i]);
                        ++i;
                        if (j == 0) break;
                        --j;
                    }
                }
                // a[lo..j] <= pivot <= a[i..hi] with lo - 1 <= j < i <= hi + 1 (j = lo - 1 only
                // when lo > 0). Sort the smaller side recursively, loop on the larger one.
                if (j + 1 - lo < hi + 1 - i) {
                    if (j + 1 > lo + 1) _sort(a, lo, j);
                    lo = i;
                } else {
                    if (i < hi) _sort(a, i, hi);
                    if (j + 1 <= lo + 1) return; // left side has at most one element
                    hi = j;
                }
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // claims and views

    function claim(address to) external returns (uint256 amount) {
        if (to == address(0) || to == address(this)) revert BadInput();
        amount = _claimable[msg.sender];
        if (amount == 0) return 0;
        _claimable[msg.sender] = 0;
        emit Claimed(msg.sender, to, amount);
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }

    function claimable(address account) external view returns (uint256) {
        return _claimable[account];
    }

    function getInference(bytes32 inferenceId)
        external
        view
        returns (bytes32 recordHash, bytes32 modelId, uint64 blockNumber, uint128 fee)
    {
        Inference storage r = _inferences[inferenceId];
        return (r.recordHash, r.modelId, r.blockNumber, r.fee);
    }

    function getDatanet(bytes32 datanetId)
        external
        view
        returns (address owner, uint64 version, bytes32 contributionRoot, bytes32 fingerprintRoot)
    {
        Datanet storage d = _datanets[datanetId];
        return (d.owner, d.version, d.contributionRoot, d.fingerprintRoot);
    }

    function getModel(bytes32 modelId)
        external
        view
        returns (address owner, address payout, uint32 tokenizerId, uint128 cumulativeFees, uint64 inferences)
    {
        Model storage m = _models[modelId];
        return (m.owner, m.payout, m.tokenizerId, m.cumulativeFees, m.inferences);
    }

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
        )
    {
        Fees memory f = _fees;
        return (f.protocolBps, f.modelBps, f.stakerBps, f.contributorBps, f.treasury, _stakerPool);
    }

    function roleOf(address account) external view returns (uint8) {
        return _roles[account];
    }

    function batchNonce(address attestor) external view returns (uint64) {
        return _batchNonce[attestor];
    }
}
