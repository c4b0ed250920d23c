//! The `attribution_` namespace: the node's attribution index and the ledger's state, read from
//! one snapshot of the store, so every answer is consistent with the block it names.
//!
//! Every answer carries `blockNumber`, `blockHash` and `finality` (`unsafe`, `safe` or
//! `finalized`) of the snapshot it was read at. Quantities are hex strings as `eth_` renders them.
//! Unknown inferences, models and datanets give `null`; malformed parameters give `-32602`.

use std::{collections::BTreeMap, sync::Arc};

use alloy::{
    eips::{BlockId, BlockNumberOrTag},
    primitives::{Address, B256, U64, U256, keccak256},
};
use jsonrpsee::{
    PendingSubscriptionSink, RpcModule, SubscriptionSink,
    core::{RpcResult, SubscriptionResult, to_json_raw_value},
    proc_macros::rpc,
    types::ErrorObjectOwned,
};
use opal_attribution::{
    LEDGER_ADDRESS,
    index::{
        BatchRow, CreditRow, Cursor, InferenceRow, TxRef,
        query::{self, Attribution, CreditFilter, GroupBy, GroupKey, MAX_PAGE},
    },
    layout::{
        BatchRecord, DatanetRecord, InferenceRecord, ModelRecord, Ns, address_key, field, slot,
    },
    span,
};
use opal_storage::{Head, StateReader, StoreError};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use tracing::debug;

use crate::{
    NewBlock, RpcContext, RpcError,
    error::{internal, invalid_params, server_error},
    pubsub::MAX_CATCH_UP,
    subs::Subscriptions,
};

/// Credits per page when the filter names no limit.
pub const DEFAULT_PAGE: u64 = 100;
/// Credits `getInference` lists with the inference.
pub const MAX_INFERENCE_CREDITS: usize = 1_000;
/// Most top contributors `getDatanet` returns.
pub const MAX_TOP: u64 = 100;
/// Most proof hashes `verifySpans` accepts.
pub const MAX_SPAN_PROOF: usize = 8_192;

/// `attribution_` methods.
#[rpc(server, namespace = "attribution")]
pub trait AttributionApi {
    /// An inference by id: its record, position and credits; `null` if not indexed.
    #[method(name = "getInference")]
    fn get_inference(&self, inference_id: B256) -> RpcResult<Option<Value>>;
    /// Credits in chain order, filtered and paged: `{items, nextCursor}`.
    #[method(name = "getShares")]
    fn get_shares(&self, filter: Option<SharesFilter>) -> RpcResult<Value>;
    /// What an account was credited and claimed, and can claim now, optionally grouped.
    #[method(name = "getEarnings")]
    fn get_earnings(&self, account: Address, options: Option<EarningsOptions>) -> RpcResult<Value>;
    /// A model: the ledger record and the index's statistics; `null` if unknown.
    #[method(name = "getModel")]
    fn get_model(&self, model_id: B256) -> RpcResult<Option<Value>>;
    /// A datanet: the ledger record, statistics and top contributors; `null` if unknown.
    #[method(name = "getDatanet")]
    fn get_datanet(
        &self,
        datanet_id: B256,
        options: Option<DatanetOptions>,
    ) -> RpcResult<Option<Value>>;
    /// An `eth_getProof`-shaped proof of an inference's ledger record, with the block's state root
    /// and output root; `null` if the ledger holds no record for it.
    #[method(name = "getRecordProof")]
    fn get_record_proof(
        &self,
        inference_id: B256,
        block: Option<BlockId>,
    ) -> RpcResult<Option<Value>>;
    /// Runs the SpanMatch check without a transaction.
    #[method(name = "verifySpans")]
    fn verify_spans(&self, params: VerifySpansParams) -> RpcResult<Value>;
    /// `attributions`: every `InferenceAttributed` / `BatchAttributed` as blocks commit
    /// (optional filter `{modelId, attestor}`); notifications arrive as
    /// `attribution_subscription`.
    #[subscription(
        name = "subscribe" => "subscription",
        unsubscribe = "unsubscribe",
        item = Value
    )]
    async fn subscribe(&self, kind: String, filter: Option<Value>) -> SubscriptionResult;
}

/// A `u64` given as a JSON number or a hex quantity string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Num(pub u64);

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) => Ok(Num(n)),
            Raw::S(s) => {
                let hex = s.strip_prefix("0x").ok_or_else(|| {
                    serde::de::Error::custom(format!("`{s}` is not a number or 0x quantity"))
                })?;
                u64::from_str_radix(hex, 16)
                    .map(Num)
                    .map_err(|e| serde::de::Error::custom(format!("`{s}`: {e}")))
            }
        }
    }
}

