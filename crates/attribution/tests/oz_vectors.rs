//! OpenZeppelin conformance: every multiproof that `@openzeppelin/merkle-tree` builds (fixture
//! written by `contracts/scripts/oz-vectors.js`) verifies with [`verify_multi_proof`], with
//! [`contribution_leaf`] and through the MerkleMultiProof precompile, and flipping any single
//! leaf, item field, proof element or flag makes it fail.

use alloy::sol_types::SolCall;
use alloy_primitives::{Address, B256};
use opal_attribution::{
    abi::IMerkleMultiProof::{self, Contribution},
    merkle::{contribution_leaf, process_multi_proof, verify_multi_proof},
    precompiles::merkle_multi_proof,
};
use serde_json::Value;

const GAS: u64 = 10_000_000;

fn fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/oz-multiproof.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json")
}

fn b256(v: &Value) -> B256 {
    v.as_str().unwrap().parse().unwrap()
}

fn b256s(v: &Value) -> Vec<B256> {
    v.as_array().unwrap().iter().map(b256).collect()
}

fn flags(v: &Value) -> Vec<bool> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_bool().unwrap())
        .collect()
}

fn num<T: std::str::FromStr>(v: &Value) -> T
where
    T::Err: std::fmt::Debug,
{
    v.as_str().unwrap().parse().unwrap()
}

fn item(v: &Value) -> Contribution {
    Contribution {
        datanetId: b256(&v["datanetId"]),
        version: num(&v["version"]),
        index: num(&v["index"]),
        contributor: v["contributor"]
            .as_str()
            .unwrap()
            .parse::<Address>()
            .unwrap(),
        contentHash: b256(&v["contentHash"]),
        validationScore: num(&v["validationScore"]),
    }
}

/// The precompile's answer to `verify`; `None` if it did not succeed.
fn precompile_verify(root: B256, leaves: &[B256], proof: &[B256], fl: &[bool]) -> Option<bool> {
    let call = IMerkleMultiProof::verifyCall {
        root,
        leaves: leaves.to_vec(),
        proof: proof.to_vec(),
        proofFlags: fl.to_vec(),
    };
    let out = merkle_multi_proof(&call.abi_encode(), GAS);
    out.is_success()
        .then(|| IMerkleMultiProof::verifyCall::abi_decode_returns(&out.bytes).unwrap())
}

fn precompile_contributions(
    root: B256,
    items: &[Contribution],
    proof: &[B256],
    fl: &[bool],
) -> Option<bool> {
    let call = IMerkleMultiProof::verifyContributionsCall {
        root,
        items: items.to_vec(),
        proof: proof.to_vec(),
        proofFlags: fl.to_vec(),
    };
    let out = merkle_multi_proof(&call.abi_encode(), GAS);
    out.is_success().then(|| {
        IMerkleMultiProof::verifyContributionsCall::abi_decode_returns(&out.bytes).unwrap()
    })
}

/// Every single flip of a leaf bit, a proof bit or a flag fails, natively and in the precompile.
fn assert_flips_fail(name: &str, root: B256, leaves: &[B256], proof: &[B256], fl: &[bool]) {
    for i in 0..leaves.len() {
        let mut l = leaves.to_vec();
        l[i].0[i % 32] ^= 1 << (i % 8);
        assert!(!verify_multi_proof(root, &l, proof, fl), "{name}: leaf {i}");
        assert_ne!(
            precompile_verify(root, &l, proof, fl),
            Some(true),
            "{name}: leaf {i}"
        );
    }
    for i in 0..proof.len() {
        let mut p = proof.to_vec();
        p[i].0[31 - i % 32] ^= 0x80;
        assert!(
            !verify_multi_proof(root, leaves, &p, fl),
            "{name}: proof {i}"
        );
        assert_ne!(
            precompile_verify(root, leaves, &p, fl),
            Some(true),
            "{name}: proof {i}"
        );
    }
    for i in 0..fl.len() {
        let mut f = fl.to_vec();
        f[i] = !f[i];
        assert!(
            process_multi_proof(leaves, proof, &f).is_none(),
            "{name}: flag {i}"
        );
        assert_ne!(
            precompile_verify(root, leaves, proof, &f),
            Some(true),
            "{name}: flag {i}"
        );
    }
}

#[test]
fn raw_multiproofs_match_openzeppelin() {
    let doc = fixture();
    let vectors = doc["raw"].as_array().unwrap();
    assert!(vectors.len() >= 20);
    for v in vectors {
        let name = v["name"].as_str().unwrap();
        let (root, leaves, proof, fl) = (
            b256(&v["root"]),
            b256s(&v["leaves"]),
            b256s(&v["proof"]),
            flags(&v["proofFlags"]),
        );
        assert!(verify_multi_proof(root, &leaves, &proof, &fl), "{name}");
        assert_eq!(
            precompile_verify(root, &leaves, &proof, &fl),
            Some(true),
            "{name}"
        );
        assert_flips_fail(name, root, &leaves, &proof, &fl);
    }
}

#[test]
fn contribution_multiproofs_match_openzeppelin() {
    let doc = fixture();
    let vectors = doc["contributions"].as_array().unwrap();
    assert!(vectors.len() >= 20);
    let sizes: std::collections::BTreeSet<u64> = vectors
        .iter()
        .map(|v| v["size"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes.into_iter().collect::<Vec<_>>(), [1, 2, 3, 7, 64, 257]);
    for v in vectors {
        let name = v["name"].as_str().unwrap();
        let root = b256(&v["root"]);
        let items: Vec<Contribution> = v["items"].as_array().unwrap().iter().map(item).collect();
        let leaves: Vec<B256> = items.iter().map(contribution_leaf).collect();
        assert_eq!(leaves, b256s(&v["leafHashes"]), "{name}: leaf hashes");
        let (proof, fl) = (b256s(&v["proof"]), flags(&v["proofFlags"]));
        assert!(verify_multi_proof(root, &leaves, &proof, &fl), "{name}");
        assert_eq!(
            precompile_contributions(root, &items, &proof, &fl),
            Some(true),
            "{name}"
        );
        assert_eq!(
            precompile_verify(root, &leaves, &proof, &fl),
            Some(true),
            "{name}"
        );
        assert_flips_fail(name, root, &leaves, &proof, &fl);

        // A changed field of an item fails through the precompile (every item of the small
        // vectors, a spread of the large ones).
        let last = items.len().saturating_sub(1);
        for (i, it) in items.iter().enumerate() {
            if items.len() > 16 && !(i < 4 || i == last || i % 23 == 0) {
                continue;
            }
            for field in 0..6 {
                let mut changed = items.clone();
                let c = &mut changed[i];
                match field {
                    0 => c.datanetId.0[0] ^= 1,
                    1 => c.version ^= 1,
                    2 => c.index ^= 1 << 63,
                    3 => c.contributor.0[19] ^= 1,
                    4 => c.contentHash.0[31] ^= 1,
                    _ => c.validationScore = it.validationScore.wrapping_add(1),
                }
                assert_eq!(
                    precompile_contributions(root, &changed, &proof, &fl),
                    Some(false),
                    "{name}: item {i} field {field}"
                );
            }
        }
        // A wrong root is a clean `false`.
        let mut wrong = root;
        wrong.0[0] ^= 1;
        assert_eq!(
            precompile_contributions(wrong, &items, &proof, &fl),
            Some(false),
            "{name}"
        );
    }
}
