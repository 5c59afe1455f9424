"""Pieces of the offsite providers that need no store: GCS service-account JWTs, connection strings."""
import base64
import json
import subprocess

from ansible_collections.lifeboat.dr.plugins.module_utils import offsite_providers as providers
from ansible_collections.lifeboat.dr.plugins.module_utils.process import Runner


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_service_account_jwt_is_signed_by_the_key_and_asks_for_storage(tmp_path):
    key = tmp_path / "key.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    subprocess.run(["openssl", "rsa", "-in", str(key), "-pubout", "-out", str(tmp_path / "pub.pem")], check=True,
                   capture_output=True)
    info = {"client_email": "backup@proj.iam.gserviceaccount.com", "token_uri": "https://oauth2.googleapis.com/token",
            "private_key": key.read_text()}
    runner = Runner()
    jwt = providers.service_account_jwt(info, providers.GCSProvider.SCOPE, runner, now=1700000000)
    header, claims, signature = jwt.split(".")
    assert json.loads(unb64(header)) == {"alg": "RS256", "typ": "JWT"}
    assert json.loads(unb64(claims)) == {"iss": info["client_email"], "scope": providers.GCSProvider.SCOPE,
                                         "aud": info["token_uri"], "iat": 1700000000, "exp": 1700003600}
    (tmp_path / "sig").write_bytes(unb64(signature))
    (tmp_path / "input").write_bytes(("%s.%s" % (header, claims)).encode())
    verified = subprocess.run(["openssl", "dgst", "-sha256", "-verify", str(tmp_path / "pub.pem"), "-signature",
                               str(tmp_path / "sig"), str(tmp_path / "input")], capture_output=True, text=True, check=False)
    assert verified.stdout.strip() == "Verified OK"
    # The private key went through a 0600 file that is gone, never through argv.
    assert "PRIVATE KEY" not in " ".join(runner.executed)


def test_connection_string_gives_account_key_and_endpoint():
    store = providers.AzureBlobProvider("backups", connection_string=(
        "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=a2V5;EndpointSuffix=core.windows.net"))
    assert store.account == "acme" and store.key == "a2V5"
    assert store.describe() == "https://acme.blob.core.windows.net/backups"


def test_pull_by_root_gives_the_files_to_the_repository_owner(tmp_path):
    import datetime
    import os
    import sqlite3

    import pytest
    from ansible_collections.lifeboat.dr.plugins.module_utils import offsite
    from ansible_collections.lifeboat.dr.plugins.module_utils.dump import run_dump
    if os.geteuid() != 0:
        pytest.skip("needs root to hand files to another user")
    db = str(tmp_path / "a.db")
    sqlite3.connect(db).execute("CREATE TABLE t (x)").connection.commit()
    run_dump({"engine": "sqlite", "service": "a", "backup_root": str(tmp_path / "src"), "path": db},
             when=datetime.datetime(2026, 11, 2, tzinfo=datetime.timezone.utc))
    (tmp_path / "store").mkdir()
    store = providers.FilesystemProvider(str(tmp_path / "store"))
    offsite.push(store, str(tmp_path / "src"), "a")
    repo = tmp_path / "repo"
    repo.mkdir()
    os.chown(str(repo), 12345, 12345)  # the agent user of a rebuilt host
    pulled = offsite.pull(store, "", "a", str(repo))
    for path in (pulled["path"], os.path.dirname(pulled["path"]), os.path.dirname(os.path.dirname(pulled["path"]))):
        assert os.stat(path).st_uid == 12345, path
    metadata = [name for name in os.listdir(os.path.dirname(pulled["path"])) if name.endswith(".metadata.json")]
    assert metadata and os.stat(os.path.join(os.path.dirname(pulled["path"]), metadata[0])).st_uid == 12345