/// `getShares` filter.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SharesFilter {
    /// Credited account (contributor, or a pool's recipient).
    pub contributor: Option<Address>,
    /// Datanet.
    pub datanet_id: Option<B256>,
    /// Model.
    pub model_id: Option<B256>,
    /// First block (default: earliest).
    pub from_block: Option<BlockNumberOrTag>,
    /// Last block (default: latest).
    pub to_block: Option<BlockNumberOrTag>,
    /// A previous page's `nextCursor`.
    pub cursor: Option<String>,
    /// Page size, 1 to 1,000 (default 100).
    pub limit: Option<Num>,
}

/// How `getEarnings` groups.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupByParam {
    /// By datanet.
    Datanet,
    /// By model.
    Model,
    /// By UTC day.
    Day,
}

/// `getEarnings` options.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EarningsOptions {
    /// Group the credits.
    pub group_by: Option<GroupByParam>,
}

/// `getDatanet` options.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DatanetOptions {
    /// How many top contributors (default 10, at most 100).
    pub top: Option<Num>,
}

/// A span claim: `output[pos .. pos + n)` matches an n-gram of contribution
/// `contributionIndex`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClaimParam {
    /// Start in the output.
    pub pos: Num,
    /// The contribution.
    pub contribution_index: Num,
}

/// `verifySpans` parameters (the SpanMatch precompile's inputs). The root is either given or
/// read from a datanet's ledger record; the tokenizer id is either given or read from a model's.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifySpansParams {
    /// The output's tokens.
    pub output_tokens: Vec<u32>,
    /// N-gram length (4–32).
    pub n: Num,
    /// Tokenizer id.
    pub tokenizer_id: Option<Num>,
    /// Read the tokenizer id from this model.
    pub model_id: Option<B256>,
    /// The fingerprint root to check against.
    pub fingerprint_root: Option<B256>,
    /// Read the fingerprint root from this datanet's latest version.
    pub datanet_id: Option<B256>,
    /// The claims.
    pub claims: Vec<ClaimParam>,
    /// Multiproof hashes.
    #[serde(default)]
    pub proof: Vec<B256>,
    /// Multiproof flags.
    #[serde(default)]
    pub proof_flags: Vec<bool>,
}

/// The block an answer was read at.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
struct Snapshot {
    block_number: U64,
    block_hash: B256,
    finality: &'static str,
}

impl Snapshot {
    fn add_to(self, v: &mut Value) {
        if let Value::Object(m) = v {
            m.insert("blockNumber".into(), json!(self.block_number));
            m.insert("blockHash".into(), json!(self.block_hash));
            m.insert("finality".into(), json!(self.finality));
        }
    }
}

fn store_err(e: StoreError) -> ErrorObjectOwned {
    match e {
        StoreError::Index(msg) => server_error(msg),
        other => internal(other),
    }
}

/// `unsafe`, `safe` or `finalized`, as the snapshot's head pointers place block `n`.
fn finality(reader: &StateReader, n: u64) -> Result<&'static str, StoreError> {
    if reader.head_of(Head::Finalized)?.is_some_and(|f| n <= f) {
        Ok("finalized")
    } else if reader.head_of(Head::Safe)?.is_some_and(|s| n <= s) {
        Ok("safe")
    } else {
        Ok("unsafe")
    }
}

/// The snapshot's head, and what answers say about it.
fn snapshot(reader: &StateReader) -> RpcResult<(u64, Snapshot)> {
    let head = reader
        .head()
        .map_err(internal)?
        .ok_or_else(|| server_error("chain not initialised"))?;
    let hash = reader
        .block_hash(head)
        .map_err(internal)?
        .ok_or_else(|| server_error("head block missing"))?;
    Ok((
        head,
        Snapshot {
            block_number: U64::from(head),
            block_hash: hash,
            finality: finality(reader, head).map_err(internal)?,
        },
    ))
}

fn ledger_words(reader: &StateReader, ns: Ns, key: B256) -> Result<[U256; 3], StoreError> {
    let mut w = [U256::ZERO; 3];
    for (i, v) in w.iter_mut().enumerate() {
        *v = reader.storage(LEDGER_ADDRESS, field(ns, key, i as u64))?;
    }
    Ok(w)
}

