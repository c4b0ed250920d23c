//! `eth_getProof`: account and storage Merkle proofs for the latest state, built with the same
//! walk as the incremental root (so their cost follows the number of keys proven).

use alloy::rpc::types::{EIP1186AccountProofResponse, EIP1186StorageProof};
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY, Nibbles};
use redb::{ReadTransaction, ReadableDatabase};

use crate::{
    DbResult, StateReader, Store, StoreError, tables,
    trie_io::{AccountLeaves, NodeReader, StorageLeaves},
};

impl Store {
    /// Proves `address` and its `slots` against the latest state root. Returns the proof and the
    /// state root it verifies against.
    pub fn proof(
        &self,
        address: Address,
        slots: &[B256],
    ) -> Result<(EIP1186AccountProofResponse, B256), StoreError> {
        proof_in(&self.db.begin_read().db()?, address, slots)
    }
}

impl StateReader {
    /// Proves `address` and its `slots` against this snapshot's state root, which must be the
    /// head's (trie nodes are kept for the latest state only).
    pub fn proof(
        &self,
        address: Address,
        slots: &[B256],
    ) -> Result<(EIP1186AccountProofResponse, B256), StoreError> {
        if let Some(at) = self.pinned() {
            let head = self.head()?;
            if head != Some(at) {
                return Err(StoreError::NotNext {
                    number: at,
                    reason: format!("proofs are served for the head ({head:?}) only"),
                });
            }
        }
        proof_in(self.txn(), address, slots)
    }
}

