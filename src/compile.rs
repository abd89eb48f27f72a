//! Validation and compilation of parsed rule files into a [`RuleSet`]: all pattern work
//! (normalising literals, building the Aho-Corasick automaton, the `RegexSet`, the zone markers
//! and release parsers) happens here, once.

use crate::error::{LoadError, LoadErrorKind, LoadErrors};
use crate::matching::literals::LiteralMatcher;
use crate::matching::normalize::{joins_word, normalize};
use crate::matching::zones::{InlineZone, Marker, ZoneDetector, MARKER_KINDS};
use crate::rules::source::{NegationDecl, Text, ZonesDecl};
use crate::rules::{ParsedRules, SourceFile};
use crate::ruleset::*;
use regex::bytes::{Regex, RegexBuilder, RegexSetBuilder};
use std::collections::{hash_map::Entry, HashMap};

/// Largest compiled size accepted for one regex (the regex crate's own measure).
pub const REGEX_SIZE_LIMIT: usize = 1 << 21;

/// Largest compiled size of the one set that holds every regex without a literal guard.
pub const UNGUARDED_SIZE_LIMIT: usize = REGEX_SIZE_LIMIT * 8;

/// The default release syntax: `9`, `9.2`, `15 sp6`, `15sp6`, `15 service pack 6`.
const DEFAULT_RELEASE: &str =
    r"(?P<major>\d{1,2})(?:[._](?P<minor>\d{1,2}))?(?:\s*(?:sp|service pack)\s*(?P<sp>\d{1,2}))?";

/// A pattern as written, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum PatternSpec {
    Literal {
        text: String,
        left_open: bool,
        right_open: bool,
    },
    Regex(String),
}

/// Parses the pattern syntax of rules/README.md: `re:…`, `*prefix`, `suffix*`, literal.
pub(crate) fn parse_pattern(raw: &str) -> Result<PatternSpec, LoadErrorKind> {
    if let Some(re) = raw.strip_prefix("re:") {
        if re.trim().is_empty() {
            return Err(LoadErrorKind::EmptyPattern);
        }
        return Ok(PatternSpec::Regex(re.to_owned()));
    }
    let trimmed = raw.trim();
    let left_open = trimmed.starts_with('*');
    let right_open = trimmed.len() > 1 && trimmed.ends_with('*');
    let inner = trimmed.trim_start_matches('*').trim_end_matches('*');
    let text = normalize(inner);
    if text.is_empty() {
        return Err(LoadErrorKind::EmptyPattern);
    }
    Ok(PatternSpec::Literal {
        text,
        left_open,
        right_open,
    })
}

/// Spelling variants of version numbers in a literal: `22.04` → `22_04`, `22 04`, `2204`.
pub(crate) fn version_variants(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let dots: Vec<usize> = (1..bytes.len().saturating_sub(1))
        .filter(|&i| {
            bytes[i] == b'.' && bytes[i - 1].is_ascii_digit() && bytes[i + 1].is_ascii_digit()
        })
        .collect();
    if dots.is_empty() {
        return vec![text.to_owned()];
    }
    [".", "_", " ", ""]
        .iter()
        .map(|sep| {
            let mut out = String::with_capacity(text.len());
            let mut last = 0;
            for &d in &dots {
                out.push_str(&text[last..d]);
                out.push_str(sep);
                last = d + 1;
            }
            out.push_str(&text[last..]);
            out
        })
        .collect()
}

#[derive(Default)]
struct PatternTable {
    patterns: Vec<Pattern>,
    /// Literal patterns by text: the first one interned with that text. Keyed by the text
    /// alone so a lookup (most are repeats) borrows it instead of copying it.
    literal_index: HashMap<String, u32, std::hash::BuildHasherDefault<TextHasher>>,
    /// The literal patterns whose text was first interned with other edge checks: (that first
    /// pattern, the edge checks) → pattern. Rare: a text is nearly always checked one way.
    literal_edges: HashMap<(u32, [bool; 3]), u32>,
    literal_texts: Vec<String>,
    literal_patterns: Vec<u32>,
    regex_index: HashMap<String, u32>,
    /// The ids of the pattern being added ([`PatternTable::add`]), kept for its buffer.
    ids: Vec<u32>,
    /// The rules' regexes checked and their guards read ahead of compiling, by source.
    analyses: HashMap<String, RegexAnalysis>,
    regex_sources: Vec<String>,
    regexes: Vec<LazyRegex>,
    regex_patterns: Vec<u32>,
    unguarded: Vec<u32>,
    /// Regexes whose guards are so short that most tickets hold one (`triage lint`).
    weakly_guarded: Vec<u32>,
}

/// Guards of letters this short (in bytes) start words of most tickets ("man" of "many",
/// "command", "manager"): the regex runs nearly everywhere. Short guards with other bytes
/// (".ko", "=>{", "_v5") are rare and stay selective.
pub(crate) const WEAK_GUARD_LEN: usize = 3;

/// Whether a guard is a short run of letters, seen in most tickets.
fn weak_guard(guard: &str) -> bool {
    guard.len() <= WEAK_GUARD_LEN && guard.bytes().all(|b| b.is_ascii_alphabetic())
}

impl PatternTable {
    fn new_pattern(&mut self, need_left: bool, need_right: bool, digits_after: bool) -> u32 {
        self.patterns.push(Pattern {
            owners: Vec::new(),
            steering: 0,
            vetoing: 0,
            need_left,
            need_right,
            digits_after,
        });
        (self.patterns.len() - 1) as u32
    }

    /// The pattern of a literal (interned): its text and how its edges are checked.
    fn literal(
        &mut self,
        text: &str,
        left_open: bool,
        right_open: bool,
        digits_after: bool,
    ) -> u32 {
        let starts_word = text.chars().next().is_some_and(joins_word);
        let ends_word = text.chars().next_back().is_some_and(joins_word);
        let need_left = starts_word && !left_open;
        let need_right = ends_word && !right_open && !digits_after;
        let edges = [need_left, need_right, digits_after];
        let first = self.literal_index.get(text).copied();
        if let Some(id) = first {
            let p = &self.patterns[id as usize];
            if [p.need_left, p.need_right, p.digits_after] == edges {
                return id;
            }
            if let Some(&id) = self.literal_edges.get(&(id, edges)) {
                return id;
            }
        }
        let id = self.new_pattern(need_left, need_right, digits_after);
        match first {
            Some(first) => self.literal_edges.insert((first, edges), id),
            None => self.literal_index.insert(text.to_owned(), id),
        };
        self.literal_texts.push(text.to_owned());
        self.literal_patterns.push(id);
        id
    }

    fn regex(&mut self, source: &str) -> Result<u32, LoadErrorKind> {
        if let Some(&id) = self.regex_index.get(source) {
            return Ok(id);
        }
        let guards = self
            .analyses
            .remove(source)
            .unwrap_or_else(|| analyze_regex(source))?;
        let id = self.new_pattern(false, false, false);
        let index = self.regexes.len() as u32;
        self.regex_index.insert(source.to_owned(), id);
        self.regexes.push(LazyRegex::new(source));
        self.regex_patterns.push(id);
        match guards {
            Some((guards, anchored)) => {
                if guards.iter().any(|g| weak_guard(g)) {
                    self.weakly_guarded.push(index);
                }
                for g in guards {
                    let guard = self.literal(&g, true, true, false);
                    self.patterns[guard as usize]
                        .owners
                        .push(Owner::RegexGuard {
                            regex: index,
                            anchored,
                        });
                }
            }
            None => {
                self.regex_sources.push(source.to_owned());
                self.unguarded.push(index);
            }
        }
        Ok(id)
    }

    /// Checks a regex's syntax and size, as [`check_regex`] does.
    fn check_regex(&self, source: &str) -> Result<(), LoadErrorKind> {
        match self.analyses.get(source) {
            Some(analysis) => analysis.as_ref().map(drop).map_err(Clone::clone),
            None => check_regex(source),
        }
    }

    /// Appends the pattern ids of `spec` (interned) to `out`, with version variants if asked.
    fn ids_into(
        &mut self,
        spec: &PatternSpec,
        variants: bool,
        out: &mut Vec<u32>,
    ) -> Result<(), LoadErrorKind> {
        match spec {
            PatternSpec::Literal {
                text,
                left_open,
                right_open,
            } => {
                if variants {
                    for t in version_variants(text) {
                        out.push(self.literal(&t, *left_open, *right_open, false));
                    }
                } else {
                    out.push(self.literal(text, *left_open, *right_open, false));
                }
            }
            PatternSpec::Regex(source) => out.push(self.regex(source)?),
        }
        Ok(())
    }