/// Where a row sits in the chain, as answers render it.
fn position(
    reader: &StateReader,
    hashes: &mut BTreeMap<u64, Option<B256>>,
    at: Cursor,
    tx: &TxRef,
) -> Result<Value, StoreError> {
    let hash = match hashes.get(&at.block) {
        Some(h) => *h,
        None => {
            let h = reader.block_hash(at.block)?;
            hashes.insert(at.block, h);
            h
        }
    };
    Ok(json!({
        "blockNumber": U64::from(at.block),
        "blockHash": hash,
        "transactionHash": tx.hash,
        "transactionIndex": U64::from(tx.index),
        "logIndex": U64::from(at.log),
        "timestamp": U64::from(tx.timestamp),
    }))
}

fn credit_json(
    reader: &StateReader,
    hashes: &mut BTreeMap<u64, Option<B256>>,
    at: Cursor,
    c: &CreditRow,
) -> Result<Value, StoreError> {
    let mut v = json!({
        "cursor": at.to_hex(),
        "kind": c.kind.as_str(),
        "contributor": c.recipient,
        "amount": c.amount,
        "inferenceId": c.inference,
        "batchHash": c.batch,
        "modelId": c.model,
        "datanetId": c.datanet,
    });
    if let (Value::Object(m), Value::Object(p)) = (&mut v, position(reader, hashes, at, &c.tx)?) {
        m.extend(p);
    }
    Ok(v)
}

fn inference_json(
    reader: &StateReader,
    hashes: &mut BTreeMap<u64, Option<B256>>,
    id: B256,
    at: Cursor,
    row: &InferenceRow,
) -> Result<Value, StoreError> {
    let mut pos = position(reader, hashes, at, &row.tx)?;
    if let Value::Object(m) = &mut pos {
        m.insert("finality".into(), json!(finality(reader, at.block)?));
    }
    Ok(json!({
        "inferenceId": id,
        "modelId": row.model,
        "attestor": row.attestor,
        "fee": row.fee,
        "recordHash": row.record_hash,
        "batchHash": row.batch,
        "shares": U64::from(row.shares),
        "recordedAt": pos,
    }))
}

fn batch_json(
    reader: &StateReader,
    hashes: &mut BTreeMap<u64, Option<B256>>,
    hash: B256,
    row: &BatchRow,
) -> Result<Value, StoreError> {
    let mut pos = position(reader, hashes, row.cursor, &row.tx)?;
    if let Value::Object(m) = &mut pos {
        m.insert(
            "finality".into(),
            json!(finality(reader, row.cursor.block)?),
        );
    }
    Ok(json!({
        "batchHash": hash,
        "modelId": row.model,
        "attestor": row.attestor,
        "totalFee": row.total_fee,
        "inferences": U64::from(row.inferences),
        "recipients": U64::from(row.recipients),
        "sharesDerived": row.derived,
        "recordedAt": pos,
    }))
}

fn block_of(at: Option<u64>) -> Value {
    at.map_or(Value::Null, |n| json!(U64::from(n)))
}

/// The `attribution_` implementation.
pub struct AttributionRpc {
    ctx: Arc<RpcContext>,
    subs: Arc<Subscriptions>,
}

impl AttributionRpc {
    /// Over a context.
    pub fn new(ctx: Arc<RpcContext>) -> Self {
        Self {
            ctx,
            subs: Subscriptions::new(),
        }
    }

    /// The module, with `attribution_unsubscribe` served from this server's own subscription
    /// table.
    pub fn into_module(self) -> Result<RpcModule<()>, RpcError> {
        let subs = self.subs.clone();
        subs.module(self.into_rpc(), "attribution_unsubscribe")
    }

    fn latest(&self) -> RpcResult<StateReader> {
        self.ctx.store.latest().map_err(internal)
    }

    /// Resolves a block tag against the snapshot.
    fn resolve(reader: &StateReader, head: u64, tag: BlockNumberOrTag) -> RpcResult<u64> {
        Ok(match tag {
            BlockNumberOrTag::Latest | BlockNumberOrTag::Pending => head,
            BlockNumberOrTag::Earliest => 0,
            BlockNumberOrTag::Safe => reader.head_of(Head::Safe).map_err(internal)?.unwrap_or(0),
            BlockNumberOrTag::Finalized => reader
                .head_of(Head::Finalized)
                .map_err(internal)?
                .unwrap_or(0),
            BlockNumberOrTag::Number(n) => n,
        })
    }
}

