//! Reading the index from a snapshot (a redb read transaction, the same one the state and
//! blocks of the answer are read from).

use alloy_primitives::{Address, B256};
use opal_storage::StoreError;
use redb::ReadTransaction;

use super::{
    apply::{FEE, RECORD, RUN, TIP, decode_tip},
    kv::{Db, Tbl, open_read},
    rows::{
        AccountTotals, AttributionRef, BatchRow, CreditRow, Cursor, DatanetRow, InferenceRow,
        ModelRow, Totals, decode_fee_config,
    },
};
use crate::layout::FeeConfig;

/// Most credits one page returns.
pub const MAX_PAGE: usize = 1_000;
/// Most index keys one page examines when filters other than the leading one reject rows; the
/// page then ends early with a cursor to continue from.
pub const MAX_SCAN: usize = 20_000;

/// Which credits to list.
#[derive(Debug, Clone, Default)]
pub struct CreditFilter {
    /// Credited account.
    pub contributor: Option<Address>,
    /// Datanet.
    pub datanet: Option<B256>,
    /// Model.
    pub model: Option<B256>,
    /// First block (inclusive).
    pub from_block: u64,
    /// Last block (inclusive).
    pub to_block: u64,
    /// Where to resume (inclusive), from a previous page's `next`.
    pub cursor: Option<Cursor>,
    /// Page size (at most [`MAX_PAGE`]).
    pub limit: usize,
}

/// One page of credits.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// Credits in chain order.
    pub items: Vec<(Cursor, CreditRow)>,
    /// Where the next page starts, `None` when this page reached the end of the range.
    pub next: Option<Cursor>,
}

fn credit_row(
    credits: &redb::ReadOnlyTable<&'static [u8], &'static [u8]>,
    c: Cursor,
) -> Result<CreditRow, StoreError> {
    let v = credits
        .get(c.to_bytes().as_slice())
        .db()?
        .ok_or_else(|| super::kv::corrupt(Tbl::Credits, "secondary key without its credit"))?;
    CreditRow::decode(v.value())
}

/// Lists credits matching `f` in chain order, one page at a time.
pub fn credits(txn: &ReadTransaction, f: &CreditFilter) -> Result<Page, StoreError> {
    let credits = open_read(txn, Tbl::Credits)?;
    let start = f
        .cursor
        .unwrap_or_default()
        .max(Cursor::block_start(f.from_block));
    let end = Cursor::block_end(f.to_block);
    let mut page = Page::default();
    if start > end || f.limit == 0 {
        return Ok(page);
    }
    let limit = f.limit.min(MAX_PAGE);
    let mut scanned = 0usize;
    // Takes one candidate in chain order; false once the page is full (its `next` set).
    let mut take = |page: &mut Page, cursor: Cursor, row: Option<CreditRow>| {
        if page.items.len() == limit || scanned == MAX_SCAN {
            page.next = Some(cursor);
            return Ok(false);
        }
        scanned += 1;
        let row = match row {
            Some(r) => r,
            None => credit_row(&credits, cursor)?,
        };
        let keep = f.contributor.is_none_or(|a| row.recipient == a)
            && f.datanet.is_none_or(|d| row.datanet == Some(d))
            && f.model.is_none_or(|m| row.model == m);
        if keep {
            page.items.push((cursor, row));
        }
        Ok::<_, StoreError>(true)
    };
    let (table, prefix): (Tbl, Vec<u8>) = if let Some(a) = f.contributor {
        (Tbl::ByRecipient, a.to_vec())
    } else if let Some(d) = f.datanet {
        (Tbl::ByDatanet, d.to_vec())
    } else if let Some(m) = f.model {
        (Tbl::ByModel, m.to_vec())
    } else {
        for entry in credits
            .range(start.to_bytes().as_slice()..=end.to_bytes().as_slice())
            .db()?
        {
            let (k, v) = entry.db()?;
            let cursor = Cursor::from_bytes(k.value())
                .ok_or_else(|| super::kv::corrupt(Tbl::Credits, "bad cursor key"))?;
            if !take(&mut page, cursor, Some(CreditRow::decode(v.value())?))? {
                break;
            }
        }
        return Ok(page);
    };
    // Posting lists: one key per block, the block's cursors in its value.
    let lo = [prefix.as_slice(), &start.block.to_be_bytes()].concat();
    let hi = [prefix.as_slice(), &end.block.to_be_bytes()].concat();
    let index = open_read(txn, table)?;
    let bad = || super::kv::corrupt(table, "bad posting list");
    'blocks: for entry in index.range(lo.as_slice()..=hi.as_slice()).db()? {
        let (k, v) = entry.db()?;
        let block = k
            .value()
            .get(prefix.len()..)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_be_bytes)
            .ok_or_else(bad)?;
        let list = v.value();
        if !list.len().is_multiple_of(8) {
            return Err(bad());
        }
        for p in list.chunks_exact(8) {
            let cursor = Cursor {
                block,
                log: u32::from_be_bytes([p[0], p[1], p[2], p[3]]),
                sub: u32::from_be_bytes([p[4], p[5], p[6], p[7]]),
            };
            if cursor < start {
                continue;
            }
            if cursor > end || !take(&mut page, cursor, None)? {
                break 'blocks;
            }
        }
    }
    Ok(page)
}

