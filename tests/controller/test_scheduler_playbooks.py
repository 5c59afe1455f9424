"""awx_configure.yml and semaphore_configure.yml against the recorded-request stand-in (standin.py).

Proven here: what the playbooks send - check mode sends no POST, PATCH or DELETE, nor does a second run; a run creates the
organisation, credential type, project, inventory and source, one job template per playbook with surveys
on the destructive ones, the workflow backup -> offsite sync -> verify and the schedules with the jobs'
rrules (AWX), and the project's repository, inventory, environment, templates and cron schedules
(Semaphore); every AWX body is one awxkit's model for its endpoint builds; no token or secret is printed.
Not proven: how a real AWX or Semaphore answers (none can run here).
"""
import json
import os
import subprocess
import textwrap

import pytest

from standin import serve

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, ".venv", "bin")
TOKEN = "s3cr3t-token-never-printed"
WRITES = ("POST", "PATCH", "PUT", "DELETE")

INVENTORY = textwrap.dedent("""\
    all:
      children:
        app:
          hosts:
            app1: {ansible_connection: local}
            app2: {ansible_connection: local}
      vars:
        lifeboat_jobs:
          offsite_sync: {schedule: "*-*-* 04:00:00"}
          verify: {schedule: "*-*-* 06:00:00", extra_vars: {lifeboat_level: quick}}
          restore_test: {schedule: "*-*-01 05:00:00"}
          drill: {schedule: "*-01,04,07,10-01 03:00:00"}
    app:
      hosts:
        app1:
          lifeboat_services:
            - {name: appdb, engine: postgresql, database: appdb, login_password: "{{ undefined_secret }}", schedule: "*-*-* 02:00:00"}
            - {name: shopdb, engine: mysql, database: shopdb}
        app2:
          lifeboat_services:
            - {name: files, engine: directory, path: /srv, schedule: "Sun *-*-* 03:00:00"}
    """)


def playbook(name, inventory, env, *extra):
    return subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", inventory, "playbooks/" + name] + list(extra),
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture
def standin(tmp_path):
    server, state = serve(TOKEN)
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(INVENTORY)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default", PATH=BIN + os.pathsep + os.environ["PATH"],
               CONTROLLER_HOST="http://127.0.0.1:%d" % server.server_address[1], CONTROLLER_OAUTH_TOKEN=TOKEN,
               SEMAPHORE_URL="http://127.0.0.1:%d/" % server.server_address[1], SEMAPHORE_TOKEN=TOKEN)
    yield state, str(inventory), env
    server.shutdown()


AWX_ARGS = ("-e", json.dumps({"scheduler_awx_settings": {"scm_url": "https://git.example.org/ops/dr.git"}}))
SEM_ARGS = ("-e", json.dumps({"scheduler_semaphore_settings": {"git_url": "https://git.example.org/ops/dr.git"}}))


def ok(proc):
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert TOKEN not in proc.stdout + proc.stderr
    return proc


def writes(state):
    return [request for request in state.requests if request["method"] in WRITES]


def posted(state, suffix):
    return [request["body"] for request in state.requests if request["method"] == "POST"
            and request["path"].endswith(suffix)]


def test_awx_check_mode_on_an_empty_server_sends_nothing_and_prints_the_plan(standin):
    state, inventory, env = standin
    proc = ok(playbook("awx_configure.yml", inventory, env, "--check", *AWX_ARGS))
    assert state.requests and not writes(state)
    assert all(request["authorized"] for request in state.requests)
    assert "AWX has no organisation Lifeboat yet" in proc.stdout
    assert "Lifeboat backup appdb,shopdb = DTSTART;TZID=UTC:20260101T000000 RRULE:FREQ=DAILY" in proc.stdout


