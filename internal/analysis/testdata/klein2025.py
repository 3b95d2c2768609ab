#!/usr/bin/env python3
"""Worked values for Klein et al. 2025, "Quantifying Uncertainty in Error
Consistency" (arXiv 2507.06645; code github.com/wichmann-lab/error_consistency),
computed independently from the definitions (standard library only, no code of
theirs), for internal/analysis/klein_test.go. Run: python3 klein2025.py; its
output is klein2025.txt beside it.

Definitions (ours and theirs agree on the first three):
- kappa = (c_obs - c_exp) / (1 - c_exp), c_exp = p1 p2 + (1-p1)(1-p2).
- kappa_max: c_obs = min(p1,p2) + min(1-p1,1-p2) = 1 - |p1-p2|;
  kappa_min: c_obs = 1 - min(p1,1-p2) - min(1-p1,p2) = |p1+p2-1|.
- Their accuracy bounds (src/minimal_examples/kappaBoundsAccuracy.py): given
  a1 and kappa, a2 lies in [a1 k / (2 a1 k - 2 a1 - k + 2),
  a1 (2-k) / (k + 2 a1 (1-k))], i.e. where kappa_max(a1, a2) = k.
- Their p-value (src/utils.py calculate_ec_pvalue): draw p1 ~ Beta(k1, n-k1),
  p2 ~ Beta(k2, n-k2), then n independent Bernoulli trials each; p = share of
  draws with |kappa| strictly greater than |observed| (an undefined kappa never
  counts). Its limit of infinitely many draws is computed here exactly: the
  drawn counts are beta-binomial, the both-right count given them
  hypergeometric.
- Ours (analysis.KappaRangeCounts): conditional on both observers' counts
  (Fisher's exact test of the 2x2 table of right/wrong): a ~ Hypergeometric,
  p = sum of P(a') over every a' no more likely than the observed a.
"""

import math


def kappa(n, k1, k2, a):
    p1, p2 = k1 / n, k2 / n
    cexp = p1 * p2 + (1 - p1) * (1 - p2)
    if cexp == 1:
        return math.nan
    cobs = (n - k1 - k2 + 2 * a) / n
    return (cobs - cexp) / (1 - cexp)


def kappa_max_rates(p1, p2):
    cexp = p1 * p2 + (1 - p1) * (1 - p2)
    return (min(p1, p2) + min(1 - p1, 1 - p2) - cexp) / (1 - cexp)


def kappa_min_rates(p1, p2):
    cexp = p1 * p2 + (1 - p1) * (1 - p2)
    return (1 - min(p1, 1 - p2) - min(1 - p1, p2) - cexp) / (1 - cexp)


def hyper(n, k1, k2):
    lo, hi = max(0, k1 + k2 - n), min(k1, k2)
    tot = math.comb(n, k2)
    return {a: math.comb(k1, a) * math.comb(n - k1, k2 - a) / tot for a in range(lo, hi + 1)}


def p_exact(n, k1, k2, a):
    """Ours: Fisher's rule, relative tolerance 1e-7 as R's fisher.test."""
    h = hyper(n, k1, k2)
    return min(1.0, sum(p for p in h.values() if p <= h[a] * (1 + 1e-7)))


def betabinom(n, al, be):
    lb = math.lgamma(al) + math.lgamma(be) - math.lgamma(al + be)
    return [
        math.comb(n, x) * math.exp(math.lgamma(x + al) + math.lgamma(n - x + be) - math.lgamma(n + al + be) - lb)
        for x in range(n + 1)
    ]


_tables = {}


def tables(n):
    """Every (j1, j2, |kappa|, P(a | j1, j2)) of n trials, undefined kappas left out."""
    if n not in _tables:
        _tables[n] = [
            (j1, j2, abs(kappa(n, j1, j2, a)), pa)
            for j1 in range(n + 1)
            for j2 in range(n + 1)
            for a, pa in hyper(n, j1, j2).items()
            if not math.isnan(kappa(n, j1, j2, a))
        ]
    return _tables[n]


_nulls = {}


def p_klein(n, k1, k2, ec, strict=True):
    """Their p-value's limit (infinitely many draws); strict=False counts ties."""
    if (n, k1, k2) not in _nulls:
        b1, b2 = betabinom(n, k1, n - k1), betabinom(n, k2, n - k2)
        null = {}
        for j1, j2, k, pa in tables(n):
            key = round(k, 9)
            null[key] = null.get(key, 0.0) + b1[j1] * b2[j2] * pa
        _nulls[(n, k1, k2)] = null
    x = round(abs(ec), 9)
    return sum(w for k, w in _nulls[(n, k1, k2)].items() if (k > x if strict else k >= x))