    /// Adds `owner` to the pattern(s) of `spec`, with version variants if asked.
    fn add(
        &mut self,
        spec: &PatternSpec,
        owner: Owner,
        variants: bool,
    ) -> Result<(), LoadErrorKind> {
        // One buffer for every pattern's ids, not a `Vec` each.
        let mut ids = std::mem::take(&mut self.ids);
        ids.clear();
        let interned = self.ids_into(spec, variants, &mut ids);
        for &id in &ids {
            self.patterns[id as usize].owners.push(owner);
        }
        self.ids = ids;
        interned
    }
}

/// The hasher of the map that interns literals, hashed for every pattern written: FxHash
/// (rustc's), several times faster than the default on short keys. Keys are rule texts, not
/// text an attacker chooses.
#[derive(Default, Clone, Copy)]
struct TextHasher(u64);

impl TextHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl std::hash::Hasher for TextHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            self.add(u64::from_le_bytes(word.try_into().expect("8 bytes")));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last));
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    fn finish(&self) -> u64 {
        // The multiply leaves its best bits at the top; the table indexes by the low ones.
        self.0.rotate_left(26)
    }
}

fn regex_builder_error(e: regex::Error) -> String {
    match e {
        regex::Error::Syntax(s) => s,
        regex::Error::CompiledTooBig(limit) => {
            format!("compiled regex exceeds the size limit of {limit} bytes; simplify it or split it into literals")
        }
        other => other.to_string(),
    }
}

/// Compiled size of a rule regex, as `check_regex` measures it; `None` if it does not compile
/// within `limit`.
pub(crate) fn regex_size(source: &str, limit: usize) -> Option<usize> {
    use regex_automata::nfa::thompson;
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(true)
        .unicode(false)
        .utf8(false)
        .build()
        .parse(source)
        .ok()?;
    thompson::Compiler::new()
        .configure(
            thompson::Config::new()
                .utf8(false)
                .shrink(false)
                .nfa_size_limit(Some(limit)),
        )
        .build_from_hir(&hir)
        .ok()
        .map(|nfa| nfa.memory_usage())
}

/// The error for regexes that pass alone but not together (`members`: each source with where
/// it is written): located at the biggest of them, the one to simplify or split.
fn combined_too_big<'a>(
    members: impl Iterator<Item = (&'a str, LoadErrorLocation<'a>)>,
    what: &str,
    limit: usize,
    advice: &str,
) -> Option<LoadError> {
    let members: Vec<_> = members.collect();
    let count = members.len();
    let (source, at, size) = members
        .into_iter()
        .map(|(source, at)| (source, at, regex_size(source, usize::MAX)))
        .max_by_key(|(_, _, size)| *size)?;
    let size = size.map_or_else(|| "?".to_owned(), |n| n.to_string());
    Some(at.0.error(
        at.1,
        invalid(
            source,
            format!(
                "the {count} {what} together exceed the size limit of {limit} bytes; this one, \
                 the biggest, compiles to {size} bytes: {advice}"
            ),
        ),
    ))
}

/// A file and a byte offset in it.
type LoadErrorLocation<'a> = (&'a SourceFile, usize);

/// Where a regex pattern (`re:` + `source`) is first written in the rule files.
fn find_regex<'a>(parsed: &'a ParsedRules, source: &str) -> Option<LoadErrorLocation<'a>> {
    let is = |t: &Text| t.get_ref().strip_prefix("re:") == Some(source);
    for (file, decl) in &parsed.categories {
        for rule in &decl.rules {
            let texts = rule
                .any
                .iter()
                .chain(rule.all.iter().flat_map(|g| g.get_ref()))
                .chain(&rule.none)
                .chain(
                    rule.near
                        .iter()
                        .flat_map(|n| n.a.get_ref().iter().chain(n.b.get_ref())),
                );
            for t in texts {
                if is(t) {
                    return Some((file, t.span().start));
                }
            }
        }
    }
    if let Some((file, decl)) = &parsed.lists {
        for t in decl.lists.values().flatten() {
            if is(t) {
                return Some((file, t.span().start));
            }
        }
    }
    let (file, language) = &parsed.language;
    let n = &language.negation;
    n.forward
        .iter()
        .chain(&n.backward)
        .chain(&n.pseudo)
        .chain(&n.terminators)
        .find(|t| is(t))
        .map(|t| (file, t.span().start))
}

/// The error when the set of unguarded regexes does not compile.
fn unguarded_set_error(parsed: &ParsedRules, sources: &[String], e: regex::Error) -> LoadError {
    let policy = &parsed.policy.0;
    let members = sources
        .iter()
        .map(|s| (s.as_str(), find_regex(parsed, s).unwrap_or((policy, 0))));
    match e {
        regex::Error::CompiledTooBig(limit) => combined_too_big(
            members,
            "regexes without a literal prefix or suffix (they run as one set on every ticket)",
            limit,
            "give it a literal prefix or suffix, simplify it or split it into literals",
        ),
        _ => None,
    }
    .unwrap_or_else(|| {
        policy.error(
            0,
            LoadErrorKind::Invalid(format!("regex set: {}", regex_builder_error(e))),
        )
    })
}

fn invalid(source: &str, message: String) -> LoadErrorKind {
    LoadErrorKind::InvalidRegex {
        pattern: source.to_owned(),
        message,
    }
}

/// What compiling needs of a rule regex: whether it is sound ([`parse_regex`]) and its guard
/// literals ([`guard_literals`]).
type RegexAnalysis = Result<Option<(Vec<String>, bool)>, LoadErrorKind>;

fn analyze_regex(source: &str) -> RegexAnalysis {
    parse_regex(source).map(|hir| guard_literals(&hir))
}

/// Analyses every regex the rules, lists and negation cues write. Parsing regexes and reading
/// their literals is most of the cost of compiling the rules: two threads share the work, each
/// taking the next regex not yet taken (their costs vary too much to split the list ahead).
fn analyze_regexes(parsed: &ParsedRules) -> HashMap<String, RegexAnalysis> {
    let mut sources = rule_regexes(parsed);
    sources.sort_unstable();
    sources.dedup();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let analyze = || -> Vec<(String, RegexAnalysis)> {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(&source) = sources.get(i) else {
                return done;
            };
            done.push((source.to_owned(), analyze_regex(source)));
        }
    };
    std::thread::scope(|scope| {
        let other = scope.spawn(analyze);
        let mine = analyze();
        let other = other
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        other.into_iter().chain(mine).collect()
    })
}

/// The sources of the regex patterns (`re:…`) of the rules, the lists and the negation cues.
fn rule_regexes(parsed: &ParsedRules) -> Vec<&str> {
    let rules = parsed.categories.iter().flat_map(|(_, f)| &f.rules);
    let in_rules = rules.flat_map(|rule| {
        let near = rule.near.iter().chain(&rule.none_near);
        rule.any
            .iter()
            .chain(rule.all.iter().flat_map(|g| g.get_ref()))
            .chain(&rule.none)
            .chain(near.flat_map(|n| n.a.get_ref().iter().chain(n.b.get_ref())))
    });
    let in_lists = parsed
        .lists
        .iter()
        .flat_map(|(_, decl)| decl.lists.values().flatten());
    let n = &parsed.language.1.negation;
    let cues = n
        .forward
        .iter()
        .chain(&n.backward)
        .chain(&n.pseudo)
        .chain(&n.terminators);
    in_rules
        .chain(in_lists)
        .chain(cues)
        .filter_map(|t| t.get_ref().strip_prefix("re:"))
        .filter(|re| !re.trim().is_empty())
        .collect()
}

/// Checks a rule regex without building its matcher: syntax (the regex crate's own parser and
/// messages) and compiled size. Matchers are built on first use, which keeps loading fast.
pub(crate) fn check_regex(source: &str) -> Result<(), LoadErrorKind> {
    parse_regex(source).map(drop)
}

