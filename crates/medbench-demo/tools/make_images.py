#!/usr/bin/env python3
"""Draw the synthetic, clearly schematic images of the medbench demo bank.

Every picture is drawn from geometry fixed in this file, so the reference
answers of the multimodal demo items (detection boxes, heart rates, lab
values, lesion sizes) are exact by construction. None of them shows a real
patient; each carries the word SCHEMATIC.

    pip install pillow
    python3 crates/medbench-demo/tools/make_images.py          # (re)draw into media/
    python3 crates/medbench-demo/tools/make_images.py --list   # only list names, sizes, sha256

The items in data/*.jsonl carry the sha256 of each PNG; `cargo test -p
medbench-demo` fails if a redrawn file no longer matches them (different
Pillow or zlib versions may encode the same pixels differently), in which
case update the `sha256` fields of the items that use the file.

Detection images are 500 x 500 px, so a pixel coordinate times 2 is the
coordinate on the 0-1000 grid that the detection items use.
"""

import hashlib
import math
import os
import random
import sys

from PIL import Image, ImageDraw, ImageFont

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "media")


def font(size):
    # Pillow's bundled font: the same on every machine, no system fonts needed.
    return ImageFont.load_default(size=size)


def save(img, name):
    path = os.path.join(OUT, name)
    img.save(path, format="PNG", optimize=True)
    return path


# ---------------------------------------------------------------------------
# Cross-sectional "CT-like" schematics
# ---------------------------------------------------------------------------

SIZE = 500


def ct_canvas(caption):
    img = Image.new("L", (SIZE, SIZE), 0)
    d = ImageDraw.Draw(img)
    d.ellipse([40, 70, 460, 430], fill=70)  # body outline (soft tissue)
    d.text((8, 6), "SCHEMATIC - NOT A REAL PATIENT", fill=200, font=font(14))
    d.text((8, 476), caption, fill=200, font=font(14))
    d.text((52, 236), "R", fill=230, font=font(16))
    d.text((438, 236), "L", fill=230, font=font(16))
    return img, d


def circle(d, cx, cy, r, fill):
    d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)


def abdomen(caption, lesions):
    """Grey ellipse organ with round lesions (cx, cy, r, fill)."""
    img, d = ct_canvas(caption)
    d.ellipse([110, 130, 390, 370], fill=120)  # the organ
    circle(d, 250, 395, 18, 210)  # vertebral body, for orientation
    for cx, cy, r, fill in lesions:
        circle(d, cx, cy, r, fill)
    return img


def chest(caption, nodules):
    """Two dark lungs (patient's right lung on the image left) with bright nodules."""
    img, d = ct_canvas(caption)
    d.ellipse([85, 105, 235, 405], fill=20)  # right lung (image left)
    d.ellipse([265, 105, 415, 405], fill=20)  # left lung (image right)
    d.ellipse([225, 180, 290, 300], fill=110)  # mediastinum / heart
    circle(d, 250, 395, 18, 210)  # vertebral body
    for cx, cy, r in nodules:
        circle(d, cx, cy, r, 200)
    return img


def measured(caption, lesions, scale_mm_per_px=0.5):
    """An organ with lesions annotated by a caliper line and their diameter in mm."""
    img, d = ct_canvas(caption)
    d.ellipse([110, 130, 390, 370], fill=120)
    for cx, cy, diam_mm in lesions:
        r = diam_mm / scale_mm_per_px / 2
        circle(d, cx, cy, r, 40)
        d.line([cx - r, cy, cx + r, cy], fill=255, width=2)
        d.text((cx - r, cy + r + 4), f"{diam_mm} mm", fill=255, font=font(15))
    # scale bar: 20 mm
    bar = 20 / scale_mm_per_px
    d.line([380, 455, 380 + bar, 455], fill=255, width=3)
    d.text((380, 459), "20 mm", fill=255, font=font(12))
    return img


# Each detection figure: (name, kind, caption, lesions); reference boxes are
# [cx-r, cy-r, cx+r, cy+r] * 2 on the 0-1000 grid.
DETECTION = [
    ("det_01.png", "abdomen", "Axial, schematic (demo det_01)", [(300, 220, 25, 235)]),
    ("det_02.png", "chest", "Axial chest, schematic (demo det_02)", [(160, 200, 16)]),
    ("det_03.png", "abdomen", "Axial, schematic (demo det_03)", [(200, 200, 22, 235), (320, 290, 30, 45)]),
    ("det_04.png", "chest", "Axial chest, schematic (demo det_04)", []),
    ("det_05.png", "chest", "Axial chest, schematic (demo det_05)", [(150, 170, 14), (330, 300, 18), (180, 330, 12)]),
]

