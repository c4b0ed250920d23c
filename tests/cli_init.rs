//! End to end: the `opal init` command on real files and a real database.

use std::{path::Path, process::Command};

fn opal() -> Command {
    Command::new(env!("CARGO_BIN_EXE_opal"))
}

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn run(args: &[&str]) -> (bool, String, String, Option<i32>) {
    let out = opal()
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
        out.status.code(),
    )
}

#[test]
fn init_prints_the_genesis_hash_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let genesis = repo().join("genesis/genesis.json");
    let rollup = repo().join("genesis/rollup.json");
    let rollup_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&rollup).unwrap()).unwrap();
    let want = rollup_json["genesis"]["l2"]["hash"]
        .as_str()
        .unwrap()
        .to_string();
    let args = [
        "init",
        "--genesis",
        genesis.to_str().unwrap(),
        "--rollup.config",
        rollup.to_str().unwrap(),
        "--datadir",
        dir.path().to_str().unwrap(),
    ];
    let (ok, stdout, stderr, _) = run(&args);
    assert!(ok, "{stderr}");
    assert_eq!(stdout.trim(), want);
    assert!(stdout.trim().starts_with("0x") && stdout.trim().len() == 66);
    let (ok, stdout, _, _) = run(&args);
    assert!(ok);
    assert_eq!(stdout.trim(), want, "second init prints the same hash");
}

#[test]
fn init_refuses_another_chain_bad_configs_and_foreign_files() {
    let dir = tempfile::tempdir().unwrap();
    let datadir = dir.path().join("data");
    let genesis = repo().join("genesis/genesis.json");
    let (ok, _, stderr, _) = run(&[
        "init",
        "--genesis",
        genesis.to_str().unwrap(),
        "--datadir",
        datadir.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");

    // Another genesis into the same datadir.
    let mut other: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&genesis).unwrap()).unwrap();
    other["config"]["chainId"] = 72_078.into();
    let other_chain = dir.path().join("other-chain.json");
    std::fs::write(&other_chain, other.to_string()).unwrap();
    let (ok, _, stderr, _) = run(&[
        "init",
        "--genesis",
        other_chain.to_str().unwrap(),
        "--datadir",
        datadir.to_str().unwrap(),
    ]);
    assert!(!ok && stderr.contains("chain id 72077"), "{stderr}");
    other["config"]["chainId"] = 72_077.into();
    other["alloc"]["0x0000000000000000000000000000000000000001"] =
        serde_json::json!({"balance": "0x1"});
    let other_path = dir.path().join("other.json");
    std::fs::write(&other_path, other.to_string()).unwrap();
    let (ok, _, stderr, code) = run(&[
        "init",
        "--genesis",
        other_path.to_str().unwrap(),
        "--datadir",
        datadir.to_str().unwrap(),
    ]);
    assert!(!ok && code == Some(1), "exit {code:?}");
    assert!(
        stderr.contains("already initialised with genesis"),
        "{stderr}"
    );

    // rollup.json with an unknown field: names the file and the field.
    let mut rollup: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("genesis/rollup.json")).unwrap())
            .unwrap();
    rollup["regolith_tme"] = 0.into();
    let bad_rollup = dir.path().join("bad-rollup.json");
    std::fs::write(&bad_rollup, rollup.to_string()).unwrap();
    let (ok, _, stderr, _) = run(&[
        "init",
        "--genesis",
        genesis.to_str().unwrap(),
        "--rollup.config",
        bad_rollup.to_str().unwrap(),
        "--datadir",
        dir.path().join("d2").to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("bad-rollup.json") && stderr.contains("regolith_tme"),
        "{stderr}"
    );

    // rollup.json describing another genesis hash.
    rollup.as_object_mut().unwrap().remove("regolith_tme");
    rollup["genesis"]["l2"]["hash"] = format!("0x{}", "11".repeat(32)).into();
    std::fs::write(&bad_rollup, rollup.to_string()).unwrap();
    let (ok, _, stderr, _) = run(&[
        "init",
        "--genesis",
        genesis.to_str().unwrap(),
        "--rollup.config",
        bad_rollup.to_str().unwrap(),
        "--datadir",
        dir.path().join("d3").to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(stderr.contains("genesis.l2.hash"), "{stderr}");
    assert!(
        !dir.path().join("d3").exists(),
        "nothing is written when the configs disagree"
    );

    // A datadir whose database file is not an Opal database.
    let junk = dir.path().join("junk");
    std::fs::create_dir_all(&junk).unwrap();
    std::fs::write(
        junk.join("opal.redb"),
        b"definitely not a database, just some bytes",
    )
    .unwrap();
    let (ok, _, stderr, code) = run(&[
        "init",
        "--genesis",
        genesis.to_str().unwrap(),
        "--datadir",
        junk.to_str().unwrap(),
    ]);
    assert!(
        !ok && code == Some(1),
        "a clear error, not a panic: {code:?} {stderr}"
    );
    assert!(stderr.contains("opal.redb"), "{stderr}");

    // Malformed genesis JSON.
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{\"config\": ").unwrap();
    let (ok, _, stderr, _) = run(&[
        "init",
        "--genesis",
        broken.to_str().unwrap(),
        "--datadir",
        dir.path().join("d4").to_str().unwrap(),
    ]);
    assert!(!ok && stderr.contains("broken.json"), "{stderr}");
}
