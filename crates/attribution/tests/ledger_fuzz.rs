//! Fuzzing the attribution precompiles through a real op-revm EVM ([`Sandbox`]).
//!
//! The AttributionLedger (`0x…A77001`) gets arbitrary calldata in a sandbox that already has a
//! fee config, roles (admin, two attestors, a registrar), a model, three datanets and claimable
//! balances: (a) random bytes, (b) each ledger selector followed by random words, (c) valid ABI
//! encodings of every call with random fields (lengths within and beyond the caps, random CSR
//! offsets, scores including the `int128` extremes, at most one injected fault per call,
//! sometimes one word overwritten), plus a few large calls at and over the batch caps. Each step
//! comes from a random roled account or an outsider, with a random value (zero or not) and a
//! random gas limit from just above the intrinsic floor to plenty. Properties, after every step:
//! - the transaction is valid (`Sandbox::exec` is `Ok`) and no gas beyond its limit is used (a
//!   halt uses all of it);
//! - a call that does not succeed leaves the ledger's storage (every slot the sandbox holds for
//!   it), its balance, the sender's balance and every tracked account's claimable balance as
//!   they were, and emits no log;
//! - a call that succeeds moves exactly `value − claim payout` into the ledger, carries value
//!   only on a payable selector, logs only from the ledger and, if it is a view, writes nothing;
//! - solvency: the claimable balances of every account that ever appeared sum to at most the
//!   ledger's balance; in fact to exactly the balance minus what was claimed to the ledger
//!   itself (such a claim leaves the funds in the ledger, owed to nobody).
//!
//! The pure precompiles (`0x…A77002`–`4`, fuzzed as plain functions in `precompiles.rs`) get the
//! same arbitrary-calldata treatment through the EVM: valid transaction, gas bounded, no logs,
//! and any value reverts and stays with the sender.

use std::{
    cell::RefCell,
    collections::{BTreeMap, BTreeSet},
    sync::LazyLock,
};

use alloy::sol_types::{SolCall, SolError, SolInterface};
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, address};
use op_revm::OpHaltReason;
use opal_attribution::{
    FEE_SPLIT_ADDRESS, LEDGER_ADDRESS, MERKLE_ADDRESS, SPAN_MATCH_ADDRESS,
    abi::{
        IAttributionLedger::{self as L, IAttributionLedgerCalls as Call},
        IFeeSplit, IMerkleMultiProof, ISpanMatch,
    },
    genesis::LedgerGenesis,
    layout::{FeeConfig, Ns, Role, address_key, slot},
    sandbox::Sandbox,
    sandbox::SplitMix64,
};
use proptest::{prelude::*, sample::Index, test_runner::TestRunner};
use revm::{
    context_interface::{cfg::gas::calculate_initial_tx_gas, result::ExecutionResult},
    primitives::hardfork::SpecId,
};

const CHAIN_ID: u64 = 72_077;
const ADMIN: Address = address!("0x00000000000000000000000000000000000a0001");
const ATTESTOR: Address = address!("0x00000000000000000000000000000000000a0002");
const REGISTRAR: Address = address!("0x00000000000000000000000000000000000a0003");
const OUTSIDER: Address = address!("0x00000000000000000000000000000000000a0004");
const ATTESTOR2: Address = address!("0x00000000000000000000000000000000000a0005");
const TREASURY: Address = address!("0x00000000000000000000000000000000000b0001");
const STAKERS: Address = address!("0x00000000000000000000000000000000000b0002");
const PAYOUT: Address = address!("0x00000000000000000000000000000000000b0003");
/// Transaction senders: the roled accounts and an outsider (owner of the third datanet).
const SENDERS: [Address; 5] = [ADMIN, ATTESTOR, ATTESTOR2, REGISTRAR, OUTSIDER];
const BPS: [u16; 4] = [500, 2_000, 500, 7_000];
const MODEL: B256 = B256::repeat_byte(0x11);
const DATANETS: [B256; 3] = [
    B256::repeat_byte(0x21),
    B256::repeat_byte(0x22),
    B256::repeat_byte(0x23),
];
/// The inference recorded during setup.
const SETUP_INFERENCE: B256 = B256::repeat_byte(0x5e);
/// Distinct contributors the generators draw from (besides the senders and pools).
const CONTRIBUTORS: u64 = 8;
/// Gas well above anything a generated call needs.
const PLENTY: u64 = 60_000_000;

fn contributor(i: u64) -> Address {
    Address::left_padding_from(&(0xc000_0000u64 + i).to_be_bytes())
}

/// Every account a generated call names most of the time.
fn known_accounts() -> Vec<Address> {
    let mut v = SENDERS.to_vec();
    v.extend([TREASURY, STAKERS, PAYOUT]);
    v.extend((1..=CONTRIBUTORS).map(contributor));
    v
}

fn funding() -> U256 {
    U256::from(1u8) << 160
}

/// Gas a transaction with `data` must at least carry (intrinsic gas or the EIP-7623 floor).
fn intrinsic(data: &[u8]) -> u64 {
    let g = calculate_initial_tx_gas(SpecId::PRAGUE, data, false, 0, 0, 0);
    g.initial_total_gas.max(g.floor_gas)
}

fn claimable_slot(a: Address) -> U256 {
    slot(Ns::Claimable, address_key(a))
}

fn selector_of(data: &[u8]) -> Option<[u8; 4]> {
    data.get(..4).map(|s| s.try_into().expect("four bytes"))
}

fn is_payable(selector: Option<[u8; 4]>) -> bool {
    selector == Some(L::recordInferenceCall::SELECTOR)
        || selector == Some(L::recordBatchCall::SELECTOR)
}

fn is_view(selector: Option<[u8; 4]>) -> bool {
    selector.is_some_and(opal_attribution::ledger::is_view)
}

