"""`deploy --adaptive` refuses bad options with one line and exit 2, before any work."""

from __future__ import annotations

import pytest

from cnnpc.cli import main


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--adaptive", "--bandwidth", "5:2"], "STOP must be > START"),
        (["--adaptive", "--bandwidth", "0:2"], "START must be a finite number > 0"),
        (["--adaptive", "--bandwidth", "2"], "expected START:STOP"),
        (["--bandwidth", "2:5"], "--adaptive and --bandwidth START:STOP go together"),
        (["--adaptive"], "--adaptive and --bandwidth START:STOP go together"),
        (["--adaptive", "--bandwidth", "2:5", "--hysteresis", "1"], "--hysteresis must be in"),
        (["--adaptive", "--bandwidth", "2:5", "--hysteresis", "-0.1"], "must be a finite number"),
    ],
)
def test_bad_adaptive_options(extra, message, tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(
            main(["deploy", "1", "--out", str(tmp_path / "p"), "--storage", url, *extra])
        )
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "p").exists()


def test_checked_before_tensorflow_is_imported(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys; from cnnpc.cli import main; "
        f"main(['deploy', '1', '--out', 'p', '--adaptive', '--bandwidth', '2:5', '--hysteresis', "
        f"'2', '--storage', 'sqlite:///{tmp_path / 'r.db'}']); "
        "print('tensorflow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False" and "--hysteresis must be in" in out.stderr
