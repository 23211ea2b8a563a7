"""Two real applications that users point at Azure Blob, against Cobalt over HTTPS with the test
CA: pgBackRest (its azure repository type, path-style) backs up a throwaway PostgreSQL cluster
and restores it, and the restored data checks out; duplicity (its azure:// backend, which takes a
connection string and so a custom endpoint) backs up a directory and restores it."""
import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from cobalt_server import free_port
from doorlib import DEV_ACCOUNT, DEV_KEY

PG_BIN = Path("/usr/lib/postgresql/15/bin")


@pytest.fixture
def tls(tls_server):
    return {"srv": tls_server, "ca": tls_server.ca.pem, "port": tls_server.https_port}


def run(cmd, user=None, env=None, timeout=300, cwd=None):
    if user is not None and os.geteuid() == 0:
        cmd = ["runuser", "-u", user, "--", *cmd]
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout,
                       env={**os.environ, **(env or {})}, cwd=cwd)
    assert r.returncode == 0, f"{cmd} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    return r.stdout


def _pg_user():
    """PostgreSQL refuses to run as root: as root, the cluster belongs to the postgres user."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no postgres user")
    return "postgres"


@pytest.mark.skipif(shutil.which("pgbackrest") is None or not (PG_BIN / "initdb").exists(),
                    reason="pgbackrest or postgresql-15 not installed (scripts/deps.sh)")
def test_pgbackrest_backup_and_restore(tls, tmp_path):
    user = _pg_user()
    # pytest's temporary directories are private to their owner: the cluster's user gets its own
    work = Path(tempfile.mkdtemp(prefix="cobalt-pg-"))
    try:
        _pgbackrest(tls, work, user)
    finally:
        if (work / "data" / "postmaster.pid").exists():   # a failed step left it running
            subprocess.run(["runuser", "-u", user, "--"] * bool(user) +
                           [str(PG_BIN / "pg_ctl"), "-D", str(work / "data"), "-m", "immediate",
                            "-w", "stop"], capture_output=True, timeout=60)
        if os.environ.get("COBALT_KEEP_PG") is None:
            shutil.rmtree(work, ignore_errors=True)


def _pgbackrest(tls, work, user):
    pgdata, sock, logs = work / "data", work / "sock", work / "log"
    for d in (sock, logs, work / "spool"):
        d.mkdir()
    ca = work / "ca.pem"
    shutil.copyfile(tls["ca"], ca)
    if user:
        for d in (work, sock, logs, work / "spool", ca):
            shutil.chown(d, user, user)
    # pgBackRest matches the host against the certificate's DNS names only (not IP addresses)
    conf = work / "pgbackrest.conf"
    pgport = free_port()
    conf.write_text(f"""[global]
repo1-type=azure
repo1-path=/pgbackrest
repo1-azure-account={DEV_ACCOUNT}
repo1-azure-key={DEV_KEY}
repo1-azure-container=pgbackrest
repo1-azure-uri-style=path
repo1-storage-host=localhost
repo1-storage-port={tls['port']}
repo1-storage-ca-file={ca}
repo1-retention-full=2
log-path={logs}
lock-path={work / 'lock'}
spool-path={work / 'spool'}
log-level-console=warn
start-fast=y
archive-timeout=60

[demo]
pg1-path={pgdata}
pg1-port={pgport}
pg1-socket-path={sock}
""")
    os.chmod(conf, 0o644)
    br = ["pgbackrest", f"--config={conf}", "--stanza=demo"]
    run([PG_BIN / "initdb", "-D", pgdata, "-A", "trust", "-U", "postgres"], user)
    with open(pgdata / "postgresql.conf", "a") as f:
        f.write(f"port = {pgport}\nunix_socket_directories = '{sock}'\nlisten_addresses = ''\n"
                "wal_level = replica\narchive_mode = on\n"
                f"archive_command = 'pgbackrest --config={conf} --stanza=demo archive-push %p'\n")
    # the container the repository lives in
    from azure.storage.blob import BlobServiceClient
    BlobServiceClient(f"https://127.0.0.1:{tls['port']}/{DEV_ACCOUNT}", credential=DEV_KEY,
                      connection_verify=str(tls["ca"])).create_container("pgbackrest")
    pg_ctl = [PG_BIN / "pg_ctl", "-D", pgdata, "-l", logs / "pg.log", "-w"]
    psql = [PG_BIN / "psql", "-h", sock, "-p", str(pgport), "-U", "postgres", "-d", "postgres",
            "-tA", "-v", "ON_ERROR_STOP=1", "-c"]
    run(pg_ctl + ["start"], user)
    try:
        run(br + ["stanza-create"], user)
        run(psql + ["CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v "
                    "FROM generate_series(1, 20000) g"], user)
        want = run(psql + ["SELECT md5(string_agg(v, ',' ORDER BY id)) FROM t"], user).strip()
        run(br + ["check"], user)
        run(br + ["backup", "--type=full"], user, timeout=600)
        info = run(br + ["info"], user)
        assert "full backup" in info, info
    finally:
        run(pg_ctl + ["stop", "-m", "fast"], user)
    shutil.rmtree(pgdata)
    run(br + ["restore"], user, timeout=600)
    run(pg_ctl + ["start"], user)
    try:
        got = run(psql + ["SELECT md5(string_agg(v, ',' ORDER BY id)) FROM t"], user).strip()
        assert got == want
        assert run(psql + ["SELECT count(*) FROM t"], user).strip() == "20000"
    finally:
        run(pg_ctl + ["stop", "-m", "fast"], user)


@pytest.mark.skipif(shutil.which("duplicity") is None, reason="duplicity not installed")
def test_duplicity_backup_and_restore(tls, tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("duplicity over TLS\n")
    (src / "sub" / "big.bin").write_bytes(os.urandom(3 << 20))
    env = {"AZURE_CONNECTION_STRING":
           f"DefaultEndpointsProtocol=https;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
           f"BlobEndpoint=https://127.0.0.1:{tls['port']}/{DEV_ACCOUNT};",
           "REQUESTS_CA_BUNDLE": str(tls["ca"]), "HOME": str(tmp_path)}
    common = ["--no-encryption", "--archive-dir", tmp_path / "archive", "--verbosity", "warning"]
    run(["duplicity", "full", *common, src, "azure://duplicity"], env=env)
    (src / "a.txt").write_text("changed\n")
    run(["duplicity", "incremental", *common, src, "azure://duplicity"], env=env)
    dst = tmp_path / "dst"
    run(["duplicity", "restore", *common, "azure://duplicity", dst], env=env)

    def digests(d):
        return {p.relative_to(d).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in d.rglob("*") if p.is_file()}

    assert digests(dst) == digests(src)
