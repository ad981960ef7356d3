/** Agreement between estimated and reference heart rates, in bpm unless named otherwise. */
export interface AgreementMetrics {
  n: number;
  rmse: number;
  mae: number;
  /** Mean absolute percentage error, in percent of the reference. */
  mape: number;
  /** Pearson correlation; NaN when either side is constant. */
  pearsonR: number;
  /** Bland-Altman: mean of (estimate - reference) and its 95% limits of agreement (bias +/- 1.96 sd). */
  bias: number;
  loaLower: number;
  loaUpper: number;
}

export function agreement(estimate: ArrayLike<number>, reference: ArrayLike<number>): AgreementMetrics {
  const n = estimate.length;
  if (n !== reference.length)
    throw new RangeError(`estimate has ${n} values but reference has ${reference.length}.`);
  if (n === 0)
    return {
      n,
      rmse: Number.NaN,
      mae: Number.NaN,
      mape: Number.NaN,
      pearsonR: Number.NaN,
      bias: Number.NaN,
      loaLower: Number.NaN,
      loaUpper: Number.NaN,
    };
  let se = 0;
  let ae = 0;
  let ape = 0;
  let sumE = 0;
  let sumR = 0;
  for (let i = 0; i < n; i++) {
    const d = estimate[i]! - reference[i]!;
    se += d * d;
    ae += Math.abs(d);
    ape += Math.abs(d) / Math.abs(reference[i]!);
    sumE += estimate[i]!;
    sumR += reference[i]!;
  }
  const meanE = sumE / n;
  const meanR = sumR / n;
  let cov = 0;
  let varE = 0;
  let varR = 0;
  for (let i = 0; i < n; i++) {
    cov += (estimate[i]! - meanE) * (reference[i]! - meanR);
    varE += (estimate[i]! - meanE) ** 2;
    varR += (reference[i]! - meanR) ** 2;
  }
  const bias = meanE - meanR;
  // Sample standard deviation of the differences (n - 1), as Bland and Altman use.
  let sdDiff = 0;
  for (let i = 0; i < n; i++) sdDiff += (estimate[i]! - reference[i]! - bias) ** 2;
  sdDiff = n > 1 ? Math.sqrt(sdDiff / (n - 1)) : 0;
  return {
    n,
    rmse: Math.sqrt(se / n),
    mae: ae / n,
    mape: (100 * ape) / n,
    pearsonR: varE > 0 && varR > 0 ? cov / Math.sqrt(varE * varR) : Number.NaN,
    bias,
    loaLower: bias - 1.96 * sdDiff,
    loaUpper: bias + 1.96 * sdDiff,
  };
}

export function mean(values: number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((s, v) => s + v, 0) / values.length;
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
