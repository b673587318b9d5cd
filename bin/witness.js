#!/usr/bin/env node
// The `witness` command. The implementation is compiled TypeScript in dist/ (built by `npm ci`).
process.stdout.on('error', (err) => {
  if (err && err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});
import('../dist/src/cli/main.js')
  .then((cli) => cli.main(process.argv.slice(2)))
  .then((code) => {
    process.exitCode = code;
  })
  .catch((err) => {
    if (err && err.code === 'ERR_MODULE_NOT_FOUND') {
      process.stderr.write('witness: not built yet; run `npm ci` (or `npm run build`) first\n');
    } else {
      process.stderr.write(`witness: ${err && err.stack ? err.stack : String(err)}\n`);
    }
    process.exitCode = 70;
  });