/// The entries of `id` in [`Tbl::Inferences`] with tag `tag`, in cursor order.
fn inference_entries(
    t: &redb::ReadOnlyTable<&'static [u8], &'static [u8]>,
    id: B256,
    tag: u8,
    mut f: impl FnMut(Cursor, &[u8]) -> Result<bool, StoreError>,
) -> Result<(), StoreError> {
    let lo = [id.as_slice(), &[0u8; 17]].concat();
    let hi = [id.as_slice(), &[0xffu8; 17]].concat();
    for entry in t.range(lo.as_slice()..=hi.as_slice()).db()? {
        let (k, v) = entry.db()?;
        let k = k.value();
        if k.len() != 49 {
            return Err(super::kv::corrupt(Tbl::Inferences, "bad key"));
        }
        if k[48] != tag {
            continue;
        }
        let c = Cursor::from_bytes(&k[32..48])
            .ok_or_else(|| super::kv::corrupt(Tbl::Inferences, "bad cursor key"))?;
        if !f(c, v.value())? {
            break;
        }
    }
    Ok(())
}

/// Every record of an inference id, earliest first (`recordInference` ids are unique; a batch
/// may repeat an id the ledger has seen before).
pub fn inference(
    txn: &ReadTransaction,
    id: B256,
) -> Result<Vec<(Cursor, InferenceRow)>, StoreError> {
    let t = open_read(txn, Tbl::Inferences)?;
    let mut out = vec![];
    inference_entries(&t, id, RECORD, |c, v| {
        out.push((c, InferenceRow::decode(v)?));
        Ok(true)
    })?;
    Ok(out)
}

/// The credits an inference made (at most `max`), in chain order.
pub fn inference_credits(
    txn: &ReadTransaction,
    id: B256,
    max: usize,
) -> Result<Vec<(Cursor, CreditRow)>, StoreError> {
    let credits = open_read(txn, Tbl::Credits)?;
    let t = open_read(txn, Tbl::Inferences)?;
    let bad = || super::kv::corrupt(Tbl::Inferences, "bad credit run");
    let mut out = vec![];
    inference_entries(&t, id, RUN, |first, last| {
        let last: [u8; 16] = last.try_into().map_err(|_| bad())?;
        for row in credits
            .range(first.to_bytes().as_slice()..=last.as_slice())
            .db()?
        {
            if out.len() == max {
                return Ok(false);
            }
            let (k, v) = row.db()?;
            let c = Cursor::from_bytes(k.value()).ok_or_else(bad)?;
            let row = CreditRow::decode(v.value())?;
            if row.inference != Some(id) {
                return Err(bad());
            }
            out.push((c, row));
        }
        Ok(true)
    })?;
    Ok(out)
}

