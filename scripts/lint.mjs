#!/usr/bin/env node
// Project lint, run by `npm test`: the architecture's rules, checked on the TypeScript sources.
//  1. Layers import downward only: lib ← arch ← os ← sdk ← attest ← shield ← platform ← cli/web.
//  2. Only src/os executes ENCLS (`.encls(` / `.edbgwr(` calls); src/arch defines them.
//  3. No bare `throw new Error(` in src/ (every software error has a layer class and a code).
//  4. No default exports in src/.
//  5. No `any` in src/ except where a line is marked `lint-allow-any`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve, sep } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const src = join(root, 'src');
const RANK = { lib: 0, types: 0, arch: 1, os: 2, sdk: 3, attest: 4, shield: 5, platform: 6, cli: 7, web: 7 };

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* walk(p);
    else if (p.endsWith('.ts')) yield p;
  }
}

const problems = [];
const layerOf = (file) => {
  const rel = relative(src, file).split(sep);
  return rel.length > 1 ? rel[0] : null; // src/index.ts is the package root
};

for (const file of walk(src)) {
  const text = readFileSync(file, 'utf8');
  const rel = relative(root, file);
  const layer = layerOf(file);
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const at = `${rel}:${i + 1}`;
    const m = line.match(/^\s*(?:import|export)\s[^'"]*from\s+['"](\.[^'"]+)['"]/) ?? line.match(/^\s*import\s+['"](\.[^'"]+)['"]/) ?? line.match(/import\(\s*['"](\.[^'"]+)['"]\s*\)/);
    if (m && layer !== null) {
      const target = resolve(dirname(file), m[1]);
      if (!target.startsWith(src + sep)) problems.push(`${at}: imports outside src/: ${m[1]}`);
      else {
        const tl = layerOf(target);
        if (tl === null) problems.push(`${at}: a layer may not import the package root (${m[1]})`);
        else if (!(tl in RANK) || !(layer in RANK)) problems.push(`${at}: unknown layer ${tl in RANK ? layer : tl}`);
        else if (tl !== layer && RANK[tl] >= RANK[layer]) problems.push(`${at}: layer '${layer}' may not import from '${tl}' (imports point down: lib ← arch ← os ← sdk ← attest ← shield ← platform ← cli/web)`);
      }
    }
    if (/\.(encls|edbgwr)\(/.test(line) && layer !== 'os' && layer !== 'arch') problems.push(`${at}: only src/os may execute ENCLS leaves`);
    if (/throw new Error\(/.test(line)) problems.push(`${at}: bare \`throw new Error\`; use the layer's error class with a code`);
    if (/^\s*export\s+default\b/.test(line)) problems.push(`${at}: default export; use named exports`);
    if (/(:\s*any\b|<any>|\bas any\b|any\[\])/.test(line) && !/lint-allow-any/.test(line) && !/^\s*(\/\/|\*)/.test(line)) problems.push(`${at}: \`any\`; use a precise type or unknown`);
  });
}

if (problems.length) {
  console.error(`lint: ${problems.length} problem(s)`);
  for (const p of problems) console.error('  ' + p);
  process.exit(1);
}
console.log('lint: ok (layers, ENCLS confinement, error classes, named exports, no any)');
