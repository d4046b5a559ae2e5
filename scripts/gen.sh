#!/usr/bin/env bash
# Regenerates src/generated/ from protos/ with buf (compiler shipped in its npm
# package) and protoc-gen-ts (pure JS). Needs only `npm install`; no network.
set -euo pipefail
cd "$(dirname "$0")/.."

buf=node_modules/.bin/buf
out=src/generated

rm -rf "$out"
mkdir -p "$out"
"$buf" lint
"$buf" generate
# Descriptor set (with imports and source info) for gRPC server reflection.
"$buf" build --as-file-descriptor-set -o "$out/prober.binpb"

# NodeNext ESM needs explicit extensions on relative imports.
find "$out" -name '*.ts' -print0 | xargs -0 sed -i -E \
  -e 's#(from ")(\.\.?/[^"]+)(";)#\1\2.js\3#'

# Generated code is kept out of our strictest flags (noUncheckedIndexedAccess):
# its exported types are still checked where we use them.
for f in $(find "$out" -name '*.ts'); do
  printf '// @ts-nocheck\n%s\n' "$(cat "$f")" > "$f"
done
