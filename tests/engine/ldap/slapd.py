"""A real, throwaway ``slapd`` for the LDAP source's tests and benchmark.

Started on a free 127.0.0.1 port with a ``slapd.conf`` written into a temporary directory (an
mdb database beside it), seeded offline with ``slapadd`` (fast: the benchmark loads 100,000
users that way), and stopped (SIGTERM, then waited for) afterwards. The configuration is what a
real OpenLDAP provider runs with, reduced to what the source depends on:

- ``syncprov``, which keeps ``contextCSN`` on the suffix entry (how the source proves nothing
  changed without searching);
- ``refint`` on member, uniqueMember and manager, the trap of the issue: it rewrites those
  values after a rename, move or delete without touching the referring entry's entryCSN;
- a small size limit (``size_limit``) on searches without paging, with no limit on paged ones,
  so that a source that forgot paging fails the tests;
- a read-only service account ``cn=scimhub,ou=services,<suffix>`` (password ``SERVICE_PASSWORD``)
  and the root DN for changes made between cycles.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SUFFIX = "dc=example,dc=com"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PASSWORD = "root-secret"
SERVICE_DN = f"cn=scimhub,ou=services,{SUFFIX}"
SERVICE_PASSWORD = "service-secret-7f3a"
HERE = Path(__file__).parent
SCHEMA = Path("/etc/ldap/schema")

CONFIG = """\
include {schema}/core.schema
include {schema}/cosine.schema
include {schema}/inetorgperson.schema
include {schema}/nis.schema
include {ad_schema}
{tls}pidfile {workdir}/slapd.pid
argsfile {workdir}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload syncprov
moduleload refint
sizelimit size.soft={size_limit} size.hard={size_limit} size.pr=unlimited size.prtotal=unlimited

database mdb
suffix "{suffix}"
rootdn "{root_dn}"
rootpw {root_password}
directory {workdir}/db
maxsize 4294967296
index objectClass eq
index entryUUID,entryCSN eq
index uid,cn eq
index member,uniqueMember,manager eq
{limits}access to attrs=userPassword by anonymous auth by * none
access to * by dn.exact="{service_dn}" read by * none
overlay syncprov
overlay refint
refint_attributes member uniqueMember manager
refint_nothing "cn=nobody,{suffix}"
"""

BASE_LDIF = """\
dn: {suffix}
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: ou=services,{suffix}
objectClass: organizationalUnit
ou: services

dn: {service_dn}
objectClass: person
objectClass: simpleSecurityObject
cn: scimhub
sn: scimhub
userPassword: {service_password}

"""


def make_certificates(workdir: Path) -> None:
    """A throwaway CA (ca.pem) and a server certificate for localhost only, signed by it
    (server.pem, server.key): ``ldaps://localhost`` passes the checks, ``ldaps://127.0.0.1``
    is the wrong name."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "scimhub test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                       False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]),
                           critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    (workdir / "ca.pem").write_bytes(ca.public_bytes(pem))
    (workdir / "server.pem").write_bytes(cert.public_bytes(pem))
    (workdir / "server.key").write_bytes(key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (workdir / "server.key").chmod(0o600)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Slapd:
    workdir: Path
    size_limit: int = 5
    #: Stop the service account's paged searches after this many entries (a truncated read).
    service_limit: int | None = None
    #: The service account cannot read the suffix entry (nor so its contextCSN).
    hide_suffix: bool = False
    port: int = field(default_factory=free_port)
    #: Also serve ldaps:// on ``tls_port`` and StartTLS, with a certificate for localhost
    #: signed by a throwaway CA (``ca_file``).
    tls: bool = False
    tls_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://localhost:{self.tls_port}"

    @property
    def ca_file(self) -> Path:
        return self.workdir / "ca.pem"

    def configure(self, seed_ldif: str) -> None:
        """Write the configuration and load the base entries plus ``seed_ldif`` offline."""
        if shutil.which("slapd") is None and not Path("/usr/sbin/slapd").exists():
            raise RuntimeError("slapd is not installed: the test command installs it "
                               "(apt-get install slapd ldap-utils)")
        (self.workdir / "db").mkdir(parents=True, exist_ok=True)
        self.write_config()
        ldif = self.workdir / "seed.ldif"
        ldif.write_text(BASE_LDIF.format(suffix=SUFFIX, service_dn=SERVICE_DN,
                                         service_password=SERVICE_PASSWORD) + seed_ldif)
        # -w: slapadd writes the contextCSN syncprov would (so a seeded database has one).
        done = subprocess.run(["/usr/sbin/slapadd", "-q", "-w", "-f",
                               str(self.workdir / "slapd.conf"), "-l", str(ldif)],
                              check=False, capture_output=True, text=True, timeout=3600)
        if done.returncode != 0:
            raise RuntimeError(f"slapadd failed: {done.stderr}")

    def write_config(self) -> None:
        """slapd.conf from the fields (``service_limit`` included); read at the next start."""
        limits = (f'limits dn.exact="{SERVICE_DN}" size.soft={self.service_limit} '
                  f"size.hard={self.service_limit} size.prtotal={self.service_limit}\n"
                  if self.service_limit is not None else "")
        tls = ""
        if self.tls:
            make_certificates(self.workdir)
            tls = (f"TLSCACertificateFile {self.workdir}/ca.pem\n"
                   f"TLSCertificateFile {self.workdir}/server.pem\n"
                   f"TLSCertificateKeyFile {self.workdir}/server.key\n")
        if self.hide_suffix:
            limits += f'access to dn.base="{SUFFIX}" by * none\n'
        (self.workdir / "slapd.conf").write_text(CONFIG.format(
            tls=tls, schema=SCHEMA, ad_schema=HERE / "ad.schema", workdir=self.workdir,
            size_limit=self.size_limit, suffix=SUFFIX, root_dn=ROOT_DN,
            root_password=ROOT_PASSWORD, service_dn=SERVICE_DN, limits=limits))

    def start(self) -> None:
        log = open(self.workdir / "slapd.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            ["/usr/sbin/slapd", "-d", "0", "-f", str(self.workdir / "slapd.conf"),
             "-h", f"ldap://127.0.0.1:{self.port}/"
             + (f" ldaps://127.0.0.1:{self.tls_port}/" if self.tls else "")],
            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("slapd exited: "
                                   + (self.workdir / "slapd.log").read_text(errors="replace"))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("slapd did not start listening")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
