//! Zones: which lines of a description are the customer's words and which are pasted logs,
//! quoted earlier replies, signatures or disclaimers. Markers come from `language.toml`, compiled
//! into one regex per kind of marker; a line is only tested for the kinds its state still needs.

use crate::ruleset::Zone;
use regex::bytes::Regex;

/// What a zone marker does when a line matches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Marker {
    /// This line is quoted (`> …`).
    QuotePrefix,
    /// This line and the rest of the field are a quoted reply (`On … wrote:`).
    QuoteHeader,
    /// This line and the rest of the field are the signature.
    Signature,
    /// This line and the rest of its paragraph are a disclaimer.
    Disclaimer,
    /// This line is pasted log output.
    LogLine,
    /// This line of the customer's points at the quoted message below ("see below").
    ForwardNote,
    /// This line is the customer's turn in a pasted chat, even if it looks like a log line.
    CustomerTurn,
}

/// How many kinds of [`Marker`] there are.
pub(crate) const MARKER_KINDS: usize = 7;

/// Most words a cover note may have for the message it forwards to be the problem statement:
/// "See below, can you help? We need this patched by Friday." leaves the problem to the
/// forwarded message; a customer who writes more has stated their own.
const FORWARD_NOTE_MAX_WORDS: usize = 50;

/// Compiled zone markers: one alternation per marker kind, indexed by `Marker as usize`, and
/// one alternation per kind of inline span (links, history), in the order they are applied.
#[derive(Debug)]
pub(crate) struct ZoneDetector {
    pub kinds: [Option<Regex>; MARKER_KINDS],
    pub inline: Vec<InlineZone>,
}

/// A kind of span inside lines (links, history).
#[derive(Debug)]
pub(crate) struct InlineZone {
    pub zone: Zone,
    pub regex: Regex,
    /// Whether the regex only needs to search a field where one of its guard literals was seen
    /// ([`crate::ruleset::Owner::ZoneGuard`]); else it searches every field.
    pub guarded: bool,
}

/// Every inline zone kind, as if all their guards were seen.
pub(crate) const ALL_INLINE: u8 = u8::MAX;

/// Longest line (in words) that can still belong to a signature block.
const SIGNATURE_MAX_WORDS: usize = 12;

/// A non-body zone: byte range of the original text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ZoneSpan {
    pub start: u32,
    pub end: u32,
    pub zone: Zone,
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    Body,
    /// Just after a quote header: the next non-blank line tells how the reply is quoted.
    QuoteHeader,
    /// Quoted with `>` prefixes (bottom or inline posting): the quote ends with the prefixes.
    QuotePrefixed,
    /// Quoted without prefixes (top posting): the rest of the field is the earlier reply.
    Quote,
    Signature,
    Disclaimer,
}

impl ZoneDetector {
    /// Finds the non-body zones of `text`, appending them to `out` in order.
    pub fn detect(&self, text: &str, out: &mut Vec<ZoneSpan>) {
        out.clear();
        self.detect_lines(text, out);
        self.detect_inline(text, ALL_INLINE, out);
    }

    /// Finds the zones inside lines (links, history), after the zones of whole lines: a
    /// subject line has no signature or quoted reply, but can say what was upgraded from. Only
    /// kinds whose bit is set in `seen` (a guard literal of theirs is in the text) or that have
    /// no guards are searched.
    pub fn detect_inline(&self, text: &str, seen: u8, out: &mut Vec<ZoneSpan>) {
        for (k, kind) in self.inline.iter().enumerate() {
            if !kind.guarded || seen & (1 << k) != 0 {
                add_inline(kind.zone, &kind.regex, text, out);
            }
        }
    }

    /// Whether a quoted line is, once its quote prefix is taken off, a log line.
    fn is_quoted_log_line(&self, line: &str) -> bool {
        let (Some(prefix), Some(log)) = (
            &self.kinds[Marker::QuotePrefix as usize],
            &self.kinds[Marker::LogLine as usize],
        ) else {
            return false;
        };
        prefix
            .find(line.as_bytes())
            .is_some_and(|m| log.is_match(&line.as_bytes()[m.end()..]))
    }

    /// Whether a line of the customer's own words (outside every zone so far) is a cover note
    /// pointing at the quoted message below ("see below, can you help?").
    fn points_below(&self, text: &str, zones: &[ZoneSpan]) -> bool {
        let Some(note) = &self.kinds[Marker::ForwardNote as usize] else {
            return false;
        };
        let mut offset = 0usize;
        text.split_inclusive('\n').any(|line| {
            let start = offset;
            offset += line.len();
            zone_at(zones, start as u32) == Zone::Body && note.is_match(line.as_bytes())
        })
    }

