"""People over time: track ids (``tracker``) and per-track temporal filters (``one_euro``)."""
