//! NegEx-style negation scopes over normalised text: a forward cue reaches the words after it,
//! a backward cue the words before it, within a window of words, never across a clause break
//! (sentence end, `:`, `;`, paragraph break) or a terminator cue (`but`, `however`, …).

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
        let mut prev_word = false;
        for (i, &b) in bytes.iter().enumerate() {
            let class = BYTE_CLASS[b as usize];
            let word = class == WORD;
            if word && !prev_word {
                self.words.push(i as u32);
            }
            prev_word = word;
            let is_break = class == BREAK
                || class == STOP
                    && matches!(
                        bytes.get(i + 1),
                        None | Some(b' ' | b'\n' | b'"' | b'\'' | b')')
                    );
            if is_break {
                self.breaks.push(i as u32);
            }
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

    /// Whether a clause break lies in `a..b`.
    /// Fills the word positions of `cues`.
    pub fn index_cues(&self, cues: &mut [CueHit]) {
        for c in cues {
            c.start_word = self.words.partition_point(|&w| w < c.start) as u32;
            c.end_word = self.words.partition_point(|&w| w < c.end) as u32;
        }
    }

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

/// Whether the span `start..end` is reached by a negation cue.
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
    const LONGEST_CUE_WORDS: usize = 12;
    let words = &layout.words;
    let first_word = words.partition_point(|&w| w < start);
    let last_word = words.partition_point(|&w| w < end);
    let lo = first_word.saturating_sub(window as usize + LONGEST_CUE_WORDS);
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
    near.iter().any(|c| match c.cue {
        Cue::Forward => {
            c.end <= start && first_word - c.end_word <= window && !blocked(c.end, start)
        }
        Cue::Backward => {
            c.start >= end && c.start_word - last_word <= window && !blocked(end, c.start)
        }
        Cue::Pseudo | Cue::Terminator => false,
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
        assert!(is_negated(&layout, &cues, 6, s, e));
        let (s, e) = span(text, "malware");
        assert!(
            !is_negated(&layout, &cues, 6, s, e),
            "sentence end closes the scope"
        );
        assert!(
            !is_negated(
                &layout,
                &cues,
                0,
                span(text, "hacked").0,
                span(text, "hacked").1
            ),
            "window of 0 words"
        );
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
        assert!(is_negated(&layout, &cues, 6, s, e));
        let (s, e) = span(text, "hacked");
        assert!(!is_negated(&layout, &cues, 6, s, e), "`but` ends the scope");
        let (s, e) = span(text, "malware");
        assert!(is_negated(&layout, &cues, 6, s, e), "backward cue");
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
        assert!(is_negated(&layout, &cues, 5, s, e));
    }

    #[test]
    fn breaks_ignore_dots_inside_versions() {
        let mut layout = Layout::default();
        layout.build("ubuntu 22.04 is fine. next");
        assert_eq!(layout.breaks.len(), 1);
        assert_eq!(layout.words.len(), 6);
    }
}
