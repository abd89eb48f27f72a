//! Noticing malformed quoting, which csv-core accepts without a word: a quote that is never
//! closed, and a closing quote followed by more text.
//!
//! csv-core lets the input end inside a quoted field: the field simply ends there. A quote at
//! the start of a field that is never closed therefore turns the rest of the input, every row
//! after it, into the last field of the row where it opened. [`QuoteProbe`] sits between the
//! `csv` reader and the bytes it reads and follows the one part of csv-core's state that tells:
//! whether a quoted field is open, and on which line it opened. It validates beside the `csv`
//! reader; it parses nothing. Inside a field it skips to the next byte that matters with
//! `memchr`, and counts lines with it: about 2 instructions per input byte (csv-core takes 11).
//!
//! csv-core also reads text after a closing quote (`"a" ,b`, or `"x"y`) as more of the same
//! field, where RFC 4180 allows only a delimiter or a line end. That is what a stray quote that
//! a later quote closes looks like: in `2,b,"never closed` then `3,c,"next row"`, csv-core takes
//! the quote before `next` as the closing one, so row 3's start is in row 2's last field and
//! nothing ends inside a quoted field. The probe notes the byte offset and line of each such
//! text (and its field's opening line), and [`QuoteProbe::take_malformed`] hands them to the
//! record whose bytes hold them, the batch flagging that row: `malformed quoting: text follows
//! the closing quote at line 4 (a quote opened at line 3 may have swallowed the rows after it)`.
//!
//! Not noticed: a stray quote whose closing quote is followed by a line end or a delimiter
//! (`2,b,"never closed` then `3,c,next row"`): that is valid quoting of a field holding a line
//! break, indistinguishable from a real multi-line field (the batch still flags the row as
//! ragged when its field count then differs from the header's).
//!
//! It mirrors csv-core's reader as the batch configures it (quote `"`, a doubled quote is an
//! escaped quote, no escape character, no comments, `\r`, `\n` or `\r\n` end a record, the
//! given delimiter): a quote opens a quoted field only at the start of a field, and is a
//! literal character anywhere else in an unquoted field; in a quoted field, `""` is an escaped
//! quote and a single `"` ends the quoting (csv-core reads any bytes after it, up to the next
//! delimiter or line end, as unquoted text of the same field). Lines are counted as csv-core
//! counts them: 1 plus the number of `\n` bytes before.

use std::collections::VecDeque;
use std::io::{self, Read};

/// Where csv-core is in a field, as far as quoting goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a field (of a record, or between records).
    FieldStart,
    /// In a field that did not start with a quote: quotes in it are literal.
    Unquoted,
    /// In a quoted field.
    Quoted,
    /// Just after a quote in a quoted field: another quote makes an escaped quote, anything
    /// else means the quote ended the quoting.
    QuoteInQuoted,
}

/// A quoted field that the input ended inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UnclosedQuote {
    /// 1-based line of its opening quote.
    pub line: u64,
    /// Lines from the opening quote's to the input's last, both counted (at least 1).
    pub lines: u64,
}

impl UnclosedQuote {
    /// What a row holding this field is flagged with, in `triage_error`.
    pub fn row_message(&self) -> String {
        format!(
            "unclosed quote: the field opened at line {} runs to the end of the input ({}), so \
             any rows after it were read into this field",
            self.line,
            self.lines_text()
        )
    }

    /// "1 line", "3 lines".
    pub fn lines_text(&self) -> String {
        format!(
            "{} line{}",
            self.lines,
            if self.lines == 1 { "" } else { "s" }
        )
    }
}

/// A closing quote followed by more text in the same field, which RFC 4180 does not allow:
/// csv-core reads that text as more of the field. A stray quote then takes a later quote as its
/// closing one, and the rows between the two go into one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TextAfterQuote {
    /// Byte offset of the first byte after the closing quote, counted from the probe's first
    /// byte (as the `csv` reader counts positions).
    pub offset: u64,
    /// 1-based line of that byte (and of the closing quote).
    pub line: u64,
    /// 1-based line of the quote that opened the field.
    pub open_line: u64,
}

