"""Names the user types (engines, devices, batch formats), shared by the CLI, the UI and the engines.

Kept free of torch so that ``--help`` and the editor's menus do not wait for it.
"""

from __future__ import annotations

ENGINE_NAMES = ("auto", "mtsa", "mtsa-guided", "mtsa-const", "telea", "ns")
NETWORK_ENGINES = ("mtsa", "mtsa-guided", "mtsa-const")
DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
BATCH_FORMATS = ("keep", "png", "jpg", "webp")  # "keep": the format of each input photo
