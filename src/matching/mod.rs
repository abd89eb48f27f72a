//! Matching one ticket against a compiled rule set: normalise each field, find every literal
//! (one Aho-Corasick pass) and regex (one `RegexSet` pass), mark negated and zoned matches,
//! extract distribution mentions, then evaluate the rules those matches touch.

pub mod literals;
pub mod negation;
pub mod normalize;
pub mod zones;

use crate::compile::release_from;
use crate::decision::decide;
use crate::ruleset::{Cue, Field, Owner, Release, RuleId, RuleSet, Zone};
use crate::verdict::{Entity, Evidence, Explanation, Ticket, Verdict, Vetoed};
use negation::{drop_pseudo_covered, CueHit, Layout, NegationScopes};
use normalize::{word_at, word_before, Normalized};
use std::cell::RefCell;
use zones::{zone_at, ZoneSpan};

/// Most evidence entries kept per verdict; a pasted log can repeat a word thousands of times.
pub const MAX_EVIDENCE: usize = 200;
/// Most entities kept per verdict.
pub const MAX_ENTITIES: usize = 50;

/// A pattern match in a field (normalised offsets), with its negation and zone.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hit {
    pub pattern: u32,
    pub start: u32,
    pub end: u32,
    pub negated: bool,
    pub zone: Zone,
}

/// Everything found in one field of a ticket.
#[derive(Debug, Default)]
pub(crate) struct FieldScan {
    pub norm: Normalized,
    pub layout: Layout,
    pub cues: Vec<CueHit>,
    /// Where this field's negation cues reach.
    pub scopes: NegationScopes,
    pub hits: Vec<Hit>,
    pub zones: Vec<ZoneSpan>,
    /// Regexes to run over this whole field (indices into `RuleSet::regexes`).
    pub regex_runs: Vec<u32>,
    /// Regexes to run anchored at a position where a prefix guard was seen.
    pub anchored_runs: Vec<(u32, u32)>,
    /// Inline zone kinds whose guard literal was seen (bit per kind).
    pub zone_guards: u8,
}

impl FieldScan {
    fn original(&self, start: u32, end: u32) -> (usize, usize) {
        self.norm.original_span(start as usize, end as usize)
    }
}

/// Per-thread working memory, reused from ticket to ticket so the hot path does not allocate.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    fields: [FieldScan; 2],
    slots: Vec<bool>,
    touched: Vec<u32>,
    /// Shared exclusion slots set by this ticket.
    exclusions_set: Vec<u32>,
    rule_touched: Vec<bool>,
    fired: Vec<bool>,
    /// Rules that fire unless a proximity exclusion holds: their exclusions are read last.
    vetoable: Vec<u32>,
    vetoable_rule: Vec<bool>,
    /// Per rule, what the description said of it ([`DESCRIBED_NEGATED`], [`DESCRIBED_COUNTED`]).
    described: Vec<u8>,
    candidates: Vec<Candidate>,
}

/// A rule's match in the description was negated…
const DESCRIBED_NEGATED: u8 = 1;
/// …or counted.
const DESCRIBED_COUNTED: u8 = 2;

