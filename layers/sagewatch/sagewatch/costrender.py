"""The cost report as a terminal table, CSV, and one self-contained HTML page with inline SVG charts. Pure."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from html import escape

from sagewatch import textable
from sagewatch.bounds import bounded
from sagewatch.commitments import Commitments
from sagewatch.costs import RESOURCES, CostReport, CostRow
from sagewatch.formats import money

COLUMNS = [
    "level",
    "endpoint",
    "variant",
    "component",
    "instance_type",
    "instance_count",
    "copies",
    "hours",
    "cost_usd",
    "monthly_cost_usd",
    "share",
    "invocations",
    "cost_per_million_usd",
    "p99_ms",
    *[f"{r}_{p}" for r in RESOURCES for p in ("p50", "p95")],
    "waste_usd",
]
RESOURCE_LABELS = {"cpu": "CPU", "memory": "memory", "gpu": "GPU", "gpu_memory": "GPU memory"}


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def to_csv(report: CostReport) -> str:
    """One line per endpoint, variant and component (empty cell: unknown or not applicable), then TOTAL."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in report.shown_rows():
        d = row.to_dict()
        writer.writerow([_cell(d[c]) for c in COLUMNS])
    t = report.totals
    total = {"level": "TOTAL", "cost_usd": t.cost_usd, "monthly_cost_usd": t.monthly_cost_usd}
    total |= {"invocations": t.invocations, "waste_usd": t.waste_usd}
    writer.writerow([_cell(total.get(c)) for c in COLUMNS])
    return out.getvalue()


def _money(value: float | None) -> str:
    return money(value, cents=True, unknown="n/a")


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f} ms"