impl TextAfterQuote {
    /// What it may have done: "a quote opened at line 3 may have swallowed the rows after it",
    /// or, when the field opened on the same line, "it is read into the same field".
    pub fn consequence(&self) -> String {
        if self.open_line < self.line {
            format!(
                "a quote opened at line {} may have swallowed the rows after it",
                self.open_line
            )
        } else {
            "it is read into the same field".to_owned()
        }
    }
}

/// The closing quotes followed by text in one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MalformedQuoting {
    /// The first of them.
    pub first: TextAfterQuote,
    /// How many (at least 1).
    pub count: u64,
}

impl MalformedQuoting {
    /// What a row holding this record is flagged with, in `triage_error`.
    pub fn row_message(&self) -> String {
        let mut message = format!(
            "malformed quoting: text follows the closing quote at line {} ({})",
            self.first.line,
            self.first.consequence()
        );
        if self.count > 1 {
            use std::fmt::Write as _;
            let more = self.count - 1;
            let _ = write!(
                message,
                "; and {more} more closing quote{} followed by text in this row",
                if more == 1 { "" } else { "s" }
            );
        }
        message
    }
}

/// Lines counted lazily over one buffer: up to byte `at`, which is on line `line`.
struct LineCursor {
    at: usize,
    line: u64,
}

impl LineCursor {
    /// The line of byte `i` of `bytes` (`i` no less than at the previous call).
    fn line_at(&mut self, bytes: &[u8], i: usize) -> u64 {
        debug_assert!(i >= self.at);
        self.line += memchr::memchr_iter(b'\n', &bytes[self.at..i]).count() as u64;
        self.at = i;
        self.line
    }
}

/// A reader that passes bytes through unchanged while following csv-core's quoting over them
/// (see the module documentation). Wrap the reader the `csv` reader reads from, and after each
/// record ask [`QuoteProbe::unclosed`] (once the input has ended inside a quoted field, the
/// record just read holds that field: it is necessarily the last record) and
/// [`QuoteProbe::take_malformed`] with the `csv` reader's position (a closing quote followed by
/// text in the record just read).
pub(crate) struct QuoteProbe<R> {
    inner: R,
    delimiter: u8,
    state: State,
    /// 1-based line of the next byte.
    line: u64,
    /// Line of the current quoted field's opening quote (while one is open).
    open_line: u64,
    /// Whether the last byte read was `\n`.
    ends_with_newline: bool,
    /// Whether a read found the end of the input.
    eof: bool,
    /// Bytes read before the current read.
    offset: u64,
    /// Closing quotes followed by text that no record has taken yet, in input order. The probe
    /// reads ahead of the `csv` reader by at most one of its buffers.
    pending: VecDeque<TextAfterQuote>,
}

impl<R> QuoteProbe<R> {
    /// A probe over `inner`, whose first byte is the first byte of the CSV text (after any
    /// byte-order mark) and of line 1.
    pub fn new(inner: R, delimiter: u8) -> Self {
        QuoteProbe {
            inner,
            delimiter,
            state: State::FieldStart,
            line: 1,
            open_line: 0,
            ends_with_newline: false,
            eof: false,
            offset: 0,
            pending: VecDeque::new(),
        }
    }

    /// The closing quotes followed by text in the record that the `csv` reader has just read,
    /// given its position after that record (`csv::Reader::position().byte()`): those before
    /// it that no earlier record took. Call it after every record, the header too.
    pub fn take_malformed(&mut self, end: u64) -> Option<MalformedQuoting> {
        let first = *self.pending.front().filter(|e| e.offset < end)?;
        let mut count = 0;
        while self.pending.front().is_some_and(|e| e.offset < end) {
            self.pending.pop_front();
            count += 1;
        }
        Some(MalformedQuoting { first, count })
    }

    /// The quoted field the input ended inside, once the end of the input has been read.
    pub fn unclosed(&self) -> Option<UnclosedQuote> {
        (self.eof && self.state == State::Quoted).then(|| {
            let last_line = self.line - u64::from(self.ends_with_newline);
            UnclosedQuote {
                line: self.open_line,
                lines: last_line.max(self.open_line) - self.open_line + 1,
            }
        })
    }

