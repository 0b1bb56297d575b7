#!/usr/bin/env python3
"""Energies and forces of CHARMM configurations computed by OpenMM.

The independent check of flowmd's energy: the same settings as the
reference files in data/systems (CharmmPsfFile + CharmmParameterSet,
Reference platform, double precision, no cut-off, no constraints, vacuum).

    openmm_energies.py PSF COORDS.npy PARAM [PARAM ...] > out.json

COORDS.npy holds configurations [B, N, 3] in angstrom. The output is a JSON
list, one object per configuration, with energy_terms (bond, angle,
urey_bradley, dihedral, improper, cmap, lennard_jones, coulomb) in kcal/mol,
total_energy, and forces [N][3] in kcal/mol/A. Lennard-Jones and Coulomb are
separated by evaluating the non-bonded forces again with every charge set to
zero.

Needs OpenMM 7.7 or later (Debian: python3-simtk) and NumPy.
"""
import json
import sys

import numpy as np

try:
    import openmm as mm
    from openmm import app, unit
except ImportError:  # OpenMM 7.x as packaged by Debian
    from simtk import openmm as mm
    from simtk.openmm import app, unit

KCAL = unit.kilocalorie_per_mole
KCAL_A = unit.kilocalorie_per_mole / unit.angstrom

# Force groups CharmmPsfFile assigns.
GROUPS = {
    "bond": app.CharmmPsfFile.BOND_FORCE_GROUP,
    "angle": app.CharmmPsfFile.ANGLE_FORCE_GROUP,
    "dihedral": app.CharmmPsfFile.DIHEDRAL_FORCE_GROUP,
    "urey_bradley": app.CharmmPsfFile.UREY_BRADLEY_FORCE_GROUP,
    "improper": app.CharmmPsfFile.IMPROPER_FORCE_GROUP,
    "cmap": app.CharmmPsfFile.CMAP_FORCE_GROUP,
}
NONBONDED = app.CharmmPsfFile.NONBONDED_FORCE_GROUP


def make_context(psf, params, zero_charges=False):
    system = psf.createSystem(params, nonbondedMethod=app.NoCutoff, constraints=None)
    if zero_charges:
        for f in system.getForces():
            if isinstance(f, mm.NonbondedForce):
                for i in range(f.getNumParticles()):
                    q, s, e = f.getParticleParameters(i)
                    f.setParticleParameters(i, 0.0, s, e)
                for k in range(f.getNumExceptions()):
                    i, j, qq, s, e = f.getExceptionParameters(k)
                    f.setExceptionParameters(k, i, j, 0.0, s, e)
    platform = mm.Platform.getPlatformByName("Reference")
    integrator = mm.VerletIntegrator(1.0 * unit.femtoseconds)
    return mm.Context(system, integrator, platform)


def group_energy(ctx, group):
    return ctx.getState(getEnergy=True, groups={group}).getPotentialEnergy().value_in_unit(KCAL)


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__)
    psf = app.CharmmPsfFile(argv[1])
    params = app.CharmmParameterSet(*argv[3:])
    coords = np.load(argv[2])
    if coords.ndim == 2:
        coords = coords[None]
    ctx = make_context(psf, params)
    lj_ctx = make_context(psf, params, zero_charges=True)
    out = []
    for x in coords:
        pos = unit.Quantity(x.astype(float), unit.angstrom)
        ctx.setPositions(pos)
        lj_ctx.setPositions(pos)
        terms = {name: group_energy(ctx, g) for name, g in GROUPS.items()}
        nonbonded = group_energy(ctx, NONBONDED)
        terms["lennard_jones"] = group_energy(lj_ctx, NONBONDED)
        terms["coulomb"] = nonbonded - terms["lennard_jones"]
        state = ctx.getState(getEnergy=True, getForces=True)
        forces = state.getForces(asNumpy=True).value_in_unit(KCAL_A)
        out.append({
            "energy_terms": terms,
            "total_energy": state.getPotentialEnergy().value_in_unit(KCAL),
            "forces": forces.tolist(),
        })
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv)
