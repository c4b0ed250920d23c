// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title L2ToL1MessagePasser (predeploy 0x4200000000000000000000000000000000000016)
/// @notice Records withdrawals to L1. The storage root of this account is the
///         "messagePasserStorageRoot" of the output root (and the block header's withdrawalsRoot
///         from Isthmus on), so the layout below is consensus-critical.
/// @dev    The runtime code is placed in genesis; no constructor runs. All-zero storage is a valid
///         starting state (nonce 0).
///
///  Storage layout:
///   slot 0: sentMessages mapping(bytes32 => bool); entry for hash h at keccak256(h ++ bytes32(0)),
///           value 1 when the withdrawal was sent
///   slot 1: msgNonce uint240 (the nonce without its version bits)
contract L2ToL1MessagePasser {
    /// @notice Version stored in the top 16 bits of messageNonce().
    uint16 public constant MESSAGE_VERSION = 1;

    /// @notice Gas limit given to withdrawals started by a plain ETH transfer.
    uint256 internal constant RECEIVE_DEFAULT_GAS_LIMIT = 100_000;

    /// @notice Withdrawal hashes that have been sent.
    mapping(bytes32 => bool) public sentMessages;

    /// @notice Number of withdrawals started so far.
    uint240 internal msgNonce;

    /// @notice Emitted for every withdrawal.
    event MessagePassed(
        uint256 indexed nonce,
        address indexed sender,
        address indexed target,
        uint256 value,
        uint256 gasLimit,
        bytes data,
        bytes32 withdrawalHash
    );

    /// @notice Emitted when the contract's ETH balance is burnt.
    event WithdrawerBalanceBurnt(uint256 indexed amount);

    /// @notice Semantic version.
    function version() external pure returns (string memory) {
        return "1.0.0";
    }

    /// @notice A plain ETH transfer withdraws the value to the same address on L1.
    receive() external payable {
        initiateWithdrawal(msg.sender, RECEIVE_DEFAULT_GAS_LIMIT, bytes(""));
    }

    /// @notice Current versioned nonce: MESSAGE_VERSION in the top 16 bits, count below.
    function messageNonce() public view returns (uint256) {
        return (uint256(MESSAGE_VERSION) << 240) | uint256(msgNonce);
    }

    /// @notice Starts a withdrawal of msg.value to `_target` on L1, calling it with `_data`.
    function initiateWithdrawal(address _target, uint256 _gasLimit, bytes memory _data) public payable {
        uint256 nonce = messageNonce();
        bytes32 withdrawalHash = keccak256(abi.encode(nonce, msg.sender, _target, msg.value, _gasLimit, _data));
        sentMessages[withdrawalHash] = true;
        emit MessagePassed(nonce, msg.sender, _target, msg.value, _gasLimit, _data, withdrawalHash);
        unchecked {
            ++msgNonce;
        }
    }

    /// @notice Removes all ETH held by this contract from the L2 supply.
    /// @dev    Creates a contract whose init code is ADDRESS SELFDESTRUCT (0x30ff) with the whole
    ///         balance. Created and destroyed in the same transaction, it is deleted with its
    ///         balance (EIP-6780 keeps this case).
    function burn() external {
        uint256 amount = address(this).balance;
        assembly {
            mstore(0x00, 0x30ff)
            let burner := create(amount, 0x1e, 0x02)
            if iszero(burner) { revert(0x00, 0x00) }
        }
        emit WithdrawerBalanceBurnt(amount);
    }
}
