"""The README's "Deploy a plan on three machines", word for word, on three namespaces as hosts.

Each namespace gets the README's address (198.51.100.0/24, a documentation network no host
routes); the commands of the README's block run in the namespace its comment names, the servers
in the background until they print where they serve, the end device's `infer` to its end.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import shlex
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from cnnpc.validate import _netns, netns_unavailable_reason

README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = "<!-- three hosts:"
HOSTS = {"any machine": "end", "cloud": "cloud", "edge": "edge", "end device": "end"}
pytestmark = pytest.mark.slow


def readme_block() -> list[tuple[str, list[str]]]:
    """(tier, argv) for every command of the README's block, in order."""
    text = README.read_text()
    block = text[text.index(MARKER) :].split("```sh\n", 1)[1].split("```", 1)[0]
    commands: list[tuple[str, list[str]]] = []
    tier = "end"
    for line in block.replace("\\\n", " ").splitlines():
        header = re.match(r"# On (?:the )?([a-z ]+?)(?: \(|:)", line)
        if header is not None:
            tier = HOSTS[header.group(1)]
        elif line.strip() and not line.startswith("#"):
            commands.append((tier, shlex.split(line)))
    return commands


def _first_line(process, timeout_s):
    """The server's first line of output ("... serving ... on HOST:PORT"), or "" after the bound."""
    lines = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout_s)
    return lines[0].decode(errors="replace") if lines else ""


def stop(process):
    """SIGTERM (the server finishes its calls), SIGKILL past a bound."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(15)
    process.stdout.close()


def test_the_readme_block_names_every_host():
    tiers = [tier for tier, _ in readme_block()]
    assert tiers == ["end", "cloud", "edge", "end"]


def _cnnpc() -> list[str]:
    """The installed `cnnpc` beside this Python (as a user types it), else `python -m cnnpc`."""
    found = shutil.which("cnnpc", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "cnnpc"]


@pytest.fixture(scope="session")
def namespaces():
    """Skips, saying why, where namespaces cannot be made: requested before the three-tier
    plan, so a machine without root does not build it for nothing."""
    reason = netns_unavailable_reason()
    if reason is not None:
        print(f"\nSKIP three hosts: {reason}")
        pytest.skip(reason)


def test_the_readme_deploys_a_plan_on_three_hosts(namespaces, three_tier, tmp_path):
    shutil.copytree(three_tier.folder, tmp_path / "plan")
    network = ipaddress.IPv4Network("198.51.100.0/24")
    if any(network.overlaps(used) for used in _netns.used_networks()):
        pytest.skip(f"{network} (the README's hosts) is in use on this machine")
    with _netns.kernel_links(three_tier, network=network) as topology:
        assert (topology.edge_address, topology.cloud_address) == ("198.51.100.2", "198.51.100.6")
        with contextlib.ExitStack() as servers:
            last = None
            for tier, argv in readme_block():
                assert argv[0] == "cnnpc"
                command = ["ip", "netns", "exec", topology.namespaces[tier], *_cnnpc(), *argv[1:]]
                if argv[1] == "serve":
                    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE)
                    servers.callback(stop, process)
                    line = _first_line(process, 60.0)
                    assert "serving" in line, (
                        process.stderr.read().decode() if process.stderr else ""
                    )
                else:
                    last = subprocess.run(
                        command, cwd=tmp_path, capture_output=True, text=True, timeout=300
                    )
                    assert last.returncode == 0, last.stderr
    assert last is not None
    assert "accuracy" in last.stdout
    key = tmp_path / "certs"
    for name in key.glob("*.key"):
        assert name.stat().st_mode & 0o077 == 0
