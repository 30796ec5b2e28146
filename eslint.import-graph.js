/**
 * An eslint rule that refuses import cycles: it resolves each file's imports (relative paths and the
 * package.json "imports" aliases) and reports an import through which the file reaches itself again.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const aliases = Object.entries(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).imports ?? {}).map(([k, v]) => [
  k.slice(0, -1),
  v.slice(0, -1),
]);
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The absolute path an import specifier names, when it is one of the project's own files. */
function resolveSpecifier(from, spec) {
  let target;
  if (spec.startsWith('.')) target = resolve(dirname(from), spec);
  else {
    const alias = aliases.find(([prefix]) => spec.startsWith(prefix));
    if (!alias) return undefined;
    target = resolve(root, alias[1] + spec.slice(alias[0].length));
  }
  return existsSync(target) ? normalize(target) : undefined;
}

const graph = new Map();
function importsOf(file) {
  let edges = graph.get(file);
  if (!edges) {
    edges = [];
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(IMPORT)) {
      const target = resolveSpecifier(file, m[1] ?? m[2]);
      if (target) edges.push(target);
    }
    graph.set(file, edges);
  }
  return edges;
}

/** A path from `start` back to `goal`, or undefined. */
function pathBack(start, goal) {
  const seen = new Set();
  const stack = [[start, [start]]];
  while (stack.length) {
    const [file, path] = stack.pop();
    if (file === goal) return path;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const next of importsOf(file)) stack.push([next, [...path, next]]);
  }
  return undefined;
}

export const importGraph = {
  rules: {
    'no-import-cycle': {
      meta: {
        type: 'problem',
        messages: { cycle: 'Import cycle: {{path}}. Move what both sides need into a module they can both import.' },
        schema: [],
      },
      create(context) {
        const file = normalize(context.filename);
        graph.delete(file);
        const check = (node, spec) => {
          if (typeof spec !== 'string') return;
          const target = resolveSpecifier(file, spec);
          if (!target) return;
          const back = pathBack(target, file);
          if (back) context.report({ node, messageId: 'cycle', data: { path: [file, ...back].map((f) => relative(root, f)).join(' → ') } });
        };
        return {
          ImportDeclaration: (node) => check(node, node.source.value),
          ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
          ExportAllDeclaration: (node) => check(node, node.source.value),
          ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
        };
      },
    },
  },
};
