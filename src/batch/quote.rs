//! Noticing a quote that is never closed, which csv-core accepts without a word.
//!
//! csv-core lets the input end inside a quoted field: the field simply ends there. A quote at
//! the start of a field that is never closed therefore turns the rest of the input, every row
//! after it, into the last field of the row where it opened. [`QuoteProbe`] sits between the
//! `csv` reader and the bytes it reads and follows the one part of csv-core's state that tells:
//! whether a quoted field is open, and on which line it opened. It validates beside the `csv`
//! reader; it parses nothing. Inside a field it skips to the next byte that matters with
//! `memchr`, and counts lines with it: about 2 instructions per input byte (csv-core takes 11).
//!
//! Not noticed: a stray quote that a later quote closes. csv-core takes that quote as the
//! closing one (text after it is more of the same field) and goes on at the next line end, so
//! the input does not end inside a quoted field.
//!
//! It mirrors csv-core's reader as the batch configures it (quote `"`, a doubled quote is an
//! escaped quote, no escape character, no comments, `\r`, `\n` or `\r\n` end a record, the
//! given delimiter): a quote opens a quoted field only at the start of a field, and is a
//! literal character anywhere else in an unquoted field; in a quoted field, `""` is an escaped
//! quote and a single `"` ends the quoting (csv-core reads any bytes after it, up to the next
//! delimiter or line end, as unquoted text of the same field). Lines are counted as csv-core
//! counts them: 1 plus the number of `\n` bytes before.

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

/// A reader that passes bytes through unchanged while following csv-core's quoting over them
/// (see the module documentation). Wrap the reader the `csv` reader reads from, and ask
/// [`QuoteProbe::unclosed`] after each record: once the input has ended inside a quoted field,
/// the record just read holds that field (it is necessarily the last record).
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
        }
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
                // At a field's start a quote opens a quoted field; after a quote in a quoted
                // field another quote is an escaped one. The quote is tested first, as
                // csv-core does, so that a `"` delimiter still quotes there.
                FieldStart | QuoteInQuoted => {
                    let b = bytes[i];
                    state = if b == b'"' {
                        if state == FieldStart {
                            opened = Some(i);
                        }
                        Quoted
                    } else if b == delimiter || b == b'\n' || b == b'\r' {
                        FieldStart
                    } else {
                        Unquoted
                    };
                    i += 1;
                }
            }
        }
        let newlines = |bytes: &[u8]| memchr::memchr_iter(b'\n', bytes).count() as u64;
        match (opened, state) {
            // The line of an opening quote is only needed while its field is open.
            (Some(at), Quoted | QuoteInQuoted) => {
                let (before, after) = bytes.split_at(at);
                self.open_line = self.line + newlines(before);
                self.line = self.open_line + newlines(after);
            }
            _ => self.line += newlines(bytes),
        }
        self.state = state;
        if let Some(&last) = bytes.last() {
            self.ends_with_newline = last == b'\n';
        }
    }
}

impl<R: Read> Read for QuoteProbe<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.eof = true;
        }
        self.scan(&buf[..n]);
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

    /// Reads `data` through a probe under a `csv` reader, as the batch does, in reads of at most
    /// `chunk` bytes; returns the records and, after each, what the probe said.
    fn read_in(
        data: &[u8],
        delimiter: u8,
        chunk: usize,
    ) -> Vec<(Vec<Vec<u8>>, Option<UnclosedQuote>)> {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .has_headers(false)
            .from_reader(QuoteProbe::new(Chunked(data, chunk), delimiter));
        let mut record = csv::ByteRecord::new();
        let mut out = Vec::new();
        while reader.read_byte_record(&mut record).unwrap() {
            let fields = record.iter().map(<[u8]>::to_vec).collect();
            out.push((fields, reader.get_ref().unclosed()));
        }
        assert!(reader.get_ref().eof);
        out
    }

    /// [`read_in`] one byte, three bytes and as many bytes as the `csv` reader asks per read,
    /// which must all agree.
    fn read(data: &[u8], delimiter: u8) -> Vec<(Vec<Vec<u8>>, Option<UnclosedQuote>)> {
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

    /// The probe's verdicts, record by record.
    fn flags(data: &str, delimiter: u8) -> Vec<Option<(u64, u64)>> {
        read(data.as_bytes(), delimiter)
            .into_iter()
            .map(|(_, u)| u.map(|u| (u.line, u.lines)))
            .collect()
    }

    #[test]
    fn an_unclosed_quote_flags_the_last_record_with_its_line() {
        let data =
            "id,subject,description\n1,a,\"fine\"\n2,b,\"never closed\n3,c,next row\n4,d,last\n";
        let records = read(data.as_bytes(), b',');
        assert_eq!(records.len(), 3, "rows 3 and 4 are inside row 2's field");
        assert_eq!(records[2].0[2], b"never closed\n3,c,next row\n4,d,last\n");
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
        // Text after a closing quote is unquoted: a quote there is literal.
        assert_eq!(flags("a,b\n1,\"x\"y\"z\n", b','), [None, None]);
    }

    #[test]
    fn a_quote_closed_by_a_later_quote_is_not_unclosed() {
        // csv-core reads the first quote after the stray one as its closing quote: row 3's
        // start goes into row 2's field, the text after that quote is unquoted text of the same
        // field, and the input does not end inside a quoted field. Not caught here.
        let data = "id,subject,description\n1,a,\"fine\"\n2,b,\"never closed\n3,c,\"next row\"\n4,d,last\n";
        let records = read(data.as_bytes(), b',');
        assert_eq!(records.len(), 4);
        assert_eq!(records[2].0[2], b"never closed\n3,c,next row\"");
        assert_eq!(flags(data, b','), [None, None, None, None]);
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

    /// Checks the probe against csv-core on `data`: only the last record may be flagged, and
    /// it is flagged exactly when csv-core ends inside a quoted field.
    fn check_against_csv_core(data: &[u8], delimiter: u8) {
        let records = read(data, delimiter);
        let expected = csv_core_ends_quoted(data, records.len(), delimiter);
        for (i, (_, flag)) in records.iter().enumerate() {
            let last = i + 1 == records.len();
            assert_eq!(
                flag.is_some(),
                last && expected,
                "{:?} delimiter {:?} record {i}",
                String::from_utf8_lossy(data),
                delimiter as char
            );
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
