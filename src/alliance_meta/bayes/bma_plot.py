"""Figure of a model-averaging ensemble (RoBMA-PSMA; with bma.bias false the four normal models of plain
Bayesian model averaging): prior and posterior probabilities of the effect, heterogeneity and bias
components and of the bias models, and the model-averaged posterior of mu (spike at 0 from the models
without an effect)."""

from __future__ import annotations

import numpy as np

from alliance_meta.plots.forest_draw import spread_odds_ticks
from alliance_meta.plots.style import (COLOURS, SCALES, STYLE, bounded_axis, display_scale, fit_width, keep_inside,
                                       metric_axis)
from alliance_meta.wording import BIAS_MODEL_NAMES, apa_probability, without_leading_zero

def bma_figure(result):
    import matplotlib.pyplot as plt

    with plt.rc_context(STYLE):
        fig, (ax_models, ax_mu) = plt.subplots(1, 2, figsize=(7.0, 3.8), gridspec_kw={"width_ratios": [1.1, 1]})
        table = result.table
        rows = [("Effect", table["effect"] == 1), ("Heterogeneity", table["heterogeneity"] == 1)]
        biases = list(dict.fromkeys(table["bias"]))
        if len(biases) > 1:  # with bma.bias false every model is "none": bars of 1 and 1 that say nothing
            # bma.csv's labels (BiasSpec.label) as they are; one written before they were APA's ("0.05") without its 0
            rows += [(f"Bias: {without_leading_zero(label)}", table["bias"] == label) for label in biases]
        labels = [label for label, _ in rows]
        prior = [float(table.loc[mask, "prior_prob"].sum()) for _, mask in rows]
        post = [float(table.loc[mask, "posterior_prob"].sum()) for _, mask in rows]
        pos = np.arange(len(rows))[::-1]
        ax_models.barh(pos + 0.2, prior, height=0.38, color=COLOURS["muted"], label="Prior")
        ax_models.barh(pos - 0.2, post, height=0.38, color=COLOURS["dark"], label="Posterior")
        ax_models.set_yticks(pos, labels)
        ax_models.set_xlim(0, 1)
        ax_models.set_xlabel("Probability")
        bounded_axis(ax_models)
        # above the bars, below the title: a bar at 1 (the bottom row) hid the legend's swatch
        ax_models.legend(frameon=False, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=2, borderaxespad=0.1,
                         fontsize=8, handlelength=1.2)
        ax_models.set_title("Components and bias models" if len(biases) > 1 else "Components", loc="left",
                            fontsize=9, pad=16)  # the legend beneath

        _, to_display, null = display_scale(result.metric)
        scale = SCALES[result.metric]
        values, weights = result.draws("mu")
        spike = float(weights[values == 0.0].sum())
        slab = values != 0.0
        if slab.any():
            # bins equal on the axis: the analysis scale for a log axis (odds ratios), else the display scale
            binned = values[slab] if scale.log_axis else to_display(values[slab])
            lo, hi = np.quantile(binned, [0.0005, 0.9995])
            lo, hi = lo - 0.15 * (hi - lo), hi + 0.15 * (hi - lo)
            edges = np.linspace(lo, hi, 60)
            ax_mu.hist(to_display(values[slab]), bins=to_display(edges) if scale.log_axis else edges,
                       weights=weights[slab] / max(1.0 - spike, 1e-12) * (1 - spike),
                       density=False, color=COLOURS["light"], edgecolor="none", label="Model-averaged posterior (slab)")
        metric_axis(ax_mu, result.metric)
        if scale.log_axis:  # labels that stand apart: 0.3 0.4 0.5 0.6 ran into each other over a decade
            spread_odds_ticks(fig, ax_mu)
        bounded_axis(ax_mu, "y")
        ax_mu.axvline(null, color=COLOURS["muted"], lw=0.8)
        ax_mu.set_xlabel(f"Overall effect ({scale.inline_label})")
        ax_mu.set_ylabel("Posterior probability per bin")
        probability = apa_probability(spike, 2)  # "< .01", not the impossible ".00" (APA), as the text writes it
        relation = "" if probability[0] in "<>" else "= "
        ax_mu.set_title(f"Model-averaged effect: P({scale.italic_symbol} = {null:g}) {relation}{probability}",
                        loc="left", fontsize=9, pad=16)  # level with the left title
        fig.tight_layout()
    # the right panel's title reached beyond the figure: 7.4 in as saved
    fit_width(fig, what="model-averaging figure")
    # PET and PEESE labelled bars and nowhere said what they are: beneath, from the labels' left edge (not wider)
    named = [f"{name}: {words}" for name, words in BIAS_MODEL_NAMES.items() if f"Bias: {name}" in labels]
    if named:  # measured as fit_width last drew it: the figure is unchanged since (another draw gives the same box)
        fig.text(fig.get_tightbbox().x0 / fig.get_figwidth(), 0.0, "; ".join(named) + ".", ha="left", va="top",
                 fontsize=7)
        keep_inside(fig)  # its height: the note beneath
    return fig