/// A deterministic generator (splitmix64) that expands a proptest-chosen seed into field values.
struct Gen(SplitMix64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0.next()
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0.below(n)
    }

    fn pct(&mut self, p: u64) -> bool {
        self.below(100) < p
    }

    fn u128(&mut self) -> u128 {
        self.0.u128()
    }

    fn b256(&mut self) -> B256 {
        self.0.b256()
    }

    fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[self.below(from.len() as u64) as usize]
    }

    /// Any account: mostly known ones, sometimes zero, the ledger or a stranger.
    fn account(&mut self) -> Address {
        match self.below(20) {
            0 => Address::ZERO,
            1 => LEDGER_ADDRESS,
            2 | 3 => Address::from_word(self.b256()),
            _ => self.pick(&known_accounts()),
        }
    }

    /// A non-zero contributor: mostly known, sometimes fresh.
    fn contributor(&mut self) -> Address {
        if self.pct(85) {
            self.pick(&known_accounts())
        } else {
            contributor(1_000 + self.below(1 << 20))
        }
    }

    /// Any id: registered ones, zero, the setup inference or a random one.
    fn any_id(&mut self) -> B256 {
        match self.below(10) {
            0 => B256::ZERO,
            1 => SETUP_INFERENCE,
            2 | 3 => MODEL,
            4..=6 => self.pick(&DATANETS),
            _ => self.b256(),
        }
    }

    /// A share score, extremes included.
    fn score(&mut self) -> i128 {
        match self.below(14) {
            0 => i128::MIN,
            1 => i128::MAX,
            2 => i128::MAX - self.below(3) as i128,
            3 => 0,
            4 => -1,
            5 => 1,
            6 => self.u128() as i128,
            7 => -(self.below(1 << 40) as i128),
            _ => (self.below(2_000) as i128 - 300) * 10i128.pow(15),
        }
    }

    /// A valid fee (non-zero; sums of up to 2,048 stay below 2^128).
    fn fee(&mut self) -> u128 {
        match self.below(8) {
            0 => 1,
            1 | 2 => 1 + u128::from(self.below(10_000)),
            3 => self.u128() >> 12,
            _ => 10u128.pow(15) + u128::from(self.below(10u64.pow(15))),
        }
    }

    /// Four bps summing to 10,000 (mostly), or anything.
    fn bps(&mut self) -> [u16; 4] {
        if self.pct(75) {
            let a = self.below(10_001) as u16;
            let b = self.below(u64::from(10_000 - a) + 1) as u16;
            let c = self.below(u64::from(10_000 - a - b) + 1) as u16;
            [a, b, c, 10_000 - a - b - c]
        } else {
            [0; 4].map(|_: u16| self.next() as u16)
        }
    }
}

/// A value choice, resolved against the call once it is built.
#[derive(Debug, Clone, Copy)]
enum Value {
    Zero,
    /// The value the call expects (the fee or the sum of the fees; zero when not payable).
    Exact,
    Small(u64),
    Any(u128),
    /// 2^128 + k: over the fee range.
    Huge(u8),
}

#[derive(Debug, Clone)]
enum Input {
    Random(Vec<u8>),
    SelectorThen {
        selector: Index,
        words: Vec<[u8; 32]>,
        tail: Vec<u8>,
    },
    /// A valid encoding of call `call` (see [`build_valid`]) of size `size`, its fields expanded
    /// from `seed`, optionally with one word overwritten.
    Valid {
        call: u8,
        size: usize,
        seed: u64,
        mutate: Option<(Index, u64, bool)>,
    },
    /// A large call at or over a cap (see [`build_big`]); `aimed` sends it from the attestor with
    /// the exact value, the next nonce and enough gas, so that it gets as far as it can.
    Big {
        kind: u8,
        aimed: bool,
        seed: u64,
    },
}

#[derive(Debug, Clone)]
struct Step {
    input: Input,
    sender: Who,
    value: Value,
    gas_extra: u64,
}

/// Who sends a step.
#[derive(Debug, Clone, Copy)]
enum Who {
    /// The account the call needs (an attestor to record, the admin to govern, a registrar or
    /// the admin to register, the datanet's owner to update it, an account with a balance to
    /// claim); the flag picks between two where there are two.
    Natural(bool),
    /// `SENDERS[i]`.
    Index(usize),
}

/// The account a valid call of kind `call` (see [`build_valid`]) needs.
fn natural_sender(call: u8, alt: bool) -> Address {
    match call {
        0 | 1 => [REGISTRAR, ADMIN][usize::from(alt)],
        3 | 4 => ADMIN,
        5 | 6 => [ATTESTOR, ATTESTOR2][usize::from(alt)],
        7 => [OUTSIDER, REGISTRAR][usize::from(alt)],
        _ => SENDERS[usize::from(alt)],
    }
}

/// The owner of the datanet an `updateDatanet` call names (the outsider if there is none).
fn datanet_owner(sb: &Sandbox, data: &[u8]) -> Address {
    let Ok(c) = L::updateDatanetCall::abi_decode(data) else {
        return OUTSIDER;
    };
    let word = sb.storage(LEDGER_ADDRESS, slot(Ns::Datanet, c.datanetId));
    let owner = Address::from_word(B256::from(
        word & ((U256::from(1u8) << 160) - U256::from(1u8)),
    ));
    if owner.is_zero() { OUTSIDER } else { owner }
}

/// A built call: calldata and the value it expects.
struct Built {
    data: Vec<u8>,
    exact: U256,
}

fn next_nonce(sb: &Sandbox, attestor: Address) -> u64 {
    sb.storage(LEDGER_ADDRESS, slot(Ns::BatchNonce, address_key(attestor)))
        .saturating_to::<u64>()
        .saturating_add(1)
}

fn datanet_version(sb: &Sandbox, id: B256) -> u64 {
    (sb.storage(LEDGER_ADDRESS, slot(Ns::Datanet, id)) >> 160usize).saturating_to::<u64>()
}