    /// The zones that whole lines fall in.
    pub fn detect_lines(&self, text: &str, out: &mut Vec<ZoneSpan>) {
        if self.kinds.iter().all(Option::is_none) {
            return;
        }
        if self.scan_lines(text, out, Quoting::Honoured) == Quoting::Promoted {
            // The quoted message is the problem statement: read it again as the customer's
            // words, so that its own signature and disclaimer are found ("report phishing to
            // security@…" under a forwarded e-mail is boilerplate still).
            out.clear();
            self.scan_lines(text, out, Quoting::Ignored);
        }
    }

    /// One pass over the lines. With [`Quoting::Ignored`], quote headers and `>` prefixes mark
    /// nothing: a header starts a new message (ending a signature or disclaimer before it), and
    /// a prefixed line is tested without its prefix. Returns [`Quoting::Promoted`] when the
    /// quoted message turned out to be the problem statement.
    fn scan_lines(&self, text: &str, out: &mut Vec<ZoneSpan>, quoting: Quoting) -> Quoting {
        let ignore_quotes = quoting == Quoting::Ignored;
        let mut in_prefixed = false;
        let mut state = State::Body;
        let mut after_break = false;
        // Whether the customer has written anything yet: a quoted message pasted first (a vendor's
        // reply, then "-----", then the customer's question) ends at a separator line.
        let mut wrote_before = false;
        let mut quote_on_top = false;
        let mut quoted_from_top = false;
        // How many words the customer wrote themselves (counted up to the cover note's limit).
        let mut own_words = 0usize;
        let mut offset = 0usize;
        for line in text.split_inclusive('\n') {
            let start = offset;
            offset += line.len();
            let mut content = line.trim_end_matches(['\n', '\r']);
            if ignore_quotes && !content.trim().is_empty() {
                let unquoted = self.without_quote_prefix(content);
                // The first `>` line after the customer's own is another message: whatever
                // signature or disclaimer came before it has ended.
                if unquoted.is_some() && !in_prefixed {
                    state = State::Body;
                }
                in_prefixed = unquoted.is_some();
                content = unquoted.unwrap_or(content);
            }
            let blank = content.trim().is_empty();
            let is = |marker: Marker| {
                // Read as the customer's words, a line marks no quote.
                let quote_marker = matches!(marker, Marker::QuotePrefix | Marker::QuoteHeader);
                let ignored = ignore_quotes && quote_marker;
                !blank
                    && !ignored
                    && self.kinds[marker as usize]
                        .as_ref()
                        .is_some_and(|r| r.is_match(content.as_bytes()))
            };
            if ignore_quotes
                && !blank
                && self.kinds[Marker::QuoteHeader as usize]
                    .as_ref()
                    .is_some_and(|r| r.is_match(content.as_bytes()))
            {
                state = State::Body;
            }
            if blank && state == State::QuoteHeader {
                continue;
            }
            if state == State::QuoteHeader {
                state = if is(Marker::QuotePrefix) {
                    State::QuotePrefixed
                } else {
                    State::Quote
                };
            }
            if state == State::Quote && quote_on_top && is_separator(content) {
                state = State::Body;
                quote_on_top = false;
                continue;
            }
            // Signatures are short lines; a paragraph of prose after a sign-off ("Thanks" at the
            // top of a ticket) is the customer writing again. (Long promo lines inside the
            // signature paragraph stay in it.)
            if state == State::Signature {
                if blank {
                    after_break = true;
                } else {
                    // Only the first line of a paragraph can start the customer writing again;
                    // later lines belong to whatever that paragraph is (a disclaimer, say).
                    if after_break && content.split_whitespace().count() > SIGNATURE_MAX_WORDS {
                        state = State::Body;
                    }
                    after_break = false;
                }
            }
            // A banner ("----- Forwarded -----") under a sign-off starts what the customer
            // forwards: the signature is over.
            if state == State::Signature && is_banner(content) {
                state = State::Body;
            }
            if state == State::QuotePrefixed && !blank && !is(Marker::QuotePrefix) {
                // The customer's answer below the quoted lines.
                state = State::Body;
            }
            let zone = if state == State::Quote {
                Some(Zone::Quote)
            } else if is(Marker::QuoteHeader) {
                state = State::QuoteHeader;
                quote_on_top = !wrote_before;
                quoted_from_top |= quote_on_top;
                Some(Zone::Quote)
            } else if is(Marker::QuotePrefix) {
                // Log lines pasted as a Markdown quote (`> May 24 12:16:23 host sshd[…]: …`) are
                // output the writer shows, not an earlier reply.
                Some(if self.is_quoted_log_line(content) {
                    Zone::Log
                } else {
                    Zone::Quote
                })
            } else if state == State::QuotePrefixed {
                None
            } else if state == State::Signature {
                Some(Zone::Signature)
            } else if is(Marker::Signature) {
                state = State::Signature;
                after_break = false;
                Some(Zone::Signature)
            } else if state == State::Disclaimer && !blank {
                Some(Zone::Disclaimer)
            } else if is(Marker::Disclaimer) {
                state = State::Disclaimer;
                Some(Zone::Disclaimer)
            } else {
                if state == State::Disclaimer {
                    state = State::Body;
                }
                (is(Marker::LogLine) && !is(Marker::CustomerTurn)).then_some(Zone::Log)
            };
            // A banner ("---------- Forwarded message ---------") is not the customer writing.
            if zone.is_none() && !blank && !is_banner(content) {
                wrote_before = true;
                if own_words <= FORWARD_NOTE_MAX_WORDS {
                    own_words += content.split_whitespace().count();
                }
            }
            if let Some(zone) = zone {
                match out.last_mut() {
                    Some(last) if last.zone == zone && last.end as usize == start => {
                        last.end = offset as u32
                    }
                    _ => out.push(ZoneSpan {
                        start: start as u32,
                        end: offset as u32,
                        zone,
                    }),
                }
            }
        }
        // Nothing but a quoted message (a forwarded or pasted e-mail with no word of the
        // customer's own), or a short note pointing at it: that message is the problem statement.
        // (Looked for only when there is a quote and the customer wrote little: most tickets
        // have neither, and the note's regex would run on every line of them.)
        let forwarded = own_words <= FORWARD_NOTE_MAX_WORDS
            && out.iter().any(|z| z.zone == Zone::Quote)
            && self.points_below(text, out);
        if !ignore_quotes && ((quoted_from_top && !wrote_before) || forwarded) {
            Quoting::Promoted
        } else {
            quoting
        }
    }