#[jsonrpsee::core::async_trait]
impl AttributionApiServer for AttributionRpc {
    fn get_inference(&self, inference_id: B256) -> RpcResult<Option<Value>> {
        let reader = self.latest()?;
        let (_, snap) = snapshot(&reader)?;
        let records = query::inference(reader.txn(), inference_id).map_err(store_err)?;
        let Some((at, row)) = records.first() else {
            return Ok(None);
        };
        let mut hashes = BTreeMap::new();
        let mut v =
            inference_json(&reader, &mut hashes, inference_id, *at, row).map_err(internal)?;
        let credits: Vec<Value> =
            query::inference_credits(reader.txn(), inference_id, MAX_INFERENCE_CREDITS)
                .map_err(store_err)?
                .iter()
                .filter(|(_, c)| c.tx.hash == row.tx.hash)
                .map(|(c, row)| credit_json(&reader, &mut hashes, *c, row))
                .collect::<Result<_, _>>()
                .map_err(internal)?;
        let others: Vec<Value> = records[1..]
            .iter()
            .map(|(c, r)| inference_json(&reader, &mut hashes, inference_id, *c, r))
            .collect::<Result<_, _>>()
            .map_err(internal)?;
        if let Value::Object(m) = &mut v {
            m.insert("credits".into(), Value::Array(credits));
            m.insert("laterRecords".into(), Value::Array(others));
        }
        snap.add_to(&mut v);
        Ok(Some(v))
    }

    fn get_shares(&self, filter: Option<SharesFilter>) -> RpcResult<Value> {
        let f = filter.unwrap_or_default();
        let limit = f.limit.map_or(DEFAULT_PAGE, |l| l.0);
        if limit == 0 || limit > MAX_PAGE as u64 {
            return Err(invalid_params(format!(
                "limit {limit} is out of range: give 1 to {MAX_PAGE} and page with nextCursor"
            )));
        }
        let cursor = match &f.cursor {
            Some(s) => Some(Cursor::from_hex(s).ok_or_else(|| {
                invalid_params(format!(
                    "invalid cursor {s:?}: pass a nextCursor from a previous page"
                ))
            })?),
            None => None,
        };
        let reader = self.latest()?;
        let (head, snap) = snapshot(&reader)?;
        let from = Self::resolve(
            &reader,
            head,
            f.from_block.unwrap_or(BlockNumberOrTag::Earliest),
        )?;
        let to = Self::resolve(
            &reader,
            head,
            f.to_block.unwrap_or(BlockNumberOrTag::Latest),
        )?
        .min(head);
        if f.from_block.is_some() && f.to_block.is_some() && from > to {
            return Err(invalid_params(format!(
                "fromBlock {from} is after toBlock {to}"
            )));
        }
        let page = query::credits(
            reader.txn(),
            &CreditFilter {
                contributor: f.contributor,
                datanet: f.datanet_id,
                model: f.model_id,
                from_block: from,
                to_block: to,
                cursor,
                limit: limit as usize,
            },
        )
        .map_err(store_err)?;
        let mut hashes = BTreeMap::new();
        let items: Vec<Value> = page
            .items
            .iter()
            .map(|(c, row)| credit_json(&reader, &mut hashes, *c, row))
            .collect::<Result<_, _>>()
            .map_err(internal)?;
        let mut v = json!({
            "items": items,
            "nextCursor": page.next.map(Cursor::to_hex),
            "fromBlock": U64::from(from),
            "toBlock": U64::from(to),
        });
        snap.add_to(&mut v);
        Ok(v)
    }

    fn get_earnings(&self, account: Address, options: Option<EarningsOptions>) -> RpcResult<Value> {
        let group_by = options.and_then(|o| o.group_by);
        let reader = self.latest()?;
        let (_, snap) = snapshot(&reader)?;
        let totals = query::account(reader.txn(), account).map_err(store_err)?;
        let claimable = reader
            .storage(
                LEDGER_ADDRESS,
                field(Ns::Claimable, address_key(account), 0),
            )
            .map_err(internal)?;
        let mut v = json!({
            "account": account,
            "credited": totals.credited.amount,
            "credits": U64::from(totals.credited.count),
            "claimed": totals.claimed.amount,
            "claims": U64::from(totals.claimed.count),
            "claimable": claimable,
        });
        if let Some(g) = group_by {
            let (by, name) = match g {
                GroupByParam::Datanet => (GroupBy::Datanet, "datanet"),
                GroupByParam::Model => (GroupBy::Model, "model"),
                GroupByParam::Day => (GroupBy::Day, "day"),
            };
            let groups: Vec<Value> = query::account_groups(reader.txn(), account, by)
                .map_err(store_err)?
                .into_iter()
                .map(|(key, t)| {
                    let mut g = json!({
                        "credited": t.amount,
                        "credits": U64::from(t.count),
                    });
                    if let Value::Object(m) = &mut g {
                        match key {
                            GroupKey::Datanet(d) => m.insert("datanetId".into(), json!(d)),
                            GroupKey::Model(id) => m.insert("modelId".into(), json!(id)),
                            GroupKey::Day(d) => m.insert("day".into(), json!(query::day_string(d))),
                        };
                    }
                    g
                })
                .collect();
            if let Value::Object(m) = &mut v {
                m.insert("groupBy".into(), json!(name));
                m.insert("groups".into(), Value::Array(groups));
            }
        }
        snap.add_to(&mut v);
        Ok(v)
    }

