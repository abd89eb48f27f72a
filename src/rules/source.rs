//! The rule files as written: serde shapes of `policy.toml`, `matrix.toml`, `language.toml` and
//! `categories/*.toml`. Values that validation may reject keep their span, so errors can name
//! the line and column.

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

pub type Text = Spanned<String>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    pub name: String,
    pub version: String,
    pub labels: Vec<Text>,
    pub default_label: Text,
    pub default_reason: String,
    pub precedence: Spanned<Vec<Vec<Text>>>,
    #[serde(rename = "category", default)]
    pub categories: Vec<CategoryDecl>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryDecl {
    pub name: Text,
    pub label: Text,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub yields_to: Vec<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryFile {
    pub category: Text,
    /// Exclusions every rule of the file has besides its own, written once.
    #[serde(default)]
    pub all_rules: SharedExclusions,
    #[serde(rename = "rule", default)]
    pub rules: Vec<RuleDecl>,
}

/// A category file's `[all_rules]`: the `none` and `none_near` its rules share.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharedExclusions {
    #[serde(default)]
    pub none: Vec<Text>,
    #[serde(default)]
    pub none_near: Vec<NearDecl>,
}

impl CategoryFile {
    /// Appends the shared exclusions to every rule's own, so that everything downstream
    /// (compilation, lint, coverage) sees each rule whole.
    pub fn spread_shared_exclusions(&mut self) {
        let shared = std::mem::take(&mut self.all_rules);
        for rule in &mut self.rules {
            rule.none.extend(shared.none.iter().cloned());
            rule.none_near.extend(shared.none_near.iter().cloned());
        }
    }
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDecl {
    pub id: Text,
    pub reason: String,
    #[serde(default)]
    pub vendor: Option<String>,
    #[serde(default)]
    pub any: Vec<Text>,
    #[serde(default)]
    pub all: Vec<Spanned<Vec<Text>>>,
    #[serde(default)]
    pub none: Vec<Text>,
    #[serde(default)]
    pub near: Vec<NearDecl>,
    #[serde(default)]
    pub none_near: Vec<NearDecl>,
    #[serde(default)]
    pub fields: Option<Text>,
    #[serde(default)]
    pub zones: Option<Vec<Text>>,
    #[serde(default = "yes")]
    pub negatable: bool,
    #[serde(default)]
    pub variants: bool,
    #[serde(default)]
    pub fallback: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NearDecl {
    pub a: Spanned<Vec<Text>>,
    pub b: Spanned<Vec<Text>>,
    pub within: u32,
    #[serde(default)]
    pub ordered: bool,
    /// Overrides the rule's `negatable` for this clause's two sides.
    #[serde(default)]
    pub negatable: Option<bool>,
    /// The two sides must be in one sentence (no `.`, `;`, `:` or paragraph break between).
    #[serde(default)]
    pub same_sentence: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatrixFile {
    pub category: Text,
    #[serde(default = "default_rule_prefix")]
    pub rule_prefix: String,
    #[serde(rename = "distro", default)]
    pub distros: Vec<DistroDecl>,
}

fn default_rule_prefix() -> String {
    "matrix".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistroDecl {
    pub id: Text,
    pub name: String,
    #[serde(default)]
    pub vendor: Option<String>,
    pub aliases: Vec<Text>,
    #[serde(default)]
    pub release: Option<Text>,
    pub supported: Vec<Text>,
    #[serde(default)]
    pub codenames: BTreeMap<String, Text>,
    /// Codenames that are ordinary words too (`rolling`, `focal`): recognised only right after
    /// an alias (`kali rolling`, `ubuntu focal`).
    #[serde(default)]
    pub alias_codenames: BTreeMap<String, Text>,
    pub reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanguageFile {
    pub negation: NegationDecl,
    #[serde(default)]
    pub zones: ZonesDecl,
    #[serde(default)]
    pub upgrades: UpgradesDecl,
}

/// How an upgrade is written after a distribution's release: "fedora 39 to 40".
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpgradesDecl {
    /// Words or arrows that lead from a release to the release it was upgraded to.
    #[serde(default)]
    pub to: Vec<Text>,
    /// Words that may follow a release before the connector ("20.04 lts -> 22.04").
    #[serde(default)]
    pub release_suffixes: Vec<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NegationDecl {
    pub window: u32,
    #[serde(default)]
    pub forward: Vec<Text>,
    #[serde(default)]
    pub backward: Vec<Text>,
    /// Clauses that refute the sentence before them ("It isn't.", "I doubt it:").
    #[serde(default)]
    pub refute: Vec<Text>,
    #[serde(default)]
    pub pseudo: Vec<Text>,
    #[serde(default)]
    pub terminators: Vec<Text>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZonesDecl {
    #[serde(default)]
    pub quote_prefix: Vec<Text>,
    #[serde(default)]
    pub quote_header: Vec<Text>,
    #[serde(default)]
    pub signature: Vec<Text>,
    #[serde(default)]
    pub disclaimer: Vec<Text>,
    #[serde(default)]
    pub log_line: Vec<Text>,
    /// A line of a pasted chat that the customer wrote ("[08:30:14] Customer: …"): their words,
    /// though its timestamp looks like a log line's.
    #[serde(default)]
    pub customer_turn: Vec<Text>,
    /// A line of the customer's own words pointing at the quoted message below ("see below, can
    /// you help?"): with few words of their own, the quoted message is the problem statement.
    #[serde(default)]
    pub forward_note: Vec<Text>,
    /// Spans inside a line (web addresses) whose words are not the customer's description.
    #[serde(default)]
    pub link: Vec<Text>,
    /// Spans inside a line that name what a system was before an upgrade or migration.
    #[serde(default)]
    pub history: Vec<Text>,
}

/// `lists.toml`: named pattern lists that rules reference as `@name`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListsFile {
    #[serde(default)]
    pub lists: BTreeMap<String, Vec<Text>>,
}
