//! The compiled rule set: immutable after [`crate::compile`], shared by every thread
//! (`Send + Sync`), holding one Aho-Corasick automaton for all literals, one `RegexSet` for all
//! regexes, the zone detector and the support matrix.

use crate::error::Location;
use crate::matching::literals::LiteralMatcher;
use crate::matching::zones::ZoneDetector;
use regex::bytes::{Regex, RegexSet};
use serde::Serialize;
use std::collections::HashMap;

/// Index of a label in [`RuleSet::labels`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LabelId(pub(crate) u16);
/// Index of a category in [`RuleSet::categories`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CategoryId(pub(crate) u16);
/// Index of a rule in [`RuleSet::rules`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleId(pub(crate) u32);

/// The part of a ticket text was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Field {
    Subject,
    Description,
}

impl Field {
    pub const ALL: [Field; 2] = [Field::Subject, Field::Description];
    pub(crate) fn bit(self) -> u8 {
        match self {
            Field::Subject => 1,
            Field::Description => 2,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Subject => "subject",
            Field::Description => "description",
        }
    }
}

/// The kind of passage a match sits in. Only rules that list a zone fire on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Zone {
    /// The customer's own words.
    Body,
    /// Pasted log output and stack traces.
    Log,
    /// Earlier replies quoted below or after `On … wrote:`.
    Quote,
    /// The e-mail signature.
    Signature,
    /// Legal or security disclaimers.
    Disclaimer,
    /// Inside a web address: `docs…/ubuntu-1804-and-2004`, `wordpress.org/…` name things the
    /// customer is not describing.
    Link,
    /// What the system used to be: `upgraded from Ubuntu 18.04 to 20.04`, `CentOS 7 -> Alma 9`
    /// name a release that is gone.
    History,
}

impl Zone {
    pub const ALL: [Zone; 7] = [
        Zone::Body,
        Zone::Log,
        Zone::Quote,
        Zone::Signature,
        Zone::Disclaimer,
        Zone::Link,
        Zone::History,
    ];
    pub(crate) fn bit(self) -> u8 {
        1 << (self as u8)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Zone::Body => "body",
            Zone::Log => "log",
            Zone::Quote => "quote",
            Zone::Signature => "signature",
            Zone::Disclaimer => "disclaimer",
            Zone::Link => "link",
            Zone::History => "history",
        }
    }
    pub fn parse(s: &str) -> Option<Zone> {
        Zone::ALL.into_iter().find(|z| z.as_str() == s)
    }
}

/// A category of the policy.
#[derive(Debug, Clone)]
pub struct Category {
    pub name: String,
    pub label: LabelId,
    pub description: String,
    /// Categories whose firing sets this one aside in the decision.
    pub yields_to: Vec<CategoryId>,
    /// Precedence tier, 0 first.
    pub tier: usize,
    /// Position inside the tier.
    pub rank: usize,
}

/// A proximity clause: a match in slot `a` and one in slot `b` within `within` words.
#[derive(Debug, Clone)]
pub(crate) struct Near {
    pub a: u32,
    pub b: u32,
    pub within: u32,
    pub ordered: bool,
    /// No clause break (`.`, `;`, `:`, paragraph) may lie between the two sides.
    pub same_sentence: bool,
}

/// A compiled rule. Its conditions refer to *slots*: one flag per pattern group, set while a
/// ticket is scanned.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub category: CategoryId,
    pub reason: String,
    pub vendor: Option<String>,
    pub location: Location,
    pub(crate) fields: u8,
    pub(crate) zones: u8,
    pub negatable: bool,
    /// A weak signal: the rule counts only when no rule without this flag fired.
    pub fallback: bool,
    pub(crate) any: Option<u32>,
    pub(crate) all: std::ops::Range<u32>,
    pub(crate) near: Vec<Near>,
    /// Proximity exclusions: the rule does not fire when one holds.
    pub(crate) none_near: Vec<Near>,
    /// Exclusion slots (shared with other rules, see `compile::share_exclusions`): the rule
    /// does not fire when any is set.
    pub(crate) none: Vec<u32>,
    /// Set for the synthetic rules that stand for a distribution of the support matrix.
    pub(crate) distro: Option<u16>,
    /// All slots of this rule (contiguous).
    pub(crate) slots: std::ops::Range<u32>,
}

impl Rule {
    /// Whether the rule reads this field of a ticket.
    pub fn looks_in(&self, field: Field) -> bool {
        self.fields & field.bit() != 0
    }

    /// Whether matches in this zone count for the rule.
    pub fn counts_in(&self, zone: Zone) -> bool {
        self.zones & zone.bit() != 0
    }

    pub(crate) fn slot_range(&self) -> std::ops::Range<u32> {
        self.slots.clone()
    }

    /// Whether this rule stands for a support-matrix distribution rather than patterns.
    pub fn is_matrix_rule(&self) -> bool {
        self.distro.is_some()
    }
}

