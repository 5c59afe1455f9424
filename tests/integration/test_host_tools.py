"""lifeboat.dr.host_tools on a host as a fresh image leaves it: no package lists, and a list
directory whose timestamp says "just updated" (what fooled apt's cache_valid_time before)."""
import re

from labhost import playbook, sh

HOST = "restoretest1"
CONTAINER = "lifeboat-lab-restoretest1"


def installed(package):
    return sh("dpkg-query -W -f='${Status}' %s 2>/dev/null || true" % package, container=CONTAINER).strip()


def run():
    proc = playbook("../tests/integration/playbooks/host_tools.yml", "-e", "target=%s" % HOST)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return int(re.search(r"%s\s*:.*changed=(\d+)" % HOST, proc.stdout).group(1))


LIBRARY = "/usr/local/lib/lifeboat/ansible_collections/lifeboat/dr/plugins/module_utils"


def test_installs_on_a_host_with_empty_fresh_package_lists(lab):
    # A module an older collection had, left on the host.
    sh("mkdir -p %s && echo 'raise SystemExit(3)' > %s/pitr_cli.py" % (LIBRARY, LIBRARY), container=CONTAINER)
    sh("DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq age >/dev/null; rm -rf /var/lib/apt/lists/*; "
       "mkdir -p /var/lib/apt/lists/partial; rm -f /var/lib/apt/periodic/update-success-stamp; "
       "touch /var/lib/apt/lists", container=CONTAINER)
    assert installed("age") != "install ok installed"
    assert sh("ls /var/lib/apt/lists | grep -c _Packages || true", container=CONTAINER).strip() == "0"

    assert run() > 0
    assert installed("age") == "install ok installed"
    assert installed("sqlite3") == "install ok installed"
    assert int(sh("ls /var/lib/apt/lists | grep -c _Packages", container=CONTAINER)) > 0

    # The library is the collection's, without what the collection no longer has.
    assert sh("test -e %s/pitr_cli.py || echo gone" % LIBRARY, container=CONTAINER).strip() == "gone"
    assert sh("cd / && python3 -c 'import sys; sys.path.insert(0, \"/usr/local/lib/lifeboat\"); "
              "from ansible_collections.lifeboat.dr.plugins.module_utils.pitr import cli; print(cli.__name__)'",
              container=CONTAINER).strip().endswith("pitr.cli")

    # Lists now exist and are fresh: a second run changes nothing and does not update them again.
    assert run() == 0
