"""`make soak`: 16 concurrent streams for a bounded time against local services.

Passes when every frame sent was answered, in order, without an error, and neither
service's resident memory grew by more than --max-growth-mb between the end of the
warm-up and the end of the run. Prints the figures either way.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import grpc

from devkit.frames import clip_frames, raw_image
from devkit.processes import local_services, memory_mb
from facestream.v1 import detector_service_pb2 as pb
from facestream.v1 import detector_service_pb2_grpc as pb_grpc


class Tally:
    def __init__(self) -> None:
        self.sent = self.answered = self.errors = self.out_of_order = 0


async def one_stream(stub, images, offset: int, stop_at: float, tally: Tally) -> None:
    call = stub.StreamDetect(timeout=stop_at - time.monotonic() + 60)
    frame_id = 0
    while time.monotonic() < stop_at:
        await call.write(pb.StreamDetectRequest(frame_id=frame_id,
                                                image=images[(offset + frame_id) % len(images)]))
        tally.sent += 1
        response = await call.read()
        tally.answered += 1
        tally.errors += response.HasField("error") or len(response.faces) != 1
        tally.out_of_order += response.frame_id != frame_id
        frame_id += 1
    await call.done_writing()


async def soak(target: str, streams: int, seconds: float, tally: Tally, on_warm) -> None:
    images = [raw_image(frame) for frame in clip_frames()]
    options = [("grpc.max_send_message_length", 64 << 20)]
    async with grpc.aio.insecure_channel(target, options=options) as channel:
        stub = pb_grpc.DetectorServiceStub(channel)
        stop_at = time.monotonic() + seconds
        tasks = [asyncio.create_task(one_stream(stub, images, i * 5, stop_at, tally))
                 for i in range(streams)]
        await asyncio.sleep(min(5.0, seconds / 4))
        on_warm()
        await asyncio.gather(*tasks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--max-growth-mb", type=float, default=64.0)
    args = parser.parse_args(argv)
    tally = Tally()
    with local_services(quiet=True) as (target, processes):
        names = ("classifier", "detector")
        warm: dict[str, float] = {}
        started = time.monotonic()
        asyncio.run(soak(target, args.streams, args.seconds, tally,
                         lambda: warm.update({n: memory_mb(p.pid) for n, p in zip(names, processes)})))
        elapsed = time.monotonic() - started
        final = {n: memory_mb(p.pid) for n, p in zip(names, processes)}
    growth = {n: final[n] - warm[n] for n in names}
    print(f"soak: {args.streams} streams, {elapsed:.0f} s: sent {tally.sent}, "
          f"answered {tally.answered}, errors {tally.errors}, out of order {tally.out_of_order}, "
          f"{tally.answered / elapsed:.0f} frames/s")
    for name in names:
        print(f"soak: {name} RSS {warm[name]:.0f} -> {final[name]:.0f} MiB "
              f"(growth {growth[name]:+.1f} MiB, bound {args.max_growth_mb:.0f})")
    failed = (tally.errors or tally.out_of_order or tally.sent != tally.answered
              or any(g > args.max_growth_mb for g in growth.values()))
    print("soak: FAILED" if failed else "soak: passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
