//! The records the index keeps, with their fixed-width encodings.

use alloy_primitives::{Address, B256, U256};
use opal_storage::StoreError;

use super::kv::{Dec, Enc, Tbl};
use crate::layout::FeeConfig;

/// A stable position in the chain: block, log index in the block, and a sub-index for the rows
/// one log yields (a batch's per-share credits, an inference's pool credits). Cursors order
/// credits as the chain does, and new blocks only add cursors after every existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Cursor {
    /// Block number.
    pub block: u64,
    /// Log index in the block.
    pub log: u32,
    /// Row of that log.
    pub sub: u32,
}

impl Cursor {
    /// The first cursor of block `block`.
    pub fn block_start(block: u64) -> Self {
        Self {
            block,
            log: 0,
            sub: 0,
        }
    }

    /// The last cursor of block `block`.
    pub fn block_end(block: u64) -> Self {
        Self {
            block,
            log: u32::MAX,
            sub: u32::MAX,
        }
    }

    /// 16 big-endian bytes.
    pub fn to_bytes(self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.block.to_be_bytes());
        b[8..12].copy_from_slice(&self.log.to_be_bytes());
        b[12..].copy_from_slice(&self.sub.to_be_bytes());
        b
    }

    /// Inverse of [`Self::to_bytes`].
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        let b: &[u8; 16] = b.try_into().ok()?;
        Some(Self {
            block: u64::from_be_bytes(b[..8].try_into().ok()?),
            log: u32::from_be_bytes(b[8..12].try_into().ok()?),
            sub: u32::from_be_bytes(b[12..].try_into().ok()?),
        })
    }

    /// The opaque string clients page with: `0x` and 32 hex digits.
    pub fn to_hex(self) -> String {
        format!("0x{}", alloy_primitives::hex::encode(self.to_bytes()))
    }

    /// Parses [`Self::to_hex`].
    pub fn from_hex(s: &str) -> Option<Self> {
        let raw = alloy_primitives::hex::decode(s.strip_prefix("0x")?).ok()?;
        Self::from_bytes(&raw)
    }
}

/// What a credit pays for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum CreditKind {
    /// A contributor's share of the contributor pool.
    Contributor = 0,
    /// The model pool, paid to the model's payout address.
    Model = 1,
    /// The staker pool.
    Staker = 2,
    /// The protocol pool, paid to the treasury.
    Protocol = 3,
    /// The contributor pool of an inference no positive score claimed, paid to the treasury.
    Unassigned = 4,
    /// A batch's aggregated credit of one recipient, when its shares could not be re-derived.
    BatchAggregate = 5,
}

impl CreditKind {
    /// The name the RPC renders.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Contributor => "contributor",
            Self::Model => "model",
            Self::Staker => "staker",
            Self::Protocol => "protocol",
            Self::Unassigned => "unassigned",
            Self::BatchAggregate => "batchAggregate",
        }
    }

    fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => Self::Contributor,
            1 => Self::Model,
            2 => Self::Staker,
            3 => Self::Protocol,
            4 => Self::Unassigned,
            5 => Self::BatchAggregate,
            _ => return None,
        })
    }
}

/// Where in a block a row came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TxRef {
    /// Transaction index.
    pub index: u32,
    /// Transaction hash.
    pub hash: B256,
    /// Block timestamp.
    pub timestamp: u64,
}

/// Length of an encoded [`CreditRow`].
pub(crate) const CREDIT_LEN: usize = 1 + 20 + 32 + 33 + 33 + 32 + 33 + 4 + 32 + 8;

/// One credit to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditRow {
    /// What it pays for.
    pub kind: CreditKind,
    /// Who is credited.
    pub recipient: Address,
    /// Amount in wei.
    pub amount: U256,
    /// The inference (unknown for a batch aggregate).
    pub inference: Option<B256>,
    /// The batch, for credits recorded by `recordBatch`.
    pub batch: Option<B256>,
    /// The model.
    pub model: B256,
    /// The datanet (contributor credits only).
    pub datanet: Option<B256>,
    /// The transaction.
    pub tx: TxRef,
}

