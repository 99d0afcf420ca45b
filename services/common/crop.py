"""The face crop both services agree on: what the detector sends and the classifier takes."""

# Side of the aligned grayscale face crop, in pixels: FER2013's face size, which the
# emotion models learned from (the classifier resizes it to its model's input).
CROP_SIZE = 48
