"""lifeboat.dr.vault_secrets (action plugin) run by the working copy's ansible-playbook on this controller.

Proven here: the file it writes is ansible-vault encrypted, mode 0600, and `ansible-vault view` (the venv's) with
the same password file shows the same values, given and generated; a password script works as with
--vault-password-file; an existing file is refused without force (and left as it was) and replaced with it;
check mode writes nothing; no value appears in the result or in anything ansible-playbook prints, even at -vvv.
"""
import json
import os
import subprocess
import textwrap

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, ".venv", "bin")
GIVEN = "given-value-never-printed-7f1d"
PASSWORD = "correct horse battery staple"

PLAYBOOK = textwrap.dedent("""\
    - name: Rotate secrets into a vault file
      hosts: localhost
      gather_facts: false
      tasks:
        - name: Write the secrets
          lifeboat.dr.vault_secrets:
            path: "{{ vault_file }}"
            vault_password_file: "{{ password_file }}"
            vault_id: "{{ label | default('default') }}"
            secrets: "{{ given | default({}) }}"
            generate: "{{ names | default([]) }}"
            length: 40
            force: "{{ replace | default(false) }}"
          no_log: "{{ hide | default(true) }}"
          register: written

        - name: Keep the result for the test
          ansible.builtin.copy:
            content: "{{ written | to_json }}"
            dest: "{{ result_file }}"
            mode: "0600"
          check_mode: false
    """)


def run(tmp_path, extra, *options):
    playbook = tmp_path / "rotate.yml"
    playbook.write_text(PLAYBOOK)
    variables = dict({"vault_file": str(tmp_path / "secrets.vault.yml"), "password_file": str(tmp_path / "pw"),
                      "result_file": str(tmp_path / "result.json"),
                      "ansible_python_interpreter": os.path.join(BIN, "python")}, **extra)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_FORCE_COLOR="0",
               PATH=BIN + os.pathsep + os.environ["PATH"])
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook),
                           "-e", json.dumps(variables)] + list(options),
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    result = None
    if os.path.exists(variables["result_file"]):
        result = json.load(open(variables["result_file"]))
        os.unlink(variables["result_file"])
    return proc, result


def view(tmp_path, *password):
    password = list(password or ("--vault-password-file", str(tmp_path / "pw")))
    out = subprocess.run([os.path.join(BIN, "ansible-vault"), "view"] + password + [str(tmp_path / "secrets.vault.yml")],
                         capture_output=True, text=True, check=False, env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg")))
    assert out.returncode == 0, out.stderr
    return yaml.safe_load(out.stdout)


def test_the_secrets_are_written_encrypted_0600_and_never_shown(tmp_path):
    (tmp_path / "pw").write_text(PASSWORD + "\n")
    proc, result = run(tmp_path, {"given": {"vault_appdb_password": GIVEN},
                                  "names": ["vault_app_secret_key", "vault_redis_password"], "hide": False}, "-vvv")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    path = tmp_path / "secrets.vault.yml"
    raw = path.read_text()
    assert raw.startswith("$ANSIBLE_VAULT;1.1;AES256\n") and GIVEN not in raw
    assert os.stat(str(path)).st_mode & 0o777 == 0o600
    values = view(tmp_path)
    assert sorted(values) == ["vault_app_secret_key", "vault_appdb_password", "vault_redis_password"]
    assert values["vault_appdb_password"] == GIVEN
    assert len(values["vault_app_secret_key"]) == 40 and values["vault_app_secret_key"] != values["vault_redis_password"]
    # The result names the secrets and holds none of them; nothing printed does either, even without no_log at -vvv.
    assert result["names"] == sorted(values) and result["generated"] == ["vault_app_secret_key", "vault_redis_password"]
    assert result["mode"] == "0600" and result["changed"] is True and result["replaced"] is False
    shown = json.dumps(result) + proc.stdout + proc.stderr
    for value in values.values():
        assert value not in shown
    # No temporary file is left beside it.
    assert sorted(os.listdir(str(tmp_path))) == ["pw", "rotate.yml", "secrets.vault.yml"]


def test_an_existing_file_is_refused_without_force_and_replaced_with_it(tmp_path):
    (tmp_path / "pw").write_text(PASSWORD + "\n")
    proc, _result = run(tmp_path, {"names": ["vault_appdb_password"]})
    assert proc.returncode == 0, proc.stdout[-4000:]
    first = view(tmp_path)
    before = (tmp_path / "secrets.vault.yml").read_bytes()
    proc, _result = run(tmp_path, {"names": ["vault_appdb_password"], "hide": False})
    assert proc.returncode != 0
    assert "secrets.vault.yml exists already: the secrets in it would be lost; set force=true" in proc.stdout
    assert (tmp_path / "secrets.vault.yml").read_bytes() == before
    proc, result = run(tmp_path, {"names": ["vault_appdb_password"], "replace": True})
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert result["replaced"] is True
    assert view(tmp_path)["vault_appdb_password"] != first["vault_appdb_password"]


def test_check_mode_writes_nothing(tmp_path):
    (tmp_path / "pw").write_text(PASSWORD + "\n")
    proc, result = run(tmp_path, {"names": ["vault_appdb_password"]}, "--check")
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert result["changed"] is True and result["names"] == ["vault_appdb_password"]
    assert not (tmp_path / "secrets.vault.yml").exists()


def test_a_password_script_and_a_vault_id_work_as_on_the_command_line(tmp_path):
    script = tmp_path / "pw"
    script.write_text("#!/bin/sh\necho '%s'\n" % PASSWORD)
    script.chmod(0o700)
    proc, result = run(tmp_path, {"names": ["vault_appdb_password"], "label": "breach"})
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert (tmp_path / "secrets.vault.yml").read_text().startswith("$ANSIBLE_VAULT;1.2;AES256;breach\n")
    plain = tmp_path / "plain"
    plain.write_text(PASSWORD + "\n")
    assert "vault_appdb_password" in view(tmp_path, "--vault-id", "breach@%s" % plain)
    assert result["vault_id"] == "breach"


def test_bad_requests_fail_naming_the_cause(tmp_path):
    (tmp_path / "pw").write_text(PASSWORD + "\n")
    proc, _result = run(tmp_path, {"names": ["bad-name"]})
    assert proc.returncode != 0 and "invalid secret names 'bad-name'" in proc.stdout
    proc, _result = run(tmp_path, {"given": {"vault_empty": ""}, "hide": False})
    assert proc.returncode != 0 and "every given secret must be a non-empty string (vault_empty)" in proc.stdout
    proc, _result = run(tmp_path, {"names": ["vault_x"], "password_file": str(tmp_path / "missing")})
    assert proc.returncode != 0 and not (tmp_path / "secrets.vault.yml").exists()
