//! Ledger tests through a real op-revm EVM with the precompiles installed: semantics, access
//! rules, journaling under enclosing reverts and out-of-gas, and batch/single equivalence.

use alloy::sol_types::{SolCall, SolError, SolEvent, SolInterface};
use alloy_primitives::{Address, B256, Bytes, Log, TxKind, U256, address, keccak256};
use op_revm::OpHaltReason;
use revm::context_interface::result::ExecutionResult;

use super::L;
use crate::{
    LEDGER_ADDRESS,
    abi::IAttributionLedger::IAttributionLedgerErrors as LErr,
    fee_split,
    genesis::LedgerGenesis,
    layout::{FeeConfig, Role},
    sandbox::Sandbox,
};

const ADMIN: Address = address!("0x00000000000000000000000000000000000a0001");
const ATTESTOR: Address = address!("0x00000000000000000000000000000000000a0002");
const REGISTRAR: Address = address!("0x00000000000000000000000000000000000a0003");
const OUTSIDER: Address = address!("0x00000000000000000000000000000000000a0004");
const TREASURY: Address = address!("0x00000000000000000000000000000000000b0001");
const STAKERS: Address = address!("0x00000000000000000000000000000000000b0002");
const PAYOUT: Address = address!("0x00000000000000000000000000000000000b0003");
const BPS: [u16; 4] = [500, 2000, 500, 7000];
const MODEL: B256 = B256::repeat_byte(0x11);
const DATANET: B256 = B256::repeat_byte(0x22);
const DATANET2: B256 = B256::repeat_byte(0x23);

/// A forwarding contract: CALLs (or DELEGATECALLs, ...) the ledger with its own calldata and
/// value, then returns or reverts with the ledger's return data. `revert_after` makes it revert
/// whatever the ledger did.
fn forwarder(op: u8, revert_after: bool) -> Bytes {
    let mut c = vec![0x36, 0x5f, 0x5f, 0x37]; // CALLDATACOPY(0, 0, CALLDATASIZE)
    c.extend([0x5f, 0x5f, 0x36, 0x5f]); // retSize retOffset argsSize argsOffset
    if op == 0xf1 || op == 0xf2 {
        c.push(0x34); // CALLVALUE
    }
    c.push(0x73); // PUSH20 ledger
    c.extend_from_slice(LEDGER_ADDRESS.as_slice());
    c.extend([0x5a, op]); // GAS, CALL*
    if revert_after {
        c.extend([0x50, 0x5f, 0x5f, 0xfd]); // POP, REVERT(0, 0)
        return c.into();
    }
    c.extend([0x3d, 0x5f, 0x5f, 0x3e]); // RETURNDATACOPY(0, 0, RETURNDATASIZE)
    let ok = c.len() as u8 + 6;
    c.extend([0x60, ok, 0x57, 0x3d, 0x5f, 0xfd]); // JUMPI ok; REVERT(0, RETURNDATASIZE)
    c.extend([0x5b, 0x3d, 0x5f, 0xf3]); // ok: RETURN(0, RETURNDATASIZE)
    c.into()
}

struct Net {
    sb: Sandbox,
}

#[derive(Debug)]
struct Outcome {
    result: ExecutionResult<OpHaltReason>,
}

impl Outcome {
    fn logs(&self) -> &[Log] {
        self.result.logs()
    }
    fn revert_data(&self) -> Option<Bytes> {
        match &self.result {
            ExecutionResult::Revert { output, .. } => Some(output.clone()),
            _ => None,
        }
    }
    fn error(&self) -> LErr {
        let data = self.revert_data().expect("reverted");
        LErr::abi_decode(&data).expect("a ledger error")
    }
}

