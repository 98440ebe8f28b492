/**
 * Runs once before the suite (`npm test`, and so `.ci/run`): installs every Debian package the
 * tests use that is missing, in one apt-get, so that no two test files ever install at once.
 * Not root and something missing: one line says what to install, and the run stops (exit 1).
 * Then the Python example tests' venv, also once.
 */
import { installAdvice, installDebianPackages, missingSuitePackages } from './helpers/debian.js';
import { ensurePythonVenv } from './helpers/python.js';

const missing = missingSuitePackages();
if (missing.length > 0) {
  if (process.getuid?.() !== 0) {
    process.stderr.write(`${installAdvice(missing)}\n`);
    process.exit(1);
  }
  process.stdout.write(`installing the Debian packages the tests use: ${missing.join(' ')}\n`);
  const started = Date.now();
  installDebianPackages(missing);
  const still = missingSuitePackages();
  if (still.length > 0) {
    process.stderr.write(`apt-get ran, but these are still missing: ${still.join(' ')}\n`);
    process.exit(1);
  }
  process.stdout.write(`installed in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
}

// The Python example tests' venv (the MCP SDK 2.x and FastAPI, from pip), made here once rather than in a test.
ensurePythonVenv();
