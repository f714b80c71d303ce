"""``python -m vmtk_sim.mbus <vmx>``: the agent process ``vmrun-sim start`` launches."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from vmtk_sim.mbus.process import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], Path(os.environ.get("VMRUN_SIM_HOME") or Path.home() / ".vmrun-sim")))
