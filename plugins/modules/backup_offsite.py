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
    mismatch with the metadata fails naming the remote object, and nothing is written locally. With
    O(signing_public_keys), the backup's signature and identity are checked before anything is downloaded, and
    V(latest) is refused when it is older than the newest backup this host recorded signing (O(state_dir)).
  - V(list) returns the complete remote backups and the incomplete ones (data without metadata).
  - V(verify) compares every remote backup's size and content checksum with its metadata; O(deep=false)
    trusts the checksum stored with the object where the store keeps one. With O(signing_public_keys), an unsigned
    or wrongly signed copy is a problem too (unless O(signature=optional) accepts unsigned ones).
  - V(prune) applies a GFS policy to the remote copies, independently of local rotation. Objects under S3
    Object Lock retention, an Azure immutability policy or legal hold, or a GCS retention policy or hold are
    reported in C(locked), never silently skipped.
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
        Storage through azure-storage-blob (and azure-identity); V(gcs) for Google Cloud Storage through
        google-cloud-storage and google-auth; V(filesystem) for a mounted path (nothing to install).
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
    description: Backup to pull; V(latest), a class, V(YYYYMMDD), V(before:<ISO 8601 time with a zone>) or a backup id (as in M(lifeboat.dr.db_restore)).
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
    description: Azure storage account (V(azure_blob)); C(AZURE_STORAGE_ACCOUNT) when omitted.
    type: str
  account_key:
    description: Azure storage account key, used to sign requests (Shared Key); never logged. C(AZURE_STORAGE_KEY)
      when no credential option is given.
    type: str
  sas_token:
    description: Azure shared access signature, instead of O(account_key); never logged. C(AZURE_STORAGE_SAS_TOKEN)
      when no credential option is given.
    type: str
  connection_string:
    description: Azure connection string (account, key or SAS, endpoint), for example from Ansible Vault; never logged.
      C(AZURE_STORAGE_CONNECTION_STRING) when no credential option is given.
    type: str
  azure_auth:
    description:
      - How V(azure_blob) authenticates. V(auto) takes the first of O(connection_string), O(account_key),
        O(sas_token), then the same from the environment (C(AZURE_STORAGE_CONNECTION_STRING), C(AZURE_STORAGE_KEY),
        C(AZURE_STORAGE_SAS_TOKEN)), and without any of them Azure AD through azure-identity's
        C(DefaultAzureCredential) (a managed identity, workload identity, C(AZURE_CLIENT_ID)/C(AZURE_TENANT_ID)/
        C(AZURE_CLIENT_SECRET), an Azure CLI login; the identity needs the role Storage Blob Data Contributor).
      - V(connection_string), V(shared_key) and V(sas) insist on that credential (option, else its environment
        variable); V(default_credential) uses Azure AD even when keys are around. Azure AD needs an C(https) endpoint.
    type: str
    choices: [auto, connection_string, shared_key, sas, default_credential]
    default: auto
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
      - GCS service account key (JSON) on the host, mode 0600, or any credentials file google-auth reads. Without
        O(access_token) and O(credentials_file), V(gcs) uses application default credentials
        (C(GOOGLE_APPLICATION_CREDENTIALS), a gcloud login, or the metadata server of a Compute Engine or GKE host).
    type: path
  anonymous:
    description:
      - V(gcs) sends no credentials (an emulator such as gcp-storage-emulator, or a public bucket). When omitted,
        requests are anonymous only if O(endpoint_url) is given and no credentials are (no O(access_token),
        O(credentials_file) or C(GOOGLE_APPLICATION_CREDENTIALS)); V(false) always uses credentials.
    type: bool
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
      - Part (S3), block (Azure) or chunk (GCS) size in MiB. S3 and Azure keep about O(multipart_mb) times
        O(concurrency) in memory, GCS one chunk.
    type: int
    default: 16
  concurrency:
    description: Parts (S3) or blocks (Azure) uploaded in parallel.
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
    support: partial
    details:
      - V(push) and V(prune) show the remote backups of each service before and after, one key per line;
        V(pull) changes the local repository only and shows no diff.
extends_documentation_fragment:
  - lifeboat.dr.attributes
  - lifeboat.dr.connection.signing
