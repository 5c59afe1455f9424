# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write rotated secrets to an ansible-vault encrypted YAML file on the controller (``lifeboat.dr.vault_secrets``).

The values never leave this plugin: not in its result, not in a log, not on a command line. Encryption is
Ansible's own VaultLib with the password read the way ``--vault-password-file`` reads it (an executable file
is run as a password script), so ``ansible-vault view`` and ``include_vars`` read the file back.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile

import yaml

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.parsing.vault import VaultLib, get_file_vault_secret
from ansible.plugins.action import ActionBase

from ansible_collections.lifeboat.dr.plugins.module_utils import breach
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError

ARGUMENT_SPEC = dict(
    path=dict(type="path", required=True),
    vault_password_file=dict(type="path", required=True, no_log=False),
    vault_id=dict(type="str", default="default"),
    secrets=dict(type="dict", no_log=True, default={}),
    generate=dict(type="list", elements="str", default=[]),
    length=dict(type="int", default=32),
    force=dict(type="bool", default=False),
)


def vault_text(values, password_file, vault_id="default", loader=None):
    """``values`` as YAML, encrypted with the password of ``password_file`` (``--vault-password-file`` semantics)."""
    secret = get_file_vault_secret(filename=password_file, vault_id=vault_id, loader=loader)
    secret.load()
    # Plain str: templated values are Ansible's tagged strings, which yaml.safe_dump refuses (naming the value).
    plain = dict((str(name), str(value)) for name, value in values.items())
    plaintext = yaml.safe_dump(plain, default_flow_style=False, sort_keys=True)
    vault = VaultLib([(vault_id, secret)])
    # A vault id other than "default" is written into the header, so --vault-id label@file finds it.
    return vault.encrypt(plaintext, secret, vault_id=None if vault_id == "default" else vault_id)


def write_private(path, data, force=False):
    """Write ``data`` to ``path`` as mode 0600: through a temporary file beside it, published by a link that fails
    if ``path`` exists (unless ``force``), so an existing file is never half-overwritten nor silently replaced."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".lifeboat-vault-", dir=directory)  # mkstemp makes it 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        if force:
            os.rename(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise LifeboatError("%s exists already: the secrets in it would be lost; set force=true to replace "
                                    "the file" % path)
            os.unlink(tmp)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        try:
            _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC,
                                                            mutually_exclusive=[],
                                                            required_one_of=[("secrets", "generate")])
        except AnsibleError as exc:
            return dict(result, failed=True, msg=to_text(exc))
        path = args["path"]
        given = args["secrets"] or {}
        try:
            names = breach.secret_names(list(given) + list(args["generate"]))
            if not names:
                raise LifeboatError("nothing to write: give secrets or names to generate")
            if any(not isinstance(value, str) or not value for value in given.values()):
                raise LifeboatError("every given secret must be a non-empty string (%s)" % ", ".join(
                    sorted(name for name, value in given.items() if not isinstance(value, str) or not value)))
            if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
                raise LifeboatError("the directory of %s does not exist" % path)
            exists = os.path.lexists(path)
            if exists and not args["force"]:
                raise LifeboatError("%s exists already: the secrets in it would be lost; set force=true to replace "
                                    "the file" % path)
            result.update(path=path, names=sorted(names), generated=sorted(args["generate"]), mode="0600",
                          vault_id=args["vault_id"], replaced=exists)
            if self._task.check_mode:
                return dict(result, changed=True)
            values = dict(given)
            values.update(breach.new_secrets(args["generate"], args["length"]))
            data = to_bytes(vault_text(values, args["vault_password_file"], args["vault_id"], self._loader))
            write_private(path, data, force=args["force"])
        except (LifeboatError, AnsibleError, IOError, OSError) as exc:
            # The messages name files and names, never a value.
            return dict(result, failed=True, msg=to_text(exc))
        return dict(result, changed=True)
