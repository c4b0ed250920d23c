//! The ledger's storage layout: every record lives in the ledger account at
//! `slot(ns, key) = keccak256(uint8 ns ‖ bytes32 key)`, field `i` at `slot + i`.
//!
//! Packed fields put the first-named field in the lowest bits. The layout is part of the
//! precompile's versioned behaviour (config field 0 holds [`SCHEMA_VERSION`]); the RPC and the
//! record proofs read the same slots.

use alloy_primitives::{Address, B256, U256, keccak256};

/// Schema version stored in config field 0.
pub const SCHEMA_VERSION: u64 = 1;

/// Storage namespaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Ns {
    /// Config (key 0): schema version, packed fee bps, treasury, staker pool.
    Config = 0,
    /// Role by address.
    Role = 1,
    /// Model by model id.
    Model = 2,
    /// Datanet by datanet id.
    Datanet = 3,
    /// Inference record by inference id.
    Inference = 4,
    /// Claimable balance by address.
    Claimable = 5,
    /// Last batch nonce by attestor.
    BatchNonce = 6,
    /// Batch record by batch hash (an Opal addition; see `docs/attribution.md`).
    Batch = 7,
}

/// An address as a 32-byte key (left-padded, as ABI encodes it).
pub fn address_key(a: Address) -> B256 {
    a.into_word()
}

/// The base slot of a record: `keccak256(uint8 ns ‖ key)`.
pub fn slot(ns: Ns, key: B256) -> U256 {
    let mut pre = [0u8; 33];
    pre[0] = ns as u8;
    pre[1..].copy_from_slice(key.as_slice());
    U256::from_be_bytes(keccak256(pre).0)
}

/// Field `i` of a record.
pub fn field(ns: Ns, key: B256, i: u64) -> U256 {
    slot(ns, key).wrapping_add(U256::from(i))
}

/// Roles, as `roleOf` returns them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Role {
    /// No role.
    None = 0,
    /// May record inferences and batches.
    Attestor = 1,
    /// May register models and datanets.
    Registrar = 2,
    /// Governance: fee config and roles (and registration).
    Admin = 3,
}

impl Role {
    /// The role a stored value names; unknown values read as `None`.
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => Self::None,
            1 => Self::Attestor,
            2 => Self::Registrar,
            3 => Self::Admin,
            _ => return None,
        })
    }
}

fn low_bits(v: U256, shift: usize, bits: usize) -> U256 {
    (v >> shift) & ((U256::from(1) << bits) - U256::from(1))
}

fn addr_of(v: U256) -> Address {
    Address::from_word(B256::from(low_bits(v, 0, 160)))
}

/// Fee configuration (config fields 1–3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FeeConfig {
    /// Protocol, model, staker and contributor basis points (sum 10,000).
    pub bps: [u16; 4],
    /// Receives the protocol pool.
    pub treasury: Address,
    /// Receives the staker pool.
    pub staker_pool: Address,
}

impl FeeConfig {
    /// Config field 1: the four bps, 16 bits each, protocol lowest.
    pub fn packed_bps(&self) -> U256 {
        self.bps
            .iter()
            .enumerate()
            .fold(U256::ZERO, |acc, (i, b)| acc | (U256::from(*b) << (16 * i)))
    }

    /// Reads fields 1–3.
    pub fn from_words(packed: U256, treasury: U256, staker_pool: U256) -> Self {
        let mut bps = [0u16; 4];
        for (i, b) in bps.iter_mut().enumerate() {
            *b = low_bits(packed, 16 * i, 16).to::<u16>();
        }
        Self {
            bps,
            treasury: addr_of(treasury),
            staker_pool: addr_of(staker_pool),
        }
    }
}

/// A registered model (namespace 2, three fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ModelRecord {
    /// Owner (non-zero for a registered model).
    pub owner: Address,
    /// Tokenizer id.
    pub tokenizer_id: u32,
    /// Receives the model pool.
    pub payout: Address,
    /// Fees of every inference recorded for the model.
    pub cumulative_fees: u128,
    /// Inferences recorded for the model.
    pub inferences: u64,
}

