"""Matplotlib figures written straight to image files, without pyplot.

A ``matplotlib.figure.Figure`` made directly renders with Agg when saved, so no
backend has to be chosen (no ``matplotlib.use`` at import time) and no global
pyplot registry keeps figures alive: importing the evaluation code changes
nothing for a caller that uses pyplot itself.
"""
from __future__ import annotations

import os
from typing import Any

from matplotlib.figure import Figure


def new_figure(rows: int = 1, columns: int = 1, **figure_options: Any) -> tuple[Figure, Any]:
    """A figure and its axes: one Axes, or a (rows, columns) array of them.

    Args:
        rows, columns: the grid of axes (``Figure.subplots``).
        figure_options: passed to ``Figure``, e.g. ``figsize=(9, 3.5)`` in inches.
    """
    figure = Figure(**figure_options)
    return figure, figure.subplots(rows, columns)


def save_figure(figure: Figure, path: str | os.PathLike, dpi: int = 110) -> None:
    """Lay out ``figure`` and write it to ``path`` (the format from its suffix, e.g. PNG)."""
    figure.tight_layout()
    figure.savefig(path, dpi=dpi)
