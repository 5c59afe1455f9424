#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: backup_offsite
short_description: Keep verified copies of a host's backups off the host (S3, Azure Blob, GCS, a mounted path)
version_added: "0.2.0"
description:
  - Mirrors the local repository (C(<backup_root>/<service>/<type>/)) to an offsite store under O(prefix), and
    brings backups back after the host is lost.
  - V(push) uploads every complete local backup that is not offsite with the same checksum yet, data first and
    its metadata object last, so a half-uploaded backup is never listed as complete. A second push changes
    nothing. It holds the service's lock, so local rotation cannot delete a file while it uploads.
  - V(pull) downloads one backup (O(select)) into the local repository, computing its sha256 on the way; a
    mismatch with the metadata fails naming the remote object, and nothing is written locally.
  - V(list) returns the complete remote backups and the incomplete ones (data without metadata).
  - V(verify) compares every remote backup's size and content checksum with its metadata; O(deep=false)
    trusts the checksum stored with the object where the store keeps one.
  - V(prune) applies a GFS policy to the remote copies, independently of local rotation. Objects under S3
    Object Lock retention are reported in C(locked), never silently skipped.
author:
  - Lifeboat contributors (@lifeboat-dr)
options:
  action:
    description: What to do.
    type: str
    required: true
    choices: [push, pull, list, verify, prune]
  provider:
    description:
      - V(s3) for S3 and S3-compatible stores (MinIO, Backblaze B2, Wasabi) through boto3; V(azure_blob) for Azure Blob
        Storage and V(gcs) for Google Cloud Storage through their REST APIs (no SDK needed on the host);
        V(filesystem) for a mounted path.
    type: str
    required: true
    choices: [s3, azure_blob, gcs, filesystem]
  service:
    description: Service whose backups to handle; required for V(pull). Every service when omitted (local ones for
      V(push), remote ones otherwise).
    type: str
  backup_root:
    description: Local backup repository.
    type: path
    default: /var/backups/lifeboat
  prefix:
    description: Key prefix (or sub-directory) under which this host's repository is mirrored, for example its name.
    type: str
    default: ""
  select:
    description: Backup to pull; V(latest), a class, V(YYYYMMDD) or a backup id (as in M(lifeboat.dr.db_restore)).
    type: str
    default: latest
  deep:
    description: V(verify) streams every object and recomputes its sha256 (true), or trusts a stored checksum.
    type: bool
    default: true
  keep_daily:
    description: Daily periods kept offsite by V(prune).
    type: int
    default: 7
  keep_weekly:
    description: Weekly periods kept offsite by V(prune).
    type: int
    default: 4
  keep_monthly:
    description: Monthly periods kept offsite by V(prune).
    type: int
    default: 12
  keep_yearly:
    description: Yearly periods kept offsite by V(prune).
    type: int
    default: 0
  path:
    description: Directory of the V(filesystem) store (an NFS mount, a second disk). Must exist.
    type: path
  bucket:
    description: Bucket (V(s3), V(gcs)).
    type: str
  container:
    description: Blob container (V(azure_blob)).
    type: str
  endpoint_url:
    description:
      - Endpoint of the store. V(s3) an S3-compatible endpoint, for example C(https://s3.eu-central-003.backblazeb2.com)
        (AWS when omitted); V(azure_blob) the blob endpoint (C(https://<account>.blob.core.windows.net) when omitted);
        V(gcs) an emulator or private endpoint (C(https://storage.googleapis.com) when omitted).
    type: str
  account_name:
    description: Azure storage account (V(azure_blob)).
    type: str
  account_key:
    description: Azure storage account key, used to sign requests (Shared Key); never logged.
    type: str
  sas_token:
    description: Azure shared access signature, instead of O(account_key); never logged.
    type: str
  connection_string:
    description: Azure connection string (account, key or SAS, endpoint), for example from Ansible Vault; never logged.
    type: str
  encryption_scope:
    description:
      - Azure encryption scope sent with every write. Azurite accepts and ignores it, so Lifeboat's tests cannot show
        that a store applies it; check the blob properties once in your account.
    type: str
  access_token:
    description: GCS OAuth2 access token (for example from C(gcloud auth print-access-token)); never logged.
    type: str
  credentials_file:
    description:
      - GCS service account key (JSON) on the host, mode 0600. A token is requested with a JWT signed by C(openssl)
        from a private temporary file; the key never appears on a command line.
    type: path
  region:
    description: S3 region.
    type: str
  access_key:
    description: S3 access key id. When omitted, boto3's usual chain is used (environment, O(profile), instance role).
    type: str
  secret_key:
    description: S3 secret access key; never logged.
    type: str
  session_token:
    description: S3 session token for temporary credentials; never logged.
    type: str
  profile:
    description: Named profile from C(~/.aws/credentials) of the user running the module.
    type: str
  sse:
    description: S3 server-side encryption of uploaded objects.
    type: str
    choices: [AES256, "aws:kms"]
  kms_key_id:
    description: KMS key for O(sse=aws:kms).
    type: str
  storage_class:
    description: S3 storage class of uploaded objects (for example C(STANDARD_IA)).
    type: str
  object_lock_mode:
    description: S3 Object Lock mode for immutable copies; the bucket must have Object Lock enabled.
    type: str
    choices: [GOVERNANCE, COMPLIANCE]
  object_lock_days:
    description: Days each uploaded object stays locked (with O(object_lock_mode)).
    type: int
    default: 0
  multipart_mb:
    description:
      - Part (S3), block (Azure) or chunk (GCS) size in MiB. S3 keeps about O(multipart_mb) times O(concurrency) in
        memory, Azure and GCS one block.
    type: int
    default: 16
  concurrency:
    description: Parts uploaded in parallel.
    type: int
    default: 4
  lock_timeout:
    description: Seconds to wait for another Lifeboat run on the same service.
    type: int
    default: 60
attributes:
  check_mode:
    support: full
    details:
      - Reports what V(push), V(pull) or V(prune) would do and touches nothing.
  diff_mode:
    support: none
extends_documentation_fragment:
  - lifeboat.dr.attributes
notes:
  - Check mode reports what V(push), V(pull) or V(prune) would do and touches nothing.
  - The s3 provider needs boto3 on the host (Debian C(python3-boto3)). azure_blob and gcs need only Python's standard
    library (and C(openssl) for O(credentials_file)).
  - Tested against moto (S3), Azurite (Azure Blob) and gcp-storage-emulator (GCS), not against the clouds themselves.
seealso:
  - module: lifeboat.dr.db_restore
"""

EXAMPLES = r"""
- name: Copy every backup of this host to S3, with SSE
  lifeboat.dr.backup_offsite:
    action: push
    provider: s3
    bucket: acme-backups
    prefix: "{{ inventory_hostname }}"
    sse: AES256
    access_key: "{{ vault_s3_access_key }}"
    secret_key: "{{ vault_s3_secret_key }}"

- name: Keep 12 monthly copies offsite (local rotation may keep fewer)
  lifeboat.dr.backup_offsite:
    action: prune
    provider: s3
    bucket: acme-backups
    prefix: "{{ inventory_hostname }}"
    keep_daily: 7
    keep_weekly: 4
    keep_monthly: 12

- name: Copy this host's backups to an Azure container (connection string from Vault)
  lifeboat.dr.backup_offsite:
    action: push
    provider: azure_blob
    container: backups
    prefix: "{{ inventory_hostname }}"
    connection_string: "{{ vault_azure_connection_string }}"

- name: Check every copy in a GCS bucket, with a service account key on the host
  lifeboat.dr.backup_offsite:
    action: verify
    provider: gcs
    bucket: acme-dr
    prefix: "{{ inventory_hostname }}"
    credentials_file: /etc/lifeboat/gcs-key.json

- name: After losing the server, fetch the newest appdb backup from a MinIO endpoint
  lifeboat.dr.backup_offsite:
    action: pull
    provider: s3
    endpoint_url: https://minio.dr.example.com
    bucket: backups
    prefix: db1
    service: appdb
    select: latest
"""

RETURN = r"""
services:
  description:
    - Per service, for V(push) C(pushed) and C(present) keys; for V(list) C(backups) and C(incomplete); for
      V(verify) C(ok) and C(problems); for V(prune) C(kept), C(deleted), C(locked) and C(incomplete).
  returned: for every action but pull
  type: dict
path:
  description: Local file the pulled backup was written to.
  returned: when O(action=pull)
  type: str
remote:
  description: Remote key of the pulled backup.
  returned: when O(action=pull)
  type: str
checksum:
  description: C(sha256:<hex>) of the pulled backup, verified.
  returned: when O(action=pull)
  type: str
target:
  description: The store, without credentials.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lifeboat.dr.plugins.module_utils import offsite
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils.module_args import runner_for


def main():
    module = AnsibleModule(
        argument_spec=dict(
            action=dict(type="str", required=True, choices=list(offsite.ACTIONS)),
            provider=dict(type="str", required=True, choices=list(offsite.PROVIDERS)),
            service=dict(type="str"),
            backup_root=dict(type="path", default="/var/backups/lifeboat"),
            prefix=dict(type="str", default=""),
            select=dict(type="str", default="latest"),
            deep=dict(type="bool", default=True),
            keep_daily=dict(type="int", default=7),
            keep_weekly=dict(type="int", default=4),
            keep_monthly=dict(type="int", default=12),
            keep_yearly=dict(type="int", default=0),
            path=dict(type="path"),
            bucket=dict(type="str"),
            container=dict(type="str"),
            account_name=dict(type="str"),
            account_key=dict(type="str", no_log=True),
            sas_token=dict(type="str", no_log=True),
            connection_string=dict(type="str", no_log=True),
            encryption_scope=dict(type="str"),
            access_token=dict(type="str", no_log=True),
            credentials_file=dict(type="path"),
            endpoint_url=dict(type="str"),
            region=dict(type="str"),
            access_key=dict(type="str", no_log=True),
            secret_key=dict(type="str", no_log=True),
            session_token=dict(type="str", no_log=True),
            profile=dict(type="str"),
            sse=dict(type="str", choices=["AES256", "aws:kms"]),
            kms_key_id=dict(type="str", no_log=False),
            storage_class=dict(type="str"),
            object_lock_mode=dict(type="str", choices=["GOVERNANCE", "COMPLIANCE"]),
            object_lock_days=dict(type="int", default=0),
            multipart_mb=dict(type="int", default=16),
            concurrency=dict(type="int", default=4),
            lock_timeout=dict(type="int", default=60),
        ),
        required_if=[("provider", "s3", ["bucket"]), ("provider", "gcs", ["bucket"]),
                     ("provider", "azure_blob", ["container"]), ("provider", "filesystem", ["path"]),
                     ("action", "pull", ["service"]), ("object_lock_mode", "GOVERNANCE", ["object_lock_days"]),
                     ("object_lock_mode", "COMPLIANCE", ["object_lock_days"]), ("sse", "aws:kms", ["kms_key_id"])],
        supports_check_mode=True,
    )
    params = dict(module.params)
    params["policy"] = {kind: params["keep_" + kind] for kind in ("daily", "weekly", "monthly", "yearly")}
    try:
        provider = offsite.provider_from_params(params, runner_for(module))
        result = offsite.run(params["action"], provider, params, check_mode=module.check_mode)
    except LifeboatError as exc:
        module.fail_json(msg=str(exc))
    if params["action"] == "verify":
        problems = dict((service, found["problems"]) for service, found in result["services"].items()
                        if found["problems"])
        if problems:
            module.fail_json(msg="offsite copies at %s failed verification: %s" % (result["target"], "; ".join(
                "%s: %s" % (item["path"], item["problem"]) for items in problems.values() for item in items)),
                **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
