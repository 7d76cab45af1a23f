//! MedBench v4 downloads as shipped: grouped copies of choice questions, the raw lines
//! kept for the answer export, zips and the multimodal `images` folder, inline options,
//! fenced references.

mod common;
use common::*;
use medbench_core::Reference;
use medbench_store::{Bank, SourceFileRow, SourceRowRow, SqliteBank};
use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

fn v4_samples() -> Option<PathBuf> {
    shared_data().map(|d| d.join("medbench-v4-format"))
}

fn all_ids(b: &SqliteBank) -> HashSet<String> {
    let mut ids = HashSet::new();
    b.for_each(&Default::default(), &mut |it| {
        ids.insert(it.id);
        Ok(())
    })
    .unwrap();
    ids
}

/// The file a kept layout describes, written back.
fn rebuild(file: &SourceFileRow, rows: &[SourceRowRow]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r.line, i as u64 + 1, "{}: lines 1..=n", file.path);
        out.extend_from_slice(r.raw.as_bytes());
        if i + 1 < rows.len() || file.final_eol {
            out.extend_from_slice(file.eol.as_bytes());
        }
    }
    out
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_in(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn jsonl_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect()
}

fn question_at(path: &Path, line: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let row: serde_json::Value = serde_json::from_str(text.lines().nth(line - 1).unwrap()).unwrap();
    row["question"].as_str().unwrap().to_owned()
}

#[test]
fn medexam_copies_are_one_item_with_their_orders_as_variants() {
    let Some(v4) = v4_samples() else { return };
    let mut b = bank();
    let r = run(&mut b, &[&v4.join("llm")], None, false);
    assert!(r.committed, "{:?}", r.rejects);
    let exam = b.get("MedExam/3").unwrap().unwrap();
    assert!(b.get("MedExam/3.2").unwrap().is_none(), "no item per copy");
    assert_eq!(exam.variants.len(), 2);
    assert_eq!(exam.variants[0].order, [0, 1, 2, 3, 4]);
    assert_eq!(exam.variants[0].question, None);
    let exam_file = v4.join("llm/MedExam.jsonl");
    assert_eq!(exam.question, question_at(&exam_file, 1));
    let second = exam.instance(1);
    let texts: Vec<_> = second
        .format
        .options()
        .unwrap()
        .iter()
        .map(|o| o.text.as_str())
        .collect();
    // The second row lists 多病共存 first and 临床表现不典型 last.
    assert_eq!(
        texts,
        [
            "多病共存",
            "疾病发展缓慢",
            "单一病种",
            "发病方式独特",
            "临床表现不典型"
        ]
    );
    assert_eq!(second.question, question_at(&exam_file, 2));
    // Every official choice sample (two copies each) is one item with two variants.
    for id in ["MedEthics/1", "MedSafety/4", "MedRxCheck_SCQ/12"] {
        assert_eq!(b.get(id).unwrap().unwrap().variants.len(), 2, "{id}");
    }
}

#[test]
fn filled_copies_give_one_reference_in_the_first_copys_labels() {
    let Some(v4) = v4_samples() else { return };
    let mut b = bank();
    let r = run(&mut b, &[&v4.join("answers-sample/o3")], None, false);
    assert!(r.committed, "{:?}", r.rejects);
    // Line 1 answers <D> (单一病种); line 2 answers <C>, which is 单一病种 in its order.
    let exam = b.get("MedExam/3").unwrap().unwrap();
    assert_eq!(
        exam.reference,
        Some(Reference::Choice {
            answer: vec!["D".into()]
        })
    );
    assert_eq!(
        exam.instance(1).reference,
        Some(Reference::Choice {
            answer: vec!["C".into()]
        })
    );
    // Copies whose answers disagree are refused, naming the line and `answer`.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(v4.join("answers-sample/o3/MedExam.jsonl")).unwrap();
    let bad = text.replacen("\"<C>\"", "\"<B>\"", 1);
    assert_ne!(bad, text);
    let p = write(dir.path(), "MedExam.jsonl", bad.as_bytes());
    let r = run(&mut bank(), &[&p], None, false);
    assert!(!r.committed);
    assert_eq!(r.rejects.len(), 1, "{:?}", r.rejects);
    assert_eq!(r.rejects[0].line, Some(2));
    assert_eq!(r.rejects[0].field.as_deref(), Some("answer"));
    assert!(
        r.rejects[0].message.contains("disagree"),
        "{}",
        r.rejects[0]
    );
}

