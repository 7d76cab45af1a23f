//! The answer-label file (`data/answer-labels.tsv`) and the arithmetic of the
//! answer-reading figures. Pure: no git, no corpus.

use anyhow::{Result, bail};
use serde::Serialize;

/// What kind of task an answer belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    ChoiceSingle,
    ChoiceMulti,
    JsonFields,
}

impl Kind {
    fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "choice_single" => Kind::ChoiceSingle,
            "choice_multi" => Kind::ChoiceMulti,
            "json_fields" => Kind::JsonFields,
            _ => return None,
        })
    }
    pub fn is_choice(self) -> bool {
        self != Kind::JsonFields
    }
}

/// What a person reads in an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// Choice: the option letters decided, sorted (`ABD`).
    Letters(String),
    /// Choice: reviews options without choosing, refuses, or is cut off before deciding.
    Undecided,
    /// Null or blank.
    Empty,
    /// JSON fields a person reads easily: the keys, sorted and `|`-joined; `{}` for none.
    Fields(String),
    /// JSON fields that cannot be read without effort.
    NotEasy,
}

/// One row of the label file.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    /// Line of the label file the row is on (for messages).
    pub row: usize,
    pub repo: String,
    pub path: String,
    /// 1-based line of the answer file.
    pub line: usize,
    /// First 16 hex digits of the SHA-256 of the answer text.
    pub sha256: String,
    pub kind: Kind,
    pub expect: Expect,
    pub note: String,
    /// `derived:cut@F`: read only the first floor(F × chars) characters.
    pub cut: Option<f64>,
}

pub const COLUMNS: [&str; 7] = ["repo", "path", "line", "sha256", "kind", "label", "note"];

/// Parse the label file. `#` lines and blank lines are comments; the first
/// other line is the header. Every problem names the file, line and column.
pub fn parse(text: &str, file: &str) -> Result<Vec<Label>> {
    let mut out = Vec::new();
    let mut header_seen = false;
    for (i, raw) in text.split('\n').enumerate() {
        let row = i + 1;
        let l = raw.strip_suffix('\r').unwrap_or(raw);
        if l.trim().is_empty() || l.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = l.split('\t').collect();
        if !header_seen {
            if cols != COLUMNS {
                bail!(
                    "{file}:{row}: expected the header `{}` (tab-separated), found `{l}`",
                    COLUMNS.join("\\t")
                );
            }
            header_seen = true;
            continue;
        }
        if cols.len() != COLUMNS.len() {
            bail!(
                "{file}:{row}: expected {} tab-separated columns, found {}",
                COLUMNS.len(),
                cols.len()
            );
        }
        out.push(parse_row(&cols, row, file)?);
    }
    if !header_seen {
        bail!("{file}: no header line (`{}`)", COLUMNS.join("\\t"));
    }
    Ok(out)
}

fn parse_row(c: &[&str], row: usize, file: &str) -> Result<Label> {
    let err = |col: &str, msg: String| anyhow::anyhow!("{file}:{row}: column `{col}`: {msg}");
    let (repo, path) = (c[0].trim(), c[1].trim());
    if repo.is_empty() || path.is_empty() {
        return Err(err(
            if repo.is_empty() { "repo" } else { "path" },
            "empty".into(),
        ));
    }
    let line: usize = c[2]
        .trim()
        .parse()
        .ok()
        .filter(|&n| n >= 1)
        .ok_or_else(|| err("line", format!("`{}` is not a line number (1, 2, …)", c[2])))?;
    let sha = c[3].trim();
    if sha.len() != 16 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(err("sha256", format!("`{sha}` is not 16 hex digits")));
    }
    let kind = Kind::parse(c[4].trim()).ok_or_else(|| {
        err(
            "kind",
            format!(
                "`{}`: expected choice_single, choice_multi or json_fields",
                c[4]
            ),
        )
    })?;
    let label = c[5].trim();
    let expect = parse_expect(kind, label).map_err(|m| err("label", m))?;
    let note = c[6].trim().to_owned();
    let cut = match note.strip_prefix("derived:cut@") {
        None => None,
        Some(f) => {
            let f: f64 = f
                .parse()
                .ok()
                .filter(|f| *f > 0.0 && *f < 1.0)
                .ok_or_else(|| err("note", format!("`{note}`: the cut must be in (0, 1)")))?;
            if !kind.is_choice() || expect != Expect::Undecided {
                return Err(err(
                    "note",
                    "a derived cut must be a choice answer labelled `undecided`".into(),
                ));
            }
            Some(f)
        }
    };
    Ok(Label {
        row,
        repo: repo.to_owned(),
        path: path.to_owned(),
        line,
        sha256: sha.to_ascii_lowercase(),
        kind,
        expect,
        note,
        cut,
    })
}

