//! Read views of the store: state at the head or at an earlier block (through changesets), blocks,
//! and revm's `DatabaseRef` over either.

use alloy::consensus::Header;
use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_rlp::Decodable;
use redb::{ReadOnlyTable, ReadTransaction};
use revm::{
    bytecode::Bytecode,
    database_interface::{DBErrorMarker, DatabaseRef},
    state::AccountInfo,
};

use crate::{
    DbResult, Head, StoreError,
    tables::{self, StoredAccount, decode_account, key},
};

impl DBErrorMarker for StoreError {}

/// Where a transaction sits in the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockLocation {
    /// Block number.
    pub number: u64,
    /// Index in the block.
    pub index: u32,
}

/// A consistent snapshot of the store, optionally pinned to an earlier block's state.
pub struct StateReader {
    txn: ReadTransaction,
    at: Option<u64>,
    accounts: ReadOnlyTable<&'static [u8; 32], &'static [u8]>,
    storage: ReadOnlyTable<&'static [u8; 64], &'static [u8; 32]>,
    codes: ReadOnlyTable<&'static [u8; 32], &'static [u8]>,
    canonical: ReadOnlyTable<u64, &'static [u8; 32]>,
}

impl std::fmt::Debug for StateReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateReader").field("at", &self.at).finish()
    }
}

impl StateReader {
    pub(crate) fn new(txn: ReadTransaction, at: Option<u64>) -> Result<Self, StoreError> {
        Ok(Self {
            accounts: txn.open_table(tables::ACCOUNTS).db()?,
            storage: txn.open_table(tables::STORAGE).db()?,
            codes: txn.open_table(tables::BYTECODES).db()?,
            canonical: txn.open_table(tables::CANONICAL).db()?,
            txn,
            at,
        })
    }

    /// The unsafe head of this snapshot.
    pub fn head(&self) -> Result<Option<u64>, StoreError> {
        self.head_of(Head::Unsafe)
    }

    /// A head pointer (unsafe, safe or finalized) as of this snapshot.
    pub fn head_of(&self, head: Head) -> Result<Option<u64>, StoreError> {
        let t = self.txn.open_table(tables::HEADS).db()?;
        Ok(t.get(head.key()).db()?.map(|v| v.value()))
    }

    /// The snapshot's read transaction, for secondary indexes that keep their own tables in the
    /// chain database (their reads then agree with the state and blocks read here).
    pub fn txn(&self) -> &ReadTransaction {
        &self.txn
    }

    /// The block this view is pinned to, `None` for a latest view.
    pub fn pinned(&self) -> Option<u64> {
        self.at
    }

    /// The block this view reads state at (the head for a latest view).
    pub fn state_block(&self) -> Result<Option<u64>, StoreError> {
        match self.at {
            Some(n) => Ok(Some(n)),
            None => self.head(),
        }
    }

    /// Account fields, or `None` if the account does not exist.
    pub fn account(&self, address: Address) -> Result<Option<StoredAccount>, StoreError> {
        let h = keccak256(address);
        if let Some(n) = self.at {
            let hist = self.txn.open_table(tables::ACCOUNT_HISTORY).db()?;
            let from: [u8; 40] = key(&[h.as_slice(), &(n + 1).to_be_bytes()]);
            if let Some(entry) = hist.range::<&[u8; 40]>(&from..).db()?.next() {
                let (k, v) = entry.db()?;
                if k.value()[..32] == h[..] {
                    let v = v.value();
                    if v.is_empty() {
                        return Ok(None);
                    }
                    return decode_account("account_history", v).map(Some);
                }
            }
        }
        self.accounts
            .get(&h.0)
            .db()?
            .map(|v| decode_account("accounts", v.value()))
            .transpose()
    }

