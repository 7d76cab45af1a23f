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

    #[test]
    fn utf16_file_is_one_reject() {
        let data = b"\xFF\xFE{\x00}\x00";
        let got: Vec<_> = Lines::new(&data[..], "f").collect();
        assert_eq!(got.len(), 1);
        assert!(got[0].as_ref().err().unwrap().message.contains("UTF-16"));
    }
}
