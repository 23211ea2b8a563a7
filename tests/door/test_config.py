"""--config FILE and `cobalt config check FILE`: every serve option from a file, the command line
over it, a bad line named, secrets never printed."""
import base64
import os

import pytest
from azure.storage.blob import BlobServiceClient

from cobalt_server import run_cli

KEY1 = base64.b64encode(os.urandom(32)).decode()
KEY2 = base64.b64encode(os.urandom(32)).decode()


def client(srv, account, key):
    return BlobServiceClient(f"http://127.0.0.1:{srv.port}/{account}",
                             credential={"account_name": account, "account_key": key},
                             retry_total=0)


def test_config_file_sets_accounts_and_options(tmp_path, start_server):
    conf = tmp_path / "cobalt.conf"
    conf.write_text(f"""# a deployment

account = prod1:{KEY1}:{KEY2}   # keys with '=' padding, then a comment
max-connections = 64	# another
   versioning   =   prod1  \r
""")
    srv = start_server("--config", conf)
    for i, key in enumerate((KEY1, KEY2)):
        client(srv, "prod1", key).create_container(f"bykey{i}")
    # devstoreaccount1 is served only when no account is configured
    with pytest.raises(Exception):
        client(srv, "devstoreaccount1",
               "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
               "KBHBeksoGMGw==").create_container("nope")
    # versioning = prod1 took effect: a write makes a version
    cc = client(srv, "prod1", KEY1).get_container_client("versioned")
    cc.create_container()
    cc.upload_blob("b", b"one")
    assert cc.get_blob_client("b").get_blob_properties().version_id


def test_command_line_overrides_file(tmp_path, start_server):
    conf = tmp_path / "cobalt.conf"
    conf.write_text(f"account = prod1:{KEY1}\nport = 1\nmetrics-port = 1\n")
    # the harness passes --port after --config: the file's port 1 must lose
    srv = start_server("--config", conf, "--metrics-port", "0")
    client(srv, "prod1", KEY1).create_container("overridden")


@pytest.mark.parametrize("text,line,why", [
    ("port = 10000\nmax-connections = 5\n", 2, "--max-connections must be 16..65536"),
    ("\n# c\nno-such-option = 1\n", 3, "unknown option 'no-such-option'"),
    ("port 10000\n", 1, "expected 'name = value'"),
    ("config = other.conf\n", 1, "unknown option 'config'"),
    ("fsync = sometimes\n", 1, "--fsync must be always or never"),
])
def test_check_names_the_bad_line(tmp_path, text, line, why):
    conf = tmp_path / "bad.conf"
    conf.write_text(text)
    r = run_cli("config", "check", conf)
    assert r.returncode == 2, r
    assert f"{conf}:{line}: {why}" in r.stderr, r.stderr


def test_check_never_prints_a_secret(tmp_path):
    conf = tmp_path / "bad.conf"
    secret = "c2VjcmV0LXRoYXQtbXVzdC1ub3QtbGVhaw=="
    conf.write_text(f"account = acct1:{secret}!!\n")
    r = run_cli("config", "check", conf)
    assert r.returncode == 2
    assert f"{conf}:1: --account takes NAME:KEY1[:KEY2]" in r.stderr, r.stderr
    assert secret[:10] not in r.stderr + r.stdout


def test_check_accepts_a_good_file_and_serve_refuses_a_bad_one(tmp_path, start_server):
    conf = tmp_path / "good.conf"
    conf.write_text(f"account = a1:{KEY1}\naccount = a2:{KEY2}\nidle-timeout = 30\n")
    r = run_cli("config", "check", conf)
    assert r.returncode == 0 and "2 accounts" in r.stdout, r
    bad = tmp_path / "bad.conf"
    bad.write_text("idle-timeout = 0\n")
    with pytest.raises(RuntimeError, match=f"{bad}:1: --idle-timeout must be"):
        start_server("--config", bad)


def test_missing_file(tmp_path):
    r = run_cli("config", "check", tmp_path / "absent.conf")
    assert r.returncode == 2 and "No such file" in r.stderr


def test_keys_never_logged(tmp_path, start_server):
    conf = tmp_path / "cobalt.conf"
    conf.write_text(f"account = prod1:{KEY1}\nlog-level = debug\n")
    srv = start_server("--config", conf, "--log-level", "debug")
    client(srv, "prod1", KEY1).create_container("logged")
    with pytest.raises(Exception):
        client(srv, "prod1", KEY2).create_container("refused")
    srv.stop()
    assert KEY1 not in srv.log_text() and KEY1[:16] not in srv.log_text()


def test_config_given_once(tmp_path):
    conf = tmp_path / "c.conf"
    conf.write_text("port = 0\n")
    r = run_cli("serve", "--config", conf, "--config", conf, "--data-dir", tmp_path / "d")
    assert r.returncode == 2 and "--config may be given once" in r.stderr
