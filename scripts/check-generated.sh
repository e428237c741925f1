#!/usr/bin/env bash
# Fails when the committed generated code (src/gen, test/twirp-client/gen) is not what
# proto/ generates today: regenerates into a temporary directory and compares.
# Used by CI and `npm run generate:check`; fix a failure with `npm run generate`.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/pending-hooks-gen.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

bash "$root/scripts/generate.sh" "$tmp"

status=0
for dir in src/gen test/twirp-client/gen; do
  if [[ ! -d "$root/$dir" ]]; then
    echo "generate:check: $dir is missing" >&2
    status=1
  elif ! diff -r -u "$root/$dir" "$tmp/$dir" >&2; then
    status=1
  fi
done

if [[ $status -ne 0 ]]; then
  echo >&2
  echo "generate:check: the generated code is out of date with proto/ (diff above:" >&2
  echo "committed vs regenerated). Run 'npm run generate' and commit the result." >&2
  exit 1
fi
echo "generate:check: generated code is up to date."
