// Side-by-side text diff of a node's previous and current output: changed
// lines are paired, and within a pair the changed words are marked.
import { diffLines, diffWordsWithSpace } from 'diff';

function lines(value) {
  const ls = value.split('\n');
  if (ls.length > 1 && ls[ls.length - 1] === '') ls.pop();
  return ls;
}

// sideBySide returns rows of {left, right, kind}: left and right are arrays
// of {text, changed} segments or null (no line on that side); kind is
// 'same', 'changed', 'removed' or 'added'.
export function sideBySide(before, after) {
  const rows = [];
  const parts = diffLines(String(before ?? ''), String(after ?? ''));
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (!p.added && !p.removed) {
      for (const l of lines(p.value)) rows.push({ kind: 'same', left: [{ text: l, changed: false }], right: [{ text: l, changed: false }] });
      continue;
    }
    let removed = [];
    let added = [];
    if (p.removed) {
      removed = lines(p.value);
      if (parts[i + 1] && parts[i + 1].added) added = lines(parts[++i].value);
    } else {
      added = lines(p.value);
    }
    const n = Math.max(removed.length, added.length);
    for (let j = 0; j < n; j++) {
      const l = removed[j];
      const r = added[j];
      if (l !== undefined && l === r) {
        // A last line with and without its newline is the same line.
        rows.push({ kind: 'same', left: [{ text: l, changed: false }], right: [{ text: r, changed: false }] });
      } else if (l !== undefined && r !== undefined) {
        const left = [];
        const right = [];
        for (const w of diffWordsWithSpace(l, r)) {
          if (!w.added) left.push({ text: w.value, changed: !!w.removed });
          if (!w.removed) right.push({ text: w.value, changed: !!w.added });
        }
        rows.push({ kind: 'changed', left, right });
      } else if (l !== undefined) {
        rows.push({ kind: 'removed', left: [{ text: l, changed: true }], right: null });
      } else {
        rows.push({ kind: 'added', left: null, right: [{ text: r, changed: true }] });
      }
    }
  }
  return rows;
}
