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


# ---- OAuth: signing keys, JWKS, tokens ----------------------------------------------------------

def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Signer:
    """A signing key (RS256 or ES256) with its JWK; `kid` names it in tokens and in the JWKS."""

    def __init__(self, alg: str, kid: str):
        from cryptography.hazmat.primitives.asymmetric import ec, rsa
        self.alg, self.kid = alg, kid
        if alg == "RS256":
            self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            n = self.key.public_key().public_numbers()
            self.jwk = {"kty": "RSA", "kid": kid, "use": "sig", "alg": alg,
                        "n": _b64url(n.n.to_bytes((n.n.bit_length() + 7) // 8, "big")),
                        "e": _b64url(n.e.to_bytes(3, "big"))}
        else:
            self.key = ec.generate_private_key(ec.SECP256R1())
            n = self.key.public_key().public_numbers()
            self.jwk = {"kty": "EC", "kid": kid, "use": "sig", "crv": "P-256",
                        "x": _b64url(n.x.to_bytes(32, "big")), "y": _b64url(n.y.to_bytes(32, "big"))}

    def token(self, claims: dict, headers: dict = None) -> str:
        import jwt
        return jwt.encode(claims, self.key, algorithm=self.alg,
                          headers={"kid": self.kid, **(headers or {})})


def write_jwks(path: Path, *signers) -> Path:
    path.write_text(json.dumps({"keys": [s.jwk for s in signers]}))
    return path


def claims(iss, oid, aud="https://storage.azure.com", lifetime=3600, **extra):
    now = int(time.time())
    c = {"iss": iss, "aud": aud, "oid": oid, "sub": f"sub-{oid}",
         "tid": "72f988bf-86f1-41af-91ab-2d7cd011db47", "iat": now, "nbf": now - 10,
         "exp": now + lifetime}
    c.update(extra)
    return {k: v for k, v in c.items() if v is not None}


class StaticToken:
    """An azure-core TokenCredential that hands out one token."""

    def __init__(self, token: str):
        self.value = token

    def get_token(self, *scopes, **kwargs):
        from azure.core.credentials import AccessToken
        return AccessToken(self.value, int(time.time()) + 3600)


def new_oid() -> str:
    return str(uuid.uuid4())