/// Injected faults of a batch (at most one per call).
mod faults {
    pub const UNKNOWN_MODEL: u64 = 0;
    pub const UNKNOWN_DATANET: u64 = 1;
    pub const ZERO_CONTRIBUTOR: u64 = 2;
    pub const DUPLICATE_ID: u64 = 3;
    pub const BAD_NONCE: u64 = 4;
    pub const BAD_OFFSETS: u64 = 5;
    pub const RANDOM_OFFSETS: u64 = 6;
    pub const LENGTHS: u64 = 7;
    pub const ZERO_FEE: u64 = 8;
    pub const HUGE_FEE: u64 = 9;
    pub const COUNT: u64 = 10;
}

/// A `recordBatch` of `counts.len()` inferences with `counts[i]` shares each, every field valid
/// for `sender` unless `fault` injects one problem.
fn batch_call(
    g: &mut Gen,
    sb: &Sandbox,
    sender: Address,
    counts: &[usize],
    fault: Option<u64>,
) -> Built {
    let n = counts.len();
    let total_shares: usize = counts.iter().sum();
    let mut offsets = Vec::with_capacity(n + 1);
    offsets.push(0u32);
    for k in counts {
        offsets.push(offsets.last().copied().unwrap_or(0) + *k as u32);
    }
    let mut call = L::recordBatchCall {
        modelId: MODEL,
        nonce: next_nonce(sb, sender),
        inferenceIds: (0..n).map(|_| g.b256()).collect(),
        fees: (0..n).map(|_| g.fee()).collect(),
        offsets,
        shareDatanet: (0..total_shares).map(|_| g.pick(&DATANETS)).collect(),
        shareContributor: (0..total_shares).map(|_| g.contributor()).collect(),
        shareScore: (0..total_shares).map(|_| g.score()).collect(),
    };
    let exact: U256 = call.fees.iter().map(|f| U256::from(*f)).sum();
    match fault {
        Some(faults::UNKNOWN_MODEL) => call.modelId = g.any_id(),
        Some(faults::UNKNOWN_DATANET) if total_shares > 0 => {
            let i = g.below(total_shares as u64) as usize;
            call.shareDatanet[i] = g.any_id();
        }
        Some(faults::ZERO_CONTRIBUTOR) if total_shares > 0 => {
            let i = g.below(total_shares as u64) as usize;
            call.shareContributor[i] = Address::ZERO;
        }
        Some(faults::DUPLICATE_ID) if n > 1 => {
            let (i, j) = (g.below(n as u64) as usize, g.below(n as u64) as usize);
            call.inferenceIds[i] = call.inferenceIds[j];
        }
        Some(faults::BAD_NONCE) => {
            call.nonce = match g.below(4) {
                0 => 0,
                1 => call.nonce.wrapping_sub(1),
                2 => u64::MAX,
                _ => g.next(),
            }
        }
        Some(faults::BAD_OFFSETS) => {
            let i = g.below(n as u64 + 1) as usize;
            call.offsets[i] = match g.below(3) {
                0 => call.offsets[i].wrapping_add(1),
                1 => call.offsets[i].wrapping_sub(1),
                _ => g.next() as u32,
            };
        }
        Some(faults::RANDOM_OFFSETS) => {
            let len = g.below(n as u64 + 3) as usize;
            let cap = total_shares as u64 + 2;
            call.offsets = (0..len).map(|_| g.below(cap) as u32).collect();
        }
        Some(faults::LENGTHS) => match g.below(5) {
            0 => {
                call.fees.pop();
            }
            1 => call.fees.push(1),
            2 => {
                call.shareScore.pop();
            }
            3 => call.shareContributor.push(g.contributor()),
            _ => call.shareDatanet.push(DATANETS[0]),
        },
        Some(faults::ZERO_FEE) if n > 0 => {
            let i = g.below(n as u64) as usize;
            call.fees[i] = 0;
        }
        Some(faults::HUGE_FEE) if n > 0 => {
            let i = g.below(n as u64) as usize;
            call.fees[i] = u128::MAX - g.below(3) as u128;
        }
        _ => {}
    }
    // The value matches the fees as generated; faults on the fees make it a mismatch too.
    Built {
        data: call.abi_encode(),
        exact,
    }
}

/// Number of kinds [`build_valid`] knows.
const VALID_CALLS: u8 = 15;

