"""The face-finding library: detection backends, the scan, alignment, head pose. No gRPC."""