def _count(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def _pct(row: CostRow, resource: str) -> str:
    p50, p95 = row.usage.p50.get(resource), row.usage.p95.get(resource)
    return "" if p50 is None or p95 is None else f"{p50:.0f}/{p95:.0f}"


def _usage(row: CostRow) -> str:
    """A row's utilization, resource by resource (those it has), each kept on one line."""
    parts = [(RESOURCE_LABELS[r], _pct(row, r)) for r in RESOURCES]
    return "".join(f"<span>{escape(label)} {value}</span>" for label, value in parts if value)


def _th(header: str) -> str:
    return (
        f'<th class="use">{escape(header)}</th>' if header.startswith("utilization") else f"<th>{escape(header)}</th>"
    )


def _name(row: CostRow) -> str:
    if row.level == "endpoint":
        return row.endpoint
    if row.level == "variant":
        return f"  {row.variant} (shadow)" if row.shadow else f"  {row.variant}"
    return f"    {row.component}"


def render_table(report: CostReport, width: int | None = None) -> str:
    """The cost report as a terminal table (the scan table's header style, figures right-aligned). With a
    `width` (the terminal's), every line fits it: a table too wide for it is laid out narrow."""
    header = ["name", "type x count", "hours", "cost", "per month", "invocations", "$/1M inv", "p99", "waste"]
    header += [f"{RESOURCE_LABELS[r]} p50/p95" for r in RESOURCES]
    rows = []
    for row in report.shown_rows():
        kind = "" if row.instance_type is None else f"{row.instance_type} x{row.instance_count}"
        if row.level == "component" and row.share is not None:
            kind = f"{row.share:.0%} of the variant"
        per_million = row.cost_per_million_usd
        rows.append(
            [
                _name(row),
                kind,
                f"{row.hours:g}",
                _money(row.cost_usd),
                _money(row.monthly_cost_usd),
                _count(row.invocations),
                "" if per_million is None else _money(per_million),
                _ms(row.p99_ms),
                _money(row.waste_usd),
                *[_pct(row, r) for r in RESOURCES],
            ]
        )
    t = report.totals
    total = [_money(t.cost_usd), _money(t.monthly_cost_usd), _count(t.invocations), "", "", _money(t.waste_usd)]
    rows.append(["TOTAL", "", "", *total])
    rows[-1] += [""] * (len(header) - len(rows[-1]))
    text = [
        f"sagewatch cost report: {report.region}, {report.days:g} days to {report.end:%Y-%m-%d %H:%M} UTC "
        f"(on-demand prices as of {report.catalog.get('as_of')}; waste at {report.target_utilization_pct:g}% target)",
        "",
        *textable.table(header, rows, width=width, lead=2, right=range(2, len(header))),
    ]
    if t.cost_usd:
        text += ["", f"Waste: {_money(t.waste_usd)} of {_money(t.cost_usd)} ({t.waste_usd / t.cost_usd:.0%})."]
    text += _notes(report)
    return "\n".join(textable.fit(text, width)) + "\n"


def _notes(report: CostReport) -> list[str]:
    lines = [f"WARNING: {w}" for w in report.warnings]
    lines += _time(report)
    lines += commitment_lines(report.commitments)
    if report.not_costed:
        lines += ["", "Not costed:"] + [f"  {s.endpoint}: {s.reason}" for s in report.not_costed]
    if report.errors:
        lines += ["", "Errors (figures involving these are unknown):"]
        lines += [f"  {e.endpoint or '-'} {e.operation}: {e.code} {e.message}" for e in report.errors]
    return lines


WASTE_SHOWN = 5


def commitment_lines(commitments: Commitments | None) -> list[str]:
    """SageMaker Savings Plans: coverage, utilization, each plan (those ending soon said so), and Cost Explorer's
    recommendation beside sagewatch's, net of waste. Nothing when they were not read."""
    if commitments is None:
        return []
    c = commitments.to_dict()
    lines = ["", "Commitments (SageMaker Savings Plans, the last 30 days):"]
    if not c["available"]:
        lines.append(f"  not available: {bounded(str(c['reason']), 400)}")
    if c["coverage_pct"] is not None:
        lines.append(
            f"  coverage {c['coverage_pct']:g}% ({_money(c['covered_usd'])} of {_money(c['total_usd'])} covered, "
            f"{_money(c['on_demand_usd'])} on demand)"
            + (f"; utilization {c['utilization_pct']:g}%" if c["utilization_pct"] is not None else "")
        )
    for plan in c["plans"]:
        soon = "  <- ends soon: renew or let it lapse on purpose" if plan["ending_soon"] else ""
        lines.append(
            f"  plan {bounded(plan['id'], 64)}: {_money(plan['commitment_per_hour_usd'])}/hour, {plan['term'] or '?'}, "
            f"{plan['state']}, ends {(plan['end'] or '?')[:10]}"
            + (f" ({plan['days_left']} days)" if plan["days_left"] is not None else "")
            + soon
        )
    r = c["recommendation"]
    if r and r["hourly_commitment_usd"]:
        lines.append(
            f"  Cost Explorer recommends ${r['hourly_commitment_usd']:,.3f}/hour ({r['term']}, "
            f"{r['payment_option'].lower().replace('_', ' ')}; saves {_money(r['estimated_monthly_savings_usd'])} "
            f"a month); net of waste: ${r['net_hourly_commitment_usd']:,.3f}/hour"
        )
        lines.append(f"  {bounded(str(r['why']), 600)}")
        for w in r["waste_excluded"][:WASTE_SHOWN]:
            where = f"{w['endpoint']}/{w['variant']}" if w["variant"] else w["endpoint"]
            lines.append(f"    {bounded(where, 130)} ({w['kind']}): ${w['hourly_usd']:,.3f}/hour on demand")
        if len(r["waste_excluded"]) > WASTE_SHOWN:
            lines.append(f"    and {len(r['waste_excluded']) - WASTE_SHOWN} more (the JSON report lists them)")
    elif r:
        lines.append("  Cost Explorer recommends no SageMaker Savings Plan")
    lines += [f"  {bounded(n, 200)}" for n in c["notes"]]
    return lines


def _time(report: CostReport) -> list[str]:
    """Waste in time (off-hours and batch-candidate hours priced) and the consolidation groups."""
    lines = []
    if report.time_waste:
        time = report.waste_in_time()
        lines += [
            "",
            f"Waste in time: {_money(time['period_usd'])} in the period, {_money(time['monthly_usd'])} a month "
            "(hours it serves almost nothing):",
        ]
        lines += [
            f"  {w.endpoint}{'/' + w.variant if w.variant else ''} ({w.kind}): {_money(w.period_usd)} in the period; "
            f"{bounded(w.summary, 400)}"
            for w in report.time_waste
        ]
    if report.consolidation:
        lines += ["", "Could share instances (inference components on one endpoint):"]
        for g in report.consolidation:
            lines.append(
                f"  {', '.join(str(n) for n in g.get('endpoints') or [])} -> {g.get('instance_count')} x "
                f"{g.get('instance_type')}: {_money(g.get('monthly_cost_usd'))}/month -> "
                f"{_money(g.get('monthly_cost_after_usd'))}/month"
            )
    return lines


# --- HTML ----------------------------------------------------------------------------------------------------

_CSS = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1b1f23;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
.meta{color:#57606a;margin-bottom:16px}
.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{border:1px solid #d0d7de;border-radius:6px;padding:10px 14px;min-width:150px}
.card b{display:block;font-size:20px}
.charts{display:flex;gap:24px;flex-wrap:wrap}
table{border-collapse:collapse;margin-top:8px;font-variant-numeric:tabular-nums;max-width:100%}
th,td{border-bottom:1px solid #eaeef2;padding:4px 8px;text-align:right;white-space:nowrap}
td.name{white-space:normal;overflow-wrap:break-word;max-width:260px}
th.use,td.use{white-space:normal;text-align:left;min-width:120px}
td.use span{display:inline-block;white-space:nowrap;margin-right:8px}
th{background:#f6f8fa;position:sticky;top:0}
td:first-child,th:first-child{text-align:left}
tr.endpoint td{font-weight:600;border-top:2px solid #d0d7de}
tr.variant td:first-child{padding-left:20px}
tr.component td:first-child{padding-left:36px;color:#57606a}
tr.total td{font-weight:700;border-top:2px solid #1b1f23}
.waste{color:#b35900}
"""


def _bar_chart(title: str, items: Sequence[tuple[str, float]], color: str, width: int = 560) -> str:
    """Horizontal bars, largest first; labels and values as SVG text."""
    bar_h, gap, label_w, value_w = 18, 6, 200, 90
    height = max(1, len(items)) * (bar_h + gap) + 30
    top = max((v for _, v in items), default=0.0) or 1.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<text x="0" y="14" font-size="13" font-weight="600">{escape(title)}</text>',
    ]
    plot_w = width - label_w - value_w
    for i, (label, value) in enumerate(items):
        y = 24 + i * (bar_h + gap)
        w = max(1.0, plot_w * value / top) if value > 0 else 0.0
        short = label if len(label) <= 28 else label[:27] + "…"
        parts += [
            f'<text x="{label_w - 6}" y="{y + 13}" font-size="12" text-anchor="end">{escape(short)}</text>',
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{color}"><title>'
            f"{escape(label)}: ${value:,.2f}</title></rect>",
            f'<text x="{label_w + w + 4:.1f}" y="{y + 13}" font-size="12">${value:,.0f}</text>',
        ]
    if not items:
        parts.append('<text x="0" y="40" font-size="12" fill="#57606a">nothing to show</text>')
    parts.append("</svg>")
    return "".join(parts)


def _histogram(report: CostReport, width: int = 560) -> str:
    """How many variants and components sit in each 10% band of p95 utilization, per resource."""
    rows = [r for r in report.rows if r.level in ("variant", "component")]
    colors = {"cpu": "#0969da", "memory": "#8250df", "gpu": "#1a7f37", "gpu_memory": "#bf8700"}
    bins = {r: [0] * 10 for r in RESOURCES}
    for row in rows:
        for resource, value in row.usage.p95.items():
            bins[resource][min(9, int(value // 10))] += 1
    top = max((n for counts in bins.values() for n in counts), default=0) or 1
    plot_h, left, bottom = 160, 30, 40
    band_w = (width - left) / 10
    bar_w = band_w / (len(RESOURCES) + 1)
    title = "Utilization distribution (p95 of each variant and component)"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{plot_h + bottom + 50}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<text x="0" y="14" font-size="13" font-weight="600">{escape(title)}</text>',
    ]
    base = 24 + plot_h
    for b in range(10):
        x0 = left + b * band_w
        label = f"{b * 10}-{b * 10 + 10}%"
        parts.append(
            f'<text x="{x0 + band_w / 2:.1f}" y="{base + 14}" font-size="11" text-anchor="middle">{label}</text>'
        )
        for j, resource in enumerate(RESOURCES):
            n = bins[resource][b]
            h = plot_h * n / top
            x = x0 + (j + 0.5) * bar_w
            parts.append(
                f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{colors[resource]}">'
                f"<title>{RESOURCE_LABELS[resource]} {b * 10}-{b * 10 + 10}%: {n}</title></rect>"
            )
    parts.append(f'<line x1="{left}" y1="{base}" x2="{width}" y2="{base}" stroke="#57606a"/>')
    for j, resource in enumerate(RESOURCES):
        x = left + j * 120
        parts += [
            f'<rect x="{x}" y="{base + 26}" width="10" height="10" fill="{colors[resource]}"/>',
            f'<text x="{x + 14}" y="{base + 35}" font-size="11">{RESOURCE_LABELS[resource]}</text>',
        ]
    parts.append("</svg>")
    return "".join(parts)


def render_html(report: CostReport, top: int = 15) -> str:
    t = report.totals
    ends = report.endpoints()
    by_cost = sorted(((r.endpoint, r.cost_usd or 0.0) for r in ends), key=lambda x: -x[1])[:top]
    by_waste = sorted(((r.endpoint, r.waste_usd or 0.0) for r in ends if r.waste_usd), key=lambda x: -x[1])[:top]
    share = f" ({t.waste_share:.0%})" if t.waste_share is not None else ""
    head = f"sagewatch cost report: {report.region}"
    rows_html = []
    for row in report.shown_rows():
        name = row.endpoint if row.level == "endpoint" else (row.variant if row.level == "variant" else row.component)
        name = f"{name} (shadow)" if row.shadow else name
        kind = "" if row.instance_type is None else f"{row.instance_type} × {row.instance_count}"
        if row.level == "component":
            kind = "" if row.share is None else f"{row.share:.1%} of variant"
        cells = [
            f'<td class="name">{escape(name or "")}</td>',
            f"<td>{escape(kind)}</td>",
            f"<td>{row.hours:g}</td>",
            f"<td>{_money(row.cost_usd)}</td>",
            f"<td>{_money(row.monthly_cost_usd)}</td>",
            f"<td>{_count(row.invocations)}</td>",
            "<td></td>" if row.cost_per_million_usd is None else f"<td>{_money(row.cost_per_million_usd)}</td>",
            f"<td>{_ms(row.p99_ms)}</td>",
            f'<td class="use">{_usage(row)}</td>',
            f'<td><span class="waste">{_money(row.waste_usd)}</span></td>',
        ]
        rows_html.append(f'<tr class="{row.level}">' + "".join(cells) + "</tr>")
    rows_html.append(
        '<tr class="total"><td>Total</td><td></td><td></td>'
        f"<td>{_money(t.cost_usd)}</td><td>{_money(t.monthly_cost_usd)}</td><td>{_count(t.invocations)}</td>"
        + "<td></td><td></td><td></td>"
        + f"<td>{_money(t.waste_usd)}</td></tr>"
    )
    # The utilization of every resource in one column that wraps: the table fits a 1,280 px laptop screen.
    headers = ["", "type", "hours", "cost", "per month", "invocations", "$ / 1M inv", "p99", "utilization p50/p95 %"]
    headers += ["waste"]
    notes = "".join(f"<p>{escape(line.strip())}</p>" for line in _notes(report) if line.strip())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{escape(head)}</title><style>{_CSS}</style></head>
<body>
<h1>{escape(head)}</h1>
<div class="meta">{report.days:g} days, {_iso_short(report)} · account {escape(report.account or "unknown")} ·
on-demand prices as of {escape(str(report.catalog.get("as_of")))} · waste measured against a
{report.target_utilization_pct:g}% utilization target</div>
<div class="cards">
<div class="card">cost in the period<b>{_money(t.cost_usd)}</b></div>
<div class="card">per month at this size<b>{_money(t.monthly_cost_usd)}</b></div>
<div class="card">waste<b class="waste">{_money(t.waste_usd)}{share}</b></div>
<div class="card">invocations<b>{_count(t.invocations)}</b></div>
</div>
<h2>Charts</h2>
<div class="charts">
{_bar_chart(f"Cost by endpoint (top {top})", by_cost, "#0969da")}
{_bar_chart(f"Waste by endpoint (top {top})", by_waste, "#d1242f")}
{_histogram(report)}
</div>
<h2>Endpoints, variants and inference components</h2>
<table><thead><tr>{"".join(_th(h) for h in headers)}</tr></thead>
<tbody>{"".join(rows_html)}</tbody></table>
{notes}
</body></html>
"""


def _iso_short(report: CostReport) -> str:
    return f"{report.start:%Y-%m-%d %H:%M} to {report.end:%Y-%m-%d %H:%M} UTC"
