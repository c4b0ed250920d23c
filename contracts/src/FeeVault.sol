// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title FeeVault
/// @notice One contract for all fee vault predeploys:
///         SequencerFeeVault 0x4200000000000000000000000000000000000011 (priority fees / coinbase),
///         BaseFeeVault      0x4200000000000000000000000000000000000019,
///         L1FeeVault        0x420000000000000000000000000000000000001A,
///         OperatorFeeVault  0x420000000000000000000000000000000000001b.
///         Fees accumulate as plain balance; withdraw() sends it all to the recipient on L2.
/// @dev    The runtime code is placed in genesis; no constructor runs, so the genesis generator
///         fills slots 0 and 1.
///
///  Storage layout:
///   slot 0: recipient address (low 20 bytes), set in genesis
///   slot 1: minWithdrawalAmount uint256 (wei), set in genesis (0 = no minimum)
///   slot 2: totalProcessed uint256, sum of all withdrawn amounts (starts at 0)
contract FeeVault {
    /// @notice Recipient of withdrawn fees.
    address public recipient;
    /// @notice Minimum balance for withdraw() to proceed.
    uint256 public minWithdrawalAmount;
    /// @notice Total amount withdrawn so far.
    uint256 public totalProcessed;

    /// @notice Emitted on each withdrawal.
    event Withdrawal(uint256 value, address to, address from);

    /// @notice Accepts ETH.
    receive() external payable {}

    /// @notice Semantic version.
    function version() external pure returns (string memory) {
        return "1.0.0";
    }

    /// @notice Recipient of withdrawn fees (OP-style getter).
    function RECIPIENT() external view returns (address) {
        return recipient;
    }

    /// @notice Minimum balance for withdraw() to proceed (OP-style getter).
    function MIN_WITHDRAWAL_AMOUNT() external view returns (uint256) {
        return minWithdrawalAmount;
    }

    /// @notice Withdrawal network (OP enum: 0 = L1, 1 = L2). This vault always pays out on L2.
    function WITHDRAWAL_NETWORK() external pure returns (uint8) {
        return 1;
    }

    /// @notice Withdrawal network (OP enum: 0 = L1, 1 = L2). This vault always pays out on L2.
    function withdrawalNetwork() external pure returns (uint8) {
        return 1;
    }

    /// @notice Sends the whole balance to the recipient. Anyone may call it.
    function withdraw() external {
        address to = recipient;
        require(to != address(0), "FeeVault: recipient not set");
        uint256 value = address(this).balance;
        require(
            value >= minWithdrawalAmount,
            "FeeVault: withdrawal amount must be greater than minimum withdrawal amount"
        );
        totalProcessed += value;
        emit Withdrawal(value, to, msg.sender);
        (bool success,) = to.call{value: value}("");
        require(success, "FeeVault: failed to send ETH to L2 fee recipient");
    }
}