    fn get_model(&self, model_id: B256) -> RpcResult<Option<Value>> {
        let reader = self.latest()?;
        let (_, snap) = snapshot(&reader)?;
        let record =
            ModelRecord::from_words(ledger_words(&reader, Ns::Model, model_id).map_err(internal)?);
        let stats = query::model(reader.txn(), model_id).map_err(store_err)?;
        if !record.exists() && stats.is_none() {
            return Ok(None);
        }
        let s = stats.unwrap_or_default();
        let registered_at = match s.registered_block {
            Some(n) => json!({
                "blockNumber": U64::from(n),
                "blockHash": reader.block_hash(n).map_err(internal)?,
            }),
            None => Value::Null,
        };
        let mut v = json!({
            "modelId": model_id,
            "registered": record.exists(),
            "owner": record.owner,
            "payout": record.payout,
            "tokenizerId": U64::from(record.tokenizer_id),
            "cumulativeFees": U256::from(record.cumulative_fees),
            "inferences": U64::from(record.inferences),
            "registeredAt": registered_at,
            "stats": {
                "inferences": U64::from(s.inferences),
                "fees": s.fees,
                "contributorCredits": s.contributor_credits.amount,
                "contributorShares": U64::from(s.contributor_credits.count),
                "modelPool": s.model_pool,
                "firstBlock": block_of(s.first_block),
                "lastBlock": block_of(s.last_block),
            },
        });
        snap.add_to(&mut v);
        Ok(Some(v))
    }

    fn get_datanet(
        &self,
        datanet_id: B256,
        options: Option<DatanetOptions>,
    ) -> RpcResult<Option<Value>> {
        let top = options.and_then(|o| o.top).map_or(10, |t| t.0);
        if top > MAX_TOP {
            return Err(invalid_params(format!(
                "top {top} is above the maximum of {MAX_TOP}"
            )));
        }
        let reader = self.latest()?;
        let (_, snap) = snapshot(&reader)?;
        let record = DatanetRecord::from_words(
            ledger_words(&reader, Ns::Datanet, datanet_id).map_err(internal)?,
        );
        let stats = query::datanet(reader.txn(), datanet_id).map_err(store_err)?;
        if !record.exists() && stats.is_none() {
            return Ok(None);
        }
        let s = stats.unwrap_or_default();
        let at = |n: Option<u64>| -> RpcResult<Value> {
            Ok(match n {
                Some(n) => json!({
                    "blockNumber": U64::from(n),
                    "blockHash": reader.block_hash(n).map_err(internal)?,
                }),
                None => Value::Null,
            })
        };
        let top_contributors: Vec<Value> =
            query::top_contributors(reader.txn(), datanet_id, top as usize)
                .map_err(store_err)?
                .into_iter()
                .map(|(a, t)| {
                    json!({
                        "contributor": a,
                        "credited": t.amount,
                        "shares": U64::from(t.count),
                    })
                })
                .collect();
        let mut v = json!({
            "datanetId": datanet_id,
            "registered": record.exists(),
            "owner": record.owner,
            "version": U64::from(record.version),
            "contributionRoot": record.contribution_root,
            "fingerprintRoot": record.fingerprint_root,
            "registeredAt": at(s.registered_block)?,
            "updatedAt": at(s.updated_block)?,
            "stats": {
                "credited": s.credits.amount,
                "shares": U64::from(s.credits.count),
                "contributors": U64::from(s.contributors),
                "inferences": U64::from(s.inferences),
                "versionsPublished": U64::from(s.updates),
            },
            "topContributors": top_contributors,
        });
        snap.add_to(&mut v);
        Ok(Some(v))
    }