fn parse_expect(kind: Kind, label: &str) -> Result<Expect, String> {
    match label {
        "empty" => return Ok(Expect::Empty),
        "" => return Err("empty label".into()),
        _ => {}
    }
    if kind.is_choice() {
        if label == "undecided" {
            return Ok(Expect::Undecided);
        }
        let ok = label.bytes().all(|b| b.is_ascii_uppercase())
            && label.as_bytes().windows(2).all(|w| w[0] < w[1]);
        if !ok {
            return Err(format!(
                "`{label}`: expected sorted option letters (`D`, `ABD`), `undecided` or `empty`"
            ));
        }
        return Ok(Expect::Letters(label.to_owned()));
    }
    match label {
        "-" => Ok(Expect::NotEasy),
        "{}" => Ok(Expect::Fields(String::new())),
        _ => {
            let keys: Vec<&str> = label.split('|').collect();
            if keys.iter().any(|k| k.trim().is_empty() || k.trim() != *k) {
                return Err(format!("`{label}`: an empty or padded key"));
            }
            if !keys.windows(2).all(|w| w[0] < w[1]) {
                return Err(format!("`{label}`: keys must be sorted and distinct"));
            }
            Ok(Expect::Fields(label.to_owned()))
        }
    }
}

/// What the scorer read: letters (`ABD`) or keys (`a|b`, `` for none), or nothing.
pub type Reading = Option<String>;

/// How one labelled answer came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    DefiniteRead,
    DefiniteMisread,
    DefiniteUnparsed,
    UndecidedUnparsed,
    UndecidedGuessed,
    EmptyUnparsed,
    EmptyRead,
    JsonRead,
    JsonMisread,
    JsonUnparsed,
    /// A JSON answer a person cannot read easily (counted, not scored).
    JsonNotEasy,
}

impl Verdict {
    /// A verdict the lead should look at.
    pub fn is_miss(self) -> bool {
        matches!(
            self,
            Verdict::DefiniteMisread
                | Verdict::DefiniteUnparsed
                | Verdict::UndecidedGuessed
                | Verdict::EmptyRead
                | Verdict::JsonMisread
                | Verdict::JsonUnparsed
        )
    }
}

pub fn judge(expect: &Expect, read: &Reading) -> Verdict {
    match (expect, read) {
        (Expect::Letters(want), Some(got)) if want == got => Verdict::DefiniteRead,
        (Expect::Letters(_), Some(_)) => Verdict::DefiniteMisread,
        (Expect::Letters(_), None) => Verdict::DefiniteUnparsed,
        (Expect::Undecided, None) => Verdict::UndecidedUnparsed,
        (Expect::Undecided, Some(_)) => Verdict::UndecidedGuessed,
        (Expect::Empty, None) => Verdict::EmptyUnparsed,
        (Expect::Empty, Some(_)) => Verdict::EmptyRead,
        (Expect::Fields(want), Some(got)) if fields_read(want, got) => Verdict::JsonRead,
        (Expect::Fields(_), Some(_)) => Verdict::JsonMisread,
        (Expect::Fields(_), None) => Verdict::JsonUnparsed,
        (Expect::NotEasy, _) => Verdict::JsonNotEasy,
    }
}

/// Whether the keys read (`a|b`) cover the keys a person reads: every one of them, compared
/// through the label normaliser the scorer uses (full-width brackets, spaces). Extra keys
/// are allowed — a worked answer restates intermediate lines before its summary, and only
/// the person's fields are scored — except that an answer a person reads as empty (`[]`,
/// no defects) must be read as empty.
fn fields_read(want: &str, got: &str) -> bool {
    let keys = |s: &str| -> std::collections::BTreeSet<String> {
        s.split('|')
            .filter(|k| !k.is_empty())
            .map(medbench_core::label::normalize_label)
            .collect()
    };
    let (want, got) = (keys(want), keys(got));
    if want.is_empty() {
        got.is_empty()
    } else {
        want.is_subset(&got)
    }
}