/// A valid encoding of one of the ledger's calls, with fields from `seed`.
fn build_valid(call: u8, size: usize, seed: u64, sb: &Sandbox, sender: Address) -> Built {
    let mut g = Gen(SplitMix64(seed));
    let data = |c: Vec<u8>| Built {
        data: c,
        exact: U256::ZERO,
    };
    match call {
        0 => data(
            L::registerModelCall {
                modelId: if g.pct(70) { g.b256() } else { g.any_id() },
                owner: g.account(),
                payout: g.account(),
                tokenizerId: g.next() as u32,
            }
            .abi_encode(),
        ),
        1 => data(
            L::registerDatanetCall {
                datanetId: if g.pct(70) { g.b256() } else { g.any_id() },
                owner: if g.pct(60) {
                    g.pick(&SENDERS)
                } else {
                    g.account()
                },
            }
            .abi_encode(),
        ),
        2 => {
            let id = if g.pct(80) {
                g.pick(&DATANETS)
            } else {
                g.any_id()
            };
            let current = datanet_version(sb, id);
            let version = match g.below(6) {
                0 => 0,
                1 => current,
                2 => u64::MAX,
                3 => g.next(),
                _ => current.saturating_add(1 + g.below(3)),
            };
            data(
                L::updateDatanetCall {
                    datanetId: id,
                    version,
                    contributionRoot: g.b256(),
                    fingerprintRoot: g.b256(),
                }
                .abi_encode(),
            )
        }
        3 => {
            let bps = g.bps();
            data(
                L::setFeeConfigCall {
                    protocolBps: bps[0],
                    modelBps: bps[1],
                    stakerBps: bps[2],
                    contributorBps: bps[3],
                    treasury: g.account(),
                    stakerPool: g.account(),
                }
                .abi_encode(),
            )
        }
        4 => data(
            L::setRoleCall {
                account: g.account(),
                role: if g.pct(80) {
                    g.below(5) as u8
                } else {
                    g.next() as u8
                },
            }
            .abi_encode(),
        ),
        5 => {
            let fault = g.pct(40).then(|| g.below(4));
            let mut shares: Vec<L::Share> = (0..size)
                .map(|_| L::Share {
                    datanetId: g.pick(&DATANETS),
                    contributor: g.contributor(),
                    score: g.score(),
                })
                .collect();
            let mut id = g.b256();
            let mut model = MODEL;
            match fault {
                Some(0) => model = g.any_id(),
                Some(1) if size > 0 => {
                    let i = g.below(size as u64) as usize;
                    shares[i].datanetId = g.any_id();
                }
                Some(2) if size > 0 => {
                    let i = g.below(size as u64) as usize;
                    shares[i].contributor = Address::ZERO;
                }
                Some(_) => id = SETUP_INFERENCE,
                None => {}
            }
            Built {
                data: L::recordInferenceCall {
                    inferenceId: id,
                    modelId: model,
                    outputHash: g.b256(),
                    shares,
                }
                .abi_encode(),
                exact: U256::from(g.fee()),
            }
        }
        6 => {
            let counts: Vec<usize> = (0..size)
                .map(|_| if g.pct(1) { 65 } else { g.below(5) as usize })
                .collect();
            // A nonce fault is rarely the first problem found: give it three chances in twelve.
            let fault = g.pct(50).then(|| match g.below(faults::COUNT + 2) {
                f if f >= faults::COUNT => faults::BAD_NONCE,
                f => f,
            });
            batch_call(&mut g, sb, sender, &counts, fault)
        }
        7 => data(L::claimCall { to: g.account() }.abi_encode()),
        8 => data(
            L::claimableCall {
                account: g.account(),
            }
            .abi_encode(),
        ),
        9 => data(
            L::getInferenceCall {
                inferenceId: g.any_id(),
            }
            .abi_encode(),
        ),
        10 => data(
            L::getDatanetCall {
                datanetId: g.any_id(),
            }
            .abi_encode(),
        ),
        11 => data(
            L::getModelCall {
                modelId: g.any_id(),
            }
            .abi_encode(),
        ),
        12 => data(L::feeConfigCall {}.abi_encode()),
        13 => data(
            L::roleOfCall {
                account: g.account(),
            }
            .abi_encode(),
        ),
        _ => data(
            L::batchNonceCall {
                attestor: g.account(),
            }
            .abi_encode(),
        ),
    }
}

/// Number of kinds [`build_big`] knows.
const BIG_KINDS: u8 = 6;

/// Large batches at and over the caps:
/// 0. 2,049 inferences without shares (over the inference cap);
/// 1. 16,448 shares (over the share cap);
/// 2. 65 inferences of 64 positive shares to 4,160 distinct contributors (over the recipient
///    cap, found only after the split);
/// 3. 22,016 shares: calldata over 2 MiB;
/// 4. 2,048 inferences without shares (at the inference cap);
/// 5. 16,384 shares over 100 contributors (at the share cap).
fn build_big(kind: u8, seed: u64, sb: &Sandbox, sender: Address) -> Built {
    let mut g = Gen(SplitMix64(seed));
    let (n, per, distinct) = match kind {
        0 => (2_049, 0, false),
        1 => (257, 64, false),
        2 => (65, 64, true),
        3 => (344, 64, false),
        4 => (2_048, 0, false),
        _ => (256, 64, false),
    };
    let total = n * per;
    let mut offsets = vec![0u32];
    for i in 1..=n {
        offsets.push((i * per) as u32);
    }
    let fees: Vec<u128> = (0..n).map(|_| 1 + u128::from(g.below(1 << 40))).collect();
    let exact = fees.iter().map(|f| U256::from(*f)).sum();
    let call = L::recordBatchCall {
        modelId: MODEL,
        nonce: next_nonce(sb, sender),
        inferenceIds: (0..n).map(|_| g.b256()).collect(),
        fees,
        offsets,
        shareDatanet: (0..total).map(|i| DATANETS[i % 3]).collect(),
        shareContributor: (0..total)
            .map(|i| {
                if distinct {
                    contributor(10_000 + i as u64)
                } else {
                    contributor(1 + g.below(100))
                }
            })
            .collect(),
        shareScore: (0..total).map(|_| 1 + g.below(1 << 50) as i128).collect(),
    };
    Built {
        data: call.abi_encode(),
        exact,
    }
}

/// What a step is checked against: the ledger's storage, balances and claimable balances.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    storage: BTreeMap<U256, U256>,
    ledger_balance: U256,
    sender_balance: U256,
    claimable: BTreeMap<Address, U256>,
}

/// The sandbox plus what the properties need to remember across steps.
#[derive(Clone)]
struct World {
    sb: Sandbox,
    /// Every account that ever appeared in a successful call, the known ones and the pools.
    tracked: BTreeSet<Address>,
    /// Amount claimed to the ledger's own address (it stays there, owed to nobody).
    stuck: U256,
}

impl World {
    fn snapshot(&self, sender: Address) -> Snapshot {
        let storage = self
            .sb
            .db
            .cache
            .accounts
            .get(&LEDGER_ADDRESS)
            .map(|acc| {
                acc.storage
                    .iter()
                    .filter(|(_, v)| !v.is_zero())
                    .map(|(k, v)| (*k, *v))
                    .collect()
            })
            .unwrap_or_default();
        Snapshot {
            storage,
            ledger_balance: self.sb.balance(LEDGER_ADDRESS),
            sender_balance: self.sb.balance(sender),
            claimable: self
                .tracked
                .iter()
                .map(|a| (*a, self.sb.storage(LEDGER_ADDRESS, claimable_slot(*a))))
                .collect(),
        }
    }