impl Net {
    fn new() -> Self {
        let genesis = LedgerGenesis {
            fee_config: FeeConfig {
                bps: BPS,
                treasury: TREASURY,
                staker_pool: STAKERS,
            },
            roles: vec![
                (ADMIN, Role::Admin),
                (ATTESTOR, Role::Attestor),
                (REGISTRAR, Role::Registrar),
            ],
        };
        let mut sb = Sandbox::new(72_077, &genesis);
        for a in [ADMIN, ATTESTOR, REGISTRAR, OUTSIDER] {
            sb.fund(a, U256::from(10u128.pow(24)));
        }
        let mut net = Self { sb };
        net.ok(
            REGISTRAR,
            L::registerModelCall {
                modelId: MODEL,
                owner: REGISTRAR,
                payout: PAYOUT,
                tokenizerId: 7,
            },
        );
        for d in [DATANET, DATANET2] {
            net.ok(
                REGISTRAR,
                L::registerDatanetCall {
                    datanetId: d,
                    owner: REGISTRAR,
                },
            );
        }
        net
    }

    fn set_code(&mut self, at: Address, code: Bytes) {
        self.sb.set_code(at, code);
    }

    fn exec(&mut self, from: Address, to: Address, data: Bytes, value: U256, gas: u64) -> Outcome {
        let result = self
            .sb
            .exec(from, TxKind::Call(to), data, value, gas)
            .expect("valid transaction");
        Outcome { result }
    }

    fn send<C: SolCall>(&mut self, from: Address, c: C, value: U256) -> Outcome {
        self.exec(
            from,
            LEDGER_ADDRESS,
            c.abi_encode().into(),
            value,
            900_000_000,
        )
    }

    fn ok<C: SolCall>(&mut self, from: Address, c: C) -> C::Return {
        self.ok_value(from, c, U256::ZERO)
    }

    fn ok_value<C: SolCall>(&mut self, from: Address, c: C, value: U256) -> C::Return {
        let out = self.send(from, c, value);
        assert!(out.result.is_success(), "call failed: {:?}", out.result);
        C::abi_decode_returns(out.result.output().unwrap()).unwrap()
    }

    fn claimable(&mut self, a: Address) -> U256 {
        self.ok(OUTSIDER, L::claimableCall { account: a })
    }

    fn balance(&self, a: Address) -> U256 {
        self.sb.balance(a)
    }
}

fn share(datanet: B256, contributor: u64, score: i128) -> L::Share {
    L::Share {
        datanetId: datanet,
        contributor: Address::left_padding_from(&(0xc000_0000u64 + contributor).to_be_bytes()),
        score,
    }
}

fn record(id: u8, shares: Vec<L::Share>) -> L::recordInferenceCall {
    L::recordInferenceCall {
        inferenceId: B256::repeat_byte(id),
        modelId: MODEL,
        outputHash: B256::repeat_byte(0x99),
        shares,
    }
}

