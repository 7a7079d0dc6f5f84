"""An independent, deliberately naive reading of domain.md §4 for checking the engines on small data."""

from __future__ import annotations


def exposures(queries, stays, households, min_overlap):
    """queries: [(pkey, w0, w1)]; stays: [(pkey, vkey, t0, t1)]; households: {pkey: hkey}.

    Returns the rows EXPOSURES_SQL defines: (query, contact, kind, venue, start, stop, overlap)."""
    rows = []
    for q, (person, w0, w1) in enumerate(queries):
        for p, v, t0, t1 in stays:
            if p != person:
                continue
            a0, a1 = max(t0, w0), min(t1, w1)
            if a1 - a0 < min_overlap:
                continue
            for other, v2, b0, b1 in stays:
                if other == person or v2 != v:
                    continue
                start, stop = max(a0, b0), min(a1, b1)
                if stop - start >= min_overlap:
                    rows.append((q, other, 1, v, start, stop, stop - start))
        home = households.get(person)
        if home is not None and w1 > w0:
            for other, h in households.items():
                if h == home and other != person:
                    rows.append((q, other, 0, -1, w0, w1, 0))
    return sorted(rows)
