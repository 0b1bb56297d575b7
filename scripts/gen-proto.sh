#!/usr/bin/env bash
# Regenerates the plugin protocol's Go and Python code from its .proto:
#   go generate ./plugins/
# Installs what it needs: Debian's protoc and gRPC Python generator, and the
# Go generators at the versions the committed code was made with.
set -euo pipefail
cd "$(dirname "$0")/.."
PROTOC_GEN_GO=v1.36.12
PROTOC_GEN_GO_GRPC=v1.6.2
if ! command -v protoc >/dev/null || ! command -v grpc_python_plugin >/dev/null; then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get install -y -q protobuf-compiler protobuf-compiler-grpc >/dev/null
fi
tools="$PWD/.tools"
mkdir -p "$tools"
GOBIN="$tools" go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO"
GOBIN="$tools" go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC"
export PATH="$tools:$PATH"
src=plugins/proto
protoc -I "$src" \
	--go_out=plugins/pluginpb --go_opt=paths=source_relative \
	--go-grpc_out=plugins/pluginpb --go-grpc_opt=paths=source_relative \
	flowmd/plugin/v1/plugin.proto
# Go code lands under the proto's folder; flatten it into the package.
mv plugins/pluginpb/flowmd/plugin/v1/*.go plugins/pluginpb/
rm -rf plugins/pluginpb/flowmd
# Python: messages and gRPC stubs for plugins written in Python.
out=plugins/python/flowmd_plugin/proto
mkdir -p "$out"
protoc -I "$src" --python_out="$out" --grpc_out="$out" \
	--plugin=protoc-gen-grpc="$(command -v grpc_python_plugin)" flowmd/plugin/v1/plugin.proto
# The stubs import the messages as a top-level module; make it package-relative.
sed -i 's/^from flowmd.plugin.v1 import plugin_pb2/from . import plugin_pb2/' "$out/flowmd/plugin/v1/plugin_pb2_grpc.py"
mv "$out"/flowmd/plugin/v1/*.py "$out"/
rm -rf "$out/flowmd"
touch "$out/__init__.py"