    /// Follows csv-core's quoting over `bytes`, the next bytes of the input.
    fn scan(&mut self, bytes: &[u8]) {
        use State::*;
        let delimiter = self.delimiter;
        let mut state = self.state;
        // Where in `bytes` the last quoted field opened, if one did.
        let mut opened = None;
        // Lines are only counted where needed (and then to the end of `bytes`).
        let mut lines = LineCursor {
            at: 0,
            line: self.line,
        };
        let mut i = 0;
        while i < bytes.len() {
            match state {
                // Inside a field only a quote (quoted) or the field's end (unquoted) changes
                // anything: skip to it.
                Quoted => match memchr::memchr(b'"', &bytes[i..]) {
                    Some(at) => (state, i) = (QuoteInQuoted, i + at + 1),
                    None => break,
                },
                Unquoted => match memchr::memchr3(delimiter, b'\n', b'\r', &bytes[i..]) {
                    Some(at) => (state, i) = (FieldStart, i + at + 1),
                    None => break,
                },
                // At a field's start a quote opens a quoted field. The quote is tested first,
                // as csv-core does, so that a `"` delimiter still quotes there.
                FieldStart => {
                    let b = bytes[i];
                    state = if b == b'"' {
                        opened = Some(i);
                        Quoted
                    } else if b == delimiter || b == b'\n' || b == b'\r' {
                        FieldStart
                    } else {
                        Unquoted
                    };
                    i += 1;
                }
                // After a quote in a quoted field another quote is an escaped one; the field's
                // end is the end of the quoting; anything else is text after the closing quote.
                QuoteInQuoted => {
                    let b = bytes[i];
                    state = if b == b'"' {
                        Quoted
                    } else if b == delimiter || b == b'\n' || b == b'\r' {
                        FieldStart
                    } else {
                        self.text_after_quote(bytes, i, opened, &mut lines);
                        Unquoted
                    };
                    i += 1;
                }
            }
        }
        // The line of an opening quote is only needed while its field is open.
        if let (Some(at), Quoted | QuoteInQuoted) = (opened, state) {
            self.open_line = lines.line_at(bytes, at);
        }
        self.line = lines.line_at(bytes, bytes.len());
        self.offset += bytes.len() as u64;
        self.state = state;
        if let Some(&last) = bytes.last() {
            self.ends_with_newline = last == b'\n';
        }
    }

    /// Notes that byte `i` of `bytes` follows the closing quote of a quoted field, which opened
    /// at byte `opened` of `bytes` or, if `None`, in an earlier read.
    #[cold]
    #[inline(never)]
    fn text_after_quote(
        &mut self,
        bytes: &[u8],
        i: usize,
        opened: Option<usize>,
        lines: &mut LineCursor,
    ) {
        let open_line = opened.map_or(self.open_line, |at| lines.line_at(bytes, at));
        self.pending.push_back(TextAfterQuote {
            offset: self.offset + i as u64,
            line: lines.line_at(bytes, i),
            open_line,
        });
    }
}

