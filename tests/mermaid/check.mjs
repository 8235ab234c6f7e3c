import { JSDOM } from 'jsdom';
const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window; globalThis.document = dom.window.document;
globalThis.DOMPurify = undefined;
const { default: mermaid } = await import('mermaid');
import { readFileSync } from 'fs';
const text = readFileSync(0, 'utf8');
const blocks = [...text.matchAll(/```mermaid\n([\s\S]*?)```/g)].map(m => m[1]);
let bad = 0;
for (const b of blocks) {
  try { await mermaid.parse(b); } catch (e) { bad++; console.log('PARSE ERROR:', String(e.message || e).slice(0, 300)); }
}
console.log(`${blocks.length} diagrams, ${bad} failed`);
process.exit(bad ? 1 : 0);
