/** A MATLAB value as read from a Level 5 MAT-file. Numeric data is column-major, as MATLAB stores it. */
export type MatValue = MatNumeric | MatChar | MatCell | MatStruct;

export type NumericClass =
  | "double"
  | "single"
  | "int8"
  | "uint8"
  | "int16"
  | "uint16"
  | "int32"
  | "uint32"
  | "int64"
  | "uint64";

export interface MatNumeric {
  kind: "numeric";
  numericClass: NumericClass;
  logical: boolean;
  dims: number[];
  /** Real part, converted to doubles (int64 beyond 2^53 loses precision). */
  real: Float64Array;
  imag?: Float64Array;
}

export interface MatChar {
  kind: "char";
  dims: number[];
  /** The characters in column-major order; for a 1xN char array, the string itself. */
  text: string;
}

export interface MatCell {
  kind: "cell";
  dims: number[];
  cells: MatValue[];
}

export interface MatStruct {
  kind: "struct";
  dims: number[];
  fieldNames: string[];
  /** One record per struct element, column-major. */
  elements: Record<string, MatValue>[];
}

export interface MatFile {
  /** The 116-byte descriptive text of the header. */
  description: string;
  variables: Record<string, MatValue>;
}

export class MatFileError extends Error {
  override name = "MatFileError";
}
