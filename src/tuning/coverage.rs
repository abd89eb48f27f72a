//! `triage coverage`: how a rule set covers unlabelled tickets, in the spirit of labelling-
//! function analysis. Per rule and per category: coverage (rows it fires on), overlap (rows
//! where another category fires too) and conflict (rows where a category of another label fires
//! too); the rows no category covers (review); and the most frequent words and two-word phrases
//! of those rows, as candidates for new rules.
//!
//! Runs on the batch pipeline (streaming, parallel): memory stays bounded whatever the input
//! size. Candidate counts are exact until more than [`CANDIDATE_CAP`] distinct words (or
//! phrases) have been seen; past that the rarest are dropped and the counts become lower bounds
//! (the report says so).

use super::{share, RuleSetInfo};
use crate::batch::{
    self, BatchConfig, BatchError, InputSource, Progress, Summary, Tally, TallyRow,
};
use crate::matching::normalize::{is_word_char, normalize_into, Normalized};
use crate::matching::zones::{zone_at, ZoneSpan};
use crate::ruleset::{RuleSet, Zone};
use crate::verdict::Ticket;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// Candidates reported, per kind (words, phrases).
pub const TOP_CANDIDATES: usize = 30;
/// Distinct words (and, separately, phrases) counted exactly before the rarest are dropped.
pub const CANDIDATE_CAP: usize = 200_000;
/// Longest token counted as a word, in characters (longer ones are hashes, ids, base64).
const MAX_WORD_CHARS: usize = 30;

/// Function words and helpdesk pleasantries: never candidates for a rule.
const STOPWORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "are",
    "aren't",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "can't",
    "cannot",
    "could",
    "couldn't",
    "did",
    "didn't",
    "do",
    "does",
    "doesn't",
    "doing",
    "don't",
    "down",
    "during",
    "each",
    "few",
    "for",
    "from",
    "further",
    "get",
    "got",
    "had",
    "hadn't",
    "has",
    "hasn't",
    "have",
    "haven't",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "i",
    "i'm",
    "i've",
    "if",
    "in",
    "into",
    "is",
    "isn't",
    "it",
    "it's",
    "its",
    "itself",
    "just",
    "let",
    "me",
    "more",
    "most",
    "my",
    "myself",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "on",
    "once",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "same",
    "she",
    "should",
    "so",
    "some",
    "such",
    "than",
    "that",
    "that's",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "there's",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "us",
    "very",
    "was",
    "wasn't",
    "we",
    "we're",
    "we've",
    "were",
    "weren't",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "won't",
    "would",
    "wouldn't",
    "you",
    "you're",
    "your",
    "yours",
    "yourself",
    "yourselves",
    "since",
    "still",
    "yet",
    "already",
    "even",
    "may",
    "might",
    "must",
    "shall",
    "one",
    "two",
    "also",
    "etc",
    "e.g",
    "i.e",
    "via",
    "per",
    "hi",
    "hello",
    "hey",
    "dear",
    "team",
    "thanks",
    "thank",
    "please",
    "kindly",
    "regards",
    "best",
    "cheers",
    "ok",
    "okay",
    "yes",
    "today",
    "yesterday",
    "need",
    "know",
    "see",
    "seems",
    "seem",
    "like",
    "us",
    "use",
    "using",
    "used",
    "way",
    "something",
    "anything",
    "everything",
    "nothing",
    "someone",
    "anyone",
    "thing",
];

/// How often one rule fired, and with what else.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleCoverage {
    pub rule: String,
    pub category: String,
    pub label: String,
    /// Rows it fired on.
    pub rows: u64,
    /// Share of all rows it fired on.
    pub coverage: f64,
    /// Rows it fired on where a category other than its own fired too.
    pub overlap: u64,
    /// Rows it fired on where a category of another label fired too.
    pub conflict: u64,
}