    fn get_record_proof(
        &self,
        inference_id: B256,
        block: Option<BlockId>,
    ) -> RpcResult<Option<Value>> {
        let reader = self.latest()?;
        let (head, snap) = snapshot(&reader)?;
        let n = match block.unwrap_or(BlockId::Number(BlockNumberOrTag::Latest)) {
            BlockId::Number(tag) => Self::resolve(&reader, head, tag)?,
            BlockId::Hash(h) => reader
                .block_number(h.block_hash)
                .map_err(internal)?
                .ok_or_else(|| server_error(format!("block {} not found", h.block_hash)))?,
        };
        if n != head {
            return Err(invalid_params(format!(
                "record proofs are served at the latest block ({head}) only, not {n}; \
                 a record never changes once written, so the latest proof covers it"
            )));
        }
        // A `recordInference` record, or else the record of the batch that carried the id.
        let words = ledger_words(&reader, Ns::Inference, inference_id).map_err(internal)?;
        let inference = InferenceRecord::from_words(words);
        let (kind, key, ns, record) = if inference.exists() {
            let record = json!({
                "recordHash": inference.record_hash,
                "modelId": inference.model_id,
                "blockNumber": U64::from(inference.block_number),
                "fee": U256::from(inference.fee),
                "nShares": U64::from(inference.n_shares),
            });
            ("inference", inference_id, Ns::Inference, record)
        } else {
            let batch = query::inference(reader.txn(), inference_id)
                .map_err(store_err)?
                .into_iter()
                .find_map(|(_, r)| r.batch);
            let Some(batch) = batch else {
                return Ok(None);
            };
            let b =
                BatchRecord::from_words(ledger_words(&reader, Ns::Batch, batch).map_err(internal)?);
            if b.model_id.is_zero() {
                return Ok(None);
            }
            let record = json!({
                "batchHash": batch,
                "attestor": b.attestor,
                "inferences": U64::from(b.inferences),
                "modelId": b.model_id,
                "blockNumber": U64::from(b.block_number),
                "totalFee": U256::from(b.total_fee),
            });
            ("batch", batch, Ns::Batch, record)
        };
        let slots: Vec<B256> = (0..3).map(|i| B256::from(field(ns, key, i))).collect();
        let (proof, root) = reader.proof(LEDGER_ADDRESS, &slots).map_err(internal)?;
        let header = reader
            .header(head)
            .map_err(internal)?
            .ok_or_else(|| server_error("head header missing"))?;
        if root != header.state_root {
            return Err(internal(format!(
                "proof root {root} is not block {head}'s state root {}",
                header.state_root
            )));
        }
        // Isthmus headers carry the message passer's storage root; earlier ones do not.
        let withdrawals_root = match header.withdrawals_root {
            Some(r) => r,
            None => reader
                .account(opal_primitives::addresses::L2_TO_L1_MESSAGE_PASSER)
                .map_err(internal)?
                .map_or(alloy::consensus::EMPTY_ROOT_HASH, |a| a.storage_root),
        };
        let version = B256::ZERO;
        let mut pre = Vec::with_capacity(128);
        for w in [
            version,
            header.state_root,
            withdrawals_root,
            snap.block_hash,
        ] {
            pre.extend_from_slice(w.as_slice());
        }
        let output_root = keccak256(&pre);
        let mut v = serde_json::to_value(&proof).map_err(internal)?;
        if let Value::Object(m) = &mut v {
            m.insert("inferenceId".into(), json!(inference_id));
            m.insert("recordKind".into(), json!(kind));
            m.insert("recordSlot".into(), json!(B256::from(slot(ns, key))));
            m.insert("record".into(), record);
            m.insert("stateRoot".into(), json!(header.state_root));
            m.insert(
                "outputRoot".into(),
                json!({
                    "version": version,
                    "stateRoot": header.state_root,
                    "withdrawalStorageRoot": withdrawals_root,
                    "blockHash": snap.block_hash,
                    "outputRoot": output_root,
                }),
            );
        }
        snap.add_to(&mut v);
        Ok(Some(v))
    }

