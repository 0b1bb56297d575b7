// Command flowmd-loss serves every loss of package losses as a loss plugin.
// mdrun starts it, or serves the same plugin itself (mdrun plugin-serve
// loss); its options are documented in package plugins/builtin.
package main

import "github.com/flowmd/flowmd/plugins/builtin"

func main() { builtin.ServeLoss() }
