//! The index's tables and the writer of one block.
//!
//! Every index table maps bytes to bytes. A block changes two kinds of keys:
//! - **Rows of the block**: keys that embed the block, as one of its [`super::Cursor`]s or its
//!   number (credits, inference records and credit runs, claims, attributions, posting lists).
//!   No earlier block wrote them, so they need neither a prior value nor an undo entry: they are
//!   buffered while the block is indexed and written at the end, table by table in key order, a
//!   long ascending run into one gap through one redb cursor (which packs the run into leaves
//!   instead of descending the tree per key). A key that already exists is reported as
//!   corruption. Unwinding deletes them: the tables keyed by cursor or block ‖ log index by the
//!   block's key range, the others by keys recomputed from those rows (see
//!   `super::apply::unwind_block`).
//! - **Keys updated in place** (totals, registry records, batches, ranks, the fee config and the
//!   tip): written at the end of the block with one undo entry per changed key (its value before
//!   the block, or its absence). Unwinding replays the block's undo entries newest first.
//!
//! Together they restore everything a block did exactly, byte for byte.

use std::{cell::RefCell, collections::BTreeMap, ops::Bound};

use alloy_primitives::{Address, B256, U256};
use opal_storage::StoreError;
use redb::{CursorError, ReadTransaction, ReadableTable, Table, TableDefinition, WriteTransaction};

/// A byte-keyed index table.
pub(crate) type Def = TableDefinition<'static, &'static [u8], &'static [u8]>;
pub(crate) type Writable<'t> = Table<'t, &'static [u8], &'static [u8]>;

/// The index's tables. Keys embed big-endian numbers so ranges iterate in chain order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub(crate) enum Tbl {
    /// `"tip"` → block ‖ hash; `"fee"` → the fee config in force after the tip. Updated in
    /// place.
    Meta = 0,
    /// Everything kept under an inference id, rows of the block:
    /// - id ‖ cursor ‖ 0 → [`super::rows::InferenceRow`]: a record of the id (the ids a block
    ///   recorded are listed in [`Tbl::Events`]);
    /// - id ‖ cursor ‖ 1 → cursor: the credit rows from the first cursor to the second are
    ///   consecutive rows of that inference (every credit of an inference is in one such run;
    ///   recomputed from [`Tbl::Credits`]).
    Inferences,
    /// cursor → [`super::rows::CreditRow`]. Rows of the block.
    Credits,
    /// recipient ‖ block → (log index ‖ sub)…: the cursors of the recipient's credits in the
    /// block, ascending. Rows of the block (recomputed from [`Tbl::Credits`]).
    ByRecipient,
    /// datanet ‖ block → (log index ‖ sub)…: the datanet's credits in the block. Rows of the
    /// block (recomputed from [`Tbl::Credits`]).
    ByDatanet,
    /// model ‖ block → (log index ‖ sub)…: the model's credits in the block. Rows of the block
    /// (recomputed from [`Tbl::Credits`]).
    ByModel,
    /// account → [`super::rows::AccountTotals`]. Updated in place.
    Accounts,
    /// account ‖ datanet (zero: none) → [`super::rows::Totals`]. Updated in place.
    AccountDatanet,
    /// account ‖ model → totals. Updated in place.
    AccountModel,
    /// account ‖ UTC day (u32) → totals. Updated in place.
    AccountDay,
    /// datanet ‖ contributor → totals. Updated in place.
    DatanetContributor,
    /// datanet ‖ credited (32 bytes) ‖ contributor → (): contributors by amount. Updated in
    /// place.
    DatanetRank,
    /// model id → [`super::rows::ModelRow`]. Updated in place.
    Models,
    /// datanet id → [`super::rows::DatanetRow`]. Updated in place.
    Datanets,
    /// block ‖ log index → [`super::rows::ClaimRow`]. Rows of the block.
    Claims,
    /// batch hash → [`super::rows::BatchRow`]. Updated in place.
    Batches,
    /// block ‖ log index → kind ‖ id ‖ ids of the inference rows a batch wrote: the
    /// attributions a block recorded, in log order (see [`super::rows::AttributionRef`]). Rows of
    /// the block.
    Events,
    /// UTC day (u32) → totals of fees attributed that day. Updated in place.
    Days,
}

