"""lifeboat-backup runs on hosts where Ansible is not installed: its code must not import it."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULE_UTILS = os.path.join(ROOT, "plugins", "module_utils")
# The working copy's .collections link, or (under ansible-test) the directory holding ansible_collections/.
COLLECTIONS = os.path.join(ROOT, ".collections")
if not os.path.isdir(COLLECTIONS):
    COLLECTIONS = os.path.dirname(os.path.dirname(os.path.dirname(ROOT)))

SCRIPT = r"""
import importlib, sys
class NoAnsible:
    def find_spec(self, name, path=None, target=None):
        if name == "ansible" or name.startswith("ansible."):
            raise ImportError("ansible is not installed on this host (%s)" % name)
        return None
sys.meta_path.insert(0, NoAnsible())
sys.path.insert(0, sys.argv[1])
for name in sys.argv[2:]:
    importlib.import_module("ansible_collections.lifeboat.dr.plugins.module_utils." + name)
print("ok")
"""


def test_every_module_util_imports_without_ansible():
    names = []
    for top, dirs, files in os.walk(MODULE_UTILS):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        package = os.path.relpath(top, MODULE_UTILS).replace(os.sep, ".").lstrip(".")
        # Packages (engines/) are imported by their own name, their modules by their dotted path.
        names += [".".join(filter(None, [package, name[:-3] if name != "__init__.py" else ""]))
                  for name in sorted(files) if name.endswith(".py")]
    names = sorted(name for name in names if name)
    assert "engines" in names and "engines.postgresql" in names
    out = subprocess.run([sys.executable, "-c", SCRIPT, COLLECTIONS] + names,
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
