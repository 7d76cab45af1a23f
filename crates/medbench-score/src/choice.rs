//! Reading option labels out of what models write, and scoring single and
//! multiple choice.
//!
//! [`extract_choices`] first folds the answer to half-width (`Ｅ`, `（`, `：`
//! read as `E`, `(`, `:`), drops reasoning blocks (`<think>…</think>`) and
//! masks what merely restates the prompt: quoted spans (`“答：<E>”`,
//! `"填写到<>中"`, `「例如<A>」`; a quote holding only labels, `“D”`, stays)
//! and clauses citing an example (`示例的答案是<E>`, `例如<A>`). Then:
//!
//! 1. **Decisions.** Every place where the answer commits to labels is
//!    found, and the **last** one wins:
//!    * angle brackets, the format MedBench asks for: `<E>`, `<A,C>`, `<ACD>`;
//!    * explicit markers: `答案：E`, `答案为E`, `正确答案是 (B)`, `选D`,
//!      `故选D`, `最终选择D`, `输出D`, `而是D`, `The answer is D`,
//!      `Answer: b`, `I choose D`, `go with D`, `\boxed{D}`;
//!    * bold standing alone as a conclusion: `**D**` on its own line, or
//!      `**E. 术前准备…**` as the last line.
//!
//!    A statement that is negated (`不选A`, `不是<A>`), conditional
//!    (`如果选A`), asked (`选A还是B？`) or tentative (`所以可能选A`, `或许选A`,
//!    `perhaps … 选A`; a hedge word in the same sentence, not turned by
//!    `但`/`不对`/`but`) is not a decision. Brackets or bold
//!    labels next to each other on the last decision's line are one group
//!    (`<A><C>`, `<A>、<C>`, `**A**、**C**`): that is how a multi-select is
//!    written; an answer made of nothing but brackets (`<A>\n<C>`) is one
//!    group too, and so, for multiple choice, are brackets that each open a
//!    line (`<A> 理由…\n<C> 理由…`). `C is correct` / `C选项正确` count only when there is no
//!    other decision (in an explanation they judge statements, not the
//!    question).
//! 2. **Undecided or cut off.** With a decision, the answer is still unread
//!    when the text after it takes it back (`还需要再想想`, `但让我再看看`,
//!    `let me reconsider`) or ends on a tentative or asked statement
//!    (`所以可能选E`, `perhaps 也选E`, `选A还是E？`). A long trace (≥ 1000 characters) that stops
//!    mid-sentence was cut off: it is read only if its last decision ends
//!    it (nothing but option text after it on the last line), or it opened with its decision (within the first 300
//!    characters) and never changed it.
//! 3. **No decision at all**, in order:
//!    1. the whole answer is a label group: `E`, `E.`, `(E)`, `ABC`, `A,C`,
//!       `A、C`, `A C`, `a`, `acd`, `A or B`;
//!    2. the last line that is only a label group;
//!    3. the answer is nothing but option lines `E. text` (a heading line
//!       ending in a colon aside), not every option: one line for single
//!       choice, lines whose text matches the options for multiple choice;
//!    4. the option's text instead of its label: equal after normalisation,
//!       or (single choice) a short one-line answer containing exactly one
//!       option text;
//!    5. exactly one lone upper-case label that closes the answer
//!       (`根据题意，D`) or sits in an answer of at most 40 characters.
//!
//! Anything else is unreadable (`None`): empty text, refusals, letters that
//! are not option labels, a review of the options without a decision, a
//! trace cut off before deciding.

mod decide;
mod fallback;
mod group;

use crate::text::to_half_width;
use crate::{Score, extract};
use decide::{Decision, Kind};
use group::{Labels, parse_whole};
use medbench_core::Choice;
use serde_json::json;
use std::collections::BTreeSet;

/// How far into a cut-off trace its decision must come to be trusted.
const OPENING: usize = 300;