/// How often one category fired, decided, and with what else.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryCoverage {
    pub category: String,
    pub label: String,
    /// Rows where one of its rules fired.
    pub rows: u64,
    pub coverage: f64,
    /// Rows where it decided the label.
    pub decided: u64,
    /// Rows where another category fired too.
    pub overlap: u64,
    /// Rows where a category of another label fired too.
    pub conflict: u64,
}

/// A word or two-word phrase and the number of uncovered rows holding it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Candidate {
    pub term: String,
    pub rows: u64,
}

/// The whole coverage analysis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoverageReport {
    pub rule_set: RuleSetInfo,
    pub rows: u64,
    /// Rows no category fired on (labelled by the policy default, flagged for review).
    pub no_category: u64,
    pub no_category_share: f64,
    /// Rows flagged for review (no category, or a tie between labels).
    pub review: u64,
    pub review_share: f64,
    /// In precedence order.
    pub categories: Vec<CategoryCoverage>,
    /// In rule-set order; matrix rules that can never fire are left out.
    pub rules: Vec<RuleCoverage>,
    /// Most frequent words of the rows with no category (stopwords removed, normalised lower
    /// case; counted once per row).
    pub words: Vec<Candidate>,
    /// Most frequent two-word phrases of those rows (adjacent words, neither a stopword).
    pub phrases: Vec<Candidate>,
    /// False when the candidate tables outgrew [`CANDIDATE_CAP`]: counts are then lower bounds.
    pub candidates_exact: bool,
}

/// Counts of a chunk of rows (and, merged, of the whole input).
struct CoverageTally<'a> {
    rules: &'a RuleSet,
    rows: u64,
    no_category: u64,
    review: u64,
    /// Per rule: rows, overlap, conflict.
    rule_counts: Vec<[u64; 3]>,
    /// Per category: rows, decided, overlap, conflict.
    category_counts: Vec<[u64; 4]>,
    words: HashMap<String, u64>,
    phrases: HashMap<String, u64>,
    exact: bool,
    scratch: Scratch,
}

/// Buffers for tokenising one row.
#[derive(Default)]
struct Scratch {
    zones: Vec<ZoneSpan>,
    norm: Normalized,
    row_words: HashSet<String>,
    row_phrases: HashSet<String>,
    previous: String,
}

impl<'a> CoverageTally<'a> {
    fn new(rules: &'a RuleSet) -> Self {
        CoverageTally {
            rules,
            rows: 0,
            no_category: 0,
            review: 0,
            rule_counts: vec![[0; 3]; rules.rules.len()],
            category_counts: vec![[0; 4]; rules.categories.len()],
            words: HashMap::new(),
            phrases: HashMap::new(),
            exact: true,
            scratch: Scratch::default(),
        }
    }

    fn merge(&mut self, other: &mut CoverageTally<'_>) {
        self.rows += other.rows;
        self.no_category += other.no_category;
        self.review += other.review;
        for (a, b) in self.rule_counts.iter_mut().zip(&other.rule_counts) {
            for k in 0..3 {
                a[k] += b[k];
            }
        }
        for (a, b) in self.category_counts.iter_mut().zip(&other.category_counts) {
            for k in 0..4 {
                a[k] += b[k];
            }
        }
        for (map, from) in [
            (&mut self.words, &mut other.words),
            (&mut self.phrases, &mut other.phrases),
        ] {
            for (term, n) in from.drain() {
                *map.entry(term).or_default() += n;
            }
            if map.len() > CANDIDATE_CAP {
                prune(map, CANDIDATE_CAP / 2);
                self.exact = false;
            }
        }
    }

    /// Counts the distinct candidate words and phrases of an uncovered ticket's own words
    /// (subject, and description lines in the body zone: no quoted replies, signatures,
    /// disclaimers or pasted logs).
    fn count_candidates(&mut self, ticket: &Ticket<'_>) {
        let s = &mut self.scratch;
        s.row_words.clear();
        s.row_phrases.clear();
        tokenize(ticket.subject, s);
        self.rules.zones.detect(ticket.description, &mut s.zones);
        let mut offset = 0usize;
        for line in ticket.description.split_inclusive('\n') {
            let at = offset as u32;
            offset += line.len();
            if zone_at(&s.zones, at) == Zone::Body {
                tokenize(line, s);
            }
        }
        for w in s.row_words.drain() {
            *self.words.entry(w).or_default() += 1;
        }
        for p in s.row_phrases.drain() {
            *self.phrases.entry(p).or_default() += 1;
        }
    }