impl Scratch {
    /// Sizes the per-rule state for `rules` (a thread's scratch serves every rule set it meets).
    fn fit(&mut self, rules: &RuleSet) {
        self.slots.resize(rules.slot_count, false);
        self.rule_touched.resize(rules.rules.len(), false);
        self.fired.resize(rules.rules.len(), false);
        self.vetoable_rule.resize(rules.rules.len(), false);
        self.described.resize(rules.rules.len(), 0);
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

impl RuleSet {
    /// Classifies a ticket.
    pub fn classify(&self, ticket: &Ticket<'_>) -> Verdict {
        let mut verdict = Verdict::default();
        self.classify_into(ticket, &mut verdict);
        verdict
    }

    /// Classifies a ticket into `verdict`, reusing its buffers.
    pub fn classify_into(&self, ticket: &Ticket<'_>, verdict: &mut Verdict) {
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut scratch) => self.run(ticket, &mut scratch, verdict, false),
            // Re-entrant use on one thread (not expected): fall back to fresh memory.
            Err(_) => self.run(ticket, &mut Scratch::default(), verdict, false),
        });
    }

    /// Classifies one ticket with each rule set of `sets`, into the verdict of the same index
    /// (`verdicts` must be as long as `sets`). The text is normalised once for all of them,
    /// which is what makes comparing rule sets (`triage diff`) cheaper than classifying twice.
    pub fn classify_each(sets: &[&RuleSet], ticket: &Ticket<'_>, verdicts: &mut [Verdict]) {
        let each = |scratch: &mut Scratch, verdicts: &mut [Verdict]| {
            for (k, (rules, verdict)) in sets.iter().zip(verdicts.iter_mut()).enumerate() {
                rules.run(ticket, scratch, verdict, k > 0);
            }
        };
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut scratch) => each(&mut scratch, verdicts),
            Err(_) => each(&mut Scratch::default(), verdicts),
        });
    }

    /// Classifies a ticket and also tells which rules matched but were stopped by an exclusion
    /// (`none`, `none_near`), with the words that stopped them: what a rule maintainer asks
    /// when a rule "should have fired". Slower than [`RuleSet::classify`]; meant for one ticket.
    pub fn explain(&self, ticket: &Ticket<'_>) -> Explanation {
        let mut scratch = Scratch::default();
        let mut verdict = Verdict::default();
        self.run_kept(ticket, &mut scratch, &mut verdict, false);
        let vetoed = self.vetoed(&scratch);
        Explanation { verdict, vetoed }
    }

    /// Classifies `ticket` with `scratch`. With `prepared`, the scratch fields already hold
    /// this ticket's normalised text and word layout (made for another rule set: they do not
    /// depend on the rules).
    fn run(
        &self,
        ticket: &Ticket<'_>,
        scratch: &mut Scratch,
        verdict: &mut Verdict,
        prepared: bool,
    ) {
        self.run_kept(ticket, scratch, verdict, prepared);
        self.reset(scratch);
    }

    /// [`RuleSet::run`] without the final reset: the scratch still holds this ticket's slots.
    fn run_kept(
        &self,
        ticket: &Ticket<'_>,
        scratch: &mut Scratch,
        verdict: &mut Verdict,
        prepared: bool,
    ) {
        verdict.clear();
        scratch.fit(self);
        // Normally a no-op; after a run that panicked (and was caught, as batch runs do), it
        // clears what that run left, which would otherwise leak into this ticket's verdict.
        self.reset(scratch);
        for field in Field::ALL {
            let text = ticket.field(field);
            let scan = &mut scratch.fields[field as usize];
            self.scan_field(field, text, scan, prepared);
        }
        self.evaluate(scratch, verdict);
        decide(self, &scratch.fired, verdict);
    }

    /// The rules whose positive conditions held in the last run of `scratch` but that did not
    /// fire, each with the exclusion matches that stopped it.
    fn vetoed(&self, scratch: &Scratch) -> Vec<Vetoed> {
        let Scratch {
            fields,
            slots,
            touched,
            fired,
            candidates,
            ..
        } = scratch;
        let mut vetoed = Vec::new();
        for &r in touched {
            let rule = &self.rules[r as usize];
            if fired[r as usize]
                || rule.is_matrix_rule()
                || !conditions_hold(rule, r, slots, fields, candidates, false)
            {
                continue;
            }
            let mut by = Vec::new();
            for field in Field::ALL {
                let scan = &fields[field as usize];
                for hit in &scan.hits {
                    let stops = self.patterns[hit.pattern as usize]
                        .owners
                        .iter()
                        .any(|owner| match *owner {
                            Owner::Exclusion {
                                slot: s,
                                fields: in_fields,
                                zones: in_zones,
                                negatable,
                            } => {
                                rule.none.contains(&s)
                                    && exclusion_counts(in_fields, in_zones, negatable, field, hit)
                            }
                            _ => false,
                        });
                    if stops {
                        by.push(evidence_of(scan, field, hit, RuleId(r), true, false));
                    }
                }
            }
            // Proximity exclusions: their sides were kept as candidates of the rule.
            for n in &rule.none_near {
                for (a, b) in near_pairs(fields, candidates, r, n) {
                    for c in [a, b] {
                        let scan = &fields[c.field as usize];
                        let hit = &scan.hits[c.hit as usize];
                        by.push(evidence_of(scan, c.field, hit, RuleId(r), true, false));
                    }
                }
            }
            by.sort_by_key(|e| (e.field as u8, e.start, e.end));
            by.dedup_by_key(|e| (e.field, e.start, e.end));
            vetoed.push(Vetoed {
                rule: RuleId(r),
                by,
            });
        }
        vetoed.sort_by_key(|v| v.rule);
        vetoed
    }

    /// Resets the per-rule state, only where a ticket touched it.
    fn reset(&self, scratch: &mut Scratch) {
        for &r in &scratch.touched {
            let rule = &self.rules[r as usize];
            for s in rule.slot_range() {
                scratch.slots[s as usize] = false;
            }
            scratch.rule_touched[r as usize] = false;
            scratch.fired[r as usize] = false;
            scratch.described[r as usize] = 0;
        }
        scratch.touched.clear();
        for &s in &scratch.exclusions_set {
            scratch.slots[s as usize] = false;
        }
        scratch.exclusions_set.clear();
        for &r in &scratch.vetoable {
            scratch.vetoable_rule[r as usize] = false;
        }
        scratch.vetoable.clear();
    }

    /// Whether a negation cue that negates forward, and one that negates backward, stay live in
    /// `text` once pseudo-cues have hidden theirs: which rule terms carry their own negation
    /// words (`triage lint`).
    pub(crate) fn live_cues(&self, text: &str) -> (bool, bool) {
        let mut scan = FieldScan::default();
        self.scan_field(Field::Subject, text, &mut scan, false);
        (
            scan.cues.iter().any(|c| c.cue == Cue::Forward),
            scan.cues.iter().any(|c| c.cue == Cue::Backward),
        )
    }

    /// Normalises a field and collects its cues and pattern hits, negation and zones marked.
    fn scan_field(&self, field: Field, text: &str, scan: &mut FieldScan, prepared: bool) {
        scan.cues.clear();
        scan.hits.clear();
        scan.zones.clear();
        scan.regex_runs.clear();
        scan.anchored_runs.clear();
        if !prepared {
            normalize::normalize_into(text, &mut scan.norm);
            scan.layout.build(&scan.norm.text);
        }
        scan.zone_guards = 0;
        if scan.norm.text.is_empty() {
            return;
        }
        if field == Field::Description {
            self.zones.detect_lines(text, &mut scan.zones);
        }
        let norm = scan.norm.text.as_str();
        let push = |pattern: u32,
                    start: usize,
                    end: usize,
                    scan_cues: &mut Vec<CueHit>,
                    hits: &mut Vec<Hit>,
                    regex_runs: &mut Vec<u32>,
                    anchored_runs: &mut Vec<(u32, u32)>,
                    zone_guards: &mut u8| {
            let listeners = &self.patterns[pattern as usize];
            for owner in listeners.steering() {
                match owner {
                    Owner::ZoneGuard(kind) => *zone_guards |= 1 << kind,
                    Owner::Cue(cue) => scan_cues.push(CueHit {
                        cue: *cue,
                        start: start as u32,
                        end: end as u32,
                        start_word: 0,
                        end_word: 0,
                    }),
                    Owner::RegexGuard {
                        regex,
                        anchored: true,
                    } => {
                        // De-duplicated once after the scan: a long log can hold thousands.
                        anchored_runs.push((*regex, start as u32));
                    }
                    Owner::RegexGuard {
                        regex,
                        anchored: false,
                    } if !regex_runs.contains(regex) => regex_runs.push(*regex),
                    _ => {}
                }
            }
            if listeners.is_heard() {
                hits.push(Hit {
                    pattern,
                    start: start as u32,
                    end: end as u32,
                    negated: false,
                    zone: Zone::Body,
                });
            }
        };
        if let Some(literals) = &self.literals {
            literals.for_each_match(norm.as_bytes(), |pattern, s, e| {
                let p = &self.patterns[pattern as usize];
                if p.need_left && word_before(norm, s) {
                    return;
                }
                if p.need_right && word_at(norm, e) {
                    return;
                }
                // A resource name goes on with `-` or `_` (a dash reads as a space once
                // normalised, so ask the original text, and only then work out the span).
                if p.need_right
                    && matches!(norm.as_bytes().get(e), Some(b' ' | b'_'))
                    && matches!(
                        text.as_bytes().get(scan.norm.map[e] as usize),
                        Some(b'-' | b'_')
                    )
                    && names_a_resource(text.get(scan.norm.original_span(s, e).1..).unwrap_or(""))
                {
                    return;
                }
                if p.digits_after {
                    if norm[e..].chars().next().is_some_and(char::is_alphabetic) {
                        return;
                    }
                    // `centos-web-01`, `kali_vm`, `app-deb-14`: a host or resource name, not the
                    // system.
                    let (orig_start, orig_end) = scan.norm.original_span(s, e);
                    let mut after = text.get(orig_end..).unwrap_or_default().chars();
                    if matches!(after.next(), Some('-' | '_'))
                        && after.next().is_some_and(char::is_alphabetic)
                    {
                        return;
                    }
                    let mut before = text.get(..orig_start).unwrap_or_default().chars().rev();
                    if matches!(before.next(), Some('-' | '_'))
                        && before.next().is_some_and(char::is_alphanumeric)
                    {
                        return;
                    }
                }
                push(
                    pattern,
                    s,
                    e,
                    &mut scan.cues,
                    &mut scan.hits,
                    &mut scan.regex_runs,
                    &mut scan.anchored_runs,
                    &mut scan.zone_guards,
                );
            });
        }
        // Regexes run only where their guard literal was seen, or where the set of unguarded
        // regexes says they match.
        if !self.unguarded.is_empty() {
            for i in self.regex_set.matches(norm.as_bytes()).iter() {
                let r = self.unguarded[i];
                if !scan.regex_runs.contains(&r) {
                    scan.regex_runs.push(r);
                }
            }
        }
        scan.anchored_runs.sort_unstable();
        scan.anchored_runs.dedup();
        let hay = norm.as_bytes();
        let add = |r: u32,
                   m: regex_automata::Match,
                   scan_cues: &mut Vec<CueHit>,
                   hits: &mut Vec<Hit>| {
            if !m.is_empty() && norm.is_char_boundary(m.start()) && norm.is_char_boundary(m.end()) {
                let pattern = self.regex_patterns[r as usize];
                push(
                    pattern,
                    m.start(),
                    m.end(),
                    scan_cues,
                    hits,
                    &mut Vec::new(),
                    &mut Vec::new(),
                    &mut 0,
                );
            }
        };
        for &r in &scan.regex_runs {
            let Some(regex) = self.regexes[r as usize].get() else {
                continue;
            };
            for m in regex.find_iter(hay) {
                add(r, m, &mut scan.cues, &mut scan.hits);
            }
        }
        for &(r, start) in &scan.anchored_runs {
            let Some(regex) = self.regexes[r as usize].get() else {
                continue;
            };
            let input = regex_automata::Input::new(hay)
                .range(start as usize..)
                .anchored(regex_automata::Anchored::Yes);
            if let Some(m) = regex.search(&input) {
                add(r, m, &mut scan.cues, &mut scan.hits);
            }
        }
        // Links and history spans, now that the literals have told which kinds can be here.
        self.zones
            .detect_inline(text, scan.zone_guards, &mut scan.zones);
        drop_pseudo_covered(&mut scan.cues);
        scan.cues.sort_unstable_by_key(|c| c.start);
        let negating = scan
            .cues
            .iter()
            .any(|c| matches!(c.cue, Cue::Forward | Cue::Backward | Cue::Refute));
        if negating {
            scan.layout.index_cues(&mut scan.cues);
            scan.scopes
                .build(&scan.layout, &scan.cues, self.negation_window);
        }
        for hit in &mut scan.hits {
            hit.negated = negating && scan.scopes.negates(hit.start, hit.end);
            if !scan.zones.is_empty() {
                hit.zone = zone_at(&scan.zones, scan.norm.map[hit.start as usize]);
            }
        }
        // In text order; the pattern makes the order total, whatever order the matches were
        // found in. The literal pass finds them nearly in order (by end), which a stable sort
        // (it merges runs) handles in fewer steps than an unstable one.
        scan.hits.sort_by_key(|h| (h.start, h.end, h.pattern));
    }

    /// Sets slots from hits, evaluates touched rules, extracts entities and evidence.
    ///
    /// Every (match, rule) pair is looked at once: the pairs of positive slots are kept as
    /// candidates and serve both proximity checks and evidence.
    ///
    /// The description is read first: a rule it mentions only negated ("the VM is not hacked")
    /// does not count in the subject either ("HACKED??"), which is a headline, not a statement.
    fn evaluate(&self, scratch: &mut Scratch, verdict: &mut Verdict) {
        let Scratch {
            fields,
            slots,
            touched,
            exclusions_set,
            rule_touched,
            fired,
            vetoable,
            vetoable_rule,
            described,
            candidates,
        } = scratch;
        candidates.clear();
        for field in [Field::Description, Field::Subject] {
            let scan = &fields[field as usize];
            for (index, hit) in scan.hits.iter().enumerate() {
                // Rule slots here are positive: exclusions are `Owner::Exclusion` once
                // compiled, and proximity exclusions are read below, for the rules they could stop.
                for owner in self.patterns[hit.pattern as usize].evaluating() {
                    match *owner {
                        Owner::Slot {
                            rule,
                            slot,
                            fields: in_fields,
                            zones: in_zones,
                            negatable,
                            ..
                        } => {
                            if in_fields & field.bit() == 0 {
                                continue;
                            }
                            if !rule_touched[rule as usize] {
                                rule_touched[rule as usize] = true;
                                touched.push(rule);
                            }
                            // Exclusions obey zones and negation like any pattern: "no errors,
                            // how should we…" is not a failure that vetoes a how-to rule.
                            let in_zone = in_zones & hit.zone.bit() != 0;
                            let mut negated = hit.negated && negatable;
                            if negatable && in_zone {
                                let said = &mut described[rule as usize];
                                match field {
                                    Field::Description if negated => *said |= DESCRIBED_NEGATED,
                                    Field::Description => *said |= DESCRIBED_COUNTED,
                                    Field::Subject => negated |= *said == DESCRIBED_NEGATED,
                                }
                            }
                            let counted = in_zone && !negated;
                            if counted {
                                slots[slot as usize] = true;
                            }
                            candidates.push(Candidate {
                                rule,
                                slot,
                                field,
                                hit: index as u32,
                                counted,
                                negated: negated || hit.negated,
                                positive: true,
                            });
                        }
                        Owner::Exclusion {
                            slot,
                            fields: in_fields,
                            zones: in_zones,
                            negatable,
                        } => {
                            let counted =
                                exclusion_counts(in_fields, in_zones, negatable, field, hit);
                            if counted && !slots[slot as usize] {
                                slots[slot as usize] = true;
                                exclusions_set.push(slot);
                            }
                        }
                        Owner::Distro(d) => {
                            let release = self.release_after(d, &scan.norm.text, hit.end as usize);
                            self.push_entity(verdict, scan, field, hit, d, release);
                        }
                        Owner::Codename(d, release) => {
                            self.push_entity(verdict, scan, field, hit, d, Some(release))
                        }
                        Owner::Cue(_) | Owner::RegexGuard { .. } | Owner::ZoneGuard(_) => {}
                    }
                }
            }
        }
        // Mentions in text order (the description was read first).
        verdict.entities.sort_by_key(|e| (e.field as u8, e.start));
        // Rules from patterns.
        for &r in touched.iter() {
            let rule = &self.rules[r as usize];
            let fires = conditions_hold(rule, r, slots, fields, candidates, true);
            fired[r as usize] = fires;
            if fires && !rule.none_near.is_empty() {
                vetoable_rule[r as usize] = true;
                vetoable.push(r);
            }
        }
        // Proximity exclusions, only for the rules they could stop.
        if !vetoable.is_empty() {
            for field in [Field::Description, Field::Subject] {
                let scan = &fields[field as usize];
                for (index, hit) in scan.hits.iter().enumerate() {
                    for owner in self.patterns[hit.pattern as usize].vetoing() {
                        let Owner::Slot {
                            rule,
                            slot,
                            fields: in_fields,
                            zones: in_zones,
                            negatable,
                            ..
                        } = *owner
                        else {
                            continue;
                        };
                        if !vetoable_rule[rule as usize] || in_fields & field.bit() == 0 {
                            continue;
                        }
                        let negated = hit.negated && negatable;
                        let counted = in_zones & hit.zone.bit() != 0 && !negated;
                        slots[slot as usize] |= counted;
                        candidates.push(Candidate {
                            rule,
                            slot,
                            field,
                            hit: index as u32,
                            counted,
                            negated,
                            positive: false,
                        });
                    }
                }
            }
            for &r in vetoable.iter() {
                let slot = |s: u32| slots[s as usize];
                let vetoed = self.rules[r as usize]
                    .none_near
                    .iter()
                    .any(|n| slot(n.a) && slot(n.b) && near_holds(fields, candidates, r, n));
                fired[r as usize] = !vetoed;
                vetoable_rule[r as usize] = false;
            }
            vetoable.clear();
        }
        // Rules from the support matrix: a live mention outside it.
        for e in &verdict.entities {
            if !e.inside && !e.negated && e.zone == Zone::Body {
                let rule = self.distros[e.distro as usize].rule;
                if !rule_touched[rule.0 as usize] {
                    rule_touched[rule.0 as usize] = true;
                    touched.push(rule.0);
                }
                fired[rule.0 as usize] = true;
            }
        }
        // Fallback rules speak only where no other rule did (a rule set without any skips this).
        if !self.fallback_rules.is_empty()
            && touched
                .iter()
                .any(|&r| fired[r as usize] && !self.rules[r as usize].fallback)
        {
            for &r in &self.fallback_rules {
                fired[r as usize] = false;
            }
        }
        // Evidence: counted matches of fired rules, and matches kept out by negation or zone.
        // Matches kept out are shown where they alone would have fired their rule (an `any`
        // pattern); a kept-out word of a larger combination explains nothing.
        for c in candidates.iter().filter(|c| c.positive) {
            let shown = if c.counted {
                fired[c.rule as usize]
            } else {
                self.rules[c.rule as usize].any == Some(c.slot)
            };
            if shown && verdict.evidence.len() < MAX_EVIDENCE {
                let scan = &fields[c.field as usize];
                let hit = &scan.hits[c.hit as usize];
                let rule = RuleId(c.rule);
                verdict
                    .evidence
                    .push(evidence_of(scan, c.field, hit, rule, c.counted, c.negated));
            }
        }
        for i in 0..verdict.entities.len() {
            let e = verdict.entities[i];
            if !e.inside && verdict.evidence.len() < MAX_EVIDENCE {
                let counted = !e.negated && e.zone == Zone::Body;
                verdict.evidence.push(Evidence {
                    rule: self.distros[e.distro as usize].rule,
                    field: e.field,
                    start: e.start,
                    end: e.end,
                    negated: e.negated,
                    zone: e.zone,
                    counted,
                });
            }
        }
        // One line per rule and span, even when several of its patterns matched the same words.
        verdict
            .evidence
            .sort_by_key(|e| (e.field as u8, e.start, e.end, e.rule, !e.counted));
        verdict
            .evidence
            .dedup_by_key(|e| (e.field, e.start, e.end, e.rule));
        for &r in touched.iter() {
            if fired[r as usize] {
                verdict.rules.push(RuleId(r));
            }
        }
        verdict.rules.sort_unstable();
    }

    /// Parses a release written right after a distribution alias ending at `at`.
    fn release_after(&self, distro: u16, norm: &str, at: usize) -> Option<Release> {
        let d = &self.distros[distro as usize];
        let mut end = (at + 48).min(norm.len());
        while !norm.is_char_boundary(end) {
            end -= 1;
        }
        let rest = &norm[at..end];
        if let Some((release, len)) = self.release_at(d, rest) {
            // An upgrade written after it ("fedora 39 to 40", "ubuntu 20.04 lts -> 22.04"):
            // the system now runs the release it went to.
            let target = self
                .upgrade_target(&rest[len..])
                .and_then(|t| self.release_at(d, t));
            return Some(target.map_or(release, |(to, _)| to));
        }
        // A codename of this distribution as the next word: `debian bookworm`.
        let word = rest.trim_start_matches([' ', '_', '/']);
        let word = &word[..word
            .find(|c: char| !c.is_alphanumeric())
            .unwrap_or(word.len())];
        d.codenames.get(word).copied()
    }

    /// The text after an upgrade connector of `language.toml` (`to`, an arrow; a release suffix
    /// such as `lts` may come first) at the start of normalised `text`: where the release
    /// upgraded to is written.
    fn upgrade_target<'t>(&self, text: &'t str) -> Option<&'t str> {
        let whole_word = |rest: &'t str, word: &str| {
            let after = rest.strip_prefix(word)?;
            let ends_in_word = word.chars().next_back().is_some_and(char::is_alphanumeric);
            (!ends_in_word || !after.starts_with(char::is_alphanumeric)).then_some(after)
        };
        let mut text = text.trim_start();
        if let Some(after) = self
            .release_suffixes
            .iter()
            .find_map(|s| whole_word(text, s))
        {
            text = after.trim_start();
        }
        self.upgrade_connectors
            .iter()
            .find_map(|c| whole_word(text, c))
    }

    /// A release of distribution `d` written at the start of `text`, and its length.
    fn release_at(&self, d: &crate::ruleset::Distro, text: &str) -> Option<(Release, usize)> {
        let c = d.release.captures(text.as_bytes())?;
        let m = c.get(0).expect("whole match");
        // A digit right after the release's numbers makes them part of a longer number. The
        // numbers end where the last named group does: a pattern may go on to match what must
        // follow them (`(?:$|[^.\d])`).
        let numbers_end = d
            .release_groups
            .iter()
            .filter_map(|&group| c.get(group?))
            .map(|g| g.end())
            .max()
            .unwrap_or(m.end());
        if text
            .as_bytes()
            .get(numbers_end)
            .is_some_and(u8::is_ascii_digit)
        {
            return None;
        }
        // The pattern runs on bytes: one that ends on a class such as `[^.\d]` may stop inside
        // a character (`13软件`); what follows the release starts at the next whole character.
        let mut end = m.end();
        while !text.is_char_boundary(end) {
            end += 1;
        }
        let release = release_from(&c, &d.release_groups);
        release.major.is_some().then_some((release, end))
    }

    fn push_entity(
        &self,
        verdict: &mut Verdict,
        scan: &FieldScan,
        field: Field,
        hit: &Hit,
        distro: u16,
        release: Option<Release>,
    ) {
        if verdict.entities.len() >= MAX_ENTITIES {
            return;
        }
        let (start, end) = scan.original(hit.start, hit.end);
        let inside = self.distros[distro as usize].is_inside(release.as_ref());
        let entity = Entity {
            distro,
            release,
            inside,
            field,
            start,
            end,
            negated: hit.negated,
            zone: hit.zone,
        };
        // Several aliases can start at one place (`suse`, `suse linux enterprise server`): keep
        // the one followed by a release, else the longest.
        if let Some(same) = verdict
            .entities
            .iter_mut()
            .find(|e| e.field == field && e.start == start && e.distro == distro)
        {
            if (release.is_some(), end) > (same.release.is_some(), same.end) {
                *same = entity;
            }
            return;
        }
        verdict.entities.push(entity);
    }
}