SERIAL = [
    ("seq_01a.png", "Baseline 2024-01-08", [(250, 250, 40)]),
    ("seq_01b.png", "Follow-up 2024-04-02", [(250, 250, 18)]),
    ("seq_02a.png", "Baseline 2024-02-19", [(240, 240, 32)]),
    ("seq_02b.png", "Follow-up 2024-05-13", [(240, 240, 35)]),
    ("seq_03a.png", "Baseline 2024-03-04", [(200, 230, 25)]),
    ("seq_03b.png", "Follow-up 2024-06-03", [(200, 230, 27), (320, 300, 12)]),
    ("seq_04a.png", "Baseline 2024-01-15", [(190, 210, 30), (320, 290, 20)]),
    ("seq_04b.png", "Follow-up 2024-04-15", [(190, 210, 24), (320, 290, 14)]),
]


# ---------------------------------------------------------------------------
# Schematic single-lead ECG strips
# ---------------------------------------------------------------------------

ECG_W, ECG_H = 512, 200
PX_PER_S = 100  # 25 mm/s with 4 px per mm: one large square (5 mm) = 0.2 s = 20 px
PX_PER_MV = 40  # 10 mm/mV
BASE = 120  # baseline y


def gauss(t, mu, sigma, amp):
    return amp * math.exp(-((t - mu) ** 2) / (2 * sigma**2))


def qrs(t, r, wide=False):
    k = 2.2 if wide else 1.0
    return (
        gauss(t, r - 0.025 * k, 0.008 * k, -0.12)
        + gauss(t, r, 0.012 * k, 1.3)
        + gauss(t, r + 0.03 * k, 0.01 * k, -0.3)
    )


def ecg(name, title, beats, p_waves, t_amp=0.3, t_sigma=0.045, st=0.0, wide=False, fib=False):
    """beats: R-peak times (s); p_waves: P-wave centre times (s)."""
    img = Image.new("RGB", (ECG_W, ECG_H), (255, 255, 255))
    d = ImageDraw.Draw(img)
    for x in range(0, ECG_W, 4):
        d.line([x, 24, x, ECG_H - 24], fill=(252, 222, 222) if x % 20 else (240, 160, 160))
    for y in range(24, ECG_H - 23, 4):
        d.line([0, y, ECG_W, y], fill=(252, 222, 222) if (y - 24) % 20 else (240, 160, 160))
    rng = random.Random(7)
    phases = [rng.uniform(0, 6.3) for _ in range(3)]
    pts = []
    for x in range(ECG_W):
        t = x / PX_PER_S
        v = 0.0
        for p in p_waves:
            v += gauss(t, p, 0.022, 0.2)
        for r in beats:
            v += qrs(t, r, wide)
            tw = r + (0.32 if wide else 0.26)
            v += gauss(t, tw, t_sigma, t_amp)
            if st:
                # coved ST elevation from the J point into the T wave
                if r + 0.05 <= t <= tw:
                    v += st
                elif r + 0.035 <= t < r + 0.05:
                    v += st * (t - r - 0.035) / 0.015
                elif tw < t <= tw + 0.08:
                    v += st * (1 - (t - tw) / 0.08)
        if fib:
            v += 0.05 * sum(math.sin(2 * math.pi * f * t + ph) for f, ph in zip((6.1, 7.3, 8.9), phases))
        pts.append((x, BASE - v * PX_PER_MV))
    d.line(pts, fill=(0, 0, 0), width=2)
    d.rectangle([0, 0, ECG_W, 22], fill=(255, 255, 255))
    d.rectangle([0, ECG_H - 22, ECG_W, ECG_H], fill=(255, 255, 255))
    d.text((4, 4), f"SCHEMATIC ECG - {title}", fill=(0, 0, 0), font=font(13))
    d.text((4, ECG_H - 19), "25 mm/s  10 mm/mV  large square = 0.2 s", fill=(0, 0, 0), font=font(12))
    img = img.quantize(colors=16)
    return save(img, name)


def regular(rr, start=0.3, end=5.1):
    out, t = [], start
    while t < end:
        out.append(round(t, 3))
        t += rr
    return out


def draw_ecgs():
    sinus75 = regular(0.8)
    ecg("ecg_01.png", "lead II", sinus75, [r - 0.16 for r in sinus75])
    brady = regular(1.2, start=0.5)
    ecg("ecg_02.png", "lead II", brady, [r - 0.16 for r in brady])
    af = [0.35, 0.93, 1.38, 2.12, 2.55, 3.21, 3.62, 4.36, 4.82]
    ecg("ecg_03.png", "lead II", af, [], fib=True)
    p = regular(0.8, start=0.15)
    qrs_t = regular(1.5, start=0.55)
    ecg("ecg_04.png", "lead II", qrs_t, p, wide=True, t_amp=-0.35, t_sigma=0.06)
    ecg("ecg_05.png", "lead V3", sinus75, [r - 0.16 for r in sinus75], t_amp=1.0, t_sigma=0.028)
    s = regular(0.68, start=0.35)
    ecg("ecg_06.png", "lead V2", s, [r - 0.16 for r in s], st=0.35, t_amp=0.45)


