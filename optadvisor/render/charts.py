"""The HTML report's charts, drawn here as inline SVG (the report loads nothing and runs
no script for them): CPU and memory over the run, and the event loop's lags over the run.
Hovering a mark shows its numbers in a native SVG <title>. Every text that came from the
program (a function name) is escaped; the rest are numbers formatted here."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from markupsafe import Markup, escape

from optadvisor.render.table import number

_TL_WIDTH, _TL_HEIGHT = 760, 250
_TL_LEFT, _TL_RIGHT, _TL_TOP, _TL_BOTTOM = 52, 66, 34, 36
_NICE = (1, 2, 2.5, 5, 10)


def _nice_step(span: float, ticks: int = 5) -> float:
    """A round step (1, 2, 2.5, 5 × 10^n) giving at most about `ticks` intervals."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in _NICE:
        if factor * power >= raw:
            return factor * power
    return 10 * power  # pragma: no cover


def _label(value: float) -> str:
    return f"{value:.0f}" if abs(value - round(value)) < 1e-9 else f"{value:g}"


def resource_timeline(points: Any) -> Markup | None:
    """CPU % (left axis) and RSS (right axis) over the run's seconds, drawn here as inline
    SVG; hovering a slice shows its numbers (native SVG <title>, no script)."""
    data: list[tuple[float, float, float]] = []
    for point in points:
        try:
            t, cpu, rss = (number(point[0]), number(point[1]), number(point[2]))
        except (TypeError, IndexError):
            continue
        data.append((t, max(cpu, 0.0), max(rss, 0.0)))
    data.sort(key=lambda p: p[0])
    if len(data) < 2 or data[-1][0] <= max(data[0][0], 0.0):
        return None
    width, height = _TL_WIDTH, _TL_HEIGHT
    left, right, top, bottom = _TL_LEFT, _TL_RIGHT, _TL_TOP, _TL_BOTTOM
    plot_w, plot_h = width - left - right, height - top - bottom
    t0, t1 = min(0.0, data[0][0]), data[-1][0]  # from the start of the run
    cpu_step = _nice_step(max(100.0, max(p[1] for p in data)), 4)
    cpu_top = cpu_step * math.ceil(max(100.0, max(p[1] for p in data)) / cpu_step)
    mib = [p[2] / 1048576 for p in data]
    rss_step = _nice_step(max(mib) or 1.0, 4)
    rss_top = rss_step * math.ceil((max(mib) or 1.0) / rss_step)
    t_step = _nice_step(t1 - t0, 8)

    def x(t: float) -> float:
        return left + (t - t0) / (t1 - t0) * plot_w

    def y_cpu(value: float) -> float:
        return top + plot_h - value / cpu_top * plot_h

    def y_rss(value: float) -> float:
        return top + plot_h - value / rss_top * plot_h

    out: list[str] = []
    add = out.append
    add(f'<svg class="timeline" viewBox="0 0 {width} {height}" role="img" '
        'aria-labelledby="tl-title" preserveAspectRatio="xMidYMid meet" '
        'xmlns="http://www.w3.org/2000/svg">')
    peak_cpu = max(p[1] for p in data)
    add(f'<title id="tl-title">CPU (peak {peak_cpu:.0f} %) and resident memory (peak '
        f'{max(mib):.1f} MiB) over {t1 - t0:.2f} s</title>')
    # Grid and axes labels: CPU on the left, RSS on the right, seconds below.
    steps = round(cpu_top / cpu_step)
    for i in range(steps + 1):
        value = cpu_step * i
        yy = y_cpu(value)
        add(f'<line class="tl-grid" x1="{left}" x2="{left + plot_w}" y1="{yy:.1f}" '
            f'y2="{yy:.1f}"/>')
        add(f'<text class="tl-axis tl-axis-cpu" x="{left - 8}" y="{yy + 4:.1f}" '
            f'text-anchor="end">{_label(value)}%</text>')
    for i in range(round(rss_top / rss_step) + 1):
        value = rss_step * i
        add(f'<text class="tl-axis tl-axis-rss" x="{left + plot_w + 8}" '
            f'y="{y_rss(value) + 4:.1f}">{_label(value)} MiB</text>')
    tick = math.ceil(t0 / t_step) * t_step
    while tick <= t1 + 1e-9:
        xx = x(tick)
        add(f'<line class="tl-tick" x1="{xx:.1f}" x2="{xx:.1f}" y1="{top + plot_h}" '
            f'y2="{top + plot_h + 5}"/>')
        add(f'<text class="tl-axis" x="{xx:.1f}" y="{top + plot_h + 19}" '
            f'text-anchor="middle">{_label(round(tick, 6))} s</text>')
        tick += t_step
    add(f'<line class="tl-base" x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" '
        f'y2="{top + plot_h}"/>')
    cpu_points = " ".join(f"{x(t):.1f},{y_cpu(c):.1f}" for t, c, _ in data)
    rss_points = " ".join(f"{x(t):.1f},{y_rss(r / 1048576):.1f}" for t, _, r in data)
    add(f'<path class="tl-cpu-area" d="M{x(t0):.1f},{top + plot_h} L{cpu_points} '
        f'L{x(t1):.1f},{top + plot_h} Z"/>')
    add(f'<polyline class="tl-cpu" points="{cpu_points}"/>')
    if max(mib) > 0:
        add(f'<polyline class="tl-rss" points="{rss_points}"/>')
    # Legend, top left.
    add(f'<g class="tl-legend" transform="translate({left},14)">'
        '<rect class="tl-key-cpu" x="0" y="-7" width="14" height="4" rx="2"/>'
        '<text x="20" y="-1">CPU % (left, 100 = one core)</text>'
        '<rect class="tl-key-rss" x="210" y="-7" width="14" height="4" rx="2"/>'
        '<text x="230" y="-1">RSS (right)</text></g>')
    # Hover slices: one transparent band per point, its numbers in a native tooltip.
    for i, (t, cpu, rss) in enumerate(data):
        lo = x((data[i - 1][0] + t) / 2) if i else x(t0)
        hi = x((t + data[i + 1][0]) / 2) if i + 1 < len(data) else x(t1)
        add(f'<rect class="tl-hover" x="{lo:.1f}" y="{top}" width="{max(hi - lo, 0.5):.1f}" '
            f'height="{plot_h}"><title>{t:.2f} s · CPU {cpu:.0f} % · RSS '
            f'{rss / 1048576:.1f} MiB</title></rect>')
    add("</svg>")
    return Markup("".join(out))


