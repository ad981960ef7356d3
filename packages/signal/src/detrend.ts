/**
 * Smoothness-priors detrending (Tarvainen, Ranta-aho & Karjalainen 2002), as rPPG methods use it:
 * the trend solves (I + lambda^2 D2' D2) trend = x, with D2 the second-difference operator; the result is
 * x - trend. The system is pentadiagonal and symmetric positive definite, so it is solved in O(n).
 */
export function detrendSmoothnessPriors(x: Float64Array, lambda = 100): Float64Array {
  const n = x.length;
  if (n < 3) return Float64Array.from(x, (v) => v - x.reduce((s, w) => s + w, 0) / n);
  const l2 = lambda * lambda;
  // Bands of A = I + l2 * D2'D2 (main, first and second super-diagonals).
  const d0 = new Float64Array(n);
  const d1 = new Float64Array(n - 1);
  const d2 = new Float64Array(n - 2);
  for (let i = 0; i < n - 2; i++) {
    // Row i of D2 is [1, -2, 1] at columns i, i+1, i+2; D2'D2 accumulates its outer product.
    const c = [1, -2, 1];
    for (let a = 0; a < 3; a++) {
      d0[i + a]! += l2 * c[a]! * c[a]!;
      if (a < 2) d1[i + a]! += l2 * c[a]! * c[a + 1]!;
    }
    d2[i]! += l2 * c[0]! * c[2]!;
  }
  for (let i = 0; i < n; i++) d0[i]! += 1;
  // Banded LDL' factorisation and solve.
  const diag = new Float64Array(n);
  const l1 = new Float64Array(n);
  const l2band = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const a2 = i >= 2 ? d2[i - 2]! : 0;
    const a1 = i >= 1 ? d1[i - 1]! : 0;
    l2band[i] = i >= 2 ? a2 / diag[i - 2]! : 0;
    l1[i] = i >= 1 ? (a1 - (i >= 2 ? l2band[i]! * diag[i - 2]! * l1[i - 1]! : 0)) / diag[i - 1]! : 0;
    diag[i] =
      d0[i]! - (i >= 1 ? l1[i]! ** 2 * diag[i - 1]! : 0) - (i >= 2 ? l2band[i]! ** 2 * diag[i - 2]! : 0);
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++)
    y[i] = x[i]! - (i >= 1 ? l1[i]! * y[i - 1]! : 0) - (i >= 2 ? l2band[i]! * y[i - 2]! : 0);
  const trend = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    trend[i] =
      y[i]! / diag[i]! -
      (i + 1 < n ? l1[i + 1]! * trend[i + 1]! : 0) -
      (i + 2 < n ? l2band[i + 2]! * trend[i + 2]! : 0);
  }
  return Float64Array.from(x, (v, i) => v - trend[i]!);
}