impl ModelRecord {
    /// Fields 0–2: `owner | tokenizerId << 160`, `payout`, `cumulativeFees | inferences << 128`.
    pub fn to_words(&self) -> [U256; 3] {
        [
            U256::from_be_bytes(self.owner.into_word().0) | (U256::from(self.tokenizer_id) << 160),
            U256::from_be_bytes(self.payout.into_word().0),
            U256::from(self.cumulative_fees) | (U256::from(self.inferences) << 128),
        ]
    }

    /// Inverse of [`Self::to_words`].
    pub fn from_words(w: [U256; 3]) -> Self {
        Self {
            owner: addr_of(w[0]),
            tokenizer_id: low_bits(w[0], 160, 32).to::<u32>(),
            payout: addr_of(w[1]),
            cumulative_fees: low_bits(w[2], 0, 128).to::<u128>(),
            inferences: low_bits(w[2], 128, 64).to::<u64>(),
        }
    }

    /// Whether the record names a registered model.
    pub fn exists(&self) -> bool {
        self.owner != Address::ZERO
    }
}

/// A registered datanet (namespace 3, three fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DatanetRecord {
    /// Owner (non-zero for a registered datanet).
    pub owner: Address,
    /// Latest published version (0 before the first).
    pub version: u64,
    /// Root of the contribution tree of that version.
    pub contribution_root: B256,
    /// Root of the n-gram fingerprint tree of that version.
    pub fingerprint_root: B256,
}

impl DatanetRecord {
    /// Fields 0–2: `owner | version << 160`, `contributionRoot`, `fingerprintRoot`.
    pub fn to_words(&self) -> [U256; 3] {
        [
            U256::from_be_bytes(self.owner.into_word().0) | (U256::from(self.version) << 160),
            U256::from_be_bytes(self.contribution_root.0),
            U256::from_be_bytes(self.fingerprint_root.0),
        ]
    }

    /// Inverse of [`Self::to_words`].
    pub fn from_words(w: [U256; 3]) -> Self {
        Self {
            owner: addr_of(w[0]),
            version: low_bits(w[0], 160, 64).to::<u64>(),
            contribution_root: B256::from(w[1]),
            fingerprint_root: B256::from(w[2]),
        }
    }

    /// Whether the record names a registered datanet.
    pub fn exists(&self) -> bool {
        self.owner != Address::ZERO
    }
}

/// A recorded inference (namespace 4, three fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InferenceRecord {
    /// `recordHash` (for batch entries: the batch hash).
    pub record_hash: B256,
    /// Model id.
    pub model_id: B256,
    /// Block the inference was recorded in.
    pub block_number: u64,
    /// Its fee.
    pub fee: u128,
    /// Number of shares attested.
    pub n_shares: u32,
}

impl InferenceRecord {
    /// Fields 0–2: `recordHash`, `modelId`, `blockNumber | fee << 64 | nShares << 192`.
    pub fn to_words(&self) -> [U256; 3] {
        [
            U256::from_be_bytes(self.record_hash.0),
            U256::from_be_bytes(self.model_id.0),
            U256::from(self.block_number)
                | (U256::from(self.fee) << 64)
                | (U256::from(self.n_shares) << 192),
        ]
    }

    /// Inverse of [`Self::to_words`].
    pub fn from_words(w: [U256; 3]) -> Self {
        Self {
            record_hash: B256::from(w[0]),
            model_id: B256::from(w[1]),
            block_number: low_bits(w[2], 0, 64).to::<u64>(),
            fee: low_bits(w[2], 64, 128).to::<u128>(),
            n_shares: low_bits(w[2], 192, 32).to::<u32>(),
        }
    }

    /// Whether an inference is recorded (a record hash is never zero).
    pub fn exists(&self) -> bool {
        self.record_hash != B256::ZERO
    }
}

