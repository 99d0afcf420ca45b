"""The face models, each behind one class that runs its file: BlazeFace and Face Mesh
(LiteRT), CenterFace (onnxruntime), OpenCV's Haar cascade."""
