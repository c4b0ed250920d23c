//! The fork schedule: which protocol rules apply at a given L2 block timestamp.
//!
//! OP Stack forks are activated by timestamp (Bedrock by block number, always 0 for an OP chain that
//! starts at Bedrock). Activation is monotonic: a later fork implies every earlier one.

use serde::{Deserialize, Serialize};

/// A named fork of the L2 protocol, in activation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Fork {
    /// No system transactions, real deposit gas accounting, deposit nonces in receipts.
    Regolith,
    /// Shanghai, empty withdrawals list, new EIP-1559 denominator, deposit receipt version.
    Canyon,
    /// Span batches.
    Delta,
    /// Cancun (without blobs), packed L1-info, blob-based L1 fee.
    Ecotone,
    /// FastLZ L1 fee, P256VERIFY, brotli channels.
    Fjord,
    /// Precompile input limits, shorter channel timeout.
    Granite,
    /// Strict batch ordering, EIP-1559 parameters in `extraData`.
    Holocene,
    /// Prague, `withdrawalsRoot` = message-passer storage root, operator fee.
    Isthmus,
    /// Minimum base fee, DA footprint.
    Jovian,
    /// Opal's own: the Proof-of-Attribution precompiles.
    Attribution,
}

impl Fork {
    /// Every OP Stack fork, oldest first (Opal's `Attribution` is independent and not listed).
    pub const OP_FORKS: [Fork; 9] = [
        Fork::Regolith,
        Fork::Canyon,
        Fork::Delta,
        Fork::Ecotone,
        Fork::Fjord,
        Fork::Granite,
        Fork::Holocene,
        Fork::Isthmus,
        Fork::Jovian,
    ];

    /// The name as it appears in config files, lower case.
    pub const fn name(self) -> &'static str {
        match self {
            Fork::Regolith => "regolith",
            Fork::Canyon => "canyon",
            Fork::Delta => "delta",
            Fork::Ecotone => "ecotone",
            Fork::Fjord => "fjord",
            Fork::Granite => "granite",
            Fork::Holocene => "holocene",
            Fork::Isthmus => "isthmus",
            Fork::Jovian => "jovian",
            Fork::Attribution => "attribution",
        }
    }
}

/// Activation timestamps of the L2 forks (`None` = never active).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForkSchedule {
    /// Regolith activation time.
    pub regolith: Option<u64>,
    /// Canyon activation time.
    pub canyon: Option<u64>,
    /// Delta activation time.
    pub delta: Option<u64>,
    /// Ecotone activation time.
    pub ecotone: Option<u64>,
    /// Fjord activation time.
    pub fjord: Option<u64>,
    /// Granite activation time.
    pub granite: Option<u64>,
    /// Holocene activation time.
    pub holocene: Option<u64>,
    /// Isthmus activation time.
    pub isthmus: Option<u64>,
    /// Jovian activation time.
    pub jovian: Option<u64>,
    /// Opal attribution precompiles activation time.
    pub attribution: Option<u64>,
}

impl ForkSchedule {
    /// A schedule with every fork through Isthmus, and attribution, active from time 0.
    pub const fn all_through_isthmus() -> Self {
        Self {
            regolith: Some(0),
            canyon: Some(0),
            delta: Some(0),
            ecotone: Some(0),
            fjord: Some(0),
            granite: Some(0),
            holocene: Some(0),
            isthmus: Some(0),
            jovian: None,
            attribution: Some(0),
        }
    }

    /// The activation time of `fork`, if it is scheduled.
    pub const fn activation(&self, fork: Fork) -> Option<u64> {
        match fork {
            Fork::Regolith => self.regolith,
            Fork::Canyon => self.canyon,
            Fork::Delta => self.delta,
            Fork::Ecotone => self.ecotone,
            Fork::Fjord => self.fjord,
            Fork::Granite => self.granite,
            Fork::Holocene => self.holocene,
            Fork::Isthmus => self.isthmus,
            Fork::Jovian => self.jovian,
            Fork::Attribution => self.attribution,
        }
    }

    /// Whether `fork` is active for a block with timestamp `timestamp`.
    pub fn is_active(&self, fork: Fork, timestamp: u64) -> bool {
        self.activation(fork).is_some_and(|t| timestamp >= t)
    }

    /// Whether `timestamp` is the first block of `fork`, given the parent's timestamp.
    pub fn is_activation_block(&self, fork: Fork, parent_timestamp: u64, timestamp: u64) -> bool {
        self.is_active(fork, timestamp) && !self.is_active(fork, parent_timestamp)
    }

    /// The newest OP fork active at `timestamp` (`None` = Bedrock).
    pub fn latest_op_fork(&self, timestamp: u64) -> Option<Fork> {
        Fork::OP_FORKS
            .iter()
            .rev()
            .copied()
            .find(|f| self.is_active(*f, timestamp))
    }

    /// Checks that every scheduled fork comes no earlier than the forks before it.
    ///
    /// Returns the first pair `(earlier, later)` that is out of order.
    pub fn check_order(&self) -> Result<(), (Fork, Fork)> {
        let mut prev: Option<(Fork, Option<u64>)> = None;
        for fork in Fork::OP_FORKS {
            let t = self.activation(fork);
            if let Some((pf, pt)) = prev {
                match (pt, t) {
                    (None, Some(_)) => return Err((pf, fork)),
                    (Some(a), Some(b)) if b < a => return Err((pf, fork)),
                    _ => {}
                }
            }
            prev = Some((fork, t));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_is_by_timestamp() {
        let s = ForkSchedule {
            ecotone: Some(100),
            ..Default::default()
        };
        assert!(!s.is_active(Fork::Ecotone, 99));
        assert!(s.is_active(Fork::Ecotone, 100));
        assert!(s.is_activation_block(Fork::Ecotone, 98, 100));
        assert!(!s.is_activation_block(Fork::Ecotone, 100, 102));
        assert!(!s.is_active(Fork::Fjord, u64::MAX));
    }

    #[test]
    fn latest_fork_and_order() {
        let s = ForkSchedule::all_through_isthmus();
        assert_eq!(s.latest_op_fork(0), Some(Fork::Isthmus));
        assert!(s.check_order().is_ok());
        let bad = ForkSchedule {
            canyon: Some(10),
            ecotone: Some(5),
            regolith: Some(0),
            delta: Some(10),
            ..Default::default()
        };
        assert_eq!(bad.check_order(), Err((Fork::Delta, Fork::Ecotone)));
        let gap = ForkSchedule {
            ecotone: Some(0),
            ..Default::default()
        };
        assert_eq!(gap.check_order(), Err((Fork::Delta, Fork::Ecotone)));
    }
}
