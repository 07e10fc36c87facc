/**
 * Where a problem at `line`:`column` (both from 1, the column counted in characters as the config
 * checker counts them) is in `text`, as the UTF-16 offset a textarea's selection uses. Positions past
 * the end of a line or of the text land at its end.
 */
export function caretOffset(text: string, line: number, column: number): number {
  const lines = text.split("\n");
  const row = Math.min(Math.max(line, 1), lines.length) - 1;
  let offset = 0;
  for (let i = 0; i < row; i++) offset += (lines[i] ?? "").length + 1;
  const chars = Array.from(lines[row] ?? "");
  const col = Math.min(Math.max(column, 1) - 1, chars.length);
  return offset + chars.slice(0, col).join("").length;
}
