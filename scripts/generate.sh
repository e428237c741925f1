#!/usr/bin/env bash
# Generates all code from proto/ (see buf.gen.yaml and buf.gen.test.yaml).
#
#   scripts/generate.sh            write into the repository (src/gen, test/twirp-client/gen)
#   scripts/generate.sh OUT_DIR    write the same tree under OUT_DIR instead (used by
#                                  scripts/check-generated.sh)
#
# Only local plugins from node_modules run: nothing is downloaded.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="${1:-.}"
buf="$root/node_modules/.bin/buf"

"$buf" generate --template buf.gen.yaml -o "$out"
"$buf" generate --template buf.gen.test.yaml -o "$out"

# protobuf-ts writes `from "./pending_message"`; NodeNext resolution (tsconfig.json) needs
# the `.js` extension on relative imports. protoc-gen-es has `import_extension=js` for this;
# protobuf-ts 2.11 has no such option. (Node rather than `sed -i`, whose flags differ by OS.)
node --input-type=module - "$out/test/twirp-client/gen" <<'JS'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const dir = process.argv[2];
for (const entry of readdirSync(dir, { recursive: true })) {
  if (!entry.endsWith('.ts')) continue;
  const file = join(dir, entry);
  const text = readFileSync(file, 'utf8');
  const fixed = text.replace(/^(import .* from "\.\.?\/[^"]*?)(?<!\.js)";$/gm, '$1.js";');
  if (fixed !== text) writeFileSync(file, fixed);
}
JS
