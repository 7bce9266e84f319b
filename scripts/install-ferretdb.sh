#!/usr/bin/env bash
# Builds the FerretDB server (a MongoDB wire-protocol server on SQLite) that the
# MongoDB tests start, into .tools/bin/ferretdb. The binary is cached per
# version in ~/.cache/chat-api-tools, so that later runs on the same machine
# only copy it.
#
# Not `go install ...@v1.24.0`: that asks the module proxy for the module's
# version list (refused here), and the binary it makes panics at start for want
# of build/version/version.txt, which the module zip does not ship. So: fetch
# the pinned module, write that file as FerretDB's own message suggests, and
# build its cmd/ferretdb with its own go.mod and go.sum.
set -euo pipefail
VERSION=v1.24.0
cd "$(dirname "$0")/.."
BIN="$PWD/.tools/bin"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/chat-api-tools/ferretdb-$VERSION"
mkdir -p "$BIN"
if [ ! -x "$CACHE" ]; then
  command -v go >/dev/null || { echo "go is needed to build FerretDB" >&2; exit 1; }
  dir=$(GOFLAGS=-mod=mod go mod download -json "github.com/FerretDB/FerretDB@$VERSION" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).Dir))')
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cp -r "$dir/." "$work/"
  chmod -R u+w "$work"
  echo "$VERSION" > "$work/build/version/version.txt"
  mkdir -p "$(dirname "$CACHE")"
  (cd "$work" && go build -o "$CACHE.tmp" ./cmd/ferretdb)
  mv "$CACHE.tmp" "$CACHE"
fi
cp "$CACHE" "$BIN/ferretdb"
"$BIN/ferretdb" --version | head -1