    fn verify_spans(&self, p: VerifySpansParams) -> RpcResult<Value> {
        if p.proof.len() > MAX_SPAN_PROOF || p.proof_flags.len() > MAX_SPAN_PROOF + span::MAX_CLAIMS
        {
            return Err(invalid_params(format!(
                "proof of {} hashes is above the maximum of {MAX_SPAN_PROOF}",
                p.proof.len()
            )));
        }
        let n = u8::try_from(p.n.0)
            .map_err(|_| invalid_params(format!("n-gram length {} outside 4..=32", p.n.0)))?;
        let claims: Vec<span::Claim> = p
            .claims
            .iter()
            .map(|c| {
                u32::try_from(c.pos.0)
                    .map(|pos| (pos, c.contribution_index.0))
                    .map_err(|_| invalid_params(format!("claim position {} too large", c.pos.0)))
            })
            .collect::<RpcResult<_>>()?;
        let reader = self.latest()?;
        let (_, snap) = snapshot(&reader)?;
        let root = match (p.fingerprint_root, p.datanet_id) {
            (Some(r), None) => r,
            (None, Some(d)) => {
                let record = DatanetRecord::from_words(
                    ledger_words(&reader, Ns::Datanet, d).map_err(internal)?,
                );
                if !record.exists() {
                    return Err(invalid_params(format!("unknown datanet {d}")));
                }
                if record.fingerprint_root.is_zero() {
                    return Err(invalid_params(format!(
                        "datanet {d} has published no fingerprint root yet"
                    )));
                }
                record.fingerprint_root
            }
            _ => {
                return Err(invalid_params(
                    "give exactly one of fingerprintRoot and datanetId",
                ));
            }
        };
        let tokenizer_id = match (p.tokenizer_id, p.model_id) {
            (Some(t), None) => u32::try_from(t.0)
                .map_err(|_| invalid_params(format!("tokenizerId {} too large", t.0)))?,
            (None, Some(m)) => {
                let record =
                    ModelRecord::from_words(ledger_words(&reader, Ns::Model, m).map_err(internal)?);
                if !record.exists() {
                    return Err(invalid_params(format!("unknown model {m}")));
                }
                record.tokenizer_id
            }
            _ => {
                return Err(invalid_params(
                    "give exactly one of tokenizerId and modelId",
                ));
            }
        };
        let r = span::verify_spans(
            &p.output_tokens,
            n,
            tokenizer_id,
            root,
            &claims,
            &p.proof,
            &p.proof_flags,
        )
        .map_err(|e| invalid_params(e.to_string()))?;
        let mut v = json!({
            "ok": r.ok,
            "coveredTokens": U64::from(r.covered_tokens),
            "longestRun": U64::from(r.longest_run),
            "tokensPerClaim": r.tokens_per_claim.iter().map(|t| U64::from(*t)).collect::<Vec<_>>(),
            "fingerprintRoot": root,
            "tokenizerId": U64::from(tokenizer_id),
            "n": U64::from(n),
        });
        snap.add_to(&mut v);
        Ok(v)
    }

    async fn subscribe(
        &self,
        pending: PendingSubscriptionSink,
        kind: String,
        filter: Option<Value>,
    ) -> SubscriptionResult {
        if kind != "attributions" {
            pending
                .reject(invalid_params(format!(
                    "unsupported subscription type {kind:?}; expected attributions"
                )))
                .await;
            return Ok(());
        }
        let filter = match filter.filter(|f| !f.is_null()).map(serde_json::from_value) {
            None => AttributionFilter::default(),
            Some(Ok(f)) => f,
            Some(Err(e)) => {
                pending
                    .reject(invalid_params(format!("invalid attributions filter: {e}")))
                    .await;
                return Ok(());
            }
        };
        // Subscribe before reading the head so no block falls between the two.
        let mut rx = self.ctx.new_blocks.subscribe();
        let mut next = match self.ctx.store.latest().and_then(|r| r.head()) {
            Ok(h) => h.map_or(0, |h| h + 1),
            Err(e) => {
                pending.reject(internal(e)).await;
                return Ok(());
            }
        };
        let registered = self.subs.register(&pending);
        let sink = pending.accept().await?;
        let ctx = self.ctx.clone();
        let out = sink.clone();
        registered.run(sink, async move {
            loop {
                let block = match rx.recv().await {
                    Ok(block) => block,
                    Err(RecvError::Lagged(n)) => {
                        debug!(skipped = n, "attribution subscription lagged");
                        continue;
                    }
                    Err(RecvError::Closed) => break,
                };
                match send_attributions(&ctx, &out, &filter, &mut next, block).await {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "attribution subscription stopped");
                        break;
                    }
                }
            }
        });
        Ok(())
    }
}

/// What an `attributions` subscription reports.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AttributionFilter {
    model_id: Option<B256>,
    attestor: Option<Address>,
}

