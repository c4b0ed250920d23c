//! A sorted set of changed keys answering "does any changed key start with this prefix?".

use alloy_trie::Nibbles;

/// Keys (as nibble paths) that changed since the stored trie nodes were written.
#[derive(Debug, Clone, Default)]
pub struct PrefixSet {
    keys: Vec<Nibbles>,
}

impl PrefixSet {
    /// Builds the set from any keys; sorts and removes duplicates.
    pub fn new(mut keys: Vec<Nibbles>) -> Self {
        keys.sort_unstable();
        keys.dedup();
        Self { keys }
    }

    /// Whether no key changed.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Number of changed keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether some changed key starts with `prefix`.
    pub fn contains_prefix(&self, prefix: &Nibbles) -> bool {
        let i = self.keys.partition_point(|k| k < prefix);
        self.keys.get(i).is_some_and(|k| k.starts_with(prefix))
    }

    /// Adds keys, keeping the set sorted.
    pub fn extend(&mut self, keys: impl IntoIterator<Item = Nibbles>) {
        self.keys.extend(keys);
        self.keys.sort_unstable();
        self.keys.dedup();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_lookup() {
        let set = PrefixSet::new(vec![
            Nibbles::from_nibbles([1, 2, 3]),
            Nibbles::from_nibbles([4, 5]),
        ]);
        assert!(set.contains_prefix(&Nibbles::default()));
        assert!(set.contains_prefix(&Nibbles::from_nibbles([1, 2])));
        assert!(set.contains_prefix(&Nibbles::from_nibbles([4, 5])));
        assert!(!set.contains_prefix(&Nibbles::from_nibbles([1, 3])));
        assert!(!set.contains_prefix(&Nibbles::from_nibbles([4, 5, 0])));
        assert!(!PrefixSet::default().contains_prefix(&Nibbles::default()));
    }
}
