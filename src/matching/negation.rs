//! NegEx-style negation scopes over normalised text: a forward cue reaches the words after it,
//! a backward cue the words before it, within a window of words, never across a clause break
//! (sentence end, `:`, `;`, paragraph break) or a terminator cue (`but`, `however`, …). A refute
//! cue that makes up a clause of its own ("I don't think so.") reaches the whole sentence before.

/// A negation cue found in a field, in normalised byte offsets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CueHit {
    pub cue: crate::ruleset::Cue,
    pub start: u32,
    pub end: u32,
    /// Words of the text that start before `start` and before `end` ([`Layout::index_cues`]):
    /// word distances to a cue are then subtractions.
    pub start_word: u32,
    pub end_word: u32,
}

/// Word starts and clause breaks of a normalised field, for distance and scope checks.
#[derive(Debug, Default)]
pub(crate) struct Layout {
    pub words: Vec<u32>,
    pub breaks: Vec<u32>,
}

/// Byte classes for [`Layout::build`]: a word byte (ASCII letter or digit, `_`, any byte of a
/// non-ASCII character), a clause break by itself (`;`, line break), a stop that breaks when
/// a space, line break, quote or `)` (or the end) follows (`.` `!` `?` `:`), anything else.
const OTHER: u8 = 0;
const WORD: u8 = 1;
const BREAK: u8 = 2;
const STOP: u8 = 3;
static BYTE_CLASS: [u8; 256] = {
    let mut table = [OTHER; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 {
            WORD
        } else if c == b';' || c == b'\n' {
            BREAK
        } else if c == b'.' || c == b'!' || c == b'?' || c == b':' {
            STOP
        } else {
            OTHER
        };
        b += 1;
    }
    table
};

impl Layout {
    /// Records word starts and clause breaks of `text`.
    pub fn build(&mut self, text: &str) {
        self.words.clear();
        self.breaks.clear();
        let bytes = text.as_bytes();
        let class = |i: usize| BYTE_CLASS[bytes[i] as usize];
        let mut i = 0;
        while i < bytes.len() {
            match class(i) {
                WORD => {
                    self.words.push(i as u32);
                    i += 1;
                    while i < bytes.len() && class(i) == WORD {
                        i += 1;
                    }
                    continue;
                }
                BREAK => self.breaks.push(i as u32),
                STOP if matches!(
                    bytes.get(i + 1),
                    None | Some(b' ' | b'\n' | b'"' | b'\'' | b')')
                ) =>
                {
                    self.breaks.push(i as u32)
                }
                _ => {}
            }
            i += 1;
        }
    }

    /// Number of words that start in `a..b`.
    pub fn words_between(&self, a: u32, b: u32) -> u32 {
        if b <= a {
            return 0;
        }
        let lo = self.words.partition_point(|&w| w < a);
        let hi = self.words.partition_point(|&w| w < b);
        (hi - lo) as u32
    }

    /// Fills the word positions of `cues`.
    pub fn index_cues(&self, cues: &mut [CueHit]) {
        for c in cues {
            c.start_word = self.words.partition_point(|&w| w < c.start) as u32;
            c.end_word = self.words.partition_point(|&w| w < c.end) as u32;
        }
    }

    /// Whether a clause break lies in `a..b`.
    pub fn break_between(&self, a: u32, b: u32) -> bool {
        let lo = self.breaks.partition_point(|&p| p < a);
        self.breaks.get(lo).is_some_and(|&p| p < b)
    }
}

/// Drops cues that sit inside a pseudo-cue (`not only`, `does not start`): those negate nothing.
pub(crate) fn drop_pseudo_covered(cues: &mut Vec<CueHit>) {
    use crate::ruleset::Cue;
    if !cues.iter().any(|c| c.cue == Cue::Pseudo) {
        return;
    }
    // Pseudo spans by start, with the furthest end reached so far: a cue is covered when some
    // pseudo span starting at or before it ends at or after it. Linear after sorting.
    let mut pseudo: Vec<(u32, u32)> = cues
        .iter()
        .filter(|c| c.cue == Cue::Pseudo)
        .map(|c| (c.start, c.end))
        .collect();
    pseudo.sort_unstable();
    let mut furthest = Vec::with_capacity(pseudo.len());
    let mut reach = 0;
    for &(_, end) in &pseudo {
        reach = reach.max(end);
        furthest.push(reach);
    }
    cues.retain(|c| {
        if c.cue == Cue::Pseudo || c.cue == Cue::Terminator {
            return true;
        }
        let before = pseudo.partition_point(|&(s, _)| s <= c.start);
        before == 0 || furthest[before - 1] < c.end
    });
}

