#!/usr/bin/env python3
"""Read a DCD file with MDTraj and print what MDTraj sees, as JSON.

Used by flowmd's trajectory tests (TestMDTrajInterop) to check that the DCD
files flowmd writes are readable by an independent implementation (MDTraj's
reader is VMD's dcdplugin).

Usage: check_dcd.py DCD PDB

DCD files carry no topology, so the PDB supplies it (atom count and names).
Output, one JSON object on stdout:
  n_frames, n_atoms           from mdtraj.load_dcd(DCD, top=PDB)
  xyz                         frames x atoms x 3, angstrom (MDTraj's nm * 10)
  raw_xyz                     the same read with DCDTrajectoryFile, which
                              returns the stored float32 angstrom values
                              untouched, so they can be compared exactly
  unitcell_lengths            frames x 3 in angstrom, or null without a cell
  unitcell_angles             frames x 3 in degrees, or null
  time                        MDTraj's times (MDTraj does not read the DCD
                              timing fields: this is the frame index)
Exits non-zero with a message on stderr if MDTraj cannot read the file.
"""

import json
import os
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: check_dcd.py DCD PDB")
    dcd, pdb = sys.argv[1], sys.argv[2]

    # VMD's plugin may print diagnostics from C straight to file descriptor
    # 1; send them to stderr so stdout carries nothing but the JSON.
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        import mdtraj
        from mdtraj.formats import DCDTrajectoryFile

        traj = mdtraj.load_dcd(dcd, top=pdb)
        with DCDTrajectoryFile(dcd) as f:
            raw_xyz, raw_lengths, raw_angles = f.read()
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)

    def tolist(a, scale=1.0):
        if a is None:
            return None
        return (a.astype("float64") * scale).tolist()

    out = {
        "n_frames": int(traj.n_frames),
        "n_atoms": int(traj.n_atoms),
        "xyz": tolist(traj.xyz, 10.0),
        "raw_xyz": tolist(raw_xyz),
        "raw_n_frames": int(raw_xyz.shape[0]),
        "unitcell_lengths": tolist(traj.unitcell_lengths, 10.0),
        "unitcell_angles": tolist(traj.unitcell_angles),
        "raw_unitcell_lengths": tolist(raw_lengths),
        "raw_unitcell_angles": tolist(raw_angles),
        "time": tolist(traj.time),
    }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
