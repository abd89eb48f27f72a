//! Text normalisation shared by tickets and literal patterns, so both meet in one form:
//! NFKC compatibility folding, lower case, ASCII quotes, dashes and hyphens as spaces, runs of
//! whitespace as one space and paragraph breaks as one line break. A byte map leads every
//! normalised byte back to the original text, so evidence spans point into what the user wrote.

use unicode_normalization::UnicodeNormalization;
use unicode_script::{Script, UnicodeScript};

/// Normalised text plus, for each of its bytes, the byte offset in the source it came from.
/// `map` has one extra entry, the source length, so `map[end]` is valid for any span end.
#[derive(Debug, Default, Clone)]
pub struct Normalized {
    pub text: String,
    pub map: Vec<u32>,
}

impl Normalized {
    /// Original byte span of the normalised span `start..end`, on character boundaries of the
    /// original: a span ending inside the expansion of one source character (`İ` folds to two
    /// characters) covers that whole character.
    pub fn original_span(&self, start: usize, end: usize) -> (usize, usize) {
        let s = self.map[start] as usize;
        if end <= start {
            return (s, s);
        }
        let last = self.map[end - 1];
        let mut k = end;
        while k + 1 < self.map.len() && self.map[k] == last {
            k += 1;
        }
        let e = if self.map[k] == last {
            last as usize + 1
        } else {
            self.map[k] as usize
        };
        (s, e.max(s))
    }
}

/// Pending whitespace while scanning: none, a space, or a paragraph break.
#[derive(Clone, Copy, PartialEq)]
enum Gap {
    None,
    Space { at: u32, newlines: u8 },
}

fn is_dash(c: char) -> bool {
    matches!(
        c,
        '-' | '\u{2010}'
            ..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' | '\u{FF0D}' | '\u{00AD}'
    )
}

/// An ASCII byte kept as it is (up to case): not whitespace, not a dash.
#[inline]
fn is_plain_ascii(b: u8) -> bool {
    b.is_ascii() && !matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c | b'-')
}

/// Normalises `src` into `out` (cleared first), reusing its buffers.
pub fn normalize_into(src: &str, out: &mut Normalized) {
    out.text.clear();
    out.map.clear();
    out.text.reserve(src.len());
    out.map.reserve(src.len() + 1);
    let mut gap = Gap::None;
    let flush = |gap: &mut Gap, out: &mut Normalized| {
        if let Gap::Space { at, newlines } = *gap {
            out.text.push(if newlines >= 2 { '\n' } else { ' ' });
            out.map.push(at);
            *gap = Gap::None;
        }
    };
    let bytes = src.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii() {
            match b {
                b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c | b'-' => {
                    let nl = u8::from(b == b'\n');
                    gap = match gap {
                        Gap::None => Gap::Space {
                            at: i as u32,
                            newlines: nl,
                        },
                        Gap::Space { at, newlines } => Gap::Space {
                            at,
                            newlines: newlines.saturating_add(nl),
                        },
                    };
                }
                _ => {
                    flush(&mut gap, out);
                    // Fast path: a run of plain ASCII is copied and lower-cased in bulk. Its
                    // last byte is left to the general path when a non-ASCII character follows,
                    // which may be a combining accent composing with it.
                    // A single space between plain bytes stays as it is, so a run spans words.
                    let mut run_end = i + 1;
                    loop {
                        match bytes.get(run_end) {
                            Some(&b) if is_plain_ascii(b) => run_end += 1,
                            Some(b' ')
                                if bytes.get(run_end + 1).is_some_and(|&b| is_plain_ascii(b)) =>
                            {
                                run_end += 2
                            }
                            _ => break,
                        }
                    }
                    if bytes.get(run_end).is_some_and(|&b| b >= 0x80) {
                        run_end -= 1;
                    }
                    if run_end > i {
                        let at = out.text.len();
                        out.text.push_str(&src[i..run_end]);
                        out.text[at..].make_ascii_lowercase();
                        out.map.extend(i as u32..run_end as u32);
                        i = run_end;
                        continue;
                    }
                    // `e` followed by a combining accent composes with it (NFKC over the cluster).
                    let end = cluster_end(src, i + 1);
                    if end > i + 1 {
                        push_folded(&src[i..end], i, out);
                        i = end;
                        continue;
                    }
                    out.text.push(b.to_ascii_lowercase() as char);
                    out.map.push(i as u32);
                }
            }
            i += 1;
            continue;
        }
        let c = src[i..].chars().next().expect("char boundary");
        let len = c.len_utf8();
        if c.is_whitespace() || is_dash(c) {
            let nl = u8::from(matches!(c, '\u{2028}' | '\u{2029}' | '\u{85}'));
            gap = match gap {
                Gap::None => Gap::Space {
                    at: i as u32,
                    newlines: nl * 2,
                },
                Gap::Space { at, newlines } => Gap::Space {
                    at,
                    newlines: newlines.saturating_add(nl * 2),
                },
            };
        } else {
            flush(&mut gap, out);
            match c {
                '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '\u{00B4}'
                | '\u{0060}' => {
                    out.text.push('\'');
                    out.map.push(i as u32);
                }
                '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' | '\u{00AB}'
                | '\u{00BB}' => {
                    out.text.push('"');
                    out.map.push(i as u32);
                }
                _ => {
                    let end = cluster_end(src, i + len);
                    push_folded(&src[i..end], i, out);
                    i = end;
                    continue;
                }
            }
        }
        i += len;
    }
    flush(&mut gap, out);
    out.map.push(src.len() as u32);
}

