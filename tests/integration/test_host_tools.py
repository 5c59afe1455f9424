"""lifeboat.dr.host_tools on a host as a fresh image leaves it: no package lists, and a list
directory whose timestamp says "just updated" (what fooled apt's cache_valid_time before)."""
import glob
import os
import re
import subprocess

from labhost import ROOT, playbook, sh

HOST = "restoretest1"
CONTAINER = "lifeboat-lab-restoretest1"


def installed(package):
    return sh("dpkg-query -W -f='${Status}' %s 2>/dev/null || true" % package, container=CONTAINER).strip()


def run(*extra):
    proc = playbook("../tests/integration/playbooks/host_tools.yml", "-e", "target=%s" % HOST, *extra)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return int(re.search(r"%s\s*:.*changed=(\d+)" % HOST, proc.stdout).group(1))


LIBRARY = "/usr/local/lib/lifeboat/ansible_collections/lifeboat/dr/plugins/module_utils"
VENV = "/opt/lifeboat/venv"


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

    # The store's SDK is in the Lifeboat virtualenv, which still sees Debian's packages, and came
    # from the controller's wheelhouse (the lab's hosts cannot verify the index's TLS certificate).
    assert sh("%s/bin/python -c 'import google.cloud.storage, apt; print(\"ok\")'" % VENV,
              container=CONTAINER).strip() == "ok"
    assert glob.glob(os.path.join(ROOT, ".lab", "wheelhouse", "*", ".complete"))
    assert sh("ls /var/cache/lifeboat/wheelhouse | grep -c '^google_cloud_storage-'", container=CONTAINER).strip() == "1"

    # Lists now exist and are fresh: a second run changes nothing and does not update them again.
    assert run() == 0


def test_virtualenv_from_the_package_index_with_a_ca_bundle(lab):
    """Hosts with index access: pip on the host, trusting the CA bundle the role is given
    (this machine's, as a TLS-inspecting proxy's would be)."""
    sh("rm -rf /var/tmp/lifeboat-ca && mkdir -p /var/tmp/lifeboat-ca", container=CONTAINER)
    # docker cp cannot write into the container's tmpfs /tmp.
    subprocess.run(["docker", "cp", "-L", "/etc/ssl/certs/ca-certificates.crt", CONTAINER + ":/var/tmp/lifeboat-ca/bundle.crt"],
                   check=True)
    sh("%s/bin/pip uninstall -y -q isodate >/dev/null 2>&1 || true" % VENV, container=CONTAINER)
    extra = ("-e", '{"offsite": [], "extra_requirements": ["isodate"], "host_tools_pip_source": "index", '
             '"host_tools_pip_cert": "/var/tmp/lifeboat-ca/bundle.crt"}')
    assert run(*extra) > 0
    assert sh("%s/bin/python -c 'import isodate; print(isodate.__name__)'" % VENV, container=CONTAINER).strip() == "isodate"
    assert run(*extra) == 0
