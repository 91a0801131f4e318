"""deploy/nginx-rightswatch.conf in front of `rightswatch api`: TLS, and one rate-limit bucket
per client behind the proxy (not one for everybody, and not one a client picks itself).

Runs the real nginx from the example (only ports and certificate paths changed) when it is
installed (`apt-get install nginx-light`); skipped otherwise.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT
from tests.support.network import free_port
from tests.support.tls import self_signed
from tests.support.waits import wait_for

EXAMPLE = ROOT / "deploy" / "nginx-rightswatch.conf"
PER_CLIENT = 10  # RESEND_PER_CLIENT: requests an hour


def site_config(api_port: int, http_port: int, https_port: int, cert: Path, key: Path) -> str:
    text = EXAMPLE.read_text()
    replacements = {
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "/etc/letsencrypt/live/alerts.example.org/fullchain.pem": str(cert),
        "/etc/letsencrypt/live/alerts.example.org/privkey.pem": str(key),
        "proxy_pass http://127.0.0.1:8000;": f"proxy_pass http://127.0.0.1:{api_port};",
    }
    for old, new in replacements.items():
        assert old in text, f"the example no longer has {old!r}: update this test"
        text = text.replace(old, new)
    return text


@pytest.fixture
def nginx(tmp_path: Path) -> Callable[[str], int]:
    binary = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if binary is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    started: list[subprocess.Popen[bytes]] = []

    def start(site: str) -> int:
        folder = tmp_path / "nginx"
        folder.mkdir()
        (folder / "site.conf").write_text(site)
        (folder / "nginx.conf").write_text(
            f"""
            user root;
            worker_processes 1;
            daemon off;
            pid {folder}/nginx.pid;
            error_log {folder}/error.log;
            events {{}}
            http {{
                client_body_temp_path {folder}/body;
                proxy_temp_path {folder}/proxy;
                fastcgi_temp_path {folder}/fastcgi;
                uwsgi_temp_path {folder}/uwsgi;
                scgi_temp_path {folder}/scgi;
                include {folder}/site.conf;
            }}
            """
        )
        process = subprocess.Popen(
            [binary, "-p", str(folder), "-c", str(folder / "nginx.conf")],
            stdout=subprocess.DEVNULL,
            stderr=(folder / "stderr.log").open("wb"),
        )
        started.append(process)
        return process.pid

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=20)


def test_clients_behind_the_example_proxy_get_their_own_rate_limit_buckets(
    tmp_path: Path,
    nginx: Callable[[str], int],
    start_process: Callable[..., subprocess.Popen[bytes]],
) -> None:
    config = tmp_path / "rightswatch.yaml"
    config.write_text(
        "feeds: []\nwatchlists:\n  - id: kg\n    title: Kyrgyzstan\n    public: true\n"
        "    people: [{name: Azimjan Askarov}]\nsubscribers: []\n"
    )
    api_port, http_port, https_port = free_port(), free_port(), free_port()
    outside = {k: v for k, v in os.environ.items() if not k.startswith("RIGHTSWATCH_")}
    env = {
        **outside,
        "RIGHTSWATCH_CONFIG": str(config),
        "RIGHTSWATCH_DATA_DIR": str(tmp_path / "data"),
        "RIGHTSWATCH_SECRET_KEY": "reverse-proxy-test",
        "RIGHTSWATCH_PUBLIC_URL": "https://alerts.example.org",
        "RIGHTSWATCH_API_TRUSTED_PROXIES": "127.0.0.1",
    }
    start_process("api", "--port", str(api_port), env=env, name="api")
    cert, key = self_signed(tmp_path, "alerts.example.org")
    nginx(site_config(api_port, http_port, https_port, cert, key))
    base = f"https://127.0.0.1:{https_port}"

    def client(address: str) -> httpx.Client:
        transport = httpx.HTTPTransport(local_address=address, verify=False)
        return httpx.Client(base_url=base, transport=transport, timeout=10)

    def up() -> bool:
        try:
            return client("127.0.0.1").get("/healthz").status_code == 200
        except httpx.HTTPError:
            return False

    assert wait_for(up, 60), (tmp_path / "api.log").read_text()
    plain = httpx.get(f"http://127.0.0.1:{http_port}/healthz", follow_redirects=False)
    assert plain.status_code == 301 and plain.headers["location"].startswith("https://")

    def resend(who: httpx.Client, n: int, **headers: str) -> int:
        body = {"email": f"person{n}@example.org"}
        return who.post(
            "/subscriptions/resend-confirmation", json=body, headers=headers
        ).status_code

    first, second = client("127.0.0.2"), client("127.0.0.3")
    assert [resend(first, n) for n in range(PER_CLIENT)] == [202] * PER_CLIENT
    assert resend(first, 100) == 429
    # a client cannot pick another bucket by sending its own X-Forwarded-For
    assert resend(first, 101, **{"X-Forwarded-For": "203.0.113.9"}) == 429
    # another client behind the same proxy has its own bucket
    assert resend(second, 200) == 202