/// A recorded batch (namespace 7, keyed by batch hash, three fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BatchRecord {
    /// The attestor that recorded it.
    pub attestor: Address,
    /// Number of inferences.
    pub inferences: u32,
    /// Model id.
    pub model_id: B256,
    /// Block the batch was recorded in.
    pub block_number: u64,
    /// Sum of the fees.
    pub total_fee: u128,
}

impl BatchRecord {
    /// Fields 0–2: `attestor | inferences << 160`, `modelId`, `blockNumber | totalFee << 64`.
    pub fn to_words(&self) -> [U256; 3] {
        [
            U256::from_be_bytes(self.attestor.into_word().0) | (U256::from(self.inferences) << 160),
            U256::from_be_bytes(self.model_id.0),
            U256::from(self.block_number) | (U256::from(self.total_fee) << 64),
        ]
    }

    /// Inverse of [`Self::to_words`].
    pub fn from_words(w: [U256; 3]) -> Self {
        Self {
            attestor: addr_of(w[0]),
            inferences: low_bits(w[0], 160, 32).to::<u32>(),
            model_id: B256::from(w[1]),
            block_number: low_bits(w[2], 0, 64).to::<u64>(),
            total_fee: low_bits(w[2], 64, 128).to::<u128>(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{address, b256};

    #[test]
    fn slot_is_keccak_of_ns_and_key() {
        let key = b256!("0x00000000000000000000000000000000000000000000000000000000000000aa");
        let mut pre = vec![5u8];
        pre.extend_from_slice(key.as_slice());
        assert_eq!(
            slot(Ns::Claimable, key),
            U256::from_be_bytes(keccak256(&pre).0)
        );
        assert_eq!(
            field(Ns::Claimable, key, 2),
            slot(Ns::Claimable, key) + U256::from(2)
        );
        assert_ne!(slot(Ns::Role, key), slot(Ns::Claimable, key));
    }

    #[test]
    fn records_round_trip_at_field_extremes() {
        let m = ModelRecord {
            owner: address!("0xffffffffffffffffffffffffffffffffffffffff"),
            tokenizer_id: u32::MAX,
            payout: address!("0x0000000000000000000000000000000000000001"),
            cumulative_fees: u128::MAX,
            inferences: u64::MAX,
        };
        assert_eq!(ModelRecord::from_words(m.to_words()), m);
        let d = DatanetRecord {
            owner: address!("0x8000000000000000000000000000000000000001"),
            version: u64::MAX,
            contribution_root: B256::repeat_byte(0xab),
            fingerprint_root: B256::repeat_byte(0xcd),
        };
        assert_eq!(DatanetRecord::from_words(d.to_words()), d);
        let r = InferenceRecord {
            record_hash: B256::repeat_byte(1),
            model_id: B256::repeat_byte(2),
            block_number: u64::MAX,
            fee: u128::MAX,
            n_shares: u32::MAX,
        };
        assert_eq!(InferenceRecord::from_words(r.to_words()), r);
        let b = BatchRecord {
            attestor: address!("0xffffffffffffffffffffffffffffffffffffffff"),
            inferences: u32::MAX,
            model_id: B256::repeat_byte(3),
            block_number: u64::MAX,
            total_fee: u128::MAX,
        };
        assert_eq!(BatchRecord::from_words(b.to_words()), b);
        let c = FeeConfig {
            bps: [100, 2000, 500, 7400],
            treasury: address!("0x00000000000000000000000000000000000000aa"),
            staker_pool: address!("0x00000000000000000000000000000000000000bb"),
        };
        let packed = c.packed_bps();
        assert_eq!(
            packed,
            U256::from(100u64 | (2000 << 16) | (500 << 32) | (7400u64 << 48))
        );
        assert_eq!(
            FeeConfig::from_words(
                packed,
                U256::from_be_bytes(c.treasury.into_word().0),
                U256::from_be_bytes(c.staker_pool.into_word().0)
            ),
            c
        );
    }
}
