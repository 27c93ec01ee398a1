"""Named search spaces, one module per study (``demo``, ``thesis``, ``full``), each with a smoke
twin. Conditional parameters live here, never inside trainables. (Filled by the sweep issue.)"""