const NAMES: [&str; 18] = [
    "attribution_meta",
    "attribution_inferences",
    "attribution_credits",
    "attribution_by_recipient",
    "attribution_by_datanet",
    "attribution_by_model",
    "attribution_accounts",
    "attribution_account_datanet",
    "attribution_account_model",
    "attribution_account_day",
    "attribution_datanet_contributor",
    "attribution_datanet_rank",
    "attribution_models",
    "attribution_datanets",
    "attribution_claims",
    "attribution_batches",
    "attribution_events",
    "attribution_days",
];

const ALL: [Tbl; 18] = [
    Tbl::Meta,
    Tbl::Inferences,
    Tbl::Credits,
    Tbl::ByRecipient,
    Tbl::ByDatanet,
    Tbl::ByModel,
    Tbl::Accounts,
    Tbl::AccountDatanet,
    Tbl::AccountModel,
    Tbl::AccountDay,
    Tbl::DatanetContributor,
    Tbl::DatanetRank,
    Tbl::Models,
    Tbl::Datanets,
    Tbl::Claims,
    Tbl::Batches,
    Tbl::Events,
    Tbl::Days,
];

/// block ‖ sequence → table id ‖ key length (u16) ‖ key ‖ present (u8) ‖ previous value, for
/// the keys updated in place.
const UNDO: Def = TableDefinition::new("attribution_undo");

impl Tbl {
    pub(crate) fn def(self) -> Def {
        TableDefinition::new(NAMES[self as usize])
    }

    pub(crate) fn name(self) -> &'static str {
        NAMES[self as usize]
    }

    fn from_u8(v: u8) -> Option<Self> {
        ALL.get(v as usize).copied()
    }

    /// How many trailing bytes of a row key of the block are the block's position in it (a
    /// cursor, or block ‖ log index).
    fn row_suffix(self) -> usize {
        match self {
            Tbl::ByRecipient | Tbl::ByDatanet | Tbl::ByModel => 8,
            Tbl::Claims | Tbl::Events => 12,
            Tbl::Inferences => 17,
            _ => 16,
        }
    }
}

/// Converts redb errors into the store's error.
pub(crate) trait Db<T> {
    fn db(self) -> Result<T, StoreError>;
}

impl<T, E: Into<redb::Error>> Db<T> for Result<T, E> {
    fn db(self) -> Result<T, StoreError> {
        self.map_err(|e| StoreError::Db(e.into()))
    }
}

pub(crate) fn corrupt(t: Tbl, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        table: t.name(),
        reason: reason.into(),
    }
}

/// Every table with its name, the undo log included (for tests that compare whole indexes).
#[cfg(test)]
pub(crate) fn all_defs() -> Vec<(&'static str, Def)> {
    let mut v: Vec<_> = ALL.iter().map(|t| (t.name(), t.def())).collect();
    v.push(("attribution_undo", UNDO));
    v
}

/// Creates every index table.
pub(crate) fn create_tables(txn: &WriteTransaction) -> Result<(), StoreError> {
    for t in ALL {
        txn.open_table(t.def()).db()?;
    }
    txn.open_table(UNDO).db()?;
    Ok(())
}

/// The longest key of a row of the block (an id ‖ a cursor ‖ a tag).
const ROW_KEY: usize = 49;

/// A row key, inline.
#[derive(Clone, Copy)]
struct RowKey {
    len: u8,
    bytes: [u8; ROW_KEY],
}

