//! Zones: which lines of a description are the customer's words and which are pasted logs,
//! quoted earlier replies, signatures or disclaimers. Markers come from `language.toml`; every
//! line is tested against all of them at once with one `RegexSet`.

use crate::ruleset::Zone;
use regex::bytes::RegexSet;

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
}

/// Compiled zone markers.
#[derive(Debug)]
pub(crate) struct ZoneDetector {
    pub set: RegexSet,
    pub markers: Vec<Marker>,
}

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
    Quote,
    Signature,
    Disclaimer,
}

impl ZoneDetector {
    /// Finds the non-body zones of `text`, appending them to `out` in order.
    pub fn detect(&self, text: &str, out: &mut Vec<ZoneSpan>) {
        out.clear();
        if self.markers.is_empty() {
            return;
        }
        let mut state = State::Body;
        let mut offset = 0usize;
        for line in text.split_inclusive('\n') {
            let start = offset;
            offset += line.len();
            let content = line.trim_end_matches(['\n', '\r']);
            let blank = content.trim().is_empty();
            let mut has = [false; 5];
            if !blank && state != State::Quote {
                for i in self.set.matches(content.as_bytes()).iter() {
                    has[self.markers[i] as usize] = true;
                }
            }
            let zone = if state == State::Quote {
                Some(Zone::Quote)
            } else if has[Marker::QuoteHeader as usize] {
                state = State::Quote;
                Some(Zone::Quote)
            } else if has[Marker::QuotePrefix as usize] {
                Some(Zone::Quote)
            } else if state == State::Signature {
                Some(Zone::Signature)
            } else if has[Marker::Signature as usize] {
                state = State::Signature;
                Some(Zone::Signature)
            } else if state == State::Disclaimer && !blank {
                Some(Zone::Disclaimer)
            } else if has[Marker::Disclaimer as usize] {
                state = State::Disclaimer;
                Some(Zone::Disclaimer)
            } else {
                if state == State::Disclaimer {
                    state = State::Body;
                }
                has[Marker::LogLine as usize].then_some(Zone::Log)
            };
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
    }
}

/// The zone of original byte `at`, given the field's non-body zones in order.
pub(crate) fn zone_at(zones: &[ZoneSpan], at: u32) -> Zone {
    // Few zones per ticket: a linear scan beats a binary search here.
    zones
        .iter()
        .find(|z| z.start <= at && at < z.end)
        .map_or(Zone::Body, |z| z.zone)
}