    /// `line` without its quote prefix (`> `), if it has one.
    fn without_quote_prefix<'t>(&self, line: &'t str) -> Option<&'t str> {
        let prefix = self.kinds[Marker::QuotePrefix as usize].as_ref()?;
        let m = prefix.find(line.as_bytes())?;
        // The prefix regex matches at a line start; what follows it is the quoted line.
        (m.start() == 0).then(|| line.get(m.end()..)).flatten()
    }
}

/// How a pass over the lines treats quoted messages.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Quoting {
    /// Quote headers and prefixes mark quoted replies.
    Honoured,
    /// The quoted message was found to be the problem statement.
    Promoted,
    /// Read every line as the customer's, quote prefixes taken off.
    Ignored,
}

/// Spans of the customer's own words that `regex` matches become `zone` (web addresses, an
/// upgrade's starting point), unless an earlier zone holds them; `out` stays in text order.
/// A pattern with a capture group marks only what its first group that took part matched.
fn add_inline(zone: Zone, regex: &Regex, text: &str, out: &mut Vec<ZoneSpan>) {
    let before = out.len();
    let mut push = |start: usize, end: usize| {
        let (start, end) = (start as u32, end as u32);
        let free = zone_at(&out[..before], start) == Zone::Body
            && zone_at(&out[..before], end.saturating_sub(1)) == Zone::Body;
        if end > start && free {
            out.push(ZoneSpan { start, end, zone });
        }
    };
    if regex.captures_len() > 1 {
        for c in regex.captures_iter(text.as_bytes()) {
            let whole = c.get(0).expect("whole match");
            let part = c.iter().skip(1).flatten().next().unwrap_or(whole);
            push(part.start(), part.end());
        }
    } else {
        for m in regex.find_iter(text.as_bytes()) {
            push(m.start(), m.end());
        }
    }
    if out.len() > before {
        out.sort_unstable_by_key(|z| z.start);
    }
}

/// A line that starts with a rule of three or more dashes, underscores, equals signs or stars.
fn is_banner(line: &str) -> bool {
    let rule = line
        .trim_start()
        .bytes()
        .take_while(|b| matches!(b, b'-' | b'_' | b'=' | b'*'))
        .count();
    rule >= 3
}

/// A line of only dashes, underscores or equals signs (at least three).
fn is_separator(line: &str) -> bool {
    let line = line.trim();
    line.len() >= 3 && line.bytes().all(|b| matches!(b, b'-' | b'_' | b'='))
}

/// The zone of original byte `at`, given the field's non-body zones in order.
pub(crate) fn zone_at(zones: &[ZoneSpan], at: u32) -> Zone {
    // Zones are in text order and do not overlap.
    let after = zones.partition_point(|z| z.start <= at);
    match after.checked_sub(1).map(|i| &zones[i]) {
        Some(z) if at < z.end => z.zone,
        _ => Zone::Body,
    }
}
