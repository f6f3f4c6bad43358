//! Helpers shared by the analytic module's tests.

/// Asserts that `got` is within relative tolerance `rel_tol` of `want`
/// (absolute tolerance when `want` is 0), naming the case in the message so a
/// failing row of a data-driven table is easy to find.
#[track_caller]
pub(crate) fn check(label: &str, got: f64, want: f64, rel_tol: f64) {
    assert!(got.is_finite(), "{label}: got non-finite {got}, want {want}");
    let err = if want == 0.0 { got.abs() } else { ((got - want) / want).abs() };
    assert!(err <= rel_tol, "{label}: got {got:.12e}, want {want:.12e} (error {err:.3e} > tolerance {rel_tol:.1e})");
}

/// Asserts that `p` is a finite probability.
#[track_caller]
pub(crate) fn check_probability(label: &str, p: f64) {
    assert!(p.is_finite() && (0.0..=1.0).contains(&p), "{label}: {p} is not a probability");
}
