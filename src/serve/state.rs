//! The rule set a running service classifies with, and how it is swapped on reload.
//!
//! Requests read the current rule set without locking (an [`ArcSwap`]); a reload compiles the
//! new rules aside and swaps them in only when they load without error, so a broken rules
//! directory never stops the service.

use crate::{LoadErrors, RuleSet};
use arc_swap::ArcSwap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// A loaded rule set and what identifies it.
#[derive(Debug)]
pub struct LoadedRules {
    pub rules: RuleSet,
    /// Content hash of the rule sources ([`RuleSet::fingerprint`]) as 16 hex digits.
    pub hash: String,
    /// 1 for the rules the service started with, one more for each reload that swapped rules.
    pub generation: u64,
}

impl LoadedRules {
    fn new(rules: RuleSet, generation: u64) -> Self {
        LoadedRules {
            hash: format!("{:016x}", rules.fingerprint),
            rules,
            generation,
        }
    }
}

/// What a reload did.
#[derive(Debug)]
pub enum ReloadOutcome {
    /// New rules are live.
    Reloaded {
        previous: Arc<LoadedRules>,
        current: Arc<LoadedRules>,
    },
    /// The directory loads to the rules already live (same content hash): nothing swapped.
    Unchanged(Arc<LoadedRules>),
    /// The directory did not load; the rules that were live stay live.
    Failed {
        errors: LoadErrors,
        serving: Arc<LoadedRules>,
    },
    /// The service runs on the embedded rules: there is no directory to read again.
    NothingToReload,
}

/// The live rule set of a service and the directory it came from, if any.
#[derive(Debug)]
pub struct RulesState {
    dir: Option<PathBuf>,
    current: ArcSwap<LoadedRules>,
    /// The errors of the last reload, while it failed (cleared by one that works).
    last_error: Mutex<Option<String>>,
    /// Reloads run one at a time (a signal and a file change can arrive together).
    reloading: Mutex<()>,
}

impl RulesState {
    /// Starts with `rules`, loaded from `dir` (`None`: the embedded rules).
    pub fn new(rules: RuleSet, dir: Option<PathBuf>) -> Self {
        RulesState {
            dir,
            current: ArcSwap::from_pointee(LoadedRules::new(rules, 1)),
            last_error: Mutex::new(None),
            reloading: Mutex::new(()),
        }
    }

    /// The rules directory, or `None` for the embedded rules.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The rules live now.
    pub fn current(&self) -> Arc<LoadedRules> {
        self.current.load_full()
    }

    /// A cheap, short-lived view of the live rules (do not hold it across an `.await`).
    pub(crate) fn peek(&self) -> arc_swap::Guard<Arc<LoadedRules>> {
        self.current.load()
    }

    /// The errors of the last reload when it failed and no reload has worked since.
    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Reads and compiles the rules directory again and swaps the result in when it loads.
    /// Blocking (file reads and compilation): call it off the async workers.
    pub fn reload(&self) -> ReloadOutcome {
        let Some(dir) = &self.dir else {
            return ReloadOutcome::NothingToReload;
        };
        let _one_at_a_time = self
            .reloading
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let previous = self.current.load_full();
        let outcome = match RuleSet::load_dir(dir) {
            Err(errors) => ReloadOutcome::Failed {
                errors,
                serving: previous,
            },
            Ok(rules) if rules.fingerprint == previous.rules.fingerprint => {
                ReloadOutcome::Unchanged(previous)
            }
            Ok(rules) => {
                let current = Arc::new(LoadedRules::new(rules, previous.generation + 1));
                self.current.store(Arc::clone(&current));
                ReloadOutcome::Reloaded { previous, current }
            }
        };
        *self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = match &outcome {
            ReloadOutcome::Failed { errors, .. } => Some(errors.to_string()),
            _ => None,
        };
        outcome
    }
}