impl CreditRow {
    /// Appends the encoding to `out`.
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
        *out = Enc(std::mem::take(out))
            .u8(self.kind as u8)
            .addr(self.recipient)
            .u256(self.amount)
            .opt_b256(self.inference)
            .opt_b256(self.batch)
            .b256(self.model)
            .opt_b256(self.datanet)
            .u32(self.tx.index)
            .b256(self.tx.hash)
            .u64(self.tx.timestamp)
            .0;
    }

    pub(crate) fn decode(b: &[u8]) -> Result<Self, StoreError> {
        let mut d = Dec::new(b, Tbl::Credits);
        let kind = CreditKind::from_u8(d.u8()?)
            .ok_or_else(|| super::kv::corrupt(Tbl::Credits, "unknown credit kind"))?;
        Ok(Self {
            kind,
            recipient: d.addr()?,
            amount: d.u256()?,
            inference: d.opt_b256()?,
            batch: d.opt_b256()?,
            model: d.b256()?,
            datanet: d.opt_b256()?,
            tx: TxRef {
                index: d.u32()?,
                hash: d.b256()?,
                timestamp: d.u64()?,
            },
        })
    }
}

/// Length of an encoded [`InferenceRow`].
pub(crate) const INFERENCE_LEN: usize = 32 + 20 + 32 + 33 + 33 + 4 + 4 + 32 + 8;

/// A recorded inference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InferenceRow {
    /// The model.
    pub model: B256,
    /// The attestor that recorded it.
    pub attestor: Address,
    /// Its fee.
    pub fee: U256,
    /// `recordHash` (`recordInference` only).
    pub record_hash: Option<B256>,
    /// The batch that recorded it (`recordBatch` only).
    pub batch: Option<B256>,
    /// Contributor credits: the shares with a positive score (`ShareCredited` events, or the
    /// re-derived batch shares). Not the ledger's `nShares`, which counts every attested share.
    pub shares: u32,
    /// The transaction.
    pub tx: TxRef,
}

impl InferenceRow {
    /// Appends the encoding to `out`.
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
        *out = Enc(std::mem::take(out))
            .b256(self.model)
            .addr(self.attestor)
            .u256(self.fee)
            .opt_b256(self.record_hash)
            .opt_b256(self.batch)
            .u32(self.shares)
            .u32(self.tx.index)
            .b256(self.tx.hash)
            .u64(self.tx.timestamp)
            .0;
    }

    pub(crate) fn decode(b: &[u8]) -> Result<Self, StoreError> {
        let mut d = Dec::new(b, Tbl::Inferences);
        Ok(Self {
            model: d.b256()?,
            attestor: d.addr()?,
            fee: d.u256()?,
            record_hash: d.opt_b256()?,
            batch: d.opt_b256()?,
            shares: d.u32()?,
            tx: TxRef {
                index: d.u32()?,
                hash: d.b256()?,
                timestamp: d.u64()?,
            },
        })
    }
}

/// An amount and how many credits (or items) made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    /// Sum in wei.
    pub amount: U256,
    /// Number of credits.
    pub count: u64,
}

impl Totals {
    pub(crate) fn add(&mut self, amount: U256) {
        self.amount = self.amount.saturating_add(amount);
        self.count += 1;
    }

    /// Adds the credits counted in `other`.
    pub(crate) fn merge(&mut self, other: Totals) {
        self.amount = self.amount.saturating_add(other.amount);
        self.count += other.count;
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        Enc::default().u256(self.amount).u64(self.count).0
    }

    pub(crate) fn decode(b: &[u8], t: Tbl) -> Result<Self, StoreError> {
        let mut d = Dec::new(b, t);
        Ok(Self {
            amount: d.u256()?,
            count: d.u64()?,
        })
    }
}

/// Everything credited to and claimed by one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AccountTotals {
    /// Credits.
    pub credited: Totals,
    /// Claims.
    pub claimed: Totals,
}

impl AccountTotals {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut v = self.credited.encode();
        v.extend(self.claimed.encode());
        v
    }

    pub(crate) fn decode(b: &[u8]) -> Result<Self, StoreError> {
        if b.len() != 80 {
            return Err(super::kv::corrupt(Tbl::Accounts, "not 80 bytes"));
        }
        Ok(Self {
            credited: Totals::decode(&b[..40], Tbl::Accounts)?,
            claimed: Totals::decode(&b[40..], Tbl::Accounts)?,
        })
    }
}

