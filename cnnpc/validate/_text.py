"""The text of `cnnpc validate`, in the library so a notebook prints what the command prints."""

from __future__ import annotations

from typing import Any

from cnnpc._text import format_table
from cnnpc.validate._report import ValidationReport


def validation_text(report: ValidationReport) -> str:
    """The text of `cnnpc validate`: each component predicted against measured."""
    out = report.as_dict()
    lines: list[str] = []
    rows = [
        [
            c["component"],
            c["predicted_ms"],
            c["measured_ms"],
            c["p10_ms"],
            c["p90_ms"],
            None if c["error_pct"] is None else f"{c['error_pct']:+.1f}",
        ]
        for c in out["components"]
    ]
    headers = ["component", "predicted ms", "measured ms", "p10", "p90", "error %"]
    lines.append(format_table(headers, rows))
    where = {"none": "unshaped loopback links", "token bucket in the senders": "loopback links"}
    links = where.get(out["shaping"], "veth links")
    lines.append(
        f"{out['requests']} requests on {links} (shaping: {out['shaping']}; "
        f"{out['transport']}): median |error| of the total "
        f"{out['median_abs_error_total_pct']:.1f} %"
    )
    for line in out["shaping_details"]:
        lines.append(f"  {line}")
    if out["runtime_overhead_ms"] is not None:
        lines.append(
            f"runtime overhead above pure transfer ({out['pure_transfer_ms']:.2f} ms) and "
            f"compute: {out['runtime_overhead_ms']:.2f} ms per request (median)"
            + (" (below 0: the links beat bytes / rate)" if out["runtime_overhead_ms"] < 0 else "")
        )
    if out["calibration"] is not None:
        c = out["calibration"]
        lines.append(
            f"calibrated prediction: runtime {c['runtime_ms']:.3f} ms per request, "
            f"{c['uplink_message_ms']:.3f} / {c['message_ms']:.3f} ms per message (end->edge / "
            f"edge->cloud), compute x {_scales(c)}"
        )
    if out["fitted"] is not None:
        f = out["fitted"]
        lines.append(
            f"fixed costs these requests show: runtime {f['runtime_ms']:.3f} ms, messages "
            f"{f['uplink_message_ms']:.3f} / {f['message_ms']:.3f} ms, compute x {_scales(f)}"
        )
    for link in out.get("links", []):
        lines.append(
            f"{link['link']} coded as {link['codec']}: {link['measured_bytes']:.1f} bytes sent, "
            f"{link['predicted_bytes']:.1f} predicted ({link['bytes_error_pct']:+.2f} %); "
            f"encode {link['encode_ms']:.3f} ms, decode {link['decode_ms']:.3f} ms (medians)"
        )
    if out["accuracy"] is not None:
        lines.append(f"accuracy of these requests: {out['accuracy']:.4f}")
    return "\n".join(lines)


def _scales(calibration: dict[str, Any]) -> str:
    """The end / edge / cloud compute scales of a calibration's dict."""
    return " / ".join(f"{calibration[f'{t}_compute_scale']:.3f}" for t in ("end", "edge", "cloud"))