    fn into_report(self, info: RuleSetInfo) -> CoverageReport {
        let rules = self.rules;
        let rows = self.rows;
        let categories = rules
            .categories_in_precedence()
            .map(|c| {
                let [n, decided, overlap, conflict] = self.category_counts[c.0 as usize];
                let cat = rules.category(c);
                CategoryCoverage {
                    category: cat.name.clone(),
                    label: rules.label(cat.label).to_owned(),
                    rows: n,
                    coverage: share(n, rows),
                    decided,
                    overlap,
                    conflict,
                }
            })
            .collect();
        let rule_rows = rules
            .rule_ids()
            .filter(|&r| rules.can_fire(r))
            .map(|r| {
                let [n, overlap, conflict] = self.rule_counts[r.0 as usize];
                let rule = rules.rule(r);
                let cat = rules.category(rule.category);
                RuleCoverage {
                    rule: rule.id.clone(),
                    category: cat.name.clone(),
                    label: rules.label(cat.label).to_owned(),
                    rows: n,
                    coverage: share(n, rows),
                    overlap,
                    conflict,
                }
            })
            .collect();
        CoverageReport {
            rule_set: info,
            rows,
            no_category: self.no_category,
            no_category_share: share(self.no_category, rows),
            review: self.review,
            review_share: share(self.review, rows),
            categories,
            rules: rule_rows,
            words: top(&self.words, TOP_CANDIDATES),
            phrases: top(&self.phrases, TOP_CANDIDATES),
            candidates_exact: self.exact,
        }
    }
}

impl Tally for CoverageTally<'_> {
    fn reset(&mut self) {
        self.rows = 0;
        self.no_category = 0;
        self.review = 0;
        self.rule_counts.iter_mut().for_each(|c| *c = [0; 3]);
        self.category_counts.iter_mut().for_each(|c| *c = [0; 4]);
        self.words.clear();
        self.phrases.clear();
    }

    fn add(&mut self, row: &TallyRow<'_>) {
        let Some(verdict) = row.verdicts.first() else {
            return;
        };
        let rules = self.rules;
        self.rows += 1;
        self.review += u64::from(verdict.review);
        let label_of = |c: crate::CategoryId| rules.category(c).label;
        for &c in &verdict.categories {
            let counts = &mut self.category_counts[c.0 as usize];
            counts[0] += 1;
            counts[1] += u64::from(verdict.category == Some(c));
            counts[2] += u64::from(verdict.categories.iter().any(|&o| o != c));
            counts[3] += u64::from(
                verdict
                    .categories
                    .iter()
                    .any(|&o| label_of(o) != label_of(c)),
            );
        }
        for &r in &verdict.rules {
            let c = rules.rule(r).category;
            let counts = &mut self.rule_counts[r.0 as usize];
            counts[0] += 1;
            counts[1] += u64::from(verdict.categories.iter().any(|&o| o != c));
            counts[2] += u64::from(
                verdict
                    .categories
                    .iter()
                    .any(|&o| label_of(o) != label_of(c)),
            );
        }
        if verdict.category.is_none() {
            self.no_category += 1;
            self.count_candidates(row.ticket);
        }
    }
}

