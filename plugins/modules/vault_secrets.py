#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# The work is done by the action plugin of the same name (plugins/action/vault_secrets.py), on the controller;
# this file holds its documentation.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vault_secrets
short_description: Write new or given secrets to an ansible-vault encrypted YAML file on the controller
version_added: "1.2.0"
description:
  - Writes a dict of secrets, as YAML (one variable per secret), encrypted with ansible-vault, to O(path) on the
    controller. The file is mode 0600. C(ansible-vault view), C(ansible-vault edit) and
    M(ansible.builtin.include_vars) read it with the same password.
  - The secrets are O(secrets) (given values) and new random ones for the names in O(generate) (URL-safe, O(length)
    characters, from Python's C(secrets.token_urlsafe)). A security breach response rotates them with it
    (the reference plan's I(rotate all secrets)); the playbook reads the new values back with
    M(ansible.builtin.include_vars) under C(no_log).
  - The values are never in the result, in a message or on a command line; the result names the secrets only.
  - An existing O(path) is refused unless O(force=true) (its secrets would be lost). The file is written beside
    its place and moved there whole, so an interrupted run leaves the old file or the new one, never a part.
  - Runs on the controller (an action plugin); the play's hosts are not contacted.
author:
  - Lifeboat contributors (@lifeboat-dr)
options:
  path:
    description: The vault file to write, on the controller. Its directory must exist.
    type: path
    required: true
  vault_password_file:
    description:
      - The file with the vault password, read as C(--vault-password-file) reads it; an executable file is run and
        its output is the password.
    type: path
    required: true
  vault_id:
    description:
      - The vault id label written into the file's header (C(--vault-id <label>@<file>) then finds the password).
        V(default) writes the plain C($ANSIBLE_VAULT;1.1;AES256) header.
    type: str
    default: default
  secrets:
    description:
      - Given secrets, a dict of names and values; names must be variable names, values non-empty strings.
      - Put C(no_log) on the task that passes them.
    type: dict
    default: {}
  generate:
    description: Names of the secrets to generate new values for.
    type: list
    elements: str
    default: []
  length:
    description: Characters of each generated secret (6 random bits each); at least V(16).
    type: int
    default: 32
  force:
    description: Replace an existing O(path).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details:
      - Check mode reads nothing secret and writes nothing; it reports the names it would write.
  diff_mode:
    support: none
  action:
    support: full
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
  async:
    support: none
    description: Supports being used with the C(async) keyword.
extends_documentation_fragment:
  - lifeboat.dr.attributes
seealso:
  - module: lifeboat.dr.breach_evidence
"""

EXAMPLES = r"""
- name: New database and application passwords, into a vault file the operator names
  lifeboat.dr.vault_secrets:
    path: "{{ lifeboat_rotated_secrets_file }}"
    vault_password_file: "{{ lifeboat_vault_password_file }}"
    generate:
      - vault_appdb_password
      - vault_app_secret_key
    length: 40

- name: Read them back for the tasks that apply them
  ansible.builtin.include_vars:
    file: "{{ lifeboat_rotated_secrets_file }}"
  no_log: true
"""

RETURN = r"""
path:
  description: The vault file written.
  returned: success
  type: str
names:
  description: The names of the secrets in the file (never their values).
  returned: success
  type: list
  elements: str
generated:
  description: The names whose values were generated.
  returned: success
  type: list
  elements: str
mode:
  description: The file's mode.
  returned: success
  type: str
  sample: "0600"
vault_id:
  description: The vault id label used.
  returned: success
  type: str
replaced:
  description: Whether an existing file was replaced (O(force=true)).
  returned: success
  type: bool
"""