/// Most words a cue spans: a cue that starts more than `window` plus this many words before a
/// match is not looked at for it.
const LONGEST_CUE_WORDS: u32 = 12;

/// How far back a refutation reaches: the sentence before it, up to this many words.
const REFUTE_WINDOW: u32 = 40;

/// The bytes a refutation cue negates (a match is negated when its end lies in `low..=high`):
/// the sentence before the clause the cue makes up on its own ("…said we must have been hacked.
/// I don't think so: …"). `None` when words share the cue's clause ("It isn't the config, …" goes
/// on to say something else) or when no sentence comes before it.
fn refuted_span(layout: &Layout, c: &CueHit) -> Option<(u32, u32)> {
    let breaks = &layout.breaks;
    let before = breaks.partition_point(|&p| p < c.start);
    let ends_previous = before.checked_sub(1)?;
    if layout.words_between(breaks[ends_previous] + 1, c.start) > 0 {
        return None;
    }
    let next_break = breaks
        .get(breaks.partition_point(|&p| p < c.end))
        .copied()
        .unwrap_or(u32::MAX);
    if layout.words_between(c.end, next_break) > 0 {
        return None;
    }
    // Back past breaks with no words between them ("hacked". \n\n It isn't.).
    let mut k = ends_previous;
    while k > 0 && layout.words_between(breaks[k - 1], breaks[k]) == 0 {
        k -= 1;
    }
    let sentence_start = if k > 0 { breaks[k - 1] + 1 } else { 0 };
    let window_start = c
        .start_word
        .checked_sub(REFUTE_WINDOW)
        .and_then(|w| layout.words.get(w as usize))
        .copied()
        .unwrap_or(0);
    Some((sentence_start.max(window_start), breaks[ends_previous]))
}

/// Where the negation cues of a field reach, worked out once per field so that each match
/// costs two binary searches: a match is negated when its start lies in the reach of a forward
/// cue or its end in the reach of a backward cue. Same answers as `is_negated` (the rule stated
/// match by match, kept as the tests' reference).
#[derive(Debug, Default)]
pub(crate) struct NegationScopes {
    /// Match starts reached by forward cues.
    forward: Reach,
    /// Match ends reached by backward cues.
    backward: Reach,
    /// Terminators by start, and from each on the smallest end of those at or after it.
    terminators_by_start: Vec<(u32, u32)>,
    least_end_from: Vec<u32>,
    /// Terminators by end, and up to each the largest start of those at or before it.
    terminators_by_end: Vec<(u32, u32)>,
    most_start_to: Vec<u32>,
}

/// Inclusive ranges of byte offsets, by lower end, with the furthest upper end reached so far:
/// whether any range holds an offset is then one binary search.
#[derive(Debug, Default)]
struct Reach {
    ranges: Vec<(u32, u32)>,
    furthest: Vec<u32>,
}

impl Reach {
    fn clear(&mut self) {
        self.ranges.clear();
        self.furthest.clear();
    }

    fn push(&mut self, low: u32, high: u32) {
        if low <= high {
            self.ranges.push((low, high));
        }
    }

    fn index(&mut self) {
        self.ranges.sort_unstable();
        let mut reach = 0;
        for &(_, high) in &self.ranges {
            reach = reach.max(high);
            self.furthest.push(reach);
        }
    }

    fn holds(&self, at: u32) -> bool {
        let before = self.ranges.partition_point(|&(low, _)| low <= at);
        before > 0 && self.furthest[before - 1] >= at
    }
}

