//! The stored form of a block's receipts.
//!
//! A receipt's consensus encoding carries a 256-byte logs bloom, about nine tenths of a plain
//! transfer's receipt, where it is all zeros. The store keeps each receipt as an RLP list
//! `[type, status, cumulative gas, logs, bloom]`, where the bloom is the empty string when there
//! are no logs (the bloom is then zero) and the 256 bytes otherwise: recomputing it from the logs
//! would make reading a block of token transfers several times slower. Deposits add `[nonce?]`
//! and `[receipt version?]`, lists of zero or one item. The block's list of these is what the
//! store's `receipts` table holds.

use alloy::{
    consensus::{Eip658Value, Receipt, ReceiptWithBloom},
    primitives::{Bloom, Log},
};
use alloy_rlp::{Decodable, Encodable, Error, Header};
use op_alloy::consensus::{OpDepositReceipt, OpReceiptEnvelope, OpTxType};

/// Appends the stored form of `receipts` to `out`.
pub fn encode_receipts(receipts: &[OpReceiptEnvelope], out: &mut Vec<u8>) {
    let payload_length = receipts.iter().map(stored_length).sum();
    Header {
        list: true,
        payload_length,
    }
    .encode(out);
    for r in receipts {
        Header {
            list: true,
            payload_length: fields_length(r),
        }
        .encode(out);
        (r.tx_type() as u8).encode(out);
        r.status().encode(out);
        r.cumulative_gas_used().encode(out);
        alloy_rlp::encode_list(r.logs(), out);
        stored_bloom(r).encode(out);
        if let Some(d) = r.as_deposit_receipt() {
            encode_optional(d.deposit_nonce, out);
            encode_optional(d.deposit_receipt_version, out);
        }
    }
}

/// Decodes what [`encode_receipts`] wrote.
pub fn decode_receipts(mut bytes: &[u8]) -> Result<Vec<OpReceiptEnvelope>, Error> {
    let mut list = list_payload(&mut bytes)?;
    if !bytes.is_empty() {
        return Err(Error::Custom("bytes after the receipt list"));
    }
    let mut out = Vec::new();
    while !list.is_empty() {
        out.push(decode_receipt(&mut list)?);
    }
    Ok(out)
}

fn decode_receipt(buf: &mut &[u8]) -> Result<OpReceiptEnvelope, Error> {
    let mut fields = list_payload(buf)?;
    let tx_type = OpTxType::try_from(u8::decode(&mut fields)?)
        .map_err(|_| Error::Custom("unknown receipt type"))?;
    let receipt = Receipt {
        status: Eip658Value::Eip658(bool::decode(&mut fields)?),
        cumulative_gas_used: u64::decode(&mut fields)?,
        logs: Vec::<Log>::decode(&mut fields)?,
    };
    let bloom = Header::decode_bytes(&mut fields, false)?;
    let logs_bloom = match (bloom.len(), receipt.logs.is_empty()) {
        (0, true) => Bloom::ZERO,
        (256, false) => Bloom::from_slice(bloom),
        _ => return Err(Error::Custom("stored bloom does not match the logs")),
    };
    let with_bloom = |receipt| ReceiptWithBloom::new(receipt, logs_bloom);
    let envelope = match tx_type {
        OpTxType::Deposit => OpReceiptEnvelope::Deposit(ReceiptWithBloom::new(
            OpDepositReceipt {
                inner: receipt,
                deposit_nonce: decode_optional(&mut fields)?,
                deposit_receipt_version: decode_optional(&mut fields)?,
            },
            logs_bloom,
        )),
        OpTxType::Legacy => OpReceiptEnvelope::Legacy(with_bloom(receipt)),
        OpTxType::Eip2930 => OpReceiptEnvelope::Eip2930(with_bloom(receipt)),
        OpTxType::Eip1559 => OpReceiptEnvelope::Eip1559(with_bloom(receipt)),
        OpTxType::Eip7702 => OpReceiptEnvelope::Eip7702(with_bloom(receipt)),
        OpTxType::PostExec => OpReceiptEnvelope::PostExec(with_bloom(receipt)),
    };
    if !fields.is_empty() {
        return Err(Error::Custom("trailing fields in a stored receipt"));
    }
    Ok(envelope)
}

/// Bytes of one stored receipt, its list header included.
fn stored_length(r: &OpReceiptEnvelope) -> usize {
    let fields = fields_length(r);
    Header {
        list: true,
        payload_length: fields,
    }
    .length()
        + fields
}

fn fields_length(r: &OpReceiptEnvelope) -> usize {
    let deposit = r.as_deposit_receipt().map_or(0, |d| {
        optional_length(d.deposit_nonce) + optional_length(d.deposit_receipt_version)
    });
    (r.tx_type() as u8).length()
        + r.status().length()
        + r.cumulative_gas_used().length()
        + alloy_rlp::list_length(r.logs())
        + stored_bloom(r).length()
        + deposit
}

/// The bloom as stored: nothing without logs (it is zero), else its 256 bytes.
fn stored_bloom(r: &OpReceiptEnvelope) -> &[u8] {
    if r.logs().is_empty() {
        &[]
    } else {
        r.logs_bloom().as_slice()
    }
}

