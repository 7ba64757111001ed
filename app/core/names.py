"""Names the user types (engines, devices, batch formats), shared by the CLI, the UI and the engines.

Kept free of torch so that ``--help`` and the editor's menus do not wait for it.
"""

from __future__ import annotations

ENGINE_NAMES = ("auto", "mtsa", "mtsa-guided", "mtsa-const", "telea", "ns")
NETWORK_ENGINES = ("mtsa", "mtsa-guided", "mtsa-const")
DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
BATCH_FORMATS = ("keep", "png", "jpg", "webp")  # "keep": the format of each input photo

# What the editor calls each engine (the command line keeps the names above).
ENGINE_LABELS = {
    "auto": "Auto (best measured)",
    "mtsa": "Network",
    "mtsa-guided": "Network + sketch",
    "mtsa-texture": "Network + texture",
    "patchmatch": "PatchMatch",
    "telea": "Telea (fast)",
    "ns": "Navier-Stokes (fast)",
    "mtsa-const": "Network, constant temperature (ablation)",
}
# The editor's engine list, in menu order; the mtsa-const ablation is for the command line.
EDITOR_ENGINES = ("auto", "mtsa", "mtsa-guided", "mtsa-texture", "patchmatch", "telea", "ns")


def engine_label(name: str) -> str:
    """The editor's word for an engine name (the name itself when it has none)."""
    return ENGINE_LABELS.get(name, name)
