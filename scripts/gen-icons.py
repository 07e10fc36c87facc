#!/usr/bin/env python3
"""Generate Switchyard's app and tray icons into icons/ (stdlib only: no Pillow needed).

The glyph is a railway turnout: a straight main line with a branch curving off it, on a rounded
square. Every size is rendered from the vector description (signed distances with one-pixel
anti-aliasing) rather than downscaled, so the small tray sizes stay crisp.

    python3 scripts/gen-icons.py            # writes icons/*.png, icons/icon.ico, icons/icon.icns

The outputs are committed; re-run only when the design changes.
"""
import math
import os
import struct
import sys
import zlib

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "icons")

# Colours (sRGB). Background: a vertical gradient of a deep signal blue; tracks: near-white.
BG_TOP = (37, 99, 235)
BG_BOTTOM = (30, 58, 138)
TRACK = (248, 250, 252)
POINT = (251, 191, 36)  # the switch point lamp, amber

# Tray states recolour the tile and the lamp like a signal, so the state reads at 16 px without text.
TRAY_STATES = {
    "tray-running.png": dict(bg=(BG_TOP, BG_BOTTOM), lamp=(34, 197, 94)),  # green: serving
    "tray-attention.png": dict(bg=(BG_TOP, BG_BOTTOM), lamp=(239, 68, 68)),  # red: login needed / failed
    "tray-stopped.png": dict(bg=((148, 163, 184), (71, 85, 105)), lamp=(203, 213, 225)),  # grey: off
}

# Geometry in unit coordinates (0..1, y grows downwards).
INSET, RADIUS = 0.04, 0.22
STROKE = 0.085
MAIN = [(0.36, 0.82), (0.36, 0.18)]


def bezier(p0, p1, p2, p3, n=32):
    pts = []
    for i in range(n + 1):
        t = i / n
        u = 1 - t
        pts.append(tuple(u**3 * a + 3 * u * u * t * b + 3 * u * t * t * c + t**3 * d
                         for a, b, c, d in zip(p0, p1, p2, p3)))
    return pts


# The branch leaves the main line low down and bends into a parallel track on the right.
BRANCH = bezier((0.36, 0.70), (0.36, 0.50), (0.66, 0.52), (0.66, 0.34)) + [(0.66, 0.18)]
LAMP_CENTER, LAMP_RADIUS = (0.36, 0.70), 0.075


def seg_dist(px, py, ax, ay, bx, by):
    dx, dy = bx - ax, by - ay
    l2 = dx * dx + dy * dy
    t = 0.0 if l2 == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / l2))
    qx, qy = ax + t * dx - px, ay + t * dy - py
    return math.sqrt(qx * qx + qy * qy)


def polyline_dist(px, py, pts):
    return min(seg_dist(px, py, *pts[i], *pts[i + 1]) for i in range(len(pts) - 1))


def rounded_rect_dist(px, py):
    # Signed distance to the rounded square (negative inside).
    c = 0.5
    half = 0.5 - INSET - RADIUS
    qx, qy = abs(px - c) - half, abs(py - c) - half
    outside = math.hypot(max(qx, 0.0), max(qy, 0.0))
    return outside + min(max(qx, qy), 0.0) - RADIUS


def coverage(d, px_size):
    # d: signed distance (unit coords); one pixel of linear falloff centred on the edge.
    return max(0.0, min(1.0, 0.5 - d / px_size))


def over(dst, src, a):
    # Source-over compositing of an opaque colour with coverage a onto premultiplied-free RGBA.
    r, g, b, da = dst
    out_a = a + da * (1 - a)
    if out_a == 0:
        return (0.0, 0.0, 0.0, 0.0)
    mix = lambda s, d: (s * a + d * da * (1 - a)) / out_a  # noqa: E731
    return (mix(src[0], r), mix(src[1], g), mix(src[2], b), out_a)


def render(size, bg=(BG_TOP, BG_BOTTOM), lamp=POINT, template=False):
    """RGBA rows for one square size. `template`: black glyph on transparency, no tile (the macOS menu
    bar tints template images itself for light, dark and highlighted states)."""
    px = 1.0 / size
    # Small sizes get slightly bolder strokes so the glyph survives 16-22 px panels.
    stroke = STROKE * (1.35 if size <= 32 else 1.0)
    rows = []
    for y in range(size):
        row = bytearray()
        v = (y + 0.5) * px
        fill = tuple(t + (b - t) * v for t, b in zip(*bg))
        for x in range(size):
            u = (x + 0.5) * px
            c = (0.0, 0.0, 0.0, 0.0)
            if template:
                track = min(polyline_dist(u, v, MAIN), polyline_dist(u, v, BRANCH)) - stroke / 2
                dot = math.hypot(u - LAMP_CENTER[0], v - LAMP_CENTER[1]) - LAMP_RADIUS
                a = max(coverage(track, px), coverage(dot, px))
                row += bytes((0, 0, 0, round(a * 255)))
                continue
            c = over(c, fill, coverage(rounded_rect_dist(u, v), px))
            if c[3] == 0:
                row += b"\0\0\0\0"
                continue
            track = min(polyline_dist(u, v, MAIN), polyline_dist(u, v, BRANCH)) - stroke / 2
            c = over(c, TRACK, coverage(track, px))
            lamp_dist = math.hypot(u - LAMP_CENTER[0], v - LAMP_CENTER[1]) - LAMP_RADIUS
            c = over(c, lamp, coverage(lamp_dist, px))
            row += bytes((round(c[0]), round(c[1]), round(c[2]), round(c[3] * 255)))
        rows.append(bytes(row))
    return rows


def png(rows):
    size = len(rows)

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    raw = b"".join(b"\0" + r for r in rows)  # filter type 0 per scanline
    ihdr = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def ico(pngs):
    # ICO with PNG-compressed entries (supported since Windows Vista); width/height 0 means 256.
    header = struct.pack("<HHH", 0, 1, len(pngs))
    offset = 6 + 16 * len(pngs)
    entries, blobs = b"", b""
    for size, data in pngs:
        dim = 0 if size >= 256 else size
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(data), offset)
        offset += len(data)
        blobs += data
    return header + entries + blobs


def icns(pngs):
    # Modern icns element types that hold PNG data, keyed by pixel size.
    types = {16: b"icp4", 32: b"icp5", 64: b"icp6", 128: b"ic07", 256: b"ic08", 512: b"ic09", 1024: b"ic10"}
    body = b"".join(types[s] + struct.pack(">I", 8 + len(d)) + d for s, d in pngs)
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def main():
    os.makedirs(OUT, exist_ok=True)
    cache = {}

    def get(size):
        if size not in cache:
            print(f"rendering {size}x{size}", file=sys.stderr)
            cache[size] = png(render(size))
        return cache[size]

    files = {
        "32x32.png": get(32),
        "128x128.png": get(128),
        "128x128@2x.png": get(256),
        "icon.png": get(512),
        # Tray icons, embedded in the binary: they keep the tile so they read on light and dark panels
        # alike; the template one is for the macOS menu bar.
        **{name: png(render(64, **colours)) for name, colours in TRAY_STATES.items()},
        "tray-template.png": png(render(64, template=True)),
        "icon.ico": ico([(s, get(s)) for s in (16, 24, 32, 48, 64, 256)]),
        "icon.icns": icns([(s, get(s)) for s in (16, 32, 64, 128, 256, 512, 1024)]),
    }
    for name, data in files.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        print(f"wrote icons/{name} ({len(data)} bytes)")


if __name__ == "__main__":
    main()
