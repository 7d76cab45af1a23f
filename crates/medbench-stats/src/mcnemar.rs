//! McNemar's test for paired binary outcomes.

use crate::special::{binomial_cdf_half, chi_square_1_sf};
use serde::{Deserialize, Serialize};

/// Below this many discordant pairs (`b + c < 25`) [`mcnemar`] uses the exact
/// binomial test; at or above it, the continuity-corrected chi-square.
pub const EXACT_BELOW: u64 = 25;

/// Result of McNemar's test on two paired binary runs A and B.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct McNemar {
    /// Discordant pairs where A is right and B is wrong.
    pub b: u64,
    /// Discordant pairs where A is wrong and B is right.
    pub c: u64,
    /// Continuity-corrected chi-square `max(|b − c| − 1, 0)² / (b + c)`
    /// (0 when `b + c == 0`). Reported in both modes so results stay
    /// comparable; in exact mode the p-value does not come from it.
    pub statistic: f64,
    /// Two-sided p-value: exact binomial when `exact`, else χ²(1) tail.
    pub p_value: f64,
    /// Whether `p_value` is the exact binomial test (`b + c < 25`).
    pub exact: bool,
}

/// McNemar's test on paired binary outcomes: `a_correct[i]` and
/// `b_correct[i]` say whether runs A and B got item `i` right.
///
/// Only discordant pairs matter: `b` = #(A right, B wrong), `c` = #(A wrong,
/// B right). When `b + c` < [`EXACT_BELOW`] (25) the p-value is the exact
/// two-sided binomial test `min(1, 2·P(X <= min(b, c)))`, `X ~ Bin(b + c, ½)`;
/// otherwise the chi-square with continuity correction
/// `(|b − c| − 1)² / (b + c)` on 1 degree of freedom. No discordant pairs
/// (including empty input) gives `statistic = 0`, `p_value = 1`, `exact`.
///
/// # Panics
/// When the two slices differ in length (they must be aligned by item).
pub fn mcnemar(a_correct: &[bool], b_correct: &[bool]) -> McNemar {
    assert_eq!(
        a_correct.len(),
        b_correct.len(),
        "mcnemar: runs must be aligned item by item"
    );
    let (mut b, mut c) = (0u64, 0u64);
    for (&a, &bb) in a_correct.iter().zip(b_correct) {
        match (a, bb) {
            (true, false) => b += 1,
            (false, true) => c += 1,
            _ => {}
        }
    }
    mcnemar_counts(b, c)
}

/// McNemar's test from the discordant counts alone (see [`mcnemar`]).
pub(crate) fn mcnemar_counts(b: u64, c: u64) -> McNemar {
    let n = b + c;
    if n == 0 {
        return McNemar {
            b,
            c,
            statistic: 0.0,
            p_value: 1.0,
            exact: true,
        };
    }
    let corrected = (b.abs_diff(c) as f64 - 1.0).max(0.0);
    let statistic = corrected * corrected / n as f64;
    let exact = n < EXACT_BELOW;
    let p_value = if exact {
        (2.0 * binomial_cdf_half(b.min(c), n)).min(1.0)
    } else {
        chi_square_1_sf(statistic)
    };
    McNemar {
        b,
        c,
        statistic,
        p_value,
        exact,
    }
}