/// Parses a rule regex (syntax as rules use it, cased as written: literals are read from it)
/// and checks that it compiles within [`REGEX_SIZE_LIMIT`].
fn parse_regex(source: &str) -> Result<regex_syntax::hir::Hir, LoadErrorKind> {
    let hir = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(source)
        .map_err(|e| invalid(source, e.to_string()))?;
    // Without counted repetitions or Unicode classes, a regex's compiled size grows with its
    // length, so short ones cannot reach the limit: skip the (costly) trial compilation. So
    // too when its counted repetitions are small (`\d{1,2}`, `(?:\S+ ){0,3}`).
    let may_blow_up = source.len() > 500
        || source.contains('{')
        || source.contains("\\p")
        || source.contains("(?u")
        || source.contains("(?-i");
    // Case-insensitive, a letter is a class of two.
    if !may_blow_up || 2 * nfa_states_bound(&hir) < SMALL_REGEX_STATES {
        return Ok(hir);
    }
    match regex_size(source, REGEX_SIZE_LIMIT) {
        Some(_) => Ok(hir),
        None => Err(invalid(
            source,
            format!("compiled regex exceeds the size limit of {REGEX_SIZE_LIMIT} bytes; simplify it or split it into literals"),
        )),
    }
}

/// An NFA this many states (an upper bound, [`nfa_states_bound`]) is far below
/// [`REGEX_SIZE_LIMIT`], whatever each state costs.
const SMALL_REGEX_STATES: u64 = 2_000;

/// An upper bound on the states of the NFA of `hir`: each literal byte, class range and look
/// around a state, a counted repetition its body as many times as it may repeat, plus one.
fn nfa_states_bound(hir: &regex_syntax::hir::Hir) -> u64 {
    use regex_syntax::hir::{Class, HirKind};
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => 1,
        HirKind::Literal(lit) => lit.0.len() as u64,
        HirKind::Class(Class::Bytes(c)) => c.ranges().len() as u64 + 1,
        HirKind::Class(Class::Unicode(c)) => 4 * c.ranges().len() as u64 + 1,
        HirKind::Repetition(rep) => {
            let times = u64::from(rep.max.unwrap_or(rep.min).max(rep.min)) + 1;
            nfa_states_bound(&rep.sub).saturating_mul(times)
        }
        HirKind::Capture(cap) => nfa_states_bound(&cap.sub),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => subs
            .iter()
            .map(nfa_states_bound)
            .fold(1, u64::saturating_add),
    }
}

/// The length of the shortest of some guard literals: the longer, the fewer tickets hold one.
fn shortest(guards: &[String]) -> usize {
    guards.iter().map(String::len).min().unwrap_or(0)
}

/// Literals one of which every match of `source` holds, lower-cased as in normalised text:
/// its prefixes (`true`: the regex can then run anchored where one was seen) or else its
/// suffixes or literals from inside it. `None` when there is no short list of usable literals;
/// such a regex runs on every ticket.
fn guard_literals(hir: &regex_syntax::hir::Hir) -> Option<(Vec<String>, bool)> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let extract = |kind: ExtractKind| -> Option<Vec<String>> {
        let mut extractor = Extractor::new();
        extractor
            .kind(kind.clone())
            .limit_total(512)
            .limit_class(32);
        // The longest literal length that leaves a handful of guards: `ah0\d{4}` → `ah00`…
        // (Cutting to n bytes, then to fewer, is cutting to fewer: one sequence is cut down.)
        let mut seq = extractor.extract(hir);
        (2..=8).rev().find(|&n| {
            match kind {
                ExtractKind::Prefix => seq.keep_first_bytes(n),
                _ => seq.keep_last_bytes(n),
            }
            seq.sort();
            seq.dedup();
            seq.len().is_some_and(|len| len <= 16)
        })?;
        let mut guards: Vec<String> = Vec::new();
        for lit in seq.literals()? {
            let text = rule_guard(lit.as_bytes())?;
            if !guards.contains(&text) {
                guards.push(text);
            }
        }
        (!guards.is_empty()).then_some(guards)
    };
    // The more selective set wins: short guards, or many of them (`sta`, `htt`, `get`… of
    // `status|http|get…`), are seen in most tickets, so longer or fewer suffixes (`500`…`504`)
    // are worth losing the anchored start for.
    let chosen = match (extract(ExtractKind::Prefix), extract(ExtractKind::Suffix)) {
        (Some(prefix), Some(suffix))
            if (shortest(&suffix), prefix.len()) > (shortest(&prefix), suffix.len()) =>
        {
            Some((suffix, false))
        }
        (Some(prefix), _) => Some((prefix, true)),
        (None, suffix) => suffix.map(|g| (g, false)),
    };
    // Guards that only say the regex must run over the field may as well come from inside it,
    // when those are more selective: `\(\) (?:returns?|gives|…)` holds `() return`, `() give`…
    // where its suffixes are word endings seen in most tickets (`rns`, `ves`…). Looking inside
    // costs load time, so only suffixes that short are looked past.
    match chosen {
        Some((suffix, false)) if shortest(&suffix) < SELECTIVE_GUARD_LEN => {
            match inner_literals(hir, rule_guard) {
                Some(inner)
                    if (shortest(&inner), suffix.len()) > (shortest(&suffix), inner.len()) =>
                {
                    Some((inner, false))
                }
                _ => Some((suffix, false)),
            }
        }
        other => other,
    }
}

/// Guards this long are rare enough in tickets that looking for better ones does not pay.
const SELECTIVE_GUARD_LEN: usize = 5;

/// A literal of a rule regex as a guard: lower-cased as in normalised text, which rule regexes
/// run on. `None` when it is too short to filter anything, or when normalisation changes it
/// (a dash, a line break, a double space): never seen as is, it could not guard.
fn rule_guard(literal: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(literal).ok()?.to_lowercase();
    let plain = text
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b'-' || b == b' ');
    (text.trim().len() >= 2 && plain && !text.contains("  ")).then_some(text)
}

