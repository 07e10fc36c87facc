import { describe, expect, it } from "vitest";
import { pageFromHash, requestFromHash, requestHash } from "./router.ts";

describe("routes", () => {
  it("names the page by the hash's first segment", () => {
    expect(pageFromHash("#/usage")).toBe("usage");
    expect(pageFromHash("#/usage/request/r1")).toBe("usage");
    expect(pageFromHash("#/nowhere")).toBe("overview");
    expect(pageFromHash("")).toBe("overview");
  });

  it("round-trips a request id through the detail route, escaped", () => {
    expect(requestFromHash(requestHash("cpa-1f/2 x"))).toBe("cpa-1f/2 x");
    expect(requestHash("a/b")).toBe("#/usage/request/a%2Fb");
    expect(requestFromHash("#/usage")).toBeUndefined();
    expect(requestFromHash("#/usage/request/%E0%A4%A")).toBeUndefined();
  });
});
