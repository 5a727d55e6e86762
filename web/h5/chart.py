"""The 30-day trend as an inline SVG of stacked bars: no chart library to download on a weak link."""
from __future__ import annotations

from dataclasses import dataclass

# Colour-blind-safe palette (Okabe–Ito), each dark enough against white for a thin bar.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#7A6A00", "#555555")
WIDTH, HEIGHT, TOP, BOTTOM = 300, 120, 8, 18


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


def stacked_bars(trend) -> dict:
    """Rectangles, legend and axis labels for ``trend`` (carbon_credit.reporting.resident_pages.Trend)."""
    days = trend.days
    totals = [sum(values[i] for values in trend.series.values()) for i in range(len(days))]
    peak = max(totals or [0]) or 1
    slot = WIDTH / max(len(days), 1)
    scale = (HEIGHT - TOP - BOTTOM) / peak
    bars, legend = [], []
    for n, (name, values) in enumerate(trend.series.items()):
        colour = PALETTE[n % len(PALETTE)]
        legend.append({"name": name, "colour": colour, "points": sum(values)})
    base = [HEIGHT - BOTTOM] * len(days)
    for n, (name, values) in enumerate(trend.series.items()):
        colour = PALETTE[n % len(PALETTE)]
        for i, value in enumerate(values):
            if value <= 0:
                continue
            height = value * scale
            base[i] -= height
            bars.append(Bar(x=round(i * slot + 1, 1), y=round(base[i], 1), width=round(slot - 2, 1),
                            height=round(height, 1), colour=colour,
                            title=f"{days[i].month}月{days[i].day}日 {name} {value} 积分"))
    ticks = [{"x": 0 if i == 0 else round(i * slot + slot / 2, 1), "anchor": "start" if i == 0 else "middle",
              "label": f"{days[i].month}/{days[i].day}"} for i in range(0, len(days), 7)]
    return {"bars": bars, "legend": legend, "ticks": ticks, "width": WIDTH, "height": HEIGHT,
            "axis_y": HEIGHT - BOTTOM, "peak": peak if totals and max(totals) else 0}