/// A literal of a zone regex as a guard: zone regexes run on the original text, guards are
/// seen in normalised text, so the literal is normalised (`->` is ` >` there) and trimmed.
fn zone_guard(literal: &[u8]) -> Option<String> {
    let text = normalize(std::str::from_utf8(literal).ok()?);
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// Literals of normalised text one of which the normalised text of every match of `source`
/// holds somewhere: the prefixes of a tail of its top-level sequence (the tail whose shortest
/// literal is longest), each read as a guard by `guard` (`None`: that tail has no usable list):
/// `\S*wordpress.org\S*` → `wordpres`, `\b\w+\.(?:com|org)/` → `.com/`, `.org/`. `None` when
/// there is no short list. (For zones: a combining accent right after a guard composes with
/// its last letter in normalised text, hiding it: the zone is then missed, in a text no one
/// types.)
fn inner_literals(
    hir: &regex_syntax::hir::Hir,
    guard: fn(&[u8]) -> Option<String>,
) -> Option<Vec<String>> {
    use regex_syntax::hir::{literal::Extractor, HirKind};
    let items = match hir.kind() {
        HirKind::Concat(items) => items.as_slice(),
        _ => std::slice::from_ref(hir),
    };
    let mut extractor = Extractor::new();
    extractor.limit_total(INNER_LIMIT_TOTAL).limit_class(32);
    // Each item's prefixes, extracted once: a tail's are their cross product (a tail of a
    // concatenation is the concatenation of its items, which `Hir::concat` would rebuild).
    let prefixes: Vec<_> = items.iter().map(|item| extractor.extract(item)).collect();
    let mut best: Option<Vec<String>> = None;
    for at in 0..items.len() {
        let mut seq = match &prefixes[at..] {
            [one] => one.clone(),
            tail => concat_prefixes(tail),
        };
        let found = (1..=8).rev().find_map(|n| {
            seq.keep_first_bytes(n);
            seq.dedup();
            let literals = seq.literals()?;
            let mut guards: Vec<String> = Vec::new();
            for lit in literals {
                let text = guard(lit.as_bytes())?;
                if !guards.contains(&text) {
                    // More than 16 is no short list: stop reading the (up to 512) literals.
                    if guards.len() == 16 {
                        return None;
                    }
                    guards.push(text);
                }
            }
            Some(guards)
        });
        if let Some(found) = found {
            if best.as_ref().is_none_or(|b| shortest(&found) > shortest(b)) {
                best = Some(found);
            }
        }
    }
    best
}

/// How many literals [`inner_literals`] lets a prefix sequence grow to.
const INNER_LIMIT_TOTAL: usize = 512;
/// The extractor's default bound on a literal's length (regex-syntax 0.8).
const EXTRACTOR_LITERAL_LEN: usize = 100;

/// The prefixes the extractor of [`inner_literals`] finds in a concatenation of items whose
/// own prefixes are `seqs` (two or more): its concatenation rule (regex-syntax 0.8's
/// `extract_concat`) applied to sequences extracted once rather than once per tail.
fn concat_prefixes(seqs: &[regex_syntax::hir::literal::Seq]) -> regex_syntax::hir::literal::Seq {
    use regex_syntax::hir::literal::{Literal, Seq};
    let mut seq = Seq::singleton(Literal::exact(vec![]));
    for next in seqs {
        if seq.is_inexact() {
            break;
        }
        let mut next = next.clone();
        if seq
            .max_cross_len(&next)
            .is_some_and(|len| len > INNER_LIMIT_TOTAL)
        {
            next.make_infinite();
        }
        seq.cross_forward(&mut next);
        seq.keep_first_bytes(EXTRACTOR_LITERAL_LEN);
    }
    seq
}

/// A rule regex whose matcher is built the first time a ticket needs it.
#[derive(Debug)]
pub(crate) struct LazyRegex {
    source: String,
    cell: std::sync::OnceLock<Option<regex_automata::meta::Regex>>,
}

impl LazyRegex {
    fn new(source: &str) -> Self {
        LazyRegex {
            source: source.to_owned(),
            cell: std::sync::OnceLock::new(),
        }
    }

    pub(crate) fn source(&self) -> &str {
        &self.source
    }

    /// The matcher; `None` only if building fails, which `check_regex` rules out.
    pub(crate) fn get(&self) -> Option<&regex_automata::meta::Regex> {
        self.cell
            .get_or_init(|| {
                use regex_automata::{meta, util::syntax};
                meta::Regex::builder()
                    .syntax(
                        syntax::Config::new()
                            .case_insensitive(true)
                            .unicode(false)
                            .utf8(false),
                    )
                    .configure(
                        meta::Config::new()
                            .utf8_empty(false)
                            .nfa_size_limit(Some(REGEX_SIZE_LIMIT)),
                    )
                    .build(&self.source)
                    .ok()
            })
            .as_ref()
    }
}

/// Builds a regex the way rules use them: case-insensitive, ASCII classes, size-limited.
fn build_regex(source: &str) -> Result<Regex, LoadErrorKind> {
    RegexBuilder::new(source)
        .case_insensitive(true)
        .unicode(false)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| LoadErrorKind::InvalidRegex {
            pattern: source.to_owned(),
            message: regex_builder_error(e),
        })
}

struct Ctx<'a> {
    errors: Vec<LoadError>,
    file: &'a SourceFile,
}

impl Ctx<'_> {
    fn err(&mut self, text: &Text, kind: LoadErrorKind) {
        self.errors.push(self.file.error(text.span().start, kind));
    }
}

/// Compiles parsed rule files into a rule set, or returns every problem found.
///
/// Loading is laid out for two cores: the regexes are analysed on both; then the zone
/// detector (it depends on `language.toml` alone) compiles on a second thread while the rules
/// compile on this one; then the literal automaton builds on the second thread while this one
/// finishes the listeners and the set of unguarded regexes.
pub fn compile(parsed: ParsedRules, fingerprint: u64) -> Result<RuleSet, LoadErrors> {
    let analyses = analyze_regexes(&parsed);
    std::thread::scope(|scope| {
        let (language_file, language) = &parsed.language;
        let zones = scope.spawn(|| compile_zones(&language.zones, language_file));
        compile_rules(&parsed, analyses, zones, fingerprint)
    })
}

