#!/usr/bin/env bash
# Regenerates bench/twirp-ts/gen/ (the twirp-ts benchmark contender) from proto/ with
# bench/buf.gen.twirp-ts.yaml, local plugins only (nothing is downloaded), then makes the
# output fit this repository:
# - `.js` extensions on relative imports (NodeNext);
# - twirp-ts's generated file imports its types (TwirpContext, Interceptor, ...) as values
#   from the CommonJS `twirp-ts`; under verbatimModuleSyntax Node then fails with "does not
#   provide an export named". Names that are not runtime exports move to an `import type`;
# - `// @ts-nocheck` on the twirp-ts file (its code predates our strict flags; protobuf-ts's
#   files get it from the `ts_nocheck` option).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
node_modules/.bin/buf generate --template bench/buf.gen.twirp-ts.yaml
node --input-type=module - bench/twirp-ts/gen <<'JS'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
const runtime = new Set(Object.keys(createRequire(join(process.cwd(), 'package.json'))('twirp-ts')));
const dir = process.argv[2];
for (const entry of readdirSync(dir, { recursive: true })) {
  if (!entry.endsWith('.ts')) continue;
  const file = join(dir, entry);
  const text = readFileSync(file, 'utf8');
  let fixed = text.replace(/^((?:import|export) [^;]*? from "\.\.?\/[^"]*?)(?<!\.js)";$/gms, '$1.js";');
  fixed = fixed.replace(/^import \{([^}]*)\} from "twirp-ts";$/m, (_all, list) => {
    const names = list.split(',').map((name) => name.trim()).filter(Boolean);
    const values = names.filter((name) => runtime.has(name));
    const types = names.filter((name) => !runtime.has(name));
    const lines = [];
    if (types.length > 0) lines.push(`import type { ${types.join(', ')} } from "twirp-ts";`);
    if (values.length > 0) lines.push(`import { ${values.join(', ')} } from "twirp-ts";`);
    return lines.join('\n');
  });
  if (!fixed.includes('@ts-nocheck')) fixed = `// @ts-nocheck\n${fixed}`;
  if (fixed !== text) writeFileSync(file, fixed);
}
JS
echo "bench/twirp-ts/gen regenerated"