/// `None` as an empty list, `Some(n)` as a list of `n`.
fn encode_optional(v: Option<u64>, out: &mut Vec<u8>) {
    Header {
        list: true,
        payload_length: v.map_or(0, |n| n.length()),
    }
    .encode(out);
    if let Some(n) = v {
        n.encode(out);
    }
}

fn optional_length(v: Option<u64>) -> usize {
    let payload = v.map_or(0, |n| n.length());
    Header {
        list: true,
        payload_length: payload,
    }
    .length()
        + payload
}

fn decode_optional(buf: &mut &[u8]) -> Result<Option<u64>, Error> {
    let mut item = list_payload(buf)?;
    if item.is_empty() {
        return Ok(None);
    }
    let n = u64::decode(&mut item)?;
    if !item.is_empty() {
        return Err(Error::Custom("more than one item in an optional field"));
    }
    Ok(Some(n))
}

/// Reads a list header and returns its payload, advancing `buf` past it.
fn list_payload<'a>(buf: &mut &'a [u8]) -> Result<&'a [u8], Error> {
    let header = Header::decode(buf)?;
    if !header.list {
        return Err(Error::UnexpectedString);
    }
    if buf.len() < header.payload_length {
        return Err(Error::InputTooShort);
    }
    let (payload, rest) = buf.split_at(header.payload_length);
    *buf = rest;
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use alloy::{
        eips::eip2718::Encodable2718,
        primitives::{Address, B256, Bytes, LogData},
    };

    use super::*;

    fn log(i: u8, topics: usize) -> Log {
        Log {
            address: Address::repeat_byte(i),
            data: LogData::new_unchecked(
                (0..topics)
                    .map(|t| B256::repeat_byte(i ^ t as u8))
                    .collect(),
                Bytes::from(vec![i; i as usize]),
            ),
        }
    }

    fn receipts() -> Vec<OpReceiptEnvelope> {
        let logs = [log(1, 0), log(2, 4), log(200, 2)];
        let mut out = vec![];
        for (i, ty) in [
            OpTxType::Legacy,
            OpTxType::Eip2930,
            OpTxType::Eip1559,
            OpTxType::Eip7702,
            OpTxType::Deposit,
        ]
        .into_iter()
        .enumerate()
        {
            for (status, logs) in [(true, &logs[..]), (false, &[][..]), (true, &logs[1..2])] {
                for deposit in [(None, None), (Some(0), Some(1)), (Some(u64::MAX), None)] {
                    out.push(OpReceiptEnvelope::from_parts(
                        status,
                        21_000 * (i as u64 + 1),
                        logs,
                        ty,
                        deposit.0,
                        deposit.1,
                    ));
                }
            }
        }
        out
    }

    #[test]
    fn stored_receipts_decode_to_the_same_consensus_receipts() {
        let original = receipts();
        let mut stored = vec![];
        encode_receipts(&original, &mut stored);
        let decoded = decode_receipts(&stored).unwrap();
        assert_eq!(decoded, original);
        // The consensus encodings (and any receipts root over them) agree byte for byte.
        for (d, o) in decoded.iter().zip(&original) {
            assert_eq!(d.encoded_2718(), o.encoded_2718());
            assert_eq!(d.logs_bloom(), o.logs_bloom());
        }
        // The stored form leaves out the blooms of receipts without logs.
        let mut consensus = vec![];
        alloy_rlp::encode_list(&original, &mut consensus);
        let without_logs = original.iter().filter(|r| r.logs().is_empty()).count();
        assert!(without_logs > 0);
        assert!(stored.len() + 256 * without_logs <= consensus.len() + 8);
        assert_eq!(decode_receipts(&[0xc0]).unwrap(), vec![]);
    }

    #[test]
    fn malformed_stored_receipts_are_errors() {
        let mut one = vec![];
        encode_receipts(&receipts()[..1], &mut one);
        let mut trailing = one.clone();
        trailing.push(0x80);
        // A receipt of type 9: [9, true, 1, [], ""].
        let unknown_type = [0xc6, 0xc5, 0x09, 0x01, 0x01, 0xc0, 0x80];
        // A legacy receipt with a sixth field: [0, true, 1, [], "", 0].
        let extra_field = [0xc7, 0xc6, 0x80, 0x01, 0x01, 0xc0, 0x80, 0x80];
        // A deposit receipt whose nonce field holds two items.
        let two_nonces = [
            0xca, 0xc9, 0x7e, 0x01, 0x01, 0xc0, 0x80, 0xc2, 0x01, 0x02, 0xc0,
        ];
        // A legacy receipt without logs but with a bloom: [0, true, 1, [], 0xff].
        let bloom_without_logs = [0xc7, 0xc6, 0x80, 0x01, 0x01, 0xc0, 0x81, 0xff];
        for bad in [
            &[][..],
            &one[..one.len() - 1],
            &trailing,
            &[0x80],
            &unknown_type,
            &extra_field,
            &two_nonces,
            &bloom_without_logs,
        ] {
            assert!(decode_receipts(bad).is_err(), "{bad:02x?}");
        }
    }
}