/// Compiles everything but the zone detector, which `zones` delivers, with the regexes
/// analysed ([`analyze_regexes`]).
fn compile_rules(
    parsed: &ParsedRules,
    analyses: HashMap<String, RegexAnalysis>,
    zones: std::thread::ScopedJoinHandle<'_, CompiledZones>,
    fingerprint: u64,
) -> Result<RuleSet, LoadErrors> {
    let mut errors = Vec::new();
    let mut table = PatternTable {
        analyses,
        ..PatternTable::default()
    };

    // --- policy: labels, categories, precedence -------------------------------------------
    let (policy_file, policy) = &parsed.policy;
    let mut cx = Ctx {
        errors: Vec::new(),
        file: policy_file,
    };
    let labels: Vec<String> = policy.labels.iter().map(|l| l.get_ref().clone()).collect();
    let label_of = |name: &Text, cx: &mut Ctx| -> Option<LabelId> {
        let found = labels
            .iter()
            .position(|l| l == name.get_ref())
            .map(|i| LabelId(i as u16));
        if found.is_none() {
            cx.err(name, LoadErrorKind::UnknownLabel(name.get_ref().clone()));
        }
        found
    };
    let default_label = label_of(&policy.default_label, &mut cx).unwrap_or(LabelId(0));
    let mut categories: Vec<Category> = Vec::new();
    let mut category_index: HashMap<String, CategoryId> = HashMap::new();
    for decl in &policy.categories {
        let label = label_of(&decl.label, &mut cx).unwrap_or(LabelId(0));
        let name = decl.name.get_ref().clone();
        if category_index.contains_key(&name) {
            cx.err(&decl.name, LoadErrorKind::DuplicateCategory(name.clone()));
            continue;
        }
        category_index.insert(name.clone(), CategoryId(categories.len() as u16));
        categories.push(Category {
            name,
            label,
            description: decl.description.clone(),
            yields_to: Vec::new(),
            tier: usize::MAX,
            rank: 0,
        });
    }
    let lookup = |name: &Text, cx: &mut Ctx| -> Option<CategoryId> {
        let found = category_index.get(name.get_ref()).copied();
        if found.is_none() {
            cx.err(name, LoadErrorKind::UnknownCategory(name.get_ref().clone()));
        }
        found
    };
    for decl in &policy.categories {
        let Some(&id) = category_index.get(decl.name.get_ref()) else {
            continue;
        };
        let yields: Vec<_> = decl
            .yields_to
            .iter()
            .filter_map(|y| lookup(y, &mut cx))
            .collect();
        categories[id.0 as usize].yields_to = yields;
    }
    let mut tiers = Vec::new();
    for (t, tier) in policy.precedence.get_ref().iter().enumerate() {
        let mut ids = Vec::new();
        for (rank, name) in tier.iter().enumerate() {
            let Some(id) = lookup(name, &mut cx) else {
                continue;
            };
            let cat = &mut categories[id.0 as usize];
            if cat.tier != usize::MAX {
                cx.err(name, LoadErrorKind::PrecedenceDuplicate(cat.name.clone()));
                continue;
            }
            cat.tier = t;
            cat.rank = rank;
            ids.push(id);
        }
        tiers.push(ids);
    }
    for cat in &categories {
        if cat.tier == usize::MAX {
            cx.errors.push(policy_file.error(
                policy.precedence.span().start,
                LoadErrorKind::PrecedenceOmits(cat.name.clone()),
            ));
        }
    }
    errors.append(&mut cx.errors);

    // --- named pattern lists -----------------------------------------------------------------
    let mut lists: HashMap<String, Vec<PatternSpec>> = HashMap::new();
    if let Some((file, decl)) = &parsed.lists {
        let mut cx = Ctx {
            errors: Vec::new(),
            file,
        };
        for (name, patterns) in &decl.lists {
            let mut specs = Vec::with_capacity(patterns.len());
            for p in patterns {
                if let Some(other) = p.get_ref().trim().strip_prefix('@') {
                    cx.err(
                        p,
                        LoadErrorKind::Invalid(format!(
                            "list {name:?} names list \"@{other}\": a list holds patterns only; \
                             name both lists in the rule"
                        )),
                    );
                    continue;
                }
                // Checked here so a bad pattern is reported once, where the list defines it.
                let checked = parse_pattern(p.get_ref()).and_then(|spec| match &spec {
                    PatternSpec::Regex(source) => table.check_regex(source).map(|_| spec),
                    PatternSpec::Literal { .. } => Ok(spec),
                });
                match checked {
                    Ok(spec) => specs.push(spec),
                    Err(kind) => cx.err(p, kind),
                }
            }
            lists.insert(name.clone(), specs);
        }
        errors.append(&mut cx.errors);
    }

    // --- category files: rules --------------------------------------------------------------
    let mut list_ids: HashMap<(String, bool), Vec<u32>> = HashMap::new();
    let mut rules: Vec<Rule> = Vec::new();
    let mut rule_index: HashMap<String, String> = HashMap::new();
    let mut slot_count: u32 = 0;
    // The lists each rule's exclusion slot names.
    let mut excluded_lists: HashMap<u32, Vec<(String, bool)>> = HashMap::new();
    for (file, cat_file) in &parsed.categories {
        let mut cx = Ctx {
            errors: Vec::new(),
            file,
        };
        let Some(category) = lookup_in(&category_index, &cat_file.category, &mut cx) else {
            errors.append(&mut cx.errors);
            continue;
        };
        for decl in &cat_file.rules {
            let id = decl.id.get_ref().clone();
            let here = file.location(decl.id.span().start);
            match rule_index.entry(id.clone()) {
                Entry::Occupied(first) => {
                    cx.err(
                        &decl.id,
                        LoadErrorKind::DuplicateRuleId {
                            id: id.clone(),
                            first: first.get().clone(),
                        },
                    );
                    continue;
                }
                Entry::Vacant(v) => {
                    v.insert(here.to_string());
                }
            }
            if id.trim().is_empty() {
                cx.err(&decl.id, LoadErrorKind::Invalid("rule id is empty".into()));
            }
            if decl.any.is_empty() && decl.all.is_empty() && decl.near.is_empty() {
                cx.err(&decl.id, LoadErrorKind::NoPatterns(id.clone()));
                continue;
            }
            let fields = match decl.fields.as_ref().map(|f| f.get_ref().as_str()) {
                None | Some("both") => Field::Subject.bit() | Field::Description.bit(),
                Some("subject") => Field::Subject.bit(),
                Some("description") => Field::Description.bit(),
                Some(other) => {
                    cx.err(
                        decl.fields.as_ref().unwrap(),
                        LoadErrorKind::Invalid(format!(
                            "fields = {other:?}: expected \"subject\", \"description\" or \"both\""
                        )),
                    );
                    0
                }
            };
            let zones = match &decl.zones {
                None => Zone::Body.bit(),
                Some(list) => {
                    let mut bits = 0;
                    for z in list {
                        match Zone::parse(z.get_ref()) {
                            Some(zone) => bits |= zone.bit(),
                            None => cx.err(
                                z,
                                LoadErrorKind::Invalid(format!(
                                    "zone {:?}: expected one of body, log, quote, signature, disclaimer",
                                    z.get_ref()
                                )),
                            ),
                        }
                    }
                    bits
                }
            };
            let rule_no = rules.len() as u32;
            let mut lists_excluded = Vec::new();
            let mut add_group =
                |patterns: &[Text], slot: u32, role: SlotRole, negatable: bool, cx: &mut Ctx| {
                    for p in patterns {
                        let owner = Owner::Slot {
                            rule: rule_no,
                            slot,
                            fields,
                            zones,
                            negatable,
                            role,
                        };
                        let result = match p.get_ref().strip_prefix('@') {
                            // A list is interned once per variants setting, then only owners are added.
                            Some(name) => match lists.get(name.trim()) {
                                Some(specs) => {
                                    let key = (name.trim().to_owned(), decl.variants);
                                    if role == SlotRole::Exclusion {
                                        lists_excluded.push(key.clone());
                                    }
                                    let ids = match list_ids.get(&key) {
                                        Some(ids) => Ok(ids),
                                        None => {
                                            let mut ids = Vec::new();
                                            specs
                                                .iter()
                                                .try_for_each(|spec| {
                                                    table.ids_into(spec, decl.variants, &mut ids)
                                                })
                                                .map(|()| &*list_ids.entry(key).or_insert(ids))
                                        }
                                    };
                                    ids.map(|ids| {
                                        for &id in ids {
                                            table.patterns[id as usize].owners.push(owner);
                                        }
                                    })
                                }
                                None => Err(LoadErrorKind::UnknownList(name.trim().to_owned())),
                            },
                            None => parse_pattern(p.get_ref())
                                .and_then(|spec| table.add(&spec, owner, decl.variants)),
                        };
                        if let Err(kind) = result {
                            cx.err(p, kind);
                        }
                    }
                };
            let mut next = slot_count;
            let take_slot = |next: &mut u32| {
                *next += 1;
                *next - 1
            };
            let any = if decl.any.is_empty() {
                None
            } else {
                let s = take_slot(&mut next);
                add_group(&decl.any, s, SlotRole::Positive, decl.negatable, &mut cx);
                Some(s)
            };
            let all_start = next;
            for group in &decl.all {
                let s = take_slot(&mut next);
                if group.get_ref().is_empty() {
                    cx.errors
                        .push(file.error(group.span().start, LoadErrorKind::EmptyPattern));
                }
                add_group(
                    group.get_ref(),
                    s,
                    SlotRole::Positive,
                    decl.negatable,
                    &mut cx,
                );
            }
            let all = all_start..next;
            // Proximity clauses, then proximity exclusions: both before the `none` slot, which
            // must stay the rule's last (`share_exclusions`).
            let (mut near, mut none_near) = (Vec::new(), Vec::new());
            for (clauses, role, out) in [
                (&decl.near, SlotRole::Positive, &mut near),
                (&decl.none_near, SlotRole::Veto, &mut none_near),
            ] {
                for clause in clauses {
                    let a = take_slot(&mut next);
                    let b = take_slot(&mut next);
                    let negatable = clause.negatable.unwrap_or(decl.negatable);
                    for (side, slot) in [(&clause.a, a), (&clause.b, b)] {
                        if side.get_ref().is_empty() {
                            cx.errors
                                .push(file.error(side.span().start, LoadErrorKind::EmptyPattern));
                        }
                        add_group(side.get_ref(), slot, role, negatable, &mut cx);
                    }
                    out.push(Near {
                        a,
                        b,
                        within: clause.within,
                        ordered: clause.ordered,
                        same_sentence: clause.same_sentence,
                    });
                }
            }
            let none = if decl.none.is_empty() {
                None
            } else {
                let s = take_slot(&mut next);
                add_group(&decl.none, s, SlotRole::Exclusion, decl.negatable, &mut cx);
                Some(s)
            };
            if let Some(s) = none {
                excluded_lists.insert(s, lists_excluded);
            }
            let first_slot = slot_count;
            slot_count = next;
            rules.push(Rule {
                id,
                category,
                reason: decl.reason.clone(),
                vendor: decl.vendor.clone(),
                location: here,
                fields,
                zones,
                negatable: decl.negatable,
                fallback: decl.fallback,
                any,
                all,
                near,
                none_near,
                none: none.into_iter().collect(),
                distro: None,
                slots: first_slot..next,
            });
        }
        errors.append(&mut cx.errors);
    }

    // --- support matrix -----------------------------------------------------------------------
    let (matrix_file, matrix) = &parsed.matrix;
    let mut cx = Ctx {
        errors: Vec::new(),
        file: matrix_file,
    };
    let matrix_category = lookup_in(&category_index, &matrix.category, &mut cx);
    let mut distros = Vec::new();
    let mut release_cache: HashMap<String, (Regex, Regex)> = HashMap::new();
    for decl in &matrix.distros {
        let distro_no = distros.len() as u16;
        let release_src = decl
            .release
            .as_ref()
            .map_or(DEFAULT_RELEASE, |r| r.get_ref().as_str());
        // Most distributions share the default release syntax: build each syntax once.
        let compiled = match release_cache.get(release_src) {
            Some(pair) => Ok(pair),
            // Between the name and the release: separators, a word such as "version", or the
            // next line of /etc/os-release (`NAME="SLES"` then `VERSION="15-SP4"`).
            None => build_regex(&format!(
                r#"^[ _/:"]*(?:(?:v|version|release|rel)[ _]*|version(?:_id)?[ _]*=[ _]*"?)?(?:{release_src})"#
            ))
            .and_then(|r| build_regex(&format!("^(?:{release_src})$")).map(|full| (r, full)))
            .map(|pair| &*release_cache.entry(release_src.to_owned()).or_insert(pair)),
        }
        .cloned();
        let (release, full) = match compiled {
            Ok(pair) => pair,
            Err(kind) => {
                match &decl.release {
                    Some(r) => cx.err(r, kind),
                    None => cx.err(&decl.id, kind),
                }
                continue;
            }
        };
        let parse_release = |text: &Text, cx: &mut Ctx| -> Option<Release> {
            let norm = normalize(text.get_ref());
            let groups = release_groups(&full);
            let parsed = full
                .captures(norm.as_bytes())
                .map(|c| release_from(&c, &groups));
            if parsed.is_none() {
                cx.err(text, LoadErrorKind::InvalidRelease(text.get_ref().clone()));
            }
            parsed
        };
        let supported = if decl.supported.iter().any(|s| s.get_ref() == "*") {
            Supported::Every
        } else {
            Supported::Releases(
                decl.supported
                    .iter()
                    .filter_map(|s| parse_release(s, &mut cx))
                    .collect(),
            )
        };
        let mut codenames = HashMap::new();
        for (standalone, map) in [(true, &decl.codenames), (false, &decl.alias_codenames)] {
            for (name, release_text) in map {
                let key = normalize(name);
                let Some(release) = parse_release(release_text, &mut cx) else {
                    continue;
                };
                if key.is_empty() {
                    cx.err(release_text, LoadErrorKind::EmptyPattern);
                    continue;
                }
                codenames.insert(key.clone(), release);
                if standalone {
                    let id = table.literal(&key, false, false, false);
                    table.patterns[id as usize]
                        .owners
                        .push(Owner::Codename(distro_no, release));
                }
            }
        }
        for alias in &decl.aliases {
            let text = normalize(alias.get_ref());
            if text.is_empty() {
                cx.err(alias, LoadErrorKind::EmptyPattern);
                continue;
            }
            let id = table.literal(&text, false, false, true);
            table.patterns[id as usize]
                .owners
                .push(Owner::Distro(distro_no));
        }
        let rule_id = format!("{}.{}", matrix.rule_prefix, decl.id.get_ref());
        let here = matrix_file.location(decl.id.span().start);
        if let Some(first) = rule_index.insert(rule_id.clone(), here.to_string()) {
            cx.err(
                &decl.id,
                LoadErrorKind::DuplicateRuleId {
                    id: rule_id.clone(),
                    first,
                },
            );
        }
        let rule = RuleId(rules.len() as u32);
        rules.push(Rule {
            id: rule_id,
            category: matrix_category.unwrap_or(CategoryId(0)),
            reason: decl.reason.clone(),
            vendor: decl.vendor.clone(),
            location: here,
            fields: Field::Subject.bit() | Field::Description.bit(),
            zones: Zone::Body.bit(),
            negatable: true,
            fallback: false,
            any: None,
            all: 0..0,
            near: Vec::new(),
            none_near: Vec::new(),
            none: Vec::new(),
            distro: Some(distro_no),
            slots: 0..0,
        });
        distros.push(Distro {
            id: decl.id.get_ref().clone(),
            name: decl.name.clone(),
            vendor: decl.vendor.clone(),
            release_groups: release_groups(&release),
            release,
            supported,
            codenames,
            rule,
        });
    }
    errors.append(&mut cx.errors);

    // --- language: negation cues and zones ------------------------------------------------------
    let (language_file, language) = &parsed.language;
    let mut cx = Ctx {
        errors: Vec::new(),
        file: language_file,
    };
    add_cues(&language.negation, &mut table, &mut cx);
    let mut zones = zones
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    zones.intern_guards(&mut table);
    errors.append(&mut cx.errors);
    errors.append(&mut zones.errors);

    // Every category needs a way to fire (checked once the rules themselves are sound).
    let sound = errors.is_empty();
    for (i, cat) in categories.iter().enumerate().filter(|_| sound) {
        let id = CategoryId(i as u16);
        if !rules.iter().any(|r| r.category == id) {
            errors.push(
                policy_file.error(
                    policy
                        .categories
                        .iter()
                        .find(|c| c.name.get_ref() == &cat.name)
                        .map_or(0, |c| c.name.span().start),
                    LoadErrorKind::CategoryWithoutRules(cat.name.clone()),
                ),
            );
        }
    }

    if !errors.is_empty() {
        // A bad pattern in a file's `[all_rules]` is checked once per rule that shares it:
        // report it once.
        let mut reported: Vec<LoadError> = Vec::with_capacity(errors.len());
        for error in errors {
            if !reported.contains(&error) {
                reported.push(error);
            }
        }
        return Err(LoadErrors(reported));
    }
    // The automaton needs only the literals' texts: it builds on a second thread while this one
    // finishes the listeners and builds the set of unguarded regexes.
    let (literals, regex_set) = std::thread::scope(|scope| {
        let literals = scope.spawn(|| {
            (!table.literal_texts.is_empty())
                .then(|| LiteralMatcher::build(&table.literal_texts, &table.literal_patterns))
                .transpose()
        });
        share_exclusions(
            &mut rules,
            &mut table.patterns,
            &excluded_lists,
            &list_ids,
            &mut slot_count,
        );
        order_owners(&mut table.patterns);
        let regex_set = RegexSetBuilder::new(&table.regex_sources)
            .case_insensitive(true)
            .unicode(false)
            .size_limit(UNGUARDED_SIZE_LIMIT)
            .build();
        let literals = literals
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (literals, regex_set)
    });
    let literals = literals.map_err(|e| {
        LoadErrors(vec![policy_file.error(
            0,
            LoadErrorKind::Invalid(format!("literal automaton: {e}")),
        )])
    })?;
    let regex_set = regex_set
        .map_err(|e| LoadErrors(vec![unguarded_set_error(parsed, &table.regex_sources, e)]))?;
    let fallback_rules = (0..rules.len() as u32)
        .filter(|&r| rules[r as usize].fallback)
        .collect();

    Ok(RuleSet {
        name: policy.name.clone(),
        version: policy.version.clone(),
        labels,
        categories,
        tiers,
        default_label,
        default_reason: policy.default_reason.clone(),
        rules,
        distros,
        patterns: table.patterns,
        literals,
        regex_set,
        regexes: table.regexes,
        regex_patterns: table.regex_patterns,
        unguarded: table.unguarded,
        weakly_guarded: table.weakly_guarded,
        fallback_rules,
        negation_window: language.negation.window,
        zones: zones.detector,
        upgrade_connectors: normalized_words(&language.upgrades.to),
        release_suffixes: normalized_words(&language.upgrades.release_suffixes),
        slot_count: slot_count as usize,
        fingerprint,
    })
}

