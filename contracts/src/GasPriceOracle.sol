// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {L1Block} from "./L1Block.sol";
import {flzCompressLen} from "./lib/FastLZ.sol";

/// @title GasPriceOracle (predeploy 0x420000000000000000000000000000000000000F)
/// @notice Fee views used by OP Stack clients (viem's OP Stack actions, ethers, wallets) on a
///         chain where Ecotone, Fjord and Isthmus are all active. All L1 values come from the
///         L1Block predeploy; the formulas mirror what op-revm charges.
/// @dev    Storage layout: none. The fork flags are constants (true), so genesis needs no storage
///         for this contract. The runtime code is placed in genesis; no constructor runs.
contract GasPriceOracle {
    /// @notice Number of decimals used by the scalars.
    uint256 public constant DECIMALS = 6;

    /// @notice L1Block predeploy.
    address internal constant L1_BLOCK = 0x4200000000000000000000000000000000000015;

    /// @dev Fjord linear regression from FastLZ size to estimated Brotli size (scaled by 1e6):
    ///      max(MIN_SIZE_SCALED, fastLzSize * COEF - INTERCEPT).
    uint256 internal constant COST_FASTLZ_COEF = 836_500;
    uint256 internal constant COST_INTERCEPT = 42_585_600;
    uint256 internal constant MIN_SIZE_SCALED = 100 * 1e6;

    /// @dev Bytes added to an unsigned transaction to stand for its signature.
    uint256 internal constant SIGNATURE_ALLOWANCE = 68;

    /// @notice Semantic version.
    function version() external pure returns (string memory) {
        return "1.0.0";
    }

    /// @notice Number of decimals used by the scalars (legacy getter).
    function decimals() external pure returns (uint256) {
        return DECIMALS;
    }

    /// @notice Always true: Ecotone is active.
    function isEcotone() external pure returns (bool) {
        return true;
    }

    /// @notice Always true: Fjord is active.
    function isFjord() external pure returns (bool) {
        return true;
    }

    /// @notice Always true: Isthmus is active.
    function isIsthmus() external pure returns (bool) {
        return true;
    }

    /// @notice Current L2 base fee.
    function gasPrice() external view returns (uint256) {
        return block.basefee;
    }

    /// @notice Current L2 base fee.
    function baseFee() external view returns (uint256) {
        return block.basefee;
    }

    /// @notice Deprecated since Ecotone; always reverts.
    function overhead() external pure returns (uint256) {
        revert("GasPriceOracle: overhead() is deprecated");
    }

    /// @notice Deprecated since Ecotone; always reverts.
    function scalar() external pure returns (uint256) {
        revert("GasPriceOracle: scalar() is deprecated");
    }

    /// @notice Latest known L1 base fee.
    function l1BaseFee() public view returns (uint256) {
        return L1Block(L1_BLOCK).basefee();
    }

    /// @notice Latest known L1 blob base fee.
    function blobBaseFee() public view returns (uint256) {
        return L1Block(L1_BLOCK).blobBaseFee();
    }

    /// @notice Scalar applied to the L1 base fee.
    function baseFeeScalar() public view returns (uint32) {
        return L1Block(L1_BLOCK).baseFeeScalar();
    }

    /// @notice Scalar applied to the L1 blob base fee.
    function blobBaseFeeScalar() public view returns (uint32) {
        return L1Block(L1_BLOCK).blobBaseFeeScalar();
    }

    /// @notice L1 fee of a transaction (Fjord formula).
    /// @param _data Unsigned, fully RLP-encoded transaction. 68 bytes are added to its FastLZ
    ///        size to stand for the signature.
    function getL1Fee(bytes memory _data) external view returns (uint256) {
        return _fjordL1Cost(flzCompressLen(_data) + SIGNATURE_ALLOWANCE);
    }

    /// @notice Upper bound of the L1 fee of a transaction of the given unsigned size, assuming the
    ///         worst FastLZ case (size + size / 255 + 16) after adding the 68-byte allowance.
    function getL1FeeUpperBound(uint256 _unsignedTxSize) external view returns (uint256) {
        uint256 txSize = _unsignedTxSize + SIGNATURE_ALLOWANCE;
        return _fjordL1Cost(txSize + txSize / 255 + 16);
    }

    /// @notice Rough L1 gas used by a transaction: estimated compressed size at 16 gas per byte.
    /// @param _data Unsigned, fully RLP-encoded transaction.
    function getL1GasUsed(bytes memory _data) external pure returns (uint256) {
        return (_estimatedSizeScaled(flzCompressLen(_data) + SIGNATURE_ALLOWANCE) * 16) / 1e6;
    }

    /// @notice Operator fee for `_gasUsed` gas (Isthmus): gasUsed * scalar / 1e6 + constant,
    ///         saturating like op-revm.
    function getOperatorFee(uint256 _gasUsed) external view returns (uint256) {
        L1Block l1 = L1Block(L1_BLOCK);
        uint256 product = _satMul(_gasUsed, l1.operatorFeeScalar()) / 1e6;
        return _satAdd(product, l1.operatorFeeConstant());
    }

    /// @dev Fjord L1 cost for a FastLZ size:
    ///      estimatedSize * (baseFeeScalar * 16 * l1BaseFee + blobBaseFeeScalar * blobBaseFee) / 1e12.
    function _fjordL1Cost(uint256 _fastLzSize) internal view returns (uint256) {
        L1Block l1 = L1Block(L1_BLOCK);
        uint256 feeScaled = _satAdd(
            _satMul(_satMul(l1.basefee(), 16), l1.baseFeeScalar()),
            _satMul(l1.blobBaseFee(), l1.blobBaseFeeScalar())
        );
        return _satMul(_estimatedSizeScaled(_fastLzSize), feeScaled) / 1e12;
    }

    /// @dev Estimated compressed size scaled by 1e6.
    function _estimatedSizeScaled(uint256 _fastLzSize) internal pure returns (uint256) {
        uint256 scaled = _satMul(_fastLzSize, COST_FASTLZ_COEF);
        if (scaled <= COST_INTERCEPT + MIN_SIZE_SCALED) return MIN_SIZE_SCALED;
        return scaled - COST_INTERCEPT;
    }

    function _satMul(uint256 a, uint256 b) internal pure returns (uint256) {
        unchecked {
            if (a == 0) return 0;
            uint256 c = a * b;
            return c / a == b ? c : type(uint256).max;
        }
    }

    function _satAdd(uint256 a, uint256 b) internal pure returns (uint256) {
        unchecked {
            uint256 c = a + b;
            return c >= a ? c : type(uint256).max;
        }
    }
}
