//! Hand-written distribution functions for McNemar's test: the binomial CDF
//! at p = ½ and the chi-square (1 df) survival function.

/// `P(X <= k)` for `X ~ Binomial(n, 1/2)`.
///
/// Exact integer arithmetic (`u128` binomial coefficients, one rounding at
/// the end) for `n <= 120`; a log-space sum above that, accurate to ~1e-12
/// relative. `k >= n` gives 1.
pub fn binomial_cdf_half(k: u64, n: u64) -> f64 {
    if k >= n {
        return 1.0;
    }
    if n <= 120 {
        // C(n, i) built incrementally: C(n, i) = C(n, i-1) * (n-i+1) / i, exact.
        let (mut c, mut total) = (1u128, 1u128);
        for i in 1..=k as u128 {
            c = c * (n as u128 - i + 1) / i;
            total += c;
        }
        // 2^n is exact in f64; `total` has at most 120 bits, so one rounding.
        return total as f64 / 2f64.powi(n as i32);
    }
    let ln2n = n as f64 * std::f64::consts::LN_2;
    let mut ln_c = 0.0f64;
    let mut sum = (-ln2n).exp();
    for i in 1..=k {
        ln_c += ((n - i + 1) as f64).ln() - (i as f64).ln();
        sum += (ln_c - ln2n).exp();
    }
    sum.min(1.0)
}

/// Upper tail `P(X >= x)` for `X ~ χ²(1)`, i.e. the regularised upper
/// incomplete gamma function `Q(1/2, x/2)` (= `erfc(√(x/2))`).
///
/// Series expansion below `x/2 < 1.5`, Lentz continued fraction above
/// (Numerical Recipes §6.2); relative accuracy ~1e-14. `x <= 0` gives 1,
/// `+∞` gives 0, NaN gives NaN.
pub fn chi_square_1_sf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 1.0;
    }
    if x.is_infinite() {
        return 0.0;
    }
    gamma_q_half(x / 2.0)
}

/// `Q(a, x)` for `a = 1/2`, `x > 0` finite.
fn gamma_q_half(x: f64) -> f64 {
    const A: f64 = 0.5;
    // ln Γ(1/2) = ln √π.
    const LN_GAMMA_A: f64 = 0.572_364_942_924_700_1;
    const EPS: f64 = 1e-16;
    const TINY: f64 = 1e-300;
    let prefactor = (-x + A * x.ln() - LN_GAMMA_A).exp();
    if x < A + 1.0 {
        // P(a, x) = e^{-x} x^a / Γ(a) · Σ x^n / (a (a+1) … (a+n)).
        let (mut ap, mut del) = (A, 1.0 / A);
        let mut sum = del;
        for _ in 0..1000 {
            ap += 1.0;
            del *= x / ap;
            sum += del;
            if del.abs() < sum.abs() * EPS {
                break;
            }
        }
        (1.0 - sum * prefactor).max(0.0)
    } else {
        // Modified Lentz evaluation of the continued fraction for Q(a, x).
        let mut b = x + 1.0 - A;
        let mut c = 1.0 / TINY;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..1000 {
            let an = -(i as f64) * (i as f64 - A);
            b += 2.0;
            d = an * d + b;
            if d.abs() < TINY {
                d = TINY;
            }
            c = b + an / c;
            if c.abs() < TINY {
                c = TINY;
            }
            d = 1.0 / d;
            let del = d * c;
            h *= del;
            if (del - 1.0).abs() < EPS {
                break;
            }
        }
        (prefactor * h).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    #[test]
    fn chi_square_matches_textbook_critical_values() {
        // Critical values of χ²(1): 3.841458820694124 → 0.05, 6.634896601021214
        // → 0.01, 10.827566170662733 → 0.001 (any statistics table).
        assert!(close(chi_square_1_sf(3.841_458_820_694_124), 0.05, 1e-12));
        assert!(close(chi_square_1_sf(6.634_896_601_021_214), 0.01, 1e-12));
        assert!(close(chi_square_1_sf(10.827_566_170_662_733), 0.001, 1e-11));
        // x = 1: P(|Z| >= 1) = 0.3173105078629141.
        assert!(close(chi_square_1_sf(1.0), 0.317_310_507_862_914_1, 1e-13));
        // Series branch: x = 0.5 → erfc(0.5) = 0.4795001221869535.
        assert!(close(chi_square_1_sf(0.5), 0.479_500_122_186_953_5, 1e-13));
        // Far tail: x = 100 → erfc(√50) = 1.5239706048320995e-23.
        assert!(close(
            chi_square_1_sf(100.0),
            1.523_970_604_832_099_5e-23,
            1e-10
        ));
        assert_eq!(chi_square_1_sf(0.0), 1.0);
        assert_eq!(chi_square_1_sf(-3.0), 1.0);
        assert_eq!(chi_square_1_sf(f64::INFINITY), 0.0);
        assert!(chi_square_1_sf(f64::NAN).is_nan());
    }

    #[test]
    fn binomial_cdf_by_hand() {
        // n = 12: P(X <= 2) = (1 + 12 + 66) / 4096 = 79/4096.
        assert_eq!(binomial_cdf_half(2, 12), 79.0 / 4096.0);
        // n = 1: P(X <= 0) = 1/2.
        assert_eq!(binomial_cdf_half(0, 1), 0.5);
        // Symmetry: P(X <= 4 | n = 9) = 1/2 (256/512).
        assert_eq!(binomial_cdf_half(4, 9), 0.5);
        assert_eq!(binomial_cdf_half(12, 12), 1.0);
        assert_eq!(binomial_cdf_half(0, 0), 1.0);
    }

    #[test]
    fn binomial_log_branch_agrees_with_exact_values() {
        // n = 200, k = 100: P = 1/2 + C(200,100)/2^201, with
        // C(200,100)/2^200 = 0.05634847900925642 → 0.5281742395046282.
        assert!(close(
            binomial_cdf_half(100, 200),
            0.528_174_239_504_628_2,
            1e-12
        ));
        // n = 121 (log branch), k = 60: exactly 1/2 by symmetry.
        assert!(close(binomial_cdf_half(60, 121), 0.5, 1e-12));
        // n = 150, k = 39: Σ_{i<=39} C(150,i)/2^150 = 1.6923189428778075e-09.
        assert!(close(
            binomial_cdf_half(39, 150),
            1.692_318_942_877_807_5e-9,
            1e-10
        ));
        // n = 120 (exact branch), k = 60: 1/2 + C(120,60)/2^121.
        assert!(close(
            binomial_cdf_half(60, 120),
            0.536_342_489_455_058_4,
            1e-15
        ));
    }
}
