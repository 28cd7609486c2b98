"""Offline training of the detector head (needs numpy: `pip install -e '.[train]'`)."""
