#!/usr/bin/env bash
# Builds versitygw (an S3-compatible gateway; its posix backend keeps objects as
# files in a directory) that the media tests start as their real S3 server,
# into .tools/bin/versitygw. Cached per version in ~/.cache/chat-api-tools, as
# scripts/install-ferretdb.sh does for FerretDB, so later runs only copy it.
#
# Built the same way as FerretDB: `go install ...@v1.8.0` asks the module proxy
# for the module's version list, which is refused here, so fetch the pinned
# module with `go mod download` and build its cmd/versitygw with its own go.mod
# and go.sum. Only the server is needed: no web UI, no cgo.
set -euo pipefail
VERSION=v1.8.0
cd "$(dirname "$0")/.."
BIN="$PWD/.tools/bin"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/chat-api-tools/versitygw-$VERSION"
mkdir -p "$BIN"
if [ ! -x "$CACHE" ]; then
  command -v go >/dev/null || { echo "go is needed to build versitygw" >&2; exit 1; }
  dir=$(GOFLAGS=-mod=mod go mod download -json "github.com/versity/versitygw@$VERSION" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).Dir))')
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cp -r "$dir/." "$work/"
  chmod -R u+w "$work"
  mkdir -p "$(dirname "$CACHE")"
  (cd "$work" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.Version=$VERSION" -o "$CACHE.tmp" ./cmd/versitygw)
  mv "$CACHE.tmp" "$CACHE"
fi
cp "$CACHE" "$BIN/versitygw"
"$BIN/versitygw" --version | head -1