/// Counts for one model × task, or for all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub definite: u64,
    pub definite_read: u64,
    pub definite_misread: u64,
    pub definite_unparsed: u64,
    pub undecided: u64,
    pub undecided_unparsed: u64,
    /// Of `undecided`: the `derived:cut` rows, and how many of them were left unparsed.
    pub undecided_derived: u64,
    pub undecided_derived_unparsed: u64,
    pub empty: u64,
    pub empty_read: u64,
    pub json_easy: u64,
    pub json_easy_read: u64,
    pub json_easy_misread: u64,
    pub json_easy_unparsed: u64,
    pub json_not_easy: u64,
    /// Choice answers whose question the importer could not read options from (not scored).
    pub no_options: u64,
}

impl Tally {
    pub fn count(&mut self, v: Verdict) {
        match v {
            Verdict::DefiniteRead => self.definite_read += 1,
            Verdict::DefiniteMisread => self.definite_misread += 1,
            Verdict::DefiniteUnparsed => self.definite_unparsed += 1,
            Verdict::UndecidedUnparsed => self.undecided_unparsed += 1,
            Verdict::UndecidedGuessed => {}
            Verdict::EmptyUnparsed => {}
            Verdict::EmptyRead => self.empty_read += 1,
            Verdict::JsonRead => self.json_easy_read += 1,
            Verdict::JsonMisread => self.json_easy_misread += 1,
            Verdict::JsonUnparsed => self.json_easy_unparsed += 1,
            Verdict::JsonNotEasy => self.json_not_easy += 1,
        }
        match v {
            Verdict::DefiniteRead | Verdict::DefiniteMisread | Verdict::DefiniteUnparsed => {
                self.definite += 1
            }
            Verdict::UndecidedUnparsed | Verdict::UndecidedGuessed => self.undecided += 1,
            Verdict::EmptyUnparsed | Verdict::EmptyRead => self.empty += 1,
            Verdict::JsonRead | Verdict::JsonMisread | Verdict::JsonUnparsed => self.json_easy += 1,
            Verdict::JsonNotEasy => {}
        }
    }

    pub fn add(&mut self, o: &Tally) {
        self.definite += o.definite;
        self.definite_read += o.definite_read;
        self.definite_misread += o.definite_misread;
        self.definite_unparsed += o.definite_unparsed;
        self.undecided += o.undecided;
        self.undecided_unparsed += o.undecided_unparsed;
        self.undecided_derived += o.undecided_derived;
        self.undecided_derived_unparsed += o.undecided_derived_unparsed;
        self.empty += o.empty;
        self.empty_read += o.empty_read;
        self.json_easy += o.json_easy;
        self.json_easy_read += o.json_easy_read;
        self.json_easy_misread += o.json_easy_misread;
        self.json_easy_unparsed += o.json_easy_unparsed;
        self.json_not_easy += o.json_not_easy;
        self.no_options += o.no_options;
    }

    pub fn figures(&self) -> Figures {
        Figures {
            definite_read_pct: pct(self.definite_read, self.definite),
            definite_unparsed_pct: pct(self.definite_unparsed, self.definite),
            undecided_unparsed_pct: pct(self.undecided_unparsed, self.undecided),
            json_easy_read_pct: pct(self.json_easy_read, self.json_easy),
        }
    }
}

/// The figures, in percent; `None` when nothing was counted.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Figures {
    /// Definite answers read as the person reads them (target 100).
    pub definite_read_pct: Option<f64>,
    /// Definite answers left unparsed (target ≤ 0.5).
    pub definite_unparsed_pct: Option<f64>,
    /// Undecided or cut-off answers left unparsed (target ≥ 90).
    pub undecided_unparsed_pct: Option<f64>,
    /// JSON-field answers a person reads easily that are read with the right fields (target ≥ 99).
    pub json_easy_read_pct: Option<f64>,
}

pub const TARGET_DEFINITE_UNPARSED_MAX: f64 = 0.5;
pub const TARGET_UNDECIDED_UNPARSED_MIN: f64 = 90.0;
pub const TARGET_JSON_EASY_READ_MIN: f64 = 99.0;

