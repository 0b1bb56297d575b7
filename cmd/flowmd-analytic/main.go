// Command flowmd-analytic serves the analytic benchmark energies (double
// wells, DW4, LJ13, Gaussian mixtures, phi^4) as a force-field plugin. mdrun
// starts it, or serves the same plugin itself (mdrun plugin-serve analytic);
// its options are documented in package plugins/builtin.
package main

import "github.com/flowmd/flowmd/plugins/builtin"

func main() { builtin.ServeAnalytic() }