/// Whether the text right after a matched word makes it part of a resource or host name:
/// `pip-legacy-01`, `mysql-prod-02`, `wordpress_web_3` (a separator, a word with a letter, a
/// separator, a number) or `ic-exasol-001`, `mysql_02` (a zero-padded number, which versions
/// never are). Versions (`php-8.2`, `httpd-tools-2.4`, `python-3-11`, `openjdk-17`) and
/// compounds (`php-fpm`) are not.
fn names_a_resource(after: &str) -> bool {
    let b = after.as_bytes();
    if !matches!(b.first(), Some(b'-' | b'_')) {
        return false;
    }
    if b.get(1) == Some(&b'0') && b.get(2).is_some_and(u8::is_ascii_digit) {
        return true;
    }
    let word_len = b[1..]
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric())
        .count();
    let word = &b[1..1 + word_len];
    if !word.iter().any(u8::is_ascii_alphabetic)
        || !matches!(b.get(1 + word_len), Some(b'-' | b'_'))
    {
        return false;
    }
    // A number, not a version: `-prod-02`, but not `-tools-2.4`.
    let digits = b[2 + word_len..]
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count();
    let after = 2 + word_len + digits;
    digits > 0 && !(b.get(after) == Some(&b'.') && b.get(after + 1).is_some_and(u8::is_ascii_digit))
}