/// A negation cue kind, from `language.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cue {
    Forward,
    Backward,
    /// A clause that only refutes the sentence before it ("It isn't.", "I don't think so:"):
    /// it negates that sentence, whatever its length within the refutation window.
    Refute,
    Pseudo,
    Terminator,
}

/// What a slot of a rule stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SlotRole {
    /// A pattern group the rule needs (`any`, `all`, `near`).
    Positive,
    /// The rule's exclusion (`none`), before [`Owner::Exclusion`] takes its place.
    Exclusion,
    /// A side of a proximity exclusion (`none_near`): matches are kept for the proximity
    /// check, but they are never evidence of the rule.
    Veto,
}

/// Who listens to a pattern's matches.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Owner {
    /// A pattern group of a rule. The rule's filters ride along so the hot loop needs no
    /// lookup in the rule table.
    Slot {
        rule: u32,
        slot: u32,
        /// Field and zone bit masks, and the rule's `negatable`.
        fields: u8,
        zones: u8,
        negatable: bool,
        role: SlotRole,
    },
    /// An exclusion slot shared by every rule whose `none` patterns and filters are the same.
    Exclusion {
        slot: u32,
        fields: u8,
        zones: u8,
        negatable: bool,
    },
    Cue(Cue),
    /// An alias of a distribution; the release follows in the text.
    Distro(u16),
    /// A codename standing alone: distribution and its release.
    Codename(u16, Release),
    /// A literal every match of regex `regex` holds: the regex only runs when one is seen, and
    /// when the literal is a prefix (`anchored`), only from where it was seen.
    RegexGuard {
        regex: u32,
        anchored: bool,
    },
    /// A literal every span of inline zone kind `k` (the index in the zone detector) holds: the
    /// kind's regex only searches a field where one is seen.
    ZoneGuard(u8),
}

/// A pattern after compilation: where its matches go and how its edges are checked.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    /// Listeners: first those that steer the scan (cues, regex and zone guards), then those
    /// that evaluate a match (rule slots, exclusions, distributions).
    pub owners: Vec<Owner>,
    /// How many of `owners` steer the scan, and how many (at the end) are sides of proximity
    /// exclusions, only read for rules that would otherwise fire.
    pub steering: u32,
    pub vetoing: u32,
    pub need_left: bool,
    pub need_right: bool,
    /// Accept a digit (not a letter) right after the match: `ubuntu22`, `rhel8`.
    pub digits_after: bool,
}

impl Pattern {
    /// The listeners that steer the scan.
    pub fn steering(&self) -> &[Owner] {
        &self.owners[..self.steering as usize]
    }
    /// The listeners that evaluate a match, proximity exclusions aside.
    pub fn evaluating(&self) -> &[Owner] {
        &self.owners[self.steering as usize..self.owners.len() - self.vetoing as usize]
    }
    /// The sides of proximity exclusions that listen to the match.
    pub fn vetoing(&self) -> &[Owner] {
        &self.owners[self.owners.len() - self.vetoing as usize..]
    }
    /// Whether a match is a hit: someone evaluates it.
    pub fn is_heard(&self) -> bool {
        self.owners.len() > self.steering as usize
    }
}

impl Owner {
    /// Where the listener goes in its pattern's list: steering first, proximity exclusions
    /// last.
    pub(crate) fn place(&self) -> u8 {
        match self {
            Owner::Cue(_) | Owner::RegexGuard { .. } | Owner::ZoneGuard(_) => 0,
            Owner::Slot {
                role: SlotRole::Veto,
                ..
            } => 2,
            _ => 1,
        }
    }
}

/// A distribution release: major, minor and service pack, each optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Release {
    pub major: Option<u16>,
    pub minor: Option<u16>,
    pub sp: Option<u16>,
}

impl Release {
    /// Whether two releases agree on every part both name.
    pub fn agrees(&self, other: &Release) -> bool {
        fn same(a: Option<u16>, b: Option<u16>) -> bool {
            a.is_none() || b.is_none() || a == b
        }
        same(self.major, other.major) && same(self.minor, other.minor) && same(self.sp, other.sp)
    }
}

impl std::fmt::Display for Release {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(m) = self.major {
            write!(f, "{m}")?;
        }
        if let Some(m) = self.minor {
            write!(f, ".{m:02}")?;
        }
        if let Some(sp) = self.sp {
            write!(f, " SP{sp}")?;
        }
        Ok(())
    }
}

/// Which releases of a distribution are inside the support matrix.
#[derive(Debug, Clone)]
pub(crate) enum Supported {
    Every,
    Releases(Vec<Release>),
}