/// A model as the index saw it: registration (if seen) and statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ModelRow {
    /// Owner, from `ModelRegistered`.
    pub owner: Option<Address>,
    /// Payout address (from `ModelRegistered`, or the ledger state for models registered in
    /// genesis).
    pub payout: Address,
    /// Tokenizer id.
    pub tokenizer_id: u32,
    /// Block of `ModelRegistered`.
    pub registered_block: Option<u64>,
    /// Inferences recorded.
    pub inferences: u64,
    /// Sum of their fees.
    pub fees: U256,
    /// Credited to contributors.
    pub contributor_credits: Totals,
    /// Credited to the model's payout.
    pub model_pool: U256,
    /// First block with an inference.
    pub first_block: Option<u64>,
    /// Last block with an inference.
    pub last_block: Option<u64>,
}

impl ModelRow {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut e = Enc::default()
            .opt_addr(self.owner)
            .addr(self.payout)
            .u32(self.tokenizer_id)
            .opt_u64(self.registered_block)
            .u64(self.inferences)
            .u256(self.fees);
        e = e.bytes(&self.contributor_credits.encode());
        e.u256(self.model_pool)
            .opt_u64(self.first_block)
            .opt_u64(self.last_block)
            .0
    }

    pub(crate) fn decode(b: &[u8]) -> Result<Self, StoreError> {
        let mut d = Dec::new(b, Tbl::Models);
        Ok(Self {
            owner: d.opt_addr()?,
            payout: d.addr()?,
            tokenizer_id: d.u32()?,
            registered_block: d.opt_u64()?,
            inferences: d.u64()?,
            fees: d.u256()?,
            contributor_credits: Totals {
                amount: d.u256()?,
                count: d.u64()?,
            },
            model_pool: d.u256()?,
            first_block: d.opt_u64()?,
            last_block: d.opt_u64()?,
        })
    }
}

/// A datanet as the index saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DatanetRow {
    /// Owner, from `DatanetRegistered`.
    pub owner: Option<Address>,
    /// Block of `DatanetRegistered`.
    pub registered_block: Option<u64>,
    /// Latest version from `DatanetUpdated` (0 before the first).
    pub version: u64,
    /// Its contribution root.
    pub contribution_root: B256,
    /// Its fingerprint root.
    pub fingerprint_root: B256,
    /// Block of the latest `DatanetUpdated`.
    pub updated_block: Option<u64>,
    /// Number of `DatanetUpdated` events.
    pub updates: u64,
    /// Credited to the datanet's contributors.
    pub credits: Totals,
    /// Distinct contributors credited.
    pub contributors: u64,
    /// Inferences that credited at least one of its contributors.
    pub inferences: u64,
}

impl DatanetRow {
    pub(crate) fn encode(&self) -> Vec<u8> {
        Enc::default()
            .opt_addr(self.owner)
            .opt_u64(self.registered_block)
            .u64(self.version)
            .b256(self.contribution_root)
            .b256(self.fingerprint_root)
            .opt_u64(self.updated_block)
            .u64(self.updates)
            .bytes(&self.credits.encode())
            .u64(self.contributors)
            .u64(self.inferences)
            .0
    }

    pub(crate) fn decode(b: &[u8]) -> Result<Self, StoreError> {
        let mut d = Dec::new(b, Tbl::Datanets);
        Ok(Self {
            owner: d.opt_addr()?,
            registered_block: d.opt_u64()?,
            version: d.u64()?,
            contribution_root: d.b256()?,
            fingerprint_root: d.b256()?,
            updated_block: d.opt_u64()?,
            updates: d.u64()?,
            credits: Totals {
                amount: d.u256()?,
                count: d.u64()?,
            },
            contributors: d.u64()?,
            inferences: d.u64()?,
        })
    }
}

/// A `Claimed` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimRow {
    /// Whose balance was claimed.
    pub account: Address,
    /// Where it went.
    pub to: Address,
    /// Amount.
    pub amount: U256,
    /// The transaction.
    pub tx: TxRef,
}

impl ClaimRow {
    /// Appends the encoding to `out`.
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
        *out = Enc(std::mem::take(out))
            .addr(self.account)
            .addr(self.to)
            .u256(self.amount)
            .u32(self.tx.index)
            .b256(self.tx.hash)
            .u64(self.tx.timestamp)
            .0;
    }
}

