"""The browser client: a gateway that serves one page and turns each of its WebSockets
into one StreamDetect stream to the detector."""