impl RowKey {
    fn new(parts: &[&[u8]]) -> Self {
        let mut k = Self {
            len: 0,
            bytes: [0; ROW_KEY],
        };
        for p in parts {
            let at = k.len as usize;
            k.bytes[at..at + p.len()].copy_from_slice(p);
            k.len += p.len() as u8;
        }
        k
    }

    fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

/// A row of the block: its key, the order it was added in, and where its value sits in
/// [`Journal::values`].
#[derive(Clone, Copy)]
struct Row {
    key: RowKey,
    seq: u32,
    start: u32,
    end: u32,
}

/// A key updated in place: its value before the block (when already read) and after it.
struct Change {
    prev: Option<Option<Vec<u8>>>,
    new: Option<Vec<u8>>,
}

/// Writes of one block: the keys it updates in place (flushed with an undo log) and the rows it
/// adds (flushed in key order). Tables are opened once per block.
pub(crate) struct Journal<'t> {
    txn: &'t WriteTransaction,
    block: u64,
    tables: RefCell<BTreeMap<Tbl, Writable<'t>>>,
    changes: BTreeMap<(Tbl, Vec<u8>), Change>,
    rows: Vec<Vec<Row>>,
    values: Vec<u8>,
}

impl<'t> Journal<'t> {
    pub(crate) fn new(txn: &'t WriteTransaction, block: u64) -> Self {
        Self {
            txn,
            block,
            tables: RefCell::new(BTreeMap::new()),
            changes: BTreeMap::new(),
            rows: vec![Vec::new(); ALL.len()],
            values: Vec::new(),
        }
    }

    /// The stored value of a key updated in place, ignoring this block's changes.
    pub(crate) fn stored(&self, t: Tbl, k: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let mut tables = self.tables.borrow_mut();
        let table = open(self.txn, &mut tables, t)?;
        Ok(table.get(k).db()?.map(|v| v.value().to_vec()))
    }

    /// The value of a key updated in place, this block's changes included.
    pub(crate) fn get(&self, t: Tbl, k: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(c) = self.changes.get(&(t, k.to_vec())) {
            return Ok(c.new.clone());
        }
        self.stored(t, k)
    }