    /// Adds every account a successful call names.
    fn track(&mut self, data: &[u8]) {
        let Ok(call) = Call::abi_decode(data) else {
            return;
        };
        match call {
            Call::registerModel(c) => self.tracked.extend([c.owner, c.payout]),
            Call::registerDatanet(c) => self.tracked.extend([c.owner]),
            Call::setFeeConfig(c) => self.tracked.extend([c.treasury, c.stakerPool]),
            Call::setRole(c) => self.tracked.extend([c.account]),
            Call::recordInference(c) => self.tracked.extend(c.shares.iter().map(|s| s.contributor)),
            Call::recordBatch(c) => self.tracked.extend(c.shareContributor),
            Call::claim(c) => self.tracked.extend([c.to]),
            _ => {}
        }
    }

    fn send(
        &mut self,
        from: Address,
        data: Vec<u8>,
        value: U256,
        gas: u64,
    ) -> ExecutionResult<OpHaltReason> {
        let r = self
            .sb
            .exec(
                from,
                TxKind::Call(LEDGER_ADDRESS),
                Bytes::from(data.clone()),
                value,
                gas,
            )
            .expect("valid transaction");
        assert!(r.is_success(), "setup call failed: {r:?}");
        self.track(&data);
        r
    }

    fn sum_claimable(&self) -> U256 {
        self.tracked
            .iter()
            .map(|a| self.sb.storage(LEDGER_ADDRESS, claimable_slot(*a)))
            .fold(U256::ZERO, |acc, v| acc.saturating_add(v))
    }
}

/// The sandbox every case starts from: roles, a model, three datanets, one recorded inference
/// and one batch, so that many accounts (roled ones included) have something to claim.
fn setup() -> World {
    let genesis = LedgerGenesis {
        fee_config: FeeConfig {
            bps: BPS,
            treasury: TREASURY,
            staker_pool: STAKERS,
        },
        roles: vec![
            (ADMIN, Role::Admin),
            (ATTESTOR, Role::Attestor),
            (ATTESTOR2, Role::Attestor),
            (REGISTRAR, Role::Registrar),
        ],
    };
    let mut sb = Sandbox::new(CHAIN_ID, &genesis);
    for a in SENDERS {
        sb.fund(a, funding());
    }
    let mut w = World {
        sb,
        tracked: known_accounts().into_iter().collect(),
        stuck: U256::ZERO,
    };
    let gas = 10_000_000;
    w.send(
        REGISTRAR,
        L::registerModelCall {
            modelId: MODEL,
            owner: REGISTRAR,
            payout: PAYOUT,
            tokenizerId: 7,
        }
        .abi_encode(),
        U256::ZERO,
        gas,
    );
    for (d, owner) in DATANETS.iter().zip([REGISTRAR, REGISTRAR, OUTSIDER]) {
        w.send(
            REGISTRAR,
            L::registerDatanetCall {
                datanetId: *d,
                owner,
            }
            .abi_encode(),
            U256::ZERO,
            gas,
        );
    }
    let share = |d: usize, contributor: Address, score: i128| L::Share {
        datanetId: DATANETS[d],
        contributor,
        score,
    };
    w.send(
        ATTESTOR,
        L::recordInferenceCall {
            inferenceId: SETUP_INFERENCE,
            modelId: MODEL,
            outputHash: B256::repeat_byte(0x99),
            shares: vec![
                share(0, contributor(1), 3 * 10i128.pow(18)),
                share(1, contributor(2), 10i128.pow(18)),
                share(2, OUTSIDER, 2 * 10i128.pow(18)),
                share(0, REGISTRAR, 10i128.pow(17)),
                share(1, ADMIN, 10i128.pow(17)),
                share(1, ATTESTOR, -5),
            ],
        }
        .abi_encode(),
        U256::from(1_000_000_003u64),
        gas,
    );
    let counts = [3usize, 0, 5, 2];
    let mut g = Gen(SplitMix64(0x5e7));
    let built = batch_call(&mut g, &w.sb, ATTESTOR2, &counts, None);
    w.send(ATTESTOR2, built.data, built.exact, gas);
    assert_eq!(
        w.sum_claimable(),
        w.sb.balance(LEDGER_ADDRESS),
        "setup credits every wei"
    );
    w
}

static BASE: LazyLock<World> = LazyLock::new(setup);

/// Outcomes seen, so the tests can check that the generators reach every entry point and error.
#[derive(Debug, Default)]
struct Stats {
    /// Successes by function selector.
    succeeded: BTreeMap<[u8; 4], u32>,
    /// Reverts by the selector of the error they carry.
    reverted: BTreeMap<[u8; 4], u32>,
    /// Out-of-gas halts.
    halted: u32,
}

impl Stats {
    fn record(&mut self, selector: Option<[u8; 4]>, result: &ExecutionResult<OpHaltReason>) {
        match result {
            ExecutionResult::Success { .. } => {
                if let Some(s) = selector {
                    *self.succeeded.entry(s).or_default() += 1;
                }
            }
            ExecutionResult::Revert { output, .. } => {
                if let Some(e) = selector_of(output) {
                    *self.reverted.entry(e).or_default() += 1;
                }
            }
            ExecutionResult::Halt { .. } => self.halted += 1,
        }
    }

    fn print(&self, name: &str) {
        let fname = |s: &[u8; 4]| {
            L::IAttributionLedgerCalls::SELECTORS
                .iter()
                .position(|x| x == s)
                .map(|i| {
                    Call::SIGNATURES[i]
                        .split('(')
                        .next()
                        .unwrap_or_default()
                        .to_string()
                })
                .unwrap_or_else(|| format!("{s:02x?}"))
        };
        let ename = |s: &[u8; 4]| {
            L::IAttributionLedgerErrors::SELECTORS
                .iter()
                .position(|x| x == s)
                .map(|i| L::IAttributionLedgerErrors::SIGNATURES[i].to_string())
                .unwrap_or_else(|| format!("{s:02x?}"))
        };
        let ok: Vec<String> = self
            .succeeded
            .iter()
            .map(|(s, n)| format!("{} {n}", fname(s)))
            .collect();
        let err: Vec<String> = self
            .reverted
            .iter()
            .map(|(s, n)| format!("{} {n}", ename(s)))
            .collect();
        eprintln!(
            "{name}: succeeded {ok:?}; reverted {err:?}; halted {}",
            self.halted
        );
    }
}

