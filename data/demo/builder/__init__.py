"""The parts of the demo builder (run data/demo/build_demo.py): county, devices, defects, counts, files."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # camaudit's own packages, when run from a checkout without installing
