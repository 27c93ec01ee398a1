"""Connecting to Ray (embedded local by default, ``--address`` for a cluster), resources per
trial, storage and launch configs. (Filled by the sweep and cluster issues.)"""
