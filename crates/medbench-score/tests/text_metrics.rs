//! ROUGE-L and BLEU against values worked out by hand.

use medbench_score::{bleu, rouge_l, tokenize};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

#[test]
fn tokenisation_is_per_cjk_character_and_per_word_otherwise() {
    assert_eq!(
        tokenize("患者有高血压"),
        ["患", "者", "有", "高", "血", "压"]
    );
    assert_eq!(tokenize("The CAT, sat."), ["the", "cat", "sat"]);
    assert_eq!(tokenize("ＣＫＤ　G4期"), ["ckd", "g4", "期"]);
    assert!(tokenize("，。！").is_empty());
}

#[test]
fn rouge_l_english() {
    // cand: the cat sat on the mat (6); ref: the cat is on the mat (6).
    // LCS = the cat on the mat = 5, so P = R = 5/6 and F = 5/6.
    assert!(close(
        rouge_l("the cat sat on the mat", "the cat is on the mat"),
        5.0 / 6.0
    ));
    assert!(close(
        rouge_l("The Cat sat on the mat.", "the cat is on the mat"),
        5.0 / 6.0
    ));
}

#[test]
fn rouge_l_chinese_per_character() {
    // cand: 患者有高血压 (6 chars); ref: 患者患有高血压病 (8 chars).
    // LCS = 患者有高血压 = 6; P = 6/6 = 1, R = 6/8 = 0.75;
    // F = 2·1·0.75 / (1 + 0.75) = 1.5 / 1.75 = 6/7 ≈ 0.857143.
    assert!(close(
        rouge_l("患者有高血压", "患者患有高血压病"),
        6.0 / 7.0
    ));
    // Mixed: [iga, 肾, 病] vs [iga, 肾, 病, 所, 致]: LCS 3, P = 1, R = 3/5,
    // F = 2·0.6 / 1.6 = 0.75.
    assert!(close(rouge_l("IgA肾病", "IgA 肾病所致"), 0.75));
}

#[test]
fn rouge_l_edge_cases() {
    assert_eq!(rouge_l("", ""), 1.0);
    assert_eq!(rouge_l("", "患者"), 0.0);
    assert_eq!(rouge_l("肺炎", ""), 0.0);
    assert_eq!(rouge_l("肺炎", "骨折"), 0.0);
    assert!(close(rouge_l("慢性肾脏病", "慢性肾脏病"), 1.0));
}

#[test]
fn bleu_english_with_smoothing() {
    // cand: the cat sat on the mat; ref: the cat is on the mat.
    // p1: clipped unigram matches the×2, cat, on, mat = 5 of 6 → 5/6
    // p2: the-cat, on-the, the-mat = 3 of 5 → 3/5
    // p3: on-the-mat = 1 of 4 → 1/4
    // p4: no match of 3 → smoothed 0.1/3 = 1/30
    // BP = 1 (equal lengths); BLEU = (5/6 · 3/5 · 1/4 · 1/30)^(1/4) = (1/240)^(1/4)
    //   = 1 / 3.935979 ≈ 0.254066.
    let expected = (1.0f64 / 240.0).powf(0.25);
    assert!(close(
        bleu("the cat sat on the mat", "the cat is on the mat"),
        expected
    ));
    assert!(close(expected, 0.254066));
}

#[test]
fn bleu_brevity_penalty_and_short_candidates() {
    // cand: the cat (2 tokens); ref: the cat is on the mat (6 tokens).
    // p1 = 2/2, p2 = 1/1; no trigram or 4-gram in the candidate → 0.1/max(1, 0) = 0.1 each.
    // Precision part = (1·1·0.1·0.1)^(1/4) = 0.01^(1/4) ≈ 0.316228.
    // BP = exp(1 − 6/2) = exp(−2) ≈ 0.135335; BLEU ≈ 0.042797.
    let expected = 0.01f64.powf(0.25) * (-2.0f64).exp();
    assert!(close(bleu("the cat", "the cat is on the mat"), expected));
    assert!(close(expected, 0.042797));
    // cand: 慢性肾脏病 (5 chars), ref: 慢性肾脏病四期 (7 chars): every n-gram
    // precision is 1; BP = exp(1 − 7/5) = exp(−0.4) ≈ 0.670320.
    assert!(close(bleu("慢性肾脏病", "慢性肾脏病四期"), (-0.4f64).exp()));
}

#[test]
fn bleu_edge_cases() {
    assert!(close(bleu("患者有高血压", "患者有高血压"), 1.0));
    assert_eq!(bleu("肺炎", "骨折"), 0.0);
    assert_eq!(bleu("", "骨折"), 0.0);
    assert_eq!(bleu("骨折", ""), 0.0);
}
