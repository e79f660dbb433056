"""Generated configurations for load: many windows in one hall, or many halls."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _globals() -> str:
    """The sample's process-wide sections (everything before the first hall)."""
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    return text[: text.index("\n[halls.") + 1]


def load_toml(
    halls: int = 1,
    windows: int = 50,
    services: str = "ABCD",
    quota: int = 100_000,
    *,
    database_url: str | None = None,
) -> str:
    """A configuration of `halls` halls named h00, h01 … each with `windows` comprehensive windows."""
    out = [_globals()]
    if database_url:
        out[0] = out[0].replace("[database]\n", f'[database]\nurl = "{database_url}"\n', 1)
    for h in range(halls):
        hid = f"h{h:02d}"
        out.append(
            f'[halls.{hid}]\nname = "压测大厅 {h}"\nlevel = "district"\ndispatch = "longest_wait"\n'
            f'[halls.{hid}.hours]\nopen = "00:00"\nclose = "23:59"\nweekdays = [1, 2, 3, 4, 5, 6, 7]\n'
            f'[[halls.{hid}.areas]]\ncode = "main"\nname = "综合受理区"\n'
        )
        for code in services:
            out.append(
                f'[[halls.{hid}.services]]\ncode = "{code}"\nname = "业务 {code}"\narea = "main"\n'
                f"daily_quota = {quota}\nhandling_minutes = 5\nwarn_minutes = 15\nalarm_minutes = 30\n"
            )
        svc = ", ".join(f'"{c}"' for c in services)
        for w in range(1, windows + 1):
            out.append(
                f'[[halls.{hid}.windows]]\nnumber = {w}\nname = "{w} 号窗口"\narea = "main"\n'
                f"services = [{svc}]\ncomprehensive = true\n"
            )
    return "\n".join(out)
