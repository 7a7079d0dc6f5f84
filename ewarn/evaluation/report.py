"""The evaluation's result: one row per detector and frequency, a terminal table with the published
figures beside ours, and a PNG for the issue or a report."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from core.text import display_width
from ewarn.evaluation.metrics import Tally


@dataclass(frozen=True)
class Published:
    """Figures a source reports for a detector, in percent and days (shared/early-warning.md)."""

    sensitivity: float
    specificity: float
    delay: float
    source: Promise
    frequency: str = "daily"  # shown beside our rows of this design only


_HUTWAGNER = _("Hutwagner et al. 2005, simulated daily data: sensitivity/specificity %, days to detection")
PUBLISHED: dict[str, Published] = {
    "ears_c1": Published(60.1, 97.0, 1.12, _HUTWAGNER),
    "ears_c2": Published(71.2, 97.0, 1.32, _HUTWAGNER),
    "ears_c3": Published(82.3, 95.4, 1.31, _HUTWAGNER),
    "cidars": Published(
        92.7, 95.0, 2.1, _("CIDARS, hand-foot-mouth disease 2010–2012 in the field (Bull WHO 2014): mean delay")
    ),
}
# Bédubourg & Le Strat (PLoS One 2017): 21 algorithms on the weekly Noufaily design.
BEDUBOURG_FPR = (0.7, 59.9)
BEDUBOURG_POD = (43.3, 88.7)


@dataclass(frozen=True)
class EvaluationRow:
    """One detector on one design (weekly or daily series, or the spatial scenario)."""

    frequency: str
    detector: str
    label: str | Promise
    tally: Tally

    @property
    def false_positive_rate(self) -> float:
        return self.tally.false_positive_rate

    @property
    def probability_of_detection(self) -> float:
        return self.tally.probability_of_detection

    @property
    def sensitivity(self) -> float:
        return self.tally.sensitivity

    @property
    def specificity(self) -> float:
        return self.tally.specificity

    @property
    def median_delay(self) -> float:
        return self.tally.median_delay

    @property
    def mean_delay(self) -> float:
        return self.tally.mean_delay

    @property
    def series(self) -> int:
        return self.tally.series

    @property
    def published(self) -> Published | None:
        published = PUBLISHED.get(self.detector)
        return published if published and published.frequency == self.frequency else None


@dataclass
class EvaluationReport:
    """Rows plus how they were made (frequency asked for, scenarios, replicates, seed, seconds)."""

    rows: list[EvaluationRow]
    frequency: str = "both"
    settings: dict[str, object] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        """Plain JSON-ready values (rates as fractions, NaN as None), for ``--json``."""
        return {
            "frequency": self.frequency,
            "settings": self.settings,
            "seconds": round(self.seconds, 2),
            "rows": [
                {
                    "frequency": row.frequency,
                    "detector": row.detector,
                    "label": str(row.label),
                    "series": row.series,
                    "outbreaks": row.tally.outbreaks,
                    **{
                        name: _plain(getattr(row, name))
                        for name in (
                            "false_positive_rate",
                            "probability_of_detection",
                            "sensitivity",
                            "specificity",
                            "median_delay",
                            "mean_delay",
                        )
                    },
                    "published": None
                    if row.published is None
                    else {
                        "sensitivity": row.published.sensitivity,
                        "specificity": row.published.specificity,
                        "delay": row.published.delay,
                        "source": str(row.published.source),
                    },
                }
                for row in self.rows
            ],
        }

    def table(self) -> str:
        """A plain-text table for the terminal, published figures beside ours where they exist."""
        headers = [
            _("Frequency"),
            _("Detector"),
            _("Series"),
            _("Outbreaks"),
            _("FPR %"),
            _("POD %"),
            _("Sens. %"),
            _("Spec. %"),
            _("Delay median"),
            _("Delay mean"),
            _("Published sens./spec./delay"),
        ]
        cells = [[str(h) for h in headers]]
        for row in self.rows:
            published = row.published
            cells.append(
                [
                    row.frequency,
                    str(row.label),
                    str(row.series),
                    str(row.tally.outbreaks),
                    _percent(row.false_positive_rate),
                    _percent(row.probability_of_detection),
                    _percent(row.sensitivity),
                    _percent(row.specificity),
                    _number(row.median_delay),
                    _number(row.mean_delay),
                    f"{published.sensitivity:.1f} / {published.specificity:.1f} / {published.delay:g}"
                    if published
                    else "",
                ]
            )
        widths = [max(display_width(line[i]) for line in cells) for i in range(len(headers))]
        lines = [
            "  ".join(_pad(c, w, left=i < 2) for i, (c, w) in enumerate(zip(line, widths, strict=True)))
            for line in cells
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
        notes = [
            str(_("Delays are in the series' periods (weeks or days), 0 = alarmed on the outbreak's first period.")),
            str(_("Bédubourg & Le Strat 2017, 21 methods on the weekly design: FPR %(fpr)s %%, POD %(pod)s %%."))
            % {"fpr": "{:.1f}–{:.1f}".format(*BEDUBOURG_FPR), "pod": "{:.1f}–{:.1f}".format(*BEDUBOURG_POD)},
        ]
        seen = []
        for row in self.rows:
            if row.published and row.published.source not in seen:
                seen.append(row.published.source)
        notes += [str(_("Published: %(source)s")) % {"source": source} for source in seen]
        if self.settings:
            plain = {key: value for key, value in self.settings.items() if key != "detectors"}
            notes.append(", ".join(f"{key}={value}" for key, value in plain.items()))
            notes += _parameter_lines(self.settings.get("detectors") or {})
        if self.seconds:
            notes.append(str(_("Run time: %(seconds).1f s")) % {"seconds": self.seconds})
        return "\n".join([*lines, "", *notes])

    def save_plot(self, path: str | Path) -> Path:
        """POD against FPR per detector (Bédubourg's ranges shaded), and sensitivity and mean delay
        bars with the published figures marked (most sources give means); a PNG made with
        matplotlib's Agg backend."""
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot as plt

        # Chinese labels need a CJK font (Debian fonts-noto-cjk, or the fallback Chromium brings);
        # matplotlib takes each glyph from the first family in the list that has it
        plt.rcParams["font.sans-serif"] = [*CJK_FONTS, *plt.rcParams["font.sans-serif"]]
        path = Path(path)
        names = [f"{row.label} ({row.frequency})" for row in self.rows]
        figure, (scatter, sensitivity, delay) = plt.subplots(1, 3, figsize=(17, 6), constrained_layout=True)
        scatter.add_patch(
            plt.Rectangle(
                (BEDUBOURG_FPR[0], BEDUBOURG_POD[0]),
                BEDUBOURG_FPR[1] - BEDUBOURG_FPR[0],
                BEDUBOURG_POD[1] - BEDUBOURG_POD[0],
                color="0.9",
                label=str(_("Bédubourg & Le Strat 2017 ranges")),
            )
        )
        for row, name in zip(self.rows, names, strict=True):
            marker = {"weekly": "o", "daily": "^"}.get(row.frequency, "s")
            scatter.scatter(
                100 * row.false_positive_rate, 100 * row.probability_of_detection, marker=marker, label=name
            )
        scatter.set(
            xlabel=str(_("False-positive rate %")),
            ylabel=str(_("Probability of detection %")),
            xlim=(0, 100),
            ylim=(0, 100),
        )
        scatter.legend(fontsize="small", loc="lower right")
        positions = range(len(self.rows))
        sensitivity.barh(positions, [100 * row.sensitivity for row in self.rows], color="tab:blue")
        delay.barh(positions, [row.mean_delay for row in self.rows], color="tab:orange")
        for i, row in enumerate(self.rows):
            if row.published:
                sensitivity.plot(row.published.sensitivity, i, "kx")
                delay.plot(row.published.delay, i, "kx")
        for axis, label in (
            (sensitivity, _("Sensitivity % (× published)")),
            (delay, _("Mean delay, periods (× published)")),
        ):
            axis.set_yticks(list(positions), names, fontsize="small")
            axis.invert_yaxis()
            axis.set_xlabel(str(label))
        figure.savefig(path, format="png", dpi=110)
        plt.close(figure)
        return path


def _plain(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 4)


def _percent(value: float) -> str:
    return "" if math.isnan(value) else f"{100 * value:.1f}"


def _number(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.2f}"


def _parameter_lines(detectors: dict) -> list[str]:
    """``name: k=v, …`` per detector (per design when the report holds both)."""
    if detectors and set(detectors) <= {"weekly", "daily"}:
        return [f"{design} {line}" for design, inner in detectors.items() for line in _parameter_lines(inner)]
    return [
        f"{name}: " + ", ".join(f"{k}={v}" for k, v in params.items()) for name, params in detectors.items() if params
    ]


CJK_FONTS = ("Noto Sans CJK SC", "Noto Serif CJK SC", "WenQuanYi Micro Hei", "Droid Sans Fallback")


def _pad(text: str, width: int, *, left: bool) -> str:
    fill = " " * (width - display_width(text))
    return text + fill if left else fill + text