/// A recorded batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchRow {
    /// Where `BatchAttributed` was logged.
    pub cursor: Cursor,
    /// The model.
    pub model: B256,
    /// The attestor.
    pub attestor: Address,
    /// Sum of the fees.
    pub total_fee: U256,
    /// Number of inferences.
    pub inferences: u32,
    /// Distinct recipients credited (`BatchCredited` events).
    pub recipients: u32,
    /// Whether the per-share credits were re-derived from the calldata (otherwise the index
    /// holds one aggregated credit per recipient).
    pub derived: bool,
    /// The transaction.
    pub tx: TxRef,
}

impl BatchRow {
    pub(crate) fn encode(&self) -> Vec<u8> {
        Enc::default()
            .bytes(&self.cursor.to_bytes())
            .b256(self.model)
            .addr(self.attestor)
            .u256(self.total_fee)
            .u32(self.inferences)
            .u32(self.recipients)
            .u8(self.derived as u8)
            .u32(self.tx.index)
            .b256(self.tx.hash)
            .u64(self.tx.timestamp)
            .0
    }

    pub(crate) fn decode(b: &[u8]) -> Result<Self, StoreError> {
        let mut d = Dec::new(b, Tbl::Batches);
        Ok(Self {
            cursor: Cursor {
                block: d.u64()?,
                log: d.u32()?,
                sub: d.u32()?,
            },
            model: d.b256()?,
            attestor: d.addr()?,
            total_fee: d.u256()?,
            inferences: d.u32()?,
            recipients: d.u32()?,
            derived: d.u8()? == 1,
            tx: TxRef {
                index: d.u32()?,
                hash: d.b256()?,
                timestamp: d.u64()?,
            },
        })
    }
}

pub(crate) fn encode_fee_config(c: &FeeConfig) -> Vec<u8> {
    let mut e = Enc::default();
    for b in c.bps {
        e = e.bytes(&b.to_be_bytes());
    }
    e.addr(c.treasury).addr(c.staker_pool).0
}

pub(crate) fn decode_fee_config(b: &[u8]) -> Result<FeeConfig, StoreError> {
    let mut d = Dec::new(b, Tbl::Meta);
    let mut bps = [0u16; 4];
    for v in bps.iter_mut() {
        let hi = d.u8()?;
        let lo = d.u8()?;
        *v = u16::from_be_bytes([hi, lo]);
    }
    Ok(FeeConfig {
        bps,
        treasury: d.addr()?,
        staker_pool: d.addr()?,
    })
}

/// What an [`super::kv::Tbl::Events`] entry names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributionRef {
    /// `InferenceAttributed` for this inference id.
    Inference(B256),
    /// `BatchAttributed` for this batch hash.
    Batch(B256),
}

impl AttributionRef {
    /// Appends `kind ‖ id`, then for a batch the ids of the inference records it wrote (record
    /// `i` keyed `id ‖ (block, log, i) ‖ 0` in [`Tbl::Inferences`]), to `out`.
    pub(crate) fn encode_into(&self, batch_rows: &[B256], out: &mut Vec<u8>) {
        match self {
            Self::Inference(id) => {
                out.push(0);
                out.extend_from_slice(id.as_slice());
            }
            Self::Batch(h) => {
                out.push(1);
                out.extend_from_slice(h.as_slice());
                for id in batch_rows {
                    out.extend_from_slice(id.as_slice());
                }
            }
        }
    }

    pub(crate) fn decode(b: &[u8]) -> Result<Self, StoreError> {
        let mut d = Dec::new(b, Tbl::Events);
        let kind = d.u8()?;
        let id = d.b256()?;
        Ok(if kind == 0 {
            Self::Inference(id)
        } else {
            Self::Batch(id)
        })
    }

    /// The ids of the inference records the attribution wrote, record `i` keyed
    /// `id ‖ (block, log, i) ‖ 0`: its own id for `InferenceAttributed`, the listed ones for a
    /// batch.
    pub(crate) fn decode_rows(b: &[u8]) -> Result<Vec<B256>, StoreError> {
        Ok(match Self::decode(b)? {
            Self::Inference(id) => vec![id],
            Self::Batch(_) => {
                let rest = &b[33..];
                if !rest.len().is_multiple_of(32) {
                    return Err(super::kv::corrupt(Tbl::Events, "bad batch row ids"));
                }
                rest.chunks_exact(32).map(B256::from_slice).collect()
            }
        })
    }
}
