"""Each track's emotions over a stream: the `--timeline` CSV, the summary, the `--plot`."""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from client.overlay import COLOURS
from client.results import plural

# Sightings further apart than this many frames are a gap: the face was out of view (a
# dropped frame or two are not).
GAP_FRAMES = 2.5
# Both eyes' eyeBlink blendshapes above this count as eyes closed; a blink is a closing.
BLINK_CLOSED = 0.5


@dataclass
class TrackHistory:
    times_s: list[float] = field(default_factory=list)
    smoothed: list[dict[str, float]] = field(default_factory=list)
    shown: list[str] = field(default_factory=list)  # the smoothed label per frame
    person: str | None = None  # the name the recognizer gave the track (--identify), last seen
    relative: list[str] = field(default_factory=list)  # against the track's rest, once ready
    looking: list[bool] = field(default_factory=list)  # frames whose expression was read
    smile: list[float] = field(default_factory=list)
    eyes_closed: list[bool] = field(default_factory=list)
    expression_times_s: list[float] = field(default_factory=list)

    def add_expression(self, time_s: float, face: dict[str, Any]) -> None:
        shapes = face.get("blendshapes") or {}
        if face.get("relative_emotion"):
            self.relative.append(face["relative_emotion"])
        if not shapes:
            return
        self.expression_times_s.append(time_s)
        self.looking.append(bool(face.get("looking")))
        self.smile.append(smile_of(shapes))
        self.eyes_closed.append(eyes_closed(shapes))

    def blinks(self) -> int:
        """Closings of the eyes: a frame with them closed after one with them open."""
        return sum(1 for before, now in zip(self.eyes_closed, self.eyes_closed[1:])
                   if now and not before)

    def expression_summary(self, frame_s: float) -> str:
        """Attention, blink rate, smile and the relative emotion, where they were read."""
        parts = []
        if self.looking:
            minutes = max(len(self.looking) * frame_s, frame_s) / 60
            parts += [f"looking at the camera {sum(self.looking) / len(self.looking):.0%}",
                      f"{self.blinks() / minutes:.0f} blinks/min" if frame_s > 0 else "",
                      f"smile {sum(self.smile) / len(self.smile):.2f}"]
        if self.relative:
            shares = Counter(self.relative).most_common()
            parts.append("against their rest: " + ", ".join(
                f"{label} {count / len(self.relative):.0%}" for label, count in shares))
        return "; ".join(part for part in parts if part)

    def seen_s(self, frame_s: float) -> float:
        """Time in view: each sighting's frame, and the time to the next sighting unless the
        face was out of view in between (a gap of more than GAP_FRAMES frames)."""
        seen = frame_s
        for earlier, later in zip(self.times_s, self.times_s[1:]):
            step = later - earlier
            seen += step if step <= GAP_FRAMES * max(frame_s, 1e-6) else frame_s
        return seen

    def gaps(self, frame_s: float) -> list[int]:
        """Indices after which the face was out of view."""
        limit = GAP_FRAMES * max(frame_s, 1e-6)
        return [i for i, (earlier, later) in enumerate(zip(self.times_s, self.times_s[1:]))
                if later - earlier > limit]