impl NegationScopes {
    /// Works out the reach of `cues` (sorted by start, word positions filled by
    /// [`Layout::index_cues`]) over a field of `layout`, reusing this value's buffers.
    ///
    /// The conditions of `is_negated`, turned into bounds on the match's start (forward) or end
    /// (backward): after the cue, before the first clause break or terminator that follows it,
    /// within `window` words, and near enough that the cue is among those looked at.
    pub fn build(&mut self, layout: &Layout, cues: &[CueHit], window: u32) {
        use crate::ruleset::Cue;
        self.forward.clear();
        self.backward.clear();
        self.index_terminators(cues);
        let words = &layout.words;
        let word = |i: u32| words.get(i as usize).copied();
        for c in cues {
            match c.cue {
                Cue::Forward => {
                    // Matches whose first word lies so far after the cue's start that the cue is
                    // not looked at (see `is_negated`) are out of reach.
                    let words_to_start = words.partition_point(|&w| w <= c.start) as u32;
                    if words_to_start == 0 && !words.is_empty() {
                        continue;
                    }
                    let looked_at = word(words_to_start + window + LONGEST_CUE_WORDS - 1);
                    let within_window = word(c.end_word + window);
                    let first_break = {
                        let i = layout.breaks.partition_point(|&p| p < c.end);
                        layout.breaks.get(i).copied()
                    };
                    let first_terminator = {
                        let i = self
                            .terminators_by_start
                            .partition_point(|&(s, _)| s < c.end);
                        self.least_end_from.get(i).map(|&end| end - 1)
                    };
                    let high = [looked_at, within_window, first_break, first_terminator]
                        .into_iter()
                        .flatten()
                        .min()
                        .unwrap_or(u32::MAX);
                    self.forward.push(c.end, high);
                }
                Cue::Backward => {
                    let within_window = c
                        .start_word
                        .checked_sub(window + 1)
                        .and_then(word)
                        .map(|w| w + 1);
                    let last_break = {
                        let i = layout.breaks.partition_point(|&p| p < c.start);
                        i.checked_sub(1).map(|i| layout.breaks[i] + 1)
                    };
                    let last_terminator = {
                        let i = self
                            .terminators_by_end
                            .partition_point(|&(_, e)| e <= c.start);
                        i.checked_sub(1).map(|i| self.most_start_to[i] + 1)
                    };
                    let low = [within_window, last_break, last_terminator]
                        .into_iter()
                        .flatten()
                        .max()
                        .unwrap_or(0);
                    self.backward.push(low, c.start);
                }
                Cue::Refute => {
                    if let Some((low, high)) = refuted_span(layout, c) {
                        self.backward.push(low, high);
                    }
                }
                Cue::Pseudo | Cue::Terminator => {}
            }
        }
        self.forward.index();
        self.backward.index();
    }

    fn index_terminators(&mut self, cues: &[CueHit]) {
        use crate::ruleset::Cue;
        self.terminators_by_start.clear();
        self.terminators_by_start.extend(
            cues.iter()
                .filter(|c| c.cue == Cue::Terminator)
                .map(|c| (c.start, c.end)),
        );
        self.terminators_by_start.sort_unstable();
        self.least_end_from.clear();
        self.least_end_from
            .resize(self.terminators_by_start.len(), u32::MAX);
        let mut least = u32::MAX;
        for (i, &(_, end)) in self.terminators_by_start.iter().enumerate().rev() {
            least = least.min(end);
            self.least_end_from[i] = least;
        }
        self.terminators_by_end.clear();
        self.terminators_by_end
            .extend(self.terminators_by_start.iter().copied());
        self.terminators_by_end
            .sort_unstable_by_key(|&(s, e)| (e, s));
        self.most_start_to.clear();
        let mut most = 0;
        for &(start, _) in &self.terminators_by_end {
            most = most.max(start);
            self.most_start_to.push(most);
        }
    }

    /// Whether the match `start..end` (not empty) is negated.
    pub fn negates(&self, start: u32, end: u32) -> bool {
        self.forward.holds(start) || self.backward.holds(end)
    }
}