#[test]
fn every_v4_file_keeps_its_raw_lines_byte_for_byte() {
    let Some(v4) = v4_samples() else { return };
    let mut b = bank();
    let dirs = [v4.join("llm"), v4.join("agent")];
    let r = run(&mut b, &[&dirs[0], &dirs[1]], None, false);
    assert!(r.committed, "{:?}", r.rejects);
    let ids = all_ids(&b);
    let layout = b.source_layout(&ids).unwrap();
    let files: Vec<PathBuf> = dirs.iter().flat_map(|d| jsonl_in(d)).collect();
    assert_eq!(layout.len(), files.len(), "one kept file per data file");
    for (file, rows) in &layout {
        assert_eq!(file.container, "");
        let on_disk = dirs
            .iter()
            .map(|d| d.join(&file.path))
            .find(|p| p.is_file())
            .unwrap_or_else(|| panic!("`{}` is a path relative to a given folder", file.path));
        let bytes = std::fs::read(&on_disk).unwrap();
        assert_eq!(rebuild(file, rows), bytes, "{}", file.path);
        for r in rows {
            assert!(
                ids.contains(&r.item_id),
                "{}:{} {}",
                file.path,
                r.line,
                r.item_id
            );
        }
    }
    let (_, exam) = layout
        .iter()
        .find(|(f, _)| f.path == "MedExam.jsonl")
        .unwrap();
    let became: Vec<_> = exam
        .iter()
        .map(|r| (r.item_id.as_str(), r.variant))
        .collect();
    assert_eq!(became, [("MedExam/3", 0), ("MedExam/3", 1)]);

    // Re-importing changes nothing, the kept lines included.
    let again = run(&mut b, &[&dirs[0], &dirs[1]], None, false);
    assert!(again.committed);
    assert_eq!((again.imported, again.updated), (0, 0));
    assert_eq!(again.unchanged, r.imported);
    assert_eq!(b.source_layout(&ids).unwrap(), layout);
}

/// Zip `files` (name in the zip, path on disk) into `zpath`.
fn zip_files(zpath: &Path, files: &[(String, PathBuf)]) {
    let mut z = zip::ZipWriter::new(std::fs::File::create(zpath).unwrap());
    let opts = zip::write::SimpleFileOptions::default();
    for (name, path) in files {
        z.start_file(name.as_str(), opts).unwrap();
        z.write_all(&std::fs::read(path).unwrap()).unwrap();
    }
    z.finish().unwrap();
}

#[test]
fn a_zipped_download_keeps_the_zip_name_and_entry_paths() {
    let Some(v4) = v4_samples() else { return };
    let dir = tempfile::tempdir().unwrap();
    let zpath = dir.path().join("MedBench_LLM.zip");
    let entries: Vec<(String, PathBuf)> = jsonl_in(&v4.join("llm"))
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_str().unwrap().to_owned();
            (format!("MedBench_LLM/{name}"), p)
        })
        .collect();
    zip_files(&zpath, &entries);
    let mut b = bank();
    let r = run(&mut b, &[&zpath], None, false);
    assert!(r.committed, "{:?}", r.rejects);
    let layout = b.source_layout(&all_ids(&b)).unwrap();
    assert_eq!(layout.len(), entries.len());
    for (file, rows) in &layout {
        assert_eq!(file.container, "MedBench_LLM.zip");
        let (_, disk) = entries
            .iter()
            .find(|(n, _)| *n == file.path)
            .unwrap_or_else(|| panic!("`{}` is not an entry path", file.path));
        assert_eq!(rebuild(file, rows), std::fs::read(disk).unwrap());
    }
}

