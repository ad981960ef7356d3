import { estimatorNames } from "@hrpipe/contracts";
import { rppgMethods } from "@hrpipe/signal";
import { describe, expect, it } from "vitest";

describe("the reports' estimators", () => {
  it("are the CNN and every rPPG method the eval stage runs, so no method's results are dropped by the report schema", () => {
    expect(estimatorNames).toEqual(["cnn", ...rppgMethods]);
  });
});
