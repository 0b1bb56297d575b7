// Command flowmd-trainer serves the trainer: pre-training by maximum
// likelihood, then training with a loss plugin over the host's energy.
// mdrun starts it, or serves the same plugin itself (mdrun plugin-serve
// trainer); its options are documented in package plugins/builtin.
package main

import "github.com/flowmd/flowmd/plugins/builtin"

func main() { builtin.ServeTrainer() }
