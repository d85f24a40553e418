#!/usr/bin/env bash
# Regenerates the TypeScript of proto/ into a temporary folder with the same template and
# compares it, file by file, with the committed copy in libs/proto/src/gen: a .proto edited
# without regenerating (or a ts-proto upgrade) fails CI here instead of at run time.
set -euo pipefail
cd "$(dirname "$0")/../../.."

committed=libs/proto/src/gen
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --output prefixes the template's `out` (libs/proto/src/gen), so nothing in the tree is touched.
node_modules/.bin/buf generate proto --template proto/buf.gen.yaml --output "$tmp"
fresh="$tmp/$committed"

list() { if [ -d "$1" ]; then (cd "$1" && find . -type f | sed 's|^\./||'); fi; }

stale=()
while IFS= read -r file; do
  if [ ! -f "$committed/$file" ]; then
    stale+=("$committed/$file (missing)")
  elif [ ! -f "$fresh/$file" ]; then
    stale+=("$committed/$file (no longer generated)")
  elif ! cmp -s "$fresh/$file" "$committed/$file"; then
    stale+=("$committed/$file (differs)")
  fi
done < <({ list "$fresh"; list "$committed"; } | LC_ALL=C sort -u)

if [ "${#stale[@]}" -gt 0 ]; then
  echo "proto: the generated TypeScript is stale:" >&2
  printf '  %s\n' "${stale[@]}" >&2
  echo "run: npx nx run proto:generate" >&2
  exit 1
fi
echo "proto: libs/proto/src/gen matches proto/ ($(list "$fresh" | wc -l) files)"
