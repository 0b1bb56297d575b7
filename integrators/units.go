package integrators

// Boltzmann is k_B in kcal/(mol K).
const Boltzmann = 0.0019872041

// MDUnits converts kcal/mol/A/amu to A/ps^2: 1 kcal/mol = 418.4 amu A^2/ps^2.
const MDUnits = 418.4

// ReducedUnits is the conversion factor of models in reduced units, where
// energy, length, mass and time are all dimensionless.
const ReducedUnits = 1.0

// KT returns k_B T in kcal/mol for a temperature in kelvin.
func KT(kelvin float64) float64 { return Boltzmann * kelvin }