/// End of the combining marks that follow byte `at` (where a character cluster ends).
fn cluster_end(src: &str, mut at: usize) -> usize {
    while src.as_bytes().get(at).is_some_and(|&b| b >= 0x80) {
        match src[at..].chars().next() {
            Some(c) if unicode_normalization::char::is_combining_mark(c) => at += c.len_utf8(),
            _ => break,
        }
    }
    at
}

/// Appends the NFKC, lower-cased form of one character cluster, all mapped to its start.
fn push_folded(cluster: &str, at: usize, out: &mut Normalized) {
    for folded in cluster.nfkc() {
        if is_dash(folded) || folded.is_whitespace() {
            out.text.push(' ');
            out.map.push(at as u32);
            continue;
        }
        for lower in folded.to_lowercase() {
            let before = out.text.len();
            out.text.push(lower);
            for _ in before..out.text.len() {
                out.map.push(at as u32);
            }
        }
    }
}

/// Normalises a pattern or any short string into a fresh `String`, trimmed.
pub fn normalize(src: &str) -> String {
    // Most patterns are plain ASCII words with single spaces between them: their normal form
    // is their lower case (what `normalize_into` makes of them), without a byte map to build.
    let b = src.as_bytes();
    let inside_word = |i: usize| {
        is_plain_ascii(b[i]) || b[i] == b' ' && is_plain_ascii(b[i - 1]) && is_plain_ascii(b[i + 1])
    };
    if b.first().is_some_and(|&c| is_plain_ascii(c))
        && b.last().is_some_and(|&c| is_plain_ascii(c))
        && (1..b.len().saturating_sub(1)).all(inside_word)
    {
        return src.to_ascii_lowercase();
    }
    let mut n = Normalized::default();
    normalize_into(src, &mut n);
    n.text.trim().to_owned()
}

/// Whether `c` is part of a word for whole-word matching.
#[inline]
pub fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether `c` continues a word for whole-word matching: a word character of a script written
/// with spaces. Chinese, Japanese, Thai and similar scripts put no space between words, so a
/// Latin word next to them still ends there (`ubuntu服务器`, `kdevtmpfsi进程`), and their own
/// terms match inside a run of text.
pub fn joins_word(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || c == '_';
    }
    is_word_char(c)
        && !matches!(
            c.script(),
            Script::Han
                | Script::Hiragana
                | Script::Katakana
                | Script::Thai
                | Script::Lao
                | Script::Khmer
                | Script::Myanmar
        )
}

/// Whether the text has a word character just before byte `at`.
#[inline]
pub fn word_before(text: &str, at: usize) -> bool {
    if at == 0 {
        return false;
    }
    let b = text.as_bytes()[at - 1];
    if b.is_ascii() {
        return b.is_ascii_alphanumeric() || b == b'_';
    }
    text[..at].chars().next_back().is_some_and(joins_word)
}

