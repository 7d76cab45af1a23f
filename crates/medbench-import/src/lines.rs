//! Reading text records line by line, with the encoding and truncation
//! checks that turn a mangled file into a clear message instead of garbage.

use crate::reject::Reject;
use std::io::{BufRead, BufReader, Read};

/// A non-empty line of a text file with its 1-based number.
pub struct Line {
    pub number: usize,
    pub text: String,
    /// True when this is the last line and the file did not end with a newline.
    pub unterminated: bool,
}

/// Iterate over the non-empty lines of `reader`. Invalid UTF-8 or a UTF-16
/// file yields a [`Reject`] for that line (or the whole file) and reading goes on.
pub struct Lines<R: Read> {
    reader: BufReader<R>,
    file: String,
    number: usize,
    buf: Vec<u8>,
    done: bool,
}

impl<R: Read> Lines<R> {
    pub fn new(reader: R, file: &str) -> Lines<R> {
        Lines {
            reader: BufReader::with_capacity(1 << 16, reader),
            file: file.to_owned(),
            number: 0,
            buf: Vec::with_capacity(4096),
            done: false,
        }
    }
}

/// A hint for files that are not UTF-8, which in Chinese medical data is usually GB18030/GBK.
pub const ENCODING_HINT: &str = "the file must be UTF-8; if it is GBK/GB18030 (common for Chinese data), convert it with `iconv -f GB18030 -t UTF-8`";

impl<R: Read> Iterator for Lines<R> {
    type Item = Result<Line, Reject>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return None;
            }
            self.buf.clear();
            let n = match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(n) => n,
                Err(e) => {
                    self.done = true;
                    return Some(Err(Reject::at(
                        &self.file,
                        self.number + 1,
                        None,
                        format!("read error: {e}"),
                    )));
                }
            };
            if n == 0 {
                return None;
            }
            self.number += 1;
            let unterminated = !self.buf.ends_with(b"\n");
            let mut bytes: &[u8] = &self.buf;
            if self.number == 1 {
                if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
                    self.done = true;
                    return Some(Err(Reject::file(
                        &self.file,
                        "the file is UTF-16; save it as UTF-8 (e.g. `iconv -f UTF-16 -t UTF-8`)",
                    )));
                }
                bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
            }
            while let Some(b) = bytes.last()
                && (*b == b'\n' || *b == b'\r')
            {
                bytes = &bytes[..bytes.len() - 1];
            }
            if bytes.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Some(match std::str::from_utf8(bytes) {
                Ok(s) => Ok(Line {
                    number: self.number,
                    text: s.to_owned(),
                    unterminated,
                }),
                Err(e) => Err(Reject::at(
                    &self.file,
                    self.number,
                    None,
                    format!(
                        "not valid UTF-8 at byte {} of the line; {ENCODING_HINT}",
                        e.valid_up_to()
                    ),
                )),
            });
        }
    }
}

/// One physical line of a whole file read by [`raw_lines`].
pub struct RawLine {
    /// The line as it is kept for writing the file back: without its terminator, except
    /// that a file mixing `\n` and `\r\n` keeps the `\r` (see [`RawText::eol`]); the
    /// first line keeps a byte-order mark.
    pub raw: String,
    /// The line to parse (no mark, no trailing `\r`), or `None` when it is blank.
    pub line: Option<Line>,
}

/// A whole file split into its physical lines, with how they end.
pub struct RawText {
    /// `"\r\n"` when every terminated line ends so, else `"\n"`.
    pub eol: &'static str,
    /// Whether the last line ends with a terminator.
    pub final_eol: bool,
    /// Every line in order (line `i + 1`); a line that is not UTF-8 is a reject.
    pub lines: Vec<Result<RawLine, Reject>>,
}

/// Split a whole file into lines, keeping each line's exact text; the checks are those
/// of [`Lines`] (a UTF-16 file is one reject).
pub fn raw_lines(bytes: &[u8], file: &str) -> Result<RawText, Reject> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(Reject::file(
            file,
            "the file is UTF-16; save it as UTF-8 (e.g. `iconv -f UTF-16 -t UTF-8`)",
        ));
    }
    let final_eol = bytes.ends_with(b"\n");
    let mut pieces: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    if final_eol || bytes.is_empty() {
        // The empty piece after the last terminator is not a line.
        pieces.pop();
    }
    let terminated = if final_eol {
        pieces.len()
    } else {
        pieces.len().saturating_sub(1)
    };
    let crlf = pieces[..terminated]
        .iter()
        .filter(|p| p.ends_with(b"\r"))
        .count();
    let eol = if terminated > 0 && crlf == terminated {
        "\r\n"
    } else {
        "\n"
    };
    let last = pieces.len();
    let lines = pieces
        .into_iter()
        .enumerate()
        .map(|(i, piece)| {
            let number = i + 1;
            let raw_bytes = if eol == "\r\n" && i < terminated {
                &piece[..piece.len() - 1]
            } else {
                piece
            };
            let raw = std::str::from_utf8(raw_bytes).map_err(|e| {
                Reject::at(
                    file,
                    number,
                    None,
                    format!(
                        "not valid UTF-8 at byte {} of the line; {ENCODING_HINT}",
                        e.valid_up_to()
                    ),
                )
            })?;
            let mut text = raw;
            if number == 1 {
                text = text.strip_prefix('\u{feff}').unwrap_or(text);
            }
            let text = text.trim_end_matches('\r');
            let line = (!text.bytes().all(|b| b.is_ascii_whitespace())).then(|| Line {
                number,
                text: text.to_owned(),
                unterminated: number == last && !final_eol,
            });
            Ok(RawLine {
                raw: raw.to_owned(),
                line,
            })
        })
        .collect();
    Ok(RawText {
        eol,
        final_eol,
        lines,
    })
}

