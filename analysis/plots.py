"""Charts of a run's results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from analysis.i18n import map_words
from sim.core.ids import POINT_TYPES


def lead_time_plot(
    cdfs: dict[str, tuple[np.ndarray, np.ndarray]], *, title: str, path: Path, lang: str = "en"
) -> None:
    """Cumulative distributions of order -> available and order -> in hand, by delivery point.
    `cdfs` maps ``"available/<point type>"`` and ``"hand/<point type>"`` to (hours, share);
    words in `lang` (the caller sets the font, `analysis.i18n.fonts`)."""
    w = map_words(lang)
    fig = Figure(figsize=(11.69, 5.5), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, kind, name in ((axes[0], "available", w["available_panel"]), (axes[1], "hand", w["hand_panel"])):
        for point in POINT_TYPES:
            hours, share = cdfs[f"{kind}/{point}"]
            if share[-1] > 0:
                ax.plot(hours, share, label=w[point])
        ax.set_xlim(0, 240)
        ax.set_xticks(np.arange(0, 241, 24))
        ax.set_xlabel(w["hours_since"])
        ax.set_title(name)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(w["share_of_parcels"])
    if axes[0].get_legend_handles_labels()[0]:
        axes[0].legend(loc="lower right")
    else:
        for ax in axes:
            ax.text(120, 0.5, w["lead_none"], ha="center", va="center")
    fig.suptitle(title)
    fig.savefig(path, dpi=150)