/// What an account was credited and claimed.
pub fn account(txn: &ReadTransaction, a: Address) -> Result<AccountTotals, StoreError> {
    let t = open_read(txn, Tbl::Accounts)?;
    t.get(a.as_slice())
        .db()?
        .map_or(Ok(AccountTotals::default()), |v| {
            AccountTotals::decode(v.value())
        })
}

/// How an account's credits are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// By datanet (credits without a datanet under the zero id).
    Datanet,
    /// By model.
    Model,
    /// By UTC day of the block timestamp.
    Day,
}

/// A group of an account's credits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupKey {
    /// A datanet (`None`: pool and aggregated credits).
    Datanet(Option<B256>),
    /// A model.
    Model(B256),
    /// A UTC day number.
    Day(u32),
}

/// An account's credits grouped, in key order.
pub fn account_groups(
    txn: &ReadTransaction,
    a: Address,
    by: GroupBy,
) -> Result<Vec<(GroupKey, Totals)>, StoreError> {
    let (t, width) = match by {
        GroupBy::Datanet => (Tbl::AccountDatanet, 32),
        GroupBy::Model => (Tbl::AccountModel, 32),
        GroupBy::Day => (Tbl::AccountDay, 4),
    };
    let table = open_read(txn, t)?;
    let lo = [a.as_slice(), &vec![0u8; width]].concat();
    let hi = [a.as_slice(), &vec![0xffu8; width]].concat();
    let mut out = vec![];
    for entry in table.range(lo.as_slice()..=hi.as_slice()).db()? {
        let (k, v) = entry.db()?;
        let s = &k.value()[20..];
        let key = match by {
            GroupBy::Datanet => {
                let d = B256::from_slice(s);
                GroupKey::Datanet((!d.is_zero()).then_some(d))
            }
            GroupBy::Model => GroupKey::Model(B256::from_slice(s)),
            GroupBy::Day => GroupKey::Day(u32::from_be_bytes(
                s.try_into()
                    .map_err(|_| super::kv::corrupt(t, "bad day key"))?,
            )),
        };
        out.push((key, Totals::decode(v.value(), t)?));
    }
    Ok(out)
}

/// A model as the index saw it.
pub fn model(txn: &ReadTransaction, id: B256) -> Result<Option<ModelRow>, StoreError> {
    let t = open_read(txn, Tbl::Models)?;
    t.get(id.as_slice())
        .db()?
        .map(|v| ModelRow::decode(v.value()))
        .transpose()
}

/// A datanet as the index saw it.
pub fn datanet(txn: &ReadTransaction, id: B256) -> Result<Option<DatanetRow>, StoreError> {
    let t = open_read(txn, Tbl::Datanets)?;
    t.get(id.as_slice())
        .db()?
        .map(|v| DatanetRow::decode(v.value()))
        .transpose()
}

/// The `n` contributors of a datanet credited most (ties: higher address first).
pub fn top_contributors(
    txn: &ReadTransaction,
    id: B256,
    n: usize,
) -> Result<Vec<(Address, Totals)>, StoreError> {
    let rank = open_read(txn, Tbl::DatanetRank)?;
    let totals = open_read(txn, Tbl::DatanetContributor)?;
    let lo = [id.as_slice(), &[0u8; 52]].concat();
    let hi = [id.as_slice(), &[0xffu8; 52]].concat();
    let mut out = vec![];
    for entry in rank
        .range(lo.as_slice()..=hi.as_slice())
        .db()?
        .rev()
        .take(n)
    {
        let (k, _) = entry.db()?;
        let a = Address::from_slice(&k.value()[64..]);
        let t = totals
            .get([id.as_slice(), a.as_slice()].concat().as_slice())
            .db()?
            .map(|v| Totals::decode(v.value(), Tbl::DatanetContributor))
            .transpose()?
            .unwrap_or_default();
        out.push((a, t));
    }
    Ok(out)
}

