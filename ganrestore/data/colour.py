"""Colour conventions every layer shares: one owner for the luma weights."""

from __future__ import annotations

#: ITU-R BT.601 (Rec. 601) luma weights of R, G and B, as PIL's "L" conversion uses them.
LUMA_WEIGHTS: tuple[float, float, float] = (0.299, 0.587, 0.114)