impl Figures {
    /// Whether every figure that could be measured meets the issue's target. "Every
    /// definite answer read as the person reads it" allows the unparsed share beside it
    /// (≤ 0.5%): what is read must never be misread.
    pub fn meets_targets(&self) -> bool {
        self.definite_read_pct
            .zip(self.definite_unparsed_pct)
            .is_none_or(|(read, unparsed)| read + unparsed >= 100.0 - 1e-9)
            && self
                .definite_unparsed_pct
                .is_none_or(|p| p <= TARGET_DEFINITE_UNPARSED_MAX)
            && self
                .undecided_unparsed_pct
                .is_none_or(|p| p >= TARGET_UNDECIDED_UNPARSED_MIN)
            && self
                .json_easy_read_pct
                .is_none_or(|p| p >= TARGET_JSON_EASY_READ_MIN)
    }
}

fn pct(n: u64, of: u64) -> Option<f64> {
    (of > 0).then(|| 100.0 * n as f64 / of as f64)
}

/// The first floor(f × chars) characters of `text` (a `derived:cut@f` row).
pub fn cut(text: &str, f: f64) -> &str {
    let n = text.chars().count();
    let keep = (n as f64 * f).floor() as usize;
    match text.char_indices().nth(keep) {
        Some((b, _)) => &text[..b],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "# comment\nrepo\tpath\tline\tsha256\tkind\tlabel\tnote\n";

    fn row(kind: &str, label: &str, note: &str) -> String {
        format!("{HEAD}o/r\ta/MedExam.jsonl\t3\t0123456789abcdef\t{kind}\t{label}\t{note}\n")
    }

    fn err(text: &str) -> String {
        parse(text, "labels.tsv").unwrap_err().to_string()
    }

    #[test]
    fn parses_rows_comments_crlf_and_cuts() {
        let text = format!(
            "{HEAD}\no/r\ta/MedExam.jsonl\t3\t0123456789ABCDEF\tchoice_single\tD\tscript:x\r\n\
             # another comment\n\
             o/r\ta/DDx.jsonl\t7\t0123456789abcdef\tchoice_multi\tundecided\tderived:cut@0.6\n\
             o/r\ta/SMDoc.jsonl\t1\t0123456789abcdef\tjson_fields\t主诉|体温(℃)\tread\n\
             o/r\ta/QC.jsonl\t2\t0123456789abcdef\tjson_fields\t{{}}\tread\n\
             o/r\ta/QC.jsonl\t4\t0123456789abcdef\tjson_fields\t-\tread\n"
        );
        let l = parse(&text, "labels.tsv").unwrap();
        assert_eq!(l.len(), 5);
        assert_eq!(l[0].row, 4);
        assert_eq!(l[0].line, 3);
        assert_eq!(l[0].sha256, "0123456789abcdef");
        assert_eq!(l[0].expect, Expect::Letters("D".into()));
        assert_eq!(l[0].note, "script:x");
        assert_eq!(l[1].kind, Kind::ChoiceMulti);
        assert_eq!(l[1].expect, Expect::Undecided);
        assert_eq!(l[1].cut, Some(0.6));
        assert_eq!(l[2].expect, Expect::Fields("主诉|体温(℃)".into()));
        assert_eq!(l[3].expect, Expect::Fields(String::new()));
        assert_eq!(l[4].expect, Expect::NotEasy);
    }

    #[test]
    fn bad_rows_name_file_line_and_column() {
        assert!(err("repo\tpath\n").contains("labels.tsv:1: expected the header"));
        assert!(err("# only comments\n").contains("no header"));
        assert!(err(&format!("{HEAD}o/r\tp\t1\n")).contains("labels.tsv:3: expected 7"));
        let bad_line = HEAD.to_owned() + "o/r\tp\t0\t0123456789abcdef\tchoice_single\tD\tn\n";
        assert!(err(&bad_line).contains("labels.tsv:3: column `line`"));
        let bad_sha = HEAD.to_owned() + "o/r\tp\t1\tnothex\tchoice_single\tD\tn\n";
        assert!(err(&bad_sha).contains("column `sha256`"));
        assert!(err(&row("choice", "D", "n")).contains("column `kind`"));
        assert!(err(&row("choice_single", "DA", "n")).contains("column `label`"));
        assert!(err(&row("choice_single", "d", "n")).contains("column `label`"));
        assert!(err(&row("json_fields", "b|a", "n")).contains("sorted"));
        assert!(err(&row("json_fields", "a||b", "n")).contains("empty or padded"));
        assert!(err(&row("choice_single", "D", "derived:cut@0.5")).contains("column `note`"));
        assert!(err(&row("choice_single", "undecided", "derived:cut@1.5")).contains("(0, 1)"));
    }

    #[test]
    fn verdicts_by_expectation_and_reading() {
        let l = |s: &str| Expect::Letters(s.into());
        let r = |s: &str| Some(s.to_owned());
        assert_eq!(judge(&l("AB"), &r("AB")), Verdict::DefiniteRead);
        assert_eq!(judge(&l("AB"), &r("A")), Verdict::DefiniteMisread);
        assert_eq!(judge(&l("AB"), &None), Verdict::DefiniteUnparsed);
        assert_eq!(judge(&Expect::Undecided, &None), Verdict::UndecidedUnparsed);
        assert_eq!(
            judge(&Expect::Undecided, &r("E")),
            Verdict::UndecidedGuessed
        );
        assert_eq!(judge(&Expect::Empty, &None), Verdict::EmptyUnparsed);
        assert_eq!(
            judge(&Expect::Fields("a|b".into()), &r("a|b")),
            Verdict::JsonRead
        );
        assert_eq!(
            judge(&Expect::Fields("a|b".into()), &r("a")),
            Verdict::JsonMisread
        );
        // Keys compare as the scorer compares them; extra restated keys are allowed,
        // but an empty answer must read as empty.
        assert_eq!(
            judge(
                &Expect::Fields("肝脏（有无肿大）".into()),
                &r("肝脏(有无肿大)|注意")
            ),
            Verdict::JsonRead
        );
        assert_eq!(
            judge(&Expect::Fields(String::new()), &r("错别字")),
            Verdict::JsonMisread
        );
        assert_eq!(
            judge(&Expect::Fields(String::new()), &None),
            Verdict::JsonUnparsed
        );
        assert_eq!(judge(&Expect::NotEasy, &None), Verdict::JsonNotEasy);
        assert!(Verdict::UndecidedGuessed.is_miss());
        assert!(!Verdict::JsonNotEasy.is_miss());
    }

    #[test]
    fn figures_are_shares_of_their_own_populations() {
        let mut t = Tally::default();
        for _ in 0..199 {
            t.count(Verdict::DefiniteRead);
        }
        t.count(Verdict::DefiniteUnparsed);
        for _ in 0..9 {
            t.count(Verdict::UndecidedUnparsed);
        }
        t.count(Verdict::UndecidedGuessed);
        for _ in 0..99 {
            t.count(Verdict::JsonRead);
        }
        t.count(Verdict::JsonMisread);
        // Neither counts towards any figure.
        t.count(Verdict::JsonNotEasy);
        t.count(Verdict::EmptyUnparsed);
        assert_eq!(
            (t.definite, t.undecided, t.json_easy, t.empty),
            (200, 10, 100, 1)
        );
        let f = t.figures();
        assert_eq!(f.definite_read_pct, Some(99.5));
        assert_eq!(f.definite_unparsed_pct, Some(0.5));
        assert_eq!(f.undecided_unparsed_pct, Some(90.0));
        assert_eq!(f.json_easy_read_pct, Some(99.0));
        // Every bound is met exactly: the one definite answer not read is unparsed, not misread.
        assert!(f.meets_targets());
        let mut misread = t;
        misread.count(Verdict::DefiniteMisread);
        assert!(
            !misread.figures().meets_targets(),
            "a misread definite answer fails"
        );
        let mut all = Tally::default();
        all.add(&t);
        all.add(&t);
        assert_eq!(all.definite_unparsed, 2);
        assert_eq!(all.figures().undecided_unparsed_pct, Some(90.0));
        assert_eq!(Tally::default().figures().definite_read_pct, None);
        let mut ok = Tally::default();
        ok.count(Verdict::DefiniteRead);
        ok.count(Verdict::UndecidedUnparsed);
        assert!(ok.figures().meets_targets());
    }

    #[test]
    fn cut_keeps_floor_of_a_share_of_characters() {
        assert_eq!(cut("答案是C。", 0.5), "答案");
        assert_eq!(cut("abcdefghij", 0.6), "abcdef");
        assert_eq!(cut("abc", 0.999), "ab");
        assert_eq!(cut("", 0.5), "");
    }
}
