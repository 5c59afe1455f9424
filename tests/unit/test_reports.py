# -*- coding: utf-8 -*-
"""Reports never land in the working directory (AWX and ansible-runner delete it after a job)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os

import pytest

from ansible_collections.lifeboat.dr.plugins.filter.reports import report_dir, report_path

WHEN = datetime.datetime(2026, 12, 2, 3, 4, 5, 678000, tzinfo=datetime.timezone.utc)


def test_directory_precedence(tmp_path):
    assert report_dir(str(tmp_path), {"LIFEBOAT_REPORT_DIR": "/elsewhere"}) == str(tmp_path)
    assert report_dir(None, {"LIFEBOAT_REPORT_DIR": "/srv/reports", "XDG_STATE_HOME": "/x"}) == "/srv/reports"
    assert report_dir(None, {"XDG_STATE_HOME": "/var/state"}) == "/var/state/lifeboat/reports"
    assert report_dir(None, {}) == os.path.expanduser("~/.local/state/lifeboat/reports")


def test_names_carry_kind_and_utc_time(tmp_path):
    assert report_path("verify", str(tmp_path), WHEN) == str(tmp_path / "verify-20261202T030405.678000Z.json")


@pytest.mark.parametrize("kind", ["", "../etc/passwd", "a b"])
def test_kind_cannot_escape_the_directory(kind):
    with pytest.raises(Exception) as err:
        report_path(kind, "/tmp")
    assert "report kind" in str(err.value)
