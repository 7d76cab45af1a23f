//! Helpers shared by the readers.

use super::{Context, MediaBlob, Unit};
use crate::lines::{Line, json_syntax_message};
use crate::reject::Reject;
use crate::source::{MediaRoot, media_type_for};
use medbench_core::item::sha256_hex;
use medbench_core::{Choice, Item, Media};

/// Turn a located serde error into a reject naming the field.
pub fn json_reject(
    file: &str,
    line: &Line,
    err: serde_path_to_error::Error<serde_json::Error>,
) -> Reject {
    let path = err.path().to_string();
    let inner = err.into_inner();
    if inner.is_syntax() || inner.is_eof() {
        return Reject::at(file, line.number, None, json_syntax_message(&inner, line));
    }
    let msg = strip_position(&inner.to_string());
    if path.is_empty() || path == "." {
        // Errors raised after parsing (e.g. a reference that does not fit the format)
        // carry their own field prefix: `reference.value: expected a number`.
        if let Some((field, rest)) = msg.split_once(": ")
            && !field.contains(' ')
        {
            return Reject::at(file, line.number, Some(field), rest);
        }
        // serde's own "missing field `x`" names the field in the message.
        if let Some(name) = msg
            .strip_prefix("missing field `")
            .and_then(|r| r.split('`').next())
        {
            return Reject::at(file, line.number, Some(name), "missing");
        }
        return Reject::at(file, line.number, None, msg);
    }
    Reject::at(file, line.number, Some(&path), msg)
}

fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) if msg[i..].contains(" column ") => msg[..i].to_owned(),
        _ => msg.to_owned(),
    }
}

/// Validate an item and resolve its specialties against the taxonomy.
/// Specialty names are turned into codes; unknown ones are errors.
pub fn finish(mut item: Item, line: usize, file: &str, ctx: &Context) -> Result<Unit, Vec<Reject>> {
    let mut rejects = Vec::new();
    for (i, s) in item.specialties.iter_mut().enumerate() {
        match ctx.taxonomy.resolve(s) {
            Some(sp) => *s = sp.code.clone(),
            None => rejects.push(Reject::at(
                file,
                line,
                Some(&format!("specialties[{i}]")),
                format!("`{s}` is not a code or name in the specialty taxonomy"),
            )),
        }
    }
    if let Err(errs) = item.validate() {
        rejects.extend(
            errs.into_iter()
                .map(|e| Reject::at(file, line, Some(&e.field), e.message)),
        );
    }
    if rejects.is_empty() {
        Ok(Unit::new(item, line))
    } else {
        Err(rejects)
    }
}

/// Read a media file named by an official MedBench v4 record: beside the data file, or
/// in the download's `images` folder (see [`MediaRoot::read_official`]).
pub fn load_official_media(root: &mut MediaRoot, rel: &str) -> Result<MediaBlob, String> {
    let media_type = media_type_for(rel).ok_or_else(|| {
        format!("`{rel}`: unsupported media type (expected .png, .jpg, .jpeg or .pdf)")
    })?;
    let bytes = root.read_official(rel)?;
    Ok(MediaBlob {
        media: Media {
            name: rel.to_owned(),
            media_type: media_type.to_owned(),
            sha256: sha256_hex(&bytes),
        },
        bytes,
    })
}