#[test]
fn record_inference_credits_the_split_and_emits_events() {
    let mut net = Net::new();
    let shares = vec![
        share(DATANET, 1, 3 * 10i128.pow(18)),
        share(DATANET2, 2, 10i128.pow(18)),
        share(DATANET, 3, -5 * 10i128.pow(18)),
    ];
    let fee = U256::from(1_000_003u64);
    let call = record(1, shares.clone());
    let out = net.send(ATTESTOR, call.clone(), fee);
    assert!(out.result.is_success(), "{:?}", out.result);
    let record_hash =
        L::recordInferenceCall::abi_decode_returns(out.result.output().unwrap()).unwrap();

    let s = fee_split::split(
        fee,
        BPS,
        &[3 * 10i128.pow(18), 10i128.pow(18), -5 * 10i128.pow(18)],
        0,
    )
    .unwrap();
    assert_eq!(net.claimable(shares[0].contributor), s.per_contributor[0]);
    assert_eq!(net.claimable(shares[1].contributor), s.per_contributor[1]);
    assert_eq!(net.claimable(shares[2].contributor), U256::ZERO);
    assert_eq!(net.claimable(PAYOUT), s.model);
    assert_eq!(net.claimable(STAKERS), s.staker);
    assert_eq!(net.claimable(TREASURY), s.protocol + s.unassigned);
    let credited: U256 = [
        shares[0].contributor,
        shares[1].contributor,
        PAYOUT,
        STAKERS,
        TREASURY,
    ]
    .into_iter()
    .map(|a| net.claimable(a))
    .sum();
    assert_eq!(credited, fee, "every wei is credited to someone");
    assert_eq!(net.balance(LEDGER_ADDRESS), fee, "the ledger holds the fee");

    // recordHash as the spec defines it.
    use alloy::sol_types::SolValue;
    let expect = keccak256(
        (
            U256::from(72_077u64),
            LEDGER_ADDRESS,
            call.inferenceId,
            MODEL,
            call.outputHash,
            fee,
            keccak256(shares.abi_encode()),
        )
            .abi_encode(),
    );
    assert_eq!(record_hash, expect);

    // One InferenceAttributed, then one ShareCredited per positive share.
    let logs = out.logs();
    assert_eq!(logs.len(), 3);
    assert!(logs.iter().all(|l| l.address == LEDGER_ADDRESS));
    let ev = L::InferenceAttributed::decode_log_data(&logs[0].data).unwrap();
    assert_eq!(
        (ev.attestor, ev.fee, ev.recordHash),
        (ATTESTOR, fee, record_hash)
    );
    let sc = L::ShareCredited::decode_log_data(&logs[2].data).unwrap();
    assert_eq!(
        (sc.contributor, sc.datanetId, sc.amount),
        (shares[1].contributor, DATANET2, s.per_contributor[1])
    );

    let got = net.ok(
        OUTSIDER,
        L::getInferenceCall {
            inferenceId: call.inferenceId,
        },
    );
    assert_eq!(
        (got.recordHash, got.modelId, got.fee),
        (record_hash, MODEL, 1_000_003u128)
    );
    let m = net.ok(OUTSIDER, L::getModelCall { modelId: MODEL });
    assert_eq!(
        (m.cumulativeFees, m.inferences, m.payout, m.tokenizerId),
        (1_000_003, 1, PAYOUT, 7)
    );

    // A replayed id reverts and changes nothing.
    let again = net.send(ATTESTOR, call, fee);
    assert!(
        matches!(again.error(), LErr::AlreadyRecorded(e) if e.inferenceId == B256::repeat_byte(1))
    );
    assert_eq!(net.balance(LEDGER_ADDRESS), fee);
}

#[test]
fn record_inference_checks_its_inputs() {
    let mut net = Net::new();
    let one = || vec![share(DATANET, 1, 1)];
    type Case = (Address, L::recordInferenceCall, U256, fn(&LErr) -> bool);
    let cases: Vec<Case> = vec![
        (OUTSIDER, record(1, one()), U256::from(10), |e| {
            matches!(e, LErr::NotAuthorized(_))
        }),
        (ADMIN, record(1, one()), U256::from(10), |e| {
            matches!(e, LErr::NotAuthorized(_))
        }),
        (ATTESTOR, record(1, one()), U256::ZERO, |e| {
            matches!(e, LErr::FeeMismatch(_))
        }),
        (
            ATTESTOR,
            L::recordInferenceCall {
                modelId: B256::repeat_byte(0x77),
                ..record(1, one())
            },
            U256::from(10),
            |e| matches!(e, LErr::UnknownModel(_)),
        ),
        (
            ATTESTOR,
            record(1, vec![share(B256::repeat_byte(0x55), 1, 1)]),
            U256::from(10),
            |e| matches!(e, LErr::UnknownDatanet(_)),
        ),
        (
            ATTESTOR,
            record(1, (0..65).map(|i| share(DATANET, i + 1, 1)).collect()),
            U256::from(10),
            |e| matches!(e, LErr::TooManyShares(t) if t.n == U256::from(65)),
        ),
        (
            ATTESTOR,
            record(
                1,
                vec![L::Share {
                    datanetId: DATANET,
                    contributor: Address::ZERO,
                    score: 1,
                }],
            ),
            U256::from(10),
            |e| matches!(e, LErr::BadInput(_)),
        ),
    ];
    for (i, (from, call, value, want)) in cases.into_iter().enumerate() {
        let out = net.send(from, call, value);
        let err = out.error();
        assert!(want(&err), "case {i}: selector {:?}", err.selector());
        assert!(out.logs().is_empty());
    }
    assert_eq!(net.balance(LEDGER_ADDRESS), U256::ZERO);
}