/// The labels the decisions give. `Some(None)` means "no decision at all"
/// (try the fallbacks); `None` means "do not read": the decision was taken
/// back or cut off, or the only statements were negated, conditional, asked
/// or tentative.
fn from_decisions(t: &str, lab: &Labels, multiple: bool) -> Option<Option<Vec<String>>> {
    let reading = decide::decisions(t, lab);
    let ds = reading.decisions;
    let strong: Vec<Decision> = ds.iter().filter(|d| d.strong).cloned().collect();
    let pool = if strong.is_empty() { ds } else { strong };
    let Some(last) = pool.len().checked_sub(1) else {
        // Only negated, conditional, asked or tentative statements: the
        // letters were discussed, not chosen.
        return if reading.set_aside { None } else { Some(None) };
    };
    // The answer ends on a tentative statement (`…so perhaps 也选E.`) after
    // its last decision: still open.
    if reading.last_tentative.is_some_and(|e| e > pool[last].end) {
        return None;
    }
    let mut labels = decide::last_group(t, &pool, last);
    // Nothing but brackets (on several lines): one multi-select.
    let angles: Vec<&Decision> = pool.iter().filter(|d| d.kind == Kind::Angle).collect();
    if angles.len() > 1 {
        let mut rest = t.to_owned();
        for d in angles.iter().rev() {
            rest.replace_range(d.start..d.end, "");
        }
        if rest
            .chars()
            .all(|c| c.is_whitespace() || ",、;/&+和与及".contains(c))
        {
            labels = union(angles.iter().map(|d| d.labels.clone()).collect());
        }
    }
    // Multiple choice: brackets that each open a line (`<A> 理由…\n<C> 理由…`)
    // list the chosen options one per line.
    let opens_line = |d: &Decision| {
        let line_start = t[..d.start].rfind('\n').map_or(0, |i| i + 1);
        t[line_start..d.start]
            .chars()
            .all(|c| c.is_whitespace() || "-*•".contains(c))
    };
    if multiple && pool[last].kind == Kind::Angle && opens_line(&pool[last]) {
        let listed: Vec<Vec<String>> = pool
            .iter()
            .filter(|d| d.kind == Kind::Angle && opens_line(d))
            .map(|d| d.labels.clone())
            .collect();
        if listed.len() > 1 {
            labels = union(listed.into_iter().chain([labels]).collect());
        }
    }
    if decide::reopened(&t[pool[last].end..]) {
        return None;
    }
    // A decision on the last line closes the answer even when that line
    // ends in option text (`最终答案：D 术前准备后紧急经胸手术`).
    // Not when that line runs on into another clause (`…是A，因为它根本`).
    let tail = t[pool[last].end..].trim();
    let on_last_line = !tail.contains(['\n', '，', ',', '。', '；', ';', ':']);
    if decide::cut_off(t, lab) && !on_last_line {
        let first = &pool[0];
        let opened = t[..first.start].chars().count() <= OPENING;
        let steady = pool.iter().all(|d| d.labels == first.labels);
        if !(opened && steady) {
            return None;
        }
    }
    Some(Some(labels))
}

fn union(sets: Vec<Vec<String>>) -> Vec<String> {
    let all: BTreeSet<String> = sets.into_iter().flatten().collect();
    all.into_iter().collect()
}

/// Read the option labels an answer gives, sorted and without duplicates.
/// `None` when the answer cannot be read. With `multiple == false` an answer
/// that explicitly names several options (`答案：AB`) still returns them all,
/// so a hedged single-choice answer is read (and scored wrong), while free
/// text that merely mentions several letters is unreadable. The rules are
/// in the module documentation and in `docs/scoring.md`.
pub fn extract_choices(answer: &str, options: &[Choice], multiple: bool) -> Option<Vec<String>> {
    let lab = Labels::new(options);
    let t = to_half_width(&extract::clean_answer(answer));
    let t = t.trim();
    if t.is_empty() || lab.labels.is_empty() {
        return None;
    }
    let masked = decide::mask(t, &lab);
    if let Some(found) = from_decisions(&masked, &lab, multiple)? {
        return Some(found);
    }
    if decide::cut_off(t, &lab) || decide::reopened(&masked) {
        return None;
    }
    let t = masked.trim();
    let tiers: [&dyn Fn() -> Option<Vec<String>>; 5] = [
        &|| {
            let stripped = t.trim_start_matches("选项").trim_start_matches('选');
            parse_whole(stripped, &lab)
        },
        &|| {
            t.lines().rev().find_map(|l| {
                let l = l.trim().trim_start_matches(['-', '>', '#']).trim();
                parse_whole(l, &lab)
            })
        },
        &|| fallback::by_leading_lines(t, &lab, options, multiple),
        &|| fallback::by_option_text(t, options, multiple),
        &|| fallback::by_lone_token(t, &lab),
    ];
    tiers.iter().find_map(|f| f())
}

fn labels_json(l: &[String]) -> serde_json::Value {
    json!(l)
}

/// Single choice: accuracy. Exactly the one right label is Correct; any other
/// reading (including several labels) is Wrong; no reading is Unparsed.
pub fn score_single(options: &[Choice], want: &[String], answer: &str) -> Score {
    let Some(got) = extract_choices(answer, options, false) else {
        return Score::unparsed("no option label found");
    };
    let want = sorted(want);
    let parsed = Some(labels_json(&got));
    if got == want {
        Score::correct(parsed)
    } else if got.len() > 1 {
        Score::wrong(
            parsed,
            "several options given for a single-choice question".to_owned(),
        )
    } else {
        Score::wrong(parsed, None)
    }
}

fn sorted(v: &[String]) -> Vec<String> {
    let s: BTreeSet<String> = v.iter().map(|x| to_half_width(x.trim())).collect();
    s.into_iter().collect()
}

/// Multiple choice: the exact set scores 1 (Correct); otherwise the value is
/// the set-F1 `2·|given ∩ right| / (|given| + |right|)` (Partial, or Wrong
/// when 0). The detail always says `exact=true|false`.
pub fn score_multiple(options: &[Choice], want: &[String], answer: &str) -> Score {
    let Some(got) = extract_choices(answer, options, true) else {
        return Score::unparsed("no option label found");
    };
    let want = sorted(want);
    let hit = got.iter().filter(|g| want.contains(g)).count();
    let f1 = 2.0 * hit as f64 / (got.len() + want.len()) as f64;
    let exact = got == want;
    Score::graded(
        f1,
        Some(labels_json(&got)),
        Some(format!("exact={exact} f1={f1:.4}")),
    )
}
