//! The local transaction journal: every transaction accepted over RPC is appended (hex, one per
//! line) to `DATADIR/txpool.journal`, replayed into the pool at start, and compacted to what is
//! still pooled, so pending transactions survive a restart.

use std::{
    fs::{File, OpenOptions},
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
};

use alloy::primitives::{Bytes, hex};

/// File name inside the datadir.
pub const JOURNAL_FILE: &str = "txpool.journal";

/// An append-only journal of raw transactions.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    lines: usize,
}

impl Journal {
    /// Opens (creating) the journal and returns the transactions it holds. Lines that are not
    /// valid hex (a torn last write) are skipped.
    pub fn open(datadir: &Path) -> std::io::Result<(Self, Vec<Bytes>)> {
        let path = datadir.join(JOURNAL_FILE);
        let mut txs = Vec::new();
        if let Ok(f) = File::open(&path) {
            for line in BufReader::new(f).lines() {
                let line = line?;
                if let Ok(raw) = hex::decode(line.trim())
                    && !raw.is_empty()
                {
                    txs.push(Bytes::from(raw));
                }
            }
        }
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let lines = txs.len();
        Ok((Self { path, file, lines }, txs))
    }

    /// Appends one transaction.
    pub fn append(&mut self, raw: &[u8]) -> std::io::Result<()> {
        let mut line = hex::encode(raw);
        line.push('\n');
        self.file.write_all(line.as_bytes())?;
        self.file.flush()?;
        self.lines += 1;
        Ok(())
    }

    /// Number of lines written since the last compaction.
    pub fn written(&self) -> usize {
        self.lines
    }

    /// Replaces the journal with `txs` (write to a temporary file, then rename: atomic).
    pub fn rewrite<'a>(&mut self, txs: impl Iterator<Item = &'a Bytes>) -> std::io::Result<()> {
        let tmp = self.path.with_extension("journal.tmp");
        let mut count = 0;
        {
            let mut f = File::create(&tmp)?;
            for tx in txs {
                f.write_all(hex::encode(tx).as_bytes())?;
                f.write_all(b"\n")?;
                count += 1;
            }
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)?;
        self.file = OpenOptions::new().append(true).open(&self.path)?;
        self.lines = count;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_reopen_rewrite_and_torn_lines() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, txs) = Journal::open(dir.path()).unwrap();
        assert!(txs.is_empty());
        j.append(&[1, 2, 3]).unwrap();
        j.append(&[4, 5]).unwrap();
        drop(j);
        // A torn final line is ignored.
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.path().join(JOURNAL_FILE))
            .unwrap();
        f.write_all(b"0a0").unwrap();
        drop(f);
        let (mut j, txs) = Journal::open(dir.path()).unwrap();
        assert_eq!(
            txs,
            vec![Bytes::from(vec![1, 2, 3]), Bytes::from(vec![4, 5])]
        );
        let keep = [Bytes::from(vec![4, 5])];
        j.rewrite(keep.iter()).unwrap();
        j.append(&[6]).unwrap();
        drop(j);
        let (_, txs) = Journal::open(dir.path()).unwrap();
        assert_eq!(txs, vec![Bytes::from(vec![4, 5]), Bytes::from(vec![6])]);
    }
}