#[test]
fn the_multimodal_download_finds_images_in_the_images_folder() {
    let Some(v4) = v4_samples() else { return };
    let mm = v4.join("multimodal");
    let dir = tempfile::tempdir().unwrap();
    // MedBench_VLM/MedBench_VLM_QA/<Task>.jsonl beside MedBench_VLM/images/<img_path>.
    let mut entries = Vec::new();
    for p in files_in(&mm) {
        let rel = p.strip_prefix(&mm).unwrap().to_str().unwrap().to_owned();
        let name = if rel.ends_with(".jsonl") {
            format!("MedBench_VLM/MedBench_VLM_QA/{rel}")
        } else {
            format!("MedBench_VLM/images/{rel}")
        };
        write(dir.path(), &name, &std::fs::read(&p).unwrap());
        entries.push((name, p));
    }
    let zpath = dir.path().join("MedBench_VLM.zip");
    zip_files(&zpath, &entries);
    for input in [dir.path().join("MedBench_VLM"), zpath] {
        let mut b = bank();
        // One MedGen image is not among the samples: --skip-invalid takes the other rows.
        let r = run(&mut b, &[&input], None, true);
        assert!(r.committed);
        assert_eq!(r.imported, 19, "{}: {:?}", input.display(), r.rejects);
        assert_eq!(r.rejects.len(), 1);
        let why = &r.rejects[0].message;
        assert!(
            why.contains("MedBench_VLM_QA/MedGen/DX/058366071148544.jpg")
                && why.contains("images/MedGen/DX/058366071148544.jpg"),
            "names both places: {why}"
        );
        let it = b.get("MedVQA/112").unwrap().unwrap();
        let (_, bytes) = b.media(&it.media[0].sha256).unwrap().unwrap();
        assert_eq!(&bytes[..4], b"\x89PNG");
    }
}

fn v4_row(id: u32, source: &str, question: &str, answer: &str) -> String {
    serde_json::json!({"question": question, "answer": answer, "other": {"id": id, "source": source}})
        .to_string()
}

#[test]
fn options_run_together_on_one_line_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let q = "## 问题\n常用的抗氧剂有()\nA.维生素CB.亚硫酸氢钠C.碳酸氢钠D.硫代硫酸钠\n";
    let q2 = "## 问题\n用法正确的是()\nA.100mg,qdB.200mg,bidC.5%葡萄糖100ml\n";
    let text = format!(
        "{}\n{}\n",
        v4_row(1, "MedRxCheck_V4_MSQ", q, "ABD"),
        v4_row(2, "MedRxCheck_V4_MSQ", q2, "")
    );
    let p = write(dir.path(), "MedRxCheck_MSQ.jsonl", text.as_bytes());
    let mut b = bank();
    let r = run(&mut b, &[&p], None, false);
    assert!(r.committed, "{:?}", r.rejects);
    let it = b.get("MedRxCheck_MSQ/1").unwrap().unwrap();
    let texts: Vec<_> = it
        .format
        .options()
        .unwrap()
        .iter()
        .map(|o| o.text.as_str())
        .collect();
    assert_eq!(texts, ["维生素C", "亚硫酸氢钠", "碳酸氢钠", "硫代硫酸钠"]);
    let it = b.get("MedRxCheck_MSQ/2").unwrap().unwrap();
    assert_eq!(it.format.options().unwrap()[1].text, "200mg,bid");
}

#[test]
fn a_fenced_json_reference_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let text = v4_row(
        9,
        "SMDoc_V4",
        "需要提取的实体字段：\n- 主诉\n- 体温(℃)",
        "```json\n{\"主诉\": \"头痛3天\", \"体温(℃)\": \"37\"}\n```",
    ) + "\n";
    let p = write(dir.path(), "SMDoc.jsonl", text.as_bytes());
    let mut b = bank();
    let r = run(&mut b, &[&p], None, false);
    assert!(r.committed, "{:?}", r.rejects);
    let Some(Reference::JsonFields { fields }) = b.get("SMDoc/9").unwrap().unwrap().reference
    else {
        panic!("no JSON fields")
    };
    assert_eq!(fields["主诉"], "头痛3天");
}

