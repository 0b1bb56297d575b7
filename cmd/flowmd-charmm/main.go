// Command flowmd-charmm serves the CHARMM energy of a PSF system, the
// engine's own kernel, as a force-field plugin: it measures what the plugin
// boundary costs. mdrun starts it, or serves the same plugin itself (mdrun
// plugin-serve charmm); its options are documented in package
// plugins/builtin.
package main

import "github.com/flowmd/flowmd/plugins/builtin"

func main() { builtin.ServeCharmm() }