    fn change(&mut self, t: Tbl, k: &[u8], prev: Option<Option<Vec<u8>>>, new: Option<Vec<u8>>) {
        match self.changes.entry((t, k.to_vec())) {
            std::collections::btree_map::Entry::Occupied(mut e) => e.get_mut().new = new,
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(Change { prev, new });
            }
        }
    }

    /// Sets a key updated in place.
    pub(crate) fn put(&mut self, t: Tbl, k: &[u8], v: &[u8]) {
        self.change(t, k, None, Some(v.to_vec()));
    }

    /// Sets a key updated in place whose value before the block the caller read with
    /// [`Self::stored`] (and so need not be read again).
    pub(crate) fn put_read(&mut self, t: Tbl, k: &[u8], prev: Option<Vec<u8>>, v: Vec<u8>) {
        self.change(t, k, Some(prev), Some(v));
    }

    /// Deletes a key updated in place whose value before the block the caller knows.
    pub(crate) fn del_read(&mut self, t: Tbl, k: &[u8], prev: Option<Vec<u8>>) {
        self.change(t, k, Some(prev), None);
    }

    /// Adds a row of the block, its key the concatenation of `key` (at most [`ROW_KEY`] bytes,
    /// and as long as every other row key of the table), its value written by `value`.
    pub(crate) fn add_row(&mut self, t: Tbl, key: &[&[u8]], value: impl FnOnce(&mut Vec<u8>)) {
        let start = self.values.len() as u32;
        value(&mut self.values);
        let end = self.values.len() as u32;
        let rows = &mut self.rows[t as usize];
        let key = RowKey::new(key);
        debug_assert!(rows.first().is_none_or(|r| r.key.len == key.len));
        rows.push(Row {
            key,
            seq: rows.len() as u32,
            start,
            end,
        });
    }

    /// Makes room for `n` more rows of `t` with `bytes` bytes of values in all.
    pub(crate) fn reserve(&mut self, t: Tbl, n: usize, bytes: usize) {
        self.rows[t as usize].reserve(n);
        self.values.reserve(bytes);
    }

    /// Writes the block's changes with their undo entries, then its rows.
    pub(crate) fn flush(self) -> Result<(), StoreError> {
        let Self {
            txn,
            block,
            tables,
            changes,
            mut rows,
            values,
        } = self;
        let mut tables = tables.into_inner();
        let mut undo = Vec::new();
        for ((t, k), c) in changes {
            let table = open(txn, &mut tables, t)?;
            let prev = match c.prev {
                Some(p) => {
                    #[cfg(debug_assertions)]
                    {
                        let stored = table.get(k.as_slice()).db()?.map(|v| v.value().to_vec());
                        assert_eq!(stored, p, "{}: the value before the block", t.name());
                    }
                    p
                }
                None => table.get(k.as_slice()).db()?.map(|v| v.value().to_vec()),
            };
            if prev == c.new {
                continue;
            }
            let mut entry = Vec::with_capacity(4 + k.len() + prev.as_ref().map_or(0, Vec::len));
            entry.push(t as u8);
            entry.extend_from_slice(&(k.len() as u16).to_be_bytes());
            entry.extend_from_slice(&k);
            match &prev {
                Some(p) => {
                    entry.push(1);
                    entry.extend_from_slice(p);
                }
                None => entry.push(0),
            }
            undo.push((undo_key(block, undo.len() as u32), entry));
            match c.new {
                Some(v) => table.insert(k.as_slice(), v.as_slice()).db()?,
                None => table.remove(k.as_slice()).db()?,
            };
        }
        if !undo.is_empty() {
            let mut table = txn.open_table(UNDO).db()?;
            let undo: Vec<_> = undo
                .iter()
                .map(|(k, v)| (k.as_slice(), v.as_slice()))
                .collect();
            insert_new(&mut table, Tbl::Meta, 4, &undo)?;
        }
        for t in ALL {
            let rows = &mut rows[t as usize];
            if rows.is_empty() {
                continue;
            }
            // The keys of a table have one length, so their padded arrays order as they do; of
            // two rows with one key (none is expected) the later wins.
            rows.sort_unstable_by(|a, b| a.key.bytes.cmp(&b.key.bytes).then(a.seq.cmp(&b.seq)));
            rows.dedup_by(|later, earlier| {
                let same = later.key.as_slice() == earlier.key.as_slice();
                if same {
                    *earlier = *later;
                }
                same
            });
            let rows: Vec<_> = rows
                .iter()
                .map(|r| (r.key.as_slice(), &values[r.start as usize..r.end as usize]))
                .collect();
            let table = open(txn, &mut tables, t)?;
            insert_new(table, t, t.row_suffix(), &rows)?;
        }
        Ok(())
    }
}

fn open<'a, 't>(
    txn: &'t WriteTransaction,
    tables: &'a mut BTreeMap<Tbl, Writable<'t>>,
    t: Tbl,
) -> Result<&'a mut Writable<'t>, StoreError> {
    Ok(match tables.entry(t) {
        std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::btree_map::Entry::Vacant(e) => e.insert(txn.open_table(t.def()).db()?),
    })
}

