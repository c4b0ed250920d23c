"""web3.py against `opal node --dev`: connect, chain id, a signed transfer with a dev key, the
receipt with its OP l1Fee field, balances, a contract call and a revert reason.

The node binary is OPAL_BIN, else target/debug/opal of this checkout."""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
from eth_account import Account
from web3 import Web3
from web3.exceptions import ContractLogicError

REPO = Path(__file__).resolve().parents[3]
OPAL_BIN = Path(os.environ.get("OPAL_BIN", REPO / "target" / "debug" / "opal")).resolve()
CHAIN_ID = 72077
GAS_PRICE_ORACLE = "0x420000000000000000000000000000000000000F"


class DevNode:
    """`opal node --dev` on a temporary datadir; keys and addresses read from its banner."""

    def __init__(self, block_time="500ms"):
        self.datadir = tempfile.mkdtemp(prefix="opal-e2e-py-")
        self.proc = subprocess.Popen(
            [str(OPAL_BIN), "node", "--dev", "--http.port", "0", "--block-time", block_time,
             "--datadir", self.datadir],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "RUST_LOG": "warn"},
        )
        self.keys, self.addresses = {}, {}
        section, deadline = None, time.monotonic() + 60
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"opal exited with {self.proc.wait()} before listening")
            if line.startswith("Available Accounts"):
                section = self.addresses
            elif line.startswith("Private Keys"):
                section = self.keys
            m = re.match(r"^\((\d+)\) (0x[0-9a-fA-F]+)", line)
            if m and section is not None:
                section[int(m.group(1))] = m.group(2)
            if line.startswith("Listening on "):
                self.url = "http://" + line.split()[2]
                break
            if time.monotonic() > deadline:
                raise RuntimeError("opal did not start within 60 s")
        # Keep draining stdout so the node never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.datadir, ignore_errors=True)


@pytest.fixture(scope="module")
def node():
    n = DevNode()
    yield n
    n.stop()


@pytest.fixture(scope="module")
def w3(node):
    w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 30}))
    assert w3.is_connected()
    return w3


@pytest.fixture(scope="module")
def erc20():
    artifact = json.loads((REPO / "contracts" / "artifacts" / "TestERC20.json").read_text())
    return artifact["abi"], artifact["bytecode"]


def send(w3, key, tx):
    """Fills nonce, chain id, gas and fees, signs with `key`, sends, waits for the receipt."""
    account = Account.from_key(key)
    tx = {
        "from": account.address,
        "chainId": CHAIN_ID,
        "nonce": w3.eth.get_transaction_count(account.address, "pending"),
        "maxPriorityFeePerGas": w3.eth.max_priority_fee,
        "maxFeePerGas": 2 * w3.eth.get_block("latest")["baseFeePerGas"] + w3.eth.max_priority_fee,
        **tx,
    }
    if "gas" not in tx:
        tx["gas"] = w3.eth.estimate_gas(tx)
    signed = account.sign_transaction(tx)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    assert tx_hash == signed.hash
    return w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30, poll_latency=0.1)


def test_connect_and_chain_id(w3):
    assert w3.eth.chain_id == CHAIN_ID
    assert int(w3.net.version) == CHAIN_ID
    assert "opal" in w3.client_version.lower()
    start = w3.eth.block_number
    deadline = time.monotonic() + 10
    while w3.eth.block_number == start:
        assert time.monotonic() < deadline, "no new block in 10 s"
        time.sleep(0.1)


def test_signed_transfer_receipt_and_balances(w3, node):
    sender = node.addresses[0]
    recipient = Account.create().address
    before = w3.eth.get_balance(sender)
    value = Web3.to_wei(1.5, "ether")

    receipt = send(w3, node.keys[0], {"to": recipient, "value": value, "gas": 21000})
    assert receipt["status"] == 1
    assert receipt["from"] == sender
    assert receipt["to"] == recipient
    assert receipt["gasUsed"] == 21000

    # The OP Stack receipt carries the L1 data fee the sender paid.
    raw = w3.provider.make_request("eth_getTransactionReceipt", [receipt["transactionHash"].to_0x_hex()])
    l1_fee = int(raw["result"]["l1Fee"], 16)
    assert l1_fee > 0
    assert int(raw["result"]["l1GasUsed"], 16) > 0

    assert w3.eth.get_balance(recipient) == value
    l2_fee = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert w3.eth.get_balance(sender) == before - value - l2_fee - l1_fee

    tx = w3.eth.get_transaction(receipt["transactionHash"])
    assert tx["blockNumber"] == receipt["blockNumber"]
    assert tx["value"] == value


def test_contract_deploy_call_and_revert_reason(w3, node, erc20):
    abi, bytecode = erc20
    factory = w3.eth.contract(abi=abi, bytecode=bytecode)
    deploy = factory.constructor().build_transaction({"from": node.addresses[1], "gas": 3_000_000})
    receipt = send(w3, node.keys[1], {"data": deploy["data"], "gas": 3_000_000})
    assert receipt["status"] == 1
    token = w3.eth.contract(address=receipt["contractAddress"], abi=abi)

    holder = node.addresses[1]
    mint = token.functions.mint(holder, 500).build_transaction({"from": holder})
    assert send(w3, node.keys[1], {"to": token.address, "data": mint["data"]})["status"] == 1
    assert token.functions.balanceOf(holder).call() == 500
    assert token.functions.totalSupply().call() == 500
    assert token.functions.decimals().call() == 18

    with pytest.raises(ContractLogicError) as err:
        token.functions.transfer(node.addresses[2], 10**30).call({"from": holder})
    assert "TestERC20: insufficient balance" in str(err.value)


def test_gas_price_oracle_call(w3):
    oracle = w3.eth.contract(
        address=GAS_PRICE_ORACLE,
        abi=[
            {"type": "function", "name": "isFjord", "stateMutability": "view", "inputs": [],
             "outputs": [{"type": "bool"}]},
            {"type": "function", "name": "l1BaseFee", "stateMutability": "view", "inputs": [],
             "outputs": [{"type": "uint256"}]},
        ],
    )
    assert oracle.functions.isFjord().call() is True
    assert oracle.functions.l1BaseFee().call() > 0
