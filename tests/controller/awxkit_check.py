"""A request body checked against awxkit's page model for its endpoint (awxkit is AWX's own client).

awxkit maps each API path to a page class (``page.get_registered_page``); the create models' ``payload()``
builds the body AWX accepts from keyword values. The check: the model builds, from the body's own values, a
payload holding every field of the body with the same value; so no field is one the model does not know, and
the values have the types it gives them (ids for related objects, JSON text for extra_vars).
"""
import json
import types

from awxkit.api.pages import page
from awxkit.config import config
from awxkit.api.pages import credentials, projects, inventory
from awxkit.api.pages import workflow_job_template_nodes, schedules, survey_spec

FOREIGN = ("organization", "project", "inventory", "credential", "credential_type", "workflow_job_template",
           "unified_job_template", "execution_environment", "default_environment", "source_project")
# Fields the awx.awx modules send that awxkit's payload() builders leave out, each with the reason.
NOT_IN_AWXKIT = {
    # awx.awx's credential_type module always sends managed: false (AWX keeps it read-only for custom types).
    credentials.CredentialType: {"managed"},
}


def _ref(value):
    return types.SimpleNamespace(id=value) if isinstance(value, int) else value


def check_body(path, body, problems):
    """1 when the body was checked against a payload model, 0 for associations and survey specs (checked apart)."""
    cls = page.get_registered_page(path, "post")
    assert cls is not None, "awxkit knows no page for POST %s" % path
    if set(body) <= {"id", "disassociate"}:
        assert isinstance(body["id"], int)
        return 0
    if cls is survey_spec.SurveySpec:
        assert set(body) == {"name", "description", "spec"}
        for item in body["spec"]:
            assert {"question_name", "variable", "type", "required"} <= set(item)
            assert item["type"] in ("text", "textarea", "password", "integer", "float", "multiplechoice",
                                    "multiselect")
        return 0
    if cls in (schedules.Schedules, schedules.Schedule):
        # awxkit has no payload() for schedules: its Schedule's natural key and the fields its tests post.
        assert {"name", "rrule"} <= set(body) and set(body) <= {
            "name", "rrule", "description", "extra_data", "enabled", "unified_job_template", "inventory"}
        return 1
    kwargs = {key: _ref(value) if key in FOREIGN else value for key, value in body.items()}
    config.base_url = config.get("base_url") or "http://awx.invalid"  # a Connection is made, never used
    model = cls(connection=None)
    if cls is credentials.CredentialType:
        built = model.payload(**kwargs)
    elif cls is projects.Project:
        built = model.payload(kwargs.pop("organization", None), **kwargs)
    elif cls is inventory.Inventory:
        built = model.payload(kwargs.pop("organization"), **kwargs)
    elif cls is inventory.InventorySource:
        built = model.payload(kwargs.pop("inventory"), project=kwargs.pop("source_project", None), **kwargs)
    elif cls is workflow_job_template_nodes.WorkflowJobTemplateNode:
        wfjt = kwargs.pop("workflow_job_template", None) or types.SimpleNamespace(id=int(path.split("/")[4]))
        built = model.payload(wfjt, kwargs.pop("unified_job_template", None), **kwargs)
        built.pop("workflow_job_template", None) if "workflow_job_template" not in body else None
    else:
        built = model.payload(**kwargs)
    skip = NOT_IN_AWXKIT.get(cls, set())
    for key, value in body.items():
        if key in skip:
            continue
        if key not in built:
            problems.append("awxkit's %s builds no %r (POST %s)" % (cls.__name__, key, path))
            continue
        have = built[key]
        if key == "extra_vars" and isinstance(value, str):
            assert json.loads(have if isinstance(have, str) else json.dumps(have)) == json.loads(value or "{}")
            continue
        if have != value:
            problems.append("%s.%s: awxkit builds %r, the body has %r" % (cls.__name__, key, have, value))
    return 1
