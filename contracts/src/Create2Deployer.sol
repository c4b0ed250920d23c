// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title Create2Deployer (preinstall 0x4e59b44847b379578588920ca78fbf26c0b4956c)
/// @notice The deterministic deployment proxy that Foundry's CREATE2 deployments expect.
///         Calldata: salt (32 bytes) ++ init code. Runs CREATE2 with msg.value and returns the raw
///         20-byte address of the new contract (not ABI-encoded). Reverts with empty data when
///         the calldata is shorter than 32 bytes or the deployment fails.
/// @dev    Storage layout: none. The runtime code is placed in genesis.
contract Create2Deployer {
    fallback() external payable {
        assembly {
            if lt(calldatasize(), 32) { revert(0, 0) }
            let size := sub(calldatasize(), 32)
            calldatacopy(0, 32, size)
            let deployed := create2(callvalue(), 0, size, calldataload(0))
            if iszero(deployed) { revert(0, 0) }
            mstore(0, deployed)
            return(12, 20)
        }
    }
}
