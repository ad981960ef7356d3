import { multiply, symmetricEigen } from "./linalg.ts";

/**
 * JADE blind source separation (Cardoso & Souloumiac 1993, "Blind beamforming for non-Gaussian
 * signals"), real-valued, as Poh, McDuff & Picard (2010) use it for rPPG and as rPPG-Toolbox's
 * ICA_POH runs it: whiten, estimate the fourth-order cumulant matrices, keep the m most significant
 * eigen-matrices, and diagonalise them jointly by Givens rotations until every rotation is smaller
 * than 1 / (100 sqrt(T)). `channels` are m signals of T samples; the result is m sources.
 */
export function jadeSources(channels: Float64Array[]): Float64Array[] {
  const m = channels.length;
  const t = channels[0]!.length;
  // Whitening by the inverse square root of the covariance (m sources from m channels).
  const { values, vectors } = symmetricEigen(covarianceOf(channels), m);
  const whitening = new Float64Array(m * m);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < m; j++) {
      let sum = 0;
      for (let k = 0; k < m; k++) sum += (vectors[i * m + k]! * vectors[j * m + k]!) / Math.sqrt(values[k]!);
      whitening[i * m + j] = sum;
    }
  const y = mix(whitening, channels);
  const r = covarianceOf(y);

  // Cumulants Q[(l m + k), (j m + i)] = E[y_l y_k y_j y_i] - R_ij R_lk - R_ik R_lj - R_il R_jk.
  const m2 = m * m;
  const q = new Float64Array(m2 * m2);
  for (let l = 0; l < m; l++)
    for (let k = 0; k < m; k++)
      for (let j = 0; j < m; j++)
        for (let i = 0; i < m; i++) {
          let sum = 0;
          for (let s = 0; s < t; s++) sum += y[l]![s]! * y[k]![s]! * y[j]![s]! * y[i]![s]!;
          q[(l * m + k) * m2 + j * m + i] =
            sum / t -
            r[i * m + j]! * r[l * m + k]! -
            r[i * m + k]! * r[l * m + j]! -
            r[i * m + l]! * r[j * m + k]!;
        }
  const eigen = symmetricEigen(q, m2);
  const order = Array.from({ length: m2 }, (_, i) => i).sort(
    (a, b) => Math.abs(eigen.values[b]!) - Math.abs(eigen.values[a]!),
  );
  // M = [lambda_1 Z_1, ..., lambda_m Z_m], each Z an m x m eigen-matrix: M[row, slice * m + col].
  const width = m * m;
  const mat = new Float64Array(m * width);
  for (let slice = 0; slice < m; slice++) {
    const index = order[slice]!;
    const lambda = Math.abs(eigen.values[index]!);
    for (let a = 0; a < m; a++)
      for (let b = 0; b < m; b++)
        mat[a * width + slice * m + b] = lambda * eigen.vectors[(a * m + b) * m2 + index]!;
  }

  const threshold = 1 / Math.sqrt(t) / 100;
  const v = new Float64Array(m * m);
  for (let i = 0; i < m; i++) v[i * m + i] = 1;
  for (let sweep = 0, rotated = true; rotated && sweep < 1000; sweep++) {
    rotated = false;
    for (let p = 0; p < m - 1; p++)
      for (let qq = p + 1; qq < m; qq++) {
        // The Givens angle that best diagonalises the (p, q) entries of every slice at once.
        let gg11 = 0;
        let gg12 = 0;
        let gg22 = 0;
        for (let slice = 0; slice < m; slice++) {
          const g1 = mat[p * width + slice * m + p]! - mat[qq * width + slice * m + qq]!;
          const g2 = mat[p * width + slice * m + qq]! + mat[qq * width + slice * m + p]!;
          gg11 += g1 * g1;
          gg12 += g1 * g2;
          gg22 += g2 * g2;
        }
        const ton = gg11 - gg22;
        const toff = 2 * gg12;
        const theta = 0.5 * Math.atan2(toff, ton + Math.sqrt(ton * ton + toff * toff));
        const c = Math.cos(theta);
        const s = Math.sin(theta);
        if (Math.abs(s) <= threshold) continue;
        rotated = true;
        for (let row = 0; row < m; row++) {
          const vp = v[row * m + p]!;
          const vq = v[row * m + qq]!;
          v[row * m + p] = c * vp + s * vq;
          v[row * m + qq] = -s * vp + c * vq;
        }
        for (let col = 0; col < width; col++) {
          const mp = mat[p * width + col]!;
          const mq = mat[qq * width + col]!;
          mat[p * width + col] = c * mp + s * mq;
          mat[qq * width + col] = -s * mp + c * mq;
        }
        for (let slice = 0; slice < m; slice++)
          for (let row = 0; row < m; row++) {
            const ip = row * width + slice * m + p;
            const iq = row * width + slice * m + qq;
            const mp = mat[ip]!;
            const mq = mat[iq]!;
            mat[ip] = c * mp + s * mq;
            mat[iq] = -s * mp + c * mq;
          }
      }
  }
  // Sources S = V' Y.
  return mix(multiply(transpose(v, m), whitening, m), channels);
}

/** E[x_i x_j] of m zero-mean signals, m x m row-major. */
function covarianceOf(signals: Float64Array[]): Float64Array {
  const m = signals.length;
  const t = signals[0]!.length;
  const covariance = new Float64Array(m * m);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < m; j++) {
      let sum = 0;
      for (let k = 0; k < t; k++) sum += signals[i]![k]! * signals[j]![k]!;
      covariance[i * m + j] = sum / t;
    }
  return covariance;
}

/** Rows of `matrix` (m x m, row-major) applied to the m signals. */
function mix(matrix: Float64Array, signals: Float64Array[]): Float64Array[] {
  const m = signals.length;
  return Array.from({ length: m }, (_, i) => {
    const row = new Float64Array(signals[0]!.length);
    for (let j = 0; j < m; j++) {
      const w = matrix[i * m + j]!;
      const x = signals[j]!;
      for (let k = 0; k < row.length; k++) row[k]! += w * x[k]!;
    }
    return row;
  });
}

function transpose(a: Float64Array, n: number): Float64Array {
  return Float64Array.from({ length: n * n }, (_, i) => a[(i % n) * n + Math.floor(i / n)]!);
}