requirements:
  - boto3 for V(s3)
  - azure-storage-blob, and azure-identity for Azure AD, for V(azure_blob)
  - google-cloud-storage and google-auth for V(gcs)
notes:
  - Check mode reports what V(push), V(pull) or V(prune) would do and touches nothing.
  - The client libraries are needed on the host that runs the module, in the Python that runs it; the pip
    requirements (with versions) per store are what the P(lifeboat.dr.offsite_python_requirements#filter) filter
    returns. V(filesystem) needs none.
  - Credentials also come from the standard environment variables of each store (C(AWS_*), C(AZURE_STORAGE_*),
    C(GOOGLE_APPLICATION_CREDENTIALS)); an option given wins. Secrets never appear in the result, in C(target) or in
    error messages.
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

- name: Copy to Azure with the VM's managed identity (no key anywhere)
  lifeboat.dr.backup_offsite:
    action: push
    provider: azure_blob
    account_name: acmebackups
    container: backups
    prefix: "{{ inventory_hostname }}"
    azure_auth: default_credential

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
    - Per service, for V(push) C(pushed) and C(present) keys; for V(list) C(backups) (each with its C(server_version)
      and C(app_key_fingerprint) when the backup recorded them) and C(incomplete); for
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
signature:
  description: What the signature check found, for example C(verified (SHA256:...)) or C(not checked (...)).
  returned: when O(action=pull)
  type: str
attempts:
  description:
    - How many times the download was started; one that breaks off mid-object is started again twice, then the pull
      fails naming the object.
  returned: when O(action=pull) fetched the backup
  type: int
target:
  description: The store, without credentials.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lifeboat.dr.plugins.module_utils import offsite
from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils.module_args import listing_diff, runner_for, signing_spec
from ansible_collections.lifeboat.dr.plugins.module_utils.offsite import transfer
from ansible_collections.lifeboat.dr.plugins.module_utils.offsite.azure_blob import AUTH_CHOICES


def _remote_diff(action, service, found):
    if action == "push":
        return listing_diff(found["present"], found["present"] + found["pushed"], "offsite backups of %s" % service)
    kept = [item["path"] for item in found["kept"]]
    return listing_diff(kept + [item["path"] for item in found["deleted"]], kept, "offsite backups of %s" % service)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            action=dict(type="str", required=True, choices=list(transfer.ACTIONS)),
            provider=dict(type="str", required=True, choices=list(offsite.names())),
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
            azure_auth=dict(type="str", default="auto", choices=list(AUTH_CHOICES)),
            encryption_scope=dict(type="str"),
            access_token=dict(type="str", no_log=True),
            credentials_file=dict(type="path"),
            anonymous=dict(type="bool"),
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
            **signing_spec()
        ),
        required_if=[("provider", name, list(offsite.get(name).REQUIRED_PARAMS)) for name in offsite.names()] + [
            ("action", "pull", ["service"]), ("object_lock_mode", "GOVERNANCE", ["object_lock_days"]),
            ("object_lock_mode", "COMPLIANCE", ["object_lock_days"]), ("sse", "aws:kms", ["kms_key_id"])],
        supports_check_mode=True,
    )
    params = dict(module.params)
    params["policy"] = {kind: params["keep_" + kind] for kind in ("daily", "weekly", "monthly", "yearly")}
    params["runner"] = runner_for(module)
    try:
        provider = offsite.provider_from_params(params)
        result = transfer.run(params["action"], provider, params, check_mode=module.check_mode)
    except LifeboatError as exc:
        module.fail_json(msg=str(exc))
    if params["action"] == "verify":
        problems = dict((service, found["problems"]) for service, found in result["services"].items()
                        if found["problems"])
        if problems:
            module.fail_json(msg="offsite copies at %s failed verification: %s" % (result["target"], "; ".join(
                "%s: %s" % (item["path"], item["problem"]) for items in problems.values() for item in items)),
                **result)
    if module._diff and params["action"] in ("push", "prune"):
        result["diff"] = [_remote_diff(params["action"], service, found)
                          for service, found in sorted(result["services"].items())]
    module.exit_json(**result)


if __name__ == "__main__":
    main()
