#!/usr/bin/env bash
# Builds etcd v3.4.23's own load generator (tools/benchmark, Apache-2.0, source in ./src) offline,
# with Debian's Go and the Debian packages of its imports. Prints the binary's path.
#   bench/etcd-benchmark/build.sh [OUT_DIR]      (default: a cache folder under /tmp)
# Then, for example:
#   BIN put --endpoints 127.0.0.1:2379 --target-leader --clients 64 --conns 16 --precise \
#       --key-size 8 --val-size 100 --sequential-keys --key-space-size 1000 --total 100000
# (--key-space-size matters: its default of 1 writes one key; 16 connections for 64 clients
# served etcd best on this machine.)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-/tmp/etcd-benchmark}
mkdir -p "$out" && out=$(cd "$out" && pwd)   # Go wants an absolute GOPATH
bin=$out/benchmark
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
if ! command -v go >/dev/null || [ ! -d /usr/share/gocode/src/go.etcd.io/etcd ]; then
  export DEBIAN_FRONTEND=noninteractive
  (apt-get update -qq && apt-get install -y -qq --no-install-recommends golang-go golang-etcd-server-dev) >&2
fi
gp=$out/gopath
mkdir -p "$gp/src/go.etcd.io/etcd/tools"
rm -rf "$gp/src/go.etcd.io/etcd/tools/benchmark"
cp -r "$here/src" "$gp/src/go.etcd.io/etcd/tools/benchmark"
chmod -R u+w "$gp"
(cd "$gp/src/go.etcd.io/etcd/tools/benchmark" && GOPATH="$gp:/usr/share/gocode" GO111MODULE=off GOFLAGS= GOCACHE="$out/gocache" go build -o "$bin" .) >&2
echo "$bin"
