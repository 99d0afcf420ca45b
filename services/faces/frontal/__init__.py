"""Frontal faces at every distance: short-range BlazeFace over an image pyramid, each
candidate verified by Face Mesh and by views of its neighbourhood.

tuning.py holds the numbers, schedule.py decides what a frame looks at (pyramid levels,
tiles, the order a stream visits them), verification.py the rules a candidate must pass,
scan.py executes a full scan, stream.py a stream's incremental one."""
