// Command mdrun is flowmd's one command: it reads CHARMM systems, computes
// their energies, samples them and trains flows on them. Run `mdrun help`.
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
