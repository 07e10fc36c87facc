import { describe, expect, it } from "vitest";
import { caretOffset } from "./caret.ts";

describe("a problem's line:column as a caret position", () => {
  const yaml = "host: 127.0.0.1\nport: 8317\nrouting:\n  strategy: fastest\n";

  it("lands on the character the checker points at", () => {
    const at = caretOffset(yaml, 4, 13);
    expect(yaml.slice(at, at + 7)).toBe("fastest");
    expect(caretOffset(yaml, 1, 1)).toBe(0);
  });

  it("counts columns in characters, as the checker does, past emoji and accents", () => {
    const text = "a: 1\nlabel: \"🚀 é\" oops\n";
    const at = caretOffset(text, 2, 14);
    expect(text.slice(at, at + 4)).toBe("oops");
  });

  it("keeps positions outside the text at its edges", () => {
    expect(caretOffset(yaml, 2, 99)).toBe("host: 127.0.0.1\nport: 8317".length);
    expect(caretOffset(yaml, 99, 1)).toBe(yaml.length);
    expect(caretOffset(yaml, 0, 0)).toBe(0);
  });
});