/// Describe a JSON syntax error on a line, noticing the truncated last record.
pub fn json_syntax_message(err: &serde_json::Error, line: &Line) -> String {
    if err.is_eof() {
        if line.unterminated {
            "truncated JSON: the file ends in the middle of this record".to_owned()
        } else {
            format!("incomplete JSON record ({err})")
        }
    } else {
        format!("invalid JSON: {err}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_skip_blanks_strip_crlf_and_bom() {
        let data = b"\xEF\xBB\xBF{\"a\":1}\r\n\r\n{\"b\":2}";
        let got: Vec<_> = Lines::new(&data[..], "f").map(|l| l.unwrap()).collect();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].text, "{\"a\":1}");
        assert_eq!(got[1].number, 3);
        assert!(got[1].unterminated);
    }

    #[test]
    fn gbk_line_is_reported_with_its_number_and_a_hint() {
        // "你好" in GBK is C4 E3 BA C3: not UTF-8.
        let data = b"{\"a\":1}\n{\"q\":\"\xC4\xE3\xBA\xC3\"}\n";
        let got: Vec<_> = Lines::new(&data[..], "f.jsonl").collect();
        let e = got[1].as_ref().err().unwrap();
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("GB18030"), "{}", e.message);
    }

    fn rebuild(t: &RawText) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, l) in t.lines.iter().enumerate() {
            out.extend_from_slice(l.as_ref().unwrap().raw.as_bytes());
            if i + 1 < t.lines.len() || t.final_eol {
                out.extend_from_slice(t.eol.as_bytes());
            }
        }
        out
    }

    #[test]
    fn raw_lines_give_the_file_back_byte_for_byte() {
        for data in [
            &b"\xEF\xBB\xBF{\"a\":1}\r\n\r\n{\"b\":2}\r\n"[..],
            b"{\"a\":1}\n\n  \n{\"b\":2}",
            b"{\"a\":1}\r\n{\"b\":2}\n{\"c\":3}\r\n",
            b"",
            b"\n",
            b"x\r",
        ] {
            let t = raw_lines(data, "f").unwrap();
            assert_eq!(rebuild(&t), data, "{:?}", String::from_utf8_lossy(data));
        }
        let t = raw_lines(b"\xEF\xBB\xBF{\"a\":1}\r\n\r\n{\"b\":2}", "f").unwrap();
        assert_eq!(t.eol, "\r\n");
        assert!(!t.final_eol);
        let first = t.lines[0].as_ref().unwrap();
        assert_eq!(first.raw, "\u{feff}{\"a\":1}");
        assert_eq!(first.line.as_ref().unwrap().text, "{\"a\":1}");
        assert!(t.lines[1].as_ref().unwrap().line.is_none(), "blank");
        let third = t.lines[2].as_ref().unwrap().line.as_ref().unwrap();
        assert_eq!((third.number, third.unterminated), (3, true));
        // Mixed terminators: `\n`, and the `\r\n` line keeps its `\r`.
        let t = raw_lines(b"a\r\nb\n", "f").unwrap();
        assert_eq!(t.eol, "\n");
        assert_eq!(t.lines[0].as_ref().unwrap().raw, "a\r");
        assert_eq!(
            t.lines[0].as_ref().unwrap().line.as_ref().unwrap().text,
            "a"
        );
        // A GBK line is a reject for that line only.
        let t = raw_lines(b"{}\n{\"q\":\"\xC4\xE3\"}\n", "f.jsonl").unwrap();
        assert!(t.lines[0].is_ok());
        assert_eq!(t.lines[1].as_ref().err().unwrap().line, Some(2));
        assert!(raw_lines(b"\xFF\xFE{\x00", "f").is_err());
    }

    #[test]
    fn utf16_file_is_one_reject() {
        let data = b"\xFF\xFE{\x00}\x00";
        let got: Vec<_> = Lines::new(&data[..], "f").collect();
        assert_eq!(got.len(), 1);
        assert!(got[0].as_ref().err().unwrap().message.contains("UTF-16"));
    }
}