fn proof_in(
    txn: &ReadTransaction,
    address: Address,
    slots: &[B256],
) -> Result<(EIP1186AccountProofResponse, B256), StoreError> {
    let accounts = txn.open_table(tables::ACCOUNTS).db()?;
    let storage = txn.open_table(tables::STORAGE).db()?;
    let account_trie = txn.open_table(tables::ACCOUNT_TRIE).db()?;
    let storage_trie = txn.open_table(tables::STORAGE_TRIE).db()?;
    let h = keccak256(address);
    let target = Nibbles::unpack(h);
    let (root, nodes) = opal_trie::proof(
        &mut NodeReader {
            table: &account_trie,
            prefix: &[],
        },
        &mut AccountLeaves(&accounts),
        vec![target],
    )?;
    let account_proof = nodes
        .matching_nodes_sorted(&target)
        .into_iter()
        .map(|(_, n)| n)
        .collect();
    let account = accounts
        .get(&h.0)
        .db()?
        .map(|v| tables::decode_account("accounts", v.value()))
        .transpose()?;
    let mut storage_proof = Vec::with_capacity(slots.len());
    if !slots.is_empty() {
        let targets: Vec<Nibbles> = slots
            .iter()
            .map(|s| Nibbles::unpack(keccak256(s)))
            .collect();
        let (_, snodes) = opal_trie::proof(
            &mut NodeReader {
                table: &storage_trie,
                prefix: h.as_slice(),
            },
            &mut StorageLeaves {
                table: &storage,
                account: h,
            },
            targets.clone(),
        )?;
        for (slot, t) in slots.iter().zip(&targets) {
            let key: [u8; 64] = tables::key(&[h.as_slice(), keccak256(slot).as_slice()]);
            let value = storage
                .get(&key)
                .db()?
                .map_or(U256::ZERO, |v| U256::from_be_bytes(*v.value()));
            let proof: Vec<Bytes> = snodes
                .matching_nodes_sorted(t)
                .into_iter()
                .map(|(_, n)| n)
                .collect();
            storage_proof.push(EIP1186StorageProof {
                key: (*slot).into(),
                value,
                proof,
            });
        }
    }
    let resp = EIP1186AccountProofResponse {
        address,
        balance: account.map_or(U256::ZERO, |a| a.balance),
        code_hash: account.map_or(KECCAK_EMPTY, |a| a.code_hash),
        nonce: account.map_or(0, |a| a.nonce),
        storage_hash: account.map_or(EMPTY_ROOT_HASH, |a| a.storage_root),
        account_proof,
        storage_proof,
    };
    Ok((resp, root))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AccountState, BlockRecord, StateChanges, StorageChange};
    use alloy::consensus::Header;
    use alloy_rlp::Encodable;
    use alloy_trie::{TrieAccount, proof::verify_proof};

    #[test]
    fn proofs_verify_against_the_state_root() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut changes = StateChanges::default();
        for i in 0..300u64 {
            let a = Address::from_slice(&keccak256(i.to_be_bytes())[12..]);
            changes.accounts.push((
                a,
                Some(AccountState {
                    nonce: i,
                    balance: U256::from(i * 7),
                    code_hash: KECCAK_EMPTY,
                }),
            ));
            changes.storage.push(StorageChange {
                address: a,
                wipe: false,
                slots: (0..(i % 20))
                    .map(|s| (U256::from(s), U256::from(s + 1)))
                    .collect(),
            });
        }
        let block = store
            .commit_block(0, &changes, |r| {
                let header = Header {
                    state_root: r.state_root,
                    ..Default::default()
                };
                Ok(BlockRecord::empty(header))
            })
            .unwrap();
        let state_root = block.header.state_root;
        for i in [0u64, 19, 150, 299, 1000] {
            let a = Address::from_slice(&keccak256(i.to_be_bytes())[12..]);
            let slots: Vec<B256> = [0u64, 3, 18, 40]
                .iter()
                .map(|s| B256::from(U256::from(*s)))
                .collect();
            let (p, root) = store.proof(a, &slots).unwrap();
            assert_eq!(root, state_root);
            let leaf = (i < 300).then(|| {
                let mut buf = vec![];
                TrieAccount::new(p.nonce, p.balance, p.storage_hash, p.code_hash).encode(&mut buf);
                buf
            });
            verify_proof(
                root,
                Nibbles::unpack(keccak256(a)),
                leaf,
                p.account_proof.iter(),
            )
            .unwrap();
            for sp in &p.storage_proof {
                let value = (!sp.value.is_zero()).then(|| alloy_rlp::encode(sp.value));
                verify_proof(
                    p.storage_hash,
                    Nibbles::unpack(keccak256(sp.key.as_b256())),
                    value,
                    sp.proof.iter(),
                )
                .unwrap();
                // A lie about the value fails.
                let lie = Some(alloy_rlp::encode(sp.value + U256::from(1)));
                assert!(
                    verify_proof(
                        p.storage_hash,
                        Nibbles::unpack(keccak256(sp.key.as_b256())),
                        lie,
                        sp.proof.iter()
                    )
                    .is_err()
                );
            }
            // A latest snapshot proves the same.
            let (q, qroot) = store.latest().unwrap().proof(a, &slots).unwrap();
            assert_eq!((q, qroot), (p.clone(), root));
            if i < 300 {
                assert_eq!(p.nonce, i);
                assert_eq!(
                    p.storage_proof[1].value,
                    if 3 < i % 20 {
                        U256::from(4)
                    } else {
                        U256::ZERO
                    }
                );
            }
        }
    }

    #[test]
    fn a_view_pinned_below_the_head_refuses_proofs() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut parent = B256::ZERO;
        for n in 0..2 {
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
        assert!(
            store
                .at_block(0)
                .unwrap()
                .proof(Address::ZERO, &[])
                .is_err()
        );
        let (_, root) = store
            .at_block(1)
            .unwrap()
            .proof(Address::ZERO, &[])
            .unwrap();
        assert_eq!(
            root,
            store
                .latest()
                .unwrap()
                .header(1)
                .unwrap()
                .unwrap()
                .state_root
        );
        store.set_head(crate::Head::Safe, 0).unwrap();
        let r = store.latest().unwrap();
        assert_eq!(r.head_of(crate::Head::Safe).unwrap(), Some(0));
        assert_eq!(r.head_of(crate::Head::Finalized).unwrap(), None);
    }
}