# ---------------------------------------------------------------- the event loop's lags

_LAG_WIDTH, _LAG_HEIGHT = 760, 170
_LAG_LEFT, _LAG_RIGHT, _LAG_TOP, _LAG_BOTTOM = 52, 20, 28, 36


def lag_timeline(loop_lag: Any, duration: float) -> Markup | None:
    """Each lag of the event loop over the threshold as a bar over the run's seconds: it
    starts when the heartbeat was due and is as wide as the loop was held (and as tall);
    the threshold is a dashed line. Hovering a bar shows when, how long and, for the worst
    lags, the user function that held the loop. None when there was no lag (or no loop).
    `duration`: the script's seconds, the x axis (stretched to the last lag's end)."""
    if not isinstance(loop_lag, Mapping):
        return None
    events = _lag_events(loop_lag)
    if not events:
        return None
    threshold = max(number(loop_lag.get("threshold_ms")), 0.0)
    longest = max(lag for _, lag in events)
    t1 = max(number(duration), max(start + lag / 1000 for start, lag in events), 1e-3)
    width, height = _LAG_WIDTH, _LAG_HEIGHT
    left, right, top, bottom = _LAG_LEFT, _LAG_RIGHT, _LAG_TOP, _LAG_BOTTOM
    plot_w, plot_h = width - left - right, height - top - bottom
    y_step = _nice_step(max(longest, threshold), 4)
    y_top = y_step * math.ceil(max(longest, threshold) / y_step)
    t_step = _nice_step(t1, 8)

    def x(t: float) -> float:
        return left + max(t, 0.0) / t1 * plot_w

    def y(ms: float) -> float:
        return top + plot_h - ms / y_top * plot_h

    blockers = _blockers(loop_lag)
    out: list[str] = []
    add = out.append
    add(f'<svg class="timeline lag-timeline" viewBox="0 0 {width} {height}" role="img" '
        'aria-labelledby="lag-tl-title" preserveAspectRatio="xMidYMid meet" '
        f'xmlns="http://www.w3.org/2000/svg" data-lags="{len(events)}">')
    add(f'<title id="lag-tl-title">{len(events)} event-loop lag'
        f'{"" if len(events) == 1 else "s"} over {threshold:.0f} ms during {t1:.2f} s, '
        f'the longest {longest:.0f} ms</title>')
    for i in range(round(y_top / y_step) + 1):
        value = y_step * i
        add(f'<line class="tl-grid" x1="{left}" x2="{left + plot_w}" y1="{y(value):.1f}" '
            f'y2="{y(value):.1f}"/>')
        add(f'<text class="tl-axis" x="{left - 8}" y="{y(value) + 4:.1f}" '
            f'text-anchor="end">{_label(value)} ms</text>')
    tick = 0.0
    while tick <= t1 + 1e-9:
        add(f'<line class="tl-tick" x1="{x(tick):.1f}" x2="{x(tick):.1f}" '
            f'y1="{top + plot_h}" y2="{top + plot_h + 5}"/>')
        add(f'<text class="tl-axis" x="{x(tick):.1f}" y="{top + plot_h + 19}" '
            f'text-anchor="middle">{_label(round(tick, 6))} s</text>')
        tick += t_step
    add(f'<line class="tl-base" x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" '
        f'y2="{top + plot_h}"/>')
    if threshold:
        add(f'<line class="lag-threshold" x1="{left}" x2="{left + plot_w}" '
            f'y1="{y(threshold):.1f}" y2="{y(threshold):.1f}"/>')
        add(f'<text class="tl-axis" x="{left + plot_w}" y="{y(threshold) - 4:.1f}" '
            f'text-anchor="end">threshold {threshold:.0f} ms</text>')
    for start, lag in events:
        held = blockers.get(round(start, 3))
        tip = f"{start:.2f} s: the loop ran {lag:.0f} ms late"
        if held:
            tip += f" · held by {held}"
        add(f'<rect class="lag-bar" x="{x(start):.1f}" y="{y(lag):.1f}" '
            f'width="{max(x(start + lag / 1000) - x(start), 1.5):.1f}" '
            f'height="{max(top + plot_h - y(lag), 0.5):.1f}"><title>{escape(tip)}</title></rect>')
    add("</svg>")
    return Markup("".join(out))


def _lag_events(loop_lag: Mapping[str, Any]) -> list[tuple[float, float]]:
    """(start s, lag ms) of every kept lag; runs saved before the timeline was kept have
    only their worst lags."""
    events: list[tuple[float, float]] = []
    for point in loop_lag.get("timeline") or ():
        try:
            events.append((number(point[0]), number(point[1])))
        except (TypeError, IndexError, KeyError):
            continue
    if not events:
        for event in loop_lag.get("worst") or ():
            if isinstance(event, Mapping):
                events.append((number(event.get("start_s")), number(event.get("lag_ms"))))
    return sorted((max(start, 0.0), max(lag, 0.0)) for start, lag in events if lag > 0)


def _blockers(loop_lag: Mapping[str, Any]) -> dict[float, str]:
    """The worst lags' blockers by start (to the ms), as `name (path:line)`."""
    found: dict[float, str] = {}
    for event in loop_lag.get("worst") or ():
        if isinstance(event, Mapping) and event.get("function"):
            where = str(event.get("path") or "")
            if where and event.get("line"):
                where += f":{event.get('line')}"
            found[round(number(event.get("start_s")), 3)] = (
                f"{event.get('function')}" + (f" ({where})" if where else ""))
    return found