#[test]
fn registry_and_governance_enforce_roles() {
    let mut net = Net::new();
    // Only a registrar (or admin) registers; ids are not re-registered.
    let m = L::registerModelCall {
        modelId: B256::repeat_byte(5),
        owner: OUTSIDER,
        payout: OUTSIDER,
        tokenizerId: 1,
    };
    assert!(matches!(
        net.send(OUTSIDER, m.clone(), U256::ZERO).error(),
        LErr::NotAuthorized(_)
    ));
    assert!(matches!(
        net.send(ATTESTOR, m.clone(), U256::ZERO).error(),
        LErr::NotAuthorized(_)
    ));
    net.ok(ADMIN, m.clone());
    assert!(matches!(
        net.send(REGISTRAR, m, U256::ZERO).error(),
        LErr::BadInput(_)
    ));

    // Datanet versions: owner only, strictly increasing.
    let up = |v| L::updateDatanetCall {
        datanetId: DATANET,
        version: v,
        contributionRoot: B256::repeat_byte(1),
        fingerprintRoot: B256::repeat_byte(2),
    };
    assert!(matches!(
        net.send(OUTSIDER, up(1), U256::ZERO).error(),
        LErr::NotAuthorized(_)
    ));
    let out = net.send(REGISTRAR, up(3), U256::ZERO);
    assert!(out.result.is_success());
    let ev = L::DatanetUpdated::decode_log_data(&out.logs()[0].data).unwrap();
    assert_eq!(ev.version, 3);
    assert!(matches!(
        net.send(REGISTRAR, up(3), U256::ZERO).error(),
        LErr::BadVersion(_)
    ));
    let d = net.ok(OUTSIDER, L::getDatanetCall { datanetId: DATANET });
    assert_eq!(
        (d.owner, d.version, d.fingerprintRoot),
        (REGISTRAR, 3, B256::repeat_byte(2))
    );

    // Fee config and roles: admin only, bps must sum to 10,000.
    let fc = |p| L::setFeeConfigCall {
        protocolBps: p,
        modelBps: 1000,
        stakerBps: 1000,
        contributorBps: 7000,
        treasury: TREASURY,
        stakerPool: STAKERS,
    };
    assert!(matches!(
        net.send(REGISTRAR, fc(1000), U256::ZERO).error(),
        LErr::NotAuthorized(_)
    ));
    assert!(matches!(
        net.send(ADMIN, fc(999), U256::ZERO).error(),
        LErr::BadInput(_)
    ));
    net.ok(ADMIN, fc(1000));
    let c = net.ok(OUTSIDER, L::feeConfigCall {});
    assert_eq!(
        (c.protocolBps, c.contributorBps, c.treasury),
        (1000, 7000, TREASURY)
    );
    assert!(matches!(
        net.send(
            ATTESTOR,
            L::setRoleCall {
                account: OUTSIDER,
                role: 1
            },
            U256::ZERO
        )
        .error(),
        LErr::NotAuthorized(_)
    ));
    assert!(matches!(
        net.send(
            ADMIN,
            L::setRoleCall {
                account: OUTSIDER,
                role: 4
            },
            U256::ZERO
        )
        .error(),
        LErr::BadInput(_)
    ));
    let out = net.send(
        ADMIN,
        L::setRoleCall {
            account: OUTSIDER,
            role: 1,
        },
        U256::ZERO,
    );
    let ev = L::RoleSet::decode_log_data(&out.logs()[0].data).unwrap();
    assert_eq!((ev.account, ev.role, ev.by), (OUTSIDER, 1, ADMIN));
    assert_eq!(net.ok(OUTSIDER, L::roleOfCall { account: OUTSIDER }), 1);
}

