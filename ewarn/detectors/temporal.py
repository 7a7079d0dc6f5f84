"""The temporal detectors by name, with the parameters an administrator may set in the policy table
(issue #9). The daily job and the evaluation harness call ``run``; the algorithms live in
cidars.py, ears.py, cusum.py and farrington.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from ewarn.detectors.base import Detection
from ewarn.detectors.cidars import cidars, cidars_min_history
from ewarn.detectors.cusum import cusum
from ewarn.detectors.ears import ears_c1, ears_c2, ears_c3
from ewarn.detectors.farrington import farrington_flexible, farrington_min_history

__all__ = [
    "DETECTORS",
    "DetectorSpec",
    "check_detector_settings",
    "cidars",
    "cusum",
    "ears_c1",
    "ears_c2",
    "ears_c3",
    "farrington_flexible",
    "min_history",
    "run",
]


def _cusum_history(baseline: Any = None, **_ignored: Any) -> int:
    """A (begin, stop) baseline needs its days and one monitored day; otherwise one day before
    the first monitored day (the mean of a single day is still a mean)."""
    if isinstance(baseline, list | tuple) and len(baseline) == 2 and all(isinstance(i, int) for i in baseline):
        begin, stop = baseline
        if begin < 0:
            return -begin
        return stop + 1 if stop >= 0 else begin - stop + 1
    return 2


def _ears_history(lag: int, terms: int) -> Callable[..., int]:
    return lambda baseline=7, **_ignored: baseline + lag + terms - 1


@dataclass(frozen=True)
class DetectorSpec:
    """A detector as the policy table and the daily job know it."""

    name: str
    function: Callable[..., Detection]
    label: Promise
    defaults: Mapping[str, Any]
    history: Callable[..., int]  # days needed for given parameters, the judged day included

    @property
    def min_history(self) -> int:
        """Days of series needed with the default parameters, the judged day included."""
        return self.history(**self.defaults)


def _spec(
    name: str, function: Callable[..., Detection], label: Promise, history: Callable[..., int], **defaults: Any
) -> DetectorSpec:
    return DetectorSpec(name, function, label, MappingProxyType(defaults), history)


# Parameters are for daily counts (the evaluation harness passes freq/period for weekly series).
DETECTORS: Mapping[str, DetectorSpec] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            _spec(
                "cidars",
                cidars,
                _("CIDARS moving percentile"),
                lambda period=365, window=7, years=3, blocks_each_side=2, **_ignored: cidars_min_history(
                    period=period, window=window, years=years, blocks_each_side=blocks_each_side
                ),
                period=365,
                window=7,
                years=3,
                blocks_each_side=2,
                percentile=80,
                min_count=1,
            ),
            _spec("ears_c1", ears_c1, _("EARS C1"), _ears_history(1, 1), min_sigma=0.5, z=3.0, baseline=7),
            _spec("ears_c2", ears_c2, _("EARS C2"), _ears_history(3, 1), min_sigma=0.5, z=3.0, baseline=7),
            _spec("ears_c3", ears_c3, _("EARS C3"), _ears_history(3, 3), min_sigma=0.5, z=2.0, baseline=7),
            # A standing daily CUSUM: m from the 28 days ending a week ago, S over the last 7 days,
            # so the verdict does not depend on ``start`` (None is R's "all days before start").
            _spec("cusum", cusum, _("Poisson CUSUM"), _cusum_history, k=1.04, h=2.26, baseline=(-35, -7), reset=False),
            _spec(
                "farrington",
                farrington_flexible,
                _("Improved Farrington (Noufaily)"),
                lambda freq=365, b=5, **_ignored: farrington_min_history(freq=freq, b=b),
                freq=365,
                b=5,
                w=3,
                no_periods=10,
                past_periods_not_included=26,
                weights_threshold=2.58,
                alpha=0.01,
                threshold_method="nbPlugin",
                p_threshold_trend=1.0,
                trend=True,
                reweight=True,
                limit54=(5, 4),
                powertrans="2/3",
            ),
        )
    }
)


def _spec_named(name: str) -> DetectorSpec:
    try:
        return DETECTORS[name]
    except KeyError:
        raise ValueError(f"unknown detector {name!r}; known: {', '.join(DETECTORS)}") from None


def _merged(spec: DetectorSpec, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """The defaults overridden by ``params``; an unknown name is a configuration error."""
    params = dict(params or {})
    unknown = sorted(set(params) - set(spec.defaults))
    if unknown:
        raise ValueError(
            f"unknown parameter(s) {', '.join(unknown)} for detector {spec.name!r}; "
            f"allowed: {', '.join(sorted(spec.defaults))}"
        )
    return {**spec.defaults, **params}


def check_detector_settings(settings: Mapping[str, Any]) -> None:
    """The policy's ``ewarn_detectors``: known detectors with known parameters, else ValueError (so
    a typo is refused when the policy is saved, not found by the night's run)."""
    if not isinstance(settings, Mapping) or not settings:
        raise ValueError("ewarn_detectors: name at least one detector, with its parameters")
    for name, params in settings.items():
        if not isinstance(params, Mapping):
            raise ValueError(f"ewarn_detectors.{name}: expected an object of parameters")
        _merged(_spec_named(name), params)


def min_history(name: str, params: Mapping[str, Any] | None = None) -> int:
    """Days of series the detector needs with these parameters (so the job loads enough history)."""
    spec = _spec_named(name)
    return spec.history(**_merged(spec, params))


def run(name: str, counts: np.ndarray, params: Mapping[str, Any] | None = None, start: int = 0) -> Detection:
    """Run detector ``name`` on a series with the policy's ``params`` over its defaults.

    Unknown detector or parameter names raise ValueError, and so do bad values (each detector
    checks its own), so a typo in the policy table fails loudly instead of running the defaults.
    """
    spec = _spec_named(name)
    return spec.function(counts, **_merged(spec, params), start=start)