class Timeline:
    """Collects the tracked faces of every answered frame; writes the CSV as it goes."""

    FIELDS = ("time_s", "frame", "track", "person", "emotion", "smoothed_emotion",
              "relative_emotion", "looking", "smile", "eyes_closed")

    def __init__(self, csv_path: str | None = None) -> None:
        self.tracks: dict[int, TrackHistory] = {}
        self.labels: list[str] = []
        self._file = None
        self._writer = None
        if csv_path:
            Path(csv_path).parent.mkdir(parents=True, exist_ok=True)
            self._file = open(csv_path, "w", newline="", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def add(self, time_s: float, frame: int, faces: list[dict[str, Any]],
            labels: list[str] | None = None) -> None:
        """Record a frame's tracked faces; `labels` (the model's, in order) name the CSV's
        score columns even when no face ever appears."""
        if labels and not self.labels:
            self.labels = list(labels)
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
            history.add_expression(time_s, face)
            self._write_row(time_s, frame, face)

    def _write_header(self) -> None:
        if self._file is not None and self._writer is None:
            self._writer = csv.writer(self._file)
            self._writer.writerow([*self.FIELDS, *self.labels])

    def _write_row(self, time_s: float, frame: int, face: dict[str, Any]) -> None:
        if self._file is None:
            return
        self._write_header()
        shapes = face.get("blendshapes") or {}
        read = bool(shapes)
        self._writer.writerow([f"{time_s:.3f}", frame, face["track_id"], face.get("person") or "",
                               face["emotion"],
                               face["smoothed_emotion"],
                               face.get("relative_emotion") or "",
                               int(bool(face.get("looking"))) if read else "",
                               f"{smile_of(shapes):.3f}" if read else "",
                               int(eyes_closed(shapes)) if read else "",
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
            lines.append(f"  #{track_id}{who}: {history.seen_s(frame_s):.1f} s in view, "
                         f"{plural(total, 'frame')}, mostly {dominant} ({spread})")
            expression = history.expression_summary(frame_s)
            if expression:
                lines.append(f"      {expression}")
        return "\n".join(lines)

    def close(self) -> None:
        """A video without tracked faces still gets a CSV with its header: an empty result."""
        if self._file is not None:
            self._write_header()
            self._file.close()


def smile_of(shapes: dict[str, float]) -> float:
    """How much a face smiles: the two mouthSmile blendshapes averaged."""
    return (shapes.get("mouthSmileLeft", 0.0) + shapes.get("mouthSmileRight", 0.0)) / 2


def eyes_closed(shapes: dict[str, float]) -> bool:
    return min(shapes.get("eyeBlinkLeft", 0.0), shapes.get("eyeBlinkRight", 0.0)) > BLINK_CLOSED


def plot(timeline: Timeline, path: str, frame_s: float = 0.0, width_px: int = 1000,
         panel_px: int = 220) -> None:
    """Each track's smoothed emotion probabilities over time, one panel per track titled
    with its name (or number), in the overlay's colours, the whole 0-1 range shown, a gap
    where the face was out of view, the legend beside the data; a track whose expressions
    were read (--expressions) gets a second, lower panel: smile, eyes closed and looking at
    the camera. The image is width_px wide, panel_px high per emotion panel."""
    import matplotlib  # noqa: PLC0415 - only `--plot` needs it

    matplotlib.use("Agg")
    from matplotlib import pyplot  # noqa: PLC0415

    tracks = sorted(timeline.tracks.items())
    dpi = 100
    if not tracks:
        _plot_nothing(path, width_px, panel_px, dpi)
        return
    heights = [ratio for _, history in tracks
               for ratio in ((1.0, 0.5) if history.looking else (1.0,))]
    figure, axes = pyplot.subplots(len(heights), 1, squeeze=False, sharex=True,
                                   gridspec_kw={"height_ratios": heights},
                                   figsize=(width_px / dpi, panel_px * sum(heights) / dpi),
                                   dpi=dpi)
    panels = iter(axes[:, 0])
    for track_id, history in tracks:
        axis = next(panels)
        gaps = set(history.gaps(frame_s)) if frame_s > 0 else set()
        times = []
        for index, time_s in enumerate(history.times_s):
            times.append(time_s)
            if index in gaps:
                times.append(float("nan"))  # matplotlib breaks the line at NaN
        for label in timeline.labels:
            blue, green, red = COLOURS.get(label, (128, 128, 128))
            values = []
            for index, scores in enumerate(history.smoothed):
                values.append(scores.get(label, 0.0))
                if index in gaps:
                    values.append(float("nan"))
            # A face seen in a frame or two is a dot, where a line alone would not show.
            axis.plot(times, values, color=(red / 255, green / 255, blue / 255), label=label,
                      linewidth=1.5, marker="o" if len(history.times_s) < 3 else None,
                      markersize=4)
        axis.set_ylim(-0.03, 1.05)  # a probability of 1.0 is drawn inside the frame
        axis.set_ylabel("probability")
        axis.set_title(history.person or f"track #{track_id}", loc="left", fontsize="medium")
        axis.grid(alpha=0.3)
        if history.looking:
            _plot_expressions(next(panels), history)
    axes[0, 0].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small",
                      frameon=False)
    axes[-1, 0].set_xlabel("time (s)")
    figure.tight_layout(rect=(0, 0, 0.88, 1))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=dpi)
    pyplot.close(figure)


def _plot_expressions(axis, history: TrackHistory) -> None:
    """A track's smile and eyes closed over time, with the frames it looked at the camera
    shaded."""
    times = history.expression_times_s
    axis.fill_between(times, 0, 1, where=history.looking, step="mid", color="#8ab4d8",
                      alpha=0.35, linewidth=0, label="looking at the camera")
    axis.plot(times, history.smile, color="#e0a020", linewidth=1.2, label="smile")
    axis.plot(times, [1.0 if closed else 0.0 for closed in history.eyes_closed],
              color="#606060", linewidth=0.8, drawstyle="steps-mid", label="eyes closed")
    axis.set_ylim(-0.03, 1.05)
    axis.set_ylabel("expression")
    axis.grid(alpha=0.3)
    axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)


def _plot_nothing(path: str, width_px: int, panel_px: int, dpi: int) -> None:
    """The plot of a video without tracked faces: a panel that says so."""
    from matplotlib import pyplot  # noqa: PLC0415

    figure, axis = pyplot.subplots(figsize=(width_px / dpi, panel_px / dpi), dpi=dpi)
    axis.axis("off")
    axis.text(0.5, 0.5, "no faces: no tracked face with emotions in this video",
              ha="center", va="center", fontsize="large")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=dpi)
    pyplot.close(figure)