/// Sends the attributions of blocks `*next..=block.number` and moves the cursor; `Ok(false)`
/// when the client is gone.
async fn send_attributions(
    ctx: &RpcContext,
    sink: &SubscriptionSink,
    filter: &AttributionFilter,
    next: &mut u64,
    block: NewBlock,
) -> Result<bool, StoreError> {
    // After an unwind the announced block may be at or below the cursor: report it again.
    let from = (*next)
        .min(block.number)
        .max(block.number.saturating_sub(MAX_CATCH_UP - 1));
    *next = block.number + 1;
    let items = {
        let reader = ctx.store.latest()?;
        let mut hashes = BTreeMap::new();
        let mut items = vec![];
        for n in from..=block.number {
            let Some(hash) = reader.block_hash(n)? else {
                continue;
            };
            let fin = finality(&reader, n)?;
            for (log, a) in query::block_attributions(reader.txn(), n)? {
                let (model, attestor) = match &a {
                    Attribution::Inference { row, .. } => (row.model, row.attestor),
                    Attribution::Batch { row, .. } => (row.model, row.attestor),
                };
                if filter.model_id.is_some_and(|m| m != model)
                    || filter.attestor.is_some_and(|x| x != attestor)
                {
                    continue;
                }
                let mut v = match &a {
                    Attribution::Inference { id, row } => {
                        let at = Cursor {
                            block: n,
                            log,
                            sub: 0,
                        };
                        let mut v = inference_json(&reader, &mut hashes, *id, at, row)?;
                        if let Value::Object(m) = &mut v {
                            m.insert("type".into(), json!("inference"));
                        }
                        v
                    }
                    Attribution::Batch { hash, row } => {
                        let mut v = batch_json(&reader, &mut hashes, *hash, row)?;
                        if let Value::Object(m) = &mut v {
                            m.insert("type".into(), json!("batch"));
                        }
                        v
                    }
                };
                Snapshot {
                    block_number: U64::from(n),
                    block_hash: hash,
                    finality: fin,
                }
                .add_to(&mut v);
                items.push(v);
            }
        }
        items
    };
    for item in items {
        match to_json_raw_value(&item) {
            Ok(raw) => {
                if sink.send(raw).await.is_err() {
                    return Ok(false);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot serialise attribution notification");
                return Ok(false);
            }
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use alloy::consensus::Header;
    use opal_storage::{BlockRecord, StateChanges, Store};

    use super::*;

    #[test]
    fn finality_follows_the_snapshot_heads() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut parent = B256::ZERO;
        for n in 0..4 {
            parent = store
                .commit_block(n, &StateChanges::default(), |r| {
                    Ok(BlockRecord::empty(Header {
                        number: n,
                        parent_hash: parent,
                        state_root: r.state_root,
                        ..Default::default()
                    }))
                })
                .unwrap()
                .hash;
        }
        let r = store.latest().unwrap();
        assert_eq!(finality(&r, 0).unwrap(), "unsafe");
        drop(r);
        store.set_head(Head::Safe, 2).unwrap();
        store.set_head(Head::Finalized, 1).unwrap();
        let r = store.latest().unwrap();
        let got: Vec<_> = (0..4).map(|n| finality(&r, n).unwrap()).collect();
        assert_eq!(got, ["finalized", "finalized", "safe", "unsafe"]);
        let (head, snap) = snapshot(&r).unwrap();
        assert_eq!(
            (head, snap.block_hash, snap.finality),
            (3, parent, "unsafe")
        );
        let mut v = json!({});
        snap.add_to(&mut v);
        assert_eq!(
            v,
            json!({"blockNumber": "0x3", "blockHash": parent, "finality": "unsafe"})
        );
        // Without the index registered, index reads say so.
        let err = query::account(r.txn(), Address::ZERO).unwrap_err();
        let e = store_err(err);
        assert!(e.message().contains("not enabled"), "{e:?}");
    }

    #[test]
    fn parameters_parse_numbers_and_refuse_typos() {
        let n: Num = serde_json::from_value(json!(12)).unwrap();
        let h: Num = serde_json::from_value(json!("0xc")).unwrap();
        assert_eq!((n, h), (Num(12), Num(12)));
        assert!(serde_json::from_value::<Num>(json!("12")).is_err());
        assert!(serde_json::from_value::<Num>(json!(-1)).is_err());
        let f: SharesFilter = serde_json::from_value(json!({
            "contributor": Address::ZERO, "fromBlock": "earliest", "toBlock": "0x10", "limit": "0x5"
        }))
        .unwrap();
        assert_eq!(f.to_block, Some(BlockNumberOrTag::Number(16)));
        assert_eq!(f.limit, Some(Num(5)));
        assert!(serde_json::from_value::<SharesFilter>(json!({"contributors": []})).is_err());
        assert!(serde_json::from_value::<EarningsOptions>(json!({"groupBy": "week"})).is_err());
        let g: EarningsOptions = serde_json::from_value(json!({"groupBy": "day"})).unwrap();
        assert!(matches!(g.group_by, Some(GroupByParam::Day)));
    }
}