/// Whether the span `start..end` is reached by a negation cue: the rule stated match by match,
/// the reference [`NegationScopes`] is tested against.
#[cfg(test)]
pub(crate) fn is_negated(
    layout: &Layout,
    cues: &[CueHit],
    window: u32,
    start: u32,
    end: u32,
) -> bool {
    use crate::ruleset::Cue;
    // Only cues near the span can reach it: look at the slice of (start-sorted) cues from
    // `window` words (plus the longest cue) before it to `window` words after it, so a long
    // ticket costs linear time, not hits × cues.
    let words = &layout.words;
    let first_word = words.partition_point(|&w| w < start);
    let last_word = words.partition_point(|&w| w < end);
    let lo = first_word.saturating_sub((window + LONGEST_CUE_WORDS) as usize);
    let lo_pos = words.get(lo).copied().unwrap_or(0).min(start);
    let hi_pos = words
        .get(last_word + window as usize + 1)
        .copied()
        .unwrap_or(u32::MAX);
    let from = cues.partition_point(|c| c.start < lo_pos);
    let to = cues.partition_point(|c| c.start <= hi_pos);
    let near = &cues[from..to];
    let blocked = |a: u32, b: u32| {
        layout.break_between(a, b)
            || near
                .iter()
                .any(|t| t.cue == Cue::Terminator && t.start >= a && t.end <= b)
    };
    // Words between a cue and the span: those starting from one's end up to the other's start.
    let (first_word, last_word) = (first_word as u32, last_word as u32);
    let refuted = cues.iter().any(|c| {
        c.cue == Cue::Refute
            && refuted_span(layout, c).is_some_and(|(low, high)| low <= end && end <= high)
    });
    refuted
        || near.iter().any(|c| match c.cue {
            Cue::Forward => {
                c.end <= start && first_word - c.end_word <= window && !blocked(c.end, start)
            }
            Cue::Backward => {
                c.start >= end && c.start_word - last_word <= window && !blocked(end, c.start)
            }
            Cue::Refute | Cue::Pseudo | Cue::Terminator => false,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::Cue;

    fn cue(text: &str, word: &str, cue: Cue) -> CueHit {
        let s = text.find(word).unwrap() as u32;
        CueHit {
            cue,
            start: s,
            end: s + word.len() as u32,
            start_word: 0,
            end_word: 0,
        }
    }

    /// Whether `start..end` is negated, by the scopes, which must agree with the reference.
    fn negated(layout: &Layout, cues: &[CueHit], window: u32, start: u32, end: u32) -> bool {
        let mut scopes = NegationScopes::default();
        scopes.build(layout, cues, window);
        let by_scopes = scopes.negates(start, end);
        assert_eq!(by_scopes, is_negated(layout, cues, window, start, end));
        by_scopes
    }

    fn span(text: &str, word: &str) -> (u32, u32) {
        let s = text.find(word).unwrap() as u32;
        (s, s + word.len() as u32)
    }

    #[test]
    fn forward_scope_is_bounded_by_window_and_breaks() {
        // (cues are given in text order, as `scan_field` sorts them)
        let text = "this is not a hacked box. malware everywhere";
        let mut layout = Layout::default();
        layout.build(text);
        let mut cues = [cue(text, "not", Cue::Forward)];
        layout.index_cues(&mut cues);
        let (s, e) = span(text, "hacked");
        assert!(negated(&layout, &cues, 6, s, e));
        let (s, e) = span(text, "malware");
        assert!(
            !negated(&layout, &cues, 6, s, e),
            "sentence end closes the scope"
        );
        assert!(
            !negated(
                &layout,
                &cues,
                0,
                span(text, "hacked").0,
                span(text, "hacked").1
            ),
            "window of 0 words"
        );
    }

    /// The layout of `text` and its one cue, `word` of kind `kind`.
    fn one_cue(text: &str, word: &str, kind: Cue) -> (Layout, Vec<CueHit>) {
        let mut layout = Layout::default();
        layout.build(text);
        let mut cues = vec![cue(text, word, kind)];
        layout.index_cues(&mut cues);
        (layout, cues)
    }

    #[test]
    fn a_refutation_negates_the_whole_sentence_before_it() {
        let refutes = |text: &str, target: &str| {
            let (layout, cues) = one_cue(text, "it isn't", Cue::Refute);
            let (s, e) = span(text, target);
            negated(&layout, &cues, 5, s, e)
        };
        let text = "apache is slow. my manager said one two three four five six we were hacked.\n\nit isn't: the scan is clean. malware";
        assert!(
            refutes(text, "hacked"),
            "the sentence before, past the window of ordinary cues and the blank line"
        );
        assert!(!refutes(text, "apache"), "two sentences back");
        assert!(!refutes(text, "malware"), "what follows");
        // A cue that shares its clause with other words refutes nothing, nor one that opens
        // the field.
        assert!(!refutes("we were hacked. it isn't the disk", "hacked"));
        assert!(!refutes("it isn't. hacked", "hacked"));
    }

    #[test]
    fn terminators_and_backward_cues() {
        let text = "no custom kernel but the vm was hacked. malware ruled out";
        let mut layout = Layout::default();
        layout.build(text);
        let mut cues = [
            cue(text, "no", Cue::Forward),
            cue(text, "but", Cue::Terminator),
            cue(text, "ruled out", Cue::Backward),
        ];
        layout.index_cues(&mut cues);
        let (s, e) = span(text, "custom kernel");
        assert!(negated(&layout, &cues, 6, s, e));
        let (s, e) = span(text, "hacked");
        assert!(!negated(&layout, &cues, 6, s, e), "`but` ends the scope");
        let (s, e) = span(text, "malware");
        assert!(negated(&layout, &cues, 6, s, e), "backward cue");
    }

    #[test]
    fn pseudo_cues_hide_the_cues_inside_them() {
        let text = "apache does not start after the custom kernel";
        let mut cues = vec![
            cue(text, "not", Cue::Forward),
            cue(text, "not start", Cue::Pseudo),
        ];
        drop_pseudo_covered(&mut cues);
        assert_eq!(cues.len(), 1);
        assert_eq!(cues[0].cue, Cue::Pseudo);
    }

    #[test]
    fn a_longer_cue_around_a_pseudo_cue_stays_live() {
        // `could not` is a pseudo-cue (modal negation: what fails), `could not find` a cue that
        // starts with it and ends after it: a denial, which must keep negating.
        let text = "we could not find any malware on the vm";
        let mut cues = vec![
            cue(text, "not", Cue::Forward),
            cue(text, "could not", Cue::Pseudo),
            cue(text, "could not find", Cue::Forward),
        ];
        drop_pseudo_covered(&mut cues);
        cues.sort_unstable_by_key(|c| c.start);
        assert_eq!(
            cues.len(),
            2,
            "only the `not` inside the pseudo-cue is hidden"
        );
        let mut layout = Layout::default();
        layout.build(text);
        let (s, e) = span(text, "malware");
        assert!(negated(&layout, &cues, 5, s, e));
    }

    #[test]
    fn breaks_ignore_dots_inside_versions() {
        let mut layout = Layout::default();
        layout.build("ubuntu 22.04 is fine. next");
        assert_eq!(layout.breaks.len(), 1);
        assert_eq!(layout.words.len(), 6);
    }

    /// The scopes answer as the match-by-match rule does, on random texts and cues: words,
    /// clause breaks, versions, cues spanning several words, windows from 0 to 7. (Refute cues
    /// are drawn so that they mix with the others; their own reach comes from `refuted_span` on
    /// both sides, and `a_refutation_negates_the_whole_sentence_before_it` is what checks it.)
    #[test]
    fn scopes_agree_with_the_rule_match_by_match() {
        const WORDS: &[&str] = &[
            "no", "vm", "hacked", "but", "ok", "22.04", "x", ".", ";", ",", ":", "\n", "'s", "é",
        ];
        const CUES: [Cue; 5] = [
            Cue::Forward,
            Cue::Backward,
            Cue::Refute,
            Cue::Terminator,
            Cue::Pseudo,
        ];
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for _ in 0..3000 {
            let tokens: Vec<&str> = (0..next(60) + 1)
                .map(|_| WORDS[next(WORDS.len())])
                .collect();
            let mut text = String::new();
            let mut spans = Vec::new();
            for t in &tokens {
                if !text.is_empty() && next(4) > 0 {
                    text.push(' ');
                }
                spans.push((text.len() as u32, (text.len() + t.len()) as u32));
                text.push_str(t);
            }
            let mut layout = Layout::default();
            layout.build(&text);
            let mut cues: Vec<CueHit> = (0..next(6))
                .map(|_| {
                    let first = next(spans.len());
                    // Now and then a cue longer than any real one (`LONGEST_CUE_WORDS`).
                    let words = if next(10) == 0 { next(25) } else { next(3) };
                    let last = (first + words).min(spans.len() - 1);
                    CueHit {
                        cue: CUES[next(CUES.len())],
                        start: spans[first].0,
                        end: spans[last].1,
                        start_word: 0,
                        end_word: 0,
                    }
                })
                .collect();
            cues.sort_unstable_by_key(|c| c.start);
            layout.index_cues(&mut cues);
            let window = next(8) as u32;
            for (i, &(start, _)) in spans.iter().enumerate() {
                let end = spans[(i + next(2)).min(spans.len() - 1)].1;
                negated(&layout, &cues, window, start, end);
            }
        }
    }
}
