package plugins

// The protocol's Go and Python code is generated from
// proto/flowmd/plugin/v1/plugin.proto and committed, so building flowmd needs
// no protobuf tools. scripts/gen-proto.sh installs the generators (Debian's
// protobuf-compiler and protobuf-compiler-grpc, protoc-gen-go and
// protoc-gen-go-grpc at pinned versions) and runs them.
//go:generate bash ../scripts/gen-proto.sh
