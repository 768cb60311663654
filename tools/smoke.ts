// Smoke test for any running copy of the service: npm run smoke -- <base-url>
// Exits 0 only when every answer is right (tools/smoke-check.ts says what is checked).
import { smoke } from './smoke-check';

const base = process.argv[2];
if (!base || !/^https?:\/\//.test(base)) {
  console.error('usage: npm run smoke -- <base-url>   (e.g. http://localhost:8000)');
  process.exit(2);
}
smoke(base, (line) => console.log(line)).then((failed) => process.exit(failed === 0 ? 0 : 1));
