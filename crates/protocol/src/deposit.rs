//! User deposits: the OptimismPortal's `TransactionDeposited` log on L1 turned into a deposit
//! transaction (type 0x7E) on L2.

use alloy::primitives::{Address, B256, Bytes, Log, TxKind, U256, b256};
use op_alloy::consensus::{TxDeposit, UserDepositSource};

/// `keccak("TransactionDeposited(address,address,uint256,bytes)")`.
pub const DEPOSIT_EVENT_TOPIC: B256 =
    b256!("0xb3813568d9991fc951961fcb4c784893574240a28925604d09fc577c55bb7c32");

/// Why a log is not a valid deposit.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DepositError {
    /// Wrong emitter, topic count or topic 0.
    #[error("not a TransactionDeposited log of the deposit contract")]
    NotDeposit,
    /// An address topic has non-zero padding.
    #[error("address topic has non-zero padding")]
    BadAddressTopic,
    /// Only version 0 is defined.
    #[error("unsupported deposit version {0}")]
    Version(U256),
    /// The ABI `bytes` wrapper or the packed opaque data is malformed.
    #[error("malformed opaque data: {0}")]
    Malformed(&'static str),
}

fn address_topic(t: &B256) -> Result<Address, DepositError> {
    if t[..12].iter().any(|b| *b != 0) {
        return Err(DepositError::BadAddressTopic);
    }
    Ok(Address::from_slice(&t[12..]))
}

/// Decodes a deposit log emitted by `portal` at `log_index` (counted over all logs of the L1 block)
/// in the L1 block `l1_block_hash`.
pub fn decode_deposit_log(
    log: &Log,
    portal: Address,
    l1_block_hash: B256,
    log_index: u64,
) -> Result<TxDeposit, DepositError> {
    let topics = log.topics();
    if log.address != portal || topics.len() != 4 || topics[0] != DEPOSIT_EVENT_TOPIC {
        return Err(DepositError::NotDeposit);
    }
    let from = address_topic(&topics[1])?;
    let to = address_topic(&topics[2])?;
    let version = U256::from_be_bytes(topics[3].0);
    if !version.is_zero() {
        return Err(DepositError::Version(version));
    }
    let data = log.data.data.as_ref();
    // ABI `bytes`: offset (32) ++ length (32) ++ content, padded to 32.
    if data.len() < 64 {
        return Err(DepositError::Malformed("shorter than the bytes header"));
    }
    if U256::from_be_slice(&data[..32]) != U256::from(32) {
        return Err(DepositError::Malformed("bytes offset is not 32"));
    }
    let len = U256::from_be_slice(&data[32..64]);
    let len: usize = len
        .try_into()
        .map_err(|_| DepositError::Malformed("length overflows"))?;
    let padded = len.div_ceil(32) * 32;
    if data.len() != 64 + padded {
        return Err(DepositError::Malformed("length does not match the data"));
    }
    if data[64 + len..].iter().any(|b| *b != 0) {
        return Err(DepositError::Malformed("non-zero padding"));
    }
    let opaque = &data[64..64 + len];
    if opaque.len() < 73 {
        return Err(DepositError::Malformed("opaque data shorter than 73 bytes"));
    }
    let mint = U256::from_be_slice(&opaque[..32]);
    let value = U256::from_be_slice(&opaque[32..64]);
    let mut gas = [0u8; 8];
    gas.copy_from_slice(&opaque[64..72]);
    let is_creation = opaque[72] != 0;
    let mint: u128 = mint
        .try_into()
        .map_err(|_| DepositError::Malformed("mint above 2^128"))?;
    Ok(TxDeposit {
        source_hash: UserDepositSource::new(l1_block_hash, log_index).source_hash(),
        from,
        to: if is_creation {
            TxKind::Create
        } else {
            TxKind::Call(to)
        },
        mint,
        value,
        gas_limit: u64::from_be_bytes(gas),
        is_system_transaction: false,
        input: Bytes::copy_from_slice(&opaque[73..]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{LogData, keccak256};

    fn log(portal: Address, opaque: &[u8]) -> Log {
        let mut data = U256::from(32).to_be_bytes::<32>().to_vec();
        data.extend(U256::from(opaque.len()).to_be_bytes::<32>());
        data.extend(opaque);
        data.resize(64 + opaque.len().div_ceil(32) * 32, 0);
        Log {
            address: portal,
            data: LogData::new_unchecked(
                vec![
                    DEPOSIT_EVENT_TOPIC,
                    B256::left_padding_from(&[1; 20]),
                    B256::left_padding_from(&[2; 20]),
                    B256::ZERO,
                ],
                data.into(),
            ),
        }
    }

    fn opaque(mint: u64, value: u64, gas: u64, create: bool, data: &[u8]) -> Vec<u8> {
        let mut o = U256::from(mint).to_be_bytes::<32>().to_vec();
        o.extend(U256::from(value).to_be_bytes::<32>());
        o.extend(gas.to_be_bytes());
        o.push(create as u8);
        o.extend(data);
        o
    }

    #[test]
    fn topic_is_the_event_signature() {
        assert_eq!(
            keccak256("TransactionDeposited(address,address,uint256,bytes)"),
            DEPOSIT_EVENT_TOPIC
        );
    }

    #[test]
    fn decodes_call_and_create() {
        let portal = Address::repeat_byte(9);
        let l1 = B256::repeat_byte(7);
        let tx = decode_deposit_log(
            &log(portal, &opaque(5, 3, 100_000, false, b"hi")),
            portal,
            l1,
            4,
        )
        .unwrap();
        assert_eq!(
            (tx.mint, tx.value, tx.gas_limit),
            (5, U256::from(3), 100_000)
        );
        assert_eq!(tx.to, TxKind::Call(Address::repeat_byte(2)));
        assert_eq!(tx.from, Address::repeat_byte(1));
        assert_eq!(tx.input.as_ref(), b"hi");
        let inner = keccak256([l1.as_slice(), &U256::from(4).to_be_bytes::<32>()].concat());
        assert_eq!(
            tx.source_hash,
            keccak256([[0u8; 32].as_slice(), inner.as_slice()].concat())
        );
        let tx = decode_deposit_log(
            &log(portal, &opaque(0, 0, 21_000, true, &[])),
            portal,
            l1,
            0,
        )
        .unwrap();
        assert_eq!(tx.to, TxKind::Create);
    }

    #[test]
    fn rejects_malformed() {
        let portal = Address::repeat_byte(9);
        let good = log(portal, &opaque(1, 1, 1, false, &[]));
        assert_eq!(
            decode_deposit_log(&good, Address::ZERO, B256::ZERO, 0),
            Err(DepositError::NotDeposit)
        );
        let short = log(portal, &[0u8; 72]);
        assert!(matches!(
            decode_deposit_log(&short, portal, B256::ZERO, 0),
            Err(DepositError::Malformed(_))
        ));
        let mut bad = good.clone();
        let mut d = bad.data.data.to_vec();
        d.truncate(70);
        bad.data = LogData::new_unchecked(bad.data.topics().to_vec(), d.into());
        assert!(matches!(
            decode_deposit_log(&bad, portal, B256::ZERO, 0),
            Err(DepositError::Malformed(_))
        ));
    }
}