/// Inserts keys the table does not hold, given in ascending order. Keys that share all but
/// their last `suffix` bytes land in one gap between existing keys: a run of at least
/// [`CURSOR_RUN`] of them goes through one redb cursor (which packs it into leaves), a shorter
/// one key by key. A key already present is corruption.
pub(crate) fn insert_new<'a>(
    table: &mut Writable<'_>,
    t: Tbl,
    suffix: usize,
    rows: &[(&'a [u8], &'a [u8])],
) -> Result<(), StoreError> {
    let present = |k: &[u8]| {
        corrupt(
            t,
            format!(
                "row key {} of a new block already present",
                alloy_primitives::hex::encode(k)
            ),
        )
    };
    let prefix = |k: &'a [u8]| &k[..k.len().saturating_sub(suffix)];
    let mut rest = rows;
    while let Some(&(first, _)) = rest.first() {
        let p = prefix(first);
        let group = rest.iter().take_while(|(k, _)| prefix(k) == p).count();
        if group < CURSOR_RUN {
            for &(k, v) in &rest[..group] {
                if table.insert(k, v).db()?.is_some() {
                    return Err(present(k));
                }
            }
            rest = &rest[group..];
            continue;
        }
        let mut cursor = table.lower_bound_mut(Bound::Included(first)).db()?;
        let mut run = 0usize;
        for &(k, v) in &rest[..group] {
            match cursor.insert_before(k, v) {
                Ok(()) => run += 1,
                // Past the gap (the group was not one run): seek again from this key.
                Err(CursorError::UnorderedKey) if run > 0 => break,
                Err(CursorError::UnorderedKey) => return Err(present(k)),
                Err(e) => return Err(StoreError::Db(e.into())),
            }
        }
        cursor.close().db()?;
        rest = &rest[run..];
    }
    Ok(())
}

/// The shortest run of new keys in one gap written through a cursor.
const CURSOR_RUN: usize = 16;

fn undo_key(block: u64, seq: u32) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..8].copy_from_slice(&block.to_be_bytes());
    k[8..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// Deletes the keys of `t` in `lo..=hi`.
pub(crate) fn delete_range(
    txn: &WriteTransaction,
    t: Tbl,
    lo: &[u8],
    hi: &[u8],
) -> Result<(), StoreError> {
    let mut table = txn.open_table(t.def()).db()?;
    table.retain_in(lo..=hi, |_, _| false).db()
}

/// Deletes keys of `t` a block added; each must be present.
pub(crate) fn delete_keys(
    txn: &WriteTransaction,
    t: Tbl,
    keys: &mut [Vec<u8>],
) -> Result<(), StoreError> {
    if keys.is_empty() {
        return Ok(());
    }
    keys.sort_unstable();
    let mut table = txn.open_table(t.def()).db()?;
    for k in keys.iter() {
        if table.remove(k.as_slice()).db()?.is_none() {
            return Err(corrupt(t, "unwinding a row the block did not write"));
        }
    }
    Ok(())
}

/// Restores every key updated in place by block `block` to its value before the block.
pub(crate) fn unwind_changes(txn: &WriteTransaction, block: u64) -> Result<(), StoreError> {
    let mut undo = txn.open_table(UNDO).db()?;
    let (lo, hi) = (undo_key(block, 0), undo_key(block, u32::MAX));
    let entries: Vec<Vec<u8>> = undo
        .range(lo.as_slice()..=hi.as_slice())
        .db()?
        .map(|e| e.map(|(_, v)| v.value().to_vec()))
        .collect::<Result<_, _>>()
        .db()?;
    let mut tables = BTreeMap::new();
    for entry in entries.iter().rev() {
        let bad = || corrupt(Tbl::Meta, "malformed undo entry");
        let t = Tbl::from_u8(*entry.first().ok_or_else(bad)?).ok_or_else(bad)?;
        let klen = u16::from_be_bytes(
            entry
                .get(1..3)
                .ok_or_else(bad)?
                .try_into()
                .map_err(|_| bad())?,
        ) as usize;
        let k = entry.get(3..3 + klen).ok_or_else(bad)?;
        let present = *entry.get(3 + klen).ok_or_else(bad)?;
        let table = open(txn, &mut tables, t)?;
        if present == 1 {
            table.insert(k, &entry[4 + klen..]).db()?;
        } else {
            table.remove(k).db()?;
        }
    }
    undo.retain_in(lo.as_slice()..=hi.as_slice(), |_, _| false)
        .db()
}

/// Opens an index table in a read transaction; a store without the index says so clearly.
pub(crate) fn open_read(
    txn: &ReadTransaction,
    t: Tbl,
) -> Result<redb::ReadOnlyTable<&'static [u8], &'static [u8]>, StoreError> {
    txn.open_table(t.def()).map_err(|e| match e {
        redb::TableError::TableDoesNotExist(_) => {
            StoreError::Index("the attribution index is not enabled on this database".into())
        }
        other => StoreError::Db(other.into()),
    })
}

/// Appends fixed-width fields.
#[derive(Default)]
pub(crate) struct Enc(pub(crate) Vec<u8>);

impl Enc {
    pub(crate) fn bytes(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(b);
        self
    }
    pub(crate) fn b256(self, v: B256) -> Self {
        self.bytes(v.as_slice())
    }
    pub(crate) fn addr(self, v: Address) -> Self {
        self.bytes(v.as_slice())
    }
    pub(crate) fn u8(self, v: u8) -> Self {
        self.bytes(&[v])
    }
    pub(crate) fn u32(self, v: u32) -> Self {
        self.bytes(&v.to_be_bytes())
    }
    pub(crate) fn u64(self, v: u64) -> Self {
        self.bytes(&v.to_be_bytes())
    }
    pub(crate) fn u256(self, v: U256) -> Self {
        self.bytes(&v.to_be_bytes::<32>())
    }
    pub(crate) fn opt_b256(self, v: Option<B256>) -> Self {
        match v {
            Some(v) => self.u8(1).b256(v),
            None => self.u8(0).b256(B256::ZERO),
        }
    }
    pub(crate) fn opt_addr(self, v: Option<Address>) -> Self {
        match v {
            Some(v) => self.u8(1).addr(v),
            None => self.u8(0).addr(Address::ZERO),
        }
    }
    pub(crate) fn opt_u64(self, v: Option<u64>) -> Self {
        match v {
            Some(v) => self.u8(1).u64(v),
            None => self.u8(0).u64(0),
        }
    }
}

/// Reads fixed-width fields; a short record is reported as corrupt.
pub(crate) struct Dec<'a> {
    buf: &'a [u8],
    t: Tbl,
}

