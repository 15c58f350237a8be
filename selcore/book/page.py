"""What every chapter shows about how it was produced (profile, data, device), and its metadata."""
from __future__ import annotations

import torch

from .profiles import PROFILE_NOTES, check_profile


def data_label(source: str) -> str:
    """How results on a data source must be labelled."""
    if source in ("", "torchvision") or "torchvision" in source:
        return "CIFAR-10 (torchvision download)"
    return f"CIFAR-10, JPEG copy ({source.rstrip('/').rsplit('/', 1)[-1]})"


def banner(profile: str, data: str = "", device: str = "auto"):
    """A Markdown note naming the profile, its reductions, the data and the device of this page."""
    from IPython.display import Markdown
    check_profile(profile)
    dev = ("cuda" if torch.cuda.is_available() else "cpu") if device in ("auto", "", None) else device
    hw = torch.cuda.get_device_name(0) if dev.startswith("cuda") else "CPU"
    return Markdown(f"> **Profile `{profile}`**: {PROFILE_NOTES[profile]}.  \n"
                    f"> Data: {data_label(data)}. Device: {dev} ({hw}).")
