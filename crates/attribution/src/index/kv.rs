//! The index's tables and the journaled writer that keeps an undo log per block.
//!
//! Every index table maps bytes to bytes. While a block is indexed, writes go to an in-memory
//! overlay; at the end they are flushed to redb together with one undo entry per changed key
//! (its value before the block, or its absence). Unwinding a block replays its undo entries
//! newest first, so everything a block did — rows added, totals raised, the fee config and the
//! tip moved — is restored exactly, by construction rather than by per-table inverse logic.

use std::{cell::RefCell, collections::BTreeMap};

use alloy_primitives::{Address, B256, U256};
use opal_storage::StoreError;
use redb::{ReadTransaction, ReadableTable, Table, TableDefinition, WriteTransaction};

/// A byte-keyed index table.
pub(crate) type Def = TableDefinition<'static, &'static [u8], &'static [u8]>;
type Writable<'t> = Table<'t, &'static [u8], &'static [u8]>;

/// The index's tables. Keys embed big-endian numbers so ranges iterate in chain order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub(crate) enum Tbl {
    /// `"tip"` → block ‖ hash; `"fee"` → the fee config in force after the tip.
    Meta = 0,
    /// inference id ‖ cursor → [`super::rows::InferenceRow`].
    Inferences,
    /// cursor → [`super::rows::CreditRow`].
    Credits,
    /// recipient ‖ cursor → ().
    ByRecipient,
    /// datanet ‖ cursor → ().
    ByDatanet,
    /// model ‖ cursor → ().
    ByModel,
    /// inference id ‖ cursor → ().
    ByInference,
    /// account → [`super::rows::AccountTotals`].
    Accounts,
    /// account ‖ datanet (zero: none) → [`super::rows::Totals`].
    AccountDatanet,
    /// account ‖ model → totals.
    AccountModel,
    /// account ‖ UTC day (u32) → totals.
    AccountDay,
    /// datanet ‖ contributor → totals.
    DatanetContributor,
    /// datanet ‖ credited (32 bytes) ‖ contributor → (): contributors by amount.
    DatanetRank,
    /// model id → [`super::rows::ModelRow`].
    Models,
    /// datanet id → [`super::rows::DatanetRow`].
    Datanets,
    /// block ‖ log index → [`super::rows::ClaimRow`].
    Claims,
    /// batch hash → [`super::rows::BatchRow`].
    Batches,
    /// block ‖ log index → kind ‖ id: the attributions a block recorded, in log order.
    Events,
    /// UTC day (u32) → totals of fees attributed that day.
    Days,
}

const NAMES: [&str; 19] = [
    "attribution_meta",
    "attribution_inferences",
    "attribution_credits",
    "attribution_by_recipient",
    "attribution_by_datanet",
    "attribution_by_model",
    "attribution_by_inference",
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

const ALL: [Tbl; 19] = [
    Tbl::Meta,
    Tbl::Inferences,
    Tbl::Credits,
    Tbl::ByRecipient,
    Tbl::ByDatanet,
    Tbl::ByModel,
    Tbl::ByInference,
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

/// block ‖ sequence → table id ‖ key length (u16) ‖ key ‖ present (u8) ‖ previous value.
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

/// Writes of one block: an overlay over the tables, flushed with an undo log. Tables are opened
/// once per block and kept open until the flush.
pub(crate) struct Journal<'t> {
    txn: &'t WriteTransaction,
    block: u64,
    tables: RefCell<BTreeMap<Tbl, Writable<'t>>>,
    overlay: BTreeMap<(Tbl, Vec<u8>), Option<Vec<u8>>>,
}

impl<'t> Journal<'t> {
    pub(crate) fn new(txn: &'t WriteTransaction, block: u64) -> Self {
        Self {
            txn,
            block,
            tables: RefCell::new(BTreeMap::new()),
            overlay: BTreeMap::new(),
        }
    }

    /// The stored value of a key, ignoring the overlay.
    fn stored(&self, t: Tbl, k: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let mut tables = self.tables.borrow_mut();
        let table = match tables.entry(t) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(self.txn.open_table(t.def()).db()?)
            }
        };
        Ok(table.get(k).db()?.map(|v| v.value().to_vec()))
    }

    pub(crate) fn get(&self, t: Tbl, k: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(v) = self.overlay.get(&(t, k.to_vec())) {
            return Ok(v.clone());
        }
        self.stored(t, k)
    }

    pub(crate) fn put(&mut self, t: Tbl, k: &[u8], v: &[u8]) {
        self.overlay.insert((t, k.to_vec()), Some(v.to_vec()));
    }

    pub(crate) fn del(&mut self, t: Tbl, k: &[u8]) {
        self.overlay.insert((t, k.to_vec()), None);
    }

    /// Writes the overlay and its undo entries.
    pub(crate) fn flush(mut self) -> Result<(), StoreError> {
        let mut undo = self.txn.open_table(UNDO).db()?;
        let mut seq = 0u32;
        let overlay = std::mem::take(&mut self.overlay);
        for ((t, k), v) in overlay {
            let prev = self.stored(t, &k)?;
            if prev == v {
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
            let uk = undo_key(self.block, seq);
            undo.insert(uk.as_slice(), entry.as_slice()).db()?;
            seq += 1;
            let mut tables = self.tables.borrow_mut();
            let table = tables
                .get_mut(&t)
                .ok_or_else(|| corrupt(t, "table not open at flush"))?;
            match v {
                Some(v) => table.insert(k.as_slice(), v.as_slice()).db()?,
                None => table.remove(k.as_slice()).db()?,
            };
        }
        Ok(())
    }
}

fn undo_key(block: u64, seq: u32) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..8].copy_from_slice(&block.to_be_bytes());
    k[8..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// Restores every key block `block` changed to its value before the block.
pub(crate) fn unwind(txn: &WriteTransaction, block: u64) -> Result<(), StoreError> {
    let mut undo = txn.open_table(UNDO).db()?;
    let entries: Vec<(Vec<u8>, Vec<u8>)> = undo
        .range(undo_key(block, 0).as_slice()..=undo_key(block, u32::MAX).as_slice())
        .db()?
        .map(|e| e.map(|(k, v)| (k.value().to_vec(), v.value().to_vec())))
        .collect::<Result<_, _>>()
        .db()?;
    for (uk, entry) in entries.iter().rev() {
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
        let mut table = txn.open_table(t.def()).db()?;
        if present == 1 {
            table.insert(k, &entry[4 + klen..]).db()?;
        } else {
            table.remove(k).db()?;
        }
        undo.remove(uk.as_slice()).db()?;
    }
    Ok(())
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