#[test]
fn call_context_rules_are_enforced() {
    let mut net = Net::new();
    let (dc, cc, sc) = (
        Address::repeat_byte(0xd1),
        Address::repeat_byte(0xd2),
        Address::repeat_byte(0xd3),
    );
    net.set_code(dc, forwarder(0xf4, false)); // DELEGATECALL
    net.set_code(cc, forwarder(0xf2, false)); // CALLCODE
    net.set_code(sc, forwarder(0xfa, false)); // STATICCALL
    let view = Bytes::from(L::claimableCall { account: OUTSIDER }.abi_encode());
    let write = Bytes::from(L::claimCall { to: OUTSIDER }.abi_encode());
    for proxy in [dc, cc] {
        let out = net.exec(OUTSIDER, proxy, view.clone(), U256::ZERO, 1_000_000);
        assert_eq!(
            out.revert_data().unwrap(),
            Bytes::from(L::DelegateCallNotAllowed {}.abi_encode()),
        );
    }
    // STATICCALL: views answer, writes revert.
    assert!(
        net.exec(OUTSIDER, sc, view.clone(), U256::ZERO, 1_000_000)
            .result
            .is_success()
    );
    let out = net.exec(OUTSIDER, sc, write.clone(), U256::ZERO, 1_000_000);
    assert_eq!(
        out.revert_data().unwrap(),
        Bytes::from(L::StaticCallWrite {}.abi_encode())
    );
    // Value on a non-payable selector (a view, and claim) reverts and the value stays put.
    for data in [view, write] {
        let out = net.exec(OUTSIDER, LEDGER_ADDRESS, data, U256::from(5), 1_000_000);
        assert_eq!(
            out.revert_data().unwrap(),
            Bytes::from(L::NonPayable {}.abi_encode())
        );
    }
    assert_eq!(net.balance(LEDGER_ADDRESS), U256::ZERO);
    // Garbage reverts with BadInput.
    let out = net.exec(
        OUTSIDER,
        LEDGER_ADDRESS,
        Bytes::from_static(&[1, 2, 3, 4, 5]),
        U256::ZERO,
        1_000_000,
    );
    assert_eq!(
        out.revert_data().unwrap(),
        Bytes::from(L::BadInput {}.abi_encode())
    );
}

#[test]
fn an_enclosing_revert_rolls_back_ledger_writes_and_logs() {
    let mut net = Net::new();
    let proxy = Address::repeat_byte(0xe1);
    net.set_code(proxy, forwarder(0xf1, true));
    net.ok(
        ADMIN,
        L::setRoleCall {
            account: proxy,
            role: 1,
        },
    );
    let call = record(9, vec![share(DATANET, 1, 1)]);
    let out = net.exec(
        OUTSIDER,
        proxy,
        call.abi_encode().into(),
        U256::from(1000),
        1_000_000,
    );
    assert!(matches!(out.result, ExecutionResult::Revert { .. }));
    assert!(out.logs().is_empty());
    assert_eq!(net.claimable(share(DATANET, 1, 1).contributor), U256::ZERO);
    assert_eq!(net.claimable(TREASURY), U256::ZERO);
    let r = net.ok(
        OUTSIDER,
        L::getInferenceCall {
            inferenceId: call.inferenceId,
        },
    );
    assert_eq!(r.recordHash, B256::ZERO);
    assert_eq!(net.balance(LEDGER_ADDRESS), U256::ZERO);
}

#[test]
fn out_of_gas_at_every_stage_leaves_no_trace() {
    // Find the gas a full recordInference needs, then run it with less at many points.
    let call = record(3, vec![share(DATANET, 1, 2), share(DATANET2, 2, 1)]);
    let data: Bytes = call.abi_encode().into();
    let needed = {
        let mut net = Net::new();
        let out = net.exec(
            ATTESTOR,
            LEDGER_ADDRESS,
            data.clone(),
            U256::from(777),
            1_000_000,
        );
        assert!(out.result.is_success());
        out.result.tx_gas_used()
    };
    let floor = 21_000
        + 10 * data
            .iter()
            .map(|b| if *b == 0 { 1 } else { 4 })
            .sum::<u64>();
    let mut failures = 0;
    for i in 0..48u64 {
        let gas = floor + (needed - floor) * i / 48;
        let mut net = Net::new();
        let out = net.exec(ATTESTOR, LEDGER_ADDRESS, data.clone(), U256::from(777), gas);
        assert!(!out.result.is_success(), "succeeded with {gas} < {needed}");
        failures += 1;
        assert!(out.logs().is_empty());
        assert_eq!(net.claimable(TREASURY), U256::ZERO);
        assert_eq!(net.balance(LEDGER_ADDRESS), U256::ZERO);
        let r = net.ok(
            OUTSIDER,
            L::getInferenceCall {
                inferenceId: call.inferenceId,
            },
        );
        assert_eq!(r.recordHash, B256::ZERO, "gas {gas}");
    }
    assert_eq!(failures, 48);
}

