package plugins

import (
	"github.com/hashicorp/go-plugin"
)

// ProtocolVersion is the version of the plugin protocol this build speaks.
// go-plugin refuses a plugin built against another version at the
// handshake, naming both.
const ProtocolVersion = 1

// Plugin kinds.
const (
	KindForceField = "forcefield"
	KindFlow       = "flow"
	KindLoss       = "loss"
	KindTrainer    = "trainer"
	// kindInfo is the Info service every plugin serves.
	kindInfo = "info"
)

// Handshake is the go-plugin handshake of flowmd plugins. The cookie keeps a
// plugin binary, run by hand, from pretending to be a plugin server: it
// tells the user to run it through mdrun instead.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "FLOWMD_PLUGIN",
	MagicCookieValue: "3f1c8a8e2b6d4e07a9c5d1f0b7e6a2c4",
}