/// Orders each pattern's listeners: those that steer the scan first, then those that evaluate
/// a match, proximity exclusions last.
fn order_owners(patterns: &mut [Pattern]) {
    for pattern in patterns {
        // Stable: the order of evaluating listeners is the order rules were written in.
        pattern.owners.sort_by_key(Owner::place);
        let evaluating_from = pattern.owners.partition_point(|o| o.place() == 0);
        let vetoing_from = pattern.owners.partition_point(|o| o.place() < 2);
        pattern.steering = evaluating_from as u32;
        pattern.vetoing = (pattern.owners.len() - vetoing_from) as u32;
    }
}

/// Words as they appear in normalised text (`->` is `>` there), empty ones dropped.
fn normalized_words(words: &[Text]) -> Vec<String> {
    words
        .iter()
        .map(|w| normalize(w.get_ref()).trim().to_owned())
        .filter(|w| !w.is_empty())
        .collect()
}

fn lookup_in(index: &HashMap<String, CategoryId>, name: &Text, cx: &mut Ctx) -> Option<CategoryId> {
    let found = index.get(name.get_ref()).copied();
    if found.is_none() {
        cx.err(name, LoadErrorKind::UnknownCategory(name.get_ref().clone()));
    }
    found
}

/// The names of the groups of a release pattern: major, minor and service pack.
const RELEASE_GROUPS: [&str; 3] = ["major", "minor", "sp"];

/// The indices of `regex`'s groups named in [`RELEASE_GROUPS`], found once: looking a group
/// up by name hashes the name, on every mention of a distribution.
pub(crate) fn release_groups(regex: &Regex) -> [Option<usize>; 3] {
    RELEASE_GROUPS.map(|name| regex.capture_names().position(|n| n == Some(name)))
}