#[test]
fn claim_moves_exactly_the_balance_and_runs_no_code() {
    let mut net = Net::new();
    let c = share(DATANET, 1, 1).contributor;
    net.ok_value(
        ATTESTOR,
        record(1, vec![share(DATANET, 1, 1)]),
        U256::from(10_000),
    );
    let owed = net.claimable(c);
    assert!(owed > U256::ZERO);
    // The recipient's code would write storage and revert if it ran.
    let sink = Address::repeat_byte(0xee);
    net.set_code(
        sink,
        Bytes::from_static(&[0x60, 0x01, 0x5f, 0x55, 0x5f, 0x5f, 0xfd]),
    );
    net.sb.fund(c, U256::from(10u64.pow(18)));
    let out = net.send(c, L::claimCall { to: sink }, U256::ZERO);
    assert!(out.result.is_success(), "{:?}", out.result);
    assert_eq!(
        L::claimCall::abi_decode_returns(out.result.output().unwrap()).unwrap(),
        owed
    );
    assert_eq!(net.balance(sink), owed);
    assert_eq!(net.sb.storage(sink, U256::ZERO), U256::ZERO);
    assert_eq!(net.claimable(c), U256::ZERO);
    assert_eq!(net.balance(LEDGER_ADDRESS), U256::from(10_000) - owed);
    let ev = L::Claimed::decode_log_data(&out.logs()[0].data).unwrap();
    assert_eq!((ev.account, ev.to, ev.amount), (c, sink, owed));
    // Claiming to a precompile account would strand the funds: refused.
    let c2 = share(DATANET, 2, 1).contributor;
    net.ok_value(
        ATTESTOR,
        record(2, vec![share(DATANET, 2, 1)]),
        U256::from(10_000),
    );
    net.sb.fund(c2, U256::from(10u64.pow(18)));
    for to in crate::ADDRESSES {
        let out = net.send(c2, L::claimCall { to }, U256::ZERO);
        assert!(matches!(out.error(), LErr::BadInput(_)), "claim to {to}");
    }
    assert!(net.claimable(c2) > U256::ZERO);
    // A second claim moves nothing.
    let again: U256 = net.ok(c, L::claimCall { to: sink });
    assert_eq!(again, U256::ZERO);
    assert_eq!(net.balance(sink), owed);
}

/// A pseudo-random batch: `n` inferences with 1..=8 shares over `recipients` contributors.
fn batch(n: usize, recipients: u64, seed: u64) -> (Vec<L::recordInferenceCall>, Vec<u128>) {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        x >> 33
    };
    let mut calls = vec![];
    let mut fees = vec![];
    for i in 0..n {
        let k = 1 + next() as usize % 8;
        let shares = (0..k)
            .map(|_| {
                let score = (next() % 2_000) as i128 - 300;
                share(
                    if next() % 2 == 0 { DATANET } else { DATANET2 },
                    1 + next() % recipients,
                    score * 10i128.pow(15),
                )
            })
            .collect();
        let mut c = record(0, shares);
        c.inferenceId = keccak256(alloy::sol_types::SolValue::abi_encode(&(seed, i as u64)));
        calls.push(c);
        fees.push(1 + (next() as u128 % 10u128.pow(15)));
    }
    (calls, fees)
}

fn batch_call(calls: &[L::recordInferenceCall], fees: &[u128], nonce: u64) -> L::recordBatchCall {
    let mut offsets = vec![0u32];
    let (mut dn, mut co, mut sc) = (vec![], vec![], vec![]);
    for c in calls {
        for s in &c.shares {
            dn.push(s.datanetId);
            co.push(s.contributor);
            sc.push(s.score);
        }
        offsets.push(dn.len() as u32);
    }
    L::recordBatchCall {
        modelId: MODEL,
        nonce,
        inferenceIds: calls.iter().map(|c| c.inferenceId).collect(),
        fees: fees.to_vec(),
        offsets,
        shareDatanet: dn,
        shareContributor: co,
        shareScore: sc,
    }
}