/// Adds the candidate words and adjacent-word phrases of `text` to the row's sets. Words are
/// runs of word characters (as the rules match them) of normalised text; punctuation other
/// than spaces breaks phrases.
fn tokenize(text: &str, s: &mut Scratch) {
    normalize_into(text, &mut s.norm);
    s.previous.clear();
    let norm = s.norm.text.as_str();
    let mut start: Option<usize> = None;
    // Whether only spaces lie between the previous word and this one.
    let mut adjacent = false;
    let mut take = |word: &str, adjacent: bool, s_prev: &mut String| {
        let keep = is_candidate(word);
        if keep {
            if adjacent && !s_prev.is_empty() {
                s.row_phrases.insert(format!("{s_prev} {word}"));
            }
            s.row_words.insert(word.to_owned());
            s_prev.clear();
            s_prev.push_str(word);
        } else {
            s_prev.clear();
        }
    };
    let mut prev = std::mem::take(&mut s.previous);
    for (i, c) in norm.char_indices() {
        if is_word_char(c) {
            start.get_or_insert(i);
            continue;
        }
        if let Some(st) = start.take() {
            take(&norm[st..i], adjacent, &mut prev);
            adjacent = true;
        }
        if c != ' ' {
            adjacent = false;
            prev.clear();
        }
    }
    if let Some(st) = start {
        take(&norm[st..], adjacent, &mut prev);
    }
    s.previous = prev;
}

fn is_candidate(word: &str) -> bool {
    let chars = word.chars().count();
    (2..=MAX_WORD_CHARS).contains(&chars)
        && word.chars().any(char::is_alphabetic)
        && !STOPWORDS.contains(&word)
}

/// Keeps the `keep` most frequent entries of `map`.
fn prune(map: &mut HashMap<String, u64>, keep: usize) {
    let mut counts: Vec<u64> = map.values().copied().collect();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    let floor = counts.get(keep).copied().unwrap_or(0);
    map.retain(|_, n| *n > floor);
}

/// The `n` most frequent entries, ties by term.
fn top(map: &HashMap<String, u64>, n: usize) -> Vec<Candidate> {
    let mut all: Vec<(&String, &u64)> = map.iter().collect();
    all.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    all.into_iter()
        .take(n)
        .map(|(t, &rows)| Candidate {
            term: t.clone(),
            rows,
        })
        .collect()
}

/// Classifies every row of `inputs` with `rules` and reports coverage.
pub fn coverage(
    rules: &RuleSet,
    info: RuleSetInfo,
    inputs: Vec<InputSource>,
    cfg: &BatchConfig,
    progress: &dyn Progress,
    note: &mut dyn FnMut(String),
) -> Result<(CoverageReport, Summary), BatchError> {
    let mut total = CoverageTally::new(rules);
    let new_tally = || CoverageTally::new(rules);
    let summary = batch::run_tally(
        &[rules],
        inputs,
        cfg,
        progress,
        note,
        &new_tally,
        &mut |part: &mut CoverageTally<'_>| total.merge(part),
    )?;
    Ok((total.into_report(info), summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words_of(text: &str) -> (Vec<String>, Vec<String>) {
        let mut s = Scratch::default();
        tokenize(text, &mut s);
        let mut w: Vec<String> = s.row_words.into_iter().collect();
        let mut p: Vec<String> = s.row_phrases.into_iter().collect();
        w.sort();
        p.sort();
        (w, p)
    }

    #[test]
    fn tokens_are_normalised_words_without_stopwords() {
        let (w, p) = words_of("The Grafana dashboard is blank. Grafana agent: 502 errors");
        assert_eq!(w, ["agent", "blank", "dashboard", "errors", "grafana"]);
        // `blank. grafana` crosses a sentence end and `agent: 502` a colon; `is` is a stopword.
        assert_eq!(p, ["grafana agent", "grafana dashboard"]);
    }

    #[test]
    fn pruning_keeps_the_most_frequent() {
        let mut m: HashMap<String, u64> = [("a", 5), ("b", 1), ("c", 3), ("d", 1)]
            .map(|(k, v)| (k.to_owned(), v))
            .into();
        prune(&mut m, 2);
        let mut keys: Vec<&String> = m.keys().collect();
        keys.sort();
        assert_eq!(keys, ["a", "c"]);
    }
}