/// A distribution of the support matrix.
#[derive(Debug, Clone)]
pub struct Distro {
    pub id: String,
    pub name: String,
    pub vendor: Option<String>,
    pub(crate) release: Regex,
    /// Where `release` captures major, minor and service pack
    /// ([`crate::compile::release_groups`]).
    pub(crate) release_groups: [Option<usize>; 3],
    pub(crate) supported: Supported,
    pub(crate) codenames: HashMap<String, Release>,
    pub(crate) rule: RuleId,
}

impl Distro {
    /// Whether a mention (with or without a release) is inside the support matrix.
    pub fn is_inside(&self, release: Option<&Release>) -> bool {
        match (&self.supported, release) {
            (Supported::Every, _) => true,
            (Supported::Releases(list), _) if list.is_empty() => false,
            (Supported::Releases(_), None) => true,
            (Supported::Releases(list), Some(r)) => list.iter().any(|s| s.agrees(r)),
        }
    }
}

/// A compiled, immutable rule set.
#[derive(Debug)]
pub struct RuleSet {
    pub name: String,
    pub version: String,
    pub labels: Vec<String>,
    pub categories: Vec<Category>,
    pub(crate) tiers: Vec<Vec<CategoryId>>,
    pub default_label: LabelId,
    pub default_reason: String,
    pub rules: Vec<Rule>,
    pub distros: Vec<Distro>,
    pub(crate) patterns: Vec<Pattern>,
    pub(crate) literals: Option<LiteralMatcher>,
    /// Regexes with no literal guard, matched together; entries index `regexes`.
    pub(crate) regex_set: RegexSet,
    pub(crate) unguarded: Vec<u32>,
    /// Regexes guarded only by literals of a few bytes; entries index `regexes`.
    pub(crate) weakly_guarded: Vec<u32>,
    /// The rules marked `fallback`, which step aside when any other rule fires.
    pub(crate) fallback_rules: Vec<u32>,
    pub(crate) regexes: Vec<crate::compile::LazyRegex>,
    pub(crate) regex_patterns: Vec<u32>,
    pub(crate) negation_window: u32,
    pub(crate) zones: ZoneDetector,
    /// Normalised connectors from a release to the one it was upgraded to (`to`, `>`), and the
    /// words that may stand between (`lts`), from `language.toml`.
    pub(crate) upgrade_connectors: Vec<String>,
    pub(crate) release_suffixes: Vec<String>,
    pub(crate) slot_count: usize,
    /// Content hash of the rule sources, to tell rule sets apart.
    pub fingerprint: u64,
}

impl RuleSet {
    pub fn label(&self, id: LabelId) -> &str {
        &self.labels[id.0 as usize]
    }
    pub fn category(&self, id: CategoryId) -> &Category {
        &self.categories[id.0 as usize]
    }
    pub fn rule(&self, id: RuleId) -> &Rule {
        &self.rules[id.0 as usize]
    }
    pub fn label_id(&self, name: &str) -> Option<LabelId> {
        self.labels
            .iter()
            .position(|l| l == name)
            .map(|i| LabelId(i as u16))
    }
    pub fn category_id(&self, name: &str) -> Option<CategoryId> {
        self.categories
            .iter()
            .position(|c| c.name == name)
            .map(|i| CategoryId(i as u16))
    }
    pub fn rule_ids(&self) -> impl Iterator<Item = RuleId> {
        (0..self.rules.len() as u32).map(RuleId)
    }
    /// Categories in precedence order.
    pub fn categories_in_precedence(&self) -> impl Iterator<Item = CategoryId> + '_ {
        self.tiers.iter().flatten().copied()
    }
    /// Whether a rule can fire at all: the matrix rule of a distribution endorsed in every
    /// release never does (it exists to name the distribution in evidence).
    pub fn can_fire(&self, id: RuleId) -> bool {
        match self.rule(id).distro {
            Some(d) => !matches!(self.distros[d as usize].supported, Supported::Every),
            None => true,
        }
    }

    /// Regexes that no literal guards: they run on every ticket (slow; `triage lint` material).
    pub fn unguarded_regexes(&self) -> impl Iterator<Item = &str> + '_ {
        self.unguarded
            .iter()
            .map(|&r| self.regexes[r as usize].source())
    }

    /// Regexes whose guard literals are only a few bytes long ("co", "ma", "pe"… of a long
    /// alternation cut down to sixteen guards): they run on most tickets (`triage lint` material).
    pub fn weakly_guarded_regexes(&self) -> impl Iterator<Item = &str> + '_ {
        self.weakly_guarded
            .iter()
            .map(|&r| self.regexes[r as usize].source())
    }

    /// Number of (pattern, listener) pairs: how much work one match of every pattern costs.
    pub fn owner_count(&self) -> usize {
        self.patterns.iter().map(|p| p.owners.len()).sum()
    }

    /// Number of literal and regex patterns compiled (after de-duplication).
    pub fn pattern_count(&self) -> usize {
        self.patterns.len()
    }
}
