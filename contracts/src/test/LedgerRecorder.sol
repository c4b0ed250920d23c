// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title LedgerRecorder
/// @notice Test-only stand-in placed at the ledger address (0x…A77001) in the Datanets tests:
///         `registerDatanet` and `updateDatanet` (IAttributionLedger selectors) only log their
///         caller and arguments, so the tests can check what Datanets forwards. `setFailing(true)`
///         makes both revert with `LedgerDown()`, to check that Datanets does not swallow ledger
///         failures. Not a predeploy; the real precompile is tested end to end elsewhere.
/// @dev    Storage layout: 0: `failing` bool.
contract LedgerRecorder {
    event RegisterDatanetCalled(address caller, bytes32 datanetId, address owner);
    event UpdateDatanetCalled(
        address caller, bytes32 datanetId, uint64 version, bytes32 contributionRoot, bytes32 fingerprintRoot
    );

    error LedgerDown();

    bool public failing;

    function setFailing(bool value) external {
        failing = value;
    }

    function registerDatanet(bytes32 datanetId, address owner) external {
        if (failing) revert LedgerDown();
        emit RegisterDatanetCalled(msg.sender, datanetId, owner);
    }

    function updateDatanet(bytes32 datanetId, uint64 version, bytes32 contributionRoot, bytes32 fingerprintRoot)
        external
    {
        if (failing) revert LedgerDown();
        emit UpdateDatanetCalled(msg.sender, datanetId, version, contributionRoot, fingerprintRoot);
    }
}