/// The release that `c` captured, its groups at `groups` ([`release_groups`]).
pub(crate) fn release_from(c: &regex::bytes::Captures, groups: &[Option<usize>; 3]) -> Release {
    let [major, minor, sp] = groups.map(|group| {
        group
            .and_then(|g| c.get(g))
            .and_then(|m| std::str::from_utf8(m.as_bytes()).ok())
            .and_then(|s| s.parse::<u16>().ok())
    });
    Release { major, minor, sp }
}

fn add_cues(decl: &NegationDecl, table: &mut PatternTable, cx: &mut Ctx) {
    for (list, cue) in [
        (&decl.forward, Cue::Forward),
        (&decl.backward, Cue::Backward),
        (&decl.refute, Cue::Refute),
        (&decl.pseudo, Cue::Pseudo),
        (&decl.terminators, Cue::Terminator),
    ] {
        for p in list {
            if let Err(kind) =
                parse_pattern(p.get_ref()).and_then(|spec| table.add(&spec, Owner::Cue(cue), false))
            {
                cx.err(p, kind);
            }
        }
    }
}

/// Splits each rule's exclusions (`none`) into parts shared with other rules: one per `@list` it
/// names and one for its own patterns, each read one way (fields, zones, negation). A word of
/// a list used as an exclusion by fifty rules is then looked at once, not fifty times. The
/// rules' own exclusion slots are left unused.
fn share_exclusions(
    rules: &mut [Rule],
    patterns: &mut [Pattern],
    excluded_lists: &HashMap<u32, Vec<(String, bool)>>,
    list_ids: &HashMap<(String, bool), Vec<u32>>,
    slot_count: &mut u32,
) {
    /// What a shared part holds: a list (by name and variants setting) or a rule's own patterns.
    #[derive(PartialEq, Eq, Hash)]
    enum Part {
        List(String, bool),
        Own(Vec<u32>),
    }
    // The patterns of each exclusion slot, by slot.
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); *slot_count as usize];
    for (p, pattern) in patterns.iter_mut().enumerate() {
        pattern.owners.retain(|owner| match owner {
            Owner::Slot {
                slot,
                role: SlotRole::Exclusion,
                ..
            } => {
                members[*slot as usize].push(p as u32);
                false
            }
            _ => true,
        });
    }
    // Whether a list holds a pattern is asked for every pattern of every exclusion: sorted
    // copies of the lists answer by binary search.
    let sorted_lists: HashMap<&(String, bool), Vec<u32>> = list_ids
        .iter()
        .map(|(key, ids)| {
            let mut sorted = ids.clone();
            sorted.sort_unstable();
            (key, sorted)
        })
        .collect();
    let mut shared: HashMap<(Part, u8, u8, bool), u32> = HashMap::new();
    for rule in rules.iter_mut() {
        let Some(own) = rule.none.pop() else { continue };
        // The exclusion slot is the rule's last: its range now holds only its positive slots.
        rule.slots.end -= 1;
        let lists = excluded_lists.get(&own).map_or(&[][..], Vec::as_slice);
        let in_lists: Vec<&Vec<u32>> = lists.iter().filter_map(|k| list_ids.get(k)).collect();
        let mut own_patterns = std::mem::take(&mut members[own as usize]);
        let in_sorted: Vec<&Vec<u32>> = lists.iter().filter_map(|k| sorted_lists.get(k)).collect();
        own_patterns.retain(|p| !in_sorted.iter().any(|ids| ids.binary_search(p).is_ok()));
        own_patterns.sort_unstable();
        own_patterns.dedup();
        let mut parts: Vec<(Part, &[u32])> = lists
            .iter()
            .zip(&in_lists)
            .map(|((name, variants), ids)| (Part::List(name.clone(), *variants), ids.as_slice()))
            .collect();
        let own_part = Part::Own(own_patterns.clone());
        if !own_patterns.is_empty() {
            parts.push((own_part, &own_patterns));
        }
        for (part, ids) in parts {
            let key = (part, rule.fields, rule.zones, rule.negatable);
            let slot = match shared.get(&key) {
                Some(&slot) => slot,
                None => {
                    let slot = *slot_count;
                    *slot_count += 1;
                    let owner = Owner::Exclusion {
                        slot,
                        fields: rule.fields,
                        zones: rule.zones,
                        negatable: rule.negatable,
                    };
                    for &p in ids {
                        patterns[p as usize].owners.push(owner);
                    }
                    shared.insert(key, slot);
                    slot
                }
            };
            if !rule.none.contains(&slot) {
                rule.none.push(slot);
            }
        }
    }
}

/// The zone detector, compiled apart from the pattern table (see [`compile`]): the guard
/// literals of its inline kinds are interned afterwards, and its errors reported then.
struct CompiledZones {
    detector: ZoneDetector,
    /// Per inline kind (the index in the detector), its guard literals.
    guards: Vec<Vec<String>>,
    errors: Vec<LoadError>,
}

impl CompiledZones {
    /// Interns the guard literals of the inline kinds, each listened to by its kind.
    fn intern_guards(&self, table: &mut PatternTable) {
        for (kind, guards) in self.guards.iter().enumerate() {
            for g in guards {
                let guard = table.literal(g, true, true, false);
                table.patterns[guard as usize]
                    .owners
                    .push(Owner::ZoneGuard(kind as u8));
            }
        }
    }
}

/// Turns zone markers into one case-insensitive regex per marker kind over lines of the
/// original text, and inline spans into one per kind of span.
fn compile_zones(decl: &ZonesDecl, file: &SourceFile) -> CompiledZones {
    let cx = &mut Ctx {
        errors: Vec::new(),
        file,
    };
    let mut kinds: [Option<Regex>; MARKER_KINDS] = Default::default();
    for (list, marker) in [
        (&decl.quote_prefix, Marker::QuotePrefix),
        (&decl.quote_header, Marker::QuoteHeader),
        (&decl.signature, Marker::Signature),
        (&decl.disclaimer, Marker::Disclaimer),
        (&decl.log_line, Marker::LogLine),
        (&decl.forward_note, Marker::ForwardNote),
        (&decl.customer_turn, Marker::CustomerTurn),
    ] {
        // The kind's regexes, each checked on its own (so an error names its line), and its
        // literals as one alternative where the first of them stands: the line shape around a
        // literal is written once, not once per literal.
        let mut members: Vec<(String, usize)> = Vec::new();
        let mut literals: Vec<String> = Vec::new();
        let mut literals_at = None;
        for p in list {
            let raw = p.get_ref();
            if let Some(re) = raw.strip_prefix("re:") {
                match check_regex(re) {
                    Ok(()) => members.push((re.to_owned(), p.span().start)),
                    Err(kind) => cx.err(p, kind),
                }
                continue;
            }
            let lit = regex::escape(raw.trim());
            if lit.is_empty() {
                cx.err(p, LoadErrorKind::EmptyPattern);
                continue;
            }
            if literals_at.is_none() {
                literals_at = Some(members.len());
                members.push((String::new(), p.span().start));
            }
            literals.push(lit);
        }
        if let Some(at) = literals_at {
            let any = literals.join("|");
            members[at].0 = match marker {
                Marker::QuotePrefix | Marker::QuoteHeader => format!(r"^\s*(?:{any})"),
                // The sign-off alone, or followed by `,` `/` `|` or `-` and a few words (a
                // name, the same sign-off in another language).
                Marker::Signature => format!(
                    r"^\s*(?:{any})(?:\s*[,.!:;-]*|\s*[,/|-]\s*\S+(?:\s+\S+){{0,3}}\s*[.!]?)\s*$"
                ),
                Marker::Disclaimer | Marker::LogLine | Marker::CustomerTurn => any,
                Marker::ForwardNote => format!(r"\b(?:{any})\b"),
            };
        }
        if members.is_empty() {
            continue;
        }
        let alternatives: Vec<String> = members
            .iter()
            .map(|(src, _)| format!("(?:{src})"))
            .collect();
        // Each regex passed `check_regex` and literals are escaped; the alternation only fails
        // past the size limit.
        match build_regex(&alternatives.join("|")) {
            Ok(regex) => kinds[marker as usize] = Some(regex),
            Err(e) => {
                let file = cx.file;
                let error = combined_too_big(
                    members.iter().map(|(src, at)| (src.as_str(), (file, *at))),
                    "zone markers of this kind (they run as one regex)",
                    REGEX_SIZE_LIMIT,
                    "simplify it or split it into literals",
                )
                .unwrap_or_else(|| file.error(0, e));
                cx.errors.push(error);
            }
        }
    }
    // Inline spans: a regex, or a literal that marks the whole run of non-spaces holding it.
    let mut inline = Vec::new();
    let mut inline_guards = Vec::new();
    for (zone, patterns) in [(Zone::Link, &decl.link), (Zone::History, &decl.history)] {
        if let Some((regex, guards)) = inline_zone_regex(patterns, cx) {
            inline.push(InlineZone {
                zone,
                regex,
                guarded: guards.is_some(),
            });
            inline_guards.push(guards.unwrap_or_default());
        }
    }
    CompiledZones {
        detector: ZoneDetector { kinds, inline },
        guards: inline_guards,
        errors: std::mem::take(&mut cx.errors),
    }
}

