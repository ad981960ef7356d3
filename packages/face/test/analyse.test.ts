import { describe, expect, it } from "vitest";
import { analysisSize } from "../src/analyse.ts";

describe("analysisSize", () => {
  it("divides a video by the largest integer that keeps its longer side at or above analysisSide", () => {
    expect(analysisSize(1280, 720, 640)).toEqual({ width: 640, height: 360 });
    expect(analysisSize(1920, 1080, 640)).toEqual({ width: 640, height: 360 });
    expect(analysisSize(3840, 2160, 640)).toEqual({ width: 640, height: 360 });
    expect(analysisSize(1080, 1920, 640)).toEqual({ width: 360, height: 640 });
    // Less than twice the side: as stored (halving 720x576 would leave 360 px).
    expect(analysisSize(720, 576, 640)).toEqual({ width: 720, height: 576 });
    expect(analysisSize(640, 480, 640)).toEqual({ width: 640, height: 480 });
    expect(analysisSize(320, 240, 640)).toEqual({ width: 320, height: 240 });
  });

  it("keeps every video at its stored size with analysisSide 0", () => {
    expect(analysisSize(1920, 1080, 0)).toEqual({ width: 1920, height: 1080 });
    expect(analysisSize(1920, 1080)).toEqual({ width: 1920, height: 1080 });
  });
});