/// Whether the text has a word character at byte `at`.
#[inline]
pub fn word_at(text: &str, at: usize) -> bool {
    match text.as_bytes().get(at) {
        None => false,
        Some(b) if b.is_ascii() => b.is_ascii_alphanumeric() || *b == b'_',
        Some(_) => text[at..].chars().next().is_some_and(joins_word),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        let mut n = Normalized::default();
        normalize_into(s, &mut n);
        n.text
    }

    #[test]
    fn folds_case_quotes_dashes_and_whitespace() {
        assert_eq!(
            norm("Can\u{2019}t  START\u{2014}Tomcat"),
            "can't start tomcat"
        );
        assert_eq!(norm("brute-force\tattack"), "brute force attack");
        assert_eq!(norm("\u{201C}Hacked\u{201D}"), "\"hacked\"");
    }

    #[test]
    fn compatibility_forms_fold() {
        assert_eq!(norm("\u{FB01}le"), "file");
        assert_eq!(
            norm("\u{FF35}\u{FF42}\u{FF55}\u{FF4E}\u{FF54}\u{FF55}"),
            "ubuntu"
        );
        assert_eq!(norm("STRASSE \u{00C9}T\u{00C9}"), "strasse été");
    }

    #[test]
    fn combining_accents_compose() {
        assert_eq!(norm("cafe\u{301} CAFE\u{301}"), "café café");
        assert_eq!(norm("cafe\u{301}"), norm("caf\u{e9}"));
        // An accent after a run of plain ASCII composes with the run's last letter only.
        assert_eq!(norm("XCAFE\u{301}S ok"), "xcaf\u{e9}s ok");
    }

    /// The plain-ASCII shortcut of `normalize` gives what the general path gives.
    #[test]
    fn normalize_agrees_with_normalize_into() {
        for s in [
            "Apache HTTPD",
            "a",
            "a b",
            "a  b",
            " a",
            "a ",
            "a-b",
            "a\tb",
            "A\nB",
            "x\u{1}y",
            "\"Quoted\" (x)",
            "caf\u{e9}",
            "e\u{301}",
            "*",
            "",
            " ",
            "Ubuntu 22.04",
            "a b-c",
        ] {
            let mut n = Normalized::default();
            normalize_into(s, &mut n);
            assert_eq!(normalize(s), n.text.trim(), "{s:?}");
        }
    }

    #[test]
    fn ascii_word_characters_join_words() {
        for c in (0u8..128).map(char::from) {
            let general = is_word_char(c);
            assert_eq!(joins_word(c), general, "{c:?}");
        }
    }

    #[test]
    fn paragraph_breaks_survive_single_newlines_do_not() {
        assert_eq!(norm("one\ntwo\r\n\r\nthree"), "one two\nthree");
    }

    #[test]
    fn map_leads_back_to_original_bytes() {
        let src = "Über \u{201C}RHEL\u{201D}  9";
        let mut n = Normalized::default();
        normalize_into(src, &mut n);
        let at = n.text.find("rhel").unwrap();
        let (s, e) = n.original_span(at, at + 4);
        assert_eq!(&src[s..e], "RHEL");
        let nine = n.text.find('9').unwrap();
        let (s, e) = n.original_span(nine, nine + 1);
        assert_eq!(&src[s..e], "9");
        assert_eq!(n.map.len(), n.text.len() + 1);
    }

    #[test]
    fn spans_never_split_a_source_character() {
        // `İ` lower-cases to `i` plus a combining dot: a match of "kali" ends inside it.
        let src = "We run KAL\u{130} on a VM";
        let mut n = Normalized::default();
        normalize_into(src, &mut n);
        let at = n.text.find("kali").unwrap();
        let (s, e) = n.original_span(at, at + 4);
        assert!(src.is_char_boundary(s) && src.is_char_boundary(e));
        assert_eq!(&src[s..e], "KAL\u{130}");
    }

    #[test]
    fn word_boundaries_are_unicode_aware() {
        assert!(word_before("éa", 2));
        assert!(!word_before("'a", 1));
        assert!(word_at("aé", 1));
        assert!(!word_at("a.", 1));
    }
}
