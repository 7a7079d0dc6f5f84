"""Synthetic front-line rosters for a generated city, deterministic from a seed (numpy, pyarrow).

For every grid of the divisions table: 2–4 workers — the grid's own grid worker first, then community
workers, sent-down cadres (下沉干部, with the organisation that sent them) and volunteers — and the
last ``days`` days of duty up to ``end``. As in 2020 most worked every day of the month; the grid
worker of each grid had a day off in the last three days, and some others rest one day a week, so a
rotation plan starting the day after ``end`` can staff every grid. Each worker completed each of the
six 2020 courses (workforce migration 0002) with probability 3/4.

CSV files (the columns of the import kinds in workforce.importers):

* ``workers.csv`` — worker_code, name, kind, grid_code, phone, organisation, since
* ``duty_roster.csv`` — worker_code, date, grid_code, hours (8–12 h, halves)
* ``training_completions.csv`` — worker_code, course_code, completed_on, score (60–100, halves)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synth.city import SynthCity
from synth.writer import write_tables

COURSE_CODES = tuple(f"CW2020-{n:02d}" for n in range(1, 7))
SURNAMES = tuple("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈")
GIVEN = tuple("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红梅建国志文斌辉鹏宇浩晨欣怡佳琳")
ORGANISATIONS = (
    "武汉市财政局",
    "武汉市教育局",
    "武汉市自然资源和规划局",
    "武汉市住房保障和房屋管理局",
    "武汉市税务局",
    "湖北省交通运输厅",
    "国网武汉供电公司",
    "中国建设银行湖北省分行",
)
OTHER_KINDS = np.array(["community_worker", "cadre", "cadre", "volunteer"])
UNBROKEN_SHARE = 0.6  # of the others, this share worked every day of the window (2020's long streaks)
COMPLETION_SHARE = 0.75


@dataclass(frozen=True)
class WorkforceTables:
    workers: pa.Table
    duty_roster: pa.Table
    training_completions: pa.Table

    def tables(self) -> dict[str, pa.Table]:
        """By import kind, in import order (workers before the rows that name them)."""
        return {
            "workers": self.workers,
            "duty_roster": self.duty_roster,
            "training_completions": self.training_completions,
        }

    def write(self, out_dir: Path | str) -> dict[str, Path]:
        """``<kind>.csv`` for each table."""
        return write_tables(self.tables(), out_dir)


def _names(rng: np.random.Generator, n: int) -> list[str]:
    surname = rng.choice(np.array(SURNAMES), n)
    first = rng.choice(np.array(GIVEN), n)
    second = np.where(rng.random(n) < 0.6, rng.choice(np.array(GIVEN), n), "")
    return [f"{a}{b}{c}" for a, b, c in zip(surname, first, second, strict=True)]


def _dates(end: dt.date, back: np.ndarray) -> pa.Array:
    days = np.datetime64(end, "D") - back.astype("timedelta64[D]")
    return pc.strftime(pa.array(days), format="%Y-%m-%d")


def generate_workforce(divisions: pa.Table, *, seed: int, end: dt.date, days: int = 30) -> WorkforceTables:
    """Workers, their duty days (``end`` − ``days`` + 1 … ``end``) and completions for every grid of
    ``divisions`` (a contract table with code and level)."""
    rng = np.random.default_rng(seed)
    levels = divisions.column("level").to_numpy(zero_copy_only=False)
    grids = np.sort(divisions.column("code").to_numpy(zero_copy_only=False)[levels == "grid"].astype(str))
    per_grid = rng.integers(2, 5, len(grids))
    grid_of = np.repeat(grids, per_grid)
    rank = np.arange(len(grid_of)) - np.repeat(np.cumsum(per_grid) - per_grid, per_grid)
    n = len(grid_of)
    kinds = np.where(rank == 0, "grid_worker", rng.choice(OTHER_KINDS, n))
    codes = np.char.add(np.char.add("W", grid_of), np.char.zfill(rank.astype(str), 2))
    phones = np.char.add("13", np.char.zfill(rng.integers(0, 10**9, n).astype(str), 9))
    organisations = np.where(kinds == "cadre", rng.choice(np.array(ORGANISATIONS), n), "")
    workers = pa.table(
        {
            "worker_code": pa.array(codes),
            "name": pa.array(_names(rng, n)),
            "kind": pa.array(kinds),
            "grid_code": pa.array(grid_of),
            "phone": pa.array(phones),
            "organisation": pa.array(organisations),
            "since": _dates(end, rng.integers(days, days + 60, n)),
        }
    )

    # who worked which day: column 0 is ``end``, column k is k days before it
    worked = np.ones((n, days), dtype=bool)
    first = rank == 0
    worked[first, rng.integers(1, 4, int(first.sum()))] = False  # the grid worker's recent day off
    weekly = ~first & (rng.random(n) >= UNBROKEN_SHARE)
    phase = rng.integers(0, 7, n)
    worked[weekly] &= (np.arange(days)[None, :] + phase[weekly, None]) % 7 != 0
    who, back = np.nonzero(worked)
    duty = pa.table(
        {
            "worker_code": pa.array(codes[who]),
            "date": _dates(end, back),
            "grid_code": pa.array(grid_of[who]),
            "hours": pa.array(np.round(rng.uniform(8, 12, len(who)) * 2) / 2),
        }
    )

    done = rng.random((n, len(COURSE_CODES))) < COMPLETION_SHARE
    who, course = np.nonzero(done)
    completions = pa.table(
        {
            "worker_code": pa.array(codes[who]),
            "course_code": pa.array(np.array(COURSE_CODES)[course]),
            "completed_on": _dates(end, rng.integers(0, 60, len(who))),
            "score": pa.array(np.round(rng.uniform(60, 100, len(who)) * 2) / 2),
        }
    )
    return WorkforceTables(workers, duty, completions)


def generate(city: SynthCity, *, seed: int, end: dt.date, days: int = 30) -> WorkforceTables:
    """The rosters of a generated city."""
    return generate_workforce(city.divisions, seed=seed, end=end, days=days)
