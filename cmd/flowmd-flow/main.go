// Command flowmd-flow serves the thesis' coupling and spline flows, with the
// hydrogen placer for molecules, as a flow plugin. mdrun starts it, or
// serves the same plugin itself (mdrun plugin-serve flow); its options are
// documented in package plugins/builtin.
package main

import "github.com/flowmd/flowmd/plugins/builtin"

func main() { builtin.ServeFlow() }
