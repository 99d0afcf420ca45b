"""The web gateway: a service that serves the browser page and turns each of its
WebSockets into one StreamDetect stream to the detector."""
