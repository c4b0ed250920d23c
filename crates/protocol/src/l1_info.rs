//! The L1-info deposit: transaction 0 of every L2 block, carrying the L1 origin's attributes and
//! the fee parameters into the L1Block predeploy (Ecotone and Isthmus calldata layouts).

use alloy::primitives::{Address, B256, Bytes, TxKind, U256};
use op_alloy::consensus::{L1InfoDepositSource, TxDeposit};
use opal_primitives::{
    Fork, ForkSchedule,
    addresses::{L1_BLOCK, L1_INFO_DEPOSITOR},
};

/// `setL1BlockValuesEcotone()` selector.
pub const ECOTONE_SELECTOR: [u8; 4] = [0x44, 0x0a, 0x5e, 0x20];
/// `setL1BlockValuesIsthmus()` selector.
pub const ISTHMUS_SELECTOR: [u8; 4] = [0x09, 0x89, 0x99, 0xbe];
/// Ecotone calldata length.
pub const ECOTONE_LEN: usize = 164;
/// Isthmus calldata length.
pub const ISTHMUS_LEN: usize = 176;
/// Gas limit of the L1-info deposit from Regolith on.
pub const L1_INFO_GAS: u64 = 1_000_000;

/// Errors decoding L1-info calldata.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum L1InfoError {
    /// Unknown selector.
    #[error("unknown L1-info selector 0x{0}")]
    Selector(String),
    /// Wrong length for the selector's layout.
    #[error("L1-info calldata is {got} bytes, the layout needs {want}")]
    Length {
        /// Bytes given.
        got: usize,
        /// Bytes required.
        want: usize,
    },
    /// The fork active at the block has no supported L1-info layout.
    #[error("no L1-info layout for a block before Ecotone")]
    PreEcotone,
}

/// The values the L1-info deposit writes into L1Block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct L1BlockInfo {
    /// L1 origin number.
    pub number: u64,
    /// L1 origin timestamp.
    pub time: u64,
    /// L1 origin base fee.
    pub base_fee: U256,
    /// L1 origin hash.
    pub block_hash: B256,
    /// Position of the L2 block within its epoch.
    pub sequence_number: u64,
    /// Batcher address, left-padded to 32 bytes.
    pub batcher_hash: B256,
    /// L1 blob base fee.
    pub blob_base_fee: U256,
    /// Ecotone base-fee scalar.
    pub base_fee_scalar: u32,
    /// Ecotone blob-base-fee scalar.
    pub blob_base_fee_scalar: u32,
    /// Isthmus operator fee scalar.
    pub operator_fee_scalar: u32,
    /// Isthmus operator fee constant.
    pub operator_fee_constant: u64,
}

impl L1BlockInfo {
    /// Ecotone calldata (164 bytes).
    pub fn encode_ecotone(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(ISTHMUS_LEN);
        out.extend_from_slice(&ECOTONE_SELECTOR);
        self.encode_common(&mut out);
        out
    }

    /// Isthmus calldata (176 bytes).
    pub fn encode_isthmus(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(ISTHMUS_LEN);
        out.extend_from_slice(&ISTHMUS_SELECTOR);
        self.encode_common(&mut out);
        out.extend_from_slice(&self.operator_fee_scalar.to_be_bytes());
        out.extend_from_slice(&self.operator_fee_constant.to_be_bytes());
        out
    }

    fn encode_common(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.base_fee_scalar.to_be_bytes());
        out.extend_from_slice(&self.blob_base_fee_scalar.to_be_bytes());
        out.extend_from_slice(&self.sequence_number.to_be_bytes());
        out.extend_from_slice(&self.time.to_be_bytes());
        out.extend_from_slice(&self.number.to_be_bytes());
        out.extend_from_slice(&self.base_fee.to_be_bytes::<32>());
        out.extend_from_slice(&self.blob_base_fee.to_be_bytes::<32>());
        out.extend_from_slice(self.block_hash.as_slice());
        out.extend_from_slice(self.batcher_hash.as_slice());
    }

    /// The calldata layout for a block at `timestamp`: the activation block of a fork still uses
    /// the previous fork's layout.
    pub fn encode_for(
        &self,
        forks: &ForkSchedule,
        parent_timestamp: u64,
        timestamp: u64,
    ) -> Result<Vec<u8>, L1InfoError> {
        let isthmus = forks.is_active(Fork::Isthmus, timestamp)
            && !forks.is_activation_block(Fork::Isthmus, parent_timestamp, timestamp);
        let ecotone = forks.is_active(Fork::Ecotone, timestamp)
            && !forks.is_activation_block(Fork::Ecotone, parent_timestamp, timestamp);
        if isthmus {
            Ok(self.encode_isthmus())
        } else if ecotone || forks.is_active(Fork::Isthmus, timestamp) {
            Ok(self.encode_ecotone())
        } else {
            Err(L1InfoError::PreEcotone)
        }
    }

    /// Decodes Ecotone or Isthmus calldata.
    pub fn decode(data: &[u8]) -> Result<Self, L1InfoError> {
        let sel = data.get(..4).ok_or(L1InfoError::Length {
            got: data.len(),
            want: ECOTONE_LEN,
        })?;
        let want = match sel {
            s if s == ECOTONE_SELECTOR => ECOTONE_LEN,
            s if s == ISTHMUS_SELECTOR => ISTHMUS_LEN,
            s => return Err(L1InfoError::Selector(alloy::primitives::hex::encode(s))),
        };
        if data.len() != want {
            return Err(L1InfoError::Length {
                got: data.len(),
                want,
            });
        }
        let u32_at =
            |i: usize| u32::from_be_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]);
        let u64_at = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&data[i..i + 8]);
            u64::from_be_bytes(b)
        };
        let word = |i: usize| B256::from_slice(&data[i..i + 32]);
        let mut info = Self {
            base_fee_scalar: u32_at(4),
            blob_base_fee_scalar: u32_at(8),
            sequence_number: u64_at(12),
            time: u64_at(20),
            number: u64_at(28),
            base_fee: U256::from_be_bytes(word(36).0),
            blob_base_fee: U256::from_be_bytes(word(68).0),
            block_hash: word(100),
            batcher_hash: word(132),
            ..Default::default()
        };
        if want == ISTHMUS_LEN {
            info.operator_fee_scalar = u32_at(164);
            info.operator_fee_constant = u64_at(168);
        }
        Ok(info)
    }

    /// The batcher address from `batcher_hash`.
    pub fn batcher(&self) -> Address {
        Address::from_slice(&self.batcher_hash[12..])
    }
}

