"""`optiscape reproduce`: run every registered claim of the source texts; write claims.json and report.md with
figures."""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from models.claims import Claim
from models.registry import all_claims
from optiscape.figures import draw
from optiscape.run import jsonable, prepare_folder


def measure_each(claims: list[Claim], quick: bool, figures: Path | None) -> Iterator[dict[str, Any]]:
    """Measure each claim, one record at a time (a measurement that raised is verdict 'failed', with its error)."""
    for claim in claims:
        started = time.perf_counter()
        record: dict[str, Any] = {"id": claim.id, "world": claim.world, "claim": claim.claim,
                                  "text_value": claim.text_value}
        try:
            m = claim.measure(quick)
            record.update(measured=m.measured, verdict=m.verdict, note=m.note)
            if m.figure is not None and figures is not None:
                record["figure"] = draw(m.figure, figures / f"{claim.id}.png").name
        except Exception as exc:  # a claim that cannot be measured is reported, not hidden
            record.update(measured=None, verdict="failed", note=f"measurement failed: {exc!r}",
                          error=traceback.format_exc(limit=3))
        record["seconds"] = round(time.perf_counter() - started, 2)
        yield record


def _short(value: Any, width: int = 70) -> str:
    text = json.dumps(jsonable(value), default=str)
    return text if len(text) <= width else text[: width - 1] + "…"


def write_report(records: list[dict[str, Any]], out: Path, quick: bool, of: int | None = None) -> tuple[Path, Path]:
    """claims.json (the machine-readable list) and report.md (table, then one section per claim); `of`: the claims
    asked for, where fewer were measured (an interrupted report)."""
    claims_path = out / "claims.json"
    keys = ("id", "world", "claim", "text_value", "measured", "verdict", "note")
    rows = [{k: jsonable(r.get(k)) for k in keys} for r in records]
    claims_path.write_text(json.dumps(rows, indent=2, ensure_ascii=False), encoding="utf-8")
    reproduced = sum(r["verdict"] == "reproduced" for r in records)
    failed = sum(r["verdict"] == "failed" for r in records)
    lines = ["# optiscape: the source texts' claims against measurements", "",
             f"{reproduced} of {len(records)} claims reproduced; {len(records) - reproduced - failed} differ"
             + (f"; {failed} could not be measured" if failed else "") + "."
             + (" Quick mode: fewer walkers than the full report." if quick else "")
             + (f" Interrupted: {len(records)} of the {of} claims asked for were measured." if of and of > len(records)
                else ""), "",
             "| id | claim | the text says | measured | verdict |", "|---|---|---|---|---|"]
    for r in records:
        cells = [r["id"], r["claim"], _short(r["text_value"], 30), _short(r["measured"], 50), r["verdict"]]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    for r in records:
        lines += ["", f"## `{r['id']}` — {r['verdict']}", "",
                  f"**The text says:** {r['claim']} ({_short(r['text_value'])})",
                  "", f"**Measured:** `{_short(r['measured'], 400)}`", ""]
        if r.get("note"):
            lines += [f"**Note:** {r['note']}", ""]
        if r.get("figure"):
            lines += [f"![{r['id']}](figures/{r['figure']})", ""]
    report_path = out / "report.md"
    report_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return claims_path, report_path


def reproduce(out: Path, quick: bool = False, only: str | None = None,
              on_done: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Run the registered claims (those whose id starts with `only`, or of the world `only` names, if given) and
    write the report."""
    if only is not None and not only.strip():
        raise ValueError("--only '': expected the start of a claim id (e.g. 'sgd.') or a world's name")
    claims = [c for c in all_claims() if only is None or c.id.startswith(only) or c.world == only.rstrip(".")]
    if not claims:
        raise ValueError(f"no claim id starts with {only!r} and no world of that name has claims")
    prepare_folder(out, _earlier_report, "report")
    figures = out / "figures"
    figures.mkdir(exist_ok=True)
    records: list[dict[str, Any]] = []
    try:
        for record in measure_each(claims, quick, figures):
            records.append(record)
            if on_done is not None:
                on_done(record)
    finally:  # interrupted too: the claims measured so far are written
        drawn = {record.get("figure") for record in records}
        for path in figures.glob("*.png"):  # an earlier report's figures go with it
            if path.name not in drawn:
                path.unlink()
        write_report(records, out, quick, of=len(claims))
    return records


def _earlier_report(folder: Path) -> bool:
    return (folder / "report.md").is_file() and (folder / "claims.json").is_file()