def size(n, q1, q2, test, alpha=0.05):
    """Exact rejection rate at alpha of two observers who err independently
    with true accuracies q1, q2 on n trials (undecidable tables never reject)."""
    rej = 0.0
    binom = lambda k, q: math.comb(n, k) * q**k * (1 - q) ** (n - k)
    cache = {}
    for k1 in range(n + 1):
        for k2 in range(n + 1):
            w = binom(k1, q1) * binom(k2, q2)
            if k1 in (0, n) or k2 in (0, n):
                continue  # kappa 0 or undefined; their Beta draw is impossible
            for a, pa in hyper(n, k1, k2).items():
                key = (k1, k2, a)
                if key not in cache:
                    cache[key] = test(n, k1, k2, a)
                if cache[key] <= alpha * (1 + 1e-9):  # p = 1/20 exactly must count alike in floats
                    rej += w * pa
    return rej


def main():
    print("# kappa bounds given two accuracies")
    print("kappa_max(0.8, 0.6) = %.15f  (their tests/test_utils.py: 0.54545454545454)" % kappa_max_rates(0.8, 0.6))
    print("kappa_min(0.8, 0.6) = %.15f" % kappa_min_rates(0.8, 0.6))
    for a1, k, lo_r, hi_r in [(0.9, 0.5, ".75", ".96"), (0.7, 0.5, ".44", ".87"), (0.5, 0.5, ".25", ".75")]:
        lo = a1 * k / (2 * a1 * k - 2 * a1 - k + 2)
        hi = a1 * (2 - k) / (k + 2 * a1 * (1 - k))
        print(
            "accuracy bounds a1=%.1f k=%.1f: [%.15f, %.15f] (their README comment [%s, %s]); kappa_max there: %.15f %.15f"
            % (a1, k, lo, hi, lo_r, hi_r, kappa_max_rates(a1, lo), kappa_max_rates(a1, hi))
        )

    print("\n# p-values: theirs (limit of infinite draws, strict >), theirs counting ties (>=), ours (exact conditional)")
    cases = [
        # (label, n, k1, k2, a)
        ("tests/test_utils.py error_consistency([1,1,1,0,0,0],[1,1,0,0,0,0]); they assert p < 0.05", 6, 3, 2, 2),
        ("significance_tests/examples.ipynb, 10 trials, they call it not significant", 10, 7, 6, 5),
        ("tests/test_utils.py calculate_ec_pvalue(0.5, 50, 50, 100) < 1e-5; a = 37 gives kappa 0.48", 100, 50, 50, 37),
        ("tests/test_utils.py calculate_ec_pvalue(0.001, 70, 70, 100) > 0.95; a = 49 gives kappa 0", 100, 70, 70, 49),
        ("minimal_examples/MinimalExampleBootstrap.py's two 100-trial vectors (84, 93 right, 83 both: DESIGN.md's reference pair)", 100, 84, 93, 83),
        ("significance_tests/examples.ipynb copy model kappa 0.1, acc 0.7 and 0.75, 1000 trials (expected significant)", 1000, 700, 750, 545),
    ]
    for label, n, k1, k2, a in cases:
        k = kappa(n, k1, k2, a)
        print(label)
        if n <= 100:
            print(
                "  n=%d k1=%d k2=%d a=%d kappa=%.15f klein=%.6f klein_ties=%.6f ours=%.15f"
                % (n, k1, k2, a, k, p_klein(n, k1, k2, k), p_klein(n, k1, k2, k, strict=False), p_exact(n, k1, k2, a))
            )
        else:
            print("  n=%d k1=%d k2=%d a=%d kappa=%.15f ours=%.15g" % (n, k1, k2, a, k, p_exact(n, k1, k2, a)))

    print("\n# exact size at alpha = 0.05 for observers who err independently (true accuracies q1, q2)")
    klein = lambda n, k1, k2, a: p_klein(n, k1, k2, kappa(n, k1, k2, a))
    ties = lambda n, k1, k2, a: p_klein(n, k1, k2, kappa(n, k1, k2, a), strict=False)
    for n, q1, q2 in [(6, 0.5, 0.5), (10, 0.7, 0.6), (20, 0.8, 0.7), (20, 0.9, 0.6), (30, 0.5, 0.5), (30, 0.85, 0.75)]:
        print(
            "n=%d q1=%.2f q2=%.2f: ours %.6f  klein %.6f  klein_ties %.6f"
            % (n, q1, q2, size(n, q1, q2, p_exact), size(n, q1, q2, klein), size(n, q1, q2, ties))
        )


if __name__ == "__main__":
    main()