/// Builds the L1-info deposit transaction for a block.
pub fn l1_info_deposit(info: &L1BlockInfo, calldata: Vec<u8>) -> TxDeposit {
    let source = L1InfoDepositSource::new(info.block_hash, info.sequence_number);
    TxDeposit {
        source_hash: source.source_hash(),
        from: L1_INFO_DEPOSITOR,
        to: TxKind::Call(L1_BLOCK),
        mint: 0,
        value: U256::ZERO,
        gas_limit: L1_INFO_GAS,
        is_system_transaction: false,
        input: Bytes::from(calldata),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> L1BlockInfo {
        L1BlockInfo {
            number: 0x1122,
            time: 0x3344,
            base_fee: U256::from(7_000_000_000u64),
            block_hash: B256::repeat_byte(0xab),
            sequence_number: 3,
            batcher_hash: B256::left_padding_from(&[0x42; 20]),
            blob_base_fee: U256::from(1),
            base_fee_scalar: 1368,
            blob_base_fee_scalar: 810949,
            operator_fee_scalar: 7,
            operator_fee_constant: 9,
        }
    }

    #[test]
    fn layouts_round_trip() {
        let info = sample();
        let e = info.encode_ecotone();
        assert_eq!(e.len(), ECOTONE_LEN);
        // Offsets from the spec: seqNum at [12,20), l1 number at [28,36), hash at [100,132).
        assert_eq!(&e[12..20], &3u64.to_be_bytes());
        assert_eq!(&e[28..36], &0x1122u64.to_be_bytes());
        assert_eq!(&e[100..132], info.block_hash.as_slice());
        let dec = L1BlockInfo::decode(&e).unwrap();
        assert_eq!(
            dec,
            L1BlockInfo {
                operator_fee_scalar: 0,
                operator_fee_constant: 0,
                ..info
            }
        );
        let i = info.encode_isthmus();
        assert_eq!(i.len(), ISTHMUS_LEN);
        assert_eq!(&i[164..168], &7u32.to_be_bytes());
        assert_eq!(&i[168..176], &9u64.to_be_bytes());
        assert_eq!(L1BlockInfo::decode(&i).unwrap(), info);
        assert_eq!(info.batcher(), Address::repeat_byte(0x42));
    }

    #[test]
    fn rejects_bad_calldata() {
        assert!(matches!(
            L1BlockInfo::decode(&[1, 2, 3, 4]),
            Err(L1InfoError::Selector(_))
        ));
        let mut e = sample().encode_isthmus();
        e.pop();
        assert_eq!(
            L1BlockInfo::decode(&e),
            Err(L1InfoError::Length {
                got: 175,
                want: 176
            })
        );
        assert!(L1BlockInfo::decode(&[]).is_err());
    }

    #[test]
    fn activation_block_uses_previous_layout() {
        let forks = ForkSchedule {
            regolith: Some(0),
            canyon: Some(0),
            delta: Some(0),
            ecotone: Some(0),
            isthmus: Some(10),
            fjord: Some(0),
            granite: Some(0),
            holocene: Some(0),
            ..Default::default()
        };
        let info = sample();
        assert_eq!(info.encode_for(&forks, 8, 10).unwrap().len(), ECOTONE_LEN);
        assert_eq!(info.encode_for(&forks, 10, 12).unwrap().len(), ISTHMUS_LEN);
        // Isthmus at genesis: no parent before activation, so the genesis child uses Isthmus.
        let all = ForkSchedule::all_through_isthmus();
        assert_eq!(info.encode_for(&all, 0, 2).unwrap().len(), ISTHMUS_LEN);
    }

    #[test]
    fn deposit_fields() {
        let info = sample();
        let tx = l1_info_deposit(&info, info.encode_isthmus());
        assert_eq!(tx.from, L1_INFO_DEPOSITOR);
        assert_eq!(tx.to, TxKind::Call(L1_BLOCK));
        assert_eq!(tx.gas_limit, 1_000_000);
        assert!(!tx.is_system_transaction);
        // sourceHash = keccak(bytes32(1) ++ keccak(l1Hash ++ bytes32(seq)))
        let inner = alloy::primitives::keccak256(
            [
                info.block_hash.as_slice(),
                &U256::from(3).to_be_bytes::<32>(),
            ]
            .concat(),
        );
        let want = alloy::primitives::keccak256(
            [
                U256::from(1).to_be_bytes::<32>().as_slice(),
                inner.as_slice(),
            ]
            .concat(),
        );
        assert_eq!(tx.source_hash, want);
    }
}