impl<'a> Dec<'a> {
    pub(crate) fn new(buf: &'a [u8], t: Tbl) -> Self {
        Self { buf, t }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        if self.buf.len() < n {
            return Err(corrupt(self.t, "record too short"));
        }
        let (a, b) = self.buf.split_at(n);
        self.buf = b;
        Ok(a)
    }
    pub(crate) fn b256(&mut self) -> Result<B256, StoreError> {
        Ok(B256::from_slice(self.take(32)?))
    }
    pub(crate) fn addr(&mut self) -> Result<Address, StoreError> {
        Ok(Address::from_slice(self.take(20)?))
    }
    pub(crate) fn u8(&mut self) -> Result<u8, StoreError> {
        Ok(self.take(1)?[0])
    }
    pub(crate) fn u32(&mut self) -> Result<u32, StoreError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub(crate) fn u64(&mut self) -> Result<u64, StoreError> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(a))
    }
    pub(crate) fn u256(&mut self) -> Result<U256, StoreError> {
        Ok(U256::from_be_slice(self.take(32)?))
    }
    pub(crate) fn opt_b256(&mut self) -> Result<Option<B256>, StoreError> {
        let f = self.u8()?;
        let v = self.b256()?;
        Ok((f == 1).then_some(v))
    }
    pub(crate) fn opt_addr(&mut self) -> Result<Option<Address>, StoreError> {
        let f = self.u8()?;
        let v = self.addr()?;
        Ok((f == 1).then_some(v))
    }
    pub(crate) fn opt_u64(&mut self) -> Result<Option<u64>, StoreError> {
        let f = self.u8()?;
        let v = self.u64()?;
        Ok((f == 1).then_some(v))
    }
}
