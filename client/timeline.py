"""Each track's emotions over a stream: the `--timeline` CSV, the summary, the `--plot`."""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from client.overlay import COLOURS


@dataclass
class TrackHistory:
    times_s: list[float] = field(default_factory=list)
    smoothed: list[dict[str, float]] = field(default_factory=list)
    shown: list[str] = field(default_factory=list)  # the smoothed label per frame
    person: str | None = None  # the name the recognizer gave the track (--identify), last seen

    def seen_s(self, frame_s: float) -> float:
        """Time in view: from first to last sighting, plus one frame."""
        return self.times_s[-1] - self.times_s[0] + frame_s


class Timeline:
    """Collects the tracked faces of every answered frame; writes the CSV as it goes."""

    FIELDS = ("time_s", "frame", "track", "person", "emotion", "smoothed_emotion")

    def __init__(self, csv_path: str | None = None) -> None:
        self.tracks: dict[int, TrackHistory] = {}
        self.labels: list[str] = []
        self._file = None
        self._writer = None
        if csv_path:
            Path(csv_path).parent.mkdir(parents=True, exist_ok=True)
            self._file = open(csv_path, "w", newline="", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def add(self, time_s: float, frame: int, faces: list[dict[str, Any]]) -> None:
        for face in faces:
            if not face["track_id"] or not face["smoothed_scores"]:
                continue
            if not self.labels:
                self.labels = list(face["smoothed_scores"])
            history = self.tracks.setdefault(face["track_id"], TrackHistory())
            history.times_s.append(time_s)
            history.smoothed.append(face["smoothed_scores"])
            history.shown.append(face["smoothed_emotion"])
            history.person = face.get("person") or history.person
            self._write_row(time_s, frame, face)

    def _write_row(self, time_s: float, frame: int, face: dict[str, Any]) -> None:
        if self._file is None:
            return
        if self._writer is None:
            self._writer = csv.writer(self._file)
            self._writer.writerow([*self.FIELDS, *self.labels])
        self._writer.writerow([f"{time_s:.3f}", frame, face["track_id"], face.get("person") or "",
                               face["emotion"],
                               face["smoothed_emotion"],
                               *(f"{face['smoothed_scores'].get(label, 0.0):.4f}"
                                 for label in self.labels)])

    def summary(self, frame_s: float) -> str:
        """Per track: time in view, the emotion shown most, and each emotion's share."""
        if not self.tracks:
            return "tracks: none with emotions"
        lines = [f"tracks: {len(self.tracks)}"]
        for track_id, history in sorted(self.tracks.items()):
            shares = Counter(history.shown)
            total = len(history.shown)
            dominant = shares.most_common(1)[0][0]
            spread = ", ".join(f"{label} {count / total:.0%}" for label, count in shares.most_common())
            who = f" ({history.person})" if history.person else ""
            lines.append(f"  #{track_id}{who}: {history.seen_s(frame_s):.1f} s in view, {total} frames, "
                         f"mostly {dominant} ({spread})")
        return "\n".join(lines)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def plot(timeline: Timeline, path: str, width_px: int = 1000, panel_px: int = 220) -> None:
    """Each track's smoothed emotion probabilities over time, one panel per track, in the
    overlay's colours; the image is width_px x (panel_px per track)."""
    import matplotlib  # noqa: PLC0415 - only `--plot` needs it

    matplotlib.use("Agg")
    from matplotlib import pyplot  # noqa: PLC0415

    tracks = sorted(timeline.tracks.items())
    if not tracks:
        raise ValueError("no tracked face with emotions to plot")
    dpi = 100
    figure, axes = pyplot.subplots(len(tracks), 1, squeeze=False, sharex=True,
                                   figsize=(width_px / dpi, panel_px * len(tracks) / dpi), dpi=dpi)
    for axis, (track_id, history) in zip(axes[:, 0], tracks):
        for label in timeline.labels:
            blue, green, red = COLOURS.get(label, (128, 128, 128))
            axis.plot(history.times_s, [scores.get(label, 0.0) for scores in history.smoothed],
                      color=(red / 255, green / 255, blue / 255), label=label, linewidth=1.5)
        axis.set_ylim(0, 1)
        axis.set_ylabel(f"#{track_id}")
        axis.grid(alpha=0.3)
    axes[0, 0].legend(loc="upper right", ncol=len(timeline.labels), fontsize="small")
    axes[0, 0].set_title("smoothed emotion probability per track")
    axes[-1, 0].set_xlabel("time (s)")
    figure.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=dpi)
    pyplot.close(figure)
