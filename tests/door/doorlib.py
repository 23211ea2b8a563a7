"""Helpers of the front-door suite: a test CA and server certificates made with openssl, and (for
the OAuth tests) signing keys, JWKS files and tokens made with python3-cryptography and
python3-jwt.  Everything is written under the test's own temporary directory."""
import base64
import json
import subprocess
import time
import uuid
from pathlib import Path

DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
           "KBHBeksoGMGw==")


def openssl(*args, cwd=None):
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, cwd=cwd)


class CertAuthority:
    """A CA (ca.pem) and certificates it signs for 127.0.0.1/localhost, in `d`."""

    def __init__(self, d: Path, name="Cobalt Test CA"):
        self.d = Path(d)
        self.d.mkdir(parents=True, exist_ok=True)
        self.key = self.d / "ca.key"
        self.pem = self.d / "ca.pem"
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", self.key, "-out", self.pem, "-days", "2", "-subj", f"/CN={name}")

    def issue(self, stem: str, hosts=("127.0.0.1", "localhost"), rsa=False):
        """(cert chain path, key path) for a server certificate naming `hosts`."""
        key, csr, crt = (self.d / f"{stem}.key", self.d / f"{stem}.csr", self.d / f"{stem}.pem")
        if rsa:
            openssl("genrsa", "-out", key, "2048")
        else:
            openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-out", key)
        openssl("req", "-new", "-key", key, "-out", csr, "-subj", f"/CN={hosts[0]}")
        san = ",".join(("IP:" if h[0].isdigit() else "DNS:") + h for h in hosts)
        ext = self.d / f"{stem}.ext"
        ext.write_text(f"subjectAltName={san}\nextendedKeyUsage=serverAuth\n")
        openssl("x509", "-req", "-in", csr, "-CA", self.pem, "-CAkey", self.key,
                "-CAcreateserial", "-out", crt, "-days", "2", "-extfile", ext)
        return crt, key


def serial_of(host: str, port: int, ca: Path) -> str:
    """The serial number of the certificate the server presents."""
    out = subprocess.run(["openssl", "s_client", "-connect", f"{host}:{port}", "-CAfile", str(ca),
                          "-verify_return_error"], input="", capture_output=True, text=True,
                         timeout=30).stdout
    pem = out[out.index("-----BEGIN CERTIFICATE-----"):out.index("-----END CERTIFICATE-----") + 25]
    return subprocess.run(["openssl", "x509", "-noout", "-serial"], input=pem, capture_output=True,
                          text=True, check=True).stdout.strip()