#[test]
fn copies_group_across_the_file_and_a_copy_with_other_options_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ask = |opts: &str| format!("## 问题\n医疗膳食的留样时间至少为：\n{opts}\n");
    let first = ask("A. 72小时\nB. 48小时\nC. 24小时");
    let other = "## 问题\n另一题：\nA. 甲\nB. 乙\n".to_owned();
    let reordered = ask("A. 24小时\nB. 72小时\nC. 48小时");
    let text = [
        v4_row(4, "MedSafety_V4", &first, ""),
        v4_row(5, "MedSafety_V4", &other, ""),
        v4_row(4, "MedSafety_V4", &reordered, ""),
    ]
    .join("\n");
    let p = write(dir.path(), "MedSafety.jsonl", text.as_bytes());
    let mut b = bank();
    let r = run(&mut b, &[&p], None, false);
    assert!(r.committed, "{:?}", r.rejects);
    assert_eq!(r.imported, 2, "copies need not be adjacent");
    let it = b.get("MedSafety/4").unwrap().unwrap();
    assert_eq!(it.variants[1].order, [2, 0, 1]);
    let kept = b.source_layout(&all_ids(&b)).unwrap();
    assert!(!kept[0].0.final_eol);
    assert_eq!(kept[0].1[2].variant, 1);

    // A copy with a changed option text is refused at its line, field `question`.
    let changed = ask("A. 24小时\nB. 72小时\nC. 1周");
    let text = [
        v4_row(4, "MedSafety_V4", &first, ""),
        v4_row(4, "MedSafety_V4", &changed, ""),
    ]
    .join("\n");
    let p = write(dir.path(), "bad/MedSafety.jsonl", text.as_bytes());
    let mut fresh = bank();
    let r = run(&mut fresh, &[&p], None, false);
    assert!(!r.committed);
    assert_eq!(r.rejects.len(), 1, "{:?}", r.rejects);
    let rej = &r.rejects[0];
    assert!(rej.file.ends_with("bad/MedSafety.jsonl"));
    assert_eq!(
        (rej.line, rej.field.as_deref()),
        (Some(2), Some("question"))
    );
    assert!(
        rej.message.contains("not a reordering") && rej.message.contains("1周"),
        "{rej}"
    );
    assert!(
        fresh
            .source_layout(&["MedSafety/4".to_owned()].into())
            .unwrap()
            .is_empty(),
        "a rolled-back import keeps no lines"
    );
    // With --skip-invalid the item keeps the copies that fit; the refused line names no item.
    let r = run(&mut fresh, &[&p], None, true);
    assert!(r.committed);
    let it = fresh.get("MedSafety/4").unwrap().unwrap();
    assert!(it.variants.is_empty(), "asked once");
    let kept = fresh.source_layout(&all_ids(&fresh)).unwrap();
    assert_eq!(kept[0].1[1].item_id, "");
}

#[test]
fn two_files_with_one_place_in_one_import_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let q = "## 问题\n题：\nA. 甲\nB. 乙\n";
    let a = write(
        dir.path(),
        "a/MedSafety.jsonl",
        (v4_row(1, "MedSafety_V4", q, "") + "\n").as_bytes(),
    );
    let b = write(
        dir.path(),
        "b/MedSafety.jsonl",
        (v4_row(2, "MedSafety_V4", q, "") + "\n").as_bytes(),
    );
    // Both are `MedSafety.jsonl` relative to the folder given: an export could not tell them apart.
    let r = run(
        &mut bank(),
        &[a.parent().unwrap(), b.parent().unwrap()],
        None,
        false,
    );
    assert!(!r.committed);
    assert_eq!(r.rejects.len(), 1, "{:?}", r.rejects);
    assert!(r.rejects[0].file.ends_with("b/MedSafety.jsonl"));
    assert!(
        r.rejects[0].message.contains("same place"),
        "{}",
        r.rejects[0]
    );
    // Given as their common folder, they are `a/MedSafety.jsonl` and `b/MedSafety.jsonl`.
    let mut kept = bank();
    let r = run(&mut kept, &[dir.path()], None, false);
    assert!(r.committed, "{:?}", r.rejects);
    let paths: Vec<_> = kept
        .source_layout(&all_ids(&kept))
        .unwrap()
        .into_iter()
        .map(|(f, _)| f.path)
        .collect();
    assert_eq!(paths, ["a/MedSafety.jsonl", "b/MedSafety.jsonl"]);
}
