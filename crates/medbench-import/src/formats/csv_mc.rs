//! MMLU-style CSV (no header: question, A, B, C, D, answer) and CMMLU CSV
//! (header `,Question,A,B,C,D,Answer`, first column an index).

use super::common::{ChoiceQuestion, choice_item, emit, task_name};
use super::ids::choice_content_id;
use super::{Context, Sink};
use crate::lines::ENCODING_HINT;
use crate::reject::Reject;
use crate::source::SourceFile;
use medbench_core::Choice;

pub fn read(src: SourceFile<'_>, ctx: &Context, sink: &mut Sink<'_>, cmmlu: bool) {
    let subject = src
        .stem()
        .trim_end_matches("_test")
        .trim_end_matches("_dev")
        .trim_end_matches("_val")
        .to_owned();
    let (default_task, source, language) = if cmmlu {
        (format!("CMMLU-{subject}"), "CMMLU", "zh")
    } else {
        (format!("MMLU-{subject}"), "MMLU", "en")
    };
    let task = task_name(ctx, &default_task);
    let SourceFile {
        display, reader, ..
    } = src;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(cmmlu)
        .flexible(true)
        .from_reader(reader);
    let mut record = csv::ByteRecord::new();
    let mut n = 0usize;
    loop {
        match rdr.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| p.line() as usize).unwrap_or(n + 1);
                sink(Err(Reject::at(
                    &display,
                    line,
                    None,
                    format!("malformed CSV: {e}"),
                )));
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
                continue;
            }
        }
        n += 1;
        let line = record.position().map(|p| p.line() as usize).unwrap_or(n);
        let fields: Result<Vec<&str>, _> = record.iter().map(std::str::from_utf8).collect();
        let Ok(mut fields) = fields else {
            sink(Err(Reject::at(
                &display,
                line,
                None,
                format!("not valid UTF-8; {ENCODING_HINT}"),
            )));
            continue;
        };
        // CMMLU's first column is the row's index in its file, not an id.
        if cmmlu && fields.len() == 7 {
            fields.remove(0);
        }
        if fields.len() != 6 {
            sink(Err(Reject::at(
                &display,
                line,
                None,
                format!(
                    "expected 6 columns (question, A, B, C, D, answer), found {}",
                    fields.len()
                ),
            )));
            continue;
        }
        let answer = fields[5].trim().to_ascii_uppercase();
        if !["A", "B", "C", "D"].contains(&answer.as_str()) {
            sink(Err(Reject::at(
                &display,
                line,
                Some("answer"),
                format!("`{}` is not A, B, C or D", fields[5]),
            )));
            continue;
        }
        let options: Vec<Choice> = ["A", "B", "C", "D"]
            .iter()
            .zip(&fields[1..5])
            .map(|(l, t)| Choice {
                label: (*l).into(),
                text: t.trim().to_owned(),
            })
            .collect();
        let question = fields[0].trim().to_owned();
        // Rows have no id: the local id is a hash of the question and options (see `ids`).
        let local = choice_content_id(&question, &options);
        let item = choice_item(
            ChoiceQuestion {
                task: task.clone(),
                local,
                language,
                question,
                options,
                answer,
                source,
                licence: if cmmlu { "CC-BY-NC-4.0" } else { "MIT" },
                specialties: vec![],
                tags: vec![format!("subject:{subject}")],
            },
            ctx,
        );
        emit(item, line, &display, ctx, sink);
    }
}
