//! `triage` labels support tickets by support scope (`in-scope`, `vendor-referral`,
//! `out-of-scope`) with a generic, data-driven rules engine and explains every verdict with
//! evidence.
//!
//! The policy lives in a rules directory (TOML: see `rules/README.md`); the engine knows
//! nothing about any vendor. Load a rule set once, then classify any number of tickets from any
//! number of threads:
//!
//! ```
//! let rules = triage::RuleSet::embedded().expect("default rules load");
//! let ticket = triage::Ticket::new("", "How do I add a user with sudo rights on AlmaLinux?");
//! let verdict = rules.classify(&ticket);
//! assert_eq!(verdict.label_name(&rules), "out-of-scope");
//! ```

pub mod batch;
pub mod compile;
pub mod decision;
pub mod error;
pub mod fixtures;
#[doc(hidden)]
pub mod fuzzing;
pub mod matching;
pub mod rules;
pub mod ruleset;
pub mod serve;
pub mod tuning;
pub mod verdict;

pub use error::{LoadError, LoadErrorKind, LoadErrors, Location};
pub use ruleset::{CategoryId, Field, LabelId, Release, RuleId, RuleSet, Zone};
pub use verdict::{Entity, Evidence, Explanation, Report, Ticket, Verdict, Vetoed};

use rules::RuleSources;
use std::hash::{Hash, Hasher};
use std::path::Path;

impl RuleSet {
    /// Loads and compiles a rules directory.
    pub fn load_dir(dir: &Path) -> Result<RuleSet, LoadErrors> {
        Self::from_sources(RuleSources::read_dir(dir)?)
    }

    /// Loads the default rules embedded in the binary.
    pub fn embedded() -> Result<RuleSet, LoadErrors> {
        Self::from_sources(RuleSources::embedded())
    }

    /// Loads `dir` when given, else the embedded default.
    pub fn load(dir: Option<&Path>) -> Result<RuleSet, LoadErrors> {
        match dir {
            Some(d) => Self::load_dir(d),
            None => Self::embedded(),
        }
    }

    /// Parses, validates and compiles rule sources.
    pub fn from_sources(sources: RuleSources) -> Result<RuleSet, LoadErrors> {
        let mut hasher = std::hash::DefaultHasher::new();
        for file in std::iter::once(&sources.policy)
            .chain([&sources.matrix, &sources.language])
            .chain(sources.lists.as_ref())
            .chain(&sources.categories)
        {
            file.path.file_name().hash(&mut hasher);
            file.text.hash(&mut hasher);
        }
        compile::compile(sources.parse()?, hasher.finish())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rule_set_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<super::RuleSet>();
    }
}