/// Find lettered options (`A. …`, `B、…`, `C：…`, `(D) …`) in a question text.
///
/// Options are found in order: after `A`, the next `B` marker, then `C`, and so on.
/// A marker is the letter (ASCII or full-width) followed by `.`, `．`, `、`, `:`, `：`,
/// `)` or `）`, or wrapped in brackets (`(B)`). Options may run together on one line
/// (`A.甲B.乙C.丙`, also after a CJK character); a letter glued to a preceding ASCII
/// letter or digit (`维生素CB.亚硫酸氢钠`: the `B`, not the `C`) counts only when
/// followed by `.`, `．` or `、`, and never starts the list. Takes the last run that
/// starts at `A`, so worked examples earlier in a prompt are skipped.
pub fn parse_options(text: &str) -> Option<Vec<Choice>> {
    struct Marker {
        letter: char,
        /// Where the marker starts (the bracket of `(B)`), which ends the option before.
        start: usize,
        /// Where the option's text starts.
        text_start: usize,
        /// Right after an ASCII letter or digit.
        glued: bool,
    }
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut markers: Vec<Marker> = Vec::new();
    for (k, &(pos, c)) in chars.iter().enumerate() {
        let letter = match c {
            'A'..='Z' => c,
            'Ａ'..='Ｚ' => char::from_u32(c as u32 - 'Ａ' as u32 + 'A' as u32)?,
            _ => continue,
        };
        let prev = if k == 0 { None } else { Some(chars[k - 1].1) };
        let next = chars.get(k + 1).map(|x| x.1);
        let glued = prev.is_some_and(|p| p.is_ascii_alphanumeric() || p == '_');
        let (open_paren, after) = match (prev, next) {
            (Some('(' | '（'), Some(')' | '）')) => (true, k + 2),
            (_, Some('.' | '．' | '、')) => (false, k + 2),
            (_, Some(':' | '：' | ')' | '）')) if !glued => (false, k + 2),
            _ => continue,
        };
        let start = if open_paren { chars[k - 1].0 } else { pos };
        let text_start = chars.get(after).map(|x| x.0).unwrap_or(text.len());
        markers.push(Marker {
            letter,
            start,
            text_start,
            glued,
        });
    }
    // Walk back from the last `A` and take the run of B, C, … found in order after it.
    for a in (0..markers.len()).rev() {
        if markers[a].letter != 'A' || markers[a].glued {
            continue;
        }
        let mut run = vec![&markers[a]];
        for m in &markers[a + 1..] {
            let want = (b'A' + run.len() as u8) as char;
            if m.letter == want {
                run.push(m);
            }
        }
        if run.len() < 2 {
            continue;
        }
        let mut out = Vec::new();
        for (i, m) in run.iter().enumerate() {
            let end = run.get(i + 1).map(|n| n.start).unwrap_or(text.len());
            let mut t = text[m.text_start..end].trim();
            if i + 1 == run.len() {
                // The last option ends at its line.
                t = t.lines().next().unwrap_or("").trim();
            }
            out.push(Choice {
                label: m.letter.to_string(),
                text: t.to_owned(),
            });
        }
        return Some(out);
    }
    None
}

/// Parse one JSONL line as `T`; a syntax error or a record of the wrong shape becomes a
/// reject naming the line and field.
pub fn parse_line<T: serde::de::DeserializeOwned>(display: &str, line: &Line) -> Result<T, Reject> {
    // The plain parser is fast; the path-tracking one runs only to explain a failure.
    serde_json::from_str::<T>(&line.text).map_err(|plain| {
        let de = &mut serde_json::Deserializer::from_str(&line.text);
        match serde_path_to_error::deserialize::<_, T>(de) {
            Err(e) => json_reject(display, line, e),
            Ok(_) => Reject::at(
                display,
                line.number,
                None,
                format!("invalid record: {plain}"),
            ),
        }
    })
}

