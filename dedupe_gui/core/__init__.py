"""The engine: pure Python, numpy and OpenCV. Nothing in this package may import Qt."""