/// Runs one step against the ledger and checks every property.
fn run_step(w: &mut World, step: &Step, stats: &mut Stats) -> Result<(), TestCaseError> {
    let mut sender = match step.sender {
        Who::Index(i) => SENDERS[i % SENDERS.len()],
        Who::Natural(alt) => match &step.input {
            Input::Valid { call, .. } => natural_sender(*call, alt),
            _ => SENDERS[usize::from(alt)],
        },
    };
    let mut value_choice = step.value;
    let mut gas_extra = step.gas_extra;
    let built = match &step.input {
        Input::Random(bytes) => Built {
            data: bytes.clone(),
            exact: U256::ZERO,
        },
        Input::SelectorThen {
            selector,
            words,
            tail,
        } => {
            let mut d = selector.get(Call::SELECTORS).to_vec();
            words.iter().for_each(|w| d.extend_from_slice(w));
            d.extend_from_slice(tail);
            Built {
                data: d,
                exact: U256::ZERO,
            }
        }
        Input::Valid {
            call,
            size,
            seed,
            mutate,
        } => {
            let mut b = build_valid(*call, *size, *seed, &w.sb, sender);
            if *call == 2 && matches!(step.sender, Who::Natural(_)) {
                sender = datanet_owner(&w.sb, &b.data);
            }
            if let Some((at, v, flip)) = mutate {
                let words = b.data.len().saturating_sub(4) / 32;
                if words > 0 {
                    let i = 4 + 32 * at.index(words);
                    if *flip {
                        b.data[i] ^= 0x80;
                    } else {
                        b.data[i..i + 32].fill(0);
                        b.data[i + 24..i + 32].copy_from_slice(&v.to_be_bytes());
                    }
                }
            }
            b
        }
        Input::Big { kind, aimed, seed } => {
            if *aimed {
                sender = ATTESTOR;
                value_choice = Value::Exact;
                gas_extra = 400_000_000;
            }
            build_big(*kind, *seed, &w.sb, sender)
        }
    };
    let selector = selector_of(&built.data);
    let value = match value_choice {
        Value::Zero => U256::ZERO,
        Value::Exact if is_payable(selector) => built.exact,
        Value::Exact => U256::ZERO,
        Value::Small(v) => U256::from(v),
        Value::Any(v) => U256::from(v),
        Value::Huge(k) => (U256::from(1u8) << 128) + U256::from(k),
    };
    let gas = intrinsic(&built.data) + gas_extra;
    let before = w.snapshot(sender);
    let result = w.sb.exec(
        sender,
        TxKind::Call(LEDGER_ADDRESS),
        Bytes::from(built.data.clone()),
        value,
        gas,
    );
    let result = match result {
        Ok(r) => r,
        Err(e) => return Err(TestCaseError::fail(format!("invalid transaction: {e}"))),
    };
    prop_assert!(result.tx_gas_used() <= gas, "{result:?} over {gas}");
    prop_assert!(
        result.gas().total_gas_spent() <= gas,
        "{result:?} over {gas}"
    );
    if result.is_halt() {
        prop_assert_eq!(result.tx_gas_used(), gas, "a halt uses all gas");
    }
    let after = w.snapshot(sender);
    stats.record(selector, &result);
    if !result.is_success() {
        prop_assert!(result.logs().is_empty());
        prop_assert_eq!(&before, &after, "a failed call changed state: {:?}", result);
    } else {
        prop_assert!(
            value.is_zero() || is_payable(selector),
            "value accepted by a non-payable call"
        );
        prop_assert!(result.logs().iter().all(|l| l.address == LEDGER_ADDRESS));
        let (mut paid, mut received) = (U256::ZERO, U256::ZERO);
        if selector == Some(L::claimCall::SELECTOR) {
            let to = L::claimCall::abi_decode(&built.data)
                .expect("a successful claim decodes")
                .to;
            let amount = L::claimCall::abi_decode_returns(result.output().expect("output"))
                .expect("claim returns an amount");
            prop_assert_eq!(before.claimable.get(&sender).copied(), Some(amount));
            if to == LEDGER_ADDRESS {
                w.stuck += amount;
            } else {
                paid = amount;
            }
            if to == sender {
                received = amount;
            }
        }
        prop_assert_eq!(
            after.sender_balance,
            before.sender_balance - value + received,
            "sender balance"
        );
        prop_assert_eq!(
            after.ledger_balance,
            before.ledger_balance + value - paid,
            "ledger balance after {:?}",
            result
        );
        if is_view(selector) {
            prop_assert!(result.logs().is_empty());
            prop_assert_eq!(&before.storage, &after.storage, "a view wrote storage");
        }
        w.track(&built.data);
    }
    let owed = w.sum_claimable();
    let balance = w.sb.balance(LEDGER_ADDRESS);
    prop_assert!(owed <= balance, "insolvent: owes {owed}, holds {balance}");
    prop_assert_eq!(owed + w.stuck, balance, "unaccounted ledger funds");
    Ok(())
}

fn word() -> impl Strategy<Value = [u8; 32]> {
    prop_oneof![
        any::<[u8; 32]>(),
        (0u64..700).prop_map(|v| {
            let mut w = [0u8; 32];
            w[24..].copy_from_slice(&v.to_be_bytes());
            w
        }),
        Just([0xff; 32]),
    ]
}

fn gas_extra() -> impl Strategy<Value = u64> {
    prop_oneof![
        1 => 1u64..3_000,
        1 => 3_000u64..80_000,
        2 => 80_000u64..3_000_000,
        4 => Just(PLENTY),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => Just(Value::Zero),
        8 => Just(Value::Exact),
        1 => (1u64..1_000_000).prop_map(Value::Small),
        1 => any::<u128>().prop_map(Value::Any),
        1 => any::<u8>().prop_map(Value::Huge),
    ]
}

