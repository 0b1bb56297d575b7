#!/usr/bin/env bash
# The whole test suite of flowmd, as CI runs it (.ci/run calls this script)
# and as the README tells developers to run it. It installs what the tests
# need that a fresh machine with Go lacks, then checks formatting, vets,
# runs every test (the concurrent energy kernel also under the race
# detector) and a short run of every fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."

# Fuzz budget per target, as a count of executions; FUZZTIME=0 skips the
# fuzz runs. A count, not a duration: with a duration, Go 1.26's fuzz
# coordinator can report a spurious "context deadline exceeded" failure as
# the time runs out (golang/go#75804, fixed in Go 1.27).
FUZZTIME=${FUZZTIME:-15000x}

echo "== go version"
go version

# Debian packages the tests use: OpenMM and NumPy, for the cross-check of
# the energy against OpenMM itself (engine/openmm_test.go), NumPy for the
# .npz datasets, MDTraj for the DCD trajectories, gRPC for Python for the
# Python plugin, and OpenBLAS for the flows.
need=()
/usr/bin/python3 -c 'import numpy' 2>/dev/null || need+=(python3-numpy)
/usr/bin/python3 -c 'from simtk import openmm' 2>/dev/null || need+=(python3-simtk)
/usr/bin/python3 -c 'import mdtraj' 2>/dev/null || need+=(python3-mdtraj)
/usr/bin/python3 -c 'import grpc' 2>/dev/null || need+=(python3-grpcio)
/usr/bin/python3 -c 'import google.protobuf' 2>/dev/null || need+=(python3-protobuf)
/usr/bin/python3 -c 'import cryptography' 2>/dev/null || need+=(python3-cryptography)
# OpenBLAS, which the flows' matrix products use when present (nn/openblas.go
# opens it at run time; without it they run on gonum's own GEMM).
ldconfig -p 2>/dev/null | grep -q 'libopenblas\.so\.0' || need+=(libopenblas0)
if [ ${#need[@]} -gt 0 ]; then
	echo "== installing ${need[*]}"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	if ! { $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${need[@]}"; } >/tmp/flowmd-apt.log 2>&1; then
		echo "could not install ${need[*]} (see /tmp/flowmd-apt.log); tests that need them are skipped outside CI"
		tail -5 /tmp/flowmd-apt.log
	fi
fi

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

echo "== go test"
go test -count=1 ./...

echo "== go test -race (energy kernel)"
if go env CGO_ENABLED | grep -q 1 && command -v gcc >/dev/null; then
	go test -count=1 -race ./forcefields/...
else
	echo "skipped: the race detector needs cgo and gcc"
fi

if [ "$FUZZTIME" != "0" ]; then
	echo "== fuzz ($FUZZTIME per target)"
	for target in FuzzReadPSF FuzzReadParameters FuzzReadPDB FuzzReadCRD; do
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" ./topology/
	done
	go test -run '^$' -fuzz '^FuzzReadRTF$' -fuzztime "$FUZZTIME" ./topology/build/
	go test -run '^$' -fuzz '^FuzzReadDCD$' -fuzztime "$FUZZTIME" ./trajectory/
fi
echo "== all tests passed"
