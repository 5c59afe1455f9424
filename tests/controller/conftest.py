"""Controller-side tests: no lab, no container; the working copy's venv runs ansible-playbook."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, ".collections"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