/// Read a JSONL source row by row as `T`. Encoding problems, JSON syntax errors and
/// rows of the wrong shape go to the sink as rejects (naming line and field); `f`
/// gets every row that parsed, with its line and the sink.
pub fn json_lines<T: serde::de::DeserializeOwned>(
    reader: impl std::io::Read,
    display: &str,
    sink: &mut super::Sink<'_>,
    mut f: impl FnMut(&Line, T, &mut super::Sink<'_>),
) {
    for line in crate::lines::Lines::new(reader, display) {
        let line = match line {
            Ok(l) => l,
            Err(r) => {
                sink(Err(r));
                continue;
            }
        };
        match parse_line::<T>(display, &line) {
            Ok(row) => f(&line, row, sink),
            Err(reject) => sink(Err(reject)),
        }
    }
}

/// The parts of a single-choice knowledge question from a published data set.
pub struct ChoiceQuestion {
    pub task: String,
    pub local: String,
    pub language: &'static str,
    pub question: String,
    pub options: Vec<Choice>,
    pub answer: String,
    pub source: &'static str,
    pub licence: &'static str,
    pub specialties: Vec<String>,
    pub tags: Vec<String>,
}

/// Build the item for a single-choice knowledge question (LLM track, knowledge QA).
pub fn choice_item(q: ChoiceQuestion, ctx: &Context) -> Item {
    Item {
        id: format!("{}/{}", q.task, q.local),
        version: 1,
        task: q.task,
        task_version: 1,
        track: medbench_core::Track::Llm,
        dimension: medbench_core::Dimension::KnowledgeQa,
        language: q.language.into(),
        specialties: q.specialties,
        system: None,
        context: vec![],
        conversation: vec![],
        question: q.question,
        format: medbench_core::Format::SingleChoice { options: q.options },
        reference: Some(medbench_core::Reference::Choice {
            answer: vec![q.answer],
        }),
        media: vec![],
        provenance: medbench_core::Provenance {
            source: q.source.into(),
            licence: Some(q.licence.into()),
            original_id: None,
            ..Default::default()
        },
        difficulty: None,
        review: ctx.review,
        tags: q.tags,
        variants: vec![],
    }
}

/// Send a finished unit or its rejects.
pub fn emit(item: Item, line: usize, file: &str, ctx: &Context, sink: &mut super::Sink<'_>) {
    match finish(item, line, file, ctx) {
        Ok(u) => sink(Ok(u)),
        Err(rs) => rs.into_iter().for_each(|r| sink(Err(r))),
    }
}

/// The task name: the user's `--task`, else the format's default.
pub fn task_name(ctx: &Context, default: &str) -> String {
    ctx.task.clone().unwrap_or_else(|| default.to_owned())
}

/// Read a media file named by a record, relative to the data file, and describe it.
pub fn load_media(root: &mut MediaRoot, rel: &str) -> Result<MediaBlob, String> {
    let media_type = media_type_for(rel).ok_or_else(|| {
        format!("`{rel}`: unsupported media type (expected .png, .jpg, .jpeg or .pdf)")
    })?;
    let bytes = root.read(rel)?;
    Ok(MediaBlob {
        media: Media {
            name: rel.to_owned(),
            media_type: media_type.to_owned(),
            sha256: sha256_hex(&bytes),
        },
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(t: &str) -> Vec<(String, String)> {
        parse_options(t)
            .unwrap()
            .into_iter()
            .map(|c| (c.label, c.text))
            .collect()
    }

    #[test]
    fn options_after_a_worked_example_are_the_real_ones() {
        let t = "示例：\nA.甲\nB.乙\n答：<A>\n\n## 题目：下列哪一项不是 A. 临床表现不典型\nB. 疾病发展缓慢\nC. 多病共存";
        let got = labels(t);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], ("A".into(), "临床表现不典型".into()));
        assert_eq!(got[2], ("C".into(), "多病共存".into()));
    }

    #[test]
    fn inline_options_are_split() {
        let got = labels(
            "叙述正确的是()\nA.宜进行治疗药物监测B.半衰期短C.主要经肝脏代谢D.蛋白结合率高\n",
        );
        assert_eq!(
            got.iter().map(|x| x.1.as_str()).collect::<Vec<_>>(),
            [
                "宜进行治疗药物监测",
                "半衰期短",
                "主要经肝脏代谢",
                "蛋白结合率高"
            ]
        );
    }

    #[test]
    fn options_run_together_after_letters_and_digits_are_found_in_order() {
        // `C` ends an option's text and `B.` starts the next: split between them.
        let got = labels("常用的是()\nA.维生素CB.亚硫酸氢钠C.碳酸氢钠D.硫代硫酸钠E.焦亚硫酸钠\n");
        let texts: Vec<_> = got.iter().map(|x| x.1.as_str()).collect();
        assert_eq!(
            texts,
            [
                "维生素C",
                "亚硫酸氢钠",
                "碳酸氢钠",
                "硫代硫酸钠",
                "焦亚硫酸钠"
            ]
        );
        // Options ending in ASCII letters and digits.
        let got = labels("正确的是()\nA.10mg,qdB.20mg,bidC.5%葡萄糖100mlD.生理盐水 50ml\n");
        let texts: Vec<_> = got.iter().map(|x| x.1.as_str()).collect();
        assert_eq!(
            texts,
            ["10mg,qd", "20mg,bid", "5%葡萄糖100ml", "生理盐水 50ml"]
        );
        // Full-width letters and 、 run together too.
        let got = labels("题目：Ａ、甲乙Ｂ、丙丁Ｃ、戊");
        assert_eq!(got[1], ("B".into(), "丙丁".into()));
        // A glued letter never starts the list, and needs `.`, `．` or `、`:
        // `HbA.` is not option A, `IgB:` is not option B.
        let got = labels("检查HbA.结果如下\nA.升高IgB:阳性\nB.降低");
        assert_eq!(
            got,
            [
                ("A".into(), "升高IgB:阳性".into()),
                ("B".into(), "降低".into())
            ]
        );
    }

    #[test]
    fn letters_inside_words_are_not_options() {
        assert!(parse_options("BP 120/80 mmHg, CT showed A mass").is_none());
        let got = labels("Which? (A) aspirin (B) heparin (C) warfarin");
        assert_eq!(got[1].1, "heparin");
    }
}
