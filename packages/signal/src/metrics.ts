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

/** Heart-rate bands' upper edges, bpm: < 60, 60-80, 80-100, >= 100 (the study's proposed classification view). */
export const hrBandEdgesBpm = [60, 80, 100] as const;

export interface BandAgreement {
  /** Band labels, e.g. "<60", "60-80", "80-100", ">=100". */
  bands: string[];
  /** confusion[reference band][estimated band]: counts. */
  confusion: number[][];
  accuracy: number;
  /** Mean over the bands that occur in the reference or the estimate of each band's F1. */
  macroF1: number;
}

function bandOf(hrBpm: number, edges: readonly number[]): number {
  const index = edges.findIndex((edge) => hrBpm < edge);
  return index < 0 ? edges.length : index;
}

/** Heart rates as bands instead of numbers: the confusion matrix, accuracy and macro-F1 of the estimates' bands. */
export function bandAgreement(
  estimate: ArrayLike<number>,
  reference: ArrayLike<number>,
  edges: readonly number[] = hrBandEdgesBpm,
): BandAgreement {
  if (estimate.length !== reference.length)
    throw new RangeError(`estimate has ${estimate.length} values but reference has ${reference.length}.`);
  const k = edges.length + 1;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < estimate.length; i++)
    confusion[bandOf(reference[i]!, edges)]![bandOf(estimate[i]!, edges)]!++;
  const bands = Array.from({ length: k }, (_, b) =>
    b === 0 ? `<${edges[0]}` : b === k - 1 ? `>=${edges[k - 2]}` : `${edges[b - 1]}-${edges[b]}`,
  );
  let correct = 0;
  const f1s: number[] = [];
  for (let b = 0; b < k; b++) {
    correct += confusion[b]![b]!;
    const truePositive = confusion[b]![b]!;
    const actual = confusion[b]!.reduce((s, v) => s + v, 0);
    const predicted = confusion.reduce((s, row) => s + row[b]!, 0);
    if (actual + predicted === 0) continue;
    f1s.push((2 * truePositive) / (actual + predicted));
  }
  return {
    bands,
    confusion,
    accuracy: estimate.length === 0 ? Number.NaN : correct / estimate.length,
    macroF1: mean(f1s),
  };
}