/// One alternation of a kind of inline zone's patterns, and literals of normalised text one of
/// which the text of every match holds (`None`: no short list, the regex searches every field);
/// `None` when there are no patterns (or they do not compile, reported in `cx`).
fn inline_zone_regex(patterns: &[Text], cx: &mut Ctx<'_>) -> Option<(Regex, Option<Vec<String>>)> {
    let mut sources = Vec::new();
    let mut guards = Some(Vec::new());
    for p in patterns {
        let raw = p.get_ref();
        let source = match raw.strip_prefix("re:") {
            Some(re) => re.to_owned(),
            None if raw.trim().is_empty() => {
                cx.err(p, LoadErrorKind::EmptyPattern);
                continue;
            }
            None => format!(r"\S*{}\S*", regex::escape(raw.trim())),
        };
        let hir = match parse_regex(&source) {
            Ok(hir) => hir,
            Err(kind) => {
                cx.err(p, kind);
                continue;
            }
        };
        match (&mut guards, inner_literals(&hir, zone_guard)) {
            (Some(all), Some(these)) => all.extend(these),
            _ => guards = None,
        }
        sources.push(format!("(?:{source})"));
    }
    if sources.is_empty() {
        return None;
    }
    match build_regex(&sources.join("|")) {
        Ok(regex) => Some((regex, guards)),
        Err(e) => {
            cx.errors.push(cx.file.error(0, e));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_syntax() {
        assert_eq!(
            parse_pattern("Compromis*").unwrap(),
            PatternSpec::Literal {
                text: "compromis".into(),
                left_open: false,
                right_open: true
            }
        );
        assert_eq!(
            parse_pattern("*miner").unwrap(),
            PatternSpec::Literal {
                text: "miner".into(),
                left_open: true,
                right_open: false
            }
        );
        assert_eq!(
            parse_pattern("re:a+b").unwrap(),
            PatternSpec::Regex("a+b".into())
        );
        assert_eq!(parse_pattern("  "), Err(LoadErrorKind::EmptyPattern));
        assert_eq!(parse_pattern("*"), Err(LoadErrorKind::EmptyPattern));
        assert_eq!(parse_pattern("re:"), Err(LoadErrorKind::EmptyPattern));
    }

    #[test]
    fn regex_guards_are_prefix_or_suffix_literals() {
        let guards = |source: &str| guard_literals(&parse_regex(source).unwrap());
        let (ah, anchored) = guards(r"\bAH0\d{4}\b").unwrap();
        assert!(anchored);
        assert_eq!(ah.len(), 10);
        assert!(ah.iter().all(|g| g.starts_with("ah0") && g.len() == 4));
        let (php, _) = guards(r"\bPHP ?[5-8]").unwrap();
        assert_eq!(
            php,
            ["php 5", "php 6", "php 7", "php 8", "php5", "php6", "php7", "php8"]
        );
        assert_eq!(
            guards(r"(?:foo|bar)baz"),
            Some((vec!["barbaz".to_owned(), "foobaz".to_owned()], true))
        );
        let (errors, anchored) = guards(r"\d+ errors").unwrap();
        assert!(!anchored, "no prefix literal: guarded by its suffix");
        assert_eq!(errors.len(), 10);
        assert!(errors.iter().all(|g| g.ends_with(" errors")));
        assert_eq!(guards(r"a.*"), None, "too short");
    }

    #[test]
    fn regex_guards_come_from_inside_when_its_ends_are_common() {
        let guards = |source: &str| guard_literals(&parse_regex(source).unwrap());
        // Suffixes would be word endings (`rns`, `ves`) seen in most tickets.
        let (call, anchored) = guards(r"\b[a-z_]\w*\(\) (?:returns|gives)\b").unwrap();
        assert!(!anchored);
        assert!(call.iter().all(|g| g.len() >= 8), "{call:?}");
        for text in ["x() returns", "run() gives"] {
            assert!(call.iter().any(|g| text.contains(g.as_str())), "{text}");
        }
        // A literal with a line break reads otherwise in normalised text: not a guard.
        assert_eq!(
            guards(r"\d+ (?:x\ny|y\nz)"),
            None,
            "no usable prefix, suffix or inner literal"
        );
    }

    /// The reference for `inner_literals`: each tail rebuilt as a concatenation and extracted
    /// afresh.
    fn inner_literals_reference(
        hir: &regex_syntax::hir::Hir,
        guard: fn(&[u8]) -> Option<String>,
    ) -> Option<Vec<String>> {
        use regex_syntax::hir::{literal::Extractor, Hir, HirKind};
        let items = match hir.kind() {
            HirKind::Concat(items) => items.clone(),
            _ => vec![hir.clone()],
        };
        let mut best: Option<Vec<String>> = None;
        for at in 0..items.len() {
            let mut extractor = Extractor::new();
            extractor.limit_total(512).limit_class(32);
            let mut seq = extractor.extract(&Hir::concat(items[at..].to_vec()));
            let found = (1..=8).rev().find_map(|n| {
                seq.keep_first_bytes(n);
                seq.dedup();
                let mut guards: Vec<String> = Vec::new();
                for lit in seq.literals()? {
                    let text = guard(lit.as_bytes())?;
                    if !guards.contains(&text) {
                        guards.push(text);
                    }
                }
                (guards.len() <= 16).then_some(guards)
            });
            if let Some(found) = found {
                if best.as_ref().is_none_or(|b| shortest(&found) > shortest(b)) {
                    best = Some(found);
                }
            }
        }
        best
    }

    /// Every regex of the default rules and zone patterns gets the inner literals the
    /// reference finds.
    #[test]
    fn inner_literals_agree_with_the_reference() {
        let parsed = crate::rules::RuleSources::embedded().parse().unwrap();
        let zones = &parsed.language.1.zones;
        let zone_sources = zones.link.iter().chain(&zones.history).map(|p| {
            let raw = p.get_ref();
            raw.strip_prefix("re:").map_or_else(
                || format!(r"\S*{}\S*", regex::escape(raw.trim())),
                str::to_owned,
            )
        });
        let sources: Vec<String> = rule_regexes(&parsed)
            .into_iter()
            .map(str::to_owned)
            .chain(zone_sources)
            .chain(
                [
                    r"a(?:bc|de)f\d+xyz",
                    "(?:ab|cd)",
                    r"\w+\.(?:com|org)/x",
                    "abc",
                ]
                .map(String::from),
            )
            .collect();
        assert!(sources.len() > 100);
        for source in &sources {
            let hir = parse_regex(source).unwrap();
            for guard in [rule_guard, zone_guard] {
                assert_eq!(
                    inner_literals(&hir, guard),
                    inner_literals_reference(&hir, guard),
                    "{source}"
                );
            }
        }
    }

    #[test]
    fn version_spelling_variants() {
        assert_eq!(
            version_variants("ubuntu 22.04"),
            vec![
                "ubuntu 22.04",
                "ubuntu 22_04",
                "ubuntu 22 04",
                "ubuntu 2204"
            ]
        );
        assert_eq!(version_variants("no version"), vec!["no version"]);
    }

    #[test]
    fn releases_agree_on_named_parts() {
        let r = |major, minor, sp| Release { major, minor, sp };
        assert!(r(Some(22), Some(4), None).agrees(&r(Some(22), None, None)));
        assert!(!r(Some(22), Some(4), None).agrees(&r(Some(22), Some(10), None)));
        assert!(r(Some(15), None, Some(6)).agrees(&r(Some(15), None, None)));
        assert!(!r(Some(15), None, Some(6)).agrees(&r(Some(15), None, Some(4))));
    }
}
