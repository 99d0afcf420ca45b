"""Faces in any pose: CenterFace for turned, half-covered and crowded faces, combined with
the frontal scan for the small frontal faces it finds best.

tuning.py holds the numbers, combine.py how the two models' faces become one list,
detector.py the passes (and an image's full detection), schedule.py what a stream's frame
looks at, stream.py a stream's execution of it."""