/// A batch.
pub fn batch(txn: &ReadTransaction, hash: B256) -> Result<Option<BatchRow>, StoreError> {
    let t = open_read(txn, Tbl::Batches)?;
    t.get(hash.as_slice())
        .db()?
        .map(|v| BatchRow::decode(v.value()))
        .transpose()
}

/// An attribution a block recorded.
#[derive(Debug, Clone)]
pub enum Attribution {
    /// `InferenceAttributed`.
    Inference {
        /// Inference id.
        id: B256,
        /// Its record.
        row: InferenceRow,
    },
    /// `BatchAttributed`.
    Batch {
        /// Batch hash.
        hash: B256,
        /// Its record.
        row: BatchRow,
    },
}

/// The attributions of block `n`, in log order, with their log index.
pub fn block_attributions(
    txn: &ReadTransaction,
    n: u64,
) -> Result<Vec<(u32, Attribution)>, StoreError> {
    let events = open_read(txn, Tbl::Events)?;
    let inferences = open_read(txn, Tbl::Inferences)?;
    let batches = open_read(txn, Tbl::Batches)?;
    let lo = [n.to_be_bytes().as_slice(), &[0u8; 4]].concat();
    let hi = [n.to_be_bytes().as_slice(), &[0xffu8; 4]].concat();
    let mut out = vec![];
    for entry in events.range(lo.as_slice()..=hi.as_slice()).db()? {
        let (k, v) = entry.db()?;
        let log = u32::from_be_bytes(
            k.value()[8..12]
                .try_into()
                .map_err(|_| super::kv::corrupt(Tbl::Events, "bad key"))?,
        );
        let missing = || super::kv::corrupt(Tbl::Events, "attribution without its record");
        match AttributionRef::decode(v.value())? {
            AttributionRef::Inference(id) => {
                let key = [
                    id.as_slice(),
                    &Cursor {
                        block: n,
                        log,
                        sub: 0,
                    }
                    .to_bytes(),
                    &[RECORD],
                ]
                .concat();
                let row = InferenceRow::decode(
                    inferences
                        .get(key.as_slice())
                        .db()?
                        .ok_or_else(missing)?
                        .value(),
                )?;
                out.push((log, Attribution::Inference { id, row }));
            }
            AttributionRef::Batch(hash) => {
                let row = BatchRow::decode(
                    batches
                        .get(hash.as_slice())
                        .db()?
                        .ok_or_else(missing)?
                        .value(),
                )?;
                out.push((log, Attribution::Batch { hash, row }));
            }
        }
    }
    Ok(out)
}

/// Fees attributed on a UTC day, and how many inferences they paid for.
pub fn day(txn: &ReadTransaction, day: u32) -> Result<Totals, StoreError> {
    let t = open_read(txn, Tbl::Days)?;
    t.get(day.to_be_bytes().as_slice())
        .db()?
        .map_or(Ok(Totals::default()), |v| {
            Totals::decode(v.value(), Tbl::Days)
        })
}

/// The newest block indexed in this snapshot.
pub fn tip(txn: &ReadTransaction) -> Result<Option<(u64, B256)>, StoreError> {
    let t = open_read(txn, Tbl::Meta)?;
    Ok(t.get(TIP).db()?.and_then(|v| decode_tip(v.value())))
}

/// The fee config the index tracked from `FeeConfigSet` (`None`: still the genesis one).
pub fn fee_config(txn: &ReadTransaction) -> Result<Option<FeeConfig>, StoreError> {
    let t = open_read(txn, Tbl::Meta)?;
    t.get(FEE)
        .db()?
        .map(|v| decode_fee_config(v.value()))
        .transpose()
}

/// `YYYY-MM-DD` of a day number (days since 1970-01-01, proleptic Gregorian, UTC).
pub fn day_string(day: u32) -> String {
    // Shift the epoch to 0000-03-01 so leap days end each 400-year era's years.
    let z = i64::from(day) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Inverse of [`day_string`].
pub fn parse_day(s: &str) -> Option<u32> {
    let mut it = s.splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let d: i64 = it.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let day = u32::try_from(days).ok()?;
    (day_string(day) == s).then_some(day)
}
