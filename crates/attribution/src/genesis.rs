//! The ledger's genesis state: schema version, fee configuration and initial roles, as storage
//! words of the ledger account. The devnet genesis generator writes them; nodes read the fee
//! configuration back with [`crate::index::AttributionIndex::genesis_fee_config`].

use std::collections::BTreeMap;

use alloy_primitives::{Address, B256, U256};

use crate::layout::{FeeConfig, Ns, Role, SCHEMA_VERSION, address_key, field, slot};

/// The config record's key (namespace 0).
pub const CONFIG_KEY: B256 = B256::ZERO;

/// What the ledger starts with.
#[derive(Debug, Clone, Default)]
pub struct LedgerGenesis {
    /// Fee configuration.
    pub fee_config: FeeConfig,
    /// Initial roles.
    pub roles: Vec<(Address, Role)>,
}

impl LedgerGenesis {
    /// The ledger account's storage: slot 0 and config field 0 hold the schema version, config
    /// fields 1–3 the fee configuration, then one word per role.
    pub fn storage(&self) -> BTreeMap<U256, U256> {
        let c = &self.fee_config;
        let mut s = BTreeMap::new();
        s.insert(U256::ZERO, U256::from(SCHEMA_VERSION));
        s.insert(field(Ns::Config, CONFIG_KEY, 0), U256::from(SCHEMA_VERSION));
        s.insert(field(Ns::Config, CONFIG_KEY, 1), c.packed_bps());
        s.insert(
            field(Ns::Config, CONFIG_KEY, 2),
            U256::from_be_bytes(c.treasury.into_word().0),
        );
        s.insert(
            field(Ns::Config, CONFIG_KEY, 3),
            U256::from_be_bytes(c.staker_pool.into_word().0),
        );
        for (account, role) in &self.roles {
            s.insert(
                slot(Ns::Role, address_key(*account)),
                U256::from(*role as u8),
            );
        }
        s.retain(|_, v| !v.is_zero());
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fee_config_round_trips_through_storage() {
        let g = LedgerGenesis {
            fee_config: FeeConfig {
                bps: [500, 2000, 500, 7000],
                treasury: Address::repeat_byte(1),
                staker_pool: Address::repeat_byte(2),
            },
            roles: vec![(Address::repeat_byte(3), Role::Admin)],
        };
        let s = g.storage();
        let words: BTreeMap<B256, B256> =
            s.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        assert_eq!(
            crate::index::AttributionIndex::genesis_fee_config(Some(&words)),
            g.fee_config
        );
        assert_eq!(s[&U256::ZERO], U256::from(SCHEMA_VERSION));
        assert_eq!(
            s[&slot(Ns::Role, address_key(Address::repeat_byte(3)))],
            U256::from(3)
        );
    }
}