impl<R: Read> Read for QuoteProbe<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.eof = true;
        }
        let mut bytes = &buf[..n];
        // csv-core skips a UTF-8 byte-order mark at the start of the first bytes it is given
        // (all in one read): the bytes after it start a field. (The batch strips one before
        // the probe; this is a second.)
        if self.offset == 0 && bytes.len() >= 3 && bytes.starts_with(b"\xEF\xBB\xBF") {
            bytes = &bytes[3..];
            self.offset = 3;
        }
        self.scan(bytes);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `data` at most `.1` bytes per `read` (state must carry across reads).
    struct Chunked<'a>(&'a [u8], usize);
    impl Read for Chunked<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(buf.len()).min(self.1);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    /// A record as read through a probe, with what the probe said after it.
    #[derive(Debug, PartialEq)]
    struct Probed {
        fields: Vec<Vec<u8>>,
        /// The bytes the `csv` reader consumed for it.
        span: (u64, u64),
        unclosed: Option<UnclosedQuote>,
        malformed: Option<MalformedQuoting>,
    }

    /// Reads `data` through a probe under a `csv` reader, as the batch does, in reads of at most
    /// `chunk` bytes; returns the records and, after each, what the probe said.
    fn read_in(data: &[u8], delimiter: u8, chunk: usize) -> Vec<Probed> {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .has_headers(false)
            .from_reader(QuoteProbe::new(Chunked(data, chunk), delimiter));
        let mut record = csv::ByteRecord::new();
        let mut out = Vec::new();
        while reader.read_byte_record(&mut record).unwrap() {
            let end = reader.position().byte();
            out.push(Probed {
                fields: record.iter().map(<[u8]>::to_vec).collect(),
                span: (record.position().unwrap().byte(), end),
                unclosed: reader.get_ref().unclosed(),
                malformed: reader.get_mut().take_malformed(end),
            });
        }
        assert!(reader.get_ref().eof);
        assert!(reader.get_ref().pending.is_empty(), "every event taken");
        out
    }

    /// [`read_in`] one byte, three bytes and as many bytes as the `csv` reader asks per read,
    /// which must all agree.
    fn read(data: &[u8], delimiter: u8) -> Vec<Probed> {
        let whole = read_in(data, delimiter, usize::MAX);
        for chunk in [1, 3] {
            assert_eq!(
                read_in(data, delimiter, chunk),
                whole,
                "{:?} in reads of {chunk}",
                String::from_utf8_lossy(data)
            );
        }
        whole
    }

    /// The probe's unclosed-quote verdicts, record by record.
    fn flags(data: &str, delimiter: u8) -> Vec<Option<(u64, u64)>> {
        read(data.as_bytes(), delimiter)
            .into_iter()
            .map(|r| r.unclosed.map(|u| (u.line, u.lines)))
            .collect()
    }

    /// The probe's text-after-a-closing-quote verdicts, record by record: the first one's line
    /// and its field's opening line, and how many.
    fn malformed(data: &str, delimiter: u8) -> Vec<Option<(u64, u64, u64)>> {
        read(data.as_bytes(), delimiter)
            .into_iter()
            .map(|r| {
                r.malformed
                    .map(|m| (m.first.line, m.first.open_line, m.count))
            })
            .collect()
    }

    #[test]
    fn an_unclosed_quote_flags_the_last_record_with_its_line() {
        let data =
            "id,subject,description\n1,a,\"fine\"\n2,b,\"never closed\n3,c,next row\n4,d,last\n";
        let records = read(data.as_bytes(), b',');
        assert_eq!(records.len(), 3, "rows 3 and 4 are inside row 2's field");
        assert_eq!(
            records[2].fields[2],
            b"never closed\n3,c,next row\n4,d,last\n"
        );
        assert_eq!(flags(data, b','), [None, None, Some((3, 3))]);
        // Without the last line break, with CRLF, with the quote on the last line.
        assert_eq!(flags("a\n\"x\ny", b','), [None, Some((2, 2))]);
        assert_eq!(
            flags("a\r\nb\r\n\"x\r\ny\r\nz\r\n", b','),
            [None, None, Some((3, 3))]
        );
        assert_eq!(flags("a,b\n1,\"", b','), [None, Some((2, 1))]);
        assert_eq!(flags("a,b\n1,\"\n", b','), [None, Some((2, 1))]);
        // In the header, the only record.
        assert_eq!(flags("\"a,b\n1,2\n", b','), [Some((1, 2))]);
        assert_eq!(
            UnclosedQuote { line: 3, lines: 3 }.row_message(),
            "unclosed quote: the field opened at line 3 runs to the end of the input (3 lines), \
             so any rows after it were read into this field"
        );
        assert_eq!(UnclosedQuote { line: 7, lines: 1 }.lines_text(), "1 line");
    }

    #[test]
    fn literal_and_escaped_quotes_are_not_unclosed() {
        // A quote inside an unquoted field is a literal character.
        assert_eq!(flags("a,b\n1,5\" screen\n2,x\n", b','), [None, None, None]);
        assert_eq!(flags("a,b\n1,5\" screen", b','), [None, None]);
        // Doubled quotes inside a quoted field are escaped quotes.
        assert_eq!(
            flags("a,b\n1,\"say \"\"hi\"\"\"\n2,\"\"\"\"\n3,\"\"", b','),
            [None, None, None, None]
        );
        // Text after a closing quote is unquoted: a quote there is literal (and the text after
        // the quote is flagged once).
        assert_eq!(flags("a,b\n1,\"x\"y\"z\n", b','), [None, None]);
        assert_eq!(
            malformed("a,b\n1,\"x\"y\"z\n", b','),
            [None, Some((2, 2, 1))]
        );
    }

    #[test]
    fn a_quote_closed_by_a_later_quote_is_text_after_a_closing_quote() {
        // csv-core reads the first quote after the stray one as its closing quote: row 3's
        // start goes into row 2's field, the text after that quote is unquoted text of the same
        // field, and the input does not end inside a quoted field. The text after the closing
        // quote tells, on the record that swallowed the line.
        let data = "id,subject,description\n1,a,\"fine\"\n2,b,\"never closed\n3,c,\"next row\"\n4,d,last\n";
        let records = read(data.as_bytes(), b',');
        assert_eq!(records.len(), 4);
        assert_eq!(records[2].fields[2], b"never closed\n3,c,next row\"");
        assert_eq!(flags(data, b','), [None, None, None, None]);
        assert_eq!(malformed(data, b','), [None, None, Some((4, 3, 1)), None]);
        assert_eq!(
            records[2].malformed.unwrap().row_message(),
            "malformed quoting: text follows the closing quote at line 4 (a quote opened at \
             line 3 may have swallowed the rows after it)"
        );
    }

    #[test]
    fn text_after_a_closing_quote_on_its_line_is_flagged_on_its_record() {
        // A space after the closing quote; two in one record; at the end of the input; in the
        // header; after a closing quote at the end of a read (the 1- and 3-byte reads).
        assert_eq!(malformed("a,b\n\"a\" ,b\n", b','), [None, Some((2, 2, 1))]);
        assert_eq!(
            malformed("a,b\n1,2\n\"x\"y,\"z\"w\n3,4", b','),
            [None, None, Some((3, 3, 2)), None]
        );
        assert_eq!(malformed("a,b\n1,\"2\"x", b','), [None, Some((2, 2, 1))]);
        assert_eq!(malformed("\"a\"b,c\n1,2\n", b','), [Some((1, 1, 1)), None]);
        // Text after the closing quote, then a stray quote that the input ends inside.
        let records = read(b"a,b\n\"x\"y,\"open\nz", b',');
        assert!(records[1].malformed.is_some() && records[1].unclosed.is_some());
        let one = MalformedQuoting {
            first: TextAfterQuote {
                offset: 9,
                line: 2,
                open_line: 2,
            },
            count: 1,
        };
        assert_eq!(
            one.row_message(),
            "malformed quoting: text follows the closing quote at line 2 (it is read into the \
             same field)"
        );
        assert_eq!(
            MalformedQuoting { count: 3, ..one }.row_message(),
            "malformed quoting: text follows the closing quote at line 2 (it is read into the \
             same field); and 2 more closing quotes followed by text in this row"
        );
        // Offsets count from the probe's first byte, as the `csv` reader's positions do (a
        // record ends at its `\r`; the next one's bytes start with the `\n` after it).
        let records = read(b"a,b\r\n\r\n\"x\"y,1\r\n", b',');
        assert_eq!(records[1].span, (4, 14));
        assert_eq!(records[1].malformed.unwrap().first.offset, 10);
    }

    #[test]
    fn a_byte_order_mark_csv_core_skips_is_skipped() {
        // csv-core skips it when its first read holds all of it: a quote after it opens a field.
        let records = read_in(b"\xEF\xBB\xBF\"a\"b\n\"open\n", b',', usize::MAX);
        assert_eq!(records[0].fields, [b"ab"]);
        assert_eq!(records[0].malformed.unwrap().first.offset, 6);
        assert_eq!(
            records[1].unclosed,
            Some(UnclosedQuote { line: 2, lines: 1 })
        );
        // When it does not, the mark is text and the quotes after it literal.
        let records = read_in(b"\xEF\xBB\xBF\"a\"b\n\"open\n", b',', 1);
        assert_eq!(records[0].fields, [b"\xEF\xBB\xBF\"a\"b"]);
        assert_eq!(records[0].malformed, None);
        assert_eq!(
            records[1].unclosed,
            Some(UnclosedQuote { line: 2, lines: 1 })
        );
    }

    #[test]
    fn valid_quoting_is_not_text_after_a_closing_quote() {
        for data in [
            "a,b\n1,5\" screen\n2,x\"\"y\n",
            "a,b\n1,\"say \"\"hi\"\"\"\n2,\"\"\"\"\n3,\"\"",
            "a,b\r\n\"x\",\"y\"\r\n\"multi\r\nline\"\r\n",
            "a,b\n\"\",\"\"\n",
        ] {
            assert!(
                malformed(data, b',').iter().all(Option::is_none),
                "{data:?}"
            );
        }
    }

    #[test]
    fn the_delimiter_is_honoured() {
        // After `;` or a tab a field starts; after `,` it does not when `,` is not the delimiter.
        assert_eq!(flags("a;b\n1;\"open\n2;x\n", b';'), [None, Some((2, 2))]);
        assert_eq!(flags("a;b\n1,\"open\n2;x\n", b';'), [None, None, None]);
        assert_eq!(flags("a\tb\n1\t\"open\n", b'\t'), [None, Some((2, 1))]);
        // A `"` delimiter: a quote opens a field at its start, else it separates fields.
        assert_eq!(flags("a\"b\n1\"2\n", b'"'), [None, None]);
        assert_eq!(flags("a\"b\n\"12\n", b'"'), [None, Some((2, 1))]);
        // After a closing quote, only the delimiter given (or a line end) ends the field.
        assert_eq!(malformed("a;b\n\"x\";y\n", b';'), [None, None]);
        assert_eq!(malformed("a;b\n\"x\",y\n", b';'), [None, Some((2, 2, 1))]);
        assert_eq!(malformed("a\tb\n\"x\"\ty\n", b'\t'), [None, None]);
        assert_eq!(
            malformed("a\tb\n\"x\" \ty\n", b'\t'),
            [None, Some((2, 2, 1))]
        );
    }

    /// Whether csv-core, reading `data` into `records` records, ends inside a quoted field: then
    /// a line break and another byte after it stay in the last field instead of making a new
    /// record. (Valid for a delimiter that is not `\r` or `\n`.)
    fn csv_core_ends_quoted(data: &[u8], records: usize, delimiter: u8) -> bool {
        let more = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .has_headers(false)
            .from_reader(&[data, b"\nz"].concat()[..])
            .byte_records()
            .count();
        more == records
    }

    /// Checks the probe against csv-core on `data`: only the last record may be flagged
    /// unclosed, and it is exactly when csv-core ends inside a quoted field; a record is
    /// flagged for text after a closing quote exactly when a field csv-core read from it is not
    /// as strict RFC 4180 would have it (`fuzzing::text_after_closing_quote`).
    fn check_against_csv_core(data: &[u8], delimiter: u8) {
        let records = read(data, delimiter);
        let expected = csv_core_ends_quoted(data, records.len(), delimiter);
        for (i, record) in records.iter().enumerate() {
            let last = i + 1 == records.len();
            let context = || {
                format!(
                    "{:?} delimiter {:?} record {i}",
                    String::from_utf8_lossy(data),
                    delimiter as char
                )
            };
            assert_eq!(record.unclosed.is_some(), last && expected, "{}", context());
            let (start, end) = (record.span.0 as usize, record.span.1 as usize);
            let fields: csv::ByteRecord = record.fields.iter().collect();
            let text_after =
                crate::fuzzing::text_after_closing_quote(&data[start..end], &fields, delimiter);
            assert_eq!(record.malformed.is_some(), text_after, "{}", context());
        }
    }

    #[test]
    fn agrees_with_csv_core_on_every_short_input() {
        for delimiter in [b',', b'\t', b'"'] {
            // `a` stands for every byte that is not special.
            let alphabet = [b'a', b'"', delimiter, b'\r', b'\n'];
            let mut data = Vec::new();
            // Every string of up to 5 bytes over the alphabet, as numbers in base 5.
            for len in 0..=5u32 {
                for mut n in 0..alphabet.len().pow(len) {
                    data.clear();
                    for _ in 0..len {
                        data.push(alphabet[n % alphabet.len()]);
                        n /= alphabet.len();
                    }
                    check_against_csv_core(&data, delimiter);
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_csv_core_on_longer_inputs(
            data in proptest::collection::vec(
                proptest::sample::select(b"a\"\"\",;\t\r\n".to_vec()),
                0..80,
            ),
            delimiter in proptest::sample::select(b",;\t\"".to_vec()),
        ) {
            check_against_csv_core(&data, delimiter);
        }
    }
}
