"""Analyses over the IR that passes read: which values are scalars, which shapes agree."""