/// Call kinds for [`build_valid`], weighted towards the state-changing ones.
fn valid_call() -> impl Strategy<Value = u8> {
    prop_oneof![
        5 => Just(5u8),
        5 => Just(6u8),
        3 => Just(7u8),
        6 => 0u8..5,
        3 => 8u8..VALID_CALLS,
    ]
}

fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        6 => 0usize..=4,
        3 => 5usize..=64,
        1 => 65usize..=70,
    ]
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        2 => prop::collection::vec(any::<u8>(), 0..300).prop_map(Input::Random),
        3 => (
            any::<Index>(),
            prop::collection::vec(word(), 0..24),
            prop::collection::vec(any::<u8>(), 0..32),
        )
            .prop_map(|(selector, words, tail)| Input::SelectorThen {
                selector,
                words,
                tail,
            }),
        12 => (
            valid_call(),
            size(),
            any::<u64>(),
            prop::option::weighted(0.1, (any::<Index>(), 0u64..1_000, any::<bool>())),
        )
            .prop_map(|(call, size, seed, mutate)| Input::Valid {
                call,
                size,
                seed,
                mutate,
            }),
        1 => (0..BIG_KINDS, any::<bool>(), any::<u64>())
            .prop_map(|(kind, aimed, seed)| Input::Big { kind, aimed, seed }),
    ]
}

/// A sender: half the time the one the call needs, else any.
fn sender() -> impl Strategy<Value = Who> {
    prop_oneof![
        any::<bool>().prop_map(Who::Natural),
        (0..SENDERS.len()).prop_map(Who::Index),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    (input(), sender(), value(), gas_extra()).prop_map(|(input, sender, value, gas_extra)| Step {
        input,
        sender,
        value,
        gas_extra,
    })
}

/// Gas, value and success checks for a call to a pure precompile through the EVM.
fn check_pure(
    sb: &mut Sandbox,
    target: Address,
    data: Vec<u8>,
    value: U256,
    gas_extra: u64,
) -> Result<(), TestCaseError> {
    let from = OUTSIDER;
    let gas = intrinsic(&data) + gas_extra;
    let (sender_before, target_before) = (sb.balance(from), sb.balance(target));
    let result = sb.exec(
        from,
        TxKind::Call(target),
        Bytes::from(data.clone()),
        value,
        gas,
    );
    let result = match result {
        Ok(r) => r,
        Err(e) => return Err(TestCaseError::fail(format!("invalid transaction: {e}"))),
    };
    prop_assert!(result.tx_gas_used() <= gas, "{result:?} over {gas}");
    prop_assert!(result.gas().total_gas_spent() <= gas);
    if result.is_halt() {
        prop_assert_eq!(result.tx_gas_used(), gas);
    }
    prop_assert!(result.logs().is_empty());
    if !value.is_zero() {
        prop_assert!(
            matches!(result, ExecutionResult::Revert { .. }),
            "value not refused: {:?}",
            result
        );
    }
    prop_assert_eq!(sb.balance(from), sender_before);
    prop_assert_eq!(sb.balance(target), target_before);
    if let ExecutionResult::Success { output, .. } = &result {
        let out = output.data();
        let decodes = match selector_of(&data) {
            Some(IFeeSplit::splitCall::SELECTOR) if target == FEE_SPLIT_ADDRESS => {
                IFeeSplit::splitCall::abi_decode_returns_validate(out).is_ok()
            }
            Some(IMerkleMultiProof::verifyCall::SELECTOR) if target == MERKLE_ADDRESS => {
                IMerkleMultiProof::verifyCall::abi_decode_returns_validate(out).is_ok()
            }
            Some(IMerkleMultiProof::verifyContributionsCall::SELECTOR)
                if target == MERKLE_ADDRESS =>
            {
                IMerkleMultiProof::verifyContributionsCall::abi_decode_returns_validate(out).is_ok()
            }
            Some(ISpanMatch::verifySpansCall::SELECTOR) if target == SPAN_MATCH_ADDRESS => {
                ISpanMatch::verifySpansCall::abi_decode_returns_validate(out).is_ok()
            }
            _ => false,
        };
        prop_assert!(decodes, "success without a decodable answer: {:?}", result);
    }
    Ok(())
}

const PURE_SELECTORS: [[u8; 4]; 4] = [
    IFeeSplit::splitCall::SELECTOR,
    IMerkleMultiProof::verifyCall::SELECTOR,
    IMerkleMultiProof::verifyContributionsCall::SELECTOR,
    ISpanMatch::verifySpansCall::SELECTOR,
];

/// A valid encoding of a pure precompile's call with random fields from `seed`.
fn pure_valid(kind: u8, size: usize, seed: u64) -> Vec<u8> {
    let mut g = Gen(SplitMix64(seed));
    match kind {
        0 => IFeeSplit::splitCall {
            fee: U256::from(g.fee()),
            bps: g.bps(),
            scores: (0..size).map(|_| g.score()).collect(),
            minShareBps: if g.pct(50) { 0 } else { g.next() as u16 },
        }
        .abi_encode(),
        1 => IMerkleMultiProof::verifyCall {
            root: g.b256(),
            leaves: (0..size).map(|_| g.b256()).collect(),
            proof: (0..g.below(8)).map(|_| g.b256()).collect(),
            proofFlags: (0..g.below(size as u64 + 8)).map(|_| g.pct(50)).collect(),
        }
        .abi_encode(),
        2 => IMerkleMultiProof::verifyContributionsCall {
            root: g.b256(),
            items: (0..size)
                .map(|_| IMerkleMultiProof::Contribution {
                    datanetId: g.b256(),
                    version: g.next(),
                    index: g.next(),
                    contributor: g.account(),
                    contentHash: g.b256(),
                    validationScore: g.next() as u32,
                })
                .collect(),
            proof: (0..g.below(8)).map(|_| g.b256()).collect(),
            proofFlags: (0..g.below(size as u64 + 8)).map(|_| g.pct(50)).collect(),
        }
        .abi_encode(),
        _ => {
            let tokens = g.below(200) as usize;
            ISpanMatch::verifySpansCall {
                outputTokens: (0..tokens).map(|_| g.below(50_000) as u32).collect(),
                n: g.below(40) as u8,
                tokenizerId: g.next() as u32,
                fingerprintRoot: g.b256(),
                claims: (0..size)
                    .map(|_| ISpanMatch::Claim {
                        pos: g.below(tokens as u64 + 4) as u32,
                        contributionIndex: g.next(),
                    })
                    .collect(),
                proof: (0..g.below(8)).map(|_| g.b256()).collect(),
                proofFlags: (0..g.below(size as u64 + 8)).map(|_| g.pct(50)).collect(),
            }
            .abi_encode()
        }
    }
}

fn pure_input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..400),
        (
            any::<Index>(),
            prop::collection::vec(word(), 0..24),
            prop::collection::vec(any::<u8>(), 0..32),
        )
            .prop_map(|(sel, words, tail)| {
                let mut d = sel.get(&PURE_SELECTORS).to_vec();
                words.iter().for_each(|w| d.extend_from_slice(w));
                d.extend(tail);
                d
            }),
        (0u8..4, 0usize..24, any::<u64>()).prop_map(|(k, n, s)| pure_valid(k, n, s)),
    ]
}