/// A match of a slot of a rule (positive, or a side of a proximity exclusion): counted (live)
/// or kept out (negated, wrong zone).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Candidate {
    rule: u32,
    slot: u32,
    field: Field,
    hit: u32,
    counted: bool,
    /// Negated where it stands, or (in the subject) by what the description says of its rule.
    negated: bool,
    /// A match the rule needs, not one of a proximity exclusion (never evidence).
    positive: bool,
}

/// Whether a counted match of `near.a` and one of `near.b` lie within `near.within` words, in
/// the same field. (A linear scan: proximity is only checked for rules whose slots are both
/// set, few per ticket, which is cheaper than sorting every candidate.)
fn near_holds(
    fields: &[FieldScan; 2],
    candidates: &[Candidate],
    rule: u32,
    near: &crate::ruleset::Near,
) -> bool {
    near_pairs(fields, candidates, rule, near).next().is_some()
}

/// The counted matches of `near`'s two sides, in one field, close enough (and in order when
/// it asks).
fn near_pairs<'c>(
    fields: &'c [FieldScan; 2],
    candidates: &'c [Candidate],
    rule: u32,
    near: &'c crate::ruleset::Near,
) -> impl Iterator<Item = (&'c Candidate, &'c Candidate)> + 'c {
    let of = move |slot: u32| {
        candidates
            .iter()
            .filter(move |c| c.rule == rule && c.slot == slot && c.counted)
    };
    of(near.a).flat_map(move |a| {
        of(near.b).filter_map(move |b| {
            if b.field != a.field {
                return None;
            }
            let scan = &fields[a.field as usize];
            let (ha, hb) = (&scan.hits[a.hit as usize], &scan.hits[b.hit as usize]);
            if near.ordered && hb.start < ha.end {
                return None;
            }
            let (first_end, second_start) = if ha.start <= hb.start {
                (ha.end, hb.start)
            } else {
                (hb.end, ha.start)
            };
            let close = scan.layout.words_between(first_end, second_start) <= near.within
                && !(near.same_sentence && scan.layout.break_between(first_end, second_start));
            close.then_some((a, b))
        })
    })
}