# ---------------------------------------------------------------------------
# Lab panels: one horizontal track per analyte, reference range shaded
# ---------------------------------------------------------------------------

LABS = {
    "lab_01.png": ("Renal panel", [
        ("Na", 136, "mmol/L", 135, 145),
        ("K", 6.4, "mmol/L", 3.5, 5.3),
        ("Cl", 102, "mmol/L", 98, 107),
        ("HCO3", 17, "mmol/L", 22, 29),
        ("Urea", 24.5, "mmol/L", 2.5, 7.8),
        ("Creat", 412, "umol/L", 59, 104),
    ]),
    "lab_02.png": ("Full blood count", [
        ("WBC", 6.1, "10^9/L", 3.5, 9.5),
        ("Hb", 78, "g/L", 130, 175),
        ("MCV", 68, "fL", 80, 100),
        ("MCH", 21, "pg", 27, 34),
        ("PLT", 410, "10^9/L", 125, 350),
    ]),
    "lab_03.png": ("Emergency chemistry", [
        ("Glucose", 28.4, "mmol/L", 3.9, 6.1),
        ("Na", 132, "mmol/L", 135, 145),
        ("K", 5.1, "mmol/L", 3.5, 5.3),
        ("Cl", 96, "mmol/L", 98, 107),
        ("HCO3", 10, "mmol/L", 22, 29),
        ("pH", 7.12, "", 7.35, 7.45),
    ]),
    "lab_04.png": ("Liver panel", [
        ("ALT", 1240, "U/L", 9, 50),
        ("AST", 980, "U/L", 15, 40),
        ("ALP", 140, "U/L", 45, 125),
        ("TBil", 48, "umol/L", 0, 23),
        ("Alb", 39, "g/L", 40, 55),
    ]),
    "lab_05.png": ("Thyroid panel", [
        ("TSH", 0.01, "mIU/L", 0.27, 4.2),
        ("FT4", 46, "pmol/L", 12, 22),
        ("FT3", 14.2, "pmol/L", 3.1, 6.8),
    ]),
}


def lab_chart(name, title, rows):
    w, row_h, top = 480, 44, 40
    h = top + row_h * len(rows) + 16
    img = Image.new("RGB", (w, h), (255, 255, 255))
    d = ImageDraw.Draw(img)
    d.text((8, 8), f"SCHEMATIC - {title}", fill=(0, 0, 0), font=font(14))
    x0, x1 = 80, 300  # track: 0 .. 2 x upper reference limit
    for i, (label, value, unit, lo, hi) in enumerate(rows):
        y = top + i * row_h + 10
        scale = (x1 - x0) / (2 * hi)
        d.rectangle([x0, y, x1, y + 18], outline=(120, 120, 120))
        d.rectangle([x0 + lo * scale, y, x0 + hi * scale, y + 18], fill=(200, 235, 200))
        vx = x0 + min(value, 2 * hi) * scale
        colour = (200, 40, 40) if (value < lo or value > hi) else (40, 90, 200)
        d.rectangle([x0, y + 5, vx, y + 13], fill=colour)
        flag = " H" if value > hi else (" L" if value < lo else "")
        d.text((8, y + 2), label, fill=(0, 0, 0), font=font(13))
        shown = " ".join(x for x in (str(value), unit, flag.strip()) if x)
        d.text((x1 + 8, y - 2), shown, fill=colour, font=font(13))
        d.text((x1 + 8, y + 13), f"ref {lo}-{hi}", fill=(90, 90, 90), font=font(11))
    img = img.quantize(colors=16)
    return save(img, name)


def main():
    os.makedirs(OUT, exist_ok=True)
    if "--list" not in sys.argv:
        for name, kind, caption, lesions in DETECTION:
            img = abdomen(caption, lesions) if kind == "abdomen" else chest(caption, lesions)
            save(img, name)
        for name, caption, lesions in SERIAL:
            save(measured(caption, lesions), name)
        draw_ecgs()
        for name, (title, rows) in LABS.items():
            lab_chart(name, title, rows)
    for name in sorted(os.listdir(OUT)):
        if name.endswith(".png"):
            data = open(os.path.join(OUT, name), "rb").read()
            print(f"{name}\t{len(data)}\t{hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main()
