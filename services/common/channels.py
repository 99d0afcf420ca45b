"""Options every outgoing channel shares (the detector's to the classifier and the
recognizer, the page gateway's to the detector)."""

# A peer that restarts is found again within a second, not after gRPC's default back-off
# of up to two minutes.
FAST_RECONNECT_OPTIONS = [("grpc.initial_reconnect_backoff_ms", 100),
                          ("grpc.max_reconnect_backoff_ms", 1000)]
