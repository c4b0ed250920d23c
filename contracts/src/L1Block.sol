// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title L1Block (predeploy 0x4200000000000000000000000000000000000015)
/// @notice Holds the attributes of the L2 chain's current L1 origin. The protocol's L1-info
///         deposit (first transaction of every L2 block, sent by DEPOSITOR_ACCOUNT) writes them.
/// @dev    The runtime code is placed in genesis; no constructor runs. op-revm reads slots 1, 3, 5,
///         6, 7 and 8 directly to charge L1 and operator fees, so this layout is consensus-critical.
///
///  Storage layout ([off N] = byte offset from the least-significant end; "BE" = byte range in the
///  32-byte big-endian slot word as op-revm 20 indexes it):
///   slot 0: number u64 [off 0] (BE [24,32)) | timestamp u64 [off 8] (BE [16,24))
///   slot 1: basefee u256                                  (op-revm L1_BASE_FEE_SLOT)
///   slot 2: hash bytes32
///   slot 3: sequenceNumber u64 [off 0] (BE [24,32)) | blobBaseFeeScalar u32 [off 8] (BE [20,24))
///           | baseFeeScalar u32 [off 12] (BE [16,20))           (op-revm ECOTONE_L1_FEE_SCALARS_SLOT)
///   slot 4: batcherHash bytes32
///   slot 5: l1FeeOverhead u256 (legacy, pre-Ecotone)       (op-revm L1_OVERHEAD_SLOT)
///   slot 6: l1FeeScalar u256 (legacy, pre-Ecotone)         (op-revm L1_SCALAR_SLOT)
///   slot 7: blobBaseFee u256                              (op-revm ECOTONE_L1_BLOB_BASE_FEE_SLOT)
///   slot 8: operatorFeeConstant u64 [off 0] (BE [24,32)) | operatorFeeScalar u32 [off 8] (BE [20,24))
///           | daFootprintGasScalar u16 [off 12] (BE [18,20), Jovian; the Isthmus setter zeroes it)
///                                                         (op-revm OPERATOR_FEE_SCALARS_SLOT)
contract L1Block {
    /// @notice Thrown when a setter is called by anyone but the depositor account.
    error NotDepositor();

    /// @notice The latest L1 block number known by the L2 system.
    uint64 public number;
    /// @notice The latest L1 timestamp known by the L2 system.
    uint64 public timestamp;
    /// @notice The latest L1 base fee.
    uint256 public basefee;
    /// @notice The latest L1 block hash.
    bytes32 public hash;
    /// @notice The number of L2 blocks in the same epoch.
    uint64 public sequenceNumber;
    /// @notice Scalar applied to the L1 blob base fee in the L1 fee formula.
    uint32 public blobBaseFeeScalar;
    /// @notice Scalar applied to the L1 base fee in the L1 fee formula.
    uint32 public baseFeeScalar;
    /// @notice Versioned hash of the batcher address.
    bytes32 public batcherHash;
    /// @notice Pre-Ecotone L1 fee overhead.
    uint256 public l1FeeOverhead;
    /// @notice Pre-Ecotone L1 fee scalar.
    uint256 public l1FeeScalar;
    /// @notice The latest L1 blob base fee.
    uint256 public blobBaseFee;
    /// @notice Operator fee constant (Isthmus).
    uint64 public operatorFeeConstant;
    /// @notice Operator fee scalar (Isthmus), 6 decimals.
    uint32 public operatorFeeScalar;
    /// @notice DA footprint gas scalar (Jovian). Reserved so the slot-8 layout matches op-revm;
    ///         no Jovian setter exists yet and setL1BlockValuesIsthmus writes it as 0.
    uint16 public daFootprintGasScalar;

    /// @notice The special system account that sends the L1-info deposit.
    function DEPOSITOR_ACCOUNT() public pure returns (address) {
        return 0xDeaDDEaDDeAdDeAdDEAdDEaddeAddEAdDEAd0001;
    }

    /// @notice Semantic version.
    function version() external pure returns (string memory) {
        return "1.0.0";
    }

    /// @notice Pre-Ecotone (Bedrock) setter with ABI-encoded arguments (selector 0x015d8eb9).
    function setL1BlockValues(
        uint64 _number,
        uint64 _timestamp,
        uint256 _basefee,
        bytes32 _hash,
        uint64 _sequenceNumber,
        bytes32 _batcherHash,
        uint256 _l1FeeOverhead,
        uint256 _l1FeeScalar
    ) external {
        if (msg.sender != DEPOSITOR_ACCOUNT()) revert NotDepositor();
        number = _number;
        timestamp = _timestamp;
        basefee = _basefee;
        hash = _hash;
        sequenceNumber = _sequenceNumber;
        batcherHash = _batcherHash;
        l1FeeOverhead = _l1FeeOverhead;
        l1FeeScalar = _l1FeeScalar;
    }

    /// @notice Ecotone setter (selector 0x440a5e20). Arguments are packed big-endian after the
    ///         selector (164 bytes in total):
    ///         [4,8) baseFeeScalar u32 | [8,12) blobBaseFeeScalar u32 | [12,20) sequenceNumber u64
    ///         | [20,28) timestamp u64 | [28,36) number u64 | [36,68) basefee | [68,100) blobBaseFee
    ///         | [100,132) hash | [132,164) batcherHash
    function setL1BlockValuesEcotone() external {
        _onlyDepositor();
        _storeEcotoneFields();
    }

    /// @notice Isthmus setter (selector 0x098999be): the Ecotone layout followed by
    ///         [164,168) operatorFeeScalar u32 | [168,176) operatorFeeConstant u64 (176 bytes).
    function setL1BlockValuesIsthmus() external {
        _onlyDepositor();
        _storeEcotoneFields();
        assembly {
            // Bytes [164,176) read as a 96-bit number: scalar in bits 64..96, constant in bits
            // 0..64, which is exactly slot 8's layout (constant @0, scalar @8).
            sstore(operatorFeeConstant.slot, shr(160, calldataload(164)))
        }
    }

    function _onlyDepositor() private view {
        if (msg.sender != DEPOSITOR_ACCOUNT()) revert NotDepositor();
    }

    function _storeEcotoneFields() private {
        assembly {
            // Bytes [4,20) as a 128-bit number: baseFeeScalar in bits 96..128, blobBaseFeeScalar in
            // bits 64..96, sequenceNumber in bits 0..64 = slot 3's layout.
            sstore(sequenceNumber.slot, shr(128, calldataload(4)))
            // Bytes [20,36) as a 128-bit number: timestamp in bits 64..128, number in bits 0..64
            // = slot 0's layout.
            sstore(number.slot, shr(128, calldataload(20)))
            sstore(basefee.slot, calldataload(36))
            sstore(blobBaseFee.slot, calldataload(68))
            sstore(hash.slot, calldataload(100))
            sstore(batcherHash.slot, calldataload(132))
        }
    }
}