/// Whether a rule's conditions hold: `any`, `all` and `near`, and with `with_exclusions` also
/// no `none` slot set (checked before the costlier proximity). Without exclusions it says
/// whether the rule would fire if nothing stopped it.
#[inline]
fn conditions_hold(
    rule: &crate::ruleset::Rule,
    r: u32,
    slots: &[bool],
    fields: &[FieldScan; 2],
    candidates: &[Candidate],
    with_exclusions: bool,
) -> bool {
    let slot = |s: u32| slots[s as usize];
    rule.any.is_none_or(slot)
        && rule.all.clone().all(slot)
        && (!with_exclusions || rule.none.iter().all(|&s| !slot(s)))
        && rule
            .near
            .iter()
            .all(|n| slot(n.a) && slot(n.b) && near_holds(fields, candidates, r, n))
}

/// Exclusions obey fields, zones and negation like any pattern.
#[inline]
fn exclusion_counts(in_fields: u8, in_zones: u8, negatable: bool, field: Field, hit: &Hit) -> bool {
    in_fields & field.bit() != 0 && in_zones & hit.zone.bit() != 0 && !(hit.negated && negatable)
}

/// The evidence of `hit`, a match in `field` for `rule`, in original-text offsets.
fn evidence_of(
    scan: &FieldScan,
    field: Field,
    hit: &Hit,
    rule: RuleId,
    counted: bool,
    negated: bool,
) -> Evidence {
    let (start, end) = scan.original(hit.start, hit.end);
    Evidence {
        rule,
        field,
        start,
        end,
        negated,
        zone: hit.zone,
        counted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run that stopped half-way (a panic caught by the caller) leaves the thread's scratch
    /// as it was at that point: the next ticket's verdict must not depend on it.
    #[test]
    fn a_run_that_stopped_half_way_does_not_leak_into_the_next() {
        let rules = RuleSet::embedded().unwrap();
        let hacked = Ticket::new("", "our server was hacked and tomcat fails to start");
        let plain = Ticket::new("", "please resize the disk of our VM");
        let fresh = std::thread::scope(|s| s.spawn(|| rules.classify(&plain)).join().unwrap());
        SCRATCH.with(|cell| {
            let mut scratch = cell.borrow_mut();
            let mut verdict = Verdict::default();
            scratch.fit(&rules);
            for field in Field::ALL {
                let scan = &mut scratch.fields[field as usize];
                rules.scan_field(field, hacked.field(field), scan, false);
            }
            // Stop where a panic in `decide` would have: rules fired, nothing reset.
            rules.evaluate(&mut scratch, &mut verdict);
            assert!(!verdict.rules.is_empty());
        });
        assert_eq!(rules.classify(&plain), fresh);
    }

    #[test]
    fn resource_names_are_told_from_versions_and_compounds() {
        for name in [
            "-legacy-01",
            "-legacy-01.",
            "-prod-02 is down",
            "_web_3",
            "-vm1-7",
            "-001",
            "_02 ",
        ] {
            assert!(names_a_resource(name), "{name}");
        }
        for other in [
            "-fpm",
            "-8.2",
            "-3-11",
            "-fpm-8.2",
            "-tools-2.4.57",
            " fails",
            "",
            "-",
            "-prod-",
            "-prod-x",
            "-17",
            "-0",
            "-0.9",
        ] {
            assert!(!names_a_resource(other), "{other}");
        }
    }
}
