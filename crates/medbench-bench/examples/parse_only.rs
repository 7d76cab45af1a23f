//! Time the reader side of an import alone: parse, validate, hash.
use medbench_core::{Item, Taxonomy};
use medbench_store::ItemRow;
use std::io::BufRead;
use std::time::Instant;
fn main() {
    let path = std::env::args().nth(1).expect("a JSONL file");
    let lines: Vec<String> = std::io::BufReader::new(std::fs::File::open(path).unwrap())
        .lines()
        .map(|l| l.unwrap())
        .collect();
    let tax = Taxonomy::builtin();
    let t = Instant::now();
    let items: Vec<Item> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let parse = t.elapsed();
    let t = Instant::now();
    for i in &items {
        i.validate().unwrap();
        for s in &i.specialties {
            tax.resolve(s).unwrap();
        }
    }
    let validate = t.elapsed();
    let t = Instant::now();
    let rows: Vec<ItemRow> = items.iter().map(ItemRow::prepare).collect();
    let prepare = t.elapsed();
    let n = rows.len() as f64;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.db");
    let mut bank = medbench_store::SqliteBank::open(db.to_str().unwrap()).unwrap();
    let t = Instant::now();
    {
        use medbench_store::Bank;
        let mut s = bank.begin_import("bench").unwrap();
        for (i, r) in rows.iter().enumerate() {
            s.put(r, &format!("f:{i}")).unwrap();
        }
        s.commit().unwrap();
    }
    let write = t.elapsed();
    println!("write {:.1} µs/item", write.as_secs_f64() * 1e6 / n);
    println!(
        "parse {:.1} µs/item, validate {:.1}, prepare {:.1}",
        parse.as_secs_f64() * 1e6 / n,
        validate.as_secs_f64() * 1e6 / n,
        prepare.as_secs_f64() * 1e6 / n
    );
}
