"""Placeholder walk-through; replaced by the real demo."""
print("vmtk demo: not yet")
