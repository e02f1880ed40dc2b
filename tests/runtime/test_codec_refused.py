"""A plan whose links name a codec the runtime cannot run yet is refused in one line, exit 2:
serve, infer and validate never send int8 where the plan priced fewer bits."""

from __future__ import annotations

import json
import shutil

import pytest

from cnnpc.cli._main import main
from cnnpc.records import PlanError, load_plan
from cnnpc.runtime import PartServer, PlanClient

pytestmark = pytest.mark.slow


def _coded(three_tier, tmp_path, bits: int = 4):
    """A copy of the plan whose end->edge link names `bits`-bit packing."""
    folder = tmp_path / "coded"
    shutil.copytree(three_tier.folder, folder)
    doc = json.loads((folder / "plan.json").read_text())
    doc["links"][0]["codec"] = {"bits": bits, "entropy": "none"}
    (folder / "plan.json").write_text(json.dumps(doc, indent=2))
    return folder


def test_servers_and_clients_refuse_a_coded_link(three_tier, tmp_path):
    plan = load_plan(_coded(three_tier, tmp_path))
    assert not plan.links[0].codec.is_default  # plan.json itself is valid: only running it is not
    for build in (
        lambda: PartServer(plan, "edge", port=0),
        lambda: PlanClient(plan, "127.0.0.1:9"),
    ):
        with pytest.raises(PlanError, match=r"end->edge: codec 4 bits is priced but .*int8"):
            build()


@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "--role", "edge", "--port", "0"],
        ["infer", "--edge", "127.0.0.1:9", "--limit", "1"],
        ["validate", "7", "--requests", "1"],  # the plan's search is 7 (tests/deploy/plans.py)
    ],
    ids=["serve", "infer", "validate"],
)
def test_the_commands_say_it_in_one_line(three_tier, tmp_path, capsys, argv):
    folder = _coded(three_tier, tmp_path)
    capsys.readouterr()
    code = main([*argv, "--plan", str(folder)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "codec 4 bits" in err, err
