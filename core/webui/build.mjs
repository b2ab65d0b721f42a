// Builds the UI into dist/ (or --outdir DIR): one hashed script, one hashed
// stylesheet and the index.html that names them. The same sources and the
// same locked packages give the same bytes, so scripts/test can check that
// the committed dist/ is what the sources make.
import * as esbuild from 'esbuild';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const flag = process.argv.indexOf('--outdir');
const outdir = path.resolve(flag >= 0 ? process.argv[flag + 1] : path.join(here, 'dist'));

await rm(outdir, { recursive: true, force: true });
await mkdir(outdir, { recursive: true });

const result = await esbuild.build({
  absWorkingDir: here,
  entryPoints: { app: 'src/main.js' },
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
  charset: 'utf8',
  legalComments: 'eof',
  entryNames: 'assets/[name]-[hash]',
  assetNames: 'assets/[name]-[hash]',
  outdir,
  metafile: true,
  logLevel: 'warning',
});

const outputs = Object.keys(result.metafile.outputs).map((p) => path.relative(outdir, path.resolve(here, p)));
const script = outputs.find((p) => p.endsWith('.js'));
const style = outputs.find((p) => p.endsWith('.css'));
if (!script || !style) {
  throw new Error(`build made ${outputs.join(', ')}: expected one .js and one .css`);
}

await writeFile(
  path.join(outdir, 'index.html'),
  `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>aco</title>
<link rel="stylesheet" href="/${style}">
<script defer src="/${script}"></script>
</head>
<body>
<noscript>aco's UI needs JavaScript.</noscript>
</body>
</html>
`,
);
console.log(`built ${outputs.sort().join(', ')} and index.html in ${path.relative(process.cwd(), outdir) || '.'}`);