    /// A storage slot's value (zero if unset).
    pub fn storage(&self, address: Address, slot: U256) -> Result<U256, StoreError> {
        let h = keccak256(address);
        let sh = keccak256(slot.to_be_bytes::<32>());
        let k: [u8; 64] = key(&[h.as_slice(), sh.as_slice()]);
        if let Some(n) = self.at {
            let hist = self.txn.open_table(tables::STORAGE_HISTORY).db()?;
            let from: [u8; 72] = key(&[&k, &(n + 1).to_be_bytes()]);
            if let Some(entry) = hist.range::<&[u8; 72]>(&from..).db()?.next() {
                let (hk, v) = entry.db()?;
                if hk.value()[..64] == k[..] {
                    return Ok(U256::from_be_bytes(*v.value()));
                }
            }
        }
        Ok(self
            .storage
            .get(&k)
            .db()?
            .map_or(U256::ZERO, |v| U256::from_be_bytes(*v.value())))
    }

    /// Contract code by hash.
    pub fn code(&self, hash: B256) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.codes.get(&hash.0).db()?.map(|v| v.value().to_vec()))
    }

    /// Canonical hash of block `number`.
    pub fn block_hash(&self, number: u64) -> Result<Option<B256>, StoreError> {
        Ok(self
            .canonical
            .get(number)
            .db()?
            .map(|v| B256::from(*v.value())))
    }

    /// Number of the canonical block with this hash.
    pub fn block_number(&self, hash: B256) -> Result<Option<u64>, StoreError> {
        let t = self.txn.open_table(tables::HEADER_NUMBERS).db()?;
        Ok(t.get(&hash.0).db()?.map(|v| v.value()))
    }

    /// Canonical header of block `number`.
    pub fn header(&self, number: u64) -> Result<Option<Header>, StoreError> {
        let t = self.txn.open_table(tables::HEADERS).db()?;
        let Some(v) = t.get(number).db()? else {
            return Ok(None);
        };
        let mut bytes = v.value();
        Header::decode(&mut bytes)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                table: "headers",
                reason: e.to_string(),
            })
    }

    /// The stored body bytes of block `number`.
    pub fn body(&self, number: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.bytes(tables::BODIES, number)
    }

    /// The stored receipt bytes of block `number`.
    pub fn receipts(&self, number: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.bytes(tables::RECEIPTS, number)
    }

    /// Senders of block `number`'s transactions.
    pub fn senders(&self, number: u64) -> Result<Option<Vec<Address>>, StoreError> {
        Ok(self
            .bytes(tables::SENDERS, number)?
            .map(|b| b.chunks_exact(20).map(Address::from_slice).collect()))
    }

    /// Where a transaction was included.
    pub fn transaction_location(&self, hash: B256) -> Result<Option<BlockLocation>, StoreError> {
        let t = self.txn.open_table(tables::TX_LOOKUP).db()?;
        Ok(t.get(&hash.0).db()?.map(|v| {
            let v = v.value();
            BlockLocation {
                number: u64::from_be_bytes([v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]]),
                index: u32::from_be_bytes([v[8], v[9], v[10], v[11]]),
            }
        }))
    }

    fn bytes(
        &self,
        def: redb::TableDefinition<u64, &[u8]>,
        number: u64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let t = self.txn.open_table(def).db()?;
        Ok(t.get(number).db()?.map(|v| v.value().to_vec()))
    }
}

impl DatabaseRef for StateReader {
    type Error = StoreError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, StoreError> {
        Ok(self.account(address)?.map(|a| AccountInfo {
            balance: a.balance,
            nonce: a.nonce,
            code_hash: a.code_hash,
            account_id: None,
            code: None,
        }))
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, StoreError> {
        match self.code(code_hash)? {
            Some(code) => Ok(Bytecode::new_raw(code.into())),
            None => Ok(Bytecode::default()),
        }
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, StoreError> {
        self.storage(address, index)
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, StoreError> {
        Ok(self.block_hash(number)?.unwrap_or_default())
    }
}