#[test]
fn a_batch_credits_exactly_what_single_records_credit() {
    for (n, recipients, seed) in [(1, 3, 1), (40, 12, 2), (200, 64, 3)] {
        let (calls, fees) = batch(n, recipients, seed);
        let mut single = Net::new();
        for (c, f) in calls.iter().zip(&fees) {
            single.ok_value(ATTESTOR, c.clone(), U256::from(*f));
        }
        let mut batched = Net::new();
        let total: U256 = fees.iter().map(|f| U256::from(*f)).sum();
        let call = batch_call(&calls, &fees, 1);
        let data = call.abi_encode();
        let out = batched.send(ATTESTOR, call, total);
        assert!(out.result.is_success(), "{:?}", out.result);
        let ret = L::recordBatchCall::abi_decode_returns(out.result.output().unwrap()).unwrap();
        assert_eq!(ret.batchHash, keccak256(&data[4..]));
        let mut everyone: Vec<Address> = (1..=recipients)
            .map(|i| share(DATANET, i, 0).contributor)
            .collect();
        everyone.extend([PAYOUT, STAKERS, TREASURY]);
        let mut credited = 0;
        for a in &everyone {
            let (s, b) = (single.claimable(*a), batched.claimable(*a));
            assert_eq!(s, b, "recipient {a} (n={n})");
            if !b.is_zero() {
                credited += 1;
            }
        }
        assert_eq!(ret.uniqueRecipients, credited);
        // BatchAttributed, then one BatchCredited per recipient in address order.
        let logs = out.logs();
        assert_eq!(logs.len(), credited as usize + 1);
        let recips: Vec<Address> = logs[1..]
            .iter()
            .map(|l| {
                L::BatchCredited::decode_log_data(&l.data)
                    .unwrap()
                    .recipient
            })
            .collect();
        assert!(recips.windows(2).all(|w| w[0] < w[1]));
        let ev = L::BatchAttributed::decode_log_data(&logs[0].data).unwrap();
        assert_eq!((ev.totalFee, ev.inferences), (total, n as u32));
        assert_eq!(
            batched.balance(LEDGER_ADDRESS),
            single.balance(LEDGER_ADDRESS)
        );
        let m = batched.ok(OUTSIDER, L::getModelCall { modelId: MODEL });
        assert_eq!(m.inferences, n as u64);
        assert_eq!(
            batched.ok(OUTSIDER, L::batchNonceCall { attestor: ATTESTOR }),
            1
        );
    }
}

#[test]
fn batch_nonce_fees_and_duplicates_are_checked() {
    let mut net = Net::new();
    let (calls, fees) = batch(5, 4, 9);
    let total: U256 = fees.iter().map(|f| U256::from(*f)).sum();
    let bad_nonce = net.send(ATTESTOR, batch_call(&calls, &fees, 2), total);
    assert!(matches!(bad_nonce.error(), LErr::BadNonce(e) if e.expected == 1));
    let bad_fee = net.send(
        ATTESTOR,
        batch_call(&calls, &fees, 1),
        total + U256::from(1),
    );
    assert!(matches!(bad_fee.error(), LErr::FeeMismatch(_)));
    let mut dup = calls.clone();
    dup[3].inferenceId = dup[1].inferenceId;
    let out = net.send(ATTESTOR, batch_call(&dup, &fees, 1), total);
    assert!(matches!(out.error(), LErr::AlreadyRecorded(_)));
    let mut bad_offsets = batch_call(&calls, &fees, 1);
    bad_offsets.offsets[2] = bad_offsets.offsets[3] + 1;
    assert!(matches!(
        net.send(ATTESTOR, bad_offsets, total).error(),
        LErr::BadInput(_)
    ));
    assert!(matches!(
        net.send(OUTSIDER, batch_call(&calls, &fees, 1), total)
            .error(),
        LErr::NotAuthorized(_)
    ));
    assert_eq!(net.balance(LEDGER_ADDRESS), U256::ZERO);
    // The right nonce works once; replaying it fails.
    net.ok_value(ATTESTOR, batch_call(&calls, &fees, 1), total);
    let replay = net.send(ATTESTOR, batch_call(&calls, &fees, 1), total);
    assert!(matches!(replay.error(), LErr::BadNonce(e) if e.expected == 2));
    assert_eq!(net.balance(LEDGER_ADDRESS), total);
}
