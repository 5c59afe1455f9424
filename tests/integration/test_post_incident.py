"""playbooks/post_incident.yml on the controller: a report from a rebuild's record and the lab's runbook, a template a
user supplies, and bad records refused before anything is written. No lab host is needed."""
import json
import os
import stat

from labhost import ROOT, playbook

# The rebuild report the unit tests read too (rebuild.yml's shape, trimmed).
with open(os.path.join(ROOT, "tests", "unit", "fixtures", "rebuild-report.json")) as _handle:
    RECORD = json.load(_handle)


def _said(proc):
    return " ".join((proc.stdout + proc.stderr).split())


def test_a_rebuild_record_becomes_a_report_against_the_lab_runbook(tmp_path):
    record = tmp_path / "rebuild.json"
    record.write_text(json.dumps(RECORD))
    output = tmp_path / "reports" / "post-incident.md"
    proc = playbook("post_incident.yml", "-e", "record=%s" % record, "-e", "output=%s" % output)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "Report: %s" % output in proc.stdout
    text = output.read_text()
    # The lab runbook's INC-008 (server_loss): its title, severity and the reference plan's 4-hour RTO (the record
    # carries no objective of its own).
    assert text.startswith("# Post-incident report: INC-008 - Complete server loss\n")
    assert "**Severity:** critical" in text
    assert "| RTO | 104 s | 14400 s | met |" in text  # 103.5 s shown rounded
    assert "| RPO appdb | 4 s | 900 s | met |" in text
    assert "- 2026-12-07T12:38:33Z /healthz answered 200 at 172.30.57.240" in text
    assert "- [x] Calculate the RTO achieved" in text and "- [ ] Root cause analysis" in text
    assert stat.S_IMODE(os.stat(output).st_mode) == 0o640


def test_a_users_template_and_an_incident_named_on_the_command_line(tmp_path):
    record = tmp_path / "rebuild.json"
    record.write_text(json.dumps(RECORD))
    # The report goes into a directory that exists (as /tmp would be): its mode stays as it was.
    tmp_path.chmod(0o1777)
    template = tmp_path / "ours.md.j2"
    template.write_text("{{ runbook_post_incident_facts.incident.id }} {{ runbook_post_incident_facts.rto.seconds }}\n")
    output = tmp_path / "ours.md"
    # Paths relative to where the command is typed (the tests run it from the repository's root).
    relative = os.path.relpath(tmp_path, ROOT)
    proc = playbook("post_incident.yml", "-e", "record=%s/rebuild.json" % relative, "-e", "template=%s/ours.md.j2" % relative,
                    "-e", "incident=INC-005", "-e", "output=%s/ours.md" % relative)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert output.read_text() == "INC-005 103.5\n"
    assert stat.S_IMODE(os.stat(tmp_path).st_mode) == 0o1777


def test_bad_records_are_refused_naming_the_cause_and_nothing_is_written(tmp_path):
    output = tmp_path / "never.md"
    missing = tmp_path / "missing.json"
    proc = playbook("post_incident.yml", "-e", "record=%s" % missing, "-e", "output=%s" % output)
    assert proc.returncode != 0 and "The record %s does not exist" % missing in _said(proc)

    broken = tmp_path / "broken.json"
    broken.write_text('{"host": "app1", "phases": [')
    proc = playbook("post_incident.yml", "-e", "record=%s" % broken, "-e", "output=%s" % output)
    assert proc.returncode != 0 and "the record %s is not JSON" % broken in _said(proc)

    other = tmp_path / "other.json"
    other.write_text(json.dumps({"name": "appdb", "checksum": "sha256:00"}))
    proc = playbook("post_incident.yml", "-e", "record=%s" % other, "-e", "output=%s" % output)
    assert proc.returncode != 0 and "the record is not one Lifeboat writes" in _said(proc)

    good = tmp_path / "good.json"
    good.write_text(json.dumps(RECORD))
    proc = playbook("post_incident.yml", "-e", "record=%s" % good, "-e", "incident=INC-099", "-e", "output=%s" % output)
    assert proc.returncode != 0 and "the runbook has no incident INC-099" in _said(proc)
    assert not output.exists()