static PURE_BASE: LazyLock<Sandbox> = LazyLock::new(|| {
    let mut sb = Sandbox::new(CHAIN_ID, &LedgerGenesis::default());
    sb.fund(OUTSIDER, funding());
    sb
});

/// Cases per property: 256, or `PROPTEST_CASES`.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

/// Runs [`cases`] sequences of steps from the setup state through proptest (with shrinking) and
/// returns what they did.
fn run_sequences(strategy: impl Strategy<Value = Vec<Step>>) -> Stats {
    let stats = RefCell::new(Stats::default());
    let mut runner = TestRunner::new(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(cases())
    });
    let result = runner.run(&strategy, |steps| {
        let mut w = BASE.clone();
        for s in &steps {
            run_step(&mut w, s, &mut stats.borrow_mut())?;
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    stats.into_inner()
}

/// Arbitrary calldata, selectors with junk, valid calls with random fields and the occasional
/// large batch: sequences of one to three steps from the setup state.
#[test]
fn ledger_survives_arbitrary_calls() {
    let stats = run_sequences(prop::collection::vec(step(), 1..=3));
    stats.print("arbitrary calls");
    assert!(stats.halted > 0 && !stats.succeeded.is_empty());
    assert!(stats.reverted.contains_key(&L::BadInput::SELECTOR));
}

/// Valid calls only (faults still injected), in sequences of four to eight, so that later steps
/// see state earlier ones created. Every entry point succeeds at least once and every error a
/// direct call can cause is seen.
#[test]
fn ledger_sequences_of_valid_calls() {
    let stats = run_sequences(prop::collection::vec(
        (
            valid_call(),
            size(),
            any::<u64>(),
            sender(),
            value(),
            gas_extra(),
        )
            .prop_map(|(call, size, seed, sender, value, gas_extra)| Step {
                input: Input::Valid {
                    call,
                    size,
                    seed,
                    mutate: None,
                },
                sender,
                value,
                gas_extra,
            }),
        4..=8,
    ));
    stats.print("valid sequences");
    for (i, s) in Call::SELECTORS.iter().enumerate() {
        assert!(
            stats.succeeded.contains_key(s),
            "{} never succeeded",
            Call::SIGNATURES[i]
        );
    }
    for (i, e) in L::IAttributionLedgerErrors::SELECTORS.iter().enumerate() {
        // A transaction calls the ledger directly, never by DELEGATECALL or STATICCALL.
        if [
            L::DelegateCallNotAllowed::SELECTOR,
            L::StaticCallWrite::SELECTOR,
        ]
        .contains(e)
        {
            continue;
        }
        assert!(
            stats.reverted.contains_key(e),
            "{} never seen",
            L::IAttributionLedgerErrors::SIGNATURES[i]
        );
    }
    assert!(stats.halted > 0);
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(cases())
    })]

    /// The pure precompiles through the EVM: valid transaction, gas bounded, no logs, value
    /// refused and returned.
    #[test]
    fn pure_precompiles_survive_arbitrary_calls(
        target in 0usize..3,
        data in pure_input(),
        value in prop_oneof![2 => Just(0u128), 1 => 1u128..10u128.pow(24)],
        gas_extra in gas_extra(),
    ) {
        let target = [FEE_SPLIT_ADDRESS, MERKLE_ADDRESS, SPAN_MATCH_ADDRESS][target];
        let mut sb = PURE_BASE.clone();
        check_pure(&mut sb, target, data, U256::from(value), gas_extra)?;
    }
}

/// Every large call at and over the caps, aimed (attestor, exact value, next nonce, enough gas):
/// the at-cap batches succeed, the over-cap ones revert, and all properties hold.
#[test]
fn big_batches_at_and_over_the_caps() {
    for kind in 0..BIG_KINDS {
        let mut w = BASE.clone();
        let step = Step {
            input: Input::Big {
                kind,
                aimed: true,
                seed: u64::from(kind),
            },
            sender: Who::Index(1),
            value: Value::Exact,
            gas_extra: 0,
        };
        let balance = w.sb.balance(LEDGER_ADDRESS);
        run_step(&mut w, &step, &mut Stats::default())
            .unwrap_or_else(|e| panic!("kind {kind}: {e}"));
        let grew = w.sb.balance(LEDGER_ADDRESS) > balance;
        assert_eq!(grew, kind >= 4, "kind {kind}: success only at the caps");
    }
}