def test_awx_run_creates_the_objects_then_check_mode_and_a_second_run_change_nothing(standin):
    state, inventory, env = standin
    for name in ("Lifeboat machine", "Lifeboat secrets"):
        state.awx_create("credentials", {"name": name, "inputs": {}})
    ok(playbook("awx_configure.yml", inventory, env, *AWX_ARGS))
    assert posted(state, "/organizations/") == [{"name": "Lifeboat", "description": "Lifeboat disaster recovery"}]
    (ctype,) = posted(state, "/credential_types/")
    assert ctype["kind"] == "cloud" and ctype["injectors"]["extra_vars"]["lifeboat_age_identity"] == "{{ age_identity }}"
    assert all("default" not in field for field in ctype["inputs"]["fields"])
    (project,) = posted(state, "/projects/")
    assert project["scm_url"] == "https://git.example.org/ops/dr.git"
    templates = {body["name"]: body for body in posted(state, "/job_templates/")}
    assert len(templates) == 13 and templates["Lifeboat restore"]["playbook"] == "playbooks/restore.yml"
    surveys = {request["path"]: request["body"] for request in state.requests
               if request["method"] == "POST" and request["path"].endswith("/survey_spec/")}
    confirmed = set()
    for path, spec in surveys.items():
        template = state.awx_get("job_templates", int(path.split("/")[4]))
        assert template["survey_enabled"] is True
        if any(item["variable"] == "lifeboat_confirm" for item in spec["spec"]):
            confirmed.add(template["playbook"])
    assert confirmed == {"playbooks/restore.yml", "playbooks/rebuild.yml", "playbooks/failover.yml"}
    # Credentials by reference: associated by id, never created.
    assert not posted(state, "/credentials/") or all(set(body) <= {"id"} for body in posted(state, "/credentials/"))
    assert len([request for request in state.requests if request["path"].endswith("/credentials/")
                and request["method"] == "POST"]) == 2 * 13
    nodes = {node["identifier"]: node for node in state.store["workflow_job_template_nodes"]}
    assert set(nodes) == {"backup", "offsite_sync", "verify"}
    link = {key[1]: [state.awx_get("workflow_job_template_nodes", i)["identifier"] for i in ids]
            for key, ids in state.links.items() if key[2] == "success_nodes"}
    assert link[nodes["backup"]["id"]] == ["offsite_sync"] and link[nodes["offsite_sync"]["id"]] == ["verify"]
    schedules = {body["name"]: body for body in state.store["schedules"]}
    assert schedules["Lifeboat backup files"]["rrule"].endswith("BYHOUR=3;BYMINUTE=0;BYDAY=SU;BYSECOND=0")
    assert schedules["Lifeboat restore test"]["rrule"] == (
        "DTSTART;TZID=UTC:20260101T000000 RRULE:FREQ=DAILY;INTERVAL=1;BYMONTHDAY=1;BYHOUR=5;BYMINUTE=0;BYSECOND=0")
    workflow = state.store["workflow_job_templates"][0]
    assert schedules["Lifeboat backup appdb,shopdb"]["unified_job_template"] == workflow["id"]
    assert set(schedules) == {"Lifeboat backup appdb,shopdb", "Lifeboat backup files", "Lifeboat offsite sync",
                              "Lifeboat verify", "Lifeboat restore test", "Lifeboat drill"}
    assert_awxkit_builds(state)
    before = len(state.requests)
    proc = ok(playbook("awx_configure.yml", inventory, env, "--check", *AWX_ARGS))
    assert not [r for r in state.requests[before:] if r["method"] in WRITES]
    assert "AWX has no organisation" not in proc.stdout
    # A second run finds everything as it should be: nothing sent but lookups, nothing changed.
    before = len(state.requests)
    proc = ok(playbook("awx_configure.yml", inventory, env, *AWX_ARGS))
    assert not [r for r in state.requests[before:] if r["method"] in WRITES]
    assert " changed=0 " in proc.stdout


def assert_awxkit_builds(state):
    """Every POST body is one awxkit's page model for that endpoint builds from the same values."""
    awxkit = pytest.importorskip("awxkit")
    from awxkit_check import check_body
    assert awxkit
    checked, problems = 0, []
    for request in state.requests:
        if request["method"] == "POST":
            checked += check_body(request["path"], request["body"], problems)
    assert not sorted(set(problems))
    assert checked >= 20


def test_semaphore_check_mode_sends_only_gets(standin):
    state, inventory, env = standin
    proc = ok(playbook("semaphore_configure.yml", inventory, env, "--check", *SEM_ARGS))
    assert state.requests and not writes(state)
    assert "Semaphore has no project Lifeboat yet" in proc.stdout
    assert "Lifeboat backup files" in proc.stdout and "0 3 * * 0" in proc.stdout


def test_semaphore_run_creates_what_is_missing_and_again_nothing(standin):
    state, inventory, env = standin
    project = state.sem_add_project("Lifeboat", ["Lifeboat repository", "Lifeboat machine"])
    ok(playbook("semaphore_configure.yml", inventory, env, *SEM_ARGS))
    prefix = "/api/project/%d/" % project["id"]
    keys = {key["name"]: key["id"] for key in state.sem[(project["id"], "keys")]}
    (repo,) = posted(state, prefix + "repositories")
    assert repo["ssh_key_id"] == keys["Lifeboat repository"] and repo["git_url"].endswith("dr.git")
    (inv,) = posted(state, prefix + "inventory")
    assert inv["ssh_key_id"] == keys["Lifeboat machine"]
    templates = {body["name"]: body for body in posted(state, prefix + "templates")}
    assert templates["Lifeboat scheduled backup appdb,shopdb"]["arguments"] == json.dumps(
        ["--extra-vars", json.dumps({"lifeboat_only": ["appdb", "shopdb"]})])
    assert [var["name"] for var in templates["Lifeboat restore"]["survey_vars"]][0] == "lifeboat_confirm"
    ids = {item["name"]: item["id"] for item in state.sem[(project["id"], "templates")]}
    crons = {(body["name"], body["template_id"]): body["cron_format"] for body in posted(state, prefix + "schedules")}
    assert crons == {
        ("Lifeboat backup appdb,shopdb", ids["Lifeboat scheduled backup appdb,shopdb"]): "0 2 * * *",
        ("Lifeboat backup files", ids["Lifeboat scheduled backup files"]): "0 3 * * 0",
        ("Lifeboat offsite sync", ids["Lifeboat offsite sync"]): "0 4 * * *",
        ("Lifeboat verify", ids["Lifeboat scheduled verify"]): "0 6 * * *",
        ("Lifeboat restore test", ids["Lifeboat restore test"]): "0 5 1 * *",
        ("Lifeboat drill", ids["Lifeboat drill"]): "0 3 1 1,4,7,10 *"}
    before = len(state.requests)
    ok(playbook("semaphore_configure.yml", inventory, env, *SEM_ARGS))
    assert not [r for r in state.requests[before:] if r["method"] in WRITES]
    # Nothing created, so one pass: the projects, then the project's six lists once.
    assert len(state.requests[before:]) == 7


def test_semaphore_refuses_missing_keys_naming_them(standin):
    state, inventory, env = standin
    state.sem_add_project("Lifeboat", ["Lifeboat repository"])
    proc = playbook("semaphore_configure.yml", inventory, env, *SEM_ARGS)
    assert proc.returncode != 0 and "no key named 'Lifeboat machine'" in proc.stdout
    assert not writes(state)
